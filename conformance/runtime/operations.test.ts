// runtime.md "Operations": create, start, kill and delete, including the
// errors each must generate and the "no effect" the spec demands on error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Runtime, requirement, newId, pidAlive, exists, waitFor, lines, sleep } from '../lib/harness.js';

const rt = new Runtime(t);

/** A created container whose program appends a line to /out/count per run. */
async function created(script = 'echo run >> /out/count; exec sleep 1000') {
  const { bundle, out } = rt.outBundle(script);
  const id = newId();
  const r = await rt.create(id, bundle);
  if (r.exitCode !== 0) throw new Error(`create failed: ${r.output}`);
  return { id, bundle, out, count: () => lines(path.join(out, 'count')).length };
}

// ---- Create ----
const CREATE = 'runtime.md#create';

// "This operation MUST generate an error if it is not provided a path to the
// bundle and the container ID to associate with the container."
requirement(t, { id: 'create.no-id', section: CREATE, level: 'MUST', title: 'create without a container id fails' }, async (t) => {
  const { bundle } = rt.outBundle('true');
  const r = await rt.execDetached(['create', '--bundle', bundle.dir]);
  t.not(r.exitCode, 0);
});

requirement(t, { id: 'create.bad-bundle', section: CREATE, level: 'MUST', title: 'create with a bundle path that does not exist fails' }, async (t) => {
  const id = newId();
  t.not((await rt.create(id, '/nonexistent/tsr-conformance-bundle')).exitCode, 0);
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// "If the ID provided is not unique across all containers within the scope of
// the runtime, or is not valid in any other way, the implementation MUST
// generate an error and a new container MUST NOT be created."
requirement(t, { id: 'create.duplicate-id', section: CREATE, level: 'MUST', title: 'create with an id already in use fails and leaves the first container alone' }, async (t) => {
  const { id, bundle } = await created();
  const before = await rt.state(id);
  const other = rt.outBundle('true');
  t.not((await rt.create(id, other.bundle)).exitCode, 0, 'second create fails');
  const after = await rt.state(id);
  t.equal(after?.pid, before?.pid, 'same container process');
  t.equal(after?.status, 'created', 'still created');
  t.equal(fs.realpathSync(after?.bundle ?? '/'), fs.realpathSync(bundle.dir), 'same bundle');
  t.ok(pidAlive(before?.pid), 'first container process alive');
});

requirement(t, { id: 'create.invalid-id', section: CREATE, level: 'MUST', title: 'create with an invalid id (path separators) fails and creates nothing' }, async (t) => {
  // A root of its own, so "nothing listed" is not muddied by other tests.
  const rt = new Runtime(t);
  const { bundle } = rt.outBundle('true');
  for (const bad of ['../tsr-conf-escape', 'a/b', '']) {
    t.not((await rt.create(bad, bundle)).exitCode, 0, `id ${JSON.stringify(bad)} rejected`);
  }
  t.notOk(exists(path.join(rt.root, '..', 'tsr-conf-escape')), 'nothing created outside the state root');
  const list = await rt.exec(['list', '-q']);
  if (list.exitCode === 0) t.equal(String(list.stdout).trim(), '', 'no container listed');
});

// "This operation MUST create a new container. All of the properties
// configured in config.json except for process MUST be applied. process.args
// MUST NOT be applied until triggered by the start operation."
requirement(t, { id: 'create.args-not-applied', section: CREATE, level: 'MUST NOT', title: 'process.args are not applied by create' }, async (t) => {
  const { id, count } = await created();
  await sleep(300);
  t.equal(count(), 0, 'program has not run');
  t.equal((await rt.state(id))?.status, 'created');
});

// "If the runtime cannot apply a property as specified in the configuration,
// it MUST generate an error and a new container MUST NOT be created."
requirement(t, { id: 'create.cannot-apply', section: CREATE, level: 'MUST', title: 'create fails, creating nothing, when a property cannot be applied' }, async (t) => {
  const { bundle } = rt.outBundle('true', (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: '/nonexistent/tsr-conf-netns' } : n));
  });
  const id = newId();
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// ---- Start ----
const START = 'runtime.md#start';

// "This operation MUST generate an error if it is not provided the container ID."
requirement(t, { id: 'start.no-id', section: START, level: 'MUST', title: 'start without an id fails' }, async (t) => {
  t.not((await rt.exec(['start'])).exitCode, 0);
});

// "Attempting to start a container that is not created MUST have no effect on
// the container and MUST generate an error."
requirement(t, { id: 'start.unknown', section: START, level: 'MUST', title: 'start of a container that does not exist fails' }, async (t) => {
  t.not((await rt.start(newId('nosuch'))).exitCode, 0);
});

requirement(t, { id: 'start.running', section: START, level: 'MUST', title: 'start of a running container fails without effect' }, async (t) => {
  const { id, count } = await created();
  t.equal((await rt.start(id)).exitCode, 0, 'first start succeeds');
  await waitFor(() => count() === 1);
  const before = await rt.state(id);
  t.not((await rt.start(id)).exitCode, 0, 'second start fails');
  await sleep(200);
  t.equal(count(), 1, 'program ran once');
  const after = await rt.state(id);
  t.equal(after?.status, 'running', 'still running');
  t.equal(after?.pid, before?.pid, 'same process');
  await rt.delete(id, true);
});

requirement(t, { id: 'start.stopped', section: START, level: 'MUST', title: 'start of a stopped container fails without effect' }, async (t) => {
  const { id, count } = await created('echo run >> /out/count');
  await rt.start(id);
  await rt.waitStatus(id, 'stopped');
  t.not((await rt.start(id)).exitCode, 0, 'start fails');
  await sleep(200);
  t.equal(count(), 1, 'program ran once');
  t.equal((await rt.state(id))?.status, 'stopped', 'still stopped');
});

// "This operation MUST run the user-specified program as specified by process."
requirement(t, { id: 'start.runs-process', section: START, level: 'MUST', title: 'start runs the program as specified by process (args, env, cwd)' }, async (t) => {
  const { bundle, out } = rt.outBundle('x', (c) => {
    c.process.args = ['sh', '-c', 'echo "$1|$GREETING|$(pwd)" > /out/result', 'sh', 'arg1'];
    c.process.env.push('GREETING=hello');
    c.process.cwd = '/tmp';
  });
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0);
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  await rt.waitStatus(id, 'stopped');
  t.same(lines(path.join(out, 'result')), ['arg1|hello|/tmp']);
});

// "This operation MUST generate an error if process was not set."
requirement(t, { id: 'start.no-process', section: START, level: 'MUST', title: 'start fails when config.json has no process' }, async (t) => {
  const { bundle } = rt.outBundle('true', (c) => {
    delete c.process;
  });
  const id = newId();
  const c = await rt.create(id, bundle);
  if (c.exitCode !== 0) {
    // Refusing already at create also means the missing process never runs.
    t.pass('create refused a config without process');
    return;
  }
  t.not((await rt.start(id)).exitCode, 0, 'start fails');
});

// ---- Kill ----
const KILL = 'runtime.md#kill';

// "This operation MUST generate an error if it is not provided the container ID."
requirement(t, { id: 'kill.no-id', section: KILL, level: 'MUST', title: 'kill without an id fails' }, async (t) => {
  t.not((await rt.exec(['kill'])).exitCode, 0);
});

requirement(t, { id: 'kill.unknown', section: KILL, level: 'MUST', title: 'kill of a container that does not exist fails' }, async (t) => {
  t.not((await rt.kill(newId('nosuch'), 'KILL')).exitCode, 0);
});

// "Attempting to send a signal to a container that is neither created nor
// running MUST have no effect on the container and MUST generate an error."
requirement(t, { id: 'kill.stopped', section: KILL, level: 'MUST', title: 'kill of a stopped container fails without effect' }, async (t) => {
  const { id } = await created('true');
  await rt.start(id);
  await rt.waitStatus(id, 'stopped');
  t.not((await rt.kill(id, 'TERM')).exitCode, 0, 'kill fails');
  t.equal((await rt.state(id))?.status, 'stopped', 'still stopped');
});

// "This operation MUST send the specified signal to the container process."
requirement(t, { id: 'kill.delivers', section: KILL, level: 'MUST', title: 'kill delivers the given signal to the container process' }, async (t) => {
  const { id, out } = await created('trap "echo USR1 > /out/sig; exit 0" USR1; touch /out/ready; while true; do sleep 0.05; done');
  await rt.start(id);
  t.ok(await waitFor(() => exists(path.join(out, 'ready'))), 'program is ready');
  t.equal((await rt.kill(id, 'USR1')).exitCode, 0, 'kill USR1 succeeds');
  t.ok(await waitFor(() => lines(path.join(out, 'sig'))[0] === 'USR1'), 'the trap saw SIGUSR1');
  t.equal((await rt.waitStatus(id, 'stopped'))?.status, 'stopped', 'and the program exited');
});

requirement(t, { id: 'kill.created', section: KILL, level: 'MUST', title: 'kill works on a created container (SIGKILL stops it)' }, async (t) => {
  const { id, count } = await created();
  const pid = (await rt.state(id))?.pid;
  t.equal((await rt.kill(id, 'KILL')).exitCode, 0, 'kill succeeds');
  t.equal((await rt.waitStatus(id, 'stopped'))?.status, 'stopped', 'container stopped');
  t.ok(await waitFor(() => !pidAlive(pid)), 'process gone');
  t.equal(count(), 0, 'the program never ran');
});

// ---- Delete ----
const DELETE = 'runtime.md#delete';

// "This operation MUST generate an error if it is not provided the container ID."
requirement(t, { id: 'delete.no-id', section: DELETE, level: 'MUST', title: 'delete without an id fails' }, async (t) => {
  t.not((await rt.exec(['delete'])).exitCode, 0);
});

requirement(t, { id: 'delete.unknown', section: DELETE, level: 'MUST', title: 'delete of a container that does not exist fails' }, async (t) => {
  t.not((await rt.delete(newId('nosuch'))).exitCode, 0);
});

// "Attempting to delete a container that is not stopped MUST have no effect on
// the container and MUST generate an error."
requirement(t, { id: 'delete.running', section: DELETE, level: 'MUST', title: 'delete of a running container fails without effect' }, async (t) => {
  const { id, count } = await created();
  await rt.start(id);
  await waitFor(() => count() === 1);
  const before = await rt.state(id);
  t.not((await rt.delete(id)).exitCode, 0, 'delete fails');
  const after = await rt.state(id);
  t.equal(after?.status, 'running', 'still running');
  t.equal(after?.pid, before?.pid, 'same process');
  t.ok(pidAlive(before?.pid), 'process alive');
});

requirement(t, { id: 'delete.created', section: DELETE, level: 'MUST', title: 'delete of a created container fails without effect' }, async (t) => {
  const { id } = await created();
  const before = await rt.state(id);
  t.not((await rt.delete(id)).exitCode, 0, 'delete fails');
  const after = await rt.state(id);
  t.equal(after?.status, 'created', 'still created');
  t.ok(pidAlive(before?.pid), 'process alive');
});

// "Deleting a container MUST delete the resources that were created during
// the create step."
requirement(t, { id: 'delete.stopped', section: DELETE, level: 'MUST', title: 'delete of a stopped container succeeds and removes it' }, async (t) => {
  const { id } = await created('true');
  await rt.start(id);
  await rt.waitStatus(id, 'stopped');
  t.equal((await rt.delete(id)).exitCode, 0, 'delete succeeds');
  t.equal(await rt.state(id), undefined, 'state fails afterwards');
  t.not((await rt.delete(id)).exitCode, 0, 'a second delete fails');
});

// "Note that resources associated with the container, but not created by this
// container, MUST NOT be deleted."
requirement(t, { id: 'delete.keeps-foreign', section: DELETE, level: 'MUST NOT', title: 'delete keeps the bundle, rootfs and bind-mount sources' }, async (t) => {
  const { id, bundle, out } = await created('echo run >> /out/count');
  fs.writeFileSync(path.join(out, 'keep'), 'x');
  await rt.start(id);
  await rt.waitStatus(id, 'stopped');
  t.equal((await rt.delete(id)).exitCode, 0, 'delete succeeds');
  t.ok(exists(path.join(bundle.dir, 'config.json')), 'config.json kept');
  t.ok(exists(path.join(bundle.rootfs, 'bin/busybox')), 'rootfs kept');
  t.ok(exists(path.join(out, 'keep')) && exists(path.join(out, 'count')), 'bind-mount source and its files kept');
});

// "Once a container is deleted its ID MAY be used by a subsequent container."
requirement(t, { id: 'delete.id-reuse', section: DELETE, level: 'MAY', title: 'a deleted id can be used again' }, async (t) => {
  const { id, bundle } = await created('true');
  await rt.start(id);
  await rt.waitStatus(id, 'stopped');
  await rt.delete(id);
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create with the same id succeeds');
  t.equal((await rt.state(id))?.status, 'created');
});
