/* conn: non-blocking TCP client connection with line framing */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "conn.h"
#include "irc.h"

/* a line may carry IRCv3 tags before its 512 bytes */
#define CONN_MAXLINE	(IRC_MAXTAGS + 1 + IRC_MAXLINE)

int
conn_init(struct conn *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	buf_init(&c->out);
	return linebuf_init(&c->in, CONN_MAXLINE);
}

void
conn_free(struct conn *c)
{
	conn_close(c);
	linebuf_free(&c->in);
	buf_free(&c->out);
}

static void
describe(struct conn *c, const struct addrinfo *a)
{
	char host[64] = "?";
	int port = 0;

	if (a->ai_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)a->ai_addr;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
		port = ntohs(s->sin_port);
		snprintf(c->addr, sizeof c->addr, "%s:%d", host, port);
	} else if (a->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)a->ai_addr;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
		port = ntohs(s->sin6_port);
		snprintf(c->addr, sizeof c->addr, "[%s]:%d", host, port);
	} else
		snprintf(c->addr, sizeof c->addr, "?");
}

/* start connecting to c->cur or the next address that gets that far */
static int
attempt(struct conn *c, uint64_t now)
{
	for (; c->cur != NULL; c->cur = c->cur->ai_next) {
		struct addrinfo *a = c->cur;
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    a->ai_protocol);

		describe(c, a);
		if (fd < 0) {
			c->last_err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			c->fd = fd;
			c->deadline = now + CONN_ATTEMPT_MS;
			c->state = CONN_CONNECTING;
			return 0;
		}
		c->last_err = errno;
		close(fd);
	}
	return -1;
}

static void
attempts_failed(struct conn *c, char *err, size_t cap)
{
	snprintf(err, cap, "%s: %s", c->addr, strerror(c->last_err ? c->last_err : ECONNREFUSED));
	conn_close(c);
}

int
conn_open(struct conn *c, const char *host, const char *port, uint64_t now,
    char *err, size_t cap)
{
	struct addrinfo hints;
	int rc;

	conn_close(c);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	rc = getaddrinfo(host, port, &hints, &c->ai);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		/* AI_ADDRCONFIG hides ::1 and 127.0.0.1 without other addresses */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, port, &hints, &c->ai);
	}
	if (rc != 0) {
		snprintf(err, cap, "cannot resolve %s: %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		c->ai = NULL;
		return -1;
	}
	c->cur = c->ai;
	c->last_err = 0;
	if (attempt(c, now) < 0) {
		attempts_failed(c, err, cap);
		return -1;
	}
	return 0;
}

int
conn_connect_step(struct conn *c, uint64_t now, char *err, size_t cap)
{
	int soerr = 0;
	socklen_t len = sizeof soerr;
	struct pollfd p = { c->fd, POLLOUT, 0 };

	if (c->state != CONN_CONNECTING)
		return c->state == CONN_UP ? 1 : -1;
	if (poll(&p, 1, 0) < 0)
		soerr = errno;
	else if (p.revents == 0) {
		if (now < c->deadline)
			return 0;
		soerr = ETIMEDOUT;
	} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == 0) {
		int one = 1;

		/* interactive traffic: small lines, send them at once (best
		 * effort: without it lines are only a little later) */
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->state = CONN_UP;
		freeaddrinfo(c->ai);
		c->ai = c->cur = NULL;
		return 1;
	}
	c->last_err = soerr;
	close(c->fd);
	c->fd = -1;
	c->cur = c->cur->ai_next;
	if (attempt(c, now) < 0) {
		attempts_failed(c, err, cap);
		return -1;
	}
	return 0;
}

ssize_t
conn_flush(struct conn *c)
{
	if (c->state != CONN_UP)
		return 0;
	return buf_write_fd(&c->out, c->fd);
}

ssize_t
conn_read(struct conn *c)
{
	size_t avail;
	char *p = linebuf_space(&c->in, &avail);
	ssize_t n;

	do
		n = read(c->fd, p, avail);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	linebuf_commit(&c->in, (size_t)n);
	return n;
}

short
conn_events(const struct conn *c)
{
	switch (c->state) {
	case CONN_CONNECTING:
		return POLLOUT;
	case CONN_UP:
		return POLLIN | (buf_used(&c->out) > 0 ? POLLOUT : 0);
	default:
		return 0;
	}
}

void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->ai != NULL)
		freeaddrinfo(c->ai);
	c->ai = c->cur = NULL;
	c->state = CONN_IDLE;
	buf_consume(&c->out, buf_used(&c->out));
	/* no half line from the old connection */
	linebuf_reset(&c->in);
}
