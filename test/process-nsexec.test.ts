// tsrunc-nsexec on its own: it reports each failure as one JSON message on
// the sync socket and exits non-zero; with --fork the reported pid is a
// child of the caller (CLONE_PARENT), not of nsexec.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Channel } from '../src/process/channel.js';
import { sys } from '../src/sys/linux.js';

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
