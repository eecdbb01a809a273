/*
 * redis_link: the master's link to one Redis server, on the master's own
 * epoll loop (hiredis's asynchronous API, no threads: the master forks).
 *
 * One link is two connections to the same server:
 *   cmd    ordinary commands, pipelined, replies in the order sent;
 *   block  blocking reads (XREAD BLOCK ...), which tie a connection up.
 * The link is up when both are connected and have passed the handshake
 * (AUTH when a password is given, SELECT when db != 0, then PING). Any loss
 * of either connection drops both; the link reconnects by itself from
 * redis_link_tick() with a backoff (100 ms doubling to 2 s).
 *
 * Callbacks, all called from redis_link_event(), redis_link_tick() or
 * redis_link_free(), never from redis_link_cmd():
 *   ops->up(arg)            once both connections are ready;
 *   ops->down(arg, reason)  once per outage (the first failure after an
 *                           up, or the first failure since init), not per
 *                           connection or attempt;
 *   cb(l, reply, privdata)  one per command. reply is NULL when the command
 *                           will get no reply (connection lost, link freed):
 *                           the callback then only cleans up. The reply is
 *                           hiredis's and freed when the callback returns.
 *                           Replies of Redis errors are REDIS_REPLY_ERROR.
 * When an outage begins, the NULL replies of the pending commands come
 * before down(). No callback may call redis_link_free().
 *
 * Timeouts: an attempt that is not up within connect_timeout_ms is given
 * up; when the oldest pending command on cmd waits longer than
 * cmd_timeout_ms the link is declared down (a stopped Redis must not hold
 * the master's state forever). An idle cmd connection is probed with PING
 * every keepalive_ms, so that a hung server is noticed without traffic.
 * The block connection has no command timeout: its commands carry their
 * own (BLOCK ms).
 *
 * Memory: hiredis buffers every command written until the server takes it
 * and every reply until it is complete; the link does not bound either.
 * Callers bound what they send (so many commands in flight, so many bytes
 * per command) and use the command timeout as the bound in time.
 *
 * Commands are argv vectors only (binary safe, no format strings): nothing
 * a client sends can become part of a command by concatenation.
 *
 * Host names are resolved by hiredis with getaddrinfo(), which blocks: use
 * an address, a name /etc/hosts answers, or a UNIX socket.
 *
 * hiredis writes with write(2): the process must ignore SIGPIPE (the
 * master does), or a server gone would kill it.
 */
#ifndef SHMCHAT_REDIS_LINK_H
#define SHMCHAT_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#define REDIS_LINK_DEFAULT_PORT		6379
#define REDIS_LINK_MAX_DB		15
#define REDIS_LINK_CONNECT_TIMEOUT_MS	2000
#define REDIS_LINK_CMD_TIMEOUT_MS	3000
#define REDIS_LINK_KEEPALIVE_MS		1000
#define REDIS_LINK_BACKOFF_MIN_MS	100
#define REDIS_LINK_BACKOFF_MAX_MS	2000

/* where the server is: redis_link_parse_url() fills it */
struct redis_link_addr {
	bool unix_socket;	/* path, else host and port */
	char path[108];		/* sizeof(sun_path) */
	char host[256];		/* without the brackets of an IPv6 address */
	uint16_t port;
	int db;			/* 0..REDIS_LINK_MAX_DB */
	char user[128];		/* "" when none (Redis 6 ACL user) */
	char password[256];	/* "" when none */
};

struct redis_link;
typedef void redis_link_cb(struct redis_link *l, const redisReply *reply, void *privdata);

struct redis_link_ops {
	void (*up)(void *arg);
	void (*down)(void *arg, const char *reason);
};

/* the link's state of one connection (private to redis_link.c) */
struct redis_link_conn {
	struct redis_link *l;
	redisAsyncContext *ac;	/* NULL when not connected or connecting */
	uint32_t idx;		/* 0: cmd, 1: block */
	uint32_t mask;		/* the epoll events registered, 0 when none */
	int fd;			/* the descriptor registered, -1 when none */
	bool ready;		/* handshake done */
	struct redis_link_pending *head, *tail;	/* commands sent, in order */
	uint64_t last_reply_ms;	/* or when connected: the keepalive's clock */
};

enum redis_link_state {
	REDIS_LINK_WAIT,	/* no connection: the next attempt at retry_ms */
	REDIS_LINK_CONNECTING,	/* connecting or in the handshake */
	REDIS_LINK_UP,
};

struct redis_link {
	int epfd;
	uint64_t ev_kind;	/* epoll data: ev_kind << 32 | connection index */
	struct redis_link_addr addr;
	char name[300];		/* the server, for the log */
	const struct redis_link_ops *ops;
	void *arg;
	struct redis_link_conn conn[2];
	enum redis_link_state state;
	uint64_t attempt_ms;	/* when this attempt began */
	uint64_t retry_ms;	/* when waiting: the next attempt */
	uint32_t backoff_ms;
	bool failed;		/* this attempt or session failed: reason */
	bool down_reported;	/* down() called since the last up() */
	bool dropping;		/* inside drop: losses are ours, not news */
	char reason[256];
	char last_logged[256];	/* the last failure logged as a warning */
	/* may be changed after redis_link_init() */
	uint32_t connect_timeout_ms;
	uint32_t cmd_timeout_ms;
	uint32_t keepalive_ms;
};

/* connection indexes, the low half of the epoll data */
#define REDIS_LINK_CMD		0
#define REDIS_LINK_BLOCK	1

/*
 * Parse unix:/path/to/sock, unix:///path?db=N or
 * redis://[user[:password]@]host[:port][/db] (host may be [IPv6]; user and
 * password may be %-encoded). 0, or -EINVAL with the problem in err.
 */
int redis_link_parse_url(const char *url, struct redis_link_addr *out, char *err, size_t errlen);

/*
 * Start the link: the first attempt begins now; its outcome arrives
 * through redis_link_event() and redis_link_tick(). user and password,
 * when not NULL and not empty, replace the address's. The descriptors are
 * registered in epfd with the data ev_kind << 32 | REDIS_LINK_CMD (or
 * REDIS_LINK_BLOCK). 0 or -EINVAL.
 */
int redis_link_init(struct redis_link *l, int epfd, uint32_t ev_kind,
    const struct redis_link_addr *a, const char *user, const char *password,
    const struct redis_link_ops *ops, void *arg);
/* close both connections; pending commands get their NULL reply, down() is not called */
void redis_link_free(struct redis_link *l);

/* an epoll event whose data was ev_kind << 32 | idx */
void redis_link_event(struct redis_link *l, uint32_t idx, uint32_t events);
/*
 * Write the commands waiting on cmd now rather than at the next epoll
 * turn (the master calls it after a fan-out pass, before it wakes its
 * workers, so messages for other nodes leave first).
 */
void redis_link_flush(struct redis_link *l);
/* timeouts, keepalive, reconnection: call at least every 100 ms for a prompt reconnection */
void redis_link_tick(struct redis_link *l, uint64_t now_ms);
/* milliseconds until the link next needs redis_link_tick(), for an epoll timeout */
int redis_link_timeout_ms(const struct redis_link *l, uint64_t now_ms);

bool redis_link_is_up(const struct redis_link *l);
/*
 * Send a command (argv[0] is its name; argvlen[i] bytes each, NULL argvlen:
 * strlen) on cmd, or on block for a blocking one. 0, -ENOTCONN when the
 * link is not up, -ENOMEM. cb may be NULL when the reply does not matter.
 */
int redis_link_cmd(struct redis_link *l, redis_link_cb *cb, void *privdata,
    int argc, const char **argv, const size_t *argvlen);
int redis_link_block_cmd(struct redis_link *l, redis_link_cb *cb, void *privdata,
    int argc, const char **argv, const size_t *argvlen);

#endif
