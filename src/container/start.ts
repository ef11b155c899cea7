// `start`: lets a created container's init exec the user's program.
import * as fs from 'node:fs';
import type { GlobalOptions } from '../cli/context.js';
import { TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus } from '../state/status.js';
import { FIONREAD, sys } from '../sys/linux.js';
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
    const hooks = record.internal.hooks as { poststart?: Hook[]; startContainer?: boolean } | undefined;
    const poststart = hooks?.poststart;
    // poststart runs after the program started (runc 1.1 ran it during create), and a failing
    // startContainer hook must fail start: both wait for the exec.
    const failure = signalStart(fifo, Boolean(poststart?.length || hooks?.startContainer));
    if (failure !== undefined) {
      fs.rmSync(fifo, { force: true });
      throw new TsruncError(`container process failed before the user process started: ${failure}`);
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
 * Writes the start byte. With `waitExec`, also waits until init's fifo fd
 * closes at execve; returns the note init leaves there when it fails before
 * (a program that ran and exited at once is no failure). Our reader is
 * opened only once init took the start byte, so it cannot steal it.
 */
function signalStart(fifo: string, waitExec: boolean, timeoutMs = 10_000): string | undefined {
  let w: number;
  try {
    // Non-blocking: with no reader (init died) this fails at once with ENXIO instead of hanging.
    w = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') throw new TsruncError('container process is already dead');
    throw e;
  }
  let r: number | undefined;
  try {
    fs.writeSync(w, Buffer.from([0]));
    if (!waitExec) return undefined;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const nap = (): void => void Atomics.wait(sleeper, 0, 0, 1);
    const pending = Buffer.alloc(4);
    const deadline = Date.now() + timeoutMs;
    do {
      sys().ioctl(w, FIONREAD, pending);
      if (pending.readInt32LE(0) === 0) break;
      nap();
    } while (Date.now() < deadline);
    r = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    fs.closeSync(w);
    w = -1;
    const buf = Buffer.alloc(513);
    while (Date.now() < deadline) {
      let n: number;
      try {
        n = fs.readSync(r, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        nap();
        continue;
      }
      // EOF: no writer left, init's fd closed at execve.
      if (n === 0) return undefined;
      const note = buf.subarray(0, n).toString();
      return note.startsWith('F') ? note.slice(1) : 'init did not take the start signal';
    }
    return 'timed out waiting for the user process to start';
  } finally {
    if (w >= 0) fs.closeSync(w);
    if (r !== undefined) fs.closeSync(r);
  }
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
