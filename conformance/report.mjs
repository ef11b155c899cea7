#!/usr/bin/env node
// Runs the conformance suite against each runtime and writes
// conformance/RESULTS.md: one row per requirement, one column per runtime,
// and a "why they differ" column from conformance/differences.json.
//
//   node conformance/report.mjs                 # runc and bin/tsrunc
//   node conformance/report.mjs runc=/usr/sbin/runc crun=/usr/bin/crun
//   node conformance/report.mjs --only runc     # re-run one, keep the others' last results
//   node conformance/report.mjs --no-run        # just regenerate RESULTS.md
//
// Raw results are kept in conformance/results/<name>.jsonl so the table can
// be regenerated without re-running a runtime that is not available.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const resultsDir = path.join(here, 'results');
const node = process.execPath;
const tap = path.join(repo, 'node_modules/.bin/tap');

const args = process.argv.slice(2);
const noRun = args.includes('--no-run');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const explicit = args.filter((a) => a.includes('='));
const runtimes = explicit.length
  ? explicit.map((a) => a.split('=')).map(([name, bin]) => ({ name, bin: path.resolve(bin) }))
  : [
      { name: 'runc', bin: process.env.RUNC ?? '/usr/sbin/runc' },
      { name: 'tsrunc', bin: path.join(repo, 'bin/tsrunc') },
    ];

const testFiles = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'results' ? [] : testFiles(p);
    return e.name.endsWith('.test.ts') ? [path.relative(repo, p)] : [];
  }).sort();

fs.mkdirSync(resultsDir, { recursive: true });

function run({ name, bin }) {
  if (!fs.existsSync(bin)) {
    console.error(`${name}: ${bin} not found, keeping previous results`);
    return;
  }
  const out = path.join(resultsDir, `${name}.jsonl`);
  const tmp = `${out}.tmp`;
  fs.rmSync(tmp, { force: true });
  const log = path.join('/tmp', `tsrunc-conformance-${name}.tap`);
  console.error(`${name}: running the suite against ${bin} (log: ${log})`);
  const fd = fs.openSync(log, 'w');
  const r = spawnSync(node, [tap, '--reporter=tap', ...testFiles(here)], {
    cwd: repo,
    stdio: ['ignore', fd, fd],
    // The table shows what each runtime really does: known failures run as plain tests here.
    env: { ...process.env, RUNTIME: bin, RUNTIME_NAME: name, CONFORMANCE_RESULTS: tmp, CONFORMANCE_NO_KNOWN: '1' },
  });
  fs.closeSync(fd);
  if (!fs.existsSync(tmp)) {
    console.error(`${name}: no results recorded (tap exit ${r.status}); see ${log}`);
    return;
  }
  fs.renameSync(tmp, out);
}

const version = (bin) => {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout || '').split('\n')[0].trim();
};

if (!noRun) for (const rt of runtimes) if (!only || rt.name === only) run(rt);

// ---- the table ----
const notes = JSON.parse(fs.readFileSync(path.join(here, 'differences.json'), 'utf8'));
const names = runtimes.map((r) => r.name);
const byRuntime = {};
const reqs = new Map(); // id -> requirement, in first-seen order
for (const name of names) {
  const file = path.join(resultsDir, `${name}.jsonl`);
  byRuntime[name] = {};
  if (!fs.existsSync(file)) continue;
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const rec = JSON.parse(line);
    if (!reqs.has(rec.id)) reqs.set(rec.id, rec);
    byRuntime[name][rec.id] = rec;
  }
}
// Every requirement the suite checks is also listed in REQUIREMENTS.md (the
// full inventory, checkable or not): say so when one is missing there.
const inventory = fs.existsSync(path.join(here, 'REQUIREMENTS.md')) ? fs.readFileSync(path.join(here, 'REQUIREMENTS.md'), 'utf8') : '';
for (const id of reqs.keys()) {
  if (!inventory.includes(`| ${id} |`) && !inventory.includes(`[${id}]`)) console.error(`warning: [${id}] is not listed in conformance/REQUIREMENTS.md`);
}
// The spec's own order: runtime.md, runtime-linux.md, config.md, config-linux.md;
// sections in document order; requirements in test order within a section.
const ORDER = [
  'runtime.md#state', 'runtime.md#query-state', 'runtime.md#lifecycle', 'runtime.md#errors', 'runtime.md#create',
  'runtime.md#start', 'runtime.md#kill', 'runtime.md#delete',
  'runtime-linux.md#file-descriptors', 'runtime-linux.md#dev-symbolic-links',
  'config.md#root', 'config.md#mounts', 'config.md#linux-mount-options', 'config.md#process', 'config.md#posix-process',
  'config.md#linux-process', 'config.md#user', 'config.md#hostname', 'config.md#domainname', 'config.md#posix-platform-hooks',
  'config.md#extensibility', 'config.md#valid-values',
  'config-linux.md#default-filesystems', 'config-linux.md#namespaces', 'config-linux.md#user-namespace-mappings',
  'config-linux.md#offset-for-time-namespace', 'config-linux.md#devices', 'config-linux.md#default-devices',
  'config-linux.md#network-devices', 'config-linux.md#cgroups-path', 'config-linux.md#cgroup-ownership',
  'config-linux.md#allowed-device-list', 'config-linux.md#memory', 'config-linux.md#cpu', 'config-linux.md#block-io', 'config-linux.md#pids',
  'config-linux.md#unified', 'config-linux.md#intelrdt', 'config-linux.md#memory-policy', 'config-linux.md#sysctl',
  'config-linux.md#seccomp', 'config-linux.md#rootfs-mount-propagation', 'config-linux.md#masked-paths',
  'config-linux.md#readonly-paths', 'config-linux.md#mount-label', 'config-linux.md#personality',
];
const docOrder = (s) => ['runtime.md', 'runtime-linux.md', 'config.md', 'config-linux.md'].findIndex((d) => s.startsWith(`${d}#`));
const secOrder = (s) => (ORDER.includes(s) ? ORDER.indexOf(s) : ORDER.length);
const rows = [...reqs.values()].sort((a, b) => docOrder(a.section) - docOrder(b.section) || secOrder(a.section) - secOrder(b.section));
const mark = { pass: 'pass', fail: '**FAIL**', skip: 'skip' };
const cell = (name, id) => mark[byRuntime[name][id]?.result] ?? 'not run';
const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

const summary = names.map((name) => {
  const recs = Object.values(byRuntime[name]);
  if (!recs.length) return `- **${name}**: not run`;
  const count = (r) => recs.filter((x) => x.result === r).length;
  return `- **${name}**: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped of ${recs.length}`;
});

const lines = [
  '# Conformance results',
  '',
  'Generated by `node conformance/report.mjs` from `conformance/results/*.jsonl`; do not edit by hand.',
  'Each row is one normative requirement of the OCI runtime-spec that can be checked from outside the runtime;',
  'the test that checks it quotes the spec sentence (`conformance/**/*.test.ts`, id in brackets).',
  'The full inventory of the spec\'s requirements, with the reason each uncheckable one is not here, is `conformance/REQUIREMENTS.md`.',
  'Explanations come from `conformance/differences.json`.',
  '',
  `Generated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on Linux ${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}` +
    ` (${fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'cgroup v2' : 'cgroup v1'}).`,
  '',
  ...runtimes.map((r) => `- ${r.name}: \`${r.bin}\`${fs.existsSync(r.bin) ? ` — ${version(r.bin) || 'version unknown'}` : ' (not present)'}`),
  '',
  '## Summary',
  '',
  ...summary,
  '',
  '## Requirements',
  '',
  `| Requirement | Level | Section | ${names.join(' | ')} | Why they differ |`,
  `| --- | --- | --- | ${names.map(() => '---').join(' | ')} | --- |`,
  ...rows.map((r) => {
    const n = notes[r.id] ?? {};
    const why = names.filter((name) => n[name]).map((name) => `${name}: ${n[name]}`).join(' ');
    return `| ${esc(r.title)} \`[${r.id}]\` | ${r.level} | ${r.section} | ${names.map((name) => cell(name, r.id)).join(' | ')} | ${esc(why)} |`;
  }),
  '',
];
// A skip is not a pass: each one is listed with the reason the host gave.
const skipped = rows.flatMap((r) => {
  const who = names.filter((name) => byRuntime[name][r.id]?.result === 'skip');
  return who.length ? [`- \`[${r.id}]\` (${who.join(', ')}): ${esc(byRuntime[who[0]][r.id].note ?? 'no reason recorded')}`] : [];
});
if (skipped.length) lines.push('## Skipped on this host', '', ...skipped, '');
fs.writeFileSync(path.join(here, 'RESULTS.md'), lines.join('\n'));
console.log(summary.join('\n'));
console.log(`wrote ${path.relative(process.cwd(), path.join(here, 'RESULTS.md'))}`);
