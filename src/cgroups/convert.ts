// Pure value logic shared by both drivers and the CLI: the v1 -> v2
// conversions runc applies, validation, and runc's size-suffix parsing.
import { TsruncError } from '../errors.js';
import type { LinuxResources } from './types.js';

/**
 * pids.limit -> pids.max. runtime-spec 1.3 (#1279): 0 is a real limit (no
 * fork at all) and SHOULD be written as such, a negative value is "max", an
 * absent limit leaves the file alone. runc <= 1.3 took 0 as unset (runc 1.4,
 * #4949, follows the spec).
 */
export function pidsMax(limit: number): string {
  return limit >= 0 ? String(limit) : 'max';
}

/** runc's cgroups.ConvertCPUSharesToCgroupV2Value: [2, 262144] -> [1, 10000]; 0 means unset. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's ConvertBlkIOToIOWeightValue: blkio [10, 1000] -> io.weight [1, 10000]. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap (v1
 * memsw semantics); v2's memory.swap.max counts swap alone.
 * Returns the value for memory.swap.max: a number, 'max', or undefined (leave as is).
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined): number | 'max' | undefined {
  const mem = limit ?? 0;
  const sw = swap ?? 0;
  if (sw === -1) return 'max';
  if (sw === 0) {
    // unset swap with unlimited memory: swap unlimited too (what v1 does implicitly)
    return mem === -1 ? 'max' : undefined;
  }
  if (mem === 0 || mem === -1) {
    throw new TsruncError('unable to set swap limit without memory limit');
  }
  if (sw < mem) throw new TsruncError(`memory+swap limit should be >= memory limit (memory.swap ${sw} < memory.limit ${mem})`);
  return sw - mem;
}

/** memory.max / memory.low style value: -1 is unlimited. */
export function v2Limit(v: number): string {
  return v === -1 ? 'max' : String(v);
}

/** cpu.max contents as runc's fs2 writes it. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  const q = quota ?? 0;
  const p = period ?? 0;
  if (q === 0 && p === 0) return undefined;
  return `${q > 0 ? q : 'max'} ${p || 100000}`;
}

/** The hugepage size as the kernel names it in file names ("2MB", "1GB"), validated. */
export function hugepageSizeName(pageSize: string): string {
  const m = /^(\d+)([KMG]B)$/.exec(pageSize);
  if (!m) throw new TsruncError(`invalid hugepage size ${JSON.stringify(pageSize)}: expected e.g. "2MB" or "1GB"`);
  return pageSize;
}

/** Hugepage sizes the kernel supports, in the "2MB" form, from /sys/kernel/mm/hugepages dir names. */
export function hugepageSizesFromDirs(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) continue;
    let kb = Number(m[1]);
    let unit = 'KB';
    if (kb >= 1024 * 1024 && kb % (1024 * 1024) === 0) {
      kb /= 1024 * 1024;
      unit = 'GB';
    } else if (kb >= 1024 && kb % 1024 === 0) {
      kb /= 1024;
      unit = 'MB';
    }
    out.push(`${kb}${unit}`);
  }
  return out;
}

/** go-units RAMInBytes as used by `runc update --memory`: 1024-based, suffixes b,k,m,g,t,p (optional trailing b), -1 unlimited. */
export function parseMemory(s: string): number {
  const str = s.trim();
  if (str === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(str);
  if (!m) throw new TsruncError(`invalid value for memory: ${JSON.stringify(s)}`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

function intField(name: string, v: unknown, opts: { min?: number; max?: number } = {}): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TsruncError(`invalid value for ${name}: ${JSON.stringify(v)} is not an integer`);
  if (opts.min !== undefined && v < opts.min) throw new TsruncError(`invalid value for ${name}: ${v} is below ${opts.min}`);
  if (opts.max !== undefined && v > opts.max) throw new TsruncError(`invalid value for ${name}: ${v} is above ${opts.max}`);
}

const CPUSET_RE = /^(\d+(-\d+)?)(,\d+(-\d+)?)*$/;

/**
 * Checks a resources object before anything is written, so a bad `update`
 * never leaves a half-applied set of limits behind.
 */
export function validateResources(r: LinuxResources, driver: 'v1' | 'v2'): void {
  const mem = r.memory;
  if (mem) {
    for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) intField(`memory.${k}`, mem[k], { min: -1 });
    if (mem.swappiness !== undefined && mem.swappiness !== null && mem.swappiness !== -1) {
      intField('memory.swappiness', mem.swappiness);
      if (mem.swappiness < 0 || mem.swappiness > 100) {
        throw new TsruncError(`invalid value:${mem.swappiness}. valid memory swappiness range is 0-100`);
      }
    }
    const lim = mem.limit ?? 0;
    const sw = mem.swap ?? 0;
    if (lim > 0 && sw > 0 && sw < lim) {
      throw new TsruncError(`memory.swap (${sw}) must be >= memory.limit (${lim}): swap counts memory+swap`);
    }
    if (driver === 'v2') memorySwapToV2(mem.swap, mem.limit);
  }
  const cpu = r.cpu;
  if (cpu) {
    intField('cpu.shares', cpu.shares, { min: 0 });
    intField('cpu.quota', cpu.quota, { min: -1 });
    intField('cpu.period', cpu.period, { min: 0 });
    intField('cpu.burst', cpu.burst, { min: 0 });
    intField('cpu.realtimeRuntime', cpu.realtimeRuntime, { min: -1 });
    intField('cpu.realtimePeriod', cpu.realtimePeriod, { min: 0 });
    intField('cpu.idle', cpu.idle, { min: 0, max: 1 });
    if (cpu.period && (cpu.period < 1000 || cpu.period > 1000000)) {
      throw new TsruncError(`invalid value for cpu.period: ${cpu.period} (must be between 1000 and 1000000 microseconds)`);
    }
    if (cpu.quota !== undefined && cpu.quota > 0 && cpu.quota < 1000) {
      throw new TsruncError(`invalid value for cpu.quota: ${cpu.quota} (must be -1 or at least 1000 microseconds)`);
    }
    for (const k of ['cpus', 'mems'] as const) {
      const v = cpu[k];
      if (v !== undefined && v !== '' && !CPUSET_RE.test(v.replace(/\s/g, ''))) {
        throw new TsruncError(`invalid value for cpu.${k}: ${JSON.stringify(v)} (expected a list like "0-2,4")`);
      }
    }
  }
  if (r.pids) intField('pids.limit', r.pids.limit);
  const b = r.blockIO;
  if (b) {
    for (const k of ['weight', 'leafWeight'] as const) {
      const v = b[k];
      intField(`blockIO.${k}`, v);
      if (v && (v < 10 || v > 1000)) throw new TsruncError(`invalid value for blockIO.${k}: ${v} (must be between 10 and 1000)`);
    }
    for (const d of b.weightDevice ?? []) {
      intField('blockIO.weightDevice.major', d.major, { min: 0 });
      intField('blockIO.weightDevice.minor', d.minor, { min: 0 });
      for (const k of ['weight', 'leafWeight'] as const) {
        const v = d[k];
        if (v && (v < 10 || v > 1000)) throw new TsruncError(`invalid value for blockIO.weightDevice.${k}: ${v} (must be between 10 and 1000)`);
      }
    }
    for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
      for (const d of b[k] ?? []) {
        intField(`blockIO.${k}.major`, d.major, { min: 0 });
        intField(`blockIO.${k}.minor`, d.minor, { min: 0 });
        intField(`blockIO.${k}.rate`, d.rate, { min: 0 });
      }
    }
  }
  for (const h of r.hugepageLimits ?? []) {
    hugepageSizeName(h.pageSize);
    intField(`hugepageLimits[${h.pageSize}].limit`, h.limit, { min: 0 });
  }
  if (r.network) {
    intField('network.classID', r.network.classID, { min: 0, max: 0xffffffff });
    for (const p of r.network.priorities ?? []) {
      if (!p.name || /\s/.test(p.name)) throw new TsruncError(`invalid network.priorities interface name ${JSON.stringify(p.name)}`);
      intField(`network.priorities[${p.name}].priority`, p.priority, { min: 0 });
    }
  }
  for (const [dev, l] of Object.entries(r.rdma ?? {})) {
    if (!dev || /\s/.test(dev)) throw new TsruncError(`invalid rdma device name ${JSON.stringify(dev)}`);
    intField(`rdma[${dev}].hcaHandles`, l.hcaHandles, { min: 0 });
    intField(`rdma[${dev}].hcaObjects`, l.hcaObjects, { min: 0 });
  }
  if (r.unified && Object.keys(r.unified).length > 0) {
    if (driver === 'v1') throw new TsruncError('invalid configuration: cannot use unified on cgroup v1');
    for (const k of Object.keys(r.unified)) {
      if (k.includes('/') || k === '.' || k === '..' || !k.includes('.')) {
        throw new TsruncError(`invalid unified resource ${JSON.stringify(k)}: must be a cgroup file name like "memory.high"`);
      }
    }
  }
  for (const d of r.devices ?? []) {
    if (typeof d.allow !== 'boolean') throw new TsruncError('invalid device rule: "allow" must be a boolean');
    if (d.type !== undefined && !['a', 'b', 'c'].includes(d.type)) throw new TsruncError(`invalid device rule type ${JSON.stringify(d.type)}`);
    if (d.access !== undefined && !/^[rwm]*$/.test(d.access)) throw new TsruncError(`invalid device rule access ${JSON.stringify(d.access)}`);
    intField('devices.major', d.major ?? undefined, { min: -1 });
    intField('devices.minor', d.minor ?? undefined, { min: -1 });
  }
}
