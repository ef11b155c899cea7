// Every failure a user can see is a TsruncError: one line, naming the field
// or the cause. Clients (containerd, podman) match some of runc's wordings,
// so those are kept as constants here.
export const MSG = {
  notExist: 'container does not exist',
  notRunning: 'container not running',
  exists: 'container with id exists',
} as const;

export class TsruncError extends Error {
  /** Process exit status for this failure (runc uses 1 for nearly everything). */
  readonly exitCode: number;
  constructor(message: string, opts: { cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TsruncError';
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Prefixes context onto any error while keeping it a single line. */
export function wrap(context: string, err: unknown): TsruncError {
  const msg = err instanceof Error ? err.message : String(err);
  return new TsruncError(`${context}: ${msg}`, { cause: err, exitCode: err instanceof TsruncError ? err.exitCode : 1 });
}
