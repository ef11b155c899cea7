// config.md "POSIX-platform Hooks": run on the host, fed the state on stdin.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Runtime, requirement, newId, lines, exists, waitFor, nsOf } from '../lib/harness.js';

const rt = new Runtime(t);
const HOOKS = 'config.md#posix-platform-hooks';

/** A hook that appends `tag` (and, with `state`, its stdin) under dir. */
const hook = (dir: string, tag: string, extra = '') => ({
  path: '/bin/sh',
  args: ['sh', '-c', `echo ${tag} >> ${dir}/order; cat > ${dir}/${tag}.json; ${extra}`],
});

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
