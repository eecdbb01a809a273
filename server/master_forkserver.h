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
};

/* master, at start, as root: locate the program and open it, so that it
 * runs after the switch to an unprivileged user even from a directory
 * that user cannot search (a build tree in /root); returns 0 or -1 */
int master_forkserver_find(struct master_forkserver *fs);
/* start it (fork and exec) with the segment behind ring_fd; returns 0 or
 * -1 (logged) */
int master_forkserver_start(struct master_forkserver *fs, int ring_fd);
/* ask for a worker that will own wfd (the caller keeps and closes its wfd) */
int master_forkserver_spawn(struct master_forkserver *fs, uint32_t slot, uint32_t gen, int wfd);
/* at exit: close the channel (the fork server leaves on EOF) and reap it */
void master_forkserver_stop(struct master_forkserver *fs);

#endif
