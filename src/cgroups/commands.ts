// pause, resume, ps, update, events: the container's cgroup through its record.
import * as fs from 'node:fs';
import { MSG, TsruncError } from '../errors.js';
import { openStore } from '../state/store.js';
import { liveStatus } from '../state/status.js';
import type { ContainerRecord } from '../state/types.js';
import { out } from '../cli/output.js';
import { log } from '../cli/log.js';
import type { GlobalOptions } from '../cli/context.js';
import { filterPsOutput, parseDuration, resourcesFromUpdateFlags, type UpdateFlags } from './cli-flags.js';
import { validateResources } from './convert.js';
import { loadCgroupManager } from './index.js';
import type { CgroupManager } from './manager.js';

export function managerFor(rec: ContainerRecord): CgroupManager {
  const paths = rec.internal?.cgroupPaths;
  if (!paths || Object.keys(paths).length === 0) throw new TsruncError(`container ${rec.id} has no cgroup`);
  return loadCgroupManager(paths, !!rec.internal.cgroupsOwned, { warn: (m) => log.warn(m) });
}

function withLocked<T>(globals: GlobalOptions, id: string, fn: (rec: ContainerRecord, save: (r: ContainerRecord) => void) => T): T {
  const h = openStore(globals.root).open(id);
  try {
    return fn(h.read(), (r) => h.write(r));
  } finally {
    h.release();
  }
}

export function pauseCommand(globals: GlobalOptions, id: string): void {
  withLocked(globals, id, (rec, save) => {
    const st = liveStatus(rec);
    if (st !== 'running' && st !== 'created') throw new TsruncError(MSG.notRunning);
    managerFor(rec).freeze();
    save({ ...rec, status: 'paused' });
  });
}

export function resumeCommand(globals: GlobalOptions, id: string): void {
  withLocked(globals, id, (rec, save) => {
    const st = liveStatus(rec);
    if (st !== 'paused') throw new TsruncError('container not paused');
    managerFor(rec).thaw();
    save({ ...rec, status: rec.internal.started ? 'running' : 'created' });
  });
}

export function psCommand(globals: GlobalOptions, id: string, format: string, psArgs: string[]): void {
  const rec = openStore(globals.root).read(id);
  const pids = liveStatus(rec) === 'stopped' ? [] : managerFor(rec).pids();
  if (format === 'json') {
    out(`${JSON.stringify(pids)}\n`);
    return;
  }
  if (format !== 'table') throw new TsruncError(`invalid format option: ${format}`);
  let psOut: string;
  try {
    // Loaded here only: node:child_process costs pause/resume/update a few ms for nothing.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    psOut = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const x = e as { message: string; stdout?: string; stderr?: string };
    throw new TsruncError(`${x.message.split('\n')[0]}: ${(x.stdout ?? '') + (x.stderr ?? '')}`.trim());
  }
  out(filterPsOutput(psOut, pids));
}

function readInput(src: string): string {
  try {
    return fs.readFileSync(src === '-' ? 0 : src, 'utf8');
  } catch (e) {
    throw new TsruncError(`cannot read resources from ${src === '-' ? 'standard input' : src}: ${(e as Error).message}`);
  }
}

export function updateCommand(globals: GlobalOptions, id: string, flags: UpdateFlags): void {
  // everything parsed and checked before the container is even locked
  const r = resourcesFromUpdateFlags(flags, readInput);
  withLocked(globals, id, (rec, save) => {
    if (liveStatus(rec) === 'stopped') throw new TsruncError(MSG.notRunning);
    const m = managerFor(rec);
    validateResources(r, m.driver);
    m.update(r);
    // later `update`s and `events` see what was applied
    save({ ...rec, internal: { ...rec.internal, resources: mergeResources(rec.internal.resources, r) } });
  });
}

function mergeResources(prev: unknown, next: object): object {
  const base = prev && typeof prev === 'object' ? (prev as Record<string, unknown>) : {};
  const outObj: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(next)) {
    const b = base[k];
    outObj[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? { ...b, ...v } : v;
  }
  return outObj;
}

export async function eventsCommand(globals: GlobalOptions, id: string, opts: { stats?: boolean; interval?: string }): Promise<void> {
  const store = openStore(globals.root);
  const rec = store.read(id);
  if (liveStatus(rec) === 'stopped') throw new TsruncError(`container with id ${id} is not running`);
  const m = managerFor(rec);
  const emit = (type: string, data?: unknown): void => out(`${JSON.stringify(data === undefined ? { type, id } : { type, id, data })}\n`);
  if (opts.stats) {
    emit('stats', m.stats());
    return;
  }
  const interval = parseDuration(opts.interval ?? '5s');
  let oom: ReturnType<CgroupManager['oomWatcher']> | undefined;
  try {
    oom = m.oomWatcher();
  } catch (e) {
    log.warn(`oom notifications unavailable: ${(e as Error).message}`);
  }
  const stopped = (): boolean => {
    try {
      return liveStatus(store.read(id)) === 'stopped';
    } catch {
      return true; // deleted
    }
  };
  await new Promise<void>((resolve) => {
    let nextStats = Date.now() + interval;
    const tick = (): void => {
      try {
        if (oom?.poll()) emit('oom');
        if (Date.now() >= nextStats) {
          nextStats += interval;
          try {
            emit('stats', m.stats());
          } catch (e) {
            log.error(`stats: ${(e as Error).message}`);
          }
        }
        if (stopped()) {
          clearInterval(timer);
          resolve();
        }
      } catch (e) {
        log.error((e as Error).message);
      }
    };
    const timer = setInterval(tick, Math.min(200, interval));
  });
  oom?.close();
}
