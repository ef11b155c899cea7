// Resolves a container path inside the rootfs the way the kernel would after
// chroot: every symlink is followed relative to the rootfs, ".." stops at
// its top. A config (or an image) can therefore never make tsrunc mount
// over a host path through a symlink such as /dev -> /host/etc.
// (filepath-securejoin's algorithm.) Only a plan for mkdirAllInRoot (and the
// recording double's openat2): what is opened and mounted goes through
// openat2(RESOLVE_IN_ROOT), so a race between the two cannot escape.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';

const MAX_SYMLINKS = 255;

export function resolveInRoot(root: string, unsafePath: string): string {
  const done: string[] = [];
  let todo = unsafePath.split('/');
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(candidate);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        // Nothing below a missing component can be a symlink (yet): keep it lexically.
        done.push(part);
        continue;
      }
      throw e;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new TsruncError(`resolve ${unsafePath} in ${root}: too many levels of symbolic links`);
    const target = fs.readlinkSync(candidate);
    if (target.startsWith('/')) done.length = 0;
    todo = [...target.split('/'), ...todo];
  }
  return path.join(root, ...done);
}
