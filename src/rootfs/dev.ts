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

/** What is at `node` (not followed), or undefined when nothing is. */
function lstatNode(node: string): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(node, { bigint: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

const S_IFMT = 0o170000n;

/** "device c 1:3", "a fifo", "a regular file", ...: what is at a path, in the words of the error. */
function describeNode(st: fs.BigIntStats): string {
  const kind = Number(st.mode & S_IFMT);
  if (kind === S_IFCHR || kind === S_IFBLK) {
    const major = ((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn);
    const minor = (st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn);
    return `device ${kind === S_IFCHR ? 'c' : 'b'} ${major}:${minor}`;
  }
  if (kind === S_IFIFO) return 'a fifo';
  return st.isFile() ? 'a regular file' : st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symlink' : 'a socket';
}

function describeWanted(d: DeviceSpec): string {
  return d.type === 'p' ? 'a fifo' : `device ${d.type === 'u' ? 'c' : d.type} ${d.major ?? 0}:${d.minor ?? 0}`;
}

/**
 * config-linux.md: "If a file already exists at path that does not match the
 * requested device, the runtime MUST generate an error." A node of the same
 * type and number is the device, and is kept (runc keeps whatever is there).
 */
function checkExisting(st: fs.BigIntStats, d: DeviceSpec, index: number): void {
  const have = describeNode(st);
  const want = describeWanted(d);
  if (have !== want) throw new TsruncError(`linux.devices[${index}].path: ${d.path} already exists in the rootfs as ${have}, not the requested ${want}`);
}

/** `index`: the device's place in linux.devices, -1 for a default device (kept whatever is there, as runc). */
function createDevice(s: Sys, rootFd: number, d: DeviceSpec, userns: boolean, index: number): void {
  const parent = mkdirAllInRoot(s, rootFd, path.posix.dirname(d.path));
  try {
    const node = `${procFd(parent)}/${path.posix.basename(d.path)}`;
    const existing = index >= 0 ? lstatNode(node) : undefined;
    if (existing) {
      checkExisting(existing, d, index);
      // The image's own node is this device: kept as it is (in a user namespace the host's is bound over it, as runc).
      if (!userns) return;
    }
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
      // A default device's path: whatever the image has there is kept, as runc does.
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
  const own = plan.devices ?? [];
  for (const d of devicesToCreate(own)) createDevice(s, rootFd, d, plan.userns, own.indexOf(d));
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

/**
 * runc's reOpenDevNull, after pivot_root: stdio the caller gave as its own
 * /dev/null (conmon does, read-only, for a container without -i) becomes
 * the container's /dev/null, read-write, so no fd of the program refers to
 * the host's /dev mount.
 */
export function reopenDevNull(s: Sys): void {
  const chars = [0, 1, 2].filter((fd) => {
    try {
      return fs.fstatSync(fd).isCharacterDevice();
    } catch {
      return false; // closed by the caller: stays closed
    }
  });
  if (chars.length === 0) return;
  let nullFd: number;
  try {
    nullFd = fs.openSync('/dev/null', fs.constants.O_RDWR);
  } catch (e) {
    throw new TsruncError(`reopen /dev/null inside the container: ${errnoCode(e) ?? e}`);
  }
  try {
    const rdev = fs.fstatSync(nullFd).rdev;
    for (const fd of chars) if (fs.fstatSync(fd).rdev === rdev) s.dup2(nullFd, fd);
  } finally {
    fs.closeSync(nullFd);
  }
}
