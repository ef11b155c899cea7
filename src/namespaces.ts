// Namespaces: from the config's list to what tsrunc-nsexec must do.
// Pure planning (no syscalls) except checkJoinPaths, so the ordering rules
// are unit-tested without root.
import * as fs from 'node:fs';
import { TsruncError } from './errors.js';
import { CLONE, type Sys } from './sys/linux.js';

export const NS_FLAG: Record<string, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

// runc's order (configs.NamespaceTypes): user first, because joining any
// namespace owned by another user namespace needs the caps that joining
// that user namespace gives.
const JOIN_ORDER = ['user', 'ipc', 'uts', 'network', 'pid', 'mount', 'cgroup', 'time'];

export interface NamespaceSpec {
  type: string;
  path?: string;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface TimeOffset {
  secs?: number;
  nanosecs?: number;
}

export interface NsJoin {
  type: string;
  flag: number;
  path: string;
}

export interface NamespacePlan {
  joins: NsJoin[];
  /** Types the container gets new (recorded in the state for kill/delete). */
  newTypes: string[];
  /** CLONE_NEW* flags tsrunc-nsexec unshares (cgroup excluded: init does it after the cgroup join). */
  unshareFlags: number;
  /** A new cgroup namespace, unshared by init once it sits in the container's cgroup. */
  newCgroupNs: boolean;
  newUserNs: boolean;
  /** "CLOCK:SECS:NSECS" entries for /proc/self/timens_offsets. */
  timeOffsets: string[];
  /** unshare(PID/TIME) and setns(PID) only take effect for children: nsexec must clone. */
  fork: boolean;
}

export function planNamespaces(
  namespaces: NamespaceSpec[] | undefined,
  timeOffsets?: Record<string, TimeOffset>,
): NamespacePlan {
  const seen = new Set<string>();
  const joins: NsJoin[] = [];
  const newTypes: string[] = [];
  for (const ns of namespaces ?? []) {
    const flag = NS_FLAG[ns.type];
    if (flag === undefined) throw new TsruncError(`linux.namespaces: unknown namespace type ${JSON.stringify(ns.type)}`);
    if (seen.has(ns.type)) throw new TsruncError(`linux.namespaces: duplicate namespace type ${ns.type}`);
    seen.add(ns.type);
    if (ns.path) {
      if (!ns.path.startsWith('/')) throw new TsruncError(`linux.namespaces: ${ns.type} path ${ns.path} is not absolute`);
      joins.push({ type: ns.type, flag, path: ns.path });
    } else {
      newTypes.push(ns.type);
    }
  }
  joins.sort((a, b) => JOIN_ORDER.indexOf(a.type) - JOIN_ORDER.indexOf(b.type));
  if (joins.some((j) => j.type === 'mount')) {
    // nsexec execs Node and init.cjs by host path: in a joined mount namespace
    // those paths may not exist (runc avoids this with a memfd copy of itself).
    throw new TsruncError('linux.namespaces: joining an existing mount namespace is not supported');
  }
  const offsets = Object.entries(timeOffsets ?? {});
  if (offsets.length && !newTypes.includes('time')) {
    throw new TsruncError('linux.timeOffsets requires a new time namespace');
  }
  const timeOffsetArgs = offsets.map(([clock, o]) => {
    if (clock !== 'monotonic' && clock !== 'boottime') throw new TsruncError(`linux.timeOffsets: unknown clock ${clock}`);
    return `${clock}:${Math.trunc(o.secs ?? 0)}:${Math.trunc(o.nanosecs ?? 0)}`;
  });
  let unshareFlags = 0;
  for (const t of newTypes) if (t !== 'cgroup') unshareFlags |= NS_FLAG[t]!;
  return {
    joins,
    newTypes,
    unshareFlags,
    newCgroupNs: newTypes.includes('cgroup'),
    newUserNs: newTypes.includes('user'),
    timeOffsets: timeOffsetArgs,
    fork: newTypes.includes('pid') || newTypes.includes('time') || joins.some((j) => j.type === 'pid'),
  };
}

/** A path of the wrong namespace type is a clear error here, not a bare EINVAL from setns later. */
export function checkJoinPaths(plan: NamespacePlan, s: Sys): void {
  for (const j of plan.joins) {
    let fd: number;
    try {
      fd = fs.openSync(j.path, fs.constants.O_RDONLY);
    } catch (e) {
      throw new TsruncError(`${j.type} namespace path ${j.path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    try {
      let actual: number;
      try {
        actual = s.ioctlNsType(fd);
      } catch {
        throw new TsruncError(`${j.type} namespace path ${j.path} is not a namespace file`);
      }
      if (actual !== j.flag) {
        const name = Object.entries(NS_FLAG).find(([, f]) => f === actual)?.[0] ?? `0x${actual.toString(16)}`;
        throw new TsruncError(`${j.type} namespace path ${j.path} is a ${name} namespace, not a ${j.type} namespace`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

export interface SealOptions {
  /**
   * Run nsexec from a sealed memfd copy and Node-init chrooted in a read-only
   * clone of the mount tree, so that no /proc/<pid> link of a runtime process
   * in the container leads to a writable host file (CVE-2019-5736 class).
   */
  seal?: boolean;
  /** nsexec itself from a sealed memfd copy (~1 ms): its child is seen by container processes before it execs. */
  sealSelf?: boolean;
  /** With seal: the real root stays open at this fd for Node-init to chroot back to. */
  rootFd?: number;
}

/** The argv for tsrunc-nsexec: it does exactly this, in this order. */
export function nsexecArgs(plan: NamespacePlan, syncFd: number, exec: string[], opts: SealOptions = {}): string[] {
  const args = ['--sync-fd', String(syncFd)];
  if (opts.sealSelf) args.push('--seal-self');
  if (opts.seal) args.push('--seal');
  if (opts.seal && opts.rootFd !== undefined) args.push('--root-fd', String(opts.rootFd));
  for (const j of plan.joins) args.push('--join', `0x${j.flag.toString(16)}:${j.path}`);
  if (plan.unshareFlags) args.push('--unshare', `0x${plan.unshareFlags.toString(16)}`);
  for (const o of plan.timeOffsets) args.push('--timens-offset', o);
  if (plan.fork) args.push('--fork');
  args.push('--', ...exec);
  return args;
}

/** Lines for /proc/<pid>/uid_map or gid_map. */
export function formatIdMap(maps: IdMapping[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * Writes the maps of nsexec's fresh user namespace from outside it. setgroups
 * is denied only when the kernel requires it to let us write gid_map, i.e.
 * when we are not privileged (runc: is_rootless_euid && !is_setgroup).
 */
export function writeIdMaps(pid: number, uidMappings: IdMapping[] | undefined, gidMappings: IdMapping[] | undefined, euid: number): void {
  if (!uidMappings?.length) throw new TsruncError('user namespace enabled, but no uid mappings found in linux.uidMappings');
  if (!gidMappings?.length) throw new TsruncError('user namespace enabled, but no gid mappings found in linux.gidMappings');
  if (euid !== 0) fs.writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  const write = (file: string, text: string): void => {
    try {
      fs.writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e) {
      throw new TsruncError(`write ${file} ${JSON.stringify(text.trim())}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  };
  write('uid_map', formatIdMap(uidMappings));
  write('gid_map', formatIdMap(gidMappings));
}
