/* harness_cluster: the nodes of a test's cluster network (harness_cluster.h) */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness_cluster.h"

struct h_redis g_redis;
static char g_prefix[64];	/* cluster.key_prefix, unique per test */
bool g_tcp;

bool cl_init(const char *prog, int *rc)
{
	if (!h_redis_available()) {
		if (getenv("CI") != NULL) {
			fprintf(stderr, "%s: redis-server is not installed "
				"(tools/install-deps --test installs it)\n", prog);
			*rc = EXIT_FAILURE;
			return false;
		}
		printf("1..0 # SKIP redis-server is not installed (tools/install-deps --test)\n");
		*rc = EXIT_SUCCESS;
		return false;
	}
	harness_init();
	signal(SIGPIPE, SIG_IGN);
	return true;
}

void cl_setup(void)
{
	static unsigned n;
	char parent[512];

	harness_setup();
	h_mkdtemp(parent, sizeof parent);
	if (!h_redis_init(&g_redis, parent, NULL))
		H_FAIL("redis: %s", g_redis.err);
	if (!h_redis_start(&g_redis))
		H_FAIL("redis: %s", g_redis.err);
	snprintf(g_prefix, sizeof g_prefix, "t%d-%u:", (int)getpid(), ++n);
	g_tcp = false;
}

void cl_teardown(void)
{
	harness_teardown();
	h_redis_cleanup(&g_redis);
}

/* wait until the node is synced with the network: the first node, or one
 * that joined by a snapshot */
void node_wait_synced(struct srv *s, const char *name, int ms)
{
	long long deadline = h_now_ms() + ms;

	while (!srv_log_has(s, "cluster: first node of the network", 0) &&
	       !srv_log_has(s, "cluster: joined the network", 0)) {
		if (h_now_ms() >= deadline)
			H_FAIL("node %s: not synced with the network within %d ms", name, ms);
		usleep(20 * 1000);	/* polling its log: it has no other signal */
	}
}

/* a node of the test's network, synced */
struct srv *node_start(const char *name, const char *extra)
{
	char conf[2048], url[200];
	struct srv *s;

	snprintf(conf, sizeof conf,
		 "cluster = { redis = \"%s\"; node_name = \"%s\"; dead_after = %d; "
		 "key_prefix = \"%s\"; };\n"
		 "flood_burst = 200;\n%s",
		 h_redis_url(&g_redis, g_tcp, url, sizeof url), name, DEAD_AFTER, g_prefix,
		 extra ? extra : "");
	s = srv_start(conf);
	node_wait_synced(s, name, T_LONG);
	return s;
}

/* the next line with cmd, whose trailing parameter contains text */
void expect_text_in(const char *file, int line, struct cli *c, const char *cmd,
			   const char *from, const char *text, int ms, struct irc_msg *m)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		long long left = deadline - h_now_ms();

		if (left <= 0 || !cli_wait(c, cmd, from, (int)left, m))
			h_fail(file, line, "client %s: no %s%s%s containing '%s' within %d ms (%s)",
			       c->nick, cmd, from ? " from " : "", from ? from : "", text, ms,
			       c->eof ? "EOF" : "timeout");
		if (strstr(msg_last(m), text))
			return;
	}
}

/* the next numeric reply n; parameter i of it must be want */
void expect_param(const char *file, int line, struct cli *c, const char *cmd, int i,
			 const char *want, struct irc_msg *m)
{
	h_expect(file, line, c, cmd, NULL, T_SHORT, m);
	if (irc_casecmp(msg_param(m, i), want))
		h_fail(file, line, "client %s: %s parameter %d is '%s', expected '%s'", c->nick,
		       cmd, i, msg_param(m, i), want);
}

/* c sends text to target; every client of to[] gets exactly it next */
void say(struct cli *c, const char *target, const char *text, struct cli **to, int n)
{
	cli_send(c, "PRIVMSG %s :%s", target, text);
	for (int i = 0; i < n; i++)
		cli_expect_text(to[i], "PRIVMSG", c, target, text);
}

/* a and b (on different nodes) still talk, both ways */
void still_talk(struct cli *a, struct cli *b)
{
	cli_send(a, "PRIVMSG %s :still there %s?", b->nick, b->nick);
	{
		char text[128];

		snprintf(text, sizeof text, "still there %s?", b->nick);
		cli_expect_text(b, "PRIVMSG", a, b->nick, text);
	}
	cli_send(b, "PRIVMSG %s :yes %s", a->nick, a->nick);
	{
		char text[128];

		snprintf(text, sizeof text, "yes %s", a->nick);
		cli_expect_text(a, "PRIVMSG", b, a->nick, text);
	}
}
