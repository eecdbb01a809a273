#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness_cluster.h"

/*
 * Integration tests of a cluster (docs/cluster.md): two or three real
 * shmchatd nodes sharing a private redis-server (tests/harness_redis.c, a
 * UNIX socket in the test's temp dir), one IRC network. Directory changes
 * across nodes, the nick race, every message exactly once and in order, a
 * node killed (its clients QUIT once, "went away"), a node joining late
 * (the snapshot); Redis going away and a node upgraded in place are in
 * check_cluster_outage.c. A node is used once its log says it is synced;
 * messages and PING round trips synchronise the rest. Every test ends by
 * showing that the survivors still talk.
 *
 * Skipped (a TAP plan of 0 with SKIP) when redis-server is not installed,
 * unless CI is set: tools/install-deps --test installs it.
 */

/* test 4: clients over three nodes (at most max_clients_per_ip, 100, per
 * node), each sending ORDER_MSGS_EACH messages to all the others */
#define ORDER_CLIENTS	100
#define ORDER_MSGS_EACH	20

/* ---------------------------------------------------------------- 1. basics */

START_TEST(test_two_nodes_basics)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *alice = cli_new(a, "alice"), *bob = cli_new(b, "bob");
	struct cli *carol = cli_connect(b);
	struct irc_msg m;

	/* a nick taken on the other node is taken here */
	cli_send(carol, "NICK alice");
	cli_send(carol, "USER carol 0 * :Real carol");
	EXPECT_PARAM(carol, "433", 1, "alice", &m);
	cli_send(carol, "NICK Alice");
	EXPECT_PARAM(carol, "433", 1, "Alice", &m);
	cli_register(carol, "carol");
	/* and the other way round */
	{
		struct cli *dup = cli_connect(a);

		cli_send(dup, "NICK carol");
		cli_send(dup, "USER dup 0 * :Real dup");
		EXPECT_PARAM(dup, "433", 1, "carol", &m);
		cli_close(dup);
	}

	cli_join(alice, "#c");
	cli_join(bob, "#c");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	H_ASSERT(cli_prefix_is(bob, m.prefix), "JOIN prefix %s", m.prefix);
	/* bob's NAMES on joining listed alice: check it by asking again */
	cli_send(bob, "NAMES #c");
	EXPECT(bob, "353", &m);
	H_ASSERT(strstr(msg_last(&m), "@alice") != NULL && h_list_has(msg_last(&m), "bob"),
		 "NAMES #c on nB: %s", msg_last(&m));

	/* channel messages both ways */
	say(alice, "#c", "hello from nA", (struct cli *[]){ bob }, 1);
	say(bob, "#c", "hello from nB", (struct cli *[]){ alice }, 1);
	/* private PRIVMSG and NOTICE across */
	say(alice, "bob", "private to nB", (struct cli *[]){ bob }, 1);
	say(bob, "alice", "private to nA", (struct cli *[]){ alice }, 1);
	cli_send(bob, "NOTICE alice :a notice to nA");
	cli_expect_text(alice, "NOTICE", bob, "alice", "a notice to nA");
	cli_send(alice, "NOTICE carol :a notice to nB");
	cli_expect_text(carol, "NOTICE", alice, "carol", "a notice to nB");

	/* NICK seen across; the old nick is free again everywhere */
	cli_send(bob, "NICK bobby");
	EXPECT_FROM(bob, "NICK", "bob", &m);
	H_ASSERT(!strcmp(msg_last(&m), "bobby"), "NICK echo %s", msg_last(&m));
	EXPECT_FROM(alice, "NICK", "bob", &m);
	H_ASSERT(!strcmp(msg_last(&m), "bobby"), "NICK seen on nA: %s", msg_last(&m));
	snprintf(bob->nick, sizeof bob->nick, "bobby");
	say(alice, "bobby", "to the new nick", (struct cli *[]){ bob }, 1);
	cli_send(alice, "ISON bob bobby");
	EXPECT(alice, "303", &m);
	H_ASSERT(h_list_has(msg_last(&m), "bobby") && !h_list_has(msg_last(&m), "bob"),
		 "ISON after NICK: %s", msg_last(&m));

	/* PART seen across, with its reason; then no more channel messages */
	cli_send(bob, "PART #c :see you");
	EXPECT_FROM(bob, "PART", "bobby", &m);
	EXPECT_FROM(alice, "PART", "bobby", &m);
	H_ASSERT(!strcmp(msg_param(&m, 0), "#c") && !strcmp(msg_last(&m), "see you"),
		 "PART seen on nA: %s %s", msg_param(&m, 0), msg_last(&m));
	cli_send(alice, "PRIVMSG #c :nobody from nB here");
	say(alice, "bobby", "after the part", (struct cli *[]){ bob }, 1);

	/* QUIT seen across with its reason */
	cli_join(bob, "#c");
	EXPECT_FROM(alice, "JOIN", "bobby", &m);
	cli_send(bob, "QUIT :gone home");
	EXPECT_EOF(bob, T_SHORT);
	EXPECT_FROM(alice, "QUIT", "bobby", &m);
	H_ASSERT(strstr(msg_last(&m), "gone home") != NULL, "QUIT reason on nA: %s",
		 msg_last(&m));
	/* the nick is free on both nodes */
	{
		struct cli *again = cli_new(a, "bobby");

		cli_send(again, "WHOIS bobby");
		EXPECT_PARAM(again, "312", 2, "nA", &m);
	}

	still_talk(alice, carol);
}
END_TEST

/* the same network through Redis on 127.0.0.1 (a redis:// URL) */
START_TEST(test_tcp_url)
{
	struct srv *a, *b;
	struct cli *alice, *bob, *dup;
	struct irc_msg m;
	bool started = false;

	/* the fixture's server again, on a TCP port too (another if it was taken meanwhile) */
	for (int i = 0; i < 5 && !started; i++) {
		g_redis.port = h_redis_free_port();
		H_ASSERT(g_redis.port != 0, "no free port");
		started = h_redis_restart(&g_redis);
	}
	H_ASSERT(started, "redis on TCP: %s", g_redis.err);
	g_tcp = true;
	a = node_start("nA", NULL);
	b = node_start("nB", NULL);
	H_ASSERT(srv_log_has(a, "Redis at 127.0.0.1:", 0), "nA does not use TCP");
	alice = cli_new(a, "alice");
	bob = cli_new(b, "bob");
	dup = cli_connect(b);
	cli_send(dup, "NICK alice");
	cli_send(dup, "USER dup 0 * :Real dup");
	EXPECT_PARAM(dup, "433", 1, "alice", &m);
	cli_join(alice, "#tcp");
	cli_join(bob, "#tcp");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	say(bob, "#tcp", "over TCP", (struct cli *[]){ alice }, 1);
	still_talk(alice, bob);
}
END_TEST

/* ---------------------------------------------------------------- 2. command families */

START_TEST(test_command_families)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *alice = cli_new(a, "alice"), *bob = cli_new(b, "bob");
	struct cli *carol = cli_new(b, "carol"), *dave = cli_new(b, "dave");
	struct irc_msg m;
	bool seen_bob = false, seen_carol = false;

	cli_join(alice, "#t");
	cli_join(bob, "#t");
	EXPECT_FROM(alice, "JOIN", "bob", &m);

	/* TOPIC without +t (channels start +nt): a remote non-op may set it */
	cli_send(alice, "MODE #t -t");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "-t"), "MODE seen on nB: %s", msg_param(&m, 1));
	cli_send(bob, "TOPIC #t :open topic");
	EXPECT_FROM(alice, "TOPIC", "bob", &m);
	H_ASSERT(!strcmp(msg_last(&m), "open topic"), "TOPIC on nA: %s", msg_last(&m));
	/* under +t: refused to a remote non-op, taken from a remote op */
	cli_send(alice, "MODE #t +t");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(bob, "TOPIC #t :not allowed");
	EXPECT_PARAM(bob, "482", 1, "#t", &m);
	cli_send(alice, "MODE #t +o bob");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "+o") && !irc_casecmp(msg_param(&m, 2), "bob"),
		 "MODE seen on nB: %s %s", msg_param(&m, 1), msg_param(&m, 2));
	cli_send(bob, "TOPIC #t :set on nB");
	EXPECT_FROM(alice, "TOPIC", "bob", &m);
	H_ASSERT(!strcmp(msg_last(&m), "set on nB"), "TOPIC on nA: %s", msg_last(&m));
	EXPECT_FROM(bob, "TOPIC", "bob", &m);
	cli_send(alice, "TOPIC #t");
	EXPECT(alice, "332", &m);
	H_ASSERT(!strcmp(msg_last(&m), "set on nB"), "332 on nA: %s", msg_last(&m));
	cli_send(alice, "MODE #t -o bob");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(bob, "TOPIC #t :not allowed again");
	EXPECT_PARAM(bob, "482", 1, "#t", &m);

	/* +m silences a remote unvoiced member; +v lets it speak */
	cli_send(alice, "MODE #t +m");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(bob, "PRIVMSG #t :silenced");
	EXPECT_PARAM(bob, "404", 1, "#t", &m);
	cli_send(alice, "MODE #t +v bob");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	/* alice's next PRIVMSG is this one: "silenced" never reached her */
	say(bob, "#t", "voiced", (struct cli *[]){ alice }, 1);
	cli_send(alice, "MODE #t -m");
	EXPECT_FROM(bob, "MODE", "alice", &m);

	/* +b: a banned remote client cannot join */
	cli_send(alice, "MODE #t +b carol!*@*");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "+b"), "MODE seen on nB: %s", msg_param(&m, 1));
	cli_send(carol, "JOIN #t");
	EXPECT_PARAM(carol, "474", 1, "#t", &m);
	cli_send(alice, "MODE #t -b carol!*@*");
	EXPECT_FROM(bob, "MODE", "alice", &m);

	/* +k: refused without the key, taken with it */
	cli_send(alice, "MODE #t +k sekrit");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(carol, "JOIN #t");
	EXPECT_PARAM(carol, "475", 1, "#t", &m);
	cli_send(carol, "JOIN #t sekrit");
	EXPECT_FROM(carol, "JOIN", "carol", &m);
	EXPECT_FROM(alice, "JOIN", "carol", &m);
	cli_send(alice, "MODE #t -k sekrit");
	EXPECT_FROM(bob, "MODE", "alice", &m);

	/* +l: three members, limit three */
	cli_send(alice, "MODE #t +l 3");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(dave, "JOIN #t");
	EXPECT_PARAM(dave, "471", 1, "#t", &m);
	cli_send(alice, "MODE #t -l");
	EXPECT_FROM(bob, "MODE", "alice", &m);

	/* +i: refused, then INVITE of the remote user lets it in */
	cli_send(alice, "MODE #t +i");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(dave, "JOIN #t");
	EXPECT_PARAM(dave, "473", 1, "#t", &m);
	cli_send(alice, "INVITE dave #t");
	EXPECT_PARAM(alice, "341", 1, "dave", &m);
	EXPECT_FROM(dave, "INVITE", "alice", &m);
	H_ASSERT(!strcmp(msg_last(&m), "#t"), "INVITE on nB: %s", msg_last(&m));
	cli_join(dave, "#t");
	EXPECT_FROM(alice, "JOIN", "dave", &m);

	/* KICK of a remote member, seen by all */
	cli_send(alice, "KICK #t dave :out you go");
	EXPECT_FROM(dave, "KICK", "alice", &m);
	H_ASSERT(!irc_casecmp(msg_param(&m, 1), "dave") && !strcmp(msg_last(&m), "out you go"),
		 "KICK on nB: %s %s", msg_param(&m, 1), msg_last(&m));
	EXPECT_FROM(bob, "KICK", "alice", &m);
	EXPECT_FROM(alice, "KICK", "alice", &m);
	cli_send(dave, "PRIVMSG #t :kicked");
	EXPECT_PARAM(dave, "404", 1, "#t", &m);

	/* AWAY: 301 for a remote away target */
	cli_send(bob, "AWAY :at lunch");
	EXPECT(bob, "306", &m);
	/* nA applies the log in order: once bob's next message is there, so is his AWAY */
	say(bob, "alice", "going away", (struct cli *[]){ alice }, 1);
	cli_send(alice, "PRIVMSG bob :are you there");
	EXPECT_PARAM(alice, "301", 1, "bob", &m);
	H_ASSERT(!strcmp(msg_last(&m), "at lunch"), "301: %s", msg_last(&m));
	cli_expect_text(bob, "PRIVMSG", alice, "bob", "are you there");

	/* WHOIS: 312 names the node */
	cli_send(alice, "WHOIS bob");
	EXPECT_PARAM(alice, "311", 1, "bob", &m);
	EXPECT_PARAM(alice, "312", 2, "nB", &m);
	EXPECT(alice, "318", &m);
	cli_send(bob, "WHOIS alice");
	EXPECT_PARAM(bob, "312", 2, "nA", &m);
	EXPECT(bob, "318", &m);

	/* WHO, NAMES, LIST, LUSERS, ISON, USERHOST from the replica */
	cli_send(alice, "WHO #t");
	for (;;) {
		NEXT(alice, &m);
		if (!strcmp(m.command, "315"))
			break;
		if (!strcmp(m.command, "352")) {
			seen_bob |= !irc_casecmp(msg_param(&m, 5), "bob");
			seen_carol |= !irc_casecmp(msg_param(&m, 5), "carol");
		}
	}
	H_ASSERT(seen_bob && seen_carol, "WHO #t on nA: bob %d carol %d", seen_bob, seen_carol);
	cli_send(alice, "NAMES #t");
	EXPECT(alice, "353", &m);
	H_ASSERT(h_list_has(msg_last(&m), "bob") && h_list_has(msg_last(&m), "carol") &&
		 strstr(msg_last(&m), "+bob") && strstr(msg_last(&m), "@alice"),
		 "NAMES #t on nA: %s", msg_last(&m));
	EXPECT(alice, "366", &m);
	cli_send(carol, "LIST #t");
	EXPECT_PARAM(carol, "322", 1, "#t", &m);
	H_ASSERT(!strcmp(msg_param(&m, 2), "3"), "LIST #t on nB: %s members", msg_param(&m, 2));
	EXPECT(carol, "323", &m);
	cli_send(alice, "LUSERS");
	EXPECT(alice, "251", &m);
	H_ASSERT(strstr(msg_last(&m), "There are 4 users") != NULL, "251 on nA: %s",
		 msg_last(&m));
	cli_send(alice, "ISON bob carol dave nobody");
	EXPECT(alice, "303", &m);
	H_ASSERT(h_list_has(msg_last(&m), "bob") && h_list_has(msg_last(&m), "carol") &&
		 h_list_has(msg_last(&m), "dave") && !h_list_has(msg_last(&m), "nobody"),
		 "ISON on nA: %s", msg_last(&m));
	cli_send(alice, "USERHOST bob carol");
	EXPECT(alice, "302", &m);
	H_ASSERT(h_list_has(msg_last(&m), "bob") && h_list_has(msg_last(&m), "carol") &&
		 strstr(msg_last(&m), "bob=-") != NULL,
		 "USERHOST on nA (bob is away): %s", msg_last(&m));

	/* WHOWAS of a remote user gone */
	cli_send(dave, "QUIT :bye");
	EXPECT_EOF(dave, T_SHORT);
	{
		long long deadline = h_now_ms() + T_SHORT;

		/* dave's QUIT reaches nA through the log: ISON says when */
		for (;;) {
			cli_send(alice, "ISON dave");
			EXPECT(alice, "303", &m);
			if (!h_list_has(msg_last(&m), "dave"))
				break;
			H_ASSERT(h_now_ms() < deadline, "dave still on nA after QUIT");
			usleep(20 * 1000);
		}
	}
	cli_send(alice, "WHOWAS dave");
	EXPECT_PARAM(alice, "314", 1, "dave", &m);
	EXPECT(alice, "369", &m);

	still_talk(alice, carol);
}
END_TEST

/* ---------------------------------------------------------------- operators across nodes */

/* "secret" as sha512-crypt, as in check_oper */
#define OPERS_CONF \
	"opers = ( { name = \"boss\"; password = \"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuH" \
	"wwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\"; " \
	"hosts = [ \"*@127.0.0.1\" ]; } );\n"

START_TEST(test_opers)
{
	struct srv *a = node_start("nA", OPERS_CONF), *b = node_start("nB", OPERS_CONF);
	struct cli *boss = cli_new(a, "boss"), *wally = cli_new(b, "wally");
	struct cli *victim = cli_new(b, "victim"), *peer = cli_new(a, "peer");
	struct cli *peer2 = cli_new(b, "peer2");
	struct irc_msg m;

	cli_join(victim, "#room");
	cli_join(peer, "#room");
	cli_join(peer2, "#room");
	EXPECT_FROM(victim, "JOIN", "peer2", &m);
	EXPECT_FROM(peer, "JOIN", "peer2", &m);
	cli_send(wally, "MODE wally +w");
	EXPECT(wally, "MODE", &m);

	/* OPER's +o is known on the other node */
	cli_send(boss, "OPER boss :secret");
	EXPECT(boss, "381", &m);
	say(boss, "wally", "opered", (struct cli *[]){ wally }, 1);
	cli_send(wally, "WHOIS boss");
	EXPECT_PARAM(wally, "312", 2, "nA", &m);
	EXPECT_PARAM(wally, "313", 1, "boss", &m);
	EXPECT(wally, "318", &m);

	/* WALLOPS reaches a +w user on the other node */
	cli_send(boss, "WALLOPS :maintenance at noon");
	EXPECT(wally, "WALLOPS", &m);
	H_ASSERT(cli_prefix_is(boss, m.prefix), "WALLOPS prefix %s", m.prefix);
	H_ASSERT(!strcmp(msg_last(&m), "maintenance at noon"), "WALLOPS :%s", msg_last(&m));

	/* KILL of a user on the other node: closed there, its QUIT seen on both */
	cli_send(boss, "KILL victim :spamming");
	EXPECT(victim, "ERROR", &m);
	H_ASSERT(strstr(msg_last(&m), "Killed (boss (spamming))") != NULL, "victim's ERROR: %s",
		 msg_last(&m));
	EXPECT_EOF(victim, T_SHORT);
	EXPECT_FROM(peer, "QUIT", "victim", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Killed (boss (spamming))"), "QUIT on nA: %s",
		 msg_last(&m));
	EXPECT_FROM(peer2, "QUIT", "victim", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Killed (boss (spamming))"), "QUIT on nB: %s",
		 msg_last(&m));
	/* a non-oper cannot */
	cli_send(peer2, "KILL peer :no");
	EXPECT(peer2, "481", &m);
	say(peer, "#room", "still here", (struct cli *[]){ peer2 }, 1);
	still_talk(peer, wally);
}
END_TEST

/* ---------------------------------------------------------------- 3. the nick race */

/* did c's NICK go through (its echo) or was it refused (433)? */
static bool nick_outcome(struct cli *c, const char *want)
{
	struct irc_msg m;

	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("%s: neither NICK nor 433 for %s (%s)", c->nick, want,
			       c->eof ? "EOF" : "timeout");
		if (!strcmp(m.command, "433")) {
			H_ASSERT(!irc_casecmp(msg_param(&m, 1), want), "%s: 433 for %s", c->nick,
				 msg_param(&m, 1));
			return false;
		}
		if (!strcasecmp(m.command, "NICK") && cli_prefix_is(c, m.prefix)) {
			H_ASSERT(!strcmp(msg_last(&m), want), "%s: NICK to %s", c->nick, msg_last(&m));
			snprintf(c->nick, sizeof c->nick, "%s", want);
			return true;
		}
	}
}

START_TEST(test_nick_race)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *x = cli_new(a, "racerA"), *y = cli_new(b, "racerB");
	int wins[2] = { 0, 0 };

	for (int i = 0; i < 20; i++) {
		char nick[32];
		bool wx, wy;

		snprintf(nick, sizeof nick, "prize%d", i);
		/* both at once (in turns, who writes first), then read */
		cli_send(i % 2 ? y : x, "NICK %s", nick);
		cli_send(i % 2 ? x : y, "NICK %s", nick);
		wx = nick_outcome(x, nick);
		wy = nick_outcome(y, nick);
		H_ASSERT(wx != wy, "round %d: %s %s, %s %s", i, x->nick,
			 wx ? "won" : "lost", y->nick, wy ? "won" : "lost");
		wins[wx ? 0 : 1]++;
		/* both nodes agree on who holds it */
		{
			struct cli *winner = wx ? x : y, *loser = wx ? y : x;
			struct irc_msg m;

			cli_send(loser, "WHOIS %s", nick);
			EXPECT_PARAM(loser, "312", 2, winner == x ? "nA" : "nB", &m);
			EXPECT(loser, "318", &m);
		}
	}
	fprintf(stderr, "nick race: nA won %d, nB won %d\n", wins[0], wins[1]);
	still_talk(x, y);

	/* the same race at registration: one gets 001, the other 433 */
	for (int i = 0; i < 5; i++) {
		struct cli *p = cli_connect(a), *q = cli_connect(b);
		char nick[32];
		struct irc_msg m;
		int ok = 0;

		snprintf(nick, sizeof nick, "newcomer%d", i);
		cli_register_send(i % 2 ? q : p, nick);
		cli_register_send(i % 2 ? p : q, nick);
		for (int k = 0; k < 2; k++) {
			struct cli *c = k ? q : p;

			for (;;) {
				if (!cli_next(c, T_SHORT, &m))
					H_FAIL("registration %d: neither 001 nor 433 (%s)", i,
					       c->eof ? "EOF" : "timeout");
				if (!strcmp(m.command, "001")) {
					ok++;
					break;
				}
				if (!strcmp(m.command, "433"))
					break;
			}
		}
		H_ASSERT(ok == 1, "registration race %d: %d clients got %s", i, ok, nick);
	}
	still_talk(x, y);
}
END_TEST

/* ---------------------------------------------------------------- 4. exactly once, in order */

START_TEST(test_exactly_once_in_order)
{
	struct srv *s[3];
	struct cli *c[ORDER_CLIENTS];
	/* next[r][k]: the number recipient r expects next from sender k */
	static int next[ORDER_CLIENTS][ORDER_CLIENTS];
	int done[ORDER_CLIENTS] = { 0 };
	int finished = 0;
	const int want = (ORDER_CLIENTS - 1) * ORDER_MSGS_EACH;
	long long t0, deadline;

	s[0] = node_start("nA", NULL);
	s[1] = node_start("nB", NULL);
	s[2] = node_start("nC", NULL);
	for (int i = 0; i < ORDER_CLIENTS; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "o%d", i);
		c[i] = cli_connect(s[i % 3]);
		cli_register_send(c[i], nick);
	}
	for (int i = 0; i < ORDER_CLIENTS; i++)
		cli_register_wait(c[i]);
	for (int i = 0; i < ORDER_CLIENTS; i++)
		cli_join(c[i], "#all");
	/* the last JOIN reached everyone: nobody misses a message from then on */
	for (int i = 0; i < ORDER_CLIENTS - 1; i++) {
		struct irc_msg m;

		EXPECT_FROM(c[i], "JOIN", c[ORDER_CLIENTS - 1]->nick, &m);
	}
	memset(next, 0, sizeof next);
	t0 = h_now_ms();
	for (int k = 0; k < ORDER_MSGS_EACH; k++)
		for (int i = 0; i < ORDER_CLIENTS; i++)
			cli_send(c[i], "PRIVMSG #all :n %d %d", i, k);
	deadline = h_now_ms() + T_LONG * 2;
	while (finished < ORDER_CLIENTS) {
		struct pollfd pfd[ORDER_CLIENTS];
		bool any = false;

		for (int r = 0; r < ORDER_CLIENTS; r++) {
			char *line;
			size_t len;

			while (done[r] < want && cli_line_nowait(c[r], &line, &len)) {
				struct irc_msg m;
				int from, num;

				any = true;
				if (irc_parse(&m, line, len) != IRC_PARSE_OK)
					H_FAIL("%s: unparsable line %s", c[r]->nick, line);
				if (strcmp(m.command, "PRIVMSG"))
					continue;
				if (sscanf(msg_last(&m), "n %d %d", &from, &num) != 2 || from < 0 ||
				    from >= ORDER_CLIENTS || from == r)
					H_FAIL("%s: unexpected PRIVMSG '%s'", c[r]->nick, msg_last(&m));
				H_ASSERT(cli_prefix_is(c[from], m.prefix), "%s: '%s' from %s",
					 c[r]->nick, msg_last(&m), m.prefix);
				if (num != next[r][from])
					H_FAIL("%s: from %s got message %d, expected %d (%s)",
					       c[r]->nick, c[from]->nick, num, next[r][from],
					       num < next[r][from] ? "a duplicate or out of order" :
					       "one missing or out of order");
				next[r][from]++;
				if (++done[r] == want)
					finished++;
			}
		}
		if (any)
			continue;
		H_ASSERT(h_now_ms() < deadline, "not every message within %d ms: %d of %d "
			 "clients have all %d", T_LONG * 2, finished, ORDER_CLIENTS, want);
		for (int r = 0; r < ORDER_CLIENTS; r++)
			pfd[r] = (struct pollfd){ .fd = done[r] < want ? c[r]->fd : -1,
						  .events = POLLIN };
		poll(pfd, ORDER_CLIENTS, 100);
	}
	fprintf(stderr, "exactly once: %d clients, %d messages each, all delivered in %lld ms\n",
		ORDER_CLIENTS, ORDER_MSGS_EACH, h_now_ms() - t0);
	/* nothing more: no late duplicate */
	for (int r = 0; r < ORDER_CLIENTS; r++)
		H_ASSERT(cli_sync(c[r], "PRIVMSG") == 0, "%s: a PRIVMSG more", c[r]->nick);
	still_talk(c[0], c[1]);
}
END_TEST

/* ---------------------------------------------------------------- 5. a node killed */

START_TEST(test_node_killed)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct srv *c = node_start("nC", NULL);
	struct cli *alice = cli_new(a, "alice"), *bob = cli_new(b, "bob");
	struct cli *k1 = cli_new(c, "kay1"), *k2 = cli_new(c, "kay2");
	struct cli *survivors[] = { alice, bob };
	struct irc_msg m;
	long long t0;

	cli_join(alice, "#k");
	cli_join(bob, "#k");
	cli_join(k1, "#k");
	cli_join(k2, "#k");
	EXPECT_FROM(alice, "JOIN", "kay2", &m);
	EXPECT_FROM(bob, "JOIN", "kay2", &m);
	say(k2, "#k", "from nC", survivors, 2);

	t0 = h_now_ms();
	srv_kill(c);
	for (int i = 0; i < 2; i++) {
		struct cli *s = survivors[i];
		int q1 = 0, q2 = 0;
		long long deadline = t0 + (DEAD_AFTER + 4) * 1000LL * h_scale;

		while (q1 == 0 || q2 == 0) {
			long long left = deadline - h_now_ms();

			if (left <= 0 || !cli_wait(s, "QUIT", NULL, (int)left, &m))
				H_FAIL("%s: QUITs of nC's clients not within %d s of the kill "
				       "(kay1 %d, kay2 %d)", s->nick, DEAD_AFTER + 4, q1, q2);
			H_ASSERT(strstr(msg_last(&m), "went away") != NULL &&
				 strstr(msg_last(&m), "nC") != NULL, "%s: QUIT reason '%s'",
				 s->nick, msg_last(&m));
			if (cli_prefix_is(k1, m.prefix))
				q1++;
			else if (cli_prefix_is(k2, m.prefix))
				q2++;
			else
				H_FAIL("%s: QUIT of %s", s->nick, m.prefix);
		}
		fprintf(stderr, "node killed: %s saw both QUITs %lld ms after the kill\n",
			s->nick, h_now_ms() - t0);
	}
	/* once: another node's announcement would come within dead_after */
	for (int i = 0; i < 2; i++)
		H_ASSERT(cli_none(survivors[i], "QUIT", DEAD_AFTER * 1000 / 2 * h_scale),
			 "%s: a QUIT more: %s", survivors[i]->nick,
			 survivors[i]->hist[(survivors[i]->nhist - 1) % 16]);
	/* the nicks are free again */
	cli_send(alice, "ISON kay1 kay2 bob");
	EXPECT(alice, "303", &m);
	H_ASSERT(h_list_has(msg_last(&m), "bob") && !h_list_has(msg_last(&m), "kay1") &&
		 !h_list_has(msg_last(&m), "kay2"), "ISON on nA: %s", msg_last(&m));
	say(alice, "#k", "still here", (struct cli *[]){ bob }, 1);
	still_talk(alice, bob);
	{
		struct cli *k = cli_new(b, "kay1");

		cli_join(k, "#k");
		EXPECT_FROM(alice, "JOIN", "kay1", &m);
	}
	/* nC again, a new incarnation under the same name, joins the network */
	c = node_start("nC", NULL);
	k2 = cli_new(c, "kay2");
	cli_send(k2, "WHOIS kay1");
	EXPECT_PARAM(k2, "312", 2, "nB", &m);
	EXPECT(k2, "318", &m);
	cli_join(k2, "#k");
	EXPECT_FROM(alice, "JOIN", "kay2", &m);
	EXPECT_FROM(bob, "JOIN", "kay2", &m);
	say(k2, "#k", "back from nC", survivors, 2);
	still_talk(k2, alice);
}
END_TEST

/*
 * A node cut off for longer than dead_after (its master stopped): the
 * others declare it dead and its client quits there; another client takes
 * its nick meanwhile. When it is back, its client comes back (RESTORE):
 * under a fallback nick, told by NICK and a NOTICE, in its channel with
 * its status, which the others see as a JOIN and a MODE.
 */
START_TEST(test_node_cut_off)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL);
	struct cli *alice = cli_new(a, "alice"), *bob = cli_new(b, "bob"), *thief;
	struct irc_msg m;
	char fallback[IRC_NICK_MAX + 1];

	cli_join(alice, "#r");
	cli_join(bob, "#r");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	say(alice, "#r", "before", (struct cli *[]){ bob }, 1);

	H_ASSERT(kill(a->pid, SIGSTOP) == 0, "SIGSTOP nA: %s", strerror(errno));
	expect_text_in(__FILE__, __LINE__, bob, "QUIT", "alice", "nA went away", T_LONG, &m);
	thief = cli_new(b, "alice");		/* the nick is free on the network */
	H_ASSERT(kill(a->pid, SIGCONT) == 0, "SIGCONT nA: %s", strerror(errno));

	/* alice hears of her new nick, then the NOTICE saying why */
	h_expect(__FILE__, __LINE__, alice, "NICK", "alice", T_LONG, &m);
	snprintf(fallback, sizeof fallback, "%s", msg_param(&m, 0));
	H_ASSERT(strncmp(fallback, "alice|", 6) == 0, "fallback nick '%s'", fallback);
	snprintf(alice->nick, sizeof alice->nick, "%.*s", (int)sizeof alice->nick - 1, fallback);
	EXPECT_TEXT(alice, "NOTICE", NULL, "took the nick alice", &m);
	/* bob sees her come back, with her operator status */
	EXPECT_FROM(bob, "JOIN", fallback, &m);
	EXPECT_TEXT(bob, "MODE", NULL, fallback, &m);
	H_ASSERT(strstr(m.params[1], "+o") != NULL, "MODE %s", m.params[1]);
	say(alice, "#r", "after", (struct cli *[]){ bob }, 1);
	say(bob, "#r", "welcome back", (struct cli *[]){ alice }, 1);
	still_talk(alice, thief);
	H_ASSERT(srv_log_has(a, "declared this node dead", 0), "nA's log says nothing");
}
END_TEST

/* ---------------------------------------------------------------- 6. a late node */

START_TEST(test_late_node)
{
	struct srv *a = node_start("nA", NULL), *b = node_start("nB", NULL), *c;
	struct cli *alice = cli_new(a, "alice"), *bob = cli_new(b, "bob"), *carol;
	struct irc_msg m;
	bool ban1 = false, ban2 = false;

	cli_join(alice, "#late");
	cli_join(bob, "#late");
	EXPECT_FROM(alice, "JOIN", "bob", &m);
	cli_send(alice, "TOPIC #late :before you came");
	EXPECT_FROM(bob, "TOPIC", "alice", &m);
	cli_send(alice, "MODE #late +tnk key1");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(alice, "MODE #late +v bob");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(alice, "MODE #late +bb bad!*@* *!*@evil.example");
	EXPECT_FROM(bob, "MODE", "alice", &m);
	cli_send(bob, "AWAY :elsewhere");
	EXPECT(bob, "306", &m);
	/* nB has all of it: nC, joining now, must get it too */
	cli_sync(bob, NULL);

	c = node_start("nC", NULL);
	H_ASSERT(srv_log_has(c, "cluster: joined the network", 0),
		 "nC did not join by a snapshot");
	carol = cli_new(c, "carol");
	cli_send(carol, "JOIN #late");
	EXPECT_PARAM(carol, "475", 1, "#late", &m);
	cli_send(carol, "JOIN #late key1");
	EXPECT_FROM(carol, "JOIN", "carol", &m);
	EXPECT_PARAM(carol, "332", 1, "#late", &m);
	H_ASSERT(!strcmp(msg_last(&m), "before you came"), "332 on nC: %s", msg_last(&m));
	EXPECT(carol, "353", &m);
	H_ASSERT(strstr(msg_last(&m), "@alice") && strstr(msg_last(&m), "+bob") &&
		 h_list_has(msg_last(&m), "carol"), "NAMES #late on nC: %s", msg_last(&m));
	EXPECT(carol, "366", &m);
	EXPECT_FROM(alice, "JOIN", "carol", &m);
	EXPECT_FROM(bob, "JOIN", "carol", &m);
	cli_send(carol, "MODE #late b");
	for (;;) {
		NEXT(carol, &m);
		if (!strcmp(m.command, "368"))
			break;
		if (!strcmp(m.command, "367")) {
			ban1 |= !strcmp(msg_param(&m, 2), "bad!*@*");
			ban2 |= !strcmp(msg_param(&m, 2), "*!*@evil.example");
		}
	}
	H_ASSERT(ban1 && ban2, "ban list on nC: bad %d evil %d", ban1, ban2);
	cli_send(carol, "MODE #late");
	EXPECT_PARAM(carol, "324", 1, "#late", &m);
	H_ASSERT(strchr(msg_param(&m, 2), 't') && strchr(msg_param(&m, 2), 'n') &&
		 strchr(msg_param(&m, 2), 'k'), "modes on nC: %s", msg_param(&m, 2));
	cli_send(carol, "WHOIS bob");
	EXPECT_PARAM(carol, "312", 2, "nB", &m);
	EXPECT_PARAM(carol, "301", 1, "bob", &m);
	EXPECT(carol, "318", &m);
	cli_send(carol, "TOPIC #late :mine");
	EXPECT_PARAM(carol, "482", 1, "#late", &m);

	/* and chats with both */
	say(carol, "#late", "hi from nC", (struct cli *[]){ alice, bob }, 2);
	say(alice, "#late", "welcome", (struct cli *[]){ bob, carol }, 2);
	say(bob, "#late", "welcome too", (struct cli *[]){ alice, carol }, 2);
	still_talk(carol, alice);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("cluster");
	TCase *tc;
	int rc;

	if (!cl_init("check_cluster", &rc))
		return rc;
	tc = h_tcase(su, "nodes", 40, cl_setup, cl_teardown);
	tcase_add_test(tc, test_two_nodes_basics);
	tcase_add_test(tc, test_tcp_url);
	tcase_add_test(tc, test_command_families);
	tcase_add_test(tc, test_opers);
	tcase_add_test(tc, test_nick_race);
	tcase_add_test(tc, test_exactly_once_in_order);
	tcase_add_test(tc, test_node_killed);
	tcase_add_test(tc, test_node_cut_off);
	tcase_add_test(tc, test_late_node);
	return h_suite_run(su);
}
