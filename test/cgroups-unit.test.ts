// Pure cgroup logic: no root, no cgroup filesystem, no koffi.
import t from 'tap';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, hugepageSizesFromDirs, memorySwapToV2, parseMemory, pidsMax, validateResources } from '../src/cgroups/convert.js';
import { compileDeviceProgram, containerDeviceRules, DEFAULT_ALLOWED_DEVICES, emulate, encodeInsns, interpret, normalizeRule, v1RuleLine } from '../src/cgroups/devices.js';
import { cleanPath, isSystemdPath, parseMountinfo, parseProcCgroup, resolvePaths } from '../src/cgroups/hierarchy.js';
import { filterPsOutput, parseDuration, resourcesFromUpdateFlags } from '../src/cgroups/cli-flags.js';
import { deviceWrites, parseBlkio } from '../src/cgroups/v1.js';
import { TsruncError } from '../src/errors.js';

t.test('cpu shares -> weight (runc formula)', async (t) => {
  t.same([pidsMax(0), pidsMax(7), pidsMax(-1), pidsMax(-2)], ['0', '7', 'max', 'max'], 'pids.limit 0 is a limit (runtime-spec 1.3), negative is max');
  t.equal(cpuSharesToWeight(0), 0);
  t.equal(cpuSharesToWeight(2), 1);
  t.equal(cpuSharesToWeight(1024), 39);
  t.equal(cpuSharesToWeight(262144), 10000);
  t.equal(cpuSharesToWeight(512), 1 + Math.floor((510 * 9999) / 262142));
});

t.test('blkio weight -> io.weight', async (t) => {
  t.equal(blkioWeightToIoWeight(10), 1);
  t.equal(blkioWeightToIoWeight(1000), 10000);
  t.equal(blkioWeightToIoWeight(500), 1 + Math.floor((490 * 9999) / 990));
  t.equal(blkioWeightToIoWeight(0), 0);
});

t.test('memory swap v1 -> v2', async (t) => {
  t.equal(memorySwapToV2(undefined, undefined), undefined);
  t.equal(memorySwapToV2(undefined, -1), 'max');
  t.equal(memorySwapToV2(-1, 100), 'max');
  t.equal(memorySwapToV2(300, 100), 200);
  t.equal(memorySwapToV2(100, 100), 0, 'swap == limit disables swap');
  t.throws(() => memorySwapToV2(50, 100), TsruncError);
  t.throws(() => memorySwapToV2(50, undefined), /unable to set swap limit without memory limit/);
});

t.test('cpu.max', async (t) => {
  t.equal(cpuMax(undefined, undefined), undefined);
  t.equal(cpuMax(50000, 100000), '50000 100000');
  t.equal(cpuMax(-1, undefined), 'max 100000');
  t.equal(cpuMax(undefined, 20000), 'max 20000');
});

t.test('memory suffixes (runc --memory)', async (t) => {
  t.equal(parseMemory('1024'), 1024);
  t.equal(parseMemory('10k'), 10240);
  t.equal(parseMemory('10K'), 10240);
  t.equal(parseMemory('64m'), 64 * 1024 * 1024);
  t.equal(parseMemory('64mb'), 64 * 1024 * 1024);
  t.equal(parseMemory('1g'), 1024 ** 3);
  t.equal(parseMemory('1.5g'), 1.5 * 1024 ** 3);
  t.equal(parseMemory('-1'), -1);
  t.throws(() => parseMemory('abc'));
  t.throws(() => parseMemory('-2'));
  t.throws(() => parseMemory('1x'));
});

t.test('hugepage size names', async (t) => {
  t.same(hugepageSizesFromDirs(['hugepages-2048kB', 'hugepages-1048576kB', 'hugepages-64kB', 'junk']), ['2MB', '1GB', '64KB']);
});

t.test('validation rejects before writing', async (t) => {
  t.doesNotThrow(() => validateResources({ memory: { limit: 100, swap: 200 }, cpu: { shares: 1024, cpus: '0-1,3' } }, 'v1'));
  t.throws(() => validateResources({ memory: { swappiness: 101 } }, 'v1'), /valid memory swappiness range is 0-100/);
  t.throws(() => validateResources({ cpu: { cpus: 'zero' } }, 'v1'), /cpu\.cpus/);
  t.throws(() => validateResources({ cpu: { period: 10 } }, 'v1'), /cpu\.period/);
  t.throws(() => validateResources({ blockIO: { weight: 5 } }, 'v2'), /blockIO\.weight/);
  t.throws(() => validateResources({ unified: { 'memory.high': '1' } }, 'v1'), /cannot use unified on cgroup v1/);
  t.doesNotThrow(() => validateResources({ unified: { 'memory.high': '1' } }, 'v2'));
  t.throws(() => validateResources({ unified: { '../x': '1' } }, 'v2'));
  t.throws(() => validateResources({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'v2'), /hugepage size/);
  t.throws(() => validateResources({ memory: { limit: 200, swap: 100 } }, 'v1'), /memory\.swap/);
  t.throws(() => validateResources({ memory: { limit: 1.5 } }, 'v1'), /not an integer/);
});

t.test('device rules: v1 lines', async (t) => {
  t.equal(v1RuleLine(normalizeRule({ allow: false })), 'a *:* rwm');
  t.equal(v1RuleLine(normalizeRule({ allow: true, type: 'c', major: 1, minor: 3, access: 'wr' })), 'c 1:3 rw');
  t.equal(v1RuleLine(normalizeRule({ allow: true, type: 'c', major: 136, access: 'rwm' })), 'c 136:* rwm');
});

t.test('device rules: emulator follows v1 semantics', async (t) => {
  const rules = [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }].map((r) => normalizeRule(r as never));
  const p = emulate(rules);
  t.equal(p.defaultAllow, false);
  t.same(p.exceptions.map(v1RuleLine), ['c 1:3 rm']);
  const q = emulate([{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }].map((r) => normalizeRule(r as never)));
  t.equal(q.defaultAllow, true, 'no reset: blacklist mode');
  t.same(q.exceptions.map(v1RuleLine), ['c 1:3 rwm']);
  t.same(emulate([]), { defaultAllow: true, exceptions: [] });
});

t.test('device program: assembled instructions decide like the kernel would', async (t) => {
  const prog = compileDeviceProgram(emulate([
    { allow: false },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    { allow: true, type: 'c', major: 136, access: 'rwm' },
    { allow: true, type: 'b', access: 'm' },
  ].map((r) => normalizeRule(r as never))));
  const run = (type: 'b' | 'c', major: number, minor: number, access: 'r' | 'w' | 'm'): number => interpret(prog, { type, major, minor, access });
  t.equal(run('c', 1, 3, 'r'), 1, '/dev/null read allowed');
  t.equal(run('c', 1, 3, 'w'), 1);
  t.equal(run('c', 1, 3, 'm'), 0, 'mknod of null not granted');
  t.equal(run('c', 1, 5, 'r'), 0, '/dev/zero denied');
  t.equal(run('c', 136, 7, 'w'), 1, 'any pts');
  t.equal(run('b', 8, 0, 'm'), 1, 'mknod of any block device');
  t.equal(run('b', 8, 0, 'r'), 0);
  t.equal(prog.at(-1)!.code, 0x95, 'ends with exit');
  t.equal(encodeInsns(prog).length, prog.length * 8);
  // first insn: r2 = *(u32 *)(r1 + 0)
  t.same([...encodeInsns(prog).subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);

  const deny = compileDeviceProgram(emulate([{ allow: false, type: 'c', major: 1, minor: 3, access: 'w' }].map((r) => normalizeRule(r as never))));
  t.equal(interpret(deny, { type: 'c', major: 1, minor: 3, access: 'w' }), 0);
  t.equal(interpret(deny, { type: 'c', major: 1, minor: 3, access: 'r' }), 1);
  t.equal(interpret(deny, { type: 'c', major: 1, minor: 5, access: 'w' }), 1);
  const all = compileDeviceProgram(emulate([{ allow: false }].map((r) => normalizeRule(r as never))));
  t.equal(all.length, 8, 'deny-all: prologue + mov + exit');
});

const MOUNTINFO = `24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 24 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu2,cpuacct
29 25 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
30 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;

t.test('mountinfo and /proc/self/cgroup parsing', async (t) => {
  const m = parseMountinfo(MOUNTINFO);
  t.equal(m.length, 5);
  t.same(m[0], { mountpoint: '/sys/fs/cgroup/cpu', root: '/', controllers: ['cpu'], v2: false });
  t.same(m[3]!.controllers, ['name=systemd']);
  t.equal(m[4]!.v2, true);
  t.same(parseProcCgroup('4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/x\n0::/user.slice\n'), {
    memory: '/a/b', cpu: '/', cpuacct: '/', 'name=systemd': '/x', '': '/user.slice',
  });
});

t.test('cgroupsPath resolution mirrors runc', async (t) => {
  t.equal(cleanPath('../../etc'), 'etc');
  t.equal(cleanPath('/a/../../b'), '/b');
  t.equal(cleanPath('a/./b/'), 'a/b');
  t.ok(isSystemdPath('system.slice:docker:abc'));
  t.notOk(isSystemdPath('/a/b'));
  const mounts = parseMountinfo(MOUNTINFO);
  const self = parseProcCgroup('5:memory:/proc_api/x\n4:cpu:/\n2:cpu2,cpuacct:/\n1:name=systemd:/s\n0::/u/v\n');
  const abs = resolvePaths({ id: 'c1', cgroupsPath: '/tsr/c1', mode: 'hybrid', mounts, self });
  t.equal(abs.memory, '/sys/fs/cgroup/memory/tsr/c1');
  t.equal(abs.cpuacct, '/sys/fs/cgroup/cpu,cpuacct/tsr/c1');
  t.equal(abs.unified, '/sys/fs/cgroup/unified/tsr/c1');
  const def = resolvePaths({ id: 'c1', mode: 'v1', mounts, self });
  t.equal(def.memory, '/sys/fs/cgroup/memory/proc_api/x/c1', 'no cgroupsPath: <own cgroup>/<id>');
  t.equal(def.cpu, '/sys/fs/cgroup/cpu/c1');
  t.equal(def['name=systemd'], '/sys/fs/cgroup/systemd/s/c1');
  t.notOk('unified' in def, 'plain v1: no unified dir');
  const rel = resolvePaths({ id: 'c1', cgroupsPath: 'k/c1', mode: 'v1', mounts, self });
  t.equal(rel.memory, '/sys/fs/cgroup/memory/proc_api/x/k/c1');
  const v2m = parseMountinfo('30 25 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  t.same(resolvePaths({ id: 'c1', mode: 'v2', mounts: v2m, self: { '': '/user.slice/session-1.scope' } }), { unified: '/sys/fs/cgroup/user.slice/c1' }, 'v2 relative: parent of own cgroup');
  t.same(resolvePaths({ id: 'c1', cgroupsPath: '/a/b', mode: 'v2', mounts: v2m, self: {} }), { unified: '/sys/fs/cgroup/a/b' });
  t.throws(() => resolvePaths({ id: 'c1', cgroupsPath: '/', mode: 'v2', mounts: v2m, self: {} }));
});

t.test('update flags', async (t) => {
  const no = (): string => {
    throw new Error('no input expected');
  };
  t.same(resourcesFromUpdateFlags({ memory: '64m', memorySwap: '-1', cpuShare: '512', cpuQuota: '-1', pidsLimit: '20', cpusetCpus: '0', blkioWeight: '300' }, no), {
    blockIO: { weight: 300 }, pids: { limit: 20 }, cpu: { cpus: '0', shares: 512, quota: -1 }, memory: { limit: 64 * 1024 * 1024, swap: -1 },
  });
  t.same(resourcesFromUpdateFlags({ memory: '-1' }, no), { memory: { limit: -1, swap: -1 } }, 'unlimited memory implies unlimited swap');
  t.same(resourcesFromUpdateFlags({ pidsLimit: '0' }, no), {}, 'pids-limit 0 leaves it alone');
  t.throws(() => resourcesFromUpdateFlags({ cpuShare: 'x' }, no), /invalid value for cpu-share/);
  t.throws(() => resourcesFromUpdateFlags({ memory: '12q' }, no), /invalid value for memory/);
  t.same(resourcesFromUpdateFlags({ resources: '-', memory: '1' }, () => '{"pids":{"limit":5}}'), { pids: { limit: 5 } }, 'a resources file wins over flags');
  t.throws(() => resourcesFromUpdateFlags({ resources: 'f' }, () => '{'), /invalid resources JSON/);
});

t.test('durations and ps filtering', async (t) => {
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('100ms'), 100);
  t.equal(parseDuration('1m30s'), 90000);
  t.throws(() => parseDuration('5'));
  t.throws(() => parseDuration('0s'));
  const ps = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:00 ? 00:00:00 sleep 100\n';
  t.equal(filterPsOutput(ps, [42]), 'UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 100\n');
  t.throws(() => filterPsOutput('A B\n1 2\n', [1]), /couldn't find PID field/);
});

t.test('blkio stat parsing', async (t) => {
  t.same(parseBlkio('8:0 Read 100\n8:0 Write 5\nTotal 105\n'), [{ major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 0, op: 'Write', value: 5 }]);
});

t.test('container device rules follow runc specconv order', async (t) => {
  const rules = containerDeviceRules([{ allow: false, access: 'rwm' }], [{ type: 'c', major: 10, minor: 229 }, { type: 'p' }, { type: 'u', major: 4, minor: 1 }]);
  t.same(rules.slice(0, 3), [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
    { allow: true, type: 'c', major: 4, minor: 1, access: 'rwm' },
  ]);
  t.equal(rules.length, 3 + DEFAULT_ALLOWED_DEVICES.length);
  const prog = compileDeviceProgram(emulate(rules.map((r) => normalizeRule(r))));
  t.equal(interpret(prog, { type: 'c', major: 1, minor: 3, access: 'w' }), 1, '/dev/null via defaults');
  t.equal(interpret(prog, { type: 'c', major: 10, minor: 229, access: 'r' }), 1, 'listed device node');
  t.equal(interpret(prog, { type: 'b', major: 8, minor: 0, access: 'r' }), 0, 'disk denied');
  t.equal(interpret(prog, { type: 'b', major: 8, minor: 0, access: 'm' }), 1, 'mknod allowed (runc default)');
});

t.test('v1 device writes: config order on a fresh cgroup, difference on an update', async (t) => {
  const N = (rs: object[]) => rs.map((r) => normalizeRule(r as never));
  t.same(deviceWrites('a *:* rwm\n', N([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }])), [
    ['devices.deny', 'a *:* rwm'], ['devices.allow', 'c 1:3 rw'],
  ]);
  t.same(deviceWrites('c 1:3 rw\nc 1:5 rwm\n', N([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 9, access: 'r' }])), [
    ['devices.allow', 'c 1:3 rwm'], ['devices.allow', 'c 1:9 r'], ['devices.deny', 'c 1:5 rwm'],
  ], 'grants first, then revocations, no deny-all');
  t.same(deviceWrites('c 1:3 rwm\n', N([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }])), [['devices.deny', 'c 1:3 wm']]);
  t.same(deviceWrites('c 1:3 rwm\n', N([{ allow: true }])), [['devices.allow', 'a *:* rwm']], 'back to allow-all');
});
