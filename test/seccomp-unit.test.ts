// The linux.seccomp -> libseccomp mapping, against a fake libseccomp that
// records calls (no root, no kernel filter).
import t from 'tap';
import { compileSeccomp, FLAG_NEW_LISTENER, FLAG_TSYNC_ESRCH, type ArgCmp, type SeccompLib } from '../src/seccomp/compile.js';

const NR: Record<string, number> = { mkdir: 83, mkdirat: 258, personality: 135, getcwd: 79, unshare: 272 };
const ARCH: Record<string, number> = { x86_64: 0xc000003e, x86: 0x40000003, x32: 0x4000003e };

function fake(): SeccompLib & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    init: (a) => (calls.push(['init', a]), { ctx: true }),
    archResolve: (n) => ARCH[n] ?? 0,
    archAdd: (_c, tok) => (calls.push(['arch', tok]), tok === ARCH.x86_64 ? -17 : 0),
    syscallResolve: (n) => NR[n] ?? -1,
    syscallResolveArch: (tok, n) => (tok === ARCH.x86_64 ? (NR[n] ?? -1) : -1),
    archNative: () => ARCH.x86_64,
    ruleAdd: (_c, act, nr, args: ArgCmp[]) => (calls.push(['rule', act, nr, args.map((a) => [a.arg, a.op, a.a, a.b])]), 0),
    exportBpf: () => (calls.push(['export']), Buffer.alloc(8)),
    release: () => void calls.push(['release']),
  };
}

t.test('actions, errno defaults, unknown names skipped', async (t) => {
  const lib = fake();
  const logs: string[] = [];
  const r = compileSeccomp(
    {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['mkdir', 'nosuchcall'], action: 'SCMP_ACT_ALLOW' },
        { names: ['getcwd'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['unshare'], action: 'SCMP_ACT_KILL_PROCESS', errnoRet: 5 }, // errnoRet ignored, as runc
        { names: ['mkdirat'], action: 'SCMP_ACT_TRACE' },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO' }, // same as the default (EPERM): skipped
      ],
    },
    lib,
    { debug: (m) => logs.push(m) },
  );
  t.same(lib.calls[0], ['init', 0x00050001], 'default ERRNO returns EPERM');
  t.same(lib.calls.filter((c) => c[0] === 'rule'), [
    ['rule', 0x7fff0000, 83, []],
    ['rule', 0x0005000d, 79, []],
    ['rule', 0x80000000, 272, []],
    ['rule', 0x7ff00001, 258, []],
  ]);
  t.match(logs.join('\n'), /syscalls\[0\]: unknown syscall "nosuchcall" ignored/);
  t.match(logs.join('\n'), /syscalls\[4\]: same action as the default/);
  t.equal(r.flags, 0);
  t.same(lib.calls.at(-1), ['release']);
});

t.test('defaultErrnoRet, architectures and flags', async (t) => {
  const lib = fake();
  const r = compileSeccomp(
    {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    },
    lib,
  );
  t.same(lib.calls[0], ['init', 0x00050026]);
  t.same(lib.calls.filter((c) => c[0] === 'arch'), [['arch', ARCH.x86_64], ['arch', ARCH.x86], ['arch', ARCH.x32]], 'the native arch\'s EEXIST is fine');
  t.equal(r.flags, 1 | 2 | 4, 'WAIT_KILLABLE_RECV only with a listener (the kernel refuses it otherwise)');
});

t.test('args: one rule ANDs distinct indexes; a repeated index means one rule per arg (runc)', async (t) => {
  const lib = fake();
  compileSeccomp(
    {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }, { index: 1, value: 0xff, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['mkdir'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }, { index: 1, value: 0o755, op: 'SCMP_CMP_GE' }] },
      ],
    },
    lib,
  );
  t.same(lib.calls.filter((c) => c[0] === 'rule'), [
    ['rule', 0x00050001, 135, [[0, 4, 8n, 0n], [1, 7, 0xffn, 3n]]],
    ['rule', 0x7ffc0000, 83, [[1, 4, 0o700n, 0n]]],
    ['rule', 0x7ffc0000, 83, [[1, 5, 0o755n, 0n]]],
  ]);
});

t.test('NOTIFY asks for a listener (and TSYNC_ESRCH with TSYNC)', async (t) => {
  const r = compileSeccomp(
    { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/l.sock', flags: ['SECCOMP_FILTER_FLAG_TSYNC'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
    fake(),
  );
  t.equal(r.flags, 1 | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH);
  const w = compileSeccomp(
    { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/l.sock', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
    fake(),
  );
  t.equal(w.flags, 32 | FLAG_NEW_LISTENER);
  t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, fake()), /linux\.seccomp\.listenerPath: required with SCMP_ACT_NOTIFY/);
  t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' }, fake()), /defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action/);
});

t.test('errors name the entry, before libseccomp gets a context', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_FOO' }, /^linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_FOO"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ALLOW' }, { names: ['b'], action: 'SCMP_ACT_FOO' }] }, /^linux\.seccomp\.syscalls\[1\]\.action: unknown action "SCMP_ACT_FOO"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' }] }] }, /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_FOO"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /args\[0\]\.index: 6 is out of range/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_FOO'] }, /^linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_FOO"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FOO'] }, /^linux\.seccomp\.flags\[0\]: unknown flag "SECCOMP_FILTER_FLAG_FOO"$/],
  ];
  for (const [cfg, re] of cases) {
    const lib = fake();
    t.throws(() => compileSeccomp(cfg as never, lib), re);
    t.same(lib.calls, [], 'libseccomp untouched');
  }
});
