// config.md "POSIX-platform Hooks": run on the host, fed the state on stdin.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Runtime, requirement, newId, lines, exists, waitFor, nsOf, type Bundle } from '../lib/harness.js';

const rt = new Runtime(t);
const HOOKS = 'config.md#posix-platform-hooks';

/** A hook that appends `tag` (and, with `state`, its stdin) under dir. */
const hook = (dir: string, tag: string, extra = '') => ({
  path: '/bin/sh',
  args: ['sh', '-c', `echo ${tag} >> ${dir}/order; cat > ${dir}/${tag}.json; ${extra}`],
});

/** create, asserted to succeed; the runtime's output shows on failure. */
async function created(t: Test, id: string, bundle: Bundle): Promise<void> {
  const r = await rt.create(id, bundle);
  t.equal(r.exitCode, 0, 'create succeeds', { output: r.output.trim() });
}

// "Hooks MUST be called in the listed order." / "The state of the container
// MUST be passed to hooks over stdin so that they may do work appropriate to
// the current state of the container."
requirement(t, { id: 'hooks.state-stdin', section: HOOKS, level: 'MUST', title: 'hooks receive the container state on stdin' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.hooks = { createRuntime: [hook(dir, 'createRuntime')] }));
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  let st: any;
  try {
    st = JSON.parse(fs.readFileSync(path.join(dir, 'createRuntime.json'), 'utf8'));
  } catch (e) {
    return void t.fail(`hook stdin is JSON state: ${e}`);
  }
  t.equal(st.id, id, 'id');
  t.ok(Number.isInteger(st.pid) && st.pid > 0, 'pid');
  t.equal(fs.realpathSync(st.bundle), fs.realpathSync(bundle.dir), 'bundle');
  t.type(st.ociVersion, 'string', 'ociVersion');
});

requirement(t, { id: 'hooks.order', section: HOOKS, level: 'MUST', title: 'hooks run in the listed order, each phase at its step' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => {
    c.hooks = {
      createRuntime: [hook(dir, 'createRuntime1'), hook(dir, 'createRuntime2')],
      poststart: [hook(dir, 'poststart')],
      poststop: [hook(dir, 'poststop1'), hook(dir, 'poststop2')],
    };
  });
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  t.same(lines(path.join(dir, 'order')), ['createRuntime1', 'createRuntime2'], 'createRuntime hooks ran during create, in order');
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  // "The poststart hooks MUST be invoked by the runtime" ... "before the start
  // operation returns".
  t.same(lines(path.join(dir, 'order')).slice(2), ['poststart'], 'poststart ran before start returned');
  await rt.waitStatus(id, 'stopped');
  t.equal((await rt.delete(id)).exitCode, 0, 'delete succeeds');
  // "poststop hooks MUST be called after the container is deleted but before
  // the delete operation returns."
  t.same(lines(path.join(dir, 'order')).slice(3), ['poststop1', 'poststop2'], 'poststop hooks ran before delete returned, in order');
});

// runtime.md lifecycle: "If any prestart or createRuntime hook fails, the
// runtime MUST generate an error, stop the container, and continue the
// lifecycle at step 12."
requirement(t, { id: 'hooks.createRuntime.failure', section: 'runtime.md#lifecycle', level: 'MUST', title: 'a failing createRuntime hook fails create and stops the container' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle, out } = rt.outBundle('touch /out/ran', (c) => {
    c.hooks = { createRuntime: [hook(dir, 'bad', 'exit 1')], poststop: [hook(dir, 'poststop')] };
  });
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  const st = await rt.state(id);
  t.ok(!st || st.status === 'stopped', `container absent or stopped (${st?.status})`);
  t.notOk(exists(path.join(out, 'ran')), 'the program never ran');
  // Step 12 is poststop: the runtime ends the lifecycle as delete would.
  t.ok(await waitFor(() => lines(path.join(dir, 'order')).includes('poststop'), 2000), 'poststop hooks ran');
});

// runtime.md lifecycle: "If any poststop hook fails, the runtime MUST log a
// warning, but the remaining hooks and lifecycle continue as if the hook had
// succeeded."
requirement(t, { id: 'hooks.poststop.failure', section: 'runtime.md#lifecycle', level: 'MUST', title: 'a failing poststop hook does not stop the remaining hooks or delete' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => {
    c.hooks = { poststop: [hook(dir, 'bad', 'exit 1'), hook(dir, 'good')] };
  });
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  await rt.start(id);
  await rt.waitStatus(id, 'stopped');
  t.equal((await rt.delete(id)).exitCode, 0, 'delete succeeds');
  t.same(lines(path.join(dir, 'order')), ['bad', 'good'], 'both hooks ran');
  t.equal(await rt.state(id), undefined, 'container gone');
});

// runtime.md lifecycle (1.3), step 9: "If any poststart hook fails, the
// runtime MUST generate an error, stop the container, and continue the
// lifecycle at step 12." (Texts before 1.3 said "log a warning".)
requirement(t, { id: 'hooks.poststart.failure', section: 'runtime.md#lifecycle', level: 'MUST', title: 'a failing poststart hook is an error and stops the container' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle } = rt.outBundle('sleep 30', (c) => {
    c.hooks = { poststart: [hook(dir, 'bad', 'exit 1')] };
  });
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const pid = (await rt.state(id))?.pid as number;
  const s = await rt.start(id);
  t.not(s.exitCode, 0, 'start reports the error');
  t.ok(await waitFor(() => gone(pid)), 'the container process is stopped');
  t.same(lines(path.join(dir, 'order')), ['bad'], 'the hook ran');
});

// "createContainer: ... The createContainer hooks MUST be called after the
// createRuntime hooks ... The createContainer hooks' path MUST resolve in the
// runtime namespace. The createContainer hooks MUST be executed in the
// container namespace." / "startContainer hooks MUST be called before the
// user-specified process is executed" and are "executed in the container
// namespace".
requirement(t, { id: 'hooks.container-namespace', section: HOOKS, level: 'MUST', title: 'createContainer and startContainer hooks run in the container namespaces, at their steps' }, async (t) => {
  const id = newId();
  const { bundle, out } = rt.outBundle('echo program >> /out/order');
  // createContainer runs before pivot_root (host paths), startContainer
  // after it (/out): try the host path, then the container one.
  const inside = (tag: string) => {
    const line = `echo ${tag} $(readlink /proc/self/ns/uts) $(readlink /proc/self/ns/mnt)`;
    return { path: '/bin/sh', args: ['sh', '-c', `{ ${line} >> ${out}/order; } 2>/dev/null || ${line} >> /out/order`] };
  };
  bundle.config.hooks = { createContainer: [inside('createContainer')], startContainer: [inside('startContainer')] };
  bundle.save();
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const pid = (await rt.state(id))?.pid;
  const ns = pid ? `${nsOf(pid, 'uts')} ${nsOf(pid, 'mnt')}` : 'no pid';
  t.same(lines(path.join(out, 'order')), [`createContainer ${ns}`], 'createContainer ran during create, in the container uts and mount namespaces');
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  await rt.waitStatus(id, 'stopped');
  t.same(lines(path.join(out, 'order')), [`createContainer ${ns}`, `startContainer ${ns}`, 'program'], 'startContainer ran in them before the program');
});

/** Dead: no /proc entry, or a zombie (its parent reaps it, not the runtime). */
function gone(pid: number): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}

// "The prestart hooks MUST be called as part of the create operation after
// the runtime environment has been created ... but before the pivot_root" /
// "The prestart hooks MUST be called before the createRuntime hooks." / "The
// prestart hooks MUST be executed in the runtime namespace." (runtime.md
// lifecycle step 3: "The prestart hooks MUST be invoked by the runtime.")
requirement(t, { id: 'hooks.prestart', section: HOOKS, level: 'MUST', title: 'prestart hooks run during create, before createRuntime, in the runtime namespaces' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const ns = (tag: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${tag} $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/net) >> ${dir}/order`] });
  const { bundle, out } = rt.outBundle('touch /out/ran', (c) => (c.hooks = { prestart: [ns('prestart')], createRuntime: [ns('createRuntime')] }));
  await created(t, id, bundle);
  const host = `${nsOf('self', 'mnt')} ${nsOf('self', 'net')}`;
  t.same(lines(path.join(dir, 'order')), [`prestart ${host}`, `createRuntime ${host}`], 'prestart first, both in the runtime\'s mount and network namespaces');
  t.notOk(exists(path.join(out, 'ran')), 'before the program');
});

// runtime.md lifecycle step 3: "If any prestart hook fails, the runtime MUST
// generate an error, stop the container, and continue the lifecycle at step
// 12." (step 13: poststop hooks)
requirement(t, { id: 'hooks.prestart.failure', section: 'runtime.md#lifecycle', level: 'MUST', title: 'a failing prestart hook fails create, stops the container, runs poststop' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle, out } = rt.outBundle('touch /out/ran', (c) => {
    c.hooks = { prestart: [hook(dir, 'bad', 'exit 1')], poststop: [hook(dir, 'poststop')] };
  });
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  const st = await rt.state(id);
  t.ok(!st || st.status === 'stopped', `container absent or stopped (${st?.status})`);
  t.notOk(exists(path.join(out, 'ran')), 'the program never ran');
  t.ok(await waitFor(() => lines(path.join(dir, 'order')).includes('poststop'), 2000), 'poststop hooks ran');
});

/** A hook that records its tag and stdin under `out`, on the host path before pivot_root, else at /out. */
const inContainer = (out: string, tag: string, extra = '') => ({
  path: '/bin/sh',
  args: ['sh', '-c', `{ echo ${tag} >> ${out}/order; } 2>/dev/null && cat > ${out}/${tag}.json || { echo ${tag} >> /out/order; cat > /out/${tag}.json; }; ${extra}`],
});

// runtime.md lifecycle step 5: "If any createContainer hook fails, the
// runtime MUST generate an error, stop the container, and continue the
// lifecycle at step 12."
requirement(t, { id: 'hooks.createContainer.failure', section: 'runtime.md#lifecycle', level: 'MUST', title: 'a failing createContainer hook fails create and stops the container' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle, out } = rt.outBundle('touch /out/ran');
  bundle.config.hooks = { createContainer: [inContainer(out, 'bad', 'exit 1')], poststop: [hook(dir, 'poststop')] };
  bundle.save();
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.same(lines(path.join(out, 'order')), ['bad'], 'the hook ran');
  const st = await rt.state(id);
  t.ok(!st || st.status === 'stopped', `container absent or stopped (${st?.status})`);
  t.notOk(exists(path.join(out, 'ran')), 'the program never ran');
  t.ok(await waitFor(() => lines(path.join(dir, 'order')).includes('poststop'), 2000), 'poststop hooks ran');
});

// runtime.md lifecycle step 7: "If any startContainer hook fails, the runtime
// MUST generate an error, stop the container, and continue the lifecycle at
// step 12." Step 12: "The container MUST be destroyed".
requirement(t, { id: 'hooks.startContainer.failure', section: 'runtime.md#lifecycle', level: 'MUST', title: 'a failing startContainer hook fails start; the program never runs and the container is stopped' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle, out } = rt.outBundle('touch /out/ran; sleep 30');
  bundle.config.hooks = { startContainer: [inContainer(out, 'bad', 'exit 1')], poststop: [hook(dir, 'poststop')] };
  bundle.save();
  await created(t, id, bundle);
  const pid = (await rt.state(id))?.pid as number;
  t.not((await rt.start(id)).exitCode, 0, 'start fails');
  t.same(lines(path.join(out, 'order')), ['bad'], 'the hook ran');
  t.ok(await waitFor(() => gone(pid)), 'the container process is stopped');
  t.notOk(exists(path.join(out, 'ran')), 'the program never ran');
  const st = await rt.state(id);
  t.ok(!st || st.status === 'stopped', `container absent or stopped (${st?.status})`);
});

// config.md: "The createContainer hooks' path MUST resolve in the runtime
// namespace." / "The startContainer hooks' path MUST resolve in the container
// namespace."
requirement(t, { id: 'hooks.path-resolution', section: HOOKS, level: 'MUST', title: 'createContainer paths resolve on the host, startContainer paths in the container' }, async (t) => {
  const { bundle, out } = rt.outBundle('echo program >> /out/order');
  const hostDir = rt.tmpdir('hookbin');
  const hostOnly = path.join(hostDir, 'create-hook');
  fs.writeFileSync(hostOnly, `#!/bin/sh\n{ echo createContainer >> ${out}/order; } 2>/dev/null || echo createContainer >> /out/order\n`, { mode: 0o755 });
  const inRootfs = '/bin/tsr-conf-start-hook';
  fs.writeFileSync(path.join(bundle.rootfs, inRootfs), '#!/bin/sh\necho startContainer >> /out/order\n', { mode: 0o755 });
  bundle.config.hooks = { createContainer: [{ path: hostOnly }], startContainer: [{ path: inRootfs }] };
  bundle.save();
  t.notOk(exists(inRootfs), 'the startContainer program does not exist on the host');
  const id = newId();
  await created(t, id, bundle);
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  await rt.waitStatus(id, 'stopped');
  t.same(lines(path.join(out, 'order')), ['createContainer', 'startContainer', 'program']);
});

// runtime.md state: "pid ... For hooks executed in the runtime namespace, it
// is the pid as seen by the runtime. For hooks executed in the container
// namespace, it is the pid as seen by the container."
requirement(t, { id: 'hooks.state-pid', section: 'runtime.md#state', level: 'MUST', title: 'the pid hooks get is the host pid for runtime-namespace hooks, the container\'s own for container-namespace hooks' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const id = newId();
  const { bundle, out } = rt.outBundle('true');
  bundle.config.hooks = { createRuntime: [hook(dir, 'createRuntime')], createContainer: [inContainer(out, 'createContainer')], startContainer: [inContainer(out, 'startContainer')] };
  bundle.save();
  await created(t, id, bundle);
  const pid = (await rt.state(id))?.pid;
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  await rt.waitStatus(id, 'stopped');
  const read = (f: string) => {
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')).pid;
    } catch {
      return `no state in ${path.basename(f)}`;
    }
  };
  t.equal(read(path.join(dir, 'createRuntime.json')), pid, 'createRuntime (runtime namespace): the host pid');
  // The container has its own pid namespace: its process is pid 1 there.
  t.equal(read(path.join(out, 'createContainer.json')), 1, 'createContainer (container namespace): pid 1');
  t.equal(read(path.join(out, 'startContainer.json')), 1, 'startContainer (container namespace): pid 1');
});
