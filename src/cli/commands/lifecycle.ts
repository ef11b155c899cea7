// create, start, run, kill, delete: the actions. Their flags are declared in
// ../spec-table.ts (one table for the fast parser and for help). Each action
// imports its module lazily, so e.g. `kill` never loads the create path.
import { TsruncError } from '../../errors.js';
import type { GlobalOptions } from '../context.js';

interface CreateFlags {
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: string;
  pivot?: boolean;
  noPivot?: boolean;
  noNewKeyring?: boolean;
}

function preserveFds(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new TsruncError(`invalid value for --preserve-fds: ${v}`);
  return n;
}

function createOptions(id: string, f: CreateFlags) {
  return {
    id,
    bundle: f.bundle || process.cwd(),
    ...(f.pidFile ? { pidFile: f.pidFile } : {}),
    ...(f.consoleSocket ? { consoleSocket: f.consoleSocket } : {}),
    preserveFds: preserveFds(f.preserveFds),
    noPivot: !!f.noPivot || f.pivot === false,
    // commander turns --no-new-keyring into newKeyring: false.
    noNewKeyring: !!f.noNewKeyring || (f as { newKeyring?: boolean }).newKeyring === false,
  };
}

export async function createAction(g: GlobalOptions, id: string, f: CreateFlags): Promise<void> {
  const { createContainer } = await import('../../container/create.js');
  const c = createContainer(g, createOptions(id, f), 'create');
  c.channel.close();
  c.handle.release();
  // Nothing of ours must keep the event loop (or init) waiting.
  process.exit(0);
}

export async function startAction(g: GlobalOptions, id: string): Promise<void> {
  (await import('../../container/start.js')).startContainer(g, id);
}

export async function runAction(g: GlobalOptions, id: string, f: CreateFlags & { detach?: boolean; keep?: boolean }): Promise<void> {
  const { runContainer } = await import('../../container/run.js');
  const code = await runContainer(g, { ...createOptions(id, f), detach: !!f.detach, keep: !!f.keep });
  process.exit(code);
}

export async function killAction(g: GlobalOptions, id: string, signal: string | undefined, f: { all?: boolean }): Promise<void> {
  (await import('../../container/kill.js')).killContainer(g, id, signal, !!f.all);
}

export async function deleteAction(g: GlobalOptions, id: string, f: { force?: boolean }): Promise<void> {
  (await import('../../container/delete.js')).deleteContainer(g, id, !!f.force);
}

interface ExecFlags {
  consoleSocket?: string;
  pidfdSocket?: string;
  cwd?: string;
  env?: string[];
  tty?: boolean;
  user?: string;
  additionalGids?: string[];
  process?: string;
  detach?: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  /** --no-new-privs, as the table's negated switch (newPrivs: false) or commander's. */
  newPrivs?: boolean;
  cap?: string[];
  preserveFds?: string;
  cgroup?: string[];
  ignorePaused?: boolean;
}

export async function execAction(g: GlobalOptions, id: string, args: string[], f: ExecFlags): Promise<void> {
  const { execContainer } = await import('../../container/exec.js');
  let code: number;
  try {
    code = await execContainer(g, {
      id,
      args,
      ...(f.process ? { processFile: f.process } : {}),
      ...(f.consoleSocket ? { consoleSocket: f.consoleSocket } : {}),
      ...(f.pidfdSocket ? { pidfdSocket: f.pidfdSocket } : {}),
      ...(f.cwd ? { cwd: f.cwd } : {}),
      env: f.env ?? [],
      tty: !!f.tty,
      ...(f.user ? { user: f.user } : {}),
      additionalGids: f.additionalGids ?? [],
      detach: !!f.detach,
      ...(f.pidFile ? { pidFile: f.pidFile } : {}),
      ...(f.processLabel ? { processLabel: f.processLabel } : {}),
      ...(f.apparmor ? { apparmor: f.apparmor } : {}),
      noNewPrivs: f.newPrivs === false,
      caps: f.cap ?? [],
      preserveFds: preserveFds(f.preserveFds),
      ...(f.cgroup?.length ? { cgroup: f.cgroup } : {}),
      ignorePaused: !!f.ignorePaused,
    });
  } catch (e) {
    // runc: every failure of exec is "exec failed: ..." with status 255 (a started process's own status is 0-255 too).
    throw new TsruncError(`exec failed: ${e instanceof Error ? e.message : String(e)}`, { exitCode: 255, cause: e });
  }
  process.exit(code);
}
