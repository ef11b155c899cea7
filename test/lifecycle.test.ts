// The container lifecycle on real containers: create -> start -> kill ->
// delete, run's exit codes, --pid-file, --preserve-fds, and that a create
// killed at any point leaves nothing `delete --force` cannot remove.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { removeRoot } from './helpers/run.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BIN = process.env.RUNTIME ? path.resolve(process.env.RUNTIME) : path.join(REPO, 'bin', 'tsrunc');

function tsr(root: string, args: string[], opts: Record<string, unknown> = {}) {
  const stdio = opts.stdio ? {} : { stdin: 'ignore' as const };
  return execa(BIN, ['--root', root, ...args], { reject: false, ...stdio, ...opts });
}

/**
 * For commands whose stdio the container inherits (create, run -d): a pipe
 * would stay open as long as the container lives, so output goes to a file.
 */
async function detached(root: string, args: string[]): Promise<{ exitCode: number | undefined; stderr: string }> {
  const file = `/tmp/tsr-stderr-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = fs.openSync(file, 'w+');
  try {
    const r = await tsr(root, args, { stdio: ['ignore', fd, fd] });
    return { exitCode: r.exitCode, stderr: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

async function state(root: string, id: string): Promise<any> {
  const r = await tsr(root, ['state', id]);
  return r.exitCode === 0 ? JSON.parse(String(r.stdout)) : undefined;
}

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Nothing on the host refers to the bundle any more: no mount, no state dir. */
function leftovers(root: string, b: Bundle, id: string): string[] {
  const found: string[] = [];
  if (fs.existsSync(path.join(root, id))) found.push(`state dir ${id}`);
  for (const e of fs.readdirSync(root)) if (e.startsWith('.')) found.push(`temp ${e}`);
  const mi = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  if (mi.includes(b.dir)) found.push('mount referencing the bundle');
  return found;
}

const root = makeRoot();
const bundles: Bundle[] = [];
t.teardown(async () => {
  await removeRoot(root);
  for (const b of bundles) b.remove();
});

function bundle(args: string[], edit?: (c: any) => void): Bundle {
  const b = makeBundle(edit, args);
  bundles.push(b);
  return b;
}

t.test('run: exit codes and output', async (t) => {
  const b = bundle(['sh', '-c', 'echo out-$$; exit 0']);
  let r = await tsr(root, ['run', '-b', b.dir, 'run0']);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.equal(String(r.stdout).trim(), 'out-1', 'pid 1 in its own pid namespace');
  b.config.process.args = ['sh', '-c', 'exit 3'];
  b.save();
  r = await tsr(root, ['run', '-b', b.dir, 'run3']);
  t.equal(r.exitCode, 3);
  t.same(leftovers(root, b, 'run3'), [], 'run deletes the container');
});

t.test('run: killed container exits 137; signals are forwarded', async (t) => {
  const b = bundle(['sleep', '100']);
  const p = tsr(root, ['run', '-b', b.dir, 'run137']);
  t.ok(await until(async () => (await state(root, 'run137'))?.status === 'running'), 'running');
  t.equal((await tsr(root, ['kill', 'run137', 'KILL'])).exitCode, 0);
  t.equal((await p).exitCode, 137);
  t.same(leftovers(root, b, 'run137'), []);

  const b2 = bundle(['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.05; done']);
  const p2 = tsr(root, ['run', '-b', b2.dir, 'runfwd']);
  t.ok(await until(async () => (await state(root, 'runfwd'))?.status === 'running'));
  await new Promise((r) => setTimeout(r, 100)); // let sh install its trap
  p2.kill('SIGTERM');
  t.equal((await p2).exitCode, 42, 'SIGTERM to run reached the container');
});

t.test('create, start, kill, delete', async (t) => {
  const out = fs.mkdtempSync('/tmp/tsr-out-');
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const b = bundle(['sh', '-c', 'trap "exit 7" TERM; echo started > /out/flag; while true; do sleep 0.05; done'], (c) => {
    c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  });
  const pidFile = path.join(out, 'pid');
  const r = await detached(root, ['create', '-b', b.dir, '--pid-file', pidFile, 'lc']);
  t.equal(r.exitCode, 0, String(r.stderr));
  const st = await state(root, 'lc');
  t.equal(st.status, 'created');
  t.equal(st.pid, Number(fs.readFileSync(pidFile, 'utf8')), '--pid-file holds the host pid');
  t.ok(alive(st.pid));
  t.notOk(fs.existsSync(path.join(out, 'flag')), 'the program has not run before start');

  t.match((await tsr(root, ['delete', 'lc'])).stderr, /not stopped: created/, 'delete of a created container needs --force');
  t.equal((await tsr(root, ['start', 'lc'])).exitCode, 0);
  t.ok(await until(() => fs.existsSync(path.join(out, 'flag'))), 'the program ran after start');
  t.equal((await state(root, 'lc')).status, 'running');

  const again = await tsr(root, ['start', 'lc']);
  t.equal(again.exitCode, 1);
  t.match(again.stderr, /cannot start an already running container/);
  const del = await tsr(root, ['delete', 'lc']);
  t.equal(del.exitCode, 1);
  t.match(del.stderr, /cannot delete container lc that is not stopped: running/);
  t.equal((await state(root, 'lc')).status, 'running', 'the failed commands had no effect');

  t.equal((await tsr(root, ['kill', 'lc'])).exitCode, 0, 'default signal SIGTERM');
  t.ok(await until(async () => (await state(root, 'lc')).status === 'stopped'), 'stopped after SIGTERM');
  t.notOk(alive(st.pid));
  const k = await tsr(root, ['kill', 'lc', 'KILL']);
  t.equal(k.exitCode, 1);
  t.match(k.stderr, /container not running/);
  const s2 = await tsr(root, ['start', 'lc']);
  t.match(s2.stderr, /cannot start a container that has stopped/);
  t.equal((await tsr(root, ['delete', 'lc'])).exitCode, 0);
  t.equal((await tsr(root, ['state', 'lc'])).exitCode, 1);
  t.same(leftovers(root, b, 'lc'), []);
  t.equal((await tsr(root, ['delete', '--force', 'lc'])).exitCode, 0, 'delete --force of an unknown id succeeds');
});

t.test('delete --force of a running container', async (t) => {
  const b = bundle(['sleep', '100']);
  t.equal((await detached(root, ['run', '-d', '-b', b.dir, 'df'])).exitCode, 0);
  const st = await state(root, 'df');
  t.equal(st.status, 'running');
  t.equal((await tsr(root, ['delete', '--force', 'df'])).exitCode, 0);
  t.notOk(alive(st.pid), 'process gone when delete returns');
  t.same(leftovers(root, b, 'df'), []);
});

t.test('kill: signal names and numbers, --all', async (t) => {
  const b = bundle(['sh', '-c', 'sleep 100 & sleep 100 & wait']);
  t.equal((await detached(root, ['run', '-d', '-b', b.dir, 'ka'])).exitCode, 0);
  const st = await state(root, 'ka');
  t.equal((await tsr(root, ['kill', 'ka', 'SIGNOPE'])).exitCode, 1, 'unknown signal');
  t.equal((await tsr(root, ['kill', 'ka', '0'])).exitCode, 0, 'signal 0 probes');
  const ns = fs.readlinkSync(`/proc/${st.pid}/ns/pid`);
  const members = () =>
    fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && alive(Number(p))).filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/ns/pid`) === ns;
      } catch {
        return false;
      }
    });
  t.ok(await until(() => members().length === 3), 'init and two children');
  t.equal((await tsr(root, ['kill', '--all', 'ka', '9'])).exitCode, 0);
  t.ok(await until(() => members().length === 0), 'every process got the signal');
  t.equal((await tsr(root, ['delete', 'ka'])).exitCode, 0);
});

t.test('--preserve-fds', async (t) => {
  const out = fs.mkdtempSync('/tmp/tsr-out-');
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const file = path.join(out, 'fd3');
  const fd = fs.openSync(file, 'w');
  const b = bundle(['sh', '-c', 'echo via-fd3 >&3; ls /proc/self/fd']);
  const r = await tsr(root, ['run', '--preserve-fds', '1', '-b', b.dir, 'pf'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  fs.closeSync(fd);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.equal(fs.readFileSync(file, 'utf8'), 'via-fd3\n');
  t.same(String(r.stdout).trim().split(/\s+/).sort(), ['0', '1', '2', '3', '4'], 'only stdio, the preserved fd and ls\'s own');
  const bad = await tsr(root, ['run', '--preserve-fds', '5', '-b', b.dir, 'pf2']);
  t.equal(bad.exitCode, 1);
  t.match(bad.stderr, /unable to stat preserved-fd/);
});

t.test('SIGKILL of create at any point leaves nothing delete --force cannot remove', async (t) => {
  const b = bundle(['sleep', '100']);
  // Kill points from "record written" on: the container's own stages follow within ~100 ms.
  for (const delay of [0, 10, 25, 40, 60, 80, 100]) {
    const id = `sk${delay}`;
    const p = tsr(root, ['create', '-b', b.dir, id], { stdout: 'ignore', stderr: 'ignore' });
    await until(() => fs.existsSync(path.join(root, id, 'state.json')), 3000);
    await new Promise((r) => setTimeout(r, delay));
    p.kill('SIGKILL');
    await p;
    const st = await state(root, id);
    const d = await tsr(root, ['delete', '--force', id]);
    t.equal(d.exitCode, 0, `delete --force after SIGKILL at ${delay} ms (${st?.status ?? 'no record'})`);
    if (st?.pid) t.ok(await until(() => !alive(st.pid)), 'no container process left');
    t.ok(await until(() => leftovers(root, b, id).length === 0), `nothing left (${leftovers(root, b, id).join(', ')})`);
  }
});

t.test('run without a pid namespace (nsexec execs init itself) and --keep', async (t) => {
  const b = bundle(['sh', '-c', 'echo pid=$$; exit 5'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid');
  });
  const r = await tsr(root, ['run', '--keep', '-b', b.dir, 'nopid']);
  t.equal(r.exitCode, 5, String(r.stderr));
  t.notMatch(String(r.stdout), /^pid=1$/m, 'shares the host pid namespace');
  t.equal((await state(root, 'nopid')).status, 'stopped', '--keep leaves a stopped container');
  t.equal((await tsr(root, ['delete', 'nopid'])).exitCode, 0);
  t.same(leftovers(root, b, 'nopid'), []);
});

t.test('SIGTERM stops a created container (as runc\'s init exits on it)', async (t) => {
  const b = bundle(['sleep', '100']);
  t.equal((await detached(root, ['create', '-b', b.dir, 'term'])).exitCode, 0);
  const st = await state(root, 'term');
  t.equal(st.status, 'created');
  t.equal((await tsr(root, ['kill', 'term', 'TERM'])).exitCode, 0);
  t.ok(await until(async () => (await state(root, 'term')).status === 'stopped'), 'stopped');
  t.notOk(alive(st.pid));
  t.equal((await tsr(root, ['delete', 'term'])).exitCode, 0);
  t.same(leftovers(root, b, 'term'), []);
});
