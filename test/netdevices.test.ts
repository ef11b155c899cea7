// linux.netDevices (runtime-spec 1.3): a host interface moved into the
// container's network namespace, seen from inside (ip, sysfs) and from the
// host. veth pairs, not dummies: this kernel has no dummy driver, and the
// peer that stays on the host shows when the moved end is destroyed.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, execaSync } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { removeRoot } from './helpers/run.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BIN = process.env.RUNTIME ? path.resolve(process.env.RUNTIME) : path.join(REPO, 'bin', 'tsrunc');

async function tsr(root: string, args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  if (args[0] !== 'create') {
    const r = await execa(BIN, ['--root', root, ...args], { reject: false, stdin: 'ignore' });
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
  // A created container keeps create's stdio: a pipe would hold execa until it exits, a file does not.
  const file = `/tmp/tsr-nd-stderr-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = fs.openSync(file, 'w+');
  try {
    const opts: Record<string, unknown> = { reject: false, stdio: ['ignore', fd, fd] };
    const r = await execa(BIN, ['--root', root, ...args], opts);
    return { exitCode: r.exitCode, stdout: '', stderr: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

const root = makeRoot();
const bundles: Bundle[] = [];
t.teardown(async () => {
  await removeRoot(root);
  for (const b of bundles) b.remove();
});

function bundle(args: string[], edit: (c: any) => void): Bundle {
  const b = makeBundle(edit, args);
  bundles.push(b);
  return b;
}

const ip = (...args: string[]) => execaSync('ip', args, { reject: false });
const onHost = (dev: string) => fs.existsSync(`/sys/class/net/${dev}`);

let n = 0;
/** A veth pair made for one test (`a` to move, `b` stays on the host); both gone at teardown. */
function veth(t: { teardown(fn: () => void): void }): { a: string; b: string; net: number } {
  const tag = `${process.pid % 100000}${n++}`;
  const a = `tsrnd${tag}a`;
  const b = `tsrnd${tag}b`;
  const r = ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  if (r.exitCode !== 0) throw new Error(`ip link add ${a} type veth: ${r.stderr}`);
  // Deleting either end removes both, wherever `a` went; if the namespace destroyed it, both are gone already.
  t.teardown(() => {
    ip('link', 'del', b);
    ip('link', 'del', a);
  });
  return { a, b, net: (process.pid + n) % 250 + 1 };
}

/** Until `dev` is gone from the host: namespace teardown (cleanup_net) runs after the last process exits. */
async function gone(dev: string, ms = 10000): Promise<boolean> {
  const end = Date.now() + ms;
  while (onHost(dev)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

const addrs = (dev: string) => String(ip('-o', 'addr', 'show', 'dev', dev).stdout);
const flagsUp = (text: string) => (parseInt(text.trim(), 16) & 1) === 1;

t.test('moved in and renamed: up, its MTU, MAC and permanent global addresses inside; gone from the host; destroyed with the namespace', async (t) => {
  const v = veth(t);
  const v4 = `10.214.${v.net}.1/24`;
  const v6 = `2001:db8:${v.net.toString(16)}::1/64`;
  const linkScope = `169.254.${v.net}.1/16`;
  for (const args of [
    ['addr', 'add', v4, 'dev', v.a],
    ['addr', 'add', v6, 'dev', v.a, 'nodad'],
    ['addr', 'add', linkScope, 'dev', v.a, 'scope', 'link'],
    ['link', 'set', v.a, 'mtu', '1400', 'address', '02:54:53:52:00:01'],
  ]) t.equal(ip(...args).exitCode, 0, `ip ${args.join(' ')}`);
  const b = bundle(['sleep', '60'], (c) => (c.linux.netDevices = { [v.a]: { name: 'ceth0' } }));
  const id = `nd-move-${process.pid}`;
  const cr = await tsr(root, ['create', '-b', b.dir, id]);
  t.equal(cr.exitCode, 0, String(cr.stderr));
  t.notOk(onHost(v.a), 'gone from the host while the container lives');
  t.ok(onHost(v.b), 'its peer stays on the host');

  // Inside, before start (the device is there for the createRuntime hooks already).
  const script = 'ip -o link show ceth0; ip -o addr show dev ceth0; for f in mtu address flags; do echo $f=$(cat /sys/class/net/ceth0/$f); done; ls /sys/class/net';
  const ex = await tsr(root, ['exec', id, 'sh', '-c', script]);
  t.equal(ex.exitCode, 0, String(ex.stderr));
  const out = String(ex.stdout);
  t.match(out, /^\d+: ceth0[@:]/m, 'named ceth0 inside');
  t.match(out, /^mtu=1400$/m, 'the MTU came along');
  t.match(out, /^address=02:54:53:52:00:01$/m, 'the MAC came along');
  const flags = /^flags=(0x[0-9a-f]+)$/m.exec(out)?.[1] ?? '0';
  t.ok(flagsUp(flags), `set up inside (flags ${flags})`);
  t.match(out, new RegExp(`inet ${v4.replace(/\./g, '\\.')} `), `the permanent global IPv4 address ${v4}`);
  t.match(out, new RegExp(`inet6 ${v6} `), `the permanent global IPv6 address ${v6}`);
  t.notMatch(out, /inet 169\.254\./, 'the link-scope address is not carried');
  t.notMatch(out, new RegExp(`\\b${v.a}\\b`), 'no device keeps the host name');

  t.equal((await tsr(root, ['delete', '--force', id])).exitCode, 0, 'delete --force');
  // The spec: no move back at delete; a virtual device dies with its namespace (a veth takes its peer along).
  t.ok(await gone(v.b), 'the namespace died with the container and destroyed the veth (its host peer went too)');
  t.notOk(onHost(v.a), 'not moved back to the host');
});

t.test('moved in under its host name when `name` is absent (run, foreground)', async (t) => {
  const v = veth(t);
  t.equal(ip('addr', 'add', `10.215.${v.net}.1/24`, 'dev', v.a).exitCode, 0);
  const b = bundle(['sh', '-c', `ip -o addr show dev ${v.a}; cat /sys/class/net/${v.a}/flags`], (c) => (c.linux.netDevices = { [v.a]: {} }));
  const r = await tsr(root, ['run', '-b', b.dir, `nd-keep-${process.pid}`]);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(String(r.stdout), new RegExp(`inet 10\\.215\\.${v.net}\\.1/24 `), 'same name, its address');
  t.ok(flagsUp(String(r.stdout).trim().split('\n').pop() ?? ''), 'up');
  t.ok(await gone(v.b), 'destroyed with the namespace once run deleted the container');
});

t.test('with a new user namespace: the namespace it owns gets the device', async (t) => {
  const v = veth(t);
  t.equal(ip('addr', 'add', `10.218.${v.net}.1/24`, 'dev', v.a).exitCode, 0);
  const b = bundle(['sh', '-c', 'cat /proc/self/uid_map; ip -o addr show dev u0; cat /sys/class/net/u0/flags'], (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.netDevices = { [v.a]: { name: 'u0' } };
  });
  // A mapped root (uid 100000 on the host) must be able to reach the rootfs.
  fs.chmodSync(b.dir, 0o755);
  const r = await tsr(root, ['run', '-b', b.dir, `nd-userns-${process.pid}`]);
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^\s*0\s+100000\s+65536$/m, 'in the user namespace');
  t.match(r.stdout, new RegExp(`inet 10\\.218\\.${v.net}\\.1/24 `), 'the device and its address inside');
  t.ok(flagsUp(r.stdout.trim().split('\n').pop() ?? ''), 'up');
  t.ok(await gone(v.b), 'destroyed with the namespace');
});

t.test('features: netDevices.enabled', async (t) => {
  const r = await execa(BIN, ['features'], { reject: false, stdin: 'ignore' });
  t.equal(JSON.parse(String(r.stdout)).linux.netDevices.enabled, true);
});

t.test('a missing host interface: clear error naming the entry, nothing left', async (t) => {
  const missing = `tsrnone${process.pid % 100000}`;
  const b = bundle(['true'], (c) => (c.linux.netDevices = { [missing]: { name: 'eth0' } }));
  const id = `nd-missing-${process.pid}`;
  const r = await tsr(root, ['create', '-b', b.dir, id]);
  t.not(r.exitCode, 0, 'create fails');
  t.match(String(r.stderr), `linux.netDevices.${missing}: no network interface "${missing}"`);
  t.equal(String(r.stderr).trim().split('\n').length, 1, 'one line');
  t.same(fs.readdirSync(root).filter((f) => !f.startsWith('.')), [], 'no container record left');
  t.not((await tsr(root, ['state', id])).exitCode, 0, 'no state');
});

t.test('a device another container holds: clear error, the first keeps it', async (t) => {
  const v = veth(t);
  const b1 = bundle(['sleep', '60'], (c) => (c.linux.netDevices = { [v.a]: { name: 'held0' } }));
  const b2 = bundle(['true'], (c) => (c.linux.netDevices = { [v.a]: {} }));
  const first = `nd-first-${process.pid}`;
  const second = `nd-second-${process.pid}`;
  t.equal((await tsr(root, ['create', '-b', b1.dir, first])).exitCode, 0, 'first create');
  const r = await tsr(root, ['create', '-b', b2.dir, second]);
  t.not(r.exitCode, 0, 'second create fails');
  t.match(String(r.stderr), `linux.netDevices.${v.a}: no network interface`);
  t.not((await tsr(root, ['state', second])).exitCode, 0, 'no second container');
  const ex = await tsr(root, ['exec', first, 'ip', '-o', 'link', 'show', 'held0']);
  t.equal(ex.exitCode, 0, `the first still has it: ${ex.stderr}`);
  await tsr(root, ['delete', '--force', first]);
});

t.test('a name taken inside (lo) is refused before the move: the device stays on the host as it was', async (t) => {
  const v = veth(t);
  t.equal(ip('addr', 'add', `10.216.${v.net}.1/24`, 'dev', v.a).exitCode, 0);
  t.equal(ip('link', 'set', v.a, 'up').exitCode, 0);
  const b = bundle(['true'], (c) => (c.linux.netDevices = { [v.a]: { name: 'lo' } }));
  const id = `nd-lo-${process.pid}`;
  const r = await tsr(root, ['create', '-b', b.dir, id]);
  t.not(r.exitCode, 0, 'create fails');
  t.match(String(r.stderr), `linux.netDevices.${v.a}: a network device named "lo" already exists in the container's network namespace`);
  t.not((await tsr(root, ['state', id])).exitCode, 0, 'no container');
  t.ok(onHost(v.a), 'still on the host');
  t.match(addrs(v.a), `inet 10.216.${v.net}.1/24`, 'with its address');
  t.ok(flagsUp(fs.readFileSync(`/sys/class/net/${v.a}/flags`, 'utf8')), 'and still up');
});

t.test('a create failing after the move (createRuntime hook) puts the device back: name, addresses, up state', async (t) => {
  const v = veth(t);
  const v4 = `10.217.${v.net}.1/24`;
  t.equal(ip('addr', 'add', v4, 'dev', v.a).exitCode, 0);
  t.equal(ip('link', 'set', v.a, 'up').exitCode, 0);
  const b = bundle(['true'], (c) => {
    c.linux.netDevices = { [v.a]: { name: 'moved0' } };
    c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }] };
  });
  const id = `nd-undo-${process.pid}`;
  const r = await tsr(root, ['create', '-b', b.dir, id]);
  t.not(r.exitCode, 0, 'create fails on the hook');
  t.not((await tsr(root, ['state', id])).exitCode, 0, 'no container');
  t.ok(onHost(v.a), 'back on the host under its own name');
  t.match(addrs(v.a), `inet ${v4} `, 'its address restored');
  t.ok(flagsUp(fs.readFileSync(`/sys/class/net/${v.a}/flags`, 'utf8')), 'up again, as it was');
  t.ok(onHost(v.b), 'the veth was not destroyed');
});

t.test('netDevices need a network namespace other than the runtime\'s', async (t) => {
  const v = veth(t);
  const shared = bundle(['true'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'network');
    c.linux.netDevices = { [v.a]: {} };
  });
  const r1 = await tsr(root, ['create', '-b', shared.dir, `nd-hostns-${process.pid}`]);
  t.not(r1.exitCode, 0, 'no network namespace: refused');
  t.match(String(r1.stderr), /netDevices.*without a private network namespace/);
  const joined = bundle(['true'], (c) => {
    c.linux.namespaces = c.linux.namespaces.map((ns: any) => (ns.type === 'network' ? { type: 'network', path: `/proc/${process.pid}/ns/net` } : ns));
    c.linux.netDevices = { [v.a]: {} };
  });
  const r2 = await tsr(root, ['create', '-b', joined.dir, `nd-joinhost-${process.pid}`]);
  t.not(r2.exitCode, 0, "joining the runtime's own network namespace: refused");
  t.match(String(r2.stderr), "is the runtime's own");
  t.ok(onHost(v.a), 'the device never moved');
  t.same(fs.readdirSync(root).filter((f) => !f.startsWith('.')), [], 'no container record left');
});

t.test('a joined (pre-created) network namespace keeps the device after delete: its owner manages it', async (t) => {
  const v = veth(t);
  const nsName = `tsrnd${process.pid}`;
  const add = ip('netns', 'add', nsName);
  if (add.exitCode !== 0) return t.plan(0, `\`ip netns add\` unavailable: ${add.stderr}`);
  t.teardown(() => {
    ip('netns', 'del', nsName);
  });
  const b = bundle(['sh', '-c', 'ip -o link show ctr0'], (c) => {
    c.linux.namespaces = c.linux.namespaces.map((ns: any) => (ns.type === 'network' ? { type: 'network', path: `/run/netns/${nsName}` } : ns));
    c.linux.netDevices = { [v.a]: { name: 'ctr0' } };
  });
  const r = await tsr(root, ['run', '-b', b.dir, `nd-joined-${process.pid}`]);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(String(r.stdout), /^\d+: ctr0[@:]/m, 'inside under its new name');
  const after = ip('-n', nsName, '-o', 'link', 'show', 'ctr0');
  t.equal(after.exitCode, 0, 'still in the namespace after the container was deleted');
  t.ok(onHost(v.b), 'not destroyed');
});
