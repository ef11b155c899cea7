// config-linux.md: namespaces, devices, cgroups, sysctl, masked and
// read-only paths, checked from inside the container and from the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import t from 'tap';
import { Runtime, requirement, newId, nsOf, cgroupDir, exists, skipReq, isCgroup2, REPO, mapUser } from '../lib/harness.js';

const rt = new Runtime(t);
const NS = 'config-linux.md#namespaces';

const NS_FILES: Record<string, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup' };
const nsScript = Object.values(NS_FILES).map((f) => `echo ${f}=$(readlink /proc/self/ns/${f})`).join('; ');
const parseNs = (out: string) => Object.fromEntries(out.trim().split('\n').map((l) => l.split('=')));

// "path (string, OPTIONAL) - namespace file. ... If path is not specified, the
// runtime MUST create a new container namespace of type type."
for (const [type, file] of Object.entries(NS_FILES)) {
  requirement(t, { id: `namespaces.new.${type}`, section: NS, level: 'MUST', title: `a ${type} namespace without path is new` }, async (t) => {
    const r = await rt.runScript(nsScript);
    t.equal(r.exitCode, 0, r.stderr);
    const inside = parseNs(r.stdout);
    t.ok(inside[file], `read ${file} link inside`);
    t.not(inside[file], nsOf('self', file), `${type} differs from the host's`);
  });
}

// "If a namespace type is not specified in the namespaces array, the
// container MUST inherit the runtime namespace of that type."
requirement(t, { id: 'namespaces.inherit', section: NS, level: 'MUST', title: 'namespace types not listed are inherited from the runtime' }, async (t) => {
  const r = await rt.runScript(nsScript, (c) => {
    c.linux.namespaces = [{ type: 'mount' }];
    delete c.hostname; // a hostname needs a new uts namespace
  });
  t.equal(r.exitCode, 0, r.stderr);
  const inside = parseNs(r.stdout);
  for (const file of ['pid', 'net', 'ipc', 'uts', 'cgroup']) t.equal(inside[file], nsOf('self', file), `${file} is the host's`);
  t.not(inside.mnt, nsOf('self', 'mnt'), 'mnt (listed) is new');
});

/** A named network namespace from iproute2, deleted at teardown. */
function netns(t: Parameters<Parameters<typeof requirement>[2]>[0]): string | undefined {
  const name = newId('tsrconf');
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  t.teardown(() => execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }));
  return `/run/netns/${name}`;
}

// "The runtime MUST place the container process in the namespace associated
// with that path."
requirement(t, { id: 'namespaces.path', section: NS, level: 'MUST', title: 'a namespace path is joined' }, async (t) => {
  const p = netns(t);
  if (!p) return skipReq(t, '`ip netns add` unavailable');
  const want = `net:[${fs.statSync(p).ino}]`;
  const r = await rt.runScript(nsScript, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: p } : n));
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(parseNs(r.stdout).net, want);
});

// "The runtime MUST generate an error if path is not associated with a
// namespace of type type."
requirement(t, { id: 'namespaces.path.wrong-type', section: NS, level: 'MUST', title: 'a namespace path of another type is an error' }, async (t) => {
  const p = netns(t);
  if (!p) return skipReq(t, '`ip netns add` unavailable');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'uts' ? { type: 'uts', path: p } : n));
  });
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// "If a namespaces field contains duplicated namespaces with same type, the
// runtime MUST generate an error."
requirement(t, { id: 'namespaces.duplicate', section: NS, level: 'MUST', title: 'duplicated namespace types are an error' }, async (t) => {
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => c.linux.namespaces.push({ type: 'uts' }));
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// user namespace: "uidMappings (array of objects, OPTIONAL) describes the
// user namespace uid mappings from the host to the container." ... "The
// runtime SHOULD NOT modify the ownership of referenced filesystems to
// realize the mapping."
requirement(t, { id: 'namespaces.user.mappings', section: 'config-linux.md#user-namespace-mappings', level: 'MUST', title: 'a user namespace gets the configured uid/gid mappings' }, async (t) => {
  const r = await rt.runScript('cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user', mapUser, (b) => {
    // The mapped root (host uid 200000) must be able to reach the rootfs and
    // /out (mkdtemp dirs are 0700; their parent, the shared /tmp, is left alone).
    fs.chmodSync(b.dir, 0o755);
    fs.chmodSync(b.config.mounts.find((m: any) => m.destination === '/out').source, 0o777);
  });
  t.equal(r.exitCode, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  t.match(rows[0] ?? '', /^\s*0\s+200000\s+65536$/, 'uid_map');
  t.match(rows[1] ?? '', /^\s*0\s+200000\s+65536$/, 'gid_map');
  t.not(rows[2], nsOf('self', 'user'), 'user namespace is new');
});

requirement(t, { id: 'namespaces.user.no-chown', section: 'config-linux.md#user-namespace-mappings', level: 'SHOULD NOT', title: 'the rootfs ownership is not changed to realise the mapping' }, async (t) => {
  const { bundle } = rt.outBundle('true', mapUser);
  fs.chmodSync(bundle.dir, 0o755);
  const outDir = bundle.config.mounts.find((m: any) => m.destination === '/out').source;
  fs.chmodSync(outDir, 0o777);
  await rt.run(newId(), bundle);
  const st = fs.statSync(path.join(bundle.rootfs, 'bin/busybox'));
  t.equal(`${st.uid}:${st.gid}`, '0:0', 'rootfs files still owned by host root');
});

// "The following namespace types SHOULD be supported: pid, network, mount,
// ipc, uts, user, cgroup, time" (time: runtime-spec 1.2).
requirement(t, { id: 'namespaces.new.time', section: NS, level: 'SHOULD', title: 'a time namespace can be created' }, async (t) => {
  if (!exists('/proc/self/ns/time')) return skipReq(t, 'kernel without time namespaces');
  const r = await rt.runScript('readlink /proc/self/ns/time', (c) => c.linux.namespaces.push({ type: 'time' }));
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^time:\[/, 'time namespace link read');
  t.not(r.stdout.trim(), nsOf('self', 'time'), 'differs from the host\'s');
});

// ---- seccomp ----
// "seccomp ... provides application sandboxing mechanism in the Linux kernel"
// ... "syscalls (array of objects, OPTIONAL) - match a syscall in seccomp.
// ... action (string, REQUIRED) - the action for seccomp rules. ...
// errnoRet (uint, OPTIONAL) - the errno return code to use."
requirement(t, { id: 'seccomp.rules', section: 'config-linux.md#seccomp', level: 'MUST', title: 'seccomp rules are enforced, with errnoRet' }, async (t) => {
  const r = await rt.runScript('mkdir /out/blocked 2>&1; echo "rc=$?"; cat /proc/self/status | grep ^Seccomp:', (c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    };
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /Permission denied/, 'mkdir fails with the configured errno (EACCES)');
  t.notOk(exists(path.join(r.out, 'blocked')), 'the directory was not created');
  t.match(r.stdout, /Seccomp:\s+2/, 'a seccomp filter is installed');
});

// "defaultAction (string, REQUIRED) - the default action for seccomp. ...
// defaultErrnoRet (uint, OPTIONAL) - the errno return code to use. Some
// actions like SCMP_ACT_ERRNO and SCMP_ACT_TRACE allow to specify the errno
// code to return. When the action doesn't support an errno, the runtime MUST
// print and error and fail. If not specified then its default value is EPERM."
requirement(t, { id: 'seccomp.defaultErrnoRet', section: 'config-linux.md#seccomp', level: 'MUST', title: 'defaultAction ERRNO returns defaultErrnoRet; allowed calls work' }, async (t) => {
  const profile = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/seccomp-default.json'), 'utf8'));
  for (const rule of profile.syscalls) rule.names = rule.names.filter((n: string) => n !== 'mkdir' && n !== 'mkdirat');
  const r = await rt.runScript('echo alive; mkdir /out/blocked 2>&1; echo "rc=$?"', (c) => {
    c.linux.seccomp = { ...profile, defaultErrnoRet: 95 };
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /alive/, 'allowed syscalls run');
  t.match(r.stdout, /not supported/i, 'an unlisted syscall fails with defaultErrnoRet (EOPNOTSUPP)');
  t.notOk(exists(path.join(r.out, 'blocked')));
});

// "args (array of objects, OPTIONAL) - the specific syscall in seccomp.
// index (uint, REQUIRED) ... value (uint64, REQUIRED) ... valueTwo (uint64,
// OPTIONAL) ... op (string, REQUIRED)"
requirement(t, { id: 'seccomp.args', section: 'config-linux.md#seccomp', level: 'MUST', title: 'a rule with args matches only those argument values (EQ, MASKED_EQ)' }, async (t) => {
  const r = await rt.runScript('kill -0 $$; echo zero=$?; kill -USR1 $$; echo usr1=$?; kill -CHLD $$; echo chld=$?', (c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 1, value: 0xf0, valueTwo: 0x10, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    };
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /zero=0/, 'kill(pid, 0) allowed');
  t.match(r.stdout, /usr1=1/, 'kill(pid, SIGUSR1) refused (EQ)');
  t.match(r.stdout, /chld=1/, 'kill(pid, SIGCHLD) refused ((17 & 0xf0) == 0x10)');
});

// "SCMP_ACT_KILL_PROCESS" among the actions: the whole process dies of SIGSYS.
requirement(t, { id: 'seccomp.kill_process', section: 'config-linux.md#seccomp', level: 'MUST', title: 'SCMP_ACT_KILL_PROCESS kills the caller with SIGSYS' }, async (t) => {
  const r = await rt.runScript('sh -c "exec mkdir /out/x"; echo "rc=$?"', (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] };
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /rc=159/, '128 + SIGSYS');
});

// The filter is for "the container process" (config-linux.md#seccomp), not
// for the runtime's setup of it: a profile denying calls a runtime uses to
// build the container (getcwd, mount, unshare) must still let it start.
requirement(t, { id: 'seccomp.runtime-unfiltered', section: 'config-linux.md#seccomp', level: 'MUST', title: 'a profile denying getcwd, mount and unshare still starts, and denies them to the process' }, async (t) => {
  const r = await rt.runScript('unshare -m true; echo "u=$?"; mount -t tmpfs t /mnt; echo "m=$?"; pwd; echo "pwd=$?"', (c) => {
    c.process.noNewPrivileges = false;
    c.process.cwd = '/out';
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getcwd', 'mount', 'unshare'], action: 'SCMP_ACT_ERRNO' }] };
  });
  t.equal(r.exitCode, 0, `the container runs: ${r.stderr}`);
  t.match(r.stdout, /u=1/, 'unshare denied');
  t.match(r.stdout, /m=1/, 'mount denied');
  t.notMatch(r.stdout, /^\/out$/m, 'getcwd denied');
});

// "listenerPath (string, OPTIONAL) - specifies the path of UNIX domain socket
// over which the runtime will send the container process state data structure
// when the SCMP_ACT_NOTIFY action is used. ... listenerMetadata (string,
// OPTIONAL) - specifies an opaque data to pass to the seccomp agent."
// runtime.md: containerProcessState { ociVersion, fds, pid, metadata, state }, the fds as SCM_RIGHTS.
requirement(t, { id: 'seccomp.notify', section: 'config-linux.md#seccomp', level: 'MUST', title: 'SCMP_ACT_NOTIFY: the listener gets the fd and the container process state, and answers' }, async (t) => {
  const dir = rt.tmpdir('seccomp');
  const sock = path.join(dir, 'l.sock');
  const state = path.join(dir, 'state.json');
  const agent = spawn('python3', [path.join(REPO, 'test/fixtures/seccomp-listener.py'), sock, state, '122'], { stdio: ['ignore', 'pipe', 'inherit'] });
  rt.onCleanup(() => void agent.kill('SIGKILL'));
  await new Promise((resolve) => agent.stdout!.once('data', resolve));
  const r = await rt.runScript('mkdir /out/x 2>&1; echo "rc=$?"', (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, listenerMetadata: 'conf-meta', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }] };
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /quota/i, 'the agent\'s answer (EDQUOT) reaches the process');
  const msg = exists(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : {};
  t.same(msg.fds, ['seccompFd'], 'fds names the one fd');
  t.equal(msg._nfds, 1, 'one fd as SCM_RIGHTS');
  t.equal(msg.metadata, 'conf-meta');
  t.ok(msg.pid > 0 && msg.state?.pid === msg.pid, 'pid of the container process');
  t.equal(msg.state?.bundle, r.bundle.dir);
});

// ---- Devices ----
// "In addition to any devices configured with this setting, the runtime MUST
// also supply: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom,
// /dev/tty, /dev/console (if terminal is enabled), /dev/ptmx (a bind-mount or
// symlink of the container's /dev/pts/ptmx)"
requirement(t, { id: 'devices.default', section: 'config-linux.md#default-devices', level: 'MUST', title: 'the default devices are supplied' }, async (t) => {
  const devs = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
  const r = await rt.runScript(`for d in ${devs.join(' ')}; do stat -c "%n %F %t:%T" /dev/$d; done; ls -l /dev/ptmx; echo x > /dev/null && head -c 4 /dev/zero | wc -c`);
  const want: Record<string, string> = { null: '1:3', zero: '1:5', full: '1:7', random: '1:8', urandom: '1:9', tty: '5:0' };
  for (const d of devs) t.match(r.stdout, new RegExp(`^/dev/${d} character special file ${want[d]}$`, 'm'), `/dev/${d}`);
  t.match(r.stdout, /ptmx/, '/dev/ptmx exists');
  t.match(r.stdout, /^4$/m, '/dev/null and /dev/zero usable');
});

// "devices (array of objects, OPTIONAL) lists devices that MUST be available
// in the container."
requirement(t, { id: 'devices.configured', section: 'config-linux.md#devices', level: 'MUST', title: 'configured devices exist with type, numbers, mode and owner' }, async (t) => {
  const r = await rt.runScript('stat -c "%F %t:%T %a %u:%g" /dev/conf-fuse', (c) => {
    c.linux.devices = [{ path: '/dev/conf-fuse', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 1, gid: 2 }];
  });
  t.equal(r.stdout.trim(), 'character special file a:e5 640 1:2');
});

// ---- Control groups ----
// "cgroupsPath (string, OPTIONAL) path to the cgroups. ... If the value is an
// absolute path, the runtime MUST take the path to be relative to the cgroups
// mount point."
requirement(t, { id: 'cgroups.path', section: 'config-linux.md#cgroups-path', level: 'MUST', title: 'an absolute cgroupsPath is relative to the cgroup mount point' }, async (t) => {
  const name = `tsr-conf-${newId('cg')}`;
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.cgroupsPath = `/${name}`));
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const pid = (await rt.state(id))?.pid ?? 0;
  const dir = cgroupDir(pid);
  t.equal(path.basename(dir ?? ''), name, `placed in ${dir}`);
  t.ok(dir && fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), 'cgroup.procs lists the container process');
});

// resources.pids: "limit (int64, REQUIRED) specifies the maximum number of
// tasks in the cgroup" -- applied at create (runtime.md: all properties
// except process MUST be applied).
requirement(t, { id: 'cgroups.resources.pids', section: 'config-linux.md#pids', level: 'MUST', title: 'resources.pids.limit is written to the container cgroup' }, async (t) => {
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => (c.linux.resources.pids = { limit: 42 }));
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const dir = cgroupDir((await rt.state(id))?.pid ?? 0, 'pids');
  if (!exists('/sys/fs/cgroup/pids') && !isCgroup2()) return skipReq(t, 'no pids controller');
  if (!dir || !exists(path.join(dir, 'pids.max'))) return void t.fail(`no pids.max in the container cgroup (${dir})`);
  t.equal(fs.readFileSync(path.join(dir, 'pids.max'), 'utf8').trim(), '42');
});

requirement(t, { id: 'cgroups.resources.memory', section: 'config-linux.md#memory', level: 'MUST', title: 'resources.memory.limit is written to the container cgroup' }, async (t) => {
  const id = newId();
  const limit = 64 * 1024 * 1024;
  const { bundle } = rt.outBundle('true', (c) => (c.linux.resources.memory = { limit }));
  t.equal((await rt.create(id, bundle)).exitCode, 0, 'create succeeds');
  const dir = cgroupDir((await rt.state(id))?.pid ?? 0, 'memory');
  const file = ['memory.limit_in_bytes', 'memory.max'].map((f) => path.join(dir ?? '/nonexistent', f)).find(exists);
  if (!exists('/sys/fs/cgroup/memory') && !isCgroup2()) return skipReq(t, 'no memory controller');
  if (!file) return void t.fail(`no memory limit file in the container cgroup (${dir})`);
  t.equal(fs.readFileSync(file, 'utf8').trim(), String(limit));
});

// ---- sysctl, maskedPaths, readonlyPaths ----
// "sysctl (object, OPTIONAL) allows kernel parameters to be modified at
// runtime for the container."
requirement(t, { id: 'sysctl', section: 'config-linux.md#sysctl', level: 'MUST', title: 'sysctl values are set in the container' }, async (t) => {
  const r = await rt.runScript('cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax', (c) => {
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '12345' };
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['1', '12345']);
});

// "maskedPaths (array of strings, OPTIONAL) will mask over the provided paths
// inside the container so that they cannot be read."
requirement(t, { id: 'maskedPaths', section: 'config-linux.md#masked-paths', level: 'MUST', title: 'maskedPaths cannot be read' }, async (t) => {
  const r = await rt.runScript('cat /etc/secret; echo "[$(ls /secretdir)]"', (c) => {
    c.linux.maskedPaths = ['/etc/secret', '/secretdir'];
  }, (b) => {
    fs.writeFileSync(path.join(b.rootfs, 'etc/secret'), 's3cret\n');
    fs.mkdirSync(path.join(b.rootfs, 'secretdir'));
    fs.writeFileSync(path.join(b.rootfs, 'secretdir/inside'), 'x');
  });
  t.notMatch(r.stdout, /s3cret/, 'file content hidden');
  t.match(r.stdout, /^\[\]$/m, 'directory content hidden');
});

// "readonlyPaths (array of strings, OPTIONAL) will set the provided paths as
// readonly inside the container."
requirement(t, { id: 'readonlyPaths', section: 'config-linux.md#readonly-paths', level: 'MUST', title: 'readonlyPaths are read-only' }, async (t) => {
  const r = await rt.runScript('touch /rw/ok && echo rw-ok; touch /ro/x 2>/dev/null && echo ro-writable || echo ro-readonly', (c) => {
    c.root.readonly = false;
    c.linux.readonlyPaths = ['/ro'];
  }, (b) => {
    fs.mkdirSync(path.join(b.rootfs, 'rw'));
    fs.mkdirSync(path.join(b.rootfs, 'ro'));
  });
  t.match(r.stdout, /rw-ok/, 'other paths writable');
  t.match(r.stdout, /ro-readonly/, 'listed path read-only');
});

// "maskedPaths ... The values MUST be absolute paths in the container
// namespace." A listed path that the container does not have is nothing to
// mask (runc and crun skip it): the container still starts.
requirement(t, { id: 'maskedPaths.missing', section: 'config-linux.md#masked-paths', level: 'MUST', title: 'a masked or read-only path that does not exist does not fail the container' }, async (t) => {
  const r = await rt.runScript('echo started', (c) => {
    c.linux.maskedPaths = ['/conf-nonexistent/file', '/proc/conf-nonexistent'];
    c.linux.readonlyPaths = ['/conf-nonexistent-ro'];
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stdout.trim(), 'started');
});

// "devices ... type (string, REQUIRED) - type of device: c, b, u or p."
requirement(t, { id: 'devices.types', section: 'config-linux.md#devices', level: 'MUST', title: 'block, unbuffered character and fifo devices are created with their type' }, async (t) => {
  const r = await rt.runScript('stat -c "%n %F %t:%T %a" /dev/conf-blk /dev/conf-unbuf /dev/conf-fifo', (c) => {
    c.linux.devices = [
      { path: '/dev/conf-blk', type: 'b', major: 7, minor: 200, fileMode: 0o600 },
      { path: '/dev/conf-unbuf', type: 'u', major: 1, minor: 3, fileMode: 0o666 },
      { path: '/dev/conf-fifo', type: 'p', fileMode: 0o620 },
    ];
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^\/dev\/conf-blk block special file 7:c8 600$/m);
  t.match(r.stdout, /^\/dev\/conf-unbuf character special file 1:3 666$/m);
  t.match(r.stdout, /^\/dev\/conf-fifo fifo 0:0 620$/m);
});

// "sysctl (object, OPTIONAL) allows kernel parameters to be modified at
// runtime for the container." -- for the container: the host keeps its value.
requirement(t, { id: 'sysctl.container-only', section: 'config-linux.md#sysctl', level: 'MUST', title: 'a namespaced sysctl changes the container\'s value only' }, async (t) => {
  const host = fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8');
  const want = String(Number(host.trim()) - 1);
  const r = await rt.runScript('cat /proc/sys/kernel/shmmni', (c) => (c.linux.sysctl = { 'kernel.shmmni': want }));
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stdout.trim(), want, 'inside');
  t.equal(fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8'), host, 'host unchanged');
});

// "rootfsPropagation (string, OPTIONAL) sets the rootfs's mount propagation.
// Its value is either shared, slave, private or unbindable." The rootfs is
// the container's "/" mount: its optional fields in /proc/self/mountinfo.
// The rootfs is made a shared mount on the host first, so "slave" and
// "shared" have a peer group to show.
const ROOT_PROPAGATION: Record<string, (optional: string[]) => boolean> = {
  shared: (o) => o.some((x) => x.startsWith('shared:')),
  slave: (o) => o.some((x) => x.startsWith('master:')) && !o.some((x) => x.startsWith('shared:')),
  private: (o) => o.length === 0,
  unbindable: (o) => o.includes('unbindable'),
};
for (const [prop, ok] of Object.entries(ROOT_PROPAGATION)) {
  requirement(t, { id: `rootfsPropagation.${prop}`, section: 'config-linux.md#rootfs-mount-propagation', level: 'MUST', title: `rootfsPropagation ${prop} is the root mount's propagation` }, async (t) => {
    let rootfs = '';
    const r = await rt.runScript('cat /proc/self/mountinfo', (c) => (c.linux.rootfsPropagation = prop), (b) => {
      rootfs = b.rootfs;
      execFileSync('mount', ['--bind', b.rootfs, b.rootfs]);
      execFileSync('mount', ['--make-shared', b.rootfs]);
    });
    execFileSync('umount', ['-l', rootfs]);
    t.equal(r.exitCode, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.split(' ')[4] === '/');
    const pre = (line ?? '').split(' - ')[0]!.split(' ');
    const optional = pre.slice(6);
    t.ok(line && ok(optional), `root mount: ${optional.join(' ') || '(no propagation fields)'}`);
  });
}

// seccomp: "defaultErrnoRet ... errnoRet ... Some actions like SCMP_ACT_ERRNO
// and SCMP_ACT_TRACE allow to specify the errno code to return. When the
// action doesn't support an errno, the runtime MUST print and error and fail."
requirement(t, { id: 'seccomp.errnoRet.unsupported', section: 'config-linux.md#seccomp', level: 'MUST', title: 'errnoRet / defaultErrnoRet with an action that has no errno is an error' }, async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['errnoRet with SCMP_ACT_LOG', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_LOG', errnoRet: 5 }] }],
    ['defaultErrnoRet with SCMP_ACT_ALLOW', { defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 5 }],
  ];
  for (const [what, seccomp] of cases) {
    const id = newId();
    const { bundle } = rt.outBundle('true', (c) => (c.linux.seccomp = seccomp));
    const r = await rt.create(id, bundle);
    t.not(r.exitCode, 0, `${what}: create fails`);
    t.equal(await rt.state(id), undefined, `${what}: no container exists`);
  }
});

// seccomp listenerPath: "If sending to this socket fails, the runtime MUST
// generate an error."
requirement(t, { id: 'seccomp.notify.unreachable', section: 'config-linux.md#seccomp', level: 'MUST', title: 'SCMP_ACT_NOTIFY with a listenerPath nobody listens on is an error' }, async (t) => {
  const id = newId();
  const sock = path.join(rt.tmpdir('seccomp'), 'nobody.sock');
  const { bundle } = rt.outBundle('true', (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }] };
  });
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// runtime.md create: "This operation MUST create a new container." -- with a
// user namespace whose root is not the host's root, through create and start
// (the path containerd and podman take), not only `run`.
requirement(t, { id: 'namespaces.user.create-start', section: 'config-linux.md#user-namespace-mappings', level: 'MUST', title: 'create + start work with a user namespace mapped away from host root' }, async (t) => {
  const id = newId();
  const { bundle, out } = rt.outBundle('id -u > /out/uid', mapUser);
  fs.chmodSync(bundle.dir, 0o755);
  fs.chmodSync(out, 0o777);
  const r = await rt.create(id, bundle);
  t.equal(r.exitCode, 0, 'create succeeds', { output: r.output.trim() });
  t.equal((await rt.start(id)).exitCode, 0, 'start succeeds');
  await rt.waitStatus(id, 'stopped');
  t.equal(fs.existsSync(path.join(out, 'uid')) ? fs.readFileSync(path.join(out, 'uid'), 'utf8').trim() : 'not run', '0', 'the program ran as the container\'s root');
});
