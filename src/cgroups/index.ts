// The cgroup library the lifecycle and the cgroup commands use: one interface
// over the v1/hybrid driver (a directory per hierarchy) and the v2 driver.
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import { statfsType } from '../sys/cgroup-sys.js';
import { detectMode, isSystemdPath, readMounts, readSelfCgroup, resolvePaths, type HostMode } from './hierarchy.js';
import type { CgroupManager, ManagerOptions } from './manager.js';
import { V1Manager } from './v1.js';
import { V2Manager } from './v2.js';

export type { CgroupManager, ManagerOptions, OomWatcher } from './manager.js';
export type { LinuxResources, Stats } from './types.js';
export { DEFAULT_ALLOWED_DEVICES, containerDeviceRules } from './devices.js';
export { validateResources, parseMemory } from './convert.js';
export type { HostMode } from './hierarchy.js';

export interface NewManagerOptions {
  id: string;
  cgroupsPath?: string;
  systemd: boolean;
  rootless: boolean;
  warn?: (msg: string) => void;
}

/** cgroup v2, v1, or hybrid (v1 controllers plus a controller-less unified mount). */
export function hostMode(): HostMode {
  return detectMode(statfsType);
}

function v2Mount(): string {
  return readMounts().find((m) => m.v2)?.mountpoint ?? '/sys/fs/cgroup';
}

export function newCgroupManager(opts: NewManagerOptions): CgroupManager {
  if (opts.systemd) {
    if (!fs.existsSync('/run/systemd/system')) throw new TsruncError('systemd cgroup driver: systemd is not running on this host');
    if (opts.cgroupsPath && !isSystemdPath(opts.cgroupsPath)) {
      throw new TsruncError(`systemd cgroup driver: cgroupsPath ${JSON.stringify(opts.cgroupsPath)} must be of the form "slice:prefix:name"`);
    }
    throw new TsruncError('systemd cgroup driver: not implemented yet (run without --systemd-cgroup)');
  }
  const mode = hostMode();
  const paths = resolvePaths({ id: opts.id, cgroupsPath: opts.cgroupsPath, mode, mounts: readMounts(), self: readSelfCgroup() });
  const mo: ManagerOptions = { rootless: opts.rootless, explicitPath: !!opts.cgroupsPath, warn: opts.warn };
  return mode === 'v2' ? new V2Manager(paths, false, mo, v2Mount()) : new V1Manager(paths, false, mo);
}

/** Rebuilds a manager from a container record's cgroupPaths/cgroupsOwned. */
export function loadCgroupManager(paths: Record<string, string>, owned: boolean, opts: Pick<ManagerOptions, 'warn' | 'rootless'> = {}): CgroupManager {
  const keys = Object.keys(paths);
  // a hybrid host's record has "unified" next to the v1 controllers; alone it is a v2 cgroup
  if (keys.length === 1 && keys[0] === 'unified') return new V2Manager(paths, owned, opts, v2Mount());
  return new V1Manager(paths, owned, opts);
}
