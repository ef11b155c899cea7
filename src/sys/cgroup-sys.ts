// System calls the cgroup drivers need beyond plain file I/O: statfs (to tell
// cgroup v1 from v2), bpf (v2 device programs) and eventfd (v1 OOM events).
// Bound lazily through koffi so importing src/cgroups costs nothing.
import * as fs from 'node:fs';
import { koffi, libc, check, SysError } from './ffi.js';

export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const CGROUP_SUPER_MAGIC = 0x27e0eb;
export const TMPFS_MAGIC = 0x01021994;

const SYS_bpf = 321; // x86_64
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;
// union bpf_attr is larger than every layout used here; the kernel only
// requires that bytes past the fields a command uses are zero.
const ATTR_SIZE = 128;

interface Fns {
  syscall: (...args: unknown[]) => number | bigint;
  memcpy: (dst: Buffer, src: Buffer, n: number) => unknown;
  eventfd: (init: number, flags: number) => number;
}
let fns: Fns | undefined;
function f(): Fns {
  if (!fns) {
    const l = libc();
    fns = {
      syscall: l.func('long syscall(long number, ...)') as unknown as Fns['syscall'],
      memcpy: l.func('void *memcpy(void *dst, const void *src, size_t n)') as unknown as Fns['memcpy'],
      eventfd: l.func('int eventfd(unsigned int initval, int flags)') as unknown as Fns['eventfd'],
    };
  }
  return fns;
}

/** f_type of the filesystem holding path (statfs(2)); Node has it natively, so no koffi load just to detect the host. */
export function statfsType(path: string): number {
  return fs.statfsSync(path).type;
}

/** Address of a Buffer's bytes, for pointer fields inside bpf_attr (Node never moves a Buffer's backing store). */
function addressOf(buf: Buffer): bigint {
  const p = f().memcpy(buf, buf, 0);
  return BigInt(koffi().address(p as never));
}

function bpf(cmd: number, attr: Buffer, what: string): number {
  const ret = f().syscall(SYS_bpf, 'int', cmd, 'void *', attr, 'unsigned int', attr.length);
  return Number(check(ret as number, 'bpf', what));
}

/** Loads a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd. `insns` is the raw 8-byte instruction array. */
export function bpfLoadDeviceProgram(insns: Buffer, license = 'Apache'): number {
  const lic = Buffer.from(`${license}\0`);
  const logBuf = Buffer.alloc(64 * 1024);
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
  attr.writeUInt32LE(insns.length / 8, 4);
  attr.writeBigUInt64LE(addressOf(insns), 8);
  attr.writeBigUInt64LE(addressOf(lic), 16);
  attr.writeUInt32LE(1, 24); // log_level
  attr.writeUInt32LE(logBuf.length, 28);
  attr.writeBigUInt64LE(addressOf(logBuf), 32);
  attr.write('tsrunc_dev', 48, 'latin1'); // prog_name (<16 chars)
  try {
    return bpf(BPF_PROG_LOAD, attr, 'BPF_PROG_LOAD');
  } catch (e) {
    const log = logBuf.toString('latin1', 0, logBuf.indexOf(0)).trim();
    if (e instanceof SysError && log) throw new SysError('bpf', e.errno, `BPF_PROG_LOAD (verifier: ${log.split('\n').slice(-3).join(' | ')})`);
    throw e;
  }
}

export function bpfProgAttach(cgroupFd: number, progFd: number, attachType: number, flags: number): void {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(cgroupFd, 0);
  attr.writeUInt32LE(progFd, 4);
  attr.writeUInt32LE(attachType, 8);
  attr.writeUInt32LE(flags, 12);
  bpf(BPF_PROG_ATTACH, attr, 'BPF_PROG_ATTACH');
}

export function bpfProgDetach(cgroupFd: number, progFd: number, attachType: number): void {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(cgroupFd, 0);
  attr.writeUInt32LE(progFd, 4);
  attr.writeUInt32LE(attachType, 8);
  bpf(BPF_PROG_DETACH, attr, 'BPF_PROG_DETACH');
}

/** Ids of the programs attached directly to the cgroup (not inherited) for attachType. */
export function bpfProgQuery(cgroupFd: number, attachType: number): number[] {
  const ids = Buffer.alloc(4 * 64);
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(cgroupFd, 0);
  attr.writeUInt32LE(attachType, 4);
  attr.writeBigUInt64LE(addressOf(ids), 16);
  attr.writeUInt32LE(64, 24);
  bpf(BPF_PROG_QUERY, attr, 'BPF_PROG_QUERY');
  const n = attr.readUInt32LE(24);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(ids.readUInt32LE(i * 4));
  return out;
}

export function bpfProgGetFdById(id: number): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(id, 0);
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, 'BPF_PROG_GET_FD_BY_ID');
}

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

export function eventfd(initval: number, flags: number): number {
  return check(f().eventfd(initval, flags), 'eventfd');
}
