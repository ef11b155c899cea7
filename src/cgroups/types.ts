// linux.resources comes from the generated spec types (schemas/ -> src/generated).
export type {
  LinuxResources, LinuxDeviceCgroup, LinuxMemory, LinuxCPU, LinuxPids, LinuxBlockIO, LinuxWeightDevice,
  LinuxThrottleDevice, LinuxHugepageLimit, LinuxNetwork, LinuxRdma,
} from '../config/types.js';

// ---- `runc events` shapes (runc types/events.go), JSON names kept verbatim ----

export interface Throttling { periods?: number; throttledPeriods?: number; throttledTime?: number }
export interface CpuUsage {
  total?: number;
  percpu?: number[];
  percpu_kernel?: number[];
  percpu_user?: number[];
  kernel: number;
  user: number;
}
export interface CpuStats { usage: CpuUsage; throttling: Throttling }
export interface MemoryEntry { limit: number; usage?: number; max?: number; failcnt: number }
export interface MemoryStats {
  cache?: number;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  raw?: Record<string, number>;
}
export interface PidsStats { current?: number; limit?: number }
export interface BlkioEntry { major?: number; minor?: number; op?: string; value?: number }
export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  ioQueuedRecursive?: BlkioEntry[];
  ioServiceTimeRecursive?: BlkioEntry[];
  ioWaitTimeRecursive?: BlkioEntry[];
  ioMergedRecursive?: BlkioEntry[];
  ioTimeRecursive?: BlkioEntry[];
  sectorsRecursive?: BlkioEntry[];
}
export interface HugetlbStats { usage?: number; max?: number; failcnt: number }
export interface Stats {
  cpu: CpuStats;
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
  hugetlb: Record<string, HugetlbStats>;
}

export function emptyStats(): Stats {
  const entry = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry(), raw: {} },
    pids: {},
    blkio: {},
    hugetlb: {},
  };
}
