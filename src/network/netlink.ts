// rtnetlink messages, built and parsed in pure TypeScript (netlink(7),
// rtnetlink(7)): only what moving a network device needs. No I/O here, so
// the exact bytes of every request are unit-tested without root.

export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const SOCK_RAW = 3;

export const NLMSG = { ERROR: 2, DONE: 3 } as const;
export const NLM_F = { REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, EXCL: 0x200, DUMP: 0x300, CREATE: 0x400 } as const;
export const RTM = { NEWLINK: 16, GETLINK: 18, NEWADDR: 20, GETADDR: 22 } as const;
export const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, NET_NS_FD: 28 } as const;
export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;
export const IFA_F = { NODAD: 0x02, HOMEADDRESS: 0x10, PERMANENT: 0x80, MANAGETEMPADDR: 0x100, NOPREFIXROUTE: 0x200 } as const;
export const IFF_UP = 0x1;
export const RT_SCOPE_UNIVERSE = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;

const align4 = (n: number): number => (n + 3) & ~3;

/** One rtattr: {len u16, type u16, data}, padded to 4 bytes. */
export function rtattr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

export const attrString = (type: number, s: string): Buffer => rtattr(type, Buffer.from(`${s}\0`));
export function attrU32(type: number, v: number): Buffer {
  const d = Buffer.alloc(4);
  d.writeUInt32LE(v >>> 0, 0);
  return rtattr(type, d);
}

/** nlmsghdr + payload; nlmsg_pid 0: the kernel fills in our port. */
export function nlmsg(type: number, flags: number, seq: number, payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const h = Buffer.alloc(NLMSG_HDRLEN);
  h.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  h.writeUInt32LE(0, 12);
  return Buffer.concat([h, body]);
}

export function ifinfomsg(index: number, flags = 0, change = 0, family = 0): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt16LE(0, 2); // ifi_type
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

function ifaddrmsg(family: number, prefixlen: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixlen, 1);
  b.writeUInt8(flags & 0xff, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index >>> 0, 4);
  return b;
}

// ---- requests ---------------------------------------------------------

/** RTM_GETLINK of one device by name: answered by RTM_NEWLINK, or NLMSG_ERROR (ENODEV). */
export const getLinkByName = (seq: number, name: string): Buffer =>
  nlmsg(RTM.GETLINK, NLM_F.REQUEST, seq, [ifinfomsg(0), attrString(IFLA.IFNAME, name)]);

export const getLinkByIndex = (seq: number, index: number): Buffer => nlmsg(RTM.GETLINK, NLM_F.REQUEST, seq, [ifinfomsg(index)]);

export const dumpLinks = (seq: number): Buffer => nlmsg(RTM.GETLINK, NLM_F.REQUEST | NLM_F.DUMP, seq, [ifinfomsg(0)]);

export const dumpAddrs = (seq: number): Buffer => nlmsg(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, seq, [ifaddrmsg(0, 0, 0, 0, 0)]);

/**
 * Moves device `index` into the network namespace open at `nsFd` and names
 * it `name` there, in one message: the kernel keeps the current name for the
 * move when it is free in the target (else takes `name`, a `%d` template
 * included), then renames (rtnetlink's do_setlink).
 */
export const moveLink = (seq: number, index: number, name: string, nsFd: number): Buffer =>
  nlmsg(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq, [ifinfomsg(index), attrString(IFLA.IFNAME, name), attrU32(IFLA.NET_NS_FD, nsFd)]);

export const setLinkUp = (seq: number, index: number, up: boolean): Buffer =>
  nlmsg(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq, [ifinfomsg(index, up ? IFF_UP : 0, IFF_UP)]);

export interface Addr {
  family: number;
  prefixlen: number;
  /** IFA_FLAGS when present (it carries the bits above the 8 of ifa_flags). */
  flags: number;
  scope: number;
  index: number;
  /** Raw attribute values (4 or 16 bytes). */
  address?: Buffer;
  local?: Buffer;
  broadcast?: Buffer;
}

/** Flags a user may set with RTM_NEWADDR; the rest is the kernel's state (tentative, deprecated, ...). */
const SETTABLE_IFA_F = IFA_F.NODAD | IFA_F.HOMEADDRESS | IFA_F.MANAGETEMPADDR | IFA_F.NOPREFIXROUTE;

/**
 * RTM_NEWADDR of `a` on device `index`: its local/peer/broadcast values as
 * the kernel reported them, no label (an IPv4 label must start with the
 * device's name, which may have changed).
 */
export function newAddr(seq: number, index: number, a: Addr): Buffer {
  const flags = a.flags & SETTABLE_IFA_F;
  const attrs: Buffer[] = [ifaddrmsg(a.family, a.prefixlen, flags, a.scope, index)];
  if (a.local) attrs.push(rtattr(IFA.LOCAL, a.local));
  if (a.address) attrs.push(rtattr(IFA.ADDRESS, a.address));
  if (a.broadcast) attrs.push(rtattr(IFA.BROADCAST, a.broadcast));
  if (flags > 0xff) attrs.push(attrU32(IFA.FLAGS, flags));
  return nlmsg(RTM.NEWADDR, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq, attrs);
}

// ---- replies ----------------------------------------------------------

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  payload: Buffer;
}

/** Splits a datagram into its messages; a truncated or malformed one ends the list with an error. */
export function parseMessages(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new Error(`netlink: malformed message (length ${len} at ${off} of ${buf.length})`);
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), payload: buf.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** NLMSG_ERROR's errno as a positive number; 0 is an ACK. */
export function errorOf(m: NlMsg): number {
  if (m.payload.length < 4) throw new Error('netlink: short NLMSG_ERROR');
  return -m.payload.readInt32LE(0);
}

export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    // NLA_F_NESTED / NLA_F_NET_BYTEORDER are the top bits of the type.
    attrs.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return attrs;
}

const cstring = (b: Buffer | undefined): string | undefined => {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
};

export interface Link {
  index: number;
  flags: number;
  name: string;
}

export function parseLink(m: NlMsg): Link {
  if (m.type !== RTM.NEWLINK || m.payload.length < IFINFOMSG_LEN) throw new Error(`netlink: expected RTM_NEWLINK, got type ${m.type}`);
  const attrs = parseAttrs(m.payload.subarray(IFINFOMSG_LEN));
  return { index: m.payload.readInt32LE(4), flags: m.payload.readUInt32LE(8), name: cstring(attrs.get(IFLA.IFNAME)) ?? '' };
}

export function parseAddr(m: NlMsg): Addr {
  if (m.type !== RTM.NEWADDR || m.payload.length < IFADDRMSG_LEN) throw new Error(`netlink: expected RTM_NEWADDR, got type ${m.type}`);
  const p = m.payload;
  const attrs = parseAttrs(p.subarray(IFADDRMSG_LEN));
  const flags = attrs.get(IFA.FLAGS);
  const a: Addr = { family: p.readUInt8(0), prefixlen: p.readUInt8(1), flags: flags && flags.length >= 4 ? flags.readUInt32LE(0) : p.readUInt8(2), scope: p.readUInt8(3), index: p.readUInt32LE(4) };
  const address = attrs.get(IFA.ADDRESS);
  const local = attrs.get(IFA.LOCAL);
  const broadcast = attrs.get(IFA.BROADCAST);
  if (address) a.address = Buffer.from(address);
  if (local) a.local = Buffer.from(local);
  if (broadcast) a.broadcast = Buffer.from(broadcast);
  return a;
}

/** What the spec keeps across the move: permanent addresses of global scope (RFC 3549 7.4.2); the kernel drops every address. */
export const keptAcrossMove = (a: Addr): boolean => (a.flags & IFA_F.PERMANENT) !== 0 && a.scope === RT_SCOPE_UNIVERSE;

/** "10.0.0.1/24", "2001:db8::1/64" for messages. */
export function formatAddr(a: Addr): string {
  const raw = a.local ?? a.address;
  if (!raw) return `?/${a.prefixlen}`;
  if (raw.length === 4) return `${[...raw].join('.')}/${a.prefixlen}`;
  const groups: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  return `${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${a.prefixlen}`;
}
