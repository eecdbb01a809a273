/* worker: the per-client process: set-up, its loop, input, timers */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

#include "clock.h"
#include "cmd.h"
#include "cmd_conn.h"
#include "irc.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "worker.h"
#include "worker_io.h"
#include "worker_tls.h"

#define LINE_BUDGET		256	/* client lines per turn */
#define WORKER_EV_CLIENT	0	/* epoll data of the client's socket */
#define WORKER_EV_MASTER	1	/* and of the master's channel */

/* ------------------------------------------------------------ memory */

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

/* ------------------------------------------------------------ input */

static bool
worker_input_blocked(const struct worker *w)
{
	return worker_requesting(w) || w->space_wait || w->closing || w->throttled;
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
	uint64_t now = clock_ms();
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
	missing = 1000 - w->flood_tokens - (int64_t)(clock_ms() - w->flood_at) * w->set.flood_rate;
	return missing <= 0 ? 0 : (int)((missing + w->set.flood_rate - 1) / w->set.flood_rate);
}

#ifdef SHMCHAT_TEST_HOOKS
/*
 * Built into tests/sandbox/shmchatd-worker only, never into the installed
 * worker: the test line makes the worker attempt a system call its sandbox
 * forbids (tests/check_sandbox.c).
 */
static void
worker_test_hook(const char *line, size_t len)
{
	int fd;

	if (len != sizeof SANDBOX_TEST_LINE - 1 || memcmp(line, SANDBOX_TEST_LINE, len) != 0)
		return;
	log_notice("test hook: calling socket(), which the sandbox forbids");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	log_warnx("test hook: socket() returned %d: this worker is not sandboxed", fd);
	if (fd >= 0)
		close(fd);
}
#endif

/* handle buffered lines and read more; returns true on progress */
static bool
worker_read(struct worker *w)
{
	bool progress = false, drained = false;

	/* the common wake-up (inbox records, nothing typed): nothing to look at */
	if (!w->cfd_ready && linebuf_pending(&w->in) == 0 && !worker_input_blocked(w)) {
		cmd_conn_nick_flush(w);
		return false;
	}
	/* a TLS client: the handshake first, in this loop like any input */
	if (w->tls && !worker_tls_established(w)) {
		int r;

		if (!w->cfd_ready || w->closing)
			return false;
		if ((r = worker_tls_handshake(w)) < 0)
			w->exit_now = true;	/* logged; nothing can be said to it */
		if (r <= 0)
			return false;
	}
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
			w->last_rx = clock_s();
			w->ping_sent = 0;
#ifdef SHMCHAT_TEST_HOOKS
			worker_test_hook(line, len);
#endif
			if (len > 0 && cmd_worker_line(w, &wmem.cmd, line, len) != CMD_DONE) {
				/* the ring is full, or an answer must come first:
				 * keep the line and run it again then */
				linebuf_unget(&w->in);
				break;
			}
			continue;
		}
		if (r == LINEBUF_TOOLONG) {
			progress = true;
			RPL(&w->rpl, ERR_INPUTTOOLONG);
			continue;
		}
		if (!w->cfd_ready) {
			drained = true;
			break;
		}
		size_t avail;
		char *space = linebuf_space(&w->in, &avail);
		ssize_t n = w->tls ? worker_tls_read(w, space, avail) : read(w->cfd, space, avail);
		if (n > 0 && !w->tls && (unsigned char)space[0] == 0x16 &&
		    atomic_load_explicit(&w->ring.slots[w->slot].bytes_in,
		    memory_order_relaxed) == 0) {
			/* a TLS ClientHello (handshake record) on the plain port */
			log_info("TLS handshake on a plain-text port; closing");
			w->eof = true;
			worker_close(w, "TLS on a plain-text port", false);
			break;
		}
		if (n > 0) {
			/* the socket is empty (TLS: nor is a record left inside) */
			if ((size_t)n < avail && !(w->tls && worker_tls_pending(w)))
				w->cfd_ready = false;
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
		cmd_conn_nick_flush(w);
	return progress;
}

/* ------------------------------------------------------- master messages */

static void worker_apply_settings(struct worker *w, const struct ipc_wsettings *s);

/* a message from the master (the peer layer checked its size) */
static bool
worker_master_msg(void *arg, struct ipc_peer *p, enum ipc_event ev, const void *msg,
    size_t len, int fd)
{
	struct worker *w = arg;
	const struct ipc_hdr *h = msg;
	struct ipc_in in;

	(void)p;
	if (fd >= 0)
		close(fd);
	if (ev == IPC_EV_EOF) {
		w->exit_now = true;	/* the master died: nothing left to serve */
		return false;
	}
	if (ev == IPC_EV_BAD) {
		log_warnx("malformed message from the master, dropped");
		return true;
	}
	switch (h->type) {
	case IPC_WAKE:
		w->space_wait = false;
		break;
	case IPC_CLOSE: {
		const char *reason;
		ipc_in_init(&in, msg, len, sizeof *h);
		reason = ipc_get_str(&in);
		worker_close(w, reason != NULL ? reason : "Closed by server", false);
		break;
	}
	case IPC_SETTINGS: {
		uint32_t offered = cmd_conn_caps_offered(w);
		worker_apply_settings(w, &((const struct ipc_settings *)msg)->s);
		cmd_conn_caps_reloaded(w, offered);
		break;
	}
	default:
		log_warnx("unexpected message %u from the master", h->type);
	}
	return true;
}

/* ------------------------------------------------------------ timers */

static int worker_timers_idle(struct worker *w);

/* the next deadline in ms: flood refill, then idle and closing timers */
static int
worker_timers(struct worker *w)
{
	int t = worker_timers_idle(w), f = worker_flood_wait_ms(w);
	int trim = worker_drain_trim();

	if (trim >= 0 && (t < 0 || trim < t))
		t = trim;

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
	time_t now = clock_s(), next;

	if (w->closing)
		return now >= w->close_deadline ? (w->exit_now = true, 0) :
		    (int)(w->close_deadline - now) * 1000;
	if (!w->registered) {
		if (now - w->connected >= w->set.registration_timeout) {
			if (w->tls && !worker_tls_established(w))
				log_info("TLS handshake not done in %d s; closing",
				    (int)w->set.registration_timeout);
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
	if (w->set.nick_len < 1 || w->set.nick_len > IRC_NICK_MAX)
		w->set.nick_len = IRC_NICK_MAX;
	if (w->set.channel_len < 2 || w->set.channel_len > IRC_CHAN_MAX)
		w->set.channel_len = IRC_CHAN_MAX;
}

int
worker_wait_readable(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int rc;

	if (epoll_ctl(wmem.w.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("epoll_ctl for the master's channel");
		return -1;
	}
	while ((rc = epoll_wait(wmem.w.epfd, &ev, 1, -1)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		log_warn("epoll_wait");
	/* ipc_peer_watch() adds it again later, with its own event data */
	if (epoll_ctl(wmem.w.epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && rc >= 0) {
		log_warn("epoll_ctl for the master's channel");
		rc = -1;
	}
	return rc < 0 ? -1 : 0;
}

/* one message from the master, waiting for it: its length, or -1 when the
 * master is gone */
static ssize_t
worker_wait_msg(struct ipc_peer *p, int *fd)
{
	for (;;) {
		ssize_t n = ipc_recv_into(p, wmem.msg, sizeof wmem.msg, fd);

		if (n != -EAGAIN)
			return n > 0 ? n : -1;
		if (worker_wait_readable(p->fd) < 0)
			return -1;
	}
}

/* the master's first message: which client, and the socket to it */
static int
worker_wait_assign(struct worker *w, int ipc_fd)
{
	const struct ipc_assign *a = (const void *)wmem.msg;
	struct ipc_peer p;
	int cfd;

	ipc_peer_init(&p, ipc_fd);
	if (worker_wait_msg(&p, &cfd) < 0)
		return -1;	/* the master is gone before giving us a client */
	if (a->hdr.type != IPC_ASSIGN || cfd < 0 || a->slot >= w->ring.nslots) {
		if (cfd >= 0)
			close(cfd);
		log_warnx("unexpected first message from the master");
		return -1;
	}
	w->slot = a->slot;
	w->gen = a->gen;
	w->cfd = cfd;
	w->tls = (a->flags & IPC_ASSIGN_TLS) != 0;
	size_t hl = strnlen(a->host, sizeof a->host);
	if (hl > IRC_HOST_MAX)
		hl = IRC_HOST_MAX;
	memcpy(w->host, a->host, hl);
	w->host[hl] = '\0';
	worker_apply_settings(w, &a->s);
	w->msgid = (struct irctags_msgid){ .salt = w->set.msgid_salt, .slot = w->slot,
	    .gen = w->gen };
	w->ipc = p;
	return 0;
}

int
worker_prepare(int keep_fd)
{
	struct worker *w = &wmem.w;

	/* keep stdio and keep_fd; drop what the fork server held */
	proc_keep_fds(&keep_fd, 1);
	/* a SIGTERM sent to us ends us; a client gone is EPIPE, not death */
	proc_child_signals(PROC_SIG_UNBLOCK | PROC_SIG_TERM_DEFAULT |
	    PROC_SIG_CHLD_DEFAULT | PROC_SIG_PIPE_IGNORE);
	memset(w, 0, sizeof *w);
	w->cfd = -1;
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_warn("epoll_create1");
		return -1;
	}
	if (linebuf_init_in(&w->in, wmem.inbuf, sizeof wmem.inbuf) < 0)
		return -1;
	/* from here on only what serving a client needs (sandbox.h) */
	return sandbox_worker();
}

static int
worker_setup(struct worker *w, const struct ring *ring, int ipc_fd)
{
	int one = 1;

	w->ring = *ring;
	if (worker_wait_assign(w, ipc_fd) < 0)
		return -1;
	log_set_role("worker %s", w->host);
	if (w->tls && worker_tls_start(w) < 0)
		return -1;
	w->cfd_ready = w->ipc_ready = true;
	w->connected = w->last_rx = clock_s();
	w->flood_at = clock_ms();
	w->flood_tokens = (int64_t)w->set.flood_burst * 1000;
	worker_io_init(w);
	if (setsockopt(w->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOPROTOOPT)
		log_warn("TCP_NODELAY");
	if (ipc_peer_watch(&w->ipc, w->epfd, WORKER_EV_MASTER, wmem.msg, sizeof wmem.msg,
	    worker_master_msg, w) < 0)
		return -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WORKER_EV_CLIENT };
	w->cfd_events = EPOLLIN;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->cfd, &ev) < 0) {
		log_warn("epoll_ctl for the client");
		return -1;
	}
	return 0;
}

static void
worker_watch(struct worker *w)
{
	uint32_t want = 0;

	/* what the master has not taken yet waits for EPOLLOUT (the peer layer) */
	ipc_flush(&w->ipc);

	if (!worker_input_blocked(w) && !w->eof)
		want |= EPOLLIN;
	if (buf_used(&w->sendq) > 0)
		want |= EPOLLOUT;
	/* a TLS read that must write first waits for EPOLLOUT, but only while
	 * we would read: a writable socket nobody acts on would spin */
	if (w->tls && !worker_input_blocked(w) && !w->eof)
		want |= worker_tls_events(w);
	if (want != w->cfd_events) {
		struct epoll_event ev = { .events = want, .data.u64 = WORKER_EV_CLIENT };
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->cfd, &ev) == 0)
			w->cfd_events = want;
	}
}

void
worker_prefork(void)
{
	log_set_role_storage(wmem.role, sizeof wmem.role);
	/* the time zone, read once here: a worker may not open files (TIME) */
	tzset();
}

int
worker_run(const struct ring *ring, int ipc_fd)
{
	struct worker *w = &wmem.w;

	if (worker_setup(w, ring, ipc_fd) < 0) {
		if (w->tls)
			worker_tls_end(w);
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
			/* one master message per readiness report: the usual one is
			 * a lone WAKE, and epoll reports again if more wait */
			if (w->ipc_ready) {
				w->ipc_ready = false;
				ipc_peer_receive(&w->ipc, 1);
			}
			progress = worker_drain(w);
			if (w->answered)
				cmd_worker_answered(w);
			if (!w->closing)
				progress |= worker_read(w);
			if (!progress)
				break;
		}
		worker_flush(w);
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
			/* TLS: a read that waited for the socket to take a write */
			if (evs[i].data.u64 == WORKER_EV_CLIENT && w->tls &&
			    worker_tls_ready(w, evs[i].events))
				w->cfd_ready = true;
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
				continue;
			if (evs[i].data.u64 == WORKER_EV_CLIENT)
				w->cfd_ready = true;
			else
				w->ipc_ready = true;
		}
	}
	/* the queued QUIT request, if any, leaves before we do */
	ipc_flush(&w->ipc);
	if (w->tls)
		worker_tls_end(w);
	shutdown(w->cfd, SHUT_WR);
	close(w->cfd);
	close(w->epfd);
	ipc_peer_close(&w->ipc);
	linebuf_free(&w->in);
	buf_free(&w->sendq);
	buf_free(&w->reqq);
	return 0;
}
