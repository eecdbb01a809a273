/*
 * relay: the machine's floor for the shmbench workloads.
 *
 * THIS IS A MEASURING STICK, NOT A SERVER. One process, one thread, one
 * epoll loop on 127.0.0.1: it accepts connections, splits what it reads
 * into lines at LF and copies each PRIVMSG line to every other connected
 * client. There are no channels, no nick collisions, no modes, no flood
 * control, no parsing beyond a fixed prefix compare on each line. What
 * shmchatd (or any IRC server) costs above what this costs on the same
 * workload is the price of being a server.
 *
 * The rules, the only ones (compared exactly, upper case, at the start of
 * the line; a trailing CR is dropped; every reply ends in CR LF):
 *
 *   PRIVMSG ...  relayed as ":<nick>!u@h PRIVMSG ..." to every OTHER
 *                connected client (registered or not, joined or not). The
 *                prefixed line is formatted once, then copied into each
 *                recipient's output buffer: the only per-line work.
 *   NICK <n>     remember n (up to NICK_MAX bytes; a leading ':' dropped)
 *   USER ...     ":relay 001 <nick> :hi" and ":relay 422 <nick> :no motd"
 *                (shmbench counts a client registered at 376 or 422)
 *   JOIN <#x>    ":<nick>!u@h JOIN <#x>" and ":relay 366 <nick> <#x> :end"
 *                (shmbench counts a JOIN done at 366; nobody else is told)
 *   PING <x>     ":relay PONG relay :<x>" (a leading ':' of x dropped;
 *                shmbench's sync phase sends "PING :shmsync" and waits
 *                for a PONG ending in " :shmsync")
 *   QUIT         what is queued for the client is tried once, then the
 *                connection is closed
 *   anything else (CAP, PONG, MODE, ...): ignored
 *
 * Nicks are not checked: two clients may have the same one.
 *
 * I/O. Level-triggered epoll: a readable client gets ONE read() of up to
 * READ_CHUNK per wake-up, so a client that sends a lot cannot starve the
 * others (edge-triggered would have to read until EAGAIN, or keep its own
 * list of clients with input left), and the listening socket needs no
 * drain-until-EAGAIN either. EPOLLOUT is asked for only while a client's
 * output buffer holds something the socket did not take. The output of
 * one epoll_wait() batch is gathered first: a client whose buffer was
 * empty is put on a list and, once the batch has been handled, written to
 * with one send() of everything that was queued for it (one syscall per
 * recipient per batch, not per line); what the socket does not take stays
 * queued and EPOLLOUT is armed. A client whose queue passes OUT_CAP is
 * disconnected. A line longer than LINE_MAX without a LF disconnects its
 * sender.
 *
 * Errors: every syscall is checked. A client's error (read, send, epoll_ctl,
 * out of memory for its buffers) closes that client only; closes are done
 * at the end of the batch, so no event of the same batch can point to a
 * freed client. SIGINT or SIGTERM (through a signalfd) ends the loop, every
 * client is closed and freed, and the exit status is 0.
 *
 *   bench/relay --port 0 &
 *   bench/shmbench -p PORT -n 100 -m 1000 -w 16
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK	(64 * 1024)		/* one read() */
#define LINE_MAX_B	(16 * 1024)		/* longest line, LF not counted */
#define NICK_MAX	64
#define PREFIX_MAX	(1 + NICK_MAX + 5)	/* ":" nick "!u@h " */
#define OUT_CAP		(8u * 1024 * 1024)	/* queued output: over it, closed */
#define OUT_MIN		4096			/* first output buffer */
#define MAX_EVENTS	1024
#define ACCEPT_BURST	256			/* accept() calls per wake-up */

struct client {
	int fd;
	bool dead;		/* on the kill list, closed at the end of the batch */
	bool dirty;		/* on the flush list */
	bool want_out;		/* EPOLLOUT armed */
	uint32_t live_idx;	/* index in live[] */
	char *out;		/* output: bytes [ooff, olen) wait */
	size_t ooff, olen, ocap;
	char *carry;		/* a line without its LF yet */
	size_t clen, ccap;
	size_t nlen, plen;
	char nick[NICK_MAX + 1];
	char prefix[PREFIX_MAX + 1];	/* ":nick!u@h " */
};

/* epoll data.ptr of the two fds that are not clients */
static char tag_listen, tag_signal;

static int epfd = -1, lfd = -1, sfd = -1, reserve_fd = -1;
static uint32_t max_clients = 20000;
static struct client **live, **dirty, **killed;
static uint32_t nlive, ndirty, nkilled;
static char rbuf[LINE_MAX_B + READ_CHUNK];
static char scratch[PREFIX_MAX + LINE_MAX_B + 2];
static unsigned long long n_accepted, n_refused, n_overcap, n_errors;

static void
kill_client(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	killed[nkilled++] = c;	/* each client at most once: fits in max_clients */
}

static void
free_client(struct client *c)
{
	if (close(c->fd) < 0)
		n_errors++;
	free(c->out);
	free(c->carry);
	free(c);
}

/* at the end of a batch: every killed client leaves live[] and is freed */
static void
reap(void)
{
	for (uint32_t i = 0; i < nkilled; i++) {
		struct client *c = killed[i];
		struct client *last = live[--nlive];

		live[c->live_idx] = last;
		last->live_idx = c->live_idx;
		free_client(c);	/* close() takes it out of the epoll set */
	}
	nkilled = 0;
}

static void
set_out(struct client *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == on)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		n_errors++;
		kill_client(c);
		return;
	}
	c->want_out = on;
}

/* send what is queued; the rest stays, with EPOLLOUT armed */
static void
flush(struct client *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_out(c, true);
				return;
			}
			n_errors++;	/* EPIPE, ECONNRESET, ... */
			kill_client(c);
			return;
		}
		c->ooff += (size_t)n;
	}
	c->ooff = c->olen = 0;
	set_out(c, false);
}

/* queue n bytes for c: written at the end of the batch, or on EPOLLOUT */
static void
out_add(struct client *c, const char *p, size_t n)
{
	size_t waiting = c->olen - c->ooff;

	if (c->dead)
		return;
	if (waiting + n > OUT_CAP) {
		n_overcap++;
		kill_client(c);
		return;
	}
	if (waiting == 0 && !c->dirty) {
		c->dirty = true;
		dirty[ndirty++] = c;	/* each client at most once */
	}
	if (c->ocap - c->olen < n) {
		if (c->ooff > 0) {
			memmove(c->out, c->out + c->ooff, waiting);
			c->olen = waiting;
			c->ooff = 0;
		}
		if (c->ocap - c->olen < n) {
			size_t cap = c->ocap ? c->ocap : OUT_MIN;
			char *q;

			while (cap - c->olen < n)
				cap *= 2;
			q = realloc(c->out, cap);
			if (q == NULL) {
				n_errors++;
				kill_client(c);
				return;
			}
			c->out = q;
			c->ocap = cap;
		}
	}
	memcpy(c->out + c->olen, p, n);
	c->olen += n;
}

static bool
starts(const char *p, size_t len, const char *lit, size_t n)
{
	return len >= n && memcmp(p, lit, n) == 0;
}

/* the first word of [p, p + len): its length */
static size_t
word(const char *p, size_t len)
{
	const char *sp = memchr(p, ' ', len);

	return sp ? (size_t)(sp - p) : len;
}

static void
reply(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
reply(struct client *c, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof b - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof b - 3)
		n = (int)(sizeof b - 3);
	b[n++] = '\r';
	b[n++] = '\n';
	out_add(c, b, (size_t)n);
}

static void
set_nick(struct client *c, const char *p, size_t len)
{
	if (len > 0 && *p == ':') {
		p++;
		len--;
	}
	len = word(p, len);
	if (len == 0)
		return;
	if (len > NICK_MAX)
		len = NICK_MAX;
	memcpy(c->nick, p, len);
	c->nick[len] = '\0';
	c->nlen = len;
	c->plen = (size_t)snprintf(c->prefix, sizeof c->prefix, ":%s!u@h ", c->nick);
}

/* one line, without its LF and CR */
static void
on_line(struct client *c, const char *p, size_t len)
{
	if (starts(p, len, "PRIVMSG ", 8)) {
		size_t n = c->plen + len + 2;

		memcpy(scratch, c->prefix, c->plen);
		memcpy(scratch + c->plen, p, len);
		scratch[n - 2] = '\r';
		scratch[n - 1] = '\n';
		for (uint32_t i = 0; i < nlive; i++) {
			struct client *d = live[i];

			if (d != c)
				out_add(d, scratch, n);
		}
	} else if (starts(p, len, "PING ", 5)) {
		p += 5;
		len -= 5;
		if (len > 0 && *p == ':') {
			p++;
			len--;
		}
		reply(c, ":relay PONG relay :%.*s", (int)(len > 400 ? 400 : len), p);
	} else if (starts(p, len, "NICK ", 5)) {
		set_nick(c, p + 5, len - 5);
	} else if (starts(p, len, "USER ", 5)) {
		reply(c, ":relay 001 %s :hi", c->nick);
		reply(c, ":relay 422 %s :no motd", c->nick);
	} else if (starts(p, len, "JOIN ", 5)) {
		size_t w = word(p + 5, len - 5);

		if (w > 200)
			w = 200;
		reply(c, "%sJOIN %.*s", c->prefix, (int)w, p + 5);
		reply(c, ":relay 366 %s %.*s :end", c->nick, (int)w, p + 5);
	} else if (starts(p, len, "QUIT", 4) && (len == 4 || p[4] == ' ')) {
		if (c->olen > c->ooff && !c->dead)
			flush(c);	/* once; whatever it does not take is lost */
		kill_client(c);
	}
	/* CAP, PONG and everything else: ignored */
}

/* one read(), its complete lines, the rest kept for the next */
static void
on_readable(struct client *c)
{
	size_t have = c->clen;
	ssize_t n;
	char *p, *end, *nl;

	if (have > 0)
		memcpy(rbuf, c->carry, have);
	do
		n = read(c->fd, rbuf + have, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		kill_client(c);	/* closed by the client */
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			n_errors++;
			kill_client(c);
		}
		return;
	}
	p = rbuf;
	end = rbuf + have + (size_t)n;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		char *e = nl;

		if (e > p && e[-1] == '\r')
			e--;
		if (e - p > LINE_MAX_B) {
			kill_client(c);
			return;
		}
		on_line(c, p, (size_t)(e - p));
		if (c->dead)
			return;
		p = nl + 1;
	}
	have = (size_t)(end - p);
	if (have > LINE_MAX_B) {
		kill_client(c);
		return;
	}
	if (have > c->ccap) {
		char *q = realloc(c->carry, LINE_MAX_B);

		if (q == NULL) {
			n_errors++;
			kill_client(c);
			return;
		}
		c->carry = q;
		c->ccap = LINE_MAX_B;
	}
	memcpy(c->carry, p, have);
	c->clen = have;
}

static void
add_client(int fd)
{
	struct client *c;
	struct epoll_event ev;
	int one = 1;

	if (nlive >= max_clients) {
		n_refused++;
		if (close(fd) < 0)
			n_errors++;
		return;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    (c = calloc(1, sizeof *c)) == NULL) {
		n_errors++;
		if (close(fd) < 0)
			n_errors++;
		return;
	}
	c->fd = fd;
	set_nick(c, "*", 1);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		n_errors++;
		free_client(c);
		return;
	}
	c->live_idx = nlive;
	live[nlive++] = c;
	n_accepted++;
}

static void
on_accept(void)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			add_client(fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case ENETDOWN:
		case ENOPROTOOPT:
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case EOPNOTSUPP:
		case ENETUNREACH:
			continue;	/* that connection's trouble */
		case EMFILE:
		case ENFILE:
			/*
			 * Out of descriptors: with level-triggered epoll the
			 * pending connection would wake us forever. Give up the
			 * spare descriptor, take the connection and close it.
			 */
			n_refused++;
			if (reserve_fd >= 0) {
				if (close(reserve_fd) < 0)
					n_errors++;
				reserve_fd = -1;
				fd = accept(lfd, NULL, NULL);
				if (fd >= 0 && close(fd) < 0)
					n_errors++;
				reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			}
			return;
		default:
			n_errors++;
			perror("relay: accept4");
			return;
		}
	}
}

static bool
on_signal(void)
{
	struct signalfd_siginfo si;
	ssize_t n;

	do
		n = read(sfd, &si, sizeof si);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN) {
		perror("relay: read(signalfd)");
		return true;
	}
	return n == (ssize_t)sizeof si;
}

static void
usage(FILE *f)
{
	fputs(
"Usage: relay [--port P] [--max-clients N]\n"
"A trivial single-threaded relay: the floor for shmbench's workloads, not an\n"
"IRC server (the rules are at the top of bench/relay.c).\n"
"\n"
"  -p, --port P          listen on 127.0.0.1:P; 0 (default): a free port,\n"
"                        printed as \"relay: listening on 127.0.0.1:P\"\n"
"  -n, --max-clients N   connections at once (default 20000); the soft\n"
"                        descriptor limit is raised to the hard one\n"
"  -h, --help            show this help and exit\n"
"SIGINT or SIGTERM: a clean exit, status 0.\n", f);
}

static unsigned long
num_arg(const char *name, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "relay: --%s: expected a number from %lu to %lu, got '%s'\n",
		    name, lo, hi, s);
		exit(64);
	}
	return v;
}

static int
setup(unsigned port)
{
	struct rlimit rl;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t slen = sizeof sa;
	struct epoll_event ev;
	sigset_t ss;
	int one = 1;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("relay: getrlimit");
		return -1;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			perror("relay: setrlimit");
			return -1;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_clients + 16)
		fprintf(stderr, "relay: warning: descriptor limit %llu, under --max-clients %u + 16\n",
		    (unsigned long long)rl.rlim_cur, max_clients);

	live = calloc(max_clients, sizeof *live);
	dirty = calloc(max_clients, sizeof *dirty);
	killed = calloc(max_clients, sizeof *killed);
	if (live == NULL || dirty == NULL || killed == NULL) {
		fputs("relay: out of memory\n", stderr);
		return -1;
	}

	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0) {
		perror("relay: sigprocmask");
		return -1;
	}
	if ((sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		perror("relay: signalfd");
		return -1;
	}
	if ((reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		perror("relay: open /dev/null");
		return -1;
	}
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("relay: epoll_create1");
		return -1;
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		perror("relay: socket");
		return -1;
	}
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		perror("relay: SO_REUSEADDR");
		return -1;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "relay: bind 127.0.0.1:%u: %s\n", port, strerror(errno));
		return -1;
	}
	if (listen(lfd, SOMAXCONN) < 0) {
		perror("relay: listen");
		return -1;
	}
	if (getsockname(lfd, (struct sockaddr *)&sa, &slen) < 0) {
		perror("relay: getsockname");
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_listen;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("relay: epoll_ctl(listen)");
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_signal;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) < 0) {
		perror("relay: epoll_ctl(signalfd)");
		return -1;
	}
	if (printf("relay: listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port)) < 0 ||
	    fflush(stdout) == EOF) {
		perror("relay: stdout");
		return -1;
	}
	return 0;
}

static int
run(void)
{
	static struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
		bool stop = false;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("relay: epoll_wait");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			struct client *c;

			if (ptr == &tag_listen) {
				on_accept();
				continue;
			}
			if (ptr == &tag_signal) {
				stop = stop || on_signal();
				continue;
			}
			c = ptr;
			if (c->dead)
				continue;
			if (e & EPOLLERR) {
				kill_client(c);
				continue;
			}
			if (e & (EPOLLIN | EPOLLHUP))
				on_readable(c);	/* EPOLLHUP: read() sees the end */
			if ((e & EPOLLOUT) && !c->dead)
				flush(c);
		}
		for (uint32_t i = 0; i < ndirty; i++) {
			struct client *c = dirty[i];

			c->dirty = false;
			if (!c->dead)
				flush(c);
		}
		ndirty = 0;
		reap();
		if (stop)
			return 0;
	}
}

static void
cleanup(void)
{
	while (nlive > 0)
		free_client(live[--nlive]);
	free(live);
	free(dirty);
	free(killed);
	if ((lfd >= 0 && close(lfd) < 0) || (sfd >= 0 && close(sfd) < 0) ||
	    (epfd >= 0 && close(epfd) < 0) || (reserve_fd >= 0 && close(reserve_fd) < 0))
		n_errors++;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "max-clients", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned port = 0;
	int o, rc;

	while ((o = getopt_long(argc, argv, "p:n:h", lopts, NULL)) != -1) {
		switch (o) {
		case 'p': port = (unsigned)num_arg("port", optarg, 0, 65535); break;
		case 'n': max_clients = (uint32_t)num_arg("max-clients", optarg, 1, 1000000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	rc = setup(port) == 0 && run() == 0 ? 0 : 1;
	cleanup();
	if (n_overcap > 0 || n_errors > 0 || n_refused > 0)
		fprintf(stderr, "relay: %llu connections, %llu refused, %llu over the output cap, "
		    "%llu errors\n", n_accepted, n_refused, n_overcap, n_errors);
	return rc;
}
