/*
 * forkserver: the process that forks shmchatd's workers.
 *
 * The master forks it once at start-up, while the master is still small
 * (configuration, sockets and the shared mapping, no directory yet). Every
 * worker is then forked from this small, quiet process instead of from the
 * master: a worker shares only pages that never change afterwards, so an
 * idle worker costs little memory (PSS), and the master's event loop never
 * pays for a fork().
 *
 * The master sends IPC_FS_SPAWN with one end of a fresh socketpair; the fork
 * server forks a worker that keeps that end, answers IPC_FS_SPAWNED with
 * its pid (or the fork() errno), reaps its workers and reports each with
 * IPC_FS_EXITED. The master passes the client's socket to the worker
 * itself (IPC_ASSIGN). If the fork server dies, its workers are re-parented
 * to the master (a child subreaper), which reaps them and starts a new one.
 */
#ifndef SHMCHAT_FORKSERVER_H
#define SHMCHAT_FORKSERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"

struct ring;

struct forkserver {
	pid_t pid;		/* 0 when not running */
	struct ipc_peer ipc;
	bool in_epoll, out_watched;
};

/* fork the fork server (from the master); returns 0 or -1 (logged) */
int forkserver_start(struct forkserver *fs, const struct ring *ring);
/* ask for a worker that will own wfd (the caller keeps and closes its wfd) */
int forkserver_spawn(struct forkserver *fs, uint32_t slot, uint32_t gen, int wfd);
/* at exit: close the channel (the fork server leaves on EOF) and reap it */
void forkserver_stop(struct forkserver *fs);

#endif
