// Node-init in exec mode (`init.cjs <sync fd> exec`): tsrunc-nsexec already
// put us in every namespace of the container but the mount namespace (Node
// and its libraries had to come from the host's filesystem). We join that one
// now, on the main thread, which is the thread that execs the program: libuv's
// pool threads keep the host's mount namespace and never touch a path again.
import * as fs from 'node:fs';
import { Channel } from './channel.js';
import type { Message } from './messages.js';
import type { ExecPlan, ProcessPlan } from './exec-plan.js';
import { CLONE, PR_SET_DUMPABLE, RESOLVE, sys, type Sys } from '../sys/linux.js';
import { openPty, takeConsole } from '../console/pty.js';
import { applyApparmor, applyPrivilegedAttrs, setAffinity } from './attrs.js';
import { lookPath } from '../init/lookpath.js';
import { connectSeccompListener } from '../seccomp/load.js';

const O_PATH = 0o10000000;

function expect(ch: Channel, type: Message['type']): Message {
  const m = ch.recv();
  // R is gone: nothing may run in the container on our own.
  if (!m) process.exit(1);
  if (m.type !== type) throw new Error(`exec init: unexpected message ${m.type} (wanted ${type})`);
  return m;
}

/**
 * chdir into the cwd resolved inside the container: the root is the
 * container's (we are in its mount namespace), no `..` or symlink leaves it,
 * and no magic link (`/proc/self/fd/N`: an fd of ours to the host, the
 * CVE-2024-21626 escape) is followed.
 */
export function enterCwd(s: Sys, cwd: string): void {
  let fd: number;
  try {
    fd = s.openat2(-100, cwd, O_PATH | fs.constants.O_DIRECTORY | 0o2000000 /* O_CLOEXEC */, 0, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS);
  } catch (e) {
    const msg = (e as Error).message;
    // runc's wording: the errno's text alone (SysError says "openat2 <path>: <text>").
    throw new Error(`chdir to cwd (${JSON.stringify(cwd)}) set in config.json failed: ${msg.slice(msg.lastIndexOf(': ') + 2)}`);
  }
  try {
    s.fchdir(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** runc's setns init: a session keyring of the container's name, joined only (no permission change: the key may not be ours to change in a user namespace). */
function joinKeyring(s: Sys, name: string): void {
  try {
    s.keyctl(1 /* KEYCTL_JOIN_SESSION_KEYRING */, name);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSYS') throw new Error(`unable to join session keyring: ${(e as Error).message}`);
  }
}

export async function execMain(execProcess: (s: Sys, plan: ProcessPlan, exe: string) => never): Promise<void> {
  const s = sys();
  // Before anything: no container process may open our /proc/<pid>/exe (the host's node) or ptrace us.
  s.prctl(PR_SET_DUMPABLE, 0);
  const ch = new Channel(Number(process.argv[2]));
  let plan: ExecPlan;
  let exe: string;
  try {
    plan = (expect(ch, 'exec-plan') as { plan: ExecPlan }).plan;
    // Every libuv thread exists before the cgroup join (pids.max), as in create.
    await new Promise((resolve) => fs.access('/', resolve));
    if (plan.attrs?.keyring) joinKeyring(s, plan.attrs.keyring.name);
    setAffinity(s, plan.attrs?.cpusInitial, 'initial');
    // The listener's socket path is the host's: connect before the mount namespace changes.
    connectSeccompListener(s, plan.seccomp);
    ch.send({ type: 'ready' });
    expect(ch, 'joined');
    // setns(CLONE_NEWNS) refuses a thread sharing its fs_struct (root, cwd) with others: unshare it first.
    s.unshare(CLONE.FS);
    s.setns(plan.mntNsFd, CLONE.NEWNS);
    fs.closeSync(plan.mntNsFd);
    // setns put our root and cwd at the namespace's root, the container's (pivoted) rootfs.
    if (plan.terminal) {
      const pty = openPty(s, plan.terminal.size);
      ch.send({ type: 'console', name: pty.name });
      s.sendFd(ch.fd, pty.master, pty.name);
      fs.closeSync(pty.master);
      takeConsole(s, pty);
    }
    if (plan.attrs?.apparmorProfile) applyApparmor(plan.attrs.apparmorProfile);
    if (plan.attrs) applyPrivilegedAttrs(s, plan.attrs);
    enterCwd(s, plan.cwd);
    exe = lookPath(plan.args[0]!, plan.env);
    ch.send({ type: 'created' });
    expect(ch, 'start');
  } catch (e) {
    try {
      ch.send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    } catch {
      // R is gone
    }
    process.exit(1);
  }
  try {
    execProcess(s, plan, exe);
  } catch (e) {
    fs.writeSync(2, `tsrunc exec: ${e instanceof Error ? e.message : String(e)}\n`);
    s.exit(127);
  }
}
