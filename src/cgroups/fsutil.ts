// Reading and writing cgroup files with errors that name the file and value.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';

export function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

const reason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  // Node's message is "EINVAL: invalid argument, write": keep the readable middle
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(err?.message ?? '');
  return m ? m[1]! : String(err?.message ?? e);
};

export class CgroupFileError extends TsruncError {
  readonly code: string | undefined;
  constructor(msg: string, cause: unknown) {
    super(msg, { cause });
    this.code = errCode(cause);
  }
}

export function writeFile(dir: string, file: string, value: string): void {
  const p = path.join(dir, file);
  try {
    // no O_CREAT: a missing cgroup file is ENOENT, never an attempt to create one
    const fd = fs.openSync(p, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    // a missing file in an existing cgroup is a kernel feature that is not there (cpu.rt_runtime_us without RT_GROUP_SCHED, ...)
    const hint = errCode(e) === 'ENOENT' && fs.existsSync(dir) ? ` (this kernel or cgroup has no ${file})` : '';
    throw new CgroupFileError(`failed to write ${JSON.stringify(value)} to ${p}: ${reason(e)}${hint}`, e);
  }
}

export function readFile(dir: string, file: string): string {
  const p = path.join(dir, file);
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (e) {
    throw new CgroupFileError(`failed to read ${p}: ${reason(e)}`, e);
  }
}

export function tryRead(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

export function exists(dir: string, file = ''): boolean {
  return fs.existsSync(path.join(dir, file));
}

/** A single unsigned value file ("max" -> MAX_U64-like sentinel as Infinity is not JSON: use 0 in stats). */
export function readUint(dir: string, file: string): number {
  const s = readFile(dir, file).trim();
  if (s === 'max') return Number.MAX_SAFE_INTEGER;
  return Number(s);
}

export function tryUint(dir: string, file: string): number | undefined {
  const s = tryRead(dir, file);
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === 'max') return Number.MAX_SAFE_INTEGER;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, ...). */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

const sab = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep: the cgroup manager API is synchronous (the lifecycle calls it between syscalls). */
export function sleepMs(ms: number): void {
  Atomics.wait(sab, 0, 0, ms);
}

/** Every process in dir and its descendants (cgroup.procs of each). */
export function pidsRecursive(dir: string): number[] {
  const out = new Set<number>();
  const walk = (d: string): void => {
    const procs = tryRead(d, 'cgroup.procs');
    if (procs === undefined) return;
    for (const l of procs.split('\n')) if (l.trim()) out.add(Number(l));
    let ents: fs.Dirent[] = [];
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return [...out].sort((a, b) => a - b);
}

/**
 * rmdir a cgroup and its sub-cgroups, deepest first. EBUSY (a process still
 * exiting) is retried briefly, as runc's RemovePath does.
 */
export function removeCgroup(dir: string): void {
  if (!fs.existsSync(dir)) return;
  let ents: fs.Dirent[] = [];
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    /* vanished */
  }
  for (const e of ents) if (e.isDirectory()) removeCgroup(path.join(dir, e.name));
  let delay = 10;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      const c = errCode(e);
      if (c === 'ENOENT') return;
      if (c !== 'EBUSY' || attempt >= 7) throw new CgroupFileError(`failed to remove cgroup ${dir}: ${reason(e)}`, e);
      sleepMs(delay);
      delay = Math.min(delay * 2, 500);
    }
  }
}

/** mkdir -p that reports whether the leaf was created by this call. */
export function mkdirP(dir: string): boolean {
  if (fs.existsSync(dir)) return false;
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    if (errCode(e) === 'EEXIST') return false;
    throw new CgroupFileError(`failed to create cgroup ${dir}: ${reason(e)}`, e);
  }
  return true;
}

/** Checks hugepage sizes against what the kernel offers (before any write), as runc does. */
export function checkHugepageSizes(limits: { pageSize: string }[] | undefined, sizesFromDirs: (names: string[]) => string[]): void {
  if (!limits?.length) return;
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    /* no hugetlb support at all */
  }
  const sizes = sizesFromDirs(names);
  for (const l of limits) {
    if (!sizes.includes(l.pageSize)) {
      throw new TsruncError(`invalid hugepage size ${JSON.stringify(l.pageSize)}: this kernel supports ${sizes.length ? sizes.join(', ') : 'no hugepages'}`);
    }
  }
}
