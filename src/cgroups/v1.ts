// cgroup v1 (and hybrid) driver: one directory per hierarchy, mirroring
// runc's libcontainer/cgroups/fs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import { EFD_CLOEXEC, EFD_NONBLOCK, eventfd } from '../sys/cgroup-sys.js';
import { hugepageSizesFromDirs, pidsMax, validateResources } from './convert.js';
import { emulate, normalizeRule, v1RuleLine, type DeviceRule } from './devices.js';
import {
  CgroupFileError, checkHugepageSizes, errCode, exists, mkdirP, parseKeyValues, pidsRecursive, readFile, readUint, removeCgroup,
  sleepMs, tryRead, tryUint, writeFile,
} from './fsutil.js';
import { signalAll, type CgroupManager, type ManagerOptions, type OomWatcher } from './manager.js';
import { emptyStats, type BlkioEntry, type LinuxResources, type MemoryEntry, type Stats } from './types.js';

const MEMSW = 'memory.memsw.limit_in_bytes';

export class V1Manager implements CgroupManager {
  readonly driver = 'v1' as const;
  private own: boolean;
  private p: Record<string, string>;

  constructor(paths: Record<string, string>, owned: boolean, private readonly opts: ManagerOptions = {}) {
    this.p = { ...paths };
    this.own = owned;
  }

  paths(): Record<string, string> {
    return { ...this.p };
  }
  owned(): boolean {
    return this.own;
  }

  private dirs(): string[] {
    return [...new Set(Object.values(this.p))];
  }

  private warn(msg: string): void {
    this.opts.warn?.(msg);
  }

  create(resources: LinuxResources | undefined): void {
    if (resources) {
      validateResources(resources, 'v1');
      checkHugepageSizes(resources.hugepageLimits, hugepageSizesFromDirs);
      if (resources.unified && Object.keys(resources.unified).length) throw new TsruncError('invalid configuration: cannot use unified on cgroup v1');
      // before any mkdir: a config this host cannot honour leaves nothing behind
      this.checkControllers(resources);
    }
    for (const [ctrl, dir] of Object.entries(this.p)) {
      try {
        if (ctrl === 'cpuset') this.mkdirCpuset(dir);
        else if (mkdirP(dir)) this.own = true;
      } catch (e) {
        // runc: rootless without an explicit cgroupsPath just runs unconfined
        // in hierarchies it may not write to.
        if (this.opts.rootless && !this.opts.explicitPath && ['EACCES', 'EPERM', 'EROFS'].includes(errCode((e as Error).cause) ?? '')) {
          delete this.p[ctrl];
          continue;
        }
        throw e;
      }
    }
    if (resources) this.set(resources);
  }

  /** A new cpuset cgroup starts with empty cpus/mems (no task could join it): copy them down from the parent, level by level. */
  private mkdirCpuset(dir: string): void {
    const parts: string[] = [];
    let d = dir;
    while (!fs.existsSync(d)) {
      parts.unshift(path.basename(d));
      d = path.dirname(d);
    }
    for (const part of parts) {
      const child = path.join(d, part);
      if (mkdirP(child)) this.own = true;
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if ((tryRead(child, f) ?? '').trim() === '') writeFile(child, f, readFile(d, f).trim() || '\n');
      }
      d = child;
    }
  }

  join(pid: number): void {
    for (const dir of this.dirs()) writeFile(dir, 'cgroup.procs', String(pid));
  }

  private dirFor(ctrl: string, what: string): string {
    const d = this.p[ctrl];
    if (!d) throw new TsruncError(`cannot set ${what} limit: container could not join or create cgroup (the ${ctrl} controller is not mounted on this host)`);
    return d;
  }

  private primary(): string {
    for (const c of ['freezer', 'devices', 'memory', 'pids', 'cpu', 'name=systemd']) if (this.p[c]) return this.p[c]!;
    const first = this.dirs()[0];
    if (!first) throw new TsruncError('container has no cgroup');
    return first;
  }

  pids(): number[] {
    return pidsRecursive(this.primary());
  }

  update(resources: LinuxResources): void {
    validateResources(resources, 'v1');
    checkHugepageSizes(resources.hugepageLimits, hugepageSizesFromDirs);
    this.set(resources);
  }

  /** Every hierarchy the resources need, checked before the first write. */
  private checkControllers(r: LinuxResources): void {
    const need: string[] = [];
    const m = r.memory;
    if (m && (m.limit || m.swap || m.reservation || m.disableOOMKiller || (m.swappiness !== undefined && m.swappiness !== -1))) need.push('memory');
    const c = r.cpu;
    if (c && (c.shares || c.quota || c.period || c.burst !== undefined || c.realtimePeriod || c.realtimeRuntime || c.idle !== undefined)) need.push('cpu');
    if (c && (c.cpus || c.mems)) need.push('cpuset');
    if (r.pids?.limit !== undefined) need.push('pids');
    const b = r.blockIO;
    if (b && (b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length ||
      b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length)) need.push('blkio');
    if (r.hugepageLimits?.length) need.push('hugetlb');
    if (r.network?.classID) need.push('net_cls');
    if (r.network?.priorities?.length) need.push('net_prio');
    if (r.rdma && Object.keys(r.rdma).length) need.push('rdma');
    if (r.devices && !this.opts.rootless) need.push('devices');
    for (const ctrl of need) this.dirFor(ctrl, ctrl);
  }

  private set(r: LinuxResources): void {
    if (r.unified && Object.keys(r.unified).length) throw new TsruncError('invalid configuration: cannot use unified on cgroup v1');
    this.checkControllers(r);
    if (r.cpu && (r.cpu.cpus || r.cpu.mems)) {
      const d = this.dirFor('cpuset', 'cpuset');
      if (r.cpu.cpus) writeFile(d, 'cpuset.cpus', r.cpu.cpus);
      if (r.cpu.mems) writeFile(d, 'cpuset.mems', r.cpu.mems);
    }
    if (r.devices) {
      const d = this.p.devices;
      if (!d) {
        if (!this.opts.rootless) this.dirFor('devices', 'devices');
      } else {
        try {
          for (const [file, line] of deviceWrites(tryRead(d, 'devices.list') ?? '', r.devices.map(normalizeRule))) writeFile(d, file, line);
        } catch (e) {
          // runc ignores device errors for rootless containers: it cannot write them anyway
          if (!this.opts.rootless) throw e;
        }
      }
    }
    if (r.memory) this.setMemory(r.memory);
    if (r.cpu) this.setCpu(r.cpu);
    if (r.pids?.limit !== undefined && r.pids.limit !== null) {
      writeFile(this.dirFor('pids', 'pids'), 'pids.max', pidsMax(r.pids.limit));
    }
    if (r.blockIO) this.setBlkio(r.blockIO);
    for (const h of r.hugepageLimits ?? []) {
      const d = this.dirFor('hugetlb', 'hugetlb');
      writeFile(d, `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit));
      if (exists(d, `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`)) writeFile(d, `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`, String(h.limit));
    }
    if (r.network?.classID) writeFile(this.dirFor('net_cls', 'net_cls'), 'net_cls.classid', String(r.network.classID));
    for (const p of r.network?.priorities ?? []) writeFile(this.dirFor('net_prio', 'net_prio'), 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
    for (const [dev, l] of Object.entries(r.rdma ?? {})) {
      const parts = [dev];
      if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
      if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
      writeFile(this.dirFor('rdma', 'rdma'), 'rdma.max', parts.join(' '));
    }
  }

  private setMemory(m: NonNullable<LinuxResources['memory']>): void {
    const want = m.limit || m.swap || m.reservation || m.disableOOMKiller || (m.swappiness !== undefined && m.swappiness !== -1);
    if (m.kernel) this.warn('memory.kernel is ignored: kernel memory limits are deprecated and not set (as runc does)');
    if (m.kernelTCP) this.warn('memory.kernelTCP is ignored (as runc does)');
    if (!want) return;
    const d = this.dirFor('memory', 'memory');
    const limit = m.limit ?? 0;
    let swap = m.swap ?? 0;
    if (limit === -1 && swap === 0 && exists(d, MEMSW)) swap = -1;
    if (swap !== 0 && !exists(d, MEMSW)) {
      // runc: no swap accounting in the kernel means the swap limit cannot be honoured
      throw new TsruncError('cannot set memory.swap: swap accounting is not enabled on this kernel (memory.memsw.* missing)');
    }
    const setMem = (): void => {
      if (limit === 0) return;
      try {
        writeFile(d, 'memory.limit_in_bytes', String(limit));
      } catch (e) {
        if (e instanceof CgroupFileError && e.code === 'EBUSY') {
          const usage = readUint(d, 'memory.usage_in_bytes');
          const peak = readUint(d, 'memory.max_usage_in_bytes');
          throw new TsruncError(`unable to set memory limit to ${limit} (current usage: ${usage}, peak usage: ${peak})`, { cause: e });
        }
        throw e;
      }
    };
    const setSwap = (): void => {
      if (swap !== 0) writeFile(d, MEMSW, String(swap));
    };
    // memsw must stay >= the memory limit at every step: order the writes by direction
    if (limit !== 0 && swap !== 0) {
      const cur = readUint(d, 'memory.limit_in_bytes');
      if (swap === -1 || cur < swap) {
        setSwap();
        setMem();
      } else {
        setMem();
        setSwap();
      }
    } else {
      setMem();
      setSwap();
    }
    if (m.reservation) writeFile(d, 'memory.soft_limit_in_bytes', String(m.reservation));
    if (m.disableOOMKiller) writeFile(d, 'memory.oom_control', '1');
    if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1) writeFile(d, 'memory.swappiness', String(m.swappiness));
  }

  private setCpu(c: NonNullable<LinuxResources['cpu']>): void {
    const any = c.shares || c.quota || c.period || c.burst !== undefined || c.realtimePeriod || c.realtimeRuntime || c.idle !== undefined;
    if (!any) return;
    const d = this.dirFor('cpu', 'cpu');
    if (c.shares) {
      writeFile(d, 'cpu.shares', String(c.shares));
      const got = readUint(d, 'cpu.shares');
      if (c.shares > got) throw new TsruncError(`the maximum allowed cpu-shares is ${got}`);
      if (c.shares < got) throw new TsruncError(`the minimum allowed cpu-shares is ${got}`);
    }
    let periodPending = false;
    if (c.period) {
      try {
        writeFile(d, 'cpu.cfs_period_us', String(c.period));
      } catch (e) {
        // a shorter period can break the parent's quota until the quota is lowered: retry after it
        if (!(e instanceof CgroupFileError && e.code === 'EINVAL') || !c.quota) throw e;
        periodPending = true;
      }
    }
    if (c.quota) {
      writeFile(d, 'cpu.cfs_quota_us', String(c.quota));
      if (periodPending) writeFile(d, 'cpu.cfs_period_us', String(c.period));
    }
    if (c.burst !== undefined && c.burst !== null) writeFile(d, 'cpu.cfs_burst_us', String(c.burst));
    if (c.realtimePeriod) writeFile(d, 'cpu.rt_period_us', String(c.realtimePeriod));
    if (c.realtimeRuntime) writeFile(d, 'cpu.rt_runtime_us', String(c.realtimeRuntime));
    if (c.idle !== undefined && c.idle !== null) writeFile(d, 'cpu.idle', String(c.idle));
  }

  private setBlkio(b: NonNullable<LinuxResources['blockIO']>): void {
    const any = b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length ||
      b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length;
    if (!any) return;
    const d = this.dirFor('blkio', 'blkio');
    // CFQ's files, or BFQ's when the kernel only has BFQ (what runc's detectWeightFilenames picks)
    const bfq = !exists(d, 'blkio.weight') && exists(d, 'blkio.bfq.weight');
    const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
    const weightDevFile = bfq ? 'blkio.bfq.weight_device' : 'blkio.weight_device';
    const needWeight = (f: string): void => {
      if (!exists(d, f)) throw new TsruncError(`cannot set blockIO weight: ${f} does not exist (this kernel's I/O schedulers have no cgroup v1 weight support)`);
    };
    if (b.weight) {
      needWeight(weightFile);
      writeFile(d, weightFile, String(b.weight));
    }
    if (b.leafWeight) {
      needWeight('blkio.leaf_weight');
      writeFile(d, 'blkio.leaf_weight', String(b.leafWeight));
    }
    for (const wd of b.weightDevice ?? []) {
      if (wd.weight) {
        needWeight(weightDevFile);
        writeFile(d, weightDevFile, `${wd.major}:${wd.minor} ${wd.weight}`);
      }
      if (wd.leafWeight) {
        needWeight('blkio.leaf_weight_device');
        writeFile(d, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`);
      }
    }
    const thr: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ];
    for (const [k, f] of thr) {
      for (const t of (b[k] as { major: number; minor: number; rate?: number }[] | undefined) ?? []) writeFile(d, f, `${t.major}:${t.minor} ${t.rate ?? 0}`);
    }
  }

  private freezerDir(): string {
    const d = this.p.freezer;
    if (!d) throw new TsruncError('cannot pause or resume: the freezer controller is not mounted on this host');
    return d;
  }

  freeze(): void {
    const d = this.freezerDir();
    // runc's freeze loop: a cgroup can sit in FREEZING while tasks are in
    // uninterruptible sleep; re-kicking it (thaw + freeze) unsticks it.
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        writeFile(d, 'freezer.state', 'THAWED');
        sleepMs(10);
      }
      writeFile(d, 'freezer.state', 'FROZEN');
      const st = readFile(d, 'freezer.state').trim();
      if (st === 'FROZEN') return;
      sleepMs(i < 10 ? 1 : 10);
    }
    writeFile(d, 'freezer.state', 'THAWED');
    throw new TsruncError('unable to freeze the container: cgroup stuck in FREEZING');
  }

  thaw(): void {
    const d = this.freezerDir();
    writeFile(d, 'freezer.state', 'THAWED');
    for (let i = 0; i < 1000 && readFile(d, 'freezer.state').trim() !== 'THAWED'; i++) sleepMs(1);
  }

  state(): 'frozen' | 'thawed' {
    const d = this.p.freezer;
    if (!d) return 'thawed';
    const st = tryRead(d, 'freezer.state')?.trim();
    return st === 'FROZEN' ? 'frozen' : 'thawed';
  }

  killAll(signal: number): void {
    signalAll(this, signal, !!this.p.freezer && exists(this.p.freezer));
  }

  destroy(): void {
    if (!this.own) return;
    const errs: string[] = [];
    for (const dir of this.dirs()) {
      try {
        removeCgroup(dir);
      } catch (e) {
        errs.push((e as Error).message);
      }
    }
    if (errs.length) throw new TsruncError(errs.join('; '));
  }

  stats(): Stats {
    const s = emptyStats();
    const cpu = this.p.cpu;
    const acct = this.p.cpuacct;
    if (acct) {
      s.cpu.usage.total = tryUint(acct, 'cpuacct.usage') ?? 0;
      const per = tryRead(acct, 'cpuacct.usage_percpu');
      if (per) s.cpu.usage.percpu = per.trim().split(/\s+/).map(Number);
      const sys = tryRead(acct, 'cpuacct.usage_percpu_sys');
      if (sys) s.cpu.usage.percpu_kernel = sys.trim().split(/\s+/).map(Number);
      const usr = tryRead(acct, 'cpuacct.usage_percpu_user');
      if (usr) s.cpu.usage.percpu_user = usr.trim().split(/\s+/).map(Number);
      // cpuacct.stat counts USER_HZ (100/s) ticks
      const st = parseKeyValues(tryRead(acct, 'cpuacct.stat'));
      s.cpu.usage.user = (st.user ?? 0) * 10_000_000;
      s.cpu.usage.kernel = (st.system ?? 0) * 10_000_000;
    }
    if (cpu) {
      const st = parseKeyValues(tryRead(cpu, 'cpu.stat'));
      s.cpu.throttling = { periods: st.nr_periods ?? 0, throttledPeriods: st.nr_throttled ?? 0, throttledTime: st.throttled_time ?? 0 };
    }
    const mem = this.p.memory;
    if (mem && exists(mem)) {
      const raw = parseKeyValues(tryRead(mem, 'memory.stat'));
      s.memory.raw = raw;
      s.memory.cache = raw.cache ?? 0;
      const entry = (prefix: string): MemoryEntry => ({
        limit: tryUint(mem, `${prefix}.limit_in_bytes`) ?? 0,
        usage: tryUint(mem, `${prefix}.usage_in_bytes`) ?? 0,
        max: tryUint(mem, `${prefix}.max_usage_in_bytes`) ?? 0,
        failcnt: tryUint(mem, `${prefix}.failcnt`) ?? 0,
      });
      s.memory.usage = entry('memory');
      s.memory.swap = entry('memory.memsw');
      s.memory.kernel = entry('memory.kmem');
      s.memory.kernelTCP = entry('memory.kmem.tcp');
    }
    const pids = this.p.pids;
    if (pids && exists(pids)) {
      s.pids.current = tryUint(pids, 'pids.current') ?? 0;
      const max = tryRead(pids, 'pids.max')?.trim();
      s.pids.limit = max === undefined || max === 'max' ? 0 : Number(max);
    }
    const blk = this.p.blkio;
    if (blk && exists(blk)) {
      const read = (names: string[]): BlkioEntry[] | undefined => {
        for (const n of names) {
          const t = tryRead(blk, n);
          if (t === undefined) continue;
          const e = parseBlkio(t);
          if (e.length) return e;
        }
        return undefined;
      };
      const sb = read(['blkio.io_service_bytes_recursive', 'blkio.bfq.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes']);
      const sv = read(['blkio.io_serviced_recursive', 'blkio.bfq.io_serviced_recursive', 'blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_serviced']);
      if (sb) s.blkio.ioServiceBytesRecursive = sb;
      if (sv) s.blkio.ioServicedRecursive = sv;
    }
    const hug = this.p.hugetlb;
    if (hug && exists(hug)) {
      for (const f of fs.readdirSync(hug)) {
        const m = /^hugetlb\.([0-9]+[KMG]B)\.usage_in_bytes$/.exec(f);
        if (!m) continue;
        s.hugetlb[m[1]!] = {
          usage: tryUint(hug, `hugetlb.${m[1]}.usage_in_bytes`) ?? 0,
          max: tryUint(hug, `hugetlb.${m[1]}.max_usage_in_bytes`) ?? 0,
          failcnt: tryUint(hug, `hugetlb.${m[1]}.failcnt`) ?? 0,
        };
      }
    }
    return s;
  }

  oomWatcher(): OomWatcher {
    return v1OomWatcher(this.dirFor('memory', 'memory'));
  }
}

/**
 * The devices.allow/deny writes that take the cgroup from its current list to
 * the rules. A fresh (allow-all) cgroup gets the config's rules in order.
 * A cgroup already in deny-by-default mode whose target is too is moved by
 * difference (new grants first, then revocations), so an update never opens a
 * window where the container loses, say, /dev/null.
 */
export function deviceWrites(currentList: string, rules: DeviceRule[]): [string, string][] {
  const cur = currentList.trim().split('\n').filter(Boolean);
  const target = emulate(rules);
  const whitelisted = cur.length === 0 || !cur.some((l) => /^a \*:\* [rwm]+$/.test(l));
  if (!whitelisted || target.defaultAllow) return rules.map((r) => [r.allow ? 'devices.allow' : 'devices.deny', v1RuleLine(r)]);
  const key = (r: { type: string; major: number; minor: number }): string => `${r.type} ${r.major}:${r.minor}`;
  const current = cur.map((l): DeviceRule => {
    const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(l)!;
    return { allow: true, type: m[1] as DeviceRule['type'], major: m[2] === '*' ? -1 : Number(m[2]), minor: m[3] === '*' ? -1 : Number(m[3]), access: m[4]! };
  });
  const want = new Map(target.exceptions.map((e) => [key(e), e]));
  const out: [string, string][] = [];
  for (const e of target.exceptions) {
    const have = current.find((c) => key(c) === key(e));
    if (!have || [...e.access].some((a) => !have.access.includes(a))) out.push(['devices.allow', v1RuleLine(e)]);
  }
  for (const c of current) {
    const w = want.get(key(c));
    const drop = [...c.access].filter((a) => !(w?.access ?? '').includes(a)).join('');
    if (drop) out.push(['devices.deny', v1RuleLine({ ...c, allow: false, access: drop })]);
  }
  return out;
}

export function parseBlkio(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue;
    if (f.length === 3) out.push({ major: Number(dev[1]), minor: Number(dev[2]), op: f[1]!, value: Number(f[2]) });
    else if (f.length === 2) out.push({ major: Number(dev[1]), minor: Number(dev[2]), op: '', value: Number(f[1]) });
  }
  return out;
}

/** memory.oom_control notifications through an eventfd registered in cgroup.event_control. */
function v1OomWatcher(dir: string): OomWatcher {
  const efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const ocfd = fs.openSync(path.join(dir, 'memory.oom_control'), 'r');
  try {
    writeFile(dir, 'cgroup.event_control', `${efd} ${ocfd}`);
  } catch (e) {
    fs.closeSync(efd);
    fs.closeSync(ocfd);
    throw e;
  }
  const buf = Buffer.alloc(8);
  return {
    poll(): boolean {
      try {
        fs.readSync(efd, buf, 0, 8, null);
      } catch (e) {
        if (errCode(e) === 'EAGAIN') return false;
        throw e;
      }
      // the eventfd also fires when the cgroup is removed: only report a real OOM
      return exists(dir);
    },
    close(): void {
      fs.closeSync(efd);
      fs.closeSync(ocfd);
    },
  };
}
