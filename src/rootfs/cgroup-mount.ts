// Mounts of type cgroup/cgroup2: the container sees its own cgroup, never
// the host's tree (runc's mountCgroupV1/mountCgroupV2 in rootfs_linux.go).
// Runs in init after the cgroup join and the cgroup namespace unshare, so
// /proc/self/cgroup already names the container's cgroup ("/" inside a
// cgroup namespace).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMountinfo, parseProcCgroup, type CgroupMount } from '../cgroups/hierarchy.js';
import { MS, type Sys } from '../sys/linux.js';
import { resolveInRoot } from './resolve.js';

type Logger = (msg: string) => void;
type Remount = (target: string, flags: number) => void;

const DEFAULT_FLAGS = MS.NOEXEC | MS.NOSUID | MS.NODEV;

const errnoCode = (e: unknown): string | undefined => (e as { code?: string }).code;

export interface CgroupMountSpec {
  destination: string;
  type?: string;
  options?: string[];
}

/** The host's path of our cgroup in a hierarchy whose mount shows `root`; "/" inside our cgroup namespace. */
function ownPath(own: string | undefined, root: string): string {
  const cg = own ?? '/';
  if (root === '/' || root === '') return cg;
  const rel = path.posix.relative(root, cg);
  return rel.startsWith('..') ? '/' : `/${rel}`;
}

/**
 * A fresh mount of the hierarchy when our cgroup is its root as we see it
 * (a cgroup namespace rooted at the container's cgroup: the kernel then
 * shows exactly that subtree), else a bind of the container's cgroup
 * directory from the host's mount, as runc does without a cgroup namespace.
 */
function mountHierarchy(s: Sys, h: CgroupMount, own: string | undefined, target: string, flags: number, remount: Remount): void {
  const cg = ownPath(own, h.root);
  if (cg === '/') {
    if (h.v2) {
      s.mount('cgroup2', target, 'cgroup2', flags, null);
    } else {
      const systemd = h.controllers.length === 1 && h.controllers[0] === 'name=systemd';
      s.mount(systemd ? 'systemd' : 'cgroup', target, 'cgroup', flags, h.controllers.join(','));
    }
    return;
  }
  s.mount(path.posix.join(h.mountpoint, cg), target, 'bind', MS.BIND, null);
  remount(target, MS.BIND | flags);
}

/**
 * `flags` are the mount's parsed options. Read-only unless the mount asks
 * for rw explicitly: a container may not reconfigure its own limits.
 */
export function mountCgroup(s: Sys, rootfs: string, m: CgroupMountSpec, parsedFlags: number, log: Logger, remount: Remount): void {
  const rw = !!m.options?.includes('rw') && !m.options.includes('ro');
  const flags = (parsedFlags & ~MS.RDONLY) | DEFAULT_FLAGS | (rw ? 0 : MS.RDONLY);
  const mounts = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  const self = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  const v1 = mounts.filter((x) => !x.v2 && x.controllers.length > 0);
  const unified = mounts.find((x) => x.v2);
  const dest = resolveInRoot(rootfs, m.destination);
  fs.mkdirSync(dest, { recursive: true, mode: 0o755 });

  if (v1.length === 0) {
    if (!unified) {
      log(`skipping cgroup mount ${m.destination}: no cgroup hierarchy on the host`);
      return;
    }
    try {
      mountHierarchy(s, unified, self[''], dest, flags, remount);
    } catch (e) {
      // runc: without a cgroup namespace of our own the kernel may refuse a
      // fresh cgroup2 mount; the container's directory bound is the same view.
      if (!['EPERM', 'EBUSY'].includes(errnoCode(e) ?? '')) throw e;
      s.mount(path.posix.join(unified.mountpoint, ownPath(self[''], unified.root)), dest, 'bind', MS.BIND, null);
      remount(dest, MS.BIND | flags);
    }
    log(`cgroup mount ${m.destination}: cgroup2 (read-only: ${!rw})`);
    return;
  }

  // v1/hybrid: a tmpfs holding one mount per hierarchy, named as on the host.
  s.mount('tmpfs', dest, 'tmpfs', DEFAULT_FLAGS, 'mode=755');
  // One hierarchy per mount point: a host may mount one twice.
  const seen = new Set<string>();
  let count = 0;
  const merged: string[] = [];
  const hierarchies = [...v1, ...(unified ? [unified] : [])];
  for (const h of hierarchies) {
    const name = path.posix.basename(h.mountpoint);
    const key = h.v2 ? 'unified' : h.controllers.join(',');
    if (seen.has(key) || seen.has(name)) continue;
    seen.add(key).add(name);
    count++;
    const sub = path.join(dest, name);
    fs.mkdirSync(sub, { mode: 0o755 });
    mountHierarchy(s, h, h.v2 ? self[''] : self[h.controllers[0]!], sub, flags, remount);
    if (name.includes(',')) merged.push(name);
  }
  // cpu -> cpu,cpuacct, as the host (and runc) lay it out.
  for (const name of merged) {
    for (const c of name.split(',')) {
      const link = path.join(dest, c);
      if (!fs.existsSync(link)) fs.symlinkSync(name, link);
    }
  }
  if (!rw) remount(dest, MS.BIND | DEFAULT_FLAGS | MS.RDONLY);
  log(`cgroup mount ${m.destination}: ${count} hierarchies (read-only: ${!rw})`);
}
