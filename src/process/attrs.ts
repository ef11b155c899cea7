// Process attributes other than user/caps/rlimits: what R decides (planAttrs)
// and what Node-init applies, each at runc's point (standard_init_linux.go):
//   early in init:  session keyring, execCPUAffinity.initial
//   before created: apparmor exec profile (fails create, as with runc)
//   after start:    no_new_privs, personality, scheduler, ioPriority,
//                   then (main.ts) rlimits, bounding set, user, capabilities,
//                   startContainer hooks, execCPUAffinity.final, execve.
// Every call here acts on the calling thread or the whole process; init's
// main thread is the one that execs, so per-thread state reaches the program.
import * as fs from 'node:fs';
import type { Spec } from '../config/types.js';
import { TsruncError } from '../errors.js';
import { sys, type Sys } from '../sys/linux.js';
import { Procfs } from '../sys/procfs.js';
import { planCapabilities, type CapsPlan } from './capabilities.js';
import { planRlimits, type RlimitPlan } from './rlimits.js';

export const PR_SET_NO_NEW_PRIVS = 38;
const O_PATH = 0o10000000;

export interface AttrsPlan {
  rlimits: RlimitPlan[];
  caps: CapsPlan;
  noNewPrivileges: boolean;
  /** Session keyring to join ("_ses.<id>") and the permission bits to add; absent with --no-new-keyring. */
  keyring?: { name: string; perm: number };
  apparmorProfile?: string;
  personality?: number;
  /** ioprio value: class << 13 | priority. */
  ioPriority?: number;
  scheduler?: { policy: number; flags: string; nice: number; priority: number; runtime: string; deadline: string; period: string };
  cpusInitial?: number[];
  cpusFinal?: number[];
}

const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const PER_LINUX = 0x0000;
const PER_LINUX32 = 0x0008;

/** "0-3,7" → [0,1,2,3,7] (validated by the config checks already). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a)!; c++) out.push(c);
  }
  return out;
}

export function planAttrs(spec: Spec, id: string, opts: { noNewKeyring: boolean; userns: boolean }): AttrsPlan {
  const proc = spec.process!;
  const plan: AttrsPlan = {
    rlimits: planRlimits(proc.rlimits),
    caps: planCapabilities(proc.capabilities),
    noNewPrivileges: !!proc.noNewPrivileges,
  };
  // runc's getSessionRingParams: "search" for the owner (possessor) outside a
  // user namespace, for "other" inside one (the owner's uid is unmapped there).
  if (!opts.noNewKeyring) plan.keyring = { name: `_ses.${id}`, perm: opts.userns ? 0x8 : 0x80000 };
  if (proc.apparmorProfile) plan.apparmorProfile = proc.apparmorProfile;
  const pers = spec.linux?.personality;
  if (pers) plan.personality = pers.domain === 'LINUX32' ? PER_LINUX32 : PER_LINUX;
  if (proc.ioPriority) plan.ioPriority = (IOPRIO_CLASS[proc.ioPriority.class]! << 13) | (proc.ioPriority.priority ?? 0);
  const sc = proc.scheduler;
  if (sc) {
    plan.scheduler = {
      policy: SCHED_POLICY[sc.policy]!,
      flags: String((sc.flags ?? []).reduce((m, f) => m | (SCHED_FLAG[f] ?? 0), 0)),
      nice: sc.nice ?? 0,
      priority: sc.priority ?? 0,
      runtime: String(sc.runtime ?? 0),
      deadline: String(sc.deadline ?? 0),
      period: String(sc.period ?? 0),
    };
  }
  const aff = proc.execCPUAffinity;
  if (aff?.initial) plan.cpusInitial = parseCpuList(aff.initial);
  if (aff?.final) plan.cpusFinal = parseCpuList(aff.final);
  return plan;
}

const KEYCTL_SETPERM = 5;
const KEYCTL_DESCRIBE = 6;
const KEYCTL_JOIN_SESSION_KEYRING = 1;

/** A new session keyring named after the container, so containers do not share the host's. */
export function joinSessionKeyring(s: Sys, k: { name: string; perm: number }): void {
  let id: number;
  try {
    id = s.keyctl(KEYCTL_JOIN_SESSION_KEYRING, k.name);
  } catch (e) {
    // Kernels or seccomp profiles without keyrings: runc carries on (ENOSYS).
    if ((e as { code?: string }).code === 'ENOSYS') return;
    throw new Error(`unable to join session keyring: ${(e as Error).message}`);
  }
  // KEYCTL_DESCRIBE: "type;uid;gid;perm;description"; then add the search bit(s).
  const buf = Buffer.alloc(512);
  const n = s.keyctl(KEYCTL_DESCRIBE, id, buf, buf.length);
  const perm = parseInt(buf.toString('utf8', 0, Math.max(0, n - 1)).split(';')[3] ?? '', 16);
  if (!Number.isFinite(perm)) throw new Error('unable to mod keyring permissions: cannot parse the keyring description');
  s.keyctl(KEYCTL_SETPERM, id, (perm | k.perm) >>> 0);
}

/**
 * runc's apparmor.ApplyProfile: the profile takes effect at execve; with AppArmor off the write fails.
 * Through the verified procfs (thread-self: the attr is per thread, and the main thread execs), so a
 * mount or a file the container put at /proc/self/attr/... cannot swallow it (CVE-2025-52881).
 */
export function applyApparmor(profile: string, given?: Procfs): void {
  const s = sys();
  const proc = given ?? Procfs.open();
  try {
    writeApparmor(s, proc, profile);
  } finally {
    if (!given) proc.close();
  }
}

function writeApparmor(s: Sys, proc: Procfs, profile: string): void {
  let attr = 'thread-self/attr/apparmor/exec';
  try {
    fs.closeSync(proc.openFile(s, attr, O_PATH));
  } catch {
    attr = 'thread-self/attr/exec';
  }
  try {
    proc.write(s, attr, `exec ${profile}`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const text = code === 'EINVAL' ? 'invalid argument' : code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
    throw new Error(`unable to apply apparmor profile: apparmor failed to apply profile: write /proc/${attr.replace('thread-self', 'self')}: ${text}`);
  }
}

/** After start, before the uid change (scheduler and I/O class may need CAP_SYS_NICE/CAP_SYS_ADMIN). */
export function applyPrivilegedAttrs(s: Sys, a: AttrsPlan): void {
  if (a.noNewPrivileges) s.prctl5(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (a.personality !== undefined) {
    try {
      s.personality(a.personality);
    } catch (e) {
      throw new Error(`unable to set personality: ${(e as Error).message}`);
    }
  }
  if (a.scheduler) {
    const sc = a.scheduler;
    try {
      s.schedSetattr({
        policy: sc.policy,
        flags: BigInt(sc.flags),
        nice: sc.nice,
        priority: sc.priority,
        runtime: BigInt(sc.runtime),
        deadline: BigInt(sc.deadline),
        period: BigInt(sc.period),
      });
    } catch (e) {
      throw new Error(`error setting scheduler: ${(e as Error).message}`);
    }
  }
  if (a.ioPriority !== undefined) {
    try {
      s.ioprioSet(a.ioPriority);
    } catch (e) {
      throw new Error(`failed to set io priority: ${(e as Error).message}`);
    }
  }
}

export function setAffinity(s: Sys, cpus: number[] | undefined, which: string): void {
  if (!cpus) return;
  try {
    s.schedSetaffinity(cpus);
  } catch (e) {
    throw new Error(`error setting ${which} CPU affinity: ${(e as Error).message}`);
  }
}

/** R side, before anything exists: runc's validator refuses an SELinux label when SELinux is off. */
export function checkLsm(proc: { selinuxLabel?: string }): void {
  if (proc.selinuxLabel && !fs.existsSync('/sys/fs/selinux/enforce')) {
    throw new TsruncError('selinux label is specified in config, but selinux is disabled or not supported');
  }
}

/**
 * R side, on init's pid as soon as it exists (runc writes it in nsexec,
 * before the user namespace): lowering it needs CAP_SYS_RESOURCE on the host.
 */
export function writeOomScoreAdj(pid: number, value: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new TsruncError(`failed to set oom_score_adj to ${value}: ${code === 'EACCES' ? 'permission denied (lowering it needs CAP_SYS_RESOURCE)' : (e as Error).message}`);
  }
}
