// linux.intelRdt: refused at create (not implemented), with runc's words when
// no resctrl filesystem is mounted. The mountinfo is faked: this host has no
// resctrl (no Intel RDT / AMD QoS), so only the no-resctrl case is also run
// for real (conformance/config-linux/spec-1.2-1.3.test.ts intelRdt.no-resctrl).
import t from 'tap';
import { checkIntelRdt, resctrlMounts } from '../src/container/intelrdt.js';

const HOST = [
  '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw',
].join('\n');
const WITH_RESCTRL = `${HOST}\n40 24 0:40 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw,mba_MBps\n`;

t.test('resctrl mount points from mountinfo', async (t) => {
  t.same(resctrlMounts(HOST), []);
  t.same(resctrlMounts(WITH_RESCTRL), ['/sys/fs/resctrl']);
  // An optional field that reads like a type does not count: only the one after " - ".
  t.same(resctrlMounts('41 22 0:41 / /mnt/x rw shared:9 - tmpfs resctrl rw'), []);
});

t.test('intelRdt is refused; no intelRdt reads nothing', async (t) => {
  let reads = 0;
  checkIntelRdt(undefined, () => (reads++, HOST));
  t.equal(reads, 0, 'mountinfo not even read without intelRdt');
  t.throws(() => checkIntelRdt({ closID: 'x' }, () => HOST), /^linux\.intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled \(no resctrl filesystem is mounted\)$/);
  t.throws(() => checkIntelRdt({}, () => WITH_RESCTRL), /^linux\.intelRdt: resctrl groups are not implemented by tsrunc yet \(resctrl is mounted at \/sys\/fs\/resctrl\)$/);
});
