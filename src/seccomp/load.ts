// Init's half: no libseccomp here, only the finished program for seccomp(2).
import { seccompSetFilter, type Sys } from '../sys/linux.js';
import type { SeccompPlan } from './plan.js';

let listener: number | undefined;

/**
 * SCMP_ACT_NOTIFY: connect to listenerPath while the host's filesystem is
 * still visible (before pivot_root), so a missing listener fails create.
 */
export function connectSeccompListener(s: Sys, plan: SeccompPlan | undefined): void {
  if (!plan?.notify) return;
  try {
    listener = s.connectUnix(plan.notify.listenerPath);
  } catch (e) {
    throw new Error(`linux.seccomp.listenerPath: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Loads the filter; with a listener, sends it the notify fd and the state
 * (runtime.md "containerProcessState"). What runs after this until execve
 * is filtered too: keep it to sendmsg and the caller's last few calls.
 */
export function loadSeccomp(s: Sys, plan: SeccompPlan | undefined): void {
  if (!plan) return;
  const fd = seccompSetFilter(plan.flags, Buffer.from(plan.bpf, 'base64'));
  if (!plan.notify) return;
  const n = plan.notify;
  const sock = listener ?? s.connectUnix(n.listenerPath);
  const msg = {
    ociVersion: n.ociVersion,
    fds: ['seccompFd'],
    pid: n.state.pid,
    metadata: n.metadata ?? '',
    state: n.state,
  };
  // Both fds are close-on-exec (the kernel's listener fd always is): at execve the listener alone holds it.
  s.sendFd(sock, fd, JSON.stringify(msg));
}
