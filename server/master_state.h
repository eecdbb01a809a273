/*
 * master_state: everything shmchatd's master process owns, shared by the
 * master_*.c files that each do one of its jobs (master.h: the loop).
 */
#ifndef SHMCHAT_MASTER_STATE_H
#define SHMCHAT_MASTER_STATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "dirsvc.h"
#include "fanout.h"
#include "ipc.h"
#include "listen.h"
#include "master_admin.h"
#include "master_forkserver.h"
#include "master_upgrade.h"
#include "notify.h"
#include "ring.h"
#include "shm.h"

/* epoll data of the master's descriptors: kind << 32 | index */
enum master_ev {
	EV_LISTEN = 1,
	EV_SIGNAL,
	EV_TIMER,
	EV_WORKER,
	EV_ADMIN,
	EV_FORKSERVER,
	EV_REDIS,		/* the cluster's link (index: its connection) */
	EV_UPGRADE,		/* an upgrade's check answering (master_upgrade.h) */
};
#define EV(type, idx)	(((uint64_t)(type) << 32) | (uint32_t)(idx))

/* the master's side of one client's worker */
struct mslot {
	pid_t pid;		/* 0 when no worker runs for it */
	struct ipc_peer ipc;
	bool space_wait;	/* waits for ring space */
	bool reaped;		/* waited for: its pid may belong to someone else now */
	bool eof;		/* its channel closed: the worker has exited */
	bool counted;		/* counts toward its address's connection limit */
	bool exempt;		/* address in limits_exempt: no flood control */
	int pending_fd;		/* the client's socket until the worker exists, else -1 */
	uint32_t live_idx;	/* position in master.live */
};

/* SIGKILL a slot's worker (never a reaped pid: it may be someone else's now) */
static inline void
master_slot_kill(struct mslot *ms)
{
	if (ms->pid > 0 && !ms->reaped)
		kill(ms->pid, SIGKILL);
}

struct master_pid;		/* pid -> slot (master_child.c) */
struct cluster;

struct master {
	struct conf *cfg;
	const char *config_path;
	bool config_must_exist;
	struct listen_set ls;
	struct shm_seg seg;
	struct ring ring;
	struct dirsvc ds;	/* the directory and what publishes its changes */
	struct dirsvc_ops ds_ops;	/* ds.ops with the cluster's hooks, in a cluster */
	struct cluster *cluster;	/* NULL: one node (no cluster group) */
	struct fanout fanout;
	struct mslot *slots;
	uint32_t nslots;
	struct master_pid *pids;
	struct iplimit *per_ip;	/* connections per remote address */
	uint32_t *live;		/* slots with a running worker */
	uint32_t nlive;
	uint32_t *waiters;	/* slots waiting for ring space */
	uint32_t nwaiters;
	struct buf requests;	/* directory requests, handled in ring order */
	char rbuf[IPC_MSG_MAX];	/* what a worker sent, being dispatched */
	int epfd, sigfd, timerfd;
	struct notify notify;
	bool stopping;
	uint64_t accept_resume_ms;	/* accept paused (out of fds) until then */
	time_t stop_deadline;
	char stop_reason[256];
	time_t started;
	uint64_t watchdog_next_ms;
	time_t last_status_at;
	char last_status[512];
	char listen_desc[256];
	int tls_listeners;	/* how many of ls are TLS listeners */
	int tls_port;		/* the first one's port: sts's default */
	int exit_code;
	struct master_admin admin;
	struct master_forkserver fs;
	struct master_upgrade up;	/* an upgrade in place (master_upgrade.h) */
	bool rehash_due;	/* REHASH: reload once the requests of this turn are done */
	uint32_t rehash_slot, rehash_gen;	/* who asked: told the outcome */
};

#endif
