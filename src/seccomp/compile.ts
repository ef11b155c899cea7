// linux.seccomp -> a classic BPF program, compiled by libseccomp in the
// runtime (R) so Node-init never loads libseccomp: init only hands the
// finished program to seccomp(2) right before execve (src/seccomp/load.ts).
// The mapping follows runc's libcontainer/seccomp/seccomp_linux.go, and the
// exported program gets runc's ENOSYS stub in front (src/seccomp/enosys.ts).
import type { LinuxSeccomp } from '../config/types.js';
import { TsruncError } from '../errors.js';
import { archMaxima, enosysStub, patchProgram, wantsEnosysStub } from './enosys.js';
import type { SeccompPlan } from './plan.js';

/** The few libseccomp calls the compiler needs; a fake one drives the unit tests. */
export interface SeccompLib {
  /** seccomp_init: a context (null on failure). */
  init(defaultAction: number): unknown;
  /** seccomp_arch_resolve_name: 0 when unknown. */
  archResolve(name: string): number;
  /** seccomp_arch_add: 0 or -errno (-EEXIST for the native arch). */
  archAdd(ctx: unknown, token: number): number;
  /** seccomp_syscall_resolve_name: negative when unknown. */
  syscallResolve(name: string): number;
  /** seccomp_syscall_resolve_name_arch: negative when unknown to that arch. */
  syscallResolveArch(token: number, name: string): number;
  /** seccomp_arch_native: the token of the arch libseccomp always filters. */
  archNative(): number;
  /** seccomp_rule_add_array: 0 or -errno. */
  ruleAdd(ctx: unknown, action: number, syscall: number, args: ArgCmp[]): number;
  /** seccomp_export_bpf: the program's bytes (struct sock_filter[]). */
  exportBpf(ctx: unknown): Buffer;
  release(ctx: unknown): void;
}

export interface ArgCmp {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

const EPERM = 1;

// libseccomp's action values (seccomp.h).
const ACT_ERRNO = 0x00050000;
const ACT_TRACE = 0x7ff00000;
export const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: ACT_ERRNO,
  SCMP_ACT_TRACE: ACT_TRACE,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};

export const OPERATORS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

// seccomp(2)'s SECCOMP_FILTER_FLAG_*: passed to the kernel by init, not to libseccomp.
export const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};
export const FLAG_NEW_LISTENER = 8;
export const FLAG_TSYNC_ESRCH = 16;

/** SCMP_ARCH_X86_64 -> x86_64: libseccomp's names are the spec's, lower-cased, without the prefix. */
export function archName(spec: string): string | undefined {
  return spec.startsWith('SCMP_ARCH_') ? spec.slice('SCMP_ARCH_'.length).toLowerCase() : undefined;
}

function action(name: string, errnoRet: number | undefined, where: string): number {
  const base = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (base === undefined) throw new TsruncError(`${where}: unknown action "${name}"`);
  // runc: ERRNO and TRACE return EPERM unless told otherwise.
  if (base === ACT_ERRNO || base === ACT_TRACE) return (base | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
  // runc ignores errnoRet on the other actions: a profile that runs there runs here.
  return base >>> 0;
}

export interface CompileLog {
  debug(message: string): void;
}

/**
 * Validates and compiles; every error names the entry. Unknown syscall names
 * are skipped as runc does (a newer profile on an older libseccomp/kernel).
 */
export function compileSeccomp(cfg: LinuxSeccomp, lib: SeccompLib, log: CompileLog = { debug() {} }): Pick<SeccompPlan, 'bpf' | 'flags'> {
  const P = 'linux.seccomp';
  const def = action(cfg.defaultAction, cfg.defaultErrnoRet, `${P}.defaultAction`);
  // Init's own last calls (sendmsg to the listener, execve) would wait on a listener that has no fd yet.
  if (cfg.defaultAction === 'SCMP_ACT_NOTIFY') throw new TsruncError(`${P}.defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action`);
  let flags = 0;
  (cfg.flags ?? []).forEach((f, i) => {
    const v = Object.hasOwn(FLAGS, f) ? FLAGS[f] : undefined;
    if (v === undefined) throw new TsruncError(`${P}.flags[${i}]: unknown flag "${f}"`);
    flags |= v;
  });
  const archTokens = (cfg.architectures ?? []).map((a, i) => {
    const name = archName(a);
    const token = name ? lib.archResolve(name) : 0;
    if (!token) throw new TsruncError(`${P}.architectures[${i}]: unknown architecture "${a}"`);
    return token;
  });
  // Everything about a rule but the syscall numbers is checked before libseccomp sees any of it.
  const rules = (cfg.syscalls ?? []).map((sc, i) => {
    const where = `${P}.syscalls[${i}]`;
    const act = action(sc.action, sc.errnoRet, `${where}.action`);
    const args = (sc.args ?? []).map((a, j) => {
      const op = Object.hasOwn(OPERATORS, a.op) ? OPERATORS[a.op] : undefined;
      if (op === undefined) throw new TsruncError(`${where}.args[${j}].op: unknown operator "${a.op}"`);
      if (a.index > 5) throw new TsruncError(`${where}.args[${j}].index: ${a.index} is out of range (0-5)`);
      return { arg: a.index, op, a: BigInt(a.value), b: BigInt(a.valueTwo ?? 0) };
    });
    if (!sc.names?.length) throw new TsruncError(`${where}.names: at least one syscall name is required`);
    return { where, names: sc.names, act, args, notify: sc.action === 'SCMP_ACT_NOTIFY' };
  });
  const notify = rules.some((r) => r.notify);
  if (notify && !cfg.listenerPath) throw new TsruncError(`${P}.listenerPath: required with SCMP_ACT_NOTIFY`);

  const ctx = lib.init(def);
  if (!ctx) throw new TsruncError(`${P}: seccomp_init failed (is libseccomp usable?)`);
  try {
    archTokens.forEach((t, i) => {
      const rc = lib.archAdd(ctx, t);
      if (rc < 0 && rc !== -17 /* EEXIST: the native one */) throw new TsruncError(`${P}.architectures[${i}]: seccomp_arch_add: errno ${-rc}`);
    });
    // Native numbers already resolved, for the ENOSYS stub's maxima (a third of its lookups).
    const native = new Map<string, number>();
    for (const r of rules) {
      // libseccomp refuses a rule whose action is the default one: it would be a no-op anyway.
      if (r.act === def) {
        log.debug(`${r.where}: same action as the default, skipped`);
        continue;
      }
      // runc: the same argument index twice means alternatives (one rule each); otherwise one rule ANDs them.
      const indexes = r.args.map((a) => a.arg);
      const groups = new Set(indexes).size < indexes.length ? r.args.map((a) => [a]) : [r.args];
      for (const name of r.names) {
        const nr = lib.syscallResolve(name);
        native.set(name, nr);
        // Only -1 (__NR_SCMP_ERROR) is unknown. Other negatives are pseudo-numbers for calls the
        // native arch lacks (socketcall, _llseek...), which libseccomp maps onto x86/x32 as runc
        // lets it; skipping them left podman's --cap-drop=all socket rules in conflict (EEXIST).
        if (nr === -1) {
          log.debug(`${r.where}: unknown syscall "${name}" ignored`);
          continue;
        }
        for (const g of groups) {
          const rc = lib.ruleAdd(ctx, r.act, nr, g);
          if (rc < 0) throw new TsruncError(`${r.where}: seccomp_rule_add for "${name}": errno ${-rc}`);
        }
      }
    }
    if (!notify) {
      // The kernel refuses it without a listener (EINVAL); it only concerns notifications.
      flags &= ~FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!;
    } else {
      flags |= FLAG_NEW_LISTENER;
      // The kernel refuses TSYNC with a listener unless a failed sync reports ESRCH instead of a tid.
      if (flags & FLAGS.SECCOMP_FILTER_FLAG_TSYNC!) flags |= FLAG_TSYNC_ESRCH;
    }
    const stub = wantsEnosysStub(def) ? enosysStub(archMaxima(cfg, archTokens, lib, native)) : [];
    if (stub.length) log.debug(`${P}: ENOSYS stub of ${stub.length} instructions for syscalls newer than the profile`);
    return { bpf: patchProgram(stub, lib.exportBpf(ctx)).toString('base64'), flags };
  } finally {
    lib.release(ctx);
  }
}
