// runtime.md "State" and "Query State": what `state <id>` must report.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Ajv } from 'ajv';
import { Runtime, requirement, newId, pidAlive, stateSchema, exists, waitFor } from '../lib/harness.js';

const rt = new Runtime(t);
const SECTION = 'runtime.md#state';

async function created(script = 'touch /out/ran') {
  const { bundle, out } = rt.outBundle(script);
  const id = newId();
  const r = await rt.create(id, bundle);
  if (r.exitCode !== 0) throw new Error(`create failed: ${r.output}`);
  return { id, bundle, out };
}

// "ociVersion (string, REQUIRED) is version of the Open Container Initiative
// Runtime Specification with which the state complies."
requirement(t, { id: 'state.ociVersion', section: SECTION, level: 'MUST', title: 'state includes ociVersion (a SemVer string)' }, async (t) => {
  const { id } = await created();
  const st = await rt.state(id);
  t.type(st?.ociVersion, 'string');
  t.match(st?.ociVersion ?? '', /^\d+\.\d+\.\d+/);
});

// "id (string, REQUIRED) is the container's ID. This MUST be unique across
// all containers on this host."
requirement(t, { id: 'state.id', section: SECTION, level: 'MUST', title: 'state includes the container id' }, async (t) => {
  const { id } = await created();
  t.equal((await rt.state(id))?.id, id);
});

// "status (string, REQUIRED) ... created: the runtime has finished the create
// operation (after step 2 in the lifecycle), and the container process has
// neither exited nor executed the user-specified program"
requirement(t, { id: 'state.status.created', section: SECTION, level: 'MUST', title: 'status is "created" after create' }, async (t) => {
  const { id } = await created();
  t.equal((await rt.state(id))?.status, 'created');
});

// "running: the container process has executed the user-specified program
// but has not exited (after step 8 in the lifecycle)"
requirement(t, { id: 'state.status.running', section: SECTION, level: 'MUST', title: 'status is "running" after start while the program runs' }, async (t) => {
  const { id, out } = await created('touch /out/ran; exec sleep 1000');
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  t.ok(await waitFor(() => exists(path.join(out, 'ran'))), 'program ran');
  t.equal((await rt.state(id))?.status, 'running');
  await rt.delete(id, true);
});

// "stopped: the container process has exited (step 10 in the lifecycle)"
requirement(t, { id: 'state.status.stopped', section: SECTION, level: 'MUST', title: 'status is "stopped" once the program has exited' }, async (t) => {
  const { id } = await created('true');
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  t.equal((await rt.waitStatus(id, 'stopped'))?.status, 'stopped');
});

// "pid (int, REQUIRED when status is created or running on Linux, OPTIONAL on
// other platforms) is the ID of the container process. For hooks executed in
// the runtime namespace, it is the pid as seen by the runtime."
requirement(t, { id: 'state.pid.created', section: SECTION, level: 'MUST', title: 'pid is present when created and is a live host process' }, async (t) => {
  const { id } = await created();
  const st = await rt.state(id);
  t.ok(Number.isInteger(st?.pid) && (st?.pid ?? 0) > 0, `pid is a positive integer (${st?.pid})`);
  t.ok(pidAlive(st?.pid), 'the process exists on the host');
});

requirement(t, { id: 'state.pid.running', section: SECTION, level: 'MUST', title: 'pid is present when running and is the container process' }, async (t) => {
  const { id, out } = await created('echo $$ > /out/pid; touch /out/ran; exec sleep 1000');
  await rt.start(id);
  await waitFor(() => exists(path.join(out, 'ran')));
  const st = await rt.state(id);
  t.ok(pidAlive(st?.pid), 'the process exists on the host');
  // The program was exec'd by the container process itself, so the pid's
  // command line is the program's.
  const cmdline = () => {
    try {
      return fs.readFileSync(`/proc/${st?.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      return '';
    }
  };
  // "ran" is written just before the exec: allow the exec to land.
  await waitFor(() => cmdline() === 'sleep 1000', 2000);
  t.equal(cmdline(), 'sleep 1000', 'pid runs the user program');
  await rt.delete(id, true);
});

// "bundle (string, REQUIRED) is the absolute path to the container's bundle
// directory."
requirement(t, { id: 'state.bundle', section: SECTION, level: 'MUST', title: 'bundle is the absolute path of the bundle, even when given relative' }, async (t) => {
  const { bundle } = rt.outBundle('true');
  const id = newId();
  const r = await rt.create(id, path.basename(bundle.dir), { cwd: path.dirname(bundle.dir) });
  t.equal(r.exitCode, 0, 'create with a relative bundle path succeeds');
  const st = await rt.state(id);
  t.ok(path.isAbsolute(st?.bundle ?? ''), `bundle is absolute (${st?.bundle})`);
  t.equal(fs.realpathSync(st?.bundle ?? '/nonexistent-bundle'), fs.realpathSync(bundle.dir), 'and names the bundle');
});

// "annotations (map, OPTIONAL) contains the list of annotations associated
// with the container. If no annotations were provided then this property MAY
// either be absent or an empty map."
requirement(t, { id: 'state.annotations', section: SECTION, level: 'SHOULD', title: 'annotations from config.json appear in the state' }, async (t) => {
  const { bundle } = rt.outBundle('true', (c) => {
    c.annotations = { 'org.example.conformance': 'yes' };
  });
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0);
  t.same((await rt.state(id))?.annotations, { 'org.example.conformance': 'yes' });
});

// "When serialized in JSON, the format MUST adhere to the JSON Schema
// schema/state-schema.json." and (Query State) "This operation MUST return the
// state of a container as specified in the State section."
requirement(t, { id: 'state.schema', section: 'runtime.md#query-state', level: 'MUST', title: 'state output validates against the state schema (created, running, stopped)' }, async (t) => {
  const validate = new Ajv({ strict: false }).compile(stateSchema);
  const { id, out } = await created('touch /out/ran; read x < /out/fifo');
  const check = async (want: string) => {
    const r = await rt.exec(['state', id]);
    let doc: unknown;
    try {
      doc = JSON.parse(String(r.stdout));
    } catch {
      t.fail(`state output is JSON (${want})`);
      return;
    }
    t.ok(validate(doc), `valid when ${want}: ${JSON.stringify(validate.errors ?? [])}`);
    t.equal((doc as any).status, want);
  };
  await check('created');
  // A fifo keeps the program running until the test lets it go.
  const fifo = path.join(out, 'fifo');
  (await import('node:child_process')).execFileSync('mkfifo', [fifo]);
  await rt.start(id);
  await waitFor(() => exists(path.join(out, 'ran')));
  await check('running');
  fs.writeFileSync(fifo, 'go\n');
  await rt.waitStatus(id, 'stopped');
  await check('stopped');
});

// Query State: "Attempting to query a container that does not exist MUST
// generate an error."
requirement(t, { id: 'state.unknown', section: 'runtime.md#query-state', level: 'MUST', title: 'state of a container that does not exist fails' }, async (t) => {
  const r = await rt.exec(['state', newId('nosuch')]);
  t.not(r.exitCode, 0);
});

// Query State: "This operation MUST generate an error if it is not provided
// the ID of a container."
requirement(t, { id: 'state.no-id', section: 'runtime.md#query-state', level: 'MUST', title: 'state without an id fails' }, async (t) => {
  t.not((await rt.exec(['state'])).exitCode, 0);
});
