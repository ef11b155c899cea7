// runc's ENOSYS stub (src/seccomp/enosys.ts) without root: the exact
// instructions for a profile, jump offsets (short and long forms), the
// kernel's 4096-instruction limit, and the patched program run through a
// small classic-BPF evaluator for (arch, nr) inputs, on fake programs and on
// what the host's libseccomp really exports.
import t from 'tap';
import * as path from 'node:path';
import { REPO_ROOT } from './helpers/run.js';
import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  BPF_MAXINSNS,
  RET_ERRNO_ENOSYS,
  SCMP_ARCH_X32,
  archMaxima,
  decodeInsns,
  encodeInsns,
  enosysStub,
  patchProgram,
  wantsEnosysStub,
  type Insn,
} from '../src/seccomp/enosys.js';
import { ACTIONS, compileSeccomp, type SeccompLib } from '../src/seccomp/compile.js';
import type { LinuxSeccomp } from '../src/config/types.js';

process.env.TSRUNC_LIBDIR ??= path.join(REPO_ROOT, 'dist');

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const X32_BIT = 0x40000000;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_S390X = 0x80000016;

/** Classic BPF as seccomp runs it, for the opcodes libseccomp and the stub use; anything else fails the test. */
function evaluate(prog: Insn[], arch: number, nr: number): number {
  const data = Buffer.alloc(64); // struct seccomp_data: nr, arch, ip, args[6]
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  let A = 0;
  let X = 0;
  const M = new Array<number>(16).fill(0);
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    switch (code) {
      case 0x20: A = data.readUInt32LE(k); break; // ld [k]
      case 0x00: A = k >>> 0; break; // ld #k
      case 0x01: X = k >>> 0; break; // ldx #k
      case 0x02: M[k] = A; break; // st M[k]
      case 0x03: M[k] = X; break; // stx M[k]
      case 0x60: A = M[k]!; break; // ld M[k]
      case 0x61: X = M[k]!; break; // ldx M[k]
      case 0x54: A = (A & k) >>> 0; break; // and #k
      case 0x05: pc += k; break; // ja
      case 0x15: pc += A === k >>> 0 ? jt : jf; break; // jeq #k
      case 0x25: pc += A > k >>> 0 ? jt : jf; break; // jgt #k
      case 0x35: pc += A >= k >>> 0 ? jt : jf; break; // jge #k
      case 0x45: pc += (A & k) !== 0 ? jt : jf; break; // jset #k
      case 0x06: return k >>> 0; // ret #k
      case 0x16: return A; // ret A
      default: throw new Error(`opcode 0x${code.toString(16)} at ${pc} (X=${X})`);
    }
  }
  throw new Error('fell off the end of the program');
}

/** Every jump of the stub lands inside it or exactly on the filter's first instruction. */
function jumpsInRange(stub: Insn[]): boolean {
  return stub.every((i, n) => {
    if (i.code === 0x05) return n + 1 + i.k <= stub.length;
    if ((i.code & 0x07) === 0x05) return i.jt <= 255 && i.jf <= 255 && n + 1 + i.jt <= stub.length && n + 1 + i.jf <= stub.length;
    return true;
  });
}

const prog = (stub: Insn[], filter: Insn[]): Insn[] => decodeInsns(patchProgram(stub, encodeInsns(filter)));
const RET = (k: number): Insn => ({ code: 0x06, jt: 0, jf: 0, k: k >>> 0 });

t.test('which default actions get the stub (runc isAllowAction, and ERRNO(ENOSYS) needs none)', async (t) => {
  for (const a of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']) t.notOk(wantsEnosysStub(ACTIONS[a]!), a);
  t.notOk(wantsEnosysStub(0x7ff00026), 'TRACE with any message');
  t.notOk(wantsEnosysStub(0x00050026), 'ERRNO(ENOSYS)');
  for (const a of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP']) t.ok(wantsEnosysStub(ACTIONS[a]!), a);
  t.ok(wantsEnosysStub(EPERM), 'ERRNO(EPERM)');
  t.ok(wantsEnosysStub(0x00050016), 'ERRNO(EINVAL)');
});

t.test('x86_64 alone: runc\'s nine instructions', async (t) => {
  const stub = enosysStub([{ token: AUDIT_ARCH_X86_64, max: 434 }]);
  t.same(stub, [
    { code: 0x20, jt: 0, jf: 0, k: 4 }, //           ld [4] (arch)
    { code: 0x15, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 }, // jeq x86_64 -> 3
    { code: 0x05, jt: 0, jf: 0, k: 6 }, //           ja filter (9)
    { code: 0x20, jt: 0, jf: 0, k: 0 }, //           ld [0] (nr)
    { code: 0x45, jt: 1, jf: 0, k: X32_BIT }, //     jset x32 bit -> 6 (not ours)
    { code: 0x25, jt: 2, jf: 0, k: 434 }, //         jgt 434 -> 8
    { code: 0x05, jt: 0, jf: 0, k: 2 }, //           ja filter (9)
    { code: 0x05, jt: 0, jf: 0, k: 1 }, //           (runc's fall-through, unreachable here)
    { code: 0x06, jt: 0, jf: 0, k: RET_ERRNO_ENOSYS },
  ]);
  t.ok(jumpsInRange(stub));
  const p = prog(stub, [RET(EPERM)]);
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 434), EPERM, 'the largest named syscall: the filter decides');
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 0), EPERM);
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 435), RET_ERRNO_ENOSYS, 'one above: ENOSYS');
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 1000), RET_ERRNO_ENOSYS);
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 0x80000000), RET_ERRNO_ENOSYS, 'compared unsigned');
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 0xffffffff), EPERM, 'nr -1 has the x32 bit: the filter decides (runc)');
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, X32_BIT | 1000), EPERM, 'an x32 call is not x86_64\'s: left to the filter');
  t.equal(evaluate(p, AUDIT_ARCH_I386, 1000), EPERM, 'another arch: left to the filter');
});

t.test('x86_64 + x32 + x86: each arch against its own largest number', async (t) => {
  const maxima = [
    { token: AUDIT_ARCH_X86_64, max: 300 },
    { token: AUDIT_ARCH_I386, max: 380 },
    { token: SCMP_ARCH_X32, max: X32_BIT | 320 },
  ];
  const stub = enosysStub(maxima);
  t.ok(jumpsInRange(stub));
  t.equal(stub.filter((i) => i.code === 0x15).length, 2, 'one arch check per AUDIT_ARCH (x32 is x86_64\'s)');
  const p = prog(stub, [RET(EPERM)]);
  for (const [arch, nr, want] of [
    [AUDIT_ARCH_X86_64, 300, EPERM],
    [AUDIT_ARCH_X86_64, 301, RET_ERRNO_ENOSYS],
    [AUDIT_ARCH_X86_64, X32_BIT | 320, EPERM],
    [AUDIT_ARCH_X86_64, X32_BIT | 321, RET_ERRNO_ENOSYS],
    [AUDIT_ARCH_X86_64, X32_BIT | 301, EPERM],
    [AUDIT_ARCH_I386, 380, EPERM],
    [AUDIT_ARCH_I386, 381, RET_ERRNO_ENOSYS],
    [AUDIT_ARCH_AARCH64, 5000, EPERM],
  ] as const) {
    t.equal(evaluate(p, arch, nr), want, `arch 0x${arch.toString(16)} nr 0x${nr.toString(16)}`);
  }
  const x32only = prog(enosysStub([{ token: SCMP_ARCH_X32, max: X32_BIT | 320 }]), [RET(EPERM)]);
  t.equal(evaluate(x32only, AUDIT_ARCH_X86_64, 1000), EPERM, 'x32 alone: x86_64 calls go to the filter');
  t.equal(evaluate(x32only, AUDIT_ARCH_X86_64, X32_BIT | 321), RET_ERRNO_ENOSYS);
});

t.test('s390x: syscall 0 (the multiplexer unknown numbers arrive as) is ENOSYS too', async (t) => {
  const p = prog(enosysStub([{ token: AUDIT_ARCH_S390X, max: 440 }]), [RET(ALLOW)]);
  t.equal(evaluate(p, AUDIT_ARCH_S390X, 0), RET_ERRNO_ENOSYS);
  t.equal(evaluate(p, AUDIT_ARCH_S390X, 1), ALLOW);
  t.equal(evaluate(p, AUDIT_ARCH_S390X, 441), RET_ERRNO_ENOSYS);
});

t.test('no arch with a named syscall: no stub at all', async (t) => {
  t.same(enosysStub([]), []);
  const filter = encodeInsns([RET(EPERM)]);
  t.equal(patchProgram([], filter), filter, 'the program unchanged');
});

t.test('long jumps: past 255 instructions the conditional jumps become skips over ja', async (t) => {
  // 120 made-up arches put the later sections (and the arch checks) far from the ENOSYS return.
  const fake = Array.from({ length: 120 }, (_, i) => ({ token: 0x0a000000 + i, max: 100 + i }));
  const maxima = [...fake, { token: AUDIT_ARCH_S390X, max: 440 }, { token: AUDIT_ARCH_X86_64, max: 300 }, { token: SCMP_ARCH_X32, max: X32_BIT | 320 }, { token: AUDIT_ARCH_I386, max: 380 }];
  const stub = enosysStub(maxima);
  t.ok(stub.length > 512, `${stub.length} instructions`);
  t.ok(jumpsInRange(stub), 'every jt/jf fits in 8 bits and lands inside');
  const next = (n: number) => stub[n + 1]!;
  t.ok(stub.some((i, n) => i.code === 0x15 && i.jt === 0 && i.jf === 1 && next(n).code === 0x05 && next(n).k > 255), 'long arch jump: jne arch, 1; ja far');
  t.ok(stub.some((i, n) => i.code === 0x25 && i.jt === 0 && i.jf === 1 && next(n).code === 0x06), 'long section: jle max, 1; ret ENOSYS');
  t.ok(stub.some((i) => i.code === 0x25 && i.k === 300 && i.jt === 1 && i.jf === 2), 'long x86_64+x32 pair');
  const p = prog(stub, [RET(ALLOW)]);
  for (const m of maxima) {
    const audit = m.token === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : m.token;
    t.equal(evaluate(p, audit, m.max), ALLOW);
    t.equal(evaluate(p, audit, m.max + 1), RET_ERRNO_ENOSYS);
  }
  t.equal(evaluate(p, AUDIT_ARCH_S390X, 0), RET_ERRNO_ENOSYS);
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, X32_BIT | 301), ALLOW, 'x32 below its own max');
  t.equal(evaluate(p, AUDIT_ARCH_X86_64, 301), RET_ERRNO_ENOSYS);
  t.equal(evaluate(p, AUDIT_ARCH_AARCH64, 5000), ALLOW, 'unlisted arch');
});

t.test('BPF_MAXINSNS: 4096 instructions in all, stub included', async (t) => {
  const stub = enosysStub([{ token: AUDIT_ARCH_X86_64, max: 434 }]);
  const fits = Buffer.alloc((BPF_MAXINSNS - stub.length) * 8);
  t.equal(patchProgram(stub, fits).length, BPF_MAXINSNS * 8);
  const over = Buffer.alloc((BPF_MAXINSNS - stub.length + 1) * 8);
  t.throws(() => patchProgram(stub, over), /^linux\.seccomp: the filter has 4097 instructions \(9 of them the ENOSYS stub\), more than the kernel's limit of 4096$/);
  t.throws(() => patchProgram([], Buffer.alloc(4097 * 8)), /4097 instructions/, 'libseccomp\'s program alone too');
  t.throws(() => patchProgram(stub, Buffer.alloc(12)), /not whole instructions/);
});

t.test('archMaxima: every name whatever its action, per arch, native added, pseudo-calls ignored', async (t) => {
  const nr: Record<number, Record<string, number>> = {
    [AUDIT_ARCH_X86_64]: { read: 0, openat: 257, clone3: 435, socket: 41, socketcall: -10060 },
    [AUDIT_ARCH_I386]: { read: 3, openat: 295, socket: -101, socketcall: 102 },
    [SCMP_ARCH_X32]: { read: X32_BIT, openat: X32_BIT | 257 },
    [AUDIT_ARCH_AARCH64]: { socketcall: -10060 },
  };
  const lib = { archNative: () => AUDIT_ARCH_X86_64, syscallResolveArch: (tok: number, n: string) => nr[tok]?.[n] ?? -1 };
  const cfg: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read', 'socket', 'socketcall', 'nosuch'], action: 'SCMP_ACT_ALLOW' },
      { names: ['openat'], action: 'SCMP_ACT_ERRNO' }, // same as the default: still counts (runc)
    ],
  };
  t.same(archMaxima(cfg, [AUDIT_ARCH_I386, SCMP_ARCH_X32, AUDIT_ARCH_AARCH64], lib), [
    { token: AUDIT_ARCH_I386, max: 295 },
    { token: SCMP_ARCH_X32, max: X32_BIT | 257 },
    { token: AUDIT_ARCH_X86_64, max: 257 },
  ], 'aarch64 has no named syscall: left out; x86_64 added as the native arch');
  t.same(archMaxima({ ...cfg, syscalls: [...cfg.syscalls!, { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] }, [], lib), [{ token: AUDIT_ARCH_X86_64, max: 435 }], 'no architectures: the native one');
  const asked: string[] = [];
  const counting = { ...lib, syscallResolveArch: (tok: number, n: string) => (asked.push(`${tok}:${n}`), lib.syscallResolveArch(tok, n)) };
  t.same(archMaxima(cfg, [], counting, new Map([['read', 0], ['socket', 41], ['socketcall', -10060], ['nosuch', -1]])), [{ token: AUDIT_ARCH_X86_64, max: 257 }]);
  t.same(asked, [`${AUDIT_ARCH_X86_64}:openat`], 'native numbers the compiler resolved are not asked again');
});

// The host's libseccomp, as create uses it (no kernel filter is loaded here).
let real: SeccompLib | undefined;
try {
  real = (await import('../src/seccomp/libseccomp.js')).realSeccompLib();
} catch {
  real = undefined;
}

t.test('with the host\'s libseccomp: patched = unpatched, except ENOSYS above each arch\'s largest named syscall', { skip: !real && 'libseccomp.so.2 not loadable' }, async (t) => {
  const lib = real!;
  const names: [string, ...string[]] = ['read', 'write', 'openat', 'close', 'exit_group', 'getppid', 'mmap', 'futex', 'rseq', 'statx'];
  const cfg: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names, action: 'SCMP_ACT_ALLOW' },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  const patched = decodeInsns(Buffer.from(compileSeccomp(cfg, lib).bpf, 'base64'));
  // The same filter without the stub: a default that does not get one, then the default swapped back in.
  const plain = decodeInsns(Buffer.from(compileSeccomp({ ...cfg, defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 }, lib).bpf, 'base64')).map((i) =>
    i.code === 0x06 && i.k === RET_ERRNO_ENOSYS ? { ...i, k: EPERM } : i,
  );
  const stubLen = patched.length - plain.length;
  t.ok(stubLen > 0 && stubLen < 30, `stub of ${stubLen} instructions`);
  t.same(patched.slice(stubLen), plain, 'libseccomp\'s program follows the stub untouched');
  const arches: [string, number, number, number][] = [
    ['x86_64', AUDIT_ARCH_X86_64, 0, Math.max(...names.map((n) => lib.syscallResolveArch(AUDIT_ARCH_X86_64, n)))],
    ['x86', AUDIT_ARCH_I386, 0, Math.max(...names.map((n) => lib.syscallResolveArch(AUDIT_ARCH_I386, n)))],
    ['x32', AUDIT_ARCH_X86_64, X32_BIT, Math.max(...names.map((n) => lib.syscallResolveArch(SCMP_ARCH_X32, n)))],
  ];
  t.equal(arches[0]![3], 334, 'x86_64: rseq is the largest');
  let diffs = 0;
  for (const [name, audit, bit, max] of arches) {
    for (let n = 0; n <= 1100; n++) {
      const nr = (bit | n) >>> 0;
      const want = nr > max ? RET_ERRNO_ENOSYS : evaluate(plain, audit, nr);
      const got = evaluate(patched, audit, nr);
      if (got !== want) {
        diffs++;
        t.equal(got, want, `${name} nr ${n}`);
      }
    }
    t.equal(evaluate(patched, audit, bit | lib.syscallResolveArch(audit === AUDIT_ARCH_I386 ? AUDIT_ARCH_I386 : bit ? SCMP_ARCH_X32 : AUDIT_ARCH_X86_64, 'getppid')), ALLOW, `${name}: getppid allowed`);
    t.equal(evaluate(patched, audit, bit | 1000), RET_ERRNO_ENOSYS, `${name}: 1000 is ENOSYS`);
  }
  t.equal(diffs, 0, 'x86_64, x86 and x32 numbers 0-1100');
  t.equal(evaluate(patched, AUDIT_ARCH_X86_64, 39 /* getpid, unlisted */), EPERM);
  t.equal(evaluate(patched, AUDIT_ARCH_AARCH64, 1000), evaluate(plain, AUDIT_ARCH_AARCH64, 1000), 'an arch not in the filter: libseccomp\'s bad-arch action');

  for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'] as const) {
    const p = Buffer.from(compileSeccomp({ ...cfg, defaultAction, syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_ERRNO' }] }, lib).bpf, 'base64');
    t.equal(decodeInsns(p)[0]!.k, 4, `${defaultAction}: libseccomp's own first instruction (ld arch)`);
    t.notOk(decodeInsns(p).some((i) => i.code === 0x06 && i.k === RET_ERRNO_ENOSYS), `${defaultAction}: no stub`);
  }
  const kill = decodeInsns(Buffer.from(compileSeccomp({ ...cfg, defaultAction: 'SCMP_ACT_KILL_PROCESS' }, lib).bpf, 'base64'));
  t.equal(evaluate(kill, AUDIT_ARCH_X86_64, 1000), RET_ERRNO_ENOSYS, 'KILL_PROCESS default: new calls get ENOSYS, not SIGSYS');
  t.equal(evaluate(kill, AUDIT_ARCH_X86_64, 39), 0x80000000, 'an old unlisted call is still killed');
  const noArch = decodeInsns(Buffer.from(compileSeccomp({ ...cfg, architectures: [] }, lib).bpf, 'base64'));
  t.equal(evaluate(noArch, AUDIT_ARCH_X86_64, 1000), RET_ERRNO_ENOSYS, 'no architectures: the native arch still gets the stub');
});
