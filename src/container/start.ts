// `start`: lets a created container's init exec the user's program.
import * as fs from 'node:fs';
import type { GlobalOptions } from '../cli/context.js';
import { TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus, processAlive } from '../state/status.js';
import { log } from '../cli/log.js';
import type { Hook } from '../config/types.js';
import { hookState, runHooks } from '../hooks.js';
import type { ContainerRecord } from '../state/types.js';
import { killAll, removeCgroups, runPoststop } from './delete.js';

export function startContainer(globals: GlobalOptions, id: string): void {
  const handle = openStore(globals.root).open(id);
  try {
    const record = handle.read();
    const status = liveStatus(record);
    // runc's wordings (libcontainer Container.Exec).
    if (status === 'stopped') throw new TsruncError('cannot start a container that has stopped');
    if (status === 'running') throw new TsruncError('cannot start an already running container');
    if (status !== 'created') throw new TsruncError(`cannot start a container in the ${status} state`);
    const fifo = record.internal.execFifo;
    if (!fifo) throw new TsruncError('cannot start a container that has already been started');
    let fd: number;
    try {
      // Non-blocking: with no reader (init died) this fails at once with ENXIO instead of hanging.
      fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENXIO' || code === 'ENOENT') throw new TsruncError('container process is already dead');
      throw e;
    }
    try {
      fs.writeSync(fd, Buffer.from([0]));
    } finally {
      fs.closeSync(fd);
    }
    const hooks = record.internal.hooks as { poststart?: Hook[]; startContainer?: boolean } | undefined;
    const poststart = hooks?.poststart;
    // poststart runs after the program started (runc 1.1 ran it during create), and a failing
    // startContainer hook must fail start: both wait for the exec.
    if ((poststart?.length || hooks?.startContainer) && !waitExec(fifo, record.pid, record.pidStartTime)) {
      throw new TsruncError('container process exited before the user process started');
    }
    fs.rmSync(fifo, { force: true });
    record.status = 'running';
    record.internal.started = true;
    delete record.internal.execFifo;
    handle.write(record);
    if (poststart?.length) {
      try {
        runPoststart(record, poststart);
      } catch (e) {
        destroyAfterFailedStart(record);
        handle.remove();
        runPoststop(record);
        throw e;
      }
    }
  } finally {
    handle.release();
  }
}

/**
 * Init holds the fifo open (close-on-exec) until it execs the user's
 * program: once an O_NONBLOCK open for writing finds no reader, the exec
 * happened (or init died, which the pid check tells apart).
 */
function waitExec(fifo: string, pid: number, startTime: string, timeoutMs = 10_000): boolean {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') return processAlive(pid, startTime);
      throw e;
    }
    Atomics.wait(sleeper, 0, 0, 1);
  }
  return processAlive(pid, startTime);
}

/**
 * runtime.md (1.3): "If any poststart hook fails, the runtime MUST generate
 * an error, stop the container, and continue the lifecycle at step 12"
 * (destroy). runc 1.1 only ran them during create; older spec texts said
 * "log a warning". The first failure stops: the caller destroys.
 */
export function runPoststart(record: { ociVersion: string; id: string; bundle: string; pid: number; annotations?: Record<string, string> }, hooks: Hook[]): void {
  try {
    runHooks('poststart', hooks, hookState(record, record.pid, 'running'));
  } catch (e) {
    throw new TsruncError(`${(e as Error).message}; container stopped`, { cause: e });
  }
}

/** Step 12 after a failed poststart: every process gone, cgroups removed (the caller drops the record). */
export function destroyAfterFailedStart(record: ContainerRecord): void {
  try {
    killAll(record);
    removeCgroups(record);
  } catch (e) {
    log.warn(`destroying ${record.id} after a failed poststart hook: ${(e as Error).message}`);
  }
}
