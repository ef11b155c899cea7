// Issue 7's attacks from inside a container (hostile image and/or config),
// each asserting that the attack failed: the runtime's procfs writes go to a
// procfs the container cannot have touched (src/sys/procfs.ts), /dev/console
// and the pty are bound by fd and never through the image's symlinks, the cwd
// cannot reach an fd of init's, symlinked /dev and /proc keep every mount and
// node inside the rootfs, and a dropped bounding capability stays dropped
// across a setuid-root exec. Where runc 1.1.5 behaves differently, the same
// bundle under runc is shown as evidence that the attack is real.
//
// Covered elsewhere (not repeated here): /dev/null a symlink into procfs as
// the mask source (rootfs-dev-paths "a /dev/null that is not the null device
// ..."), /proc -> /, /dev -> /tmp, /mnt -> ../../.., a bind target through
// ../../../../etc (rootfs-mounts "hostile rootfs layouts ..."), exec's
// --cwd /proc/self/fd/N and leaked fds (exec.test.ts), CapBnd values
// (process-attrs "capabilities ...").
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { writeConsoleReceiver } from './helpers/console-receiver.js';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';
import { Procfs } from '../src/sys/procfs.js';
import { sys } from '../src/sys/linux.js';

const RUNC = '/usr/sbin/runc';
const HAVE_RUNC = fs.existsSync(RUNC);
const root = makeRoot();
const runcRoot = makeRoot();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-hardening-'));
const bundles: Bundle[] = [];
t.teardown(async () => {
  for (const id of fs.readdirSync(root)) await execa(TSRUNC_BIN, ['--root', root, 'delete', '--force', id], { reject: false });
  for (const id of fs.readdirSync(runcRoot)) await execa(RUNC, ['--root', runcRoot, 'delete', '--force', id], { reject: false });
  for (const d of [root, runcRoot, work]) fs.rmSync(d, { recursive: true, force: true });
  for (const b of bundles) b.remove();
});

const hasPython = execaSync('python3', ['-c', 'import socket; socket.recv_fds'], { reject: false }).exitCode === 0;
const RECEIVER = writeConsoleReceiver(work);
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';
const hostCorePattern = fs.readFileSync(CORE_PATTERN, 'utf8');
// The host's mount table where these attacks would land (/, /etc, /dev, /proc, the destinations
// used below, our own bundles and work dir): other engineers' containers mount elsewhere meanwhile.
const WATCHED = /^\/(etc|dev|proc|data|mnt|escape|up|bin|root|tmp)?(\/|$)/;
const watched = (mp: string): boolean => mp.startsWith(work) || mp.includes('/tsr-test-bundle-') || (WATCHED.test(mp) && !mp.startsWith('/tmp/'));
const hostMountinfo = (): string =>
  fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => watched(l.split(' ')[4] ?? '')).join('\n');
const hostDomainname = fs.readFileSync('/proc/sys/kernel/domainname', 'utf8');

let seq = 0;
const newId = (): string => `tsr-hard-${process.pid}-${++seq}`;

function bundle(script: string, edit?: (c: any) => void): Bundle {
  const b = makeBundle(edit, ['sh', '-c', script]);
  bundles.push(b);
  return b;
}

/** A host directory the container sees at /out (what it writes there is read back after it ran). */
function outDir(c: any): string {
  const d = fs.mkdtempSync(path.join(work, 'out-'));
  c.mounts.push({ destination: '/out', type: 'bind', source: d, options: ['rbind', 'rw'] });
  return d;
}

const noDevTmpfs = (c: any): void => {
  c.mounts = c.mounts.filter((m: any) => m.destination !== '/dev');
};

async function run(b: Bundle, runtime: 'tsrunc' | 'runc' = 'tsrunc'): Promise<{ code: number | undefined; out: string; err: string }> {
  const [bin, r] = runtime === 'tsrunc' ? [TSRUNC_BIN, root] : [RUNC, runcRoot];
  const res = await execa(bin, ['--root', r, 'run', '-b', b.dir, newId()], { reject: false, stdin: 'ignore', timeout: 60_000 });
  return { code: res.exitCode, out: String(res.stdout), err: String(res.stderr) };
}

/** create (stdio detached), then fn with the container's init pid, then delete. */
async function created(t: any, b: Bundle, fn: (pid: number, id: string) => Promise<void>): Promise<{ code: number | undefined; err: string }> {
  const id = newId();
  // The container inherits create's stdio: a pipe would stay open until it exits.
  const errFile = path.join(work, `${id}.err`);
  const fd = fs.openSync(errFile, 'w+');
  const opts: Record<string, unknown> = { reject: false, stdio: ['ignore', fd, fd], timeout: 60_000 };
  const c = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, id], opts);
  fs.closeSync(fd);
  t.teardown(() => execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id], { reject: false }));
  if (c.exitCode !== 0) return { code: c.exitCode, err: fs.readFileSync(errFile, 'utf8') };
  const st = await execa(TSRUNC_BIN, ['--root', root, 'state', id], { reject: false });
  await fn(JSON.parse(String(st.stdout)).pid, id);
  return { code: 0, err: '' };
}

/** start a created container and wait until it stopped. */
async function startAndWait(id: string): Promise<void> {
  await execa(TSRUNC_BIN, ['--root', root, 'start', id], { reject: false, stdin: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const st = await execa(TSRUNC_BIN, ['--root', root, 'state', id], { reject: false });
    if (st.exitCode !== 0 || JSON.parse(String(st.stdout)).status === 'stopped') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A value of /proc/sys read from inside one of pid's namespaces (the host's procfs, the container's namespace). */
function nsSysctl(pid: number, ns: 'uts' | 'ipc', file: string): string {
  return String(execaSync('nsenter', [`--${ns}=/proc/${pid}/ns/${ns}`, 'cat', `/proc/sys/${file}`]).stdout);
}

t.test('the procfs handle: a private procfs root, anything else refused, no magic link or symlink followed below it', async (t) => {
  const s = sys();
  const p = Procfs.open();
  t.teardown(() => p.close());
  t.equal(p.origin, 'fsopen', 'a private instance (fsopen + fsmount) on this kernel');
  t.equal(fs.fstatSync(p.fd).ino, 1, 'its root inode');
  const mntId = /^mnt_id:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${p.fd}`, 'utf8'))?.[1];
  t.ok(mntId, 'the handle has a mount id');
  t.notOk(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.startsWith(`${mntId} `)), 'its mount is attached nowhere in our mount namespace');
  const fd = p.openFile(s, 'sys/kernel/domainname', fs.constants.O_RDONLY);
  t.equal(fs.readFileSync(fd, 'utf8'), hostDomainname, 'reads the real sysctl');
  fs.closeSync(fd);
  t.throws(() => p.openFile(s, 'self/cwd/etc/hostname', fs.constants.O_RDONLY), { code: 'ELOOP' }, 'a magic link on the way is refused');
  t.throws(() => p.openFile(s, 'self/exe', fs.constants.O_RDONLY), { code: 'ELOOP' }, 'a final magic link is not followed');
  t.throws(() => p.openFile(s, '../../etc/hostname', fs.constants.O_RDONLY), { code: 'EXDEV' }, 'nothing above its root');
  t.throws(() => Procfs.open(work, false), /is not a procfs root \(f_type 0x/, 'a directory that is not procfs is refused');
  t.throws(() => Procfs.open('/proc/sys', false), /is not a procfs root .*inode/, 'a procfs subdirectory (a bind of one) is refused');
  const fallback = Procfs.open('/proc', false);
  t.equal(fallback.origin, '/proc', 'the fallback: the /proc given, verified');
  fallback.close();
});

t.test('procfs writes: a tmpfs over /proc/sys does not catch the sysctls (they reach the real procfs)', async (t) => {
  let out = '';
  const b = bundle('ls -A /proc/sys > /out/ls; grep " /proc/sys " /proc/self/mountinfo > /out/mnt', (c) => {
    out = outDir(c);
    c.mounts.push({ destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs' });
    c.linux.sysctl = { 'kernel.domainname': 'hard.example', 'kernel.shm_rmid_forced': '1' };
  });
  const r = await created(t, b, async (pid, id) => {
    t.equal(nsSysctl(pid, 'uts', 'kernel/domainname'), 'hard.example', 'domainname set in the container\'s uts namespace');
    t.equal(nsSysctl(pid, 'ipc', 'kernel/shm_rmid_forced'), '1', 'shm_rmid_forced set in the container\'s ipc namespace');
    await startAndWait(id);
  });
  t.equal(r.code, 0, r.err);
  t.equal(fs.readFileSync(path.join(out, 'ls'), 'utf8'), '', 'nothing was written into the tmpfs');
  t.match(fs.readFileSync(path.join(out, 'mnt'), 'utf8'), / - tmpfs /, 'the container really had the tmpfs over /proc/sys');
  t.equal(fs.readFileSync('/proc/sys/kernel/domainname', 'utf8'), hostDomainname, 'host domainname unchanged');
  if (HAVE_RUNC) {
    const rr = await run(b, 'runc');
    t.not(rr.code, 0, 'runc 1.1.5 writes through the container\'s /proc and fails on the tmpfs (evidence the path is caught)');
    t.comment(`runc: ${rr.err.trim().split('\n').at(-1)}`);
  }
});

t.test('procfs writes: an image file at /proc/sys/... (no proc mount) is not written, the sysctl is', async (t) => {
  const sentinel = 'image-file\n';
  const mk = (): Bundle => {
    const b = bundle('cat /proc/sys/kernel/domainname', (c) => {
      c.mounts = c.mounts.filter((m: any) => m.destination !== '/proc');
      c.linux.maskedPaths = [];
      c.linux.readonlyPaths = [];
      c.linux.sysctl = { 'kernel.domainname': 'hard.example' };
      // Writable, so a write through the path would land in the file.
      c.root.readonly = false;
    });
    fs.mkdirSync(path.join(b.rootfs, 'proc/sys/kernel'), { recursive: true });
    fs.writeFileSync(path.join(b.rootfs, 'proc/sys/kernel/domainname'), sentinel);
    return b;
  };
  const b = mk();
  const r = await created(t, b, async (pid, id) => {
    t.equal(nsSysctl(pid, 'uts', 'kernel/domainname'), 'hard.example', 'the real domainname of the container is set');
    await startAndWait(id);
  });
  t.equal(r.code, 0, r.err);
  t.equal(fs.readFileSync(path.join(b.rootfs, 'proc/sys/kernel/domainname'), 'utf8'), sentinel, 'the image\'s file is untouched');
  if (HAVE_RUNC) {
    const rb = mk();
    const rr = await run(rb, 'runc');
    t.comment(`runc 1.1.5: exit ${rr.code}, image file now ${JSON.stringify(fs.readFileSync(path.join(rb.rootfs, 'proc/sys/kernel/domainname'), 'utf8'))}, container saw ${JSON.stringify(rr.out)}`);
    t.equal(fs.readFileSync(path.join(rb.rootfs, 'proc/sys/kernel/domainname'), 'utf8'), 'hard.example', 'runc 1.1.5 wrote the sysctl into the image\'s file instead (evidence)');
  }
});

t.test('procfs writes: binds over the files the runtime writes are refused (CVE-2025-52881 shape)', async (t) => {
  const before = hostMountinfo();
  // A host file standing in for a procfs file an attacker would want written
  // (core_pattern): if any write were redirected, it would land here.
  const decoy = path.join(work, 'decoy');
  fs.writeFileSync(decoy, 'decoy\n');
  const vol = fs.mkdtempSync(path.join(work, 'vol-'));
  fs.writeFileSync(path.join(vol, 'domainname'), 'decoy\n');
  const cases: [string, (c: any) => void, ((rootfs: string) => void) | undefined, RegExp][] = [
    ['a bind over the sysctl file', (c) => {
      c.mounts.push({ destination: '/proc/sys/kernel/domainname', type: 'bind', source: decoy, options: ['bind'] });
      c.linux.sysctl = { 'kernel.domainname': 'hard.example' };
    }, undefined, /"\/proc\/sys\/kernel\/domainname" cannot be mounted because it is inside \/proc/],
    ['a bind over /proc/self/attr/exec (the LSM label)', (c) => {
      c.mounts.push({ destination: '/proc/self/attr/exec', type: 'bind', source: decoy, options: ['bind'] });
      c.process.apparmorProfile = 'tsrunc-test-profile';
    }, undefined, /"\/proc\/self\/attr\/exec" \(resolved to \/proc\/1\/attr\/exec\) cannot be mounted because it is inside \/proc/],
    ['a bind over /proc/self/oom_score_adj (R writes the host\'s /proc/<pid>/oom_score_adj anyway)', (c) => {
      c.mounts.push({ destination: '/proc/self/oom_score_adj', type: 'bind', source: decoy, options: ['bind'] });
      c.process.oomScoreAdj = 100;
    }, undefined, /"\/proc\/self\/oom_score_adj" \(resolved to \/proc\/1\/oom_score_adj\) cannot be mounted because it is inside \/proc/],
    ['an image symlink /data -> /proc/sys/kernel under a volume', (c) => {
      c.mounts.push({ destination: '/data', type: 'bind', source: vol, options: ['rbind'] });
      c.linux.sysctl = { 'kernel.domainname': 'hard.example' };
    }, (rootfs) => fs.symlinkSync('/proc/sys/kernel', path.join(rootfs, 'data')), /"\/data" \(resolved to \/proc\/sys\/kernel\) cannot be mounted because it is inside \/proc/],
    ['/proc itself bound from a non-procfs directory', (c) => {
      c.mounts = c.mounts.filter((m: any) => m.destination !== '/proc');
      c.mounts.push({ destination: '/proc', type: 'bind', source: vol, options: ['rbind'] });
      c.linux.sysctl = { 'kernel.domainname': 'hard.example' };
    }, undefined, /"\/proc" cannot be mounted because it is not of type proc/],
  ];
  for (const [name, edit, layout, err] of cases) {
    const b = bundle('true', edit);
    layout?.(b.rootfs);
    const r = await run(b);
    t.equal(r.code, 1, `${name}: refused`);
    t.match(r.err, err, name);
    t.equal(fs.readFileSync(decoy, 'utf8'), 'decoy\n', `${name}: the decoy was not written`);
    t.equal(fs.readFileSync(path.join(vol, 'domainname'), 'utf8'), 'decoy\n', `${name}: the volume's file was not written`);
  }
  t.equal(fs.readFileSync(CORE_PATTERN, 'utf8'), hostCorePattern, 'host core_pattern unchanged');
  t.equal(hostMountinfo(), before, 'host mountinfo unchanged');
});

/** create with --console-socket, start, and what the receiver saw. */
async function viaSocket(t: any, b: Bundle, input: string, runtime: 'tsrunc' | 'runc' = 'tsrunc'): Promise<{ out: string; create: number | undefined }> {
  const [bin, r] = runtime === 'tsrunc' ? [TSRUNC_BIN, root] : [RUNC, runcRoot];
  const id = newId();
  const sock = path.join(work, `${id}.sock`);
  const rx: ResultPromise = execa('python3', [RECEIVER, sock, input], { reject: false, timeout: 30_000 });
  await new Promise<void>((resolve) => rx.stdout!.once('data', () => resolve()));
  const c = await execa(bin, ['--root', r, 'create', '-b', b.dir, '--console-socket', sock, id], { reject: false, stdin: 'ignore' });
  t.teardown(() => execa(bin, ['--root', r, 'delete', '-f', id], { reject: false }));
  if (c.exitCode !== 0) {
    rx.kill();
    await rx;
    return { out: String(c.stderr), create: c.exitCode };
  }
  await execa(bin, ['--root', r, 'start', id], { reject: false, stdin: 'ignore' });
  const res = await rx;
  return { out: JSON.parse(String(res.stdout).split('\n').filter(Boolean).at(-1)!).out.replace(/\r/g, ''), create: 0 };
}

const CONSOLE_PROBE =
  '[ -L /dev/console ] && echo console-is-a-link || echo console-not-a-link; stat -c "console %F %t" /dev/console; ' +
  `stat -c "core_pattern %F" ${CORE_PATTERN}; grep -c core_pattern /proc/self/mountinfo; exit\n`;

t.test('/dev/console a symlink to a procfs file in the image: replaced, never followed (CVE-2025-52565)', { skip: !hasPython && 'python3 with socket.recv_fds is needed for the console receiver' }, async (t) => {
  const mk = (): Bundle => {
    const b = makeBundle((c) => {
      noDevTmpfs(c);
      c.process.terminal = true;
      c.process.args = ['sh'];
    });
    bundles.push(b);
    fs.symlinkSync(CORE_PATTERN, path.join(b.rootfs, 'dev/console'));
    return b;
  };
  const b = mk();
  // Whole output lines only: the pty echoes the typed probe too.
  const lines = (out: string): string[] => out.split('\n');
  const r = await viaSocket(t, b, CONSOLE_PROBE);
  t.equal(r.create, 0, r.out);
  t.ok(lines(r.out).includes('console-not-a-link'), '/dev/console is no longer the image\'s symlink');
  t.ok(lines(r.out).includes('console character special file 88'), '/dev/console is the pty (major 136)');
  t.ok(lines(r.out).includes('core_pattern regular empty file'), 'core_pattern is procfs\'s own file');
  t.ok(lines(r.out).includes('0'), 'nothing mounted on core_pattern');
  t.equal(fs.readFileSync(CORE_PATTERN, 'utf8'), hostCorePattern, 'host core_pattern unchanged');
  if (HAVE_RUNC) {
    const rr = await viaSocket(t, mk(), CONSOLE_PROBE, 'runc');
    t.comment(`runc 1.1.5 saw: ${JSON.stringify(lines(rr.out).slice(-5))}`);
    t.ok(lines(rr.out).includes('console-is-a-link') && lines(rr.out).includes('core_pattern character special file'), 'runc 1.1.5 follows the symlink and mounts the pty over core_pattern (evidence)');
    t.equal(fs.readFileSync(CORE_PATTERN, 'utf8'), hostCorePattern, 'host core_pattern unchanged after runc');
  }
});

t.test('a /dev/pts/ptmx that is a symlink to a procfs file: refused, never used as the pty', { skip: !hasPython && 'python3 with socket.recv_fds is needed for the console receiver' }, async (t) => {
  const b = makeBundle((c) => {
    noDevTmpfs(c);
    c.mounts = c.mounts.filter((m: any) => m.destination !== '/dev/pts');
    c.process.terminal = true;
    c.process.args = ['sh'];
  });
  bundles.push(b);
  fs.mkdirSync(path.join(b.rootfs, 'dev/pts'));
  fs.symlinkSync(CORE_PATTERN, path.join(b.rootfs, 'dev/pts/ptmx'));
  const r = await viaSocket(t, b, 'exit\n');
  t.equal(r.create, 1, 'refused');
  t.match(r.out, /\/dev\/pts\/ptmx is not the pty multiplexer/);
  t.equal(fs.readFileSync(CORE_PATTERN, 'utf8'), hostCorePattern, 'host core_pattern unchanged');
});

/** Whatever the process saw must not be a host directory: no host-only names, no bundle or state files. */
function assertNoHostView(t: any, name: string, out: string): void {
  for (const hostOnly of ['work', 'config.json', 'state.json', 'exec.fifo', 'usr']) {
    t.notOk(new RegExp(`(^|\\s)${hostOnly}(\\s|$)`).test(out), `${name}: no "${hostOnly}" in what the process saw`);
  }
}

t.test('process.cwd = /proc/self/fd/N (CVE-2024-21626): refused or inside the container, for create and run', async (t) => {
  for (let n = 3; n <= 10; n++) {
    let out = '';
    const b = bundle('{ pwd -P; ls -a; } > /out/seen 2>&1', (c) => {
      out = outDir(c);
      c.process.cwd = `/proc/self/fd/${n}`;
    });
    const r = await run(b);
    if (r.code === 0) assertNoHostView(t, `run fd ${n}`, fs.readFileSync(path.join(out, 'seen'), 'utf8'));
    else t.match(r.err, /cwd/, `run fd ${n}: refused (${r.err.trim()})`);
    const c = await created(t, b, async (_pid, id) => startAndWait(id));
    if (c.code === 0) assertNoHostView(t, `create fd ${n}`, fs.readFileSync(path.join(out, 'seen'), 'utf8'));
    else t.match(c.err, /cwd/, `create fd ${n}: refused`);
  }
});

t.test('process.cwd through .. or a symlink to / stays in the rootfs', async (t) => {
  for (const [cwd, layout] of [
    ['/../../..', undefined],
    ['/escape', (r: string) => fs.symlinkSync('/', path.join(r, 'escape'))],
    ['/up', (r: string) => fs.symlinkSync('../../../../../..', path.join(r, 'up'))],
  ] as [string, ((r: string) => void) | undefined][]) {
    const b = bundle('pwd -P; ls', (c) => (c.process.cwd = cwd));
    layout?.(b.rootfs);
    const r = await run(b);
    t.equal(r.code, 0, `${cwd}: ${r.err}`);
    t.match(r.out, /^\/\n/, `${cwd}: pwd -P is the container's /`);
    t.match(r.out, /\nbin\n/, `${cwd}: the rootfs' own entries`);
    assertNoHostView(t, cwd, r.out);
  }
});

t.test('/dev and /proc as symlinks in the image (CVE-2026-41579): nothing lands on the host', async (t) => {
  const before = hostMountinfo();
  const hostRoot = fs.readdirSync('/').sort().join(' ');
  const hostEtc = fs.readdirSync('/etc').sort().join(' ');
  const layouts: [string, string, string][] = [
    ['/dev -> /', 'dev', '/'],
    ['/dev -> ..', 'dev', '..'],
    ['/dev -> ../../../..', 'dev', '../../../..'],
    ['/proc -> /etc', 'proc', '/etc'],
    ['/proc -> ../../../../etc', 'proc', '../../../../etc'],
  ];
  for (const [name, link, target] of layouts) {
    const b = bundle('cat /proc/self/mountinfo >/dev/null 2>&1; true');
    fs.rmSync(path.join(b.rootfs, link), { recursive: true });
    fs.symlinkSync(target, path.join(b.rootfs, link));
    const r = await run(b);
    t.comment(`${name}: exit ${r.code}${r.code ? `, ${r.err.trim()}` : ''}`);
    if (link === 'dev') {
      t.equal(r.code, 1, `${name}: refused (the /dev tmpfs would cover the container's root)`);
      t.match(r.err, /mount destination \/dev resolves to the container's root/, name);
    } else {
      t.equal(r.code, 0, `${name}: procfs lands in the rootfs' /etc: ${r.err}`);
    }
    t.equal(hostMountinfo(), before, `${name}: host mountinfo byte-identical`);
    t.equal(fs.readdirSync('/').sort().join(' '), hostRoot, `${name}: no node or directory made in the host's /`);
    t.equal(fs.readdirSync('/etc').sort().join(' '), hostEtc, `${name}: the host's /etc unchanged`);
  }
});

t.test('masked/readonly paths and mount destinations through magic links are refused', async (t) => {
  const before = hostMountinfo();
  const cases: [string, (c: any) => void, (rootfs: string) => void, RegExp][] = [
    ['maskedPaths entry -> /proc/self/fd/0', (c) => (c.linux.maskedPaths = ['/etc/secret']), (r) => fs.symlinkSync('/proc/self/fd/0', path.join(r, 'etc/secret')), /mask \/etc\/secret|ELOOP|symbolic links/],
    ['readonlyPaths entry -> /proc/self/root', (c) => (c.linux.readonlyPaths = ['/etc/ro']), (r) => fs.symlinkSync('/proc/self/root', path.join(r, 'etc/ro')), /\/etc\/ro|ELOOP|symbolic links/],
    ['mount destination -> /proc/self/fd/5', (c) => c.mounts.push({ destination: '/mnt/fd', type: 'tmpfs', source: 'tmpfs' }), (r) => {
      fs.mkdirSync(path.join(r, 'mnt'));
      fs.symlinkSync('/proc/self/fd/5', path.join(r, 'mnt/fd'));
    }, /\/mnt\/fd|ELOOP|symbolic links/],
    ['mount destination -> /proc/1/cwd', (c) => c.mounts.push({ destination: '/mnt/cwd', type: 'tmpfs', source: 'tmpfs' }), (r) => {
      fs.mkdirSync(path.join(r, 'mnt'));
      fs.symlinkSync('/proc/1/cwd', path.join(r, 'mnt/cwd'));
    }, /\/mnt\/cwd|ELOOP|symbolic links/],
  ];
  for (const [name, edit, layout, err] of cases) {
    const b = bundle('true', edit);
    layout(b.rootfs);
    const r = await run(b);
    t.equal(r.code, 1, `${name}: refused`);
    t.match(r.err, err, `${name}: ${r.err.trim()}`);
    t.equal(hostMountinfo(), before, `${name}: host mountinfo unchanged`);
  }
  // A plain symlink is followed inside the rootfs: the mask lands on the rootfs' own file.
  const b = bundle('cat /etc/hostname; cat /etc/masked', (c) => (c.linux.maskedPaths = ['/etc/masked']));
  fs.writeFileSync(path.join(b.rootfs, 'etc/hostname'), 'image-hostname\n');
  fs.symlinkSync('../../../../../etc/hostname', path.join(b.rootfs, 'etc/masked'));
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, '', 'the rootfs\' /etc/hostname is masked (empty), through the symlink');
  t.equal(hostMountinfo(), before, 'host mountinfo unchanged (the host\'s /etc/hostname is not masked)');
});

// A static setuid-root probe that keeps its privileges (busybox drops them for most applets).
const PROBE_SRC = `#include <stdio.h>
#include <unistd.h>
#include <string.h>
int main(int argc, char **argv) {
  char line[256]; FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "Cap", 3)) fputs(line, stdout);
  printf("euid=%d chown=%d\\n", (int)geteuid(), argc > 1 ? chown(argv[1], 1, 1) : -2);
  return 0;
}
`;
const probe = path.join(work, 'probe');
fs.writeFileSync(`${probe}.c`, PROBE_SRC);
const probeBuild = execaSync('cc', ['-static', '-O2', '-o', probe, `${probe}.c`], { reject: false });

t.test('the bounding set really drops: no CAP_CHOWN for root, nor after a setuid-root exec', { skip: probeBuild.exitCode !== 0 && `the static setuid probe does not build (cc -static): ${String(probeBuild.stderr).split('\n')[0]}` }, async (t) => {
  const mk = (bounding: string[], uid: number): Bundle => {
    const b = bundle('touch /tmp/f; chmod 666 /tmp/f; grep CapBnd /proc/self/status; /bin/suidprobe /tmp/f', (c) => {
      c.process.capabilities = { bounding, effective: bounding, permitted: bounding };
      c.process.user = { uid, gid: uid };
      c.process.noNewPrivileges = false;
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['mode=1777'] });
    });
    fs.copyFileSync(probe, path.join(b.rootfs, 'bin/suidprobe'));
    fs.chownSync(path.join(b.rootfs, 'bin/suidprobe'), 0, 0);
    fs.chmodSync(path.join(b.rootfs, 'bin/suidprobe'), 0o4755);
    return b;
  };
  const dropped = await run(mk(['CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_NET_BIND_SERVICE'], 0));
  t.equal(dropped.code, 0, dropped.err);
  t.match(dropped.out, /CapBnd:\s+0000000020000420\n/, 'CapBnd inside: AUDIT_WRITE, KILL, NET_BIND_SERVICE');
  t.match(dropped.out, /euid=0 chown=-1/, 'root cannot chown with CAP_CHOWN out of the bounding set');
  const viaSuid = await run(mk(['CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_NET_BIND_SERVICE'], 1000));
  t.equal(viaSuid.code, 0, viaSuid.err);
  t.match(viaSuid.out, /CapEff:\s+0000000020000420\n/, 'a setuid-root exec gains only what the bounding set holds');
  t.match(viaSuid.out, /euid=0 chown=-1/, 'and still cannot chown');
  // Control: with CAP_CHOWN in the bounding set the same setuid exec can, so the probe is real.
  const control = await run(mk(['CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'], 1000));
  t.equal(control.code, 0, control.err);
  t.match(control.out, /euid=0 chown=0/, 'control: CAP_CHOWN in the bounding set, the setuid-root probe chowns');
});
