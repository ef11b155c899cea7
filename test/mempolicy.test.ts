// linux.memoryPolicy in real containers: the policy the program runs with,
// read back inside from /proc/self/numa_maps (a mapping without a policy of
// its own shows the task's: "bind:0", "interleave=static:0", "prefer:0"), and
// the errors for a node the host lacks and a policy the kernel refuses.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';

const numa = fs.existsSync('/proc/self/numa_maps') && fs.existsSync('/sys/devices/system/node/online');
const online = numa ? fs.readFileSync('/sys/devices/system/node/online', 'utf8').trim() : '';
// Node 0 exists on every NUMA kernel; 5 is the "missing node" only where it is not online.
const skip = !numa ? 'kernel without NUMA (no /proc/self/numa_maps)' : /^0$/.test(online) ? false : `needs a host with node 0 only (online: ${online})`;

const root = makeRoot();
const bundles: Bundle[] = [];
t.teardown(async () => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) if (!id.startsWith('.')) await tsr(['delete', '--force', id]);
  fs.rmSync(root, { recursive: true, force: true });
  for (const b of bundles) b.remove();
});

function tsr(args: string[], opts: Record<string, unknown> = {}) {
  return execa(TSRUNC_BIN, ['--root', root, ...args], { reject: false, ...(opts.stdio ? {} : { stdin: 'ignore' as const }), ...opts });
}

function bundle(mp: Record<string, unknown>): Bundle {
  // busybox head: the first mapping (the binary's text) has no policy of its own.
  const b = makeBundle((c) => (c.linux.memoryPolicy = mp), ['head', '-n', '1', '/proc/self/numa_maps']);
  bundles.push(b);
  return b;
}

let seq = 0;
const newId = () => `mp${process.pid}-${seq++}`;

/** The policy column of numa_maps' first line. */
const policyOf = (out: string) => out.split('\n')[0]!.split(' ')[1];

t.test('mode, nodes and flags are the program\'s policy', { skip }, async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [{ mode: 'MPOL_BIND', nodes: '0' }, 'bind:0'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'interleave=static:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0' }, 'prefer:0'],
    [{ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, 'bind=balancing:0'],
    [{ mode: 'MPOL_LOCAL' }, 'local'],
  ];
  for (const [mp, want] of cases) {
    const id = newId();
    const r = await tsr(['run', '-b', bundle(mp).dir, id]);
    t.equal(r.exitCode, 0, String(r.stderr));
    t.equal(policyOf(String(r.stdout)), want, JSON.stringify(mp));
  }
  const id = newId();
  const r = await tsr(['run', '-b', bundle({ mode: 'MPOL_DEFAULT' }).dir, id]);
  t.equal(policyOf(String(r.stdout)), 'default', 'without a policy of its own: default');
});

t.test('the policy outlives the wait between create and start', { skip }, async (t) => {
  const b = bundle({ mode: 'MPOL_INTERLEAVE', nodes: '0' });
  const id = newId();
  const out = path.join(b.dir, 'out');
  const fd = fs.openSync(out, 'w');
  try {
    t.equal((await tsr(['create', '-b', b.dir, id], { stdio: ['ignore', fd, fd] })).exitCode, 0, 'create');
  } finally {
    fs.closeSync(fd);
  }
  t.equal((await tsr(['start', id])).exitCode, 0, 'start');
  let status = '';
  for (let i = 0; i < 200 && status !== 'stopped'; i++) {
    status = JSON.parse(String((await tsr(['state', id])).stdout)).status;
    if (status !== 'stopped') await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(policyOf(fs.readFileSync(out, 'utf8')), 'interleave:0');
  await tsr(['delete', id]);
});

t.test('a node the host lacks, or a policy the kernel refuses: create fails, nothing is left', { skip }, async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ mode: 'MPOL_BIND', nodes: '5' }, /^tsrunc: linux\.memoryPolicy\.nodes: node 5 not online on this host \(online: 0\)$/m],
    [{ mode: 'MPOL_BIND', nodes: '0,5' }, /linux\.memoryPolicy\.nodes: node 5 not online/],
    // NUMA balancing goes with MPOL_BIND (and PREFERRED_MANY) only: the kernel says EINVAL.
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, /^tsrunc: linux\.memoryPolicy: the kernel refused mode MPOL_INTERLEAVE, nodes "0", flags MPOL_F_NUMA_BALANCING: set_mempolicy: invalid argument$/m],
    // A static mask is kept as given, so only the kernel can tell node 5 is missing.
    [{ mode: 'MPOL_BIND', nodes: '5', flags: ['MPOL_F_STATIC_NODES'] }, /linux\.memoryPolicy: the kernel refused mode MPOL_BIND, nodes "5", flags MPOL_F_STATIC_NODES/],
  ];
  for (const [mp, want] of cases) {
    const id = newId();
    const b = bundle(mp);
    const out = path.join(b.dir, 'create.out');
    const fd = fs.openSync(out, 'w');
    let code;
    try {
      code = (await tsr(['create', '-b', b.dir, id], { stdio: ['ignore', fd, fd] })).exitCode;
    } finally {
      fs.closeSync(fd);
    }
    const msg = fs.readFileSync(out, 'utf8');
    t.not(code, 0, `${JSON.stringify(mp)}: create fails`);
    t.match(msg, want);
    t.not((await tsr(['state', id])).exitCode, 0, 'no container');
    t.notOk(fs.existsSync(path.join(root, id)), 'no state dir');
  }
});
