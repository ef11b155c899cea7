// cgroup v2 driver (one unified directory), mirroring runc's libcontainer/cgroups/fs2.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import {
  BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, bpfLoadDeviceProgram, bpfProgAttach, bpfProgDetach, bpfProgGetFdById, bpfProgQuery,
} from '../sys/cgroup-sys.js';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, hugepageSizesFromDirs, memorySwapToV2, pidsMax, v2Limit, validateResources } from './convert.js';
import { compileDeviceProgram, emulate, encodeInsns, normalizeRule } from './devices.js';
import {
  CgroupFileError, checkHugepageSizes, errCode, exists, mkdirP, parseKeyValues, pidsRecursive, readFile, removeCgroup, sleepMs, tryRead, tryUint, writeFile,
} from './fsutil.js';
import { signalAll, type CgroupManager, type ManagerOptions, type OomWatcher } from './manager.js';
import { emptyStats, type BlkioEntry, type LinuxResources, type Stats } from './types.js';

const MAX_U64 = 18446744073709551615;

export class V2Manager implements CgroupManager {
  readonly driver = 'v2' as const;
  private own: boolean;
  readonly dir: string;

  constructor(private readonly p: Record<string, string>, owned: boolean, private readonly opts: ManagerOptions = {}, private readonly mountpoint = '/sys/fs/cgroup') {
    const d = p.unified;
    if (!d) throw new TsruncError('cgroup v2 manager needs a "unified" path');
    this.dir = d;
    this.own = owned;
  }

  paths(): Record<string, string> {
    return { ...this.p };
  }
  owned(): boolean {
    return this.own;
  }
  private warn(msg: string): void {
    this.opts.warn?.(msg);
  }

  create(resources: LinuxResources | undefined): void {
    if (resources) {
      validateResources(resources, 'v2');
      checkHugepageSizes(resources.hugepageLimits, hugepageSizesFromDirs);
    }
    // Walk down from the mount point creating each level and delegating every
    // available controller to it (runc's CreateCgroupPath).
    const rel = path.relative(this.mountpoint, this.dir);
    if (rel.startsWith('..') || rel === '') throw new TsruncError(`cgroup path ${this.dir} is not below ${this.mountpoint}`);
    let cur = this.mountpoint;
    for (const part of rel.split('/')) {
      this.enableControllers(cur);
      cur = path.join(cur, part);
      try {
        if (mkdirP(cur) && cur === this.dir) this.own = true;
      } catch (e) {
        if (this.opts.rootless && !this.opts.explicitPath && ['EACCES', 'EPERM', 'EROFS'].includes((e as CgroupFileError).code ?? '')) return;
        throw e;
      }
    }
    if (resources) this.set(resources);
  }

  private enableControllers(dir: string): void {
    const avail = (tryRead(dir, 'cgroup.controllers') ?? '').trim().split(/\s+/).filter(Boolean);
    const enabled = new Set((tryRead(dir, 'cgroup.subtree_control') ?? '').trim().split(/\s+/).filter(Boolean));
    const missing = avail.filter((c) => !enabled.has(c));
    if (!missing.length) return;
    try {
      writeFile(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
    } catch {
      // one at a time: a controller the parent cannot delegate must not block the others
      for (const c of missing) {
        try {
          writeFile(dir, 'cgroup.subtree_control', `+${c}`);
        } catch {
          /* left disabled: setting one of its limits reports the missing file */
        }
      }
    }
  }

  join(pid: number): void {
    writeFile(this.dir, 'cgroup.procs', String(pid));
  }

  pids(): number[] {
    return pidsRecursive(this.dir);
  }

  update(resources: LinuxResources): void {
    validateResources(resources, 'v2');
    checkHugepageSizes(resources.hugepageLimits, hugepageSizesFromDirs);
    this.set(resources, true);
  }

  /** A write to a controller file that does not exist means the controller is not enabled here: say so. */
  private w(file: string, value: string): void {
    try {
      writeFile(this.dir, file, value);
    } catch (e) {
      if (e instanceof CgroupFileError && e.code === 'ENOENT') {
        const ctrl = file.split('.')[0]!;
        const avail = (tryRead(this.dir, 'cgroup.controllers') ?? '').trim().split(/\s+/);
        if (!avail.includes(ctrl) && !file.startsWith('cgroup.')) {
          throw new TsruncError(`cannot set ${file}: the ${ctrl} controller is not available in ${this.dir}`, { cause: e });
        }
      }
      throw e;
    }
  }

  private set(r: LinuxResources, isUpdate = false): void {
    const c = r.cpu;
    if (c) {
      if (c.realtimePeriod || c.realtimeRuntime) this.warn('cpu.realtimePeriod/realtimeRuntime are ignored: cgroup v2 has no realtime bandwidth control');
      if (c.shares) this.w('cpu.weight', String(cpuSharesToWeight(c.shares)));
      const max = cpuMax(c.quota, c.period);
      if (max !== undefined) this.w('cpu.max', max);
      if (c.burst !== undefined && c.burst !== null) this.w('cpu.max.burst', String(c.burst));
      if (c.idle !== undefined && c.idle !== null) this.w('cpu.idle', String(c.idle));
      if (c.cpus) this.w('cpuset.cpus', c.cpus);
      if (c.mems) this.w('cpuset.mems', c.mems);
    }
    const m = r.memory;
    if (m) {
      if (m.kernel) this.warn('memory.kernel is ignored: cgroup v2 has no kernel memory limit');
      if (m.kernelTCP) this.warn('memory.kernelTCP is ignored on cgroup v2');
      if (m.swappiness !== undefined && m.swappiness !== -1) this.warn('memory.swappiness is ignored on cgroup v2');
      if (m.disableOOMKiller) this.warn('memory.disableOOMKiller is ignored on cgroup v2');
      if (isUpdate && m.checkBeforeUpdate && m.limit && m.limit > 0) {
        const cur = tryUint(this.dir, 'memory.current') ?? 0;
        if (m.limit < cur) throw new TsruncError(`rejecting memory limit ${m.limit} below current usage ${cur}`);
      }
      const swap = memorySwapToV2(m.swap, m.limit);
      if (swap !== undefined) {
        try {
          this.w('memory.swap.max', String(swap));
        } catch (e) {
          // runc: without swap in the kernel, "unlimited" and "none" are already true
          if (!(e instanceof TsruncError && (swap === 'max' || swap === 0) && !exists(this.dir, 'memory.swap.max'))) throw e;
        }
      }
      if (m.limit) this.w('memory.max', v2Limit(m.limit));
      if (m.reservation) this.w('memory.low', v2Limit(m.reservation));
    }
    if (r.pids?.limit !== undefined && r.pids.limit !== null) this.w('pids.max', pidsMax(r.pids.limit));
    const b = r.blockIO;
    if (b) {
      const bfq = exists(this.dir, 'io.bfq.weight');
      if (b.weight) {
        if (bfq) this.w('io.bfq.weight', String(b.weight));
        else this.w('io.weight', String(blkioWeightToIoWeight(b.weight)));
      }
      if (b.leafWeight) this.warn('blockIO.leafWeight is ignored: cgroup v2 has no leaf weight');
      for (const wd of b.weightDevice ?? []) {
        if (!wd.weight) continue;
        if (bfq) this.w('io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`);
        else this.w('io.weight', `${wd.major}:${wd.minor} ${blkioWeightToIoWeight(wd.weight)}`);
      }
      const thr: [keyof typeof b, string][] = [
        ['throttleReadBpsDevice', 'rbps'],
        ['throttleWriteBpsDevice', 'wbps'],
        ['throttleReadIOPSDevice', 'riops'],
        ['throttleWriteIOPSDevice', 'wiops'],
      ];
      for (const [k, key] of thr) {
        for (const t of (b[k] as { major: number; minor: number; rate?: number }[] | undefined) ?? []) {
          this.w('io.max', `${t.major}:${t.minor} ${key}=${!t.rate ? 'max' : t.rate}`);
        }
      }
    }
    for (const h of r.hugepageLimits ?? []) {
      this.w(`hugetlb.${h.pageSize}.max`, String(h.limit));
      if (exists(this.dir, `hugetlb.${h.pageSize}.rsvd.max`)) this.w(`hugetlb.${h.pageSize}.rsvd.max`, String(h.limit));
    }
    if (r.network && (r.network.classID || r.network.priorities?.length)) {
      this.warn('linux.resources.network is ignored: cgroup v2 has no net_cls/net_prio controllers');
    }
    for (const [dev, l] of Object.entries(r.rdma ?? {})) {
      const parts = [dev];
      if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
      if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
      this.w('rdma.max', parts.join(' '));
    }
    for (const [k, v] of Object.entries(r.unified ?? {})) {
      try {
        writeFile(this.dir, k, v);
      } catch (e) {
        if (e instanceof CgroupFileError && e.code === 'ENOENT') {
          const ctrl = k.split('.')[0]!;
          const avail = (tryRead(this.dir, 'cgroup.controllers') ?? '').trim().split(/\s+/);
          if (!avail.includes(ctrl) && ctrl !== 'cgroup') {
            throw new TsruncError(`unified resource ${JSON.stringify(k)} can't be set: controller ${JSON.stringify(ctrl)} not available`, { cause: e });
          }
        }
        throw e;
      }
    }
    if (r.devices) {
      try {
        this.setDevices(r);
      } catch (e) {
        if (!this.opts.rootless) throw e;
        this.warn(`device rules not applied: ${(e as Error).message}`);
      }
    }
  }

  /**
   * Loads the new device program, attaches it next to the old ones
   * (BPF_F_ALLOW_MULTI), then detaches the old ones: no window with no
   * filter, and no program left behind by an update.
   */
  private setDevices(r: LinuxResources): void {
    const insns = encodeInsns(compileDeviceProgram(emulate((r.devices ?? []).map(normalizeRule))));
    const progFd = bpfLoadDeviceProgram(insns);
    const cgFd = fs.openSync(this.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const old = bpfProgQuery(cgFd, BPF_CGROUP_DEVICE);
      bpfProgAttach(cgFd, progFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
      for (const id of old) {
        let fd = -1;
        try {
          fd = bpfProgGetFdById(id);
          bpfProgDetach(cgFd, fd, BPF_CGROUP_DEVICE);
        } catch (e) {
          if (errCode(e) !== 'ENOENT' && (e as { code?: string }).code !== 'ENOENT') throw e;
        } finally {
          if (fd >= 0) fs.closeSync(fd);
        }
      }
    } finally {
      fs.closeSync(cgFd);
      fs.closeSync(progFd);
    }
  }

  /** Ids of the device programs attached to this cgroup (tests check nothing leaks). */
  deviceProgramIds(): number[] {
    const cgFd = fs.openSync(this.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      return bpfProgQuery(cgFd, BPF_CGROUP_DEVICE);
    } finally {
      fs.closeSync(cgFd);
    }
  }

  freeze(): void {
    writeFile(this.dir, 'cgroup.freeze', '1');
    for (let i = 0; i < 2000; i++) {
      if (/^frozen 1$/m.test(readFile(this.dir, 'cgroup.events'))) return;
      sleepMs(i < 20 ? 1 : 5);
    }
    writeFile(this.dir, 'cgroup.freeze', '0');
    throw new TsruncError('unable to freeze the container: cgroup.events never reported frozen');
  }

  thaw(): void {
    writeFile(this.dir, 'cgroup.freeze', '0');
    for (let i = 0; i < 1000 && /^frozen 1$/m.test(readFile(this.dir, 'cgroup.events')); i++) sleepMs(1);
  }

  state(): 'frozen' | 'thawed' {
    return (tryRead(this.dir, 'cgroup.freeze') ?? '0').trim() === '1' ? 'frozen' : 'thawed';
  }

  killAll(signal: number): void {
    if (signal === 9 && exists(this.dir, 'cgroup.kill')) {
      writeFile(this.dir, 'cgroup.kill', '1');
      return;
    }
    signalAll(this, signal, true);
  }

  destroy(): void {
    if (!this.own) return;
    removeCgroup(this.dir);
  }

  stats(): Stats {
    const s = emptyStats();
    const d = this.dir;
    const cpu = parseKeyValues(tryRead(d, 'cpu.stat'));
    s.cpu.usage.total = (cpu.usage_usec ?? 0) * 1000;
    s.cpu.usage.user = (cpu.user_usec ?? 0) * 1000;
    s.cpu.usage.kernel = (cpu.system_usec ?? 0) * 1000;
    s.cpu.throttling = { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: (cpu.throttled_usec ?? 0) * 1000 };
    const lim = (f: string): number => {
      const v = tryRead(d, f)?.trim();
      return v === undefined ? 0 : v === 'max' ? MAX_U64 : Number(v);
    };
    const raw = parseKeyValues(tryRead(d, 'memory.stat'));
    s.memory.raw = raw;
    s.memory.cache = raw.file ?? 0;
    const ev = parseKeyValues(tryRead(d, 'memory.events'));
    const cur = tryUint(d, 'memory.current') ?? 0;
    s.memory.usage = { limit: lim('memory.max'), usage: cur, max: tryUint(d, 'memory.peak') ?? 0, failcnt: ev.max ?? 0 };
    // v1 semantics kept by runc: "swap" is memory+swap
    const swapCur = tryUint(d, 'memory.swap.current');
    if (swapCur !== undefined) {
      const sl = lim('memory.swap.max');
      const ml = s.memory.usage.limit;
      s.memory.swap = { limit: sl === MAX_U64 || ml === MAX_U64 ? MAX_U64 : sl + ml, usage: swapCur + cur, failcnt: 0 };
    }
    s.pids.current = tryUint(d, 'pids.current') ?? 0;
    const pm = tryRead(d, 'pids.max')?.trim();
    s.pids.limit = pm === undefined || pm === 'max' ? 0 : Number(pm);
    const io = tryRead(d, 'io.stat');
    if (io) {
      const bytes: BlkioEntry[] = [];
      const ios: BlkioEntry[] = [];
      for (const line of io.split('\n')) {
        const f = line.trim().split(/\s+/);
        const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
        if (!dev) continue;
        const kv = Object.fromEntries(f.slice(1).map((x) => x.split('=')).map(([k, v]) => [k, Number(v)]));
        const major = Number(dev[1]);
        const minor = Number(dev[2]);
        bytes.push({ major, minor, op: 'Read', value: kv.rbytes ?? 0 }, { major, minor, op: 'Write', value: kv.wbytes ?? 0 });
        ios.push({ major, minor, op: 'Read', value: kv.rios ?? 0 }, { major, minor, op: 'Write', value: kv.wios ?? 0 });
      }
      s.blkio.ioServiceBytesRecursive = bytes;
      s.blkio.ioServicedRecursive = ios;
    }
    let names: string[] = [];
    try {
      names = fs.readdirSync(d);
    } catch {
      /* gone */
    }
    for (const f of names) {
      const m = /^hugetlb\.([0-9]+[KMG]B)\.current$/.exec(f);
      if (!m) continue;
      const hev = parseKeyValues(tryRead(d, `hugetlb.${m[1]}.events`));
      s.hugetlb[m[1]!] = { usage: tryUint(d, f) ?? 0, max: lim(`hugetlb.${m[1]}.max`), failcnt: hev.max ?? 0 };
    }
    return s;
  }

  oomWatcher(): OomWatcher {
    const d = this.dir;
    const count = (): number => parseKeyValues(tryRead(d, 'memory.events')).oom_kill ?? 0;
    let last = count();
    return {
      poll(): boolean {
        const n = count();
        const hit = n > last;
        last = n;
        return hit;
      },
      close(): void {},
    };
  }
}
