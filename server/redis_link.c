/*
 * redis_link: the master's link to Redis (see redis_link.h for the
 * contract). hiredis 0.14's asynchronous contexts, driven by the master's
 * epoll through the ev hooks below.
 *
 * Lifetimes: hiredis runs reply callbacks inside redisAsyncHandleRead(),
 * and frees a context by itself when a read or write fails (pending
 * callbacks get NULL, then the cleanup hook runs, then the descriptor is
 * closed). So nothing here frees a context from inside a hiredis callback:
 * callbacks only note a failure (fail()), and settle() acts on it once
 * hiredis has returned (end of redis_link_event(), redis_link_tick()). The
 * cleanup hook is the one place that learns a context is gone, whoever
 * freed it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "clock.h"
#include "log.h"
#include "redis_link.h"

enum pending_kind {
	PENDING_USER,
	PENDING_AUTH,
	PENDING_SELECT,
	PENDING_READY,		/* the handshake's last PING */
	PENDING_KEEPALIVE,
};

/* one command sent and not yet answered, in the order sent */
struct redis_link_pending {
	struct redis_link_pending *next;
	struct redis_link_conn *c;
	enum pending_kind kind;
	redis_link_cb *cb;
	void *privdata;
	uint64_t sent_ms;
};

static const char *const conn_name[2] = { "cmd", "block" };

static void fail(struct redis_link *l, const char *fmt, ...) SHMCHAT_PRINTF(2, 3);

/* note the first failure of an attempt or session; settle() acts on it */
static void
fail(struct redis_link *l, const char *fmt, ...)
{
	va_list ap;

	if (l->dropping || l->failed)
		return;
	l->failed = true;
	va_start(ap, fmt);
	vsnprintf(l->reason, sizeof(l->reason), fmt, ap);
	va_end(ap);
}

/* milliseconds from since to now, 0 if now is earlier (read before since was) */
static uint64_t
elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

/* ---------------------------------------------------------------- epoll hooks */

/* register the context's descriptor for mask (0: unregister); idempotent */
static void
conn_watch(struct redis_link_conn *c, uint32_t mask)
{
	struct redis_link *l = c->l;
	struct epoll_event ev = { .events = mask,
		.data.u64 = (l->ev_kind << 32) | c->idx };
	int fd = c->ac != NULL ? c->ac->c.fd : -1;
	int op;

	if (c->fd >= 0 && c->fd != fd) {
		/* never expected: the context's descriptor changed under us */
		if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL) == -1 && errno != EBADF)
			log_warn("redis %s: epoll_ctl(DEL) of the %s connection", l->name,
			    conn_name[c->idx]);
		c->fd = -1;
		c->mask = 0;
	}
	if (fd < 0)
		return;
	if (c->fd == fd && c->mask == mask)
		return;
	/* no registration without events: EPOLLHUP would wake the loop for nothing */
	if (mask == 0)
		op = EPOLL_CTL_DEL;
	else
		op = c->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (op == EPOLL_CTL_DEL && c->fd != fd)
		return;
	if (epoll_ctl(l->epfd, op, fd, &ev) == -1) {
		int err = errno;

		log_warn("redis %s: epoll_ctl(%s) of the %s connection (fd %d)", l->name,
		    op == EPOLL_CTL_ADD ? "ADD" : op == EPOLL_CTL_MOD ? "MOD" : "DEL",
		    conn_name[c->idx], fd);
		/* a connection the loop cannot watch would never progress */
		fail(l, "cannot watch the %s connection: %s", conn_name[c->idx],
		    strerror(err));
		if (op != EPOLL_CTL_DEL)
			return;
	}
	if (op == EPOLL_CTL_DEL) {
		c->fd = -1;
		c->mask = 0;
	} else {
		c->fd = fd;
		c->mask = mask;
	}
}

static void
hook_add_read(void *privdata)
{
	struct redis_link_conn *c = privdata;

	conn_watch(c, c->mask | EPOLLIN);
}

static void
hook_del_read(void *privdata)
{
	struct redis_link_conn *c = privdata;

	conn_watch(c, c->mask & ~(uint32_t)EPOLLIN);
}

static void
hook_add_write(void *privdata)
{
	struct redis_link_conn *c = privdata;

	conn_watch(c, c->mask | EPOLLOUT);
}

static void
hook_del_write(void *privdata)
{
	struct redis_link_conn *c = privdata;

	conn_watch(c, c->mask & ~(uint32_t)EPOLLOUT);
}

/* the context is being freed (by us or by hiredis after an error): forget it */
static void
hook_cleanup(void *privdata)
{
	struct redis_link_conn *c = privdata;
	struct redis_link *l = c->l;

	conn_watch(c, 0);
	if (c->ac != NULL && !l->dropping)
		fail(l, "%s connection lost: %s", conn_name[c->idx],
		    c->ac->c.err != 0 ? c->ac->c.errstr : "closed");
	c->ac = NULL;
	c->ready = false;
}

/* ---------------------------------------------------------------- commands */

static void
pending_unlink(struct redis_link_conn *c, struct redis_link_pending *p)
{
	struct redis_link_pending **pp;

	for (pp = &c->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			if (c->tail == p) {
				/* the new tail is the one before p, if any */
				struct redis_link_pending *t = c->head;

				while (t != NULL && t->next != NULL)
					t = t->next;
				c->tail = t;
			}
			p->next = NULL;
			return;
		}
	}
}

static void
handshake_reply(struct redis_link_conn *c, enum pending_kind kind, const redisReply *r)
{
	struct redis_link *l = c->l;

	if (r == NULL)
		return;		/* the loss is already noted */
	if (r->type == REDIS_REPLY_ERROR) {
		switch (kind) {
		case PENDING_AUTH:
			fail(l, "authentication failed: %s", r->str);
			break;
		case PENDING_SELECT:
			fail(l, "SELECT %d failed: %s", l->addr.db, r->str);
			break;
		default:
			fail(l, "PING failed: %s", r->str);
			break;
		}
		return;
	}
	if (kind == PENDING_READY) {
		if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
			fail(l, "unexpected answer to PING on the %s connection", conn_name[c->idx]);
			return;
		}
		c->ready = true;
		log_debug("redis %s: %s connection ready", l->name, conn_name[c->idx]);
	}
}

/* hiredis's reply callback of every command: replies come in the order sent */
static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_link_pending *p = privdata;
	struct redis_link_conn *c = p->c;
	struct redis_link *l = c->l;
	const redisReply *r = reply;

	if (c->head != p)
		log_warnx("redis %s: a reply out of order on the %s connection", l->name,
		    conn_name[c->idx]);
	pending_unlink(c, p);
	if (r == NULL)
		fail(l, "%s connection lost: %s", conn_name[c->idx],
		    ac->c.err != 0 ? ac->c.errstr : "closed");
	else
		c->last_reply_ms = clock_ms();
	switch (p->kind) {
	case PENDING_USER:
		if (p->cb != NULL)
			p->cb(l, r, p->privdata);
		break;
	case PENDING_KEEPALIVE:
		break;		/* any answer, even an error, says the server runs */
	default:
		handshake_reply(c, p->kind, r);
		break;
	}
	free(p);
}

/* queue a command on connection c; 0, -ENOTCONN, -ENOMEM or -EINVAL */
static int
conn_send(struct redis_link_conn *c, enum pending_kind kind, redis_link_cb *cb,
    void *privdata, int argc, const char **argv, const size_t *argvlen)
{
	struct redis_link_pending *p;
	redisAsyncContext *ac = c->ac;

	if (argc < 1 || argv == NULL)
		return -EINVAL;
	if (ac == NULL)
		return -ENOTCONN;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->c = c;
	p->kind = kind;
	p->cb = cb;
	p->privdata = privdata;
	p->sent_ms = clock_ms();
	if (redisAsyncCommandArgv(ac, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
		free(p);
		/* hiredis refuses a context on its way out, else it ran out of memory */
		if (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING))
			return -ENOTCONN;
		return -ENOMEM;
	}
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	return 0;
}

/* ---------------------------------------------------------------- connections */

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_link_conn *c = ac->ev.data;

	if (status != REDIS_OK) {
		fail(c->l, "cannot connect the %s connection: %s", conn_name[c->idx],
		    ac->c.errstr);
		return;
	}
	c->last_reply_ms = clock_ms();
	log_debug("redis %s: %s connection connected", c->l->name, conn_name[c->idx]);
}

/* open connection c and queue its handshake; failures go through fail() */
static void
conn_open(struct redis_link *l, struct redis_link_conn *c)
{
	redisAsyncContext *ac;
	char dbbuf[16];
	const char *argv[3];
	int argc, rc;

	if (l->addr.unix_socket)
		ac = redisAsyncConnectUnix(l->addr.path);
	else
		ac = redisAsyncConnect(l->addr.host, l->addr.port);
	if (ac == NULL) {
		fail(l, "cannot connect the %s connection: out of memory", conn_name[c->idx]);
		return;
	}
	if (ac->err != 0) {
		fail(l, "cannot connect the %s connection: %s", conn_name[c->idx], ac->c.errstr);
		redisAsyncFree(ac);	/* no hooks yet: nothing of ours runs */
		return;
	}
	/* hiredis 0.14 makes no close-on-exec socket: keep it from anything exec'd */
	if (fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC) == -1)
		log_warn("redis %s: fcntl(FD_CLOEXEC) on the %s connection", l->name,
		    conn_name[c->idx]);
	c->ac = ac;
	c->ready = false;
	ac->ev.data = c;
	ac->ev.addRead = hook_add_read;
	ac->ev.delRead = hook_del_read;
	ac->ev.addWrite = hook_add_write;
	ac->ev.delWrite = hook_del_write;
	ac->ev.cleanup = hook_cleanup;
	/* also asks for the first write event, which completes the connect */
	redisAsyncSetConnectCallback(ac, on_connect);

	/* the handshake, queued now and written once connected */
	rc = 0;
	if (l->addr.password[0] != '\0') {
		argc = 0;
		argv[argc++] = "AUTH";
		if (l->addr.user[0] != '\0')
			argv[argc++] = l->addr.user;
		argv[argc++] = l->addr.password;
		rc = conn_send(c, PENDING_AUTH, NULL, NULL, argc, argv, NULL);
	}
	if (rc == 0 && l->addr.db != 0) {
		snprintf(dbbuf, sizeof(dbbuf), "%d", l->addr.db);
		argv[0] = "SELECT";
		argv[1] = dbbuf;
		rc = conn_send(c, PENDING_SELECT, NULL, NULL, 2, argv, NULL);
	}
	if (rc == 0) {
		argv[0] = "PING";
		rc = conn_send(c, PENDING_READY, NULL, NULL, 1, argv, NULL);
	}
	if (rc != 0)
		fail(l, "cannot queue the handshake of the %s connection: %s",
		    conn_name[c->idx], strerror(-rc));
}

static void
attempt(struct redis_link *l, uint64_t now)
{
	log_debug("redis %s: connecting", l->name);
	l->state = REDIS_LINK_CONNECTING;
	l->attempt_ms = now;
	for (int i = 0; i < 2 && !l->failed; i++)
		conn_open(l, &l->conn[i]);
}

/* close both connections: pending commands get their NULL reply */
static void
drop(struct redis_link *l)
{
	l->dropping = true;
	l->state = REDIS_LINK_WAIT;
	for (int i = 0; i < 2; i++) {
		struct redis_link_conn *c = &l->conn[i];

		if (c->ac != NULL)
			redisAsyncFree(c->ac);	/* runs the callbacks, then hook_cleanup */
		/* hiredis answered each pending command with NULL: never expected */
		while (c->head != NULL) {
			struct redis_link_pending *p = c->head;

			pending_unlink(c, p);
			if (p->kind == PENDING_USER && p->cb != NULL)
				p->cb(l, NULL, p->privdata);
			free(p);
		}
		c->ac = NULL;
		c->ready = false;
		conn_watch(c, 0);
	}
	l->dropping = false;
}

/* act on what the callbacks noted: a failure (drop, back off, down) or up */
static void
settle(struct redis_link *l, uint64_t now)
{
	if (l->failed) {
		if (!l->down_reported)
			log_warnx("redis %s: down: %s", l->name, l->reason);
		else if (strcmp(l->reason, l->last_logged) != 0)
			log_warnx("redis %s: still down: %s", l->name, l->reason);
		else
			log_debug("redis %s: still down: %s", l->name, l->reason);
		snprintf(l->last_logged, sizeof(l->last_logged), "%s", l->reason);
		drop(l);
		l->failed = false;
		l->retry_ms = now + l->backoff_ms;
		l->backoff_ms = l->backoff_ms * 2 > REDIS_LINK_BACKOFF_MAX_MS ?
		    REDIS_LINK_BACKOFF_MAX_MS : l->backoff_ms * 2;
		if (!l->down_reported) {
			l->down_reported = true;
			if (l->ops->down != NULL)
				l->ops->down(l->arg, l->reason);
		}
		return;
	}
	if (l->state == REDIS_LINK_CONNECTING && l->conn[0].ready && l->conn[1].ready) {
		l->state = REDIS_LINK_UP;
		l->backoff_ms = REDIS_LINK_BACKOFF_MIN_MS;
		l->down_reported = false;
		l->last_logged[0] = '\0';
		log_info("redis %s: up", l->name);
		if (l->ops->up != NULL)
			l->ops->up(l->arg);
	}
}

/* ---------------------------------------------------------------- the API */

int
redis_link_init(struct redis_link *l, int epfd, uint32_t ev_kind,
    const struct redis_link_addr *a, const char *user, const char *password,
    const struct redis_link_ops *ops, void *arg)
{
	memset(l, 0, sizeof(*l));
	if (epfd < 0 || a == NULL || ops == NULL)
		return -EINVAL;
	if (a->unix_socket ? a->path[0] == '\0' : a->host[0] == '\0')
		return -EINVAL;
	l->epfd = epfd;
	l->ev_kind = ev_kind;
	l->addr = *a;
	if (user != NULL && user[0] != '\0')
		snprintf(l->addr.user, sizeof(l->addr.user), "%s", user);
	if (password != NULL && password[0] != '\0')
		snprintf(l->addr.password, sizeof(l->addr.password), "%s", password);
	if (a->unix_socket)
		snprintf(l->name, sizeof(l->name), "unix:%s", a->path);
	else if (strchr(a->host, ':') != NULL)
		snprintf(l->name, sizeof(l->name), "[%s]:%u", a->host, a->port);
	else
		snprintf(l->name, sizeof(l->name), "%s:%u", a->host, a->port);
	l->ops = ops;
	l->arg = arg;
	for (int i = 0; i < 2; i++) {
		l->conn[i].l = l;
		l->conn[i].idx = (uint32_t)i;
		l->conn[i].fd = -1;
	}
	l->connect_timeout_ms = REDIS_LINK_CONNECT_TIMEOUT_MS;
	l->cmd_timeout_ms = REDIS_LINK_CMD_TIMEOUT_MS;
	l->keepalive_ms = REDIS_LINK_KEEPALIVE_MS;
	l->backoff_ms = REDIS_LINK_BACKOFF_MIN_MS;
	/* an early failure is settled by the next tick, never reported from here */
	attempt(l, clock_ms());
	return 0;
}

void
redis_link_free(struct redis_link *l)
{
	drop(l);
	l->failed = false;
}

void
redis_link_event(struct redis_link *l, uint32_t idx, uint32_t events)
{
	struct redis_link_conn *c;
	redisAsyncContext *ac;

	if (idx > REDIS_LINK_BLOCK)
		return;
	c = &l->conn[idx];
	ac = c->ac;
	if (ac == NULL)
		return;		/* an event for a connection dropped in this batch */
	if (!(ac->c.flags & REDIS_CONNECTED)) {
		/*
		 * hiredis takes any event on a connecting socket for the end of
		 * connect(). One left from a descriptor closed earlier in the same
		 * epoll batch must not pass for it: ask the socket itself.
		 */
		struct pollfd pfd = { .fd = ac->c.fd, .events = POLLOUT };
		int n = poll(&pfd, 1, 0);

		if (n == -1)
			log_warn("redis %s: poll of the connecting %s connection", l->name,
			    conn_name[idx]);
		if (n == 1)
			redisAsyncHandleWrite(ac);
	} else {
		if ((events & EPOLLOUT) && (c->mask & EPOLLOUT))
			redisAsyncHandleWrite(ac);
		/* the context is gone if the write failed */
		if (c->ac == ac && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			redisAsyncHandleRead(ac);
	}
	settle(l, clock_ms());
}

void
redis_link_flush(struct redis_link *l)
{
	struct redis_link_conn *c = &l->conn[REDIS_LINK_CMD];

	/* only what waits for a writable socket: the same path as its event */
	if (l->state != REDIS_LINK_UP || c->ac == NULL || !(c->mask & EPOLLOUT))
		return;
	redisAsyncHandleWrite(c->ac);
	settle(l, clock_ms());
}

void
redis_link_tick(struct redis_link *l, uint64_t now)
{
	struct redis_link_conn *cmd = &l->conn[REDIS_LINK_CMD];
	const char *ping = "PING";
	int rc;

	switch (l->state) {
	case REDIS_LINK_WAIT:
		if (!l->failed && now >= l->retry_ms)
			attempt(l, now);
		break;
	case REDIS_LINK_CONNECTING:
		if (elapsed(now, l->attempt_ms) >= l->connect_timeout_ms)
			fail(l, "not connected and ready after %u ms", l->connect_timeout_ms);
		break;
	case REDIS_LINK_UP:
		if (cmd->head != NULL) {
			if (elapsed(now, cmd->head->sent_ms) >= l->cmd_timeout_ms)
				fail(l, "no reply for %u ms", l->cmd_timeout_ms);
		} else if (elapsed(now, cmd->last_reply_ms) >= l->keepalive_ms && cmd->ac != NULL) {
			rc = conn_send(cmd, PENDING_KEEPALIVE, NULL, NULL, 1, &ping, NULL);
			if (rc != 0)
				fail(l, "cannot send a keepalive PING: %s", strerror(-rc));
		}
		break;
	}
	settle(l, now);
}

int
redis_link_timeout_ms(const struct redis_link *l, uint64_t now)
{
	const struct redis_link_conn *cmd = &l->conn[REDIS_LINK_CMD];
	uint64_t at;

	if (l->failed)
		return 0;
	switch (l->state) {
	case REDIS_LINK_WAIT:
		at = l->retry_ms;
		break;
	case REDIS_LINK_CONNECTING:
		at = l->attempt_ms + l->connect_timeout_ms;
		break;
	default:
		at = cmd->head != NULL ? cmd->head->sent_ms + l->cmd_timeout_ms :
		    cmd->last_reply_ms + l->keepalive_ms;
		break;
	}
	if (at <= now)
		return 0;
	return at - now > INT32_MAX ? INT32_MAX : (int)(at - now);
}

bool
redis_link_is_up(const struct redis_link *l)
{
	return l->state == REDIS_LINK_UP && !l->failed;
}

int
redis_link_cmd(struct redis_link *l, redis_link_cb *cb, void *privdata,
    int argc, const char **argv, const size_t *argvlen)
{
	if (!redis_link_is_up(l))
		return -ENOTCONN;
	return conn_send(&l->conn[REDIS_LINK_CMD], PENDING_USER, cb, privdata, argc, argv,
	    argvlen);
}

int
redis_link_block_cmd(struct redis_link *l, redis_link_cb *cb, void *privdata,
    int argc, const char **argv, const size_t *argvlen)
{
	if (!redis_link_is_up(l))
		return -ENOTCONN;
	return conn_send(&l->conn[REDIS_LINK_BLOCK], PENDING_USER, cb, privdata, argc, argv,
	    argvlen);
}

/* ---------------------------------------------------------------- addresses */

static bool
parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* %-decode n bytes of s into out (NUL-terminated); false when malformed or too long */
static bool
url_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return false;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= outsz)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

/* the problem only: the URL may hold a password, which must not reach a log */
static int
url_error(char *err, size_t errlen, const char *what)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

static int
parse_unix(const char *p, struct redis_link_addr *out, char *err,
    size_t errlen)
{
	const char *q;
	size_t n;
	unsigned db;

	if (strncmp(p, "//", 2) == 0) {
		p += 2;
		if (*p != '/')
			return url_error(err, errlen,
			    "a host in a unix: URL (expected unix:///absolute/path)");
	}
	if (*p != '/')
		return url_error(err, errlen, "the socket path must be absolute");
	q = strchr(p, '?');
	n = q != NULL ? (size_t)(q - p) : strlen(p);
	if (n >= sizeof(out->path))
		return url_error(err, errlen, "the socket path is too long");
	memcpy(out->path, p, n);
	out->path[n] = '\0';
	if (q != NULL) {
		q++;
		if (strncmp(q, "db=", 3) != 0)
			return url_error(err, errlen, "unknown parameter (only db=N)");
		if (!parse_uint(q + 3, strlen(q + 3), REDIS_LINK_MAX_DB, &db))
			return url_error(err, errlen, "db is not a number from 0 to 15");
		out->db = (int)db;
	}
	out->unix_socket = true;
	return 0;
}

static int
parse_redis(const char *p, struct redis_link_addr *out, char *err,
    size_t errlen)
{
	const char *end, *at, *host, *hostend, *colon;
	unsigned v;

	end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#')
		return url_error(err, errlen, "parameters are not supported in redis:// URLs");
	/* the last '@': an unencoded one may belong to the password */
	at = NULL;
	for (const char *s = p; s < end; s++)
		if (*s == '@')
			at = s;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			return url_error(err, errlen, "a user without a password");
		if (!url_decode(p, (size_t)(colon - p), out->user, sizeof(out->user)))
			return url_error(err, errlen, "bad or too long user name");
		if (!url_decode(colon + 1, (size_t)(at - colon - 1), out->password,
		    sizeof(out->password)))
			return url_error(err, errlen, "bad or too long password");
		if (out->password[0] == '\0')
			return url_error(err, errlen, "empty password");
		p = at + 1;
	}
	if (*p == '[') {
		host = p + 1;
		hostend = memchr(host, ']', (size_t)(end - host));
		if (hostend == NULL)
			return url_error(err, errlen, "unterminated [IPv6 address]");
		colon = hostend + 1;
		if (colon < end && *colon != ':')
			return url_error(err, errlen, "junk after the ]");
		if (colon == end)
			colon = NULL;
	} else {
		host = p;
		colon = memchr(p, ':', (size_t)(end - p));
		hostend = colon != NULL ? colon : end;
	}
	if (hostend == host)
		return url_error(err, errlen, "no host");
	if ((size_t)(hostend - host) >= sizeof(out->host))
		return url_error(err, errlen, "the host name is too long");
	for (const char *s = host; s < hostend; s++)
		if (*s <= ' ' || *s == '@' || *s == '[' || *s == ']' || *s == 0x7f)
			return url_error(err, errlen, "bad character in the host");
	memcpy(out->host, host, (size_t)(hostend - host));
	out->host[hostend - host] = '\0';
	if (colon != NULL) {
		if (!parse_uint(colon + 1, (size_t)(end - colon - 1), 65535, &v) || v == 0)
			return url_error(err, errlen, "the port is not a number from 1 to 65535");
		out->port = (uint16_t)v;
	}
	if (*end == '/' && end[1] != '\0') {
		if (!parse_uint(end + 1, strlen(end + 1), REDIS_LINK_MAX_DB, &v))
			return url_error(err, errlen, "the db is not a number from 0 to 15");
		out->db = (int)v;
	}
	return 0;
}

int
redis_link_parse_url(const char *url, struct redis_link_addr *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->port = REDIS_LINK_DEFAULT_PORT;
	if (url == NULL)
		return url_error(err, errlen, "no URL");
	if (strncmp(url, "unix:", 5) == 0)
		rc = parse_unix(url + 5, out, err, errlen);
	else if (strncmp(url, "redis://", 8) == 0)
		rc = parse_redis(url + 8, out, err, errlen);
	else if (strncmp(url, "rediss://", 9) == 0)
		rc = url_error(err, errlen, "TLS (rediss://) is not supported");
	else
		rc = url_error(err, errlen, "unknown scheme (expected unix: or redis://)");
	if (rc != 0) {
		/* no half-parsed password left behind */
		explicit_bzero(out, sizeof(*out));
		out->port = REDIS_LINK_DEFAULT_PORT;
	}
	return rc;
}
