// Namespace planning without root: flags, join order, what needs a fork,
// the exact nsexec argv, and type checks of joined paths.
import t from 'tap';
import { checkJoinPaths, formatIdMap, nsexecArgs, planNamespaces } from '../src/namespaces.js';
import { parseSignal } from '../src/container/signals.js';
import { CLONE } from '../src/sys/linux.js';
import { RecordingSys } from '../src/sys/recording.js';

t.test('new namespaces become unshare flags; cgroup is left to init', async (t) => {
  const p = planNamespaces([{ type: 'pid' }, { type: 'network' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'cgroup' }]);
  t.equal(p.unshareFlags, CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS);
  t.ok(p.newCgroupNs);
  t.ok(p.fork, 'a new pid namespace needs a child');
  t.same(p.joins, []);
  t.notOk(planNamespaces([{ type: 'mount' }, { type: 'network' }]).fork, 'no pid/time: nsexec execs init itself');
  t.ok(planNamespaces([{ type: 'mount' }, { type: 'time' }]).fork, 'a new time namespace applies to children only');
});

t.test('joins: user first, then runc\'s order', async (t) => {
  const p = planNamespaces([
    { type: 'network', path: '/n' },
    { type: 'pid', path: '/p' },
    { type: 'ipc', path: '/i' },
    { type: 'user', path: '/u' },
    { type: 'mount' },
  ]);
  t.same(p.joins.map((j) => j.type), ['user', 'ipc', 'network', 'pid']);
  t.ok(p.fork, 'a joined pid namespace needs a child too');
  t.same(nsexecArgs(p, 5, ['/node', '/init.cjs', '5']), [
    '--sync-fd', '5',
    '--join', '0x10000000:/u',
    '--join', '0x8000000:/i',
    '--join', '0x40000000:/n',
    '--join', '0x20000000:/p',
    '--unshare', '0x20000',
    '--fork',
    '--', '/node', '/init.cjs', '5',
  ]);
});

t.test('time offsets and user mappings', async (t) => {
  const p = planNamespaces([{ type: 'time' }, { type: 'user' }, { type: 'mount' }], { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -3 } });
  t.same(p.timeOffsets, ['monotonic:10:5', 'boottime:-3:0']);
  t.ok(p.newUserNs);
  t.match(nsexecArgs(p, 3, ['x']).join(' '), /--unshare 0x10020080 --timens-offset monotonic:10:5 --timens-offset boottime:-3:0 --fork/);
  t.throws(() => planNamespaces([{ type: 'mount' }], { monotonic: { secs: 1 } }), /requires a new time namespace/);
  t.throws(() => planNamespaces([{ type: 'time' }], { realtime: { secs: 1 } }), /unknown clock/);
  t.equal(formatIdMap([{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }]), '0 1000 1\n1 100000 65536\n');
});

t.test('bad namespace lists', async (t) => {
  t.throws(() => planNamespaces([{ type: 'pid' }, { type: 'pid' }]), /duplicate namespace type pid/);
  t.throws(() => planNamespaces([{ type: 'bogus' }]), /unknown namespace type/);
  t.throws(() => planNamespaces([{ type: 'network', path: 'relative' }]), /not absolute/);
  t.throws(() => planNamespaces([{ type: 'mount', path: '/proc/1/ns/mnt' }]), /mount namespace is not supported/);
});

t.test('a joined path of the wrong type is refused before nsexec runs', async (t) => {
  const s = new RecordingSys();
  s.ioctlNsType = () => CLONE.NEWUTS;
  const p = planNamespaces([{ type: 'network', path: '/proc/self/ns/uts' }, { type: 'mount' }]);
  t.throws(() => checkJoinPaths(p, s), /\/proc\/self\/ns\/uts is a uts namespace, not a network namespace/);
  s.ioctlNsType = () => CLONE.NEWNET;
  t.doesNotThrow(() => checkJoinPaths(p, s));
  t.throws(() => checkJoinPaths(planNamespaces([{ type: 'network', path: '/nonexistent' }]), s), /ENOENT/);
});

t.test('signal names', async (t) => {
  t.equal(parseSignal(undefined), 15);
  t.equal(parseSignal('9'), 9);
  t.equal(parseSignal('KILL'), 9);
  t.equal(parseSignal('sigkill'), 9);
  t.equal(parseSignal('SIGUSR1'), 10);
  t.equal(parseSignal('RTMIN+2'), 36);
  t.throws(() => parseSignal('NOPE'), /unknown signal/);
  t.throws(() => parseSignal('99'), /invalid signal/);
});
