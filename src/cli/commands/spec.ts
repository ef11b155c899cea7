// `tsrunc spec`: writes a starter config.json like `runc spec`, never over an existing one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../../errors.js';
import { defaultSpec, toRootless } from '../../spec/default.js';

export interface SpecOptions {
  bundle?: string;
  rootless?: boolean;
}

/** "no such file or directory" out of node's "ENOENT: no such file or directory, stat 'x'". */
function fsReason(e: unknown): string {
  const m = /^E[A-Z]+: ([^,]+)/.exec(e instanceof Error ? e.message : String(e));
  return m ? m[1]! : String(e);
}

export function specCommand(opts: SpecOptions): void {
  const dir = opts.bundle ?? '.';
  let isDir: boolean;
  try {
    isDir = fs.statSync(dir).isDirectory();
  } catch (e) {
    throw new TsruncError(`bundle ${dir}: ${fsReason(e)}`, { cause: e });
  }
  if (!isDir) throw new TsruncError(`bundle ${dir}: not a directory`);
  let spec = defaultSpec();
  if (opts.rootless) spec = toRootless(spec, process.geteuid!(), process.getegid!());
  const file = path.join(dir, 'config.json');
  let fd: number;
  try {
    // O_EXCL: the refusal to overwrite holds even against a concurrent writer.
    fd = fs.openSync(file, 'wx', 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new TsruncError('File config.json exists. Remove it first');
    throw new TsruncError(`create ${file}: ${fsReason(e)}`, { cause: e });
  }
  try {
    // Tab-indented and without a trailing newline, byte-compatible with runc's output.
    fs.writeSync(fd, JSON.stringify(spec, null, '\t'));
  } finally {
    fs.closeSync(fd);
  }
}
