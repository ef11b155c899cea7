// Boots the cgroup-v2-only QEMU guest from /work/shared/cgroup2-vm (see its
// README) and runs one shell command in it. The guest sees this machine's /
// read-only, so scripts it runs must live outside /tmp (e.g. the repo's build/).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

// CI clones the repo with shared/ beside it; a developer's tree has it at /work/shared.
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const VM_DIR =
  process.env.TSR_QV_DIR ??
  [path.join(REPO, '../shared/cgroup2-vm'), '/work/shared/cgroup2-vm'].find((d) => fs.existsSync(path.join(d, 'qv-run.sh'))) ??
  path.join(REPO, '../shared/cgroup2-vm');
const QV = process.env.QV ?? '/tmp/qv';

/** Makes sure the guest kernel/initramfs exist; returns a reason string when the VM cannot be used. */
export function vmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!fs.existsSync(path.join(VM_DIR, 'qv-run.sh'))) return `${VM_DIR}/qv-run.sh not found`;
  const ready = (): boolean => fs.existsSync(path.join(QV, 'vmlinux-amd64')) && fs.existsSync(path.join(QV, 'initramfs-9p.cpio.gz'));
  if (!ready() || spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' }).status !== 0) {
    const r = spawnSync('bash', [path.join(VM_DIR, 'setup.sh')], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0 || !ready()) {
      return `cgroup2 VM setup failed (${VM_DIR}/setup.sh exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-2).join(' | ')}`;
    }
  }
  return undefined;
}

export interface VmRun {
  code: number | null;
  /** serial console output */
  console: string;
  /** the host directory the guest saw as /tmp/qvout */
  outDir: string;
}

/** One boot: runs `cmd` with sh inside the guest. */
export function runInVm(cmd: string, opts: { timeoutSec?: number; mem?: string } = {}): Promise<VmRun> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-test-qvout-'));
  return new Promise((resolve) => {
    const p = spawn('bash', [path.join(VM_DIR, 'qv-run.sh'), cmd], {
      env: { ...process.env, QV, QV_OUT: outDir, QV_TIMEOUT: String(opts.timeoutSec ?? 300), QV_MEM: opts.mem ?? '1G' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.on('exit', (code) => resolve({ code, console: out, outDir }));
  });
}

/** Where the guest mounts fresh tmpfs: a tree there is invisible to it. */
const HIDDEN_IN_GUEST = ['/tmp', '/run', '/root', '/dev/shm'];

export interface GuestView {
  /** The host tree's path as the guest sees it. */
  root: string;
  /** Host path under `root` (as given) → the guest's path of it. */
  map(hostPath: string): string;
  /** Undoes the bind mount, if one was made. */
  release(): void;
}

/**
 * The guest sees the host's / except under HIDDEN_IN_GUEST, so a checkout
 * there (CI may clone into /tmp) is bind-mounted at a visible path for the
 * boot. The bind is in the host's mount namespace: release() in a teardown.
 */
export function exposeToGuest(root: string): GuestView {
  const hidden = HIDDEN_IN_GUEST.some((h) => root === h || root.startsWith(`${h}/`));
  if (!hidden) return { root, map: (p) => p, release: () => undefined };
  const at = fs.mkdtempSync('/var/tmp/tsr-test-qvview-');
  const mount = spawnSync('mount', ['--bind', root, at], { encoding: 'utf8' });
  if (mount.status !== 0) {
    fs.rmSync(at, { recursive: true, force: true });
    throw new Error(`cannot show ${root} to the guest: mount --bind: ${mount.stderr.trim()}`);
  }
  return {
    root: at,
    map: (p) => (p === root || p.startsWith(`${root}/`) ? at + p.slice(root.length) : p),
    release: () => {
      spawnSync('umount', ['-l', at]);
      fs.rmSync(at, { recursive: true, force: true });
    },
  };
}
