// The container's filesystem view, built by init inside its new mount
// namespace (runc's rootfs_linux.go: prepareRoot, mountToRootfs, pivotRoot,
// msMoveRoot, finalizeRootfs). All mount(2) calls go through Sys, and every
// target is an fd opened inside the rootfs (./safe.ts), mounted on as
// /proc/self/fd/N.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import { AT_EMPTY_PATH, AT_RECURSIVE, MNT_DETACH, MS, type Sys } from '../sys/linux.js';
import type { Procfs } from '../sys/procfs.js';
import { mountCgroup } from './cgroup-mount.js';
import { copyTree } from './copyup.js';
import { needsDevSetup, setupDev } from './dev.js';
import { checkProcMount } from './procmount.js';
import { bindRemountFlags, lockedFlagsFromStatvfs, parseMountOptions, PROPAGATION } from './options.js';
import { restrictPaths } from './paths.js';
import { errnoCode, mkdirAllInRoot, openInRoot, openMountPoint, openRoot, procFd, sameInode } from './safe.js';
import { writeSysctls } from './sysctl.js';

export interface MountSpec {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** uidMappings/gidMappings were given: an id-mapped mount. */
  idmap?: boolean;
}

export interface DeviceSpec {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface RootfsPlan {
  /** Absolute host path of the rootfs. */
  rootfs: string;
  mounts: MountSpec[];
  /** linux.rootfsPropagation. */
  propagation?: string;
  noPivot: boolean;
  readonly: boolean;
  /** process.cwd: created (inside the rootfs) if missing, before the root may turn read-only. */
  cwd?: string;
  /** A new user namespace: device nodes are bound from the host instead of made. */
  userns: boolean;
  /** linux.devices (created with the default ones when /dev is not bound from the host). */
  devices?: DeviceSpec[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** linux.sysctl, validated by R (only keys of the container's own namespaces). */
  sysctl?: Record<string, string>;
}

export type Logger = (msg: string) => void;

function isBind(m: MountSpec): boolean {
  return m.type === 'bind' || !!m.options?.some((o) => o === 'bind' || o === 'rbind');
}

/** config.md: a relative destination is relative to "/" (deprecated, still accepted). */
export function absDestination(dest: string): string {
  return path.posix.normalize(`/${dest}`).replace(/(.)\/+$/, '$1');
}

/**
 * Mount propagation of "/" (default rslave, so the host's mounts still reach
 * us but ours never leak out), then the rootfs bound onto itself so it is a
 * mount point pivot_root accepts. The rootfs' parent mount must not be
 * shared, or pivot_root fails with EINVAL.
 */
export function prepareRoot(s: Sys, plan: RootfsPlan, mountinfo: () => string): void {
  let flag = MS.SLAVE | MS.REC;
  if (plan.propagation) {
    const p = rootPropagation(plan.propagation);
    // "/" unbindable would make the rootfs bind below fail (EINVAL): the
    // host's mounts are only cut off here, unbindable is set after pivot.
    flag = p & MS.UNBINDABLE ? (p & MS.REC) | MS.PRIVATE : p;
  }
  s.mount(null, '/', null, flag, null);
  // Read after the propagation change: with the default rslave nothing is shared any more.
  // The mount holding the rootfs (the rootfs itself when it is a mount point,
  // as runc's getParentMount) must not be shared for pivot_root. runc makes it
  // private; a slave keeps what "slave" asks for: the root mount receives the host's events.
  const parent = mountPointOf(plan.rootfs, mountinfo());
  if (parent && parent.shared) s.mount(null, parent.mountPoint, null, flag & MS.SLAVE ? MS.SLAVE : MS.PRIVATE, null);
  s.mount(plan.rootfs, plan.rootfs, 'bind', MS.BIND | MS.REC, null);
}

function rootPropagation(name: string): number {
  const p = PROPAGATION[name];
  if (p === undefined) throw new TsruncError(`linux.rootfsPropagation: unknown value ${JSON.stringify(name)}`);
  return p;
}

/**
 * linux.rootfsPropagation applies to the container's root mount, i.e. "/"
 * after pivot_root. runc 1.1 sets it only on the host's "/" before the
 * pivot, where the rootfs' private parent makes "shared" end up private and
 * "unbindable" is lost.
 */
export function applyRootPropagation(s: Sys, plan: RootfsPlan): void {
  if (plan.propagation) s.mount(null, '/', null, rootPropagation(plan.propagation), null);
}

/** The mount holding `dir` (longest mount-point prefix) in a mountinfo text. */
export function mountPointOf(dir: string, mountinfo: string): { mountPoint: string; shared: boolean } | undefined {
  let best: { mountPoint: string; shared: boolean } | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length < 7) continue;
    const mp = unescapeMountinfo(f[4]!);
    const inside = mp === '/' || dir === mp || dir.startsWith(`${mp}/`);
    if (!inside || (best && best.mountPoint.length > mp.length)) continue;
    const sep = f.indexOf('-', 6);
    const optional = f.slice(6, sep < 0 ? undefined : sep);
    best = { mountPoint: mp, shared: optional.some((o) => o.startsWith('shared:')) };
  }
  return best;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * A remount that must keep the flags the kernel locked (a mount inherited
 * into a user namespace cannot lose nosuid/nodev/ro...): try as asked, then
 * again with the current locked flags added (runc does the same).
 */
export function remount(s: Sys, target: string, flags: number): void {
  try {
    s.mount(null, target, null, flags | MS.REMOUNT, null);
  } catch (e) {
    if (errnoCode(e) !== 'EPERM') throw e;
    const locked = lockedFlagsFromStatvfs(s.statvfsFlags(target));
    if ((flags | locked) === flags) throw e;
    s.mount(null, target, null, flags | locked | MS.REMOUNT, null);
  }
}

export function mountOne(s: Sys, plan: RootfsPlan, m: MountSpec, log: Logger): void {
  const opts = parseMountOptions(m.options);
  const destination = absDestination(m.destination);
  if (m.type === 'cgroup' || m.type === 'cgroup2') {
    mountCgroup(s, plan.rootfs, { ...m, destination }, opts.flags, log, (target, flags) => remount(s, target, flags));
    return;
  }
  if (opts.idmap || m.idmap) {
    throw new TsruncError(`mount ${destination}: id-mapped mounts (idmap, ridmap, uidMappings/gidMappings) are not supported by tsrunc`);
  }
  const bind = isBind(m);
  let wantFile = false;
  if (bind) {
    if (!m.source) throw new TsruncError(`bind mount ${destination} has no source`);
    try {
      wantFile = !fs.statSync(m.source).isDirectory();
    } catch (e) {
      throw new TsruncError(`mount source ${m.source} for ${destination}: ${errnoCode(e) ?? e}`);
    }
  }
  const rootFd = openRoot(plan.rootfs);
  const fds: number[] = [];
  try {
    const under = openMountPoint(s, rootFd, destination, wantFile);
    fds.push(under);
    if (sameInode(under, rootFd)) throw new TsruncError(`mount destination ${destination} resolves to the container's root`);
    checkProcMount(plan.rootfs, fs.readlinkSync(procFd(under)), destination, m, bind);
    // A read-only tmpfs must first be populated (tmpcopyup, or /dev's nodes): read-only comes after.
    const deferRo = !bind && !!(opts.flags & MS.RDONLY) && (m.type === 'tmpfs' || opts.tmpcopyup);
    if (bind) {
      s.mount(m.source!, procFd(under), 'bind', MS.BIND | (opts.flags & MS.REC), null);
    } else {
      const flags = deferRo ? opts.flags & ~MS.RDONLY : opts.flags;
      s.mount(m.source ?? m.type ?? 'none', procFd(under), m.type ?? null, flags, opts.data || null);
    }
    // `under` still names the covered directory; the new mount is reached by resolving again.
    const top = openInRoot(s, rootFd, destination);
    fds.push(top);
    if (opts.tmpcopyup) copyTree(procFd(under), procFd(top));
    // MS_BIND ignores ro/nosuid/...: only a remount of the new mount applies them.
    if (bind && bindRemountFlags(opts.flags)) remount(s, procFd(top), MS.BIND | bindRemountFlags(opts.flags));
    // /dev turns read-only in finalizeRootfs, once its nodes exist (runc's order).
    // MS_BIND: read-only per mount, the superblock stays rw (runc's remount, same mountinfo).
    if (deferRo && destination !== '/dev') remount(s, procFd(top), MS.BIND | opts.flags);
    if (opts.recAttrSet || opts.recAttrClr) s.mountSetattr(top, '', AT_EMPTY_PATH | AT_RECURSIVE, opts.recAttrSet, opts.recAttrClr, 0);
    for (const p of opts.propagation) s.mount(null, procFd(top), null, p, null);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    fs.closeSync(rootFd);
  }
}

/** runc's pivotRoot: pivot_root(".", ".") stacks the old root on the new one, then it is detached. */
export function pivotRoot(s: Sys, rootfs: string): void {
  const oldRoot = fs.openSync('/', fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    s.chdir(rootfs);
    s.pivotRoot('.', '.');
    s.fchdir(oldRoot);
    // Keep the unmount below from propagating to the host's mounts.
    s.mount(null, '.', null, MS.SLAVE | MS.REC, null);
    s.umount2('.', MNT_DETACH);
    s.chdir('/');
  } finally {
    fs.closeSync(oldRoot);
  }
}

/** --no-pivot (e.g. a rootfs on the initramfs, where pivot_root is refused). */
export function moveRoot(s: Sys, rootfs: string): void {
  s.chdir(rootfs);
  s.mount(rootfs, '/', null, MS.MOVE, null);
  s.chroot('.');
  s.chdir('/');
}

/**
 * Everything before the hostname is set: mounts, /dev, cwd, pivot_root, the root's propagation.
 * beforePivot runs once the mounts are made and the old root is still visible (the create hooks).
 */
export function setupRootfs(s: Sys, plan: RootfsPlan, log: Logger, beforePivot?: () => void): void {
  prepareRoot(s, plan, () => fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  for (const m of plan.mounts) {
    try {
      mountOne(s, plan, m, log);
    } catch (e) {
      if (e instanceof TsruncError) throw e;
      throw new TsruncError(`mount ${m.destination} (type ${m.type ?? 'none'}): ${(e as Error).message}`);
    }
  }
  const rootFd = openRoot(plan.rootfs);
  try {
    if (needsDevSetup(plan.mounts)) setupDev(s, rootFd, plan);
    if (plan.cwd) {
      try {
        fs.closeSync(mkdirAllInRoot(s, rootFd, plan.cwd));
      } catch (e) {
        throw new TsruncError(`create cwd ${plan.cwd}: ${e instanceof TsruncError ? e.message : (errnoCode(e) ?? e)}`);
      }
    }
  } finally {
    fs.closeSync(rootFd);
  }
  beforePivot?.();
  if (plan.noPivot) moveRoot(s, plan.rootfs);
  else pivotRoot(s, plan.rootfs);
  applyRootPropagation(s, plan);
}

/**
 * After the hostname, in runc's order: sysctls (while /proc/sys is still
 * writable), read-only paths, masked paths, a read-only /dev, the read-only root.
 */
export function finalizeRootfs(s: Sys, proc: Procfs, plan: RootfsPlan, log: Logger): void {
  if (plan.sysctl) writeSysctls(s, proc, plan.sysctl);
  restrictPaths(s, proc, plan.readonlyPaths ?? [], plan.maskedPaths ?? [], log);
  const dev = plan.mounts.find((m) => absDestination(m.destination) === '/dev' && !isBind(m));
  const devFlags = parseMountOptions(dev?.options).flags;
  if (dev?.type === 'tmpfs' && devFlags & MS.RDONLY) remount(s, '/dev', MS.BIND | devFlags);
  if (plan.readonly) remount(s, '/', MS.BIND | MS.RDONLY);
}
