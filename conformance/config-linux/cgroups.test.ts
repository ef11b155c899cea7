// config-linux.md "Control groups" beyond linux.test.ts: cgroupsPath
// stability, more resources, the allowed device list, unified and ownership.
// Read from the host, in the container's own cgroup.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Runtime, requirement, newId, cgroupDir, exists, skipReq, isCgroup2, mapUser } from '../lib/harness.js';

const rt = new Runtime(t);
type T = Parameters<Parameters<typeof requirement>[2]>[0];
const read = (dir: string | undefined, file: string) => {
  try {
    return fs.readFileSync(path.join(dir ?? '/nonexistent', file), 'utf8').trim();
  } catch {
    return `(no ${file})`;
  }
};

/** Creates a container from `edit` and returns its pid (0 when create failed, asserted). */
async function created(t: T, edit: (c: Record<string, any>) => void, id = newId()): Promise<number> {
  const { bundle } = rt.outBundle('true', edit);
  // A mapped root (user namespace tests) must be able to reach the rootfs.
  fs.chmodSync(bundle.dir, 0o755);
  const r = await rt.create(id, bundle);
  t.equal(r.exitCode, 0, 'create succeeds', { output: r.output.trim() });
  return (await rt.state(id))?.pid ?? 0;
}

// "If the value is specified, the runtime MUST consistently attach to the
// same place in the cgroups hierarchy given the same value of cgroupsPath."
requirement(t, { id: 'cgroups.path.consistent', section: 'config-linux.md#cgroups-path', level: 'MUST', title: 'the same cgroupsPath gives the same cgroup, container after container' }, async (t) => {
  const cg = `/tsr-conf-${newId('cg')}`;
  const a = newId();
  const dirA = cgroupDir(await created(t, (c) => (c.linux.cgroupsPath = cg), a));
  await rt.delete(a, true);
  const b = newId();
  const dirB = cgroupDir(await created(t, (c) => (c.linux.cgroupsPath = cg), b));
  t.ok(dirA && dirA.endsWith(cg), `first container in ${dirA}`);
  t.equal(dirB, dirA, 'second container in the same cgroup');
  await rt.delete(b, true);
});

// runtime.md create: "All of the properties configured in config.json except
// for process MUST be applied." -- resources.cpu.
requirement(t, { id: 'cgroups.resources.cpu', section: 'config-linux.md#cpu', level: 'MUST', title: 'resources.cpu shares, quota/period and cpus are written to the container cgroup' }, async (t) => {
  const pid = await created(t, (c) => (c.linux.resources.cpu = { shares: 512, quota: 50000, period: 100000, cpus: '0' }));
  if (isCgroup2()) {
    const dir = cgroupDir(pid);
    t.equal(read(dir, 'cpu.max'), '50000 100000', 'cpu.max');
    // runc's conversion: weight = 1 + ((shares - 2) * 9999) / 262142
    t.equal(read(dir, 'cpu.weight'), '20', 'cpu.weight from shares 512');
    t.equal(read(dir, 'cpuset.cpus'), '0', 'cpuset.cpus');
  } else {
    const cpu = cgroupDir(pid, 'cpu');
    t.equal(read(cpu, 'cpu.shares'), '512', 'cpu.shares');
    t.equal(read(cpu, 'cpu.cfs_quota_us'), '50000', 'cpu.cfs_quota_us');
    t.equal(read(cpu, 'cpu.cfs_period_us'), '100000', 'cpu.cfs_period_us');
    t.equal(read(cgroupDir(pid, 'cpuset'), 'cpuset.cpus'), '0', 'cpuset.cpus');
  }
});

// memory: "reservation (int64, OPTIONAL) - sets soft limit of memory usage" /
// "swappiness (uint64, OPTIONAL) - sets swappiness parameter of vmscan".
requirement(t, { id: 'cgroups.resources.memory.reservation', section: 'config-linux.md#memory', level: 'MUST', title: 'resources.memory reservation (and swappiness on v1) are written to the container cgroup' }, async (t) => {
  const reservation = 32 * 1024 * 1024;
  const pid = await created(t, (c) => (c.linux.resources.memory = { limit: 2 * reservation, reservation, swappiness: 17 }));
  if (isCgroup2()) {
    t.equal(read(cgroupDir(pid), 'memory.low'), String(reservation), 'memory.low');
  } else {
    const dir = cgroupDir(pid, 'memory');
    t.equal(read(dir, 'memory.soft_limit_in_bytes'), String(reservation), 'memory.soft_limit_in_bytes');
    t.equal(read(dir, 'memory.swappiness'), '17', 'memory.swappiness');
  }
});

// blockIO: "throttleReadBpsDevice, throttleWriteBpsDevice ... rate (uint64,
// REQUIRED) - bandwidth rate limit in bytes per second for the device" --
// for the block device the host's root filesystem is on.
requirement(t, { id: 'cgroups.resources.blockIO', section: 'config-linux.md#block-io', level: 'MUST', title: 'resources.blockIO throttle rates are written to the container cgroup' }, async (t) => {
  const dev = fs.statSync('/').dev;
  // st_dev of / is a partition or a whole disk; the throttle needs a whole disk.
  const sys = `/sys/dev/block/${Math.floor(dev / 256)}:${dev % 256}`;
  const whole = exists(`${sys}/partition`) ? fs.readFileSync(path.join(fs.realpathSync(sys), '../dev'), 'utf8').trim() : `${Math.floor(dev / 256)}:${dev % 256}`;
  if (!exists(`/sys/dev/block/${whole}`)) return skipReq(t, `no block device under / (st_dev ${dev})`);
  const [major, minor] = whole.split(':').map(Number);
  const pid = await created(t, (c) => (c.linux.resources.blockIO = { throttleReadBpsDevice: [{ major, minor, rate: 1048576 }], throttleWriteIOPSDevice: [{ major, minor, rate: 300 }] }));
  if (isCgroup2()) {
    t.match(read(cgroupDir(pid), 'io.max'), new RegExp(`^${major}:${minor} rbps=1048576 wbps=max riops=max wiops=300$`, 'm'), 'io.max');
  } else {
    const dir = cgroupDir(pid, 'blkio');
    t.equal(read(dir, 'blkio.throttle.read_bps_device'), `${major}:${minor} 1048576`, 'blkio.throttle.read_bps_device');
    t.equal(read(dir, 'blkio.throttle.write_iops_device'), `${major}:${minor} 300`, 'blkio.throttle.write_iops_device');
  }
});

// pids: "Note: Even though it may superficially seem redundant, 0 is a valid
// limit value for the pids cgroup controller from the kernel's perspective
// and SHOULD be treated as such by runtimes."
requirement(t, { id: 'cgroups.resources.pids.zero', section: 'config-linux.md#pids', level: 'SHOULD', title: 'resources.pids.limit 0 is written as 0, not taken as unset' }, async (t) => {
  // Created, not started: joining a cgroup at pids.max 0 is allowed, forking is not.
  const pid = await created(t, (c) => (c.linux.resources.pids = { limit: 0 }));
  t.equal(read(cgroupDir(pid, 'pids'), 'pids.max'), '0', 'pids.max');
});

// Allowed device list: "The runtime MUST apply entries in the listed order."
// On cgroup v1 the kernel's devices.list shows the outcome: a later deny of
// w narrows an earlier allow of rw.
requirement(t, { id: 'cgroups.devices.order', section: 'config-linux.md#allowed-device-list', level: 'MUST', title: 'allowed-device entries apply in the listed order' }, async (t) => {
  if (isCgroup2()) return skipReq(t, 'cgroup v2 devices are an eBPF program: no devices.list to read the outcome from');
  const pid = await created(t, (c) => {
    c.linux.resources.devices.push({ allow: true, type: 'c', major: 10, minor: 229, access: 'rw' });
    c.linux.resources.devices.push({ allow: false, type: 'c', major: 10, minor: 229, access: 'w' });
  });
  const list = read(cgroupDir(pid, 'devices'), 'devices.list').split('\n');
  t.ok(list.includes('c 10:229 r'), `10:229 is read-only: the deny came last (${list.filter((l) => l.includes('10:229')).join('; ') || 'no 10:229 entry'})`);
});

// Unified: "The runtime MUST generate an error when the configuration refers
// to a cgroup controller that is not present or that cannot be enabled." On a
// v1 (or hybrid) host no controller is on the unified hierarchy.
requirement(t, { id: 'cgroups.unified.unavailable', section: 'config-linux.md#unified', level: 'MUST', title: 'unified keys for a controller that is not present are an error' }, async (t) => {
  const key = isCgroup2() ? 'tsrbogus.max' : 'pids.max';
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.resources.unified = { [key]: '10' }));
  t.not((await rt.create(id, bundle)).exitCode, 0, `create with unified ${key} fails`);
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// Unified: "Configuration unknown to the runtime MUST still be written to the
// relevant file."
requirement(t, { id: 'cgroups.unified.write', section: 'config-linux.md#unified', level: 'MUST', title: 'unified keys are written to their files' }, async (t) => {
  if (!isCgroup2()) return skipReq(t, 'cgroup v1 host: unified needs the controllers on cgroup v2');
  const pid = await created(t, (c) => (c.linux.resources.unified = { 'pids.max': '17' }));
  t.equal(read(cgroupDir(pid), 'pids.max'), '17');
});

// Cgroup ownership: "Runtimes SHOULD NOT change the ownership of container
// cgroups when cgroups v1 is in use." -- even with a user namespace, a cgroup
// namespace and a read-write cgroup mount (the case where v2 would chown).
requirement(t, { id: 'cgroups.ownership.v1', section: 'config-linux.md#cgroup-ownership', level: 'SHOULD NOT', title: 'on cgroup v1 the container cgroup stays owned by root' }, async (t) => {
  if (isCgroup2()) return skipReq(t, 'cgroup v2 host: the v1 rule does not apply');
  let dir: string | undefined;
  const pid = await created(t, (c) => {
    mapUser(c);
    c.mounts = c.mounts.filter((m: any) => m.destination !== '/out'); // a 0700 host dir the mapped root cannot reach
  });
  dir = cgroupDir(pid, 'pids');
  t.ok(dir && exists(dir), `the container has a pids cgroup (${dir})`);
  const st = dir ? fs.statSync(dir) : undefined;
  t.equal(`${st?.uid}:${st?.gid}`, '0:0', 'cgroup directory owned by root');
  const procs = dir ? fs.statSync(path.join(dir, 'cgroup.procs')) : undefined;
  t.equal(`${procs?.uid}:${procs?.gid}`, '0:0', 'cgroup.procs owned by root');
});
