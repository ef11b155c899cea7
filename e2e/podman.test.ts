// podman 4.3 + conmon drive the runtime under test end to end (issue 8), and
// podman's default seccomp profile is in force (issue 7). Every scenario
// asserts what podman reports and what the container or the host sees; the
// same file passes with RUNTIME=runc. A private podman (e2e/lib/podman.ts)
// is removed at the end, and the last test checks nothing of it is left.
import tap, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, execaSync } from 'execa';
import { IMAGE, PROBE, runtimeDefaultRoot, setupPodman, type Podman } from './lib/podman.js';
import { IS_TSRUNC, RUNTIME } from './lib/runtime.js';

const hasPodman = execaSync('sh', ['-c', 'command -v podman && command -v conmon'], { reject: false }).exitCode === 0;
if (!hasPodman) {
  tap.plan(0, 'podman/conmon not installed (`make e2e` installs them)');
  process.exit(0);
}

const pm: Podman = await setupPodman();
tap.teardown(() => pm.teardown());
const podman = pm.run;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (r: { stdout?: unknown }) => String(r.stdout ?? '').trim();
const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');

/** Fails the test with podman's stderr when the command did not exit 0. */
function ok(tt: Test, r: { exitCode?: number; stderr?: unknown }, what: string): boolean {
  return tt.equal(r.exitCode, 0, `${what} exits 0`, { stderr: String(r.stderr ?? '') });
}

async function inspect(name: string, format: string): Promise<string> {
  const r = await podman(['inspect', '--format', format, name]);
  if (r.exitCode !== 0) throw new Error(`podman inspect ${name}: ${r.stderr}`);
  return out(r);
}

/** A file of `pid`'s cgroup of `controller`, as the host sees it. */
function hostCgroupFile(pid: number, controller: string, file: string): string {
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (p === undefined) continue;
    if (v2 ? ctrls === '' : ctrls!.split(',').includes(controller)) return path.join('/sys/fs/cgroup', v2 ? '' : controller, p, file);
  }
  throw new Error(`no ${controller} cgroup for pid ${pid}`);
}

/** A detached container, removed when `owner` ends (else by the final teardown). */
async function runDetached(owner: Test | undefined, name: string, cmd: string[], extra: string[] = []): Promise<{ id: string; pid: number }> {
  const r = await podman(['run', '-d', '--name', name, ...extra, IMAGE, ...cmd]);
  if (r.exitCode !== 0) throw new Error(`podman run -d ${name}: ${r.stderr}`);
  owner?.teardown(() => podman(['rm', '--force', '--time', '0', name]));
  return { id: out(r), pid: Number(await inspect(name, '{{.State.Pid}}')) };
}

const LOOP = ['sh', '-c', 'trap "exit 3" TERM; while :; do sleep 1; done'];

tap.test('podman info runs the runtime\'s --version and shows it', async (t) => {
  const r = await podman(['info', '--format', '{{.Host.OCIRuntime.Path}}|{{json .Host.OCIRuntime.Version}}']);
  ok(t, r, 'podman info');
  const [p, version] = out(r).split('|');
  t.equal(p, RUNTIME);
  const own = execaSync(RUNTIME, ['--version']).stdout.trim();
  t.equal(JSON.parse(version!), own, 'the version podman shows is the runtime\'s --version output');
  if (IS_TSRUNC) t.match(own, /^tsrunc version \d+\.\d+\.\d+\nspec: /m);
});

tap.test('run --rm: output, stdin, exit status, container removed', async (t) => {
  const r = await podman(['run', '--rm', '--name', 'rm1', IMAGE, 'echo', 'hello from podman']);
  ok(t, r, 'run --rm');
  t.equal(out(r), 'hello from podman');
  const piped = await podman(['run', '--rm', '-i', IMAGE, 'sh', '-c', 'tr a-z A-Z'], { input: 'through conmon\n' });
  ok(t, piped, 'run -i');
  t.equal(out(piped), 'THROUGH CONMON', 'stdin reaches the program (-i)');
  const five = await podman(['run', '--rm', IMAGE, 'sh', '-c', 'exit 5']);
  t.equal(five.exitCode, 5, 'the program\'s exit status is podman\'s');
  t.equal(out(await podman(['ps', '-a', '--filter', 'name=rm1', '--format', '{{.ID}}'])), '', 'rm1 is gone');
  // conmon hands the runtime its own /dev/null, read-only, as stdin; runc
  // reopens it inside the container (reOpenDevNull): read-write, and on a
  // mount the container's mountinfo lists, not the host's /dev.
  const io = await podman(['run', '--rm', IMAGE, 'sh', '-c', 'grep -E "^(flags|mnt_id):" /proc/self/fdinfo/0; cut -d" " -f1 /proc/self/mountinfo']);
  ok(t, io, 'run (stdin probe)');
  const flags = /^flags:\s+(\d+)$/m.exec(out(io))?.[1];
  const mntId = /^mnt_id:\s+(\d+)$/m.exec(out(io))?.[1];
  t.equal(flags !== undefined && parseInt(flags, 8) & 3, 2, 'stdin is /dev/null opened O_RDWR');
  t.ok(mntId !== undefined && out(io).split('\n').includes(mntId), 'on a mount of the container');
});

tap.test('run -d: the runtime under test, its default root, json logs', async (t) => {
  // long1 serves the exec, update and kill tests that follow (kill removes it).
  const { id, pid } = await runDetached(undefined, 'long1', LOOP);
  t.equal(await inspect('long1', '{{.OCIRuntime}}'), RUNTIME, 'podman recorded the runtime');
  t.equal(await inspect('long1', '{{.State.Status}}'), 'running');
  // podman passes no --root: the runtime's own default root holds the state.
  t.ok(fs.existsSync(path.join(runtimeDefaultRoot(), id)), `state in ${runtimeDefaultRoot()}`);
  const st = await execa(RUNTIME, ['state', id], { reject: false, stdin: 'ignore' });
  ok(t, st, `${RUNTIME} state (default root)`);
  const state = JSON.parse(String(st.stdout)) as { status: string; pid: number };
  t.equal(state.status, 'running');
  t.equal(state.pid, pid, 'the runtime\'s pid is podman\'s');
  // conmon ran create with the json log flags (the runtime is in runtime_supports_json).
  const conmonPid = Number(fs.readFileSync(await inspect('long1', '{{.ConmonPidFile}}'), 'utf8'));
  const conmonArgv = fs.readFileSync(`/proc/${conmonPid}/cmdline`, 'utf8').split('\0');
  t.equal(conmonArgv[conmonArgv.indexOf('-r') + 1], RUNTIME, 'conmon runs the runtime');
  t.ok(conmonArgv.includes('--log-format=json'), 'conmon passes --log-format=json');
});

tap.test('exec: output, status, user/cwd/env, missing program', async (t) => {
  const a = await podman(['exec', 'long1', 'sh', '-c', 'echo $((6*7))']);
  ok(t, a, 'exec');
  t.equal(out(a), '42');
  t.equal((await podman(['exec', 'long1', 'sh', '-c', 'exit 7'])).exitCode, 7, 'exit status of the exec');
  const b = await podman(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'FOO=bar', 'long1', 'sh', '-c', 'id -u; pwd; echo $FOO']);
  ok(t, b, 'exec -u -w -e');
  t.equal(out(b), '65534\n/tmp\nbar');
  const c = await podman(['exec', 'long1', 'nosuchprog']);
  t.equal(c.exitCode, 127, 'missing program: 127');
  t.match(String(c.stderr), /executable file not found in \$PATH.*not found/);
});

tap.test('exec -it and run -t under script: a /dev/pts terminal', async (t) => {
  for (const args of [
    ['exec', '-it', 'long1', 'sh', '-c', 'tty; echo tty-ok'],
    ['run', '--rm', '-t', IMAGE, 'sh', '-c', 'tty; echo tty-ok'],
  ]) {
    const r = await execa('script', ['-qec', pm.commandLine(args), '/dev/null'], { reject: false, stdin: 'ignore', timeout: 60_000 });
    ok(t, r, `script: podman ${args[0]} -t`);
    t.match(String(r.stdout), /\/dev\/pts\/\d+\r?\n/, `${args[0]}: stdin is a pty`);
    t.match(String(r.stdout), /tty-ok/);
  }
});

tap.test('pause / unpause: frozen cgroup, a counter stops then moves', async (t) => {
  const { pid } = await runDetached(t, 'count1', ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/count; usleep 50000; done']);
  const countFile = path.join(await inspect('count1', '{{.GraphDriver.Data.MergedDir}}'), 'tmp/count');
  // Written by rename, so a read (even while frozen) never sees a half-written file.
  const count = () => Number(fs.readFileSync(countFile, 'utf8').trim());
  for (let i = 0; i < 50 && !fs.existsSync(countFile); i++) await sleep(50);
  await sleep(200);
  ok(t, await podman(['pause', 'count1']), 'pause');
  t.equal(await inspect('count1', '{{.State.Status}}'), 'paused');
  const frozen = v2 ? fs.readFileSync(hostCgroupFile(pid, '', 'cgroup.freeze'), 'utf8').trim() : fs.readFileSync(hostCgroupFile(pid, 'freezer', 'freezer.state'), 'utf8').trim();
  t.equal(frozen, v2 ? '1' : 'FROZEN', 'the host sees the cgroup frozen');
  const c1 = count();
  await sleep(700);
  t.equal(count(), c1, 'the counter does not move while paused');
  ok(t, await podman(['unpause', 'count1']), 'unpause');
  t.equal(await inspect('count1', '{{.State.Status}}'), 'running');
  await sleep(700);
  t.ok(count() > c1, 'the counter moves again');
});

tap.test('update --memory 128m: visible inside and on the host', async (t) => {
  const pid = Number(await inspect('long1', '{{.State.Pid}}'));
  ok(t, await podman(['update', '--memory', '128m', 'long1']), 'update --memory');
  const file = v2 ? 'memory.max' : 'memory.limit_in_bytes';
  const inside = await podman(['exec', 'long1', 'cat', `/sys/fs/cgroup/${v2 ? '' : 'memory/'}${file}`]);
  ok(t, inside, 'exec cat');
  t.equal(out(inside), '134217728', 'inside the container');
  t.equal(fs.readFileSync(hostCgroupFile(pid, 'memory', file), 'utf8').trim(), '134217728', 'the host cgroup');
});

tap.test('kill -s TERM: the trap runs, podman wait reports 3', async (t) => {
  ok(t, await podman(['kill', '--signal', 'TERM', 'long1']), 'kill -s TERM');
  const w = await podman(['wait', 'long1']);
  ok(t, w, 'wait');
  t.equal(out(w), '3');
  t.equal(await inspect('long1', '{{.State.ExitCode}}'), '3');
  ok(t, await podman(['rm', 'long1']), 'rm');
});

tap.test('stop -t 2 of a program ignoring TERM: SIGKILL after 2 s, 137', async (t) => {
  // sleep as PID 1 of its namespace has no TERM handler, so TERM is ignored.
  await runDetached(t, 'stop1', ['sleep', '1000']);
  const t0 = Date.now();
  ok(t, await podman(['stop', '-t', '2', 'stop1']), 'stop -t 2');
  const took = Date.now() - t0;
  t.ok(took >= 2000, `stop waited the 2 s grace period (${took} ms)`);
  t.equal(await inspect('stop1', '{{.State.ExitCode}}'), '137');
  t.equal(await inspect('stop1', '{{.State.Status}}'), 'exited');
});

tap.test('logs, then rm -f of a running container: killed, removed, no state left', async (t) => {
  const { id, pid } = await runDetached(t, 'rmf1', ['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exec sleep 1000']);
  const cg = hostCgroupFile(pid, 'pids', '');
  // conmon reads the container's stdout/stderr the runtime handed through.
  let logs = '';
  for (let i = 0; i < 50 && !/to-stderr/.test(logs); i++) {
    const l = await podman(['logs', 'rmf1']);
    logs = `${String(l.stdout)}\n${String(l.stderr)}`;
    if (!/to-stderr/.test(logs)) await sleep(100);
  }
  t.match(logs, /to-stdout/);
  t.match(logs, /to-stderr/);
  ok(t, await podman(['rm', '--force', '--time', '0', 'rmf1']), 'rm -f');
  t.equal(out(await podman(['ps', '-a', '--filter', `id=${id}`, '--format', '{{.ID}}'])), '', 'podman forgot it');
  t.notOk(fs.existsSync(`/proc/${pid}`) && !/ Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 'the process is gone');
  t.notOk(fs.existsSync(path.join(runtimeDefaultRoot(), id)), 'no runtime state');
  t.notOk(fs.existsSync(cg), 'its cgroup is removed');
});

tap.test('run --memory 64m --pids-limit 32: limits visible inside', async (t) => {
  const files = v2 ? ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max'] : ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max'];
  const r = await podman(['run', '--rm', '--memory', '64m', '--pids-limit', '32', IMAGE, 'cat', ...files]);
  ok(t, r, 'run --memory --pids-limit');
  t.equal(out(r), '67108864\n32');
});

tap.test('podman\'s default seccomp profile is in force', async (t) => {
  // The premises of the probe's expectations, read from the profile podman uses.
  const profile = JSON.parse(fs.readFileSync('/usr/share/containers/seccomp.json', 'utf8')) as {
    defaultAction: string;
    defaultErrnoRet?: number;
    syscalls: { names: string[]; action: string; errnoRet?: number; args?: unknown[] | null; excludes?: { caps?: string[] } }[];
  };
  t.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
  t.equal(profile.defaultErrnoRet, 38, 'unlisted syscalls fail with ENOSYS');
  t.notOk(profile.syscalls.some((s) => s.names.includes('add_key')), 'add_key is in no rule');
  t.ok(profile.syscalls.every((s) => !s.names.includes('personality') || (s.args?.length ?? 0) > 0), 'personality only with listed arguments');
  t.ok(profile.syscalls.some((s) => s.names.includes('kcmp') && s.action === 'SCMP_ACT_ERRNO' && s.errnoRet === 1 && s.excludes?.caps?.includes('CAP_SYS_PTRACE')), 'kcmp: EPERM without CAP_SYS_PTRACE');
  t.ok(profile.syscalls.some((s) => s.names.includes('unshare') && s.action === 'SCMP_ACT_ALLOW' && !s.args?.length), 'unshare is allowed outright');

  const script = `grep '^Seccomp:' /proc/self/status; ${PROBE}; unshare -r true && echo unshare=ok || echo unshare=fail`;
  const confined = await podman(['run', '--rm', IMAGE, 'sh', '-c', script]);
  ok(t, confined, 'run with the default profile');
  const c = out(confined);
  t.match(c, /^Seccomp:\s+2$/m, 'a seccomp filter is installed');
  t.match(c, /^add_key=E38$/m, 'unlisted syscall: the profile\'s defaultErrnoRet (ENOSYS)');
  t.match(c, /^personality_query=ok$/m, 'personality(0xffffffff) matches an argument rule');
  t.match(c, /^personality_no_randomize=E38$/m, 'personality(ADDR_NO_RANDOMIZE) matches none: default action');
  t.match(c, /^kcmp_self=E1$/m, 'kcmp: the rule\'s errnoRet (EPERM)');
  t.notMatch(c, /^netlink_audit_socket=E22$/m, 'with CAP_AUDIT_WRITE, no EINVAL rule for audit sockets');
  // podman's profile (unlike Docker's) allows unshare even without
  // CAP_SYS_ADMIN, so an unprivileged user namespace is not refused.
  t.match(c, /^unshare=ok$/m, 'unshare -r, allowed by this profile, works');

  // The same probe unconfined: every verdict above was the filter's.
  const free = await podman(['run', '--rm', '--security-opt', 'seccomp=unconfined', IMAGE, 'sh', '-c', script]);
  ok(t, free, 'run with seccomp=unconfined');
  const f = out(free);
  t.match(f, /^Seccomp:\s+0$/m, 'no filter');
  t.match(f, /^add_key=ok$/m);
  t.match(f, /^personality_no_randomize=ok$/m);
  t.match(f, /^kcmp_self=ok$/m);
});

// podman resolves the profile's caps: without CAP_AUDIT_WRITE, four
// conditional socket rules that libseccomp refuses (EEXIST) on x86 unless
// the socketcall pseudo-syscall of the allow list was added first, as runc does.
tap.test('run --cap-drop all --security-opt no-new-privileges: the resolved profile compiles', async (t) => {
  const r = await podman(['run', '--rm', '--cap-drop', 'all', '--security-opt', 'no-new-privileges', IMAGE, 'sh', '-c', `grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; ${PROBE}`]);
  ok(t, r, 'run --cap-drop all');
  const o = out(r);
  t.match(o, /^CapEff:\s+0+$/m, 'no capabilities');
  t.match(o, /^NoNewPrivs:\s+1$/m);
  t.match(o, /^Seccomp:\s+2$/m);
  t.match(o, /^netlink_audit_socket=E22$/m, 'audit netlink socket: the EINVAL rule');
  t.match(o, /^add_key=E38$/m, 'still the profile\'s default');
});

// podman passes every host device with fileMode as stat(2) gives it (type bits included).
tap.test('run --privileged: host devices, full capabilities, no seccomp', async (t) => {
  const block = fs.readdirSync('/dev').find((n) => {
    try {
      return fs.statSync(`/dev/${n}`).isBlockDevice();
    } catch {
      return false;
    }
  });
  const r = await podman(['run', '--rm', '--privileged', IMAGE, 'sh', '-c', `grep -E '^(CapEff|Seccomp):' /proc/self/status; ls -l /dev/null${block ? ` /dev/${block}` : ''}`]);
  ok(t, r, 'run --privileged');
  const o = out(r);
  const hostBnd = /^CapBnd:\s+(\w+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  t.match(o, new RegExp(`^CapEff:\\s+${hostBnd}$`, 'm'), 'every capability of the host\'s bounding set');
  t.match(o, /^Seccomp:\s+0$/m);
  t.match(o, /^crw-rw-rw- .* 1, +3 .*\/dev\/null$/m, '/dev/null: char 1:3, 0666');
  if (block) {
    const st = fs.statSync(`/dev/${block}`);
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    t.match(o, new RegExp(`^b.* ${major}, +${minor} .*/dev/${block}$`, 'm'), `host block device /dev/${block} (${major}:${minor})`);
  } else t.comment('no block device in the host\'s /dev: block-device check not run');
});

tap.test('missing program: podman says not found, exit 127, json oci-log', async (t) => {
  const r = await podman(['run', '--name', 'miss1', IMAGE, 'nosuchprog']);
  t.teardown(() => podman(['rm', '--force', '--time', '0', 'miss1']));
  t.equal(r.exitCode, 127);
  t.match(String(r.stderr), /"nosuchprog": executable file not found in \$PATH/);
  t.match(String(r.stderr), /OCI runtime attempted to invoke a command that was not found/);
  // The runtime wrote its error where podman told it to, as one json record.
  const id = await inspect('miss1', '{{.Id}}');
  const log = path.join(pm.dir, 'run/overlay-containers', id, 'userdata/oci-log');
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  const last = JSON.parse(lines.at(-1)!) as { level: string; msg: string; time: string };
  t.equal(last.level, 'error');
  t.match(last.msg, /exec: "nosuchprog": executable file not found in \$PATH/);
  t.ok(!Number.isNaN(Date.parse(last.time)), 'an RFC 3339 time');
});

tap.test('teardown leaves nothing: containers, mounts, cgroups, conmon, runtime state', async (t) => {
  const ids = pm.containerIds();
  t.ok(ids.length >= 10, `podman made ${ids.length} containers`);
  await pm.teardown();
  t.same(pm.leftovers(), [], 'nothing left');
  t.notOk(fs.existsSync(pm.dir), 'private directory removed');
});
