// The state store and status derivation, in-process and across processes.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import { REPO_ROOT } from './helpers/run.js';
import { makeRoot } from './helpers/bundle.js';

// src/sys/ffi.ts loads koffi with a bare require(); under tap's ESM loader
// there is none, so give it one, and point it at the built dist/.
(globalThis as { require?: NodeJS.Require }).require ??= createRequire(import.meta.url);
process.env.TSRUNC_LIBDIR ??= path.join(REPO_ROOT, 'dist');

const { openStore, STATE_FILE } = await import('../src/state/store.js');
const { validateId } = await import('../src/state/id.js');
const { liveStatus, readProcStat, readStartTime } = await import('../src/state/status.js');
const { MSG } = await import('../src/errors.js');
type ContainerRecord = import('../src/state/types.js').ContainerRecord;

const NODE = process.execPath;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-test-state-'));
const children: ChildProcess[] = [];
t.teardown(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(scratch, { recursive: true, force: true });
});

function record(id: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ociVersion: '1.3.0',
    id,
    status: 'created',
    pid: 0,
    pidStartTime: '',
    bundle: '/nonexistent/bundle',
    rootfs: '/nonexistent/bundle/rootfs',
    created: new Date().toISOString(),
    owner: 'root',
    internal: {},
    ...over,
  };
}

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** A pid that is not running (a child that has exited and been reaped). */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(r.stdout).trim());
}

// A small script run in child processes with the store bundled in (the
// children must not depend on tap's loader).
const childScript = path.join(scratch, 'child.cjs');
t.before(async () => {
  const entry = path.join(scratch, 'child.ts');
  fs.writeFileSync(
    entry,
    `
import { openStore } from ${JSON.stringify(path.join(REPO_ROOT, 'src/state/store.ts'))};
const [op, root, id, ms] = process.argv.slice(2);
const store = openStore(root);
const rec = { ociVersion: '1.3.0', id, status: 'created', pid: 0, pidStartTime: '', bundle: '/b', rootfs: '/b/rootfs',
  created: new Date().toISOString(), owner: 'root', internal: { writer: process.pid } };
const sleep = (n) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n);
try {
  if (op === 'create') {
    // Start all racers at once: wait for the go file.
    while (!require('fs').existsSync(ms)) sleep(2);
    const h = store.create(id, rec);
    process.stdout.write('won\\n');
    h.release();
  } else if (op === 'hold') {
    const h = store.open(id);
    process.stdout.write('locked\\n');
    sleep(Number(ms));
    h.release();
  } else if (op === 'hold-remove') {
    const h = store.open(id);
    process.stdout.write('locked\\n');
    sleep(Number(ms));
    h.remove();
  }
} catch (e) {
  process.stdout.write('error: ' + e.message + '\\n');
}
`,
  );
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: childScript,
    external: ['*.node'],
    logLevel: 'error',
  });
});

function startChild(args: string[]): { child: ChildProcess; firstLine: Promise<string>; done: Promise<string> } {
  const child = spawn(NODE, [childScript, ...args], { env: { ...process.env, TSRUNC_LIBDIR: process.env.TSRUNC_LIBDIR } });
  children.push(child);
  let outText = '';
  let resolveFirst: (s: string) => void;
  const firstLine = new Promise<string>((r) => (resolveFirst = r));
  child.stdout!.on('data', (d) => {
    outText += d;
    if (outText.includes('\n')) resolveFirst(outText.split('\n')[0]!);
  });
  const done = new Promise<string>((r) => child.on('close', () => { resolveFirst(outText.split('\n')[0]!); r(outText.trim()); }));
  return { child, firstLine, done };
}

t.test('container id validation', async (t) => {
  for (const ok of ['a', 'abc-DEF_1.2+3', 'x'.repeat(255), '.a', 'a..b']) t.doesNotThrow(() => validateId(ok), ok);
  for (const bad of ['', '.', '..', 'a/b', 'a b', 'ä', 'a\nb', 'x'.repeat(256), '../x']) {
    t.throws(() => validateId(bad), /invalid container id/, JSON.stringify(bad));
  }
  t.throws(() => validateId('a/b'), /"a\/b"/, 'the error names the id');
});

t.test('/proc/<pid>/stat parsing', async (t) => {
  const self = readProcStat(process.pid)!;
  t.ok(self, 'own stat');
  t.match(self.startTime, /^\d+$/);
  t.equal(readStartTime(process.pid), self.startTime);
  t.equal(readProcStat(deadPid()), undefined, 'dead pid');
  t.equal(readProcStat(0), undefined);
  t.equal(readProcStat(-1), undefined);

  // A comm with spaces and parentheses must not shift the fields.
  const weird = path.join(scratch, 'a) b (c');
  fs.copyFileSync('/bin/sleep', weird);
  fs.chmodSync(weird, 0o755);
  const c = spawn(weird, ['300'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => setTimeout(r, 100));
  const raw = fs.readFileSync(`/proc/${c.pid}/stat`, 'latin1');
  t.match(raw, /\(a\) b \(c\)/, 'comm really has the tricky characters');
  const st = readProcStat(c.pid!)!;
  t.equal(st.state, 'S');
  // starttime is in clock ticks since boot (USER_HZ = 100 on Linux): it must be about now.
  const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  t.ok(Math.abs(Number(st.startTime) / 100 - uptime) < 30, `starttime ${st.startTime} vs uptime ${uptime}`);
  c.kill('SIGKILL');
});

t.test('status derivation', async (t) => {
  const c = sleeper();
  await new Promise((r) => setTimeout(r, 50));
  const pid = c.pid!;
  const start = readStartTime(pid)!;
  t.equal(liveStatus(record('a', { pid, pidStartTime: start })), 'created', 'alive, not started');
  t.equal(liveStatus(record('a', { pid, pidStartTime: start, status: 'running', internal: { started: true } })), 'running');
  const fifo = path.join(scratch, 'exec.fifo');
  fs.writeFileSync(fifo, '');
  t.equal(liveStatus(record('a', { pid, pidStartTime: start, internal: { execFifo: fifo } })), 'created', 'exec fifo present');
  t.equal(liveStatus(record('a', { pid, pidStartTime: start, internal: { execFifo: fifo + '.gone' } })), 'running', 'exec fifo consumed');
  t.equal(liveStatus(record('a', { pid, pidStartTime: start, status: 'paused', internal: { started: true } })), 'paused');
  t.equal(liveStatus(record('a', { pid, pidStartTime: String(Number(start) + 1) })), 'stopped', 'recycled pid (start time differs)');
  t.equal(liveStatus(record('a', { pid, pidStartTime: '' })), 'stopped', 'no start time recorded');
  t.equal(liveStatus(record('a', { pid: deadPid(), pidStartTime: start, internal: { started: true } })), 'stopped', 'dead pid');
  t.equal(liveStatus(record('a', { pid: 0 })), 'stopped', 'never had a pid');
  t.equal(liveStatus(record('a', { pid, pidStartTime: start, status: 'stopped' })), 'stopped', 'recorded stopped');

  const me = readStartTime(process.pid)!;
  t.equal(liveStatus(record('a', { status: 'creating', internal: { creatorPid: process.pid, creatorStartTime: me } })), 'creating');
  t.equal(liveStatus(record('a', { status: 'creating', internal: { creatorPid: process.pid } })), 'creating', 'no creator start time');
  t.equal(liveStatus(record('a', { status: 'creating', internal: { creatorPid: deadPid() } })), 'stopped', 'creator died');
  t.equal(
    liveStatus(record('a', { status: 'creating', internal: { creatorPid: process.pid, creatorStartTime: '1' } })),
    'stopped',
    'creator pid recycled',
  );

  // A zombie (exited, not reaped by its parent) is stopped.
  const z = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(z);
  const zpid = Number((await new Promise<string>((r) => z.stdout!.once('data', (d) => r(String(d))))).trim());
  let zst = readProcStat(zpid);
  for (let i = 0; i < 50 && zst?.state !== 'Z'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    zst = readProcStat(zpid);
  }
  t.equal(zst?.state, 'Z', 'child became a zombie');
  t.equal(liveStatus(record('z', { pid: zpid, pidStartTime: zst!.startTime, internal: { started: true } })), 'stopped', 'zombie');
  c.kill('SIGKILL');
});

t.test('store: create, read, write, list, remove', async (t) => {
  const root = path.join(makeRoot(), 'nested', 'root');
  t.teardown(() => fs.rmSync(path.dirname(path.dirname(root)), { recursive: true, force: true }));
  const store = openStore(root);
  t.same(store.list(), [], 'missing root lists nothing');
  t.throws(() => store.read('nope'), { message: MSG.notExist });
  t.throws(() => store.open('nope'), { message: MSG.notExist });
  t.throws(() => store.create('bad/id', record('bad/id')), /invalid container id/);

  const h = store.create('c1', record('c1', { annotations: { a: 'b' } }));
  t.equal(fs.statSync(root).mode & 0o777, 0o700, 'root dir 0700');
  t.equal(fs.statSync(h.dir).mode & 0o777, 0o700, 'container dir 0700');
  t.equal(h.dir, path.join(root, 'c1'));
  t.equal(h.read().id, 'c1');
  t.same(h.read().annotations, { a: 'b' });
  t.throws(() => store.create('c1', record('c1')), { message: MSG.exists }, 'second create fails');
  h.write({ ...h.read(), status: 'running', pid: 42 });
  t.equal(store.read('c1').pid, 42, 'lock-free read sees the write');
  t.same(fs.readdirSync(h.dir), [STATE_FILE], 'no temp files left by writes');
  h.release();
  h.release(); // idempotent
  t.throws(() => h.read(), /released/);

  store.create('c0', record('c0')).release();
  store.create('.dot', record('.dot')).release();
  fs.mkdirSync(path.join(root, 'new@leftover'));
  fs.mkdirSync(path.join(root, 'junk')); // no state.json
  const errors: string[] = [];
  t.same(
    store.list((id) => errors.push(id)).map((r) => r.id),
    ['.dot', 'c0', 'c1'],
    'sorted, dot ids included, temp dirs and broken entries skipped',
  );
  t.same(errors, ['junk']);
  fs.rmdirSync(path.join(root, 'new@leftover'));
  store.open('.dot').remove();
  fs.rmdirSync(path.join(root, 'junk'));

  const h2 = store.open('c1');
  t.equal(h2.read().status, 'running');
  h2.remove();
  t.notOk(fs.existsSync(path.join(root, 'c1')), 'removed');
  t.throws(() => store.open('c1'), { message: MSG.notExist });
  t.same(fs.readdirSync(root), ['c0'], 'no tombstones left');
  // The id is free again.
  store.create('c1', record('c1')).remove();
  store.open('c0').remove();
  t.same(fs.readdirSync(root), []);
});

t.test('store: corrupt state file is a clear error', async (t) => {
  const root = makeRoot();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'x'));
  fs.writeFileSync(path.join(root, 'x', STATE_FILE), '{nope');
  t.throws(() => openStore(root).read('x'), /corrupt state file .*x\/state.json/);
});

t.test('store: concurrent creates of one id, exactly one wins', async (t) => {
  const root = makeRoot();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const go = path.join(scratch, `go-${Date.now()}`);
  const racers = Array.from({ length: 12 }, () => startChild(['create', root, 'race', go]));
  await new Promise((r) => setTimeout(r, 300));
  fs.writeFileSync(go, '');
  const results = await Promise.all(racers.map((r) => r.done));
  t.equal(results.filter((r) => r === 'won').length, 1, 'one winner');
  t.same(
    results.filter((r) => r !== 'won'),
    Array(11).fill(`error: ${MSG.exists}`),
    'every loser fails with the runc wording',
  );
  t.same(fs.readdirSync(root), ['race'], 'nothing but the winner left in the root');
  t.same(fs.readdirSync(path.join(root, 'race')), [STATE_FILE]);
  t.equal(openStore(root).read('race').id, 'race');
});

t.test('store: open waits for the lock; a removal while waiting reads as gone', async (t) => {
  const root = makeRoot();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const store = openStore(root);
  store.create('w', record('w')).release();

  const holder = startChild(['hold', root, 'w', '400']);
  t.equal(await holder.firstLine, 'locked');
  t.throws(() => store.open('w', { wait: false }), /busy/, 'non-blocking open fails while held');
  const t0 = Date.now();
  const h = store.open('w');
  t.ok(Date.now() - t0 >= 250, `blocked until the holder released (${Date.now() - t0} ms)`);
  h.release();
  await holder.done;

  const remover = startChild(['hold-remove', root, 'w', '300']);
  t.equal(await remover.firstLine, 'locked');
  t.throws(() => store.open('w'), { message: MSG.notExist }, 'waiter sees the container gone');
  await remover.done;
  t.same(fs.readdirSync(root), []);
});
