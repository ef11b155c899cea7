// Paths inside the rootfs, opened race-free with openat2(RESOLVE_IN_ROOT):
// the kernel resolves every symlink and ".." as if the rootfs were "/", so a
// hostile image (/proc -> /, mnt -> ../../..) can never make a mount land on
// the host. Mounts then target /proc/self/fd/N, the exact object opened
// (runc's approach since 1.1 with filepath-securejoin's MkdirAllInRoot).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import { RESOLVE, type Sys } from '../sys/linux.js';
import { resolveInRoot } from './resolve.js';

const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
export const O_NOFOLLOW = 0o400000;
const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;

export const errnoCode = (e: unknown): string | undefined => (e as { code?: string }).code;

export function procFd(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** An O_PATH fd of the rootfs directory itself (the "/" of every in-root lookup). */
export function openRoot(rootfs: string): number {
  return fs.openSync(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/** O_PATH fd of `p` resolved inside the root at rootFd (throws ENOENT when missing). */
export function openInRoot(s: Sys, rootFd: number, p: string, flags = 0): number {
  return s.openat2(rootFd, p, O_PATH | O_CLOEXEC | flags, 0, IN_ROOT);
}

/** The same open, or undefined when the path does not exist. */
export function openInRootIfExists(s: Sys, rootFd: number, p: string): number | undefined {
  try {
    return openInRoot(s, rootFd, p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * mkdir -p inside the root. The path is first made symlink-free by
 * expanding links relative to the root (so a dangling link such as
 * /evil -> /tmp/x creates rootfs/tmp/x, as filepath-securejoin does); the
 * longest existing prefix is opened in-root, then each missing component is
 * made (0755) in the directory just opened and opened with
 * RESOLVE_NO_SYMLINKS: a link swapped in meanwhile fails, never escapes.
 * Returns an O_PATH fd of the directory.
 */
export function mkdirAllInRoot(s: Sys, rootFd: number, p: string): number {
  const root = fs.readlinkSync(procFd(rootFd));
  const parts = components(path.relative(root, resolveInRoot(root, p)));
  let have = parts.length;
  let fd: number | undefined;
  for (; have >= 0; have--) {
    try {
      fd = openInRoot(s, rootFd, `/${parts.slice(0, have).join('/')}`, O_DIRECTORY);
      break;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw new TsruncError(`open ${p} in the rootfs: ${errnoCode(e) ?? e}`);
    }
  }
  if (fd === undefined) throw new TsruncError(`open ${p} in the rootfs: the root itself is gone`);
  try {
    for (const part of parts.slice(have)) {
      try {
        fs.mkdirSync(`${procFd(fd)}/${part}`, 0o755);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw new TsruncError(`mkdir ${p} in the rootfs: ${errnoCode(e) ?? e}`);
      }
      let next: number;
      try {
        next = s.openat2(fd, part, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS);
      } catch (e) {
        throw new TsruncError(`mkdir ${p} in the rootfs: ${part}: ${errnoCode(e) ?? e}`);
      }
      fs.closeSync(fd);
      fd = next;
    }
    const out = fd;
    fd = undefined;
    return out;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * O_PATH fd of the mount point `p`, created when missing: an empty file
 * when a file is to be bound there, else a directory.
 */
export function openMountPoint(s: Sys, rootFd: number, p: string, wantFile: boolean): number {
  const fd = openInRootIfExists(s, rootFd, p);
  if (fd !== undefined) return fd;
  if (!wantFile) return mkdirAllInRoot(s, rootFd, p);
  const parent = mkdirAllInRoot(s, rootFd, path.posix.dirname(`/${components(p).join('/')}`));
  // A dangling symlink as the last component: openInRoot said ENOENT, O_NOFOLLOW below says ELOOP.
  try {
    const name = path.posix.basename(p);
    try {
      fs.closeSync(fs.openSync(`${procFd(parent)}/${name}`, fs.constants.O_CREAT | fs.constants.O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644));
    } catch (e) {
      throw new TsruncError(`create mount point ${p}: ${errnoCode(e) ?? e}`);
    }
    return s.openat2(parent, name, O_PATH | O_CLOEXEC, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS);
  } finally {
    fs.closeSync(parent);
  }
}

/** True when fd is the same inode as rootFd (a destination that resolves to the root itself). */
export function sameInode(a: number, b: number): boolean {
  const x = fs.fstatSync(a);
  const y = fs.fstatSync(b);
  return x.dev === y.dev && x.ino === y.ino;
}

/** glibc's gnu_dev_major/minor (dev_t is 64-bit: BigInt, JS shifts are 32-bit). */
export function rdevOf(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}
