// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf/enosys_linux.go): a
// few classic-BPF instructions put in front of libseccomp's program. A
// profile written before a syscall existed denies it with the default action
// (EPERM, usually), and a libc that tries the new call first (clone3,
// faccessat2, openat2...) then fails instead of falling back to the old one:
// it only falls back on ENOSYS. So, per architecture, a syscall numbered
// above every syscall the profile names returns ENOSYS, as on a kernel that
// does not have it. This assembles that stub on top of libseccomp's output;
// it compiles no rule of its own.
import * as os from 'node:os';
import type { LinuxSeccomp } from '../config/types.js';
import { TsruncError } from '../errors.js';

/** struct sock_filter. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** The kernel refuses a longer program (EINVAL). */
export const BPF_MAXINSNS = 4096;
export const SOCK_FILTER_SIZE = 8;

const LD_W_ABS = 0x20;
const JA = 0x05;
const JEQ = 0x15;
const JGT = 0x25;
const JSET = 0x45;
const RET_K = 0x06;
/** struct seccomp_data: nr at 0, arch at 4. */
const NR_OFF = 0;
const ARCH_OFF = 4;

export const RET_ERRNO_ENOSYS = 0x00050000 | 38;
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
/** libseccomp's SCMP_ARCH_X32: not an AUDIT_ARCH (x32 calls come as x86_64 ones with bit 30 set). */
export const SCMP_ARCH_X32 = 0x4000003e;
const AUDIT_ARCH_S390 = 0x00000016;
const AUDIT_ARCH_S390X = 0x80000016;
const X32_SYSCALL_BIT = 0x40000000;

const ins = (code: number, k: number, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 });
const ld = (off: number) => ins(LD_W_ABS, off);
const ja = (skip: number) => ins(JA, skip);
const ret = (v: number) => ins(RET_K, v);

/** The largest syscall number a profile names, for one libseccomp arch. */
export interface ArchMax {
  /** libseccomp's arch token: the AUDIT_ARCH_* value, but for SCMP_ARCH_X32. */
  token: number;
  /** With __X32_SYSCALL_BIT for x32, as libseccomp resolves its names. */
  max: number;
}

/**
 * Whether the stub goes in: not when the default lets calls through (allow,
 * log, and trace: a tracer handles unknown calls itself, as runc reasons), and
 * not when the default already is ERRNO(ENOSYS). `defaultAct` is libseccomp's
 * action value.
 */
export function wantsEnosysStub(defaultAct: number): boolean {
  const act = defaultAct >>> 0;
  if (act === 0x7fff0000 || act === 0x7ffc0000) return false; // ALLOW, LOG
  if ((act & 0xffff0000) >>> 0 === 0x7ff00000) return false; // TRACE(any msg)
  // runc compares defaultErrnoRet with the whole action value, so it patches
  // here too; the stub's ENOSYS and the default's are then the same answer.
  return act !== RET_ERRNO_ENOSYS;
}

export interface ResolveLib {
  archNative(): number;
  /** seccomp_syscall_resolve_name_arch: negative when unknown to that arch (or a pseudo-call). */
  syscallResolveArch(token: number, name: string): number;
}

/**
 * Per arch of the filter (the configured ones and, as runc 1.2 does since
 * Docker's ppc64le profile lists none, the native one), the largest number
 * among every name of the profile, whatever its action. Names the arch does
 * not know are skipped; an arch without any is left out of the stub.
 */
export function archMaxima(cfg: LinuxSeccomp, archTokens: number[], lib: ResolveLib, nativeKnown?: Map<string, number>): ArchMax[] {
  const nativeToken = lib.archNative();
  const tokens = archTokens.includes(nativeToken) ? [...new Set(archTokens)] : [...new Set(archTokens), nativeToken];
  const names = new Set<string>();
  for (const s of cfg.syscalls ?? []) for (const n of s.names ?? []) names.add(n);
  const out: ArchMax[] = [];
  for (const token of tokens) {
    const known = token === nativeToken ? nativeKnown : undefined;
    let max = 0;
    for (const n of names) {
      const nr = known?.get(n) ?? lib.syscallResolveArch(token, n);
      if (nr > max) max = nr;
    }
    if (max > 0) out.push({ token, max });
  }
  return out;
}

const auditArch = (token: number): number => (token === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token);

/**
 * The stub, jumping to the instruction right after it (libseccomp's first)
 * when a call is not newer than the profile. Laid out as runc's: built from
 * the end, since BPF jumps only go forward and count instructions; a jump
 * farther than 255 (jt/jf are 8 bits) becomes a conditional skip over `ja`.
 */
export function enosysStub(maxima: ArchMax[]): Insn[] {
  const byAudit = new Map<number, Map<number, number>>();
  for (const m of maxima) {
    const a = auditArch(m.token);
    if (!byAudit.has(a)) byAudit.set(a, new Map());
    byAudit.get(a)!.set(m.token, m.max);
  }
  if (byAudit.size === 0) return [];

  // Fall-through goes into the filter; jumps to the ret get ENOSYS.
  let tail: Insn[] = [ja(1), ret(RET_ERRNO_ENOSYS)];
  // Where each arch's section starts, counted from the end.
  const fromEnd = new Map<number, number>();
  for (const [audit, maxes] of byAudit) {
    const toEnosys = tail.length - 1;
    const toFilter = toEnosys + 1;
    const section: Insn[] = [ld(NR_OFF)];
    if (maxes.size === 1) {
      const [[token, max]] = [...maxes] as [[number, number]];
      // s390(x): numbers the kernel does not know arrive as 0 (setup(2), the
      // multiplexer, unused otherwise), which would get the default action.
      if (audit === AUDIT_ARCH_S390 || audit === AUDIT_ARCH_S390X) section.push(ins(JEQ, 0, 0, 1), ret(RET_ERRNO_ENOSYS));
      let st: Insn[] =
        toEnosys + 1 <= 255
          ? [ins(JGT, max, toEnosys + 1, 0), ja(toFilter)]
          : [ins(JGT, max, 0, 1), ret(RET_ERRNO_ENOSYS), ja(toFilter)];
      // x86_64 and x32 share the AUDIT_ARCH: the other ABI's calls skip the comparison.
      if (audit === AUDIT_ARCH_X86_64) {
        st = [token === SCMP_ARCH_X32 ? ins(JSET, X32_SYSCALL_BIT, 0, st.length - 1) : ins(JSET, X32_SYSCALL_BIT, st.length - 1, 0), ...st];
      }
      section.push(...st);
    } else {
      const x64 = maxes.get(AUDIT_ARCH_X86_64);
      const x32 = maxes.get(SCMP_ARCH_X32);
      if (audit !== AUDIT_ARCH_X86_64 || maxes.size !== 2 || x64 === undefined || x32 === undefined) {
        throw new TsruncError(`linux.seccomp: unexpected architecture overlap on 0x${audit.toString(16)}`);
      }
      section.push(
        ...(toEnosys + 2 <= 255
          ? [ins(JSET, X32_SYSCALL_BIT, 1, 0), ins(JGT, x64, toEnosys + 2, 1), ins(JGT, x32, toEnosys + 1, 0), ja(toFilter)]
          : [ins(JSET, X32_SYSCALL_BIT, 1, 0), ins(JGT, x64, 1, 2), ins(JGT, x32, 0, 1), ret(RET_ERRNO_ENOSYS), ja(toFilter)]),
      );
    }
    tail = [...section, ...tail];
    fromEnd.set(audit, tail.length);
  }
  // Any other arch goes straight to the filter (its bad-arch action).
  tail = [ja(tail.length), ...tail];
  for (const [audit, at] of fromEnd) {
    const jump = tail.length - at;
    tail = jump <= 255 ? [ins(JEQ, audit, jump, 0), ...tail] : [ins(JEQ, audit, 0, 1), ja(jump), ...tail];
  }
  return [ld(ARCH_OFF), ...tail];
}

// seccomp_export_bpf writes the program in host byte order (s390x: big-endian).
const LE = os.endianness() === 'LE';

/** struct sock_filter[], host byte order. */
export function encodeInsns(p: Insn[]): Buffer {
  const b = Buffer.alloc(p.length * SOCK_FILTER_SIZE);
  p.forEach((i, n) => {
    const o = n * SOCK_FILTER_SIZE;
    if (LE) b.writeUInt16LE(i.code, o);
    else b.writeUInt16BE(i.code, o);
    b.writeUInt8(i.jt, o + 2);
    b.writeUInt8(i.jf, o + 3);
    if (LE) b.writeUInt32LE(i.k >>> 0, o + 4);
    else b.writeUInt32BE(i.k >>> 0, o + 4);
  });
  return b;
}

export function decodeInsns(b: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let o = 0; o + SOCK_FILTER_SIZE <= b.length; o += SOCK_FILTER_SIZE) {
    out.push({ code: LE ? b.readUInt16LE(o) : b.readUInt16BE(o), jt: b.readUInt8(o + 2), jf: b.readUInt8(o + 3), k: LE ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 4) });
  }
  return out;
}

/** The stub in front of libseccomp's program; refused past what the kernel loads. */
export function patchProgram(stub: Insn[], program: Buffer): Buffer {
  if (program.length % SOCK_FILTER_SIZE) throw new TsruncError(`linux.seccomp: the exported program is ${program.length} bytes, not whole instructions`);
  const total = stub.length + program.length / SOCK_FILTER_SIZE;
  if (total > BPF_MAXINSNS) {
    throw new TsruncError(`linux.seccomp: the filter has ${total} instructions (${stub.length} of them the ENOSYS stub), more than the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return stub.length ? Buffer.concat([encodeInsns(stub), program]) : program;
}
