// config.md: root, mounts, process and hostname, checked from inside the
// container through `run`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { Runtime, requirement, exists, lines, newId } from '../lib/harness.js';

const rt = new Runtime(t);

// ---- Root ----
const ROOT = 'config.md#root';

// "path (string, REQUIRED) Specifies the path to the root filesystem for the
// container. ... On POSIX platforms, path is either an absolute path or a
// relative path to the bundle."
requirement(t, { id: 'root.path.relative', section: ROOT, level: 'MUST', title: 'root.path relative to the bundle is used as the rootfs' }, async (t) => {
  const r = await rt.runScript('cat /marker', (c) => (c.root.path = 'rootfs'), (b) => fs.writeFileSync(path.join(b.rootfs, 'marker'), 'relative\n'));
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stdout.trim(), 'relative');
});

requirement(t, { id: 'root.path.absolute', section: ROOT, level: 'MUST', title: 'an absolute root.path is used as the rootfs' }, async (t) => {
  const r = await rt.runScript('cat /marker', undefined, (b) => {
    fs.writeFileSync(path.join(b.rootfs, 'marker'), 'absolute\n');
    b.config.root.path = b.rootfs;
  });
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stdout.trim(), 'absolute');
});

// "readonly (bool, OPTIONAL) If true then the root filesystem MUST be
// read-only inside the container, defaults to false."
requirement(t, { id: 'root.readonly.true', section: ROOT, level: 'MUST', title: 'root.readonly=true makes / read-only' }, async (t) => {
  const r = await rt.runScript('touch /written 2>/dev/null && echo writable || echo readonly; grep " / " /proc/mounts', (c) => (c.root.readonly = true));
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^readonly/);
  t.notOk(exists(path.join(r.bundle.rootfs, 'written')));
});

requirement(t, { id: 'root.readonly.default', section: ROOT, level: 'MUST', title: 'root.readonly absent means / is writable' }, async (t) => {
  const r = await rt.runScript('touch /written && echo writable', (c) => delete c.root.readonly);
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stdout.trim(), 'writable');
  t.ok(exists(path.join(r.bundle.rootfs, 'written')), 'the write landed in the bundle rootfs');
});

// ---- Mounts ----
const MOUNTS = 'config.md#mounts';

// "The runtime MUST mount entries in the listed order."
requirement(t, { id: 'mounts.order', section: MOUNTS, level: 'MUST', title: 'mounts are applied in the listed order' }, async (t) => {
  const src = rt.tmpdir('mnt');
  fs.mkdirSync(path.join(src, 'sub'));
  fs.writeFileSync(path.join(src, 'top'), '');
  fs.writeFileSync(path.join(src, 'sub', 'hidden'), '');
  // A tmpfs on /m/sub only hides sub/hidden if it is mounted after /m.
  const r = await rt.runScript('ls /m; ls /m/sub | grep -c hidden', (c) => {
    c.mounts.push({ destination: '/m', type: 'bind', source: src, options: ['rbind', 'rw'] });
    c.mounts.push({ destination: '/m/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'm')));
  t.match(r.stdout, /top/, 'the first mount is there');
  t.equal(r.stdout.trim().split('\n').pop(), '0', 'the second mount covers the first');
});

// runtime.md create: "All of the properties configured in config.json except
// for process MUST be applied." -- for mounts: type, source and options.
requirement(t, { id: 'mounts.options', section: MOUNTS, level: 'MUST', title: 'mount options are applied (tmpfs ro,size)' }, async (t) => {
  const r = await rt.runScript('grep " /opt " /proc/mounts; touch /opt/x 2>/dev/null && echo writable || echo readonly', (c) => {
    c.mounts.push({ destination: '/opt', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'size=2m', 'mode=700'] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'opt')));
  t.match(r.stdout, /^tmpfs \/opt tmpfs ro[,\s]/m, 'tmpfs mounted read-only');
  t.match(r.stdout, /size=2048k/, 'with the size');
  t.match(r.stdout, /mode=700/, 'and the mode');
  t.match(r.stdout, /readonly$/m, 'writes fail');
});

requirement(t, { id: 'mounts.bind', section: MOUNTS, level: 'MUST', title: 'bind mounts expose the host source, read-write unless ro' }, async (t) => {
  const src = rt.tmpdir('bind');
  fs.writeFileSync(path.join(src, 'from-host'), 'hi\n');
  const r = await rt.runScript('cat /data/from-host; echo back > /data/from-container; touch /ro/x 2>/dev/null && echo ro-writable || echo ro-readonly', (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: src, options: ['rbind', 'rw'] });
    c.mounts.push({ destination: '/ro', type: 'bind', source: src, options: ['rbind', 'ro'] });
  }, (b) => {
    fs.mkdirSync(path.join(b.rootfs, 'data'));
    fs.mkdirSync(path.join(b.rootfs, 'ro'));
  });
  t.match(r.stdout, /^hi$/m, 'host file visible');
  t.same(lines(path.join(src, 'from-container')), ['back'], 'container write visible on host');
  t.match(r.stdout, /ro-readonly/, 'ro bind is read-only');
});

// Linux mount options: "Runtimes MUST/SHOULD/MAY implement the following
// option strings for Linux" -- a sample of the MUST ones that show in
// /proc/mounts.
requirement(t, { id: 'mounts.options.linux', section: 'config.md#linux-mount-options', level: 'MUST', title: 'the MUST mount option strings are implemented (nosuid, nodev, noexec, noatime, sync, dirsync, ro)' }, async (t) => {
  const r = await rt.runScript('grep " /o " /proc/mounts', (c) => {
    c.mounts.push({ destination: '/o', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'noatime', 'sync', 'dirsync', 'ro'] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'o')));
  const opts = (r.stdout.split(' ')[3] ?? '').split(',');
  for (const o of ['ro', 'nosuid', 'nodev', 'noexec', 'noatime', 'sync', 'dirsync']) t.ok(opts.includes(o), `${o} (${opts.join(',')})`);
});

// Linux mount options: the recursive ones ("rro", "rnosuid", "rnodev",
// "rnoexec", ...) are "implemented using mount_setattr(2) with AT_RECURSIVE":
// a submount of an rbind gets them too.
requirement(t, { id: 'mounts.options.recursive', section: 'config.md#linux-mount-options', level: 'SHOULD', title: 'recursive options (rro, rnosuid, rnodev, rnoexec) reach submounts of an rbind' }, async (t) => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-conf-rro-'));
  fs.mkdirSync(path.join(src, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'conf-sub', path.join(src, 'sub')]);
  try {
    const r = await rt.runScript('grep " /r/sub " /proc/self/mountinfo; touch /r/sub/x 2>/dev/null && echo writable || echo read-only', (c) => {
      c.mounts.push({ destination: '/r', type: 'bind', source: src, options: ['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec'] });
    });
    t.equal(r.exitCode, 0, r.stderr);
    const opts = (r.stdout.split('\n')[0]?.split(' ')[5] ?? '').split(',');
    for (const o of ['ro', 'nosuid', 'nodev', 'noexec']) t.ok(opts.includes(o), `submount ${o} (${opts.join(',')})`);
    t.match(r.stdout, /read-only/);
  } finally {
    execFileSync('umount', ['-l', path.join(src, 'sub')]);
    fs.rmSync(src, { recursive: true, force: true });
  }
});

// "destination (string, REQUIRED) Destination of mount point: path inside
// container. For the Linux platform, this value SHOULD be an absolute path.
// For compatibility with old tools and configurations, it MAY be a relative
// path, in which case it MUST be interpreted as relative to "/"."
requirement(t, { id: 'mounts.destination.relative', section: MOUNTS, level: 'MUST', title: 'a relative mount destination is taken relative to /' }, async (t) => {
  const r = await rt.runScript('grep " /reldest " /proc/mounts', (c) => {
    c.mounts.push({ destination: 'reldest', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'reldest')));
  t.equal(r.exitCode, 0, `container ran (${r.stderr.trim()})`);
  t.match(r.stdout, /\/reldest tmpfs/);
});

// "source (string, OPTIONAL) A device name, but can also be a file or
// directory name for bind mounts or a dummy. Path values for bind mounts are
// either absolute or relative to the bundle. A mount is a bind mount if it
// has either bind or rbind in the options."
requirement(t, { id: 'mounts.source.relative', section: MOUNTS, level: 'MUST', title: 'a relative bind-mount source is relative to the bundle' }, async (t) => {
  const r = await rt.runScript('cat /rel/file', (c) => {
    c.mounts.push({ destination: '/rel', type: 'bind', source: 'reldata', options: ['rbind', 'ro'] });
  }, (b) => {
    fs.mkdirSync(path.join(b.dir, 'reldata'));
    fs.writeFileSync(path.join(b.dir, 'reldata/file'), 'from the bundle\n');
    fs.mkdirSync(path.join(b.rootfs, 'rel'));
  });
  t.equal(r.stdout.trim(), 'from the bundle', r.stderr);
});

requirement(t, { id: 'mounts.bind-by-option', section: MOUNTS, level: 'MUST', title: 'a mount with a bind option and no type is a bind mount' }, async (t) => {
  const src = rt.tmpdir('bind');
  fs.writeFileSync(path.join(src, 'file'), 'bound\n');
  const r = await rt.runScript('cat /b/file', (c) => {
    c.mounts.push({ destination: '/b', source: src, options: ['bind'] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'b')));
  t.equal(r.stdout.trim(), 'bound', r.stderr);
});

// ---- Process ----
const PROCESS = 'config.md#process';

// "args (array of strings, OPTIONAL) with similar semantics to IEEE Std
// 1003.1-2008 execvp's argv. ... that entry is used with the same semantics as
// execvp's file" -- a bare name is looked up in the configured PATH.
requirement(t, { id: 'process.args.path-lookup', section: PROCESS, level: 'MUST', title: 'args[0] without a slash is found through PATH' }, async (t) => {
  const { bundle } = rt.outBundle('x', (c) => {
    c.process.args = ['echo', 'found', 'via', 'PATH'];
    c.process.env = ['PATH=/bin'];
  });
  const r = await rt.run(newId(), bundle);
  t.equal(r.exitCode, 0, String(r.stderr));
  t.equal(String(r.stdout).trim(), 'found via PATH');
});

// "This specification extends the IEEE standard in that at least one entry
// is REQUIRED (non-Windows)": a runtime cannot apply an empty args
// (runtime.md create: "If the runtime cannot apply a property as specified
// in the configuration, it MUST generate an error").
requirement(t, { id: 'process.args.empty', section: PROCESS, level: 'MUST', title: 'an empty process.args is an error' }, async (t) => {
  const { bundle } = rt.outBundle('x', (c) => (c.process.args = []));
  const id = newId();
  const created = await rt.create(id, bundle);
  if (created.exitCode !== 0) return void t.pass('create refuses it');
  t.not((await rt.start(id)).exitCode, 0, 'start fails');
});

// "cwd (string, REQUIRED) is the working directory that will be set for the
// executable. This value MUST be an absolute path."
requirement(t, { id: 'process.cwd', section: PROCESS, level: 'MUST', title: 'the program starts in process.cwd' }, async (t) => {
  const r = await rt.runScript('pwd', (c) => (c.process.cwd = '/etc'));
  t.equal(r.stdout.trim(), '/etc');
});

// "env (array of strings, OPTIONAL) with the same semantics as IEEE Std
// 1003.1-2008's environ."
requirement(t, { id: 'process.env', section: PROCESS, level: 'MUST', title: 'the environment is process.env (and not the runtime caller\'s)' }, async (t) => {
  const { bundle } = rt.outBundle('env', (c) => {
    c.process.env.push('CONF_VAR=with spaces=and equals');
  });
  process.env.TSR_CONF_LEAK = 'leaked';
  let r;
  try {
    r = await rt.run(`env-${process.pid}`, bundle);
  } finally {
    delete process.env.TSR_CONF_LEAK;
  }
  const env = String(r.stdout).split('\n');
  t.ok(env.includes('CONF_VAR=with spaces=and equals'), 'configured variable present verbatim');
  t.ok(env.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'), 'PATH as configured');
  t.notOk(env.some((l) => l.startsWith('TSR_CONF_LEAK=')), 'the caller\'s environment does not leak in');
});

// User: "uid (int, REQUIRED) specifies the user ID in the container
// namespace. gid (int, REQUIRED) specifies the group ID in the container
// namespace. additionalGids (array of ints, OPTIONAL) specifies additional
// group IDs in the container namespace to be added to the process."
requirement(t, { id: 'process.user.uid-gid', section: 'config.md#user', level: 'MUST', title: 'the program runs as user.uid / user.gid' }, async (t) => {
  const r = await rt.runScript('id -u; id -g', (c) => (c.process.user = { uid: 65534, gid: 65534 }));
  t.same(r.stdout.trim().split('\n'), ['65534', '65534']);
});

requirement(t, { id: 'process.user.additionalGids', section: 'config.md#user', level: 'MUST', title: 'additionalGids become supplementary groups' }, async (t) => {
  const r = await rt.runScript('grep ^Groups: /proc/self/status', (c) => (c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 20] }));
  t.same(r.stdout.replace('Groups:', '').trim().split(/\s+/).sort(), ['10', '20']);
});

// "umask (uint32, OPTIONAL) specifies the umask of the user."
requirement(t, { id: 'process.user.umask', section: 'config.md#user', level: 'MUST', title: 'user.umask is applied' }, async (t) => {
  const r = await rt.runScript('umask', (c) => (c.process.user.umask = 0o027));
  t.equal(r.stdout.trim(), '0027');
});

// rlimits: "soft (uint64, REQUIRED) ... rlim.rlim_cur MUST match the
// configured value. hard (uint64, REQUIRED) ... rlim.rlim_max MUST match the
// configured value."
requirement(t, { id: 'process.rlimits', section: 'config.md#posix-process', level: 'MUST', title: 'rlimits soft/hard are set as configured' }, async (t) => {
  const r = await rt.runScript('grep -E "Max (open files|core file size)" /proc/self/limits', (c) => {
    c.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 4096 },
    ];
  });
  t.match(r.stdout, /Max open files\s+512\s+1000\s/);
  t.match(r.stdout, /Max core file size\s+0\s+4096\s/);
});

// "If rlimits contains duplicated entries with same type, the runtime MUST
// generate an error."
requirement(t, { id: 'process.rlimits.duplicate', section: 'config.md#posix-process', level: 'MUST', title: 'duplicate rlimit types are an error' }, async (t) => {
  const r = await rt.runScript('true', (c) => {
    c.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
      { type: 'RLIMIT_NOFILE', soft: 256, hard: 1000 },
    ];
  });
  t.not(r.exitCode, 0);
});

// "type (string, REQUIRED) the platform resource being limited. Linux: valid
// values are defined in the getrlimit(2) man page, such as RLIMIT_MSGQUEUE.
// ... The runtime MUST generate an error for any values which cannot be
// mapped to a relevant kernel interface."
requirement(t, { id: 'process.rlimits.unknown', section: 'config.md#posix-process', level: 'MUST', title: 'an unknown rlimit type is an error' }, async (t) => {
  const r = await rt.runScript('true', (c) => {
    c.process.rlimits = [{ type: 'RLIMIT_TSR_BOGUS', soft: 1, hard: 1 }];
  });
  t.not(r.exitCode, 0);
});

// "noNewPrivileges (bool, OPTIONAL) setting noNewPrivileges to true prevents
// the process from gaining additional privileges."
requirement(t, { id: 'process.noNewPrivileges', section: 'config.md#linux-process', level: 'MUST', title: 'noNewPrivileges sets no_new_privs (and only when true)' }, async (t) => {
  const on = await rt.runScript('grep NoNewPrivs /proc/self/status', (c) => (c.process.noNewPrivileges = true));
  t.match(on.stdout, /NoNewPrivs:\s+1/);
  const off = await rt.runScript('grep NoNewPrivs /proc/self/status', (c) => (c.process.noNewPrivileges = false));
  t.match(off.stdout, /NoNewPrivs:\s+0/);
});

// "oomScoreAdj (int, OPTIONAL) adjusts the oom-killer score in
// [pid]/oom_score_adj for the process's [pid] in a proc pseudo-filesystem. If
// oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value.
// If oomScoreAdj is not set, the runtime MUST NOT change the value of
// oom_score_adj."
requirement(t, { id: 'process.oomScoreAdj.set', section: 'config.md#linux-process', level: 'MUST', title: 'oomScoreAdj is written to oom_score_adj' }, async (t) => {
  const r = await rt.runScript('cat /proc/self/oom_score_adj', (c) => (c.process.oomScoreAdj = 123));
  t.equal(r.stdout.trim(), '123');
});

requirement(t, { id: 'process.oomScoreAdj.unset', section: 'config.md#linux-process', level: 'MUST NOT', title: 'without oomScoreAdj the caller\'s oom_score_adj is kept' }, async (t) => {
  const mine = fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  const r = await rt.runScript('cat /proc/self/oom_score_adj', (c) => delete c.process.oomScoreAdj);
  t.equal(r.stdout.trim(), mine);
});

// "capabilities (object, OPTIONAL) is an object containing arrays that
// specifies the sets of capabilities for the process." (applied per
// runtime.md create: all properties MUST be applied)
requirement(t, { id: 'process.capabilities', section: 'config.md#linux-process', level: 'MUST', title: 'capability sets are exactly the configured ones' }, async (t) => {
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
  const want = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');
  const set = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  // Ambient capabilities must also be inheritable (capabilities(7)), so the
  // config names all five sets.
  const r = await rt.runScript('grep -E "^Cap(Eff|Prm|Bnd|Amb|Inh)" /proc/self/status', (c) => {
    c.process.capabilities = { bounding: set, effective: set, permitted: set, inheritable: set, ambient: set };
  });
  const caps = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/:\s+/)));
  t.equal(caps.CapEff, want, 'effective');
  t.equal(caps.CapPrm, want, 'permitted');
  t.equal(caps.CapBnd, want, 'bounding');
  t.equal(caps.CapAmb, want, 'ambient');
  t.equal(caps.CapInh, want, 'inheritable');
});

// "Any value which cannot be mapped to a relevant kernel interface, or cannot
// be granted otherwise MUST be logged as a warning by the runtime. Runtimes
// SHOULD NOT fail if the container configuration requests capabilities that
// cannot be granted"
requirement(t, { id: 'process.capabilities.unknown', section: 'config.md#linux-process', level: 'SHOULD NOT', title: 'an unknown capability does not make the container fail' }, async (t) => {
  const r = await rt.runScript('echo ran', (c) => {
    c.process.capabilities.bounding.push('CAP_TSR_DOES_NOT_EXIST');
    c.process.capabilities.permitted.push('CAP_TSR_DOES_NOT_EXIST');
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.trim(), 'ran');
});

// "consoleSize (object, OPTIONAL) specifies the console size in characters
// of the terminal. Runtimes MUST ignore consoleSize if terminal is false or
// unset."
requirement(t, { id: 'process.consoleSize.ignored', section: 'config.md#process', level: 'MUST', title: 'consoleSize is ignored when terminal is false' }, async (t) => {
  const r = await rt.runScript('echo ran', (c) => {
    c.process.terminal = false;
    c.process.consoleSize = { height: 25, width: 80 };
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.trim(), 'ran');
});

// ---- Hostname ----
// "hostname (string, OPTIONAL) specifies the container's hostname as seen by
// processes running inside the container."
requirement(t, { id: 'hostname', section: 'config.md#hostname', level: 'MUST', title: 'hostname is what processes inside see' }, async (t) => {
  const r = await rt.runScript('hostname; cat /proc/sys/kernel/hostname', (c) => (c.hostname = 'conformance-host'));
  t.same(r.stdout.trim().split('\n'), ['conformance-host', 'conformance-host']);
});

// "domainname (string, OPTIONAL) specifies the container's domainname as seen
// by processes running inside the container." (runtime-spec 1.2)
requirement(t, { id: 'domainname', section: 'config.md#domainname', level: 'MUST', title: 'domainname is what processes inside see' }, async (t) => {
  const r = await rt.runScript('cat /proc/sys/kernel/domainname', (c) => (c.domainname = 'conformance.example'));
  t.equal(r.stdout.trim(), 'conformance.example');
});
