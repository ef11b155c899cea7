// The v2 driver on a real cgroup-v2-only kernel: one QEMU guest boot for the
// whole file (test/helpers/vm.ts). The guest runs a bundled Node script that
// exercises the driver and writes one result per check to /tmp/qvout; this
// side asserts them one by one. A check the guest kernel cannot do is
// reported as a skip with its reason, never as a pass.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { exposeToGuest, runInVm, vmUnavailable } from './helpers/vm.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules/node/bin/node');
const GUEST = path.join(ROOT, 'build/tsr-test-cg2-guest.cjs');

const GUEST_SRC = String.raw`
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as cg from './src/cgroups/index.ts';
import type { CgroupManager } from './src/cgroups/index.ts';

type R = { name: string; status: 'pass' | 'fail' | 'skip'; detail: string };
const results: R[] = [];
const OUT = '/tmp/qvout/result.json';
const flush = () => fs.writeFileSync(OUT, JSON.stringify(results, null, 1));
const check = (name: string, ok: boolean, detail: unknown = '') => { results.push({ name, status: ok ? 'pass' : 'fail', detail: String(detail) }); flush(); };
const skip = (name: string, reason: string) => { results.push({ name, status: 'skip', detail: reason }); flush(); };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rd = (d: string, f: string) => fs.readFileSync(path.join(d, f), 'utf8').trim();
const managers: CgroupManager[] = [];
const procs: any[] = [];
let n = 0;
function mgr(res?: any, warn?: (m: string) => void): any {
  const m = cg.newCgroupManager({ id: 'x', cgroupsPath: '/tsr-test-v2/c' + n++, systemd: false, rootless: false, warn });
  managers.push(m);
  m.create(res);
  return m;
}
function held(script: string) {
  const p: any = spawn('/bin/sh', ['-c', 'read x; ' + script], { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(p);
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  p.stdout.resume();
  p.done = new Promise((res) => p.on('exit', (code: number | null, signal: string | null) => res({ code, signal, stderr })));
  p.go = () => p.stdin.write('\n');
  return p;
}
async function step(name: string, fn: () => unknown) {
  try { await fn(); } catch (e) { check(name, false, 'threw: ' + (e as Error).message); }
}

async function main() {
  check('host mode is v2', cg.hostMode() === 'v2', cg.hostMode());
  await step('default path', () => {
    const m = cg.newCgroupManager({ id: 'tsr-test-default', systemd: false, rootless: false });
    const own = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().replace(/^0::/, '');
    const want = path.join('/sys/fs/cgroup', path.dirname(own), 'tsr-test-default');
    check('default path: parent of own cgroup + id', m.paths().unified === want, m.paths().unified + ' vs ' + want);
  });

  await step('resources', () => {
    const warns: string[] = [];
    const m = mgr({
      memory: { limit: 32 << 20, swap: 48 << 20, reservation: 8 << 20, kernel: 1 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '0', mems: '0', realtimeRuntime: 1000 },
      pids: { limit: 10 },
      network: { classID: 1 },
      unified: { 'memory.high': '32768000' },
    }, (w) => warns.push(w));
    const d = m.paths().unified;
    check('memory.max', rd(d, 'memory.max') === String(32 << 20), rd(d, 'memory.max'));
    if (fs.existsSync(path.join(d, 'memory.swap.max'))) check('memory.swap.max = swap - limit', rd(d, 'memory.swap.max') === String(16 << 20), rd(d, 'memory.swap.max'));
    else skip('memory.swap.max = swap - limit', 'kernel has no swap controller (memory.swap.max missing)');
    check('memory.low (reservation)', rd(d, 'memory.low') === String(8 << 20), rd(d, 'memory.low'));
    check('unified memory.high', rd(d, 'memory.high') === '32768000', rd(d, 'memory.high'));
    check('cpu.weight from shares 1024', rd(d, 'cpu.weight') === '39', rd(d, 'cpu.weight'));
    check('cpu.max', rd(d, 'cpu.max') === '50000 100000', rd(d, 'cpu.max'));
    if (fs.existsSync(path.join(d, 'cpu.max.burst'))) check('cpu.max.burst', rd(d, 'cpu.max.burst') === '1000', rd(d, 'cpu.max.burst'));
    else skip('cpu.max.burst', 'kernel has no cpu.max.burst');
    if (fs.existsSync(path.join(d, 'cpu.idle'))) check('cpu.idle', rd(d, 'cpu.idle') === '0', rd(d, 'cpu.idle'));
    else skip('cpu.idle', 'kernel has no cpu.idle');
    check('cpuset.cpus', rd(d, 'cpuset.cpus') === '0', rd(d, 'cpuset.cpus'));
    check('cpuset.mems', rd(d, 'cpuset.mems') === '0', rd(d, 'cpuset.mems'));
    check('pids.max', rd(d, 'pids.max') === '10', rd(d, 'pids.max'));
    check('warnings for kernel memory, realtime, network', /memory\.kernel/.test(warns.join()) && /realtime/.test(warns.join()) && /network/.test(warns.join()), warns.join(' | '));
    // unified file of a controller that is not there
    let err = '';
    try { m.update({ unified: { 'nosuch.max': '1' } }); } catch (e) { err = (e as Error).message; }
    check('unified: unknown controller is a clear error', /unified resource "nosuch.max" can't be set: controller "nosuch" not available/.test(err), err);
  });

  await step('io', () => {
    const m = mgr();
    const d = m.paths().unified;
    const ctrls = rd(d, 'cgroup.controllers');
    if (!/\bio\b/.test(ctrls)) return skip('io.weight', 'io controller not available: ' + ctrls);
    if (!fs.existsSync(path.join(d, 'io.weight')) && !fs.existsSync(path.join(d, 'io.bfq.weight'))) return skip('io.weight', 'kernel has neither io.weight (iocost) nor io.bfq.weight');
    m.update({ blockIO: { weight: 500 } });
    if (fs.existsSync(path.join(d, 'io.bfq.weight'))) check('io.bfq.weight', /default 500/.test(rd(d, 'io.bfq.weight')), rd(d, 'io.bfq.weight'));
    else check('io.weight from blkio weight 500 (runc formula: 4950)', /default 4950/.test(rd(d, 'io.weight')), rd(d, 'io.weight'));
    // throttling: needs a block device; the guest has none but its ramdisk-less
    // kernel may still have zram/loop: use the first listed in /sys/block
    const devs = fs.readdirSync('/sys/block');
    if (!devs.length) return skip('io.max', 'guest has no block device (brd module not loaded: see insmod.log)');
    const [maj, min] = rd('/sys/block/' + devs[0], 'dev').split(':').map(Number);
    m.update({ blockIO: { throttleReadBpsDevice: [{ major: maj, minor: min, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: maj, minor: min, rate: 100 }] } });
    check('io.max', new RegExp(maj + ':' + min + ' rbps=1048576 wbps=max riops=max wiops=100').test(rd(d, 'io.max')), rd(d, 'io.max'));
  });

  await step('hugetlb', () => {
    const m = mgr();
    const d = m.paths().unified;
    if (!fs.existsSync(path.join(d, 'hugetlb.2MB.max'))) return skip('hugetlb.2MB.max', 'hugetlb controller not available: ' + rd(d, 'cgroup.controllers'));
    m.update({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] });
    check('hugetlb.2MB.max', rd(d, 'hugetlb.2MB.max') === String(4 << 20), rd(d, 'hugetlb.2MB.max'));
    if (fs.existsSync(path.join(d, 'hugetlb.2MB.rsvd.max'))) check('hugetlb.2MB.rsvd.max', rd(d, 'hugetlb.2MB.rsvd.max') === String(4 << 20), rd(d, 'hugetlb.2MB.rsvd.max'));
    else skip('hugetlb.2MB.rsvd.max', 'no rsvd files');
  });

  await step('rdma', () => {
    const m = mgr();
    const d = m.paths().unified;
    if (!fs.existsSync(path.join(d, 'rdma.max'))) return skip('rdma.max', 'rdma controller not available');
    let err = '';
    try { m.update({ rdma: { tsr_nodev: { hcaHandles: 2, hcaObjects: 10 } } }); } catch (e) { err = (e as Error).message; }
    // no RDMA hardware in the guest: the kernel must refuse an unknown device and we must say where
    check('rdma.max write reaches the kernel (unknown device refused)', /rdma\.max/.test(err), err || 'no error');
  });

  await step('memory OOM', async () => {
    const m = mgr({ memory: { limit: 32 << 20, swap: 32 << 20 } });
    const d = m.paths().unified;
    const w = m.oomWatcher();
    check('oom watcher quiet before', w.poll() === false);
    const p = held('exec dd if=/dev/zero of=/dev/null bs=64M count=1');
    m.join(p.pid);
    p.go();
    const r: any = await p.done;
    check('64M dd OOM-killed under memory.max 32M', r.signal === 'SIGKILL', JSON.stringify(r));
    check('memory.events oom_kill', /oom_kill [1-9]/.test(rd(d, 'memory.events')), rd(d, 'memory.events'));
    check('oom watcher fired', w.poll() === true);
    const s = m.stats();
    check('stats: memory limit and failcnt', s.memory.usage.limit === 32 << 20 && s.memory.usage.failcnt > 0, JSON.stringify(s.memory.usage));
    // dd blocks writing into a pipe nobody reads, holding its 4M buffer
    const hold = held('dd if=/dev/zero bs=4M count=1 2>/dev/null | sleep 30');
    m.join(hold.pid);
    hold.go();
    await sleep(1500);
    let err = '';
    try { m.update({ memory: { limit: 1 << 20, checkBeforeUpdate: true } }); } catch (e) { err = (e as Error).message; }
    const cur = Number(rd(d, 'memory.current'));
    check('checkBeforeUpdate left memory.max alone', rd(d, 'memory.max') === String(32 << 20), rd(d, 'memory.max'));
    m.killAll(9);
    if (cur > 1 << 20) check('checkBeforeUpdate rejects a limit below usage', /rejecting memory limit/.test(err), err + ' current=' + cur);
    else skip('checkBeforeUpdate rejects a limit below usage', 'cgroup usage ' + cur + ' is already below 1M');
    m.update({ memory: { limit: 128 << 20, swap: 128 << 20 } });
    const q = held('exec dd if=/dev/zero of=/dev/null bs=64M count=1');
    m.join(q.pid);
    q.go();
    check('dd fits after update to 128M', (await q.done as any).code === 0, rd(d, 'memory.max'));
    m.update({ memory: { limit: -1 } });
    check('limit -1 -> memory.max max', rd(d, 'memory.max') === 'max', rd(d, 'memory.max'));
    if (fs.existsSync(path.join(d, 'memory.swap.max'))) check('limit -1 -> swap max too', rd(d, 'memory.swap.max') === 'max', rd(d, 'memory.swap.max'));
  });

  await step('pids', async () => {
    const m = mgr({ pids: { limit: 5 } });
    const d = m.paths().unified;
    const p = held('for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; wait');
    m.join(p.pid);
    p.go();
    await sleep(1500);
    const cur = Number(rd(d, 'pids.current'));
    check('fork loop stays at pids.max', cur <= 5, 'pids.current=' + cur);
    check('pids.events max counted', /max [1-9]/.test(rd(d, 'pids.events')), rd(d, 'pids.events'));
    m.killAll(9);
    await p.done;
    await sleep(200);
    check('killAll (cgroup.kill) emptied it', m.pids().length === 0, JSON.stringify(m.pids()));
  });

  await step('cpu.max throttling + freeze', async () => {
    const m = mgr({ cpu: { quota: 10000, period: 100000 } });
    const d = m.paths().unified;
    const p = held('while :; do :; done');
    m.join(p.pid);
    p.go();
    await sleep(1500);
    const st = Object.fromEntries(rd(d, 'cpu.stat').split('\n').map((l) => l.split(' ')));
    check('cpu.max throttles a busy loop', Number(st.nr_throttled) > 0, JSON.stringify(st));
    const s = m.stats();
    check('stats: cpu usage and throttling', (s.cpu.usage.total ?? 0) > 0 && (s.cpu.throttling.throttledPeriods ?? 0) > 0, JSON.stringify(s.cpu));
    m.freeze();
    check('freeze: state frozen', m.state() === 'frozen' && /frozen 1/.test(rd(d, 'cgroup.events')), rd(d, 'cgroup.events'));
    const use = () => Number(Object.fromEntries(rd(d, 'cpu.stat').split('\n').map((l) => l.split(' '))).usage_usec);
    const a = use();
    await sleep(800);
    const b = use();
    check('frozen: no cpu time', a === b, a + ' -> ' + b);
    m.thaw();
    await sleep(800);
    check('thawed: runs again', use() > b && m.state() === 'thawed', String(use()));
    let err = '';
    try { m.update({ pids: { limit: 3 }, cpu: { cpus: 'bogus' } }); } catch (e) { err = (e as Error).message; }
    check('invalid update rejected before any write', /cpu\.cpus/.test(err) && rd(d, 'pids.max') === 'max', err + ' pids.max=' + rd(d, 'pids.max'));
    m.update({ cpu: { quota: -1 } });
    check('update cpu.max to max', rd(d, 'cpu.max') === 'max 100000', rd(d, 'cpu.max'));
    p.kill('SIGKILL');
    await p.done;
  });

  await step('devices eBPF', async () => {
    const m = mgr({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }] });
    const ids = m.deviceProgramIds();
    check('one device program attached', ids.length === 1, JSON.stringify(ids));
    const p = held('head -c1 /dev/null; echo null=$? >&2; head -c1 /dev/zero >/dev/zero; echo zero=$? >&2');
    m.join(p.pid);
    p.go();
    const r: any = await p.done;
    check('/dev/null denied (EPERM)', /Operation not permitted/.test(r.stderr) && /null=1/.test(r.stderr), r.stderr);
    check('/dev/zero allowed', /zero=0/.test(r.stderr), r.stderr);
    m.update({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
    const ids2 = m.deviceProgramIds();
    check('update replaced the program (no leak)', ids2.length === 1 && ids2[0] !== ids[0], JSON.stringify(ids) + ' -> ' + JSON.stringify(ids2));
    const q = held('head -c1 /dev/null; echo null=$? >&2; head -c1 /dev/zero >/dev/null; echo zero=$? >&2');
    m.join(q.pid);
    q.go();
    const r2: any = await q.done;
    check('after update: /dev/null allowed, /dev/zero denied', /null=0/.test(r2.stderr) && /zero=[12]/.test(r2.stderr), r2.stderr);
    // mknod in a tmpfs: "m" not granted for 1:3
    const t = fs.mkdtempSync('/tmp/tsr-test-dev-');
    const k = held('mknod ' + t + '/null c 1 3; echo mknod=$? >&2');
    m.join(k.pid);
    k.go();
    const r3: any = await k.done;
    check('mknod c 1:3 denied without "m"', /mknod=1/.test(r3.stderr), r3.stderr);
  });

  await step('commands on v2 (pause/resume/update through a record)', async () => {
    const { openStore } = await import('./src/state/store.ts');
    const { readStartTime } = await import('./src/state/status.ts');
    const cmds = await import('./src/cgroups/commands.ts');
    const m = mgr();
    const p = held('while :; do :; done');
    m.join(p.pid);
    p.go();
    const root = fs.mkdtempSync('/run/tsr-test-root-');
    const g: any = { root, logFormat: 'text', debug: false, systemdCgroup: false, rootless: 'auto' };
    openStore(root).create('c1', {
      ociVersion: '1.3.0', id: 'c1', status: 'running', pid: p.pid, pidStartTime: readStartTime(p.pid) ?? '', bundle: '/', rootfs: '/',
      created: new Date().toISOString(), owner: 'root', internal: { started: true, cgroupPaths: m.paths(), cgroupsOwned: true },
    } as any).release();
    cmds.pauseCommand(g, 'c1');
    check('pause: cgroup frozen, record paused', m.state() === 'frozen' && openStore(root).read('c1').status === 'paused', m.state());
    cmds.resumeCommand(g, 'c1');
    check('resume: thawed, record running', m.state() === 'thawed' && openStore(root).read('c1').status === 'running', m.state());
    cmds.updateCommand(g, 'c1', { memory: '64m', memorySwap: '96m', cpuShare: '2048', pidsLimit: '30' });
    const d = m.paths().unified;
    check('update flags -> v2 files', rd(d, 'memory.max') === String(64 << 20) && rd(d, 'cpu.weight') === '79' && rd(d, 'pids.max') === '30' &&
      (!fs.existsSync(path.join(d, 'memory.swap.max')) || rd(d, 'memory.swap.max') === String(32 << 20)),
      [rd(d, 'memory.max'), rd(d, 'cpu.weight'), rd(d, 'pids.max')].join(' '));
    p.kill('SIGKILL');
    await p.done;
  });

  await step('destroy', () => {
    const dirs = managers.map((m) => m.paths().unified);
    for (const m of managers) { try { m.destroy(); } catch (e) { check('destroy ' + m.paths().unified, false, (e as Error).message); } }
    try { fs.rmdirSync('/sys/fs/cgroup/tsr-test-v2'); } catch {}
    check('destroy removed every cgroup', dirs.every((d) => !fs.existsSync(d)), dirs.filter((d) => fs.existsSync(d)).join(' '));
  });
}

main().catch((e) => check('guest script', false, 'crashed: ' + (e as Error).stack)).finally(() => {
  for (const p of procs) try { p.kill('SIGKILL'); } catch {}
  flush();
  process.exit(0);
});
`;

// a VM boot (plus a first-time setup.sh) under TCG can outlast the suite's default 120 s
t.setTimeout(600_000);
const why = vmUnavailable();
if (why) {
  t.plan(0, `cgroup v2 VM unavailable: ${why}`);
} else {
  fs.mkdirSync(path.dirname(GUEST), { recursive: true });
  await build({
    stdin: { contents: GUEST_SRC, resolveDir: ROOT, loader: 'ts', sourcefile: 'cg2-guest.ts' },
    bundle: true, platform: 'node', format: 'cjs', target: 'node22', outfile: GUEST, external: ['*.node'], logLevel: 'error',
  });
  if (!fs.existsSync(path.join(ROOT, 'dist/koffi.node'))) {
    const { execFileSync } = await import('node:child_process');
    execFileSync('make', ['dist/koffi.node'], { cwd: ROOT });
  }
  // The guest has no block device; its kernel's brd (ramdisk) module gives io.max one to throttle.
  const brdSrc = fs.globSync('/tmp/qv/k-amd64/lib/modules/*/kernel/drivers/block/brd.ko')[0];
  const brd = path.join(ROOT, 'build/tsr-test-brd.ko');
  if (brdSrc) fs.copyFileSync(brdSrc, brd);
  const insmod = brdSrc ? `busybox insmod ${brd} rd_nr=1 rd_size=1024 >/tmp/qvout/insmod.log 2>&1; ` : '';
  const view = exposeToGuest(ROOT);
  t.teardown(view.release);
  const insmodSeen = insmod.replace(brd, view.map(brd));
  const run = await runInVm(`${insmodSeen}TSRUNC_LIBDIR=${view.map(`${ROOT}/dist`)} ${view.map(NODE)} ${view.map(GUEST)} > /tmp/qvout/guest.log 2>&1`, { timeoutSec: 400 });
  t.teardown(() => fs.rmSync(run.outDir, { recursive: true, force: true }));
  const resFile = path.join(run.outDir, 'result.json');
  if (!fs.existsSync(resFile)) {
    t.fail(`guest produced no results (qv-run exit ${run.code}): ${run.console.slice(-2000)} ${fs.existsSync(path.join(run.outDir, 'guest.log')) ? fs.readFileSync(path.join(run.outDir, 'guest.log'), 'utf8').slice(-2000) : ''}`);
  } else {
    const results = JSON.parse(fs.readFileSync(resFile, 'utf8')) as { name: string; status: string; detail: string }[];
    t.equal(run.code, 0, 'guest script exited cleanly');
    t.ok(results.length >= 40, `${results.length} guest checks reported`);
    for (const r of results) {
      if (r.status === 'skip') t.pass(r.name, { skip: r.detail });
      else t.ok(r.status === 'pass', r.name, { detail: r.detail });
    }
  }
}
