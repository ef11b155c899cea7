// flock(2): advisory whole-file locks that the kernel drops when the holder
// dies, so a crashed command never leaves a container locked.
import { check, libc, SysError } from './ffi.js';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

let flockFn: ((fd: number, op: number) => number) | undefined;

/**
 * Takes (or drops) a lock on fd. Blocks unless LOCK_NB is given; with LOCK_NB
 * returns false when another holder has it.
 */
export function flock(fd: number, op: number): boolean {
  flockFn ??= libc().func('int flock(int fd, int operation)') as unknown as (fd: number, op: number) => number;
  for (;;) {
    try {
      check(flockFn(fd, op), 'flock');
      return true;
    } catch (e) {
      if (e instanceof SysError && e.code === 'EINTR') continue;
      if (e instanceof SysError && (e.code === 'EWOULDBLOCK' || e.code === 'EAGAIN') && op & LOCK_NB) return false;
      throw e;
    }
  }
}
