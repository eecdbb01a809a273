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
#include "tls.h"

/* a line may carry IRCv3 tags before its 512 bytes */
#define CONN_MAXLINE	(IRC_MAXTAGS + 1 + IRC_MAXLINE)

int
conn_init(struct conn *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->handshake_ms = CONN_ATTEMPT_MS;
	buf_init(&c->out);
	return linebuf_init(&c->in, CONN_MAXLINE);
}

void
conn_set_tls(struct conn *c, struct tls_ctx *x, int handshake_ms)
{
	c->tls_ctx = x;
	c->handshake_ms = handshake_ms;
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
	snprintf(c->host, sizeof c->host, "%s", host);
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

/* the TLS handshake, bounded by the deadline */
static int
handshake_step(struct conn *c, uint64_t now, char *err, size_t cap)
{
	char why[512];
	int r = tls_handshake(c->tls, why, sizeof why);

	if (r == TLS_OK) {
		c->state = CONN_UP;
		return CONN_STEP_UP;
	}
	if (r == TLS_AGAIN) {
		if (now < c->deadline)
			return CONN_STEP_AGAIN;
		/* a server that stalls, or a plain one waiting for us to talk */
		snprintf(err, cap, "%s: no TLS handshake within %d s (does the server speak "
		    "TLS on this port?)", c->addr, c->handshake_ms / 1000);
		conn_close(c);
		return CONN_STEP_FAILED;
	}
	if (r == TLS_FAIL_VERIFY)
		snprintf(err, cap, "%s", why);
	else
		snprintf(err, cap, "%s: TLS handshake failed: %s", c->addr, why);
	conn_close(c);
	return r == TLS_FAIL_VERIFY ? CONN_STEP_REFUSED : CONN_STEP_FAILED;
}

int
conn_connect_step(struct conn *c, uint64_t now, char *err, size_t cap)
{
	int soerr = 0;
	socklen_t len = sizeof soerr;
	struct pollfd p = { c->fd, POLLOUT, 0 };

	if (c->state != CONN_CONNECTING)
		return c->state == CONN_UP ? CONN_STEP_UP : CONN_STEP_FAILED;
	if (c->tls != NULL)
		return handshake_step(c, now, err, cap);
	if (poll(&p, 1, 0) < 0)
		soerr = errno;
	else if (p.revents == 0) {
		if (now < c->deadline)
			return CONN_STEP_AGAIN;
		soerr = ETIMEDOUT;
	} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == 0) {
		int one = 1;

		/* interactive traffic: small lines, send them at once (best
		 * effort: without it lines are only a little later) */
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		freeaddrinfo(c->ai);
		c->ai = c->cur = NULL;
		if (c->tls_ctx == NULL) {
			c->state = CONN_UP;
			return CONN_STEP_UP;
		}
		/* a TLS failure is not the address's fault: no next address */
		if ((c->tls = tls_new(c->tls_ctx, c->fd, c->host, err, cap)) == NULL) {
			conn_close(c);
			return CONN_STEP_FAILED;
		}
		c->deadline = now + (uint64_t)c->handshake_ms;
		return handshake_step(c, now, err, cap);
	}
	c->last_err = soerr;
	close(c->fd);
	c->fd = -1;
	c->cur = c->cur->ai_next;
	if (attempt(c, now) < 0) {
		attempts_failed(c, err, cap);
		return CONN_STEP_FAILED;
	}
	return CONN_STEP_AGAIN;
}

ssize_t
conn_flush(struct conn *c)
{
	ssize_t total = 0;

	if (c->state != CONN_UP)
		return 0;
	if (c->tls == NULL)
		return buf_write_fd(&c->out, c->fd);
	while (buf_used(&c->out) > 0) {
		ssize_t n = tls_write(c->tls, buf_head(&c->out), buf_used(&c->out));

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		buf_consume(&c->out, (size_t)n);
		total += n;
	}
	return total;
}

ssize_t
conn_read(struct conn *c)
{
	size_t avail;
	char *p = linebuf_space(&c->in, &avail);
	ssize_t n;

	if (c->tls != NULL) {
		if (avail == 0)
			return -EAGAIN;	/* not an end of stream: SSL_read(0) would say 0 */
		n = tls_read(c->tls, p, avail);
		if (n > 0)
			linebuf_commit(&c->in, (size_t)n);
		return n;
	}
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
		return c->tls != NULL ? tls_events(c->tls) : POLLOUT;
	case CONN_UP:
		return POLLIN | (buf_used(&c->out) > 0 ? POLLOUT : 0) |
		    (c->tls != NULL ? tls_events(c->tls) : 0);
	default:
		return 0;
	}
}

bool
conn_readable(const struct conn *c, short revents)
{
	if (c->state != CONN_UP)
		return false;
	/* TLS: a read may wait for POLLOUT; a spurious SSL_read is harmless */
	if (c->tls != NULL)
		return revents != 0 || tls_pending(c->tls);
	return (revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

bool
conn_pending(const struct conn *c)
{
	return c->state == CONN_UP && c->tls != NULL && tls_pending(c->tls);
}

const char *
conn_strerror(const struct conn *c, int e)
{
	if (e == EPROTO && c->tls != NULL && tls_error(c->tls)[0] != '\0')
		return tls_error(c->tls);
	return strerror(e);
}

void
conn_close(struct conn *c)
{
	/* close_notify first, while the socket is still there */
	tls_free(c->tls);
	c->tls = NULL;
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
