/*
 * shmbench: a load generator for IRC servers (shmchatd, ngircd, ...).
 *
 * One thread, one epoll loop, N non-blocking client sockets over loopback.
 * A run goes through these phases:
 *
 *   connect   clients connect and register (NICK + USER) with at most
 *             --concurrency registrations in flight; a client counts as
 *             registered at the end of its registration burst, the end of
 *             the MOTD (376 or 422). The registration rate is N divided by
 *             the time from the first connect() to the last 376/422.
 *   join      every client JOINs the channel (at most --join-concurrency
 *             JOINs in flight) and the phase ends with the last 366
 *             (--idle --no-join skips it). With --join-on-register there
 *             is no such phase: each client sends its JOIN as soon as it
 *             is registered and keeps its --concurrency slot until its
 *             366, so at most C clients are connecting, registering or
 *             joining at once; the time from the first connect() to the
 *             last 366 is reported (regjoin_s).
 *   sync      every client sends PING and waits for its PONG, then the
 *             loop waits until nothing arrives for 50 ms (the JOIN burst
 *             has drained), so the send phase starts on a quiet server.
 *   send      S senders (clients 0..S-1) send M messages each to the
 *             channel; every other client receives them. Closed loop
 *             (--rate 0): at most --window messages per sender are in
 *             flight, and a message leaves the window when every receiver
 *             has it. Open loop (--rate R): messages leave at fixed times,
 *             R per second per sender, stamped with their scheduled time,
 *             not the actual one, so a stalled server cannot hide its
 *             latency (no coordinated omission).
 *
 * A message is "PRIVMSG #bench :<sender> <seq> <send-time-ns> <padding>",
 * --size bytes of text. Every receiver checks, per sender, that sequence
 * numbers arrive in order: a gap or a step back is a reorder, a message
 * never seen is a loss; latency is the receive time (after read()) minus
 * the send time carried in the message.
 *
 * --storm stops after the connect phase; --broadcast sends --messages
 * single messages from one sender, one at a time, and reports how long
 * each took to reach all N-1 others; --idle stops after the sync phase,
 * waits --settle-ms and reports memory. With --server-pid, the server's
 * CPU time over the measured phase and, for --idle or --mem, its
 * memory (PSS from smaps_rollup) are reported too.
 *
 * Several servers (nodes of one network): --port given several times, or
 * --ports P1,P2,...; client i connects to port i % nports, so senders and
 * receivers spread over all of them. Latency is then also reported for
 * cross-node deliveries only (the sender's port is not the receiver's).
 * --server-pid may be given once per node (their CPU is added up), and
 * --aux-pid names one more process (the Redis the nodes share) whose CPU
 * over the measured phase is reported on its own.
 *
 * --tls makes every connection TLS (OpenSSL, no certificate check: a load
 * generator on loopback); a client registers once its handshake is done,
 * so connect-to-001 includes it. --churn SEC connects, registers and QUITs
 * over and over for SEC seconds with --concurrency connections at a time,
 * each on a new connection (under --tls a full handshake each: no session
 * is resumed), and reports cycles per second and the time from connect()
 * to 001.
 *
 * --caps LIST requests IRCv3 capabilities (e.g. "message-tags server-time
 * echo-message") before registering; tags on received lines are skipped,
 * and with echo-message a sender's own messages come back and are counted
 * apart (echoed), never as deliveries.
 *
 * Output: a human summary, then one machine-readable last line:
 * "RESULT key=value ...". Exit status: 0 ok; 1 a loss, a reorder or a
 * disconnect during the run; 2 setup failure, stall or timeout; 64 usage.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "hist.h"
#include "procmon.h"

#define CARRY_MAX	1024		/* longest line kept across reads */
#define RBUF_SIZE	(256 * 1024)	/* one read() */
#define OBUF_MAX	(64u << 20)	/* a sender's queue past this: give up */
#define MAX_CLIENTS	200000
#define MAX_PORTS	16
#define MAX_PIDS	16
#define QUIET_NS	(50 * 1000000ull)	/* sync: nothing for this long */
#define QUIET_MAX_NS	(3000 * 1000000ull)	/* ... or this at most */
#define EV_TIMER	UINT32_MAX

#define EXIT_LOSS	1
#define EXIT_FAIL	2
#define EXIT_USAGE	64

/* ------------------------------------------------------------ options */

enum mode { M_CLOSED, M_OPEN, M_STORM, M_BCAST, M_IDLE, M_CHURN };

static struct {
	const char *host;
	int port;		/* ports[0] */
	int ports[MAX_PORTS];
	uint32_t nports;
	uint32_t clients, senders, messages, window, size, concurrency, join_conc;
	double rate;
	enum mode mode;
	pid_t server_pid;	/* server_pids[0] */
	pid_t server_pids[MAX_PIDS];
	uint32_t npids;
	pid_t aux_pid;
	double timeout_s, churn_s;
	uint32_t stall_ms, settle_ms;
	bool mem, no_join, join_on_reg, tls;
	const char *caps;	/* --caps: IRCv3 capabilities to request, or NULL */
	const char *channel, *nick_prefix, *label;
	bool quiet;
} opt = {
	.host = "127.0.0.1", .port = 6667,
	.clients = 10, .senders = 0, .messages = 1000, .window = 16,
	.size = 64, .concurrency = 64, .join_conc = 64, .rate = 0,
	.mode = M_CLOSED, .server_pid = 0, .timeout_s = 60,
	.stall_ms = 5000, .settle_ms = 1000,
	.channel = "#bench", .nick_prefix = "b", .label = "",
};

/* ------------------------------------------------------------ state */

enum cstate {
	CS_NEW,		/* not connected yet */
	CS_CONNECTING,	/* connect() in progress */
	CS_TLS,		/* --tls: handshake in progress */
	CS_REG,		/* NICK/USER sent, waiting for the end of the MOTD */
	CS_READY,	/* registered */
	CS_JOINING,	/* JOIN sent, waiting for 366 */
	CS_JOINED,
	CS_QUIT,	/* --churn: QUIT sent, waiting for the server to close */
	CS_DEAD,
};

struct obuf {
	char *p;
	size_t len, off, cap;
};

struct client {
	int fd;
	uint32_t idx;
	uint8_t state;
	bool dirty;		/* on the flush list */
	bool want_out;		/* EPOLLOUT registered */
	bool ponged;		/* sync PONG seen */
	bool tls_rd_ww;		/* SSL_read waits for the socket to be writable */
	bool tls_wr_wr;		/* SSL_write waits for it to be readable */
	uint16_t carry_len;
	uint16_t nick_tries;
	uint64_t t_start;	/* connect() time */
	uint64_t recvd;		/* benchmark messages received */
	SSL *ssl;		/* --tls */
	struct obuf out;
	char carry[CARRY_MAX];
};

struct sender {
	uint32_t next;		/* next sequence number to send */
	uint32_t done;		/* closed loop: delivered to every receiver */
	uint32_t *left;		/* [window] receivers still to get seq%window */
	uint64_t *t_sent;	/* [window] send time of seq%window */
};

enum phase { PH_CONNECT, PH_JOIN, PH_SYNC, PH_QUIET, PH_SEND, PH_SETTLE, PH_DONE };

static struct client *cl;
static struct sender *snd;
static uint32_t *expect;	/* [receiver * S + sender]: next seq expected */
static int epfd = -1, tfd = -1;
static enum phase phase;
static char *rbuf;
static uint32_t *flushq;
static uint32_t nflush;
static SSL_CTX *tls_ctx;
static char tls_desc[96];	/* version/cipher/group of the first session */
/* --churn: slots free for the next connection */
static uint32_t *freeslots, nfree, n_serial;
static uint64_t n_cycles, t_churn_end, t_last_cycle;

/* counters */
static uint32_t next_connect, inflight, n_ready, next_join, joins_inflight,
    n_joined, n_ponged, n_dead, n_live;
static uint64_t n_echo;	/* --caps echo-message: own lines back */
static uint64_t n_deliv, n_reorder, n_bogus, n_overlong, n_errnum,
    n_msgs_sent, n_completed, n_dead_in_send;
static char first_error[256];
static bool setup_failed;

/* times (CLOCK_MONOTONIC ns) */
static uint64_t t_begin, t_first_connect, t_last_ready, t_join_start,
    t_joined, t_last_join, t_quiet_start, t_last_rx, t_send_start, t_send_end,
    t_last_deliv, t_last_progress, t_settle_end, t_deadline;
/* open loop */
static uint64_t ol_interval_ns, ol_next_event, ol_total_events;

static struct hist h_lat, h_xlat, h_reg, h_done, h_001;
static struct proc_cpu cpu0, cpu1, aux0, aux1;
static bool have_aux;
static struct host_cpu host0, host1;
static bool have_host;
static struct proc_mem mem;
static bool have_cpu, have_mem;
static double self0, self1;

static const char *status = "ok";
static int exit_code;
static volatile sig_atomic_t interrupted;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("shmbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static void
note(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	fputs("shmbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ------------------------------------------------------------ output buffers */

static void
obuf_reserve(struct obuf *b, size_t more)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + more <= b->cap)
		return;
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + more <= b->cap)
			return;
	}
	size_t cap = b->cap ? b->cap : 1024;

	while (cap < b->len + more)
		cap *= 2;
	char *np = realloc(b->p, cap);

	if (np == NULL)
		die("out of memory (output buffer of %zu bytes)", cap);
	b->p = np;
	b->cap = cap;
}

static void
mark_dirty(struct client *c)
{
	if (!c->dirty) {
		c->dirty = true;
		flushq[nflush++] = c->idx;
	}
}

static void
cprintf(struct client *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	obuf_reserve(&c->out, 600);
	va_start(ap, fmt);
	n = vsnprintf(c->out.p + c->out.len, c->out.cap - c->out.len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= c->out.cap - c->out.len)
		die("internal error: line too long");
	c->out.len += (size_t)n;
	mark_dirty(c);
}

/* ------------------------------------------------------------ epoll */

static void
ep_set(struct client *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0u),
	    .data.u32 = c->idx };

	if (out == c->want_out)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl(MOD): %s", strerror(errno));
	c->want_out = out;
}

/* ------------------------------------------------------------ client life */

static void send_window(struct sender *s, struct client *c);

static void
set_error(const char *fmt, ...)
{
	va_list ap;

	if (first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(first_error, sizeof first_error, fmt, ap);
	va_end(ap);
	for (char *p = first_error; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p < 0x20)
			*p = '_';
}

/* a receiver gone during the send phase: its outstanding messages will
 * never reach it, so they stop waiting for it (closed loop) */
static void
forget_receiver(uint32_t r)
{
	uint32_t S = opt.senders;

	if (opt.mode != M_CLOSED && opt.mode != M_BCAST)
		return;
	for (uint32_t s = 0; s < S; s++) {
		struct sender *sd = &snd[s];
		uint32_t from, W = opt.window;

		if (s == r || cl[s].state == CS_DEAD)
			continue;
		from = expect[(size_t)r * S + s];
		if (from < sd->done)
			from = sd->done;
		for (uint32_t q = from; q < sd->next; q++)
			if (sd->left[q % W] > 0)
				sd->left[q % W]--;
		/* complete what no longer waits for anybody */
		while (sd->done < sd->next && sd->left[sd->done % W] == 0) {
			sd->done++;
			n_completed++;
		}
		send_window(sd, &cl[s]);
	}
}

/* the first error on OpenSSL's queue (or errno's text), in a reason word */
static const char *
tls_why(char *buf, size_t size, int err)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, size);
	else if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(buf, size, "%s", strerror(errno));
	else
		snprintf(buf, size, "SSL_error_%d", err);
	ERR_clear_error();
	return buf;
}

static void
client_close_fd(struct client *c)
{
	if (c->fd < 0)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		die("epoll_ctl(DEL): %s", strerror(errno));
	/* no close_notify: the socket goes, nobody reads it any more */
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
}

/* --churn: the slot takes the next connection */
static void
churn_free_slot(struct client *c)
{
	c->state = CS_NEW;
	c->carry_len = 0;
	c->nick_tries = 0;
	c->tls_rd_ww = c->tls_wr_wr = false;
	c->out.off = c->out.len = 0;
	freeslots[nfree++] = c->idx;
}

/* --churn: the server closed after our QUIT, one cycle done */
static void
churn_cycle_done(struct client *c, uint64_t now)
{
	client_close_fd(c);
	n_live--;
	n_cycles++;
	t_last_cycle = now;
	churn_free_slot(c);
}

static void
client_dead(struct client *c, const char *why)
{
	if (c->state == CS_DEAD)
		return;
	if (c->state == CS_CONNECTING || c->state == CS_TLS || c->state == CS_REG) {
		inflight--;
	} else if (c->state == CS_JOINING) {
		joins_inflight--;
		if (opt.join_on_reg)
			inflight--;	/* it held its connect slot */
	}
	c->state = CS_DEAD;
	client_close_fd(c);
	n_dead++;
	n_live--;
	set_error("client_%u:_%s", c->idx, why);
	if (opt.mode == M_CHURN) {
		/* counted; the slot goes on with a new connection */
		churn_free_slot(c);
		return;
	}
	if (phase < PH_SEND && opt.mode != M_STORM)
		setup_failed = true;
	if (phase == PH_SEND) {
		n_dead_in_send++;
		forget_receiver(c->idx);
	}
	if (phase == PH_CONNECT && opt.mode == M_STORM)
		setup_failed = true;
}

static void
start_connect(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)opt.ports[c->idx % opt.nports]) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = c->idx };
	int fd, one = 1;

	if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1)
		die("bad --host %s (a numeric IPv4 address)", opt.host);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s (client %u; raise ulimit -n?)", strerror(errno), c->idx);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		die("setsockopt(TCP_NODELAY): %s", strerror(errno));
	c->fd = fd;
	c->t_start = now_ns();
	if (t_first_connect == 0)
		t_first_connect = c->t_start;
	inflight++;
	n_live++;
	c->state = CS_CONNECTING;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl(ADD): %s", strerror(errno));
	c->want_out = true;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
	    errno != EINPROGRESS) {
		char why[96];

		snprintf(why, sizeof why, "connect:_%s", strerror(errno));
		client_dead(c, why);
		return;
	}
	/* --churn: a nick per connection, none waits for the last one's QUIT */
	uint32_t nick = opt.mode == M_CHURN ? n_serial++ : c->idx;

	if (opt.caps != NULL)
		cprintf(c, "CAP REQ :%s\r\nCAP END\r\n", opt.caps);
	cprintf(c, "NICK %s%u\r\nUSER %s%u 0 * :shmbench\r\n",
	    opt.nick_prefix, nick, opt.nick_prefix, nick);
}

/* --tls: drive the handshake; registration starts when it is done */
static void
tls_handshake(struct client *c)
{
	int r, e;
	char why[160], ebuf[128];

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		if (tls_desc[0] == '\0')
			snprintf(tls_desc, sizeof tls_desc, "%s/%s/%s", SSL_get_version(c->ssl),
			    SSL_get_cipher_name(c->ssl), SSL_group_to_name(c->ssl,
			    SSL_get_negotiated_group(c->ssl)) ? SSL_group_to_name(c->ssl,
			    SSL_get_negotiated_group(c->ssl)) : "-");
		c->state = CS_REG;
		mark_dirty(c);	/* NICK/USER are queued */
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		ep_set(c, false);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		ep_set(c, true);
		return;
	}
	snprintf(why, sizeof why, "tls_handshake:_%s", tls_why(ebuf, sizeof ebuf, e));
	client_dead(c, why);
}

/* --tls: the TCP connection is up, the handshake starts */
static void
tls_begin(struct client *c)
{
	char ebuf[128], why[160];

	if ((c->ssl = SSL_new(tls_ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(why, sizeof why, "SSL_new:_%s", tls_why(ebuf, sizeof ebuf, 0));
		client_dead(c, why);
		return;
	}
	SSL_set_connect_state(c->ssl);
	c->state = CS_TLS;
	tls_handshake(c);
}

/* --tls: write what is queued through the session; false if the client died */
static bool
tls_flush(struct client *c)
{
	struct obuf *b = &c->out;

	while (b->off < b->len) {
		size_t len = b->len - b->off;
		int n, e;

		ERR_clear_error();
		n = SSL_write(c->ssl, b->p + b->off, len > INT_MAX ? INT_MAX : (int)len);
		if (n > 0) {
			b->off += (size_t)n;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			ep_set(c, true);
			return true;
		}
		if (e == SSL_ERROR_WANT_READ) {
			/* a key update or the like: go on when the socket is readable */
			c->tls_wr_wr = true;
			return true;
		}
		char ebuf[128], why[160];

		snprintf(why, sizeof why, "SSL_write:_%s", tls_why(ebuf, sizeof ebuf, e));
		client_dead(c, why);
		return false;
	}
	b->off = b->len = 0;
	ep_set(c, c->tls_rd_ww);
	return true;
}

/* write what is queued; false if the client died */
static bool
flush_client(struct client *c)
{
	struct obuf *b = &c->out;

	if (c->fd < 0 || c->state == CS_CONNECTING || c->state == CS_TLS)
		return c->fd >= 0;
	if (c->ssl != NULL)
		return tls_flush(c);
	while (b->off < b->len) {
		ssize_t n = write(c->fd, b->p + b->off, b->len - b->off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ep_set(c, true);
				return true;
			}
			char why[96];

			snprintf(why, sizeof why, "write:_%s", strerror(errno));
			client_dead(c, why);
			return false;
		}
		b->off += (size_t)n;
	}
	b->off = b->len = 0;
	ep_set(c, false);
	return true;
}

static void
flush_all(void)
{
	for (uint32_t i = 0; i < nflush; i++) {
		struct client *c = &cl[flushq[i]];

		c->dirty = false;
		flush_client(c);
	}
	nflush = 0;
}

/* ------------------------------------------------------------ messages */

static char pad[512];

static void
queue_message(struct client *c, uint32_t s, uint32_t seq, uint64_t t)
{
	struct obuf *b = &c->out;
	int n, text;

	if (b->len - b->off > OBUF_MAX) {
		set_error("sender_%u_queue_over_%u_MiB", s, OBUF_MAX >> 20);
		status = "backlog";
		phase = PH_DONE;
		return;
	}
	obuf_reserve(b, opt.size + 200);
	n = snprintf(b->p + b->len, b->cap - b->len, "PRIVMSG %s :%u %u %" PRIu64 " ",
	    opt.channel, s, seq, t);
	text = n - (int)strlen(opt.channel) - 10;	/* after " :" */
	if (text < (int)opt.size) {
		memcpy(b->p + b->len + n, pad, opt.size - (size_t)text);
		n += (int)opt.size - text;
	}
	b->p[b->len + (size_t)n] = '\r';
	b->p[b->len + (size_t)n + 1] = '\n';
	b->len += (size_t)n + 2;
	n_msgs_sent++;
	mark_dirty(c);
}

/* closed loop: fill the sender's window */
static void
send_window(struct sender *s, struct client *c)
{
	uint32_t W = opt.window, idx = (uint32_t)(s - snd);

	if (c->state == CS_DEAD || phase != PH_SEND)
		return;
	while (s->next < opt.messages && s->next - s->done < W) {
		uint32_t slot = s->next % W;
		uint64_t t = now_ns();

		s->left[slot] = n_live - 1;
		s->t_sent[slot] = t;
		queue_message(c, idx, s->next, t);
		s->next++;
	}
}

static inline const char *
parse_u64(const char *p, const char *end, uint64_t *v)
{
	uint64_t x = 0;
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9') {
		x = x * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p == s)
		return NULL;
	*v = x;
	return p;
}

static void
on_bench_message(struct client *c, const char *p, const char *end, uint64_t now)
{
	uint64_t s, q, t;
	uint32_t S = opt.senders;

	if ((p = parse_u64(p, end, &s)) == NULL || p >= end || *p++ != ' ' ||
	    (p = parse_u64(p, end, &q)) == NULL || p >= end || *p++ != ' ' ||
	    (p = parse_u64(p, end, &t)) == NULL || s >= S || q >= opt.messages) {
		n_bogus++;
		return;
	}
	if (s == c->idx) {
		/* echo-message: our own line back; anything else is bogus */
		if (opt.caps != NULL && strstr(opt.caps, "echo-message") != NULL)
			n_echo++;
		else
			n_bogus++;
		return;
	}
	n_deliv++;
	c->recvd++;
	t_last_deliv = now;
	hist_add(&h_lat, now > t ? now - t : 0);
	/* sender s is client s: it and this receiver may sit on different nodes */
	if (opt.nports > 1 && s % opt.nports != c->idx % opt.nports)
		hist_add(&h_xlat, now > t ? now - t : 0);

	uint32_t *e = &expect[(size_t)c->idx * S + s];
	bool first = q >= *e;

	if (q != *e)
		n_reorder++;
	if (first)
		*e = (uint32_t)q + 1;
	if (!first || (opt.mode != M_CLOSED && opt.mode != M_BCAST))
		return;

	struct sender *sd = &snd[s];
	uint32_t W = opt.window;

	if (q < sd->done || q >= sd->next)
		return;
	if (sd->left[q % W] > 0 && --sd->left[q % W] == 0) {
		while (sd->done < sd->next && sd->left[sd->done % W] == 0) {
			uint64_t ts = sd->t_sent[sd->done % W];

			hist_add(&h_done, now > ts ? now - ts : 0);
			sd->done++;
			n_completed++;
		}
		t_last_progress = now;
		send_window(sd, &cl[s]);
	}
}

static bool
starts(const char *p, const char *end, const char *lit, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

static void
on_numeric(struct client *c, unsigned num, const char *line, const char *end, uint64_t now)
{
	switch (num) {
	case 1:		/* welcome: registered, the burst follows */
		if (c->state == CS_REG)
			hist_add(&h_001, now - c->t_start);
		return;
	case 376:	/* end of MOTD */
	case 422:	/* no MOTD */
		if (c->state == CS_REG) {
			c->state = CS_READY;
			inflight--;
			n_ready++;
			t_last_ready = now;
			hist_add(&h_reg, now - c->t_start);
			if (opt.mode == M_CHURN) {
				c->state = CS_QUIT;
				cprintf(c, "QUIT :shmbench\r\n");
			} else if (opt.join_on_reg) {
				/* at once, and the connect slot stays taken */
				c->state = CS_JOINING;
				inflight++;
				joins_inflight++;
				cprintf(c, "JOIN %s\r\n", opt.channel);
			}
		}
		return;
	case 366:	/* end of NAMES: joined */
		if (c->state == CS_JOINING) {
			c->state = CS_JOINED;
			joins_inflight--;
			n_joined++;
			t_last_join = now;
			if (opt.join_on_reg)
				inflight--;
		}
		return;
	case 433:	/* nick in use: try another */
		if (c->state == CS_REG && c->nick_tries < 5) {
			c->nick_tries++;
			cprintf(c, "NICK %s%u_%x\r\n", opt.nick_prefix, c->idx,
			    (unsigned)(now & 0xfffff) + c->nick_tries);
			return;
		}
		break;
	default:
		if (num < 400 || num >= 600)
			return;
		break;
	}
	n_errnum++;
	set_error("client_%u_got:_%.*s", c->idx, (int)(end - line > 160 ? 160 : end - line), line);
	if (c->state != CS_JOINED && c->state != CS_READY) {
		note("client %u: %.*s", c->idx, (int)(end - line), line);
		if (opt.mode != M_CHURN && (opt.mode != M_STORM || c->state == CS_REG))
			setup_failed = true;
	}
}

/* one line without its CR LF */
static void
on_line(struct client *c, const char *line, const char *end, uint64_t now)
{
	const char *p = line;

	if (p < end && *p == '@') {
		/* IRCv3 tags (--caps): not what is measured */
		p = memchr(p, ' ', (size_t)(end - p));
		if (p == NULL)
			return;
		while (p < end && *p == ' ')
			p++;
	}
	if (p < end && *p == ':') {
		p = memchr(p, ' ', (size_t)(end - p));
		if (p == NULL)
			return;
		while (p < end && *p == ' ')
			p++;
	}
	if (starts(p, end, "PRIVMSG ", 8)) {
		const char *m = p + 8;

		/* skip the target to " :" */
		m = memchr(m, ' ', (size_t)(end - m));
		if (m == NULL || m + 1 >= end || m[1] != ':') {
			n_bogus++;
			return;
		}
		on_bench_message(c, m + 2, end, now);
		return;
	}
	if (end - p >= 4 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && p[3] == ' ') {
		on_numeric(c, (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0')),
		    line, end, now);
		return;
	}
	if (starts(p, end, "PING", 4)) {
		const char *a = p + 4;

		cprintf(c, "PONG%.*s\r\n", (int)(end - a), a);
		return;
	}
	if (starts(p, end, "PONG ", 5)) {
		if (phase == PH_SYNC && !c->ponged &&
		    end - p >= 9 && memcmp(end - 9, " :shmsync", 9) == 0) {
			c->ponged = true;
			n_ponged++;
		} else if (phase == PH_SYNC && !c->ponged &&
		    end - p >= 8 && memcmp(end - 8, " shmsync", 8) == 0) {
			c->ponged = true;
			n_ponged++;
		}
		return;
	}
	if (starts(p, end, "ERROR", 5)) {
		if (c->state == CS_QUIT)
			return;		/* the answer to our QUIT */
		set_error("client_%u:_%.*s", c->idx, (int)(end - p > 160 ? 160 : end - p), p);
		return;
	}
	/* JOIN, NOTICE, MODE, QUIT, ...: ignored */
}

/* the connection is gone: the end of a --churn cycle, or a client lost */
static void
on_closed(struct client *c, const char *why, uint64_t now)
{
	if (opt.mode == M_CHURN && c->state == CS_QUIT)
		churn_cycle_done(c, now);
	else
		client_dead(c, why);
}

/* the lines in rbuf[0, have): the carry, then what was just read */
static void
on_input(struct client *c, size_t have, uint64_t now)
{
	char *p = rbuf, *end = rbuf + have, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		char *e = nl;

		if (e > p && e[-1] == '\r')
			e--;
		on_line(c, p, e, now);
		if (c->fd < 0)
			return;
		p = nl + 1;
	}
	have = (size_t)(end - p);
	if (have > CARRY_MAX) {
		n_overlong++;
		have = 0;
	}
	memcpy(c->carry, p, have);
	c->carry_len = (uint16_t)have;
}

/*
 * --tls: SSL_read until it wants more from the socket. A record already in
 * the session (SSL_pending) raises no epoll event, so nothing may stay
 * there: the loop ends only on WANT_READ, WANT_WRITE or the end.
 */
static void
tls_readable(struct client *c, uint64_t now)
{
	char ebuf[128], why[160];

	c->tls_rd_ww = false;
	for (;;) {
		size_t have = c->carry_len;
		int n, e;

		memcpy(rbuf, c->carry, have);
		ERR_clear_error();
		n = SSL_read(c->ssl, rbuf + have, (int)(RBUF_SIZE - have));
		if (n > 0) {
			t_last_rx = now;
			on_input(c, have + (size_t)n, now);
			if (c->fd < 0)
				return;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->tls_rd_ww = true;
			ep_set(c, true);
			break;
		}
		if (e == SSL_ERROR_ZERO_RETURN) {
			on_closed(c, "connection_closed_by_server", now);
			return;
		}
		snprintf(why, sizeof why, "SSL_read:_%s", tls_why(ebuf, sizeof ebuf, e));
		on_closed(c, why, now);
		return;
	}
	if (c->tls_wr_wr) {
		c->tls_wr_wr = false;
		mark_dirty(c);
	}
}

static void
on_readable(struct client *c, uint64_t now)
{
	size_t have = c->carry_len;
	ssize_t n;

	if (c->ssl != NULL) {
		tls_readable(c, now);
		return;
	}
	memcpy(rbuf, c->carry, have);
	do
		n = read(c->fd, rbuf + have, RBUF_SIZE - have);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return;
		char why[96];

		snprintf(why, sizeof why, "read:_%s", strerror(errno));
		on_closed(c, why, now);
		return;
	}
	if (n == 0) {
		on_closed(c, "connection_closed_by_server", now);
		return;
	}
	t_last_rx = now;
	on_input(c, have + (size_t)n, now);
}

static void
on_event(uint32_t idx, uint32_t events, uint64_t now)
{
	struct client *c = &cl[idx];

	if (c->state == CS_DEAD || c->fd < 0)
		return;
	if (c->state == CS_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			char why[96];

			snprintf(why, sizeof why, "connect:_%s", strerror(err));
			client_dead(c, why);
			return;
		}
		if (opt.tls) {
			tls_begin(c);
			return;
		}
		c->state = CS_REG;
		mark_dirty(c);	/* NICK/USER are queued */
		return;
	}
	if (c->state == CS_TLS) {
		tls_handshake(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || (c->tls_rd_ww && (events & EPOLLOUT)))
		on_readable(c, now);
	if (c->fd >= 0 && (events & EPOLLOUT))
		mark_dirty(c);
}

/* ------------------------------------------------------------ phases */

/* every node's process tree added up; the kernel threads are the
 * machine's, counted once */
static void
cpu_snapshot(struct proc_cpu *pc)
{
	struct proc_cpu one;

	if (opt.npids == 0)
		return;
	memset(pc, 0, sizeof *pc);
	for (uint32_t i = 0; i < opt.npids; i++) {
		if (procmon_cpu(opt.server_pids[i], &one) < 0) {
			note("cannot read the CPU time of pid %d: %s", (int)opt.server_pids[i],
			    strerror(errno));
			have_cpu = false;
			return;
		}
		pc->cpu_s += one.cpu_s;
		pc->nproc += one.nproc;
		pc->kthread_s = one.kthread_s;
	}
}

static void
aux_snapshot(struct proc_cpu *pc)
{
	if (!have_aux)
		return;
	if (procmon_cpu(opt.aux_pid, pc) < 0) {
		note("cannot read the CPU time of pid %d: %s", (int)opt.aux_pid,
		    strerror(errno));
		have_aux = false;
	}
}

static void
measure_start(void)
{
	have_cpu = opt.npids > 0;
	cpu_snapshot(&cpu0);
	have_aux = opt.aux_pid > 0;
	aux_snapshot(&aux0);
	have_host = procmon_host(&host0) == 0;
	self0 = procmon_self_cpu();
}

static void
measure_end(void)
{
	if (have_cpu)
		cpu_snapshot(&cpu1);
	aux_snapshot(&aux1);
	if (have_host && procmon_host(&host1) < 0)
		have_host = false;
	self1 = procmon_self_cpu();
}

static void
arm_timer(uint64_t at)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at / 1000000000ull),
	    .tv_nsec = (long)(at % 1000000000ull) } };

	if (at == 0)
		its.it_value.tv_nsec = 1;	/* 0 would disarm */
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		die("timerfd_settime: %s", strerror(errno));
}

static void
start_send(uint64_t now)
{
	phase = PH_SEND;
	measure_start();
	now = now_ns();
	t_send_start = now;
	t_last_progress = now;
	if (opt.mode == M_OPEN) {
		ol_interval_ns = (uint64_t)(1e9 / (opt.rate * opt.senders));
		if (ol_interval_ns == 0)
			ol_interval_ns = 1;
		ol_total_events = (uint64_t)opt.senders * opt.messages;
		ol_next_event = 0;
		arm_timer(t_send_start);
		return;
	}
	for (uint32_t s = 0; s < opt.senders; s++)
		send_window(&snd[s], &cl[s]);
}

/* open loop: everything due by now */
static void
open_loop_tick(uint64_t now)
{
	uint64_t buf;

	if (read(tfd, &buf, sizeof buf) < 0 && errno != EAGAIN)
		die("read(timerfd): %s", strerror(errno));
	while (ol_next_event < ol_total_events) {
		uint64_t due = t_send_start + ol_next_event * ol_interval_ns;
		uint32_t s = (uint32_t)(ol_next_event % opt.senders);
		uint32_t q = (uint32_t)(ol_next_event / opt.senders);

		if (due > now)
			break;
		if (cl[s].state != CS_DEAD)
			queue_message(&cl[s], s, q, due);
		snd[s].next = q + 1;
		ol_next_event++;
	}
	if (ol_next_event < ol_total_events)
		arm_timer(t_send_start + ol_next_event * ol_interval_ns);
}

static uint64_t
expected_deliveries(void)
{
	return (uint64_t)opt.senders * opt.messages * (opt.clients - 1);
}

static bool
send_finished(uint64_t now)
{
	if (opt.mode == M_OPEN) {
		if (n_deliv >= expected_deliveries())
			return true;
		if (ol_next_event < ol_total_events)
			return false;
		/* everything sent: drain until nothing arrives for stall_ms */
		uint64_t last = t_last_deliv > t_last_progress ? t_last_deliv : t_last_progress;

		if (now - last > (uint64_t)opt.stall_ms * 1000000ull) {
			status = "drained";
			return true;
		}
		return false;
	}
	for (uint32_t s = 0; s < opt.senders; s++)
		if (cl[s].state != CS_DEAD && snd[s].done < opt.messages) {
			if (now - t_last_progress > (uint64_t)opt.stall_ms * 1000000ull) {
				status = "stall";
				set_error("no_message_completed_for_%u_ms", opt.stall_ms);
				return true;
			}
			return false;
		}
	return true;
}

static void
progress(uint64_t now)
{
	static uint64_t next;
	static const char *names[] = { "connect", "join", "sync", "quiet", "send",
	    "settle", "done" };

	if (opt.quiet)
		return;
	if (next == 0)
		next = t_begin + 5000000000ull;
	if (now < next)
		return;
	next = now + 5000000000ull;
	note("%.0f s: phase %s: registered %u/%u, joined %u, messages sent %" PRIu64
	    ", deliveries %" PRIu64 ", dead %u", (double)(now - t_begin) / 1e9,
	    names[phase], n_ready, opt.clients, n_joined, n_msgs_sent, n_deliv, n_dead);
}

static void
advance(uint64_t now)
{
	progress(now);
	for (;;) {
		switch (phase) {
		case PH_CONNECT:
			if (opt.mode == M_CHURN) {
				/* a server that refuses everything ends the run */
				bool more = now < t_churn_end && n_dead < 100;

				while (more && n_live < opt.concurrency && nfree > 0)
					start_connect(&cl[freeslots[--nfree]]);
				if (more || n_live > 0)
					return;
				measure_end();
				phase = PH_DONE;
				return;
			}
			while (inflight < opt.concurrency && next_connect < opt.clients)
				start_connect(&cl[next_connect++]);
			if (next_connect < opt.clients || inflight > 0)
				return;
			if (t_last_ready == 0)
				t_last_ready = now;
			if (opt.mode == M_STORM) {
				measure_end();
				phase = PH_DONE;
				return;
			}
			if (setup_failed) {
				phase = PH_DONE;
				return;
			}
			note("%u clients registered in %.3f s", n_ready,
			    (double)(t_last_ready - t_first_connect) / 1e9);
			t_join_start = now;
			if (opt.join_on_reg) {
				/* every one joined already, as it registered */
				t_join_start = t_first_connect;
				t_joined = t_last_join ? t_last_join : now;
				note("%u clients registered and joined %s in %.3f s", n_joined,
				    opt.channel, (double)(t_joined - t_join_start) / 1e9);
			}
			if (opt.no_join || opt.join_on_reg) {
				phase = PH_SYNC;
				for (uint32_t i = 0; i < opt.clients; i++)
					if (cl[i].state != CS_DEAD)
						cprintf(&cl[i], "PING :shmsync\r\n");
				continue;
			}
			phase = PH_JOIN;
			continue;
		case PH_JOIN:
			while (joins_inflight < opt.join_conc && next_join < opt.clients) {
				struct client *c = &cl[next_join++];

				if (c->state != CS_READY)
					continue;
				c->state = CS_JOINING;
				joins_inflight++;
				cprintf(c, "JOIN %s\r\n", opt.channel);
			}
			if (next_join < opt.clients || joins_inflight > 0)
				return;
			if (setup_failed) {
				phase = PH_DONE;
				return;
			}
			t_joined = now;
			note("%u clients joined %s in %.3f s", n_joined, opt.channel,
			    (double)(t_joined - t_join_start) / 1e9);
			phase = PH_SYNC;
			for (uint32_t i = 0; i < opt.clients; i++)
				if (cl[i].state != CS_DEAD)
					cprintf(&cl[i], "PING :shmsync\r\n");
			continue;
		case PH_SYNC:
			if (n_ponged < n_live)
				return;
			if (setup_failed) {
				phase = PH_DONE;
				return;
			}
			phase = PH_QUIET;
			t_quiet_start = now;
			continue;
		case PH_QUIET:
			if (now - t_last_rx < QUIET_NS && now - t_quiet_start < QUIET_MAX_NS)
				return;
			if (opt.mode == M_IDLE) {
				phase = PH_SETTLE;
				t_settle_end = now + (uint64_t)opt.settle_ms * 1000000ull;
				continue;
			}
			start_send(now);
			return;
		case PH_SETTLE:
			if (now < t_settle_end)
				return;
			phase = PH_DONE;
			return;
		case PH_SEND:
			if (!send_finished(now))
				return;
			t_send_end = now;
			measure_end();
			phase = PH_DONE;
			return;
		case PH_DONE:
			return;
		}
	}
}

/* ------------------------------------------------------------ report */

static void
report(void)
{
	double reg_s = t_last_ready > t_first_connect ?
	    (double)(t_last_ready - t_first_connect) / 1e9 : 0;
	double reg_rate = reg_s > 0 ? n_ready / reg_s : 0;
	uint64_t end = t_last_deliv > t_send_start ? t_last_deliv : t_send_end;
	double send_s = t_send_start && end > t_send_start ?
	    (double)(end - t_send_start) / 1e9 : 0;
	double churn_s = t_last_cycle > t_first_connect ?
	    (double)(t_last_cycle - t_first_connect) / 1e9 : 0;
	double measured_s = opt.mode == M_STORM ? reg_s : opt.mode == M_CHURN ? churn_s : send_s;
	uint64_t expected = opt.mode == M_STORM || opt.mode == M_IDLE || opt.mode == M_CHURN ? 0 :
	    expected_deliveries();
	uint64_t lost = expected > n_deliv ? expected - n_deliv : 0;
	double srv_cpu = have_cpu ? cpu1.cpu_s - cpu0.cpu_s : -1;
	double bench_cpu = self1 - self0;
	double host_busy = have_host ? procmon_host_busy(&host0, &host1) : -1;
	double kthread_cpu = have_cpu ? cpu1.kthread_s - cpu0.kthread_s : 0;
	double aux_cpu = have_aux ? aux1.cpu_s - aux0.cpu_s : -1;
	/* what is left is other work on the machine, which disturbs the run */
	double other_cpu = host_busy - bench_cpu - (have_cpu ? srv_cpu : 0) - kthread_cpu -
	    (have_aux ? aux_cpu : 0);
	char where[MAX_PORTS * 7 + 64];
	size_t wl = (size_t)snprintf(where, sizeof where, "%s:%d", opt.host, opt.ports[0]);

	for (uint32_t i = 1; i < opt.nports; i++)
		wl += (size_t)snprintf(where + wl, sizeof where - wl, ",%d", opt.ports[i]);
	double host_cap = have_host ? (host1.wall_s - host0.wall_s) * host1.ncpu : 0;
	/* the share of the machine that went to other work: a disturbed run */
	double other_frac = host_cap > 0 && other_cpu > 0 ? other_cpu / host_cap : 0;
	static const char *mnames[] = { "closed", "open", "storm", "broadcast", "idle", "churn" };
	/* the send figures only once the send phase has begun */
	bool sending = opt.mode != M_STORM && opt.mode != M_IDLE && opt.mode != M_CHURN &&
	    t_send_start != 0;

	if (phase != PH_DONE)
		status = interrupted ? "interrupted" : "timeout";
	else if (setup_failed)
		status = "setup_failed";
	if (strcmp(status, "ok") == 0 && sending &&
	    (lost > 0 || n_reorder > 0 || n_dead_in_send > 0))
		status = "loss";
	if (strcmp(status, "ok") == 0 && opt.mode == M_STORM && n_ready < opt.clients)
		status = "setup_failed";
	/* --churn: a failed connection or an error reply is a loss */
	if (strcmp(status, "ok") == 0 && opt.mode == M_CHURN && (n_dead > 0 || n_errnum > 0))
		status = n_cycles > 0 ? "loss" : "setup_failed";

	if (strcmp(status, "ok") == 0 || strcmp(status, "drained") == 0)
		exit_code = (lost > 0 || n_reorder > 0) ? EXIT_LOSS : 0;
	else if (strcmp(status, "loss") == 0)
		exit_code = EXIT_LOSS;
	else
		exit_code = EXIT_FAIL;

	if (!opt.quiet) {
		printf("shmbench %s%s%s: %u clients on %s\n", mnames[opt.mode],
		    opt.label[0] ? " " : "", opt.label, opt.clients, where);
		if (opt.mode == M_CHURN)
			printf("  connect+%sregister+QUIT cycles: %" PRIu64 " in %.3f s = %.0f/s"
			    " (%u at a time), failed %u\n", opt.tls ? "TLS handshake+" : "",
			    n_cycles, churn_s, churn_s > 0 ? n_cycles / churn_s : 0,
			    opt.concurrency, n_dead);
		else
			printf("  connect+register: %u in %.3f s = %.0f/s (each: p50 %.2f ms, p99 %.2f ms, max %.2f ms)\n",
			    n_ready, reg_s, reg_rate, hist_quantile(&h_reg, 0.5) / 1e6,
			    hist_quantile(&h_reg, 0.99) / 1e6, h_reg.max == 0 ? 0 : h_reg.max / 1e6);
		if (h_001.count)
			printf("  connect() to 001: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			    hist_quantile(&h_001, 0.5) / 1e6, hist_quantile(&h_001, 0.99) / 1e6,
			    h_001.max / 1e6);
		if (tls_desc[0])
			printf("  TLS: %s\n", tls_desc);
		if (sending) {
			printf("  sent %" PRIu64 " messages from %u senders (%s, size %u) in %.3f s\n",
			    n_msgs_sent, opt.senders,
			    opt.mode == M_OPEN ? "open loop" : "closed loop", opt.size, send_s);
			printf("  deliveries: %" PRIu64 " of %" PRIu64 " = %.0f/s; lost %" PRIu64
			    ", reordered %" PRIu64 ", disconnects %" PRIu64 "\n",
			    n_deliv, expected, send_s > 0 ? n_deliv / send_s : 0, lost,
			    n_reorder, n_dead_in_send);
			printf("  latency: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
			    hist_quantile(&h_lat, 0.5) / 1e3, hist_quantile(&h_lat, 0.9) / 1e3,
			    hist_quantile(&h_lat, 0.99) / 1e3, h_lat.count ? h_lat.max / 1e3 : 0);
			if (opt.nports > 1)
				printf("  cross-node latency (%" PRIu64 " deliveries): p50 %.1f us, p90 %.1f us,"
				    " p99 %.1f us, max %.1f us\n", h_xlat.count,
				    hist_quantile(&h_xlat, 0.5) / 1e3, hist_quantile(&h_xlat, 0.9) / 1e3,
				    hist_quantile(&h_xlat, 0.99) / 1e3, h_xlat.count ? h_xlat.max / 1e3 : 0);
			if (h_done.count)
				printf("  delivered to all receivers: p50 %.1f us, p99 %.1f us, max %.1f us\n",
				    hist_quantile(&h_done, 0.5) / 1e3, hist_quantile(&h_done, 0.99) / 1e3,
				    h_done.max / 1e3);
		}
		if (have_cpu)
			printf("  server CPU: %.2f s over %.3f s (%.2f cores), %u processes; shmbench CPU %.2f s\n",
			    srv_cpu, measured_s, measured_s > 0 ? srv_cpu / measured_s : 0,
			    cpu1.nproc, bench_cpu);
		if (have_aux && sending && n_msgs_sent > 0)
			printf("  pid %d (aux) CPU: %.3f s, %.0f us per 1,000 messages sent\n",
			    (int)opt.aux_pid, aux_cpu, aux_cpu * 1e9 / (double)n_msgs_sent);
		else if (have_aux)
			printf("  pid %d (aux) CPU: %.3f s\n", (int)opt.aux_pid, aux_cpu);
		if (have_host)
			printf("  machine: %.2f CPU s busy, %.2f s in kernel threads, %.2f s (%.0f %% of the machine) in other processes%s\n",
			    host_busy, kthread_cpu, other_cpu > 0 ? other_cpu : 0, other_frac * 100,
			    have_cpu && other_frac > 0.1 ? " (disturbed?)" : "");
		if (have_mem)
			printf("  server memory (PSS): master %" PRIu64 " kB, %u helpers %" PRIu64
			    " kB, %u workers avg %.1f kB max %" PRIu64 " kB, total %" PRIu64 " kB\n",
			    mem.root_pss_kb, mem.nhelper, mem.helper_pss_kb, mem.nchild,
			    mem.nchild ? (double)mem.child_pss_sum_kb / mem.nchild : 0,
			    mem.child_pss_max_kb, mem.total_pss_kb);
		if (first_error[0])
			printf("  first error: %s\n", first_error);
		if (n_bogus || n_overlong || n_errnum)
			printf("  unparsed lines %" PRIu64 ", overlong %" PRIu64 ", error numerics %" PRIu64 "\n",
			    n_bogus, n_overlong, n_errnum);
	}

	printf("RESULT mode=%s status=%s label=%s clients=%u senders=%u messages=%u window=%u"
	    " rate=%g size=%u concurrency=%u join_concurrency=%u",
	    mnames[opt.mode], status, opt.label[0] ? opt.label : "-", opt.clients,
	    opt.senders, opt.messages, opt.window, opt.rate, opt.size, opt.concurrency,
	    opt.join_conc);
	printf(" registered=%u reg_s=%.4f reg_per_s=%.0f reg_p50_ms=%.3f reg_p99_ms=%.3f",
	    n_ready, reg_s, reg_rate, hist_quantile(&h_reg, 0.5) / 1e6,
	    hist_quantile(&h_reg, 0.99) / 1e6);
	if (h_001.count)
		printf(" c001_p50_ms=%.3f c001_p99_ms=%.3f", hist_quantile(&h_001, 0.5) / 1e6,
		    hist_quantile(&h_001, 0.99) / 1e6);
	if (opt.mode == M_CHURN)
		printf(" cycles=%" PRIu64 " cycle_s=%.4f cycles_per_s=%.0f failed=%u", n_cycles,
		    churn_s, churn_s > 0 ? n_cycles / churn_s : 0, n_dead);
	printf(" tls=%s", opt.tls ? (tls_desc[0] ? tls_desc : "none") : "-");
	if (opt.caps != NULL)
		printf(" echoed=%" PRIu64, n_echo);
	if (t_joined)
		printf(" join_s=%.4f regjoin_s=%.4f join_on_register=%d",
		    (double)(t_joined - t_join_start) / 1e9,
		    (double)(t_joined - t_first_connect) / 1e9, opt.join_on_reg ? 1 : 0);
	if (sending) {
		printf(" sent=%" PRIu64 " deliveries=%" PRIu64 " expected=%" PRIu64 " lost=%" PRIu64
		    " reordered=%" PRIu64 " disconnects=%" PRIu64 " send_s=%.4f deliv_per_s=%.0f"
		    " msgs_per_s=%.0f",
		    n_msgs_sent, n_deliv, expected, lost, n_reorder, n_dead_in_send, send_s,
		    send_s > 0 ? n_deliv / send_s : 0, send_s > 0 ? n_msgs_sent / send_s : 0);
		printf(" lat_p50_us=%.1f lat_p90_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f",
		    hist_quantile(&h_lat, 0.5) / 1e3, hist_quantile(&h_lat, 0.9) / 1e3,
		    hist_quantile(&h_lat, 0.99) / 1e3, h_lat.count ? h_lat.max / 1e3 : 0);
		if (opt.nports > 1)
			printf(" xnode_deliveries=%" PRIu64 " xnode_p50_us=%.1f xnode_p90_us=%.1f"
			    " xnode_p99_us=%.1f xnode_max_us=%.1f", h_xlat.count,
			    hist_quantile(&h_xlat, 0.5) / 1e3, hist_quantile(&h_xlat, 0.9) / 1e3,
			    hist_quantile(&h_xlat, 0.99) / 1e3, h_xlat.count ? h_xlat.max / 1e3 : 0);
		if (h_done.count)
			printf(" all_p50_us=%.1f all_p99_us=%.1f all_max_us=%.1f",
			    hist_quantile(&h_done, 0.5) / 1e3, hist_quantile(&h_done, 0.99) / 1e3,
			    h_done.max / 1e3);
		if (opt.mode == M_BCAST && h_done.count)
			printf(" bcast_ms=%.3f bcast_max_ms=%.3f",
			    hist_quantile(&h_done, 0.5) / 1e6, h_done.max / 1e6);
	}
	if (have_cpu)
		printf(" srv_cpu_s=%.3f srv_cores=%.3f srv_procs=%u", srv_cpu,
		    measured_s > 0 ? srv_cpu / measured_s : 0, cpu1.nproc);
	if (have_cpu && sending && n_deliv > 0)
		printf(" srv_ns_per_deliv=%.1f", srv_cpu * 1e9 / (double)n_deliv);
	if (have_cpu && opt.mode == M_STORM && n_ready > 0)
		printf(" srv_us_per_reg=%.1f", srv_cpu * 1e6 / n_ready);
	if (have_cpu && opt.mode == M_CHURN && n_cycles > 0)
		printf(" srv_us_per_cycle=%.1f", srv_cpu * 1e6 / (double)n_cycles);
	if (opt.nports > 1)
		printf(" nodes=%u", opt.nports);
	if (have_aux)
		printf(" aux_cpu_s=%.4f", aux_cpu);
	if (have_aux && sending && n_msgs_sent > 0)
		printf(" aux_us_per_kmsg=%.1f", aux_cpu * 1e9 / (double)n_msgs_sent);
	if (have_aux && opt.mode == M_STORM && n_ready > 0)
		printf(" aux_us_per_reg=%.1f", aux_cpu * 1e6 / n_ready);
	printf(" bench_cpu_s=%.3f", bench_cpu);
	if (have_host)
		printf(" host_busy_s=%.3f kthread_cpu_s=%.3f other_cpu_s=%.3f other_frac=%.3f",
		    host_busy, kthread_cpu, other_cpu > 0 ? other_cpu : 0, other_frac);
	if (have_mem)
		printf(" master_pss_kb=%" PRIu64 " master_rss_kb=%" PRIu64
		    " master_priv_kb=%" PRIu64 " helpers=%u helper_pss_kb=%" PRIu64
		    " workers=%u worker_pss_avg_kb=%.1f"
		    " worker_pss_max_kb=%" PRIu64 " worker_priv_avg_kb=%.1f total_pss_kb=%" PRIu64,
		    mem.root_pss_kb, mem.root_rss_kb, mem.root_priv_kb, mem.nhelper,
		    mem.helper_pss_kb, mem.nchild,
		    mem.nchild ? (double)mem.child_pss_sum_kb / mem.nchild : 0,
		    mem.child_pss_max_kb,
		    mem.nchild ? (double)mem.child_priv_sum_kb / mem.nchild : 0,
		    mem.total_pss_kb);
	printf(" live=%u dead=%u error=%s\n", n_live, n_dead,
	    first_error[0] ? first_error : "-");
	fflush(stdout);
}

/* ------------------------------------------------------------ setup */

static void
usage(FILE *f)
{
	fputs(
"Usage: shmbench [OPTION]...\n"
"Load generator for IRC servers: N clients over loopback join one channel,\n"
"S of them send M messages each; receivers check order and count losses.\n"
"\n"
"  -H, --host ADDR        server address, numeric IPv4 (default 127.0.0.1)\n"
"  -p, --port PORT        server port (default 6667); given again, another\n"
"                         server (a node): client i uses port i % nports\n"
"      --ports P1,P2,...  the same, in one option\n"
"  -n, --clients N        clients (default 10)\n"
"  -s, --senders S        senders among them (default: all clients)\n"
"  -m, --messages M       messages per sender (default 1000)\n"
"  -r, --rate R           open loop: R messages/s per sender, stamped with\n"
"                         the scheduled time (default 0: closed loop)\n"
"  -w, --window W         closed loop: messages per sender in flight, a\n"
"                         message leaving when all receivers have it (16)\n"
"  -b, --size BYTES       message text size, 40-400 (default 64)\n"
"  -c, --concurrency C    registrations in flight (default 64)\n"
"      --join-concurrency J  JOINs in flight (default 64)\n"
"      --join-on-register each client JOINs as soon as it is registered and\n"
"                         holds its --concurrency slot until joined; reports\n"
"                         regjoin_s, first connect() to the last 366\n"
"      --storm            only connect and register N clients, report the rate\n"
"      --broadcast        one sender, M messages one at a time (default M 5):\n"
"                         time until all N-1 others have each\n"
"      --idle             connect, register, join, wait --settle ms, report\n"
"                         the server's memory (needs --server-pid)\n"
"      --mem              also report the server's memory at the end\n"
"      --no-join          --idle: stay out of the channel (a JOIN is announced\n"
"                         to every member: N clients joining cost N^2/2 lines)\n"
"      --churn SEC        connect, register, QUIT, again, for SEC seconds with\n"
"                         --concurrency connections at a time: cycles/s\n"
"      --tls              every connection is TLS (no certificate check)\n"
"      --caps LIST        request these IRCv3 capabilities (comma- or space-separated)\n"
"  -P, --server-pid PID   the server, for its CPU time and memory (/proc);\n"
"                         again for each node (CPU added up, memory: first)\n"
"      --aux-pid PID      one more process (a Redis): its CPU, on its own\n"
"  -t, --timeout SEC      give up after SEC seconds in all (default 60)\n"
"      --stall-ms MS      give up when nothing progresses for MS (5000)\n"
"      --settle-ms MS     --idle: wait this long before measuring (1000)\n"
"      --channel NAME     channel (default #bench)\n"
"      --nick-prefix P    nicks are P<index> (default b)\n"
"      --label TEXT       copied into the RESULT line\n"
"  -q, --quiet            print only the RESULT line\n"
"  -h, --help             show this help and exit\n"
"\n"
"The last line is machine-readable: RESULT key=value ... Exit status: 0 ok,\n"
"1 loss, reorder or disconnect, 2 setup failure, stall or timeout, 64 usage.\n",
	    f);
}

static unsigned long
num_arg(const char *name, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "shmbench: --%s: expected a number from %lu to %lu, got '%s'\n",
		    name, lo, hi, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static void
add_port(const char *s)
{
	if (opt.nports == MAX_PORTS) {
		fprintf(stderr, "shmbench: at most %d ports\n", MAX_PORTS);
		exit(EXIT_USAGE);
	}
	opt.ports[opt.nports++] = (int)num_arg("port", s, 1, 65535);
	opt.port = opt.ports[0];
}

static void
parse_args(int argc, char **argv)
{
	enum { O_JOINC = 255, O_STORM = 256, O_BCAST, O_IDLE, O_MEM, O_NOJOIN, O_STALL, O_SETTLE, O_CHAN,
	    O_NICK, O_LABEL, O_CHURN, O_TLS, O_PORTS, O_AUX, O_CAPS, O_JOINREG };
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "ports", required_argument, NULL, O_PORTS },
		{ "aux-pid", required_argument, NULL, O_AUX },
		{ "clients", required_argument, NULL, 'n' },
		{ "senders", required_argument, NULL, 's' },
		{ "messages", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 'b' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "join-concurrency", required_argument, NULL, O_JOINC },
		{ "storm", no_argument, NULL, O_STORM },
		{ "broadcast", no_argument, NULL, O_BCAST },
		{ "idle", no_argument, NULL, O_IDLE },
		{ "mem", no_argument, NULL, O_MEM },
		{ "no-join", no_argument, NULL, O_NOJOIN },
		{ "join-on-register", no_argument, NULL, O_JOINREG },
		{ "churn", required_argument, NULL, O_CHURN },
		{ "tls", no_argument, NULL, O_TLS },
		{ "caps", required_argument, NULL, O_CAPS },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stall-ms", required_argument, NULL, O_STALL },
		{ "settle-ms", required_argument, NULL, O_SETTLE },
		{ "channel", required_argument, NULL, O_CHAN },
		{ "nick-prefix", required_argument, NULL, O_NICK },
		{ "label", required_argument, NULL, O_LABEL },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_m = false, have_s = false;
	int ch;
	char *end;

	while ((ch = getopt_long(argc, argv, "H:p:n:s:m:r:w:b:c:P:t:qh", lo, NULL)) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'p': add_port(optarg); break;
		case O_PORTS: {
			char *list = strdup(optarg), *save = NULL;

			if (list == NULL)
				die("out of memory");
			for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
				add_port(t);
			free(list);
			break;
		}
		case O_AUX: opt.aux_pid = (pid_t)num_arg("aux-pid", optarg, 1, INT_MAX); break;
		case 'n': opt.clients = (uint32_t)num_arg("clients", optarg, 1, MAX_CLIENTS); break;
		case 's': opt.senders = (uint32_t)num_arg("senders", optarg, 1, MAX_CLIENTS); have_s = true; break;
		case 'm': opt.messages = (uint32_t)num_arg("messages", optarg, 1, 1000000000); have_m = true; break;
		case 'r':
			errno = 0;
			opt.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || opt.rate < 0 || opt.rate > 1e7) {
				fprintf(stderr, "shmbench: --rate: expected 0 to 1e7, got '%s'\n", optarg);
				exit(EXIT_USAGE);
			}
			break;
		case 'w': opt.window = (uint32_t)num_arg("window", optarg, 1, 1u << 20); break;
		case 'b': opt.size = (uint32_t)num_arg("size", optarg, 40, 400); break;
		case 'c': opt.concurrency = (uint32_t)num_arg("concurrency", optarg, 1, MAX_CLIENTS); break;
		case O_JOINC: opt.join_conc = (uint32_t)num_arg("join-concurrency", optarg, 1, MAX_CLIENTS); break;
		case O_STORM: opt.mode = M_STORM; break;
		case O_BCAST: opt.mode = M_BCAST; break;
		case O_IDLE: opt.mode = M_IDLE; break;
		case O_MEM: opt.mem = true; break;
		case O_NOJOIN: opt.no_join = true; break;
		case O_JOINREG: opt.join_on_reg = true; break;
		case O_CHURN:
			opt.mode = M_CHURN;
			errno = 0;
			opt.churn_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || opt.churn_s <= 0 || opt.churn_s > 3600) {
				fprintf(stderr, "shmbench: --churn: expected seconds (0-3600], got '%s'\n", optarg);
				exit(EXIT_USAGE);
			}
			break;
		case O_TLS: opt.tls = true; break;
		case O_CAPS:
			/* commas or blanks between names: one shell word is enough */
			for (char *q = optarg; *q; q++)
				if (*q == ',')
					*q = ' ';
			opt.caps = optarg;
			break;
		case 'P':
			if (opt.npids == MAX_PIDS) {
				fprintf(stderr, "shmbench: at most %d --server-pid\n", MAX_PIDS);
				exit(EXIT_USAGE);
			}
			opt.server_pids[opt.npids++] = (pid_t)num_arg("server-pid", optarg, 1, INT_MAX);
			opt.server_pid = opt.server_pids[0];
			break;
		case 't':
			errno = 0;
			opt.timeout_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || opt.timeout_s <= 0 || opt.timeout_s > 86400) {
				fprintf(stderr, "shmbench: --timeout: expected seconds (0-86400], got '%s'\n", optarg);
				exit(EXIT_USAGE);
			}
			break;
		case O_STALL: opt.stall_ms = (uint32_t)num_arg("stall-ms", optarg, 1, 3600000); break;
		case O_SETTLE: opt.settle_ms = (uint32_t)num_arg("settle-ms", optarg, 0, 3600000); break;
		case O_CHAN: opt.channel = optarg; break;
		case O_NICK: opt.nick_prefix = optarg; break;
		case O_LABEL: opt.label = optarg; break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shmbench: unexpected argument '%s'\n", argv[optind]);
		exit(EXIT_USAGE);
	}
	if (opt.nports == 0)
		opt.ports[opt.nports++] = opt.port;
	if (opt.mode == M_CLOSED && opt.rate > 0)
		opt.mode = M_OPEN;
	if (opt.mode == M_BCAST) {
		if (!have_s)
			opt.senders = 1;
		if (!have_m)
			opt.messages = 5;
		opt.window = 1;
		if (opt.rate > 0) {
			fprintf(stderr, "shmbench: --broadcast takes no --rate\n");
			exit(EXIT_USAGE);
		}
	}
	if (!have_s && opt.mode != M_BCAST)
		opt.senders = opt.clients;
	if (opt.mode == M_STORM || opt.mode == M_IDLE || opt.mode == M_CHURN)
		opt.senders = 0;
	/* --churn: one slot per connection in flight, and time to finish */
	if (opt.mode == M_CHURN) {
		opt.clients = opt.concurrency;
		if (opt.timeout_s < opt.churn_s + 30)
			opt.timeout_s = opt.churn_s + 30;
	}
	if (opt.senders > opt.clients) {
		fprintf(stderr, "shmbench: --senders %u > --clients %u\n", opt.senders, opt.clients);
		exit(EXIT_USAGE);
	}
	if (opt.mode != M_STORM && opt.mode != M_IDLE && opt.mode != M_CHURN && opt.clients < 2) {
		fprintf(stderr, "shmbench: sending needs at least 2 clients\n");
		exit(EXIT_USAGE);
	}
	if ((uint64_t)opt.clients * opt.senders > (256u << 20)) {
		fprintf(stderr, "shmbench: --clients x --senders is over 256 Mi (order tracking)\n");
		exit(EXIT_USAGE);
	}
	if (opt.no_join && opt.mode != M_IDLE) {
		fprintf(stderr, "shmbench: --no-join goes with --idle only\n");
		exit(EXIT_USAGE);
	}
	if (opt.join_on_reg && (opt.no_join || opt.mode == M_STORM || opt.mode == M_CHURN)) {
		fprintf(stderr, "shmbench: --join-on-register goes with neither --no-join, --storm nor --churn\n");
		exit(EXIT_USAGE);
	}
	if (opt.mode == M_IDLE && opt.server_pid <= 0) {
		fprintf(stderr, "shmbench: --idle needs --server-pid\n");
		exit(EXIT_USAGE);
	}
	if (strlen(opt.channel) < 2 || strlen(opt.channel) > 50 ||
	    strpbrk(opt.channel, " ,\r\n\a") != NULL) {
		fprintf(stderr, "shmbench: bad --channel '%s'\n", opt.channel);
		exit(EXIT_USAGE);
	}
	if (strlen(opt.nick_prefix) < 1 || strlen(opt.nick_prefix) > 8 ||
	    strpbrk(opt.nick_prefix, " ,:!@\r\n") != NULL) {
		fprintf(stderr, "shmbench: bad --nick-prefix '%s' (1-8 characters)\n", opt.nick_prefix);
		exit(EXIT_USAGE);
	}
	for (const char *p = opt.label; *p; p++)
		if (*p == ' ' || *p == '=' || (unsigned char)*p < 0x21) {
			fprintf(stderr, "shmbench: --label must be one word without '='\n");
			exit(EXIT_USAGE);
		}
}

static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)opt.clients + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need) {
		struct rlimit hard = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			return;
		die("need %llu file descriptors, the hard limit is %llu (raise it: ulimit -Hn)",
		    (unsigned long long)need, (unsigned long long)rl.rlim_max);
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit(NOFILE %llu): %s", (unsigned long long)need, strerror(errno));
}

/* --tls: a client context; a load generator on loopback checks no certificate */
static void
tls_init(void)
{
	char ebuf[128];

	if ((tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new: %s", tls_why(ebuf, sizeof ebuf, 0));
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	/* the output buffer may move (realloc) or grow between retries;
	 * a server that closes without close_notify ends the stream cleanly */
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* every connection a full handshake: --churn measures those */
	SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
	/* fewer read() calls: whole socket reads, records taken from them */
	SSL_CTX_set_read_ahead(tls_ctx, 1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

int
main(int argc, char **argv)
{
	struct epoll_event *evs;
	struct epoll_event tev = { .events = EPOLLIN, .data.u32 = EV_TIMER };
	struct sigaction sa = { .sa_handler = on_signal };
	const int maxev = 1024;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	raise_nofile();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		die("sigaction: %s", strerror(errno));
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal(SIGPIPE): %s", strerror(errno));

	memset(pad, 'x', sizeof pad);
	hist_init(&h_lat);
	hist_init(&h_xlat);
	hist_init(&h_reg);
	hist_init(&h_done);
	hist_init(&h_001);
	if (opt.tls)
		tls_init();
	cl = xcalloc(opt.clients, sizeof *cl);
	flushq = xcalloc(opt.clients, sizeof *flushq);
	rbuf = xcalloc(1, RBUF_SIZE);
	evs = xcalloc(maxev, sizeof *evs);
	for (uint32_t i = 0; i < opt.clients; i++) {
		cl[i].fd = -1;
		cl[i].idx = i;
	}
	if (opt.mode == M_CHURN) {
		freeslots = xcalloc(opt.clients, sizeof *freeslots);
		for (uint32_t i = opt.clients; i-- > 0;)
			freeslots[nfree++] = i;
	}
	if (opt.senders > 0) {
		snd = xcalloc(opt.senders, sizeof *snd);
		expect = xcalloc((size_t)opt.clients * opt.senders, sizeof *expect);
		for (uint32_t s = 0; s < opt.senders; s++) {
			snd[s].left = xcalloc(opt.window, sizeof *snd[s].left);
			snd[s].t_sent = xcalloc(opt.window, sizeof *snd[s].t_sent);
		}
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0)
		die("timerfd_create: %s", strerror(errno));
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev) < 0)
		die("epoll_ctl(ADD timerfd): %s", strerror(errno));

	t_begin = now_ns();
	t_deadline = t_begin + (uint64_t)(opt.timeout_s * 1e9);
	t_churn_end = t_begin + (uint64_t)(opt.churn_s * 1e9);
	phase = PH_CONNECT;
	if (opt.mode == M_STORM || opt.mode == M_CHURN)
		measure_start();
	advance(t_begin);
	flush_all();

	while (phase != PH_DONE && !interrupted) {
		uint64_t now = now_ns();
		int timeout_ms, n;

		if (now >= t_deadline) {
			set_error("timeout_after_%.0f_s_in_phase_%d", opt.timeout_s, (int)phase);
			break;
		}
		timeout_ms = phase == PH_SEND && opt.mode == M_OPEN ? 100 :
		    phase == PH_SEND ? 100 : 10;
		n = epoll_wait(epfd, evs, maxev, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == EV_TIMER) {
				if (phase == PH_SEND && opt.mode == M_OPEN)
					open_loop_tick(now);
				continue;
			}
			on_event(evs[i].data.u32, evs[i].events, now);
		}
		flush_all();
		advance(now_ns());
		flush_all();
	}
	if (phase == PH_SEND || (phase == PH_CONNECT && (opt.mode == M_STORM || opt.mode == M_CHURN)))
		measure_end();
	if (phase == PH_DONE && (opt.mode == M_IDLE || opt.mem) && opt.server_pid > 0) {
		if (procmon_mem(opt.server_pid, &mem) < 0)
			note("cannot read the memory of pid %d: %s", (int)opt.server_pid,
			    strerror(errno));
		else
			have_mem = true;
	}
	report();

	/* reset rather than close gracefully: no TIME_WAIT left behind */
	for (uint32_t i = 0; i < opt.clients; i++)
		if (cl[i].fd >= 0) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			if (setsockopt(cl[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
				note("setsockopt(SO_LINGER): %s", strerror(errno));
			SSL_free(cl[i].ssl);
			close(cl[i].fd);
		}
	SSL_CTX_free(tls_ctx);
	free(freeslots);
	for (uint32_t i = 0; i < opt.clients; i++)
		free(cl[i].out.p);
	for (uint32_t s = 0; s < opt.senders; s++) {
		free(snd[s].left);
		free(snd[s].t_sent);
	}
	free(snd);
	free(expect);
	free(evs);
	free(rbuf);
	free(flushq);
	free(cl);
	close(tfd);
	close(epfd);
	return exit_code;
}
