/*
 * check_sandbox: the workers' sandbox (server/sandbox.c) against a real
 * shmchatd. The daemon is the copy in tests/sandbox/, whose worker program
 * is built with SHMCHAT_TEST_HOOKS: SANDBOX_TEST_LINE makes it attempt a
 * system call the sandbox forbids.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sandbox.h"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 16384);

			if (nb == NULL)
				break;
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

/* the value of a "Name:\tvalue" line of /proc/PID/status, or -1 */
static long
proc_status(pid_t pid, const char *name)
{
	char path[64], *text, *p;
	long v = -1;
	size_t n = strlen(name);

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((text = slurp(path)) == NULL)
		return -1;
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			v = strtol(p + n + 1, NULL, 10);
			break;
		}
	free(text);
	return v;
}

/* ------------------------------------------------------------- seccomp */

/* under valgrind the fork server loads no filter (docs/architecture.md) */
static bool
under_valgrind(void)
{
	const char *w = getenv("SHMCHATD_WRAPPER");

	return getenv("SHMCHAT_VALGRIND") != NULL || (w != NULL && strstr(w, "valgrind"));
}

/*
 * A worker attempts a forbidden call: it dies (SIGSYS), its peer sees its
 * QUIT, the server keeps serving, and the log names the reason.
 */
START_TEST(test_forbidden_syscall)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "peer"), *b = cli_new(s, "culprit"), *c = cli_new(s, "other");
	struct irc_msg m;
	pid_t wb;
	char *log;

	if (under_valgrind()) {
		fprintf(stderr, "forbidden syscall: skipped under valgrind (no filters)\n");
		srv_stop(s);
		return;
	}
	cli_join(a, "#sbx");
	cli_join(b, "#sbx");
	cli_join(c, "#sbx");
	cli_sync(a, NULL);
	wb = srv_worker_of(s, b, T_SHORT);
	H_ASSERT(wb > 0, "no worker process found for the culprit");

	cli_send(b, "%s", SANDBOX_TEST_LINE);
	H_ASSERT(cli_wait(a, "QUIT", "culprit", T_LONG, &m), "no QUIT for the culprit");
	H_ASSERT(strstr(msg_last(&m), "SIGSYS") != NULL, "QUIT says '%s'", msg_last(&m));
	EXPECT_EOF(b, T_SHORT);
	H_ASSERT(kill(wb, 0) < 0 && errno == ESRCH, "the culprit's worker %d lives on", (int)wb);

	/* the others go on, and a new client gets in */
	cli_send(c, "PRIVMSG #sbx :still here");
	cli_expect_text(a, "PRIVMSG", c, "#sbx", "still here");
	cli_close(cli_new(s, "newcomer"));

	log = slurp(s->log);
	H_ASSERT(log != NULL, "%s: %s", s->log, strerror(errno));
	H_ASSERT(strstr(log, "killed by SIGSYS: a forbidden system call") != NULL,
	    "the log does not name SIGSYS");
	H_ASSERT(strstr(log, "not sandboxed") == NULL, "the forbidden call returned");
	free(log);
	srv_stop(s);
}
END_TEST

/* every worker: no_new_privs, two filters (the fork server's, its own) */
START_TEST(test_worker_status)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "status");
	pid_t w = srv_worker_of(s, a, T_SHORT);
	long filters;

	H_ASSERT(w > 0, "no worker process found");
	if (under_valgrind()) {
		fprintf(stderr, "worker status: skipped under valgrind (no filters)\n");
		srv_stop(s);
		return;
	}
	H_ASSERT(proc_status(w, "NoNewPrivs") == 1, "NoNewPrivs is %ld",
	    proc_status(w, "NoNewPrivs"));
	H_ASSERT(proc_status(w, "Seccomp") == 2, "Seccomp is %ld (2: filter mode)",
	    proc_status(w, "Seccomp"));
	/* Seccomp_filters: Linux 5.9 and later */
	filters = proc_status(w, "Seccomp_filters");
	H_ASSERT(filters < 0 || filters == 2, "%ld seccomp filters", filters);
	/* the worker still serves its client after its set-up */
	cli_send(a, "TIME");
	EXPECT(a, "391", NULL);
	cli_send(a, "WHOIS status");
	EXPECT(a, "318", NULL);
	srv_stop(s);
}
END_TEST

/* -------------------------------------------------------- not dumpable */

/*
 * In a child running as uid/gid (dropped from root when that is us):
 * /proc/PID/mem and environ of the worker cannot be read, while those of a
 * dumpable process of the same user can (so the check means something).
 * Writes what went wrong to fd; exits 0 when all is as it should be.
 */
static void __attribute__((noreturn))
mem_child(int fd, pid_t worker, uid_t uid, gid_t gid)
{
	static const char *const files[] = { "mem", "environ" };
	char path[64], byte;
	pid_t ctl;
	int f, status;

	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) {
		dprintf(fd, "dropping to %d:%d: %s", (int)uid, (int)gid, strerror(errno));
		_exit(1);
	}
	/* the control: a dumpable process of the same user */
	if ((ctl = fork()) == 0) {
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		pause();
		_exit(0);
	}
	if (ctl < 0) {
		dprintf(fd, "fork: %s", strerror(errno));
		_exit(1);
	}
	usleep(100 * 1000);	/* let it set the flag */
	snprintf(path, sizeof path, "/proc/%d/environ", (int)ctl);
	f = open(path, O_RDONLY);
	if (f < 0 || read(f, &byte, 1) < 0) {
		dprintf(fd, "a dumpable process of the same user: %s: %s", path, strerror(errno));
		kill(ctl, SIGKILL);
		_exit(1);
	}
	close(f);
	kill(ctl, SIGKILL);
	waitpid(ctl, &status, 0);

	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(path, sizeof path, "/proc/%d/%s", (int)worker, files[i]);
		f = open(path, O_RDONLY);
		if (f >= 0) {
			/* mem opens for the owner on some kernels; reading must fail */
			ssize_t n = pread(f, &byte, 1, 4096);
			int e = errno;

			close(f);
			if (n >= 0) {
				dprintf(fd, "%s was read", path);
				_exit(1);
			}
			errno = e;
		}
		if (errno != EACCES && errno != EPERM && errno != EIO) {
			dprintf(fd, "%s: unexpected error %s", path, strerror(errno));
			_exit(1);
		}
	}
	_exit(0);
}

START_TEST(test_proc_mem)
{
	/* as root the workers run as nobody: root itself may read any process
	 * (CAP_SYS_PTRACE), so the reader is a process of the workers' user */
	struct srv *s = srv_start(geteuid() == 0 ?
	    "user = \"nobody\"; group = \"nogroup\";" : NULL);
	struct cli *a = cli_new(s, "secret");
	pid_t w = srv_worker_of(s, a, T_SHORT), pid;
	long uid, gid;
	char path[64], why[512] = "";
	struct stat st;
	int p[2], status;
	ssize_t n;

	H_ASSERT(w > 0, "no worker process found");
	uid = proc_status(w, "Uid");
	gid = proc_status(w, "Gid");
	H_ASSERT(uid >= 0 && gid >= 0, "no Uid/Gid in /proc/%d/status", (int)w);
	H_ASSERT(uid != 0, "the worker runs as root");
	/* a non-dumpable process's /proc files belong to root */
	snprintf(path, sizeof path, "/proc/%d/mem", (int)w);
	H_ASSERT(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	H_ASSERT(st.st_uid == 0, "%s belongs to %d, the worker is dumpable", path,
	    (int)st.st_uid);

	H_ASSERT(pipe(p) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	H_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		mem_child(p[1], w, (uid_t)uid, (gid_t)gid);
	}
	close(p[1]);
	n = read(p[0], why, sizeof why - 1);
	close(p[0]);
	why[n > 0 ? n : 0] = '\0';
	H_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	H_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "as %ld:%ld: %s", uid, gid,
	    why[0] ? why : "the reader failed");
	cli_send(a, "PING :alive");
	EXPECT(a, "PONG", NULL);
	srv_stop(s);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("sandbox");
	TCase *tc;

	harness_init();
	tc = h_tcase(su, "sandbox", 60, NULL, NULL);
	tcase_add_test(tc, test_forbidden_syscall);
	tcase_add_test(tc, test_worker_status);
	tcase_add_test(tc, test_proc_mem);
	return h_suite_run(su);
}
