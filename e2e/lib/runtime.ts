// The runtime the clients are pointed at. RUNTIME may be a path or a bare name
// looked up in PATH (`RUNTIME=runc make e2e`): containerd and podman both want
// an absolute path, and podman keys some behaviour on its basename.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// tap hands its process tracking to children through NODE_OPTIONS; tsrunc is
// a Node program and the clients' children (shim, conmon) would inherit it.
delete process.env.NODE_OPTIONS;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function resolveRuntime(spec: string | undefined): string {
  if (!spec) return path.join(REPO_ROOT, 'bin', 'tsrunc');
  if (spec.includes('/')) return path.resolve(spec);
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, spec);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new Error(`RUNTIME=${spec}: not found in PATH`);
}

export const RUNTIME = resolveRuntime(process.env.RUNTIME);
/** The runtime's basename: podman decides on it whether to pass --log-format=json. */
export const RUNTIME_NAME = path.basename(RUNTIME);
export const IS_TSRUNC = RUNTIME_NAME === 'tsrunc';
