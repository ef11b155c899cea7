// config.md "Process" and "Linux Process": the terminal and the attributes
// runtime-spec 1.1-1.3 added (personality, scheduler, ioPriority,
// execCPUAffinity). The older ones (user, rlimits, capabilities,
// noNewPrivileges, oomScoreAdj) are in config.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, execaSync } from 'execa';
import t from 'tap';
import { Runtime, requirement, newId, skipReq } from '../lib/harness.js';

const rt = new Runtime(t);
const PROCESS = 'config.md#process';
const LINUX_PROCESS = 'config.md#linux-process';

const hasPython = execaSync('python3', ['-c', 'import socket; socket.recv_fds'], { reject: false }).exitCode === 0;

// "terminal (bool, OPTIONAL) specifies whether a terminal is attached to the
// process" / "consoleSize ... specifies the console size in characters of the
// terminal." / config-linux.md default devices: "/dev/console (if terminal is
// enabled in the config by bind mounting the pseudoterminal pty to /dev/console)".
requirement(t, { id: 'process.terminal', section: PROCESS, level: 'MUST', title: 'terminal: the process gets a pty (via --console-socket), sized by consoleSize, bound at /dev/console' }, async (t) => {
  if (!hasPython) return skipReq(t, 'python3 with socket.recv_fds is needed to receive the console fd');
  const dir = rt.tmpdir('console');
  const sock = path.join(dir, 's');
  const rx = execa('python3', ['-c', `
import json, os, select, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
m = fds[0]
os.write(m, b'tty; stty size; [ /dev/console -ef "$(tty)" ] && echo console-ok; exit\\n')
out = b""; end = time.time() + 10
while time.time() < end:
    r, _, _ = select.select([m], [], [], 0.2)
    if not r: continue
    try: d = os.read(m, 4096)
    except OSError: break
    if not d: break
    out += d
print(json.dumps(out.decode(errors="replace")), flush=True)
`, sock], { reject: false, timeout: 30_000 });
  await new Promise<void>((resolve) => rx.stdout!.once('data', () => resolve()));
  const bundle = rt.bundle((c) => {
    c.process.terminal = true;
    c.process.consoleSize = { height: 33, width: 99 };
  }, ['sh']);
  const id = rt.track(newId());
  const c = await rt.execDetached(['create', '--bundle', bundle.dir, '--console-socket', sock, id]);
  if (c.exitCode !== 0) rx.kill();
  t.equal(c.exitCode, 0, c.output);
  await rt.start(id);
  const out = JSON.parse(String((await rx).stdout).trim().split('\n').at(-1)!).replace(/\r/g, '') as string;
  t.match(out, /\n\/dev\/pts\/\d+\n/, 'a pty');
  t.match(out, /\n33 99\n/, 'consoleSize');
  t.match(out, /console-ok/, '/dev/console is the pty');
});

// "domain (string, REQUIRED) ... LINUX and LINUX32" (linux.personality).
requirement(t, { id: 'linux.personality', section: 'config-linux.md#personality', level: 'MUST', title: 'personality LINUX32 is set for the process' }, async (t) => {
  const r = await rt.runScript('cat /proc/self/personality', (c) => (c.linux.personality = { domain: 'LINUX32' }));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.trim(), '00000008');
});

// "scheduler (object, OPTIONAL) is an object describing the scheduler
// properties for the process." (sched_setattr)
requirement(t, { id: 'process.scheduler', section: LINUX_PROCESS, level: 'MUST', title: 'scheduler policy and nice are set for the process' }, async (t) => {
  const r = await rt.runScript('cut -d" " -f19,41 /proc/self/stat', (c) => (c.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 }));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.trim(), '7 3', 'nice 7, policy 3 (SCHED_BATCH)');
});

// "ioPriority (object, OPTIONAL) configures the I/O priority settings for the
// container's processes" (ioprio_set).
requirement(t, { id: 'process.ioPriority', section: LINUX_PROCESS, level: 'MUST', title: 'ioPriority class and priority are set for the process' }, async (t) => {
  if (execaSync('sh', ['-c', 'command -v ionice'], { reject: false }).exitCode !== 0) return skipReq(t, 'ionice is needed to read a process\'s I/O priority');
  const { bundle } = rt.outBundle('sleep 30', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 5 }));
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0);
  await rt.start(id);
  const st = await rt.state(id);
  const io = await execa('ionice', ['-p', String(st?.pid)], { reject: false });
  t.match(String(io.stdout), /best-effort: prio 5/);
  await rt.delete(id, true);
});

// "execCPUAffinity ... final (string, OPTIONAL) is a list of CPUs a process
// will be run on after the transition to container's cgroup."
requirement(t, { id: 'process.execCPUAffinity', section: LINUX_PROCESS, level: 'MUST', title: 'execCPUAffinity.final is the process\'s CPU affinity' }, async (t) => {
  if (os.cpus().length < 2) return skipReq(t, 'needs at least 2 CPUs to tell an affinity from the default');
  const last = String(os.cpus().length - 1);
  const r = await rt.runScript('grep Cpus_allowed_list /proc/self/status', (c) => (c.process.execCPUAffinity = { final: last }));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, new RegExp(`Cpus_allowed_list:\\s+${last}$`, 'm'));
});

// "If a hook's timeout is reached the hook MUST be killed" and the operation fails.
requirement(t, { id: 'hooks.timeout', section: 'config.md#posix-platform-hooks', level: 'MUST', title: 'a hook past its timeout is killed and its step fails' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const { bundle } = rt.outBundle('true', (c) => {
    c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `sleep 30; touch ${dir}/finished`], timeout: 1 }] };
  });
  const t0 = Date.now();
  const r = await rt.create(newId(), bundle);
  t.not(r.exitCode, 0, 'create fails');
  t.ok(Date.now() - t0 < 15_000, 'the hook was not waited for');
  t.notOk(fs.existsSync(path.join(dir, 'finished')), 'the hook never finished');
});

// "env (array of strings, OPTIONAL) with the same semantics as IEEE Std
// 1003.1-2008's environ" / "args ... same semantics as ... execv's argv".
requirement(t, { id: 'hooks.args-env', section: 'config.md#posix-platform-hooks', level: 'MUST', title: 'hooks get args (argv0 included) and exactly their env' }, async (t) => {
  const dir = rt.tmpdir('hooks');
  const { bundle } = rt.outBundle('true', (c) => {
    c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['custom-argv0', '-c', `echo "$(tr '\\0' ' ' < /proc/$$/cmdline | cut -d' ' -f1) $1 $(env | sort | tr '\\n' ' ')" > ${dir}/out`, 'zero', 'first'], env: ['A=1', 'B=two words'] }] };
  });
  const id = newId();
  t.equal((await rt.create(id, bundle)).exitCode, 0);
  const line = fs.readFileSync(path.join(dir, 'out'), 'utf8').trim();
  t.match(line, /^custom-argv0 first /, 'argv0 and the arguments');
  t.match(line, /A=1 B=two words/, 'the env given');
  t.notMatch(line, /\bHOME=|\bPATH=\/usr/, 'nothing of the runtime\'s environment');
  await rt.delete(id, true);
});
