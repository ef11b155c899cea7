// /dev when it is not bound from the host (runc's createDevices,
// setupDevSymlinks, setupPtmx): the default nodes, linux.devices, and the
// symlinks. Every node is made inside the rootfs through an fd opened there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import { MS, type Sys } from '../sys/linux.js';
import { absDestination, type DeviceSpec, type MountSpec, type RootfsPlan } from './setup.js';
import { errnoCode, mkdirAllInRoot, openMountPoint, procFd } from './safe.js';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** runc's default devices (specconv AllowedDevices with a path): 0666, root-owned. */
export const DEFAULT_DEVICES: DeviceSpec[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
];

/** runc's needsSetupDev: a bind mount at /dev means the caller provides it. */
export function needsDevSetup(mounts: MountSpec[]): boolean {
  return !mounts.some((m) => absDestination(m.destination) === '/dev' && (m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind')));
}

/** The defaults, with a configured device at the same path taking the default's place (runc's specconv). */
export function devicesToCreate(configured: DeviceSpec[] | undefined): DeviceSpec[] {
  const own = configured ?? [];
  const paths = new Set(own.map((d) => path.posix.normalize(d.path)));
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...own];
}

function typeBits(type: string): number {
  switch (type) {
    case 'c':
    case 'u':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      throw new TsruncError(`linux.devices: ${JSON.stringify(type)} is not a device type (c, u, b, p)`);
  }
}

function createDevice(s: Sys, rootFd: number, d: DeviceSpec, userns: boolean): void {
  const parent = mkdirAllInRoot(s, rootFd, path.posix.dirname(d.path));
  try {
    const node = `${procFd(parent)}/${path.posix.basename(d.path)}`;
    if (userns) {
      // mknod is refused in a user namespace: bind the host's node instead (runc's bindMountDeviceNode).
      const fd = openMountPoint(s, rootFd, d.path, true);
      try {
        s.mount(d.path, procFd(fd), 'bind', MS.BIND, null);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    try {
      s.mknod(node, typeBits(d.type) | ((d.fileMode ?? 0o666) & 0o7777), d.type === 'p' ? 0 : (d.major ?? 0), d.type === 'p' ? 0 : (d.minor ?? 0));
    } catch (e) {
      // An image's own node is kept, as runc does.
      if (errnoCode(e) === 'EEXIST') return;
      throw new TsruncError(`create device ${d.path}: ${(e as Error).message}`);
    }
    // mknod applies the umask: set the exact mode, then the owner.
    fs.chmodSync(node, (d.fileMode ?? 0o666) & 0o7777);
    fs.lchownSync(node, d.uid ?? 0, d.gid ?? 0);
  } finally {
    fs.closeSync(parent);
  }
}

export function setupDev(s: Sys, rootFd: number, plan: RootfsPlan): void {
  for (const d of devicesToCreate(plan.devices)) createDevice(s, rootFd, d, plan.userns);
  const dev = mkdirAllInRoot(s, rootFd, '/dev');
  try {
    const links: [string, string][] = [
      ['/proc/self/fd', 'fd'],
      ['/proc/self/fd/0', 'stdin'],
      ['/proc/self/fd/1', 'stdout'],
      ['/proc/self/fd/2', 'stderr'],
    ];
    if (fs.existsSync('/proc/kcore')) links.push(['/proc/kcore', 'core']);
    // runc's setupPtmx: /dev/ptmx is always the devpts instance's ptmx.
    fs.rmSync(`${procFd(dev)}/ptmx`, { force: true });
    links.push(['pts/ptmx', 'ptmx']);
    for (const [target, name] of links) {
      try {
        fs.symlinkSync(target, `${procFd(dev)}/${name}`);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw new TsruncError(`symlink /dev/${name}: ${errnoCode(e) ?? e}`);
      }
    }
  } finally {
    fs.closeSync(dev);
  }
}
