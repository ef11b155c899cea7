// Go's exec.LookPath, which is what runc uses, with its error wording
// (clients and users grep for "executable file not found in $PATH").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';

function isExecutable(p: string): NodeJS.ErrnoException | 'dir' | 'noexec' | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  if (st.isDirectory()) return 'dir';
  if ((st.mode & 0o111) === 0) return 'noexec';
  return undefined;
}

function describe(p: string, err: NodeJS.ErrnoException | 'dir' | 'noexec'): string {
  if (err === 'dir') return 'is a directory';
  if (err === 'noexec') return 'permission denied';
  if (err.code === 'ENOENT') return `stat ${p}: no such file or directory`;
  return `stat ${p}: ${err.code}`;
}

/** The path to exec for args[0], searched in the container's PATH (from its env). */
export function lookPath(file: string, env: string[]): string {
  if (file.includes('/')) {
    const err = isExecutable(file);
    if (err) throw new TsruncError(`exec: ${JSON.stringify(file)}: ${describe(file, err)}`);
    return file;
  }
  const pathVar = env.filter((e) => e.startsWith('PATH=')).pop()?.slice(5) ?? '';
  for (let dir of pathVar.split(':')) {
    if (dir === '') dir = '.';
    const p = path.join(dir, file);
    if (!isExecutable(p)) return dir === '.' ? `./${file}` : p;
  }
  throw new TsruncError(`exec: ${JSON.stringify(file)}: executable file not found in $PATH`);
}

/** runc sets HOME from the container's /etc/passwd when the config does not. */
export function withHome(env: string[], uid: number): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return env;
  let home = '/';
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && Number(f[2]) === uid && f[5]) {
        home = f[5];
        break;
      }
    }
  } catch {
    // no passwd file in the image: "/" like runc
  }
  return [...env, `HOME=${home}`];
}
