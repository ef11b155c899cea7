// Starting tsrunc-nsexec (H): the sync socketpair, the fds the container
// keeps, and the argv that tells H exactly what to do.
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import { nsexecArgs, type NamespacePlan } from '../namespaces.js';
import { initScript, nodeBinary, nsexecPath } from '../paths.js';
import type { Sys } from '../sys/linux.js';
import { Channel } from './channel.js';

export interface Helper {
  /** H's pid (also P's when no fork is needed); our child either way, never libuv's. */
  pid: number;
  channel: Channel;
  /** The sync fd number inside H, P and init. */
  childSyncFd: number;
}

/**
 * fds 3..3+count-1 of this process are handed on unchanged (LISTEN_FDS first,
 * then --preserve-fds, as runc does); the sync socket follows them.
 */
export function spawnHelper(s: Sys, plan: NamespacePlan, extraFds: number): Helper {
  const [parentEnd, childEnd] = s.socketpair();
  const childSyncFd = 3 + extraFds;
  // 0..2 and the kept fds onto themselves: dup2 to the same number clears
  // the FD_CLOEXEC Node put on them. The sync socket goes right above.
  const fdMap: number[] = [0, 1, 2];
  for (let i = 0; i < extraFds; i++) fdMap.push(3 + i);
  fdMap.push(childEnd);
  const argv = nsexecArgs(plan, childSyncFd, [nodeBinary(), initScript(), String(childSyncFd)]);
  let pid: number;
  try {
    // An empty environment: NODE_OPTIONS and friends of the caller must not reach init.
    pid = s.spawn(nsexecPath(), ['tsrunc-nsexec', ...argv], [], fdMap);
  } catch (e) {
    fs.closeSync(parentEnd);
    throw new TsruncError(`cannot start ${nsexecPath()}: ${(e as Error).message} (run make build)`);
  } finally {
    // Only H and its descendants may hold the child end, so their death is EOF for us.
    fs.closeSync(childEnd);
  }
  return { pid, channel: new Channel(parentEnd), childSyncFd };
}

/** H's `{step, detail, errno}` failure as one line. */
export function describeHelperError(m: { step?: string; detail?: string; errno?: number; message?: string }, strerror: (e: number) => string): string {
  if (m.message) return m.message;
  const what = [m.step, m.detail].filter(Boolean).join(' ');
  return `nsexec: ${what}: ${m.errno ? strerror(m.errno) : 'failed'}`;
}
