// podman 4.3 + conmon, daemonless, pointed at the runtime under test, with
// everything it writes under one private directory: storage (overlay), run
// root, tmp/exits/file locks, events log, network config, TMPDIR. podman
// passes no --root, so the runtime keeps its state in its default root
// (/run/tsrunc, /run/runc); teardown checks nothing of ours is left there.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, execaSync, type Result } from 'execa';
import { busyboxRootfsTar } from './image.js';
import { RUNTIME, RUNTIME_NAME } from './runtime.js';

export const IMAGE = 'localhost/tsrunc-e2e-busybox:latest';
/** In the image: a static probe that tries syscalls podman's seccomp profile rules on. */
export const PROBE = '/bin/seccomp-probe';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CGROUP_ROOT = '/sys/fs/cgroup';
const VAR_LIB_CONTAINERS = '/var/lib/containers';

// Each line `name=ok` or `name=E<errno>`. Syscalls chosen so that the
// profile's verdict differs from what the kernel alone answers for root with
// podman's default capabilities: add_key is in no rule (the profile's
// defaultErrnoRet), personality is allowed for listed argument values only,
// kcmp is an explicit ERRNO rule with errnoRet 1 (no CAP_SYS_PTRACE), an
// audit netlink socket gets EINVAL once CAP_AUDIT_WRITE is dropped.
const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
static void report(const char *name, long r) {
  if (r < 0) printf("%s=E%d\n", name, errno); else printf("%s=ok\n", name);
}
int main(void) {
  report("add_key", syscall(SYS_add_key, "user", "tsrunc-e2e", "x", 1, -2 /* KEY_SPEC_PROCESS_KEYRING */));
  report("personality_query", syscall(SYS_personality, 0xffffffffUL));
  report("personality_no_randomize", syscall(SYS_personality, 0x0040000UL /* ADDR_NO_RANDOMIZE */));
  syscall(SYS_personality, 0UL);
  report("kcmp_self", syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0));
  report("netlink_audit_socket", syscall(SYS_socket, 16 /* AF_NETLINK */, 3 /* SOCK_RAW */, 9 /* NETLINK_AUDIT */));
  return 0;
}
`;

export interface Podman {
  dir: string;
  /** podman with a clean environment and `--runtime RUNTIME`; never rejects. */
  run(args: string[], opts?: { timeout?: number; input?: string }): Promise<Result>;
  /** The same command as one shell-quoted line (for `script -qec`). */
  commandLine(args: string[]): string;
  /** Every container id this podman ever created (from its events log). */
  containerIds(): string[];
  /** Paths in the runtime's default root, cgroups, mounts, conmon processes of ours still there. */
  leftovers(): string[];
  /** Removes every container, image, mount, cgroup and file of ours; idempotent. */
  teardown(): Promise<void>;
}

const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The runtime's default state dir: podman passes no --root (runc's rule). */
export function runtimeDefaultRoot(): string {
  return `/run/${RUNTIME_NAME}`;
}

function v1Hierarchies(): string[] {
  try {
    return fs.readdirSync(CGROUP_ROOT).filter((d) => fs.existsSync(path.join(CGROUP_ROOT, d, 'cgroup.procs')) && !fs.lstatSync(path.join(CGROUP_ROOT, d)).isSymbolicLink());
  } catch {
    return [];
  }
}

/** Cgroup dirs (deepest first) that podman's cgroupfs manager makes: libpod_parent/{conmon,libpod-<id>}. */
function libpodCgroups(): string[] {
  const out: string[] = [];
  const v2 = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));
  for (const h of v2 ? ['.'] : v1Hierarchies()) {
    const parent = path.join(CGROUP_ROOT, h, 'libpod_parent');
    if (!fs.existsSync(parent)) continue;
    for (const e of fs.readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) out.push(path.join(parent, e.name));
    out.push(parent);
  }
  return out;
}

function emptyCgroup(cg: string): boolean {
  try {
    return fs.readFileSync(path.join(cg, 'cgroup.procs'), 'utf8').trim() === '' && !fs.readdirSync(cg, { withFileTypes: true }).some((e) => e.isDirectory());
  } catch {
    return false;
  }
}

function mountsUnder(dir: string): string[] {
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return points.filter((p) => p === dir || p.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
}

/** Live (not zombie) conmon processes whose command line names our directory. */
function conmonsOf(dir: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (!stat.includes('(conmon)') || / Z /.test(stat.slice(stat.lastIndexOf(')')))) continue;
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function compileProbe(dir: string): string {
  const src = path.join(dir, 'seccomp-probe.c');
  const bin = path.join(dir, 'seccomp-probe');
  fs.writeFileSync(src, PROBE_C);
  execaSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Werror', '-static', '-o', bin, src]);
  return bin;
}

/** A private podman with a busybox image (plus PROBE) imported. */
export async function setupPodman(): Promise<Podman> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-e2e-podman-'));
  const defaultRoot = runtimeDefaultRoot();
  const hadDefaultRoot = fs.existsSync(defaultRoot);
  const hadCgroups = new Set(libpodCgroups());
  // containers/image keeps root's blob-info cache there whatever the config says.
  const hadVarLib = fs.existsSync(VAR_LIB_CONTAINERS);
  for (const d of ['home', 'tmpfiles', 'networks']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(
    path.join(dir, 'storage.conf'),
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`,
  );
  // No CAP_SYS_RESOURCE here: podman's default nofile/nproc (1048576) would
  // make any runtime's setrlimit fail with EPERM; use the hard limits we have.
  const nofile = Number(execaSync('sh', ['-c', 'ulimit -Hn']).stdout) || 1024;
  const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    [
      '[containers]',
      'netns = "none"',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${pidMax}:${pidMax}"]`,
      '',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${dir}/events.log"`,
      `tmp_dir = "${dir}/tmp"`,
      `static_dir = "${dir}/storage/libpod"`,
      `volume_path = "${dir}/storage/volumes"`,
      'conmon_path = ["/usr/bin/conmon"]',
      // File locks under tmp_dir instead of the host-wide /dev/shm/libpod_lock.
      'lock_type = "file"',
      // podman passes `--log-format=json --log <oci-log>` to create/exec only
      // for runtimes whose name is listed, and then reads errors from that file.
      `runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "tsrunc"]`,
      '',
      '[network]',
      `network_config_dir = "${dir}/networks"`,
      '',
    ].join('\n'),
  );
  const env = {
    PATH,
    HOME: path.join(dir, 'home'),
    TMPDIR: path.join(dir, 'tmpfiles'),
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
  };
  const argv = (args: string[]) => ['--runtime', RUNTIME, ...args];
  const run = (args: string[], opts: { timeout?: number; input?: string } = {}): Promise<Result> =>
    execa('podman', argv(args), {
      env,
      extendEnv: false,
      reject: false,
      ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
      timeout: opts.timeout ?? 60_000,
    }) as unknown as Promise<Result>;

  // Kept across calls: the events log goes with the directory at teardown.
  const ids = new Set<string>();
  const containerIds = (): string[] => {
    try {
      for (const l of fs.readFileSync(path.join(dir, 'events.log'), 'utf8').split('\n')) {
        if (!l) continue;
        const e = JSON.parse(l) as { Type?: string; ID?: string };
        if (e.Type === 'container' && e.ID) ids.add(e.ID);
      }
    } catch {
      /* no events yet */
    }
    return [...ids];
  };

  const leftovers = (): string[] => {
    const out: string[] = [];
    const ids = containerIds();
    for (const id of ids) if (fs.existsSync(path.join(defaultRoot, id))) out.push(path.join(defaultRoot, id));
    // A shared parent this run made counts only once it is empty (else another podman uses it).
    for (const cg of libpodCgroups()) {
      if (ids.some((id) => cg.endsWith(`/libpod-${id}`)) || (!hadCgroups.has(cg) && emptyCgroup(cg))) out.push(cg);
    }
    out.push(...mountsUnder(dir).map((m) => `mount ${m}`));
    out.push(...conmonsOf(dir).map((p) => `conmon pid ${p}`));
    if (!hadVarLib && fs.existsSync(VAR_LIB_CONTAINERS)) out.push(VAR_LIB_CONTAINERS);
    return out;
  };

  let torn = false;
  const teardown = async (): Promise<void> => {
    if (torn) return;
    torn = true;
    const ids = containerIds();
    await run(['rm', '--all', '--force', '--time', '0'], { timeout: 60_000 });
    await run(['system', 'reset', '--force'], { timeout: 60_000 });
    // conmon exits once its container is gone and the exit command ran.
    for (let i = 0; i < 50 && conmonsOf(dir).length; i++) await sleep(100);
    for (const pid of conmonsOf(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const id of ids) {
      if (fs.existsSync(path.join(defaultRoot, id))) await execa(RUNTIME, ['delete', '--force', id], { reject: false, stdin: 'ignore' });
    }
    for (const m of mountsUnder(dir)) await execa('umount', ['-l', m], { reject: false });
    // Deepest first; the shared parents only if this run made them and they are empty.
    for (const cg of libpodCgroups()) {
      const ours = ids.some((id) => cg.endsWith(`/libpod-${id}`)) || !hadCgroups.has(cg);
      if (!ours) continue;
      try {
        fs.rmdirSync(cg);
      } catch {
        /* busy (another podman's) or gone */
      }
    }
    if (!hadVarLib) fs.rmSync(VAR_LIB_CONTAINERS, { recursive: true, force: true });
    if (!hadDefaultRoot) {
      try {
        fs.rmdirSync(defaultRoot);
      } catch {
        /* not empty: someone else's containers */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const tar = busyboxRootfsTar(dir);
    const probeDir = fs.mkdtempSync(path.join(dir, 'probe.'));
    const probe = compileProbe(probeDir);
    fs.mkdirSync(path.join(probeDir, 'bin'));
    fs.renameSync(probe, path.join(probeDir, 'bin', 'seccomp-probe'));
    execaSync('tar', ['-C', probeDir, '-rf', tar, './bin/seccomp-probe']);
    const r = await run(['import', '--change', 'CMD ["sh"]', tar, IMAGE]);
    if (r.exitCode !== 0) throw new Error(`podman import: ${r.stderr}`);
    fs.rmSync(probeDir, { recursive: true, force: true });
    fs.rmSync(tar, { force: true });
  } catch (e) {
    await teardown();
    throw e;
  }

  return {
    dir,
    run,
    commandLine: (args) => ['env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'podman', ...argv(args)].map(q).join(' '),
    containerIds,
    leftovers,
    teardown,
  };
}
