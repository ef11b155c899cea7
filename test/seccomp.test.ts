// linux.seccomp as the container's program sees it: every action, args,
// architectures, flags, defaultErrnoRet, a docker-like default profile,
// SCMP_ACT_NOTIFY to a listener, and that the runtime's own work is never
// filtered (a profile denying getcwd/mount/unshare still starts).
// Differential against runc 1.1.5 for a couple of cases.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN, REPO_ROOT } from './helpers/run.js';

const RUNC = '/usr/sbin/runc';
const root = makeRoot();
const runcRoot = makeRoot();
t.teardown(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(runcRoot, { recursive: true, force: true });
});

let seq = 0;
const newId = (): string => `tsr-seccomp-${process.pid}-${++seq}`;
const DEFAULT_PROFILE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/seccomp-default.json'), 'utf8'));
const LISTENER = path.join(REPO_ROOT, 'test/fixtures/seccomp-listener.py');

interface Ran {
  code: number | undefined;
  out: string;
  err: string;
}

async function run(b: Bundle, bin = TSRUNC_BIN): Promise<Ran> {
  const id = newId();
  const r = bin === RUNC ? runcRoot : root;
  const res = await execa(bin, ['--root', r, 'run', '-b', b.dir, id], { reject: false, stdin: 'ignore', timeout: 30_000 });
  await execa(bin, ['--root', r, 'delete', '-f', id], { reject: false });
  return { code: res.exitCode, out: String(res.stdout), err: String(res.stderr) };
}

function bundle(t: any, cmd: string, seccomp: Record<string, unknown> | undefined, proc?: Record<string, unknown>): Bundle {
  const b = makeBundle((c) => {
    if (seccomp) c.linux.seccomp = seccomp;
    if (proc) Object.assign(c.process, proc);
    // A writable /tmp to try mkdir on (the root is read-only).
    c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
  }, ['sh', '-c', cmd]);
  t.teardown(() => b.remove());
  return b;
}

const allowBut = (syscalls: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls, ...extra });

t.test('SCMP_ACT_ERRNO with errnoRet: mkdir fails with the chosen errno; Seccomp: 2', async (t) => {
  const r = await run(bundle(t, 'mkdir /tmp/x; echo rc=$?; test -d /tmp/x && echo made; grep ^Seccomp: /proc/self/status', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 122 }])));
  t.equal(r.code, 0, r.err);
  t.match(r.err, /Disk quota exceeded/);
  t.match(r.out, /rc=1/);
  t.notMatch(r.out, /made/);
  t.match(r.out, /Seccomp:\s+2/);
});

t.test('SCMP_ACT_ERRNO without errnoRet is EPERM; other calls unaffected', async (t) => {
  const r = await run(bundle(t, 'mkdir /tmp/x; touch /tmp/f && echo touched', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }])));
  t.equal(r.code, 0, r.err);
  t.match(r.err, /Operation not permitted/);
  t.match(r.out, /touched/);
});

t.test('defaultAction ERRNO with defaultErrnoRet, an allow list', async (t) => {
  const r = await run(bundle(t, 'echo hi; mkdir /tmp/x', { ...DEFAULT_PROFILE, defaultErrnoRet: 95, syscalls: DEFAULT_PROFILE.syscalls.map((s: any) => ({ ...s, names: s.names.filter((n: string) => n !== 'mkdir' && n !== 'mkdirat') })) }));
  t.equal(r.code, 1, r.err);
  t.match(r.out, /hi/);
  t.match(r.err, /Not supported|Operation not supported/);
});

t.test('SCMP_ACT_KILL_PROCESS: SIGSYS, exit 159', async (t) => {
  const r = await run(bundle(t, 'exec mkdir /tmp/x', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }])));
  t.equal(r.code, 159);
});

t.test('SCMP_ACT_KILL / KILL_THREAD kill the (single-threaded) program', async (t) => {
  for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD']) {
    const r = await run(bundle(t, 'mkdir /tmp/x; echo rc=$?', allowBut([{ names: ['mkdir', 'mkdirat'], action }])));
    t.equal(r.code, 0, r.err);
    t.match(r.out, /rc=159/, action);
  }
});

t.test('SCMP_ACT_TRAP: SIGSYS delivered to the caller', async (t) => {
  const r = await run(bundle(t, 'mkdir /tmp/x; echo rc=$?', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_TRAP' }])));
  t.equal(r.code, 0, r.err);
  t.match(r.out, /rc=159/);
});

t.test('SCMP_ACT_LOG and SCMP_ACT_TRACE', async (t) => {
  const r = await run(bundle(t, 'mkdir /tmp/x && echo made', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_LOG' }])));
  t.equal(r.code, 0, r.err);
  t.match(r.out, /made/, 'LOG allows the call');
  // No tracer attached: the kernel fails the call with ENOSYS.
  const tr = await run(bundle(t, 'mkdir /tmp/x; echo rc=$?', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_TRACE' }])));
  t.match(tr.err, /Function not implemented/);
});

t.test('args: kill denied only for one signal (EQ), and a MASKED_EQ range', async (t) => {
  const seccomp = allowBut([
    { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
    // (sig & 0xf0) == 0x10: signals 16..31 (SIGCHLD, 17, is harmless to send to ourselves).
    { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 1, value: 0xf0, valueTwo: 0x10, op: 'SCMP_CMP_MASKED_EQ' }] },
  ]);
  const r = await run(bundle(t, 'kill -0 $$; echo zero=$?; kill -USR1 $$; echo usr1=$?; kill -CHLD $$; echo chld=$?', seccomp));
  t.equal(r.code, 0, r.err);
  t.match(r.out, /zero=0/, 'signal 0 allowed');
  t.match(r.out, /usr1=1/, 'SIGUSR1 refused');
  t.match(r.err, /Permission denied/);
  t.match(r.out, /chld=1/, 'SIGCHLD matched by the mask');
  t.match(r.err, /Invalid argument/);
});

t.test('architectures and every flag accepted', async (t) => {
  const features = JSON.parse(String((await execa(TSRUNC_BIN, ['features'])).stdout)).linux.seccomp;
  // WAIT_KILLABLE_RECV came with Linux 5.19; tsrunc passes the flags to the kernel itself, whatever libseccomp's API level.
  if (Number(os.release().split('.')[0]) >= 6) {
    t.same(features.supportedFlags.slice().sort(), ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], 'features: the kernel takes every flag');
  }
  t.notOk(features.archs.includes('SCMP_ARCH_LOONGARCH64'), 'features: not an arch libseccomp 2.5.4 knows, and create refuses it (below)');
  const r = await run(
    bundle(
      t,
      'mkdir /tmp/x; grep ^Seccomp: /proc/self/status',
      allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }], {
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      }),
    ),
  );
  t.equal(r.code, 0, r.err);
  t.match(r.err, /Operation not permitted/);
  t.match(r.out, /Seccomp:\s+2/);
});

t.test('a profile forbidding getcwd, mount and unshare still starts, and forbids them to the program', async (t) => {
  const seccomp = allowBut([{ names: ['getcwd', 'mount', 'unshare'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }]);
  for (const nnp of [true, false]) {
    const r = await run(bundle(t, 'pwd; echo pwd=$?; unshare -m true; echo u=$?; mount -t tmpfs t /mnt; echo m=$?', seccomp, { noNewPrivileges: nnp, cwd: '/tmp' }));
    t.equal(r.code, 0, `noNewPrivileges ${nnp}: ${r.err}`);
    t.match(r.out, /u=1/);
    t.match(r.out, /m=1/);
    t.notMatch(r.out, /^\/tmp$/m, 'getcwd refused');
  }
});

t.test('noNewPrivileges false with capabilities dropped: the filter is still loaded', async (t) => {
  const r = await run(bundle(t, 'mkdir /tmp/x; grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }]), { noNewPrivileges: false, user: { uid: 1000, gid: 1000 } }));
  t.equal(r.code, 0, r.err);
  t.match(r.out, /NoNewPrivs:\s+0/);
  t.match(r.out, /Seccomp:\s+2/);
  t.match(r.err, /Operation not permitted/);
});

t.test('create + start: the filter is in place for the program, not for the wait in between', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-seccomp-out-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const b = makeBundle((c) => {
    c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    c.linux.seccomp = allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }]);
  }, ['sh', '-c', 'mkdir /out/x 2>/out/err; grep ^Seccomp: /proc/self/status > /out/status']);
  fs.mkdirSync(path.join(b.rootfs, 'out'));
  t.teardown(() => b.remove());
  const id = newId();
  t.teardown(() => execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id], { reject: false }));
  // The container inherits create's stdio: no pipes, or execa would wait for the container to exit.
  const c = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, id], { reject: false, stdio: 'ignore', timeout: 30_000 });
  t.equal(c.exitCode, 0, 'create succeeds');
  const pid = JSON.parse(String((await execa(TSRUNC_BIN, ['--root', root, 'state', id])).stdout)).pid;
  t.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /Seccomp:\s+0/, 'init waits for start unfiltered');
  t.equal((await execa(TSRUNC_BIN, ['--root', root, 'start', id], { reject: false })).exitCode, 0);
  for (let i = 0; i < 200 && !fs.existsSync(path.join(out, 'status')); i++) await new Promise((r) => setTimeout(r, 25));
  t.match(fs.readFileSync(path.join(out, 'err'), 'utf8'), /Permission denied/);
  t.match(fs.readFileSync(path.join(out, 'status'), 'utf8'), /Seccomp:\s+2/);
  t.notOk(fs.existsSync(path.join(out, 'x')));
});

t.test('unknown syscall names are ignored (as runc)', async (t) => {
  const r = await run(bundle(t, 'mkdir /tmp/x', allowBut([{ names: ['no_such_syscall_tsrunc', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }])));
  t.equal(r.code, 1);
  t.match(r.err, /Operation not permitted/);
});

t.test('refused at create with the entry named, nothing left behind', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [allowBut([{ names: ['mkdir'], action: 'SCMP_ACT_FOO' }]), /linux\/seccomp\/syscalls\/0\/action|linux\.seccomp\.syscalls\[0\]\.action/],
    [allowBut([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' }] }]), /linux\/seccomp\/syscalls\/0\/args\/0\/op|syscalls\[0\]\.args\[0\]\.op/],
    [allowBut([], { architectures: ['SCMP_ARCH_FOO'] }), /linux\/seccomp\/architectures\/0|architectures\[0\]/],
    // Known to the spec, unknown to libseccomp 2.5.4.
    [allowBut([], { architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_LOONGARCH64'] }), /^tsrunc: linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_LOONGARCH64"$/m],
    [allowBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }]), /linux\.seccomp\.listenerPath: required|\/linux\/seccomp\/listenerPath: required/],
    [allowBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: '/nonexistent/tsrunc.sock' }), /linux\.seccomp\.listenerPath: .*\/nonexistent\/tsrunc\.sock/],
  ];
  for (const [seccomp, re] of cases) {
    const b = bundle(t, 'true', seccomp);
    const id = newId();
    const r = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, id], { reject: false, stdin: 'ignore', timeout: 30_000 });
    t.not(r.exitCode, 0, 'create fails');
    t.match(String(r.stderr), re);
    t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
    await execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id], { reject: false });
  }
});

// `unshare -U` (a bare user namespace): `-r` also needs writes to uid_map that the baseline's capabilities refuse anyway.
t.test('a docker-like default profile: the shell works, unshare -U is refused', async (t) => {
  const control = await run(bundle(t, 'unshare -U true; echo u=$?', undefined, { noNewPrivileges: false }));
  if (!/u=0/.test(control.out)) {
    t.pass(`the host refuses unshare -U even without seccomp (${control.err.trim()})`, { skip: true });
    return;
  }
  const r = await run(bundle(t, 'ls /bin >/dev/null && echo listed; cat /proc/self/status | grep ^Seccomp:; unshare -U true; echo u=$?', DEFAULT_PROFILE, { noNewPrivileges: false }));
  t.equal(r.code, 0, r.err);
  t.match(r.out, /listed/);
  t.match(r.out, /Seccomp:\s+2/);
  t.match(r.out, /u=1/);
  t.match(r.err, /Operation not permitted/);
});

function startListener(t: any, errno: number): { sock: string; out: string; ready: Promise<void> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-seccomp-l-'));
  const sock = path.join(dir, 'l.sock');
  const out = path.join(dir, 'state.json');
  const p = execa('python3', [LISTENER, sock, out, String(errno)], { reject: false });
  t.teardown(() => {
    p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ready = new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  return { sock, out, ready };
}

t.test('SCMP_ACT_NOTIFY: the fd and the state reach the listener, which answers', async (t) => {
  const l = startListener(t, 122);
  await l.ready;
  const b = bundle(t, 'mkdir /tmp/x; echo rc=$?; mkdir /tmp/y; test -d /tmp/x || echo absent', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: l.sock, listenerMetadata: 'meta-tsrunc' }));
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.match(r.err, /Disk quota exceeded/, 'the listener\'s answer');
  t.match(r.out, /rc=1/);
  t.match(r.out, /absent/);
  const st = JSON.parse(fs.readFileSync(l.out, 'utf8'));
  t.equal(st._nfds, 1, 'one fd as SCM_RIGHTS');
  t.same(st.fds, ['seccompFd']);
  t.equal(st.metadata, 'meta-tsrunc');
  t.match(st.ociVersion, /^1\.\d+\.\d+/);
  t.ok(st.pid > 1, 'host pid');
  t.equal(st.state.pid, st.pid);
  t.match(st.state.id, /^tsr-seccomp-/);
  t.equal(st.state.bundle, b.dir);
  t.ok(st.state.status);
  t.match(fs.readFileSync(`${l.out}.answered`, 'utf8'), /^2 (83|258)/, 'both calls were notified');
});

t.test('SCMP_ACT_NOTIFY: when the listener closes the fd, the call fails with ENOSYS', async (t) => {
  const l = startListener(t, 0);
  await l.ready;
  const r = await run(bundle(t, 'mkdir /tmp/x; echo rc=$?', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: l.sock })));
  t.equal(r.code, 0, r.err);
  t.match(r.err, /Function not implemented/);
  t.ok(fs.existsSync(l.out), 'the listener got the state');
});

t.test('differential against runc 1.1.5', { skip: !fs.existsSync(RUNC) && 'runc not installed' }, async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['mkdir /tmp/x; echo rc=$?; grep ^Seccomp: /proc/self/status', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }], { architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] })],
    ['kill -0 $$; echo zero=$?; kill -USR1 $$; echo usr1=$?', allowBut([{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] }])],
    ['ls /bin >/dev/null; echo ls=$?; unshare -U true; echo u=$?', DEFAULT_PROFILE],
    ['exec mkdir /tmp/x', allowBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }])],
  ];
  for (const [cmd, seccomp] of cases) {
    const b = bundle(t, cmd, seccomp);
    const [ours, theirs] = [await run(b), await run(b, RUNC)];
    t.equal(ours.code, theirs.code, `${cmd}: exit code`);
    t.equal(ours.out, theirs.out, `${cmd}: output`);
    t.equal(ours.err, theirs.err, `${cmd}: stderr`);
  }
});
