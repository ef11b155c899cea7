// `kill`: signals the container's process (or, with --all, all of them).
import * as fs from 'node:fs';
import type { GlobalOptions } from '../cli/context.js';
import { MSG, TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus, readStartTime } from '../state/status.js';
import type { ContainerRecord } from '../state/types.js';
import { sys } from '../sys/linux.js';
import { parseSignal } from './signals.js';

/**
 * Signals through a pidfd opened after checking the start time: a pid that
 * was recycled between our check and the kill can never be hit.
 */
export function signalProcess(pid: number, startTime: string, sig: number): boolean {
  const s = sys();
  let pidfd: number;
  try {
    pidfd = s.pidfdOpen(pid);
  } catch {
    return false;
  }
  try {
    if (readStartTime(pid) !== startTime) return false;
    s.pidfdSendSignal(pidfd, sig);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ESRCH') return false;
    throw e;
  } finally {
    fs.closeSync(pidfd);
  }
}

/**
 * Every process of the container. Until cgroups land: with its own pid
 * namespace, the processes in that namespace; otherwise only the init.
 */
export function containerPids(record: ContainerRecord): number[] {
  if (!record.internal.newNamespaces?.includes('pid')) return [record.pid];
  let ns: string;
  try {
    ns = fs.readlinkSync(`/proc/${record.pid}/ns/pid`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/ns/pid`) === ns) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export function killContainer(globals: GlobalOptions, id: string, signal: string | undefined, all: boolean): void {
  const sig = parseSignal(signal);
  // Lock-free: kill must work while another command (a stuck start) holds the lock.
  const record = openStore(globals.root).read(id);
  const status = liveStatus(record);
  if (status !== 'created' && status !== 'running' && status !== 'paused') throw new TsruncError(MSG.notRunning);
  if (all) {
    for (const pid of containerPids(record)) {
      const st = readStartTime(pid);
      if (st) signalProcess(pid, st, sig);
    }
    return;
  }
  if (!signalProcess(record.pid, record.pidStartTime, sig)) throw new TsruncError(MSG.notRunning);
}
