// The config corpus (test/configs/*.json: one case per file, with its verdict
// and the JSON pointers the messages must name) plus the validators' contract.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateConfig, validateFeatures, validateProcess, validateState } from '../src/config/validate.js';
import { loadBundle } from '../src/config/load.js';
import { TsruncError } from '../src/errors.js';

const CORPUS = path.join(import.meta.dirname, 'configs');

interface Case {
  description: string;
  forCreate: boolean;
  valid: boolean;
  errors: string[];
  config: unknown;
}

/** A bundle with the directories and files the corpus refers to: rootfs/ and a plain file. */
function makeBundle(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-cfg-'));
  fs.mkdirSync(path.join(dir, 'rootfs'));
  fs.writeFileSync(path.join(dir, 'file'), '');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const MESSAGE = /^(\(root\)|(\/[^:]*)+): \S/;

t.test('corpus', async (t) => {
  const files = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.json')).sort();
  t.ok(files.length >= 40, `at least 40 cases (${files.length})`);
  const bundle = makeBundle(t);
  for (const file of files) {
    const c = JSON.parse(fs.readFileSync(path.join(CORPUS, file), 'utf8')) as Case;
    t.test(`${file}: ${c.description}`, async (t) => {
      const messages = validateConfig(c.config, { forCreate: c.forCreate, bundle });
      if (c.valid) {
        t.same(messages, [], 'valid');
        return;
      }
      t.ok(messages.length > 0, 'invalid');
      for (const m of messages) t.match(m, MESSAGE, `one line "<pointer>: <problem>": ${m}`);
      for (const p of c.errors) {
        t.ok(messages.some((m) => m.startsWith(`${p}: `)), `names ${p}`, { messages });
      }
    });
  }
});

function runcSpec(): Record<string, any> {
  const file = path.join(CORPUS, 'valid-runc-spec.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as Case).config as Record<string, any>;
}

t.test('runc spec as it is on this machine', async (t) => {
  const dir = makeBundle(t);
  const { execFileSync } = await import('node:child_process');
  for (const args of [['spec'], ['spec', '--rootless']]) {
    fs.rmSync(path.join(dir, 'config.json'), { force: true });
    try {
      execFileSync('runc', args, { cwd: dir, stdio: 'ignore' });
    } catch {
      t.pass('runc is not installed: skipped', { skip: true });
      return;
    }
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    t.same(validateConfig(doc, { forCreate: true, bundle: dir }), [], `runc ${args.join(' ')}`);
  }
});

t.test('messages', async (t) => {
  const c = runcSpec();
  t.same(validateConfig({ ...c, ociVersion: '2.0.0' }, { forCreate: false }), ['/ociVersion: unsupported version "2.0.0", want 1.x']);
  const noCwd = structuredClone(c);
  delete noCwd.process.cwd;
  t.same(validateConfig(noCwd, { forCreate: false }), ["/process: must have required property 'cwd'"]);
  const badLimit = structuredClone(c);
  badLimit.linux.resources.memory = { limit: 'x' };
  t.same(validateConfig(badLimit, { forCreate: false }), ['/linux/resources/memory/limit: must be integer']);
  const badNs = structuredClone(c);
  badNs.linux.namespaces.push({ type: 'nope' });
  const [nsMsg] = validateConfig(badNs, { forCreate: false });
  t.match(nsMsg, /^\/linux\/namespaces\/5\/type: must be one of "mount", "pid", .*"time"$/, 'enum lists the allowed values');
  const cap = structuredClone(c);
  cap.process.capabilities.ambient = ['CAP_TEST'];
  t.same(validateConfig(cap, { forCreate: false }), ['/process/capabilities/ambient/0: unknown capability "CAP_TEST"']);
  const ipc = structuredClone(c);
  ipc.linux.namespaces = ipc.linux.namespaces.filter((n: { type: string }) => n.type !== 'ipc');
  ipc.linux.sysctl = { 'kernel.shmmax': '1' };
  t.same(validateConfig(ipc, { forCreate: false }), [`/linux/sysctl/kernel.shmmax: sysctl "kernel.shmmax" is not allowed in the host's ipc namespace`]);
});

t.test('every problem is listed, once, without combinator noise', async (t) => {
  const c = runcSpec();
  c.ociVersion = '9.9.9';
  c.process.user.uid = -5;
  c.process.rlimits[0].type = 'RLIMIT_BOGUS';
  c.mounts[0].destination = ''; // empty: a relative one is valid (config.md)
  c.linux.resources.memory = { limit: 'x', swappiness: 101 };
  const msgs = validateConfig(c, { forCreate: false });
  t.equal(msgs.length, 6, msgs.join('\n'));
  t.equal(new Set(msgs).size, msgs.length, 'no duplicates');
  t.notOk(msgs.some((m) => /anyOf|oneOf|must match a schema/.test(m)), 'no anyOf/oneOf noise');
});

t.test('unknown properties are accepted everywhere', async (t) => {
  const c = runcSpec();
  c['org.example.future'] = { nested: [1] };
  c.process['x-new'] = 1;
  c.linux['x-new'] = 'y';
  c.linux.resources['x-controller'] = {};
  c.mounts[0]['x-flag'] = true;
  t.same(validateConfig(c, { forCreate: false }), []);
  t.same(validateProcess({ cwd: '/', args: ['sh'], future: { a: 1 } }), []);
  t.same(validateState({ ociVersion: '1.3.0', id: 'a', status: 'stopped', bundle: '/b', future: 1 }), []);
  t.same(validateFeatures({ ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', future: [] }), []);
});

t.test('root.path is resolved against the bundle, only when creating', async (t) => {
  const dir = makeBundle(t);
  const c = runcSpec();
  t.same(validateConfig(c, { forCreate: true, bundle: dir }), []);
  t.match(validateConfig(c, { forCreate: true, bundle: path.join(dir, 'rootfs') }), [/^\/root\/path: "rootfs" \(.*\): no such directory$/]);
  t.same(validateConfig({ ...c, root: { path: 'nowhere' } }, { forCreate: false, bundle: dir }), []);
  t.same(validateConfig({ ...c, root: { path: path.join(dir, 'rootfs') } }, { forCreate: true, bundle: '/' }), [], 'absolute root.path');
});

t.test('process validator (exec --process)', async (t) => {
  t.same(validateProcess(runcSpec().process), []);
  t.same(validateProcess({ cwd: '/', args: ['sh'], env: ['A=b'], user: { uid: 1, gid: 1 }, capabilities: { bounding: ['CAP_KILL'] } }), []);
  t.same(validateProcess({ args: ['sh'] }), ["(root): must have required property 'cwd'"]);
  t.same(validateProcess({ cwd: 'rel', args: [] }), ['/cwd: must be an absolute path, got "rel"', '/args: must not be empty']);
  t.same(validateProcess({ cwd: '/', args: ['x'], capabilities: { effective: ['CAP_TEST'] } }), ['/capabilities/effective/0: unknown capability "CAP_TEST"']);
  t.same(validateProcess('sh'), ['(root): must be object']);
});

t.test('state validator', async (t) => {
  const ok = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b', annotations: { a: 'b' } };
  t.same(validateState(ok), []);
  t.same(validateState({ ...ok, status: 'paused' }), []);
  t.same(validateState({ ...ok, status: 'sleeping' }), ['/status: must be one of "creating", "created", "running", "stopped", "paused"']);
  t.same(validateState({ ...ok, pid: undefined }), ['/pid: required while status is "running"']);
  t.same(validateState({ ociVersion: '1.3.0', status: 'stopped' }), ["(root): must have required property 'id'", "(root): must have required property 'bundle'"]);
  t.same(validateState({ ...ok, pid: -1 }), ['/pid: must be >= 0']);
  t.same(validateState({ ...ok, id: '' }), ['/id: must not be empty']);
});

t.test('features validator', async (t) => {
  const runcLike = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.3.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: ['bind', 'rbind', 'ro'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts', 'time'],
      capabilities: ['CAP_CHOWN', 'CAP_KILL'],
      cgroup: { v1: false, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: ['SECCOMP_FILTER_FLAG_LOG'], supportedFlags: [] },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: true, schemata: true },
      memoryPolicy: { modes: ['MPOL_DEFAULT', 'MPOL_BIND'], flags: ['MPOL_F_STATIC_NODES'] },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
    },
    annotations: { 'org.opencontainers.runc.version': '0.1.0' },
    potentiallyUnsafeConfigAnnotations: ['bundle', 'org.systemd.property.'],
  };
  t.same(validateFeatures(runcLike), []);
  t.same(validateFeatures({ ociVersionMin: '1.0.0' }), ["(root): must have required property 'ociVersionMax'"]);
  t.same(validateFeatures({ ...runcLike, linux: { namespaces: ['bogus'], cgroup: { v2: 'yes' } } }), [
    '/linux/namespaces/0: must be one of "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"',
    '/linux/cgroup/v2: must be boolean',
  ]);
});

t.test('loadBundle', async (t) => {
  const dir = makeBundle(t);
  const write = (doc: unknown) => fs.writeFileSync(path.join(dir, 'config.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
  const err = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      t.type(e, TsruncError);
      const msg = (e as Error).message;
      t.notMatch(msg, /\n/, 'one line');
      return msg;
    }
    t.fail('did not throw');
    return '';
  };
  t.match(err(() => loadBundle(path.join(dir, 'nope'), { forCreate: true })), /^bundle ".*nope": no such directory$/);
  t.match(err(() => loadBundle(dir, { forCreate: true })), /config\.json: no such file/);
  write('{"ociVersion": "1.0.0",\n  "process": }');
  t.match(err(() => loadBundle(dir, { forCreate: true })), /^config\.json: invalid JSON: .* at position 37 \(line 2 column 14\)$/);
  const c = runcSpec();
  c.process.cwd = 'x';
  c.linux.resources.memory = { limit: 'x' };
  write(c);
  t.equal(
    err(() => loadBundle(dir, { forCreate: true })),
    'config.json: /linux/resources/memory/limit: must be integer; /process/cwd: must be an absolute path, got "x"',
  );
  write(runcSpec());
  fs.symlinkSync(dir, dir + '-link');
  t.teardown(() => fs.rmSync(dir + '-link', { force: true }));
  const b = loadBundle(dir + '-link', { forCreate: true });
  t.equal(b.bundle, fs.realpathSync(dir));
  t.equal(b.rootfs, path.join(fs.realpathSync(dir), 'rootfs'));
  t.equal(b.spec.process?.args?.[0], 'sh');
});
