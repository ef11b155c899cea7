// A procfs the container cannot have touched, for every write the runtime
// makes to /proc (sysctls, LSM labels) and for naming our own fds to mount(2)
// (thread-self/fd/N) once the container's /proc is the only one in view.
// The container's /proc is built from its config and image: a mount over
// /proc/sys/kernel/x, a bind of a host file over /proc/self/attr/exec, or a
// plain directory in an image without a proc mount would silently swallow or
// redirect such a write (CVE-2019-16884, CVE-2019-19921, CVE-2025-52881).
//
// Preferred: a private procfs instance, fsopen("proc") + fsmount, attached
// nowhere (no mount namespace holds it, so nothing can be mounted on top of
// it). Else (old kernel, a user namespace refusing it) the "/proc" given,
// opened while it is still the runtime's own. Either way the handle must be a
// procfs root (fstatfs PROC_SUPER_MAGIC, inode 1), and every open below it
// stays on that one mount (RESOLVE_NO_XDEV: an overmount fails instead of
// being written through), follows no magic link, and is checked again with
// fstatfs (as filepath-securejoin's pathrs-lite and libpathrs do).
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import { check, libc } from './ffi.js';
import { RESOLVE, type Sys } from './linux.js';

const SYS_fsopen = 430;
const SYS_fsconfig = 431;
const SYS_fsmount = 432;
const FSOPEN_CLOEXEC = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;
export const PROC_SUPER_MAGIC = 0x9fa0;
const PROC_ROOT_INO = 1;
const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;
const BELOW = RESOLVE.BENEATH | RESOLVE.NO_XDEV | RESOLVE.NO_MAGICLINKS;

type Fn = (...args: unknown[]) => number;
let syscallFn: Fn | undefined;
let fstatfsFn: Fn | undefined;
const syscall = (): Fn => (syscallFn ??= libc().func('long syscall(long, ...)') as unknown as Fn);

/** f_type of the filesystem holding fd (struct statfs starts with a long f_type). */
export function fsType(fd: number): number {
  fstatfsFn ??= libc().func('int fstatfs(int, void *)') as unknown as Fn;
  const buf = Buffer.alloc(120);
  check(fstatfsFn(fd, buf), 'fstatfs');
  return Number(buf.readBigInt64LE(0));
}

function privateProcfs(): number {
  const f = syscall();
  const ctx = check(Number(f(SYS_fsopen, 'const char *', 'proc', 'unsigned int', FSOPEN_CLOEXEC)), 'fsopen', 'proc');
  try {
    check(Number(f(SYS_fsconfig, 'int', ctx, 'unsigned int', FSCONFIG_CMD_CREATE, 'void *', null, 'void *', null, 'int', 0)), 'fsconfig', 'proc');
    return check(Number(f(SYS_fsmount, 'int', ctx, 'unsigned int', FSMOUNT_CLOEXEC, 'unsigned int', MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)), 'fsmount', 'proc');
  } finally {
    fs.closeSync(ctx);
  }
}

export class Procfs {
  private constructor(
    readonly fd: number,
    /** "fsopen": a private instance; else the path it was opened from. */
    readonly origin: string,
  ) {}

  /**
   * A private instance (of the caller's pid namespace: thread-self is ours),
   * else `fallback` opened now; refused unless it is a procfs root.
   * (`tryPrivate` false: the fallback only, for the tests of its checks.)
   */
  static open(fallback = '/proc', tryPrivate = true): Procfs {
    let fd: number;
    let origin = 'fsopen';
    try {
      if (!tryPrivate) throw new Error('fallback asked for');
      fd = privateProcfs();
    } catch {
      origin = fallback;
      fd = fs.openSync(fallback, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    try {
      const type = fsType(fd);
      const ino = fs.fstatSync(fd).ino;
      if (type !== PROC_SUPER_MAGIC || ino !== PROC_ROOT_INO) {
        throw new TsruncError(`${origin} is not a procfs root (f_type 0x${type.toString(16)}, inode ${ino}): refusing to write to it`);
      }
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new Procfs(fd, origin);
  }

  /** `rel` (e.g. "sys/kernel/domainname") on this procfs only, never through a symlink, magic link or overmount. */
  openFile(s: Sys, rel: string, flags: number): number {
    const fd = s.openat2(this.fd, rel, flags | O_NOFOLLOW | O_CLOEXEC, 0, BELOW);
    try {
      if (fsType(fd) !== PROC_SUPER_MAGIC) throw new TsruncError(`/proc/${rel} is not on procfs: refusing to write to it`);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  }

  /** One write(2) of `value` (procfs files take a value in one write) to /proc/`rel`. */
  write(s: Sys, rel: string, value: string): void {
    const fd = this.openFile(s, rel, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Runs fn with the cwd at this procfs root, so the relative path
   * `fdPath(n)` = "thread-self/fd/n" names our fd n for path-only calls
   * (mount(2) source and target) without the container's /proc. The cwd
   * (shared with libuv's idle threads) is restored before returning.
   */
  withFdPaths<T>(s: Sys, fn: (fdPath: (fd: number) => string) => T): T {
    const saved = fs.openSync('.', O_PATH | O_DIRECTORY | O_CLOEXEC);
    try {
      s.fchdir(this.fd);
      try {
        return fn((fd) => `thread-self/fd/${fd}`);
      } finally {
        s.fchdir(saved);
      }
    } finally {
      fs.closeSync(saved);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
