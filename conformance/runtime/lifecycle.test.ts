// runtime.md "Lifecycle" and "Errors": what create, start and delete must do
// to the container as a whole.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Runtime, requirement, newId, pidAlive, exists, waitFor, nsOf, cgroupDir, sleep } from '../lib/harness.js';

const rt = new Runtime(t);
const SECTION = 'runtime.md#lifecycle';

// Step 2: "While the resources requested in the config.json MUST be created,
// the user-specified program (from process) MUST NOT be run at this time."
requirement(t, { id: 'lifecycle.create.no-run', section: SECTION, level: 'MUST NOT', title: 'create does not run the user program' }, async (t) => {
  const { bundle, out } = rt.outBundle('touch /out/ran');
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  // Give a runtime that wrongly starts the program time to show it.
  await sleep(300);
  t.notOk(exists(path.join(out, 'ran')), 'the program has not run');
  const st = await rt.state(id);
  t.ok(pidAlive(st?.pid), 'the container process is waiting');
  const cmd = fs.readFileSync(`/proc/${st?.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  t.not(cmd.join(' '), bundle.config.process.args.join(' '), 'the container process is not the user program yet');
});

// Step 2: "The container's runtime environment MUST be created according to
// the configuration in config.json." -- observable before start: the
// container process already lives in the namespaces and hostname configured.
requirement(t, { id: 'lifecycle.create.environment', section: SECTION, level: 'MUST', title: 'create builds the environment (namespaces, hostname) before start' }, async (t) => {
  const { bundle } = rt.outBundle('true', (c) => {
    c.hostname = 'conf-created';
  });
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const pid = (await rt.state(id))?.pid;
  if (!pid) return void t.fail('no pid');
  for (const ns of ['mnt', 'uts', 'ipc', 'net', 'cgroup']) t.not(nsOf(pid, ns), nsOf('self', ns), `${ns} namespace is new`);
  // The pid namespace: the container process is pid 1 of a new one, or its
  // children will be (pid_for_children) -- both count as created.
  const newPid = nsOf(pid, 'pid') !== nsOf('self', 'pid') || nsOf(pid, 'pid_for_children') !== nsOf('self', 'pid');
  t.ok(newPid, 'pid namespace is new');
  const hn = await import('node:child_process').then((cp) =>
    cp.execFileSync('nsenter', ['-t', String(pid), '-u', 'cat', '/proc/sys/kernel/hostname'], { encoding: 'utf8' }).trim());
  t.equal(hn, 'conf-created', 'hostname is already set');
});

// Step 2: "Any updates to config.json after this step MUST NOT affect the
// container."
requirement(t, { id: 'lifecycle.config-updates-ignored', section: SECTION, level: 'MUST NOT', title: 'changing config.json after create does not affect the container' }, async (t) => {
  const { bundle, out } = rt.outBundle('touch /out/ran');
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  bundle.config.process.args = ['sh', '-c', 'touch /out/changed'];
  bundle.config.process.env.push('CHANGED=1');
  bundle.save();
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  await rt.waitStatus(id, 'stopped');
  t.ok(exists(path.join(out, 'ran')), 'the original program ran');
  t.notOk(exists(path.join(out, 'changed')), 'the edited program did not');
});

// Step 2: "If the runtime is unable to create the environment specified in
// the config.json, it MUST generate an error."
requirement(t, { id: 'lifecycle.create.error', section: SECTION, level: 'MUST', title: 'create fails when root.path does not exist' }, async (t) => {
  const { bundle } = rt.outBundle('true', (c) => {
    c.root.path = 'no-such-rootfs';
  });
  const id = newId();
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// Step 4 (start): "The runtime MUST run the user-specified program, as
// specified by process."
requirement(t, { id: 'lifecycle.start.runs', section: SECTION, level: 'MUST', title: 'start runs the user program with its args' }, async (t) => {
  const { bundle, out } = rt.outBundle('echo "$0 $1" > /out/args', (c) => {
    c.process.args = ['sh', '-c', 'echo "$0 $1" > /out/args', 'zero', 'one two'];
  });
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  t.ok(await waitFor(() => exists(path.join(out, 'args'))), 'program ran');
  await sleep(50);
  t.equal(fs.readFileSync(path.join(out, 'args'), 'utf8'), 'zero one two\n', 'with the configured arguments');
});

// Step 6 (delete): "The container MUST be destroyed by undoing the steps
// performed during create phase (step 2)."
requirement(t, { id: 'lifecycle.delete.undo', section: SECTION, level: 'MUST', title: 'delete removes the container, its process and its cgroup' }, async (t) => {
  const { bundle } = rt.outBundle('exec sleep 1000', (c) => {
    c.linux.cgroupsPath = `/tsr-conf-${newId('cg')}`;
  });
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const pid = (await rt.state(id))?.pid;
  const cg = pid ? cgroupDir(pid) : undefined;
  // Its own cgroup, not the hierarchy root (which delete could never remove).
  t.ok(cg && exists(cg) && path.basename(cg).startsWith('tsr-conf-'), `the container has its own cgroup (${cg})`);
  await rt.start(id);
  await rt.kill(id, 'KILL');
  t.equal((await rt.waitStatus(id, 'stopped'))?.status, 'stopped', 'stopped after SIGKILL');
  t.equal((await rt.delete(id)).exitCode, 0, 'delete succeeds');
  t.equal(await rt.state(id), undefined, 'state fails afterwards');
  t.notOk(pidAlive(pid), 'the process is gone');
  t.notOk(cg && exists(cg), 'the cgroup is removed');
  const list = await rt.exec(['list', '-q']);
  if (list.exitCode === 0) t.notMatch(String(list.stdout), id, 'list no longer shows it');
});

// Errors: "Unless otherwise stated, generating an error MUST leave the state
// of the environment as if the operation were never attempted"
requirement(t, { id: 'errors.no-side-effects', section: 'runtime.md#errors', level: 'MUST', title: 'a failed create leaves no container, cgroup or state behind' }, async (t) => {
  const cgName = `tsr-conf-${newId('cg')}`;
  const { bundle } = rt.outBundle('true', (c) => {
    c.linux.cgroupsPath = `/${cgName}`;
    // Fails late in create, after namespaces and cgroups exist.
    c.mounts.push({ destination: '/data', type: 'bind', source: '/nonexistent/tsr-conformance', options: ['rbind'] });
  });
  const id = newId();
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'state fails');
  for (const ctrl of ['pids', 'memory', 'cpu', 'devices', 'freezer', '']) {
    const d = path.join('/sys/fs/cgroup', ctrl, cgName);
    t.notOk(exists(d), `no cgroup left at ${d}`);
  }
  // The id is still free: the failed attempt left nothing under it.
  bundle.config.mounts.pop();
  bundle.save();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'the same id can be created afterwards');
});
