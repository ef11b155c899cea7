// rlimits. runc sets them from the parent (prlimit on the init's pid) once
// the rootfs is ready, because after the user namespace init may lack the
// privilege to raise a hard limit. We do the raising part there too (R, at
// `created`: a hard limit above what the host allows fails `create` with
// runc's message), and set the exact values from init right before execve,
// so Node-init never runs under, e.g., the container's RLIMIT_AS or RLIMIT_CPU.
import { RLIMITS } from '../config/rlimits.js';
import type { Rlimit } from '../config/types.js';
import type { Sys } from '../sys/linux.js';

/** Decimal strings: uint64 values do not survive JSON as numbers. */
export interface RlimitPlan {
  type: number;
  soft: string;
  hard: string;
}

const RLIM_INFINITY = 0xffffffffffffffffn;

function u64(v: number): bigint {
  // JSON numbers above 2^53 lose precision; anything from 2^64-1 up means unlimited.
  if (v >= 2 ** 64 - 1) return RLIM_INFINITY;
  return BigInt(Math.trunc(v));
}

export function planRlimits(rlimits: Rlimit[] | undefined): RlimitPlan[] {
  return (rlimits ?? []).map((r) => ({ type: RLIMITS[r.type]!, soft: String(u64(r.soft)), hard: String(u64(r.hard)) }));
}

function failure(type: number, e: unknown): Error {
  const msg = e instanceof Error ? e.message.replace(/^prlimit \d+: /, '') : String(e);
  return new Error(`error setting rlimit type ${type}: ${msg}`);
}

/** R, on init's pid: the hard limits (the soft ones only lowered where they would exceed them). */
export function raiseHardLimits(s: Sys, pid: number, plan: RlimitPlan[]): void {
  for (const r of plan) {
    const hard = BigInt(r.hard);
    try {
      const cur = s.prlimit(pid, r.type);
      s.prlimit(pid, r.type, { soft: cur.soft > hard ? hard : cur.soft, hard });
    } catch (e) {
      throw failure(r.type, e);
    }
  }
}

/** Init, before execve: the exact values (only lowering now, so it cannot fail for lack of privilege). */
export function applyRlimits(s: Sys, plan: RlimitPlan[]): void {
  for (const r of plan) {
    try {
      s.prlimit(0, r.type, { soft: BigInt(r.soft), hard: BigInt(r.hard) });
    } catch (e) {
      throw failure(r.type, e);
    }
  }
}
