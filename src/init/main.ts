// Node init (I): exec'd by tsrunc-nsexec inside the new namespaces, so it is
// the container's PID 1 (with a pid namespace) and every one of its threads
// is already in the container's namespaces. It carries out the plan R sends,
// reports `created`, waits for `start`, then becomes the user's program.
//
// Keep the import graph small: this is a second Node start on the
// create path, and every module loaded here is paid on every container.
import * as fs from 'node:fs';
import { Channel } from '../process/channel.js';
import type { Message } from '../process/messages.js';
import { finalizeRootfs, setupRootfs } from '../rootfs/setup.js';
import { reopenDevNull } from '../rootfs/dev.js';
import { CLONE, CLOSE_RANGE_CLOEXEC, FIONREAD, PR_SET_DUMPABLE, sys, type Sys } from '../sys/linux.js';
import { bindConsole, openPty, takeConsole } from '../console/pty.js';
import { runHooks } from '../hooks.js';
import { applyApparmor, applyPrivilegedAttrs, joinSessionKeyring, setAffinity } from '../process/attrs.js';
import { applyCapabilities, dropBoundingSet } from '../process/capabilities.js';
import { applyRlimits } from '../process/rlimits.js';
import { applyMemoryPolicy } from '../process/mempolicy.js';
import { lookPath, withHome } from './lookpath.js';
import type { InitPlan } from './plan.js';
import { enterCwd, execMain } from '../process/exec-init.js';
import { Procfs } from '../sys/procfs.js';
import type { ProcessPlan } from '../process/exec-plan.js';
import { connectSeccompListener, loadSeccomp } from '../seccomp/load.js';

function fail(ch: Channel, e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  try {
    ch.send({ type: 'error', message });
  } catch {
    // R is gone: nobody to tell
  }
  process.exit(1);
}

function expect(ch: Channel, ...types: Message['type'][]): Message {
  const m = ch.recv();
  // R died (or gave up on us): nothing of this container may outlive it.
  if (!m) process.exit(1);
  if (!types.includes(m.type)) throw new Error(`init: unexpected message ${m.type} (wanted ${types.join('|')})`);
  return m;
}

/** Everything up to `created`: namespaces' contents, rootfs, cwd, the program to run. */
function setup(s: Sys, ch: Channel, plan: InitPlan): { exe: string; fifoFd?: number } {
  // The exec fifo comes as an fd right after the plan (create.ts sendExecFifo): a mapped
  // container root could not open the host path in R's 0700 state dir.
  const fifoFd = plan.execFifo ? receiveFd(s, ch, 'exec fifo') : undefined;
  // Also on the host's filesystem: the seccomp listener's socket.
  connectSeccompListener(s, plan.seccomp);
  // runc joins the keyring first thing in init; affinity "initial" is for the work before the cgroup join.
  if (plan.attrs?.keyring) joinSessionKeyring(s, plan.attrs.keyring);
  setAffinity(s, plan.attrs?.cpusInitial, 'initial');
  ch.send({ type: 'ready' });
  expect(ch, 'joined');
  // After the cgroup join, so the namespace's root is the container's cgroup.
  if (plan.newCgroupNs) s.unshare(CLONE.NEWCGROUP);
  const t0 = performance.now();
  // Every later write to procfs and every fd named to mount(2) after pivot_root goes through this
  // one, not the /proc the container's config and image build (src/sys/procfs.ts).
  const proc = Procfs.open();
  const tProc = performance.now() - t0;
  try {
    setupRootfs(s, plan.rootfs, (message) => ch.send({ type: 'log', message }), () => beforePivot(ch, plan));
    reopenDevNull(s);
    // Before finalizeRootfs, as runc: /dev may become read-only there.
    if (plan.terminal) setupTerminal(s, ch, proc, plan.terminal);
    ch.send({ type: 'log', message: `init: booted in ${t0.toFixed(1)} ms, procfs handle (${proc.origin}) ${tProc.toFixed(2)} ms, rootfs took ${(performance.now() - t0).toFixed(1)} ms` });
    if (plan.hostname !== undefined) s.sethostname(plan.hostname);
    if (plan.domainname !== undefined) s.setdomainname(plan.domainname);
    // sysctls, readonly/masked paths, read-only root: after the hostname, as runc.
    finalizeRootfs(s, proc, plan.rootfs, (message) => ch.send({ type: 'log', message }));
    // Failures here fail create, as with runc (which applies these before it reports ready).
    if (plan.attrs?.apparmorProfile) applyApparmor(plan.attrs.apparmorProfile, proc);
  } finally {
    proc.close();
  }
  if (plan.attrs) applyPrivilegedAttrs(s, plan.attrs);
  // This thread execs the program, which keeps the policy; set before `created` so a refusal fails create.
  if (plan.memoryPolicy) applyMemoryPolicy(s, plan.memoryPolicy);
  // Created by setupRootfs; resolved inside the new root with no magic link followed: a cwd of
  // /proc/self/fd/N cannot reach an fd of ours (CVE-2024-21626).
  enterCwd(s, plan.cwd);
  const exe = lookPath(plan.args[0]!, plan.env);
  return fifoFd === undefined ? { exe } : { exe, fifoFd };
}

function receiveFd(s: Sys, ch: Channel, what: string): number {
  const { fd } = s.recvFd(ch.fd);
  if (fd < 0) throw new Error(`init: the runtime did not send the ${what}`);
  return fd;
}

/** The mounts are made, the host's root still visible: prestart/createRuntime (by R), then createContainer. */
function beforePivot(ch: Channel, plan: InitPlan): void {
  if (plan.runtimeHooks) {
    ch.send({ type: 'hooks' });
    expect(ch, 'hooked');
  }
  if (plan.hooks?.createContainer) {
    // runtime.md: hooks run in the container namespace get the pid as seen there (1 in a new pid namespace).
    runHooks('createContainer', plan.hooks.createContainer, { ...plan.hooks.state, status: 'creating', pid: process.pid }, plan.rootfs.rootfs);
  }
}

/** The pty's master goes to R (then to --console-socket or run's relay); the slave becomes our console. */
function setupTerminal(s: Sys, ch: Channel, proc: Procfs, t: NonNullable<InitPlan['terminal']>): void {
  const pty = openPty(s, t.size);
  bindConsole(s, proc, pty);
  ch.send({ type: 'console', name: pty.name });
  s.sendFd(ch.fd, pty.master, pty.name);
  fs.closeSync(pty.master);
  takeConsole(s, pty);
}

// runc's Go init exits on these while it waits for start; as PID 1 of a pid
// namespace we only receive signals we handle, so handle them the same way.
const CREATED_EXIT_SIGNALS: [NodeJS.Signals, number][] = [
  ['SIGHUP', 1],
  ['SIGINT', 2],
  ['SIGTERM', 15],
];

async function waitStart(s: Sys, ch: Channel, fifoFd: number | undefined): Promise<void> {
  const m = expect(ch, 'ok', 'start');
  if (m.type === 'start') return;
  if (fifoFd === undefined) throw new Error('init: told to wait for start without an exec fifo');
  for (const [sig, num] of CREATED_EXIT_SIGNALS) process.on(sig, () => s.exit(128 + num));
  // The read runs on a pool thread so the event loop (and the handlers above) stay live.
  await new Promise<void>((resolve, reject) => {
    const buf = Buffer.alloc(1);
    const again = (): void =>
      fs.read(fifoFd, buf, 0, 1, null, (err, n) => {
        if (err && err.code !== 'EINTR' && err.code !== 'EAGAIN') return reject(err);
        if (!err && n === 1) return resolve();
        again();
      });
    again();
  });
  for (const [sig] of CREATED_EXIT_SIGNALS) process.removeAllListeners(sig);
}

function execProcess(s: Sys, plan: ProcessPlan, exe: string): never {
  // runc's order (finalizeNamespace): rlimits, bounding set + keep-caps, user,
  // capabilities (seccomp slots in around them); all after `start`, before execve.
  const a = plan.attrs;
  if (a) applyRlimits(s, a.rlimits);
  if (a) dropBoundingSet(s, a.caps);
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the user switch may take away.
  if (plan.seccomp?.early) loadSeccomp(s, plan.seccomp);
  const u = plan.user;
  if (plan.setgroups) s.setgroups(u.additionalGids ?? []);
  s.setresgid(u.gid, u.gid, u.gid);
  s.setresuid(u.uid, u.uid, u.uid);
  if (a) applyCapabilities(s, a.caps);
  process.umask(u.umask ?? 0o022);
  // Node marks 0..2 close-on-exec; the preserved fds must survive too. Everything else goes
  // (also before the startContainer hooks, which must not inherit the sync socket or the fifo).
  for (let fd = 0; fd < 3 + plan.preservedFds; fd++) {
    try {
      s.clearCloexec(fd);
    } catch {
      // a closed stdio fd stays closed
    }
  }
  s.closeRange(3 + plan.preservedFds, 0xffffffff, CLOSE_RANGE_CLOEXEC);
  // In the container, as the container's user, right before the program (the path resolves in the container).
  if (plan.hooks?.startContainer) runHooks('startContainer', plan.hooks.startContainer, { ...plan.hooks.state, status: 'created', pid: process.pid });
  setAffinity(s, a?.cpusFinal, 'final');
  s.resetSignals();
  // As late as possible: nothing of the runtime's own work is filtered, only execve and (NOTIFY) one sendmsg.
  if (plan.seccomp && !plan.seccomp.early) loadSeccomp(s, plan.seccomp);
  return s.execve(exe, plan.args, withHome(plan.env, u.uid));
}

/**
 * Node, its libraries and koffi.node were mapped from a read-only clone of
 * the mount tree that nsexec chrooted us into (CVE-2019-5736 class): every
 * /proc/1/{exe,map_files,root} link leads to read-only mounts. Everything is
 * loaded now, so back to the real root (all threads: they share it) for the
 * rootfs work.
 */
function leaveReadOnlyTree(s: Sys): void {
  if (process.argv[3] !== 'create' || !process.argv[4]) return;
  const fd = Number(process.argv[4]);
  s.fchdir(fd);
  s.chroot('.');
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  const s = sys();
  // No process of the container may open /proc/1/exe (the Node binary) for
  // writing or ptrace us (CVE-2019-5736): set before anything else.
  s.prctl(PR_SET_DUMPABLE, 0);
  leaveReadOnlyTree(s);
  const ch = new Channel(Number(process.argv[2]));
  let plan: InitPlan;
  let prepared: { exe: string; fifoFd?: number };
  try {
    plan = (expect(ch, 'plan') as { plan: InitPlan }).plan;
    // libuv starts its threadpool on first use: waitStart's fs.read would do
    // that after the cgroup join, where pids.max may refuse the threads (Node
    // aborts) and their stacks count against the memory limit. One async op
    // now makes every thread init will ever have exist before the join.
    if (plan.execFifo) await new Promise((resolve) => fs.access('/', resolve));
    prepared = setup(s, ch, plan);
    ch.send({ type: 'created' });
    await waitStart(s, ch, prepared.fifoFd);
  } catch (e) {
    fail(ch, e);
  }
  try {
    execProcess(s, plan, prepared.exe);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // After start nobody waits on the socket: stderr is the container's.
    fs.writeSync(2, `tsrunc init: ${message}\n`);
    if (prepared.fifoFd !== undefined) leaveFailureNote(s, prepared.fifoFd, message);
    s.exit(127);
  }
}

/**
 * `start` waits (when hooks need it) for the fifo to close at execve; a
 * process that dies instead leaves a note there, so `start` can tell a
 * program that ran and exited at once from an init that never exec'd. A
 * FIFO's data dies with its last fd: wait (bounded) until `start` read it.
 */
function leaveFailureNote(s: Sys, fifoFd: number, message: string): void {
  try {
    fs.writeSync(fifoFd, Buffer.from(`F${message}`.slice(0, 512)));
    const pending = Buffer.alloc(4);
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 2000; i++) {
      s.ioctl(fifoFd, FIONREAD, pending);
      if (pending.readInt32LE(0) === 0) return;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  } catch {
    // nobody to tell
  }
}

// `exec` (src/container/exec.ts): a new process in a running container, through the same execProcess.
if (process.argv[3] === 'exec') void execMain(execProcess);
else void main();
