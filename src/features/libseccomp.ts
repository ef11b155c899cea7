// What the host's libseccomp can do, asked as cheaply as possible: the
// version from the soname link's target (no dlopen), the rest via koffi
// only for `features`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { koffi } from '../sys/ffi.js';

const TRIPLETS: Record<string, string> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
};

function libDirs(): string[] {
  const t = TRIPLETS[process.arch];
  return [
    ...(t ? [`/usr/lib/${t}`, `/lib/${t}`] : []),
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
}

/** Path of libseccomp.so.2, or undefined if the host has none. */
export function findLibseccomp(): string | undefined {
  for (const d of libDirs()) {
    const p = path.join(d, 'libseccomp.so.2');
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

let lib: ReturnType<ReturnType<typeof koffi>['load']> | null | undefined;

/** The loaded libseccomp, or null when it is absent or unloadable. */
export function libseccomp(): ReturnType<ReturnType<typeof koffi>['load']> | null {
  if (lib !== undefined) return lib;
  const p = findLibseccomp();
  try {
    lib = koffi().load(p ?? 'libseccomp.so.2');
  } catch {
    lib = null;
  }
  return lib;
}

/** "X.Y.Z", or undefined when libseccomp is not installed. */
export function libseccompVersion(): string | undefined {
  const p = findLibseccomp();
  if (!p) return undefined;
  try {
    const m = /libseccomp\.so\.(\d+\.\d+\.\d+)$/.exec(fs.realpathSync(p));
    if (m) return m[1];
  } catch {
    // fall back to asking the library
  }
  const l = libseccomp();
  if (!l) return undefined;
  try {
    const k = koffi();
    const Ver = k.struct('scmp_version_t', { major: 'uint', minor: 'uint', micro: 'uint' });
    const fn = l.func('const scmp_version_t *seccomp_version(void)') as unknown as () => unknown;
    const v = k.decode(fn(), Ver) as { major: number; minor: number; micro: number };
    return `${v.major}.${v.minor}.${v.micro}`;
  } catch {
    return undefined;
  }
}

/** seccomp_api_get(): which kernel/library features are usable (0 if unknown). */
export function libseccompApiLevel(): number {
  const l = libseccomp();
  if (!l) return 0;
  try {
    return (l.func('unsigned int seccomp_api_get(void)') as unknown as () => number)();
  } catch {
    return 0;
  }
}

/** Whether libseccomp knows an architecture name ("x86_64", "riscv64", ...). */
export function archKnown(name: string): boolean {
  const l = libseccomp();
  if (!l) return false;
  try {
    const fn = l.func('uint32_t seccomp_arch_resolve_name(const char *name)') as unknown as (n: string) => number;
    return fn(name) !== 0;
  } catch {
    return false;
  }
}
