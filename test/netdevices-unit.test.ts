// rtnetlink messages for linux.netDevices, without root: the exact bytes of
// each request, the parsing of the kernel's answers, and the request/answer
// loop over a recording Sys.
import t from 'tap';
import {
  AF_INET,
  AF_INET6,
  IFA,
  IFA_F,
  IFLA,
  NLMSG,
  NLM_F,
  RTM,
  attrString,
  attrU32,
  dumpLinks,
  errorOf,
  formatAddr,
  getLinkByName,
  ifinfomsg,
  keptAcrossMove,
  moveLink,
  newAddr,
  nlmsg,
  parseAddr,
  parseLink,
  parseMessages,
  rtattr,
  setLinkUp,
  type Addr,
} from '../src/network/netlink.js';
import { Rtnl, checkNetDevices, netDevicesOf } from '../src/network/netdevices.js';
import type { NamespacePlan } from '../src/namespaces.js';
import { RecordingSys } from '../src/sys/recording.js';

const hex = (b: Buffer) => b.toString('hex');
const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
};

t.test('RTM_GETLINK by name: header, zero ifinfomsg, NUL-terminated IFLA_IFNAME padded to 4', async (t) => {
  t.equal(
    hex(getLinkByName(1, 'eth0')),
    '2c000000' + '1200' + '0100' + '01000000' + '00000000' + '00'.repeat(16) + '0900' + '0300' + '6574683000' + '000000',
  );
});

t.test('move: RTM_NEWLINK with ACK, the index, the new name and IFLA_NET_NS_FD in one message', async (t) => {
  t.equal(
    hex(moveLink(7, 5, 'ceth0', 12)),
    '34000000' + '1000' + '0500' + '07000000' + '00000000' +
      '00' + '00' + '0000' + '05000000' + '00000000' + '00000000' +
      '0a00' + '0300' + '636574683000' + '0000' +
      '0800' + '1c00' + '0c000000',
  );
});

t.test('up/down: ifi_flags IFF_UP (or 0) with ifi_change IFF_UP, nothing else touched', async (t) => {
  t.equal(hex(setLinkUp(2, 9, true)), '20000000' + '1000' + '0500' + '02000000' + '00000000' + '0000' + '0000' + '09000000' + '01000000' + '01000000');
  t.equal(hex(setLinkUp(2, 9, false)).slice(-16), '00000000' + '01000000');
});

t.test('RTM_NEWADDR: CREATE|EXCL, local/address/broadcast as reported, kernel-state flags dropped', async (t) => {
  const a: Addr = {
    family: AF_INET,
    prefixlen: 24,
    flags: IFA_F.PERMANENT,
    scope: 0,
    index: 77,
    local: Buffer.from([10, 0, 0, 1]),
    address: Buffer.from([10, 0, 0, 1]),
    broadcast: Buffer.from([10, 0, 0, 255]),
  };
  t.equal(
    hex(newAddr(3, 4, a)),
    '30000000' + '1400' + '0506' + '03000000' + '00000000' +
      '02' + '18' + '00' + '00' + '04000000' +
      '0800' + '0200' + '0a000001' +
      '0800' + '0100' + '0a000001' +
      '0800' + '0400' + '0a0000ff',
  );
  // A settable flag above the first 8 bits travels as IFA_FLAGS.
  const v6: Addr = { family: AF_INET6, prefixlen: 64, flags: IFA_F.PERMANENT | IFA_F.NOPREFIXROUTE | IFA_F.NODAD, scope: 0, index: 1, address: Buffer.from('20010db8000000000000000000000001', 'hex') };
  const m = parseMessages(newAddr(4, 2, v6))[0]!;
  t.equal(m.type, RTM.NEWADDR);
  t.equal(m.payload.readUInt8(2), IFA_F.NODAD, 'ifa_flags: the low byte of the settable flags');
  t.equal(m.payload.readUInt32LE(4), 2, 'on the device inside');
  t.equal(hex(m.payload.subarray(8)), '1400' + '0100' + '20010db8000000000000000000000001' + '0800' + '0800' + '02020000', 'IFA_ADDRESS then IFA_FLAGS (NOPREFIXROUTE|NODAD)');
});

t.test('NLMSG_ERROR: 0 is the ACK, else the errno; malformed datagrams are refused', async (t) => {
  const req = getLinkByName(1, 'x');
  const ack = nlmsg(NLMSG.ERROR, 0, 1, [le32(0), req.subarray(0, 16)]);
  const nodev = nlmsg(NLMSG.ERROR, 0, 2, [le32(-19), req.subarray(0, 16)]);
  const [a, b] = parseMessages(Buffer.concat([ack, nodev]));
  t.equal(errorOf(a!), 0);
  t.equal(errorOf(b!), 19);
  t.equal(b!.seq, 2);
  const bad = Buffer.from(ack);
  bad.writeUInt32LE(400, 0);
  t.throws(() => parseMessages(bad), /malformed/);
});

t.test('RTM_NEWLINK and RTM_NEWADDR replies parsed; which addresses survive the move', async (t) => {
  const link = parseMessages(nlmsg(RTM.NEWLINK, 0, 1, [ifinfomsg(42, 0x1003), attrU32(IFLA.MTU, 1400), attrString(IFLA.IFNAME, 'veth7')]))[0]!;
  t.same(parseLink(link), { index: 42, flags: 0x1003, name: 'veth7' });
  const ifa = Buffer.from([AF_INET, 24, 0x80, 0, 42, 0, 0, 0]);
  const raw = nlmsg(RTM.NEWADDR, NLM_F.MULTI, 1, [ifa, rtattr(IFA.ADDRESS, Buffer.from([10, 1, 2, 3])), rtattr(IFA.LOCAL, Buffer.from([10, 1, 2, 3])), attrU32(IFA.FLAGS, 0x280)]);
  const a = parseAddr(parseMessages(raw)[0]!);
  t.equal(a.flags, 0x280, 'IFA_FLAGS wins over the 8-bit ifa_flags');
  t.equal(a.index, 42);
  t.equal(formatAddr(a), '10.1.2.3/24');
  t.ok(keptAcrossMove(a), 'permanent, global: kept');
  t.notOk(keptAcrossMove({ ...a, scope: 253 }), 'link scope: dropped');
  t.notOk(keptAcrossMove({ ...a, flags: 0 }), 'dynamic: dropped');
  t.equal(formatAddr({ family: AF_INET6, prefixlen: 64, flags: 0, scope: 0, index: 1, address: Buffer.from('20010db8009500000000000000000001', 'hex') }), '2001:db8:95::1/64');
  t.throws(() => parseLink(parseMessages(raw)[0]!), /expected RTM_NEWLINK/);
});

/** A kernel datagram holding `msgs`. */
const dgram = (...msgs: Buffer[]) => Buffer.concat(msgs);
const linkMsg = (seq: number, index: number, name: string, multi = false) => nlmsg(RTM.NEWLINK, multi ? NLM_F.MULTI : 0, seq, [ifinfomsg(index), attrString(IFLA.IFNAME, name)]);
const errMsg = (seq: number, errno: number) => nlmsg(NLMSG.ERROR, 0, seq, [le32(-errno), Buffer.alloc(16)]);

t.test('Rtnl: a dump is read across datagrams up to NLMSG_DONE, stale answers skipped, ENODEV is "none"', async (t) => {
  const s = new RecordingSys();
  const r = Rtnl.open(s);
  s.recvQueue.push(dgram(linkMsg(0, 99, 'stale')), dgram(linkMsg(1, 1, 'lo', true), linkMsg(1, 2, 'eth0', true)), dgram(nlmsg(NLMSG.DONE, NLM_F.MULTI, 1, [le32(0)])));
  t.same(r.links().map((l) => l.name), ['lo', 'eth0']);
  t.equal(s.calls.find((c) => c.name === 'send')?.args[1], hex(dumpLinks(1)), 'the dump request, seq 1');
  s.recvQueue.push(dgram(errMsg(2, 19)));
  t.equal(r.link('nosuch'), undefined);
  s.recvQueue.push(dgram(linkMsg(3, 7, 'veth0')));
  t.same(r.link('veth0'), { index: 7, flags: 0, name: 'veth0' });
  s.recvQueue.push(dgram(errMsg(4, 17)));
  t.throws(() => r.ack((seq) => setLinkUp(seq, 7, true)), /file exists/, 'an error answer is thrown with its errno text');
  r.close();
  t.same(
    s.calls.filter((c) => c.name === 'socket' || c.name === 'close').map((c) => [c.name, ...c.args]),
    [['socket', 16, 3, 0], ['close', 400]],
    'AF_NETLINK, SOCK_RAW, NETLINK_ROUTE; closed',
  );
});

t.test('checkNetDevices: needs a network namespace; a missing host interface is named', async (t) => {
  const plan = (newTypes: string[]): NamespacePlan => ({ joins: [], newTypes, unshareFlags: 0, newCgroupNs: false, newUserNs: false, timeOffsets: [], fork: false });
  const devs = netDevicesOf({ eth9: { name: 'eth0' }, veth1: {} });
  t.same(devs, [{ hostName: 'eth9', name: 'eth0' }, { hostName: 'veth1', name: 'veth1' }]);
  t.throws(() => checkNetDevices(new RecordingSys(), devs, plan(['mount'])), /without a private network namespace/);
  const s = new RecordingSys();
  s.recvQueue.push(dgram(linkMsg(1, 3, 'eth9')), dgram(errMsg(2, 19)));
  t.throws(() => checkNetDevices(s, devs, plan(['mount', 'network'])), { message: 'linux.netDevices.veth1: no network interface "veth1" in the runtime\'s network namespace' });
  t.ok(s.calls.some((c) => c.name === 'close'), 'the socket is closed on failure too');
  t.doesNotThrow(() => checkNetDevices(new RecordingSys(), [], plan(['mount'])), 'no devices: nothing checked');
});
