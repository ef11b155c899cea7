// The five capability sets, applied in runc's order (finalizeNamespace):
// bounding set first (PR_CAPBSET_DROP needs CAP_SETPCAP, which may go
// next), keep-caps across the uid change, then capset and the ambient set.
// Inheritable and ambient are exactly what the config says (CVE-2022-29162:
// never "inherit" the runtime's inheritable set).
import * as fs from 'node:fs';
import { capabilityNumber } from '../config/capabilities.js';
import type { Capabilities } from '../config/types.js';
import type { Sys } from '../sys/linux.js';

export const PR_CAPBSET_DROP = 24;
export const PR_SET_KEEPCAPS = 8;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** Masks as hex strings (JSON carries no bigint); ambient as numbers, raised one by one. */
export interface CapsPlan {
  bounding: string;
  effective: string;
  permitted: string;
  inheritable: string;
  ambient: number[];
}

function mask(names: string[] | undefined): bigint {
  let m = 0n;
  for (const n of names ?? []) {
    const num = capabilityNumber(n);
    if (num !== undefined) m |= 1n << BigInt(num);
  }
  return m;
}

/** No `capabilities` object means no capabilities at all, as with runc. */
export function planCapabilities(caps: Capabilities | undefined): CapsPlan {
  return {
    bounding: mask(caps?.bounding).toString(16),
    effective: mask(caps?.effective).toString(16),
    permitted: mask(caps?.permitted).toString(16),
    inheritable: mask(caps?.inheritable).toString(16),
    ambient: [...new Set((caps?.ambient ?? []).map(capabilityNumber).filter((n): n is number => n !== undefined))],
  };
}

function lastCap(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return 40;
  }
}

/** Before the uid change: drop from the bounding set, and keep the permitted set across setresuid. */
export function dropBoundingSet(s: Sys, plan: CapsPlan, last = lastCap()): void {
  const keep = BigInt(`0x${plan.bounding}`);
  for (let c = 0; c <= last; c++) {
    if (keep & (1n << BigInt(c))) continue;
    try {
      s.prctl5(PR_CAPBSET_DROP, c, 0, 0, 0);
    } catch (e) {
      // EINVAL: a capability this kernel does not know; anything else is real.
      if ((e as { code?: string }).code !== 'EINVAL') throw e;
    }
  }
  s.prctl5(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

/** After the uid change: the exact sets, then the ambient set (which needs them in permitted+inheritable). */
export function applyCapabilities(s: Sys, plan: CapsPlan): void {
  s.prctl5(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  s.capset(BigInt(`0x${plan.effective}`), BigInt(`0x${plan.permitted}`), BigInt(`0x${plan.inheritable}`));
  s.prctl5(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (const c of plan.ambient) {
    try {
      s.prctl5(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
    } catch (e) {
      // runc ignores an ambient capability that is not in permitted and
      // inheritable (EPERM): the kernel's rule, not an error of the config.
      if ((e as { code?: string }).code !== 'EPERM') throw e;
    }
  }
}
