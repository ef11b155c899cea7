// `kill`: signals the container's process (or, with --all, all of them).
import * as fs from 'node:fs';
import type { GlobalOptions } from '../cli/context.js';
import { MSG, TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus, readStartTime } from '../state/status.js';
import type { ContainerRecord } from '../state/types.js';
import { sys } from '../sys/linux.js';
import { loadCgroupManager, type CgroupManager } from '../cgroups/index.js';
import { log } from '../cli/log.js';
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

/** The container's cgroup manager, from its record (none for a record written before the join). */
export function cgroupOf(record: ContainerRecord): CgroupManager | undefined {
  const paths = record.internal.cgroupPaths;
  if (!paths || Object.keys(paths).length === 0) return undefined;
  return loadCgroupManager(paths, !!record.internal.cgroupsOwned, { warn: (m) => log.warn(m) });
}

/** Waits (bounded) until no process is left in the cgroup. */
export function waitCgroupEmpty(cg: CgroupManager, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let pids: number[];
    try {
      pids = cg.pids();
    } catch {
      return true; // the cgroup itself is gone
    }
    if (pids.length === 0) return true;
    if (Date.now() > deadline) return false;
    // Callers wait for the init first (a pidfd): what is left exits right behind it.
    Atomics.wait(sleeper, 0, 0, 1);
  }
}

/**
 * Every process of the container when it has no cgroup: with its own pid
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
  if (all && status === 'stopped') {
    // The init is gone but, without a pid namespace of its own, what it
    // started lives on in its cgroup: containerd's shim runs `kill --all <id> 9`
    // right after the init's exit to end them (ShouldKillAllOnExit). runc
    // signals the cgroup then, and succeeds when the cgroup is already gone.
    // With its own pid namespace nothing can be left (the kernel killed it
    // with the init): then a shared, joined cgroup holds only others' processes.
    if (record.internal.newNamespaces?.includes('pid')) return;
    const cg = cgroupOf(record);
    const present = (): boolean => Object.values(record.internal.cgroupPaths ?? {}).some((d) => fs.existsSync(d));
    try {
      if (cg && present()) cg.killAll(sig);
    } catch (e) {
      if (present()) throw e; // removed meanwhile (a concurrent delete) is fine
    }
    return;
  }
  if (status !== 'created' && status !== 'running' && status !== 'paused') throw new TsruncError(MSG.notRunning);
  if (all) {
    const cg = cgroupOf(record);
    if (cg) {
      // Exactly the container's processes, also without a pid namespace (runc's signalAllProcesses).
      cg.killAll(sig);
      return;
    }
    for (const pid of containerPids(record)) {
      const st = readStartTime(pid);
      if (st) signalProcess(pid, st, sig);
    }
    return;
  }
  if (!signalProcess(record.pid, record.pidStartTime, sig)) throw new TsruncError(MSG.notRunning);
  // runc: a v1 frozen task dies of SIGKILL only once thawed, so SIGKILL thaws
  // a paused container; other signals stay pending until `resume`.
  if (sig === 9 && status === 'paused') cgroupOf(record)?.thaw();
}
