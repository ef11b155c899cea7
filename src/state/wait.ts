// Waiting for a process to exit, for delete and create's cleanups.
import { closeSync } from 'node:fs';
import { sys } from '../sys/linux.js';
import { waitReadable } from '../sys/poll.js';
import { processAlive } from './status.js';

/**
 * True once pid (with that start time, if given) is gone or a zombie; false
 * after timeoutMs. Blocks on a pidfd, which turns readable when the process
 * exits: no sleep-polling, so no up-to-one-nap delay after the exit. Falls
 * back to polling /proc where pidfds are missing (Linux < 5.3).
 */
export function waitGone(pid: number, startTime?: string, timeoutMs = 5000): boolean {
  if (!processAlive(pid, startTime)) return true;
  let pidfd: number | undefined;
  try {
    pidfd = sys().pidfdOpen(pid);
  } catch (e) {
    if ((e as { code?: string }).code === 'ESRCH') return true;
  }
  if (pidfd !== undefined) {
    try {
      // The pid may have been recycled between the check and the open: the pidfd must be of the same process.
      if (!processAlive(pid, startTime)) return true;
      return waitReadable(pidfd, timeoutMs) || !processAlive(pid, startTime);
    } finally {
      closeSync(pidfd);
    }
  }
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (processAlive(pid, startTime)) {
    if (Date.now() > deadline) return false;
    Atomics.wait(sleeper, 0, 0, 2);
  }
  return true;
}
