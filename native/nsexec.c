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
 *                 [--timens-offset CLOCK:SECS:NSECS]... [--fork] [--ro-exe] -- PROG ARGS...
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
#include <sys/prctl.h>
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
 * --ro-exe: a private mount namespace (of the host's tree) in which PROG is
 * a read-only bind of itself, then exec PROG from there. /proc/<pid>/exe of
 * the process that enters a running container then points into a read-only
 * mount, so a container process cannot open the host's binary for writing
 * through it (CVE-2019-5736), not even in the window between this execve
 * and Node-init's own PR_SET_DUMPABLE. The later setns into the container's
 * mount namespace leaves exe where it is.
 */
static void seal_exe(const char *prog)
{
	if (unshare(CLONE_NEWNS) < 0)
		fail("unshare", "CLONE_NEWNS (--ro-exe)");
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail("mount", "rslave / (--ro-exe)");
	if (mount(prog, prog, NULL, MS_BIND, NULL) < 0)
		fail("mount", prog);
	if (mount(NULL, prog, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		fail("mount", prog);
}

int main(int argc, char **argv)
{
	struct join joins[MAX_JOINS];
	char *offsets[MAX_OFFSETS];
	int njoins = 0, noffsets = 0, do_fork = 0, ro_exe = 0;
	long unshare_flags = 0;
	int i;

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
		} else if (!strcmp(a, "--ro-exe")) {
			ro_exe = 1;
		} else {
			errno = EINVAL;
			fail("argv", a);
		}
	}
	if (sync_fd < 0 || i >= argc) {
		errno = EINVAL;
		fail("argv", "need --sync-fd and a program after --");
	}
	/* Still in the host's namespaces: PROG's path is the host's. */
	if (ro_exe)
		seal_exe(argv[i]);

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
	if (noffsets)
		write_timens_offsets(offsets, noffsets);

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
