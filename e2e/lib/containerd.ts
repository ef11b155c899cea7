// A private containerd for one test file: config, root, state, sockets and
// the runtime's state under one temporary directory, no CRI, started by hand
// (there is no systemd here) and stopped with everything it made.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { RUNTIME } from './runtime.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The namespace ctr works in; the runtime's state dir is <runc-root>/<namespace>. */
export const NAMESPACE = 'default';
/** containerd 1.6 puts every shim's socket here, whatever its config says. */
const SHIM_SOCKET_DIR = '/run/containerd/s';
const CGROUP_ROOT = '/sys/fs/cgroup';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Containerd {
  /** The temporary directory holding everything. */
  dir: string;
  address: string;
  /** containerd's daemon pid. */
  pid: number;
  /** `--runc-root`: the runtime's `--root` is `<runcRoot>/<namespace>`. */
  runcRoot: string;
  fifoDir: string;
  /** A container id unique to this daemon (its cgroup and shim socket are then ours alone to check). */
  id(name: string): string;
  /** ctr with this daemon's address; never rejects. */
  ctr(args: string[], opts?: CtrOptions): Promise<Ran>;
  /** The `ctr run` options that make the runc v2 shim call the runtime under test. */
  runtimeArgs(): string[];
  /** The bundle containerd made for a task (cwd and `--bundle` of the runtime's calls; `log.json` is there). */
  bundle(id: string): string;
  /** The runtime's own state directory for a container. */
  runtimeState(id: string): string;
  /** The shim's socket for a container (unix path). */
  shimSocket(id: string): string;
  /** Kills what is left, stops the daemon and removes everything; returns what had been left behind (empty when clean). Idempotent. */
  stop(): Promise<string[]>;
}

/** What a client call did. exitCode is -1 when it was killed (its timeout). */
export interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CtrOptions {
  input?: string;
  timeout?: number;
}

export function ran(r: { exitCode?: number; stdout?: unknown; stderr?: unknown }): Ran {
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

function existing(paths: string[]): Set<string> {
  return new Set(paths.filter((p) => fs.existsSync(p)));
}

/** Top-level cgroup directories named `name` in every hierarchy (v1 controllers, or the v2 root). */
function cgroupDirs(name: string): string[] {
  if (fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))) return [path.join(CGROUP_ROOT, name)];
  return fs
    .readdirSync(CGROUP_ROOT)
    .map((c) => path.join(CGROUP_ROOT, c))
    .filter((d) => {
      try {
        return fs.statSync(d).isDirectory() && !fs.lstatSync(d).isSymbolicLink();
      } catch {
        return false;
      }
    })
    .map((d) => path.join(d, name));
}

/** Processes whose command line contains `needle` (the shims carry our socket address). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) pids.push(Number(p));
    } catch {
      // gone
    }
  }
  return pids;
}

/** A running process (a zombie is not). */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls `cond` every 50 ms for up to `ms`. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** Boots a private containerd; ready when `ctr version` answers. */
export async function startContainerd(): Promise<Containerd> {
  const dir = fs.mkdtempSync('/tmp/tsrunc-e2e-ctrd.');
  const tag = path.basename(dir).split('.')[1]!.toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const runcRoot = path.join(dir, 'runc');
  const fifoDir = path.join(dir, 'fifo');
  const address = path.join(dir, 'containerd.sock');
  for (const d of ['root', 'state', 'opt', runcRoot, fifoDir]) fs.mkdirSync(path.resolve(dir, d), { recursive: true });
  // What containerd or the runtime create outside `dir` and we remove only if
  // they were not there before: the shim socket directory (hard-coded in
  // 1.6) and the `/<namespace>` parent cgroup of ctr's default cgroupsPath.
  const parents = ['/run/containerd', SHIM_SOCKET_DIR, '/run/containerd/fifo', ...cgroupDirs(NAMESPACE)];
  const preexisting = existing(parents);
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      '  level = "debug"',
      // its default, /opt/containerd, would be made on the host
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
      '',
    ].join('\n'),
  );
  const logFd = fs.openSync(path.join(dir, 'containerd.log'), 'a');
  // detached: setsid, so a signal to the test's process group never reaches
  // it. `env -i`: tap's process tracking adds NODE_OPTIONS (its --import hook)
  // to every child's env, whatever env is passed: the shims would hand it to
  // the runtime, and tsrunc is a Node program.
  const child = spawn('/usr/bin/env', ['-i', `PATH=${PATH}`, '/usr/bin/containerd', '--config', path.join(dir, 'config.toml')], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  child.unref();
  const pid = child.pid!;
  const env = { PATH, CONTAINERD_ADDRESS: address, CONTAINERD_NAMESPACE: NAMESPACE };
  const ids = new Set<string>();
  let stopped: Promise<string[]> | undefined;

  const c: Containerd = {
    dir,
    address,
    pid,
    runcRoot,
    fifoDir,
    id(name) {
      const id = `e2e-${tag}-${name}`;
      ids.add(id);
      return id;
    },
    async ctr(args, opts = {}) {
      const r = await execa('/usr/bin/ctr', args, {
        reject: false,
        timeout: opts.timeout ?? 60_000,
        env,
        extendEnv: false,
        ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
      });
      return ran(r);
    },
    runtimeArgs() {
      return ['--runtime', 'io.containerd.runc.v2', '--runc-binary', RUNTIME, '--runc-root', runcRoot, '--fifo-dir', fifoDir];
    },
    bundle(id) {
      return path.join(dir, 'state', 'io.containerd.runtime.v2.task', NAMESPACE, id);
    },
    runtimeState(id) {
      return path.join(runcRoot, NAMESPACE, id);
    },
    shimSocket(id) {
      // containerd 1.6 shim.SocketAddress: sha256 of <address>/<namespace>/<id>
      return path.join(SHIM_SOCKET_DIR, crypto.createHash('sha256').update(path.join(address, NAMESPACE, id)).digest('hex'));
    },
    stop() {
      stopped ??= teardown();
      return stopped;
    },
  };

  // A test process ended without its teardown (tap's timeout kills it): no
  // daemon or shim of ours may outlive it.
  let done = false;
  const onExit = (): void => {
    if (done) return;
    for (const p of [pid, ...processesWith(address)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', onExit);

  async function teardown(): Promise<string[]> {
    const left: string[] = [];
    if (alive(pid)) {
      // Tasks first (through containerd, as a user would), then containers.
      const tasks = (await c.ctr(['task', 'ls', '-q'], { timeout: 10_000 })).stdout.split('\n').filter(Boolean);
      for (const t of tasks) {
        left.push(`task ${t} still there at teardown`);
        await c.ctr(['task', 'kill', '-a', '-s', 'SIGKILL', t], { timeout: 10_000 });
        await c.ctr(['task', 'delete', '-f', t], { timeout: 15_000 });
      }
      const containers = (await c.ctr(['container', 'ls', '-q'], { timeout: 10_000 })).stdout.split('\n').filter(Boolean);
      for (const x of containers) {
        left.push(`container ${x} still there at teardown`);
        await c.ctr(['container', 'delete', x], { timeout: 10_000 });
      }
      process.kill(pid, 'SIGTERM');
      if (!(await waitFor(() => !alive(pid), 10_000))) {
        left.push(`containerd ${pid} ignored SIGTERM`);
        process.kill(pid, 'SIGKILL');
        await waitFor(() => !alive(pid), 5000);
      }
    }
    // The shims outlive containerd by design; each exits once its task is deleted.
    if (!(await waitFor(() => processesWith(address).length === 0, 10_000))) {
      const pids = processesWith(address);
      left.push(`shims still running: ${pids.join(' ')}`);
      for (const p of pids) process.kill(p, 'SIGKILL');
      await waitFor(() => processesWith(address).length === 0, 5000);
    }
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mnt = line.split(' ')[4];
      if (mnt && mnt.startsWith(`${dir}/`)) left.push(`mount left: ${mnt}`);
    }
    // Deepest first, so nested mounts come off before their parents.
    const mounts = left
      .filter((l) => l.startsWith('mount left: '))
      .map((l) => l.slice('mount left: '.length))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
    for (const id of ids) {
      for (const d of cgroupDirs(path.join(NAMESPACE, id))) {
        if (!fs.existsSync(d)) continue;
        left.push(`cgroup left: ${d}`);
        try {
          fs.rmdirSync(d);
        } catch {
          // still has tasks: reported above
        }
      }
      const sock = c.shimSocket(id);
      if (fs.existsSync(sock)) {
        left.push(`shim socket left: ${sock} (${id})`);
        fs.rmSync(sock, { force: true });
      }
    }
    // Only what was not there before, and only empty: a directory that was
    // there may be another containerd's, in use.
    for (const p of [...parents].reverse()) {
      if (preexisting.has(p)) continue;
      try {
        fs.rmdirSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(`${p}: made during the run and not removable: ${(e as Error).message}`);
      }
    }
    if (left.length) {
      // kept for the post-mortem
      try {
        left.push(`containerd log tail:\n${fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8').split('\n').slice(-40).join('\n')}`);
      } catch {
        /* none */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    done = true;
    process.removeListener('exit', onExit);
    return left;
  }

  if (!(await ready(c, 15_000))) {
    const log = fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8');
    await c.stop();
    throw new Error(`containerd did not answer within 15 s:\n${log.split('\n').slice(-20).join('\n')}`);
  }
  return c;
}

async function ready(c: Containerd, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(c.pid)) return false;
    if ((await c.ctr(['version'], { timeout: 5000 })).exitCode === 0) return true;
    await sleep(100);
  }
  return false;
}
