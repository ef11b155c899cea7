// The part of InitPlan about seccomp: a finished program, so init never loads libseccomp.
import type { HookState } from '../hooks.js';

export interface SeccompPlan {
  /** struct sock_filter[] from seccomp_export_bpf, base64. */
  bpf: string;
  /** seccomp(2) SECCOMP_FILTER_FLAG_* (NEW_LISTENER with SCMP_ACT_NOTIFY). */
  flags: number;
  /** SCMP_ACT_NOTIFY: where the listener fd goes, with the container's state. */
  notify?: { listenerPath: string; metadata?: string; state: HookState; ociVersion: string };
  /** Without no_new_privs, loading needs CAP_SYS_ADMIN: load before the user switch/capset drop it. */
  early: boolean;
}
