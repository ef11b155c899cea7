// linux.memoryPolicy (runtime-spec 1.3): the container process's NUMA policy,
// set_mempolicy(2). R turns the config into numbers (planMemoryPolicy) and
// checks the nodes against the host; Node-init sets it on its main thread,
// the one that execs, before `created` so a policy the kernel refuses fails
// create, and before seccomp, so the container's own profile (Docker's denies
// set_mempolicy without CAP_SYS_NICE) cannot filter it. A task's policy
// survives execve: the program starts with it.
import type { LinuxMemoryPolicy } from '../config/types.js';
import { TsruncError } from '../errors.js';
import type { Sys } from '../sys/linux.js';

/** <linux/mempolicy.h> */
const MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
const FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

/** The kernel refuses a mask wider than a page of bits (get_nodes). */
const MAX_NODE = 32767;

export interface MemoryPolicyPlan {
  /** The mode with its MPOL_F_* flags or'd in: set_mempolicy's first argument. */
  mode: number;
  nodes: number[];
  /** The config's own words, for the error when the kernel refuses it. */
  text: string;
}

/** A kernel node list ("0-3,7"; "" is none) as node ids, ascending. */
export function parseNodeList(list: string, field = 'linux.memoryPolicy.nodes'): number[] {
  const nodes = new Set<number>();
  if (list.trim() === '') return [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new TsruncError(`${field}: invalid node list ${JSON.stringify(list)} (want e.g. "0-3,7")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new TsruncError(`${field}: invalid range ${JSON.stringify(part.trim())} in ${JSON.stringify(list)}`);
    if (hi > MAX_NODE) throw new TsruncError(`${field}: node ${hi} is beyond what the kernel accepts (${MAX_NODE})`);
    for (let n = lo; n <= hi; n++) nodes.add(n);
  }
  return [...nodes].sort((a, b) => a - b);
}

/**
 * The config as set_mempolicy's arguments. `online` (the host's
 * /sys/devices/system/node/online) makes a node the host lacks an error
 * here: the kernel itself only refuses a mask with no usable node at all
 * ("0,5" would quietly become "0"). Relative and static node masks are
 * not host node ids, so they are left to the kernel.
 */
export function planMemoryPolicy(mp: LinuxMemoryPolicy, online?: number[]): MemoryPolicyPlan {
  const mode = MODES[mp.mode];
  if (mode === undefined) throw new TsruncError(`linux.memoryPolicy.mode: unknown mode ${JSON.stringify(mp.mode)} (one of ${Object.keys(MODES).join(', ')})`);
  let flags = 0;
  (mp.flags ?? []).forEach((f, i) => {
    const bit = FLAGS[f];
    if (bit === undefined) throw new TsruncError(`linux.memoryPolicy.flags[${i}]: unknown flag ${JSON.stringify(f)} (one of ${Object.keys(FLAGS).join(', ')})`);
    flags |= bit;
  });
  const nodes = parseNodeList(mp.nodes ?? '');
  if (online && !(flags & (FLAGS.MPOL_F_RELATIVE_NODES! | FLAGS.MPOL_F_STATIC_NODES!))) {
    const have = new Set(online);
    const missing = nodes.filter((n) => !have.has(n));
    if (missing.length) {
      throw new TsruncError(`linux.memoryPolicy.nodes: node${missing.length > 1 ? 's' : ''} ${missing.join(',')} not online on this host (online: ${online.join(',') || 'none'})`);
    }
  }
  const text = [`mode ${mp.mode}`, ...(mp.nodes ? [`nodes ${JSON.stringify(mp.nodes)}`] : []), ...(mp.flags?.length ? [`flags ${mp.flags.join('|')}`] : [])].join(', ');
  return { mode: mode | flags, nodes, text };
}

/** The host's online NUMA nodes, or undefined when the kernel has no NUMA (then set_mempolicy decides). */
export function onlineNodes(read: (file: string) => string): number[] | undefined {
  try {
    return parseNodeList(read('/sys/devices/system/node/online').trim(), '/sys/devices/system/node/online');
  } catch {
    return undefined;
  }
}

export function applyMemoryPolicy(s: Sys, plan: MemoryPolicyPlan): void {
  try {
    s.setMempolicy(plan.mode, plan.nodes);
  } catch (e) {
    throw new TsruncError(`linux.memoryPolicy: the kernel refused ${plan.text}: ${(e as Error).message}`, { cause: e });
  }
}
