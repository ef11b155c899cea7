// Rootfs policy without root: option parsing, path resolution inside the
// rootfs, and the exact mount(2) calls planned, against the recording Sys.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseMountOptions, lockedFlagsFromStatvfs } from '../src/rootfs/options.js';
import { MOUNT_OPTIONS } from '../src/features/mount-options.js';
import { resolveInRoot } from '../src/rootfs/resolve.js';
import { applyRootPropagation, mountOne, mountPointOf, pivotRoot, prepareRoot, moveRoot, type RootfsPlan } from '../src/rootfs/setup.js';
import { devicesToCreate, needsDevSetup, setupDev } from '../src/rootfs/dev.js';
import { copyTree } from '../src/rootfs/copyup.js';
import { sysctlPath } from '../src/rootfs/sysctl.js';
import { openRoot } from '../src/rootfs/safe.js';
import { lookPath } from '../src/init/lookpath.js';
import { AT_EMPTY_PATH, AT_RECURSIVE, MNT_DETACH, MOUNT_ATTR, MS } from '../src/sys/linux.js';
import { RecordingSys } from '../src/sys/recording.js';

function tmpRoot(t: { teardown(fn: () => void): void }): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-unit-')));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The mount(2) calls only (openat2 lookups left out). */
function mounts(s: RecordingSys): string[] {
  return s.lines().filter((l) => l.startsWith('mount'));
}

function plan(rootfs: string, extra: Partial<RootfsPlan> = {}): RootfsPlan {
  return { rootfs, mounts: [], noPivot: false, readonly: false, userns: false, ...extra };
}

t.test('mount options: runc\'s table', async (t) => {
  t.match(parseMountOptions(['nosuid', 'noexec', 'nodev', 'ro']), { flags: MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, propagation: [], data: '' });
  t.same(parseMountOptions(['ro', 'rw']).flags, 0, 'rw clears ro');
  t.same(parseMountOptions(['nosuid', 'suid', 'dev', 'exec']).flags, 0);
  t.same(parseMountOptions(['rbind']).flags, MS.BIND | MS.REC);
  t.same(parseMountOptions(['bind', 'remount', 'sync', 'dirsync', 'mand']).flags, MS.BIND | MS.REMOUNT | MS.SYNCHRONOUS | MS.DIRSYNC | MS.MANDLOCK);
  t.same(parseMountOptions(['noatime', 'nodiratime', 'relatime', 'strictatime']).flags, MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME);
  t.same(parseMountOptions(['atime', 'diratime']).flags, 0);
  t.same(parseMountOptions(['iversion', 'acl']).flags, MS.I_VERSION | MS.POSIXACL);
  t.same(parseMountOptions(['iversion', 'noiversion', 'acl', 'noacl']).flags, 0);
  // Every option `features` reports is one tsrunc understands: none reaches mount(2) as filesystem data.
  for (const o of MOUNT_OPTIONS) t.equal(parseMountOptions([o]).data, '', `${o} is not data`);
  t.match(parseMountOptions(['mode=755', 'size=65536k', 'nosuid']), { flags: MS.NOSUID, propagation: [], data: 'mode=755,size=65536k' }, 'unknown options are data');
  t.same(parseMountOptions(['rprivate', 'shared', 'slave', 'runbindable']).propagation, [MS.PRIVATE | MS.REC, MS.SHARED, MS.SLAVE, MS.UNBINDABLE | MS.REC]);
  t.same(parseMountOptions(undefined), { flags: 0, propagation: [], data: '', recAttrSet: 0, recAttrClr: 0, tmpcopyup: false, idmap: false });
  t.equal(lockedFlagsFromStatvfs(1 | 2 | 4 | 4096), MS.RDONLY | MS.NOSUID | MS.NODEV | MS.RELATIME, 'ST_RELATIME is not MS_RELATIME');
});

t.test('paths resolve inside the rootfs, never through a symlink out of it', async (t) => {
  const r = tmpRoot(t);
  fs.mkdirSync(path.join(r, 'a/b'), { recursive: true });
  fs.symlinkSync('/etc', path.join(r, 'abs'));
  fs.symlinkSync('../../../../etc', path.join(r, 'a/rel'));
  fs.symlinkSync('b', path.join(r, 'a/tob'));
  fs.symlinkSync('loop2', path.join(r, 'loop1'));
  fs.symlinkSync('loop1', path.join(r, 'loop2'));
  t.equal(resolveInRoot(r, '/a/b/c'), path.join(r, 'a/b/c'));
  t.equal(resolveInRoot(r, '/abs/passwd'), path.join(r, 'etc/passwd'), 'absolute symlink is rooted');
  t.equal(resolveInRoot(r, '/a/rel/shadow'), path.join(r, 'etc/shadow'), '.. stops at the root');
  t.equal(resolveInRoot(r, '/../../x'), path.join(r, 'x'));
  t.equal(resolveInRoot(r, '/a/tob/new/deeper'), path.join(r, 'a/b/new/deeper'));
  t.throws(() => resolveInRoot(r, '/loop1/x'), /too many levels/);
});

t.test('prepareRoot: rslave by default, a shared parent made slave (private unless slave is asked), rootfs bound onto itself', async (t) => {
  const s = new RecordingSys();
  const mi = '22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw\n30 22 0:25 / /srv rw shared:5 - tmpfs tmpfs rw\n';
  prepareRoot(s, plan('/srv/b/rootfs'), () => mi);
  t.same(s.lines(), [
    `mount(null, "/", null, ${MS.SLAVE | MS.REC}, null)`,
    `mount(null, "/srv", null, ${MS.SLAVE}, null)`,
    `mount("/srv/b/rootfs", "/srv/b/rootfs", "bind", ${MS.BIND | MS.REC}, null)`,
  ]);
  const s2 = new RecordingSys();
  prepareRoot(s2, plan('/srv/b/rootfs', { propagation: 'private' }), () => mi.replace(/shared:\d+/g, ''));
  t.equal(s2.calls.length, 2, 'no private remount of an unshared parent');
  const s3 = new RecordingSys();
  prepareRoot(s3, plan('/srv/b/rootfs', { propagation: 'shared' }), () => mi);
  t.equal(s3.calls[1]!.args[3], MS.PRIVATE, 'a shared parent is made private for any other propagation');
  t.equal(s2.calls[0]!.args[3], MS.PRIVATE);
  t.throws(() => prepareRoot(new RecordingSys(), plan('/x', { propagation: 'bogus' }), () => ''), /rootfsPropagation/);
  t.same(mountPointOf('/srv/b', mi), { mountPoint: '/srv', shared: true });
});

t.test('mountOne: pseudo filesystems, binds with remount, propagation', async (t) => {
  const r = tmpRoot(t);
  const src = tmpRoot(t);
  fs.writeFileSync(path.join(src, 'file'), 'x');
  const s = new RecordingSys();
  const p = plan(r);
  const log: string[] = [];
  mountOne(s, p, { destination: '/proc', type: 'proc', source: 'proc' }, (m) => log.push(m));
  mountOne(s, p, { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] }, () => {});
  mountOne(s, p, { destination: '/data', type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid', 'rprivate'] }, () => {});
  mountOne(s, p, { destination: '/etc/hosts', source: path.join(src, 'file'), options: ['bind'] }, () => {});
  mountOne(s, p, { destination: '/ro-tmp', type: 'tmpfs', source: 'tmpfs', options: ['ro'] }, () => {});
  t.same(mounts(s), [
    `mount("proc", "${r}/proc", "proc", 0, null)`,
    `mount("tmpfs", "${r}/dev", "tmpfs", ${MS.NOSUID | MS.STRICTATIME}, "mode=755,size=65536k")`,
    `mount("${src}", "${r}/data", "bind", ${MS.BIND | MS.REC}, null)`,
    `mount(null, "${r}/data", null, ${MS.BIND | MS.RDONLY | MS.NOSUID | MS.REMOUNT}, null)`,
    `mount(null, "${r}/data", null, ${MS.PRIVATE | MS.REC}, null)`,
    `mount("${src}/file", "${r}/etc/hosts", "bind", ${MS.BIND}, null)`,
    `mount("tmpfs", "${r}/ro-tmp", "tmpfs", 0, null)`,
    `mount(null, "${r}/ro-tmp", null, ${MS.BIND | MS.RDONLY | MS.REMOUNT}, null)`,
  ]);
  t.ok(fs.statSync(path.join(r, 'etc/hosts')).isFile(), 'a file bind gets a file mount point');
  t.ok(fs.statSync(path.join(r, 'data')).isDirectory());
  mountOne(s, p, { destination: 'relative/dir', type: 'tmpfs' }, () => {});
  t.equal(s.calls.filter((c) => c.name === 'mount').at(-1)!.args[1], `${r}/relative/dir`, 'a relative destination is relative to / (config.md)');
  t.throws(() => mountOne(s, p, { destination: '/x', type: 'bind', source: '/nonexistent' }, () => {}), /mount source \/nonexistent/);
});

t.test('a bind mount destination behind a symlink stays inside the rootfs', async (t) => {
  const r = tmpRoot(t);
  const src = tmpRoot(t);
  fs.symlinkSync('/tmp/tsr-should-not-exist', path.join(r, 'evil'));
  const s = new RecordingSys();
  mountOne(s, plan(r), { destination: '/evil/x', type: 'bind', source: src, options: ['bind'] }, () => {});
  t.equal(s.calls.find((c) => c.name === 'mount')!.args[1], path.join(r, 'tmp/tsr-should-not-exist/x'));
  t.notOk(fs.existsSync('/tmp/tsr-should-not-exist'), 'nothing created on the host');
});

t.test('remount retries with the locked flags on EPERM', async (t) => {
  const r = tmpRoot(t);
  const s = new RecordingSys();
  let first = true;
  s.failWith = (c) => {
    if (c.name === 'mount' && (c.args[3] as number) & MS.REMOUNT && first) {
      first = false;
      return Object.assign(new Error('EPERM'), { code: 'EPERM' });
    }
    return undefined;
  };
  s.statvfsFlags = () => 2 | 4; // nosuid, nodev locked
  mountOne(s, plan(r), { destination: '/d', type: 'bind', source: r, options: ['bind', 'ro'] }, () => {});
  t.equal(s.calls.at(-1)!.args[3], MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.REMOUNT);
});

t.test('pivot_root(".", ".") and --no-pivot sequences', async (t) => {
  const s = new RecordingSys();
  pivotRoot(s, '/r');
  t.same(s.lines().map((l) => l.replace(/fchdir\(\d+\)/, 'fchdir(fd)')), [
    'chdir("/r")',
    'pivotRoot(".", ".")',
    'fchdir(fd)',
    `mount(null, ".", null, ${MS.SLAVE | MS.REC}, null)`,
    `umount2(".", ${MNT_DETACH})`,
    'chdir("/")',
  ]);
  const s2 = new RecordingSys();
  moveRoot(s2, '/r');
  t.same(s2.lines(), ['chdir("/r")', `mount("/r", "/", null, ${MS.MOVE}, null)`, 'chroot(".")', 'chdir("/")']);
});

t.test('/dev setup only when /dev is not bound from the host', async (t) => {
  t.ok(needsDevSetup([{ destination: '/dev', type: 'tmpfs' }]));
  t.notOk(needsDevSetup([{ destination: '/dev/', type: 'bind', source: '/dev' }]));
});

t.test('lookPath: Go exec.LookPath semantics and runc wording', async (t) => {
  const r = tmpRoot(t);
  fs.mkdirSync(path.join(r, 'bin'));
  fs.writeFileSync(path.join(r, 'bin/prog'), '', { mode: 0o755 });
  fs.writeFileSync(path.join(r, 'bin/noexec'), '', { mode: 0o644 });
  const env = [`PATH=/nonexistent:${r}/bin`];
  t.equal(lookPath('prog', env), `${r}/bin/prog`);
  t.throws(() => lookPath('noexec', env), /exec: "noexec": executable file not found in \$PATH/);
  t.throws(() => lookPath('nosuch', env), /exec: "nosuch": executable file not found in \$PATH/);
  t.throws(() => lookPath('prog', []), /not found in \$PATH/, 'no PATH, no search');
  t.equal(lookPath(`${r}/bin/prog`, []), `${r}/bin/prog`);
  t.throws(() => lookPath(`${r}/bin/none`, []), /stat .*: no such file or directory/);
});

t.test('recursive attributes, tmpcopyup and idmap options', async (t) => {
  const o = parseMountOptions(['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnosymfollow', 'rnoatime', 'mode=1']);
  t.equal(o.flags, MS.BIND | MS.REC);
  t.equal(o.recAttrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW | MOUNT_ATTR.NOATIME);
  t.equal(o.recAttrClr, MOUNT_ATTR._ATIME, 'an atime mode clears the whole atime field (the kernel refuses a partial one)');
  t.equal(o.data, 'mode=1', 'recursive attributes are not data');
  const later = parseMountOptions(['rro', 'rrw', 'rnoatime', 'rstrictatime', 'rdev']);
  t.equal(later.recAttrSet, MOUNT_ATTR.STRICTATIME, 'the last option wins');
  t.equal(later.recAttrClr, MOUNT_ATTR.RDONLY | MOUNT_ATTR._ATIME | MOUNT_ATTR.NODEV);
  t.equal(parseMountOptions(['ratime']).recAttrSet, MOUNT_ATTR.RELATIME);
  t.equal(parseMountOptions(['ratime']).recAttrClr, MOUNT_ATTR._ATIME);
  t.match(parseMountOptions(['tmpcopyup', 'idmap']), { tmpcopyup: true, idmap: true, data: '' });
  t.equal(parseMountOptions(['ridmap']).idmap, true);
});

t.test('mountOne: mount_setattr(AT_RECURSIVE) after the bind, idmap refused', async (t) => {
  const r = tmpRoot(t);
  const src = tmpRoot(t);
  const s = new RecordingSys();
  mountOne(s, plan(r), { destination: '/tree', type: 'bind', source: src, options: ['rbind', 'rro'] }, () => {});
  const i = s.calls.findIndex((c) => c.name === 'mountSetattr');
  t.ok(i > s.calls.findIndex((c) => c.name === 'mount'), 'after the mount');
  t.same(s.calls[i]!.args.slice(1), ['', AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR.RDONLY, 0, 0]);
  t.throws(() => mountOne(s, plan(r), { destination: '/m', type: 'bind', source: src, options: ['bind', 'idmap'] }, () => {}), /id-mapped mounts .* not supported/);
  t.throws(() => mountOne(s, plan(r), { destination: '/m', type: 'bind', source: src, options: ['bind'], idmap: true }, () => {}), /id-mapped/);
});

t.test('a destination resolving to the root itself is refused', async (t) => {
  const r = tmpRoot(t);
  fs.symlinkSync('/', path.join(r, 'proc'));
  fs.symlinkSync('../..', path.join(r, 'up'));
  const s = new RecordingSys();
  t.throws(() => mountOne(s, plan(r), { destination: '/proc', type: 'proc', source: 'proc' }, () => {}), /resolves to the container's root/);
  t.throws(() => mountOne(s, plan(r), { destination: '/up', type: 'tmpfs' }, () => {}), /resolves to the container's root/);
  t.same(mounts(s), [], 'nothing mounted');
});

t.test('rootfsPropagation: cut off before pivot, applied to the new root after it', async (t) => {
  const mi = '22 1 0:21 / / rw - ext4 /dev/vda rw\n';
  for (const [name, before, after] of [
    ['shared', MS.SHARED, MS.SHARED],
    ['slave', MS.SLAVE, MS.SLAVE],
    ['private', MS.PRIVATE, MS.PRIVATE],
    ['unbindable', MS.PRIVATE, MS.UNBINDABLE],
    ['runbindable', MS.PRIVATE | MS.REC, MS.UNBINDABLE | MS.REC],
    ['rshared', MS.SHARED | MS.REC, MS.SHARED | MS.REC],
  ] as const) {
    const s = new RecordingSys();
    const p = plan('/srv/r', { propagation: name });
    prepareRoot(s, p, () => mi);
    applyRootPropagation(s, p);
    t.equal(s.calls[0]!.args[3], before, `${name}: "/" before pivot`);
    t.same(s.calls.at(-1)!.args, [null, '/', null, after, null], `${name}: the new root after pivot`);
  }
  const s = new RecordingSys();
  applyRootPropagation(s, plan('/srv/r'));
  t.same(s.calls, [], 'default: the rslave of prepareRoot stays');
});

t.test('devices: defaults plus linux.devices, modes and owners exact', async (t) => {
  t.same(devicesToCreate(undefined).map((d) => d.path), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
  const own = devicesToCreate([{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 }, { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
  t.equal(own.filter((d) => d.path === '/dev/null').length, 1, 'a configured device replaces the default at its path');
  t.equal(own.find((d) => d.path === '/dev/null')!.fileMode, 0o600);
  const r = tmpRoot(t);
  const s = new RecordingSys();
  // Stand-in nodes (regular files) so the chmod/chown that follow mknod have something to act on.
  s.mknod = (p: string, mode: number, major: number, minor: number) => {
    s.calls.push({ name: 'mknod', args: [fs.readlinkSync(path.dirname(p)) + '/' + path.basename(p), mode, major, minor] });
    fs.writeFileSync(p, '');
  };
  const rootFd = openRoot(r);
  t.teardown(() => fs.closeSync(rootFd));
  setupDev(s, rootFd, plan(r, { devices: [
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 1, gid: 2 },
    { path: '/dev/sub/blk', type: 'b', major: 7, minor: 0 },
    { path: '/dev/fifo', type: 'p' },
  ] }));
  const mk = s.calls.filter((c) => c.name === 'mknod').map((c) => c.args);
  t.same(mk.find((a) => a[0] === `${r}/dev/fuse`), [`${r}/dev/fuse`, 0o020000 | 0o640, 10, 229]);
  t.same(mk.find((a) => a[0] === `${r}/dev/sub/blk`), [`${r}/dev/sub/blk`, 0o060000 | 0o666, 7, 0]);
  t.same(mk.find((a) => a[0] === `${r}/dev/fifo`), [`${r}/dev/fifo`, 0o010000 | 0o666, 0, 0]);
  t.equal(mk.length, 9);
  const st = fs.statSync(path.join(r, 'dev/fuse'));
  t.same([st.mode & 0o7777, st.uid, st.gid], [0o640, 1, 2], 'mode exact (no umask), owner set');
  t.equal(fs.readlinkSync(path.join(r, 'dev/ptmx')), 'pts/ptmx');
  t.equal(fs.readlinkSync(path.join(r, 'dev/fd')), '/proc/self/fd');
  t.equal(fs.readlinkSync(path.join(r, 'dev/stderr')), '/proc/self/fd/2');
  t.throws(() => setupDev(new RecordingSys(), rootFd, plan(r, { devices: [{ path: '/dev/x', type: 'z' }] })), /not a device type/);
});

t.test('a linux.devices path where something else exists is an error; the same device is kept', async (t) => {
  const r = tmpRoot(t);
  fs.mkdirSync(path.join(r, 'opt'));
  fs.writeFileSync(path.join(r, 'opt/file'), 'image data');
  execFileSync('mkfifo', [path.join(r, 'opt/fifo')]);
  const rootFd = openRoot(r);
  t.teardown(() => fs.closeSync(rootFd));
  // The default devices come first: stand-in files, so their chmod/chown have something to act on.
  const recording = (): RecordingSys => {
    const s = new RecordingSys();
    s.mknod = (p: string, ...rest: number[]) => {
      s.calls.push({ name: 'mknod', args: [p, ...rest] });
      if (fs.existsSync(p)) throw Object.assign(new Error('mknod: EEXIST'), { code: 'EEXIST' });
      fs.writeFileSync(p, '');
    };
    return s;
  };
  for (const userns of [false, true]) {
    const s = recording();
    t.throws(
      () => setupDev(s, rootFd, plan(r, { userns, devices: [{ path: '/opt/fifo', type: 'p' }, { path: '/opt/file', type: 'c', major: 1, minor: 3 }] })),
      /^linux\.devices\[1\]\.path: \/opt\/file already exists in the rootfs as a regular file, not the requested device c 1:3$/,
    );
    t.notOk(s.calls.some((c) => c.name === 'mknod' && String(c.args[0]).endsWith('/file')), 'nothing made over the file');
    t.notOk(mounts(s).some((m) => m.includes('/opt/file')), 'nothing bound over the file');
    t.throws(() => setupDev(s, rootFd, plan(r, { userns, devices: [{ path: '/opt/fifo', type: 'u', major: 1, minor: 3 }] })), /as a fifo, not the requested device c 1:3/);
  }
  t.equal(fs.readFileSync(path.join(r, 'opt/file'), 'utf8'), 'image data', 'the file is untouched');
  const s = recording();
  setupDev(s, rootFd, plan(r, { devices: [{ path: '/opt/fifo', type: 'p' }] }));
  t.notOk(s.calls.some((c) => c.name === 'mknod' && String(c.args[0]).endsWith('/fifo')), 'no mknod over it');
  t.ok(fs.statSync(path.join(r, 'opt/fifo')).isFIFO(), 'the matching node is kept');
});

t.test('devices in a user namespace are binds of the host nodes', async (t) => {
  const r = tmpRoot(t);
  const s = new RecordingSys();
  const rootFd = openRoot(r);
  t.teardown(() => fs.closeSync(rootFd));
  setupDev(s, rootFd, plan(r, { userns: true }));
  t.same(mounts(s)[0], `mount("/dev/null", "${r}/dev/null", "bind", ${MS.BIND}, null)`);
  t.ok(fs.statSync(path.join(r, 'dev/null')).isFile(), 'an empty file as mount point');
  t.notOk(s.calls.some((c) => c.name === 'mknod'));
});

t.test('tmpcopyup copies the covered tree; sysctl keys to /proc/sys paths', async (t) => {
  const a = tmpRoot(t);
  const b = tmpRoot(t);
  fs.mkdirSync(path.join(a, 'd'), { mode: 0o700 });
  fs.writeFileSync(path.join(a, 'd/f'), 'data', { mode: 0o640 });
  fs.symlinkSync('d/f', path.join(a, 'link'));
  fs.chownSync(path.join(a, 'd/f'), 12, 34);
  copyTree(a, b);
  t.equal(fs.readFileSync(path.join(b, 'd/f'), 'utf8'), 'data');
  t.equal(fs.statSync(path.join(b, 'd')).mode & 0o7777, 0o700);
  t.same([fs.statSync(path.join(b, 'd/f')).uid, fs.statSync(path.join(b, 'd/f')).gid], [12, 34]);
  t.equal(fs.readlinkSync(path.join(b, 'link')), 'd/f');
  t.equal(sysctlPath('net.ipv4.ip_forward'), 'net/ipv4/ip_forward');
  t.equal(sysctlPath('net.ipv4.conf.eth0/100.forwarding'), 'net/ipv4/conf/eth0.100/forwarding');
  t.equal(sysctlPath('net/ipv4/conf/eth0.100/forwarding'), 'net/ipv4/conf/eth0.100/forwarding');
  t.equal(sysctlPath('kernel.shmmax'), 'kernel/shmmax');
});
