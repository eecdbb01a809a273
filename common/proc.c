/* proc: a child's descriptors and signal dispositions (see proc.h) */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "proc.h"

int
proc_keep_fds(const int *keep, int n)
{
	unsigned lo = 3;

	/* the kept descriptors in ascending order, closing the gaps between */
	for (;;) {
		unsigned next = ~0U;

		for (int i = 0; i < n; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo &&
			    (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next == ~0U)
			return close_range(lo, ~0U, 0) < 0 ? -errno : 0;
		if (next > lo && close_range(lo, next - 1, 0) < 0)
			return -errno;
		lo = next + 1;
	}
}

/* in the order the call sites had: SIGTERM's default first, its ignoring last */
void
proc_child_signals(unsigned flags)
{
	if (flags & PROC_SIG_UNBLOCK) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	if (flags & PROC_SIG_TERM_DEFAULT)
		signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* the master's upgrade, which `systemctl kill` sends the whole unit */
	signal(SIGUSR2, SIG_IGN);
	if (flags & PROC_SIG_TERM_IGNORE)
		signal(SIGTERM, SIG_IGN);
	if (flags & PROC_SIG_CHLD_DEFAULT)
		signal(SIGCHLD, SIG_DFL);
	if (flags & PROC_SIG_PIPE_IGNORE)
		signal(SIGPIPE, SIG_IGN);
}
