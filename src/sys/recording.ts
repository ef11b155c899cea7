// A Sys that performs nothing and records every call, for unit tests of the
// policy code (rootfs planning, init ordering) without root.
import type { Sys } from './linux.js';

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
}
