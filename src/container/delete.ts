// `delete`: removes what create made, and nothing else.
import type { GlobalOptions } from '../cli/context.js';
import { log } from '../cli/log.js';
import { TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus, readStartTime } from '../state/status.js';
import type { ContainerRecord } from '../state/types.js';
import { hookState, runHooksCollectingErrors } from '../hooks.js';
import { waitGone } from '../state/wait.js';
import { cgroupOf, containerPids, signalProcess, waitCgroupEmpty } from './kill.js';

const SIGKILL = 9;

/** SIGKILL every process of the container and wait until they are gone. */
export function killAll(record: ContainerRecord): void {
  const cg = cgroupOf(record);
  if (cg) {
    // Frozen first, so nothing forks in between; thawed after, so a paused container's tasks can die.
    cg.killAll(SIGKILL);
    // The init's exit first, blocking on its pidfd: with its own pid namespace
    // the kernel has reaped the rest by then, so the cgroup is empty at the
    // first look instead of after a nap.
    const initGone = !record.pid || waitGone(record.pid, record.pidStartTime);
    if (!waitCgroupEmpty(cg)) throw new TsruncError(`processes of container ${record.id} did not exit after SIGKILL: ${cg.pids().join(' ')}`);
    if (!initGone) throw new TsruncError(`container process ${record.pid} did not exit after SIGKILL`);
    return;
  }
  for (const pid of containerPids(record)) {
    const st = readStartTime(pid);
    if (st) signalProcess(pid, st, SIGKILL);
  }
  if (!waitGone(record.pid, record.pidStartTime)) throw new TsruncError(`container process ${record.pid} did not exit after SIGKILL`);
}

/**
 * Removes the cgroups create made (a joined, pre-existing cgroup stays).
 * Without its own pid namespace the init's death does not take the other
 * processes with it: as runc, they are killed first (only in a cgroup of
 * ours: a shared pre-existing cgroup holds processes that are not ours).
 */
export function removeCgroups(record: ContainerRecord): void {
  const cg = cgroupOf(record);
  if (!cg || !cg.owned()) return;
  if (!record.internal.newNamespaces?.includes('pid') && cg.pids().length) {
    cg.killAll(SIGKILL);
    waitCgroupEmpty(cg);
  }
  cg.destroy();
}

export function deleteContainer(globals: GlobalOptions, id: string, force: boolean): void {
  const store = openStore(globals.root);
  // runc: `delete --force` of an unknown id succeeds, so cleanups can be repeated.
  if (force && !store.exists(id)) {
    store.dir(id);
    return;
  }
  const handle = store.open(id);
  try {
    const record = handle.read();
    const status = liveStatus(record);
    if (status === 'creating') {
      if (!force) throw new TsruncError(`cannot delete container ${id} that is being created`);
      const creator = record.internal.creatorPid;
      const st = typeof creator === 'number' ? readStartTime(creator) : undefined;
      if (creator && st && st === record.internal.creatorStartTime) signalProcess(creator, st, SIGKILL);
      // A create killed after the join left its init in the cgroup.
      if (record.pid || record.internal.cgroupPaths) killAll(record);
    } else if (status !== 'stopped') {
      // The spec's rule (runc only refuses a running one).
      if (!force) throw new TsruncError(`cannot delete container ${id} that is not stopped: ${status}`);
      killAll(record);
    }
    try {
      removeCgroups(record);
    } catch (e) {
      // The record goes anyway: a cgroup left behind must not make the id unusable.
      log.warn(`removing cgroups of ${id}: ${(e as Error).message}`);
    }
    handle.remove();
    runPoststop(record);
  } finally {
    handle.release();
  }
}

/** After the container is gone, before delete returns; a failing hook is a warning and the others still run. */
export function runPoststop(record: ContainerRecord): void {
  const hooks = (record.internal.hooks as { poststop?: import('../config/types.js').Hook[] } | undefined)?.poststop;
  if (!hooks?.length) return;
  for (const w of runHooksCollectingErrors('poststop', hooks, hookState(record, 0, 'stopped'))) log.warn(w);
}
