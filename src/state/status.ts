// The status a client sees is derived from the live process, never trusted
// from disk: the recorded pid may have exited or been recycled since.
import { existsSync, readFileSync } from 'node:fs';
import type { ContainerRecord, Status } from './types.js';

export interface ProcStat {
  /** Single-letter state (R, S, D, Z, X, T, ...). */
  state: string;
  /** Field 22, in clock ticks since boot, kept as a string (it can exceed 2^53 in theory). */
  startTime: string;
}

/** Parses /proc/<pid>/stat; undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and ')' itself: the last ')' ends it.
  const end = text.lastIndexOf(')');
  if (end < 0) return undefined;
  const rest = text.slice(end + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 is rest[19].
  const startTime = rest[19];
  if (!rest[0] || !startTime) return undefined;
  return { state: rest[0], startTime };
}

export function readStartTime(pid: number): string | undefined {
  return readProcStat(pid)?.startTime;
}

/** True when pid is a live (non-zombie) process whose start time matches, if one is given. */
export function processAlive(pid: number, startTime?: string): boolean {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X' || st.state === 'x') return false;
  return startTime === undefined || startTime === '' || st.startTime === startTime;
}

export function liveStatus(record: ContainerRecord): Status {
  const internal = record.internal ?? {};
  if (record.status === 'creating') {
    const creator = internal.creatorPid;
    const creatorStart = typeof internal.creatorStartTime === 'string' ? internal.creatorStartTime : undefined;
    return typeof creator === 'number' && processAlive(creator, creatorStart) ? 'creating' : 'stopped';
  }
  if (record.status === 'stopped') return 'stopped';
  // An empty start time would match any process on that pid: treat it as gone.
  if (!record.pidStartTime || !processAlive(record.pid, record.pidStartTime)) return 'stopped';
  if (record.status === 'paused') return 'paused';
  if (internal.started) return 'running';
  // runc's rule: the exec fifo is consumed (removed) by `start`; if it is
  // gone the user's program was released even if the record missed it.
  if (typeof internal.execFifo === 'string' && internal.execFifo !== '' && !existsSync(internal.execFifo)) return 'running';
  return 'created';
}
