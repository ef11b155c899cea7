// Pure parsing for the cgroup commands: `update` flags -> resources, Go-style durations.
import { TsruncError } from '../errors.js';
import { parseMemory } from './convert.js';
import type { LinuxResources } from './types.js';

export interface UpdateFlags {
  resources?: string;
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShare?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  pidsLimit?: string;
  cpuIdle?: string;
  cpuBurst?: string;
}

function uint(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new TsruncError(`invalid value for ${name}: ${JSON.stringify(v)}: must be an unsigned integer`);
  return Number(v);
}
function int(name: string, v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new TsruncError(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`);
  return Number(v);
}
function mem(name: string, v: string): number {
  try {
    return parseMemory(v);
  } catch {
    throw new TsruncError(`invalid value for ${name}: ${JSON.stringify(v)}`);
  }
}

/**
 * runc's update: a resources file (or stdin) wins over the flags; a flag not
 * given leaves its value alone. `readInput` returns the file's (or stdin's) text.
 */
export function resourcesFromUpdateFlags(f: UpdateFlags, readInput: (src: string) => string): LinuxResources {
  let r: LinuxResources;
  if (f.resources !== undefined && f.resources !== '') {
    const text = readInput(f.resources);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new TsruncError(`invalid resources JSON in ${f.resources === '-' ? 'standard input' : f.resources}: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TsruncError('resources must be a JSON object (linux.resources of the runtime spec)');
    r = parsed as LinuxResources;
  } else {
    r = {};
    const cpu: NonNullable<LinuxResources['cpu']> = {};
    const memory: NonNullable<LinuxResources['memory']> = {};
    if (f.blkioWeight !== undefined) {
      const w = uint('blkio-weight', f.blkioWeight);
      if (w !== 0) r.blockIO = { weight: w };
    }
    if (f.cpusetCpus) cpu.cpus = f.cpusetCpus;
    if (f.cpusetMems) cpu.mems = f.cpusetMems;
    if (f.cpuPeriod) cpu.period = uint('cpu-period', f.cpuPeriod);
    if (f.cpuRtPeriod) cpu.realtimePeriod = uint('cpu-rt-period', f.cpuRtPeriod);
    if (f.cpuShare) cpu.shares = uint('cpu-share', f.cpuShare);
    if (f.cpuQuota) cpu.quota = int('cpu-quota', f.cpuQuota);
    if (f.cpuRtRuntime) cpu.realtimeRuntime = int('cpu-rt-runtime', f.cpuRtRuntime);
    if (f.cpuBurst) cpu.burst = uint('cpu-burst', f.cpuBurst);
    if (f.cpuIdle) cpu.idle = int('cpu-idle', f.cpuIdle);
    if (f.memory) memory.limit = mem('memory', f.memory);
    if (f.memoryReservation) memory.reservation = mem('memory-reservation', f.memoryReservation);
    if (f.memorySwap) memory.swap = mem('memory-swap', f.memorySwap);
    if (f.pidsLimit !== undefined) {
      const p = int('pids-limit', f.pidsLimit);
      // runc: 0 leaves the limit alone, a negative value removes it
      if (p !== 0) r.pids = { limit: p };
    }
    if (Object.keys(cpu).length) r.cpu = cpu;
    if (Object.keys(memory).length) r.memory = memory;
  }
  // runc: unlimited memory without a swap value means unlimited swap too
  if (r.memory?.limit === -1 && r.memory.swap === undefined) r.memory.swap = -1;
  return r;
}

/** Go's time.ParseDuration for the forms people type ("5s", "100ms", "1m30s"). */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length) throw new TsruncError(`invalid duration ${JSON.stringify(s)}`);
  if (total <= 0) throw new TsruncError(`duration must be greater than 0: ${JSON.stringify(s)}`);
  return total;
}

/** Index of the PID column in `ps` output's header (runc's getPidIndex). */
export function pidColumn(header: string): number {
  const i = header.trim().split(/\s+/).indexOf('PID');
  if (i < 0) throw new TsruncError("couldn't find PID field in ps output");
  return i;
}

/** Keeps the header and the rows whose PID column is one of pids. */
export function filterPsOutput(output: string, pids: number[]): string {
  const lines = output.split('\n');
  const idx = pidColumn(lines[0] ?? '');
  const want = new Set(pids);
  const out = [lines[0]!];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const p = Number(line.trim().split(/\s+/)[idx]);
    if (want.has(p)) out.push(line);
  }
  return `${out.join('\n')}\n`;
}
