// Shared machinery for the conformance suite. The suite drives a runtime
// binary from outside only (RUNTIME=/path/to/binary, default bin/tsrunc), so
// the same files measure tsrunc, runc, crun or youki alike.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { makeBundle, makeRoot, type Bundle } from '../../test/helpers/bundle.js';
import type { State as SpecState } from '../../src/config/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../..');
export const RUNTIME = path.resolve(process.env.RUNTIME ?? path.join(REPO, 'bin/tsrunc'));
/** Keys differences.json and the results; override when the binary is named oddly. */
export const RUNTIME_NAME = process.env.RUNTIME_NAME ?? path.basename(RUNTIME);

export type Level = 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT' | 'MAY';
export interface Requirement {
  /** Stable key used by differences.json and RESULTS.md. */
  id: string;
  /** Spec document and section, e.g. "runtime.md#state". */
  section: string;
  level: Level;
  /** The requirement in a few words; the exact spec sentence is quoted in a comment at the test. */
  title: string;
}

function record(req: Requirement, result: 'pass' | 'fail' | 'skip', note?: string): void {
  const file = process.env.CONFORMANCE_RESULTS;
  if (!file) return;
  fs.appendFileSync(file, JSON.stringify({ ...req, runtime: RUNTIME_NAME, result, note }) + '\n');
}

/**
 * One requirement = one subtest, titled "LEVEL section: title [id]". The
 * outcome is also appended to $CONFORMANCE_RESULTS for conformance/report.mjs.
 * Known deviations (conformance/differences.json) still fail here: the suite
 * reports what the runtime does, the notes explain it.
 */
export function requirement(t: Test, req: Requirement, fn: (t: Test) => Promise<void>): void {
  // A requirement this runtime is known not to meet yet runs as a tap `todo`:
  // it is still executed and reported (as todo, never as a pass), but does
  // not fail the run. The reason names the issue that will close it.
  const todo = knownFailures()[req.id];
  t.test(`${req.level} ${req.section.replace("#", " § ")}: ${req.title} [${req.id}]`, todo ? { todo } : {}, async (t) => {
    let skipped: string | undefined;
    // A check this host cannot make says so via skipReq(). Before any
    // assertion the subtest itself becomes a tap SKIP with the reason
    // (`1..0 # why`), so tap counts it as a skip, not as a pass.
    (t as any).skipReq = (why: string) => {
      skipped = why;
      if (t.count === 0) t.plan(0, why);
      else t.comment(`skipped: ${why}`);
    };
    try {
      await fn(t);
    } catch (e) {
      record(req, 'fail', String((e as Error)?.message ?? e).slice(0, 300));
      throw e;
    }
    // passing() is synchronous; 'assert' events may arrive after we return.
    record(req, !t.passing() ? 'fail' : skipped ? 'skip' : 'pass', skipped);
  });
}

let known: Record<string, string> | undefined;
/** conformance/known-failures.json: { runtime name: { requirement id: why } }. */
function knownFailures(): Record<string, string> {
  if (known) return known;
  const file = path.join(REPO, 'conformance/known-failures.json');
  const all = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, string>>) : {};
  known = process.env.CONFORMANCE_NO_KNOWN ? {} : (all[RUNTIME_NAME] ?? {});
  return known;
}

export function skipReq(t: Test, why: string): void {
  (t as any).skipReq(why);
}

let seq = 0;
/** Ids unique per process and run: a test never trips over a leftover. */
export function newId(prefix = 'conf'): string {
  return `${prefix}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 7)}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` is truthy or the time runs out; returns the last value. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 5000, step = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(step);
  }
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    // A zombie still answers kill(0); the runtime may not reap promptly.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** The runtime-spec state (generated from schemas/), plus whatever extra fields a runtime adds (runc: rootfs, created, owner). */
export type State = SpecState & Record<string, unknown>;

/**
 * A runtime with a private --root. Everything created through it is
 * force-deleted and the root removed at teardown, pass or fail.
 */
export class Runtime {
  readonly root: string;
  private ids = new Set<string>();
  private dirs = new Set<string>();
  private pids = new Set<number>();
  private cleanups: (() => void | Promise<void>)[] = [];

  constructor(t: Test) {
    this.root = makeRoot();
    t.teardown(() => this.cleanup());
  }

  /** Runs the runtime with stdin closed; never throws on a non-zero exit. */
  exec(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}): Promise<Result> {
    return execa(RUNTIME, ['--root', this.root, ...args], {
      reject: false,
      stdin: 'ignore',
      timeout: opts.timeout ?? 30_000,
      cwd: opts.cwd,
      env: opts.env,
    }) as Promise<Result>;
  }

  /**
   * create/run -d leave a process holding their stdio: pipes would keep
   * execa waiting until the container exits, so they write to a file.
   */
  async execDetached(args: string[], opts: { cwd?: string } = {}): Promise<{ exitCode: number; output: string }> {
    const log = path.join(this.tmpdir('log'), 'out');
    const fd = fs.openSync(log, 'w');
    try {
      // child_process rather than execa: the child gets the file itself, with
      // no pipe in between for a container to hold open.
      const child = spawn(RUNTIME, ['--root', this.root, ...args], { stdio: ['ignore', fd, fd], cwd: opts.cwd });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number>((resolve) => {
        child.on('error', () => resolve(-1));
        child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : -1)));
      });
      clearTimeout(timer);
      const r = { exitCode: code };
      return { exitCode: r.exitCode ?? -1, output: fs.readFileSync(log, 'utf8') };
    } finally {
      fs.closeSync(fd);
    }
  }

  track(id: string): string {
    this.ids.add(id);
    return id;
  }

  async create(id: string, bundle: Bundle | string, opts: { cwd?: string } = {}) {
    this.track(id);
    const dir = typeof bundle === 'string' ? bundle : bundle.dir;
    const r = await this.execDetached(['create', '--bundle', dir, id], opts);
    const st = r.exitCode === 0 ? await this.state(id) : undefined;
    if (st?.pid) this.pids.add(st.pid);
    return r;
  }

  start(id: string) {
    return this.exec(['start', id]);
  }

  kill(id: string, signal: string) {
    return this.exec(['kill', id, signal]);
  }

  delete(id: string, force = false) {
    return this.exec(['delete', ...(force ? ['--force'] : []), id]);
  }

  /** The parsed state, or undefined when the runtime reports an error. */
  async state(id: string): Promise<State | undefined> {
    const r = await this.exec(['state', id]);
    if (r.exitCode !== 0) return undefined;
    try {
      return JSON.parse(String(r.stdout));
    } catch {
      return undefined;
    }
  }

  async waitStatus(id: string, status: string, ms = 5000): Promise<State | undefined> {
    let last: State | undefined;
    await waitFor(async () => (last = await this.state(id))?.status === status, ms);
    return last;
  }

  /** Foreground `run`: the container's stdout/stderr come back in the result. */
  async run(id: string, bundle: Bundle): Promise<Result> {
    this.track(id);
    return this.exec(['run', '--bundle', bundle.dir, id], { timeout: 60_000 });
  }

  /**
   * Runs `script` under sh in a fresh container (foreground `run`) and
   * returns its exit code and output; /out is a host dir as in outBundle.
   */
  async runScript(script: string, edit?: (c: Record<string, any>) => void, prepare?: (b: Bundle) => void) {
    const { bundle, out } = this.outBundle(script, edit);
    if (prepare) {
      prepare(bundle);
      bundle.save();
    }
    const id = newId();
    const r = await this.run(id, bundle);
    // run leaves a stopped container only on failure paths; make sure.
    await this.delete(id, true);
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), out, bundle };
  }

  /** A private temp dir removed at teardown. */
  tmpdir(tag = 'tmp'): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `tsr-conf-${tag}-`));
    this.dirs.add(d);
    return d;
  }

  bundle(edit?: (c: Record<string, any>) => void, args?: string[]): Bundle {
    const b = makeBundle(edit, args);
    this.dirs.add(b.dir);
    return b;
  }

  /**
   * A bundle whose process sees a host directory at /out: the way tests
   * observe what ran inside without relying on the container's stdio.
   */
  outBundle(script: string, edit?: (c: Record<string, any>) => void): { bundle: Bundle; out: string } {
    const out = this.tmpdir('out');
    const bundle = this.bundle((c) => {
      c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
      edit?.(c);
    }, ['sh', '-c', script]);
    // Pre-create the mountpoint: whether a runtime creates missing
    // destinations in a read-only rootfs is not what these tests are about.
    fs.mkdirSync(path.join(bundle.rootfs, 'out'), { recursive: true });
    return { bundle, out };
  }

  onCleanup(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const id of this.ids) {
      const st = await this.state(id);
      if (st?.pid) this.pids.add(st.pid);
      if (st) await this.delete(id, true);
    }
    // A runtime that lost track of a container must not leak its process.
    for (const pid of this.pids) {
      if (pidAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Lines of a file, or [] when it does not exist (yet). */
export function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export const exists = (p: string) => fs.existsSync(p);

/** Inode of a namespace link of a process, e.g. "net:[4026531840]". */
export function nsOf(pid: number | 'self', type: string): string {
  return fs.readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** The cgroup directory of `pid` for a v1 controller, or the v2 unified path. */
export function cgroupDir(pid: number, controller = 'pids'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (ctrls === undefined || p === undefined) continue;
    if (ctrls.split(',').includes(controller)) return path.join('/sys/fs/cgroup', controller, p);
  }
  const unified = text.split('\n').find((l) => l.startsWith('0::'));
  return unified ? path.join('/sys/fs/cgroup', unified.slice(3)) : undefined;
}

export const isCgroup2 = () => fs.existsSync('/sys/fs/cgroup/cgroup.controllers');

/**
 * Puts the container in a new user namespace, container root = host uid/gid
 * 200000 (65536 ids). sysfs cannot be mounted from a user namespace that does
 * not own the network namespace's... the /sys mounts go: tests using this are
 * about the mapping, not sysfs. The bundle must be reachable by that uid.
 */
export function mapUser(c: Record<string, any>): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  c.mounts = c.mounts.filter((m: any) => !m.destination.startsWith('/sys'));
}

/** The minimal state schema from the runtime-spec (schema/state-schema.json). */
export const stateSchema = {
  type: 'object',
  required: ['ociVersion', 'id', 'status', 'bundle'],
  properties: {
    ociVersion: { type: 'string', pattern: '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?$' },
    id: { type: 'string', minLength: 1 },
    status: { type: 'string', enum: ['creating', 'created', 'running', 'stopped'] },
    pid: { type: 'integer', minimum: 0 },
    bundle: { type: 'string' },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

export { makeBundle, type Bundle };
