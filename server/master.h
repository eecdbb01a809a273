/*
 * master: shmchatd's main process. It owns the listening sockets, the
 * shared segment, the directory and one socketpair per worker; it accepts,
 * forks a worker per client, reaps them, fans records out to inboxes, and
 * handles signals in its event loop (signalfd: nothing runs in a handler).
 */
#ifndef SHMCHAT_MASTER_H
#define SHMCHAT_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "dir.h"
#include "master_forkserver.h"
#include "ipc.h"
#include "listen.h"
#include "master_admin.h"
#include "notify.h"
#include "ring.h"
#include "shm.h"

struct mslot {
	pid_t pid;		/* 0 when free */
	struct ipc_peer ipc;
	bool in_epoll;
	bool out_watched;	/* EPOLLOUT armed for queued messages */
	bool space_wait;	/* waits for ring space */
	bool wake_queued;
	bool reaped;		/* waited for: its pid may belong to someone else now */
	bool eof;		/* its channel closed: the worker has exited */
	bool counted;		/* counts toward its address's connection limit */
	bool exempt;		/* address in limits_exempt: no flood control */
	int pending_fd;		/* the client's socket until the worker exists, else -1 */
	uint64_t mark;		/* fan-out de-duplication stamp */
	uint32_t live_idx;	/* position in master.live */
};

struct pidmap;

struct master {
	struct conf *cfg;
	const char *config_path;
	bool config_must_exist;
	struct listen_set ls;
	struct shm_seg seg;
	struct ring ring;
	struct dir dir;
	struct mslot *slots;
	uint32_t nslots;
	struct pidmap *pids;
	struct iplimit *peers;	/* connections per remote address */
	uint32_t *live;		/* slots with a running worker */
	uint32_t nlive;
	uint32_t *recips;	/* fan-out scratch */
	uint32_t *wakes;	/* slots to wake after a fan-out pass */
	uint32_t nwakes;
	uint32_t *waiters;	/* slots waiting for ring space */
	uint32_t nwaiters;
	struct buf pending;	/* master records waiting for ring space */
	int epfd, sigfd, timerfd;
	struct notify notify;
	bool stopping;
	bool fanout_due;
	uint64_t accept_resume_ms;	/* accept paused (out of fds) until then */
	time_t stop_deadline;
	char stop_reason[256];
	time_t started;
	/* a stuck fan-out or full ring: since when, and who holds it */
	struct timespec stall_since;
	bool stalled;
	uint32_t stall_slot;
	uint64_t delivered;
	uint64_t watchdog_next_ms;
	char listen_desc[256];
	int exit_code;
	struct master_admin admin;
	struct master_forkserver fs;
};

/* run the daemon until shutdown (takes ownership of cfg); returns the exit status */
int master_run(struct conf *cfg, const char *config_path, bool must_exist);

/* publish a master-originated record (queued when the ring is full) */
int master_emit(struct master *m, const struct ring_target *t,
    const void *payload, size_t len);
/* the same, attributed to a client slot (for RING_F_EXCLUDE_ORIGIN) */
int master_emit_as(struct master *m, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const void *payload, size_t len);
/* send a message to a worker; arms EPOLLOUT when it has to queue */
void master_send(struct master *m, uint32_t slot, uint16_t type, void *msg, size_t len);
/* ask the worker in slot to close its client with reason */
void master_close_slot(struct master *m, uint32_t slot, const char *reason);
/* SIGHUP's work: 0 with "reloaded (changed: ...)" in out, or -1 with the error */
int master_reload(struct master *m, char *out, size_t outlen);
/* SIGTERM's work: tell every worker to close, stop accepting */
void master_shutdown(struct master *m, const char *reason);
/* for master_req: hint from the master's own state */
void master_status_text(struct master *m, char *out, size_t outlen);

#endif
