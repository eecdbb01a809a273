/*
 * master_forkserver: the master's side of the fork server (forkserver.h):
 * find and start the program, ask it for workers, stop it.
 */
#ifndef SHMCHAT_MASTER_FORKSERVER_H
#define SHMCHAT_MASTER_FORKSERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "forkserver.h"
#include "ipc.h"

struct master_forkserver {
	pid_t pid;		/* 0 when not running */
	struct ipc_peer ipc;
	char rbuf[IPC_MSG_MAX];	/* its message being dispatched */
	char path[PATH_MAX];	/* the program, found by master_forkserver_find() */
	int exe_fd;		/* O_PATH to it, opened before dropping root */
	time_t started;		/* clock_s() of the last start */
	/*
	 * TLS: the certificate and key files of the pair in use, opened by
	 * the master (the first ones as root, before dropping it) and passed
	 * to every fork server it starts; the master never reads them. A
	 * reload's pair waits in tls_new_* until the fork server says it
	 * loaded it. -1 when there is none.
	 */
	int tls_cert_fd, tls_key_fd;
	int tls_new_cert_fd, tls_new_key_fd;
	uint32_t tls_id, tls_new_id;	/* of the last request, of the reload's */
	bool tls_loaded;		/* a pair was loaded since the start */
	/* the pool of spare workers, as the fork server last reported it */
	uint32_t spares_ready, spares_target;
	/* after an upgrade: the former image's fork server, leaving; its
	 * channel is read until EOF (it reports the workers it reaped) */
	struct ipc_peer retiring;
	pid_t retiring_pid;
	char retiring_rbuf[IPC_MSG_MAX];
};

struct conf;

/* master, at start, as root: locate the program and open it, so that it
 * runs after the switch to an unprivileged user even from a directory
 * that user cannot search (a build tree in /root); returns 0 or -1 */
int master_forkserver_find(struct master_forkserver *fs);
/* start it (fork and exec) with the segment behind ring_fd; returns 0 or
 * -1 (logged) */
int master_forkserver_start(struct master_forkserver *fs, int ring_fd);
/* ask for a worker that will own wfd (the caller keeps and closes its wfd) */
int master_forkserver_spawn(struct master_forkserver *fs, uint32_t slot, uint32_t gen, int wfd);
/* after each start: the TLS pair in use, then the pool's bounds (the fork
 * server forks spares from then on); 0 or -errno (logged) */
int master_forkserver_setup(struct master_forkserver *fs, const struct conf *c);
/* the pool's bounds again (a reload); 0 or -errno (logged) */
int master_forkserver_pool_send(struct master_forkserver *fs, const struct conf *c);
/* open the TLS certificate and key files of c into fds; 0, or -1 with err */
int master_forkserver_tls_open(const struct conf *c, int fds[2], char *err, size_t errlen);
/* have the fork server build its TLS context from a reload's new pair (it
 * is kept once loaded) */
int master_forkserver_tls_reload(struct master_forkserver *fs, const struct conf *c,
    int fds[2]);
/* the fork server's answer (IPC_FS_TLS_DONE); returns false when a pair
 * failed to load and no pair was ever loaded */
bool master_forkserver_tls_done(struct master_forkserver *fs, const void *msg, size_t len);
/* at exit: close the channel (the fork server leaves on EOF) and reap it */
void master_forkserver_stop(struct master_forkserver *fs);

#endif
