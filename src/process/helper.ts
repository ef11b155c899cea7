// Starting tsrunc-nsexec (H): the sync socketpair, the fds the container
// keeps, and the argv that tells H exactly what to do.
import * as fs from 'node:fs';
import { getCompileCacheDir } from 'node:module';
import * as path from 'node:path';
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
 * Node-init's whole environment: the compile cache R itself runs with, so
 * init's boot skips compiling init.cjs (~3 ms of its ~27). Only a directory
 * owned by us and writable by nobody else: init runs as root inside the
 * container's namespaces and a planted cache entry would be code it runs.
 * (The entry is written by the warm-up in the Makefile: init never exits
 * through Node, so it never flushes a cache itself. Init execs the user's
 * program with the config's env, so this never reaches the container.)
 */
export function initEnv(): string[] {
  const versioned = getCompileCacheDir();
  if (!versioned) return [];
  const dir = path.dirname(versioned);
  try {
    const st = fs.statSync(dir);
    if (st.uid !== process.geteuid!() || (st.mode & 0o022) !== 0) return [];
  } catch {
    return [];
  }
  return [`NODE_COMPILE_CACHE=${dir}`];
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
  // H keeps the container's real root at rootFd: Node-init boots chrooted in
  // a read-only tree (CVE-2019-5736 class, see nsexec.c) and returns to it.
  // H's own child is seen from inside before it execs unless its pid namespace is new.
  const rootFd = childSyncFd + 1;
  const seal = { seal: true, sealSelf: !plan.newTypes.includes('pid'), rootFd };
  const argv = nsexecArgs(plan, childSyncFd, [nodeBinary(), initScript(), String(childSyncFd), 'create', String(rootFd)], seal);
  let pid: number;
  try {
    // Nothing of the caller's environment (NODE_OPTIONS and friends) reaches init.
    pid = s.spawn(nsexecPath(), ['tsrunc-nsexec', ...argv], initEnv(), fdMap);
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
