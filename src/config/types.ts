// The spec's types come only from schemas/ (scripts/gen-schemas.mjs); this
// module is the stable import point, plus the short names used across tsrunc.
export type * from '../generated/types.js';
export type {
  LinuxSeccomp as Seccomp,
  LinuxSyscall as Syscall,
  LinuxDevice as Device,
  POSIXRlimit as Rlimit,
  LinuxCapabilities as Capabilities,
} from '../generated/types.js';
