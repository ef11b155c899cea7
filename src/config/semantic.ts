// Checks the schema cannot express: the spec's MUSTs that need more than one
// field, and the rules runc enforces before it creates anything
// (libcontainer/configs/validate/validator.go and specconv). Everything here
// works on the raw document, so each accessor tolerates a malformed value
// (the schema reports those).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capabilityNumber } from './capabilities.js';
import { RLIMITS } from './rlimits.js';

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** JSON pointer from segments, escaping keys such as sysctl names or unified file names. */
export function ptr(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

class Problems {
  readonly list: string[] = [];
  add(at: string, message: string): void {
    this.list.push(`${at}: ${message}`);
  }
}

export interface SemanticOptions {
  forCreate: boolean;
  /** Directory relative paths (root.path) are taken from; defaults to the working directory. */
  bundle?: string;
}

export function semanticErrors(doc: unknown, opts: SemanticOptions): string[] {
  const p = new Problems();
  const spec = obj(doc);
  if (!spec) return p.list;
  checkVersion(p, spec.ociVersion);
  const linux = obj(spec.linux);
  const namespaces = namespaceTable(p, linux);
  if (opts.forCreate) {
    if (spec.process === undefined) p.add('/process', 'required to create a container');
    if (spec.root === undefined) p.add('/root', 'required to create a container');
    checkRootfs(p, obj(spec.root), opts.bundle);
  }
  // A Windows-only document (no linux section) has Windows paths and commandLine.
  const posix = !(spec.windows !== undefined && spec.linux === undefined);
  const proc = obj(spec.process);
  if (proc && posix) checkProcess(p, proc, '/process', { requireArgs: opts.forCreate });
  checkMounts(p, spec.mounts);
  checkHooks(p, obj(spec.hooks));
  for (const field of ['hostname', 'domainname'] as const) {
    const v = str(spec[field]);
    if (v && !namespaces.has('uts')) p.add(`/${field}`, `unable to set ${field} without a private UTS namespace`);
  }
  if (linux) checkLinux(p, linux, namespaces);
  return p.list;
}

/** Problems of a process document alone (`exec --process`): args are required there. */
export function processSemanticErrors(doc: unknown): string[] {
  const p = new Problems();
  const proc = obj(doc);
  if (proc) checkProcess(p, proc, '', { requireArgs: true });
  return p.list;
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function checkVersion(p: Problems, v: unknown): void {
  const s = str(v);
  if (s === undefined) return;
  const m = VERSION.exec(s);
  if (!m) p.add('/ociVersion', `invalid version ${JSON.stringify(s)}, want 1.x (SemVer)`);
  else if (m[1] !== '1') p.add('/ociVersion', `unsupported version ${JSON.stringify(s)}, want 1.x`);
}

function checkRootfs(p: Problems, root: Obj | undefined, bundle: string | undefined): void {
  const rel = str(root?.path);
  if (rel === undefined) return;
  if (rel === '') return p.add('/root/path', 'must not be empty');
  const abs = path.resolve(bundle ?? process.cwd(), rel);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    return p.add('/root/path', `${JSON.stringify(rel)} (${abs}): no such directory`);
  }
  if (!st.isDirectory()) p.add('/root/path', `${JSON.stringify(rel)} (${abs}): not a directory`);
}

// --- process --------------------------------------------------------------

const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

function checkProcess(p: Problems, proc: Obj, at: string, o: { requireArgs: boolean }): void {
  const cwd = str(proc.cwd);
  if (cwd !== undefined && !path.isAbsolute(cwd)) p.add(`${at}/cwd`, `must be an absolute path, got ${JSON.stringify(cwd)}`);
  if (o.requireArgs && (proc.args === undefined || (Array.isArray(proc.args) && proc.args.length === 0))) {
    p.add(`${at}/args`, 'must not be empty');
  }
  arr(proc.env).forEach((e, i) => {
    const s = str(e);
    if (s === undefined) return;
    const eq = s.indexOf('=');
    if (eq < 0) p.add(`${at}/env/${i}`, `invalid environment variable ${JSON.stringify(s)}: missing '='`);
    else if (eq === 0) p.add(`${at}/env/${i}`, `invalid environment variable ${JSON.stringify(s)}: name is empty`);
    if (s.includes('\0')) p.add(`${at}/env/${i}`, 'must not contain NUL bytes');
  });
  const caps = obj(proc.capabilities);
  for (const set of CAP_SETS) {
    arr(caps?.[set]).forEach((c, i) => {
      const s = str(c);
      if (s !== undefined && capabilityNumber(s) === undefined) p.add(`${at}/capabilities/${set}/${i}`, `unknown capability ${JSON.stringify(s)}`);
    });
  }
  const seen = new Set<string>();
  arr(proc.rlimits).forEach((r, i) => {
    const rl = obj(r);
    const type = str(rl?.type);
    if (!rl || type === undefined) return;
    // A name that is not RLIMIT_<LETTERS> is already reported by the schema.
    if (/^RLIMIT_[A-Z]+$/.test(type) && !(type in RLIMITS)) p.add(`${at}/rlimits/${i}/type`, `unknown rlimit ${JSON.stringify(type)}`);
    if (seen.has(type)) p.add(`${at}/rlimits/${i}/type`, `duplicate rlimit ${JSON.stringify(type)}`);
    seen.add(type);
    const soft = num(rl.soft);
    const hard = num(rl.hard);
    if (soft !== undefined && hard !== undefined && soft > hard) p.add(`${at}/rlimits/${i}`, `soft limit ${soft} exceeds hard limit ${hard}`);
  });
  const io = obj(proc.ioPriority);
  const ioPrio = num(io?.priority);
  if (ioPrio !== undefined && (ioPrio < 0 || ioPrio > 7)) p.add(`${at}/ioPriority/priority`, `must be between 0 and 7, got ${ioPrio}`);
  const sched = obj(proc.scheduler);
  if (sched) checkScheduler(p, sched, `${at}/scheduler`);
  const aff = obj(proc.execCPUAffinity);
  for (const k of ['initial', 'final'] as const) {
    const list = str(aff?.[k]);
    if (list !== undefined && !validList(list)) p.add(`${at}/execCPUAffinity/${k}`, `invalid CPU list ${JSON.stringify(list)}`);
  }
}

function checkScheduler(p: Problems, s: Obj, at: string): void {
  const policy = str(s.policy);
  const nice = num(s.nice);
  if (nice !== undefined && (nice < -20 || nice > 19)) p.add(`${at}/nice`, `must be between -20 and 19, got ${nice}`);
  const prio = num(s.priority);
  if (prio && policy !== 'SCHED_FIFO' && policy !== 'SCHED_RR') p.add(`${at}/priority`, 'can only be set for the SCHED_FIFO or SCHED_RR policy');
  if (policy !== 'SCHED_DEADLINE') {
    for (const k of ['runtime', 'deadline', 'period'] as const) {
      if (num(s[k])) p.add(`${at}/${k}`, 'can only be set for the SCHED_DEADLINE policy');
    }
  }
}

/** A cpu or node list such as "0-3,7" (the empty list is allowed). */
function validList(list: string): boolean {
  const t = list.replace(/\s+/g, '');
  if (t === '') return true;
  return t.split(',').every((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    return m !== null && (m[2] === undefined || Number(m[1]) <= Number(m[2]));
  });
}

// --- mounts and hooks ----------------------------------------------------

function isBind(m: Obj): boolean {
  return m.type === 'bind' || arr(m.options).some((o) => o === 'bind' || o === 'rbind');
}

function checkMounts(p: Problems, mounts: unknown): void {
  arr(mounts).forEach((raw, i) => {
    const m = obj(raw);
    if (!m) return;
    const dest = str(m.destination);
    // config.md: on Linux a relative destination is taken relative to "/"; an empty one names nothing.
    if (dest !== undefined && dest.trim() === '') p.add(`/mounts/${i}/destination`, 'must not be empty');
    const uid = m.uidMappings !== undefined;
    const gid = m.gidMappings !== undefined;
    if (!uid && !gid) return;
    if (uid !== gid) p.add(`/mounts/${i}`, 'an id-mapped mount needs both uidMappings and gidMappings');
    if (!isBind(m)) p.add(`/mounts/${i}`, "id-mapped mounts are supported only for mounts with the option 'bind'");
    const src = str(m.source);
    if (src !== undefined && !path.isAbsolute(src)) p.add(`/mounts/${i}/source`, `must be an absolute path for an id-mapped mount, got ${JSON.stringify(src)}`);
  });
}

const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

function checkHooks(p: Problems, hooks: Obj | undefined): void {
  for (const kind of HOOK_KINDS) {
    arr(hooks?.[kind]).forEach((h, i) => {
      const hp = str(obj(h)?.path);
      if (hp !== undefined && !path.isAbsolute(hp)) p.add(`/hooks/${kind}/${i}/path`, `must be an absolute path, got ${JSON.stringify(hp)}`);
    });
  }
}

// --- linux ---------------------------------------------------------------

/** Namespace type -> its path ('' for a new namespace). Reports duplicates and relative paths. */
function namespaceTable(p: Problems, linux: Obj | undefined): Map<string, string> {
  const table = new Map<string, string>();
  arr(linux?.namespaces).forEach((raw, i) => {
    const ns = obj(raw);
    const type = str(ns?.type);
    if (!ns || type === undefined) return;
    if (table.has(type)) p.add(`/linux/namespaces/${i}/type`, `duplicate namespace ${JSON.stringify(type)}`);
    const nsPath = str(ns.path) ?? '';
    if (nsPath !== '' && !path.isAbsolute(nsPath)) p.add(`/linux/namespaces/${i}/path`, `must be an absolute path, got ${JSON.stringify(nsPath)}`);
    if (!table.has(type)) table.set(type, nsPath);
  });
  return table;
}

function checkLinux(p: Problems, linux: Obj, ns: Map<string, string>): void {
  checkUserNamespace(p, linux, ns);
  if (linux.timeOffsets !== undefined && !ns.has('time')) {
    p.add('/linux/timeOffsets', "time namespace offsets specified, but time namespace isn't enabled in the config");
  }
  if (linux.timeOffsets !== undefined && ns.get('time')) p.add('/linux/timeOffsets', 'cannot set offsets of a time namespace that is joined by path');
  for (const [clock, raw] of Object.entries(obj(linux.timeOffsets) ?? {})) {
    const nanos = num(obj(raw)?.nanosecs);
    if (nanos !== undefined && nanos >= 1e9) p.add(ptr('linux', 'timeOffsets', clock, 'nanosecs'), 'must be less than 1000000000');
  }
  for (const field of ['maskedPaths', 'readonlyPaths'] as const) {
    const list = arr(linux[field]);
    if (list.length > 0 && !ns.has('mount')) p.add(`/linux/${field}`, 'unable to restrict paths without a private mount namespace');
    list.forEach((v, i) => {
      const s = str(v);
      if (s !== undefined && !path.isAbsolute(s)) p.add(`/linux/${field}/${i}`, `must be an absolute path, got ${JSON.stringify(s)}`);
    });
  }
  checkSysctl(p, obj(linux.sysctl), ns);
  checkDevices(p, linux.devices);
  checkNetDevices(p, obj(linux.netDevices), ns);
  const res = obj(linux.resources);
  if (res) checkResources(p, res);
  const rdt = obj(linux.intelRdt);
  const clos = str(rdt?.closID);
  if (clos !== undefined && (clos === '.' || clos === '..' || clos.includes('/'))) p.add('/linux/intelRdt/closID', `invalid CLOS id ${JSON.stringify(clos)}`);
  const seccomp = obj(linux.seccomp);
  if (seccomp) checkSeccomp(p, seccomp);
  const mp = obj(linux.memoryPolicy);
  if (mp) checkMemoryPolicy(p, mp);
}

function checkUserNamespace(p: Problems, linux: Obj, ns: Map<string, string>): void {
  const uid = arr(linux.uidMappings).length > 0;
  const gid = arr(linux.gidMappings).length > 0;
  if (!ns.has('user')) {
    if (uid) p.add('/linux/uidMappings', "user namespace mappings specified, but user namespace isn't enabled in the config");
    if (gid) p.add('/linux/gidMappings', "user namespace mappings specified, but user namespace isn't enabled in the config");
    return;
  }
  if (ns.get('user')) return; // a joined namespace brings its own mappings
  if (!uid) p.add('/linux/uidMappings', 'user namespaces enabled, but no uid mappings found');
  if (!gid) p.add('/linux/gidMappings', 'user namespaces enabled, but no gid mappings found');
}

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** sysctl(8) accepts '/' as the separator: "net/ipv4/conf/eth0.100/x" is "net.ipv4.conf.eth0/100.x". */
export function normalizeSysctl(key: string): string {
  const first = key.search(/[./]/);
  if (first < 0 || key[first] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

function checkSysctl(p: Problems, sysctl: Obj | undefined, ns: Map<string, string>): void {
  for (const raw of Object.keys(sysctl ?? {})) {
    const key = normalizeSysctl(raw);
    const at = ptr('linux', 'sysctl', raw);
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (!ns.has('ipc')) p.add(at, `sysctl ${JSON.stringify(key)} is not allowed in the host's ipc namespace`);
      continue;
    }
    if (key.startsWith('net.')) {
      if (!ns.has('network')) p.add(at, `sysctl ${JSON.stringify(key)} is not allowed in the host's network namespace`);
      continue;
    }
    if ((key === 'kernel.domainname' || key === 'kernel.hostname') && !ns.has('uts')) {
      p.add(at, `sysctl ${JSON.stringify(key)} is not allowed without a private UTS namespace`);
      continue;
    }
    if (key === 'kernel.domainname') continue;
    if (key === 'kernel.hostname') {
      p.add(at, `sysctl ${JSON.stringify(key)} is not allowed as it conflicts with the OCI "hostname" field`);
      continue;
    }
    p.add(at, `sysctl ${JSON.stringify(key)} is not in a separate kernel namespace`);
  }
}

function checkDevices(p: Problems, devices: unknown): void {
  arr(devices).forEach((raw, i) => {
    const d = obj(raw);
    if (!d) return;
    const dp = str(d.path);
    if (dp !== undefined && !path.isAbsolute(dp)) p.add(`/linux/devices/${i}/path`, `must be an absolute path, got ${JSON.stringify(dp)}`);
    const type = str(d.type);
    if (type && type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      p.add(`/linux/devices/${i}`, `major and minor are required for device type ${JSON.stringify(type)}`);
    }
    // podman --privileged sends st_mode as stat(2) gives it (e.g. 0o20666 for a char device):
    // file-type bits are accepted when they name the device's own type.
    const fmt = typeof d.fileMode === 'number' ? d.fileMode & 0o170000 : 0;
    const want = type === 'b' ? 0o060000 : type === 'p' ? 0o010000 : 0o020000;
    if (fmt !== 0 && fmt !== want) p.add(`/linux/devices/${i}/fileMode`, `file type bits 0o${fmt.toString(8)} do not match device type ${JSON.stringify(type)}`);
  });
}

/** What the kernel's dev_valid_name() accepts: IFNAMSIZ (16) counts bytes, the NUL included. */
export function validInterfaceName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

function checkNetDevices(p: Problems, devs: Obj | undefined, ns: Map<string, string>): void {
  if (!devs) return;
  const names = Object.keys(devs);
  if (names.length > 0 && !ns.has('network')) p.add('/linux/netDevices', 'unable to move network devices without a private network namespace');
  for (const hostName of names) {
    if (!validInterfaceName(hostName)) p.add(ptr('linux', 'netDevices', hostName), `invalid interface name ${JSON.stringify(hostName)}`);
    const inner = str(obj(devs[hostName])?.name);
    if (inner !== undefined && !validInterfaceName(inner)) p.add(ptr('linux', 'netDevices', hostName, 'name'), `invalid interface name ${JSON.stringify(inner)}`);
  }
}

function checkResources(p: Problems, res: Obj): void {
  const mem = obj(res.memory);
  const limit = num(mem?.limit);
  const swap = num(mem?.swap);
  if (limit !== undefined && swap !== undefined && limit > 0 && swap > 0 && swap < limit) {
    p.add('/linux/resources/memory/swap', `memory+swap limit (${swap}) must not be below the memory limit (${limit})`);
  }
  for (const key of Object.keys(obj(res.unified) ?? {})) {
    if (key === '' || key.includes('/') || key === '.' || key === '..') p.add(ptr('linux', 'resources', 'unified', key), 'must be a file name of the cgroup directory');
  }
  const cpu = obj(res.cpu);
  for (const k of ['cpus', 'mems'] as const) {
    const list = str(cpu?.[k]);
    if (list !== undefined && !validList(list)) p.add(`/linux/resources/cpu/${k}`, `invalid list ${JSON.stringify(list)}`);
  }
}

function checkSeccomp(p: Problems, s: Obj): void {
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') p.add('/linux/seccomp/defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action');
  const notifies = arr(s.syscalls).some((c) => obj(c)?.action === 'SCMP_ACT_NOTIFY');
  if (notifies && !str(s.listenerPath)) p.add('/linux/seccomp/listenerPath', 'required when a syscall uses SCMP_ACT_NOTIFY');
  const lp = str(s.listenerPath);
  if (lp && !path.isAbsolute(lp)) p.add('/linux/seccomp/listenerPath', `must be an absolute path, got ${JSON.stringify(lp)}`);
  // config-linux.md: "When the action doesn't support an errno, the runtime MUST print and error and fail."
  // (runc ignores the value.)
  const noErrno = (action: unknown): boolean => typeof action === 'string' && !ERRNO_ACTIONS.has(action);
  if (s.defaultErrnoRet !== undefined && noErrno(s.defaultAction)) {
    p.add('/linux/seccomp/defaultErrnoRet', `defaultAction ${s.defaultAction} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`);
  }
  arr(s.syscalls).forEach((c, i) => {
    const call = obj(c);
    if (call?.errnoRet !== undefined && noErrno(call.action)) {
      p.add(`/linux/seccomp/syscalls/${i}/errnoRet`, `action ${call.action} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`);
    }
  });
}

/** The seccomp actions that return an errno, so the only ones errnoRet/defaultErrnoRet may go with. */
const ERRNO_ACTIONS = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

const NODELESS_MODES = new Set(['MPOL_DEFAULT', 'MPOL_LOCAL']);

function checkMemoryPolicy(p: Problems, mp: Obj): void {
  const mode = str(mp.mode);
  const nodes = str(mp.nodes);
  if (mode && !NODELESS_MODES.has(mode) && !nodes) p.add('/linux/memoryPolicy/nodes', `required for mode ${mode}`);
  if (mode && NODELESS_MODES.has(mode) && nodes) p.add('/linux/memoryPolicy/nodes', `must be empty for mode ${mode}`);
  if (nodes !== undefined && !validList(nodes)) p.add('/linux/memoryPolicy/nodes', `invalid node list ${JSON.stringify(nodes)}`);
  const flags = arr(mp.flags);
  if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES')) {
    p.add('/linux/memoryPolicy/flags', 'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are mutually exclusive');
  }
}
