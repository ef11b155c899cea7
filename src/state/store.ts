// The state store: <root>/<id>/state.json, one directory per container.
//
// Concurrency design:
// - Creation is atomic and exclusive: the record is written into a private
//   temp dir under the root, the temp dir is locked, then published with
//   renameat2(RENAME_NOREPLACE). A losing create sees EEXIST and removes only
//   its own temp dir; nobody ever observes a half-created container dir.
// - Mutating commands hold flock(LOCK_EX) on the container directory fd.
//   Removal renames the dir away (to a dot-name) before deleting it, so a
//   waiter that wakes up on a removed dir notices the path no longer names
//   the inode it locked and reports "container does not exist".
// - Readers (state, list) take no lock: state.json is only ever replaced by
//   rename, so a read sees the old or the new record, and a long `create`
//   holding the lock never blocks `state` (clients poll it while creating).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MSG, TsruncError, wrap } from '../errors.js';
import { validateId } from './id.js';
import type { ContainerRecord } from './types.js';
// Both load koffi lazily, on the first lock/rename: lock-free readers never pay for it.
import { flock, LOCK_EX, LOCK_NB } from '../sys/flock.js';
import { renameNoReplace } from '../sys/rename.js';

export const STATE_FILE = 'state.json';
// Temp (being created) and tombstone (being removed) dirs carry an '@',
// which no container id may contain: they can never collide with, or be
// listed as, a container (ids may start with '.', so dot names would not do).
const TEMP_PREFIX = 'new@';
const DEAD_PREFIX = 'del@';

export interface OpenOptions {
  /** Wait for the lock (default). With false, a held lock fails with "container is busy". */
  wait?: boolean;
}

export interface ContainerHandle {
  readonly id: string;
  /** The container's directory (put fifos, sockets, pid files here). */
  readonly dir: string;
  read(): ContainerRecord;
  /** Atomically replaces state.json. */
  write(record: ContainerRecord): void;
  /** Deletes the container directory and releases the lock. */
  remove(): void;
  /** Drops the lock; the handle is unusable afterwards. Idempotent. */
  release(): void;
}

export interface Store {
  readonly root: string;
  /** Directory of a container id (validated). */
  dir(id: string): string;
  /** Cheap existence check, no lock and no koffi. */
  exists(id: string): boolean;
  /** Lock-free read of a record; throws "container does not exist". */
  read(id: string): ContainerRecord;
  /** Exclusive creation; returns the locked handle or throws "container with id exists". */
  create(id: string, record: ContainerRecord): ContainerHandle;
  /** Locked handle on an existing container; throws "container does not exist". */
  open(id: string, opts?: OpenOptions): ContainerHandle;
  /** All readable records, sorted by id (broken entries go to onError and are skipped). */
  list(onError?: (id: string, err: unknown) => void): ContainerRecord[];
}

// Unique enough for private temp names (each is created exclusively or
// renamed without replace); node:crypto would add ~5 ms to every start.
function nonce(): string {
  return `${process.pid.toString(36)}${Date.now().toString(36)}${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function parseRecord(text: string, where: string): ContainerRecord {
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (e) {
    throw wrap(`corrupt state file ${where}`, e);
  }
  if (!rec || typeof rec !== 'object' || typeof (rec as ContainerRecord).id !== 'string') {
    throw new TsruncError(`corrupt state file ${where}: not a container record`);
  }
  const r = rec as ContainerRecord;
  r.internal ??= {};
  return r;
}

/** temp file + fsync + rename + fsync(dir): the record on disk is always complete. */
function writeAtomic(dir: string, record: ContainerRecord): void {
  const target = path.join(dir, STATE_FILE);
  const tmp = path.join(dir, `.${STATE_FILE}.${process.pid}.${nonce()}`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(record));
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// (libuv opens every fd O_CLOEXEC, so the container never inherits these.)
function openDirFd(dir: string): number {
  return fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
}

function sameInode(fd: number, p: string): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.statSync(p);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}


class Handle implements ContainerHandle {
  private fd: number | undefined;
  constructor(
    readonly id: string,
    readonly dir: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  private live(): number {
    if (this.fd === undefined) throw new TsruncError(`container ${this.id}: state handle already released`);
    return this.fd;
  }

  read(): ContainerRecord {
    this.live();
    const file = path.join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new TsruncError(MSG.notExist);
      throw wrap(`read ${file}`, e);
    }
    return parseRecord(text, file);
  }

  write(record: ContainerRecord): void {
    this.live();
    writeAtomic(this.dir, record);
  }

  remove(): void {
    this.live();
    const root = path.dirname(this.dir);
    const tomb = path.join(root, `${DEAD_PREFIX}${nonce()}`);
    // Rename first: the id is free (and invisible) the moment this returns.
    try {
      fs.renameSync(this.dir, tomb);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw wrap(`remove ${this.dir}`, e);
    }
    try {
      fs.rmSync(tomb, { recursive: true, force: true });
    } finally {
      this.release();
    }
  }

  release(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    // Closing the only fd on the open file description drops the flock.
    fs.closeSync(fd);
  }
}

class FileStore implements Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    validateId(id);
    return path.join(this.root, id);
  }

  exists(id: string): boolean {
    return fs.existsSync(path.join(this.dir(id), STATE_FILE));
  }

  read(id: string): ContainerRecord {
    const file = path.join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw new TsruncError(MSG.notExist);
      throw wrap(`read ${file}`, e);
    }
    return parseRecord(text, file);
  }

  private ensureRoot(): void {
    try {
      fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw wrap(`create state root ${this.root}`, e);
    }
  }

  create(id: string, record: ContainerRecord): ContainerHandle {
    const dir = this.dir(id);
    if (fs.existsSync(dir)) throw new TsruncError(MSG.exists);
    this.ensureRoot();
    let tmp: string;
    try {
      tmp = fs.mkdtempSync(path.join(this.root, TEMP_PREFIX)); // mode 0700
    } catch (e) {
      throw wrap(`create state dir in ${this.root}`, e);
    }
    let fd: number | undefined;
    try {
      fd = openDirFd(tmp);
      flock(fd, LOCK_EX);
      writeAtomic(tmp, record);
      try {
        renameNoReplace(tmp, dir);
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST' || errno(e) === 'ENOTEMPTY') throw new TsruncError(MSG.exists);
        throw e;
      }
      fsyncDir(this.root);
      const h = new Handle(id, dir, fd);
      fd = undefined;
      return h;
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  open(id: string, opts: OpenOptions = {}): ContainerHandle {
    const dir = this.dir(id);
    // Existence first: a missing container never loads koffi.
    if (!fs.existsSync(path.join(dir, STATE_FILE))) throw new TsruncError(MSG.notExist);
    let fd: number;
    try {
      fd = openDirFd(dir);
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new TsruncError(MSG.notExist);
      throw wrap(`open ${dir}`, e);
    }
    try {
      if (!flock(fd, LOCK_EX | (opts.wait === false ? LOCK_NB : 0))) {
        throw new TsruncError(`container ${id} is busy: another tsrunc command holds its lock`);
      }
      // The holder we waited for may have deleted (and someone re-created) it.
      if (!sameInode(fd, dir) || !fs.existsSync(path.join(dir, STATE_FILE))) throw new TsruncError(MSG.notExist);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new Handle(id, dir, fd);
  }

  list(onError?: (id: string, err: unknown) => void): ContainerRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw wrap(`read state root ${this.root}`, e);
    }
    const out: ContainerRecord[] = [];
    for (const name of names.sort()) {
      if (name.includes('@')) continue;
      try {
        out.push(this.read(name));
      } catch (e) {
        onError?.(name, e);
      }
    }
    return out;
  }
}

export function openStore(root: string): Store {
  return new FileStore(path.resolve(root));
}
