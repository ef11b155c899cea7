// The container's filesystem view, built by init inside its new mount
// namespace (runc's rootfs_linux.go: prepareRoot, mountToRootfs, pivotRoot,
// msMoveRoot, readonly root). All mount(2) calls go through Sys.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import { MNT_DETACH, MS, type Sys } from '../sys/linux.js';
import { bindRemountFlags, lockedFlagsFromStatvfs, parseMountOptions, PROPAGATION } from './options.js';
import { resolveInRoot } from './resolve.js';
import { needsDevSetup, setupDev } from './dev.js';

export interface MountSpec {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
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
}

export type Logger = (msg: string) => void;

const errnoCode = (e: unknown): string | undefined => (e as { code?: string }).code;

function isBind(m: MountSpec): boolean {
  return m.type === 'bind' || !!m.options?.some((o) => o === 'bind' || o === 'rbind');
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
    const p = PROPAGATION[plan.propagation];
    if (p === undefined) throw new TsruncError(`linux.rootfsPropagation: unknown value ${JSON.stringify(plan.propagation)}`);
    flag = p;
  }
  s.mount(null, '/', null, flag, null);
  // Read after the propagation change: with the default rslave nothing is shared any more.
  const parent = mountPointOf(path.dirname(plan.rootfs), mountinfo());
  if (parent && parent.shared) s.mount(null, parent.mountPoint, null, MS.PRIVATE, null);
  s.mount(plan.rootfs, plan.rootfs, 'bind', MS.BIND | MS.REC, null);
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

/** Creates the mount point: a file when binding a file, else a directory. Returns the resolved host path. */
export function createMountPoint(rootfs: string, m: MountSpec): string {
  if (!m.destination.startsWith('/')) throw new TsruncError(`mount destination ${m.destination} is not absolute`);
  const dest = resolveInRoot(rootfs, m.destination);
  if (dest === rootfs) throw new TsruncError(`mount destination ${m.destination} is the container's root`);
  let wantFile = false;
  if (isBind(m) && m.source) {
    try {
      wantFile = !fs.statSync(m.source).isDirectory();
    } catch (e) {
      throw new TsruncError(`mount source ${m.source} for ${m.destination}: ${errnoCode(e) ?? e}`);
    }
  }
  if (fs.existsSync(dest)) return dest;
  try {
    if (wantFile) {
      fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
      fs.closeSync(fs.openSync(dest, fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o644));
    } else {
      fs.mkdirSync(dest, { recursive: true, mode: 0o755 });
    }
  } catch (e) {
    throw new TsruncError(`create mount point ${m.destination}: ${errnoCode(e) ?? e}`);
  }
  return dest;
}

/**
 * A remount that must keep the flags the kernel locked (a mount inherited
 * into a user namespace cannot lose nosuid/nodev/ro...): try as asked, then
 * again with the current locked flags added (runc does the same).
 */
function remount(s: Sys, target: string, flags: number): void {
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
  if (m.type === 'cgroup' || m.type === 'cgroup2') {
    mountCgroup(s, plan, m, opts.flags, log);
    return;
  }
  const dest = createMountPoint(plan.rootfs, m);
  if (isBind(m)) {
    if (!m.source) throw new TsruncError(`bind mount ${m.destination} has no source`);
    s.mount(m.source, dest, 'bind', MS.BIND | (opts.flags & MS.REC), null);
    // MS_BIND ignores ro/nosuid/...: only a remount of the new mount applies them.
    const extra = bindRemountFlags(opts.flags);
    if (extra) remount(s, dest, MS.BIND | extra);
  } else {
    // A tmpfs read-only from the start could not be populated: mount rw, then remount.
    const ro = m.type === 'tmpfs' && opts.flags & MS.RDONLY;
    s.mount(m.source ?? m.type ?? 'none', dest, m.type ?? null, ro ? opts.flags & ~MS.RDONLY : opts.flags, opts.data || null);
    if (ro) remount(s, dest, opts.flags);
  }
  for (const p of opts.propagation) s.mount(null, dest, null, p, null);
}

/**
 * Until the cgroups work lands: the host's cgroup hierarchy, bound read-only
 * (what the container sees of its own cgroup is the cgroups issue's job).
 */
function mountCgroup(s: Sys, plan: RootfsPlan, m: MountSpec, flags: number, log: Logger): void {
  const host = '/sys/fs/cgroup';
  if (!fs.existsSync(host)) {
    log(`skipping cgroup mount ${m.destination}: no ${host} on the host`);
    return;
  }
  const dest = createMountPoint(plan.rootfs, { destination: m.destination, type: 'bind', source: host });
  s.mount(host, dest, 'bind', MS.BIND | MS.REC, null);
  const extra = bindRemountFlags(flags);
  if (extra) remount(s, dest, MS.BIND | extra);
  log(`cgroup mount ${m.destination}: bound the host's ${host} (read-only: ${!!(flags & MS.RDONLY)})`);
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

export function setupRootfs(s: Sys, plan: RootfsPlan, log: Logger): void {
  prepareRoot(s, plan, () => fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  for (const m of plan.mounts) {
    try {
      mountOne(s, plan, m, log);
    } catch (e) {
      if (e instanceof TsruncError) throw e;
      throw new TsruncError(`mount ${m.destination} (type ${m.type ?? 'none'}): ${(e as Error).message}`);
    }
  }
  if (needsDevSetup(plan.mounts)) setupDev(s, plan.rootfs, plan.userns, plan.mounts);
  if (plan.cwd) {
    try {
      fs.mkdirSync(resolveInRoot(plan.rootfs, plan.cwd), { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new TsruncError(`create cwd ${plan.cwd}: ${errnoCode(e) ?? e}`);
    }
  }
  if (plan.noPivot) moveRoot(s, plan.rootfs);
  else pivotRoot(s, plan.rootfs);
  if (plan.readonly) remount(s, '/', MS.BIND | MS.RDONLY);
}
