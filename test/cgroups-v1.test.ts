// The v1/hybrid driver on this host's real cgroup hierarchies, with plain
// processes (sh, dd, sleep) placed in the cgroups. Root only.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import type { CgroupManager } from '../src/cgroups/index.js';

const ROOT = path.resolve(import.meta.dirname, '..');
// src/sys/ffi.ts loads koffi with require() from dist/ (as the bundle does)
(globalThis as { require?: NodeJS.Require }).require ??= createRequire(import.meta.url);
process.env.TSRUNC_LIBDIR ??= path.join(ROOT, 'dist');

const cg = await import('../src/cgroups/index.js');
const { readStartTime } = await import('../src/state/status.js');
const { openStore } = await import('../src/state/store.js');

const isV1 = fs.statfsSync('/sys/fs/cgroup').type !== 0x63677270;
const skipReason = process.getuid?.() !== 0 ? 'needs root' : !isV1 ? 'host is cgroup v2 (see cgroups-v2.test.ts)' : undefined;
if (skipReason) t.plan(0, skipReason);
else if (!fs.existsSync(path.join(ROOT, 'dist/koffi.node'))) execFileSync('make', ['dist/koffi.node'], { cwd: ROOT });
const test = (skipReason ? () => undefined : t.test.bind(t)) as typeof t.test;

const rand = (): string => Math.random().toString(36).slice(2, 8);
const procs = new Set<ChildProcess>();
const managers = new Set<CgroupManager>();

function mgr(resources?: Parameters<CgroupManager['create']>[0], warn?: (m: string) => void): CgroupManager {
  const m = cg.newCgroupManager({ id: 'x', cgroupsPath: `/tsr-test-${rand()}`, systemd: false, rootless: false, warn });
  managers.add(m);
  m.create(resources);
  return m;
}

/** A shell that waits for a line on stdin before running `script`: it is joined to the cgroup first. */
function held(script: string): ChildProcess & { go(): void; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const p = spawn('/bin/sh', ['-c', `read x; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.add(p);
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += String(d)));
  p.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) => p.on('exit', (code, signal) => res({ code, signal, stderr })));
  return Object.assign(p, { go: () => p.stdin!.write('\n'), done });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rd = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8').trim();

t.teardown(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await sleep(100);
  for (const m of managers) {
    try {
      m.thaw();
    } catch {
      /* no freezer or gone */
    }
    try {
      m.destroy();
    } catch (e) {
      fs.writeSync(2, `cleanup: ${(e as Error).message}\n`);
    }
  }
});

test('detection and paths (hybrid host)', async (t) => {
  t.equal(cg.hostMode(), fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers') ? 'hybrid' : 'v1');
  const m = mgr();
  const p = m.paths();
  t.equal(m.driver, 'v1');
  for (const c of ['memory', 'pids', 'cpu', 'devices', 'freezer']) t.match(p[c], new RegExp(`^/sys/fs/cgroup/${c}/tsr-test-`), `${c} path`);
  if (cg.hostMode() === 'hybrid') t.match(p.unified, /^\/sys\/fs\/cgroup\/unified\/tsr-test-/, 'hybrid: unified dir too');
  for (const d of Object.values(p)) t.ok(fs.existsSync(d), `${d} created`);
  t.equal(m.owned(), true);
  const again = cg.loadCgroupManager(p, true);
  t.same(again.paths(), p, 'rebuilt from the record fields');
  m.destroy();
  for (const d of Object.values(p)) t.notOk(fs.existsSync(d), `${d} removed`);
});

test('default cgroupsPath: <own cgroup>/<id> per hierarchy (runc)', async (t) => {
  const id = `tsr-test-${rand()}`;
  const m = cg.newCgroupManager({ id, systemd: false, rootless: false });
  managers.add(m);
  const own = Object.fromEntries(fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((l) => l.split(':')).map(([, c, p]) => [c, p]));
  t.equal(m.paths().memory, path.join('/sys/fs/cgroup/memory', own.memory!, id));
  m.create(undefined);
  t.ok(fs.existsSync(m.paths().memory!));
  m.destroy();
  t.notOk(fs.existsSync(m.paths().memory!));
});

test('systemd driver without systemd', async (t) => {
  if (fs.existsSync('/run/systemd/system')) {
    t.pass('systemd-not-running error', { skip: 'systemd is running on this host' });
    return;
  }
  t.throws(() => cg.newCgroupManager({ id: 'x', cgroupsPath: 'system.slice:tsr:x', systemd: true, rootless: false }), /systemd cgroup driver: systemd is not running on this host/);
});

test('memory: values, then OOM kill at the limit (with the eventfd OOM notification)', async (t) => {
  const warns: string[] = [];
  const m = mgr({ memory: { limit: 32 << 20, swap: 32 << 20, reservation: 16 << 20, swappiness: 0, kernel: 1 << 30, disableOOMKiller: false } }, (w) => warns.push(w));
  const d = m.paths().memory!;
  t.equal(rd(d, 'memory.limit_in_bytes'), String(32 << 20));
  t.equal(rd(d, 'memory.memsw.limit_in_bytes'), String(32 << 20));
  t.equal(rd(d, 'memory.soft_limit_in_bytes'), String(16 << 20));
  t.equal(rd(d, 'memory.swappiness'), '0');
  t.match(warns.join('\n'), /memory\.kernel is ignored/, 'kernel memory ignored with a warning, as runc');
  const oom = m.oomWatcher();
  t.teardown(() => oom.close());
  t.equal(oom.poll(), false, 'no OOM yet');
  const p = held('exec dd if=/dev/zero of=/dev/null bs=64M count=1');
  m.join(p.pid!);
  p.go();
  const r = await p.done;
  t.equal(r.signal, 'SIGKILL', 'the 64M dd is OOM-killed under a 32M limit');
  t.match(rd(d, 'memory.oom_control'), /oom_kill [1-9]/);
  let seen = false;
  for (let i = 0; i < 20 && !seen; i++) {
    seen = oom.poll();
    if (!seen) await sleep(50);
  }
  t.ok(seen, 'eventfd OOM notification fired');
  const s = m.stats();
  t.ok((s.memory.usage.max ?? 0) >= 16 << 20, `peak usage ${s.memory.usage.max} reached the limit's range`);
  t.equal(s.memory.usage.limit, 32 << 20);
  // the same dd fits after an update raising the limit
  m.update({ memory: { limit: 128 << 20, swap: 128 << 20 } });
  t.equal(rd(d, 'memory.limit_in_bytes'), String(128 << 20));
  const q = held('exec dd if=/dev/zero of=/dev/null bs=64M count=1');
  m.join(q.pid!);
  q.go();
  t.equal((await q.done).code, 0, 'dd succeeds after raising the limit');
  t.throws(() => m.update({ memory: { limit: 64 << 20, swap: 32 << 20 } }), /memory\.swap/, 'swap < limit rejected');
  t.equal(rd(d, 'memory.limit_in_bytes'), String(128 << 20), 'rejected update wrote nothing');
  m.update({ memory: { limit: -1 } });
  t.match(rd(d, 'memory.limit_in_bytes'), /^92233720368547/, 'limit -1: unlimited (and swap follows)');
  m.update({ memory: { disableOOMKiller: true } });
  t.match(rd(d, 'memory.oom_control'), /oom_kill_disable 1/);
});

test('pids: a fork loop stops at pids.max', async (t) => {
  const m = mgr({ pids: { limit: 5 } });
  const d = m.paths().pids!;
  t.equal(rd(d, 'pids.max'), '5');
  // dash gives up at the first failed fork: the loop never gets past the limit
  const p = held('for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; wait');
  m.join(p.pid!);
  p.go();
  await sleep(500);
  t.ok(Number(rd(d, 'pids.current')) <= 5, `pids.current ${rd(d, 'pids.current')} <= 5`);
  t.match(rd(d, 'pids.events'), /max [1-9]/, 'pids.events counted refused forks');
  m.killAll(9);
  const r = await p.done;
  t.match(r.stderr, /fork/i, 'forks beyond the limit failed');
  t.equal(m.stats().pids.limit, 5);
  m.update({ pids: { limit: 20 } });
  t.equal(rd(d, 'pids.max'), '20');
  m.update({ pids: { limit: -1 } });
  t.equal(rd(d, 'pids.max'), 'max');
});

test('cpu: values read back and quota throttles a busy loop', async (t) => {
  const m = mgr({ cpu: { shares: 512, quota: 10000, period: 100000, burst: 1000, idle: 0, cpus: '0', mems: '0', realtimePeriod: 1000000, realtimeRuntime: 1000 } });
  const d = m.paths().cpu!;
  t.equal(rd(d, 'cpu.shares'), '512');
  t.equal(rd(d, 'cpu.cfs_quota_us'), '10000');
  t.equal(rd(d, 'cpu.cfs_period_us'), '100000');
  t.equal(rd(d, 'cpu.cfs_burst_us'), '1000');
  t.equal(rd(d, 'cpu.idle'), '0');
  t.equal(rd(d, 'cpu.rt_runtime_us'), '1000');
  t.equal(rd(m.paths().cpuset!, 'cpuset.cpus'), '0');
  t.equal(rd(m.paths().cpuset!, 'cpuset.mems'), '0');
  t.throws(() => m.update({ cpu: { shares: 1 } }), /minimum allowed cpu-shares is 2/);
  const p = held('while :; do :; done');
  m.join(p.pid!);
  p.go();
  await sleep(1000);
  const s = m.stats();
  t.ok((s.cpu.throttling.throttledPeriods ?? 0) > 0, `throttled periods: ${s.cpu.throttling.throttledPeriods}`);
  t.ok((s.cpu.usage.total ?? 0) > 0 && (s.cpu.usage.total ?? 0) < 0.5e9, `cpu usage ${s.cpu.usage.total} ns in 1 s at a 10% quota`);
  m.update({ cpu: { quota: -1 } });
  t.equal(rd(d, 'cpu.cfs_quota_us'), '-1');
  p.kill('SIGKILL');
  await p.done;
});

test('devices: deny-all then allow /dev/zero: /dev/null cannot be opened', async (t) => {
  const m = mgr({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }] });
  t.equal(rd(m.paths().devices!, 'devices.list'), 'c 1:5 rwm');
  const p = held('head -c1 /dev/null; echo null=$? >&2; head -c1 /dev/zero >/dev/zero; echo zero=$? >&2');
  m.join(p.pid!);
  p.go();
  const r = await p.done;
  t.match(r.stderr, /Operation not permitted/);
  t.match(r.stderr, /null=1/);
  t.match(r.stderr, /zero=0/);
  // a running container's rules change without a deny-all window
  m.update({ devices: [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }] });
  t.same(rd(m.paths().devices!, 'devices.list').split('\n').sort(), ['c 1:3 rw', 'c 1:5 rwm']);
  m.update({ devices: [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
  t.equal(rd(m.paths().devices!, 'devices.list'), 'c 1:3 rw');
  const q = held('head -c1 /dev/null; echo null=$? >&2');
  m.join(q.pid!);
  q.go();
  t.match((await q.done).stderr, /null=0/, '/dev/null usable after the update');
});

test('freezer: a frozen process makes no progress; thaw resumes it', async (t) => {
  const m = mgr();
  const p = held('while :; do :; done');
  m.join(p.pid!);
  p.go();
  await sleep(200);
  const usage = (): number => Number(rd(m.paths().cpuacct!, 'cpuacct.usage'));
  m.freeze();
  t.equal(m.state(), 'frozen');
  const a = usage();
  await sleep(400);
  const b = usage();
  t.equal(b, a, 'no cpu time while frozen');
  m.thaw();
  t.equal(m.state(), 'thawed');
  await sleep(300);
  t.ok(usage() > b, 'runs again after thaw');
  p.kill('SIGKILL');
  await p.done;
});

test('pids() and killAll', async (t) => {
  const m = mgr();
  const ps = [held('exec sleep 30'), held('exec sleep 30'), held('exec sleep 30')];
  for (const p of ps) m.join(p.pid!);
  t.same(m.pids(), ps.map((p) => p.pid!).sort((a, b) => a - b));
  m.killAll(9);
  for (const p of ps) t.equal((await p.done).signal, 'SIGKILL');
  t.same(m.pids(), []);
  t.equal(m.state(), 'thawed', 'thawed again after the kill');
  // a paused container is killed too (runc thaws after signalling)
  const q = held('exec sleep 30');
  m.join(q.pid!);
  m.freeze();
  m.killAll(9);
  t.equal((await q.done).signal, 'SIGKILL', 'paused process killed');
});

test('blkio: throttles are written; weights fail clearly without CFQ/BFQ weights', async (t) => {
  const dev = fs.readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number) as [number, number];
  const m = mgr({
    blockIO: {
      throttleReadBpsDevice: [{ major: dev[0], minor: dev[1], rate: 1048576 }],
      throttleWriteIOPSDevice: [{ major: dev[0], minor: dev[1], rate: 100 }],
    },
  });
  const d = m.paths().blkio!;
  t.equal(rd(d, 'blkio.throttle.read_bps_device'), `${dev[0]}:${dev[1]} 1048576`);
  t.equal(rd(d, 'blkio.throttle.write_iops_device'), `${dev[0]}:${dev[1]} 100`);
  if (!fs.existsSync(path.join(d, 'blkio.weight')) && !fs.existsSync(path.join(d, 'blkio.bfq.weight'))) {
    t.throws(() => m.update({ blockIO: { weight: 500 } }), /cannot set blockIO weight: blkio.weight does not exist/);
  } else {
    m.update({ blockIO: { weight: 500 } });
    t.pass('weight written');
  }
  t.type(m.stats().blkio, 'object');
});

test('controllers this host lacks, and unified on v1', async (t) => {
  const m = mgr();
  const mounted = (c: string): boolean => c in m.paths();
  if (!mounted('hugetlb')) t.throws(() => m.update({ hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] }), /cannot set hugetlb limit: container could not join or create cgroup/);
  else {
    m.update({ hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] });
    t.equal(rd(m.paths().hugetlb!, 'hugetlb.2MB.limit_in_bytes'), '2097152');
  }
  if (!mounted('net_cls')) t.throws(() => m.update({ network: { classID: 0x100001 } }), /cannot set net_cls limit/);
  if (!mounted('net_prio')) t.throws(() => m.update({ network: { priorities: [{ name: 'lo', priority: 1 }] } }), /cannot set net_prio limit/);
  if (!mounted('rdma')) t.throws(() => m.update({ rdma: { mlx5_0: { hcaHandles: 1 } } }), /cannot set rdma limit/);
  t.throws(() => m.update({ unified: { 'memory.high': '100' } }), /cannot use unified on cgroup v1/);
  if (!mounted('hugetlb')) {
    t.throws(() => m.update({ pids: { limit: 9 }, hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] }), /hugetlb/);
    t.equal(rd(m.paths().pids!, 'pids.max'), 'max', 'nothing written when a needed controller is missing');
  }
  t.throws(() => m.update({ hugepageLimits: [{ pageSize: '4MB', limit: 1 }] }), /invalid hugepage size "4MB": this kernel supports/);
});

test('create refuses a config the host cannot honour before creating anything', async (t) => {
  const p = `/tsr-test-${rand()}`;
  const m = cg.newCgroupManager({ id: 'x', cgroupsPath: p, systemd: false, rootless: false });
  managers.add(m);
  const bad = 'hugetlb' in m.paths() ? { hugepageLimits: [{ pageSize: '3MB', limit: 1 }] } : { hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] };
  t.throws(() => m.create({ pids: { limit: 3 }, ...bad }));
  t.notOk(fs.existsSync(`/sys/fs/cgroup/pids${p}`), 'no cgroup dir left behind');
  t.throws(() => m.create({ cpu: { cpus: '0-' } }), /cpu\.cpus/);
  t.notOk(fs.existsSync(`/sys/fs/cgroup/pids${p}`));
});

test('destroy leaves a joined pre-existing cgroup alone', async (t) => {
  const p = `/tsr-test-${rand()}`;
  const pre = cg.newCgroupManager({ id: 'x', cgroupsPath: p, systemd: false, rootless: false });
  managers.add(pre);
  pre.create(undefined);
  const joined = cg.newCgroupManager({ id: 'y', cgroupsPath: p, systemd: false, rootless: false });
  joined.create({ pids: { limit: 7 } });
  t.equal(joined.owned(), false, 'existing cgroup: not owned');
  joined.destroy();
  t.ok(fs.existsSync(pre.paths().pids!), 'still there');
  t.equal(rd(pre.paths().pids!, 'pids.max'), '7', 'resources were still applied to it');
  pre.destroy();
  t.notOk(fs.existsSync(pre.paths().pids!));
});

test('stats shape (runc events --stats)', async (t) => {
  const m = mgr({ memory: { limit: 256 << 20 }, pids: { limit: 50 } });
  const p = held('i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; x=$(head -c 4000000 /dev/zero | tr "\\0" a); sleep 5');
  m.join(p.pid!);
  p.go();
  await sleep(1500);
  const s = m.stats();
  t.ok((s.cpu.usage.total ?? 0) > 0, 'cpu total');
  t.ok(Array.isArray(s.cpu.usage.percpu), 'percpu');
  t.ok((s.memory.usage.usage ?? 0) > 0, `memory usage ${s.memory.usage.usage}`);
  t.ok(s.memory.raw && 'rss' in s.memory.raw, 'raw memory.stat');
  t.ok((s.pids.current ?? 0) >= 1, 'pids current');
  t.equal(s.pids.limit, 50);
  t.type(s.hugetlb, 'object');
  p.kill('SIGKILL');
  await p.done;
});

test('commands: pause/resume/ps/update/events through a container record', async (t) => {
  const cli = path.join(ROOT, 'build/tsr-test-cgcli.cjs');
  fs.mkdirSync(path.dirname(cli), { recursive: true });
  await build({
    stdin: {
      contents: `import { Command } from 'commander';
import { registerCgroupCommands } from './src/cli/commands/cgroups.ts';
import { TsruncError } from './src/errors.ts';
const program = new Command().enablePositionalOptions().exitOverride();
const g = { root: process.env.TSR_ROOT, logFormat: 'text', debug: false, systemdCgroup: false, rootless: 'auto' };
registerCgroupCommands(program, () => g);
program.parseAsync(process.argv).catch((e) => { require('fs').writeSync(2, 'tsrunc: ' + e.message + '\\n'); process.exit(e instanceof TsruncError ? e.exitCode : 1); });`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true, platform: 'node', format: 'cjs', outfile: cli, external: ['*.node'], logLevel: 'error',
  });
  const root = fs.mkdtempSync('/run/tsr-test-root-');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const m = mgr({ memory: { limit: 64 << 20 } });
  const p = held('while :; do :; done');
  m.join(p.pid!);
  p.go();
  t.teardown(() => p.kill('SIGKILL'));
  const id = `tsr-test-${rand()}`;
  const rec = {
    ociVersion: '1.3.0', id, status: 'running' as const, pid: p.pid!, pidStartTime: readStartTime(p.pid!) ?? '', bundle: '/', rootfs: '/',
    created: new Date().toISOString(), owner: 'root', internal: { started: true, cgroupPaths: m.paths(), cgroupsOwned: true },
  };
  openStore(root).create(id, rec).release();
  const env = { ...process.env, TSR_ROOT: root, TSRUNC_LIBDIR: path.join(ROOT, 'dist') };
  const node = path.join(ROOT, 'node_modules/node/bin/node');
  const run = (...args: string[]): { code: number; out: string; err: string } => {
    try {
      return { code: 0, out: execFileSync(node, [cli, ...args], { env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }), err: '' };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, out: x.stdout, err: x.stderr };
    }
  };
  t.same(JSON.parse(run('ps', '-f', 'json', id).out), [p.pid]);
  const table = run('ps', id, '-o', 'pid,comm').out.trim().split('\n');
  t.match(table[0], /PID/);
  t.equal(table.length, 2, 'header + the one process');
  t.match(table[1], new RegExp(`^\\s*${p.pid}\\s+sh`));
  t.equal(run('pause', id).code, 0);
  t.equal(m.state(), 'frozen');
  t.equal(openStore(root).read(id).status, 'paused');
  t.match(run('pause', id).err, /container not running/);
  t.equal(run('resume', id).code, 0);
  t.equal(m.state(), 'thawed');
  t.equal(openStore(root).read(id).status, 'running');
  t.match(run('resume', id).err, /container not paused/);
  t.equal(run('update', '--memory', '128m', '--pids-limit', '42', '--cpu-quota', '20000', '--cpu-period', '100000', id).code, 0);
  t.equal(rd(m.paths().memory!, 'memory.limit_in_bytes'), String(128 << 20));
  t.equal(rd(m.paths().pids!, 'pids.max'), '42');
  t.equal(rd(m.paths().cpu!, 'cpu.cfs_quota_us'), '20000');
  const bad = run('update', '--memory', '100m', '--cpu-share', 'lots', id);
  t.equal(bad.code, 1);
  t.match(bad.err, /invalid value for cpu-share/);
  t.equal(rd(m.paths().memory!, 'memory.limit_in_bytes'), String(128 << 20), 'nothing written by a rejected update');
  const rfile = path.join(root, 'r.json');
  fs.writeFileSync(rfile, JSON.stringify({ pids: { limit: 33 } }));
  t.equal(run('update', '-r', rfile, id).code, 0);
  t.equal(rd(m.paths().pids!, 'pids.max'), '33');
  const viaStdin = execFileSync(node, [cli, 'update', '--resources', '-', id], { env, input: '{"pids":{"limit":34}}', encoding: 'utf8' });
  t.equal(viaStdin, '');
  t.equal(rd(m.paths().pids!, 'pids.max'), '34', 'resources from stdin');
  fs.writeFileSync(rfile, JSON.stringify({ pids: { limit: 33 } }));
  t.equal(run('update', '-r', rfile, id).code, 0);
  const ev = JSON.parse(run('events', '--stats', id).out);
  t.equal(ev.type, 'stats');
  t.equal(ev.id, id);
  t.ok(ev.data.cpu.usage.total > 0, 'cpu usage in events --stats');
  t.equal(ev.data.memory.usage.limit, 128 << 20);
  t.equal(ev.data.pids.limit, 33);
  // streaming: stats every interval, ends when the container stops
  const stream = spawn(node, [cli, 'events', '--interval', '200ms', id], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(stream);
  let sout = '';
  stream.stdout.on('data', (d) => (sout += String(d)));
  await sleep(700);
  // an OOM kill inside the container shows up as an "oom" event
  t.equal(run('update', '--memory', '32m', '--memory-swap', '32m', id).code, 0);
  const hog = held('exec dd if=/dev/zero of=/dev/null bs=64M count=1');
  m.join(hog.pid!);
  hog.go();
  t.equal((await hog.done).signal, 'SIGKILL', 'hog OOM-killed');
  await sleep(700);
  p.kill('SIGKILL');
  const code = await new Promise<number | null>((res) => stream.on('exit', (c) => res(c)));
  const lines = sout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.ok(lines.filter((l) => l.type === 'stats').length >= 2, `${lines.length} events`);
  t.ok(lines.every((l) => l.id === id && (l.type === 'stats' || l.type === 'oom')));
  t.ok(lines.some((l) => l.type === 'oom'), 'oom event emitted');
  t.equal(code, 0, 'events ends when the container stops');
  t.match(run('update', '--memory', '1g', id).err, /container not running/, 'update on a stopped container');
  t.match(run('pause', 'nope-' + id).err, /container does not exist/);
});
