// The one place that talks to koffi. Everything above src/sys/ sees typed
// functions that throw SysError, never raw return codes.
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type * as KoffiNs from 'koffi';
import { koffiAddon } from '../paths.js';

export type Koffi = typeof KoffiNs;

let koffiMod: Koffi | undefined;
let libcLib: KoffiNs.IKoffiLib | undefined;

/** koffi's native module, loaded lazily: commands that make no syscall never pay for it. */
export function koffi(): Koffi {
  // The bundles are CommonJS; tests import the sources as ES modules, where
  // there is no `require` (the addon path is absolute, so any base works).
  const load = typeof require === 'function' ? require : createRequire(`${process.cwd()}/`);
  koffiMod ??= load(koffiAddon()) as Koffi;
  return koffiMod;
}

export function libc(): KoffiNs.IKoffiLib {
  libcLib ??= koffi().load('libc.so.6');
  return libcLib;
}

const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(os.constants.errno).map(([name, num]) => [num, name]),
);

let strerrorFn: ((e: number) => string) | undefined;
function strerror(e: number): string {
  strerrorFn ??= libc().func('const char *strerror(int)') as unknown as (e: number) => string;
  return strerrorFn(e);
}

/** A failed system call: keeps errno so callers can branch on it and users read one clear line. */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    const code = errnoNames[errno] ?? `E${errno}`;
    super(`${syscall}${detail ? ` ${detail}` : ''}: ${strerror(errno).toLowerCase()}`);
    this.name = 'SysError';
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

export function lastErrno(): number {
  return koffi().errno();
}

/** Throws SysError when a libc call reports failure with -1 (or a negative value). */
export function check<T extends number | bigint>(ret: T, syscall: string, detail?: string): T {
  if (typeof ret === 'bigint' ? ret < 0n : ret < 0) throw new SysError(syscall, lastErrno(), detail);
  return ret;
}
