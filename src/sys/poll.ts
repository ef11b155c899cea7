// poll(2) on one fd: lets a caller block until a pidfd reports its process's
// exit instead of re-reading /proc with sleeps in between.
import { check, libc, SysError } from './ffi.js';

const POLLIN = 0x1;

let pollFn: ((fds: Buffer, nfds: number, timeout: number) => number) | undefined;

/** True when fd became readable within timeoutMs; false on timeout. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  pollFn ??= libc().func('int poll(void *fds, unsigned long nfds, int timeout)') as unknown as typeof pollFn;
  const deadline = Date.now() + timeoutMs;
  // struct pollfd { int fd; short events; short revents; }
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  for (;;) {
    const left = Math.max(0, deadline - Date.now());
    try {
      if (check(pollFn!(pfd, 1, left), 'poll') > 0) return true;
      return false;
    } catch (e) {
      if (e instanceof SysError && e.code === 'EINTR' && left > 0) continue;
      throw e;
    }
  }
}
