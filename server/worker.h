/*
 * worker: one forked process per client connection. It owns the client's
 * TCP socket and its end of a socketpair to the master, and nothing else
 * (every other inherited descriptor is closed at once). It frames and
 * parses the client's lines, answers what it can alone, publishes chat
 * lines into the shared ring, asks the master for directory changes, and
 * moves records from its inbox into a bounded send queue.
 */
#ifndef SHMCHAT_WORKER_H
#define SHMCHAT_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "dir.h"
#include "ipc.h"
#include "linebuf.h"
#include "ring.h"

struct conf;
struct irc_msg;


struct worker_chan {
	uint32_t id, gen;
	char name[DIR_CHAN_MAX + 1];
};

#define WORKER_REQQ	32	/* requests queued behind the one in flight */
#define WORKER_REQ_ARGS	600

struct worker_req {
	uint16_t cmd;
	uint16_t nargs;
	uint16_t len;
	char args[WORKER_REQ_ARGS];
};

struct worker {
	struct ipc_wsettings set;	/* from the master: at start and on reload */
	struct ring ring;
	uint32_t slot, gen;
	int cfd, epfd;
	uint32_t cfd_events;
	bool ipc_out_watched;
	struct ipc_peer ipc;
	char host[DIR_HOST_MAX + 1];
	char nick[DIR_NICK_MAX + 1];
	/* before registration: the NICK asked for, not yet sent to the master */
	char nick_want[DIR_NICK_MAX + 1];
	char user[DIR_USER_MAX + 1];
	char realname[DIR_REAL_MAX + 1];
	char pass[130];
	bool got_pass, got_user, cap_negotiating, registered, registering;
	struct linebuf in;
	struct buf sendq;
	struct worker_chan *chans;
	uint32_t nchans;


	/* requests to the master: one in flight, the rest queued */
	uint32_t req_next, req_wait;
	struct buf reqq;	/* queued requests: header + args, in order */
	unsigned reqq_len;

	bool space_wait;	/* ring full: input paused until woken */
	bool throttled;		/* flood control: input paused until a token is back */
	int64_t flood_tokens;	/* thousandths of a line */
	uint64_t flood_at;	/* CLOCK_MONOTONIC ms of the last refill */
	bool closing;		/* ERROR sent, flushing, then exit */
	bool eof;		/* client closed its side */
	bool exit_now;
	/* epoll said so, and no read since came back short: reading when
	 * neither is set would only return EAGAIN (a system call per wake) */
	bool cfd_ready, ipc_ready;
	time_t close_deadline;
	time_t connected, last_rx, ping_sent;
};

/* in the process that forks workers, once before the first fork: what
 * every worker shares is set up there, so no worker dirties it */
void worker_prefork(void);
/*
 * A new worker (forked by the fork server): wait for the master's
 * IPC_ASSIGN on ipc_fd, which brings the client's socket, then serve that
 * client until it leaves. Returns the exit status.
 */
int worker_run(const struct ring *ring, int ipc_fd);

/* used by worker_cmd */
struct irc_msg *worker_cmd_msg(void);	/* where the client's line is parsed */
void worker_send(struct worker *w, const char *line, size_t len);
void worker_num(struct worker *w, const char *num, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void worker_close(struct worker *w, const char *reason, bool tell_master);
int worker_publish(struct worker *w, const struct ring_target *t,
    const char *line, size_t len);
void worker_request(struct worker *w, uint16_t cmd, const char *const *args, int nargs);
struct worker_chan *worker_chan_find(struct worker *w, const char *name);
void worker_try_register(struct worker *w);
void worker_nick_reserve(struct worker *w);
/* the client spoke (PRIVMSG/NOTICE): resets its idle time */
void worker_mark_active(struct worker *w);

#endif
