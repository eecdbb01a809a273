/*
 * worker_io: what a worker does for the command halves it runs: the
 * client's output (straight from the ring, or through a bounded send
 * queue), requests to the master (one in flight, the rest queued, the
 * client's input paused meanwhile so answers come in the order of its
 * lines), publishing into the ring, and taking the inbox: records go to
 * the client, answers end a request, events about this client (its nick)
 * update what the worker knows. The worker keeps no copy of the
 * directory: channels and membership are the master's alone.
 */
#ifndef SHMCHAT_WORKER_IO_H
#define SHMCHAT_WORKER_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cmd_row.h"
#include "ipc.h"
#include "irc.h"
#include "irctags.h"
#include "linebuf.h"
#include "reply.h"
#include "ring.h"

#define WORKER_REQQ	32	/* requests queued behind the one in flight */
#define WORKER_REQ_MAX	(sizeof(struct ipc_req) + 640)	/* bytes of one request */
#define WORKER_LABEL_MAX	64	/* bytes of a label (labeled-response) */

struct worker {
	struct ipc_wsettings set;	/* from the master: at start and on reload */
	struct ring ring;
	uint32_t slot, gen;
	int cfd, epfd;
	uint32_t cfd_events;
	struct ipc_peer ipc;
	struct reply rpl;	/* numerics from this worker to its client */
	char host[IRC_HOST_MAX + 1];
	char nick[IRC_NICK_MAX + 1];
	/* before registration: the NICK asked for, not yet sent to the master */
	char nick_want[IRC_NICK_MAX + 1];
	char user[IRC_USER_MAX + 1];
	char realname[IRC_REAL_MAX + 1];
	char pass[130];
	bool got_pass, got_user, cap_negotiating, registered, registering;
	uint32_t caps;		/* IRCv3 capabilities on (cap.h); the master knows them too */
	bool cap_302;		/* CAP LS 302 or later: values, cap-notify */
	struct irctags_msgid msgid;	/* the ids of the messages it publishes */
	struct linebuf in;
	struct buf sendq;

	/*
	 * A TLS client (worker_tls.h): its output goes through tls_write
	 * (SSL_write), a pointer because the master links this file and must
	 * not link OpenSSL. A plain client has none and keeps the zero-copy
	 * writev from the ring. tls_pinned: bytes at the head of the send
	 * queue the session must be given again (a write that waited).
	 */
	bool tls;
	ssize_t (*tls_write)(struct worker *w, const void *p, size_t n);
	size_t tls_pinned;

	/* requests to the master: one in flight, the rest queued */
	uint32_t req_next, req_wait;
	char req_name[16];	/* the command of the one in flight */
	struct buf reqq;	/* queued requests: uint32 length + message */
	unsigned reqq_len;
	/* the answer to req_name arrived: cmd_worker_answered() is due */
	bool answered;
	int answer_status;
	/* published something the master may answer with an error (401,
	 * 404...) and no answer came since: a local reply must wait */
	bool unconfirmed;

	/*
	 * IRCv3 labeled-response: the line being run has a label; its answer
	 * is gathered in label_out (label_open: until its requests are
	 * answered), what else arrives meanwhile in label_after
	 */
	bool label_wanted, label_open, label_seen, label_published;
	char label[WORKER_LABEL_MAX + 1];
	char label_msgid[IRCTAGS_MSGID_LEN + 1];	/* of the first message it published */
	struct buf label_out, label_after;
	uint32_t batch_next;	/* ids of the batches it opens */

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

/* the output and request state of a new worker (after its settings came) */
void worker_io_init(struct worker *w);
/* a line to the client (CR LF included) */
void worker_send(struct worker *w, const char *line, size_t len);
/* send ERROR :Closing Link, flush, exit; tell_master: the client quits */
void worker_close(struct worker *w, const char *reason, bool tell_master);
/* the client is gone (write failed): nothing more can be said to it */
void worker_write_failed(struct worker *w);
/* write what the send queue holds */
void worker_flush(struct worker *w);
/* the client negotiated message-tags: its lines may carry tags of up to
 * IRCTAGS_CLIENT_MAX bytes before the 512 of the line */
void worker_input_tags(struct worker *w);
/* the nick the worker's lines and numerics use */
void worker_set_nick(struct worker *w, const char *nick, size_t len);

/* ask the master (command name, arguments); answers come through the ring */
void worker_request(struct worker *w, const char *name, const char *const *args, int nargs);
/* the client's command, its parameters as they are, becomes the request */
enum cmd_result worker_forward(struct worker *w, const struct irc_msg *m);
/* send the next queued request once the one in flight is answered */
void worker_request_next(struct worker *w);
/* a request in flight or queued: the client's input waits */
static inline bool worker_requesting(const struct worker *w)
{ return w->req_wait != 0 || w->reqq_len > 0; }

/*
 * Publish a chat line. Returns 0, or -EAGAIN when the ring is full (the
 * worker stops reading its client until the master wakes it).
 */
int worker_publish(struct worker *w, const struct ring_target *t, const char *line, size_t len);
/* the client spoke (PRIVMSG/NOTICE): resets its idle time */
void worker_mark_active(struct worker *w);
/* labeled-response: the line being run has this label (raw, as sent) */
void worker_label_begin(struct worker *w, const char *label, size_t len);
/* the line's worker half is done: answer now, or once its requests are */
void worker_label_line_done(struct worker *w);
/* its last answer came: the labelled response goes out */
void worker_label_finish(struct worker *w);
/* inbox records to the client; true when there were any */
bool worker_drain(struct worker *w);
/* gives a past backlog's pages back once due; ms until then, or -1 */
int worker_drain_trim(void);

#endif
