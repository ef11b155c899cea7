// The real SeccompLib: libseccomp.so.2 through koffi, in the runtime only.
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import { libseccomp } from '../features/libseccomp.js';
import { memfdCreate } from '../sys/linux.js';
import type { ArgCmp, SeccompLib } from './compile.js';

type Fn = (...a: unknown[]) => unknown;

export function realSeccompLib(): SeccompLib {
  const l = libseccomp();
  if (!l) throw new TsruncError('linux.seccomp: libseccomp.so.2 is not available on this host');
  const fn = (sig: string): Fn => l.func(sig) as unknown as Fn;
  const init = fn('void *seccomp_init(uint32_t def_action)');
  const archResolve = fn('uint32_t seccomp_arch_resolve_name(const char *name)');
  const archAdd = fn('int seccomp_arch_add(void *ctx, uint32_t arch_token)');
  const syscallResolve = fn('int seccomp_syscall_resolve_name(const char *name)');
  const syscallResolveArch = fn('int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)');
  const archNative = fn('uint32_t seccomp_arch_native(void)');
  const ruleAdd = fn('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const void *arg_array)');
  const exportBpf = fn('int seccomp_export_bpf(void *ctx, int fd)');
  const release = fn('void seccomp_release(void *ctx)');
  return {
    init: (a) => init(a),
    archResolve: (n) => archResolve(n) as number,
    archAdd: (ctx, t) => archAdd(ctx, t) as number,
    syscallResolve: (n) => syscallResolve(n) as number,
    syscallResolveArch: (t, n) => syscallResolveArch(t, n) as number,
    archNative: () => archNative() as number,
    ruleAdd: (ctx, action, nr, args: ArgCmp[]) => {
      // struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a, datum_b; }
      const b = Buffer.alloc(24 * Math.max(args.length, 1));
      args.forEach((c, i) => {
        b.writeUInt32LE(c.arg, i * 24);
        b.writeInt32LE(c.op, i * 24 + 4);
        b.writeBigUInt64LE(BigInt.asUintN(64, c.a), i * 24 + 8);
        b.writeBigUInt64LE(BigInt.asUintN(64, c.b), i * 24 + 16);
      });
      return ruleAdd(ctx, action, nr, args.length, b) as number;
    },
    exportBpf: (ctx) => {
      const fd = memfdCreate('tsrunc-seccomp');
      try {
        const rc = exportBpf(ctx, fd) as number;
        if (rc < 0) throw new TsruncError(`linux.seccomp: seccomp_export_bpf: errno ${-rc}`);
        return fs.readFileSync(`/proc/self/fd/${fd}`);
      } finally {
        fs.closeSync(fd);
      }
    },
    release: (ctx) => void release(ctx),
  };
}
