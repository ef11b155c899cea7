// Process attributes as the container's program sees them: capabilities (all
// five sets), rlimits, user/groups/umask, no_new_privs (with a real setuid
// binary), oom_score_adj, personality, execCPUAffinity, the session keyring,
// and what happens when the host cannot give what the config asks for.
// Differential against runc 1.1.5 where runc implements the attribute.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, execaSync } from 'execa';
import { makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';

const RUNC = '/usr/sbin/runc';
const root = makeRoot();
const runcRoot = makeRoot();
t.teardown(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(runcRoot, { recursive: true, force: true });
});

let seq = 0;
const newId = (): string => `tsr-attrs-${process.pid}-${++seq}`;

/** `run` in the foreground; returns stdout/stderr/exit code, always deleting the container. */
async function run(b: Bundle, bin = TSRUNC_BIN): Promise<{ code: number | undefined; out: string; err: string }> {
  const id = newId();
  const r = bin === RUNC ? runcRoot : root;
  const res = await execa(bin, ['--root', r, 'run', '-b', b.dir, id], { reject: false, stdin: 'ignore', timeout: 30_000 });
  await execa(bin, ['--root', r, 'delete', '-f', id], { reject: false });
  return { code: res.exitCode, out: String(res.stdout), err: String(res.stderr) };
}

function bundle(t: any, cmd: string, edit?: (c: Record<string, any>) => void): Bundle {
  const b = makeBundle(edit, ['sh', '-c', cmd]);
  t.teardown(() => b.remove());
  return b;
}

const STATUS = 'grep -E "^(Cap|NoNewPrivs|Uid|Gid|Groups)" /proc/self/status';
const CAP_SYS_RESOURCE = 24;
const hasSysResource = (BigInt(`0x${fs.readFileSync('/proc/self/status', 'utf8').match(/CapEff:\s+(\w+)/)![1]}`) & (1n << BigInt(CAP_SYS_RESOURCE))) !== 0n;
const has = (cmd: string): boolean => execaSync('sh', ['-c', `command -v ${cmd}`], { reject: false }).exitCode === 0;
const lsmOn = fs.existsSync('/sys/module/apparmor/parameters/enabled') || fs.existsSync('/sys/fs/selinux/enforce');

t.test('the runc-spec baseline: same capability sets, no_new_privs and limits as runc', async (t) => {
  const b = bundle(t, `${STATUS}; ulimit -Hn; ulimit -Sn; umask; id`);
  const ours = await run(b);
  t.equal(ours.code, 0, ours.err);
  t.match(ours.out, /CapBnd:\s+0000000020000420/, 'bounding: AUDIT_WRITE, KILL, NET_BIND_SERVICE');
  t.match(ours.out, /CapEff:\s+0000000020000420/);
  t.match(ours.out, /CapInh:\s+0000000000000000/, 'inheritable exactly as configured (none): CVE-2022-29162');
  t.match(ours.out, /NoNewPrivs:\s+1/);
  const theirs = await run(b, RUNC);
  t.equal(theirs.code, 0, theirs.err);
  t.equal(ours.out, theirs.out, 'identical to runc');
});

t.test('user, groups, umask and all five capability sets for a non-root user, as runc', async (t) => {
  const b = bundle(t, `${STATUS}; id; umask`, (c) => {
    c.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 6], umask: 0o077 };
    c.process.capabilities = {
      bounding: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN'],
      effective: ['CAP_KILL', 'CAP_NET_RAW'],
      permitted: ['CAP_KILL', 'CAP_NET_RAW'],
      inheritable: ['CAP_NET_RAW'],
      ambient: ['CAP_NET_RAW'],
    };
  });
  const ours = await run(b);
  t.equal(ours.code, 0, ours.err);
  t.match(ours.out, /CapBnd:\s+0000000000002021/, 'bounding: CHOWN, KILL, NET_RAW');
  t.match(ours.out, /CapAmb:\s+0000000000002000/, 'ambient NET_RAW survives the exec of a non-root user');
  t.match(ours.out, /CapInh:\s+0000000000002000/);
  t.match(ours.out, /CapPrm:\s+0000000000002000/, 'permitted after exec = ambient (KILL is not ambient)');
  t.match(ours.out, /uid=1000 gid=1000 groups=5,6/);
  t.match(ours.out, /\n0077\n?$/, 'umask');
  const theirs = await run(b, RUNC);
  t.equal(ours.out, theirs.out, 'identical to runc');
});

t.test('no capabilities object: no capabilities at all, as runc', async (t) => {
  const b = bundle(t, STATUS, (c) => delete c.process.capabilities);
  const ours = await run(b);
  t.equal(ours.code, 0, ours.err);
  for (const set of ['Bnd', 'Eff', 'Prm', 'Inh', 'Amb']) t.match(ours.out, new RegExp(`Cap${set}:\\s+0000000000000000`), `Cap${set} empty`);
  t.equal(ours.out, (await run(b, RUNC)).out, 'identical to runc');
});

t.test('rlimits: every entry applied, unlimited as 2^64-1, as runc', async (t) => {
  const b = bundle(t, 'cat /proc/self/limits', (c) => {
    c.process.rlimits = [
      { type: 'RLIMIT_NOFILE', hard: 4000, soft: 3000 },
      { type: 'RLIMIT_CORE', hard: 1000000, soft: 0 },
      { type: 'RLIMIT_NPROC', hard: 500, soft: 400 },
      { type: 'RLIMIT_MSGQUEUE', hard: 8192, soft: 4096 },
      { type: 'RLIMIT_STACK', hard: 16777216, soft: 8388608 },
    ];
  });
  const ours = await run(b);
  t.equal(ours.code, 0, ours.err);
  t.match(ours.out, /Max open files\s+3000\s+4000/);
  t.match(ours.out, /Max core file size\s+0\s+1000000/);
  t.match(ours.out, /Max processes\s+400\s+500/);
  t.match(ours.out, /Max msgqueue size\s+4096\s+8192/);
  t.match(ours.out, /Max stack size\s+8388608\s+16777216/);
  t.equal(ours.out, (await run(b, RUNC)).out, 'identical to runc');
  // runc 1.1.5 cannot parse 18446744073709551615 (a JSON float for Go); tsrunc reads it as RLIM_INFINITY.
  const inf = bundle(t, 'ulimit -Hc', (c) => (c.process.rlimits = [{ type: 'RLIMIT_CORE', hard: 18446744073709551615, soft: 0 }]));
  const r = await run(inf);
  t.equal(r.code, 0, r.err);
  t.equal(r.out.trim(), 'unlimited');
});

t.test('a hard limit above what the host allows fails create with runc\'s message, nothing left behind', { skip: hasSysResource && 'this host has CAP_SYS_RESOURCE: raising the hard limit would succeed' }, async (t) => {
  const hard = Number(execaSync('sh', ['-c', 'ulimit -Hn']).stdout);
  const b = bundle(t, 'true', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: hard + 10000, soft: hard + 10000 }]));
  const id = newId();
  const r = await execa(TSRUNC_BIN, ['--root', root, 'create', '-b', b.dir, id], { reject: false, stdin: 'ignore' });
  t.not(r.exitCode, 0);
  t.match(String(r.stderr), /error setting rlimit type 7: operation not permitted/);
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
});

t.test('noNewPrivileges: a setuid-root binary does not raise the euid', { skip: !has('cc') && 'no C compiler (cc -static) to build a setuid test binary' }, async (t) => {
  const src = path.join(os.tmpdir(), `tsr-euid-${process.pid}.c`);
  fs.writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("euid=%d\\n",(int)geteuid());return 0;}\n');
  t.teardown(() => fs.rmSync(src, { force: true }));
  const mk = (nnp: boolean): Bundle => {
    const b = bundle(t, '/bin/euid; grep NoNewPrivs /proc/self/status', (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.noNewPrivileges = nnp;
    });
    const cc = execaSync('cc', ['-static', '-o', path.join(b.rootfs, 'bin/euid'), src], { reject: false });
    if (cc.exitCode !== 0) return b;
    fs.chmodSync(path.join(b.rootfs, 'bin/euid'), 0o4755);
    return b;
  };
  const on = mk(true);
  t.ok(fs.existsSync(path.join(on.rootfs, 'bin/euid')), 'setuid test binary built (cc -static)');
  const r1 = await run(on);
  t.equal(r1.code, 0, r1.err);
  t.match(r1.out, /euid=1000\nNoNewPrivs:\s+1/, 'with no_new_privs the setuid bit is ignored');
  const r2 = await run(mk(false));
  t.match(r2.out, /euid=0\nNoNewPrivs:\s+0/, 'without it the setuid bit works (the test is meaningful)');
});

t.test('oomScoreAdj: written for the process, as runc', async (t) => {
  const b = bundle(t, 'cat /proc/self/oom_score_adj', (c) => (c.process.oomScoreAdj = 500));
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.equal(r.out.trim(), '500');
  t.equal((await run(b, RUNC)).out.trim(), '500', 'runc agrees');
});

t.test('oomScoreAdj below the current minimum needs CAP_SYS_RESOURCE: create fails like runc', { skip: hasSysResource && 'host has CAP_SYS_RESOURCE: a negative value would be allowed' }, async (t) => {
  const neg = bundle(t, 'true', (c) => (c.process.oomScoreAdj = -500));
  const r2 = await run(neg);
  t.not(r2.code, 0);
  t.match(r2.err, /failed to set oom_score_adj to -500: permission denied/);
  t.not((await run(neg, RUNC)).code, 0, 'runc fails too');
});

t.test('linux.personality LINUX32 and execCPUAffinity.final (runc 1.1.5 ignores both)', async (t) => {
  const cpus = os.cpus().length;
  const last = cpus - 1;
  const b = bundle(t, 'cat /proc/self/personality; grep Cpus_allowed_list /proc/self/status; uname -m', (c) => {
    c.linux.personality = { domain: 'LINUX32' };
    c.process.execCPUAffinity = { initial: '0', final: String(last) };
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^00000008\n/, 'PER_LINUX32');
  t.match(r.out, new RegExp(`Cpus_allowed_list:\\s+${last}\\n`), 'final affinity');
  if (os.arch() === 'x64') t.match(r.out, /i686\s*$/, 'uname -m under LINUX32');
});

t.test('ioPriority and scheduler reach the program', { skip: !has('ionice') && 'ionice is needed to read the I/O priority' }, async (t) => {
  const b = bundle(t, 'grep -E "^policy|^prio" /proc/self/sched; cat /proc/self/stat | cut -d" " -f18,19,41', (c) => {
    c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    c.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
  });
  const r = await run(b);
  t.equal(r.code, 0, r.err);
  // /proc/<pid>/stat: 18 priority (20+nice), 19 nice, 41 policy (3 = SCHED_BATCH).
  t.match(r.out, /25 5 3\s*$/, 'nice 5 under SCHED_BATCH');
  // No procfs view of the I/O priority: ask the host's ionice about the running container.
  const id = newId();
  const sleeper = bundle(t, 'sleep 30', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }));
  const c = await execa(TSRUNC_BIN, ['--root', root, 'run', '-d', '-b', sleeper.dir, id], { reject: false, stdio: 'ignore' });
  t.teardown(() => execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id], { reject: false }));
  t.equal(c.exitCode, 0);
  const pid = JSON.parse(String((await execa(TSRUNC_BIN, ['--root', root, 'state', id])).stdout)).pid;
  const io = await execa('ionice', ['-p', String(pid)], { reject: false });
  t.match(String(io.stdout), /best-effort: prio 6/);
});

t.test('session keyring: a new one named _ses.<id>, unless --no-new-keyring', async (t) => {
  const id = newId();
  const b = bundle(t, 'sleep 30', (c) => delete c.linux.maskedPaths);
  const ks = async (id: string): Promise<string> => {
    const pid = JSON.parse(String((await execa(TSRUNC_BIN, ['--root', root, 'state', id])).stdout)).pid;
    // /proc/keys lists the keys its reader may view: root sees every _ses.* keyring, so this shows
    // whether a keyring named after the container exists (the container is its only user).
    return String((await execa('nsenter', ['-t', String(pid), '-m', '-p', 'cat', '/proc/keys'], { reject: false })).stdout);
  };
  t.equal((await execa(TSRUNC_BIN, ['--root', root, 'run', '-d', '-b', b.dir, id], { reject: false, stdio: 'ignore' })).exitCode, 0);
  t.teardown(() => execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id], { reject: false }));
  t.match(await ks(id), new RegExp(`keyring\\s+_ses\\.${id}`), 'joined _ses.<id>');
  const id2 = newId();
  t.equal((await execa(TSRUNC_BIN, ['--root', root, 'run', '-d', '--no-new-keyring', '-b', b.dir, id2], { reject: false, stdio: 'ignore' })).exitCode, 0);
  t.teardown(() => execa(TSRUNC_BIN, ['--root', root, 'delete', '-f', id2], { reject: false }));
  t.notMatch(await ks(id2), new RegExp(`_ses\\.${id2}`), 'no keyring of its own');
});

t.test('apparmorProfile and selinuxLabel with both LSMs off: runc\'s errors, nothing left behind', { skip: lsmOn && 'an LSM is enabled on this host' }, async (t) => {
  const aa = bundle(t, 'true', (c) => (c.process.apparmorProfile = 'tsrunc-test'));
  const r = await run(aa);
  t.not(r.code, 0);
  t.match(r.err, /unable to apply apparmor profile: apparmor failed to apply profile: write \/proc\/self\/attr\/exec: invalid argument/);
  t.not((await run(aa, RUNC)).code, 0, 'runc fails the same way');
  const se = bundle(t, 'true', (c) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0'));
  const r2 = await run(se);
  t.not(r2.code, 0);
  t.match(r2.err, /selinux label is specified in config, but selinux is disabled or not supported/);
  t.same(fs.readdirSync(root), [], 'no container left');
});

t.test('CVE-2022-29162: the caller\'s inheritable capabilities never reach the container', { skip: !has('setpriv') && 'setpriv is needed to give the caller inheritable capabilities' }, async (t) => {
  const b = bundle(t, 'grep -E "^Cap(Inh|Amb)" /proc/self/status');
  const id = newId();
  // The caller (as a shim could be) runs with CAP_NET_RAW inheritable and ambient.
  const r = await execa('setpriv', ['--inh-caps', '+net_raw', '--ambient-caps', '+net_raw', TSRUNC_BIN, '--root', root, 'run', '-b', b.dir, id], { reject: false, stdin: 'ignore' });
  t.equal(r.exitCode, 0, String(r.stderr));
  t.match(String(r.stdout), /CapInh:\s+0000000000000000\nCapAmb:\s+0000000000000000/, 'inheritable and ambient exactly as configured (empty)');
});
