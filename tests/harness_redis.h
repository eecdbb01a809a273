/*
 * harness_redis: a private redis-server for the tests of the cluster and
 * of the master's link to Redis. It listens on a UNIX socket (mode 777:
 * the daemon under test may have dropped root) in a directory the caller
 * made, and on 127.0.0.1:port too when port is not 0; readiness is its
 * "ready to accept connections" line. It runs with PR_SET_PDEATHSIG, so it
 * dies with the test process whatever happens to it; h_redis_kill() and
 * h_redis_cleanup() are for the normal end.
 *
 * Only check.h is needed: both the plain Check programs and those of
 * tests/harness.c use it. Failures are returned with a reason, for the
 * caller's own assertion.
 */
#ifndef SHMCHAT_TEST_HARNESS_REDIS_H
#define SHMCHAT_TEST_HARNESS_REDIS_H

#include <stdbool.h>
#include <sys/types.h>

struct h_redis {
	pid_t pid;		/* 0 when not running */
	unsigned port;		/* TCP on 127.0.0.1 too when not 0 */
	char dir[96];		/* its directory: the socket, anything it writes */
	char sock[108];		/* the UNIX socket's path (sun_path) */
	char password[64];	/* requirepass when not empty */
	char err[256];		/* why the last start failed */
};

/* is redis-server in PATH? */
bool h_redis_available(void);
/*
 * Prepare r in a new directory under parent (made with mkdtemp; removed by
 * h_redis_cleanup()); password may be NULL. false when the directory
 * cannot be made (reason in r->err).
 */
bool h_redis_init(struct h_redis *r, const char *parent, const char *password);
/*
 * Start the server and wait (up to 10 s) until it accepts connections.
 * false with a reason in r->err when it exited first (a TCP port taken
 * meanwhile) or was not ready in time (then it is killed).
 */
bool h_redis_start(struct h_redis *r);
/* a free TCP port on 127.0.0.1 a moment ago, 0 on failure (redis-server
 * cannot bind port 0 and say which it got) */
unsigned h_redis_free_port(void);
/* send sig (SIGSTOP, SIGCONT...); false when it is not running */
bool h_redis_signal(struct h_redis *r, int sig);
/* SIGKILL and reap: gone for sure when this returns (the socket file stays) */
void h_redis_kill(struct h_redis *r);
/* kill it, then start it again on the same socket (and port), empty */
bool h_redis_restart(struct h_redis *r);
/* "unix:<sock>" or, with tcp, "redis://127.0.0.1:<port>/0" */
const char *h_redis_url(const struct h_redis *r, bool tcp, char *buf, size_t cap);
/* kill it and remove its directory */
void h_redis_cleanup(struct h_redis *r);
/* kill every server still running (of this process), e.g. after a failure */
void h_redis_kill_all(void);

/* remove dir and everything below it (a test's temporary directory) */
void h_redis_rmtree(const char *dir);

#endif
