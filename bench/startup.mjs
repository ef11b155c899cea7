// Startup budget: `tsrunc --version` and `tsrunc state nosuch` must cost at
// most 1.3x a bare `node -e 0` on the same node, since every CLI call
// (containerd and podman poll `state`) pays node's startup.
//
// The runs are interleaved (a round runs each command once) so machine load
// hits all three alike; medians are reported. When hyperfine is installed its
// figures are printed too, as a second opinion.
//
// Usage: node bench/startup.mjs [rounds]   (RUNTIME=path overrides bin/tsrunc;
// BENCH_STRICT=1 exits 1 when over budget)
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.RUNTIME ? path.resolve(process.env.RUNTIME) : path.join(repo, 'bin', 'tsrunc');
const node = fs.existsSync(path.join(repo, 'node_modules/node/bin/node')) ? path.join(repo, 'node_modules/node/bin/node') : process.execPath;
const rounds = Number(process.argv[2] ?? 40);
const BUDGET = 1.3;

const runc = process.env.RUNC ?? '/usr/sbin/runc';
const root = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'tsr-bench-root-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
// The first three are the budget; the rest is every other verb's CLI path up
// to the store lookup (parse, lazy import, lock), against runc's same call.
const verbs = [['kill', 'nosuch'], ['delete', '-f', 'nosuch'], ['start', 'nosuch']];
const cases = [
  { name: 'node -e 0', cmd: node, args: ['-e', '0'] },
  { name: 'tsrunc --version', cmd: bin, args: ['--version'] },
  { name: 'tsrunc state nosuch', cmd: bin, args: ['state', 'nosuch'] },
  ...verbs.map((v) => ({ name: `tsrunc ${v.join(' ')}`, cmd: bin, args: ['--root', root, ...v], vs: `runc ${v.join(' ')}` })),
  ...(fs.existsSync(runc)
    ? [['state', 'nosuch'], ...verbs].map((v) => ({ name: `runc ${v.join(' ')}`, cmd: runc, args: ['--root', root, ...v], runc: true }))
    : []),
];

// Make sure the commands do what we think before timing them.
const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
if (v.status !== 0 || !/^tsrunc version/.test(v.stdout)) {
  console.error(`bench: ${bin} --version failed:\n${v.stderr}`);
  process.exit(1);
}
const st = spawnSync(bin, ['state', 'nosuch'], { encoding: 'utf8' });
if (!/container does not exist/.test(st.stderr)) {
  console.error(`bench: ${bin} state nosuch did not fail as expected:\n${st.stderr}`);
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const times = cases.map(() => []);
for (let i = 0; i < 5; i++) for (const c of cases) spawnSync(c.cmd, c.args, { stdio: 'ignore' }); // warm-up
for (let r = 0; r < rounds; r++) {
  // Rotate the order too, so no command always runs right after another.
  for (let k = 0; k < cases.length; k++) {
    const j = (k + r) % cases.length;
    const c = cases[j];
    const t0 = process.hrtime.bigint();
    spawnSync(c.cmd, c.args, { stdio: 'ignore' });
    times[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}

const base = median(times[0]);
let over = false;
console.log(`startup (${rounds} interleaved rounds, median wall time, node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}):`);
for (const [i, c] of cases.entries()) {
  const m = median(times[i]);
  const ratio = m / base;
  const budgeted = i > 0 && i < 3;
  if (budgeted && ratio > BUDGET) over = true;
  const j = cases.findIndex((x) => x.runc && x.name === (c.vs ?? c.name.replace(/^tsrunc /, 'runc ')));
  const vsRunc = !c.runc && j > 0 && i > 0 ? `  x${(m / median(times[j])).toFixed(1)} runc's` : '';
  console.log(
    `  ${c.name.padEnd(24)} ${m.toFixed(1).padStart(6)} ms  ${i === 0 || c.runc ? '       ' : `x${ratio.toFixed(2)}${budgeted && ratio > BUDGET ? '  OVER BUDGET' : ''}`}${vsRunc}`,
  );
}
console.log(`  budget: x${BUDGET} of node -e 0 -> ${over ? 'OVER' : 'ok'}`);

let hyperfine;
try {
  hyperfine = execFileSync('sh', ['-c', 'command -v hyperfine'], { encoding: 'utf8' }).trim();
} catch {
  hyperfine = undefined;
}
if (hyperfine) {
  const out = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'tsr-bench-')), 'h.json');
  const q = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync(
    hyperfine,
    ['-N', '-i', '--style', 'none', '-w', '5', '-r', String(rounds), '--export-json', out, ...cases.slice(0, 3).map((c) => [c.cmd, ...c.args].map(q).join(' '))],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status === 0) {
    const res = JSON.parse(fs.readFileSync(out, 'utf8')).results;
    const hb = res[0].median;
    console.log('hyperfine (sequential, median):');
    for (const [i, c] of cases.slice(0, 3).entries()) {
      const m = res[i].median;
      console.log(`  ${c.name.padEnd(22)} ${(m * 1000).toFixed(1).padStart(6)} ms  ${i === 0 ? '' : `x${(m / hb).toFixed(2)}`}`);
    }
  }
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
}
if (over && process.env.BENCH_STRICT === '1') process.exit(1);
