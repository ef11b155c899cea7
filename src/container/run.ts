// `run`: create + start in one process; in the foreground it also waits for
// the container, forwards signals to it and deletes it afterwards.
import * as os from 'node:os';
import type { GlobalOptions } from '../cli/context.js';
import { log } from '../cli/log.js';
import { openStore } from '../state/store.js';
import { exitCodeOf, sys } from '../sys/linux.js';
import { createContainer, type CreateOptions } from './create.js';
import { signalProcess } from './kill.js';
import { removeCgroups, runPoststop } from './delete.js';
import { destroyAfterFailedStart, runPoststart } from './start.js';
import type { Hook } from '../config/types.js';
import { startRelay, type Relay } from '../console/relay.js';

export interface RunOptions extends CreateOptions {
  detach: boolean;
  keep: boolean;
}

// Forwarded to the container, as runc's run does (it forwards all it can catch).
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGWINCH', 'SIGALRM', 'SIGPWR'];

/** Resolves to the container's exit code (128+signal when killed). */
export async function runContainer(globals: GlobalOptions, opts: RunOptions): Promise<number> {
  const c = createContainer(globals, opts, 'run');
  const poststart = (c.record.internal.hooks as { poststart?: Hook[] } | undefined)?.poststart;
  // The sync socket is close-on-exec in init: EOF means the program started (or init died).
  if (poststart?.length) while (c.channel.recv()) ;
  c.channel.close();
  // Not held while we wait: kill, delete --force, state must work meanwhile.
  c.handle.release();
  let relay: Relay | undefined;
  if (c.consoleFd !== undefined && !opts.detach) relay = startRelay(sys(), c.consoleFd);
  if (poststart?.length) {
    try {
      runPoststart(c.record, poststart);
    } catch (e) {
      await relay?.finish();
      destroyAfterFailedStart(c.record);
      const h = openStore(globals.root).open(opts.id);
      try {
        h.remove();
      } finally {
        h.release();
      }
      runPoststop(c.record);
      throw e;
    }
  }
  if (opts.detach) return 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    try {
      signalProcess(c.pid, c.record.pidStartTime, os.constants.signals[sig]);
    } catch (e) {
      log.debug(`forwarding ${sig}: ${(e as Error).message}`);
    }
  };
  for (const sig of FORWARDED) process.on(sig, onSignal);
  // Our child in every case (spawned by us, or via CLONE_PARENT): libuv
  // never reaps it, so a blocking waitpid on koffi's worker thread is safe.
  const code = exitCodeOf(await sys().waitpid(c.pid));
  await relay?.finish();
  for (const sig of FORWARDED) process.off(sig, onSignal);
  let handle;
  try {
    handle = openStore(globals.root).open(opts.id);
  } catch {
    return code; // someone deleted it meanwhile
  }
  const rec = handle.read();
  if (rec.pid !== c.pid || rec.pidStartTime !== c.record.pidStartTime) {
    // Deleted and re-created under the same id meanwhile: not ours to touch.
    handle.release();
    return code;
  }
  if (opts.keep) {
    rec.status = 'stopped';
    handle.write(rec);
    handle.release();
  } else {
    try {
      removeCgroups(rec);
    } catch (e) {
      log.warn(`removing cgroups of ${opts.id}: ${(e as Error).message}`);
    }
    handle.remove();
    runPoststop(rec);
  }
  return code;
}
