// The typed system-call layer. Everything above src/sys/ talks to a `Sys`,
// so policy code (rootfs, namespaces, init) can be unit-tested without root
// against the recording double in ./recording.ts (youki's Syscall trait is
// the model). The koffi implementation binds each libc function on first use:
// a command pays only for the calls it makes.
import { check, koffi, libc, SysError } from './ffi.js';

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  POSIXACL: 1 << 16,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const MNT_DETACH = 2;
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 } as const;
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The atime mode is a 3-bit field, not flags: RELATIME is 0 within it. */
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

export const CLONE = {
  NEWTIME: 0x00000080,
  // Not a namespace: unshare(CLONE_FS) gives a thread its own root/cwd, which setns(CLONE_NEWNS) requires (exec).
  FS: 0x00000200,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const PR_SET_DUMPABLE = 4;
export const CLOSE_RANGE_CLOEXEC = 1 << 2;
/** ioctl: bytes waiting in a pipe or FIFO. */
export const FIONREAD = 0x541b;
export const AF_UNIX = 1;
export const SOCK_SEQPACKET = 5;
export const SOCK_CLOEXEC = 0o2000000;
const NS_GET_NSTYPE = 0xb703;
const F_GETFD = 1;
const F_SETFD = 2;
const SYS_pivot_root = 155;
const SYS_pidfd_open = 434;
const SYS_pidfd_send_signal = 424;
// Same numbers on x86_64 and aarch64 (the unified table of new syscalls).
const SYS_openat2 = 437;
const SYS_mount_setattr = 442;

export interface Sys {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chroot(path: string): void;
  chdir(path: string): void;
  fchdir(fd: number): void;
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  mkfifo(path: string, mode: number): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  socketpair(): [number, number];
  prctl(option: number, arg2: number): number;
  setresuid(r: number, e: number, s: number): void;
  setresgid(r: number, e: number, s: number): void;
  setgroups(gids: number[]): void;
  closeRange(first: number, last: number, flags: number): void;
  /** FD_CLOEXEC of an open fd (throws EBADF when closed). */
  isCloexec(fd: number): boolean;
  /** Clears FD_CLOEXEC so the fd survives execve (Node marks 0..2 close-on-exec). */
  clearCloexec(fd: number): void;
  /**
   * posix_spawn (vfork-style: no copy of Node's page tables, no libuv child
   * bookkeeping). fdMap[i] becomes fd i in the child (dup2, which also clears
   * FD_CLOEXEC when source and target are equal); all signals default, empty mask.
   */
  spawn(path: string, argv: string[], envp: string[], fdMap: number[]): number;
  /** Default disposition for every signal and an empty mask: ignored signals (Node ignores SIGPIPE) survive execve. */
  resetSignals(): void;
  execve(path: string, argv: string[], envp: string[]): never;
  kill(pid: number, sig: number): void;
  /** _exit(2): no exit handlers, no joining of libuv threads (one may be blocked in a read). */
  exit(code: number): never;
  /** Async waitpid on koffi's worker thread: resolves to the raw wait status. */
  waitpid(pid: number): Promise<number>;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, sig: number): void;
  /** CLONE_NEW* type of the namespace file open at fd. */
  ioctlNsType(fd: number): number;
  /** statvfs(3) f_flag (ST_* bits) of the mount holding path. */
  statvfsFlags(path: string): number;
  /** openat2(2): `resolve` (RESOLVE_*) confines the walk, e.g. RESOLVE_IN_ROOT treats dirfd as "/". */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
  /** mount_setattr(2) (AT_RECURSIVE in `flags` for the whole tree); attr* are MOUNT_ATTR_* bits. */
  mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr: number, propagation: number): void;
  // --- process attributes and the console (src/process/attrs.ts, src/console/) ---
  /** prctl(2) with all four arguments (capability sets, ambient caps, no_new_privs). */
  prctl5(option: number, a2: number, a3: number, a4: number, a5: number): number;
  /** capget(2) of this thread: the three sets as 64-bit masks. */
  capget(): { effective: bigint; permitted: bigint; inheritable: bigint };
  /** capset(2) of this thread (version 3: 64 capabilities). */
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void;
  /** prlimit(2): sets (when given) and returns the previous limits; RLIM_INFINITY is 2^64-1. */
  prlimit(pid: number, resource: number, limit?: { soft: bigint; hard: bigint }): { soft: bigint; hard: bigint };
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, value): the calling thread. */
  ioprioSet(value: number): void;
  /** sched_setattr(0, attr, 0): the calling thread. */
  schedSetattr(attr: { policy: number; flags: bigint; nice: number; priority: number; runtime: bigint; deadline: bigint; period: bigint }): void;
  personality(persona: number): number;
  /** sched_setaffinity(0, ...): the calling thread. */
  schedSetaffinity(cpus: number[]): void;
  /** set_mempolicy(2) for the calling thread: `mode` with its MPOL_F_* flags, `nodes` the node ids of the mask. */
  setMempolicy(mode: number, nodes: number[]): void;
  /** keyctl(2) with integer/string arguments; returns the result (key id, length, 0). */
  keyctl(cmd: number, ...args: (number | string | Buffer | null)[]): number;
  setsid(): number;
  /** ioctl(fd, request, arg): arg an int value or a Buffer passed by pointer. */
  ioctl(fd: number, request: number, arg: number | Buffer): number;
  /** socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC) connected to path. */
  connectUnix(path: string): number;
  /** sendmsg with one fd as SCM_RIGHTS and data as the payload. */
  sendFd(sock: number, fd: number, data: string): void;
  /** recvmsg of one message with one SCM_RIGHTS fd (-1 when none came). */
  recvFd(sock: number): { fd: number; data: string };
  dup2(oldfd: number, newfd: number): void;
  // --- netlink (src/network/): raw datagrams, built and parsed in TypeScript ---
  /** socket(2), SOCK_CLOEXEC added; made in the calling thread's network namespace. */
  socket(domain: number, type: number, protocol: number): number;
  /** send(2) of one datagram: the byte count. */
  send(fd: number, buf: Buffer): number;
  /** recv(2) of one datagram into buf: the byte count. */
  recv(fd: number, buf: Buffer): number;
  close(fd: number): void;
}

// Process attributes and the console (x86_64 numbers, like the ones above).
const SYS_capget = 125;
const SYS_capset = 126;
const SYS_ioprio_set = 251;
const SYS_keyctl = 250;
const SYS_sched_setattr = 314;
const SYS_set_mempolicy = 238;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
let msgTypesDone = false;
/** koffi struct types for sendmsg/recvmsg, declared once. */
function msgTypes(): void {
  if (msgTypesDone) return;
  const k = koffi();
  k.struct('tsr_iovec', { base: 'void *', len: 'size_t' });
  k.struct('tsr_msghdr', { name: 'void *', namelen: 'uint32_t', iov: 'tsr_iovec *', iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int' });
  msgTypesDone = true;
}

type Fn = (...args: any[]) => any;

class KoffiSys implements Sys {
  private fns = new Map<string, Fn>();

  private fn(decl: string): Fn {
    let f = this.fns.get(decl);
    if (!f) {
      f = libc().func(decl) as unknown as Fn;
      this.fns.set(decl, f);
    }
    return f;
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    const f = this.fn('int mount(const char *, const char *, const char *, unsigned long, const char *)');
    check(f(source, target, fstype, flags, data), 'mount', `${source ?? ''} on ${target}`);
  }
  umount2(target: string, flags: number): void {
    check(this.fn('int umount2(const char *, int)')(target, flags), 'umount2', target);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    const f = this.fn('long syscall(long, ...)');
    check(Number(f(SYS_pivot_root, 'const char *', newRoot, 'const char *', putOld)), 'pivot_root', newRoot);
  }
  chroot(path: string): void {
    check(this.fn('int chroot(const char *)')(path), 'chroot', path);
  }
  chdir(path: string): void {
    check(this.fn('int chdir(const char *)')(path), 'chdir', path);
  }
  fchdir(fd: number): void {
    check(this.fn('int fchdir(int)')(fd), 'fchdir');
  }
  unshare(flags: number): void {
    check(this.fn('int unshare(int)')(flags), 'unshare');
  }
  setns(fd: number, nstype: number): void {
    check(this.fn('int setns(int, int)')(fd, nstype), 'setns');
  }
  sethostname(name: string): void {
    check(this.fn('int sethostname(const char *, size_t)')(name, Buffer.byteLength(name)), 'sethostname', name);
  }
  setdomainname(name: string): void {
    check(this.fn('int setdomainname(const char *, size_t)')(name, Buffer.byteLength(name)), 'setdomainname', name);
  }
  mkfifo(path: string, mode: number): void {
    check(this.fn('int mkfifo(const char *, uint32_t)')(path, mode), 'mkfifo', path);
  }
  mknod(path: string, mode: number, major: number, minor: number): void {
    const dev = (BigInt(major & 0xfffff000) << 32n) | (BigInt(major & 0xfff) << 8n) | (BigInt(minor & 0xffffff00) << 12n) | BigInt(minor & 0xff);
    check(this.fn('int mknod(const char *, uint32_t, uint64_t)')(path, mode, dev), 'mknod', path);
  }
  socketpair(): [number, number] {
    const sv = [0, 0];
    check(this.fn('int socketpair(int, int, int, _Out_ int *sv)')(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 'socketpair');
    return [sv[0]!, sv[1]!];
  }
  prctl(option: number, arg2: number): number {
    const f = this.fn('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
    return check(f(option, arg2, 0, 0, 0), 'prctl');
  }
  setresuid(r: number, e: number, s: number): void {
    check(this.fn('int setresuid(uint32_t, uint32_t, uint32_t)')(r, e, s), 'setresuid', String(e));
  }
  setresgid(r: number, e: number, s: number): void {
    check(this.fn('int setresgid(uint32_t, uint32_t, uint32_t)')(r, e, s), 'setresgid', String(e));
  }
  setgroups(gids: number[]): void {
    const f = this.fn('int setgroups(size_t, const uint32_t *)');
    check(f(gids.length, gids.length ? gids : null), 'setgroups');
  }
  closeRange(first: number, last: number, flags: number): void {
    check(this.fn('int close_range(unsigned int, unsigned int, int)')(first, last, flags), 'close_range');
  }
  isCloexec(fd: number): boolean {
    return (check(this.fn('int fcntl(int, int, ...)')(fd, F_GETFD) as number, 'fcntl', String(fd)) & 1) !== 0;
  }
  clearCloexec(fd: number): void {
    const f = this.fn('int fcntl(int, int, ...)');
    const cur = check(f(fd, F_GETFD) as number, 'fcntl', String(fd));
    check(f(fd, F_SETFD, 'int', cur & ~1) as number, 'fcntl', String(fd));
  }
  spawn(path: string, argv: string[], envp: string[], fdMap: number[]): number {
    // Opaque glibc structs (80 and 336 bytes on x86_64/aarch64): generous buffers.
    const fa = Buffer.alloc(256);
    const attr = Buffer.alloc(512);
    const all = Buffer.alloc(128);
    const none = Buffer.alloc(128);
    const faInit = this.fn('int posix_spawn_file_actions_init(void *)');
    const faDup2 = this.fn('int posix_spawn_file_actions_adddup2(void *, int, int)');
    const faDestroy = this.fn('int posix_spawn_file_actions_destroy(void *)');
    const attrInit = this.fn('int posix_spawnattr_init(void *)');
    const attrFlags = this.fn('int posix_spawnattr_setflags(void *, short)');
    const attrSigdef = this.fn('int posix_spawnattr_setsigdefault(void *, const void *)');
    const attrSigmask = this.fn('int posix_spawnattr_setsigmask(void *, const void *)');
    const attrDestroy = this.fn('int posix_spawnattr_destroy(void *)');
    const spawn = this.fn('int posix_spawn(_Out_ int *pid, const char *, const void *, const void *, const char **, const char **)');
    this.fn('int sigfillset(void *)')(all);
    const must = (ret: number, what: string): void => {
      // posix_spawn* return the error number instead of setting errno.
      if (ret !== 0) throw new SysError(what, ret);
    };
    must(faInit(fa), 'posix_spawn_file_actions_init');
    must(attrInit(attr), 'posix_spawnattr_init');
    try {
      // Callers map fds onto themselves plus one fd above all of them, so no dup2 clobbers a later source.
      fdMap.forEach((src, target) => must(faDup2(fa, src, target), 'posix_spawn_file_actions_adddup2'));
      const POSIX_SPAWN_SETSIGDEF = 0x04;
      const POSIX_SPAWN_SETSIGMASK = 0x08;
      must(attrFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), 'posix_spawnattr_setflags');
      must(attrSigdef(attr, all), 'posix_spawnattr_setsigdefault');
      must(attrSigmask(attr, none), 'posix_spawnattr_setsigmask');
      const pid = [0];
      must(spawn(pid, path, fa, attr, [...argv, null], [...envp, null]), `posix_spawn ${path}`);
      return pid[0]!;
    } finally {
      faDestroy(fa);
      attrDestroy(attr);
    }
  }
  resetSignals(): void {
    const signal = this.fn('void *signal(int, void *)');
    for (let sig = 1; sig < 65; sig++) {
      if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue; // KILL, STOP, glibc-internal
      signal(sig, null);
    }
    const empty = Buffer.alloc(128);
    this.fn('int sigprocmask(int, const void *, void *)')(2 /* SIG_SETMASK */, empty, null);
  }
  execve(path: string, argv: string[], envp: string[]): never {
    const f = this.fn('int execve(const char *, const char **, const char **)');
    f(path, [...argv, null], [...envp, null]);
    throw new SysError('execve', koffi().errno(), path);
  }
  exit(code: number): never {
    this.fn('void _exit(int)')(code);
    throw new Error('unreachable: _exit returned');
  }
  kill(pid: number, sig: number): void {
    check(this.fn('int kill(int, int)')(pid, sig), 'kill', String(pid));
  }
  waitpid(pid: number): Promise<number> {
    const f = this.fn('int waitpid(int, _Out_ int *status, int)') as Fn & { async: Fn };
    return new Promise((resolve, reject) => {
      const status = [0];
      const again = (): void => {
        f.async(pid, status, 0, (err: unknown, ret: number) => {
          if (err) return reject(err);
          if (ret < 0) {
            // errno of a call on koffi's worker thread is not observable here;
            // EINTR is the only failure worth a retry and is harmless to retry.
            return again();
          }
          resolve(status[0]!);
        });
      };
      again();
    });
  }
  pidfdOpen(pid: number): number {
    const f = this.fn('long syscall(long, ...)');
    return Number(check(Number(f(SYS_pidfd_open, 'int', pid, 'unsigned int', 0)), 'pidfd_open', String(pid)));
  }
  pidfdSendSignal(pidfd: number, sig: number): void {
    const f = this.fn('long syscall(long, ...)');
    check(Number(f(SYS_pidfd_send_signal, 'int', pidfd, 'int', sig, 'void *', null, 'unsigned int', 0)), 'pidfd_send_signal');
  }
  ioctlNsType(fd: number): number {
    return check(this.fn('int ioctl(int, unsigned long, ...)')(fd, NS_GET_NSTYPE) as number, 'ioctl(NS_GET_NSTYPE)');
  }
  statvfsFlags(path: string): number {
    // struct statvfs on x86_64/aarch64: eleven unsigned longs, f_flag is the 10th.
    const buf = Buffer.alloc(128);
    check(this.fn('int statvfs(const char *, void *)')(path, buf), 'statvfs', path);
    return Number(buf.readBigUInt64LE(72));
  }
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
    // struct open_how { u64 flags, mode, resolve; }
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(flags), 0);
    how.writeBigUInt64LE(BigInt(mode), 8);
    how.writeBigUInt64LE(BigInt(resolve), 16);
    const f = this.fn('long syscall(long, ...)');
    return Number(check(Number(f(SYS_openat2, 'int', dirfd, 'const char *', path, 'void *', how, 'size_t', 24)), 'openat2', path));
  }
  mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr: number, propagation: number): void {
    // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
    const attr = Buffer.alloc(32);
    attr.writeBigUInt64LE(BigInt(attrSet), 0);
    attr.writeBigUInt64LE(BigInt(attrClr), 8);
    attr.writeBigUInt64LE(BigInt(propagation), 16);
    const f = this.fn('long syscall(long, ...)');
    check(Number(f(SYS_mount_setattr, 'int', dirfd, 'const char *', path, 'unsigned int', flags, 'void *', attr, 'size_t', 32)), 'mount_setattr', path);
  }
  // --- process attributes and the console ---
  prctl5(option: number, a2: number, a3: number, a4: number, a5: number): number {
    const f = this.fn('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
    return check(f(option, a2, a3, a4, a5), 'prctl', String(option));
  }
  capget(): { effective: bigint; permitted: bigint; inheritable: bigint } {
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    const data = Buffer.alloc(24);
    check(Number(this.fn('long syscall(long, ...)')(SYS_capget, 'void *', hdr, 'void *', data)), 'capget');
    const word = (off: number): bigint => BigInt(data.readUInt32LE(off)) | (BigInt(data.readUInt32LE(off + 12)) << 32n);
    return { effective: word(0), permitted: word(4), inheritable: word(8) };
  }
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void {
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    const data = Buffer.alloc(24);
    [effective, permitted, inheritable].forEach((v, i) => {
      data.writeUInt32LE(Number(v & 0xffffffffn), i * 4);
      data.writeUInt32LE(Number((v >> 32n) & 0xffffffffn), 12 + i * 4);
    });
    check(Number(this.fn('long syscall(long, ...)')(SYS_capset, 'void *', hdr, 'void *', data)), 'capset');
  }
  prlimit(pid: number, resource: number, limit?: { soft: bigint; hard: bigint }): { soft: bigint; hard: bigint } {
    const f = this.fn('int prlimit(int, int, const void *, void *)');
    let nw: Buffer | null = null;
    if (limit) {
      nw = Buffer.alloc(16);
      nw.writeBigUInt64LE(limit.soft, 0);
      nw.writeBigUInt64LE(limit.hard, 8);
    }
    const old = Buffer.alloc(16);
    check(f(pid, resource, nw, old), 'prlimit', String(resource));
    return { soft: old.readBigUInt64LE(0), hard: old.readBigUInt64LE(8) };
  }
  ioprioSet(value: number): void {
    check(Number(this.fn('long syscall(long, ...)')(SYS_ioprio_set, 'int', 1 /* IOPRIO_WHO_PROCESS */, 'int', 0, 'int', value)), 'ioprio_set');
  }
  schedSetattr(a: { policy: number; flags: bigint; nice: number; priority: number; runtime: bigint; deadline: bigint; period: bigint }): void {
    // struct sched_attr, SCHED_ATTR_SIZE_VER0 (48 bytes).
    const b = Buffer.alloc(48);
    b.writeUInt32LE(48, 0);
    b.writeUInt32LE(a.policy, 4);
    b.writeBigUInt64LE(a.flags, 8);
    b.writeInt32LE(a.nice, 16);
    b.writeUInt32LE(a.priority, 20);
    b.writeBigUInt64LE(a.runtime, 24);
    b.writeBigUInt64LE(a.deadline, 32);
    b.writeBigUInt64LE(a.period, 40);
    check(Number(this.fn('long syscall(long, ...)')(SYS_sched_setattr, 'int', 0, 'void *', b, 'unsigned int', 0)), 'sched_setattr');
  }
  personality(persona: number): number {
    return check(this.fn('int personality(unsigned long)')(persona), 'personality');
  }
  schedSetaffinity(cpus: number[]): void {
    const set = Buffer.alloc(Math.max(128, Math.ceil((Math.max(0, ...cpus) + 1) / 64) * 8));
    for (const c of cpus) set[c >> 3]! |= 1 << (c & 7);
    check(this.fn('int sched_setaffinity(int, size_t, const void *)')(0, set.length, set), 'sched_setaffinity');
  }
  setMempolicy(mode: number, nodes: number[]): void {
    // A mask of whole unsigned longs; the kernel reads maxnode - 1 bits (numactl passes the size + 1 too).
    const words = nodes.length ? Math.floor(Math.max(...nodes) / 64) + 1 : 0;
    const mask = Buffer.alloc(words * 8);
    for (const n of nodes) mask[n >> 3]! |= 1 << (n & 7);
    const f = this.fn('long syscall(long, ...)');
    check(Number(f(SYS_set_mempolicy, 'int', mode, 'void *', words ? mask : null, 'unsigned long', words ? words * 64 + 1 : 0)), 'set_mempolicy');
  }
  keyctl(cmd: number, ...args: (number | string | Buffer | null)[]): number {
    const typed: unknown[] = [];
    for (const a of args) typed.push(typeof a === 'number' ? 'long' : typeof a === 'string' ? 'const char *' : 'void *', a);
    return Number(check(Number(this.fn('long syscall(long, ...)')(SYS_keyctl, 'int', cmd, ...typed)), 'keyctl', String(cmd)));
  }
  setsid(): number {
    return check(this.fn('int setsid(void)')(), 'setsid');
  }
  ioctl(fd: number, request: number, arg: number | Buffer): number {
    const f = this.fn('int ioctl(int, unsigned long, ...)');
    return check((typeof arg === 'number' ? f(fd, request, 'long', arg) : f(fd, request, 'void *', arg)) as number, 'ioctl', `0x${request.toString(16)}`);
  }
  connectUnix(path: string): number {
    if (Buffer.byteLength(path) > 107) throw new SysError('connect', 36 /* ENAMETOOLONG */, path);
    const fd = check(this.fn('int socket(int, int, int)')(AF_UNIX, 1 /* SOCK_STREAM */ | SOCK_CLOEXEC, 0) as number, 'socket');
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    addr.write(path, 2);
    if (this.fn('int connect(int, const void *, uint32_t)')(fd, addr, addr.length) < 0) {
      const err = new SysError('connect', koffi().errno(), path);
      this.fn('int close(int)')(fd);
      throw err;
    }
    return fd;
  }
  sendFd(sock: number, fd: number, data: string): void {
    msgTypes();
    const ctl = Buffer.alloc(24); // CMSG_SPACE(sizeof(int)): {len, level, type} + int, padded
    ctl.writeBigUInt64LE(20n, 0); // CMSG_LEN(sizeof(int))
    ctl.writeInt32LE(1 /* SOL_SOCKET */, 8);
    ctl.writeInt32LE(1 /* SCM_RIGHTS */, 12);
    ctl.writeInt32LE(fd, 16);
    const payload = Buffer.from(data.length ? data : '\0');
    const f = this.fn('long sendmsg(int, tsr_msghdr *, int)');
    const msg = { name: null, namelen: 0, iov: { base: payload, len: payload.length }, iovlen: 1, control: ctl, controllen: 24, flags: 0 };
    check(Number(f(sock, msg, 0x4000 /* MSG_NOSIGNAL */)), 'sendmsg');
  }
  recvFd(sock: number): { fd: number; data: string } {
    msgTypes();
    const buf = Buffer.alloc(4096);
    const ctl = Buffer.alloc(64);
    const m = { name: null, namelen: 0, iov: { base: buf, len: buf.length }, iovlen: 1, control: ctl, controllen: ctl.length, flags: 0 };
    const f = this.fn('long recvmsg(int, _Inout_ tsr_msghdr *, int)');
    const n = Number(check(Number(f(sock, m, 0x40000000 /* MSG_CMSG_CLOEXEC */)), 'recvmsg'));
    const got = Number(m.controllen) >= 20 && ctl.readInt32LE(8) === 1 && ctl.readInt32LE(12) === 1;
    return { fd: got ? ctl.readInt32LE(16) : -1, data: buf.toString('utf8', 0, n) };
  }
  dup2(oldfd: number, newfd: number): void {
    check(this.fn('int dup2(int, int)')(oldfd, newfd), 'dup2', `${oldfd} ${newfd}`);
  }
  // --- netlink ---
  socket(domain: number, type: number, protocol: number): number {
    return check(this.fn('int socket(int, int, int)')(domain, type | SOCK_CLOEXEC, protocol) as number, 'socket');
  }
  send(fd: number, buf: Buffer): number {
    return Number(check(Number(this.fn('long send(int, const void *, size_t, int)')(fd, buf, buf.length, 0x4000 /* MSG_NOSIGNAL */)), 'send'));
  }
  recv(fd: number, buf: Buffer): number {
    return Number(check(Number(this.fn('long recv(int, void *, size_t, int)')(fd, buf, buf.length, 0)), 'recv'));
  }
  close(fd: number): void {
    check(this.fn('int close(int)')(fd), 'close', String(fd));
  }
}

let real: Sys | undefined;
/** The process-wide koffi-backed implementation. */
export function sys(): Sys {
  real ??= new KoffiSys();
  return real;
}

/** Wait-status decoding, as the shell reports it: the code, or 128+signal. */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return (status >> 8) & 0xff;
  return 128 + sig;
}

// ---- seccomp (src/seccomp/) ----
const SYS_seccomp = 317;
const SECCOMP_SET_MODE_FILTER = 1;

/** memfd_create(name, MFD_CLOEXEC): scratch space for libseccomp's export. */
export function memfdCreate(name: string): number {
  return check(libc().func('int memfd_create(const char *, unsigned int)')(name, 1 /* MFD_CLOEXEC */) as number, 'memfd_create', name);
}

let fprogType: unknown;
/** seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): the listener fd with NEW_LISTENER, else 0. */
export function seccompSetFilter(flags: number, program: Buffer): number {
  const k = koffi();
  fprogType ??= k.struct('tsr_sock_fprog', { len: 'uint16_t', filter: 'void *' });
  const f = libc().func('long syscall(long, ...)');
  const prog = { len: program.length / 8, filter: program };
  return Number(check(Number(f(SYS_seccomp, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', flags, 'tsr_sock_fprog *', prog)), 'seccomp', 'SECCOMP_SET_MODE_FILTER'));
}

/**
 * Whether the kernel knows these SECCOMP_FILTER_FLAG_* bits, as libseccomp
 * probes them: with a NULL program a known set fails EFAULT, an unknown EINVAL.
 */
export function seccompFlagsKnown(flags: number): boolean {
  const f = libc().func('long syscall(long, ...)');
  if (Number(f(SYS_seccomp, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', flags, 'void *', null)) >= 0) return true;
  return koffi().errno() === 14 /* EFAULT */;
}
