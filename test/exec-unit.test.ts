// exec's pure parts, without root: runc's getProcess rules for the CLI
// flags, and --cgroup's sub-cgroup paths.
import t from 'tap';
import { buildProcess, execCgroupPaths, type ExecOptions } from '../src/container/exec.js';
import type { Spec } from '../src/config/types.js';

const config = {
  ociVersion: '1.0.2',
  process: {
    args: ['sleep', '1000'],
    cwd: '/',
    env: ['PATH=/bin', 'A=1'],
    user: { uid: 0, gid: 0 },
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
    noNewPrivileges: false,
  },
} as unknown as Spec;

const opts = (o: Partial<ExecOptions>): ExecOptions => ({
  id: 'x',
  args: [],
  env: [],
  tty: false,
  additionalGids: [],
  detach: false,
  noNewPrivs: false,
  caps: [],
  preserveFds: 0,
  ignorePaused: false,
  ...o,
});

t.test('the config\'s process with the flags applied', async (t) => {
  const p = buildProcess(config, opts({ args: ['sh'], env: ['B=2'], cwd: '/tmp', user: '1000:100', additionalGids: ['10'], caps: ['CAP_SYS_ADMIN'], noNewPrivs: true }));
  t.same(p.args, ['sh']);
  t.same(p.env, ['PATH=/bin', 'A=1', 'B=2'], '-e appends');
  t.equal(p.cwd, '/tmp');
  t.same(p.user, { uid: 1000, gid: 100, additionalGids: [10] });
  t.same(p.capabilities!.bounding, ['CAP_KILL', 'CAP_SYS_ADMIN']);
  t.notOk(p.capabilities!.inheritable, 'as runc 1.1: not inheritable');
  t.equal(p.noNewPrivileges, true);
  t.same(config.process!.args, ['sleep', '1000'], 'the config is not changed');
  t.same(buildProcess(config, opts({ args: ['id'], user: '7' })).user, { uid: 7, gid: 0 }, 'uid alone: gid 0');
});

t.test('flag errors', async (t) => {
  t.throws(() => buildProcess(config, opts({})), /exec args cannot be empty/);
  t.throws(() => buildProcess(config, opts({ args: ['id'], user: 'root' })), /parsing root as uid: invalid syntax/);
  t.throws(() => buildProcess(config, opts({ args: ['id'], caps: ['CAP_NOPE'] })), /CAP_NOPE/);
});

t.test('--cgroup: sub-cgroups of the container\'s, per controller or all', async (t) => {
  const v1 = { cpu: '/sys/fs/cgroup/cpu/c', memory: '/sys/fs/cgroup/memory/c' };
  t.same(execCgroupPaths(v1, undefined), v1);
  t.same(execCgroupPaths(v1, ['sub']), { cpu: '/sys/fs/cgroup/cpu/c/sub', memory: '/sys/fs/cgroup/memory/c/sub' });
  t.same(execCgroupPaths(v1, ['cpu:a/b']), { cpu: '/sys/fs/cgroup/cpu/c/a/b', memory: '/sys/fs/cgroup/memory/c' });
  t.same(execCgroupPaths({ unified: '/sys/fs/cgroup/c' }, ['x']), { unified: '/sys/fs/cgroup/c/x' });
  t.throws(() => execCgroupPaths(v1, ['../escape']), /invalid --cgroup argument/);
  t.throws(() => execCgroupPaths(v1, ['pids:x']), /no such controller pids/);
});
