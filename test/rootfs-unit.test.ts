// Rootfs policy without root: option parsing, path resolution inside the
// rootfs, and the exact mount(2) calls planned, against the recording Sys.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMountOptions, lockedFlagsFromStatvfs } from '../src/rootfs/options.js';
import { resolveInRoot } from '../src/rootfs/resolve.js';
import { mountOne, mountPointOf, pivotRoot, prepareRoot, moveRoot, type RootfsPlan } from '../src/rootfs/setup.js';
import { needsDevSetup } from '../src/rootfs/dev.js';
import { lookPath } from '../src/init/lookpath.js';
import { MS, MNT_DETACH } from '../src/sys/linux.js';
import { RecordingSys } from '../src/sys/recording.js';

function tmpRoot(t: { teardown(fn: () => void): void }): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-unit-')));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function plan(rootfs: string, extra: Partial<RootfsPlan> = {}): RootfsPlan {
  return { rootfs, mounts: [], noPivot: false, readonly: false, userns: false, ...extra };
}

t.test('mount options: runc\'s table', async (t) => {
  t.same(parseMountOptions(['nosuid', 'noexec', 'nodev', 'ro']), { flags: MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, propagation: [], data: '' });
  t.same(parseMountOptions(['ro', 'rw']).flags, 0, 'rw clears ro');
  t.same(parseMountOptions(['nosuid', 'suid', 'dev', 'exec']).flags, 0);
  t.same(parseMountOptions(['rbind']).flags, MS.BIND | MS.REC);
  t.same(parseMountOptions(['bind', 'remount', 'sync', 'dirsync', 'mand']).flags, MS.BIND | MS.REMOUNT | MS.SYNCHRONOUS | MS.DIRSYNC | MS.MANDLOCK);
  t.same(parseMountOptions(['noatime', 'nodiratime', 'relatime', 'strictatime']).flags, MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME);
  t.same(parseMountOptions(['atime', 'diratime']).flags, 0);
  t.same(parseMountOptions(['mode=755', 'size=65536k', 'nosuid']), { flags: MS.NOSUID, propagation: [], data: 'mode=755,size=65536k' }, 'unknown options are data');
  t.same(parseMountOptions(['rprivate', 'shared', 'slave', 'runbindable']).propagation, [MS.PRIVATE | MS.REC, MS.SHARED, MS.SLAVE, MS.UNBINDABLE | MS.REC]);
  t.same(parseMountOptions(undefined), { flags: 0, propagation: [], data: '' });
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

t.test('prepareRoot: rslave by default, private parent when shared, rootfs bound onto itself', async (t) => {
  const s = new RecordingSys();
  const mi = '22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw\n30 22 0:25 / /srv rw shared:5 - tmpfs tmpfs rw\n';
  prepareRoot(s, plan('/srv/b/rootfs'), () => mi);
  t.same(s.lines(), [
    `mount(null, "/", null, ${MS.SLAVE | MS.REC}, null)`,
    `mount(null, "/srv", null, ${MS.PRIVATE}, null)`,
    `mount("/srv/b/rootfs", "/srv/b/rootfs", "bind", ${MS.BIND | MS.REC}, null)`,
  ]);
  const s2 = new RecordingSys();
  prepareRoot(s2, plan('/srv/b/rootfs', { propagation: 'private' }), () => mi.replace(/shared:\d+/g, ''));
  t.equal(s2.calls.length, 2, 'no private remount of an unshared parent');
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
  t.same(s.lines(), [
    `mount("proc", "${r}/proc", "proc", 0, null)`,
    `mount("tmpfs", "${r}/dev", "tmpfs", ${MS.NOSUID | MS.STRICTATIME}, "mode=755,size=65536k")`,
    `mount("${src}", "${r}/data", "bind", ${MS.BIND | MS.REC}, null)`,
    `mount(null, "${r}/data", null, ${MS.BIND | MS.RDONLY | MS.NOSUID | MS.REMOUNT}, null)`,
    `mount(null, "${r}/data", null, ${MS.PRIVATE | MS.REC}, null)`,
    `mount("${src}/file", "${r}/etc/hosts", "bind", ${MS.BIND}, null)`,
    `mount("tmpfs", "${r}/ro-tmp", "tmpfs", 0, null)`,
    `mount(null, "${r}/ro-tmp", null, ${MS.RDONLY | MS.REMOUNT}, null)`,
  ]);
  t.ok(fs.statSync(path.join(r, 'etc/hosts')).isFile(), 'a file bind gets a file mount point');
  t.ok(fs.statSync(path.join(r, 'data')).isDirectory());
  t.throws(() => mountOne(s, p, { destination: 'relative', type: 'tmpfs' }, () => {}), /not absolute/);
  t.throws(() => mountOne(s, p, { destination: '/x', type: 'bind', source: '/nonexistent' }, () => {}), /mount source \/nonexistent/);
});

t.test('a bind mount destination behind a symlink stays inside the rootfs', async (t) => {
  const r = tmpRoot(t);
  const src = tmpRoot(t);
  fs.symlinkSync('/tmp/tsr-should-not-exist', path.join(r, 'evil'));
  const s = new RecordingSys();
  mountOne(s, plan(r), { destination: '/evil/x', type: 'bind', source: src, options: ['bind'] }, () => {});
  t.equal(s.calls[0]!.args[1], path.join(r, 'tmp/tsr-should-not-exist/x'));
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
