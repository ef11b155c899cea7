// `delete`: removes what create made, and nothing else.
import type { GlobalOptions } from '../cli/context.js';
import { TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus, readStartTime } from '../state/status.js';
import type { ContainerRecord } from '../state/types.js';
import { waitGone } from './create.js';
import { containerPids, signalProcess } from './kill.js';

const SIGKILL = 9;

/** SIGKILL every process of the container and wait until they are gone. */
export function killAll(record: ContainerRecord): void {
  for (const pid of containerPids(record)) {
    const st = readStartTime(pid);
    if (st) signalProcess(pid, st, SIGKILL);
  }
  if (!waitGone(record.pid, record.pidStartTime)) throw new TsruncError(`container process ${record.pid} did not exit after SIGKILL`);
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
    } else if (status !== 'stopped') {
      // The spec's rule (runc only refuses a running one).
      if (!force) throw new TsruncError(`cannot delete container ${id} that is not stopped: ${status}`);
      killAll(record);
    }
    // cgroups: remove the container's cgroups here (record.internal.cgroupPaths).
    handle.remove();
  } finally {
    handle.release();
  }
}
