// What the runtime decided and init carries out, sent as one message.
// Init makes no decision of its own: every field was validated by R.
import type { Hook } from '../config/types.js';
import type { HookState } from '../hooks.js';
import type { AttrsPlan } from '../process/attrs.js';
import type { MemoryPolicyPlan } from '../process/mempolicy.js';
import type { RootfsPlan } from '../rootfs/setup.js';
import type { SeccompPlan } from '../seccomp/plan.js';

export interface InitPlan {
  rootfs: RootfsPlan;
  /** unshare(CLONE_NEWCGROUP) once R has moved init into the container's cgroups. */
  newCgroupNs: boolean;
  /** Set only with a new UTS namespace. */
  hostname?: string;
  domainname?: string;
  args: string[];
  /** The final environment (config env + LISTEN_FDS/LISTEN_PID). */
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  /** False when setgroups is denied (a user namespace created without privilege). */
  setgroups: boolean;
  /** Host path of the exec fifo (create): its fd follows the plan as SCM_RIGHTS. Absent for run, where `start` comes on the socket. */
  execFifo?: string;
  /** fds 3..3+preservedFds-1 stay open into the container's process. */
  preservedFds: number;
  /** Process attributes: rlimits, capabilities, keyring, ... (src/process/attrs.ts). */
  attrs?: AttrsPlan;
  /** The hooks init runs itself, and the state they get on stdin (status changed by init). */
  hooks?: { createContainer?: Hook[]; startContainer?: Hook[]; state: HookState };
  /** There are create-phase hooks: before pivot_root init sends `hooks`, R runs prestart/createRuntime and answers `hooked`. */
  runtimeHooks?: boolean;
  /** process.terminal: a pty from the container's devpts, the master sent to R. */
  terminal?: { size?: { height: number; width: number } };
  /** linux.memoryPolicy as set_mempolicy's arguments (src/process/mempolicy.ts). */
  memoryPolicy?: MemoryPolicyPlan;
  /** linux.seccomp, compiled by R: init only loads it (src/seccomp/). */
  seccomp?: SeccompPlan;
}
