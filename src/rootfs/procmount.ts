// runc's checkProcMount (CVE-2019-19921, CVE-2025-52881): nothing is
// mounted inside the container's /proc but the few files lxcfs emulates, and
// /proc itself only takes a procfs. A bind there could stand in for a file a
// process writes through (its LSM labels, a sysctl) or hide what the masks
// cover. Judged on where the destination really resolved: an image's symlink
// (/data -> /proc/sys/kernel) counts as /proc. As runc, proc, sysfs, mqueue
// and tmpfs mounts are not checked (a tmpfs over /proc/sys is the config's
// own choice; the runtime's writes no longer go through it: sys/procfs.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import { PROC_SUPER_MAGIC } from '../sys/procfs.js';

const ALLOWED = new Set(['cpuinfo', 'diskstats', 'meminfo', 'stat', 'swaps', 'uptime', 'loadavg', 'slabinfo', 'net/dev', 'sys/kernel/ns_last_pid']);

const UNCHECKED = new Set(['proc', 'sysfs', 'mqueue', 'tmpfs']);

let realRoots: [string, string] | undefined;

/** `resolved`: the host path the destination's fd points at (before pivot_root). */
export function checkProcMount(rootfs: string, resolved: string, destination: string, m: { type?: string; source?: string }, bind: boolean): void {
  if (!bind && UNCHECKED.has(m.type ?? '')) return;
  if (realRoots?.[0] !== rootfs) realRoots = [rootfs, fs.realpathSync(rootfs)];
  const rel = path.relative(path.join(realRoots[1], 'proc'), resolved);
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) return;
  const where = rel === path.relative('/proc', destination) ? JSON.stringify(destination) : `${JSON.stringify(destination)} (resolved to /proc${rel ? `/${rel}` : ''})`;
  if (rel === '') {
    if (!bind) return;
    if (m.source && fs.statfsSync(m.source).type === PROC_SUPER_MAGIC) return;
    throw new TsruncError(`${where} cannot be mounted because it is not of type proc`);
  }
  if (!ALLOWED.has(rel)) throw new TsruncError(`${where} cannot be mounted because it is inside /proc`);
}
