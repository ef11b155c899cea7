// The six hooks on real containers: each at its point of the lifecycle, in
// its namespace, with the state of that moment on stdin, args (argv0 too),
// exactly its env, its timeout, and what a failure does at each point.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';

const root = makeRoot();
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

let seq = 0;
const newId = (): string => `tsr-hooks-${process.pid}-${++seq}`;

const tsr = (args: string[]) => execa(TSRUNC_BIN, ['--root', root, ...args], { reject: false, stdin: 'ignore', timeout: 60_000 });
/** create/run -d: the container inherits stdio, so it goes to a file, never a pipe that would stay open. */
async function detached(args: string[]): Promise<{ code: number | undefined; err: string }> {
  const file = path.join(os.tmpdir(), `tsr-hooks-err-${process.pid}-${++seq}`);
  const fd = fs.openSync(file, 'w+');
  try {
    const opts: Record<string, unknown> = { reject: false, stdio: ['ignore', fd, fd], timeout: 60_000 };
    const r = await execa(TSRUNC_BIN, ['--root', root, ...args], opts);
    return { code: r.exitCode, err: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

const lines = (f: string): string[] => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
const ns = (pid: number | string, type: string): string => fs.readlinkSync(`/proc/${pid}/ns/${type}`);

interface Setup {
  b: Bundle;
  /** Host directory the hooks write to; bound at /hooks in the container (startContainer resolves there). */
  dir: string;
}

/**
 * A hook that records `tag`, its mount namespace, $FOO and $0, and its stdin.
 * Host path /bin/sh for the runtime-namespace hooks; startContainer's path
 * resolves in the container (busybox sh there).
 */
function hook(dir: string, tag: string, extra = '', where: 'host' | 'container' = 'host'): Record<string, unknown> {
  const d = where === 'host' ? dir : '/hooks';
  return {
    path: '/bin/sh',
    // busybox picks its applet by argv0: inside the container it must stay "sh".
    args: [where === 'host' ? 'hook-argv0' : 'sh', '-c', `echo "${tag} $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts) FOO=$FOO argv0=$0 HOME=$HOME" >> ${d}/order; cat > ${d}/${tag}.json; ${extra}`],
    env: ['FOO=bar', 'PATH=/bin:/usr/bin'],
  };
}

function setup(t: any, cmd: string, hooks: (dir: string) => Record<string, unknown>): Setup {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-hooks-'));
  const b = makeBundle((c) => {
    c.mounts.push({ destination: '/hooks', type: 'bind', source: dir, options: ['rbind', 'rw'] });
    c.hooks = hooks(dir);
  }, ['sh', '-c', cmd]);
  t.teardown(() => {
    b.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { b, dir };
}

t.test('all six hooks: order, namespaces, state on stdin, args and env', async (t) => {
  const id = newId();
  const { b, dir } = setup(t, 'echo program >> /hooks/order; sleep 0.5', (dir) => ({
    prestart: [hook(dir, 'prestart')],
    createRuntime: [hook(dir, 'createRuntime')],
    createContainer: [hook(dir, 'createContainer')],
    startContainer: [hook(dir, 'startContainer', '', 'container')],
    poststart: [hook(dir, 'poststart')],
    poststop: [hook(dir, 'poststop')],
  }));
  const order = path.join(dir, 'order');
  const host = `${ns('self', 'mnt')} ${ns('self', 'uts')}`;
  const c = await detached(['create', '-b', b.dir, id]);
  t.equal(c.code, 0, c.err);
  t.teardown(() => tsr(['delete', '-f', id]));
  const pid = JSON.parse(String((await tsr(['state', id])).stdout)).pid as number;
  const ctr = `${ns(pid, 'mnt')} ${ns(pid, 'uts')}`;
  const env = 'FOO=bar argv0=hook-argv0 HOME=';
  t.same(lines(order), [`prestart ${host} ${env}`, `createRuntime ${host} ${env}`, `createContainer ${ctr} ${env}`], 'create: prestart, createRuntime (runtime ns), createContainer (container ns)');
  t.equal((await tsr(['start', id])).exitCode, 0, 'start');
  const after = lines(order).slice(3);
  t.equal(after[0], `startContainer ${ctr} FOO=bar argv0=sh HOME=`, 'startContainer first, in the container namespaces');
  t.ok(after.includes(`poststart ${host} ${env}`), 'poststart ran before start returned');
  // The program and poststart race (both after the exec); the program is never before startContainer.
  await new Promise((r) => setTimeout(r, 300));
  t.ok(lines(order).indexOf('program') > 3, 'the program ran after startContainer');
  await new Promise((r) => setTimeout(r, 800));
  t.equal((await tsr(['delete', id])).exitCode, 0, 'delete');
  t.equal(lines(order).at(-1), `poststop ${host} ${env}`, 'poststop ran before delete returned');
  const st = (tag: string): any => JSON.parse(fs.readFileSync(path.join(dir, `${tag}.json`), 'utf8'));
  const want = { ociVersion: '1.0.2', id, bundle: b.dir };
  t.match(st('prestart'), { ...want, status: 'creating', pid });
  t.match(st('createRuntime'), { ...want, status: 'creating', pid });
  // Run in the container namespace (a new pid namespace here): the pid as seen there.
  t.match(st('createContainer'), { ...want, status: 'creating', pid: 1 });
  t.match(st('startContainer'), { ...want, status: 'created', pid: 1 });
  t.match(st('poststart'), { ...want, status: 'running', pid });
  t.match(st('poststop'), { ...want, status: 'stopped' });
});

for (const phase of ['prestart', 'createRuntime', 'createContainer'] as const) {
  t.test(`a failing ${phase} hook fails create, leaves nothing behind, and poststop still runs`, async (t) => {
    const id = newId();
    const { b, dir } = setup(t, 'touch /hooks/program-ran', (dir) => ({
      [phase]: [hook(dir, 'bad', 'echo oops >&2; exit 3'), hook(dir, 'never')],
      poststop: [hook(dir, 'poststop')],
    }));
    const c = await detached(['create', '-b', b.dir, id]);
    t.not(c.code, 0, 'create fails');
    t.match(c.err, new RegExp(`error running ${phase} hook #0: exit status 3, stdout: , stderr: oops`), 'the hook, its exit status and stderr');
    t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
    t.notOk(fs.existsSync(path.join(dir, 'program-ran')), 'the program never ran');
    const order = lines(path.join(dir, 'order')).map((l) => l.split(' ')[0]);
    t.same(order, ['bad', 'poststop'], 'later hooks of the phase skipped; poststop ran (runtime.md step 12)');
  });
}

t.test('a hook past its timeout is killed and fails create', async (t) => {
  const id = newId();
  // A unique duration, so pgrep finds only this test's sleep.
  const marker = `29.${process.pid}`;
  const { b } = setup(t, 'true', (dir) => ({ createRuntime: [{ ...hook(dir, 'slow', `sleep ${marker}`), timeout: 1 }] }));
  const t0 = Date.now();
  const c = await detached(['create', '-b', b.dir, id]);
  t.not(c.code, 0);
  t.ok(Date.now() - t0 < 10_000, 'did not wait for the hook');
  t.match(c.err, /error running createRuntime hook #0: hook ran past specified timeout of 1\.0s/);
  await new Promise((r) => setTimeout(r, 200));
  const left = await execa('pgrep', ['-f', `sleep ${marker}`], { reject: false });
  t.equal(String(left.stdout).trim(), '', 'the hook\'s own children were killed with it');
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
});

t.test('a failing startContainer hook: the program never runs and start reports it', async (t) => {
  const id = newId();
  const { b, dir } = setup(t, 'touch /hooks/program-ran', (dir) => ({
    startContainer: [hook(dir, 'bad', 'exit 1', 'container')],
    poststart: [hook(dir, 'poststart')],
  }));
  t.equal((await detached(['create', '-b', b.dir, id])).code, 0);
  t.teardown(() => tsr(['delete', '-f', id]));
  const s = await tsr(['start', id]);
  t.not(s.exitCode, 0, 'start fails');
  t.match(String(s.stderr), /failed before the user process started: error running startContainer hook/);
  t.notOk(fs.existsSync(path.join(dir, 'program-ran')), 'the program never ran');
  t.notOk(lines(path.join(dir, 'order')).some((l) => l.startsWith('poststart')), 'no poststart');
  t.match(JSON.parse(String((await tsr(['state', id])).stdout)), { status: 'stopped' });
});

t.test('a failing startContainer hook fails start also without poststart hooks', async (t) => {
  const id = newId();
  const { b } = setup(t, 'true', (dir) => ({ startContainer: [hook(dir, 'bad', 'exit 1', 'container')] }));
  t.equal((await detached(['create', '-b', b.dir, id])).code, 0);
  t.teardown(() => tsr(['delete', '-f', id]));
  const s = await tsr(['start', id]);
  t.not(s.exitCode, 0, 'start fails');
  t.match(String(s.stderr), /failed before the user process started: error running startContainer hook/);
});

t.test('a failing poststart hook is an error: start fails, the container is destroyed, poststop runs', async (t) => {
  const id = newId();
  const { b, dir } = setup(t, 'sleep 30', (dir) => ({
    poststart: [hook(dir, 'bad', 'exit 1'), hook(dir, 'good')],
    poststop: [hook(dir, 'poststop')],
  }));
  t.equal((await detached(['create', '-b', b.dir, id])).code, 0);
  t.teardown(() => tsr(['delete', '-f', id]));
  const pid = JSON.parse(String((await tsr(['state', id])).stdout)).pid as number;
  const s = await tsr(['start', id]);
  t.not(s.exitCode, 0, 'start fails');
  t.match(String(s.stderr), /error running poststart hook #0: exit status 1.*container stopped/);
  t.same(lines(path.join(dir, 'order')).map((l) => l.split(' ')[0]), ['bad', 'poststop'], 'no later poststart hook; poststop ran');
  t.ok(gone(pid), 'the container process is gone (or a zombie awaiting its reaper)');
  t.notOk(fs.existsSync(path.join(root, id)), 'the container is destroyed');
});

t.test('a failing poststop hook is a warning; the remaining ones run and delete succeeds', async (t) => {
  const id = newId();
  const { b, dir } = setup(t, 'true', (dir) => ({ poststop: [hook(dir, 'bad', 'exit 1'), hook(dir, 'good')] }));
  t.equal((await detached(['create', '-b', b.dir, id])).code, 0);
  await tsr(['start', id]);
  await new Promise((r) => setTimeout(r, 300));
  const d = await tsr(['delete', '-f', id]);
  t.equal(d.exitCode, 0, 'delete succeeds');
  t.match(String(d.stderr), /error running poststop hook #0: exit status 1/, 'warned');
  t.same(lines(path.join(dir, 'order')).map((l) => l.split(' ')[0]), ['bad', 'good']);
  t.notOk(fs.existsSync(path.join(root, id)), 'gone');
});

t.test('run: poststart after the program started, poststop after it is deleted', async (t) => {
  const id = newId();
  const { b, dir } = setup(t, 'echo program >> /hooks/order', (dir) => ({
    startContainer: [hook(dir, 'startContainer', '', 'container')],
    poststart: [hook(dir, 'poststart')],
    poststop: [hook(dir, 'poststop')],
  }));
  const r = await tsr(['run', '-b', b.dir, id]);
  t.equal(r.exitCode, 0, String(r.stderr));
  const order = lines(path.join(dir, 'order')).map((l) => l.split(' ')[0]);
  t.equal(order[0], 'startContainer');
  t.equal(order.at(-1), 'poststop');
  t.ok(order.includes('poststart') && order.includes('program'), order.join(','));
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'poststart.json'), 'utf8')), { status: 'running' });
});

/** Dead: no /proc entry, or a zombie (its parent, not we, reaps it). */
function gone(pid: number): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}
