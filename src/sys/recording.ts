// A Sys that performs nothing and records every call, for unit tests of the
// policy code (rootfs planning, init ordering) without root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveInRoot } from '../rootfs/resolve.js';
import { AT_FDCWD, RESOLVE, type Sys } from './linux.js';

export interface Call {
  name: keyof Sys;
  args: unknown[];
}

export class RecordingSys implements Sys {
  readonly calls: Call[] = [];
  /** Per-call failure injection: return an Error to throw it. */
  failWith: (call: Call) => Error | undefined = () => undefined;
  nsTypes = new Map<number, number>();

  private rec(name: keyof Sys, ...args: unknown[]): void {
    // Mounts go through /proc/self/fd/N: record the path N stands for, so assertions read as paths.
    if (name === 'mount') args = args.map((a) => (typeof a === 'string' ? fdPath(a) : a));
    const call = { name, args };
    this.calls.push(call);
    const err = this.failWith(call);
    if (err) throw err;
  }
  /** The calls, one line each, for compact assertions. */
  lines(): string[] {
    return this.calls.map((c) => `${c.name}(${c.args.map((a) => JSON.stringify(a)).join(', ')})`);
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.rec('mount', source, target, fstype, flags, data);
  }
  umount2(target: string, flags: number): void {
    this.rec('umount2', target, flags);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    this.rec('pivotRoot', newRoot, putOld);
  }
  chroot(path: string): void {
    this.rec('chroot', path);
  }
  chdir(path: string): void {
    this.rec('chdir', path);
  }
  fchdir(fd: number): void {
    this.rec('fchdir', fd);
  }
  unshare(flags: number): void {
    this.rec('unshare', flags);
  }
  setns(fd: number, nstype: number): void {
    this.rec('setns', fd, nstype);
  }
  sethostname(name: string): void {
    this.rec('sethostname', name);
  }
  setdomainname(name: string): void {
    this.rec('setdomainname', name);
  }
  mkfifo(path: string, mode: number): void {
    this.rec('mkfifo', path, mode);
  }
  mknod(path: string, mode: number, major: number, minor: number): void {
    this.rec('mknod', path, mode, major, minor);
  }
  socketpair(): [number, number] {
    this.rec('socketpair');
    return [100, 101];
  }
  prctl(option: number, arg2: number): number {
    this.rec('prctl', option, arg2);
    return 0;
  }
  setresuid(r: number, e: number, s: number): void {
    this.rec('setresuid', r, e, s);
  }
  setresgid(r: number, e: number, s: number): void {
    this.rec('setresgid', r, e, s);
  }
  setgroups(gids: number[]): void {
    this.rec('setgroups', gids);
  }
  closeRange(first: number, last: number, flags: number): void {
    this.rec('closeRange', first, last, flags);
  }
  isCloexec(fd: number): boolean {
    this.rec('isCloexec', fd);
    return false;
  }
  clearCloexec(fd: number): void {
    this.rec('clearCloexec', fd);
  }
  spawn(path: string, argv: string[], envp: string[], fdMap: number[]): number {
    this.rec('spawn', path, argv, envp, fdMap);
    return 4242;
  }
  resetSignals(): void {
    this.rec('resetSignals');
  }
  execve(path: string, argv: string[], envp: string[]): never {
    this.rec('execve', path, argv, envp);
    throw new Error('execve (recorded)');
  }
  exit(code: number): never {
    this.rec('exit', code);
    throw new Error('exit (recorded)');
  }
  kill(pid: number, sig: number): void {
    this.rec('kill', pid, sig);
  }
  waitpid(pid: number): Promise<number> {
    this.rec('waitpid', pid);
    return Promise.resolve(0);
  }
  pidfdOpen(pid: number): number {
    this.rec('pidfdOpen', pid);
    return 200;
  }
  pidfdSendSignal(pidfd: number, sig: number): void {
    this.rec('pidfdSendSignal', pidfd, sig);
  }
  ioctlNsType(fd: number): number {
    this.rec('ioctlNsType', fd);
    return this.nsTypes.get(fd) ?? 0;
  }
  statvfsFlags(path: string): number {
    this.rec('statvfsFlags', path);
    return 0;
  }
  /** Emulated (paths only, no race-freedom) so rootfs code can run against a temp dir without root. */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
    this.rec('openat2', dirfd, path, flags, mode, resolve);
    return emulateOpenat2(dirfd, path, flags, mode, resolve);
  }
  mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr: number, propagation: number): void {
    this.rec('mountSetattr', dirfd, path, flags, attrSet, attrClr, propagation);
  }
  // --- process attributes and the console ---
  prctl5(option: number, a2: number, a3: number, a4: number, a5: number): number {
    this.rec('prctl5', option, a2, a3, a4, a5);
    return 0;
  }
  capget(): { effective: bigint; permitted: bigint; inheritable: bigint } {
    this.rec('capget');
    return { effective: 0n, permitted: 0n, inheritable: 0n };
  }
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void {
    this.rec('capset', `0x${effective.toString(16)}`, `0x${permitted.toString(16)}`, `0x${inheritable.toString(16)}`);
  }
  prlimit(pid: number, resource: number, limit?: { soft: bigint; hard: bigint }): { soft: bigint; hard: bigint } {
    this.rec('prlimit', pid, resource, ...(limit ? [String(limit.soft), String(limit.hard)] : []));
    return { soft: 1024n, hard: 4096n };
  }
  ioprioSet(value: number): void {
    this.rec('ioprioSet', value);
  }
  schedSetattr(a: { policy: number; flags: bigint; nice: number; priority: number; runtime: bigint; deadline: bigint; period: bigint }): void {
    this.rec('schedSetattr', a.policy, String(a.flags), a.nice, a.priority);
  }
  personality(persona: number): number {
    this.rec('personality', persona);
    return 0;
  }
  setMempolicy(mode: number, nodes: number[]): void {
    this.rec('setMempolicy', mode, nodes);
  }
  schedSetaffinity(cpus: number[]): void {
    this.rec('schedSetaffinity', cpus);
  }
  keyctl(cmd: number, ...args: (number | string | Buffer | null)[]): number {
    this.rec('keyctl', cmd, ...args.map((a) => (Buffer.isBuffer(a) ? '<buf>' : a)));
    return 0;
  }
  setsid(): number {
    this.rec('setsid');
    return 1;
  }
  ioctl(fd: number, request: number, arg: number | Buffer): number {
    this.rec('ioctl', fd, request, typeof arg === 'number' ? arg : '<buf>');
    return 0;
  }
  connectUnix(path: string): number {
    this.rec('connectUnix', path);
    return 300;
  }
  sendFd(sock: number, fd: number, data: string): void {
    this.rec('sendFd', sock, fd, data);
  }
  recvFd(sock: number): { fd: number; data: string } {
    this.rec('recvFd', sock);
    return { fd: 301, data: '' };
  }
  dup2(oldfd: number, newfd: number): void {
    this.rec('dup2', oldfd, newfd);
  }
  // --- netlink ---
  /** Datagrams recv() hands out in order (the kernel's replies in a test). */
  readonly recvQueue: Buffer[] = [];
  private nextSocket = 400;
  socket(domain: number, type: number, protocol: number): number {
    this.rec('socket', domain, type, protocol);
    return this.nextSocket++;
  }
  send(fd: number, buf: Buffer): number {
    this.rec('send', fd, buf.toString('hex'));
    return buf.length;
  }
  recv(fd: number, buf: Buffer): number {
    this.rec('recv', fd);
    const next = this.recvQueue.shift();
    if (!next) throw new Error('recv: no reply queued');
    return next.copy(buf);
  }
  close(fd: number): void {
    this.rec('close', fd);
  }
}

function fdPath(p: string): string {
  const m = /^\/proc\/self\/fd\/(\d+)(\/.*)?$/.exec(p);
  if (!m) return p;
  try {
    return fs.readlinkSync(`/proc/self/fd/${m[1]}`) + (m[2] ?? '');
  } catch {
    return p;
  }
}

function emulateOpenat2(dirfd: number, p: string, flags: number, mode: number, resolve: number): number {
  const base = dirfd === AT_FDCWD ? process.cwd() : fs.readlinkSync(`/proc/self/fd/${dirfd}`);
  const target = resolve & RESOLVE.IN_ROOT ? resolveInRoot(base, p) : path.resolve(base, p);
  return fs.openSync(target, flags, mode);
}
