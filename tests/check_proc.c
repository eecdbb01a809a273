/* check_proc: unit tests for a child's descriptor and signal set-up. */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "unit.h"

/* the descriptors the children open (all above stdio) */
static const int opened[] = { 3, 4, 5, 7, 8, 20, 21, 100 };
#define NOPENED	(int)(sizeof opened / sizeof opened[0])

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/*
 * Open every descriptor of opened[], keep what keep says, then check them.
 * In a child of its own: closing descriptors here would close Check's.
 * Its exit status is 0, or names what went wrong: 1 set-up, 2 the call
 * failed, 10 + fd a descriptor in the wrong state, 9 an unexpected one.
 */
static int
keep_child(const int *keep, int n, const int *want, int nwant)
{
	struct rlimit rl;
	DIR *d;
	struct dirent *e;
	int seen = 0;

	for (int i = 0; i < NOPENED; i++)
		if (dup2(STDERR_FILENO, opened[i]) != opened[i])
			return 1;
	if (proc_keep_fds(keep, n) != 0)
		return 2;
	for (int fd = 0; fd <= 2; fd++)
		if (!fd_open(fd))
			return 10 + fd;
	for (int i = 0; i < NOPENED; i++) {
		bool kept = false;

		for (int j = 0; j < nwant; j++)
			kept |= want[j] == opened[i];
		if (fd_open(opened[i]) != kept)
			return 10 + opened[i];
	}
	/*
	 * Nothing else is left either. Descriptors at or above the limit are
	 * not ours (valgrind keeps its own there).
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || (d = opendir("/proc/self/fd")) == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d) || fd <= 2 ||
		    (rlim_t)fd >= rl.rlim_cur)
			continue;
		seen++;
	}
	closedir(d);
	return seen == nwant ? 0 : 9;
}

static int
run_keep(const int *keep, int n, const int *want, int nwant)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(keep_child(keep, n, want, nwant));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(keep_none)
{
	ck_assert_int_eq(run_keep(NULL, 0, NULL, 0), 0);
}
END_TEST

START_TEST(keep_one)
{
	int keep[] = { 7 };

	ck_assert_int_eq(run_keep(keep, 1, keep, 1), 0);
}
END_TEST

/* right above stdio, and next to each other: no empty range to close */
START_TEST(keep_adjacent)
{
	int keep[] = { 4, 3, 5 };

	ck_assert_int_eq(run_keep(keep, 3, keep, 3), 0);
}
END_TEST

/* any order; stdio, negative and repeated entries change nothing */
START_TEST(keep_unsorted)
{
	int keep[] = { 100, 20, -1, 1, 7, 20, 0 };
	int want[] = { 7, 20, 100 };

	ck_assert_int_eq(run_keep(keep, 7, want, 3), 0);
}
END_TEST

/* the highest one opened, and the one above it is gone */
START_TEST(keep_top)
{
	int keep[] = { 100, 3 };

	ck_assert_int_eq(run_keep(keep, 2, keep, 2), 0);
}
END_TEST

static void
on_signal(int sig)
{
	(void)sig;
}

static bool
disposition_is(int sig, void (*h)(int))
{
	struct sigaction sa;

	return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == h;
}

/*
 * From the state a child inherits (signals blocked, some handled), set
 * flags and compare; 0 or the number of the first mismatch.
 */
static int
signals_child(unsigned flags, void (*term_h)(int), void (*chld_h)(int),
    void (*pipe_h)(int), bool blocked)
{
	sigset_t all, now;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGCHLD, on_signal);
	signal(SIGPIPE, on_signal);
	proc_child_signals(flags);
	if (!disposition_is(SIGTERM, term_h))
		return 1;
	if (!disposition_is(SIGINT, SIG_IGN) || !disposition_is(SIGHUP, SIG_IGN))
		return 2;
	if (!disposition_is(SIGCHLD, chld_h))
		return 3;
	if (!disposition_is(SIGPIPE, pipe_h))
		return 4;
	if (sigprocmask(SIG_SETMASK, NULL, &now) < 0 ||
	    sigismember(&now, SIGTERM) != blocked)
		return 5;
	return 0;
}

static int
run_signals(unsigned flags, void (*term_h)(int), void (*chld_h)(int),
    void (*pipe_h)(int), bool blocked)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(signals_child(flags, term_h, chld_h, pipe_h, blocked));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* what a worker, the admin process and the fork server ask for */
START_TEST(signals_per_process)
{
	ck_assert_int_eq(run_signals(PROC_SIG_UNBLOCK | PROC_SIG_TERM_DEFAULT |
	    PROC_SIG_CHLD_DEFAULT | PROC_SIG_PIPE_IGNORE,
	    SIG_DFL, SIG_DFL, SIG_IGN, false), 0);
	ck_assert_int_eq(run_signals(PROC_SIG_UNBLOCK | PROC_SIG_TERM_DEFAULT |
	    PROC_SIG_CHLD_DEFAULT, SIG_DFL, SIG_DFL, on_signal, false), 0);
	ck_assert_int_eq(run_signals(PROC_SIG_TERM_IGNORE,
	    SIG_IGN, on_signal, on_signal, true), 0);
}
END_TEST

static Suite *
proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, keep_none);
	tcase_add_test(tc, keep_one);
	tcase_add_test(tc, keep_adjacent);
	tcase_add_test(tc, keep_unsorted);
	tcase_add_test(tc, keep_top);
	tcase_add_test(tc, signals_per_process);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(proc_suite());
}
