// `create` (and the first half of `run`): R's side of the process model.
// See docs/architecture.md for the whole sequence and its costs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { log } from '../cli/log.js';
import type { GlobalOptions } from '../cli/context.js';
import { loadBundle } from '../config/load.js';
import type { Spec } from '../config/types.js';
import { MSG, TsruncError } from '../errors.js';
import type { InitPlan } from '../init/plan.js';
import { checkSeccomp, seccompInitPlan, type CompiledSeccomp } from '../seccomp/index.js';
import { checkJoinPaths, nsexecArgs, planNamespaces, writeIdMaps, type NamespacePlan } from '../namespaces.js';
import { describeHelperError, spawnHelper, type Helper } from '../process/helper.js';
import type { Message } from '../process/messages.js';
import { openStore, type ContainerHandle } from '../state/store.js';
import { processAlive, readStartTime } from '../state/status.js';
import { waitGone } from '../state/wait.js';
import type { ContainerRecord } from '../state/types.js';
import { SysError } from '../sys/ffi.js';
import { sys, type Sys } from '../sys/linux.js';
import type { Channel } from '../process/channel.js';
import { containerDeviceRules, newCgroupManager, type CgroupManager, type LinuxResources } from '../cgroups/index.js';
import { checkTerminal, sendConsole } from '../console/socket.js';
import { copySize } from '../console/relay.js';
import { hookState, runHooks, runHooksCollectingErrors } from '../hooks.js';
import { checkLsm, planAttrs, writeOomScoreAdj } from '../process/attrs.js';
import { planRlimits, raiseHardLimits } from '../process/rlimits.js';
import { checkSysctlNetns } from '../rootfs/sysctl.js';
import { onlineNodes, planMemoryPolicy } from '../process/mempolicy.js';
import { checkIntelRdt } from './intelrdt.js';
import { checkNetDevices, moveNetDevices, netDevicesOf, type MovedNetDevices, type NetDevice } from '../network/netdevices.js';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  noPivot: boolean;
  noNewKeyring?: boolean;
  /** run -d (create is always detached): decides how a terminal can be delivered. */
  detach?: boolean;
}

export interface Created {
  handle: ContainerHandle;
  record: ContainerRecord;
  channel: Channel;
  /** Host pid of the container's process. */
  pid: number;
  /** The pty master, for `run` in the foreground with a terminal (no --console-socket). */
  consoleFd?: number;
}

export const EXEC_FIFO = 'exec.fifo';

/** Phase timings in --debug logs (ms since this process started, Node's boot included). */
function mark(phase: string): void {
  if (log.debugEnabled) log.debug(`create: ${phase} at ${performance.now().toFixed(1)} ms`);
}

/** Socket-activation fds this process got for itself (go-systemd's activation.Files rule). */
function listenFds(): number {
  const n = Number(process.env.LISTEN_FDS ?? '');
  if (!Number.isInteger(n) || n <= 0) return 0;
  return Number(process.env.LISTEN_PID) === process.pid ? n : 0;
}

/**
 * Like runc, an fd that is open passes. But Node opens its own fds (epoll,
 * eventfd, io_uring, pipes) at the lowest free numbers and marks inherited
 * ones close-on-exec too, so a count larger than what the caller passed
 * would hand the container our internals: the anon-inode ones at least are
 * recognisable and refused.
 */
function checkPreservedFds(listen: number, preserve: number): void {
  for (let i = 0; i < listen + preserve; i++) {
    const fd = 3 + i;
    const what = i < listen ? `LISTEN_FDS fd ${fd}` : `preserved-fd ${i - listen} (of ${preserve})`;
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch (e) {
      throw new TsruncError(`unable to stat ${what}: fd ${fd}: ${(e as { code?: string }).code ?? e}`);
    }
    if (target.startsWith('anon_inode:')) throw new TsruncError(`unable to stat ${what}: fd ${fd} was not passed to tsrunc`);
  }
}

/** linux.devices, maskedPaths, readonlyPaths, sysctl: carried out by init (src/rootfs/). */
function rootfsExtras(spec: Spec): Partial<InitPlan['rootfs']> {
  const l = spec.linux;
  const out: Partial<InitPlan['rootfs']> = {};
  if (l?.devices?.length) out.devices = l.devices;
  if (l?.maskedPaths?.length) out.maskedPaths = l.maskedPaths;
  if (l?.readonlyPaths?.length) out.readonlyPaths = l.readonlyPaths;
  if (l?.sysctl && Object.keys(l.sysctl).length) out.sysctl = l.sysctl;
  return out;
}

/** Absolute bind sources: runc resolves relative ones against the bundle. */
function mountsFor(spec: Spec, bundle: string): InitPlan['rootfs']['mounts'] {
  return (spec.mounts ?? []).map((m) => {
    const bind = m.type === 'bind' || m.options?.some((o) => o === 'bind' || o === 'rbind');
    const source = bind && m.source && !m.source.startsWith('/') ? path.join(bundle, m.source) : m.source;
    const out: InitPlan['rootfs']['mounts'][number] = { destination: m.destination };
    if (m.type !== undefined) out.type = m.type;
    if (source !== undefined) out.source = source;
    if (m.options !== undefined) out.options = m.options;
    if (m.uidMappings || m.gidMappings) out.idmap = true;
    return out;
  });
}

interface Checked {
  spec: Spec;
  /** Nothing exists on the host yet: `create()` makes the cgroup once init has booted. */
  cgroup: CgroupManager;
  bundle: string;
  rootfs: string;
  ns: NamespacePlan;
  extraFds: number;
  listen: number;
  seccomp?: CompiledSeccomp;
  netDevices: NetDevice[];
}

/** Everything that can fail before anything exists on the host. */
function check(globals: GlobalOptions, opts: CreateOptions): Checked {
  const { spec, bundle, rootfs } = loadBundle(opts.bundle, { forCreate: true });
  const proc = spec.process;
  if (!proc?.args?.length) throw new TsruncError('config.json: process.args must name the program to run');
  checkTerminal(!!proc.terminal, opts.detach !== false, opts.consoleSocket);
  checkLsm(proc);
  if (!rootfs) throw new TsruncError('config.json: root.path is required');
  const ns = planNamespaces(spec.linux?.namespaces, spec.linux?.timeOffsets);
  if (!ns.newTypes.includes('mount')) {
    throw new TsruncError('linux.namespaces: a new mount namespace is required (tsrunc builds the rootfs in it)');
  }
  if ((spec.hostname || spec.domainname) && !ns.newTypes.includes('uts')) {
    throw new TsruncError('unable to set hostname without a private UTS namespace');
  }
  checkJoinPaths(ns, sys());
  checkSysctlNetns(spec.linux?.sysctl, ns.joins);
  checkIntelRdt(spec.linux?.intelRdt, () => fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  const netDevices = netDevicesOf(spec.linux?.netDevices);
  checkNetDevices(sys(), netDevices, ns);
  const listen = listenFds();
  checkPreservedFds(listen, opts.preserveFds);
  const cgroup = newCgroupManager({
    id: opts.id,
    ...(spec.linux?.cgroupsPath ? { cgroupsPath: spec.linux.cgroupsPath } : {}),
    systemd: globals.systemdCgroup,
    rootless: globals.rootless === 'true' || (globals.rootless === 'auto' && process.geteuid!() !== 0),
    warn: (m) => log.warn(m),
  });
  const seccomp = checkSeccomp(spec);
  return { spec, bundle, rootfs, ns, extraFds: listen + opts.preserveFds, listen, cgroup, netDevices, ...(seccomp ? { seccomp } : {}) };
}

/** `linux.resources` with runc's device rules: the config's, then linux.devices' nodes, then the defaults, always. */
function containerResources(spec: Spec): LinuxResources {
  const r = { ...(spec.linux?.resources ?? {}) } as LinuxResources;
  r.devices = containerDeviceRules(spec.linux?.resources?.devices, spec.linux?.devices) as LinuxResources['devices'];
  return r;
}

function initPlan(c: Checked, opts: CreateOptions, fifo: string | undefined): InitPlan {
  const proc = c.spec.process!;
  const env = [...(proc.env ?? [])];
  if (c.listen > 0) env.push(`LISTEN_FDS=${c.listen}`, 'LISTEN_PID=1');
  const user = proc.user ?? { uid: 0, gid: 0 };
  const plan: InitPlan = {
    rootfs: {
      rootfs: c.rootfs,
      mounts: mountsFor(c.spec, c.bundle),
      noPivot: opts.noPivot,
      readonly: !!c.spec.root?.readonly,
      cwd: proc.cwd || '/',
      userns: c.ns.newUserNs || c.ns.joins.some((j) => j.type === 'user'),
      ...(c.spec.linux?.rootfsPropagation ? { propagation: c.spec.linux.rootfsPropagation } : {}),
      ...rootfsExtras(c.spec),
    },
    newCgroupNs: c.ns.newCgroupNs,
    args: proc.args!,
    env,
    cwd: proc.cwd || '/',
    user: {
      uid: user.uid ?? 0,
      gid: user.gid ?? 0,
      ...(user.additionalGids ? { additionalGids: user.additionalGids } : {}),
      ...(user.umask !== undefined ? { umask: user.umask } : {}),
    },
    // Denied only in a user namespace created without privilege (see writeIdMaps).
    setgroups: !(c.ns.newUserNs && process.geteuid!() !== 0),
    preservedFds: c.extraFds,
  };
  if (c.ns.newTypes.includes('uts')) {
    if (c.spec.hostname !== undefined) plan.hostname = c.spec.hostname;
    if (c.spec.domainname !== undefined) plan.domainname = c.spec.domainname;
  }
  if (fifo) plan.execFifo = fifo;
  const mp = c.spec.linux?.memoryPolicy;
  if (mp) plan.memoryPolicy = planMemoryPolicy(mp, onlineNodes((f) => fs.readFileSync(f, 'utf8')));
  return plan;
}

/** What init needs for the process: attributes, the hooks it runs itself, the terminal. */
function withProcess(plan: InitPlan, c: Checked, opts: CreateOptions, record: ContainerRecord, pid: number): InitPlan {
  const proc = c.spec.process!;
  plan.attrs = planAttrs(c.spec, opts.id, { noNewKeyring: !!opts.noNewKeyring, userns: c.ns.newUserNs || c.ns.joins.some((j) => j.type === 'user') });
  const h = c.spec.hooks;
  // Also for createContainer alone: R then knows the create hooks began (a failure continues with poststop).
  if (h?.prestart?.length || h?.createRuntime?.length || h?.createContainer?.length) plan.runtimeHooks = true;
  if (h?.createContainer?.length || h?.startContainer?.length) {
    plan.hooks = {
      state: hookState(record, pid, 'creating'),
      ...(h.createContainer?.length ? { createContainer: h.createContainer } : {}),
      ...(h.startContainer?.length ? { startContainer: h.startContainer } : {}),
    };
  }
  if (proc.terminal) plan.terminal = proc.consoleSize ? { size: proc.consoleSize } : {};
  const seccomp = seccompInitPlan(c.spec, c.seccomp, hookState(record, pid, 'creating'));
  if (seccomp) plan.seccomp = seccomp;
  return plan;
}

/** temp + rename, like runc: a reader never sees a partial pid file. */
export function writePidFile(file: string, pid: number): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}`);
  fs.writeFileSync(tmp, String(pid), { mode: 0o644 });
  fs.renameSync(tmp, abs);
}

/** Waits (bounded) until pid is gone or a zombie: its mounts and namespaces are released by then. */
function killQuietly(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Init gets the exec fifo as an fd opened here, right after its plan: it never
 * resolves the host path. With a user namespace mapped away from host root,
 * init could neither walk the 0700 state dirs nor open the root-owned fifo for
 * reading (runc passes an O_PATH fd and chowns the fifo to the container's
 * root for its reopen; an fd already open for I/O needs neither).
 */
function sendExecFifo(s: Sys, ch: Channel, fifo: string): void {
  // O_RDWR: does not block on a FIFO, and `start`'s O_WRONLY|O_NONBLOCK open then finds a reader.
  const fd = fs.openSync(fifo, fs.constants.O_RDWR);
  try {
    s.sendFd(ch.fd, fd, EXEC_FIFO);
  } finally {
    fs.closeSync(fd);
  }
}

function helperArgv(c: Pick<Checked, 'ns' | 'extraFds'>): string[] {
  return nsexecArgs(c.ns, 3 + c.extraFds, []);
}

/**
 * The namespace part of the config read without validation, to start
 * nsexec before the (slower) full load. Any doubt means no early start:
 * the full check then reports the problem properly.
 */
function spawnEarly(opts: CreateOptions): (Helper & { argv: string[] }) | undefined {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(path.resolve(opts.bundle), 'config.json'), 'utf8')) as Spec;
    if (!raw.process?.args?.length) return undefined;
    const ns = planNamespaces(raw.linux?.namespaces, raw.linux?.timeOffsets);
    if (!ns.newTypes.includes('mount')) return undefined;
    checkJoinPaths(ns, sys());
    const listen = listenFds();
    checkPreservedFds(listen, opts.preserveFds);
    const extraFds = listen + opts.preserveFds;
    return { ...spawnHelper(sys(), ns, extraFds), argv: helperArgv({ ns, extraFds }) };
  } catch {
    return undefined;
  }
}

/** Our children, zombies included: H, and P, which CLONE_PARENT made ours too. */
function ownChildren(): number[] {
  try {
    return fs.readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kills nsexec and whatever it forked, and returns once all of them are
 * gone. Once H is dead it can fork no more, so our child list is then
 * final: that also covers a P whose pid H died before reporting.
 */
function abandon(h: Helper): void {
  killQuietly(h.pid);
  waitGone(h.pid);
  h.channel.close();
  const children = ownChildren();
  for (const pid of children) if (processAlive(pid)) killQuietly(pid);
  for (const pid of children) waitGone(pid);
}

/**
 * Creates the container up to `created`. mode 'run' sends `start` over the
 * socket instead of leaving init to wait on the exec fifo.
 */
export function createContainer(globals: GlobalOptions, opts: CreateOptions, mode: 'create' | 'run'): Created {
  const store = openStore(globals.root);
  store.dir(opts.id); // validates the id before any other work
  if (store.exists(opts.id)) throw new TsruncError(MSG.exists);
  mark('cli parsed');
  const s = sys();
  // Start nsexec + Node-init (~35 ms of Node boot) first and validate the
  // bundle and write the record while it boots. Safe before the record
  // exists: until init gets its plan it dies with our socket.
  const early = spawnEarly(opts);
  let helper: Helper | undefined = early;
  mark('nsexec spawned (early)');
  let c: Checked;
  try {
    c = check(globals, opts);
    mark('bundle loaded and checked');
    if (early && early.argv.join('\0') !== helperArgv(c).join('\0')) {
      // The validated config asks for something else than the raw read: start over.
      abandon(early);
      helper = undefined;
    }
  } catch (e) {
    if (helper) abandon(helper);
    throw e;
  }

  // The record (status creating) exists before init can get its plan, and
  // without a plan init dies with our socket: a create killed at any point
  // leaves nothing `delete --force` misses.
  const record: ContainerRecord = {
    ociVersion: c.spec.ociVersion,
    id: opts.id,
    status: 'creating',
    pid: 0,
    pidStartTime: '',
    bundle: c.bundle,
    rootfs: c.rootfs,
    created: new Date().toISOString(),
    owner: '',
    ...(c.spec.annotations ? { annotations: c.spec.annotations } : {}),
    internal: {
      creatorPid: process.pid,
      creatorStartTime: readStartTime(process.pid) ?? '',
      newNamespaces: c.ns.newTypes,
    },
  };
  let handle: ContainerHandle;
  try {
    handle = store.create(opts.id, record);
  } catch (e) {
    if (helper) abandon(helper);
    throw e;
  }
  mark('state record written (creating)');
  let pid: number | undefined;
  let pidFileWritten = false;
  let hooksRan = false;
  let consoleFd: number | undefined;
  let cgroupMade = false;
  let netdevs: MovedNetDevices | undefined;
  try {
    if (!helper) {
      helper = spawnHelper(s, c.ns, c.extraFds);
      mark('nsexec spawned');
    }
    const h = helper;
    let fifo: string | undefined;
    if (mode === 'create') {
      fifo = path.join(handle.dir, EXEC_FIFO);
      s.mkfifo(fifo, 0o622);
      record.internal.execFifo = fifo;
    }
    const ch = h.channel;
    const recv = (): Message => {
      const m = ch.recv();
      if (!m) throw new TsruncError('container init exited before the container was created');
      if (m.type === 'error') throw new TsruncError(describeHelperError(m, (e) => new SysError('', e).message.slice(2)));
      return m;
    };
    for (;;) {
      const m = recv();
      if (m.type === 'log') {
        log.debug(m.message);
      } else if (m.type === 'userns') {
        const linux = c.spec.linux ?? {};
        writeIdMaps(m.pid, linux.uidMappings, linux.gidMappings, process.geteuid!());
        ch.send({ type: 'ack' });
      } else if (m.type === 'pid') {
        pid = m.pid;
        mark('nsexec done (namespaces made)');
        // From the host as soon as init exists (runc writes it in nsexec, before the user namespace, where lowering it is refused).
        if (c.spec.process?.oomScoreAdj !== undefined) writeOomScoreAdj(pid, c.spec.process.oomScoreAdj);
        // The namespace exists; init has no plan yet, so this precedes every hook (runc's order).
        if (c.netDevices.length) {
          netdevs = moveNetDevices(s, c.netDevices, pid);
          mark('network devices moved');
        }
        ch.send({ type: 'plan', plan: withProcess(initPlan(c, opts, fifo), c, opts, record, pid) });
        if (fifo) sendExecFifo(s, ch, fifo);
        // While Node-init boots (~35 ms, we would only wait): the cgroups, their
        // limits and the record naming them. Only the join must follow `ready`.
        cgroupMade = true; // destroy() removes only what create() made, also after a partial failure
        c.cgroup.create(containerResources(c.spec));
        // Recorded before the join: a create killed from here on leaves a record delete --force cleans up.
        record.internal.cgroupPaths = c.cgroup.paths();
        record.internal.cgroupsOwned = c.cgroup.owned();
        if (c.spec.linux?.resources) record.internal.resources = c.spec.linux.resources;
        handle.write(record);
        mark('cgroups created');
      } else if (m.type === 'hooks') {
        // Mounts made, before pivot_root: the hooks of the runtime namespace.
        hooksRan = true;
        const state = hookState(record, pid!, 'creating');
        runHooks('prestart', c.spec.hooks?.prestart, state);
        runHooks('createRuntime', c.spec.hooks?.createRuntime, state);
        ch.send({ type: 'hooked' });
      } else if (m.type === 'console') {
        const { fd } = s.recvFd(ch.fd);
        if (fd < 0) throw new TsruncError('container init did not send the console');
        if (opts.consoleSocket) {
          try {
            sendConsole(s, opts.consoleSocket, fd, m.name);
          } finally {
            fs.closeSync(fd);
          }
        } else {
          consoleFd = fd;
          // Before the program starts: it may ask for the size at once (`stty size`).
          copySize(s, fd);
        }
      } else if (m.type === 'ready') {
        mark('init booted');
        // Only now, after Node-init booted: Node's own ~30 MB and its threads
        // are charged to the caller, not to the container's limits.
        if (!pid) throw new TsruncError('container init never reported its pid');
        c.cgroup.join(pid);
        mark('cgroups joined');
        ch.send({ type: 'joined' });
      } else if (m.type === 'created') {
        mark('init created (rootfs done)');
        break;
      } else {
        throw new TsruncError(`unexpected message ${m.type} from container init`);
      }
    }
    if (!pid) throw new TsruncError('container init never reported its pid');
    const startTime = readStartTime(pid);
    if (!startTime) throw new TsruncError('container init exited before the container was created');
    // runc sets rlimits from the parent at this point; we raise the hard limits (init sets the exact values before execve).
    if (c.spec.process?.rlimits?.length) raiseHardLimits(s, pid, planRlimits(c.spec.process.rlimits));
    // What start/delete need later (the bundle's config.json may change after create).
    const { poststart, poststop, startContainer } = c.spec.hooks ?? {};
    if (poststart?.length || poststop?.length || startContainer?.length) {
      record.internal.hooks = {
        ...(poststart?.length ? { poststart } : {}),
        ...(poststop?.length ? { poststop } : {}),
        ...(startContainer?.length ? { startContainer: true } : {}),
      };
    }
    if (opts.pidFile) {
      writePidFile(opts.pidFile, pid);
      pidFileWritten = true;
    }
    record.status = 'created';
    record.pid = pid;
    record.pidStartTime = startTime;
    delete record.internal.creatorPid;
    delete record.internal.creatorStartTime;
    if (mode === 'run') {
      record.status = 'running';
      record.internal.started = true;
      delete record.internal.execFifo;
    }
    handle.write(record);
    mark('state record written (created)');
    // Init exits if the socket closes before this arrives: an unrecorded init never survives us.
    ch.send({ type: mode === 'run' ? 'start' : 'ok' });
    if (mode === 'run' && fifo) fs.rmSync(fifo, { force: true });
    netdevs?.close();
    return { handle, record, channel: ch, pid, ...(consoleFd !== undefined ? { consoleFd } : {}) };
  } catch (e) {
    if (consoleFd !== undefined) fs.closeSync(consoleFd);
    // Back to the host before the namespace can go (our fd keeps it alive until then).
    netdevs?.undo((w) => log.warn(w));
    killQuietly(pid);
    // Also kills a P whose pid we had not read yet, and returns at EOF.
    if (helper) abandon(helper);
    if (pid) waitGone(pid);
    if (cgroupMade) {
      try {
        c.cgroup.destroy();
      } catch (e2) {
        log.warn(`cleanup of cgroups: ${(e2 as Error).message}`);
      }
    }
    if (pidFileWritten && opts.pidFile) fs.rmSync(opts.pidFile, { force: true });
    // runtime.md: a failed prestart/createRuntime/createContainer hook stops the container and the lifecycle goes on with poststop.
    if (hooksRan && c.spec.hooks?.poststop?.length) {
      for (const w of runHooksCollectingErrors('poststop', c.spec.hooks.poststop, hookState(record, 0, 'stopped'))) log.warn(w);
    }
    try {
      handle.remove();
    } catch (e2) {
      log.warn(`cleanup of ${handle.dir}: ${(e2 as Error).message}`);
    }
    throw e;
  }
}
