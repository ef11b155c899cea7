// Global flags, parsed once by the CLI and handed to every command.
import * as path from 'node:path';

export type LogFormat = 'text' | 'json';

export interface GlobalOptions {
  /** State directory: /run/tsrunc for root, $XDG_RUNTIME_DIR/tsrunc otherwise. */
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug: boolean;
  systemdCgroup: boolean;
  /** runc's --rootless: 'auto' (default), 'true' or 'false'. */
  rootless: string;
  /** runc's --criu path; accepted for compatibility, checkpointing is not implemented. */
  criu?: string;
}

/**
 * runc's rule: root uses /run/<name>; a non-root caller with a non-empty
 * XDG_RUNTIME_DIR uses it (podman sets XDG_RUNTIME_DIR='' when running as
 * root, and empty means unset).
 */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, euid: number = process.geteuid?.() ?? 0): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (euid !== 0 && xdg) return path.join(xdg, 'tsrunc');
  return '/run/tsrunc';
}

export function defaultGlobals(): GlobalOptions {
  return { root: defaultRoot(), logFormat: 'text', debug: false, systemdCgroup: false, rootless: 'auto' };
}
