// Bad input to create/run: one clear error, non-zero exit, and nothing left
// behind (no state dir, no mount, no process).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { removeRoot } from './helpers/run.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BIN = process.env.RUNTIME ? path.resolve(process.env.RUNTIME) : path.join(REPO, 'bin', 'tsrunc');

function tsr(root: string, args: string[]) {
  return execa(BIN, ['--root', root, ...args], { reject: false, stdin: 'ignore' });
}

const root = makeRoot();
const bundles: Bundle[] = [];
t.teardown(async () => {
  await removeRoot(root);
  for (const b of bundles) b.remove();
});

function bundle(args: string[] = ['true'], edit?: (c: any) => void): Bundle {
  const b = makeBundle(edit, args);
  bundles.push(b);
  return b;
}

function initsOf(b: Bundle): number[] {
  const found: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('init.cjs') && fs.readFileSync(`/proc/${p}/environ`, 'utf8') === '') {
        // our inits run with an empty environment; check they are not this bundle's by their mounts
        if (fs.readFileSync(`/proc/${p}/mountinfo`, 'utf8').includes(b.dir)) found.push(Number(p));
      }
    } catch {
      // gone
    }
  }
  return found;
}

async function expectFailure(t: any, args: string[], re: RegExp, b?: Bundle, id = args[args.length - 1]!): Promise<void> {
  const before = fs.readdirSync(root);
  const r = await tsr(root, args);
  t.equal(r.exitCode, 1, 'exit status 1');
  t.match(String(r.stderr), re);
  t.equal(String(r.stderr).trim().split('\n').length, 1, 'one line');
  t.same(fs.readdirSync(root), before, 'no state dir');
  t.notOk(fs.existsSync(path.join(root, id)));
  if (b) {
    t.notMatch(fs.readFileSync('/proc/self/mountinfo', 'utf8'), b.dir, 'no mount');
    t.same(initsOf(b), [], 'no process');
  }
}

t.test('missing bundle', async (t) => {
  await expectFailure(t, ['create', '-b', '/nonexistent/bundle', 'b1'], /bundle "\/nonexistent\/bundle": no such directory/);
});

t.test('missing config.json', async (t) => {
  const b = bundle();
  fs.rmSync(path.join(b.dir, 'config.json'));
  await expectFailure(t, ['create', '-b', b.dir, 'b2'], /config\.json: no such file/, b);
});

t.test('missing rootfs', async (t) => {
  const b = bundle();
  fs.rmSync(b.rootfs, { recursive: true });
  await expectFailure(t, ['create', '-b', b.dir, 'b3'], /rootfs.*no such directory/, b);
});

t.test('program not found in the container fails at create time', async (t) => {
  const b = bundle(['nosuch']);
  await expectFailure(t, ['create', '-b', b.dir, 'b4'], /exec: "nosuch": executable file not found in \$PATH/, b);
  const b2 = bundle(['/bin/nosuch']);
  await expectFailure(t, ['run', '-b', b2.dir, 'b5'], /exec: "\/bin\/nosuch": stat \/bin\/nosuch: no such file or directory/, b2);
});

t.test('terminal: true without --console-socket is refused clearly instead of hanging', async (t) => {
  const b = bundle(['true'], (c) => (c.process.terminal = true));
  await expectFailure(t, ['create', '-b', b.dir, 'b6'], /cannot allocate tty if tsrunc will detach without setting console socket/, b);
});

t.test('malformed and duplicate ids', async (t) => {
  const b = bundle(['sleep', '100']);
  await expectFailure(t, ['create', '-b', b.dir, 'bad/id'], /invalid container id/);
  await expectFailure(t, ['create', '-b', b.dir, '..'], /invalid container id/, undefined, 'no-such-dir');
  const fd = fs.openSync('/dev/null', 'w');
  const first = await execa(BIN, ['--root', root, 'create', '-b', b.dir, 'dup'], { reject: false, stdio: ['ignore', fd, fd] } as any);
  fs.closeSync(fd);
  t.equal(first.exitCode, 0);
  const pid = JSON.parse(String((await tsr(root, ['state', 'dup'])).stdout)).pid;
  const r = await tsr(root, ['create', '-b', b.dir, 'dup']);
  t.equal(r.exitCode, 1);
  t.match(String(r.stderr), /container with id exists/);
  const st = JSON.parse(String((await tsr(root, ['state', 'dup'])).stdout));
  t.equal(st.status, 'created', 'the existing container is untouched');
  t.equal(st.pid, pid);
  t.equal((await tsr(root, ['delete', '--force', 'dup'])).exitCode, 0);
});

t.test('a failing mount is reported and cleaned up', async (t) => {
  const b = bundle(['true'], (c) => c.mounts.push({ destination: '/data', type: 'bind', source: '/nonexistent-source', options: ['rbind'] }));
  await expectFailure(t, ['run', '-b', b.dir, 'b7'], /mount source \/nonexistent-source for \/data: ENOENT/, b);
});

t.test('commands on unknown containers', async (t) => {
  for (const cmd of [['start', 'nope'], ['kill', 'nope'], ['delete', 'nope'], ['state', 'nope']]) {
    const r = await tsr(root, cmd);
    t.equal(r.exitCode, 1, cmd.join(' '));
    t.match(String(r.stderr), /container does not exist/);
  }
});
