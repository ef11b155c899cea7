// What R sends Node-init in exec mode: the process part of an InitPlan (the
// container already exists, so no rootfs, fifo or create-phase hooks).
import type { InitPlan } from '../init/plan.js';

export type ProcessPlan = Omit<InitPlan, 'rootfs' | 'newCgroupNs' | 'hostname' | 'domainname' | 'execFifo' | 'runtimeHooks'>;

export interface ExecPlan extends ProcessPlan {
  /** fd (in init) of the container's mount namespace, opened by R from /proc/<init>/ns/mnt. */
  mntNsFd: number;
}
