// Runs the CLI under test. RUNTIME (an absolute or cwd-relative path) swaps in
// another runtime binary, e.g. runc for differential runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options, type Result } from 'execa';

// tap hands its process tracking to every child through NODE_OPTIONS, and
// tsrunc is a Node program: that would load tap's hook into the runtime under
// test (slower, and its .tap/processinfo writes raced). Children run clean.
delete process.env.NODE_OPTIONS;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const TSRUNC_BIN: string = process.env.RUNTIME ? path.resolve(process.env.RUNTIME) : path.join(REPO_ROOT, 'bin', 'tsrunc');

/** bin/tsrunc with `args`; never rejects: check exitCode/stdout/stderr. */
export function tsrunc(args: string[], opts: Options = {}): Promise<Result> {
  return execa(TSRUNC_BIN, args, { reject: false, stdin: 'ignore', ...opts }) as unknown as Promise<Result>;
}

/** Teardown of a private --root: `delete --force` every container still recorded in it, then the directory. */
export async function removeRoot(root: string): Promise<void> {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) if (!id.startsWith('.')) await tsrunc(['--root', root, 'delete', '--force', id]);
  fs.rmSync(root, { recursive: true, force: true });
}
