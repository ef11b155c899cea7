// What the process inside a container sees of its namespaces, each new and
// joined by path, and the same bundle under runc for comparison.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, execaSync } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { removeRoot } from './helpers/run.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BIN = process.env.RUNTIME ? path.resolve(process.env.RUNTIME) : path.join(REPO, 'bin', 'tsrunc');
const NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'];

function tsr(root: string, args: string[], opts: Record<string, unknown> = {}) {
  const stdio = opts.stdio ? {} : { stdin: 'ignore' as const };
  return execa(BIN, ['--root', root, ...args], { reject: false, ...stdio, ...opts });
}

const root = makeRoot();
const bundles: Bundle[] = [];
t.teardown(async () => {
  await removeRoot(root);
  for (const b of bundles) b.remove();
});

function bundle(script: string, edit?: (c: any) => void): Bundle {
  const b = makeBundle(edit, ['sh', '-c', script]);
  // A mapped root (uid 100000 on the host) must be able to reach the rootfs.
  fs.chmodSync(b.dir, 0o755);
  bundles.push(b);
  return b;
}

let seq = 0;
async function runIn(b: Bundle): Promise<{ code: number | undefined; out: string; err: string }> {
  const r = await tsr(root, ['run', '-b', b.dir, `ns${seq++}`]);
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

const nsLinks = 'for n in ' + NS.join(' ') + '; do echo $n $(readlink /proc/self/ns/$n); done';
function parseNs(out: string): Record<string, string> {
  const res: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v && NS.includes(k)) res[k] = v;
  }
  return res;
}
const hostNs = Object.fromEntries(NS.map((n) => [n, fs.readlinkSync(`/proc/self/ns/${n}`)]));

t.test('new namespaces: pid 1, hostname, ns links differ from the host', async (t) => {
  const b = bundle(`echo pid=$$; hostname; ${nsLinks}`);
  const r = await runIn(b);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^pid=1$/m);
  t.match(r.out, /^runc$/m, 'hostname from the config');
  const ns = parseNs(r.out);
  for (const n of ['ipc', 'mnt', 'net', 'pid', 'uts', 'cgroup']) t.not(ns[n], hostNs[n], `${n} is new`);
  for (const n of ['user', 'time']) t.equal(ns[n], hostNs[n], `${n} (absent from the config) is the host's`);
});

t.test('env, cwd, uid, mounts as the process sees them', async (t) => {
  const b = bundle('echo cwd=$(pwd); echo FOO=$FOO; echo HOME=$HOME; id -u; id -g; id -G; cat /proc/self/mountinfo', (c) => {
    c.process.cwd = '/work/here';
    c.process.env.push('FOO=bar');
    c.process.user = { uid: 65534, gid: 65534, additionalGids: [5] };
  });
  const r = await runIn(b);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^cwd=\/work\/here$/m, 'a missing cwd is created');
  t.match(r.out, /^FOO=bar$/m);
  t.match(r.out, /^HOME=\/$/m, 'HOME from the image\'s passwd');
  t.match(r.out, /^65534\n65534\n65534 5$/m);
  const points = r.out.split('\n').filter((l) => / - /.test(l)).map((l) => l.split(' ')[4]);
  t.same(points.slice(0, 8), ['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  const rootLine = r.out.split('\n').find((l) => l.split(' ')[4] === '/')!;
  t.match(rootLine.split(' ')[5], /^ro/, 'root.readonly makes / read-only');
  const sysLine = r.out.split('\n').find((l) => l.split(' ')[4] === '/sys')!;
  t.match(sysLine.split(' ')[5], /^ro,nosuid,nodev,noexec/);
  t.notMatch(r.out, new RegExp(b.dir.replace(/[/.]/g, '\\$&') + ' / '), 'the host path is not the mount point');
});

t.test('user namespace with mappings', async (t) => {
  const b = bundle(`cat /proc/self/uid_map /proc/self/gid_map; id -u; cat /proc/self/setgroups; ${nsLinks}`, (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  const r = await runIn(b);
  t.equal(r.code, 0, r.err);
  const maps = r.out.split('\n').slice(0, 2).map((l) => l.trim().split(/\s+/));
  t.same(maps, [['0', '100000', '65536'], ['0', '100000', '65536']]);
  t.match(r.out, /^0$/m, 'root inside');
  t.match(r.out, /^allow$/m, 'setgroups stays allowed for a privileged creator');
  t.not(parseNs(r.out).user, hostNs.user);
});

// containerd and podman create then start: init, root of a namespace mapped
// away from host root, cannot open a fifo in the 0700 state dir by path.
t.test('user namespace with mappings: create, then start', async (t) => {
  const b = bundle('id -u; cat /proc/self/uid_map', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  const id = `ns${seq++}`;
  const outFile = path.join(b.dir, 'create.out');
  const fd = fs.openSync(outFile, 'w');
  let created;
  try {
    created = await tsr(root, ['create', '-b', b.dir, id], { stdio: ['ignore', fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  t.teardown(() => tsr(root, ['delete', '--force', id]));
  t.equal(created.exitCode, 0, fs.readFileSync(outFile, 'utf8'));
  t.equal((await tsr(root, ['start', id])).exitCode, 0, 'start');
  let status = '';
  for (let i = 0; i < 200 && status !== 'stopped'; i++) {
    status = JSON.parse(String((await tsr(root, ['state', id])).stdout)).status;
    if (status !== 'stopped') await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(status, 'stopped');
  t.match(fs.readFileSync(outFile, 'utf8'), /^0\n\s*0\s+100000\s+65536$/m, 'ran as the container\'s root, mapped to 100000');
});

t.test('time namespace offsets shift /proc/uptime', async (t) => {
  const b = bundle(`cat /proc/uptime; ${nsLinks}`, (c) => {
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { boottime: { secs: 1000000, nanosecs: 0 }, monotonic: { secs: 5, nanosecs: 0 } };
  });
  const host = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const r = await runIn(b);
  t.equal(r.code, 0, r.err);
  const inside = Number(r.out.split(' ')[0]);
  t.ok(inside - host > 999990 && inside - host < 1000100, `uptime shifted by the boottime offset (${inside} vs ${host})`);
  t.not(parseNs(r.out).time, hostNs.time);
});

t.test('joining a network namespace by path', async (t) => {
  const name = `tsr-test-${process.pid}`;
  execaSync('ip', ['netns', 'add', name]);
  t.teardown(() => execaSync('ip', ['netns', 'del', name], { reject: false }));
  const want = `net:[${fs.statSync(`/var/run/netns/${name}`).ino}]`;
  const b = bundle(nsLinks, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: `/var/run/netns/${name}` } : n));
  });
  const r = await runIn(b);
  t.equal(r.code, 0, r.err);
  t.equal(parseNs(r.out).net, want);
});

t.test('joining the pid and network namespaces of a running container', async (t) => {
  const a = bundle('sleep 100');
  const fd = fs.openSync('/dev/null', 'w');
  t.equal((await tsr(root, ['run', '-d', '-b', a.dir, 'host-ns'], { stdio: ['ignore', fd, fd] })).exitCode, 0);
  fs.closeSync(fd);
  const st = JSON.parse(String((await tsr(root, ['state', 'host-ns'])).stdout));
  const b = bundle(`${nsLinks}; echo pid=$$; ps -o pid,args`, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) =>
      n.type === 'network' || n.type === 'pid' ? { type: n.type, path: `/proc/${st.pid}/ns/${n.type === 'network' ? 'net' : 'pid'}` } : n,
    );
  });
  const r = await runIn(b);
  t.equal(r.code, 0, r.err);
  const ns = parseNs(r.out);
  t.equal(ns.net, fs.readlinkSync(`/proc/${st.pid}/ns/net`));
  t.equal(ns.pid, fs.readlinkSync(`/proc/${st.pid}/ns/pid`));
  t.notMatch(r.out, /^pid=1$/m, 'not the first process of the joined pid namespace');
  t.match(r.out, /^\s*1 sleep 100$/m, 'sees the other container\'s init');
  await tsr(root, ['delete', '--force', 'host-ns']);
});

t.test('a namespace path of the wrong type is a clear error', async (t) => {
  const b = bundle('true', (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: '/proc/self/ns/uts' } : n));
  });
  const r = await runIn(b);
  t.equal(r.code, 1);
  t.match(r.err, /network namespace path \/proc\/self\/ns\/uts is a uts namespace, not a network namespace/);
  t.same(fs.readdirSync(root).filter((e) => e.startsWith('ns')), []);
});

t.test('--no-pivot', async (t) => {
  const b = bundle('cat /proc/self/mountinfo; ls /');
  const r = await tsr(root, ['run', '--no-pivot', '-b', b.dir, 'nopivot']);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(String(r.stdout), /^bin$/m);
});

t.test('differential: same bundle under runc', { skip: !fs.existsSync('/usr/sbin/runc') && 'no runc' }, async (t) => {
  const script = `hostname; echo pid=$$; grep -c . /proc/self/mountinfo; awk '{print $5}' /proc/self/mountinfo | sort`;
  const b = bundle(script, (c) => {
    // Without the devices/masked-paths work, compare only what both do the same.
    c.linux.maskedPaths = [];
    c.linux.readonlyPaths = [];
    c.mounts = c.mounts.filter((m: any) => m.type !== 'cgroup');
  });
  const ours = await runIn(b);
  const runcRoot = makeRoot();
  t.teardown(() => fs.rmSync(runcRoot, { recursive: true, force: true }));
  const theirs = await execa('runc', ['--root', runcRoot, 'run', '-b', b.dir, `runc-${process.pid}`], { reject: false, stdin: 'ignore' });
  t.equal(ours.code, theirs.exitCode, String(theirs.stderr));
  const strip = (s: string) => s.split('\n').filter((l) => !/^\d+$/.test(l)).join('\n');
  t.equal(strip(ours.out), strip(String(theirs.stdout)), 'hostname, pid and the mount points agree');
});
