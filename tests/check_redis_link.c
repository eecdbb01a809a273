/*
 * check_redis_link: the master's link to Redis (server/redis_link.c)
 * against a redis-server of its own, on a UNIX socket in a private
 * directory. Each test drives the link from a small epoll loop of its own
 * until a condition holds, with a deadline. Skipped (a TAP plan of 0 with
 * SKIP, which the suite's TAP driver reports as SKIP; exit status 77
 * would be an ERROR there) when redis-server is not installed, unless CI
 * is set: tools/install-deps --test installs it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "harness_redis.h"
#include "log.h"
#include "redis_link.h"
#include "unit.h"

#define EVK	7	/* the epoll kind the tests give the link */

/* ---------------------------------------------------------------- redis-server */

/*
 * Every server's directory is under topdir, which the test runner makes and
 * removes (an unchecked fixture: it runs in the runner, so it removes
 * topdir even when a test's forked process ended early on a failure; the
 * servers of such a process die with it, PR_SET_PDEATHSIG).
 */
static char topdir[64];


static void
top_setup(void)
{
	snprintf(topdir, sizeof(topdir), "/tmp/shmchat-redis.XXXXXX");
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
top_teardown(void)
{
	/* without fork (CK_FORK=no), a failed test's servers run in this process's care */
	h_redis_kill_all();
	h_redis_rmtree(topdir);
}

static void
srv_dir(struct h_redis *s)
{
	ck_assert_msg(h_redis_init(s, topdir, NULL), "%s", s->err);
}

/* false when it exited first (a TCP port taken meanwhile) */
static bool
srv_try_start(struct h_redis *s, const char *password)
{
	snprintf(s->password, sizeof(s->password), "%s", password != NULL ? password : "");
	return h_redis_start(s);
}

static void
srv_start(struct h_redis *s, const char *password)
{
	ck_assert_msg(srv_try_start(s, password), "%s", s->err);
}

static unsigned
free_port(void)
{
	unsigned port = h_redis_free_port();

	ck_assert_uint_ne(port, 0);
	return port;
}

static void
srv_signal(struct h_redis *s, int sig)
{
	ck_assert(h_redis_signal(s, sig));
}

#define srv_kill	h_redis_kill
#define srv_cleanup	h_redis_cleanup

/* ---------------------------------------------------------------- the loop */

struct fx {
	int epfd;
	struct redis_link l;
	int ups, downs;
	char reason[256];
};

static void
fx_up(void *arg)
{
	struct fx *f = arg;

	f->ups++;
}

static void
fx_down(void *arg, const char *reason)
{
	struct fx *f = arg;

	f->downs++;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static const struct redis_link_ops fx_ops = { .up = fx_up, .down = fx_down };

static void
fx_init(struct fx *f, const struct h_redis *s, const char *password)
{
	struct redis_link_addr a;
	char url[160], err[128];

	memset(f, 0, sizeof(*f));
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(f->epfd, 0);
	snprintf(url, sizeof(url), "unix:%s", s->sock);
	ck_assert_int_eq(redis_link_parse_url(url, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(redis_link_init(&f->l, f->epfd, EVK, &a, NULL, password, &fx_ops, f), 0);
}

static void
fx_free(struct fx *f)
{
	redis_link_free(&f->l);
	close(f->epfd);
}

/* one turn: events, then the tick */
static void
loop_once(struct fx *f, int max_ms)
{
	struct epoll_event evs[8];
	int t = redis_link_timeout_ms(&f->l, clock_ms());
	int n;

	if (t > max_ms)
		t = max_ms;
	n = epoll_wait(f->epfd, evs, 8, t);
	ck_assert_msg(n >= 0 || errno == EINTR, "epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(evs[i].data.u64 >> 32, EVK);
		redis_link_event(&f->l, (uint32_t)evs[i].data.u64, evs[i].events);
	}
	redis_link_tick(&f->l, clock_ms());
}

#define RUN_UNTIL(f, cond, ms) do {						\
	uint64_t dl_ = clock_ms() + (ms);					\
	while (!(cond)) {							\
		ck_assert_msg(clock_ms() < dl_, "not within %d ms: %s", (ms), #cond); \
		loop_once((f), 20);						\
	}									\
} while (0)

/* run the loop for ms, whatever happens */
static void
run_for(struct fx *f, int ms)
{
	uint64_t end = clock_ms() + (uint64_t)ms;

	while (clock_ms() < end)
		loop_once(f, 20);
}

/* a command's outcome */
struct res {
	int calls;
	bool null;
	int downs_then;		/* f->downs when the callback ran */
	struct fx *f;
	int type;
	long long integer;
	char str[256];
	size_t len;
};

static void
res_cb(struct redis_link *l, const redisReply *r, void *privdata)
{
	struct res *res = privdata;

	(void)l;
	res->calls++;
	res->null = r == NULL;
	res->downs_then = res->f != NULL ? res->f->downs : 0;
	if (r == NULL)
		return;
	res->type = r->type;
	res->integer = r->integer;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
	    r->type == REDIS_REPLY_ERROR) {
		res->len = r->len < sizeof(res->str) ? r->len : sizeof(res->str);
		memcpy(res->str, r->str, res->len);
	}
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_parse_url)
{
	static const struct {
		const char *url;
		bool unix_socket;
		const char *where;	/* path or host */
		unsigned port;
		int db;
		const char *user, *password;
	} good[] = {
		{ "unix:/tmp/r.sock", true, "/tmp/r.sock", 6379, 0, "", "" },
		{ "unix:///run/redis/redis.sock?db=3", true, "/run/redis/redis.sock", 6379, 3, "", "" },
		{ "unix:/x?db=15", true, "/x", 6379, 15, "", "" },
		{ "redis://localhost", false, "localhost", 6379, 0, "", "" },
		{ "redis://127.0.0.1:6380/2", false, "127.0.0.1", 6380, 2, "", "" },
		{ "redis://[::1]:7000/15", false, "::1", 7000, 15, "", "" },
		{ "redis://[::1]", false, "::1", 6379, 0, "", "" },
		{ "redis://h/", false, "h", 6379, 0, "", "" },
		{ "redis://:secret@h", false, "h", 6379, 0, "", "secret" },
		{ "redis://alice:p%40ss%3Aw@h:1/", false, "h", 1, 0, "alice", "p@ss:w" },
		{ "redis://u:p@ss@host:65535/7", false, "host", 65535, 7, "u", "p@ss" },
	};
	static const char *const bad[] = {
		"", "localhost", "http://h", "rediss://h", "unix:", "unix:relative",
		"unix://host/path", "unix:/p?db=16", "unix:/p?db=x", "unix:/p?db=",
		"unix:/p?foo=1", "redis://", "redis://:6379", "redis://h:0",
		"redis://h:65536", "redis://h:abc", "redis://h:", "redis://h:-1",
		"redis://h/16", "redis://h/x", "redis://h/1/2", "redis://[::1",
		"redis://[::1]x", "redis://[]:1", "redis://user@h", "redis://u:%zz@h",
		"redis://u:%4@h", "redis://u:%00@h", "redis://u:@h", "redis://h?db=1",
		"redis://h#x", "redis://h h",
	};
	struct redis_link_addr a;
	char err[128], longurl[200];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(redis_link_parse_url(good[i].url, &a, err, sizeof(err)) == 0,
		    "%s: %s", good[i].url, err);
		ck_assert_msg(a.unix_socket == good[i].unix_socket, "%s", good[i].url);
		ck_assert_str_eq(a.unix_socket ? a.path : a.host, good[i].where);
		ck_assert_uint_eq(a.port, good[i].port);
		ck_assert_int_eq(a.db, good[i].db);
		ck_assert_str_eq(a.user, good[i].user);
		ck_assert_str_eq(a.password, good[i].password);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(redis_link_parse_url(bad[i], &a, err, sizeof(err)) == -EINVAL,
		    "accepted: %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
		ck_assert_str_eq(a.password, "");
	}
	/* a path longer than sun_path */
	snprintf(longurl, sizeof(longurl), "unix:/%0150d", 0);
	ck_assert_int_eq(redis_link_parse_url(longurl, &a, err, sizeof(err)), -EINVAL);
	/* the reason never repeats the URL, which may hold a password */
	ck_assert_int_eq(redis_link_parse_url("redis://u:topsecret@h:99999", &a, err,
	    sizeof(err)), -EINVAL);
	ck_assert_ptr_null(strstr(err, "topsecret"));
}
END_TEST

START_TEST(test_roundtrip)
{
	struct h_redis s;
	struct fx f;
	struct res set = { 0 }, get = { 0 }, gone = { 0 };
	static const char key[] = "key with spaces\r\n";
	static const char val[] = "a b\r\nc\0d\r\n*1\r\n";
	const char *argv[3];
	size_t argvlen[3];

	srv_dir(&s);
	srv_start(&s, NULL);
	fx_init(&f, &s, NULL);
	/* not up before the handshake is through */
	argv[0] = "PING";
	ck_assert_int_eq(redis_link_cmd(&f.l, NULL, NULL, 1, argv, NULL), -ENOTCONN);
	ck_assert(!redis_link_is_up(&f.l));
	RUN_UNTIL(&f, f.ups == 1, 5000);
	ck_assert(redis_link_is_up(&f.l));

	argv[0] = "SET";
	argv[1] = key;
	argv[2] = val;
	argvlen[0] = 3;
	argvlen[1] = sizeof(key) - 1;
	argvlen[2] = sizeof(val) - 1;
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &set, 3, argv, argvlen), 0);
	argv[0] = "GET";
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &get, 2, argv, argvlen), 0);
	RUN_UNTIL(&f, get.calls == 1, 5000);
	ck_assert_int_eq(set.calls, 1);
	ck_assert_int_eq(set.type, REDIS_REPLY_STATUS);
	ck_assert_int_eq(get.type, REDIS_REPLY_STRING);
	ck_assert_uint_eq(get.len, sizeof(val) - 1);
	ck_assert(memcmp(get.str, val, sizeof(val) - 1) == 0);

	/* a Redis error is a reply, not a loss */
	argv[0] = "NOSUCHCOMMAND";
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &gone, 1, argv, NULL), 0);
	RUN_UNTIL(&f, gone.calls == 1, 5000);
	ck_assert_int_eq(gone.type, REDIS_REPLY_ERROR);
	ck_assert(redis_link_is_up(&f.l));

	/* free with a command in flight: its NULL reply, no down */
	memset(&gone, 0, sizeof(gone));
	argv[0] = "PING";
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &gone, 1, argv, NULL), 0);
	fx_free(&f);
	ck_assert_int_eq(gone.calls, 1);
	ck_assert(gone.null);
	ck_assert_int_eq(f.downs, 0);
	srv_cleanup(&s);
}
END_TEST

START_TEST(test_auth)
{
	struct h_redis s;
	struct fx good, bad, over;
	struct redis_link_addr a;
	char url[160], err[128];

	srv_dir(&s);
	srv_start(&s, "s3cret word");
	fx_init(&good, &s, "s3cret word");
	fx_init(&bad, &s, "nope");
	RUN_UNTIL(&good, good.ups == 1, 5000);
	RUN_UNTIL(&bad, bad.downs == 1, 5000);
	ck_assert_int_eq(bad.ups, 0);
	ck_assert_msg(strstr(bad.reason, "authentication failed") != NULL, "%s", bad.reason);
	/* it keeps trying, but says down once */
	run_for(&bad, 500);
	ck_assert_int_eq(bad.ups, 0);
	ck_assert_int_eq(bad.downs, 1);
	ck_assert(!redis_link_is_up(&bad.l));
	fx_free(&bad);

	/* no password at all: refused too (NOAUTH) */
	fx_init(&bad, &s, NULL);
	RUN_UNTIL(&bad, bad.downs == 1, 5000);
	ck_assert_int_eq(bad.ups, 0);
	fx_free(&bad);

	/* the configured password replaces the URL's */
	memset(&over, 0, sizeof(over));
	over.epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(over.epfd, 0);
	snprintf(url, sizeof(url), "unix://%s?db=2", s.sock);
	ck_assert_int_eq(redis_link_parse_url(url, &a, err, sizeof(err)), 0);
	snprintf(a.password, sizeof(a.password), "wrong");
	ck_assert_int_eq(redis_link_init(&over.l, over.epfd, EVK, &a, NULL, "s3cret word",
	    &fx_ops, &over), 0);
	RUN_UNTIL(&over, over.ups == 1, 5000);
	ck_assert_int_eq(over.downs, 0);
	fx_free(&over);

	fx_free(&good);
	srv_cleanup(&s);
}
END_TEST

START_TEST(test_xread_block)
{
	struct h_redis s;
	struct fx f;
	struct res xadd = { 0 }, xread = { 0 };
	const char *xr[] = { "XREAD", "BLOCK", "5000", "STREAMS", "st", "0-0" };
	const char *xa[] = { "XADD", "st", "*", "field", "value" };

	srv_dir(&s);
	srv_start(&s, NULL);
	fx_init(&f, &s, NULL);
	RUN_UNTIL(&f, f.ups == 1, 5000);
	/* from 0-0 on an empty stream: blocks until the first entry, whichever comes first */
	xread.f = &f;
	ck_assert_int_eq(redis_link_block_cmd(&f.l, res_cb, &xread, 6, xr, NULL), 0);
	run_for(&f, 100);
	ck_assert_int_eq(xread.calls, 0);
	/* the cmd connection is not held up by the blocked one */
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &xadd, 5, xa, NULL), 0);
	/* two connections: either reply may be read first */
	RUN_UNTIL(&f, xread.calls == 1 && xadd.calls == 1, 5000);
	ck_assert_int_eq(xadd.type, REDIS_REPLY_STRING);
	ck_assert_int_eq(xread.type, REDIS_REPLY_ARRAY);
	ck_assert(!xread.null);
	fx_free(&f);
	srv_cleanup(&s);
}
END_TEST

/* [[stream, [[id, [field, value]]]]]: checked by hand in a callback */
struct xcheck {
	int calls;
	bool ok;
};

static void
xcheck_cb(struct redis_link *l, const redisReply *r, void *privdata)
{
	struct xcheck *x = privdata;
	const redisReply *s, *e, *fv;

	(void)l;
	x->calls++;
	x->ok = false;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 1)
		return;
	s = r->element[0];
	if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || strcmp(s->element[0]->str, "st") != 0)
		return;
	e = s->element[1];
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 1)
		return;
	e = e->element[0];
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return;
	fv = e->element[1];
	x->ok = fv->type == REDIS_REPLY_ARRAY && fv->elements == 2 &&
	    strcmp(fv->element[0]->str, "field") == 0 && fv->element[1]->len == 6 &&
	    memcmp(fv->element[1]->str, "va\0lue", 6) == 0;
}

START_TEST(test_xread_contents)
{
	struct h_redis s;
	struct fx f;
	struct xcheck x = { 0 };
	const char *xr[] = { "XREAD", "BLOCK", "5000", "STREAMS", "st", "0-0" };
	const char *xa[] = { "XADD", "st", "*", "field", "va\0lue" };
	const size_t xal[] = { 4, 2, 1, 5, 6 };

	srv_dir(&s);
	srv_start(&s, NULL);
	fx_init(&f, &s, NULL);
	RUN_UNTIL(&f, f.ups == 1, 5000);
	ck_assert_int_eq(redis_link_block_cmd(&f.l, xcheck_cb, &x, 6, xr, NULL), 0);
	ck_assert_int_eq(redis_link_cmd(&f.l, NULL, NULL, 5, xa, xal), 0);
	RUN_UNTIL(&f, x.calls == 1, 5000);
	ck_assert(x.ok);
	fx_free(&f);
	srv_cleanup(&s);
}
END_TEST

START_TEST(test_killed)
{
	struct h_redis s;
	struct fx f;
	struct res blocked = { 0 }, ping = { 0 };
	const char *xr[] = { "XREAD", "BLOCK", "0", "STREAMS", "st", "0-0" };
	const char *pg[] = { "PING" };

	srv_dir(&s);
	srv_start(&s, NULL);
	fx_init(&f, &s, NULL);
	RUN_UNTIL(&f, f.ups == 1, 5000);
	blocked.f = ping.f = &f;
	ck_assert_int_eq(redis_link_block_cmd(&f.l, res_cb, &blocked, 6, xr, NULL), 0);
	run_for(&f, 50);
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &ping, 1, pg, NULL), 0);
	srv_kill(&s);
	RUN_UNTIL(&f, f.downs == 1, 5000);
	/* every pending command heard of it, before down() */
	ck_assert_int_eq(blocked.calls, 1);
	ck_assert(blocked.null);
	ck_assert_int_eq(blocked.downs_then, 0);
	ck_assert_int_eq(ping.calls, 1);
	ck_assert(ping.null);
	ck_assert_int_eq(ping.downs_then, 0);
	ck_assert(!redis_link_is_up(&f.l));
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &ping, 1, pg, NULL), -ENOTCONN);
	ck_assert_int_eq(redis_link_block_cmd(&f.l, res_cb, &ping, 1, pg, NULL), -ENOTCONN);
	/* the attempts that follow fail (nobody listens): still one down */
	run_for(&f, 700);
	ck_assert_int_eq(f.downs, 1);
	ck_assert_int_eq(f.ups, 1);
	fx_free(&f);
	srv_cleanup(&s);
}
END_TEST

START_TEST(test_restarted)
{
	struct h_redis s;
	struct fx f;
	struct res get = { 0 };
	const char *g[] = { "GET", "nothing" };

	srv_dir(&s);
	srv_start(&s, NULL);
	fx_init(&f, &s, NULL);
	RUN_UNTIL(&f, f.ups == 1, 5000);
	srv_kill(&s);
	RUN_UNTIL(&f, f.downs == 1, 5000);
	run_for(&f, 300);
	/* the same socket path: the link finds it by itself */
	srv_start(&s, NULL);
	RUN_UNTIL(&f, f.ups == 2, 5000);
	ck_assert_int_eq(f.downs, 1);
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &get, 2, g, NULL), 0);
	RUN_UNTIL(&f, get.calls == 1, 5000);
	ck_assert_int_eq(get.type, REDIS_REPLY_NIL);
	fx_free(&f);
	srv_cleanup(&s);
}
END_TEST

START_TEST(test_stopped)
{
	struct h_redis s;
	struct fx f;
	struct res ping = { 0 };
	const char *pg[] = { "PING" };
	uint64_t t0;

	srv_dir(&s);
	srv_start(&s, NULL);
	fx_init(&f, &s, NULL);
	f.l.cmd_timeout_ms = 500;
	f.l.connect_timeout_ms = 300;
	f.l.keepalive_ms = 100;
	RUN_UNTIL(&f, f.ups == 1, 5000);
	srv_signal(&s, SIGSTOP);
	ping.f = &f;
	t0 = clock_ms();
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &ping, 1, pg, NULL), 0);
	RUN_UNTIL(&f, f.downs == 1, 3000);
	ck_assert_uint_ge(clock_ms() - t0, 500);
	ck_assert_uint_lt(clock_ms() - t0, 1500);
	ck_assert_msg(strstr(f.reason, "no reply") != NULL, "%s", f.reason);
	ck_assert_int_eq(ping.calls, 1);
	ck_assert(ping.null);
	/* still stopped: the new attempts connect but never get through the
	 * handshake; each times out, and down is not said again */
	run_for(&f, 1000);
	ck_assert_int_eq(f.downs, 1);
	ck_assert_int_eq(f.ups, 1);
	srv_signal(&s, SIGCONT);
	RUN_UNTIL(&f, f.ups == 2, 5000);

	/* no traffic at all: the keepalive notices a stop too */
	srv_signal(&s, SIGSTOP);
	RUN_UNTIL(&f, f.downs == 2, 3000);
	srv_signal(&s, SIGCONT);
	RUN_UNTIL(&f, f.ups == 3, 5000);
	fx_free(&f);
	srv_cleanup(&s);
}
END_TEST

START_TEST(test_tcp)
{
	struct h_redis s;
	struct fx f;
	struct redis_link_addr a;
	struct res get = { 0 };
	const char *g[] = { "GET", "nothing" };
	char url[128], err[128];
	bool started = false;

	srv_dir(&s);
	/* nobody on the port yet: refused, said once */
	s.port = free_port();
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/1", s.port);
	ck_assert_int_eq(redis_link_parse_url(url, &a, err, sizeof(err)), 0);
	memset(&f, 0, sizeof(f));
	f.epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(f.epfd, 0);
	ck_assert_int_eq(redis_link_init(&f.l, f.epfd, EVK, &a, NULL, NULL, &fx_ops, &f), 0);
	RUN_UNTIL(&f, f.downs == 1, 5000);
	ck_assert_msg(strstr(f.reason, "refused") != NULL, "%s", f.reason);
	ck_assert_int_eq(f.ups, 0);
	/* then a server on it (another port if it was taken meanwhile) */
	for (int i = 0; i < 5 && !started; i++) {
		if (i > 0) {
			s.port = free_port();
			fx_free(&f);
			snprintf(url, sizeof(url), "redis://127.0.0.1:%u/1", s.port);
			ck_assert_int_eq(redis_link_parse_url(url, &a, err, sizeof(err)), 0);
			memset(&f, 0, sizeof(f));
			f.epfd = epoll_create1(EPOLL_CLOEXEC);
			ck_assert_int_ge(f.epfd, 0);
			ck_assert_int_eq(redis_link_init(&f.l, f.epfd, EVK, &a, NULL, NULL,
			    &fx_ops, &f), 0);
		}
		started = srv_try_start(&s, NULL);
	}
	ck_assert(started);
	RUN_UNTIL(&f, f.ups == 1, 5000);
	ck_assert_int_eq(redis_link_cmd(&f.l, res_cb, &get, 2, g, NULL), 0);
	RUN_UNTIL(&f, get.calls == 1, 5000);
	ck_assert_int_eq(get.type, REDIS_REPLY_NIL);
	fx_free(&f);
	srv_cleanup(&s);
}
END_TEST

static Suite *
redis_link_suite(void)
{
	Suite *s = suite_create("redis_link");
	TCase *tc = tcase_create("url");
	TCase *tl = tcase_create("link");

	tcase_add_test(tc, test_parse_url);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tl, 30);
	tcase_add_unchecked_fixture(tl, top_setup, top_teardown);
	tcase_add_test(tl, test_roundtrip);
	tcase_add_test(tl, test_auth);
	tcase_add_test(tl, test_xread_block);
	tcase_add_test(tl, test_xread_contents);
	tcase_add_test(tl, test_killed);
	tcase_add_test(tl, test_restarted);
	tcase_add_test(tl, test_stopped);
	tcase_add_test(tl, test_tcp);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	if (!h_redis_available()) {
		if (getenv("CI") != NULL) {
			fprintf(stderr, "check_redis_link: redis-server is not installed "
			    "(tools/install-deps --test installs it)\n");
			return EXIT_FAILURE;
		}
		printf("1..0 # SKIP redis-server is not installed (tools/install-deps --test)\n");
		return EXIT_SUCCESS;
	}
	log_init("redis-test", LOG_LEVEL_INFO);
	/* hiredis writes with write(2): a server gone must not kill us (the master ignores it too) */
	signal(SIGPIPE, SIG_IGN);
	return unit_run(redis_link_suite());
}
