/* worker_io: a worker's output, requests, publishing and inbox */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cap.h"
#include "clock.h"
#include "cmd_row.h"
#include "log.h"
#include "worker_io.h"

#define WORKER_CLOSE_GRACE	3	/* seconds to flush the final ERROR */
#define DRAIN_BUDGET		1024	/* inbox records per turn */
#define DRAIN_IOV		256	/* ring records per writev() (2 iovecs each at most) */
#define DRAIN_IOV_SMALL		64	/* the same without a backlog */
#define DRAIN_TRIM_S		2	/* a backlog's array given back after this idle */

/*
 * A backlog goes out in large writes (fewer, larger writev() calls: a
 * quarter of the records per call cost a busy worker a third of its
 * throughput), from an array in static memory that only a backlog touches.
 * Those two pages would stay private to every worker that ever had one
 * (every member of a channel that many joined at once), so they are given
 * back once the worker has gone DRAIN_TRIM_S seconds without a backlog
 * (on the coarse clock: the precise one, read on every turn, cost a busy
 * worker a few per cent).
 */
static struct iovec drain_big[2 * DRAIN_IOV] __attribute__((aligned(4096)));
static time_t drain_big_at;	/* the last backlog (clock_s); 0: not in use */

void
worker_mark_active(struct worker *w)
{
	atomic_store_explicit(&w->ring.slots[w->slot].last_active, (uint32_t)clock_s(),
	    memory_order_relaxed);
}

/* ------------------------------------------------------------- output */

static void
worker_count_out(struct worker *w, size_t n)
{
	atomic_fetch_add_explicit(&w->ring.slots[w->slot].bytes_out, n, memory_order_relaxed);
}

void
worker_write_failed(struct worker *w)
{
	if (!w->closing)
		worker_close(w, "Connection reset", true);
	buf_consume(&w->sendq, buf_used(&w->sendq));
}

/* what the socket (or the TLS session) takes of the send queue: bytes, or -errno */
static ssize_t
worker_write_queue(struct worker *w)
{
	size_t total = 0;

	if (w->tls_write == NULL)
		return buf_write_fd(&w->sendq, w->cfd);
	while (buf_used(&w->sendq) > 0) {
		ssize_t n = w->tls_write(w, buf_head(&w->sendq), buf_used(&w->sendq));

		if (n < 0) {
			if (errno == EAGAIN)
				break;
			return -(errno ? errno : EIO);
		}
		buf_consume(&w->sendq, n);
		total += n;
	}
	return total;
}

void
worker_flush(struct worker *w)
{
	ssize_t r;

	if (buf_used(&w->sendq) == 0)
		return;
	r = worker_write_queue(w);
	if (r > 0)
		worker_count_out(w, r);
	if (r < 0)
		worker_write_failed(w);
}

/* append to the send queue, cutting a client that lets it pass sendq */
static void
worker_queue(struct worker *w, const char *line, size_t len)
{
	if (w->closing)
		return;
	/* what the socket takes now does not count against the send queue */
	if ((long)(buf_used(&w->sendq) + len) > w->set.sendq && buf_used(&w->sendq) > 0) {
		ssize_t r = worker_write_queue(w);
		if (r > 0)
			worker_count_out(w, r);
	}
	if ((long)(buf_used(&w->sendq) + len) > w->set.sendq) {
		/*
		 * The client does not read fast enough: cut it, nobody else
		 * waits. Drop the backlog but finish the line already on the
		 * wire, so the ERROR starts a line of its own.
		 */
		size_t keep = w->tls_pinned < buf_used(&w->sendq) ? w->tls_pinned :
		    buf_used(&w->sendq);
		/* a TLS session holds its pinned bytes to a retry: keep them whole */
		char *nl = memchr(buf_head(&w->sendq) + keep, '\n', buf_used(&w->sendq) - keep);
		if (nl != NULL)
			w->sendq.len = w->sendq.off + (nl - buf_head(&w->sendq)) + 1;
		worker_close(w, "Max SendQ exceeded", true);
		return;
	}
	if (buf_append(&w->sendq, line, len) < 0)
		worker_close(w, "Out of memory", true);
}

/*
 * Output goes straight to the socket when nothing waits ahead of it, and
 * only what the socket does not take is copied to the send queue: no copy
 * and no heap for a client that keeps up (an idle worker never touches
 * malloc, so its pages stay shared with the fork server).
 */
static void
worker_output(struct worker *w, const struct iovec *iov, int niov)
{
	size_t done = 0;

	if (niov == 0 || w->closing)
		return;
	if (buf_used(&w->sendq) == 0 && w->tls_write != NULL && niov > 1) {
		/* TLS: the lines go out in as few records as the queue allows */
		for (int i = 0; i < niov && !w->closing; i++)
			worker_queue(w, iov[i].iov_base, iov[i].iov_len);
		worker_flush(w);
		return;
	}
	if (buf_used(&w->sendq) == 0) {
		ssize_t r = w->tls_write != NULL ?
		    w->tls_write(w, iov[0].iov_base, iov[0].iov_len) :
		    niov == 1 ? write(w->cfd, iov[0].iov_base, iov[0].iov_len) :
		    writev(w->cfd, iov, niov);
		if (r > 0) {
			done = r;
			worker_count_out(w, r);
		} else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			worker_write_failed(w);
			return;
		}
	}
	for (int i = 0; i < niov && !w->closing; i++) {
		if (done >= iov[i].iov_len) {
			done -= iov[i].iov_len;
			continue;
		}
		worker_queue(w, (const char *)iov[i].iov_base + done, iov[i].iov_len - done);
		done = 0;
	}
}

void
worker_send(struct worker *w, const char *line, size_t len)
{
	struct iovec iov = { .iov_base = (void *)line, .iov_len = len };

	worker_output(w, &iov, 1);
}

static void
worker_rpl_put(struct reply *r, const char *line, size_t len)
{
	struct worker *w = (struct worker *)((char *)r - offsetof(struct worker, rpl));

	/* the answer to a labelled command goes out with its label, whole */
	if (w->label_wanted) {
		if (buf_append(&w->label_out, line, len) < 0)
			worker_close(w, "Out of memory", true);
		return;
	}
	worker_send(w, line, len);
}

/* ------------------------------------------------------ labeled-response */

/*
 * IRCv3 labeled-response: every line the server says because of a
 * labelled command carries the label, or all of them sit in one batch,
 * or an ACK says there was nothing to say. The worker sees all of them:
 * its own replies (w->rpl), the master's answer to the requests the
 * command made (records to this client alone, and the lines the client
 * caused, which start with its own prefix), and the echo of a message it
 * published (by its msgid). They are gathered until the last answer has
 * come, and what arrived for the client meanwhile follows them.
 */
void
worker_label_begin(struct worker *w, const char *label, size_t len)
{
	if (len > WORKER_LABEL_MAX)
		len = WORKER_LABEL_MAX;
	memcpy(w->label, label, len);
	w->label[len] = '\0';
	w->label_wanted = true;
	w->label_open = w->label_seen = w->label_published = false;
	w->label_msgid[0] = '\0';
	buf_consume(&w->label_out, buf_used(&w->label_out));
	buf_consume(&w->label_after, buf_used(&w->label_after));
}

/* the line is copied with tag added to its tags (a line of its own) */
static void
worker_label_tagged(struct worker *w, const char *tag, const char *line, size_t len)
{
	char head[WORKER_LABEL_MAX + 16];
	struct iovec iov[3];
	int n = 0;

	if (len > 0 && line[0] == '@') {
		/* it has tags: ours go first */
		snprintf(head, sizeof head, "@%s;", tag);
		iov[n++] = (struct iovec){ head, strlen(head) };
		iov[n++] = (struct iovec){ (void *)(line + 1), len - 1 };
	} else {
		snprintf(head, sizeof head, "@%s ", tag);
		iov[n++] = (struct iovec){ head, strlen(head) };
		iov[n++] = (struct iovec){ (void *)line, len };
	}
	worker_output(w, iov, n);
}

void
worker_label_finish(struct worker *w)
{
	const char *p = buf_head(&w->label_out), *end = p + buf_used(&w->label_out);
	char tag[WORKER_LABEL_MAX + 16], line[IRC_MAXLINE + 1];
	unsigned nlines = 0;
	size_t n;

	w->label_wanted = w->label_open = false;
	for (const char *q = p; q < end && (q = memchr(q, '\n', end - q)) != NULL; q++)
		nlines++;
	snprintf(tag, sizeof tag, "label=%s", w->label);
	if (nlines == 0) {
		n = irc_fmt(line, sizeof line, ":%s ACK", w->set.server_name);
		worker_label_tagged(w, tag, line, n);
	} else if (nlines == 1) {
		worker_label_tagged(w, tag, p, end - p);
	} else if (!(w->caps & CAP_BATCH)) {
		worker_send(w, p, end - p);	/* no batch: the lines as they are */
	} else {
		char id[16], btag[32];
		snprintf(id, sizeof id, "L%u", ++w->batch_next);
		snprintf(btag, sizeof btag, "batch=%s", id);
		n = irc_fmt(line, sizeof line, ":%s BATCH +%s labeled-response",
		    w->set.server_name, id);
		worker_label_tagged(w, tag, line, n);
		while (p < end) {
			const char *nl = memchr(p, '\n', end - p);
			size_t len = (nl != NULL ? nl + 1 : end) - p;
			struct irctag t;
			const char *sp = p[0] == '@' ? memchr(p, ' ', len) : NULL;
			/* a line of a nested batch stays in it (CHATHISTORY) */
			if (sp != NULL && irctags_get(p + 1, sp - p - 1, "batch", &t))
				worker_send(w, p, len);
			else
				worker_label_tagged(w, btag, p, len);
			p += len;
		}
		n = irc_fmt(line, sizeof line, ":%s BATCH -%s", w->set.server_name, id);
		worker_send(w, line, n);
	}
	buf_free(&w->label_out);
	if (buf_used(&w->label_after) > 0)
		worker_send(w, buf_head(&w->label_after), buf_used(&w->label_after));
	buf_free(&w->label_after);
}

void
worker_label_line_done(struct worker *w)
{
	if (!w->label_wanted)
		return;
	/* its errors (401, 404) or its echo come from fan-out: wait for them */
	if (w->label_published && !worker_requesting(w))
		worker_request(w, "SYNC", NULL, 0);
	if (worker_requesting(w))
		w->label_open = true;
	else
		worker_label_finish(w);
}

/* is this record part of the answer to the labelled command? */
static bool
worker_label_owns(const struct worker *w, const struct ring_rec *rec)
{
	const char *p = ring_rec_payload(rec);
	size_t len = rec->payload_len, nl = strlen(w->nick);

	if (rec->owner == RING_OWNER_MASTER && (rec->kind == RING_TO_SLOT ||
	    rec->kind == RING_ACK) && rec->target_id == w->slot)
		return true;
	if ((rec->flags & RING_F_TAGGED) && len > IRCTAGS_STAMP_LEN) {
		/* its echo: our msgids grow, and the client's input waits
		 * while the answer is gathered, so the labelled line's
		 * messages are the ones from its first msgid on */
		if (rec->owner == w->slot && w->label_msgid[0] != '\0' &&
		    memcmp(p + IRCTAGS_STAMP_TIME_END + 7, w->label_msgid, IRCTAGS_MSGID_LEN) >= 0)
			return true;
		const char *sp = memchr(p, ' ', len);
		if (sp == NULL)
			return false;
		len -= sp + 1 - p;
		p = sp + 1;
	}
	/* a change the client caused (the master announces it, attributed to
	 * the client or to nobody): it starts with the client's own prefix;
	 * its chat lines (MSG_CHAN, TO_NICK) only match by msgid, above */
	return (rec->owner == RING_OWNER_MASTER || rec->owner == w->slot) &&
	    rec->kind != RING_MSG_CHAN && rec->kind != RING_TO_NICK && len > nl + 2 &&
	    p[0] == ':' && memcmp(p + 1, w->nick, nl) == 0 && p[1 + nl] == '!';
}


void
worker_io_init(struct worker *w)
{
	w->rpl.server = w->set.server_name;
	w->rpl.nick = "*";
	w->rpl.put = worker_rpl_put;
	buf_init(&w->sendq);
	buf_init(&w->reqq);
	buf_init(&w->label_out);
	buf_init(&w->label_after);
}

void
worker_input_tags(struct worker *w)
{
	/* on the heap: only clients that use tags pay for the room */
	if (linebuf_grow(&w->in, IRCTAGS_CLIENT_MAX + 2 + IRC_MAXLINE) < 0)
		log_warnx("out of memory: tags longer than a line are refused");
}

void
worker_set_nick(struct worker *w, const char *nick, size_t len)
{
	if (len > IRC_NICK_MAX)
		len = IRC_NICK_MAX;
	memcpy(w->nick, nick, len);
	w->nick[len] = '\0';
	w->rpl.nick = w->nick[0] ? w->nick : "*";
}

void
worker_close(struct worker *w, const char *reason, bool tell_master)
{
	char line[IRC_MAXLINE + 1];
	size_t n;

	if (w->closing)
		return;
	if (tell_master && w->registered) {
		const char *args[1] = { reason };
		worker_request(w, "QUIT", args, 1);
	}
	n = irc_fmt(line, sizeof line, "ERROR :Closing Link: %s (%s)", w->host, reason);
	buf_append(&w->sendq, line, n);
	w->closing = true;
	w->close_deadline = clock_s() + WORKER_CLOSE_GRACE;
	log_debug("closing %s: %s", w->nick[0] ? w->nick : w->host, reason);
}

/* ------------------------------------------------------ master requests */

static void
worker_request_send(struct worker *w, char *msg, size_t len)
{
	struct ipc_req *req = (struct ipc_req *)msg;
	const char *name = msg + sizeof *req;

	req->id = ++w->req_next;
	if (ipc_send(&w->ipc, IPC_REQ, msg, len) < 0) {
		w->exit_now = true;	/* the master is gone */
		return;
	}
	snprintf(w->req_name, sizeof w->req_name, "%s", name);
	/* QUIT is not answered: the worker leaves right after */
	w->req_wait = strcmp(name, "QUIT") == 0 ? 0 : req->id;
}

void
worker_request(struct worker *w, const char *name, const char *const *args, int nargs)
{
	char msg[WORKER_REQ_MAX];
	struct ipc_out o;
	struct ipc_req *req = ipc_out_init(&o, msg, sizeof msg, sizeof *req);

	req->nargs = nargs;
	ipc_put_str(&o, name);
	for (int i = 0; i < nargs; i++)
		ipc_put_str(&o, args[i]);
	if (o.overflow || nargs > IPC_REQ_ARGS) {
		/* IRC lines are shorter than a request: a bug, said so */
		log_warnx("%s request too long (%d arguments); not sent", name, nargs);
		return;
	}
	if (w->req_wait == 0 && w->reqq_len == 0) {
		worker_request_send(w, msg, o.len);
		return;
	}
	uint32_t len = o.len;
	if (w->reqq_len == WORKER_REQQ) {
		log_warnx("request queue full; %s not sent", name);
		return;
	}
	if (buf_append(&w->reqq, &len, sizeof len) < 0 || buf_append(&w->reqq, msg, len) < 0) {
		log_warnx("out of memory; %s not sent", name);
		return;
	}
	w->reqq_len++;
}

enum cmd_result
worker_forward(struct worker *w, const struct irc_msg *m)
{
	worker_request(w, m->command, (const char *const *)m->params, m->nparams);
	return CMD_DONE;
}

void
worker_request_next(struct worker *w)
{
	char msg[WORKER_REQ_MAX];
	uint32_t len;

	if (w->req_wait != 0 || w->reqq_len == 0)
		return;
	memcpy(&len, buf_head(&w->reqq), sizeof len);
	memcpy(msg, buf_head(&w->reqq) + sizeof len, len);
	buf_consume(&w->reqq, sizeof len + len);
	if (--w->reqq_len == 0)
		buf_free(&w->reqq);
	worker_request_send(w, msg, len);
}

/* ----------------------------------------------------------- the ring */

int
worker_publish(struct worker *w, const struct ring_target *t, const char *line, size_t len)
{
	bool rang;
	int rc = ring_publish(&w->ring, w->slot, w->gen, t, line, len, &rang);

	if (rc == -EAGAIN) {
		/* ring full: stop reading this client until the master says */
		if (!w->space_wait) {
			w->space_wait = true;
			ipc_send_empty(&w->ipc, IPC_SPACE_WAIT);
		}
		return rc;
	}
	if (rc < 0) {
		log_warnx("cannot publish a %zu-byte line: %s", len, strerror(-rc));
		return 0;	/* dropped; not retried */
	}
	if (t->flags & RING_F_REPLY_ERRORS)
		w->unconfirmed = true;
	if (w->label_wanted)
		w->label_published = true;
	if (rang && ipc_send_empty(&w->ipc, IPC_FANOUT) < 0)
		w->exit_now = true;
	return 0;
}

/*
 * A record's lines as this client gets them: a stamped line (RING_F_TAGGED)
 * loses the tags its client did not ask for, by slicing the one copy in
 * the ring (irctags.h has the layout). Fills 1 or 2 iovecs, returns how many.
 */
static int
worker_rec_iov(const struct worker *w, const struct ring_rec *rec, struct iovec *iov)
{
	char *p = (char *)ring_rec_payload(rec), *end = p + rec->payload_len, *sp;
	bool st = w->caps & CAP_SERVER_TIME, mt = w->caps & CAP_MESSAGE_TAGS;

	if (!(rec->flags & RING_F_TAGGED) || (st && mt) ||
	    rec->payload_len <= IRCTAGS_STAMP_LEN || p[0] != '@' ||
	    (sp = p[IRCTAGS_STAMP_LEN] == ' ' ? p + IRCTAGS_STAMP_LEN :
	    memchr(p + IRCTAGS_STAMP_LEN, ' ', end - p - IRCTAGS_STAMP_LEN)) == NULL) {
		iov[0] = (struct iovec){ p, rec->payload_len };
		return 1;
	}
	if (!st && !mt) {
		iov[0] = (struct iovec){ sp + 1, end - sp - 1 };
		return 1;
	}
	if (st) {
		/* "@time=..." and " :prefix ..." */
		iov[0] = (struct iovec){ p, IRCTAGS_STAMP_TIME_END };
		iov[1] = (struct iovec){ sp, end - sp };
	} else {
		/* "@" and "msgid=...;+tags :prefix ..." */
		static const char at[] = "@";
		iov[0] = (struct iovec){ (void *)at, 1 };
		iov[1] = (struct iovec){ p + IRCTAGS_STAMP_TIME_END + 1,
		    end - p - IRCTAGS_STAMP_TIME_END - 1 };
	}
	return 2;
}

/* the master's answer to the request in flight */
static void
worker_answer(struct worker *w, const struct ring_rec *rec)
{
	struct ring_ack a;

	if (ring_rec_target_len(rec) < sizeof a) {
		log_warnx("malformed answer from the master (%u bytes); ignored", rec->extra_len);
		return;
	}
	memcpy(&a, ring_rec_extra(rec), sizeof a);
	if (a.req_id != w->req_wait) {
		log_warnx("answer to request %u while waiting for %u; ignored", a.req_id,
		    w->req_wait);
		return;
	}
	if (a.status == CMD_BAD_REQUEST)
		log_warnx("the master refused our %s request as malformed", w->req_name);
	w->req_wait = 0;
	w->unconfirmed = false;	/* it was answered after everything we published */
	w->answered = true;
	w->answer_status = a.status;
}

/* an event about this client, from the master */
static void
worker_event(struct worker *w, const struct ring_rec *rec)
{
	struct ring_event ev;
	const char *data;

	if (!ring_rec_event(rec, &ev, &data) || ev.slot != w->slot || ev.gen != w->gen)
		return;
	switch (ev.type) {
	case RING_EV_NICK:
		worker_set_nick(w, data, ev.len);
		log_set_role("worker %s", w->nick);
		break;
	case RING_EV_HOST:
		if (ev.len > 0 && ev.len <= IRC_HOST_MAX) {
			memcpy(w->host, data, ev.len);
			w->host[ev.len] = '\0';
		}
		break;
	default:
		log_warnx("unknown event %u from the master; ignored", ev.type);
	}
}

/* a record while a labelled command waits for its answer: one at a time */
static void
worker_drain_labelled(struct worker *w, const struct ring_rec *rec)
{
	struct iovec iov[2];
	int n = worker_rec_iov(w, rec, iov);
	struct buf *to = NULL;

	if (worker_label_owns(w, rec)) {
		to = &w->label_out;
		w->label_seen = true;
	} else if (w->label_seen)
		to = &w->label_after;	/* after the answer, as it came after its start */
	if (to == NULL) {
		worker_output(w, iov, n);
		return;
	}
	for (int i = 0; i < n; i++)
		if (buf_append(to, iov[i].iov_base, iov[i].iov_len) < 0)
			worker_close(w, "Out of memory", true);
}

/*
 * Send inbox records to the client: up to DRAIN_IOV records in one
 * writev() straight from the ring, a backlog too (copying a backlog into
 * the send queue first, for one large write(), cost more than it saved:
 * the copy, and the page faults of a queue grown again for every batch,
 * took half of a busy worker's time). Only what the socket does not take
 * is copied. Records are popped (and the master may reuse their space)
 * only after that. An answer is acted on after the lines before it went
 * out, so whatever it makes the worker say comes later.
 */
bool
worker_drain(struct worker *w)
{
	/* the usual few records of a wake-up: a small array on the stack */
	struct iovec small[2 * DRAIN_IOV_SMALL];
	unsigned total = 0;
	bool backlogged = false;

	while (total < DRAIN_BUDGET) {
		const struct ring_rec *rec, *ack = NULL;
		/* asked again for every batch: records keep coming meanwhile */
		bool backlog = ring_inbox_peek_at(&w->ring, w->slot, DRAIN_IOV_SMALL) != NULL;
		struct iovec *iov = backlog ? drain_big : small;
		unsigned per_call = backlog ? DRAIN_IOV : DRAIN_IOV_SMALL;
		unsigned k = 0;
		int niov = 0;

		backlogged |= backlog;

		while (k < per_call && total + k < DRAIN_BUDGET &&
		    (rec = ring_inbox_peek_at(&w->ring, w->slot, k)) != NULL) {
			k++;
			if (rec->size < sizeof *rec + rec->extra_len + rec->payload_len) {
				log_warnx("corrupt record in inbox (size %u); skipped", rec->size);
				continue;
			}
			if (w->label_open)
				worker_drain_labelled(w, rec);
			else if (rec->payload_len > 0)
				niov += worker_rec_iov(w, rec, iov + niov);
			if (rec->owner != RING_OWNER_MASTER && rec->event_len == 0)
				continue;	/* chat: the common case */
			if (rec->event_len > 0)
				worker_event(w, rec);
			if (rec->kind == RING_ACK) {
				ack = rec;
				break;
			}
		}
		if (k == 0)
			break;
		worker_output(w, iov, niov);
		if (ack != NULL)
			worker_answer(w, ack);
		ring_inbox_pop_n(&w->ring, w->slot, k);
		total += k;
		if (ack != NULL && w->label_open)
			break;	/* the answer may end the labelled response: first that */
	}
	if (total > 0 && ring_drain_notify_due(&w->ring, w->slot))
		ipc_send_empty(&w->ipc, IPC_FANOUT);
	if (backlogged)
		drain_big_at = clock_s();
	return total > 0;
}

int
worker_drain_trim(void)
{
	time_t now;

	if (drain_big_at == 0)
		return -1;
	now = clock_s();
	if (now < drain_big_at + DRAIN_TRIM_S)
		return (int)(drain_big_at + DRAIN_TRIM_S - now) * 1000;
	drain_big_at = 0;
	/* the array's contents are dead: zero pages come back on next use */
	if (madvise(drain_big, sizeof drain_big, MADV_DONTNEED) < 0)
		log_warn("madvise(MADV_DONTNEED) of the backlog array");
	return -1;
}
