// linux.readonlyPaths and linux.maskedPaths, applied after pivot_root (as
// runc) to targets opened in the container's root. A masked file gets a
// bind of /dev/null only once that /dev/null is verified to be the null
// device (CVE-2025-31133: an image or a race could make it a symlink to a
// procfs file, and the "mask" would expose that file instead). The fds are
// named to mount(2) through the runtime's verified procfs (thread-self/fd/N),
// not the container's /proc/self/fd, which its config or image may fake.
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import { MS, type Sys } from '../sys/linux.js';
import type { Procfs } from '../sys/procfs.js';
import { remount, type Logger } from './setup.js';
import { errnoCode, openInRoot, openInRootIfExists, rdevOf } from './safe.js';

const NULL_RDEV = { major: 1, minor: 3 };

/** An O_PATH fd of the container's /dev/null, checked to be the 1:3 character device. */
function openNull(s: Sys, rootFd: number): number {
  const fd = openInRoot(s, rootFd, '/dev/null');
  const st = fs.fstatSync(fd, { bigint: true });
  const r = rdevOf(st.rdev);
  if (!st.isCharacterDevice() || r.major !== NULL_RDEV.major || r.minor !== NULL_RDEV.minor) {
    fs.closeSync(fd);
    throw new TsruncError('linux.maskedPaths: the container\'s /dev/null is not the null device (1:3): refusing to mask with it');
  }
  return fd;
}

export function restrictPaths(s: Sys, proc: Procfs, readonly: string[], masked: string[], log: Logger): void {
  if (!readonly.length && !masked.length) return;
  const rootFd = fs.openSync('/', 0o10000000 /* O_PATH */ | fs.constants.O_DIRECTORY | 0o2000000 /* O_CLOEXEC */);
  try {
    proc.withFdPaths(s, (procFd) => restrictAll(s, rootFd, procFd, readonly, masked, log));
  } finally {
    fs.closeSync(rootFd);
  }
}

function restrictAll(s: Sys, rootFd: number, procFd: (fd: number) => string, readonly: string[], masked: string[], log: Logger): void {
  for (const p of readonly) readonlyPath(s, rootFd, procFd, p, log);
  let nullFd: number | undefined;
  try {
    for (const p of masked) {
      const fd = openInRootIfExists(s, rootFd, p);
      // A missing path is skipped, as runc does.
      if (fd === undefined) continue;
      try {
        if (fs.fstatSync(fd).isDirectory()) {
          s.mount('tmpfs', procFd(fd), 'tmpfs', MS.RDONLY, null);
        } else {
          nullFd ??= openNull(s, rootFd);
          s.mount(procFd(nullFd), procFd(fd), null, MS.BIND, null);
        }
      } catch (e) {
        if (e instanceof TsruncError) throw e;
        throw new TsruncError(`mask ${p}: ${(e as Error).message}`);
      } finally {
        fs.closeSync(fd);
      }
    }
  } finally {
    if (nullFd !== undefined) fs.closeSync(nullFd);
  }
}

/** Bound onto itself, then remounted read-only, nosuid, nodev, noexec (kernel-locked flags kept). */
function readonlyPath(s: Sys, rootFd: number, procFd: (fd: number) => string, p: string, log: Logger): void {
  const fd = openInRootIfExists(s, rootFd, p);
  if (fd === undefined) return;
  let top: number | undefined;
  try {
    s.mount(procFd(fd), procFd(fd), null, MS.BIND | MS.REC, null);
    top = openInRoot(s, rootFd, p);
    remount(s, procFd(top), MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      log(`readonlyPaths: ${p} vanished while it was made read-only`);
      return;
    }
    throw new TsruncError(`make ${p} read-only: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
    if (top !== undefined) fs.closeSync(top);
  }
}
