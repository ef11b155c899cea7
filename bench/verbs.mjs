#!/usr/bin/env node
// The control verbs on real containers, each timed on its own: what a
// client (containerd's shim, podman's conmon) pays per call. Runtimes are
// interleaved round by round (order flipped every other round) so machine
// noise hits them alike; medians and p90.
//
//   node bench/verbs.mjs [name=path ...]   default: tsrunc=bin/tsrunc runc=/usr/sbin/runc
//   BENCH_RUNS (rounds, default 30)
//   BENCH_CPU=1: CPU time instead (perf stat's task-clock: every thread of
//   the call and of what it forks), which other jobs on the machine disturb
//   far less than wall time; for comparing builds on a busy machine.
//
// Per round and runtime: a `sleep` container through create, state, start,
// state, ps, pause, resume, kill USR1 (ignored by sleep as pid 1: the
// signal path without the exit), delete -f (running: kill + wait); then a
// /bin/true container through create, start, delete -f (stopped).
// Giving two tsrunc builds (old=/path new=/path) compares them.
import './ts-resolve.mjs';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const { makeBundle, makeRoot } = await import('../test/helpers/bundle.ts');
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const specs = process.argv.slice(2).length ? process.argv.slice(2) : [`tsrunc=${path.join(repo, 'bin/tsrunc')}`, 'runc=/usr/sbin/runc'];
const runtimes = specs.map((s) => {
  const [name, bin] = s.split('=');
  return { name, bin: path.resolve(bin), root: makeRoot() };
});
const sleeper = makeBundle((c) => void (c.hostname = 'bench'), ['sleep', '1000']);
const truer = makeBundle((c) => void (c.hostname = 'bench'), ['/bin/true']);
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-verbs-'));
let seq = 0;

const CPU = process.env.BENCH_CPU === '1';
if (CPU && spawnSync('perf', ['--version']).status !== 0) throw new Error('BENCH_CPU=1 needs perf (linux-perf)');

function rt(r, args) {
  const log = path.join(logDir, `${r.name}.log`);
  const perfOut = path.join(logDir, 'perf.csv');
  const fd = fs.openSync(log, 'w');
  const argv = [r.bin, '--root', r.root, ...args];
  const cmd = CPU ? ['perf', 'stat', '-x,', '-e', 'task-clock', '-o', perfOut, '--', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const res = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', fd, fd], timeout: 30_000 });
  let ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(fd);
  if (res.status !== 0) throw new Error(`${r.name} ${args.join(' ')}: exit ${res.status}: ${fs.readFileSync(log, 'utf8').trim()}`);
  if (CPU) ms = Number(/^([\d.]+),msec,task-clock/m.exec(fs.readFileSync(perfOut, 'utf8'))?.[1] ?? NaN);
  return ms;
}

function cleanup() {
  for (const r of runtimes) {
    const list = spawnSync(r.bin, ['--root', r.root, 'list', '-q'], { encoding: 'utf8', timeout: 10_000 });
    for (const id of (list.stdout ?? '').split('\n').filter(Boolean)) spawnSync(r.bin, ['--root', r.root, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    fs.rmSync(r.root, { recursive: true, force: true });
  }
  sleeper.remove();
  truer.remove();
  fs.rmSync(logDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const times = {};
const add = (name, verb, ms) => (((times[verb] ??= {})[name] ??= []).push(ms));

function round(r, keep) {
  const id = `bv-${process.pid}-${++seq}`;
  const t = (verb, args) => {
    const ms = rt(r, args);
    if (keep) add(r.name, verb, ms);
  };
  t('create (sleep)', ['create', '--bundle', sleeper.dir, id]);
  t('state (created)', ['state', id]);
  t('start', ['start', id]);
  t('state (running)', ['state', id]);
  t('ps', ['ps', id]);
  t('pause', ['pause', id]);
  t('resume', ['resume', id]);
  t('kill USR1', ['kill', id, 'USR1']);
  t('delete -f (running)', ['delete', '--force', id]);
  const id2 = `${id}-t`;
  t('create (true)', ['create', '--bundle', truer.dir, id2]);
  t('start (true)', ['start', id2]);
  t('delete -f (stopped)', ['delete', '--force', id2]);
}

console.log(`bench/verbs: ${CPU ? 'CPU time (task-clock)' : 'wall time'}, ${RUNS} rounds, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let i = 0; i < RUNS + 2; i++) for (const r of i % 2 ? [...runtimes].reverse() : runtimes) round(r, i >= 2);
console.log(`load at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * p;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const names = runtimes.map((r) => r.name);
const header = [`verb (${CPU ? 'CPU' : 'wall'} ms: median (p90))`, ...names];
const rows = Object.entries(times).map(([verb, per]) => [verb, ...names.map((n) => (per[n] ? `${q(per[n], 0.5).toFixed(1)} (${q(per[n], 0.9).toFixed(1)})` : '-'))]);
const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const row of [header, ...rows]) console.log(row.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  '));
fs.mkdirSync(path.join(repo, 'bench/out'), { recursive: true });
fs.writeFileSync(path.join(repo, `bench/out/verbs${CPU ? '-cpu' : ''}.json`), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, cpu: CPU, loadavg: os.loadavg(), times }, null, 2));
