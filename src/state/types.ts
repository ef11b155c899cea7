// What tsrunc keeps on disk for one container, in <root>/<id>/state.json.
// The public part mirrors the runtime-spec state plus runc's extra fields;
// the `internal` part is what later commands (start, kill, delete) need.

export type Status = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** The status written by the last command; the live status is derived (state/status.ts). */
  status: Status;
  /** Host pid of the container's process (0 before it exists). */
  pid: number;
  /** starttime (field 22 of /proc/<pid>/stat) of `pid`: a recycled pid never matches it. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 creation time. */
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  internal: ContainerInternal;
}

export interface ContainerInternal {
  /** Path of the exec fifo `start` writes to; absent once started. */
  execFifo?: string;
  /** True once `start` has let the user's program run. */
  started?: boolean;
  /** Namespace types the container got new (so delete/kill know e.g. whether it owns a pid namespace). */
  newNamespaces?: string[];
  /** Cgroup directories tsrunc created, per controller mount point (delete removes exactly these). */
  cgroupPaths?: Record<string, string>;
  /** Whether tsrunc created the cgroups (a joined, pre-existing cgroup is left in place). */
  cgroupsOwned?: boolean;
  /** Pid of the `create` process while status is `creating` (so a dead creator is detectable). */
  creatorPid?: number;
  /** starttime of `creatorPid`, so a recycled creator pid is not taken for a live `create`. */
  creatorStartTime?: string;
  /** Anything else a later issue needs; keep it JSON. */
  [key: string]: unknown;
}
