#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness_cluster.h"

/*
 * Integration tests of a cluster's nodes when something happens to them
 * (docs/cluster.md): Redis stopped or restarted under two nodes, and a
 * node upgraded in place. The nodes share a private redis-server
 * (tests/harness_cluster.c); every test ends by showing that the nodes'
 * clients still talk.
 */

/* ---------------------------------------------------------------- Redis goes away */

/*
 * Redis killed and started again, empty, on the same socket; or stopped
 * (SIGSTOP) and continued. During the outage every client hears that its
 * node lost the network, local chat goes on, directory changes are
 * refused; after it, the nodes are one network again: the message written
 * during the outage reaches the other node, chat and NICK work across.
 *
 * Nobody is declared gone afterwards: a node back on Redis gives the
 * others dead_after seconds to renew their leases (a restarted Redis had
 * none, a stopped one let them lapse).
 *
 * With quit, a client of nA quits during the outage: its QUIT must reach
 * both nodes with its reason (a client leaving is never refused; the
 * network hears of it when the link is back).
 */
static void redis_outage(bool stop, bool quit)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *alice = cli_new(a, "alice"), *al2 = cli_new(a, "al2"), *bob = cli_new(b, "bob");
	struct irc_msg m;
	/* a stopped Redis is noticed when a command gets no reply in time */
	const int notice_ms = stop ? T_LONG : T_SHORT;

	cli_join(alice, "#o");
	cli_join(al2, "#o");
	cli_join(bob, "#o");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	EXPECT_FROM(al2, "JOIN", "bob", &m);
	say(bob, "#o", "before", (struct cli *[]){ alice, al2 }, 2);

	if (stop)
		H_ASSERT(h_redis_signal(&g_redis, SIGSTOP), "SIGSTOP to redis-server");
	else
		h_redis_kill(&g_redis);
	/* every client hears that its node lost the network */
	EXPECT_LINK(alice, false, notice_ms);
	EXPECT_LINK(al2, false, notice_ms);
	EXPECT_LINK(bob, false, notice_ms);

	/* local chat still works; bob gets it when the network is back */
	say(alice, "#o", "during", (struct cli *[]){ al2 }, 1);
	cli_send(alice, "PRIVMSG bob :private in the dark");
	say(al2, "alice", "local private", (struct cli *[]){ alice }, 1);
	/* directory changes are refused */
	cli_send(alice, "JOIN #new");
	EXPECT_TEXT(alice, "NOTICE", NULL, "not connected to the rest of the network", &m);
	cli_send(bob, "NICK bobby");
	EXPECT_TEXT(bob, "NOTICE", NULL, "not connected to the rest of the network", &m);
	cli_send(alice, "NAMES #new");
	EXPECT(alice, "366", &m);
	H_ASSERT(cli_sync(alice, "JOIN") == 0, "alice joined #new during the outage");
	/* a client leaving meanwhile: its own node sees it at once, the others later */
	if (quit) {
		cli_send(al2, "QUIT :leaving in the dark");
		EXPECT_EOF(al2, T_SHORT);
		EXPECT_FROM(alice, "QUIT", "al2", &m);
		H_ASSERT(strstr(msg_last(&m), "leaving in the dark") != NULL,
			 "al2's QUIT on nA: %s", msg_last(&m));
	}

	/* Redis back on the same socket */
	if (stop)
		H_ASSERT(h_redis_signal(&g_redis, SIGCONT), "SIGCONT to redis-server");
	else if (!h_redis_start(&g_redis))
		H_FAIL("redis restart: %s", g_redis.err);
	EXPECT_LINK(alice, true, T_LONG);
	EXPECT_LINK(bob, true, T_LONG);

	/* the message written during the outage reaches bob now (then al2's QUIT) */
	cli_expect_text(bob, "PRIVMSG", alice, "#o", "during");
	cli_expect_text(bob, "PRIVMSG", alice, "bob", "private in the dark");
	if (quit) {
		EXPECT_FROM(bob, "QUIT", "al2", &m);
		H_ASSERT(strstr(msg_last(&m), "leaving in the dark") != NULL,
			 "al2's QUIT on nB: %s", msg_last(&m));
		say(alice, "#o", "after", (struct cli *[]){ bob }, 1);
		say(bob, "#o", "after too", (struct cli *[]){ alice }, 1);
		/* al2's nick is free on both nodes */
		cli_new(b, "al2");
	} else {
		say(alice, "#o", "after", (struct cli *[]){ al2, bob }, 2);
		say(bob, "#o", "after too", (struct cli *[]){ alice, al2 }, 2);
	}
	cli_send(bob, "NICK bobby");
	EXPECT_FROM(alice, "NICK", "bob", &m);
	snprintf(bob->nick, sizeof bob->nick, "bobby");
	/* nobody is dropped afterwards: the leases' check runs every second,
	 * and a node whose lease is missing is declared gone at once */
	H_ASSERT(cli_none(alice, "QUIT", (DEAD_AFTER + 2) * 1000 * h_scale),
		 "alice: %s", alice->hist[(alice->nhist - 1) % 16]);
	H_ASSERT(cli_none(bob, "QUIT", 0), "bob: %s", bob->hist[(bob->nhist - 1) % 16]);
	H_ASSERT(srv_log_count(a, "went away") == 0 && srv_log_count(b, "went away") == 0,
		 "a node was declared gone after the outage");
	still_talk(alice, bob);
}

START_TEST(test_redis_restarted)
{
	redis_outage(false, false);
}
END_TEST

START_TEST(test_redis_stopped)
{
	redis_outage(true, false);
}
END_TEST

START_TEST(test_redis_stopped_quit)
{
	redis_outage(true, true);
}
END_TEST

/* ---------------------------------------------------------------- upgrades in place */

/*
 * A node upgraded in place twice (SIGUSR2) while a client of another node
 * sends numbered lines to its channel: the node's client gets every line
 * once and in order and nothing else (no QUIT, no notice about the link),
 * the other node never sees it go (its lease is renewed under the same
 * incarnation), and the directory goes on through the log: a NICK, a
 * new client's JOIN and WHOIS across the nodes, the topic from before.
 */
START_TEST(test_upgrade_node)
{
	enum { NLINES = 200 };
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *alice = cli_new(a, "alice"), *bob = cli_new(b, "bob"), *carol;
	struct irc_msg m;
	pid_t pid = a->pid;

	cli_join(alice, "#up");
	cli_join(bob, "#up");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	cli_send(alice, "TOPIC #up :kept across");
	EXPECT_FROM(bob, "TOPIC", "alice", &m);
	H_ASSERT(cli_sync(alice, NULL) >= 0, "sync");
	for (int round = 1; round <= 2; round++) {
		for (int n = 0; n < NLINES; n++) {
			if (n == NLINES / 4)
				H_ASSERT(kill(a->pid, SIGUSR2) == 0, "SIGUSR2: %s", strerror(errno));
			cli_send(bob, "PRIVMSG #up :line %d %d", round, n);
		}
		for (int n = 0; n < NLINES; n++) {
			int r = -1, k = -1;
			bool line;

			NEXT(alice, &m);
			line = strcmp(m.command, "PRIVMSG") == 0 &&
			       sscanf(msg_last(&m), "line %d %d", &r, &k) == 2;
			H_ASSERT(line, "alice: '%s %s' amid the lines", m.command, msg_last(&m));
			H_ASSERT(r == round && k == n, "alice: line %d %d, expected %d %d", r, k,
				 round, n);
		}
		H_ASSERT(srv_log_count_reaches(a, "took over from", round, T_LONG),
			 "upgrade %d of nA not in its log", round);
		H_ASSERT(srv_log_count_reaches(a, "cluster: connected to Redis", round + 1, T_LONG),
			 "nA not connected to Redis again after upgrade %d", round);
		H_ASSERT(srv_alive(a) && a->pid == pid, "nA is not the same process");
	}
	H_ASSERT(srv_log_count(a, "goes on from entry") == 2, "nA's log");
	/* no notice of a link lost or back, no QUIT: nobody noticed */
	H_ASSERT(cli_none(alice, NULL, 300 * h_scale), "alice: %s",
		 alice->hist[(alice->nhist - 1) % 16]);
	/* the directory through the log, both ways */
	cli_send(alice, "NICK alicia");
	EXPECT_FROM(bob, "NICK", "alice", &m);
	snprintf(alice->nick, sizeof alice->nick, "alicia");
	carol = cli_new(a, "carol");
	cli_join(carol, "#up");
	EXPECT_FROM(bob, "JOIN", "carol", &m);
	EXPECT_FROM(alice, "JOIN", "carol", &m);
	cli_send(bob, "WHOIS carol");
	EXPECT_PARAM(bob, "312", 2, "nA", &m);
	EXPECT(bob, "318", &m);
	cli_send(carol, "TOPIC #up");
	EXPECT_TEXT(carol, "332", NULL, "kept across", &m);
	/* nB saw no lease lapse: nobody of nA went away */
	H_ASSERT(cli_none(bob, "QUIT", DEAD_AFTER * 1000 * h_scale), "bob: %s",
		 bob->hist[(bob->nhist - 1) % 16]);
	H_ASSERT(srv_log_count(b, "announcing it gone") == 0, "nB declared nA dead");
	still_talk(alice, bob);
	still_talk(bob, carol);
}
END_TEST

/*
 * A node upgraded in place while Redis is out of reach (SIGSTOP): its
 * clients were told the network is gone and hear nothing more of the
 * upgrade; a line written to the network during the outage, before the
 * upgrade, reaches the other node once Redis is back (the entries Redis
 * had not confirmed go across), and both nodes are told the network is
 * back, as after any outage.
 */
START_TEST(test_upgrade_split_node)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *alice = cli_new(a, "alice"), *al2 = cli_new(a, "al2"), *bob = cli_new(b, "bob");
	struct irc_msg m;

	cli_join(alice, "#s");
	cli_join(al2, "#s");
	cli_join(bob, "#s");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	EXPECT_FROM(al2, "JOIN", "bob", &m);
	H_ASSERT(h_redis_signal(&g_redis, SIGSTOP), "SIGSTOP to redis-server");
	EXPECT_LINK(alice, false, T_LONG);
	EXPECT_LINK(al2, false, T_SHORT);
	say(alice, "#s", "written in the dark", (struct cli *[]){ al2 }, 1);
	H_ASSERT(kill(a->pid, SIGUSR2) == 0, "SIGUSR2: %s", strerror(errno));
	H_ASSERT(srv_log_count_reaches(a, "took over from", 1, T_LONG), "no upgrade in nA's log");
	H_ASSERT(srv_log_has(a, "(Redis still out of reach)", 0), "nA's log");
	/* the node's own clients chat on, and hear nothing of the upgrade */
	say(al2, "#s", "after the upgrade", (struct cli *[]){ alice }, 1);
	H_ASSERT(cli_none(alice, "NOTICE", 200 * h_scale), "alice: %s",
		 alice->hist[(alice->nhist - 1) % 16]);
	H_ASSERT(h_redis_signal(&g_redis, SIGCONT), "SIGCONT to redis-server");
	EXPECT_LINK(alice, true, T_LONG);
	EXPECT_LINK(bob, true, T_LONG);
	cli_expect_text(bob, "PRIVMSG", alice, "#s", "written in the dark");
	cli_expect_text(bob, "PRIVMSG", al2, "#s", "after the upgrade");
	say(bob, "#s", "welcome back", (struct cli *[]){ alice, al2 }, 2);
	H_ASSERT(cli_none(bob, "QUIT", (DEAD_AFTER + 1) * 1000 * h_scale), "bob: %s",
		 bob->hist[(bob->nhist - 1) % 16]);
	H_ASSERT(srv_log_count(b, "went away") == 0, "nB declared nA gone");
	still_talk(alice, bob);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("cluster_outage");
	TCase *tc;
	int rc;

	if (!cl_init("check_cluster_outage", &rc))
		return rc;
	tc = h_tcase(su, "outage", 40, cl_setup, cl_teardown);
	tcase_add_test(tc, test_redis_stopped);
	tcase_add_test(tc, test_redis_restarted);
	tcase_add_test(tc, test_redis_stopped_quit);

	tc = h_tcase(su, "upgrade", 40, cl_setup, cl_teardown);
	tcase_add_test(tc, test_upgrade_node);
	tcase_add_test(tc, test_upgrade_split_node);
	return h_suite_run(su);
}
