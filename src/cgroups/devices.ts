// Device rules: the v1 devices.allow/deny lines, and for v2 the same policy
// compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program (as runc's devicefilter
// and crun's ebpf.c do). Pure: no I/O here.
import type { LinuxDeviceCgroup } from './types.js';

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  /** -1: any */
  major: number;
  /** -1: any */
  minor: number;
  /** subset of "rwm" */
  access: string;
}

export function normalizeRule(d: LinuxDeviceCgroup): DeviceRule {
  const access = d.access === undefined || d.access === '' ? 'rwm' : [...new Set(d.access)].sort((a, b) => 'rwm'.indexOf(a) - 'rwm'.indexOf(b)).join('');
  return {
    allow: d.allow,
    type: (d.type ?? 'a') as DeviceRule['type'],
    major: d.major === undefined || d.major === null ? -1 : d.major,
    minor: d.minor === undefined || d.minor === null ? -1 : d.minor,
    access,
  };
}

/** The line written to devices.allow / devices.deny ("c 1:3 rwm", "a *:* rwm"). */
export function v1RuleLine(r: DeviceRule): string {
  const n = (v: number): string => (v < 0 ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/** The devices runc always allows (libcontainer/specconv AllowedDevices), for callers that want runc's defaults. */
export const DEFAULT_ALLOWED_DEVICES: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
];

/**
 * The cgroup rules runc derives for a container (libcontainer/specconv):
 * linux.resources.devices in order, then an rwm allow for every device node
 * listed in linux.devices, then runc's always-allowed defaults.
 */
export function containerDeviceRules(
  resourceRules: LinuxDeviceCgroup[] | undefined,
  linuxDevices: { type: string; major?: number; minor?: number }[] | undefined,
): LinuxDeviceCgroup[] {
  const nodes: LinuxDeviceCgroup[] = (linuxDevices ?? [])
    .filter((d) => d.type !== 'p' && d.major !== undefined && d.minor !== undefined)
    .map((d) => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major!, minor: d.minor!, access: 'rwm' }));
  return [...(resourceRules ?? []), ...nodes, ...DEFAULT_ALLOWED_DEVICES];
}

/** The effective policy after applying rules in order with the kernel's v1 semantics. */
export interface DevicePolicy {
  defaultAllow: boolean;
  /** Exceptions to the default: allow rules when defaultAllow is false, deny rules otherwise. */
  exceptions: DeviceRule[];
}

/**
 * Replays the rules the way the v1 devices controller does: an "a" rule resets
 * the default and drops every exception; a rule of the default's kind removes
 * the access bits from an exactly matching exception; the other kind adds one.
 * v2 gets the same result as v1 for the same config this way.
 */
export function emulate(rules: DeviceRule[], initialAllow = true): DevicePolicy {
  let defaultAllow = initialAllow;
  let ex: DeviceRule[] = [];
  for (const r of rules) {
    if (r.type === 'a' && r.major < 0 && r.minor < 0) {
      defaultAllow = r.allow;
      ex = [];
      continue;
    }
    if (r.allow !== defaultAllow) {
      const same = ex.find((e) => e.type === r.type && e.major === r.major && e.minor === r.minor);
      if (same) same.access = [...new Set(same.access + r.access)].sort((a, b) => 'rwm'.indexOf(a) - 'rwm'.indexOf(b)).join('');
      else ex.push({ ...r });
    } else {
      ex = ex
        .map((e) => (e.type === r.type && e.major === r.major && e.minor === r.minor ? { ...e, access: [...e.access].filter((c) => !r.access.includes(c)).join('') } : e))
        .filter((e) => e.access !== '');
    }
  }
  return { defaultAllow, exceptions: ex };
}

// ---- eBPF assembly ----
// struct bpf_cgroup_dev_ctx { u32 access_type /* (access << 16) | type */; u32 major; u32 minor; }
const BPF_DEVCG_DEV_BLOCK = 1;
const BPF_DEVCG_DEV_CHAR = 2;
const ACC: Record<string, number> = { m: 1, r: 2, w: 4 };

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// opcodes
const LDXW = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND32_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV32_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const MOV32_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const EXIT = 0x95; // BPF_JMP | BPF_EXIT

const I = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

function accessMask(access: string): number {
  let m = 0;
  for (const c of access) m |= ACC[c] ?? 0;
  return m;
}

/**
 * Compiles the policy into a device program. Registers after the prologue:
 * R2 = device type, R3 = requested access, R4 = major, R5 = minor.
 * Allow exceptions match when every requested bit is granted (the kernel's
 * match_exception); deny exceptions match on any overlap (match_exception_partial).
 */
export function compileDeviceProgram(policy: DevicePolicy): Insn[] {
  const out: Insn[] = [
    I(LDXW, 2, 1, 0, 0),
    I(AND32_K, 2, 0, 0, 0xffff),
    I(LDXW, 3, 1, 0, 0),
    I(RSH32_K, 3, 0, 0, 16),
    I(LDXW, 4, 1, 4, 0),
    I(LDXW, 5, 1, 8, 0),
  ];
  for (const r of policy.exceptions) {
    const block: Insn[] = [];
    // jump offsets are patched to "past this block" once the block length is known
    const jumps: number[] = [];
    if (r.type !== 'a') {
      jumps.push(block.length);
      block.push(I(JNE_K, 2, 0, 0, r.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    }
    const mask = accessMask(r.access);
    if (mask !== 7) {
      block.push(I(MOV32_X, 1, 3, 0, 0));
      if (r.allow) {
        block.push(I(AND32_K, 1, 0, 0, ~mask & 7));
        jumps.push(block.length);
        block.push(I(JNE_K, 1, 0, 0, 0));
      } else {
        block.push(I(AND32_K, 1, 0, 0, mask));
        jumps.push(block.length);
        block.push(I(JEQ_K, 1, 0, 0, 0));
      }
    }
    if (r.major >= 0) {
      jumps.push(block.length);
      block.push(I(JNE_K, 4, 0, 0, r.major));
    }
    if (r.minor >= 0) {
      jumps.push(block.length);
      block.push(I(JNE_K, 5, 0, 0, r.minor));
    }
    block.push(I(MOV32_K, 0, 0, 0, r.allow ? 1 : 0), I(EXIT, 0, 0, 0, 0));
    for (const j of jumps) block[j]!.off = block.length - j - 1;
    out.push(...block);
  }
  out.push(I(MOV32_K, 0, 0, 0, policy.defaultAllow ? 1 : 0), I(EXIT, 0, 0, 0, 0));
  return out;
}

export function encodeInsns(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    buf.writeUInt8(x.code, i * 8);
    buf.writeUInt8(((x.src & 0xf) << 4) | (x.dst & 0xf), i * 8 + 1);
    buf.writeInt16LE(x.off, i * 8 + 2);
    buf.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return buf;
}

/** Runs a compiled program against one request: the unit tests check the assembler with it. */
export function interpret(insns: Insn[], req: { type: 'b' | 'c'; major: number; minor: number; access: 'r' | 'w' | 'm' }): number {
  const ctx = [((ACC[req.access] ?? 0) << 16) | (req.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), req.major, req.minor];
  const R = new Array<number>(11).fill(0);
  let pc = 0;
  for (let steps = 0; steps < 10000; steps++) {
    const x = insns[pc];
    if (!x) throw new Error(`pc ${pc} out of range`);
    pc++;
    switch (x.code) {
      case LDXW: R[x.dst] = ctx[x.off / 4]! >>> 0; break;
      case AND32_K: R[x.dst] = (R[x.dst]! & x.imm) >>> 0; break;
      case RSH32_K: R[x.dst] = R[x.dst]! >>> x.imm; break;
      case MOV32_X: R[x.dst] = R[x.src]! >>> 0; break;
      case MOV32_K: R[x.dst] = x.imm >>> 0; break;
      case JEQ_K: if (R[x.dst] === x.imm >>> 0) pc += x.off; break;
      case JNE_K: if (R[x.dst] !== x.imm >>> 0) pc += x.off; break;
      case EXIT: return R[0]!;
      default: throw new Error(`unknown opcode ${x.code}`);
    }
  }
  throw new Error('program did not exit');
}
