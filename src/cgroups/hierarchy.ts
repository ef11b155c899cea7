// Where the cgroup hierarchies are and where a container's cgroup goes.
// The parsers and the path resolution are pure; the readers at the bottom
// are the only I/O.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';

export type HostMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupMount {
  /** Mount point, e.g. /sys/fs/cgroup/memory */
  mountpoint: string;
  /** The cgroup of the mount's root inside the hierarchy (field 4 of mountinfo), usually "/". */
  root: string;
  /** v1: controllers (and "name=..." hierarchies) on this mount; v2: [] */
  controllers: string[];
  v2: boolean;
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The cgroup and cgroup2 mounts listed in /proc/self/mountinfo. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const fstype = post[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const opts = (post[2] ?? '').split(',');
    const known = new Set(['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'xattr', 'clone_children', 'nsdelegate', 'memory_recursiveprot', 'memory_localevents', 'memory_hugetlb_accounting', 'favordynmods', 'cpuset_v2_mode', 'noprefix']);
    out.push({
      mountpoint: unescapeMount(pre[4] ?? ''),
      root: unescapeMount(pre[3] ?? '/'),
      controllers: fstype === 'cgroup' ? opts.filter((o) => !known.has(o) && !o.startsWith('release_agent=')) : [],
      v2: fstype === 'cgroup2',
    });
  }
  return out;
}

/** /proc/<pid>/cgroup -> controller (v1 names, "name=systemd", or "" for the unified line) -> cgroup path. */
export function parseProcCgroup(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] === '') out[''] = m[3]!;
    else for (const c of m[2]!.split(',')) out[c] = m[3]!;
  }
  return out;
}

/** runc's utils.CleanPath: normalizes and keeps ".." from climbing out, preserving relative-ness. */
export function cleanPath(p: string): string {
  if (p === '') return '';
  let abs = path.posix.normalize(`/${p}`);
  if (abs.length > 1 && abs.endsWith('/')) abs = abs.slice(0, -1);
  if (p.startsWith('/')) return abs;
  const rel = abs.slice(1);
  return rel === '' ? '.' : rel;
}

/** Systemd's "slice:prefix:name" cgroupsPath form. */
export function isSystemdPath(p: string): boolean {
  return /^[^:/]*:[^:/]*:[^:/]*$/.test(p);
}

export interface ResolveInput {
  id: string;
  cgroupsPath?: string;
  mode: HostMode;
  mounts: CgroupMount[];
  /** parsed /proc/self/cgroup of the runtime */
  self: Record<string, string>;
}

/** The v1 hierarchies a container joins, keyed the way /proc/self/cgroup names them. */
export const V1_CONTROLLERS = ['cpuset', 'cpu', 'cpuacct', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc', 'name=systemd'];

/**
 * Directories of the container's cgroup, mirroring runc: no cgroupsPath means
 * a cgroup named after the id; a relative path is taken under the runtime's
 * own cgroup (v1: per hierarchy; v2: its parent, since the runtime's own
 * cgroup holds processes and could not delegate controllers); an absolute
 * path is taken from each hierarchy's root.
 */
export function resolvePaths(inp: ResolveInput): Record<string, string> {
  const inner = cleanPath(inp.cgroupsPath ?? '') || cleanPath(inp.id);
  if (inner === '.' || inner === '/') throw new TsruncError(`invalid cgroupsPath ${JSON.stringify(inp.cgroupsPath)}: it must name a cgroup below the root`);
  const abs = inner.startsWith('/');
  if (inp.mode === 'v2') {
    const m = inp.mounts.find((x) => x.v2);
    const mnt = m?.mountpoint ?? '/sys/fs/cgroup';
    if (abs) return { unified: path.posix.join(mnt, inner) };
    const own = inp.self[''] ?? '/';
    return { unified: path.posix.join(mnt, path.posix.dirname(relToRoot(own, m?.root ?? '/')), inner) };
  }
  const out: Record<string, string> = {};
  for (const m of inp.mounts) {
    if (m.v2) continue;
    for (const c of m.controllers) {
      if (!V1_CONTROLLERS.includes(c)) continue;
      if (abs) out[c] = path.posix.join(m.mountpoint, inner);
      else out[c] = path.posix.join(m.mountpoint, relToRoot(inp.self[c] ?? '/', m.root), inner);
    }
  }
  if (inp.mode === 'hybrid') {
    // systemd's hybrid layout: also give the container a cgroup in the
    // controller-less unified hierarchy, so tools that follow "0::" find it.
    const u = inp.mounts.find((x) => x.v2);
    if (u) out.unified = abs ? path.posix.join(u.mountpoint, inner) : path.posix.join(u.mountpoint, relToRoot(inp.self[''] ?? '/', u.root), inner);
  }
  return out;
}

/** A cgroup path from /proc/self/cgroup as seen below a mount whose root is `root`. */
function relToRoot(cg: string, root: string): string {
  if (root === '/' || root === '') return cg;
  const rel = path.posix.relative(root, cg);
  return rel.startsWith('..') ? '/' : `/${rel}`;
}

// ---- I/O ----

let modeCache: HostMode | undefined;
export function detectMode(statfsType: (p: string) => number): HostMode {
  if (modeCache) return modeCache;
  const CGROUP2 = 0x63677270;
  if (statfsType('/sys/fs/cgroup') === CGROUP2) modeCache = 'v2';
  else {
    let uni = false;
    try {
      uni = statfsType('/sys/fs/cgroup/unified') === CGROUP2;
    } catch {
      /* no unified mount: plain v1 */
    }
    modeCache = uni ? 'hybrid' : 'v1';
  }
  return modeCache;
}

export function readMounts(): CgroupMount[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function readSelfCgroup(): Record<string, string> {
  return parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
}
