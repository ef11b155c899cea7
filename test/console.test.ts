// process.terminal: the pty from the container's devpts, handed to a
// --console-socket receiver as SCM_RIGHTS (what containerd's shim and conmon
// do), /dev/console, the controlling terminal, consoleSize; `run` in the
// foreground relaying its own terminal; and the two usage errors.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { writeConsoleReceiver } from './helpers/console-receiver.js';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';

const RUNC = '/usr/sbin/runc';
const root = makeRoot();
const runcRoot = makeRoot();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-console-'));
t.teardown(() => {
  for (const d of [root, runcRoot, work]) fs.rmSync(d, { recursive: true, force: true });
});

const hasPython = execaSync('python3', ['-c', 'import socket; socket.recv_fds'], { reject: false }).exitCode === 0;

const RECEIVER = writeConsoleReceiver(work);

let seq = 0;
const newId = (): string => `tsr-console-${process.pid}-${++seq}`;

function bundle(t: any, edit?: (c: Record<string, any>) => void): Bundle {
  const b = makeBundle((c) => {
    c.process.terminal = true;
    c.process.args = ['sh'];
    edit?.(c);
  });
  t.teardown(() => b.remove());
  return b;
}

/** Wrapped: an async function returning the subprocess (a thenable) would wait for its end. */
async function receiver(sock: string, input: string): Promise<{ p: ResultPromise }> {
  const p = execa('python3', [RECEIVER, sock, input], { reject: false, timeout: 30_000 });
  // Wait until it listens.
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  return { p };
}

/** create with --console-socket, start, and what the receiver saw. */
async function viaSocket(t: any, bin: string, b: Bundle, input: string): Promise<{ name: string; fds: number; out: string; create: number | undefined }> {
  const id = newId();
  const r = bin === RUNC ? runcRoot : root;
  const sock = path.join(work, `${id}.sock`);
  const { p: rx } = await receiver(sock, input);
  const fd = fs.openSync(path.join(work, `${id}.err`), 'w+');
  const opts: Record<string, unknown> = { reject: false, stdio: ['ignore', fd, fd] };
  const c = await execa(bin, ['--root', r, 'create', '-b', b.dir, '--console-socket', sock, id], opts);
  fs.closeSync(fd);
  t.teardown(() => execa(bin, ['--root', r, 'delete', '-f', id], { reject: false }));
  if (c.exitCode !== 0) {
    rx.kill();
    return { name: '', fds: 0, out: fs.readFileSync(path.join(work, `${id}.err`), 'utf8'), create: c.exitCode };
  }
  await execa(bin, ['--root', r, 'start', id], { reject: false, stdin: 'ignore' });
  const res = await rx;
  const last = String(res.stdout).split('\n').filter(Boolean).at(-1)!;
  return { ...JSON.parse(last), create: c.exitCode };
}

const PROBE =
  'tty; stty size; [ /dev/console -ef "$(tty)" ] && echo console-is-the-pty; ' +
  'echo ctty=$(cut -d" " -f7 /proc/self/stat) sid=$(cut -d" " -f6 /proc/self/stat); for f in 0 1 2; do readlink /proc/$$/fd/$f; done; exit\n';

t.test('--console-socket: the master arrives with SCM_RIGHTS and drives the container\'s shell', { skip: !hasPython && 'python3 with socket.recv_fds is needed for the receiver' }, async (t) => {
  const b = bundle(t, (c) => (c.process.consoleSize = { height: 30, width: 100 }));
  const r = await viaSocket(t, TSRUNC_BIN, b, PROBE);
  t.equal(r.create, 0, r.out);
  t.equal(r.fds, 1, 'one fd received');
  t.match(r.name, /^\/dev\/pts\/\d+$/, 'payload: the pty name');
  const out = r.out.replace(/\r/g, '');
  t.match(out, new RegExp(`\\n${r.name}\\n`), '`tty` names the container\'s pty');
  t.match(out, /\n30 100\n/, 'consoleSize applied');
  t.match(out, /console-is-the-pty/, '/dev/console is a bind of the pty');
  const m = /ctty=(\d+) sid=(\d+)/.exec(out);
  t.ok(m && Number(m[1]) === (136 << 8) + Number(r.name.split('/').at(-1)), `controlling terminal is the pty (${m?.[1]})`);
  t.match(out, new RegExp(`${r.name}\\n${r.name}\\n${r.name}\\n`), 'stdin, stdout, stderr are the pty');
});

t.test('the same bundle under runc: same tty, size and /dev/console', { skip: !hasPython && 'python3 with socket.recv_fds is needed for the receiver' }, async (t) => {
  const b = bundle(t, (c) => (c.process.consoleSize = { height: 30, width: 100 }));
  const ours = await viaSocket(t, TSRUNC_BIN, b, PROBE);
  const theirs = await viaSocket(t, RUNC, b, PROBE);
  const norm = (s: string): string => s.replace(/\r/g, '').replace(/sid=\d+/, 'sid=N').split('\n').slice(-8).join('\n');
  t.equal(norm(ours.out), norm(theirs.out), 'what the shell prints');
});

t.test('terminal without a console socket, or a socket without a terminal: runc\'s errors, nothing left', async (t) => {
  const b = bundle(t);
  const id = newId();
  const c = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, id], { reject: false, stdin: 'ignore' });
  t.not(c.exitCode, 0);
  t.match(String(c.stderr), /cannot allocate tty if tsrunc will detach without setting console socket/);
  const d = await execa(TSRUNC_BIN, ['--root', root, 'run', '-d', '-b', b.dir, id], { reject: false, stdin: 'ignore' });
  t.match(String(d.stderr), /cannot allocate tty if tsrunc will detach without setting console socket/, 'run -d too');
  const nt = makeBundle(undefined, ['true']);
  t.teardown(() => nt.remove());
  const e = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', nt.dir, '--console-socket', path.join(work, 'x.sock'), id], { reject: false, stdin: 'ignore' });
  t.not(e.exitCode, 0);
  t.match(String(e.stderr), /cannot use console socket if tsrunc will not detach or allocate tty/);
  const f = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, '--console-socket', path.join(work, 'nobody-listens.sock'), id], { reject: false, stdin: 'ignore' });
  t.not(f.exitCode, 0);
  t.match(String(f.stderr), /failed to connect to console socket/);
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
});

t.test('run in the foreground relays its own terminal and restores its mode', { skip: !fs.existsSync('/usr/bin/script') && 'script(1) is needed for a terminal' }, async (t) => {
  const b = bundle(t, (c) => (c.process.args = ['sh', '-c', 'tty; stty size; [ /dev/console -ef "$(tty)" ] && echo console-ok; exit 7']));
  const id = newId();
  const cmd = `stty rows 22 cols 77; before=$(stty -g); ${TSRUNC_BIN} --root ${root} run -b ${b.dir} ${id}; echo rc=$?; [ "$before" = "$(stty -g)" ] && echo mode-restored`;
  const r = await execa('script', ['-qec', cmd, '/dev/null'], { reject: false, stdin: 'ignore', timeout: 30_000 });
  // The pty echoes a stray NUL byte of input as "^@" now and then (seen
  // under script(1) with no stdin); the relay of input is not what this checks.
  const out = String(r.stdout).replace(/\r/g, '').replace(/\^@/g, '');
  t.match(out, /\/dev\/pts\/\d+\n22 77\nconsole-ok\n/, 'the container\'s pty, with our window size');
  t.match(out, /rc=7/, 'exit code of the program');
  t.match(out, /mode-restored/, 'terminal mode restored');
  t.notOk(fs.existsSync(path.join(root, id)), 'deleted after the run');
});

t.test('run in the foreground relays typed input to the container\'s shell', { skip: !fs.existsSync('/usr/bin/script') && 'script(1) is needed for a terminal' }, async (t) => {
  const b = bundle(t);
  const id = newId();
  // script copies its stdin into the terminal tsrunc reads (raw) and relays to the container's pty.
  const feed = `sleep 1; printf 'echo in-$((6*7))\\nexit 3\\n'; sleep 2`;
  const r = await execa('sh', ['-c', `(${feed}) | script -qec "${TSRUNC_BIN} --root ${root} run -b ${b.dir} ${id}; echo rc=\\$?" /dev/null`], { reject: false, stdin: 'ignore', timeout: 30_000 });
  const out = String(r.stdout).replace(/\r/g, '');
  t.match(out, /\nin-42\n/, 'the shell got the typed line and its output came back');
  t.match(out, /rc=3/, 'exit code of the shell');
  t.notOk(fs.existsSync(path.join(root, id)), 'deleted after the run');
});
