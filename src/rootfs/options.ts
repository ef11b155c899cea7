// Mount option strings -> mount(2) flags + data, with runc's table
// (libcontainer/specconv parseMountOptions): what mount(8) accepts, minus
// what is not a flag; anything unknown is filesystem data ("mode=755").
import { MOUNT_ATTR, MS } from '../sys/linux.js';

/** [clear, flag]: clear=true means the option removes the flag (rw clears RDONLY). */
const FLAGS: Record<string, [boolean, number]> = {
  acl: [false, MS.POSIXACL],
  async: [true, MS.SYNCHRONOUS],
  atime: [true, MS.NOATIME],
  bind: [false, MS.BIND],
  defaults: [false, 0],
  dev: [true, MS.NODEV],
  diratime: [true, MS.NODIRATIME],
  dirsync: [false, MS.DIRSYNC],
  exec: [true, MS.NOEXEC],
  iversion: [false, MS.I_VERSION],
  lazytime: [false, MS.LAZYTIME],
  loud: [true, MS.SILENT],
  mand: [false, MS.MANDLOCK],
  noacl: [true, MS.POSIXACL],
  noatime: [false, MS.NOATIME],
  nodev: [false, MS.NODEV],
  nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC],
  noiversion: [true, MS.I_VERSION],
  nolazytime: [true, MS.LAZYTIME],
  nomand: [true, MS.MANDLOCK],
  norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME],
  nosuid: [false, MS.NOSUID],
  nosymfollow: [false, MS.NOSYMFOLLOW],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  remount: [false, MS.REMOUNT],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  silent: [false, MS.SILENT],
  strictatime: [false, MS.STRICTATIME],
  suid: [true, MS.NOSUID],
  symfollow: [true, MS.NOSYMFOLLOW],
  sync: [false, MS.SYNCHRONOUS],
};

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/**
 * runc's recursive attributes (mount_setattr with AT_RECURSIVE, so every
 * submount of an rbind gets them too). [clear, attr]; atime modes are an
 * enum in the kernel (MOUNT_ATTR__ATIME), handled apart.
 */
const REC_ATTRS: Record<string, [boolean, number]> = {
  rro: [false, MOUNT_ATTR.RDONLY],
  rrw: [true, MOUNT_ATTR.RDONLY],
  rnosuid: [false, MOUNT_ATTR.NOSUID],
  rsuid: [true, MOUNT_ATTR.NOSUID],
  rnodev: [false, MOUNT_ATTR.NODEV],
  rdev: [true, MOUNT_ATTR.NODEV],
  rnoexec: [false, MOUNT_ATTR.NOEXEC],
  rexec: [true, MOUNT_ATTR.NOEXEC],
  rnodiratime: [false, MOUNT_ATTR.NODIRATIME],
  rdiratime: [true, MOUNT_ATTR.NODIRATIME],
  rnosymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
  rsymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW],
};

/** The atime mode each option selects; "ratime"/"rnostrictatime" fall back to the kernel default (relatime), "rnorelatime" to strictatime. */
const REC_ATIME: Record<string, number> = {
  rnoatime: MOUNT_ATTR.NOATIME,
  ratime: MOUNT_ATTR.RELATIME,
  rrelatime: MOUNT_ATTR.RELATIME,
  rnorelatime: MOUNT_ATTR.STRICTATIME,
  rstrictatime: MOUNT_ATTR.STRICTATIME,
  rnostrictatime: MOUNT_ATTR.RELATIME,
};

export interface ParsedOptions {
  flags: number;
  /** Propagation changes, applied one mount(2) call each after the mount itself. */
  propagation: number[];
  /** Comma-joined filesystem-specific options. */
  data: string;
  /** MOUNT_ATTR_* to set/clear recursively after the mount (attrClr has MOUNT_ATTR__ATIME when an atime mode is chosen). */
  recAttrSet: number;
  recAttrClr: number;
  /** crun's tmpcopyup: the tmpfs starts with a copy of the directory it covers. */
  tmpcopyup: boolean;
  /** idmap / ridmap: an id-mapped bind. */
  idmap: boolean;
}

export function parseMountOptions(options: string[] | undefined): ParsedOptions {
  let flags = 0;
  let recAttrSet = 0;
  let recAttrClr = 0;
  let tmpcopyup = false;
  let idmap = false;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const o of options ?? []) {
    const f = FLAGS[o];
    const r = REC_ATTRS[o];
    if (f) {
      if (f[0]) flags &= ~f[1];
      else flags |= f[1];
    } else if (PROPAGATION[o] !== undefined) {
      propagation.push(PROPAGATION[o]);
    } else if (r) {
      // Later options win, as with the plain flags.
      if (r[0]) {
        recAttrSet &= ~r[1];
        recAttrClr |= r[1];
      } else {
        recAttrClr &= ~r[1];
        recAttrSet |= r[1];
      }
    } else if (REC_ATIME[o] !== undefined) {
      recAttrSet = (recAttrSet & ~MOUNT_ATTR._ATIME) | REC_ATIME[o];
      recAttrClr |= MOUNT_ATTR._ATIME;
    } else if (o === 'tmpcopyup') {
      tmpcopyup = true;
    } else if (o === 'idmap' || o === 'ridmap') {
      idmap = true;
    } else {
      data.push(o);
    }
  }
  return { flags, propagation, data: data.join(','), recAttrSet, recAttrClr, tmpcopyup, idmap };
}

/** Flags a bind mount only gets from a second, MS_REMOUNT call (the kernel ignores them on the bind itself). */
export function bindRemountFlags(flags: number): number {
  return flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
}

// statvfs f_flag bits (ST_*) -> MS_* (they differ for RELATIME and above).
const ST_TO_MS: [number, number][] = [
  [1, MS.RDONLY],
  [2, MS.NOSUID],
  [4, MS.NODEV],
  [8, MS.NOEXEC],
  [16, MS.SYNCHRONOUS],
  [64, MS.MANDLOCK],
  [1024, MS.NOATIME],
  [2048, MS.NODIRATIME],
  [4096, MS.RELATIME],
  [8192, MS.NOSYMFOLLOW],
];

/** The flags a remount must keep: in a user namespace the kernel refuses to clear locked ones (EPERM). */
export function lockedFlagsFromStatvfs(stFlag: number): number {
  let ms = 0;
  for (const [st, m] of ST_TO_MS) if (stFlag & st) ms |= m;
  return ms & (MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY | MS.NOATIME | MS.NODIRATIME | MS.RELATIME);
}
