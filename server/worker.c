/* worker: per-client process: socket I/O, inbox delivery, master requests */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "irc.h"
#include "log.h"
#include "numeric.h"
#include "worker.h"
#include "worker_cmd.h"

#define WORKER_CLOSE_GRACE	3	/* seconds to flush the final ERROR */
#define DRAIN_BUDGET		1024	/* inbox records per turn */
#define LINE_BUDGET		256	/* client lines per turn */
#define DRAIN_IOV		64	/* ring records per writev() */

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
worker_mark_active(struct worker *w)
{
	atomic_store_explicit(&w->ring.slots[w->slot].last_active, (uint32_t)mono_now(),
	    memory_order_relaxed);
}

/* ------------------------------------------------------------- output */

static void
worker_count_out(struct worker *w, size_t n)
{
	atomic_fetch_add_explicit(&w->ring.slots[w->slot].bytes_out, n, memory_order_relaxed);
}

/* the client is gone: nothing more can be said to it */
static void
worker_write_failed(struct worker *w)
{
	if (!w->closing)
		worker_close(w, "Connection reset", true);
	buf_consume(&w->sendq, buf_used(&w->sendq));
}

/* append to the send queue, cutting a client that lets it pass sendq */
static void
worker_queue(struct worker *w, const char *line, size_t len)
{
	if (w->closing)
		return;
	/* what the socket takes now does not count against the send queue */
	if ((long)(buf_used(&w->sendq) + len) > w->set.sendq && buf_used(&w->sendq) > 0) {
		ssize_t r = buf_write_fd(&w->sendq, w->cfd);
		if (r > 0)
			worker_count_out(w, r);
	}
	if ((long)(buf_used(&w->sendq) + len) > w->set.sendq) {
		/*
		 * The client does not read fast enough: cut it, nobody else
		 * waits. Drop the backlog but finish the line already on the
		 * wire, so the ERROR starts a line of its own.
		 */
		char *nl = memchr(buf_head(&w->sendq), '\n', buf_used(&w->sendq));
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
worker_output(struct worker *w, const struct iovec *iov, int niov, bool direct)
{
	size_t done = 0;

	if (niov == 0 || w->closing)
		return;
	if (direct && buf_used(&w->sendq) == 0) {
		ssize_t r = niov == 1 ? write(w->cfd, iov[0].iov_base, iov[0].iov_len) :
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

	worker_output(w, &iov, 1, true);
}

void
worker_num(struct worker *w, const char *num, const char *fmt, ...)
{
	char text[IRC_MAXLINE * 2], line[IRC_MAXLINE + 1];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	n = irc_fmt(line, sizeof line, ":%s %s %s %s", w->set.server_name, num,
	    w->nick[0] ? w->nick : "*", text);
	worker_send(w, line, n);
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
		worker_request(w, REQ_QUIT, args, 1);
	}
	n = irc_fmt(line, sizeof line, "ERROR :Closing Link: %s (%s)", w->host, reason);
	buf_append(&w->sendq, line, n);
	w->closing = true;
	w->close_deadline = mono_now() + WORKER_CLOSE_GRACE;
	log_debug("closing %s: %s", w->nick[0] ? w->nick : w->host, reason);
}

/* ------------------------------------------------------ master requests */

static void
worker_req_send(struct worker *w, const struct worker_req *q)
{
	char msg[sizeof(struct ipc_req) + WORKER_REQ_ARGS];
	struct ipc_req *req = (struct ipc_req *)msg;

	req->id = ++w->req_next;
	req->cmd = q->cmd;
	req->nargs = q->nargs;
	memcpy(msg + sizeof *req, q->args, q->len);
	if (ipc_send(&w->ipc, IPC_REQ, msg, sizeof *req + q->len) < 0) {
		w->exit_now = true;	/* the master is gone */
		return;
	}
	/* QUIT gets no answer: the worker leaves right after */
	w->req_wait = q->cmd == REQ_QUIT ? 0 : req->id;
}

void
worker_request(struct worker *w, uint16_t cmd, const char *const *args, int nargs)
{
	struct worker_req q = { .cmd = cmd, .nargs = 0, .len = 0 };

	for (int i = 0; i < nargs; i++) {
		size_t n = strlen(args[i]) + 1;
		if (q.len + n > sizeof q.args)
			n = 0;	/* cannot happen with IRC-sized args; drop the arg */
		if (n == 0)
			continue;
		memcpy(q.args + q.len, args[i], n);
		q.len += n;
		q.nargs++;
	}
	if (w->req_wait == 0 && w->reqq_len == 0) {
		worker_req_send(w, &q);
		return;
	}
	if (w->reqq_len == WORKER_REQQ) {
		log_warnx("request queue full; dropping a request");
		return;
	}
	/* only the used part of the args is stored: idle workers stay small */
	if (buf_append(&w->reqq, &q, offsetof(struct worker_req, args) + q.len) < 0) {
		log_warnx("out of memory; dropping a request");
		return;
	}
	w->reqq_len++;
}

static void
worker_req_next(struct worker *w)
{
	if (w->req_wait != 0 || w->reqq_len == 0)
		return;
	struct worker_req q;
	memcpy(&q, buf_head(&w->reqq), offsetof(struct worker_req, args));
	memcpy(q.args, buf_head(&w->reqq) + offsetof(struct worker_req, args), q.len);
	buf_consume(&w->reqq, offsetof(struct worker_req, args) + q.len);
	if (--w->reqq_len == 0)
		buf_free(&w->reqq);
	worker_req_send(w, &q);
}

struct worker_chan *
worker_chan_find(struct worker *w, const char *name)
{
	for (uint32_t i = 0; i < w->nchans; i++)
		if (irc_casecmp(w->chans[i].name, name) == 0)
			return &w->chans[i];
	return NULL;
}

static void
worker_chan_add(struct worker *w, const struct ipc_chanref *ref, const char *name, size_t nl)
{
	for (uint32_t i = 0; i < w->nchans; i++)
		if (w->chans[i].id == ref->id && w->chans[i].gen == ref->gen)
			return;
	struct worker_chan *p = realloc(w->chans, (w->nchans + 1) * sizeof *p);
	if (p == NULL)
		return;
	w->chans = p;
	p[w->nchans].id = ref->id;
	p[w->nchans].gen = ref->gen;
	if (nl > DIR_CHAN_MAX)
		nl = DIR_CHAN_MAX;
	memcpy(p[w->nchans].name, name, nl);
	p[w->nchans].name[nl] = '\0';
	w->nchans++;
}

static void
worker_chan_del(struct worker *w, const struct ipc_chanref *ref)
{
	for (uint32_t i = 0; i < w->nchans; i++)
		if (w->chans[i].id == ref->id && w->chans[i].gen == ref->gen) {
			w->chans[i] = w->chans[--w->nchans];
			return;
		}
}

/* the last record of a reply: apply what the master decided */
static void
worker_ack(struct worker *w, const char *extra, size_t len)
{
	struct ipc_ack a;
	const char *p = extra + sizeof a, *end = extra + len;

	memcpy(&a, extra, sizeof a);
	if (a.req_id != w->req_wait) {
		log_warnx("unexpected ack %u (waiting for %u)", a.req_id, w->req_wait);
		return;
	}
	for (unsigned i = 0; i < a.nchans; i++) {
		struct ipc_chanref ref;
		size_t nl;
		if (end - p < (ptrdiff_t)sizeof ref + 1)
			break;
		memcpy(&ref, p, sizeof ref);
		nl = (unsigned char)p[sizeof ref];
		if (end - p < (ptrdiff_t)(sizeof ref + 1 + nl))
			break;
		if (a.cmd == REQ_JOIN && a.status == ACK_OK)
			worker_chan_add(w, &ref, p + sizeof ref + 1, nl);
		else if (a.cmd == REQ_PART || a.cmd == REQ_PART_ALL)
			worker_chan_del(w, &ref);
		p += sizeof ref + 1 + nl;
	}
	if ((a.cmd == REQ_REGISTER || a.cmd == REQ_NICK) && a.status == ACK_OK &&
	    a.namelen > 0 && a.namelen <= DIR_NICK_MAX && end - p >= a.namelen) {
		memcpy(w->nick, p, a.namelen);
		w->nick[a.namelen] = '\0';
	}
	w->req_wait = 0;
	if (a.cmd == REQ_NICK && !w->registered)
		worker_try_register(w);	/* the nick is ours now */
	if (a.cmd == REQ_REGISTER) {
		w->registering = false;
		if (a.status == ACK_OK) {
			w->registered = true;
			log_set_role("worker %s", w->nick);
		}
	}
	worker_req_next(w);
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
			struct ipc_hdr h;
			w->space_wait = true;
			ipc_send(&w->ipc, IPC_SPACE_WAIT, &h, sizeof h);
		}
		return rc;
	}
	if (rc < 0) {
		log_warnx("cannot publish a %zu-byte line: %s", len, strerror(-rc));
		return 0;	/* dropped; not retried */
	}
	if (rang) {
		struct ipc_hdr h;
		if (ipc_send(&w->ipc, IPC_FANOUT, &h, sizeof h) < 0)
			w->exit_now = true;
	}
	return 0;
}

static bool
worker_rec_is_ack(const struct ring_rec *rec)
{
	uint32_t magic;

	if (rec->owner != RING_OWNER_MASTER || rec->kind != RING_TO_SLOT ||
	    rec->extra_len < sizeof(struct ipc_ack))
		return false;
	memcpy(&magic, ring_rec_extra(rec), sizeof magic);
	return magic == IPC_ACK_MAGIC;
}

/*
 * Send inbox records to the client. A few (at most DRAIN_IOV, the usual
 * wake-up) go out in one writev() from the ring itself; a backlog is
 * copied into the send queue, which the main loop writes in one large
 * write() after up to 8 turns: under load, fewer and larger writes are
 * worth more than the copy. Records are popped (and the master may reuse
 * their space) only after that. A reply's ack is acted on after the lines
 * before it went out, so whatever it makes the worker say comes later.
 */
static bool
worker_drain(struct worker *w)
{
	struct iovec iov[DRAIN_IOV];
	unsigned total = 0;
	bool direct = ring_inbox_peek_at(&w->ring, w->slot, DRAIN_IOV) == NULL;

	while (total < DRAIN_BUDGET) {
		const struct ring_rec *rec, *ack = NULL;
		unsigned k = 0;
		int niov = 0;

		while (niov < DRAIN_IOV && total + k < DRAIN_BUDGET &&
		    (rec = ring_inbox_peek_at(&w->ring, w->slot, k)) != NULL) {
			uint32_t plen = rec->payload_len;

			k++;
			if (rec->size < sizeof *rec + rec->extra_len + plen) {
				log_warnx("corrupt record in inbox (size %u); skipped", rec->size);
				continue;
			}
			if (plen > 0)
				iov[niov++] = (struct iovec){ (void *)ring_rec_payload(rec), plen };
			if (worker_rec_is_ack(rec)) {
				ack = rec;
				break;
			}
		}
		if (k == 0)
			break;
		worker_output(w, iov, niov, direct);
		if (ack != NULL)
			worker_ack(w, ring_rec_extra(ack), ack->extra_len);
		ring_inbox_pop_n(&w->ring, w->slot, k);
		total += k;
	}
	if (total > 0 && ring_drain_notify_due(&w->ring, w->slot)) {
		struct ipc_hdr h;
		ipc_send(&w->ipc, IPC_FANOUT, &h, sizeof h);
	}
	return total > 0;
}

/* ------------------------------------------------------------ input */

static bool
worker_input_blocked(const struct worker *w)
{
	return w->req_wait != 0 || w->reqq_len > 0 || w->space_wait || w->closing ||
	    w->throttled;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Flood control: a token bucket in thousandths of a line, flood_burst
 * lines deep, refilled at flood_rate lines a second. Returns true when the
 * next line may be handled; otherwise the client is throttled (we stop
 * reading it) until a whole token is back, and cut off when what it has
 * sent meanwhile passes flood_queue bytes.
 */
static bool
worker_flood_take(struct worker *w)
{
	uint64_t now = mono_ms();
	int64_t cap = (int64_t)w->set.flood_burst * 1000;
	int unread = 0;

	if (w->set.flood_rate <= 0)
		return true;
	w->flood_tokens += (int64_t)(now - w->flood_at) * w->set.flood_rate;
	if (w->flood_tokens > cap)
		w->flood_tokens = cap;
	w->flood_at = now;
	if (w->flood_tokens >= 1000) {
		w->flood_tokens -= 1000;
		w->throttled = false;
		return true;
	}
	w->throttled = true;
	if (ioctl(w->cfd, FIONREAD, &unread) < 0)
		unread = 0;
	if ((size_t)unread + linebuf_pending(&w->in) > (size_t)w->set.flood_queue)
		worker_close(w, "Excess Flood", true);
	return false;
}

/* milliseconds until a throttled client may send its next line */
static int
worker_flood_wait_ms(const struct worker *w)
{
	int64_t missing;

	if (!w->throttled || w->set.flood_rate <= 0)
		return -1;
	missing = 1000 - w->flood_tokens - (int64_t)(mono_ms() - w->flood_at) * w->set.flood_rate;
	return missing <= 0 ? 0 : (int)((missing + w->set.flood_rate - 1) / w->set.flood_rate);
}

/* handle buffered lines and read more; returns true on progress */
static bool
worker_read(struct worker *w)
{
	bool progress = false, drained = false;

	for (int i = 0; i < LINE_BUDGET && !worker_input_blocked(w) && !w->eof; i++) {
		const char *line;
		size_t len;
		enum linebuf_result r = linebuf_next(&w->in, &line, &len);

		if (r == LINEBUF_LINE) {
			if (!worker_flood_take(w)) {
				linebuf_unget(&w->in);	/* handled once the bucket refills */
				break;
			}
			progress = true;
			w->last_rx = mono_now();
			w->ping_sent = 0;
			if (len > 0 && worker_cmd_line(w, line, len) == -EAGAIN) {
				/* ring full: keep the line for a retry */
				linebuf_unget(&w->in);
				break;
			}
			continue;
		}
		if (r == LINEBUF_TOOLONG) {
			progress = true;
			worker_num(w, ERR_INPUTTOOLONG, ":Input line was too long");
			continue;
		}
		if (!w->cfd_ready) {
			drained = true;
			break;
		}
		size_t avail;
		char *space = linebuf_space(&w->in, &avail);
		ssize_t n = read(w->cfd, space, avail);
		if (n > 0) {
			if ((size_t)n < avail)
				w->cfd_ready = false;	/* the socket is empty */
			linebuf_commit(&w->in, n);
			atomic_fetch_add_explicit(&w->ring.slots[w->slot].bytes_in, n,
			    memory_order_relaxed);
			progress = true;
			continue;
		}
		if (n == 0) {
			w->eof = true;
			worker_close(w, "Connection closed", true);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			w->cfd_ready = false;
			drained = true;
		} else if (errno != EINTR) {
			w->eof = true;
			worker_close(w, strerror(errno), true);
		}
		break;
	}
	/* every line the client sent so far is handled: a lone NICK waits no longer */
	if (drained)
		worker_nick_reserve(w);
	return progress;
}

/* ------------------------------------------------------- master messages */

/*
 * Everything a worker writes of its own, in one page-aligned block. Every
 * private page costs 4 kB per client, so the worker's state, its name for
 * the log, its input line and the head of the message buffer (all that
 * small messages touch) share the first page; nothing is on the heap while
 * the client is idle outside channels (docs/benchmarks.md, memory).
 */
static struct worker_mem {
	struct worker w;
	char role[48];
	char inbuf[IRC_MAXLINE];
	char msg[IPC_WORKER_MSG_MAX];	/* one master message at a time */
	struct irc_msg cmd;	/* the client's command being run; large */
} wmem __attribute__((aligned(4096)));

_Static_assert(offsetof(struct worker_mem, cmd.store) + IRC_MAXLINE <= 4096,
    "a worker's state, a message and a parsed line fit in one page");

struct irc_msg *
worker_cmd_msg(void)
{
	return &wmem.cmd;
}

static void worker_apply_settings(struct worker *w, const struct ipc_wsettings *s);

static void
worker_ipc(struct worker *w)
{
	char *msg = wmem.msg;

	/* one message per readiness report: the master's usual message is a
	 * lone WAKE, and epoll reports again (level-triggered) if more wait */
	while (w->ipc_ready) {
		ssize_t n = ipc_recv_into(&w->ipc, msg, sizeof wmem.msg, NULL);
		const struct ipc_hdr *h = (const void *)msg;

		w->ipc_ready = false;
		if (n == -EAGAIN)
			return;
		if (n == -EBADMSG) {
			log_warnx("malformed message from the master, dropped");
			continue;
		}
		if (n <= 0) {
			/* EOF: the master died; nothing left to serve */
			w->exit_now = true;
			return;
		}
		switch (h->type) {
		case IPC_WAKE:
			w->space_wait = false;
			break;
		case IPC_CLOSE: {
			const char *reason[1];
			if (ipc_strings(msg, n, sizeof *h, reason, 1) == 1)
				worker_close(w, reason[0], false);
			else
				worker_close(w, "Closed by server", false);
			break;
		}
		case IPC_SETTINGS:
			if ((size_t)n == sizeof(struct ipc_settings))
				worker_apply_settings(w, &((const struct ipc_settings *)
				    (const void *)msg)->s);
			break;
		default:
			log_warnx("unexpected message %u from the master", h->type);
		}
	}
}

/* ------------------------------------------------------------ timers */

static int worker_timers_idle(struct worker *w);

/* the next deadline in ms: flood refill, then idle and closing timers */
static int
worker_timers(struct worker *w)
{
	int t = worker_timers_idle(w), f = worker_flood_wait_ms(w);

	if (f >= 0 && !w->closing) {
		if (f == 0)
			w->throttled = false;	/* a token is due: read again */
		if (t < 0 || f < t)
			t = f;
	}
	return t;
}

static int
worker_timers_idle(struct worker *w)
{
	time_t now = mono_now(), next;

	if (w->closing)
		return now >= w->close_deadline ? (w->exit_now = true, 0) :
		    (int)(w->close_deadline - now) * 1000;
	if (!w->registered) {
		if (now - w->connected >= w->set.registration_timeout) {
			worker_close(w, "Registration timeout", false);
			return 0;
		}
		return (int)(w->connected + w->set.registration_timeout - now) * 1000;
	}
	if (w->ping_sent) {
		if (now - w->ping_sent >= w->set.ping_timeout) {
			char reason[64];
			snprintf(reason, sizeof reason, "Ping timeout: %lld seconds",
			    (long long)(now - w->last_rx));
			worker_close(w, reason, true);
			return 0;
		}
		next = w->ping_sent + w->set.ping_timeout;
	} else if (now - w->last_rx >= w->set.ping_interval) {
		char line[IRC_MAXLINE + 1];
		size_t n = irc_fmt(line, sizeof line, "PING :%s", w->set.server_name);
		worker_send(w, line, n);
		w->ping_sent = now;
		next = now + w->set.ping_timeout;
	} else
		next = w->last_rx + w->set.ping_interval;
	return (int)(next - now) * 1000;
}

/* ------------------------------------------------------------- setup */

/* settings from the master, made safe to use whatever arrived */
static void
worker_apply_settings(struct worker *w, const struct ipc_wsettings *s)
{
	w->set = *s;
	w->set.server_name[sizeof w->set.server_name - 1] = '\0';
	w->set.description[sizeof w->set.description - 1] = '\0';
	w->set.password[sizeof w->set.password - 1] = '\0';
	if (w->set.sendq < 4096)
		w->set.sendq = 4096;
	if (w->set.nick_len < 1 || w->set.nick_len > DIR_NICK_MAX)
		w->set.nick_len = DIR_NICK_MAX;
	if (w->set.channel_len < 2 || w->set.channel_len > DIR_CHAN_MAX)
		w->set.channel_len = DIR_CHAN_MAX;
}

/* the master's first message: which client, and the socket to it */
static int
worker_wait_assign(struct worker *w, int ipc_fd)
{
	char *msg = wmem.msg;
	struct ipc_peer p;

	ipc_peer_init(&p, ipc_fd);
	for (;;) {
		struct pollfd pfd = { .fd = ipc_fd, .events = POLLIN };
		int cfd;
		ssize_t n;

		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
		n = ipc_recv_into(&p, msg, sizeof wmem.msg, &cfd);
		if (n == -EAGAIN)
			continue;
		if (n <= 0)
			return -1;	/* the master is gone before giving us a client */
		const struct ipc_assign *a = (const void *)msg;
		if (a->hdr.type != IPC_ASSIGN || (size_t)n != sizeof *a || cfd < 0 ||
		    a->slot >= w->ring.nslots) {
			if (cfd >= 0)
				close(cfd);
			log_warnx("unexpected first message from the master");
			return -1;
		}
		w->slot = a->slot;
		w->gen = a->gen;
		w->cfd = cfd;
		size_t hl = strnlen(a->host, sizeof a->host);
		if (hl > DIR_HOST_MAX)
			hl = DIR_HOST_MAX;
		memcpy(w->host, a->host, hl);
		w->host[hl] = '\0';
		worker_apply_settings(w, &a->s);
		w->ipc = p;
		return 0;
	}
}

static int
worker_setup(struct worker *w, const struct ring *ring, int ipc_fd)
{
	sigset_t none;
	int one = 1;

	/* keep stdio and our socketpair end; drop what the fork server held */
	if (ipc_fd > 3)
		close_range(3, ipc_fd - 1, 0);
	close_range(ipc_fd + 1, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * Ctrl-C or a hangup in the terminal reach the whole process group:
	 * they are the master's to act on (it closes every client properly).
	 */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);

	memset(w, 0, sizeof *w);
	w->ring = *ring;
	w->cfd = w->epfd = -1;
	if (worker_wait_assign(w, ipc_fd) < 0)
		return -1;
	log_set_role("worker %s", w->host);
	w->cfd_ready = w->ipc_ready = true;
	w->connected = w->last_rx = mono_now();
	w->flood_at = mono_ms();
	w->flood_tokens = (int64_t)w->set.flood_burst * 1000;
	buf_init(&w->sendq);
	if (linebuf_init_in(&w->in, wmem.inbuf, sizeof wmem.inbuf) < 0)
		return -1;
	if (setsockopt(w->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOPROTOOPT)
		log_warn("TCP_NODELAY");
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_warn("epoll_create1");
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ipc.fd, &ev) < 0)
		return -1;
	ev.data.u32 = 0;
	w->cfd_events = EPOLLIN;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->cfd, &ev) < 0)
		return -1;
	return 0;
}

static void
worker_watch(struct worker *w)
{
	uint32_t want = 0;
	bool ipc_out = ipc_flush(&w->ipc) > 0;

	/* the master is slow to read: wait for room rather than spin */
	if (ipc_out != w->ipc_out_watched) {
		struct epoll_event ev = { .events = EPOLLIN | (ipc_out ? EPOLLOUT : 0),
		    .data.u32 = 1 };
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->ipc.fd, &ev) == 0)
			w->ipc_out_watched = ipc_out;
	}

	if (!worker_input_blocked(w) && !w->eof)
		want |= EPOLLIN;
	if (buf_used(&w->sendq) > 0)
		want |= EPOLLOUT;
	if (want != w->cfd_events) {
		struct epoll_event ev = { .events = want, .data.u32 = 0 };
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->cfd, &ev) == 0)
			w->cfd_events = want;
	}
}

void
worker_prefork(void)
{
	log_set_role_storage(wmem.role, sizeof wmem.role);
}

int
worker_run(const struct ring *ring, int ipc_fd)
{
	struct worker *w = &wmem.w;

	if (worker_setup(w, ring, ipc_fd) < 0) {
		if (w->cfd >= 0)
			close(w->cfd);
		return 1;
	}
	while (!w->exit_now) {
		struct epoll_event evs[4];
		int timeout, n;
		bool progress, may_sleep;

		/* bounded turns so output is flushed between batches */
		for (int turn = 0; turn < 8 && !w->exit_now; turn++) {
			worker_ipc(w);
			progress = worker_drain(w);
			if (!w->closing)
				progress |= worker_read(w);
			if (!progress)
				break;
		}
		if (buf_used(&w->sendq) > 0) {
			ssize_t r = buf_write_fd(&w->sendq, w->cfd);
			if (r > 0)
				worker_count_out(w, r);
			if (r < 0)
				worker_write_failed(w);
		}
		if (buf_used(&w->sendq) == 0) {
			buf_shrink(&w->sendq, 0);	/* an idle client holds no buffer */
			if (w->closing)
				break;
		}
		if (w->exit_now)
			break;
		timeout = worker_timers(w);
		if (w->exit_now)
			break;
		worker_watch(w);
		/* records waiting in the inbox: only poll, do not sleep */
		may_sleep = ring_sleep_prepare(&w->ring, w->slot);
		n = epoll_wait(w->epfd, evs, 4, may_sleep && timeout > 0 ? timeout : 0);
		if (may_sleep)
			ring_sleep_cancel(&w->ring, w->slot);
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
				continue;
			if (evs[i].data.u32 == 0)
				w->cfd_ready = true;
			else
				w->ipc_ready = true;
		}
	}
	/* the queued QUIT request, if any, leaves before we do */
	ipc_flush(&w->ipc);
	shutdown(w->cfd, SHUT_WR);
	close(w->cfd);
	close(w->epfd);
	ipc_peer_close(&w->ipc);
	linebuf_free(&w->in);
	buf_free(&w->sendq);
	buf_free(&w->reqq);
	free(w->chans);
	return 0;
}
