// tsrunc-nsexec on its own: it reports each failure as one JSON message on
// the sync socket and exits non-zero; with --fork the reported pid is a
// child of the caller (CLONE_PARENT), not of nsexec.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Channel } from '../src/process/channel.js';
import { sys } from '../src/sys/linux.js';

const O_PATH = 0o10000000; // not in @types/node's fs.constants
const NSEXEC = path.resolve(import.meta.dirname, '..', 'dist', 'tsrunc-nsexec');

async function runNsexec(args: string[]): Promise<{ msgs: any[]; code: number | null }> {
  const [parent, child] = sys().socketpair();
  const p = spawn(NSEXEC, ['--sync-fd', '3', ...args], { stdio: ['ignore', 'ignore', 'inherit', child] });
  fs.closeSync(child);
  const exit = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  const ch = new Channel(parent);
  const msgs: any[] = [];
  for (let m = ch.recv(); m; m = ch.recv()) msgs.push(m);
  ch.close();
  return { msgs, code: await exit };
}

t.test('failures are messages', async (t) => {
  let r = await runNsexec(['--join', '0x40000000:/nonexistent', '--', '/bin/true']);
  t.equal(r.code, 1);
  t.same(r.msgs, [{ type: 'error', step: 'open namespace', detail: '/nonexistent', errno: 2 }]);
  r = await runNsexec(['--join', '0x40000000:/proc/self/ns/uts', '--', '/bin/true']);
  t.same(r.msgs, [{ type: 'error', step: 'setns', detail: '/proc/self/ns/uts', errno: 22 }], 'setns checks the type');
  r = await runNsexec(['--bogus']);
  t.equal(r.msgs[0].step, 'argv');
  r = await runNsexec(['--', '/nonexistent-prog']);
  t.same(r.msgs.map((m) => m.type), ['pid', 'error']);
  t.equal(r.msgs[1].step, 'execve');
});

t.test('--unshare and --fork: the child runs the program in the new namespaces', async (t) => {
  const out = `/tmp/tsr-nsexec-${process.pid}`;
  t.teardown(() => fs.rmSync(out, { force: true }));
  const r = await runNsexec(['--unshare', '0x24000000', '--fork', '--', '/bin/sh', '-c', `echo $$ $(readlink /proc/self/ns/uts) > ${out}`]);
  t.equal(r.code, 0);
  t.equal(r.msgs.length, 1);
  t.equal(r.msgs[0].type, 'pid');
  t.ok(await new Promise((res) => { const end = Date.now() + 3000; const tick = () => (fs.existsSync(out) && fs.readFileSync(out, 'utf8').includes('\n') ? res(true) : Date.now() > end ? res(false) : setTimeout(tick, 10)); tick(); }));
  const [pid, uts] = fs.readFileSync(out, 'utf8').trim().split(' ');
  t.equal(pid, '1', 'PID 1 of the new pid namespace');
  t.not(uts, fs.readlinkSync('/proc/self/ns/uts'));
  // CLONE_PARENT made it our child: reap it.
  await sys().waitpid(r.msgs[0].pid);
});

// CVE-2019-5736: the classic attack keeps an O_PATH fd to /proc/<pid>/exe of
// a runtime process that entered the container and reopens it for writing
// once that binary is no longer being executed. With --ro-exe the program
// runs from a read-only bind of itself, so the reopen fails with EROFS.
t.test('--ro-exe: /proc/<pid>/exe cannot be reopened for writing', async (t) => {
  const dir = fs.mkdtempSync('/var/tmp/tsr-nsexec-roexe-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const prog = path.join(dir, 'victim');
  fs.copyFileSync('/bin/sleep', prog);
  fs.chmodSync(prog, 0o755);
  const attack = async (extra: string[]): Promise<string> => {
    const [parent, child] = sys().socketpair();
    const p = spawn(NSEXEC, ['--sync-fd', '3', ...extra, '--', prog, '5'], { stdio: ['ignore', 'ignore', 'inherit', child] });
    fs.closeSync(child);
    const exited = new Promise((r) => p.on('exit', r));
    const ch = new Channel(parent);
    const m = ch.recv();
    const pid = m?.type === "pid" ? m.pid : -1;
    ch.close();
    // Wait until the helper has exec'd the program.
    const end = Date.now() + 3000;
    while (Date.now() < end && fs.readlinkSync(`/proc/${pid}/exe`) !== prog) await new Promise((r) => setTimeout(r, 5));
    const fd = fs.openSync(`/proc/${pid}/exe`, O_PATH);
    p.kill('SIGKILL');
    await exited;
    try {
      fs.closeSync(fs.openSync(`/proc/self/fd/${fd}`, 'r+'));
      return 'opened for writing';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? String(e);
    } finally {
      fs.closeSync(fd);
    }
  };
  t.equal(await attack([]), 'opened for writing', 'without --ro-exe the attack works (the test is real)');
  t.equal(await attack(['--ro-exe']), 'EROFS', 'with --ro-exe it fails');
  t.notOk(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'the read-only bind stayed in the helper\'s own mount namespace');
});
