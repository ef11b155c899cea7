// linux.netDevices (runtime-spec 1.3): host interfaces moved into the
// container's network namespace by R, from the host side, once the
// namespace exists and before init gets its plan (so before any hook), as
// runc's devChangeNetNamespace. Move and rename are one RTM_NEWLINK; the
// kernel drops every address on a move, so the permanent global ones are
// added again inside; MTU and MAC move with the device. The device is then
// set up. Nothing is done at delete: the spec leaves the device to the
// namespace's lifecycle (a physical device returns to the initial namespace
// when it dies, a virtual one is destroyed with it).
import * as fs from 'node:fs';
import { log } from '../cli/log.js';
import { TsruncError } from '../errors.js';
import type { NamespacePlan } from '../namespaces.js';
import { SysError } from '../sys/ffi.js';
import { CLONE, type Sys } from '../sys/linux.js';
import {
  AF_NETLINK,
  NETLINK_ROUTE,
  NLMSG,
  NLM_F,
  SOCK_RAW,
  IFF_UP,
  dumpAddrs,
  dumpLinks,
  errorOf,
  formatAddr,
  getLinkByIndex,
  getLinkByName,
  keptAcrossMove,
  moveLink,
  newAddr,
  parseAddr,
  parseLink,
  parseMessages,
  setLinkUp,
  type Addr,
  type Link,
  type NlMsg,
} from './netlink.js';

const ENODEV = 19;

export interface NetDevice {
  /** The entry key: the interface's name in the runtime's network namespace. */
  hostName: string;
  /** Its name in the container (the key when `name` is absent); may end in a %d template. */
  name: string;
}

export function netDevicesOf(netDevices: Record<string, { name?: string }> | undefined): NetDevice[] {
  return Object.entries(netDevices ?? {}).map(([hostName, d]) => ({ hostName, name: d?.name || hostName }));
}

const field = (d: NetDevice): string => `linux.netDevices.${d.hostName}`;

class NetlinkError extends Error {
  constructor(readonly errno: number) {
    super(new SysError('', errno).message.slice(2));
  }
}

/** One NETLINK_ROUTE socket, in the network namespace of the thread that made it. */
export class Rtnl {
  private seq = 0;
  private readonly buf = Buffer.alloc(65536);
  constructor(
    private readonly s: Sys,
    readonly fd: number,
  ) {}

  static open(s: Sys): Rtnl {
    return new Rtnl(s, s.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
  }

  /** Sends one request and returns its replies: up to the ACK/error, or NLMSG_DONE for a dump. */
  private exchange(build: (seq: number) => Buffer, dump: boolean): NlMsg[] {
    const seq = ++this.seq;
    this.s.send(this.fd, build(seq));
    const out: NlMsg[] = [];
    for (;;) {
      const n = this.s.recv(this.fd, this.buf);
      for (const m of parseMessages(this.buf.subarray(0, n))) {
        if (m.seq !== seq) continue; // a late answer to an earlier request
        if (m.type === NLMSG.ERROR) {
          const errno = errorOf(m);
          if (errno !== 0) throw new NetlinkError(errno);
          return out;
        }
        if (m.type === NLMSG.DONE) return out;
        out.push(m);
        if (!dump && !(m.flags & NLM_F.MULTI)) return out;
      }
    }
  }

  ack(build: (seq: number) => Buffer): void {
    this.exchange(build, false);
  }
  /** The link by name, undefined when there is none (ENODEV). */
  link(name: string): Link | undefined {
    return this.lookup((seq) => getLinkByName(seq, name));
  }
  linkByIndex(index: number): Link | undefined {
    return this.lookup((seq) => getLinkByIndex(seq, index));
  }
  private lookup(build: (seq: number) => Buffer): Link | undefined {
    try {
      const [m] = this.exchange(build, false);
      return m ? parseLink(m) : undefined;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENODEV) return undefined;
      throw e;
    }
  }
  links(): Link[] {
    return this.exchange(dumpLinks, true).map(parseLink);
  }
  addrs(index: number): Addr[] {
    return this.exchange(dumpAddrs, true)
      .map(parseAddr)
      .filter((a) => a.index === index);
  }
  close(): void {
    this.s.close(this.fd);
  }
}

function nsInode(path: string): string {
  const st = fs.statSync(path);
  return `${st.dev}:${st.ino}`;
}

/**
 * Before anything exists: every host interface is there (runtime-spec: the
 * runtime MUST check the move is possible), and a joined network namespace
 * is not the runtime's own (the device would stay where it is).
 */
export function checkNetDevices(s: Sys, devs: NetDevice[], ns: NamespacePlan): void {
  if (devs.length === 0) return;
  const joined = ns.joins.find((j) => j.type === 'network');
  if (!joined && !ns.newTypes.includes('network')) {
    throw new TsruncError('linux.netDevices: unable to move network devices without a private network namespace');
  }
  if (joined && nsInode(joined.path) === nsInode('/proc/thread-self/ns/net')) {
    throw new TsruncError(`linux.netDevices: the network namespace ${joined.path} is the runtime's own: devices cannot be moved into it`);
  }
  const host = Rtnl.open(s);
  try {
    for (const d of devs) {
      if (!host.link(d.hostName)) throw new TsruncError(`${field(d)}: no network interface ${JSON.stringify(d.hostName)} in the runtime's network namespace`);
    }
  } finally {
    host.close();
  }
}

interface Moved {
  dev: NetDevice;
  /** Index inside the container (the kernel keeps the host's when it is free there). */
  index: number;
  wasUp: boolean;
  addrs: Addr[];
}

/** The devices moved by one create: `undo()` if that create fails, `close()` once it succeeded. */
export interface MovedNetDevices {
  undo(warn: (msg: string) => void): void;
  close(): void;
}

/**
 * Moves every device into the network namespace of `pid`. A failure puts
 * back (undo) what was already moved, so a failed create leaves the host as
 * it was; the namespace stays alive for that while we hold its fd.
 */
export function moveNetDevices(s: Sys, devs: NetDevice[], pid: number): MovedNetDevices {
  const hostNs = fs.openSync('/proc/thread-self/ns/net', 'r');
  let ctrNs = -1;
  let host: Rtnl | undefined;
  let ctr: Rtnl | undefined;
  const moved: Moved[] = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    ctr?.close();
    host?.close();
    if (ctrNs >= 0) fs.closeSync(ctrNs);
    fs.closeSync(hostNs);
  };
  const undo = (warn: (msg: string) => void): void => {
    if (closed) return;
    for (const m of moved.reverse()) {
      try {
        moveBack(host!, ctr!, m, hostNs);
      } catch (e) {
        warn(`${field(m.dev)}: cannot move the device back to the host: ${(e as Error).message}`);
      }
    }
    moved.length = 0;
  };
  try {
    ctrNs = fs.openSync(`/proc/${pid}/ns/net`, 'r');
    host = Rtnl.open(s);
    // A socket belongs to the namespace of the thread that made it: only this
    // (main) thread enters the container's, and at once comes back.
    s.setns(ctrNs, CLONE.NEWNET);
    try {
      ctr = Rtnl.open(s);
    } finally {
      s.setns(hostNs, CLONE.NEWNET);
    }
    for (const dev of devs) moved.push(moveOne(host, ctr, dev, ctrNs));
  } catch (e) {
    if (host && ctr) undo((w) => log.warn(w));
    close();
    throw e;
  }
  return {
    undo: (warn) => {
      try {
        undo(warn);
      } finally {
        close();
      }
    },
    close,
  };
}

function moveOne(host: Rtnl, ctr: Rtnl, dev: NetDevice, ctrNs: number): Moved {
  const where = field(dev);
  const link = host.link(dev.hostName);
  if (!link) throw new TsruncError(`${where}: no network interface ${JSON.stringify(dev.hostName)} in the runtime's network namespace`);
  // The kernel keeps neither across the move: read them first.
  const addrs = host.addrs(link.index).filter(keptAcrossMove);
  const template = dev.name.includes('%');
  // The move would succeed and the rename then fail, leaving the device in the
  // container (and destroyed with it if virtual): refuse before moving.
  if (!template && ctr.link(dev.name)) {
    throw new TsruncError(`${where}: a network device named ${JSON.stringify(dev.name)} already exists in the container's network namespace`);
  }
  const before = template ? new Set(ctr.links().map((l) => l.index)) : undefined;
  try {
    host.ack((seq) => moveLink(seq, link.index, dev.name, ctrNs));
  } catch (e) {
    // The kernel moves before it renames: a rename refused inside (a name that
    // appeared since the check, in a joined namespace) leaves the device there.
    if (!host.linkByIndex(link.index)) {
      const stray = ctr.link(dev.hostName);
      if (stray) moveBack(host, ctr, { dev, index: stray.index, wasUp: (link.flags & IFF_UP) !== 0, addrs }, -1);
    }
    throw new TsruncError(`${where}: cannot move the device into the container's network namespace as ${JSON.stringify(dev.name)}: ${(e as Error).message}`);
  }
  const inside = before ? ctr.links().find((l) => !before.has(l.index)) : ctr.link(dev.name);
  if (!inside) throw new TsruncError(`${where}: the device is not in the container's network namespace after the move`);
  const m: Moved = { dev, index: inside.index, wasUp: (link.flags & IFF_UP) !== 0, addrs };
  try {
    for (const a of addrs) {
      try {
        ctr.ack((seq) => newAddr(seq, inside.index, a));
      } catch (e) {
        throw new TsruncError(`${where}: cannot add the address ${formatAddr(a)} in the container: ${(e as Error).message}`);
      }
    }
    try {
      ctr.ack((seq) => setLinkUp(seq, inside.index, true));
    } catch (e) {
      throw new TsruncError(`${where}: cannot set ${inside.name} up in the container: ${(e as Error).message}`);
    }
  } catch (e) {
    // Not yet in the caller's list: put this one back here.
    try {
      moveBack(host, ctr, m, -1);
    } catch {
      // reported by the error below; the device stays in the container
    }
    throw e;
  }
  return m;
}

/** Down, out to the runtime's namespace under its host name, its addresses and up state back. */
function moveBack(host: Rtnl, ctr: Rtnl, m: Moved, hostNs: number): void {
  const inside = ctr.linkByIndex(m.index);
  if (!inside) throw new Error('no longer in the container');
  ctr.ack((seq) => setLinkUp(seq, inside.index, false));
  const fd = hostNs >= 0 ? hostNs : fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    ctr.ack((seq) => moveLink(seq, inside.index, m.dev.hostName, fd));
  } finally {
    if (hostNs < 0) fs.closeSync(fd);
  }
  const back = host.link(m.dev.hostName);
  if (!back) throw new Error('not found on the host after the move back');
  for (const a of m.addrs) host.ack((seq) => newAddr(seq, back.index, a));
  if (m.wasUp) host.ack((seq) => setLinkUp(seq, back.index, true));
}
