// cgroups wired into the container lifecycle, on this (v1/hybrid) host:
// what create writes is read back from the container's cgroup files and,
// where a process can observe it, enforced inside a real container; the
// runtime's own process is not charged (4 MiB / pids.max 1 still start);
// the cgroup namespace view; update, pause/resume, ps, kill --all,
// delete --force; and that nothing is left in /sys/fs/cgroup afterwards.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';

const CG = '/sys/fs/cgroup';
const hybridOrV1 = fs.existsSync(path.join(CG, 'memory', 'memory.limit_in_bytes')) || fs.existsSync(path.join(CG, 'memory/tasks'));
const notRoot = process.getuid?.() !== 0;
const skipReason = notRoot ? 'needs root' : !hybridOrV1 ? 'host is not cgroup v1/hybrid (the v2 lifecycle runs in the VM test)' : false;

const root = notRoot ? '' : makeRoot();
const bundles: Bundle[] = [];
const ids = new Set<string>();
let seq = 0;

t.teardown(async () => {
  for (const id of ids) await tsr(['delete', '--force', id]);
  for (const b of bundles) b.remove();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

function tsr(args: string[], opts: Record<string, unknown> = {}) {
  const stdio = opts.stdio ? {} : { stdin: 'ignore' as const };
  return execa(TSRUNC_BIN, ['--root', root, ...args], { reject: false, ...stdio, ...opts });
}

function newId(): string {
  const id = `tsr-test-cgl-${process.pid}-${seq++}`;
  ids.add(id);
  return id;
}

function bundle(args: string[], edit?: (c: Record<string, any>) => void): Bundle {
  const b = makeBundle(edit, args);
  bundles.push(b);
  return b;
}

/** create / run -d: the container inherits stdio, so output goes to a file, read once it is complete. */
async function detached(args: string[]): Promise<{ exitCode: number | undefined; out: () => string; file: string }> {
  const file = `/tmp/tsr-test-cgl-out-${process.pid}-${seq++}`;
  const fd = fs.openSync(file, 'w+');
  t.teardown(() => fs.rmSync(file, { force: true }));
  try {
    const r = await tsr(args, { stdio: ['ignore', fd, fd] });
    return { exitCode: r.exitCode, out: () => fs.readFileSync(file, 'utf8'), file };
  } finally {
    fs.closeSync(fd);
  }
}

function record(id: string): any {
  return JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
}

function cgPaths(id: string): Record<string, string> {
  return record(id).internal.cgroupPaths ?? {};
}

const rd = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8').trim();

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every cgroup directory named after our test ids, anywhere in the hierarchies. */
function testCgroupsLeft(): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 4) return;
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name.startsWith('tsr-test-cgl')) found.push(p);
      else walk(p, depth + 1);
    }
  };
  walk(CG, 0);
  return found;
}

async function state(id: string): Promise<any> {
  const r = await tsr(['state', id]);
  return r.exitCode === 0 ? JSON.parse(String(r.stdout)) : undefined;
}

t.test('resources set at create are in the container cgroup files, and delete removes them', { skip: skipReason }, async (t) => {
  const id = newId();
  const b = bundle(['sleep', '100'], (c) => {
    c.linux.cgroupsPath = `/${id}`;
    c.linux.resources = {
      ...c.linux.resources,
      memory: { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 50 },
      blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }] },
    };
    c.linux.resources.devices = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }];
  });
  const r = await detached(['create', '--bundle', b.dir, id]);
  t.equal(r.exitCode, 0, r.out());
  const p = cgPaths(id);
  t.equal(record(id).internal.cgroupsOwned, true, 'record says tsrunc created the cgroup');
  t.equal(rd(p.memory!, 'memory.limit_in_bytes'), String(64 * 1024 * 1024), 'memory.limit_in_bytes');
  t.equal(rd(p.memory!, 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024), 'memory.soft_limit_in_bytes (reservation)');
  t.equal(rd(p.cpu!, 'cpu.shares'), '512', 'cpu.shares');
  t.equal(rd(p.cpu!, 'cpu.cfs_quota_us'), '50000', 'cpu.cfs_quota_us');
  t.equal(rd(p.cpu!, 'cpu.cfs_period_us'), '100000', 'cpu.cfs_period_us');
  t.equal(rd(p.cpuset!, 'cpuset.cpus'), '0', 'cpuset.cpus');
  t.equal(rd(p.cpuset!, 'cpuset.mems'), '0', 'cpuset.mems');
  t.equal(rd(p.pids!, 'pids.max'), '50', 'pids.max');
  if (fs.existsSync('/sys/dev/block/254:0')) t.match(rd(p.blkio!, 'blkio.throttle.read_bps_device'), /^254:0 1048576$/m, 'blkio throttle');
  else t.pass('blkio throttle', { skip: 'no block device 254:0 on this host' });
  const devs = rd(p.devices!, 'devices.list').split('\n');
  t.ok(devs.includes('c 10:200 rwm'), `devices.list has the config's rule: ${devs.join(', ')}`);
  t.ok(devs.includes('c 1:3 rwm'), 'and runc\'s default rules (/dev/null)');
  t.notOk(devs.includes('a *:* rwm'), 'and denies the rest');
  const pid = record(id).pid;
  for (const [ctrl, dir] of Object.entries(p)) {
    t.ok(rd(dir, 'cgroup.procs').split('\n').includes(String(pid)), `init ${pid} is in ${ctrl}`);
  }
  const del = await tsr(['delete', '--force', id]);
  t.equal(del.exitCode, 0, String(del.stderr));
  for (const dir of Object.values(p)) t.notOk(fs.existsSync(dir), `removed ${dir}`);
});

t.test('the runtime is not charged: 4 MiB memory and pids.max 1 go through create -> start, and run', { skip: skipReason }, async (t) => {
  const edit = (c: Record<string, any>) => {
    c.linux.resources.memory = { limit: 4 * 1024 * 1024 };
    c.linux.resources.pids = { limit: 1 };
  };
  const id = newId();
  const b = bundle(['/bin/echo', 'hello from 4 MiB'], edit);
  const r = await detached(['create', '--bundle', b.dir, id]);
  t.equal(r.exitCode, 0, `create: ${r.out()}`);
  const p = cgPaths(id);
  t.equal(rd(p.pids!, 'pids.max'), '1');
  t.equal(rd(p.memory!, 'memory.limit_in_bytes'), String(4 * 1024 * 1024));
  const usage = Number(rd(p.memory!, 'memory.usage_in_bytes'));
  t.ok(usage < 4 * 1024 * 1024, `charged while created: ${usage} bytes`);
  const s = await tsr(['start', id]);
  t.equal(s.exitCode, 0, String(s.stderr));
  t.ok(await until(() => r.out().includes('hello from 4 MiB')), `the program ran: ${JSON.stringify(r.out())}`);
  t.ok(await until(async () => (await state(id))?.status === 'stopped'), 'and exited');
  t.equal(rd(p.memory!, 'memory.failcnt'), '0', 'memory limit never hit');
  t.match(rd(p.pids!, 'pids.events'), /^max 0$/m, 'pids.max never hit');
  t.equal((await tsr(['delete', id])).exitCode, 0);

  const id2 = newId();
  const b2 = bundle(['/bin/true'], edit);
  const run = await tsr(['run', '--bundle', b2.dir, id2]);
  t.equal(run.exitCode, 0, `run /bin/true: ${run.stderr}`);
  t.notOk(fs.existsSync(path.join(root, id2)), 'run removed its state');
});

t.test('enforced inside: OOM kill, pids.max, denied device', { skip: skipReason }, async (t) => {
  const oom = bundle(['sh', '-c', 'tail /dev/zero'], (c) => {
    c.linux.resources.memory = { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 };
  });
  const r = await tsr(['run', '--bundle', oom.dir, newId()]);
  t.equal(r.exitCode, 137, `memory hog is OOM-killed (exit ${r.exitCode}): ${r.stderr}`);

  // busybox sh gives up at the first failed fork (exit 2, "can't fork"); the same loop passes without the limit
  const loop = ['sh', '-c', 'i=0; while [ $i -lt 20 ]; do sleep 5 & i=$((i+1)); done; read cur < /sys/fs/cgroup/pids/pids.current; echo "current=$cur"'];
  const fork = bundle(loop, (c) => { c.linux.resources.pids = { limit: 5 }; });
  const f = await detached(['run', '--bundle', fork.dir, newId()]);
  t.equal(f.exitCode, 2, `fork loop stopped at pids.max 5: ${f.out()}`);
  t.match(f.out(), /can't fork: Resource temporarily unavailable/);
  t.notMatch(f.out(), /current=/);
  const free = bundle(loop, (c) => { c.linux.resources.pids = { limit: 100 }; });
  const f2 = await detached(['run', '--bundle', free.dir, newId()]);
  t.equal(f2.exitCode, 0, `with pids.max 100 it completes: ${f2.out()}`);
  t.match(f2.out(), /current=2[12]/, 'sh + 20 sleeps (+ a transient) counted inside');

  const dev = bundle(['sh', '-c', 'echo x > /dev/null && echo null-ok; head -c1 /dev/kmsg >/dev/null 2>&1 && echo kmsg-open || echo kmsg-denied; mknod /dev/tsr-mem c 1 1 2>/dev/null; head -c1 /dev/tsr-mem >/dev/null 2>&1 && echo mem-open || echo mem-denied'], (c) => {
    c.mounts.push({ destination: '/dev/kmsg', type: 'bind', source: '/dev/kmsg', options: ['bind'] });
  });
  const d = await tsr(['run', '--bundle', dev.dir, newId()]);
  t.equal(d.exitCode, 0, String(d.stderr));
  t.match(String(d.stdout), /null-ok/, 'a default-allowed device works');
  t.match(String(d.stdout), /kmsg-denied/, 'a device outside the rules cannot be opened');
  // runc's default rules allow mknod of any node ("c *:* m"), never its use
  t.match(String(d.stdout), /mem-denied/, 'nor a node the container made itself');
});

t.test('cgroup namespace: the container sees its own cgroup as /', { skip: skipReason }, async (t) => {
  const b = bundle(['sh', '-c', 'cat /proc/self/cgroup; echo limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); echo pids=$(cat /sys/fs/cgroup/pids/pids.max); ls /sys/fs/cgroup; touch /sys/fs/cgroup/pids/x 2>/dev/null && echo writable || echo readonly'], (c) => {
    c.linux.resources.memory = { limit: 48 * 1024 * 1024 };
    c.linux.resources.pids = { limit: 77 };
  });
  const r = await tsr(['run', '--bundle', b.dir, newId()]);
  t.equal(r.exitCode, 0, String(r.stderr));
  const out = String(r.stdout);
  const lines = out.split('\n').filter((l) => /^\d+:[^:]*:/.test(l));
  t.ok(lines.length > 0 && lines.every((l) => l.endsWith(':/')), `/proc/self/cgroup shows / everywhere:\n${lines.join('\n')}`);
  t.match(out, /limit=50331648/, 'the cgroup mount is the container\'s own memory cgroup');
  t.match(out, /pids=77/, 'and its own pids cgroup');
  for (const h of ['memory', 'pids', 'devices', 'freezer']) t.match(out, new RegExp(`^${h}$`, 'm'), `hierarchy ${h} mounted`);
  if (fs.existsSync(path.join(CG, 'unified'))) t.match(out, /^unified$/m, 'the unified hierarchy too (hybrid)');
  t.match(out, /readonly/, 'read-only by default');

  // Without a cgroup namespace the host's path shows, and the mount still holds only the container's cgroup.
  const b2 = bundle(['sh', '-c', 'cat /proc/self/cgroup; echo pids=$(cat /sys/fs/cgroup/pids/pids.max)'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'cgroup');
    c.linux.resources.pids = { limit: 78 };
  });
  const id = newId();
  const r2 = await tsr(['run', '--bundle', b2.dir, id]);
  t.equal(r2.exitCode, 0, String(r2.stderr));
  t.match(String(r2.stdout), new RegExp(`pids:.*/${id}$`, 'm'), 'host path of the container cgroup in /proc/self/cgroup');
  t.match(String(r2.stdout), /pids=78/, 'the mount is the container\'s cgroup (bound)');
});

t.test('update, pause/resume, ps, kill of a paused container, delete --force', { skip: skipReason }, async (t) => {
  const id = newId();
  // appends: a read never catches the file truncated (a paused writer may stop anywhere)
  const b = bundle(['sh', '-c', 'while true; do echo x >> /dev/shm/count; done']);
  const r = await detached(['run', '-d', '--bundle', b.dir, id]);
  t.equal(r.exitCode, 0, r.out());
  const rec = record(id);
  const p = cgPaths(id);
  const count = (): number => fs.statSync(`/proc/${rec.pid}/root/dev/shm/count`).size;
  t.ok(await until(() => { try { return count() > 0; } catch { return false; } }), 'counter runs');

  const u = await tsr(['update', '--memory', '100M', '--pids-limit', '33', id]);
  t.equal(u.exitCode, 0, String(u.stderr));
  t.equal(rd(p.memory!, 'memory.limit_in_bytes'), String(100 * 1024 * 1024), 'update reached memory.limit_in_bytes');
  t.equal(rd(p.pids!, 'pids.max'), '33', 'and pids.max');

  const ps = await tsr(['ps', '-f', 'json', id]);
  t.equal(ps.exitCode, 0, String(ps.stderr));
  t.ok((JSON.parse(String(ps.stdout)) as number[]).includes(rec.pid), `ps lists the init: ${ps.stdout}`);

  t.equal((await tsr(['pause', id])).exitCode, 0, 'pause');
  t.equal((await state(id))?.status, 'paused', 'state says paused');
  t.equal(rd(p.freezer!, 'freezer.state'), 'FROZEN');
  await sleep(100);
  const c1 = count();
  await sleep(300);
  t.equal(count(), c1, 'the counter stopped');
  const st = await tsr(['start', id]);
  t.not(st.exitCode, 0, `start of a paused container refused: ${st.stderr}`);
  t.equal((await tsr(['resume', id])).exitCode, 0, 'resume');
  t.equal((await state(id))?.status, 'running');
  t.ok(await until(() => count() > c1), 'the counter goes on');

  // runc 1.1: SIGKILL to a paused container thaws it so the signal lands.
  t.equal((await tsr(['pause', id])).exitCode, 0);
  const k = await tsr(['kill', id, 'KILL']);
  t.equal(k.exitCode, 0, String(k.stderr));
  t.ok(await until(async () => (await state(id))?.status === 'stopped'), 'killed paused container is stopped');
  t.equal((await tsr(['delete', id])).exitCode, 0);
  for (const dir of Object.values(p)) t.notOk(fs.existsSync(dir), `removed ${dir}`);

  // delete --force of a paused container
  const id2 = newId();
  const r2 = await detached(['run', '-d', '--bundle', b.dir, id2]);
  t.equal(r2.exitCode, 0, r2.out());
  const p2 = cgPaths(id2);
  const pid2 = record(id2).pid;
  t.equal((await tsr(['pause', id2])).exitCode, 0);
  const d = await tsr(['delete', '--force', id2]);
  t.equal(d.exitCode, 0, String(d.stderr));
  t.notOk(alive(pid2), 'its process is gone');
  for (const dir of Object.values(p2)) t.notOk(fs.existsSync(dir), `removed ${dir}`);
});

t.test('without a pid namespace: kill --all and delete --force reach every process via the cgroup', { skip: skipReason }, async (t) => {
  const b = bundle(['sh', '-c', 'sleep 100 & sleep 100 & sleep 100'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid');
  });
  const id = newId();
  const r = await detached(['run', '-d', '--bundle', b.dir, id]);
  t.equal(r.exitCode, 0, r.out());
  const p = cgPaths(id);
  const procs = () => rd(p.pids!, 'cgroup.procs').split('\n').filter(Boolean).map(Number);
  // sh runs the last sleep by exec
  t.ok(await until(() => procs().length >= 3), `3 processes in the cgroup: ${procs()}`);
  const before = procs();
  const k = await tsr(['kill', '--all', id, 'KILL']);
  t.equal(k.exitCode, 0, String(k.stderr));
  t.ok(await until(() => before.every((pid) => !alive(pid))), 'every process is gone');
  t.equal((await tsr(['delete', id])).exitCode, 0);
  t.notOk(fs.existsSync(p.pids!), 'cgroup removed');

  const id2 = newId();
  const r2 = await detached(['run', '-d', '--bundle', b.dir, id2]);
  t.equal(r2.exitCode, 0, r2.out());
  const p2 = cgPaths(id2);
  t.ok(await until(() => rd(p2.pids!, 'cgroup.procs').split('\n').filter(Boolean).length >= 3));
  const before2 = rd(p2.pids!, 'cgroup.procs').split('\n').filter(Boolean).map(Number);
  const d = await tsr(['delete', '--force', id2]);
  t.equal(d.exitCode, 0, String(d.stderr));
  t.ok(before2.every((pid) => !alive(pid)), 'delete --force killed every process');
  for (const dir of Object.values(p2)) t.notOk(fs.existsSync(dir), `removed ${dir}`);

  // The init exits, a child it left behind lives on in the cgroup: delete of the stopped container kills it (runc's destroy).
  const b3 = bundle(['sh', '-c', 'sleep 100 & sleep 0.2'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid');
  });
  const id3 = newId();
  const r3 = await detached(['run', '-d', '--bundle', b3.dir, id3]);
  t.equal(r3.exitCode, 0, r3.out());
  const p3 = cgPaths(id3);
  t.ok(await until(async () => (await state(id3))?.status === 'stopped'), 'the init exited');
  const left = rd(p3.pids!, 'cgroup.procs').split('\n').filter(Boolean).map(Number);
  t.equal(left.length, 1, `the orphaned sleep is still in the cgroup: ${left}`);
  const d3 = await tsr(['delete', id3]);
  t.equal(d3.exitCode, 0, String(d3.stderr));
  t.ok(left.every((pid) => !alive(pid)), 'delete killed it');
  for (const dir of Object.values(p3)) t.notOk(fs.existsSync(dir), `removed ${dir}`);

  // containerd's shim sends `kill --all <id> 9` right after the init exits when the container has no pid
  // namespace (ShouldKillAllOnExit): a stopped container's orphans die then, not at delete; plain kill stays an error.
  const id4 = newId();
  const r4 = await detached(['run', '-d', '--bundle', b3.dir, id4]);
  t.equal(r4.exitCode, 0, r4.out());
  const p4 = cgPaths(id4);
  t.ok(await until(async () => (await state(id4))?.status === 'stopped'), 'the init exited');
  const left4 = rd(p4.pids!, 'cgroup.procs').split('\n').filter(Boolean).map(Number);
  t.equal(left4.length, 1, `the orphaned sleep is still in the cgroup: ${left4}`);
  const plain = await tsr(['kill', id4, '9']);
  t.not(plain.exitCode, 0, 'kill without --all of a stopped container fails');
  t.match(String(plain.stderr), /container not running/);
  const ka = await tsr(['kill', '--all', id4, '9']);
  t.equal(ka.exitCode, 0, `kill --all of a stopped container succeeds: ${ka.stderr}`);
  t.ok(await until(() => left4.every((pid) => !alive(pid))), 'kill --all killed the orphan before delete');
  t.equal((await tsr(['kill', '--all', id4, '9'])).exitCode, 0, 'again, with nothing left: still 0');
  t.equal((await tsr(['delete', id4])).exitCode, 0);
  for (const dir of Object.values(p4)) t.notOk(fs.existsSync(dir), `removed ${dir}`);
});

t.test('a pre-existing cgroup joined via an absolute cgroupsPath is left in place', { skip: skipReason }, async (t) => {
  const name = `tsr-test-cgl-pre-${process.pid}`;
  const made: string[] = [];
  for (const h of fs.readdirSync(CG)) {
    const base = path.join(CG, h);
    if (fs.lstatSync(base).isSymbolicLink() || !fs.existsSync(path.join(base, 'cgroup.procs'))) continue;
    const d = path.join(base, name);
    fs.mkdirSync(d);
    made.push(d);
    if (h === 'cpuset') for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(d, f), rd(base, f));
  }
  t.teardown(() => { for (const d of made.reverse()) try { fs.rmdirSync(d); } catch { /* reported by the check below */ } });
  const id = newId();
  const b = bundle(['true'], (c) => { c.linux.cgroupsPath = `/${name}`; });
  const r = await detached(['create', '--bundle', b.dir, id]);
  t.equal(r.exitCode, 0, r.out());
  t.equal(record(id).internal.cgroupsOwned, false, 'record: not owned');
  t.equal(record(id).internal.cgroupPaths.pids, path.join(CG, 'pids', name));
  t.equal((await tsr(['delete', '--force', id])).exitCode, 0);
  for (const d of made) t.ok(fs.existsSync(d), `still there: ${d}`);
});

t.test('a failed create removes the cgroups it made; --systemd-cgroup without systemd', { skip: skipReason }, async (t) => {
  const id = newId();
  const b = bundle(['/nosuch-program'], (c) => { c.linux.cgroupsPath = `/${id}`; });
  const r = await detached(['create', '--bundle', b.dir, id]);
  t.not(r.exitCode, 0, 'create fails');
  t.match(r.out(), /nosuch-program/);
  t.notOk(fs.existsSync(path.join(CG, 'pids', id)), 'no cgroup left');
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');

  if (fs.existsSync('/run/systemd/system')) {
    t.pass('--systemd-cgroup without systemd', { skip: 'systemd is running on this host' });
  } else {
    const id2 = newId();
    const b2 = bundle(['true'], (c) => { c.linux.cgroupsPath = `system.slice:tsr-test-cgl:${id2}`; });
    const s = await detached(['--systemd-cgroup', 'create', '--bundle', b2.dir, id2]);
    t.equal(s.exitCode, 1);
    t.match(s.out(), /systemd is not running/, s.out());
    t.notOk(fs.existsSync(path.join(root, id2)), 'no state left');
  }
});

t.test('nothing left behind', { skip: skipReason }, async (t) => {
  for (const id of ids) await tsr(['delete', '--force', id]);
  t.same(testCgroupsLeft(), [], 'no tsr-test-cgl cgroup under /sys/fs/cgroup');
  t.same(fs.readdirSync(root), [], 'no state dir');
});
