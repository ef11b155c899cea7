import type { LinuxResources, Stats } from './types.js';

export interface OomWatcher {
  /** True when an OOM kill happened since the last poll (non-blocking). */
  poll(): boolean;
  close(): void;
}

export interface CgroupManager {
  readonly driver: 'v1' | 'v2';
  /** Creates the container's cgroup(s) if missing and applies `resources`; remembers whether it created them. */
  create(resources: LinuxResources | undefined): void;
  /** Moves pid (a whole process) into the container's cgroup(s). */
  join(pid: number): void;
  /** Controller (v1) or 'unified' (v2) -> absolute directory: stored in the container record, enough to rebuild the manager. */
  paths(): Record<string, string>;
  owned(): boolean;
  /** All pids in the container's cgroup (recursive). */
  pids(): number[];
  freeze(): void;
  thaw(): void;
  state(): 'frozen' | 'thawed';
  /** Validated before anything is written. */
  update(resources: LinuxResources): void;
  /** runc's `events --stats` shape. */
  stats(): Stats;
  /** Signals every pid (frozen first for SIGKILL, so nothing forks in between). */
  killAll(signal: number): void;
  /** rmdir what it created (retrying EBUSY briefly); never a joined pre-existing cgroup. */
  destroy(): void;
  /** OOM-kill notifications (v1: eventfd on memory.oom_control; v2: memory.events oom_kill). */
  oomWatcher(): OomWatcher;
}

export interface ManagerOptions {
  rootless?: boolean;
  /** linux.cgroupsPath was given (rootless permission errors are then fatal, as in runc). */
  explicitPath?: boolean;
  /** Non-fatal notes (ignored settings); the CLI routes them to its log. */
  warn?: (msg: string) => void;
}

/**
 * runc's signalAllProcesses: for SIGKILL freeze first (nothing forks in
 * between), signal every pid, then thaw, also when the container was
 * paused: frozen tasks only die once thawed.
 */
export function signalAll(m: Pick<CgroupManager, 'pids' | 'freeze' | 'thaw' | 'state'>, signal: number, canFreeze: boolean): void {
  const freezeFirst = canFreeze && signal === 9;
  if (freezeFirst && m.state() !== 'frozen') m.freeze();
  try {
    for (const pid of m.pids()) {
      try {
        process.kill(pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
  } finally {
    if (freezeFirst) m.thaw();
  }
}
