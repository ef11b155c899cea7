#!/usr/bin/env node
// `make bench`: tsrunc against Debian's runc on the same busybox bundle, in one
// run, interleaved so that machine noise (CPU frequency, page cache, other
// jobs) hits both runtimes alike.
//
//   run /bin/true                 hyperfine -N (one run per fresh id,
//                                 alternating runtimes) when hyperfine
//                                 exists, else a Node loop
//   create + start + delete -f    Node loop, strictly alternating, fresh ids,
//                                 each phase timed on its own
//   startup (--version, state)    bench/startup.mjs, when present
//
// Knobs: BENCH_RUNS (iterations per runtime, default 40), RUNC, TSRUNC,
// BENCH_NO_HYPERFINE=1. Results also go to bench/out/latest.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import './ts-resolve.mjs';

// After the hook above is in place (static imports would resolve before it).
const { makeBundle, makeRoot } = await import('../test/helpers/bundle.ts');

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 40);

const runtimes = [
  { name: 'runc', bin: process.env.RUNC ?? '/usr/sbin/runc' },
  { name: 'tsrunc', bin: process.env.TSRUNC ?? path.join(repo, 'bin/tsrunc') },
].map((r) => ({ ...r, root: makeRoot() }));

const bundle = makeBundle((c) => {
  c.hostname = 'bench';
}, ['/bin/true']);
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-'));
let seq = 0;
const newId = (tag) => `bench-${tag}-${process.pid}-${++seq}`;

/** Runs the runtime, stdio to a log file (never a pipe a container could hold). */
function rt(r, args) {
  const log = path.join(logDir, `${r.name}.log`);
  const fd = fs.openSync(log, 'w');
  const t0 = process.hrtime.bigint();
  const res = spawnSync(r.bin, ['--root', r.root, ...args], { stdio: ['ignore', fd, fd], timeout: 30_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(fd);
  return { ms, ok: res.status === 0, out: fs.readFileSync(log, 'utf8').trim() };
}

function cleanup() {
  for (const r of runtimes) {
    const list = spawnSync(r.bin, ['--root', r.root, 'list', '-q'], { encoding: 'utf8', timeout: 10_000 });
    for (const id of (list.stdout ?? '').split('\n').filter(Boolean)) rt(r, ['delete', '--force', id]);
    fs.rmSync(r.root, { recursive: true, force: true });
  }
  bundle.remove();
  fs.rmSync(logDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const stats = (xs) => ({ n: xs.length, median: quantile(xs, 0.5), p90: quantile(xs, 0.9), min: Math.min(...xs) });

// ---- which runtimes work at all ----
const usable = runtimes.filter((r) => {
  if (!fs.existsSync(r.bin)) {
    console.log(`${r.name}: ${r.bin} not found, skipped`);
    return false;
  }
  const res = rt(r, ['run', '--bundle', bundle.dir, newId('probe')]);
  if (!res.ok) console.log(`${r.name}: \`run\` of the bench bundle fails, skipped:\n  ${res.out.split('\n').slice(-3).join('\n  ')}`);
  return res.ok;
});
console.log(`tsrunc bench: ${RUNS} iterations per runtime, busybox /bin/true, ${os.cpus().length} CPUs, Linux ${os.release()}`);
for (const r of usable) {
  const v = spawnSync(r.bin, ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0];
  console.log(`  ${r.name}: ${r.bin} (${v || 'version unknown'})`);
}
const results = {};
const record = (bench, name, times) => ((results[bench] ??= {})[name] = { ...stats(times), times });

// ---- run /bin/true ----
const useHyperfine = !process.env.BENCH_NO_HYPERFINE && spawnSync('hyperfine', ['--version']).status === 0;
if (usable.length) {
  const times = Object.fromEntries(usable.map((r) => [r.name, []]));
  if (useHyperfine) {
    // hyperfine runs `-L` parameter values outermost, so with --runs 1 the
    // commands alternate run by run (a1 b1 a2 b2 ...), each with a fresh id.
    // The second half flips the command order; a discarded first call warms
    // the page cache and both runtimes.
    const hyperfine = (ids, order, tag) => {
      const json = path.join(logDir, `hf-${tag}.json`);
      const cmds = order.map((r) => `${r.bin} --root ${r.root} run --bundle ${bundle.dir} bench-run-${tag}-${r.name}-${process.pid}-{i}`);
      const hf = spawnSync('hyperfine', ['-N', '--runs', '1', '--style', 'none', '-L', 'i', ids.join(','), '--export-json', json, ...cmds], {
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 300_000,
      });
      if (hf.status !== 0) throw new Error(`hyperfine failed (exit ${hf.status})`);
      return JSON.parse(fs.readFileSync(json, 'utf8')).results;
    };
    hyperfine([1, 2, 3], usable, 'warmup');
    const half = Math.max(1, Math.round(RUNS / 2));
    const ids = Array.from({ length: half }, (_, k) => k + 1);
    for (const [tag, order] of [['a', usable], ['b', [...usable].reverse()]]) {
      for (const res of hyperfine(ids, order, tag)) {
        const r = order.find((x) => res.command.includes(`-${tag}-${x.name}-`));
        times[r.name].push(...res.times.map((sec) => sec * 1000));
      }
    }
  } else {
    for (let i = 0; i < RUNS; i++) {
      for (const r of i % 2 ? [...usable].reverse() : usable) {
        const res = rt(r, ['run', '--bundle', bundle.dir, newId('run')]);
        if (!res.ok) throw new Error(`${r.name} run failed: ${res.out}`);
        times[r.name].push(res.ms);
      }
    }
  }
  for (const r of usable) record('run /bin/true', r.name, times[r.name]);
}

// ---- create + start + delete -f, per phase ----
if (usable.length) {
  const phases = ['create', 'start', 'delete -f', 'create+start+delete -f'];
  const times = Object.fromEntries(usable.map((r) => [r.name, Object.fromEntries(phases.map((p) => [p, []]))]));
  for (let i = 0; i < Math.min(RUNS, 30) + 2; i++) {
    for (const r of i % 2 ? [...usable].reverse() : usable) {
      const id = newId('life');
      const c = rt(r, ['create', '--bundle', bundle.dir, id]);
      const s = rt(r, ['start', id]);
      const d = rt(r, ['delete', '--force', id]);
      if (!c.ok || !s.ok || !d.ok) throw new Error(`${r.name} lifecycle failed: ${[c, s, d].map((x) => x.out).join(' | ')}`);
      if (i < 2) continue; // warmup
      times[r.name].create.push(c.ms);
      times[r.name].start.push(s.ms);
      times[r.name]['delete -f'].push(d.ms);
      times[r.name]['create+start+delete -f'].push(c.ms + s.ms + d.ms);
    }
  }
  for (const p of phases) for (const r of usable) record(p === phases[3] ? p : `  ${p}`, r.name, times[r.name][p]);
}

// ---- exec /bin/true into a created container (exec's own block) ----
if (usable.length) {
  const times = Object.fromEntries(usable.map((r) => [r.name, []]));
  // A created container: its init waits for start, so it lives as long as we need (both runtimes allow exec then).
  const ids = Object.fromEntries(usable.map((r) => [r.name, newId('exec')]));
  for (const r of usable) {
    const c = rt(r, ['create', '--bundle', bundle.dir, ids[r.name]]);
    if (!c.ok) throw new Error(`${r.name} create for exec failed: ${c.out}`);
  }
  for (let i = 0; i < Math.min(RUNS, 30) + 2; i++) {
    for (const r of i % 2 ? [...usable].reverse() : usable) {
      const e = rt(r, ['exec', ids[r.name], '/bin/true']);
      if (!e.ok) throw new Error(`${r.name} exec failed: ${e.out}`);
      if (i >= 2) times[r.name].push(e.ms); // the first two warm up
    }
  }
  for (const r of usable) rt(r, ['delete', '--force', ids[r.name]]);
  for (const r of usable) record('exec /bin/true', r.name, times[r.name]);
}

// ---- report ----
const fmt = (s) => (s ? `${s.median.toFixed(1)} ms (p90 ${s.p90.toFixed(1)})` : '-');
const names = usable.map((r) => r.name);
const rows = Object.entries(results).map(([bench, per]) => {
  const ratio = per.runc && per.tsrunc ? `${(per.tsrunc.median / per.runc.median).toFixed(2)}x` : '-';
  return [bench, ...names.map((n) => fmt(per[n])), ratio];
});
const header = ['benchmark (median, p90)', ...names, 'tsrunc/runc'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
console.log('');
console.log(line(header));
for (const r of rows) console.log(line(r));

// tsrunc's own phase timings: its --debug log stamps each step with the time
// since process start ("create: nsexec spawned at 113.4 ms"). Several traced
// create/start/delete cycles; each timed line is shown with the median of
// its figures.
const ts = usable.find((r) => r.name === 'tsrunc');
if (ts) {
  const TRACES = Number(process.env.BENCH_TRACES ?? 9);
  const lines = new Map();
  for (let k = 0; k < TRACES; k++) {
    const id = newId('trace');
    for (const args of [['create', '--bundle', bundle.dir, id], ['start', id], ['delete', '--force', id]]) {
      const res = rt(ts, ['--debug', ...args]);
      for (const line of res.out.split('\n')) {
        const msg = /msg="(.*)"/.exec(line)?.[1] ?? line;
        if (!/\d ms\b/.test(msg)) continue;
        const key = `${args[0].padEnd(7)} ${msg.replace(/\d+(\.\d+)? ms/g, '# ms')}`;
        const nums = [...msg.matchAll(/(\d+(?:\.\d+)?) ms/g)].map((m) => Number(m[1]));
        if (!lines.has(key)) lines.set(key, []);
        lines.get(key).push(nums);
      }
    }
  }
  if (lines.size) {
    console.log(`\ntsrunc --debug timings (median of ${TRACES} create/start/delete, ms since process start):`);
    for (const [key, runs] of lines) {
      let i = 0;
      const text = key.replace(/# ms/g, () => {
        const v = quantile(runs.map((r) => r[i]), 0.5);
        i++;
        return `${v.toFixed(1)} ms`;
      });
      console.log(`  ${text}`);
    }
  }
}

fs.mkdirSync(path.join(here, 'out'), { recursive: true });
fs.writeFileSync(path.join(here, 'out/latest.json'), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, hyperfine: useHyperfine, results }, null, 2));

// ---- startup figures (bench/startup.mjs, written separately) ----
const startup = path.join(here, 'startup.mjs');
if (fs.existsSync(startup)) {
  console.log('');
  const r = spawnSync(process.execPath, [startup], { stdio: 'inherit', env: { ...process.env, RUNTIME: ts?.bin ?? runtimes[1].bin } });
  if (r.status !== 0) console.log(`bench/startup.mjs exited ${r.status}`);
}
