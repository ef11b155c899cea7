// `start`: lets a created container's init exec the user's program.
import * as fs from 'node:fs';
import type { GlobalOptions } from '../cli/context.js';
import { TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus } from '../state/status.js';

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
    fs.rmSync(fifo, { force: true });
    record.status = 'running';
    record.internal.started = true;
    delete record.internal.execFifo;
    handle.write(record);
  } finally {
    handle.release();
  }
}
