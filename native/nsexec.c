/*
 * tsrunc-nsexec: the one piece of tsrunc that is not TypeScript.
 *
 * Why it exists: Node is multi-threaded from its first instruction, so it can
 * neither unshare(CLONE_NEWUSER) nor setns() into a user or mount namespace,
 * and a fork() from Node cannot run any JS in the child. This helper is
 * single-threaded, does exactly the namespace steps its argv lists, in argv
 * order, and then execs the program given after "--" (tsrunc's Node init).
 *
 * It is policy-free: every decision (which namespaces, in which order, the
 * id mappings, whether a child is needed) was made by the TypeScript caller.
 * Failures are reported as one JSON message on the sync socket, then exit 1.
 *
 * Usage:
 *   tsrunc-nsexec --sync-fd FD [--join FLAG:PATH]... [--unshare FLAGS]
 *                 [--timens-offset CLOCK:SECS:NSECS]... [--fork] [--seal-self]
 *                 [--seal [--root-fd N]] -- PROG ARGS...
 *   (--ro-exe is the old name of --seal)
 *
 * Messages to the caller on FD (SOCK_SEQPACKET: one message per write):
 *   {"type":"userns","pid":N}     after unshare(CLONE_NEWUSER): write my maps,
 *                                 then send any message back as the ack
 *   {"type":"pid","pid":N}        host pid of the process that will exec PROG
 *   {"type":"error","step":S,"detail":D,"errno":E}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define MAX_JOINS 16
#define MAX_OFFSETS 4

static int sync_fd = -1;

/* JSON strings we emit come from argv paths: escape the two characters that matter. */
static void json_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;
	for (; in && *in && o + 7 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static void send_msg(const char *msg)
{
	ssize_t n;
	do {
		n = write(sync_fd, msg, strlen(msg));
	} while (n < 0 && errno == EINTR);
}

static void __attribute__((noreturn)) fail(const char *step, const char *detail)
{
	int saved = errno;
	char esc[1024], msg[1280];
	json_escape(esc, sizeof(esc), detail ? detail : "");
	snprintf(msg, sizeof(msg), "{\"type\":\"error\",\"step\":\"%s\",\"detail\":\"%s\",\"errno\":%d}", step, esc,
		 saved);
	if (sync_fd >= 0)
		send_msg(msg);
	_exit(1);
}

static void send_pid(const char *type, pid_t pid)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "{\"type\":\"%s\",\"pid\":%d}", type, (int)pid);
	send_msg(msg);
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || *end || end == s) {
		errno = EINVAL;
		fail("argv", what);
	}
	return v;
}

struct join {
	int flag;
	const char *path;
};

static void join_namespace(const struct join *j)
{
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open namespace", j->path);
	/* Passing the type makes the kernel refuse a path of another namespace type. */
	if (setns(fd, j->flag) < 0)
		fail("setns", j->path);
	close(fd);
}

/* Blocks until the caller acks (it wrote our uid_map/gid_map meanwhile). */
static void wait_ack(void)
{
	char buf[256];
	ssize_t n;
	do {
		n = read(sync_fd, buf, sizeof(buf));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		fail("read ack", "");
	if (n == 0) {
		/* The caller died: nothing must outlive it. */
		errno = EPIPE;
		fail("read ack", "caller closed the sync socket");
	}
}

static void write_timens_offsets(char **offsets, int n)
{
	char buf[256];
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open timens_offsets", "");
	for (int i = 0; i < n; i++) {
		/* CLOCK:SECS:NSECS -> "CLOCK SECS NSECS" (the kernel's format). */
		snprintf(buf, sizeof(buf), "%s\n", offsets[i]);
		for (char *p = buf; *p; p++)
			if (*p == ':')
				*p = ' ';
		if (write(fd, buf, strlen(buf)) < 0)
			fail("write timens_offsets", offsets[i]);
	}
	close(fd);
}

/*
 * --seal (CVE-2019-5736 class). Every runtime process that is in, or enters,
 * a container runs code mapped from host files: this helper, Node, its
 * libraries, koffi.node. A container process with CAP_SYS_PTRACE (and
 * CAP_SYS_ADMIN for map_files) reaches them through /proc/<pid>/exe,
 * /proc/<pid>/map_files, /proc/<pid>/fd, /proc/<pid>/root and cwd whether we
 * are dumpable or not, and an O_PATH fd from there reopened for writing would
 * overwrite the host's file. So:
 *
 * - --seal-self: this binary re-execs itself from a sealed memfd copy
 *   (runc's cloned_binary; it is small), so a child forked into a pid
 *   namespace where container processes live never shows the host's
 *   tsrunc-nsexec as its exe (~1 ms: the caller skips it for a new pid
 *   namespace, where nobody sees that child before it execs);
 * - --seal: Node runs chrooted in a detached, recursively read-only, private clone of
 *   our mount tree (open_tree + mount_setattr): the dynamic loader, Node and
 *   koffi then map every file through read-only mounts, and whatever a
 *   /proc/<pid> link of ours leads to refuses writes with EROFS. A detached
 *   tree is in no mount namespace, so nothing propagates to the host or to
 *   the container's namespace, whose mounts and propagation stay untouched.
 *   It lives as long as something (a mapping, an fd, a root) still uses it.
 */
static int self_sealed(void)
{
	char exe[64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return 0;
	exe[n] = '\0';
	return !strncmp(exe, "/memfd:", 7);
}

static void reexec_sealed(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		fail("open", "/proc/self/exe (--seal)");
	int mfd = (int)syscall(SYS_memfd_create, "tsrunc-nsexec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		fail("memfd_create", "--seal");
	for (;;) {
		ssize_t n = sendfile(mfd, self, NULL, 1 << 20);
		if (n < 0)
			fail("sendfile", "--seal");
		if (n == 0)
			break;
	}
	close(self);
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		fail("fcntl", "F_ADD_SEALS (--seal)");
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	fail("execveat", "sealed copy (--seal)");
}

/* Needs CAP_SYS_ADMIN over our mount namespace's owner: before joining a user namespace, after making one. */
static int ro_tree(void)
{
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		fail("open_tree", "/ (--seal)");
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY, .propagation = MS_PRIVATE };
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		fail("mount_setattr", "read-only / (--seal)");
	return tree;
}

/*
 * Last, after every join and unshare (neither a user namespace's join nor its
 * creation is allowed from a chroot). With root_fd >= 0 the real root (of
 * the new mount namespace, if any) stays open there for Node-init, which
 * chroots back to it once Node and koffi are loaded.
 */
static void enter_tree(int tree, int root_fd)
{
	int root = -1;
	if (root_fd >= 0) {
		root = open("/", O_PATH | O_DIRECTORY);
		if (root < 0)
			fail("open", "/ (--root-fd)");
	}
	if (fchdir(tree) < 0 || chroot(".") < 0)
		fail("chroot", "read-only tree (--seal)");
	close(tree);
	if (root >= 0 && root != root_fd) {
		if (dup2(root, root_fd) < 0)
			fail("dup2", "--root-fd");
		close(root);
	}
}

int main(int argc, char **argv)
{
	struct join joins[MAX_JOINS];
	char *offsets[MAX_OFFSETS];
	int njoins = 0, noffsets = 0, do_fork = 0, seal = 0, seal_self = 0, root_fd = -1, tree = -1;
	long unshare_flags = 0;
	int i;

	/* Before parsing, which edits argv in place: the sealed copy gets it as we did. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--seal-self"))
			seal_self = 1;
		else if (!strcmp(argv[i], "--sync-fd") && i + 1 < argc)
			sync_fd = atoi(argv[i + 1]); /* for a failure's message; checked below */
	}
	if (seal_self && !self_sealed())
		reexec_sealed(argv);

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--sync-fd") && i + 1 < argc) {
			sync_fd = (int)parse_num(argv[++i], "--sync-fd");
		} else if (!strcmp(a, "--join") && i + 1 < argc && njoins < MAX_JOINS) {
			char *spec = argv[++i], *colon = strchr(spec, ':');
			if (!colon) {
				errno = EINVAL;
				fail("argv", spec);
			}
			*colon = '\0';
			joins[njoins].flag = (int)parse_num(spec, "--join");
			joins[njoins].path = colon + 1;
			njoins++;
		} else if (!strcmp(a, "--unshare") && i + 1 < argc) {
			unshare_flags = parse_num(argv[++i], "--unshare");
		} else if (!strcmp(a, "--timens-offset") && i + 1 < argc && noffsets < MAX_OFFSETS) {
			offsets[noffsets++] = argv[++i];
		} else if (!strcmp(a, "--fork")) {
			do_fork = 1;
		} else if (!strcmp(a, "--seal") || !strcmp(a, "--ro-exe")) {
			seal = 1;
		} else if (!strcmp(a, "--seal-self")) {
			seal_self = 1;
		} else if (!strcmp(a, "--root-fd") && i + 1 < argc) {
			root_fd = (int)parse_num(argv[++i], "--root-fd");
		} else {
			errno = EINVAL;
			fail("argv", a);
		}
	}
	if (sync_fd < 0 || i >= argc) {
		errno = EINVAL;
		fail("argv", "need --sync-fd and a program after --");
	}
	/*
	 * Still with the caller's privileges over its mount namespace. A new
	 * mount namespace is cloned from after it exists instead, so that the
	 * root Node-init returns to (--root-fd) is the container's copy.
	 */
	if (seal && !(unshare_flags & CLONE_NEWNS))
		tree = ro_tree();

	/*
	 * Before any join: a process of the container must not ptrace us or open
	 * our /proc/<pid>/exe (CVE-2019-5736 class), e.g. while exec forks into its
	 * pid namespace. execve of Node resets this; Node-init sets it again first.
	 * Not with a new user namespace: the caller, maybe unprivileged, writes our
	 * maps through /proc/<pid>, and no container process exists in it yet.
	 */
	if (!(unshare_flags & CLONE_NEWUSER) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("prctl", "PR_SET_DUMPABLE");

	int joined_user = 0;
	for (int j = 0; j < njoins; j++) {
		join_namespace(&joins[j]);
		joined_user |= joins[j].flag == CLONE_NEWUSER;
	}
	/*
	 * As runc: become the joined user namespace's root. Our host uid is not
	 * its root, so execve (of Node-init) would otherwise drop every capability.
	 */
	if (joined_user) {
		if (setresgid(0, 0, 0) < 0)
			fail("setresgid", "0 in the joined user namespace");
		if (setresuid(0, 0, 0) < 0)
			fail("setresuid", "0 in the joined user namespace");
	}

	if (unshare_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			fail("unshare", "user");
		/* Only the caller, outside, may write the maps of a fresh user namespace. */
		send_pid("userns", getpid());
		wait_ack();
		if (setresgid(0, 0, 0) < 0)
			fail("setresgid", "0");
		if (setresuid(0, 0, 0) < 0)
			fail("setresuid", "0");
		/*
		 * Changing credentials made us non-dumpable, which makes our /proc
		 * files (timens_offsets) root-owned in the host's terms: undo that.
		 */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			fail("prctl", "PR_SET_DUMPABLE");
		unshare_flags &= ~(long)CLONE_NEWUSER;
	}
	if (unshare_flags && unshare((int)unshare_flags) < 0)
		fail("unshare", "");
	if (seal && tree < 0)
		tree = ro_tree();
	/* Through /proc, which is read-only in the tree. */
	if (noffsets)
		write_timens_offsets(offsets, noffsets);
	if (seal)
		enter_tree(tree, root_fd);

	if (do_fork) {
		/*
		 * CLONE_PARENT: the child becomes the caller's child, not ours, so once
		 * the caller exits it is reparented to the caller's subreaper (the shim).
		 */
		pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (pid < 0)
			fail("clone", "");
		if (pid > 0) {
			send_pid("pid", pid);
			_exit(0);
		}
	} else {
		send_pid("pid", getpid());
	}

	execv(argv[i], &argv[i]);
	fail("execve", argv[i]);
}
