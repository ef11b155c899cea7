// `exec`: a new process inside a running container (docs/architecture.md,
// "exec"). R decides everything (the process, its attributes, which of the
// container's namespaces to join); tsrunc-nsexec joins them all but the mount
// namespace and forks into the pid namespace; Node-init (exec mode) joins the
// mount namespace once Node has booted, is moved into the cgroup by R, checks
// the cwd inside the container and becomes the program through the same
// execProcess as a container's init.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GlobalOptions } from '../cli/context.js';
import { log } from '../cli/log.js';
import { validateProcess } from '../config/validate.js';
import type { Process, Spec } from '../config/types.js';
import { TsruncError } from '../errors.js';
import { loadCgroupManager } from '../cgroups/index.js';
import { checkTerminal, sendConsole } from '../console/socket.js';
import { startRelay, type Relay } from '../console/relay.js';
import { NS_FLAG, nsexecArgs, type NamespacePlan } from '../namespaces.js';
import { initScript, nodeBinary, nsexecPath } from '../paths.js';
import { checkLsm, planAttrs, writeOomScoreAdj } from '../process/attrs.js';
import { Channel } from '../process/channel.js';
import type { ExecPlan } from '../process/exec-plan.js';
import { describeHelperError, initEnv } from '../process/helper.js';
import type { Message } from '../process/messages.js';
import { planRlimits, raiseHardLimits } from '../process/rlimits.js';
import { openStore } from '../state/store.js';
import { liveStatus, processAlive, readStartTime } from '../state/status.js';
import type { ContainerRecord } from '../state/types.js';
import { SysError } from '../sys/ffi.js';
import { exitCodeOf, sys } from '../sys/linux.js';
import { writePidFile } from './create.js';
import { signalProcess } from './kill.js';
import { hookState } from '../hooks.js';
import { checkSeccomp, seccompInitPlan } from '../seccomp/index.js';

export interface ExecOptions {
  id: string;
  /** The program and its arguments (without --process). */
  args: string[];
  processFile?: string;
  consoleSocket?: string;
  pidfdSocket?: string;
  cwd?: string;
  env: string[];
  tty: boolean;
  user?: string;
  additionalGids: string[];
  detach: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  noNewPrivs: boolean;
  caps: string[];
  preserveFds: number;
  /** --cgroup values, each "path" or "ctrl[,ctrl]:path". */
  cgroup?: string[];
  ignorePaused: boolean;
}

// runc's order: user first (joining the others needs the caps it gives). The
// mount namespace is joined by Node-init itself, after Node booted from the host.
const JOIN_ORDER = ['user', 'ipc', 'uts', 'net', 'pid', 'cgroup', 'time'] as const;
const SPEC_NAME: Record<string, string> = { net: 'network' };

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGWINCH', 'SIGALRM', 'SIGPWR'];

function readProcessFile(file: string): Process {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TsruncError(`unable to load process ${file}: ${(e as Error).message}`);
  }
  const errors = validateProcess(doc);
  if (errors.length) throw new TsruncError(`invalid process ${file}: ${errors.join('; ')}`);
  return doc as Process;
}

function parseId(v: string, what: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new TsruncError(`parsing ${v} as ${what}: invalid syntax`);
  return Number(v);
}

/** runc's getProcess: --process wholesale, else the config's process with the flags' changes. */
export function buildProcess(config: Spec, o: ExecOptions): Process {
  if (o.processFile) return readProcessFile(o.processFile);
  if (!o.args.length) throw new TsruncError('exec args cannot be empty');
  const p = structuredClone(config.process ?? { cwd: '/', user: { uid: 0, gid: 0 } }) as Process;
  p.args = o.args;
  delete p.commandLine;
  p.env = [...(p.env ?? []), ...o.env];
  if (o.cwd) p.cwd = o.cwd;
  p.terminal = o.tty;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.caps.length) {
    const c = { ...(p.capabilities ?? {}) };
    // runc 1.1's sets: not inheritable, so not ambient either.
    for (const k of ['bounding', 'effective', 'permitted'] as const) c[k] = [...(c[k] ?? []), ...o.caps];
    p.capabilities = c;
  }
  if (o.user) {
    const [u, g] = o.user.split(':');
    p.user = { uid: parseId(u!, 'uid'), gid: g === undefined ? 0 : parseId(g, 'gid') };
  }
  if (o.additionalGids.length) p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: o.additionalGids.map((g) => parseId(g, 'additional gid')) };
  const errors = validateProcess(p);
  if (errors.length) throw new TsruncError(`invalid process: ${errors.join('; ')}`);
  return p;
}

function nsIno(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** Every namespace of the container that is not already ours (runc joins the ones in its state; this is the same set). */
export function execNamespaces(pid: number): { plan: NamespacePlan; types: string[] } {
  const joins: NamespacePlan['joins'] = [];
  for (const t of JOIN_ORDER) {
    const theirs = nsIno(`/proc/${pid}/ns/${t}`);
    if (theirs === undefined || theirs === nsIno(`/proc/self/ns/${t}`)) continue;
    const type = SPEC_NAME[t] ?? t;
    joins.push({ type, flag: NS_FLAG[type]!, path: `/proc/${pid}/ns/${t}` });
  }
  const plan: NamespacePlan = {
    joins,
    newTypes: [],
    unshareFlags: 0,
    newCgroupNs: false,
    newUserNs: false,
    timeOffsets: [],
    fork: joins.some((j) => j.type === 'pid'),
  };
  return { plan, types: joins.map((j) => j.type) };
}

/** Like create: an fd that is open passes, but anon-inode ones are Node's own, never the caller's. */
function checkPreservedFds(n: number): void {
  for (let fd = 3; fd < 3 + n; fd++) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch (e) {
      throw new TsruncError(`unable to stat preserved-fd ${fd - 3} (of ${n}): fd ${fd}: ${(e as { code?: string }).code ?? e}`);
    }
    if (target.startsWith('anon_inode:')) throw new TsruncError(`unable to stat preserved-fd ${fd - 3} (of ${n}): fd ${fd} was not passed to tsrunc`);
  }
}

/** --cgroup: "path" (every controller) or "ctrl[,ctrl]:path", each a sub-cgroup of the container's (runc's rules). */
export function execCgroupPaths(paths: Record<string, string>, specs: string[] | undefined): Record<string, string> {
  const out = { ...paths };
  for (const spec of specs ?? []) {
    const colon = spec.indexOf(':');
    const sub = colon < 0 ? spec : spec.slice(colon + 1);
    const ctrls = colon < 0 ? Object.keys(paths) : spec.slice(0, colon).split(',');
    if (!sub || sub.split('/').includes('..')) throw new TsruncError(`invalid --cgroup argument: ${spec}`);
    for (const c of ctrls) {
      const key = paths[c] ? c : Object.keys(paths).length === 1 && paths.unified ? 'unified' : undefined;
      if (!key) throw new TsruncError(`invalid --cgroup argument: ${spec}: no such controller ${c}`);
      out[key] = path.join(paths[key]!, sub);
    }
  }
  return out;
}

function joinCgroups(rec: ContainerRecord, pid: number, sub: string[] | undefined): void {
  const paths = rec.internal.cgroupPaths;
  if (!paths || !Object.keys(paths).length) return;
  if (!sub?.length) {
    loadCgroupManager(paths, false, { warn: (m) => log.warn(m) }).join(pid);
    return;
  }
  for (const [ctrl, dir] of Object.entries(execCgroupPaths(paths, sub))) {
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      throw new TsruncError(`failed to join cgroup ${ctrl}:${dir}: ${(e as Error).message}`);
    }
  }
}

function killQuietly(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function sendPidfd(socketPath: string, pid: number): void {
  const s = sys();
  const fd = s.pidfdOpen(pid);
  try {
    const sock = s.connectUnix(socketPath);
    try {
      s.sendFd(sock, fd, 'pidfd');
    } finally {
      fs.closeSync(sock);
    }
  } catch (e) {
    throw new TsruncError(`failed to send pidfd to ${socketPath}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Phase timings in --debug logs (ms since this process started, Node's boot included). */
function mark(phase: string): void {
  if (log.debugEnabled) log.debug(`exec: ${phase} at ${performance.now().toFixed(1)} ms`);
}

/** Resolves to the exit code tsrunc should exit with (the process's in the foreground). */
export async function execContainer(globals: GlobalOptions, o: ExecOptions): Promise<number> {
  mark('cli parsed');
  const store = openStore(globals.root);
  const rec = store.read(o.id);
  const status = liveStatus(rec);
  if (status === 'stopped' || status === 'creating') throw new TsruncError('cannot exec in a stopped container');
  if (status === 'paused' && !o.ignorePaused) throw new TsruncError('cannot exec in a paused container (use --ignore-paused to override)');
  let config: Spec;
  try {
    config = JSON.parse(fs.readFileSync(path.join(rec.bundle, 'config.json'), 'utf8')) as Spec;
  } catch (e) {
    throw new TsruncError(`cannot read the container's config.json: ${(e as Error).message}`);
  }
  const proc = buildProcess(config, o);
  checkTerminal(!!proc.terminal, o.detach, o.consoleSocket);
  checkLsm(proc);
  checkPreservedFds(o.preserveFds);
  const { plan: ns, types } = execNamespaces(rec.pid);
  const userns = types.includes('user');
  // runc's newInitConfig: what the process does not say comes from the container's process.
  const base: Partial<Process> = config.process ?? {};
  const merged: Process = {
    ...proc,
    ...(proc.capabilities === undefined && base.capabilities ? { capabilities: base.capabilities } : {}),
    ...(!proc.rlimits?.length && base.rlimits?.length ? { rlimits: base.rlimits } : {}),
    ...(proc.apparmorProfile === undefined && base.apparmorProfile ? { apparmorProfile: base.apparmorProfile } : {}),
    noNewPrivileges: !!(proc.noNewPrivileges || base.noNewPrivileges),
  };
  // The container's filter, with this process's no_new_privs/caps deciding when it is loaded (runc: the config's seccomp for every exec).
  const seccomp = checkSeccomp(config);
  const s = sys();
  const mntFd = fs.openSync(`/proc/${rec.pid}/ns/mnt`, fs.constants.O_RDONLY | 0o2000000 /* O_CLOEXEC */);
  // The pid's start time re-checked after the open: the fd is the container's mount namespace, not a recycled pid's.
  if (!processAlive(rec.pid, rec.pidStartTime)) {
    fs.closeSync(mntFd);
    throw new TsruncError('cannot exec in a stopped container');
  }
  const [parentEnd, childEnd] = s.socketpair();
  const syncFd = 3 + o.preserveFds;
  const fdMap = [0, 1, 2];
  for (let i = 0; i < o.preserveFds; i++) fdMap.push(3 + i);
  fdMap.push(childEnd, mntFd);
  const user = merged.user ?? { uid: 0, gid: 0 };
  const plan: ExecPlan = {
    mntNsFd: syncFd + 1,
    args: merged.args!,
    env: merged.env ?? [],
    cwd: merged.cwd || '/',
    user: {
      uid: user.uid ?? 0,
      gid: user.gid ?? 0,
      ...(user.additionalGids ? { additionalGids: user.additionalGids } : {}),
      ...(user.umask !== undefined ? { umask: user.umask } : {}),
    },
    setgroups: !(userns && process.geteuid!() !== 0),
    preservedFds: o.preserveFds,
    attrs: planAttrs({ ...config, process: merged }, o.id, { noNewKeyring: false, userns }),
    ...(merged.terminal ? { terminal: merged.consoleSize ? { size: merged.consoleSize } : {} } : {}),
  };
  let helperPid: number;
  try {
    // The container's processes see this one from its fork on: nothing it maps or holds may be a writable host file.
    const argv = nsexecArgs(ns, syncFd, [nodeBinary(), initScript(), String(syncFd), 'exec'], { seal: true, sealSelf: true });
    helperPid = s.spawn(nsexecPath(), ['tsrunc-nsexec', ...argv], initEnv(), fdMap);
  } catch (e) {
    fs.closeSync(parentEnd);
    throw new TsruncError(`cannot start ${nsexecPath()}: ${(e as Error).message} (run make build)`);
  } finally {
    fs.closeSync(childEnd);
    fs.closeSync(mntFd);
  }
  mark('nsexec spawned');
  const ch = new Channel(parentEnd);
  let pid: number | undefined;
  let consoleFd: number | undefined;
  try {
    const recv = (): Message => {
      const m = ch.recv();
      if (!m) throw new TsruncError('exec: the process exited before it started');
      if (m.type === 'error') throw new TsruncError(`unable to start container process: ${describeHelperError(m, (e) => new SysError('', e).message.slice(2))}`);
      return m;
    };
    for (;;) {
      const m = recv();
      if (m.type === 'log') {
        log.debug(m.message);
      } else if (m.type === 'pid') {
        pid = m.pid;
        if (merged.oomScoreAdj !== undefined) writeOomScoreAdj(pid, merged.oomScoreAdj);
        const sc = seccompInitPlan({ ...config, process: merged }, seccomp, hookState(rec, pid, 'running'));
        if (sc) plan.seccomp = sc;
        ch.send({ type: 'exec-plan', plan });
      } else if (m.type === 'ready') {
        mark('init booted');
        // After Node-init's boot, as with create: Node's own memory is not the container's.
        joinCgroups(rec, pid!, o.cgroup);
        ch.send({ type: 'joined' });
      } else if (m.type === 'console') {
        const { fd } = s.recvFd(ch.fd);
        if (fd < 0) throw new TsruncError('exec: the process did not send its console');
        if (o.consoleSocket) {
          try {
            sendConsole(s, o.consoleSocket, fd, m.name);
          } finally {
            fs.closeSync(fd);
          }
        } else {
          consoleFd = fd;
        }
      } else if (m.type === 'created') {
        mark('init ready to exec (mount ns, cwd, program found)');
        break;
      } else {
        throw new TsruncError(`unexpected message ${m.type} from the exec process`);
      }
    }
    if (merged.rlimits?.length) raiseHardLimits(s, pid!, planRlimits(merged.rlimits));
    ch.send({ type: 'start' });
    // The socket is close-on-exec: EOF means execve happened (or the process died trying).
    while (ch.recv()) ;
  } catch (e) {
    if (consoleFd !== undefined) fs.closeSync(consoleFd);
    killQuietly(pid);
    killQuietly(helperPid);
    ch.close();
    if (pid) await s.waitpid(pid).catch(() => 0);
    if (helperPid !== pid) await s.waitpid(helperPid).catch(() => 0);
    throw e;
  }
  ch.close();
  mark('execve done');
  const startTime = readStartTime(pid!) ?? '';
  if (o.pidFile) writePidFile(o.pidFile, pid!);
  if (o.pidfdSocket) sendPidfd(o.pidfdSocket, pid!);
  if (helperPid !== pid) await s.waitpid(helperPid).catch(() => 0);
  if (o.detach) return 0;
  let relay: Relay | undefined;
  if (consoleFd !== undefined) relay = startRelay(s, consoleFd);
  const onSignal = (sig: NodeJS.Signals): void => {
    try {
      signalProcess(pid!, startTime, os.constants.signals[sig]);
    } catch (e) {
      log.debug(`forwarding ${sig}: ${(e as Error).message}`);
    }
  };
  for (const sig of FORWARDED) process.on(sig, onSignal);
  // Our child (spawned by us, or made ours by CLONE_PARENT): libuv never reaps it.
  const code = exitCodeOf(await s.waitpid(pid!));
  await relay?.finish();
  for (const sig of FORWARDED) process.off(sig, onSignal);
  return code;
}
