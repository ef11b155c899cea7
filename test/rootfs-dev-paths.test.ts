// /dev (default nodes, linux.devices, symlinks), masked and read-only paths,
// sysctl, hostname/domainname: what the process inside sees, and that the
// host is unchanged.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';

const root = makeRoot();
const runcRoot = makeRoot();
const bundles: Bundle[] = [];
const HAVE_RUNC = fs.existsSync('/usr/sbin/runc');
t.teardown(async () => {
  for (const id of fs.readdirSync(root)) await execa(TSRUNC_BIN, ['--root', root, 'delete', '--force', id], { reject: false });
  for (const id of fs.readdirSync(runcRoot)) await execa('runc', ['--root', runcRoot, 'delete', '--force', id], { reject: false });
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(runcRoot, { recursive: true, force: true });
  for (const b of bundles) b.remove();
});

function bundle(script: string, edit?: (c: any) => void): Bundle {
  const b = makeBundle(edit, ['sh', '-c', script]);
  bundles.push(b);
  return b;
}

let seq = 0;
async function run(b: Bundle, runtime: 'tsrunc' | 'runc' = 'tsrunc'): Promise<{ code: number | undefined; out: string; err: string }> {
  const [bin, r] = runtime === 'tsrunc' ? [TSRUNC_BIN, root] : ['runc', runcRoot];
  const res = await execa(bin, ['--root', r, 'run', '-b', b.dir, `devp-${process.pid}-${seq++}`], { reject: false, stdin: 'ignore' });
  return { code: res.exitCode, out: String(res.stdout), err: String(res.stderr) };
}

/** `ls -ln /dev` lines as "name type mode uid gid major:minor|->target". */
const LS = 'for f in /dev/* /dev/sub/*; do stat -c "%n %F %a %u %g %t:%T" "$f"; done; ls -l /dev | grep -- "->" | sed "s/.* \\([a-z]*\\) -> \\(.*\\)/\\1 -> \\2/"';

t.test('default /dev: runc\'s nodes and symlinks', async (t) => {
  const b = bundle(LS);
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  for (const [n, maj, min] of [['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0]] as const) {
    t.match(r.out, new RegExp(`^/dev/${n} character special file 666 0 0 ${maj.toString(16)}:${min.toString(16)}$`, 'm'), n);
  }
  for (const l of ['fd -> /proc/self/fd', 'stdin -> /proc/self/fd/0', 'stdout -> /proc/self/fd/1', 'stderr -> /proc/self/fd/2', 'ptmx -> pts/ptmx']) t.match(r.out, l);
  t.match(r.out, /^\/dev\/pts directory/m);
  t.match(r.out, /^\/dev\/shm directory 1777/m);
  if (HAVE_RUNC) {
    const theirs = await run(b, 'runc');
    const norm = (s: string): string[] => s.split('\n').filter((l) => l && !l.startsWith('/dev/console')).sort();
    t.same(norm(r.out), norm(theirs.out), 'same /dev listing as runc');
  }
});

t.test('linux.devices: type, major/minor, fileMode, uid, gid', async (t) => {
  const b = bundle(LS, (c) => {
    c.linux.devices = [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 1, gid: 2 },
      { path: '/dev/sub/loop9', type: 'b', major: 7, minor: 9, fileMode: 0o600 },
      { path: '/dev/unbuf', type: 'u', major: 1, minor: 3 },
      { path: '/dev/pipe', type: 'p', fileMode: 0o620, uid: 3, gid: 4 },
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
    ];
    c.linux.resources.devices.push({ allow: true, type: 'a', access: 'rwm' });
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^\/dev\/fuse character special file 640 1 2 a:e5$/m);
  t.match(r.out, /^\/dev\/sub\/loop9 block special file 600 0 0 7:9$/m);
  t.match(r.out, /^\/dev\/unbuf character special file 666 0 0 1:3$/m);
  t.match(r.out, /^\/dev\/pipe fifo 620 3 4/m);
  t.match(r.out, /^\/dev\/null character special file 600 0 0 1:3$/m, 'a configured device replaces the default');
  t.notOk(fs.existsSync(path.join(b.rootfs, 'dev/fuse')), 'made on the container\'s /dev tmpfs, not in the image');
});

t.test('/dev bound from the host: no nodes made (runc\'s needsSetupDev)', async (t) => {
  const b = bundle('test -c /dev/ptmx && echo host-ptmx', (c) => {
    c.mounts = c.mounts.filter((m: any) => !m.destination.startsWith('/dev'));
    c.mounts.push({ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind', 'nosuid'] });
    c.linux.devices = [{ path: '/dev/tsr-test-nonexistent', type: 'c', major: 1, minor: 3 }];
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, 'host-ptmx', 'the host\'s /dev as is: ptmx not replaced by a symlink');
  t.notOk(fs.existsSync('/dev/tsr-test-nonexistent'), 'nothing created in the host\'s /dev');
});

t.test('a read-only /dev tmpfs is populated first, read-only after', async (t) => {
  const b = bundle('ls /dev/null && grep " /dev " /proc/self/mountinfo && (touch /dev/x) 2>&1', (c) => {
    c.mounts[1].options.push('ro');
  });
  const r = await run(b);
  t.match(r.out, /\/dev\/null/);
  t.match(r.out, / \/dev ro,/);
  t.match(r.out, /Read-only file system/);
});

t.test('maskedPaths and readonlyPaths', async (t) => {
  const script = [
    'stat -c "%n %F %t:%T" /proc/keys /proc/timer_list',
    'stat -c "%n %F" /proc/acpi /sys/firmware; ls -A /proc/acpi /sys/firmware | wc -l',
    'grep -E " /proc/(acpi|keys|bus|sys|fs|irq)| /sys/firmware " /proc/self/mountinfo',
    '(echo 1 > /proc/sys/kernel/shmmax) 2>&1; (touch /proc/acpi/x) 2>&1; cat /proc/keys | wc -c',
  ].join('; ');
  const b = bundle(script, (c) => {
    c.linux.maskedPaths.push('/proc/tsr-nonexistent', '/nonexistent/path');
    c.linux.readonlyPaths.push('/proc/tsr-nonexistent');
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^\/proc\/keys character special file 1:3$/m, 'a file masked by /dev/null');
  t.match(r.out, /^\/proc\/timer_list character special file 1:3$/m);
  t.match(r.out, /^\/proc\/acpi directory$/m);
  t.match(r.out, /\/proc\/acpi ro,relatime - tmpfs/, 'a directory masked by a read-only tmpfs');
  t.match(r.out, /\/sys\/firmware ro,relatime - tmpfs/);
  t.match(r.out, /^0$/m, 'the masking tmpfs is empty');
  t.match(r.out, /\/proc\/sys ro,nosuid,nodev,noexec,relatime - proc/, 'readonly: ro,nosuid,nodev,noexec');
  t.match(r.out, /\/proc\/bus ro,nosuid,nodev,noexec/);
  t.match(r.out, /can't create \/proc\/sys\/kernel\/shmmax: Read-only file system/, 'EROFS');
  t.match(r.out, /touch: \/proc\/acpi\/x: Read-only file system/);
  t.match(r.out, /^0$/m, 'reading a masked file gives nothing');
});

t.test('a /dev/null that is not the null device is never used to mask (CVE-2025-31133)', async (t) => {
  const b = bundle('cat /proc/sys/kernel/core_pattern', (c) => {
    // No /dev tmpfs: the image's /dev is used, and its "null" points at a procfs file.
    c.mounts = c.mounts.filter((m: any) => m.destination !== '/dev' && m.destination !== '/dev/pts' && m.destination !== '/dev/shm' && m.destination !== '/dev/mqueue');
    c.linux.maskedPaths = ['/proc/keys'];
    c.linux.readonlyPaths = [];
  });
  fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(b.rootfs, 'dev/null'));
  const r = await run(b);
  t.equal(r.code, 1, 'refused');
  t.match(r.err, /\/dev\/null is not the null device/);
});

t.test('linux.sysctl: written inside the container\'s namespaces, host unchanged', async (t) => {
  const hostShmmax = fs.readFileSync('/proc/sys/kernel/shmmax', 'utf8');
  const hostFwd = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const b = bundle('cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax /proc/sys/kernel/domainname /proc/sys/net/ipv4/conf/lo/forwarding', (c) => {
    c.linux.sysctl = { 'kernel.shmmax': '123456789', 'net.ipv4.ip_forward': '1', 'kernel/msgmax': '4242', 'kernel.domainname': 'sysctl.example', 'net/ipv4/conf/lo/forwarding': '1' };
    delete c.hostname;
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, '123456789\n1\n4242\nsysctl.example\n1');
  t.equal(fs.readFileSync('/proc/sys/kernel/shmmax', 'utf8'), hostShmmax, 'host shmmax unchanged');
  t.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostFwd, 'host ip_forward unchanged');
  const bad = bundle('true', (c) => {
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'network');
  });
  const rb = await run(bad);
  t.equal(rb.code, 1);
  t.match(rb.err, /sysctl "net.ipv4.ip_forward" is not allowed in the host's network namespace/);
  const hostJoined = bundle('true', (c) => {
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: `/proc/${process.pid}/ns/net` } : n));
  });
  const rh = await run(hostJoined);
  t.equal(rh.code, 1, 'a joined network namespace that is the host\'s is refused too (runc\'s isHostNetNS)');
  t.match(rh.err, /sysctl "net.ipv4.ip_forward" not allowed in host network namespace/);
  t.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostFwd, 'host ip_forward unchanged');
  const nosuch = bundle('true', (c) => (c.linux.sysctl = { 'net.ipv4.tsr_nonexistent': '1' }));
  const rn = await run(nosuch);
  t.equal(rn.code, 1);
  t.match(rn.err, /sysctl "net.ipv4.tsr_nonexistent": open \/proc\/sys\/net\/ipv4\/tsr_nonexistent: ENOENT/);
});

t.test('hostname and domainname', async (t) => {
  const b = bundle('hostname; cat /proc/sys/kernel/domainname', (c) => {
    c.hostname = 'box';
    c.domainname = 'example.org';
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, 'box\nexample.org');
});

t.test('in a user namespace the devices are binds of the host\'s nodes (mknod is refused there)', async (t) => {
  if (!fs.existsSync('/dev/fuse')) return void t.plan(0, 'no /dev/fuse on the host to bind');
  const b = bundle('ls -ln /dev/null /dev/fuse; grep -E " /dev/(null|fuse) " /proc/self/mountinfo; echo x > /dev/null && echo usable', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  });
  fs.chmodSync(b.dir, 0o755);
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^crw-rw-rw-\s+1 65534\s+65534\s+1,\s+3 .* \/dev\/null$/m, 'the host\'s node (owner unmapped: 65534)');
  t.match(r.out, /\/null \/dev\/null .* - devtmpfs /, '/dev/null bound from the host\'s devtmpfs');
  t.match(r.out, /\/fuse \/dev\/fuse .* - devtmpfs /, 'linux.devices too');
  t.match(r.out, /usable/);
});
