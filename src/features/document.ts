// The runtime-spec features document (`tsrunc features`). Everything here
// states what tsrunc itself implements; host facts (libseccomp, LSMs) are
// probed. When a feature's implementation lands, flip it in IMPLEMENTED.
import * as fs from 'node:fs';
import { CAPABILITIES } from '../config/capabilities.js';
import { SPEC_VERSION } from '../spec/default.js';
import { archKnown, libseccompApiLevel, libseccompVersion } from './libseccomp.js';
import { seccompFlagsKnown } from '../sys/linux.js';
import { MOUNT_OPTIONS } from './mount-options.js';
import { TSRUNC_VERSION } from './version.js';

/** Features whose support is a property of tsrunc's code, not of the host. */
export const IMPLEMENTED = {
  cgroupV1: true,
  cgroupV2: true,
  systemd: false,
  systemdUser: false,
  // linux.resources.rdma is applied at create (rdma.max, v1 and v2)
  rdma: true,
  intelRdt: false,
  idmapMounts: false,
  // linux.netDevices moved in by create (src/network/)
  netDevices: true,
};

export const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
export const NAMESPACES = ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'];
const OPERATORS = ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'];

// seccomp_api_get(3) levels: 3 added KILL_PROCESS, LOG and the LOG flag;
// 4 SPEC_ALLOW; 5 NOTIFY; 7 WAIT_KILLABLE_RECV.
const ACTIONS: [string, number][] = [
  ['SCMP_ACT_ALLOW', 1],
  ['SCMP_ACT_ERRNO', 1],
  ['SCMP_ACT_KILL', 1],
  ['SCMP_ACT_KILL_PROCESS', 3],
  ['SCMP_ACT_KILL_THREAD', 1],
  ['SCMP_ACT_LOG', 3],
  ['SCMP_ACT_NOTIFY', 5],
  ['SCMP_ACT_TRACE', 1],
  ['SCMP_ACT_TRAP', 1],
];
const FLAGS: [string, number][] = [
  ['SECCOMP_FILTER_FLAG_TSYNC', 2],
  ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', 4],
  ['SECCOMP_FILTER_FLAG_LOG', 3],
  ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 7],
];
// seccomp(2) bits; WAIT_KILLABLE_RECV is only valid with NEW_LISTENER (8).
const KERNEL_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32 | 8,
};
// Spec arch name -> libseccomp's name for it.
const ARCHS: [string, string][] = [
  ['SCMP_ARCH_AARCH64', 'aarch64'],
  ['SCMP_ARCH_ARM', 'arm'],
  ['SCMP_ARCH_LOONGARCH64', 'loongarch64'],
  ['SCMP_ARCH_M68K', 'm68k'],
  ['SCMP_ARCH_MIPS', 'mips'],
  ['SCMP_ARCH_MIPS64', 'mips64'],
  ['SCMP_ARCH_MIPS64N32', 'mips64n32'],
  ['SCMP_ARCH_MIPSEL', 'mipsel'],
  ['SCMP_ARCH_MIPSEL64', 'mipsel64'],
  ['SCMP_ARCH_MIPSEL64N32', 'mipsel64n32'],
  ['SCMP_ARCH_PARISC', 'parisc'],
  ['SCMP_ARCH_PARISC64', 'parisc64'],
  ['SCMP_ARCH_PPC', 'ppc'],
  ['SCMP_ARCH_PPC64', 'ppc64'],
  ['SCMP_ARCH_PPC64LE', 'ppc64le'],
  ['SCMP_ARCH_RISCV64', 'riscv64'],
  ['SCMP_ARCH_S390', 's390'],
  ['SCMP_ARCH_S390X', 's390x'],
  ['SCMP_ARCH_SH', 'sh'],
  ['SCMP_ARCH_SHEB', 'sheb'],
  ['SCMP_ARCH_X32', 'x32'],
  ['SCMP_ARCH_X86', 'x86'],
  ['SCMP_ARCH_X86_64', 'x86_64'],
];

function seccompFeatures(): Record<string, unknown> {
  const version = libseccompVersion();
  if (!version) return { enabled: false };
  const api = libseccompApiLevel();
  return {
    enabled: true,
    actions: ACTIONS.filter(([, lvl]) => api >= lvl).map(([a]) => a),
    operators: OPERATORS,
    archs: ARCHS.filter(([, name]) => archKnown(name)).map(([a]) => a),
    knownFlags: FLAGS.map(([f]) => f),
    // tsrunc hands the flags to seccomp(2) itself (src/seccomp/load.ts): the kernel decides, not libseccomp.
    supportedFlags: FLAGS.filter(([f]) => seccompFlagsKnown(KERNEL_FLAGS[f]!)).map(([f]) => f),
  };
}

export function featuresDocument(): Record<string, unknown> {
  const seccomp = seccompFeatures();
  const annotations: Record<string, string> = { 'io.github.tsrunc.version': TSRUNC_VERSION };
  const v = libseccompVersion();
  if (v) annotations['io.github.seccomp.libseccomp.version'] = v;
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: HOOKS,
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: NAMESPACES,
      capabilities: CAPABILITIES,
      cgroup: {
        v1: IMPLEMENTED.cgroupV1,
        v2: IMPLEMENTED.cgroupV2,
        systemd: IMPLEMENTED.systemd,
        systemdUser: IMPLEMENTED.systemdUser,
        rdma: IMPLEMENTED.rdma,
      },
      seccomp,
      // LSM support is reported as the host has it: tsrunc applies a profile only where the LSM is active.
      apparmor: { enabled: fs.existsSync('/sys/kernel/security/apparmor') },
      selinux: { enabled: fs.existsSync('/sys/fs/selinux') },
      intelRdt: { enabled: IMPLEMENTED.intelRdt },
      memoryPolicy: {
        modes: ['MPOL_DEFAULT', 'MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED', 'MPOL_PREFERRED_MANY', 'MPOL_LOCAL'],
        flags: ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'],
      },
      mountExtensions: { idmap: { enabled: IMPLEMENTED.idmapMounts } },
      netDevices: { enabled: IMPLEMENTED.netDevices },
    },
    annotations,
  };
}
