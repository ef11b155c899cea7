// config-linux.md additions of runtime-spec 1.2 and 1.3 that a runtime
// applies to the container as a whole: time offsets, network devices moved
// from the host, the NUMA memory policy and Intel RDT.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { Runtime, requirement, newId, exists, skipReq } from '../lib/harness.js';

const rt = new Runtime(t);
type T = Parameters<Parameters<typeof requirement>[2]>[0];

// ---- timeOffsets ----
// "timeOffsets (object, OPTIONAL) sets the offset for Time Namespace. ... The
// name of the clock is the entry key. ... secs ... nanosecs ..."
requirement(t, { id: 'timeOffsets', section: 'config-linux.md#offset-for-time-namespace', level: 'MUST', title: 'timeOffsets are the time namespace\'s clock offsets' }, async (t) => {
  if (!exists('/proc/self/timens_offsets')) return skipReq(t, 'kernel without time namespaces');
  const r = await rt.runScript('cat /proc/self/timens_offsets', (c) => {
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { monotonic: { secs: 31536000, nanosecs: 500 }, boottime: { secs: 8640000 } };
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, /^monotonic\s+31536000\s+500$/m, 'monotonic offset');
  t.match(r.stdout, /^boottime\s+8640000\s+0$/m, 'boottime offset');
});

// ---- netDevices (1.3) ----
const NETDEV = 'config-linux.md#network-devices';

/** A veth pair on the host; `a` carries a permanent global IPv4 address. Removed at teardown. */
function veth(t: T): { a: string; b: string; addr: string } | undefined {
  const tag = Math.random().toString(36).slice(2, 7);
  const a = `tsrc${tag}a`;
  const b = `tsrc${tag}b`;
  const addr = `10.213.${Math.floor(Math.random() * 250) + 1}.1/24`;
  try {
    execFileSync('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  // Deleting either end of a veth pair removes both, wherever `a` ended up.
  t.teardown(() => {
    try {
      execFileSync('ip', ['link', 'del', b], { stdio: 'ignore' });
    } catch {
      /* gone with the container's network namespace */
    }
  });
  execFileSync('ip', ['addr', 'add', addr, 'dev', a]);
  return { a, b, addr };
}

const onHost = (dev: string) => exists(`/sys/class/net/${dev}`);

// "netDevices (object, OPTIONAL) - A set of network devices that MUST be made
// available in the container." / "name (string, OPTIONAL) - the name of the
// network device inside the container namespace." / "The runtime MUST preserve
// existing network interface attributes, including all permanent IP addresses
// ... with global scope" / "The runtime MUST set the network device state to
// "up" after moving it to the network namespace"
requirement(t, { id: 'netDevices.move', section: NETDEV, level: 'MUST', title: 'a host interface is moved in, renamed, up, with its permanent global address' }, async (t) => {
  const v = veth(t);
  if (!v) return skipReq(t, '`ip link add ... type veth` unavailable');
  const r = await rt.runScript('ip -o link show ceth0; ip -o -4 addr show dev ceth0; ls /sys/class/net', (c) => {
    c.linux.netDevices = { [v.a]: { name: 'ceth0' } };
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, /^\d+: ceth0[@:][^<]*<[^>]*\bUP\b/m, 'ceth0 exists inside and is up');
  t.match(r.stdout, new RegExp(`inet ${v.addr.replace(/\./g, '\\.')} `), `the address ${v.addr} came along`);
  t.notMatch(r.stdout, new RegExp(`\\b${v.a}\\b`), 'no device keeps the host name');
});

// "If a network device with the specified name already exists in the
// container namespace, the runtime MUST generate an error" (and an error
// leaves the environment as if the operation were never attempted).
requirement(t, { id: 'netDevices.name-exists', section: NETDEV, level: 'MUST', title: 'moving a device onto a name taken in the container (lo) is an error, the device stays on the host' }, async (t) => {
  const v = veth(t);
  if (!v) return skipReq(t, '`ip link add ... type veth` unavailable');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.netDevices = { [v.a]: { name: 'lo' } }));
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
  t.ok(onHost(v.a), 'the device is still on the host');
});

// "... unless the user has provided a template by appending %d to the new
// name. In that case, the runtime MUST allow the move, and the kernel will
// generate a unique name for the interface"
requirement(t, { id: 'netDevices.name-template', section: NETDEV, level: 'MUST', title: 'a name ending in %d is a kernel template: the move is allowed' }, async (t) => {
  const v = veth(t);
  if (!v) return skipReq(t, '`ip link add ... type veth` unavailable');
  const r = await rt.runScript('ls /sys/class/net', (c) => (c.linux.netDevices = { [v.a]: { name: 'cnet%d' } }));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, /^cnet0$/m, 'named cnet0 by the kernel');
});

// "The runtime MUST check if moving the network interface to the container
// namespace is possible."
requirement(t, { id: 'netDevices.missing', section: NETDEV, level: 'MUST', title: 'a netDevices entry naming no host interface is an error' }, async (t) => {
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.netDevices = { [`tsrnone${process.pid % 1000}`]: {} }));
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// ---- memoryPolicy (1.3) ----
// "memoryPolicy (object, OPTIONAL) sets the NUMA memory policy for the
// container. For more information see the set_mempolicy(2) man page." A
// task's policy survives execve; /proc/self/numa_maps prints it for every
// mapping without a policy of its own.
requirement(t, { id: 'memoryPolicy', section: 'config-linux.md#memory-policy', level: 'MUST', title: 'memoryPolicy mode, nodes and flags are the process\'s NUMA policy' }, async (t) => {
  if (!exists('/proc/self/numa_maps')) return skipReq(t, 'kernel without NUMA support (no /proc/self/numa_maps)');
  const r = await rt.runScript('head -n 1 /proc/self/numa_maps', (c) => {
    c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] };
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, / interleave=static:0 /, `interleave, static, node 0 (${r.stdout.trim()})`);
});

// runtime.md create: "If the runtime cannot apply a property as specified in
// the configuration, it MUST generate an error and a new container MUST NOT
// be created." -- a node the host does not have.
requirement(t, { id: 'memoryPolicy.unappliable', section: 'config-linux.md#memory-policy', level: 'MUST', title: 'a memoryPolicy naming a node the host lacks is an error' }, async (t) => {
  if (!exists('/proc/self/numa_maps')) return skipReq(t, 'kernel without NUMA support (no /proc/self/numa_maps)');
  const online = fs.readFileSync('/sys/devices/system/node/online', 'utf8').trim();
  if (online.includes('63')) return skipReq(t, `node 63 is online here (${online})`);
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '63' }));
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// ---- intelRdt ----
const RDT = 'config-linux.md#intelrdt';
const resctrl = () => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[2] === 'resctrl')?.split(' ')[1];

// "If no mounted resctrl pseudo-filesystem is available in the runtime mount
// namespace, the runtime MUST generate an error."
requirement(t, { id: 'intelRdt.no-resctrl', section: RDT, level: 'MUST', title: 'intelRdt without a mounted resctrl filesystem is an error' }, async (t) => {
  if (resctrl()) return skipReq(t, 'resctrl is mounted on this host (intelRdt.closID checks it)');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.intelRdt = { closID: 'tsr-conf' }));
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// "If intelRdt is set, the runtime MUST write the container process ID to the
// tasks file in a proper sub-directory in a mounted resctrl pseudo-filesystem.
// That sub-directory name is specified by closID parameter." / "If closID is
// set, l3CacheSchema and/or memBwSchema and/or schemata is set: if closID
// directory ... doesn't exist, the runtimes MUST create it." / "If closID is
// set or the runtime has not created the sub-directory, the runtime MUST NOT
// remove the sub-directory when the container is deleted."
requirement(t, { id: 'intelRdt.closID', section: RDT, level: 'MUST', title: 'intelRdt: the container process is in the closID group' }, async (t) => {
  const mnt = resctrl();
  if (!mnt) return skipReq(t, 'no resctrl filesystem mounted (no Intel RDT / AMD QoS here)');
  const clos = `tsr-conf-${process.pid}`;
  const dir = `${mnt}/${clos}`;
  fs.mkdirSync(dir);
  t.teardown(() => fs.rmdirSync(dir));
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.intelRdt = { closID: clos }));
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const pid = (await rt.state(id))?.pid;
  t.ok(fs.readFileSync(`${dir}/tasks`, 'utf8').split('\n').includes(String(pid)), 'the container process is in the closID\'s tasks');
  await rt.delete(id, true);
  t.ok(exists(dir), 'a pre-existing closID directory is kept at delete');
});
