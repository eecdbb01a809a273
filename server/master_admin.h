/*
 * master_admin: the master's side of shmchatctl. It owns the SysV queue
 * (created at start, removed on every exit path), forks the admin process
 * (admin.c) and restarts it if it dies, and answers the requests the admin
 * process forwards: status, who, channels, chanmode, kick, wall, motd,
 * reload, upgrade, shutdown, ipc. Answers are rows of tab-separated fields
 * (adminq.h).
 */
#ifndef SHMCHAT_MASTER_ADMIN_H
#define SHMCHAT_MASTER_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ipc.h"

struct master;

struct master_admin {
	int qid;		/* -1: none */
	long key;
	char group[40];		/* "" when the group does not exist */
	pid_t pid;		/* the admin process, 0 when not running */
	struct ipc_peer ipc;
	char rbuf[IPC_MSG_MAX];	/* its message being dispatched */
	unsigned busy;		/* requests forwarded and not yet relayed */
	uint64_t restart_ms;	/* when to start it again, 0: not due */
	uint64_t started_ms;
	/* what the master tells it to leave with (ADMINQ_RETIRE): 0 for one a
	 * former image of an older version handed over, which stays */
	uint64_t token;
	bool retire_due;	/* after an upgrade: tell the former image's to leave */
	bool retiring;		/* told: its exit is no failure */
};

/* create the queue; -1 on failure (logged) */
int master_admin_create(struct master *m);
/* fork the admin process (after privileges are dropped); -1 on failure */
int master_admin_start(struct master *m);
/* true when pid was the admin process (then it is handled here) */
bool master_admin_reaped(struct master *m, pid_t pid, int status);
/*
 * After an upgrade: watch the admin process the former image handed over
 * (or start one when none was); 0. One of this version or later (a token)
 * is told to leave once it has relayed what it has (the outcome of the
 * upgrade, typically), and one of this image's code is started then.
 */
int master_admin_adopt(struct master *m);
/* the outcome of an upgrade (m->up, master_upgrade.h) to its shmchatctl */
void master_admin_upgrade_answer(struct master *m);
/* restart a dead admin process when due */
void master_admin_tick(struct master *m, uint64_t now_ms);
/* stop the admin process and remove the queue (every exit path) */
void master_admin_stop(struct master *m);

#endif
