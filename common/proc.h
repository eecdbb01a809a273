/*
 * proc: what every child of shmchatd does first (after fork(), or after
 * the exec of the fork server): keep only the descriptors it owns, and
 * leave the signals meant for "shmchatd" to the master.
 */
#ifndef SHMCHAT_PROC_H
#define SHMCHAT_PROC_H

/*
 * Close every descriptor above stdio except the n in keep (any order;
 * stdio, negative and repeated entries are fine). Returns 0, or -errno
 * of the first close_range() that failed.
 */
int proc_keep_fds(const int *keep, int n);

/*
 * SIGINT and SIGHUP are always ignored: from a terminal they reach the
 * whole process group, and they are the master's to act on (it closes
 * every client properly). The rest is per process:
 */
enum proc_signals {
	PROC_SIG_UNBLOCK = 1 << 0,	/* empty the mask inherited, first */
	PROC_SIG_TERM_DEFAULT = 1 << 1,	/* SIGTERM ends the process */
	PROC_SIG_TERM_IGNORE = 1 << 2,	/* SIGTERM is the master's too */
	PROC_SIG_CHLD_DEFAULT = 1 << 3,
	PROC_SIG_PIPE_IGNORE = 1 << 4,	/* a write to a gone peer fails with EPIPE */
};
void proc_child_signals(unsigned flags);

#endif
