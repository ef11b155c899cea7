// linux.intelRdt. tsrunc does not manage resctrl groups yet (features:
// intelRdt.enabled=false), and an intelRdt it would silently ignore breaks
// the spec's MUST ("write the container process ID to the tasks file"), so
// create refuses it, before anything exists on the host: with runc's words
// when no resctrl filesystem is mounted (config-linux.md: then "the runtime
// MUST generate an error"), and as not implemented when one is.
import type { LinuxIntelRdt } from '../config/types.js';
import { TsruncError } from '../errors.js';

/** Mount points of resctrl filesystems in a /proc/self/mountinfo text. */
export function resctrlMounts(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'resctrl') out.push(pre!.split(' ')[4]!);
  }
  return out;
}

export function checkIntelRdt(rdt: LinuxIntelRdt | undefined, mountinfo: () => string): void {
  if (!rdt) return;
  const mounts = resctrlMounts(mountinfo());
  if (mounts.length === 0) {
    throw new TsruncError('linux.intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled (no resctrl filesystem is mounted)');
  }
  throw new TsruncError(`linux.intelRdt: resctrl groups are not implemented by tsrunc yet (resctrl is mounted at ${mounts[0]})`);
}
