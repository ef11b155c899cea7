// `exec`: a new process in a running container, in the shapes containerd's
// shim and conmon send (process.json, --detach, --pid-file, console socket),
// in the foreground (stdio, exit codes), differential against runc for what
// the process sees, runc's errors, and the attacks exec is known for: a host
// fd reaching the process (CVE-2024-21626), a cwd leading out of the
// container, a container process opening a tsrunc helper's /proc/<pid>/exe.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN, tsrunc } from './helpers/run.js';
import { writeConsoleReceiver } from './helpers/console-receiver.js';

const RUNC = '/usr/sbin/runc';
const hasRunc = fs.existsSync(RUNC);
const root = makeRoot();
const runcRoot = makeRoot();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-exec-'));
t.teardown(() => {
  for (const d of [root, runcRoot, work]) fs.rmSync(d, { recursive: true, force: true });
});
const hasPython = execaSync('python3', ['-c', 'import socket; socket.recv_fds'], { reject: false }).exitCode === 0;

let seq = 0;
const newId = (): string => `tsr-exec-${process.pid}-${++seq}`;
const tsr = (args: string[], opts = {}) => tsrunc(['--root', root, ...args], opts);
const runc = (args: string[], opts = {}) => execa(RUNC, ['--root', runcRoot, ...args], { reject: false, stdin: 'ignore', ...opts });

function bundle(t: any, edit?: (c: Record<string, any>) => void): Bundle {
  const b = makeBundle(edit, ['sleep', '1000']);
  t.teardown(() => b.remove());
  return b;
}

/** A running tsrunc container (sleep 1000), deleted at the end of the test. */
async function running(t: any, edit?: (c: Record<string, any>) => void): Promise<{ id: string; b: Bundle; pid: number }> {
  const b = bundle(t, edit);
  // A user-namespaced container's root must be able to reach its rootfs.
  fs.chmodSync(b.dir, 0o755);
  const id = newId();
  t.teardown(() => tsr(['delete', '-f', id]));
  const r = await detached([TSRUNC_BIN, '--root', root, 'run', '-d', '-b', b.dir, id]);
  if (r.exitCode !== 0) throw new Error(`run -d: ${r.stderr}`);
  const st = JSON.parse(String((await tsr(['state', id])).stdout));
  return { id, b, pid: st.pid };
}

async function runcRunning(t: any, b: Bundle): Promise<string> {
  const id = newId();
  t.teardown(() => runc(['delete', '-f', id]));
  const r = await detached([RUNC, '--root', runcRoot, 'run', '-d', '-b', b.dir, id]);
  if (r.exitCode !== 0) throw new Error(`runc run -d: ${r.stderr}`);
  return id;
}

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(st);
  } catch {
    return false;
  }
}

const ns = (pid: number, type: string): string => fs.readlinkSync(`/proc/${pid}/ns/${type}`);

/**
 * For calls that leave a process running (run -d, exec -d): it inherits
 * stdout/stderr, so pipes would never see EOF. Both go to a file instead.
 */
async function detached(args: string[]): Promise<{ exitCode: number | undefined; stderr: string }> {
  const f = path.join(work, `out.${++seq}`);
  const fd = fs.openSync(f, 'w+');
  try {
    // execa's types want fd numbers wrapped; a plain number is what it accepts at runtime (as console.test.ts).
    const opts: Record<string, unknown> = { reject: false, stdio: ['ignore', fd, fd] };
    const r = await execa(args[0]!, args.slice(1), opts);
    return { exitCode: r.exitCode, stderr: fs.readFileSync(f, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

t.test('foreground: stdout/stderr passed through, exit codes 0, 3 and 137 (128+SIGKILL)', async (t) => {
  const c = await running(t);
  const a = await tsr(['exec', c.id, 'sh', '-c', 'echo out; echo err >&2']);
  t.equal(a.exitCode, 0);
  t.equal(a.stdout, 'out');
  t.equal(a.stderr, 'err');
  t.equal((await tsr(['exec', c.id, 'sh', '-c', 'exit 3'])).exitCode, 3);
  t.equal((await tsr(['exec', c.id, 'sh', '-c', 'kill -9 $$'])).exitCode, 137);
  const input = await execa(TSRUNC_BIN, ['--root', root, 'exec', c.id, 'cat'], { reject: false, input: 'piped stdin\n' });
  t.equal(input.stdout, 'piped stdin', 'stdin passed through');
});

t.test('the process is in every namespace and the cgroup of the container', async (t) => {
  const c = await running(t);
  const r = await tsr(['exec', c.id, 'sh', '-c', 'hostname; echo $$; cat /proc/self/cgroup | sort']);
  t.equal(r.exitCode, 0, String(r.stderr));
  const [host, pid] = String(r.stdout).split('\n');
  t.equal(host, 'runc', 'uts');
  t.ok(Number(pid) > 1, `a pid of the container's pid namespace (${pid})`);
  const pidFile = path.join(work, `${c.id}.pid`);
  const d = await detached([TSRUNC_BIN, '--root', root, 'exec', '-d', '--pid-file', pidFile, c.id, 'sleep', '100']);
  t.equal(d.exitCode, 0, String(d.stderr));
  const p = Number(fs.readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  });
  for (const type of ['pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup']) t.equal(ns(p, type), ns(c.pid, type), `${type} namespace`);
  t.equal(fs.readFileSync(`/proc/${p}/cgroup`, 'utf8'), fs.readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), 'same cgroups');
  t.equal(fs.readlinkSync(`/proc/${p}/root`), '/', 'root is the container\'s');
  t.equal(fs.readFileSync(`/proc/${p}/root/bin/busybox`).length, fs.statSync(path.join(c.b.rootfs, 'bin/busybox')).size, 'sees the container\'s rootfs');
});

t.test('containerd shim and conmon shapes: process.json, --detach, --pid-file; the process outlives exec', async (t) => {
  const c = await running(t);
  const proc = { args: ['sleep', '100'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 }, terminal: false };
  const pj = path.join(work, `${c.id}.process.json`);
  fs.writeFileSync(pj, JSON.stringify(proc));
  const log = path.join(work, `${c.id}.log`);
  const shapes: [string, string[]][] = [
    ['containerd', ['--root', root, '--log', log, '--log-format', 'json', 'exec', '--process', pj, '--detach', '--pid-file', path.join(work, 'shim.pid'), c.id]],
    ['conmon', ['--root', root, 'exec', '--pid-file', path.join(work, 'conmon.pid'), '--process', pj, '--detach', c.id]],
  ];
  for (const [name, argv] of shapes) {
    const r = await detached([TSRUNC_BIN, ...argv]);
    t.equal(r.exitCode, 0, `${name}: ${r.stderr}`);
    const file = argv[argv.indexOf('--pid-file') + 1]!;
    const pid = Number(fs.readFileSync(file, 'utf8'));
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    });
    t.ok(alive(pid), `${name}: the pid in the file is alive after exec returned`);
    t.equal(ns(pid, 'pid'), ns(c.pid, 'pid'), `${name}: in the container's pid namespace`);
    t.equal(ns(pid, 'mnt'), ns(c.pid, 'mnt'), `${name}: in the container's mount namespace`);
    t.equal(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x00100\x00', `${name}: runs the process.json's args`);
    t.same(fs.readdirSync(work).filter((f) => f.startsWith(`.${path.basename(file)}`)), [], `${name}: no temp pid file left`);
  }
});

t.test('many concurrent execs into one container', async (t) => {
  const c = await running(t);
  const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => tsr(['exec', c.id, 'sh', '-c', `echo ${i}; exit ${i}`])));
  rs.forEach((r, i) => {
    t.equal(r.exitCode, i, `exec ${i}: ${r.stderr}`);
    t.equal(r.stdout, String(i));
  });
});

t.test('env, user, groups, caps, cwd as seen inside: same as runc exec on the same bundle', { skip: !hasRunc && 'runc is not installed' }, async (t) => {
  const c = await running(t);
  const rid = await runcRunning(t, c.b);
  const cases: string[][] = [
    ['sh', '-c', 'id; grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; pwd; env | grep -v ^HOSTNAME= | sort; ulimit -n'],
    ['-u', '65534:65534', '-g', '10', '-g', '20', 'sh', '-c', 'id; grep ^Cap /proc/self/status; env | sort | grep -v ^HOSTNAME='],
    ['-e', 'FOO=bar', '-e', 'PATH=/bin', '--cwd', '/tmp', 'sh', '-c', 'echo $FOO $PATH; pwd'],
    ['--cap', 'CAP_SYS_ADMIN', 'sh', '-c', 'grep ^Cap /proc/self/status'],
    ['--no-new-privs', 'sh', '-c', 'grep NoNewPrivs /proc/self/status'],
  ];
  for (const args of cases) {
    const ours = await tsr(['exec', ...args.slice(0, -3), c.id, ...args.slice(-3)]);
    const theirs = await runc(['exec', ...args.slice(0, -3), rid, ...args.slice(-3)]);
    t.equal(ours.exitCode, 0, String(ours.stderr));
    t.equal(ours.stdout, theirs.stdout, `exec ${args.slice(0, -3).join(' ') || '(defaults)'}`);
  }
});

t.test('errors: unknown, stopped, not found, malformed process.json, bad cwd: runc\'s wordings and status 255', async (t) => {
  const unknown = await tsr(['exec', 'nosuch-container', 'true']);
  t.equal(unknown.exitCode, 255);
  t.match(unknown.stderr, /exec failed: container does not exist/);

  const c = await running(t);
  const nf = await tsr(['exec', c.id, 'nosuch']);
  t.equal(nf.exitCode, 255);
  t.match(nf.stderr, /exec failed: unable to start container process: exec: "nosuch": executable file not found in \$PATH/);

  const cwd = await tsr(['exec', '--cwd', '/nonexistent', c.id, 'true']);
  t.equal(cwd.exitCode, 255);
  t.match(cwd.stderr, /chdir to cwd \("\/nonexistent"\) set in config.json failed: no such file or directory/);

  const bad = path.join(work, `${c.id}.bad.json`);
  fs.writeFileSync(bad, JSON.stringify({ args: 'sh', cwd: '/' }));
  const m = await tsr(['exec', '--process', bad, c.id]);
  t.equal(m.exitCode, 255);
  t.match(m.stderr, /invalid process .*\/args/, 'names the field');
  fs.writeFileSync(bad, '{');
  t.match((await tsr(['exec', '-p', bad, c.id])).stderr, /unable to load process/);
  t.match((await tsr(['exec', c.id])).stderr, /exec args cannot be empty/);

  t.equal((await tsr(['kill', c.id, 'KILL'])).exitCode, 0);
  for (let i = 0; i < 100 && alive(c.pid); i++) await new Promise((r) => setTimeout(r, 20));
  const st = await tsr(['exec', c.id, 'true']);
  t.equal(st.exitCode, 255);
  t.match(st.stderr, /exec failed: cannot exec in a stopped container/);
});

t.test('paused: refused unless --ignore-paused', async (t) => {
  const c = await running(t);
  const p = await tsr(['pause', c.id]);
  if (p.exitCode !== 0) return t.plan(0, `pause does not work on this host: ${p.stderr}`);
  t.teardown(() => tsr(['resume', c.id]));
  const r = await tsr(['exec', c.id, 'true']);
  t.equal(r.exitCode, 255);
  t.match(r.stderr, /cannot exec in a paused container \(use --ignore-paused to override\)/);
});

t.test('tty through a console socket (conmon/containerd shape)', { skip: !hasPython && 'python3 with socket.recv_fds is needed' }, async (t) => {
  const c = await running(t);
  const rx = writeConsoleReceiver(work);
  const sock = path.join(work, `${c.id}.sock`);
  const p: ResultPromise = execa('python3', [rx, sock, 'tty; echo sid=$(cut -d" " -f6 /proc/self/stat) pid=$$; exit\n'], { reject: false, timeout: 30_000 });
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  const pidFile = path.join(work, `${c.id}.tty.pid`);
  const e = await detached([TSRUNC_BIN, '--root', root, 'exec', '--pid-file', pidFile, '--tty', '--console-socket', sock, '--detach', c.id, 'sh']);
  t.equal(e.exitCode, 0, String(e.stderr));
  const res = await p;
  const got = JSON.parse(String(res.stdout).split('\n').filter(Boolean).at(-1)!);
  t.match(got.name, /^\/dev\/pts\/\d+$/);
  const out = String(got.out).replace(/\r/g, '');
  t.match(out, new RegExp(`\\n${got.name}\\n`), 'the shell\'s tty is the pty from the container\'s devpts');
  const m = /sid=(\d+) pid=(\d+)/.exec(out);
  t.ok(m && m[1] === m[2], 'a session leader (its own controlling terminal)');
  t.match((await tsr(['exec', '-t', '-d', c.id, 'sh'])).stderr, /cannot allocate tty if tsrunc will detach without setting console socket/);
});

t.test('attack: no fd of tsrunc reaches the process (CVE-2024-21626); --preserve-fds passes exactly N', async (t) => {
  const c = await running(t);
  // `; true`: busybox sh would exec the last command itself, and ls's own directory fd would show.
  const r = await tsr(['exec', c.id, 'sh', '-c', 'ls /proc/$$/fd; true']);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.same(String(r.stdout).split('\n').sort(), ['0', '1', '2'], 'only stdio');
  const f = path.join(work, 'extra');
  fs.writeFileSync(f, 'preserved');
  const fd = fs.openSync(f, 'r');
  t.teardown(() => fs.closeSync(fd));
  const opts: Record<string, unknown> = { reject: false, stdio: ['ignore', 'pipe', 'pipe', fd] };
  const p = await execa(TSRUNC_BIN, ['--root', root, 'exec', '--preserve-fds', '1', c.id, 'sh', '-c', 'ls /proc/$$/fd; cat <&3; true'], opts);
  t.equal(p.exitCode, 0, String(p.stderr));
  t.same(String(p.stdout).split('\n'), ['0', '1', '2', '3', 'preserved'], 'fd 3 (the caller\'s file) and nothing else');
});

t.test('attack: a cwd cannot lead out of the container', async (t) => {
  const c = await running(t);
  for (const cwd of ['/proc/self/fd/3', '/proc/self/fd/4', '/proc/self/cwd', '/proc/1/root']) {
    const r = await tsr(['exec', '--cwd', cwd, c.id, 'pwd']);
    t.equal(r.exitCode, 255, `--cwd ${cwd} refused`);
    t.match(r.stderr, /chdir to cwd/);
  }
  fs.symlinkSync('../../../../../../../../', path.join(c.b.rootfs, 'tmp', 'up'));
  const up = await tsr(['exec', '--cwd', '/tmp/up', c.id, 'sh', '-c', 'pwd; ls /bin/busybox']);
  t.equal(up.exitCode, 0, String(up.stderr));
  t.match(up.stdout, /\/bin\/busybox/, 'a symlink up resolves to the container\'s root');
  const dotdot = await tsr(['exec', '--cwd', '/../../..', c.id, 'ls', 'bin/busybox']);
  t.equal(dotdot.exitCode, 0, '".." stops at the container\'s root');
});

t.test('attack: a container process cannot open a tsrunc helper\'s /proc/<pid>/exe while execs are set up', async (t) => {
  // The container's own process scans /proc for anything that is not busybox
  // (the exec helper and Node-init while they set up) and tries to open its exe.
  const c = await running(t, (cfg) => {
    cfg.process.args = [
      'sh',
      '-c',
      'while :; do for p in /proc/[0-9]*; do grep -q init.cjs $p/cmdline 2>/dev/null && echo $p >> /tmp/helpers; e=$(readlink $p/exe 2>/dev/null); case "$e" in ""|/bin/busybox) ;; *) echo "$p $e" >> /tmp/seen; (exec 3<$p/exe) 2>/dev/null && echo "$p $e" >> /tmp/opened;; esac; done; done',
    ];
    cfg.root.readonly = false;
  });
  await Promise.all(Array.from({ length: 6 }, () => tsr(['exec', c.id, 'true'])));
  const read = (f: string): string => {
    try {
      return fs.readFileSync(path.join(c.b.rootfs, 'tmp', f), 'utf8');
    } catch {
      return '';
    }
  };
  t.equal(read('opened'), '', 'no helper exe opened from inside');
  // How often the scanner caught a helper at all (timing-dependent, so not asserted).
  t.comment(`exec helpers seen from inside: ${new Set(read('helpers').split('\n').filter(Boolean)).size}; exe links readable: ${JSON.stringify(read('seen'))}`);
  t.notMatch(read('seen'), /node|tsrunc-nsexec/, 'not even its exe link is readable (non-dumpable)');
});

t.test('a container with its own user namespace: the process is its root, with the container\'s caps', async (t) => {
  const c = await running(t, (cfg) => {
    cfg.linux.namespaces.push({ type: 'user' });
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    // sysfs and the cgroup bind need the host's user namespace.
    cfg.mounts = cfg.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/sys'));
  }).catch((e: Error) => e);
  if (c instanceof Error) return t.plan(0, `a user-namespaced container does not start here: ${c.message}`);
  const r = await tsr(['exec', c.id, 'sh', '-c', 'id; cat /proc/self/uid_map; grep ^CapEff /proc/self/status']);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(r.stdout, /^uid=0\(root\) gid=0\(root\)\n\s+0\s+100000\s+65536\nCapEff:\t0000000020000420$/);
});

t.test('--pidfd-socket: a pidfd of the exec\'d process arrives with SCM_RIGHTS', { skip: !hasPython && 'python3 with socket.recv_fds is needed' }, async (t) => {
  const c = await running(t);
  const rx = path.join(work, 'pidfd-receiver.py');
  fs.writeFileSync(
    rx,
    `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
pid = [l.split()[1] for l in open("/proc/self/fdinfo/%d" % fds[0]) if l.startswith("Pid:")][0]
print(pid, flush=True)
`,
  );
  const sock = path.join(work, `${c.id}.pidfd.sock`);
  const p: ResultPromise = execa('python3', [rx, sock], { reject: false, timeout: 30_000 });
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  const pidFile = path.join(work, `${c.id}.pidfd.pid`);
  const e = await detached([TSRUNC_BIN, '--root', root, 'exec', '-d', '--pid-file', pidFile, '--pidfd-socket', sock, c.id, 'sleep', '100']);
  t.equal(e.exitCode, 0, e.stderr);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  });
  const res = await p;
  t.equal(Number(String(res.stdout).split('\n').filter(Boolean).at(-1)), pid, 'the pidfd refers to the pid in --pid-file');
});

t.test('foreground: signals to tsrunc are forwarded to the process', async (t) => {
  const c = await running(t);
  const p = execa(TSRUNC_BIN, ['--root', root, 'exec', c.id, 'sh', '-c', 'echo up; exec sleep 100'], { reject: false, stdin: 'ignore' });
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  p.kill('SIGTERM');
  const r = await p;
  t.equal(r.exitCode, 143, 'the process died of SIGTERM: 128+15');
});

t.test('--cgroup: the process joins an existing sub-cgroup of the container\'s', async (t) => {
  const c = await running(t);
  const paths = JSON.parse(fs.readFileSync(path.join(root, c.id, 'state.json'), 'utf8')).internal?.cgroupPaths as Record<string, string> | undefined;
  const [ctrl, dir] = paths?.pids ? ['pids', paths.pids] : paths?.unified && Object.keys(paths).length === 1 ? ['', paths.unified] : [];
  if (!dir) return t.plan(0, `no pids (v1) or unified (v2) cgroup recorded: ${JSON.stringify(paths)}`);
  fs.mkdirSync(path.join(dir, 'sub'));
  t.teardown(() => {
    try {
      fs.rmdirSync(path.join(dir, 'sub'));
    } catch {
      // removed with the container's cgroup already
    }
  });
  const spec = ctrl ? `${ctrl}:sub` : 'sub';
  const r = await tsr(['exec', '--cgroup', spec, c.id, 'cat', '/proc/self/cgroup']);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(r.stdout, ctrl ? /^\d+:pids:\/sub$/m : /^0::\/sub$/m, 'in the sub-cgroup (as the cgroup namespace shows it)');
  const bad = await tsr(['exec', '--cgroup', `${ctrl ? `${ctrl}:` : ''}nosuch`, c.id, 'true']);
  t.equal(bad.exitCode, 255);
  t.match(bad.stderr, /failed to join cgroup/);
});
