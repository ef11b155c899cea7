// renameat2(2) with RENAME_NOREPLACE: the one atomic "publish unless it
// exists" for directories (rename(2) silently replaces an empty target dir).
import { check, libc } from './ffi.js';

const AT_FDCWD = -100;
const RENAME_NOREPLACE = 1;

let renameat2Fn: ((od: number, op: string, nd: number, np: string, flags: number) => number) | undefined;

/** Renames `from` to `to`; throws SysError EEXIST if `to` exists. */
export function renameNoReplace(from: string, to: string): void {
  renameat2Fn ??= libc().func(
    'int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)',
  ) as unknown as typeof renameat2Fn;
  check(renameat2Fn!(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE), 'renameat2', to);
}
