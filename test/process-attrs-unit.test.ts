// Process attributes against the recording Sys (no root): what R plans from a
// config and the exact calls init makes, in runc's order.
import t from 'tap';
import { applyPrivilegedAttrs, parseCpuList, planAttrs } from '../src/process/attrs.js';
import { applyCapabilities, dropBoundingSet, planCapabilities, PR_CAP_AMBIENT, PR_CAPBSET_DROP, PR_SET_KEEPCAPS } from '../src/process/capabilities.js';
import { applyRlimits, planRlimits, raiseHardLimits } from '../src/process/rlimits.js';
import { checkTerminal } from '../src/console/socket.js';
import { hookState } from '../src/hooks.js';
import { RecordingSys } from '../src/sys/recording.js';
import { SysError } from '../src/sys/ffi.js';

t.test('capabilities: masks from names; no object means none', async (t) => {
  const p = planCapabilities({ bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: ['CAP_KILL', 'CAP_KILL'] });
  t.same(p, { bounding: '21', effective: '20', permitted: '20', inheritable: '0', ambient: [5] });
  t.same(planCapabilities(undefined), { bounding: '0', effective: '0', permitted: '0', inheritable: '0', ambient: [] });
});

t.test('capabilities: bounding drops, keep-caps, then capset and the ambient set', async (t) => {
  const s = new RecordingSys();
  const p = planCapabilities({ bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] });
  dropBoundingSet(s, p, 6);
  applyCapabilities(s, p);
  t.same(s.lines(), [
    ...[1, 2, 3, 4, 6].map((c) => `prctl5(${PR_CAPBSET_DROP}, ${c}, 0, 0, 0)`),
    `prctl5(${PR_SET_KEEPCAPS}, 1, 0, 0, 0)`,
    `prctl5(${PR_SET_KEEPCAPS}, 0, 0, 0, 0)`,
    'capset("0x20", "0x20", "0x20")',
    `prctl5(${PR_CAP_AMBIENT}, 4, 0, 0, 0)`,
    `prctl5(${PR_CAP_AMBIENT}, 2, 5, 0, 0)`,
  ]);
});

t.test('capabilities: an ambient capability the kernel refuses (EPERM) is skipped, EINVAL drops too', async (t) => {
  const s = new RecordingSys();
  s.failWith = (c) => (c.name === 'prctl5' && c.args[0] === PR_CAP_AMBIENT && c.args[1] === 2 ? new SysError('prctl', 1) : undefined);
  t.doesNotThrow(() => applyCapabilities(s, planCapabilities({ ambient: ['CAP_KILL'] })));
  const s2 = new RecordingSys();
  s2.failWith = (c) => (c.name === 'prctl5' && c.args[0] === PR_CAPBSET_DROP && c.args[1] === 40 ? new SysError('prctl', 22) : undefined);
  t.doesNotThrow(() => dropBoundingSet(s2, planCapabilities({}), 40), 'a capability this kernel does not know');
});

t.test('rlimits: uint64 values, hard raised on the pid by R, exact values set by init', async (t) => {
  const plan = planRlimits([
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
    { type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 },
  ]);
  t.same(plan, [
    { type: 7, soft: '1024', hard: '2048' },
    { type: 4, soft: '0', hard: '18446744073709551615' },
  ]);
  const s = new RecordingSys();
  raiseHardLimits(s, 42, plan);
  // The recording double reports a current soft limit of 1024.
  t.same(s.lines(), ['prlimit(42, 7)', 'prlimit(42, 7, "1024", "2048")', 'prlimit(42, 4)', 'prlimit(42, 4, "1024", "18446744073709551615")']);
  const s2 = new RecordingSys();
  applyRlimits(s2, plan);
  t.same(s2.lines(), ['prlimit(0, 7, "1024", "2048")', 'prlimit(0, 4, "0", "18446744073709551615")']);
  const s3 = new RecordingSys();
  s3.failWith = (c) => (c.name === 'prlimit' && c.args.length > 2 ? new SysError('prlimit', 1, '7') : undefined);
  t.throws(() => raiseHardLimits(s3, 42, plan), { message: 'error setting rlimit type 7: operation not permitted' });
});

t.test('planAttrs: keyring, personality, ioprio, scheduler, affinity', async (t) => {
  const spec = {
    ociVersion: '1.3.0',
    process: {
      cwd: '/',
      args: ['sh'],
      noNewPrivileges: true,
      ioPriority: { class: 'IOPRIO_CLASS_BE' as const, priority: 6 },
      scheduler: { policy: 'SCHED_FIFO' as const, priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK' as const] },
      execCPUAffinity: { initial: '0-2,5', final: '1' },
    },
    linux: { personality: { domain: 'LINUX32' as const } },
  };
  const a = planAttrs(spec as any, 'c1', { noNewKeyring: false, userns: false });
  t.same(a.keyring, { name: '_ses.c1', perm: 0x80000 });
  t.same(planAttrs(spec as any, 'c1', { noNewKeyring: false, userns: true }).keyring, { name: '_ses.c1', perm: 0x8 }, 'search for "other" in a user namespace');
  t.equal(planAttrs(spec as any, 'c1', { noNewKeyring: true, userns: false }).keyring, undefined);
  t.equal(a.personality, 8);
  t.equal(a.ioPriority, (2 << 13) | 6);
  t.match(a.scheduler, { policy: 1, priority: 10, flags: '1' });
  t.same(a.cpusInitial, [0, 1, 2, 5]);
  t.same(a.cpusFinal, [1]);
  const s = new RecordingSys();
  applyPrivilegedAttrs(s, a);
  t.same(s.calls.map((c) => c.name), ['prctl5', 'personality', 'schedSetattr', 'ioprioSet']);
  t.same(parseCpuList('3'), [3]);
});

t.test('terminal usage checks use runc\'s rules', async (t) => {
  t.throws(() => checkTerminal(true, true, undefined), /cannot allocate tty if tsrunc will detach without setting console socket/);
  t.throws(() => checkTerminal(false, true, '/s'), /cannot use console socket if tsrunc will not detach or allocate tty/);
  t.throws(() => checkTerminal(true, false, '/s'), /cannot use console socket/, 'foreground run relays itself');
  t.doesNotThrow(() => checkTerminal(true, true, '/s'));
  t.doesNotThrow(() => checkTerminal(true, false, undefined));
  t.doesNotThrow(() => checkTerminal(false, false, undefined));
});

t.test('hook state: pid only while there is one, annotations only when set', async (t) => {
  const rec = { ociVersion: '1.3.0', id: 'x', bundle: '/b', annotations: {} };
  t.same(hookState(rec, 12, 'creating'), { ociVersion: '1.3.0', id: 'x', status: 'creating', pid: 12, bundle: '/b' });
  t.same(hookState({ ...rec, annotations: { a: 'b' } }, 0, 'stopped'), { ociVersion: '1.3.0', id: 'x', status: 'stopped', bundle: '/b', annotations: { a: 'b' } });
});
