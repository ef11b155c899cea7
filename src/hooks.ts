// The six OCI hooks (config.md "POSIX-platform Hooks", runtime.md lifecycle).
// Who runs what, where:
//   prestart, createRuntime  R (create/run), runtime namespace, status creating,
//                            once the mounts are made, before pivot_root
//   createContainer          Node-init, container namespaces, before pivot_root
//                            (path resolved in the runtime's mount tree, still visible)
//   startContainer           Node-init after start, right before execve (path
//                            resolved in the container), status created
//   poststart                R (start/run) after the user's program started, status running
//   poststop                 R (delete/run) once the container is gone, status stopped
// Every hook gets the state on stdin, `args` as its argv (args[0] is argv0),
// exactly `env`, and is killed (and failed) past `timeout` seconds.
// Used by Node-init too: only node: built-ins, loaded on first use.
import type { Hook, Hooks, State } from './config/types.js';

export type HookName = keyof Hooks;

/** What a hook reads on stdin: the runtime-spec state (generated from schemas/state-schema.json). */
export type HookState = State;

export class HookError extends Error {}

function envObject(env: string[] | undefined): NodeJS.ProcessEnv {
  // Absent: the runtime's environment (Go's exec.Cmd with a nil Env, as in runc).
  if (!env) return process.env;
  const out: NodeJS.ProcessEnv = {};
  for (const kv of env) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** One hook; throws HookError with runc's wording on failure. */
export function runHook(name: HookName, index: number, h: Hook, state: HookState, cwd?: string): void {
  const cp = process.getBuiltinModule('node:child_process');
  const args = h.args?.length ? h.args : [h.path];
  const r = cp.spawnSync(h.path, args.slice(1), {
    argv0: args[0]!,
    env: envObject(h.env),
    input: JSON.stringify(state),
    stdio: ['pipe', 'pipe', 'pipe'],
    // With a timeout the hook gets its own process group, so what it started dies with it.
    ...(h.timeout ? { timeout: h.timeout * 1000, killSignal: 'SIGKILL' as const, detached: true } : {}),
    maxBuffer: 16 << 20,
    ...(cwd ? { cwd } : {}),
  });
  const out = (b: Buffer | string | null | undefined): string => (b ? b.toString().trim() : '');
  let why: string | undefined;
  // A hook that never reads its stdin is fine (runc ignores the broken pipe too).
  const err = r.error && (r.error as NodeJS.ErrnoException).code === 'EPIPE' && r.status !== null ? undefined : r.error;
  if (err && (err as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
  if (err && (err as NodeJS.ErrnoException).code === 'ETIMEDOUT') why = `hook ran past specified timeout of ${h.timeout!.toFixed(1)}s`;
  else if (err) why = err.message;
  else if (r.signal) why = `signal: ${r.signal}`;
  else if (r.status !== 0) why = `exit status ${r.status}`;
  if (why) throw new HookError(`error running ${name} hook #${index}: ${why}, stdout: ${out(r.stdout)}, stderr: ${out(r.stderr)}`);
}

/** Runs the hooks in order; the first failure stops the rest (all but poststop). */
export function runHooks(name: HookName, hooks: Hook[] | undefined, state: HookState, cwd?: string): void {
  (hooks ?? []).forEach((h, i) => runHook(name, i, h, state, cwd));
}

/** poststop: every hook runs; failures come back as warnings. */
export function runHooksCollectingErrors(name: HookName, hooks: Hook[] | undefined, state: HookState): string[] {
  const errors: string[] = [];
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(name, i, h, state);
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  return errors;
}

/** The runtime-spec state a hook gets, with the status of its moment. */
export function hookState(
  record: { ociVersion: string; id: string; bundle: string; annotations?: Record<string, string> },
  pid: number,
  status: State['status'],
): HookState {
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    status,
    ...(pid > 0 ? { pid } : {}),
    bundle: record.bundle,
    ...(record.annotations && Object.keys(record.annotations).length ? { annotations: record.annotations } : {}),
  };
}
