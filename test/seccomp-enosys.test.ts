// runc's ENOSYS stub as the container's program sees it: with a deny-by-
// default profile written "before" clone3 (nothing numbered 435 or above),
// a static probe's raw syscalls newer than the profile fail with ENOSYS (so
// a libc falls back), an old syscall the profile leaves out still gets the
// default action, on x86_64, on i386 (int $0x80) and with x32's bit.
// Differential against runc 1.1.5 (which has the stub), down to the filter
// the kernel holds (PTRACE_SECCOMP_GET_FILTER) being byte for byte runc's.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN, REPO_ROOT } from './helpers/run.js';

process.env.TSRUNC_LIBDIR ??= path.join(REPO_ROOT, 'dist');
const { realSeccompLib } = await import('../src/seccomp/libseccomp.js');
const { compileSeccomp } = await import('../src/seccomp/compile.js');

const RUNC = '/usr/sbin/runc';
const HAVE_RUNC = fs.existsSync(RUNC);
const root = makeRoot();
const runcRoot = makeRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-enosys-'));
t.teardown(async () => {
  // Whatever a failed test left running goes first; then each dir on its own, so one failure does not keep the others.
  for (const [bin, r] of [[TSRUNC_BIN, root], [RUNC, runcRoot]] as const) {
    for (const id of fs.existsSync(r) ? fs.readdirSync(r) : []) await execa(bin, ['--root', r, 'delete', '-f', id], { reject: false });
  }
  for (const d of [root, runcRoot, tmp]) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch (e) {
      console.error(`# could not remove ${d}: ${String(e)}`);
    }
  }
});

const PROBE = path.join(tmp, 'probe');
const DUMP = path.join(tmp, 'dump');
await execa('cc', ['-static', '-O2', '-o', PROBE, path.join(REPO_ROOT, 'test/fixtures/seccomp-probe.c')]);
await execa('cc', ['-O2', '-o', DUMP, path.join(REPO_ROOT, 'test/fixtures/seccomp-dump.c')]);

let seq = 0;
const newId = (): string => `tsr-enosys-${process.pid}-${++seq}`;

// Docker's allow list minus getppid (an old call left out) and minus everything numbered 435 (clone3) or above on x86_64.
const lib = realSeccompLib();
const X86_64 = lib.archResolve('x86_64');
const DOCKER = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/seccomp-default.json'), 'utf8'));
const OLD_NAMES: string[] = DOCKER.syscalls[0].names.filter((n: string) => n !== 'getppid' && lib.syscallResolveArch(X86_64, n) < 435);
const maxOf = (arch: string): number => Math.max(...OLD_NAMES.map((n) => lib.syscallResolveArch(lib.archResolve(arch), n)));
const ALL_ARCHS = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

const profile = (extra: Record<string, unknown> = {}, syscalls: Record<string, unknown>[] = []) => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: ALL_ARCHS,
  syscalls: [{ names: OLD_NAMES, action: 'SCMP_ACT_ALLOW' }, ...syscalls],
  ...extra,
});

function bundle(t: any, seccomp: Record<string, unknown>, args: string[]): Bundle {
  const b = makeBundle((c) => {
    c.linux.seccomp = seccomp;
  }, ['/probe', ...args]);
  fs.copyFileSync(PROBE, path.join(b.rootfs, 'probe'));
  fs.chmodSync(path.join(b.rootfs, 'probe'), 0o755);
  t.teardown(() => b.remove());
  return b;
}

interface Ran {
  code: number | undefined;
  out: Record<string, string>;
  err: string;
}

async function run(b: Bundle, bin = TSRUNC_BIN): Promise<Ran> {
  const id = newId();
  const r = bin === RUNC ? runcRoot : root;
  const res = await execa(bin, ['--root', r, 'run', '-b', b.dir, id], { reject: false, stdin: 'ignore', timeout: 30_000 });
  await execa(bin, ['--root', r, 'delete', '-f', id], { reject: false });
  const out = Object.fromEntries(String(res.stdout).split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
  return { code: res.exitCode, out, err: String(res.stderr) };
}

const ENOSYS = '38';
const EPERM = '1';
const CALLS = ['x86_64:39', 'x86_64:110', 'x86_64:435', 'x86_64:439', 'x86_64:450', 'x86_64:1000', 'i386:20', 'i386:64', 'i386:435', 'i386:1000', 'x32:110', 'x32:435', 'x32:1000'];

t.test('the profile really is older than clone3', async (t) => {
  t.ok(maxOf('x86_64') < 435 && maxOf('x86_64') >= 400, `x86_64: largest named ${maxOf('x86_64')}`);
  t.ok(maxOf('x86') < 435, `x86: ${maxOf('x86')}`);
  // x32's own calls (rt_sigaction...) are numbered 512-547: its bar is above clone3's 435 (runc's too).
  t.equal((maxOf('x32') & ~0x40000000) >>> 0, 547, 'x32: 547 | bit 30');
});

t.test('ERRNO(EPERM) default: newer syscalls get ENOSYS, an old unlisted one EPERM, on each arch', async (t) => {
  const r = await run(bundle(t, profile(), CALLS));
  t.equal(r.code, 0, r.err);
  t.same(r.out, {
    'x86_64:39': 'ok', // getpid, listed
    'x86_64:110': EPERM, // getppid, left out: the default action
    'x86_64:435': ENOSYS, // clone3: glibc falls back to clone
    'x86_64:439': ENOSYS, // faccessat2
    'x86_64:450': ENOSYS, // set_mempolicy_home_node
    'x86_64:1000': ENOSYS, // unknown to the kernel too
    'i386:20': 'ok', // getpid
    'i386:64': EPERM, // getppid
    'i386:435': ENOSYS,
    'i386:1000': ENOSYS,
    'x32:110': EPERM, // the filter's x32 rules (this kernel has no x32 ABI, the filter runs first)
    'x32:435': EPERM, // under x32's bar (547): the stub compares numbers, it knows no syscall table
    'x32:1000': ENOSYS,
  });
});

t.test('a syscall the profile names raises the bar: clone3 denied by rule keeps EPERM, faccessat2 above it ENOSYS', async (t) => {
  const r = await run(bundle(t, profile({}, [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }]), ['x86_64:435', 'x86_64:436', 'x86_64:110', 'i386:435', 'i386:436']));
  t.equal(r.code, 0, r.err);
  t.same(r.out, { 'x86_64:435': EPERM, 'x86_64:436': ENOSYS, 'x86_64:110': EPERM, 'i386:435': EPERM, 'i386:436': ENOSYS });
});

t.test('KILL_PROCESS default: a newer syscall gets ENOSYS instead of SIGSYS, an old unlisted one still kills', async (t) => {
  const r = await run(bundle(t, profile({ defaultAction: 'SCMP_ACT_KILL_PROCESS' }), ['x86_64:1000', 'x86_64:435', 'i386:1000', 'x86_64:110', 'x86_64:39']));
  t.equal(r.code, 159, 'killed by SIGSYS at getppid');
  t.same(r.out, { 'x86_64:1000': ENOSYS, 'x86_64:435': ENOSYS, 'i386:1000': ENOSYS });
});

t.test('allow-by-default profiles get no stub: clone3 reaches the kernel', async (t) => {
  for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']) {
    const r = await run(bundle(t, { defaultAction, architectures: ALL_ARCHS, syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_ERRNO' }] }, ['x86_64:435', 'x86_64:110', 'x86_64:1000']));
    t.equal(r.code, 0, r.err);
    t.same(r.out, { 'x86_64:435': '22', 'x86_64:110': EPERM, 'x86_64:1000': ENOSYS }, `${defaultAction}: clone3 with no arguments is the kernel's EINVAL`);
  }
});

t.test('defaultErrnoRet ENOSYS: everything unlisted is ENOSYS already', async (t) => {
  const r = await run(bundle(t, profile({ defaultErrnoRet: 38 }), ['x86_64:110', 'x86_64:435', 'i386:64']));
  t.equal(r.code, 0, r.err);
  t.same(r.out, { 'x86_64:110': ENOSYS, 'x86_64:435': ENOSYS, 'i386:64': ENOSYS });
});

t.test('no architectures listed: the native one still gets the stub (runc 1.2; 1.1.5 does not)', async (t) => {
  const b = bundle(t, profile({ architectures: undefined }), ['x86_64:110', 'x86_64:435', 'x86_64:1000']);
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.same(r.out, { 'x86_64:110': EPERM, 'x86_64:435': ENOSYS, 'x86_64:1000': ENOSYS });
  if (HAVE_RUNC) t.comment(`runc 1.1.5 here: ${JSON.stringify((await run(b, RUNC)).out)}`);
});

t.test('features still lists what these profiles use', async (t) => {
  const f = JSON.parse(String((await execa(TSRUNC_BIN, ['features'])).stdout)).linux.seccomp;
  t.equal(f.enabled, true);
  for (const a of ['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']) t.ok(f.actions.includes(a), a);
  for (const a of ALL_ARCHS) t.ok(f.archs.includes(a), a);
});

t.test('differential against runc 1.1.5: same errnos', { skip: !HAVE_RUNC && 'runc not installed' }, async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['ERRNO(EPERM)', profile(), CALLS],
    ['clone3 named', profile({}, [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }]), ['x86_64:435', 'x86_64:436', 'i386:435', 'i386:436']],
    ['KILL_PROCESS', profile({ defaultAction: 'SCMP_ACT_KILL_PROCESS' }), ['x86_64:1000', 'i386:1000', 'x32:1000', 'x86_64:110']],
    ['TRAP', profile({ defaultAction: 'SCMP_ACT_TRAP' }), ['x86_64:1000', 'x86_64:110']],
    ['defaultErrnoRet ENOSYS', profile({ defaultErrnoRet: 38 }), ['x86_64:110', 'x86_64:435']],
    ['x86_64 only', profile({ architectures: ['SCMP_ARCH_X86_64'] }), ['x86_64:110', 'x86_64:435', 'x32:1000', 'i386:1000']],
  ];
  for (const [name, seccomp, args] of cases) {
    const b = bundle(t, seccomp, args);
    const [ours, theirs] = [await run(b), await run(b, RUNC)];
    t.equal(ours.code, theirs.code, `${name}: exit code`);
    t.same(ours.out, theirs.out, `${name}: errnos`);
  }
});

t.test('4096 instructions: a program that fits only without the stub is refused at create, as runc fails at load', async (t) => {
  // One instruction per kill(_, sig == n) rule on this libseccomp: aim libseccomp's own program at 4090.
  const big = (n: number, extra: Record<string, unknown> = {}) => ({
    ...profile(extra),
    syscalls: [
      // kill allowed outright would make libseccomp drop the conditional rules.
      { names: OLD_NAMES.filter((x) => x !== 'kill'), action: 'SCMP_ACT_ALLOW' },
      ...Array.from({ length: n }, (_, i) => ({ names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 100 + i, op: 'SCMP_CMP_EQ' }] })),
    ],
  });
  const plainLen = (n: number) => Buffer.from(compileSeccomp(big(n, { defaultErrnoRet: 38 }) as never, lib).bpf, 'base64').length / 8;
  let n = 3100;
  n += 4090 - plainLen(n);
  const len = plainLen(n);
  t.ok(n > 2500 && n < 3500, `${n} rules`);
  t.ok(len > 4096 - 14 && len <= 4096, `libseccomp alone: ${len} instructions`);
  const b = bundle(t, big(n), ['x86_64:39']);
  const id = newId();
  t.teardown(() => execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id], { reject: false }));
  const r = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, id], { reject: false, stdin: 'ignore', timeout: 30_000 });
  t.equal(r.exitCode, 1);
  t.match(String(r.stderr), /^tsrunc: linux\.seccomp: the filter has \d+ instructions \(\d+ of them the ENOSYS stub\), more than the kernel's limit of 4096$/m);
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
  if (HAVE_RUNC) {
    const theirs = await run(b, RUNC);
    t.not(theirs.code, 0, 'runc 1.1.5 fails too');
    t.match(theirs.err, /error loading seccomp filter: invalid argument/);
  }
  const fits = await run(bundle(t, big(n, { defaultErrnoRet: 38 }), ['x86_64:39', 'x86_64:110']));
  t.equal(fits.code, 0, `without the stub it loads: ${fits.err}`);
  t.same(fits.out, { 'x86_64:39': 'ok', 'x86_64:110': ENOSYS });
});

t.test('exec gets the same filter, stub included (as runc exec)', async (t) => {
  const b = bundle(t, profile(), ['sleep']);
  for (const bin of HAVE_RUNC ? [TSRUNC_BIN, RUNC] : [TSRUNC_BIN]) {
    const id = newId();
    const r = bin === RUNC ? runcRoot : root;
    t.teardown(() => execa(bin, ['--root', r, 'delete', '-f', id], { reject: false }));
    t.equal((await execa(bin, ['--root', r, 'run', '-d', '-b', b.dir, id], { reject: false, stdio: 'ignore', timeout: 30_000 })).exitCode, 0, `${bin} run -d`);
    const e = await execa(bin, ['--root', r, 'exec', id, '/probe', 'x86_64:435', 'x86_64:110', 'i386:1000'], { reject: false, stdin: 'ignore', timeout: 30_000 });
    t.equal(e.exitCode, 0, String(e.stderr));
    t.equal(String(e.stdout), 'x86_64:435=38\nx86_64:110=1\ni386:1000=38', bin);
    await execa(bin, ['--root', r, 'delete', '-f', id], { reject: false });
  }
});

/** The container's filter as the kernel holds it, read while the probe sleeps. */
async function loadedFilter(t: any, b: Bundle, bin: string): Promise<string> {
  const id = newId();
  const r = bin === RUNC ? runcRoot : root;
  t.teardown(() => execa(bin, ['--root', r, 'delete', '-f', id], { reject: false }));
  // The container inherits create's stdio: no pipes, or execa would wait for the container to exit.
  const c = await execa(bin, ['--root', r, 'create', '-b', b.dir, id], { reject: false, stdio: 'ignore', timeout: 30_000 });
  if (c.exitCode !== 0) throw new Error(`${bin} create failed`);
  await execa(bin, ['--root', r, 'start', id]);
  const pid = JSON.parse(String((await execa(bin, ['--root', r, 'state', id])).stdout)).pid;
  for (let i = 0; i < 200 && !/Seccomp:\s+2/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); i++) await new Promise((res) => setTimeout(res, 25));
  const d = await execa(DUMP, [String(pid)], { reject: false });
  await execa(bin, ['--root', r, 'delete', '-f', id], { reject: false });
  if (d.exitCode !== 0) throw new Error(`reading the filter: ${d.stderr}`);
  return String(d.stdout);
}

t.test('the loaded program is byte for byte runc\'s (libseccomp\'s, with the same stub in front)', { skip: !HAVE_RUNC && 'runc not installed' }, async (t) => {
  // One AUDIT_ARCH each: runc lays out several from a Go map, in random order.
  for (const architectures of [['SCMP_ARCH_X86_64'], ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32']]) {
    const b = bundle(t, profile({ architectures }), ['sleep']);
    const ours = await loadedFilter(t, b, TSRUNC_BIN);
    const theirs = await loadedFilter(t, b, RUNC);
    const lines = ours.split('\n');
    t.equal(lines[0], '0020 00 00 00000004', `${architectures}: starts with the stub's ld [4]`);
    t.ok(lines.includes(`0006 00 00 ${(0x00050026).toString(16).padStart(8, '0')}`), 'returns ERRNO(ENOSYS) somewhere');
    t.equal(ours, theirs, `${architectures}: ${lines.length} instructions, identical`);
  }
});
