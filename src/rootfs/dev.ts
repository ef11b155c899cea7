// The minimum /dev every container gets when /dev is not bound from the
// host (runc's default device list and symlinks). The spec's own
// linux.devices and the device cgroup belong to the devices work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MS, type Sys } from '../sys/linux.js';
import type { MountSpec } from './setup.js';

const S_IFCHR = 0o020000;

export const DEFAULT_DEVICES: { name: string; major: number; minor: number }[] = [
  { name: 'null', major: 1, minor: 3 },
  { name: 'zero', major: 1, minor: 5 },
  { name: 'full', major: 1, minor: 7 },
  { name: 'random', major: 1, minor: 8 },
  { name: 'urandom', major: 1, minor: 9 },
  { name: 'tty', major: 5, minor: 0 },
];

/** runc's needsSetupDev: a bind mount at /dev means the caller provides it. */
export function needsDevSetup(mounts: MountSpec[]): boolean {
  return !mounts.some((m) => m.destination.replace(/\/+$/, '') === '/dev' && (m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind')));
}

/**
 * In a user namespace mknod is refused, so the host's node is bound onto an
 * empty file instead (what runc does there).
 */
export function setupDev(s: Sys, rootfs: string, userns: boolean, mounts: MountSpec[]): void {
  const dev = path.join(rootfs, 'dev');
  fs.mkdirSync(dev, { recursive: true, mode: 0o755 });
  for (const d of DEFAULT_DEVICES) {
    const p = path.join(dev, d.name);
    if (fs.existsSync(p)) continue;
    if (userns) {
      fs.closeSync(fs.openSync(p, 'w', 0o666));
      s.mount(`/dev/${d.name}`, p, 'bind', MS.BIND, null);
    } else {
      s.mknod(p, S_IFCHR | 0o666, d.major, d.minor);
      // mknod applies the umask; the nodes must be world-usable.
      fs.chmodSync(p, 0o666);
    }
  }
  const links: [string, string][] = [
    ['/proc/self/fd', 'fd'],
    ['/proc/self/fd/0', 'stdin'],
    ['/proc/self/fd/1', 'stdout'],
    ['/proc/self/fd/2', 'stderr'],
  ];
  if (fs.existsSync('/proc/kcore')) links.push(['/proc/kcore', 'core']);
  // With a devpts at /dev/pts, /dev/ptmx must be its ptmx (runc's setupPtmx).
  if (mounts.some((m) => m.type === 'devpts' && m.destination.replace(/\/+$/, '') === '/dev/pts')) {
    fs.rmSync(path.join(dev, 'ptmx'), { force: true });
    links.push(['pts/ptmx', 'ptmx']);
  }
  for (const [target, name] of links) {
    try {
      fs.symlinkSync(target, path.join(dev, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
