// The runc-compatible command line: flags, errors and logs, spec, state,
// list, features. Drives bin/tsrunc (or $RUNTIME) as clients do.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { tsrunc as run, TSRUNC_BIN, REPO_ROOT } from './helpers/run.js';
import { makeRoot } from './helpers/bundle.js';

(globalThis as { require?: NodeJS.Require }).require ??= createRequire(import.meta.url);
process.env.TSRUNC_LIBDIR ??= path.join(REPO_ROOT, 'dist');
const { openStore } = await import('../src/state/store.js');
const { readStartTime } = await import('../src/state/status.js');
const { validateConfig, validateFeatures, validateState } = await import('../src/config/validate.js');
type ContainerRecord = import('../src/state/types.js').ContainerRecord;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const RUNC = '/usr/sbin/runc';

const root = makeRoot();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-test-cli-'));
const children: ChildProcess[] = [];
t.teardown(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

// Exact output matters here (runc's trailing newlines), so keep it unstripped.
const tsrunc = (args: string[], opts: Parameters<typeof run>[1] = {}) => run(args, { stripFinalNewline: false, ...opts });
const s = (x: unknown): string => (typeof x === 'string' ? x : String(x ?? ''));
let n = 0;
const tmpFile = (name: string): string => path.join(scratch, `${n++}-${name}`);
const tmpDir = (): string => fs.mkdtempSync(path.join(scratch, 'd-'));

function record(id: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ociVersion: '1.3.0',
    id,
    status: 'created',
    pid: 0,
    pidStartTime: '',
    bundle: `/bundles/${id}`,
    rootfs: `/bundles/${id}/rootfs`,
    created: '2026-01-02T03:04:05.123456789Z',
    owner: 'root',
    internal: {},
    ...over,
  };
}

async function sleeper(): Promise<{ pid: number; start: string }> {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => setTimeout(r, 50));
  return { pid: c.pid!, start: readStartTime(c.pid!)! };
}

t.test('--version and -v print runc-like lines', async (t) => {
  for (const args of [['--version'], ['-v'], ['--root', root, '--version'], ['--log-format=json', '-v']]) {
    const r = await tsrunc(args);
    t.equal(r.exitCode, 0, args.join(' '));
    t.equal(s(r.stderr), '');
    const lines = s(r.stdout).split('\n');
    t.match(lines[0], /^tsrunc version \d+\.\d+\.\d+/);
    t.equal(lines[1], 'spec: 1.3.0');
    t.equal(lines[2], `node: ${process.version}`);
    t.match(lines[3], /^libseccomp: (\d+\.\d+\.\d+|not found)$/);
  }
});

t.test('--help on every command goes to stdout, exit 0', async (t) => {
  const top = await tsrunc(['--help']);
  t.equal(top.exitCode, 0);
  t.match(s(top.stdout), /Usage: tsrunc/);
  t.match(s(top.stdout), /--root <path>/);
  const listed = s(top.stdout)
    .split('Commands:')[1]!
    .split('\n')
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1]?.split('|')[0])
    .filter((c): c is string => !!c && c !== 'help');
  for (const c of ['spec', 'state', 'list', 'features']) t.ok(listed.includes(c), `${c} listed`);
  for (const c of listed) {
    for (const flag of ['--help', '-h']) {
      const r = await tsrunc([c, flag]);
      t.equal(r.exitCode, 0, `${c} ${flag}`);
      t.match(s(r.stdout), new RegExp(`Usage: tsrunc ${c}`), `${c} ${flag} usage`);
      t.equal(s(r.stderr), '', `${c} ${flag} quiet stderr`);
    }
  }
  const h = await tsrunc(['help', 'state']);
  t.equal(h.exitCode, 0);
  t.match(s(h.stdout), /Usage: tsrunc state/);
  const none = await tsrunc([]);
  t.equal(none.exitCode, 0);
  t.match(s(none.stdout), /Usage: tsrunc/);
});

t.test('errors: one line on stderr, exit 1', async (t) => {
  const cases: [string[], RegExp][] = [
    [['state', 'nosuch'], /^tsrunc: container does not exist\n$/],
    [['--root', root, 'state', 'nosuch'], /^tsrunc: container does not exist\n$/],
    [['--root', root, 'state', 'a/b'], /^tsrunc: invalid container id "a\/b".*\n$/],
    [['bogus-command'], /^tsrunc: unknown command 'bogus-command'\n$/],
    [['--bogus'], /^tsrunc: unknown option '--bogus'\n$/],
    [['state', '--bogus', 'x'], /^tsrunc: unknown option '--bogus'\n$/],
    [['state'], /^tsrunc: missing required argument 'container-id'\n$/],
    [['state', 'a', 'b'], /^tsrunc: too many arguments.*\n$/],
    [['--log-format', 'xml', 'state', 'x'], /^tsrunc: .*'xml' is invalid.*\n$/],
    [['--rootless=maybe', 'list'], /^tsrunc: .*'maybe' is invalid.*\n$/],
    [['list', '-f', 'yaml'], /^tsrunc: .*'yaml' is invalid.*\n$/],
    [['stat', 'x'], /^tsrunc: unknown command 'stat' \(Did you mean .*state.*\?\)\n$/],
  ];
  for (const [args, re] of cases) {
    const r = await tsrunc(args);
    t.equal(r.exitCode, 1, `${args.join(' ')}: exit 1`);
    t.match(s(r.stderr), re, `${args.join(' ')}: message`);
    t.equal(s(r.stdout), '', `${args.join(' ')}: nothing on stdout`);
  }
});

t.test('--log-format json --log F: exactly one JSON line per failure', async (t) => {
  const forms: ((f: string) => string[])[] = [
    (f) => ['--root', root, '--log', f, '--log-format', 'json', 'state', 'nosuch'], // containerd
    (f) => ['--log-format=json', `--log=${f}`, '--root', root, 'state', 'nosuch'], // podman
    (f) => ['state', 'nosuch', '--log-format=json', '--log', f, `--root=${root}`], // after the subcommand
    (f) => ['--log-format=json', '--log', f, 'bogus-command'], // usage error
    (f) => ['--log-format=json', '--log', f, 'state', '--nope', 'x'],
  ];
  for (const form of forms) {
    const f = tmpFile('log.json');
    const args = form(f);
    const r = await tsrunc(args);
    t.equal(r.exitCode, 1, args.join(' '));
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    t.equal(lines.length, 2, 'one line, newline-terminated');
    t.equal(lines[1], '');
    const rec = JSON.parse(lines[0]!);
    t.same(Object.keys(rec), ['level', 'msg', 'time']);
    t.equal(rec.level, 'error');
    t.match(rec.time, RFC3339);
    t.equal(`tsrunc: ${rec.msg}\n`, s(r.stderr), 'same message as stderr');
    // podman reads the whole file as one JSON object.
    t.doesNotThrow(() => JSON.parse(fs.readFileSync(f, 'utf8')));
  }
  // Appends: two failures, two lines.
  const f = tmpFile('log.json');
  await tsrunc(['--log-format', 'json', '--log', f, 'state', 'x']);
  await tsrunc(['--log-format', 'json', '--log', f, 'state', 'y']);
  t.equal(fs.readFileSync(f, 'utf8').trim().split('\n').length, 2);
});

t.test('--log F (text): logrus-style line', async (t) => {
  const f = tmpFile('log.txt');
  const r = await tsrunc(['--root', root, '--log', f, 'state', 'nosuch']);
  t.equal(r.exitCode, 1);
  t.match(fs.readFileSync(f, 'utf8'), /^time="[^"]+" level=error msg="container does not exist"\n$/);
  const time = /time="([^"]+)"/.exec(fs.readFileSync(f, 'utf8'))![1];
  t.match(time, RFC3339);
  // Quotes in the message are escaped.
  const g = tmpFile('log.txt');
  await tsrunc(['--log', g, 'state', 'a"b']);
  t.match(fs.readFileSync(g, 'utf8'), /msg="invalid container id \\"a\\\\\\"b\\".*"\n$/);
});

t.test('--debug adds debug lines (log file, else stderr)', async (t) => {
  const f = tmpFile('debug.json');
  const r = await tsrunc(['--debug', '--log-format=json', `--log=${f}`, '--root', root, 'list']);
  t.equal(r.exitCode, 0);
  const recs = fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.ok(recs.length >= 1 && recs.every((x) => x.level === 'debug'), 'debug records only');
  const e = await tsrunc(['--debug', '--root', root, 'state', 'x']);
  t.match(s(e.stderr), /level=debug/);
  t.match(s(e.stderr), /tsrunc: container does not exist\n$/);
  const quiet = await tsrunc(['--root', root, 'list']);
  t.notMatch(s(quiet.stderr), /debug/);
});

t.test('global flags before or after the subcommand, both value forms', async (t) => {
  const sl = await sleeper();
  const store = openStore(root);
  store.create('flags', record('flags', { pid: sl.pid, pidStartTime: sl.start })).release();
  t.teardown(() => store.open('flags').remove());
  const forms = [
    ['--root', root, 'state', 'flags'],
    [`--root=${root}`, 'state', 'flags'],
    ['state', 'flags', '--root', root],
    ['state', `--root=${root}`, 'flags'],
    ['--debug', '--systemd-cgroup', '--rootless', 'false', '--criu', '/x', '--root', root, 'state', 'flags'],
    ['--rootless=auto', 'state', 'flags', '--systemd-cgroup', '--root', root, '--log-format', 'text'],
    // Go's boolean flag form, as urfave/cli accepts it.
    ['--debug=false', '--systemd-cgroup=true', '--root', root, 'state', 'flags'],
  ];
  for (const args of forms) {
    const r = await tsrunc(args);
    t.equal(r.exitCode, 0, args.join(' '));
    t.equal(JSON.parse(s(r.stdout)).id, 'flags', args.join(' '));
  }
  for (const args of [['--root', root, 'list', '-q'], ['list', '--root', root, '--quiet'], ['list', `--root=${root}`, '-q', '--debug'], ['--systemd-cgroup=1', 'list', `--root=${root}`, '-q', '--debug=0']]) {
    const r = await tsrunc(args);
    t.equal(r.exitCode, 0, args.join(' '));
    t.equal(s(r.stdout), 'flags\n', args.join(' '));
  }
});

t.test('state: runc fields and layout, live status', async (t) => {
  const sl = await sleeper();
  const store = openStore(root);
  store.create('st', record('st', { pid: sl.pid, pidStartTime: sl.start, annotations: { 'org.x': 'y' } })).release();
  store.create('st-dead', record('st-dead', { pid: 999999, pidStartTime: '1', status: 'running', internal: { started: true } })).release();
  t.teardown(() => {
    store.open('st').remove();
    store.open('st-dead').remove();
  });
  const r = await tsrunc(['--root', root, 'state', 'st']);
  t.equal(r.exitCode, 0);
  const doc = JSON.parse(s(r.stdout));
  t.same(Object.keys(doc), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner']);
  t.same(doc, {
    ociVersion: '1.3.0',
    id: 'st',
    pid: sl.pid,
    status: 'created',
    bundle: '/bundles/st',
    rootfs: '/bundles/st/rootfs',
    created: '2026-01-02T03:04:05.123456789Z',
    annotations: { 'org.x': 'y' },
    owner: 'root',
  });
  t.equal(s(r.stdout), `${JSON.stringify(doc, null, 2)}\n`, 'pretty-printed like runc');
  t.same(validateState(doc), [], 'valid against the state schema');
  const d = JSON.parse(s((await tsrunc(['--root', root, 'state', 'st-dead'])).stdout));
  t.equal(d.status, 'stopped');
  t.equal(d.pid, 0, 'no pid for a stopped container');
  t.notOk('annotations' in d, 'no empty annotations');
  t.same(validateState(d), []);
});

t.test('list: table, json, quiet', async (t) => {
  const lroot = makeRoot();
  t.teardown(() => fs.rmSync(lroot, { recursive: true, force: true }));
  const empty = await tsrunc(['--root', lroot, 'list']);
  t.equal(empty.exitCode, 0);
  t.equal(s(empty.stdout), 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n', 'header only, runc spacing');
  t.equal(s((await tsrunc(['--root', lroot, 'list', '-q'])).stdout), '');
  t.same(JSON.parse(s((await tsrunc(['--root', lroot, 'list', '-f', 'json'])).stdout)), []);
  t.equal(s((await tsrunc(['--root', path.join(lroot, 'missing'), 'list'])).stdout).split('\n').length, 2, 'missing root is empty');

  const a = await sleeper();
  const b = await sleeper();
  const store = openStore(lroot);
  store.create('alive', record('alive', { pid: a.pid, pidStartTime: a.start })).release();
  store.create('run', record('run', { pid: b.pid, pidStartTime: b.start, status: 'running', internal: { started: true } })).release();
  store.create('dead', record('dead', { pid: 999999, pidStartTime: '5', status: 'running', internal: { started: true } })).release();

  const table = s((await tsrunc(['--root', lroot, 'list'])).stdout).split('\n');
  t.equal(table.length, 5);
  const rows = table.slice(1, 4).map((l) => l.split(/\s{2,}|\s(?=\S+$)/));
  t.match(table[1], new RegExp(`^alive {7}${a.pid} +created +/bundles/alive +2026-01-02T03:04:05.123456789Z +root$`));
  t.match(table[2], /^dead {8}0 {11}stopped +\/bundles\/dead/);
  t.match(table[3], new RegExp(`^run {9}${b.pid} +running +/bundles/run `));
  t.equal(rows.length, 3);
  // Columns line up: every row's STATUS starts where the header's does.
  const col = table[0]!.indexOf('STATUS');
  for (const l of table.slice(1, 4)) t.match(l.slice(col), /^(created|running|stopped) /);

  const json = JSON.parse(s((await tsrunc(['--root', lroot, 'list', '--format=json'])).stdout));
  t.same(json.map((x: { id: string; status: string }) => [x.id, x.status]), [['alive', 'created'], ['dead', 'stopped'], ['run', 'running']]);
  t.same(Object.keys(json[0]), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
  t.equal(s((await tsrunc(['--root', lroot, 'list', '-q'])).stdout), 'alive\ndead\nrun\n');
});

t.test('spec writes runc\'s config (rootless too) and never overwrites', async (t) => {
  const dir = tmpDir();
  const r = await tsrunc(['spec', '-b', dir]);
  t.equal(r.exitCode, 0);
  t.equal(s(r.stdout), '');
  const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
  t.notOk(text.endsWith('\n'), 'no trailing newline, like runc');
  t.match(text, /^{\n\t"ociVersion": "1.3.0",/, 'tab-indented');
  const doc = JSON.parse(text);
  t.same(validateConfig(doc, { forCreate: false, bundle: dir }), [], 'valid config');

  if (fs.existsSync(RUNC)) {
    const rdir = tmpDir();
    execFileSync(RUNC, ['spec', '-b', rdir]);
    const runc = JSON.parse(fs.readFileSync(path.join(rdir, 'config.json'), 'utf8'));
    runc.ociVersion = '1.3.0';
    // runc >= 1.2 adds a cgroup namespace; 1.1.5 (installed) does not.
    if (!runc.linux.namespaces.some((ns: { type: string }) => ns.type === 'cgroup')) runc.linux.namespaces.push({ type: 'cgroup' });
    t.same(doc, runc, 'same document as runc spec');
  }

  // Refuses to overwrite, leaving the file alone.
  fs.writeFileSync(path.join(dir, 'config.json'), 'mine');
  const again = await tsrunc(['spec', '--bundle', dir]);
  t.equal(again.exitCode, 1);
  t.equal(s(again.stderr), 'tsrunc: File config.json exists. Remove it first\n');
  t.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), 'mine');

  // Default bundle is the working directory.
  const cwd = tmpDir();
  t.equal((await tsrunc(['spec'], { cwd })).exitCode, 0);
  t.ok(fs.existsSync(path.join(cwd, 'config.json')));

  const missing = await tsrunc(['spec', `--bundle=${path.join(scratch, 'nope')}`]);
  t.equal(missing.exitCode, 1);
  t.match(s(missing.stderr), /^tsrunc: bundle .*nope: .*no such file or directory.*\n$/i);

  const rl = tmpDir();
  t.equal((await tsrunc(['spec', '--rootless', '-b', rl])).exitCode, 0);
  const rdoc = JSON.parse(fs.readFileSync(path.join(rl, 'config.json'), 'utf8'));
  t.same(validateConfig(rdoc, { forCreate: false, bundle: rl }), [], 'valid rootless config');
  t.same(rdoc.linux.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
  t.same(rdoc.linux.gidMappings, [{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
  t.same(rdoc.linux.namespaces.map((x: { type: string }) => x.type), ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
  t.notOk('resources' in rdoc.linux);
  if (fs.existsSync(RUNC)) {
    const rdir = tmpDir();
    execFileSync(RUNC, ['spec', '--rootless', '-b', rdir]);
    const runc = JSON.parse(fs.readFileSync(path.join(rdir, 'config.json'), 'utf8'));
    runc.ociVersion = '1.3.0';
    if (!runc.linux.namespaces.some((ns: { type: string }) => ns.type === 'cgroup')) runc.linux.namespaces.splice(-1, 0, { type: 'cgroup' });
    t.same(rdoc, runc, 'same document as runc spec --rootless');
    t.same(Object.keys(rdoc.linux), Object.keys(runc.linux), 'same key order');
  }
  // The global --rootless=VALUE before the subcommand does not make a rootless spec.
  const g = tmpDir();
  t.equal((await tsrunc(['--rootless=true', 'spec', '-b', g])).exitCode, 0);
  t.notOk('uidMappings' in JSON.parse(fs.readFileSync(path.join(g, 'config.json'), 'utf8')).linux);
});

t.test('features: the runtime-spec features document', async (t) => {
  const r = await tsrunc(['features']);
  t.equal(r.exitCode, 0);
  const doc = JSON.parse(s(r.stdout));
  t.same(validateFeatures(doc), [], 'valid against the features schema');
  t.equal(doc.ociVersionMin, '1.0.0');
  t.equal(doc.ociVersionMax, '1.3.0');
  t.same(doc.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  for (const o of ['bind', 'rbind', 'ro', 'rro', 'nosuid', 'rprivate', 'idmap', 'nosymfollow', 'strictatime']) t.ok(doc.mountOptions.includes(o), `mount option ${o}`);
  const linux = doc.linux;
  for (const k of ['namespaces', 'capabilities', 'cgroup', 'seccomp', 'apparmor', 'selinux', 'intelRdt', 'mountExtensions', 'netDevices', 'memoryPolicy']) {
    t.ok(k in linux, `linux.${k}`);
  }
  t.same([...linux.namespaces].sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
  t.equal(linux.capabilities.length, 41);
  t.equal(linux.capabilities.at(-1), 'CAP_CHECKPOINT_RESTORE');
  t.same(Object.keys(linux.cgroup).sort(), ['rdma', 'systemd', 'systemdUser', 'v1', 'v2']);
  t.equal(linux.apparmor.enabled, fs.existsSync('/sys/kernel/security/apparmor'));
  t.equal(linux.selinux.enabled, fs.existsSync('/sys/fs/selinux'));
  const version = /libseccomp: (\S+)/.exec(s((await tsrunc(['--version'])).stdout))![1];
  if (version === 'not found') {
    t.equal(linux.seccomp.enabled, false);
  } else {
    t.equal(linux.seccomp.enabled, true);
    t.equal(doc.annotations['io.github.seccomp.libseccomp.version'], version);
    t.ok(linux.seccomp.archs.includes(process.arch === 'x64' ? 'SCMP_ARCH_X86_64' : 'SCMP_ARCH_AARCH64'));
    t.ok(linux.seccomp.actions.includes('SCMP_ACT_ERRNO'));
    t.equal(linux.seccomp.operators.length, 7);
    for (const f of linux.seccomp.supportedFlags) t.ok(linux.seccomp.knownFlags.includes(f), `${f} known`);
    if (fs.existsSync(RUNC)) {
      // runc links the same libseccomp: every arch it reports, we report.
      const runc = JSON.parse(execFileSync(RUNC, ['features'], { encoding: 'utf8' }));
      for (const a of runc.linux.seccomp.archs) t.ok(linux.seccomp.archs.includes(a), `arch ${a} as runc`);
      for (const o of runc.mountOptions.filter((x: string) => x !== 'tmpcopyup')) t.ok(doc.mountOptions.includes(o), `mount option ${o} as runc`);
      t.same(linux.capabilities, runc.linux.capabilities, 'capabilities as runc');
    }
  }
});

t.test('never creates process.stdout/stderr/stdin (they would set O_NONBLOCK on shared pipes)', async (t) => {
  const preload = path.join(scratch, 'no-stdio.cjs');
  fs.writeFileSync(
    preload,
    `for (const name of ['stdout', 'stderr', 'stdin']) {
  Object.defineProperty(process, name, { configurable: true, get() { require('fs').writeSync(2, 'TOUCHED process.' + name + '\\n'); process.reallyExit(99); } });
}\n`,
  );
  const env = { ...process.env, NODE_OPTIONS: `--require=${preload}` };
  const sroot = makeRoot();
  t.teardown(() => fs.rmSync(sroot, { recursive: true, force: true }));
  const sl = await sleeper();
  openStore(sroot).create('io', record('io', { pid: sl.pid, pidStartTime: sl.start })).release();
  const cases: [string[], number][] = [
    [['--version'], 0],
    [['--help'], 0],
    [['state', '--help'], 0],
    [['--root', sroot, 'state', 'io'], 0],
    [['--root', sroot, 'state', 'nosuch'], 1],
    [['--root', sroot, 'list'], 0],
    [['--root', sroot, 'list', '-f', 'json'], 0],
    [['features'], 0],
    [['spec', '-b', tmpDir()], 0],
    [['bogus'], 1],
    [['--bogus'], 1],
    [['--root', sroot, '--log-format=json', '--log', tmpFile('l'), 'state', 'nosuch'], 1],
  ];
  for (const [args, code] of cases) {
    const r = await tsrunc(args, { env });
    t.notMatch(s(r.stderr), /TOUCHED/, `${args.join(' ')}: no stdio stream created`);
    t.equal(r.exitCode, code, `${args.join(' ')}: exit ${code}`);
  }
  // The preload itself works (sanity): a script that touches process.stdout is caught.
  const probe = spawnSync(process.execPath, ['-e', 'process.stdout.write("x")'], { env, encoding: 'utf8' });
  t.equal(probe.status, 99);
  openStore(sroot).open('io').remove();
});

t.test('the bundle path under test', async (t) => {
  t.ok(fs.existsSync(TSRUNC_BIN), TSRUNC_BIN);
});

t.test('default --root follows runc (XDG_RUNTIME_DIR for non-root; empty means unset)', async (t) => {
  const { defaultRoot } = await import('../src/cli/context.js');
  t.equal(defaultRoot({}, 0), '/run/tsrunc');
  t.equal(defaultRoot({ XDG_RUNTIME_DIR: '/run/user/0' }, 0), '/run/tsrunc', 'root ignores XDG_RUNTIME_DIR');
  t.equal(defaultRoot({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/tsrunc');
  t.equal(defaultRoot({ XDG_RUNTIME_DIR: '' }, 1000), '/run/tsrunc', 'empty is unset');
  // Root with podman's XDG_RUNTIME_DIR='' uses the default.
  const r = await tsrunc(['state', 'nosuch-xdg'], { env: { ...process.env, XDG_RUNTIME_DIR: '' } });
  t.equal(s(r.stderr), 'tsrunc: container does not exist\n');
});

t.test('argv helpers', async (t) => {
  const { normalizeBooleans, parseSimple, prescan } = await import('../src/cli/argv.js');
  t.same(normalizeBooleans(['--debug=true', '--systemd-cgroup=false', 'run', '--', 'x', '--debug=true']), ['--debug', 'run', '--', 'x', '--debug=true']);
  t.same(normalizeBooleans(['--debug=maybe']), ['--debug=maybe'], 'invalid values are left for commander to reject');
  t.same(prescan(['--log', 'F', '--log-format=json', 'create', '--bundle', 'B', 'id']), { version: false, debug: false, log: 'F', logFormat: 'json', command: 'create' });
  t.equal(prescan(['--root', '/x', '-v']).version, true);
  t.equal(prescan(['state', '-v']).version, false, '-v after the command is not --version');
  t.same(parseSimple(['--root=/r', 'state', 'x', '--debug'], 'state')?.id, 'x');
  t.equal(parseSimple(['--root=/r', 'state', 'x', '--debug'], 'state')?.globals.root, '/r');
  for (const bad of [['state'], ['state', 'x', 'y'], ['state', '-h', 'x'], ['state', 'x', '--root'], ['--log-format', 'xml', 'state', 'x'], ['--root=', 'state', 'x'], ['list', 'x']]) {
    t.equal(parseSimple(bad, 'state'), undefined, bad.join(' '));
  }
});
