#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

/*
 * Integration tests of the query commands against a real shmchatd: WHOWAS
 * (after QUIT, after NICK, unknown nicks, the count, a bounded history),
 * LUSERS 265/266, INFO, ADMIN, VERSION's 005, and registration's refusals
 * (USER with an empty real name, AUTHENTICATE without SASL). Each test
 * ends by showing that others are still served (h_fx_alive()). No
 * sleeps: replies and PING round trips synchronise.
 */

/* ---------------------------------------------------------------- helpers */

/* one reply line, its parameters kept */
struct rl {
	char cmd[16];
	char p[6][160];
	int nparams;
};

#define MAXR	64

/*
 * Send line and "PING :probe<n>" in one write; the replies before the PONG.
 * Every raw line must parse and hold no NUL byte.
 */
static int replies_to(struct cli *c, const char *line, struct rl *r, int max)
{
	static unsigned seq;
	char ping[32], buf[600], *raw;
	size_t len;
	struct irc_msg m;
	int n = 0;

	snprintf(ping, sizeof ping, "probe%u", ++seq);
	snprintf(buf, sizeof buf, "%s\r\nPING :%s\r\n", line, ping);
	H_ASSERT(cli_send_raw(c, buf, strlen(buf)), "%s: send failed", c->nick);
	for (;;) {
		if (!cli_line(c, T_SHORT, &raw, &len))
			H_FAIL("%s: '%s': no PONG (%s)", c->nick, line, c->eof ? "EOF" : "timeout");
		H_ASSERT(strlen(raw) == len, "%s: reply to '%s' has a NUL byte: %s", c->nick,
			 line, raw);
		if (irc_parse(&m, raw, len) != IRC_PARSE_OK)
			H_FAIL("%s: unparsable reply to '%s': %s", c->nick, line, raw);
		if (!strcmp(m.command, "PONG") && !strcmp(msg_last(&m), ping))
			return n;
		H_ASSERT(n < max, "%s: more than %d replies to '%s'", c->nick, max, line);
		snprintf(r[n].cmd, sizeof r[n].cmd, "%s", m.command);
		r[n].nparams = m.nparams;
		for (int i = 0; i < 6; i++)
			snprintf(r[n].p[i], sizeof r[n].p[i], "%s", msg_param(&m, i));
		n++;
	}
}

/* "CMD p1 p2 ..., CMD ..." for messages */
static const char *replies_str(const struct rl *r, int n)
{
	static char out[4096];
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < n && len < sizeof out; i++) {
		len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? ", " : "", r[i].cmd);
		for (int j = 1; j < r[i].nparams && j < 6 && len < sizeof out; j++)
			len += (size_t)snprintf(out + len, sizeof out - len, " '%s'", r[i].p[j]);
	}
	return n ? out : "(nothing)";
}

/* how many replies have this command */
static int count_cmd(const struct rl *r, int n, const char *cmd)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += !strcmp(r[i].cmd, cmd);
	return k;
}

/* the replies' commands are exactly want (blank-separated), in order */
static void expect_cmds(const struct rl *r, int n, const char *line, const char *want)
{
	char got[1024] = "";

	for (int i = 0; i < n; i++) {
		strncat(got, i ? " " : "", sizeof got - strlen(got) - 1);
		strncat(got, r[i].cmd, sizeof got - strlen(got) - 1);
	}
	H_ASSERT(!strcmp(got, want), "'%s': replies %s, expected %s (%s)", line, got, want,
		 replies_str(r, n));
}

/* the 314 and 312 of one WHOWAS entry of c (registered as cli_new does) */
static void expect_whowas_entry(const struct rl *r, const struct cli *c, const char *nick,
				const char *realname)
{
	H_ASSERT(!strcmp(r[0].cmd, "314") && !strcmp(r[0].p[1], nick) &&
		 !strcmp(r[0].p[2], c->user) && !strcmp(r[0].p[3], "127.0.0.1") &&
		 !strcmp(r[0].p[4], "*") && !strcmp(r[0].p[5], realname),
		 "314 of %s: %s", nick, replies_str(r, 1));
	/* 312 nick server :time, the time as ctime() has it */
	H_ASSERT(!strcmp(r[1].cmd, "312") && !strcmp(r[1].p[1], nick) &&
		 !strcmp(r[1].p[2], "irc.test") && strlen(r[1].p[3]) >= 20,
		 "312 of %s: %s", nick, replies_str(r + 1, 1));
}

/* ----------------------------------------------------------------- WHOWAS */

/* a client that quit is remembered: 314, 312, 369, any case of its nick */
START_TEST(test_whowas_after_quit)
{
	struct h_fx f;
	struct cli *alice;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	alice = cli_new(f.s, "Alice");
	cli_join(alice, "#live");
	EXPECT_FROM(f.tester, "JOIN", "Alice", NULL);
	cli_send(alice, "QUIT :bye");
	EXPECT_FROM(f.tester, "QUIT", "Alice", NULL);
	n = replies_to(f.tester, "WHOWAS Alice", r, MAXR);
	expect_cmds(r, n, "WHOWAS Alice", "314 312 369");
	expect_whowas_entry(r, alice, "Alice", "Real Alice");
	H_ASSERT(!strcmp(r[2].p[1], "Alice"), "369 is about %s", r[2].p[1]);
	n = replies_to(f.tester, "WHOWAS aLICE", r, MAXR);
	expect_cmds(r, n, "WHOWAS aLICE", "314 312 369");
	H_ASSERT(!strcmp(r[0].p[1], "Alice"), "314 spells the nick %s", r[0].p[1]);
	/* several nicks: the first one is answered */
	n = replies_to(f.tester, "WHOWAS alice,ghost", r, MAXR);
	expect_cmds(r, n, "WHOWAS alice,ghost", "314 312 369");
	/* a connection lost counts as leaving too */
	{
		struct cli *bob = cli_new(f.s, "bob");

		cli_join(bob, "#live");
		EXPECT_FROM(f.tester, "JOIN", "bob", NULL);
		cli_close(bob);
		EXPECT_FROM(f.tester, "QUIT", "bob", NULL);
		n = replies_to(f.tester, "WHOWAS bob", r, MAXR);
		expect_cmds(r, n, "WHOWAS bob", "314 312 369");
	}
	h_fx_stop(&f);
}
END_TEST

/* a NICK change leaves the old nick in the history, not the new one */
START_TEST(test_whowas_after_nick)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	cli_send(f.speaker, "NICK talker");
	EXPECT_FROM(f.tester, "NICK", "speaker", NULL);
	snprintf(f.speaker->nick, sizeof f.speaker->nick, "talker");
	n = replies_to(f.tester, "WHOWAS speaker", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker", "314 312 369");
	expect_whowas_entry(r, f.speaker, "speaker", "Real speaker");
	n = replies_to(f.tester, "WHOWAS talker", r, MAXR);
	expect_cmds(r, n, "WHOWAS talker", "406 369");
	/* only the case changed: nothing is gone */
	cli_send(f.listener, "NICK LISTENER");
	EXPECT_FROM(f.tester, "NICK", "listener", NULL);
	snprintf(f.listener->nick, sizeof f.listener->nick, "LISTENER");
	n = replies_to(f.tester, "WHOWAS listener", r, MAXR);
	expect_cmds(r, n, "WHOWAS listener", "406 369");
	h_fx_stop(&f);
}
END_TEST

/* unknown nicks, no nick, odd arguments: clean answers only */
START_TEST(test_whowas_unknown)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	n = replies_to(f.tester, "WHOWAS ghost", r, MAXR);
	expect_cmds(r, n, "WHOWAS ghost", "406 369");
	H_ASSERT(!strcmp(r[0].p[1], "ghost") && !strcmp(r[1].p[1], "ghost"),
		 "WHOWAS ghost: %s", replies_str(r, n));
	/* a client still here was never gone */
	n = replies_to(f.tester, "WHOWAS speaker", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker", "406 369");
	n = replies_to(f.tester, "WHOWAS", r, MAXR);
	expect_cmds(r, n, "WHOWAS", "431");
	n = replies_to(f.tester, "WHOWAS :", r, MAXR);
	expect_cmds(r, n, "WHOWAS :", "431");
	n = replies_to(f.tester, "WHOWAS ,ghost", r, MAXR);
	expect_cmds(r, n, "WHOWAS ,ghost", "431");
	n = replies_to(f.tester, "WHOWAS ghost -5 irc.test", r, MAXR);
	expect_cmds(r, n, "WHOWAS ghost -5 irc.test", "406 369");
	n = replies_to(f.tester, "WHOWAS ghost 99999999999999999999999", r, MAXR);
	expect_cmds(r, n, "WHOWAS ghost 999...", "406 369");
	{
		char line[600];

		snprintf(line, sizeof line, "WHOWAS %0400d", 7);
		n = replies_to(f.tester, line, r, MAXR);
		H_ASSERT(n == 2 && !strcmp(r[0].cmd, "406") && !strcmp(r[1].cmd, "369"),
			 "WHOWAS <400 digits>: %s", replies_str(r, n));
	}
	h_fx_stop(&f);
}
END_TEST

/* count: at most that many entries, newest first; none or 0: all of them */
START_TEST(test_whowas_count)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	/* speaker is "speaker" three times over: three entries of it */
	for (int i = 1; i <= 3; i++) {
		char other[16];

		snprintf(other, sizeof other, "spk%d", i);
		cli_send(f.speaker, "NICK %s", other);
		EXPECT_FROM(f.tester, "NICK", "speaker", NULL);
		cli_send(f.speaker, "NICK speaker");
		EXPECT_FROM(f.tester, "NICK", other, NULL);
	}
	n = replies_to(f.tester, "WHOWAS speaker", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker", "314 312 314 312 314 312 369");
	n = replies_to(f.tester, "WHOWAS speaker 0", r, MAXR);
	H_ASSERT(count_cmd(r, n, "314") == 3, "WHOWAS speaker 0: %s", replies_str(r, n));
	n = replies_to(f.tester, "WHOWAS speaker 2", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker 2", "314 312 314 312 369");
	n = replies_to(f.tester, "WHOWAS speaker 1", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker 1", "314 312 369");
	n = replies_to(f.tester, "WHOWAS spk2 5", r, MAXR);
	expect_cmds(r, n, "WHOWAS spk2 5", "314 312 369");
	h_fx_stop(&f);
}
END_TEST

/* whowas_history bounds the history: the oldest is forgotten; 0 keeps none */
START_TEST(test_whowas_bounded)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, "whowas_history = 2;", H_TESTER_IN_LIVE);
	cli_send(f.speaker, "NICK w1");
	EXPECT_FROM(f.tester, "NICK", "speaker", NULL);
	cli_send(f.speaker, "NICK w2");
	EXPECT_FROM(f.tester, "NICK", "w1", NULL);
	cli_send(f.speaker, "NICK w3");
	EXPECT_FROM(f.tester, "NICK", "w2", NULL);
	snprintf(f.speaker->nick, sizeof f.speaker->nick, "w3");
	n = replies_to(f.tester, "WHOWAS speaker", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker (forgotten)", "406 369");
	n = replies_to(f.tester, "WHOWAS w1", r, MAXR);
	expect_cmds(r, n, "WHOWAS w1", "314 312 369");
	n = replies_to(f.tester, "WHOWAS w2", r, MAXR);
	expect_cmds(r, n, "WHOWAS w2", "314 312 369");
	h_fx_alive(&f);
	srv_stop(f.s);

	h_fx_start(&f, "whowas_history = 0;", H_TESTER_IN_LIVE);
	cli_send(f.speaker, "NICK w1");
	EXPECT_FROM(f.tester, "NICK", "speaker", NULL);
	snprintf(f.speaker->nick, sizeof f.speaker->nick, "w1");
	n = replies_to(f.tester, "WHOWAS speaker", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker (no history)", "406 369");
	h_fx_stop(&f);
}
END_TEST

/* a reload to a smaller whowas_history keeps the newest entries */
START_TEST(test_whowas_reload)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	cli_send(f.speaker, "NICK x1");
	EXPECT_FROM(f.tester, "NICK", "speaker", NULL);
	cli_send(f.speaker, "NICK x2");
	EXPECT_FROM(f.tester, "NICK", "x1", NULL);
	snprintf(f.speaker->nick, sizeof f.speaker->nick, "x2");
	srv_write_conf(f.s, "whowas_history = 1;");
	H_ASSERT(kill(f.s->pid, SIGHUP) == 0, "kill SIGHUP: %s", strerror(errno));
	H_ASSERT(srv_wait_notify(f.s, "RELOADING=1", T_SHORT, NULL, 0), "no RELOADING=1");
	H_ASSERT(srv_wait_notify(f.s, "READY=1", T_LONG, NULL, 0), "no READY=1 after the reload");
	n = replies_to(f.tester, "WHOWAS speaker", r, MAXR);
	expect_cmds(r, n, "WHOWAS speaker after the reload", "406 369");
	n = replies_to(f.tester, "WHOWAS x1", r, MAXR);
	expect_cmds(r, n, "WHOWAS x1 after the reload", "314 312 369");
	/* and it goes on as a history of one */
	cli_send(f.speaker, "NICK x3");
	EXPECT_FROM(f.tester, "NICK", "x2", NULL);
	snprintf(f.speaker->nick, sizeof f.speaker->nick, "x3");
	n = replies_to(f.tester, "WHOWAS x1", r, MAXR);
	expect_cmds(r, n, "WHOWAS x1 (forgotten)", "406 369");
	n = replies_to(f.tester, "WHOWAS x2", r, MAXR);
	expect_cmds(r, n, "WHOWAS x2", "314 312 369");
	h_fx_stop(&f);
}
END_TEST

/* ----------------------------------------------------------------- LUSERS */

/* 265 and 266 "current max :Current ... users current, max max" */
static void expect_users(const struct rl *r, int n, const char *what, const char *cur,
			 const char *max)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(r[i].cmd, "265") && strcmp(r[i].cmd, "266"))
			continue;
		H_ASSERT(!strcmp(r[i].p[1], cur) && !strcmp(r[i].p[2], max),
			 "%s: %s %s %s, expected %s %s", what, r[i].cmd, r[i].p[1], r[i].p[2], cur,
			 max);
		H_ASSERT(strstr(r[i].p[3], cur) && strstr(r[i].p[3], max), "%s: %s :%s", what,
			 r[i].cmd, r[i].p[3]);
	}
	H_ASSERT(count_cmd(r, n, "265") == 1 && count_cmd(r, n, "266") == 1,
		 "%s: one 265 and one 266 expected: %s", what, replies_str(r, n));
}

/* LUSERS ends 255 265 266 */
static void expect_after_255(const struct rl *r, int n, const char *what)
{
	H_ASSERT(n >= 3 && !strcmp(r[n - 3].cmd, "255") && !strcmp(r[n - 2].cmd, "265") &&
		 !strcmp(r[n - 1].cmd, "266"), "%s: %s", what, replies_str(r, n));
}

START_TEST(test_lusers_max)
{
	struct h_fx f;
	struct cli *guest, *late;
	struct rl r[MAXR];
	struct irc_msg m;
	int n = 0;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	guest = cli_new(f.s, "guest");
	cli_join(guest, "#live");
	EXPECT_FROM(f.tester, "JOIN", "guest", NULL);
	n = replies_to(f.tester, "LUSERS", r, MAXR);
	expect_after_255(r, n, "LUSERS");
	expect_users(r, n, "LUSERS with 4", "4", "4");
	cli_send(guest, "QUIT");
	EXPECT_FROM(f.tester, "QUIT", "guest", NULL);
	n = replies_to(f.tester, "LUSERS", r, MAXR);
	expect_users(r, n, "LUSERS after one left", "3", "4");

	/* the welcome has them too, after 255 */
	late = cli_connect(f.s);
	cli_register_send(late, "late");
	n = 0;
	for (;;) {
		H_ASSERT(cli_next(late, T_LONG, &m), "late: registration did not end (%s)",
			 late->eof ? "EOF" : "timeout");
		if (!strcmp(m.command, "376") || !strcmp(m.command, "422"))
			break;
		if (strcmp(m.command, "255") && strcmp(m.command, "265") &&
		    strcmp(m.command, "266"))
			continue;
		H_ASSERT(n < MAXR, "too many replies");
		snprintf(r[n].cmd, sizeof r[n].cmd, "%s", m.command);
		r[n].nparams = m.nparams;
		for (int i = 0; i < 6; i++)
			snprintf(r[n].p[i], sizeof r[n].p[i], "%s", msg_param(&m, i));
		n++;
	}
	expect_cmds(r, n, "the welcome", "255 265 266");
	expect_users(r, n, "the welcome", "4", "4");
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------ INFO ADMIN VERSION */

START_TEST(test_info)
{
	struct h_fx f;
	struct rl r[MAXR];
	bool version = false, since = false;
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	n = replies_to(f.tester, "INFO", r, MAXR);
	H_ASSERT(n >= 4 && !strcmp(r[n - 1].cmd, "374"), "INFO: %s", replies_str(r, n));
	H_ASSERT(count_cmd(r, n, "371") == n - 1, "INFO: %s", replies_str(r, n));
	for (int i = 0; i < n - 1; i++) {
		version |= strstr(r[i].p[1], "shmchat-" PACKAGE_VERSION) != NULL;
		since |= strncmp(r[i].p[1], "On-line since ", 14) == 0;
	}
	H_ASSERT(version && since, "INFO without the version or the start: %s",
		 replies_str(r, n));
	n = replies_to(f.tester, "INFO irc.test", r, MAXR);
	H_ASSERT(!strcmp(r[n - 1].cmd, "374"), "INFO irc.test: %s", replies_str(r, n));
	n = replies_to(f.tester, "INFO listener", r, MAXR);
	H_ASSERT(!strcmp(r[n - 1].cmd, "374"), "INFO listener: %s", replies_str(r, n));
	n = replies_to(f.tester, "INFO other.example", r, MAXR);
	expect_cmds(r, n, "INFO other.example", "402");
	H_ASSERT(!strcmp(r[0].p[1], "other.example"), "402 is about %s", r[0].p[1]);
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_admin_configured)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, "admin_info = { location = \"Room 101, Oulu\"; "
		   "description = \"Run by the chat team\"; email = \"chat@example.org\"; };",
		   H_TESTER_IN_LIVE);
	n = replies_to(f.tester, "ADMIN", r, MAXR);
	expect_cmds(r, n, "ADMIN", "256 257 258 259");
	H_ASSERT(!strcmp(r[0].p[1], "irc.test"), "256: %s", replies_str(r, n));
	H_ASSERT(!strcmp(r[1].p[1], "Room 101, Oulu"), "257: %s", r[1].p[1]);
	H_ASSERT(!strcmp(r[2].p[1], "Run by the chat team"), "258: %s", r[2].p[1]);
	H_ASSERT(!strcmp(r[3].p[1], "chat@example.org"), "259: %s", r[3].p[1]);
	n = replies_to(f.tester, "ADMIN *.TEST", r, MAXR);
	expect_cmds(r, n, "ADMIN *.TEST", "256 257 258 259");
	n = replies_to(f.tester, "ADMIN irc.example.org", r, MAXR);
	expect_cmds(r, n, "ADMIN irc.example.org", "402");
	H_ASSERT(!strcmp(r[0].p[1], "irc.example.org"), "402 is about %s", r[0].p[1]);
	h_fx_stop(&f);
}
END_TEST

/* nothing configured: the location is the description, the rest empty */
START_TEST(test_admin_defaults)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, "description = \"A test server\";", H_TESTER_IN_LIVE);
	n = replies_to(f.tester, "ADMIN", r, MAXR);
	expect_cmds(r, n, "ADMIN", "256 257 258 259");
	H_ASSERT(!strcmp(r[1].p[1], "A test server"), "257: %s", r[1].p[1]);
	H_ASSERT(r[2].nparams == 2 && !strcmp(r[2].p[1], ""), "258: %s", replies_str(r, n));
	H_ASSERT(r[3].nparams == 2 && !strcmp(r[3].p[1], ""), "259: %s", replies_str(r, n));
	h_fx_stop(&f);
}
END_TEST

/* VERSION: 351, then the 005 lines the welcome has */
START_TEST(test_version_isupport)
{
	struct h_fx f;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	n = replies_to(f.tester, "VERSION", r, MAXR);
	H_ASSERT(n >= 2 && !strcmp(r[0].cmd, "351") && count_cmd(r, n, "005") == n - 1,
		 "VERSION: %s", replies_str(r, n));
	H_ASSERT(!strncmp(r[0].p[1], "shmchat-", 8), "351: %s", replies_str(r, 1));
	{
		bool casemapping = false;

		for (int i = 1; i < n; i++)
			for (int j = 1; j < 6; j++)
				casemapping |= !strcmp(r[i].p[j], "CASEMAPPING=rfc1459");
		H_ASSERT(casemapping, "005 after VERSION: %s", replies_str(r, n));
	}
	n = replies_to(f.tester, "VERSION nowhere.example", r, MAXR);
	expect_cmds(r, n, "VERSION nowhere.example", "402");
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------ registration */

/* USER with an empty real name or too few parameters: 461, and a proper
 * USER afterwards registers */
START_TEST(test_user_empty_realname)
{
	struct h_fx f;
	struct cli *eve;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	eve = cli_connect(f.s);
	snprintf(eve->nick, sizeof eve->nick, "eve");
	snprintf(eve->user, sizeof eve->user, "eve");
	n = replies_to(eve, "NICK eve", r, MAXR);
	expect_cmds(r, n, "NICK eve", "");
	n = replies_to(eve, "USER eve 0 * :", r, MAXR);
	expect_cmds(r, n, "USER eve 0 * :", "461");
	H_ASSERT(!strcmp(r[0].p[0], "eve") && !strcmp(r[0].p[1], "USER"), "461: %s",
		 replies_str(r, n));
	n = replies_to(eve, "USER eve 0 *", r, MAXR);
	expect_cmds(r, n, "USER eve 0 *", "461");
	n = replies_to(eve, "USER eve", r, MAXR);
	expect_cmds(r, n, "USER eve", "461");
	/* not registered by any of them */
	n = replies_to(eve, "PRIVMSG speaker :early", r, MAXR);
	expect_cmds(r, n, "PRIVMSG before registration", "451");
	cli_send(eve, "USER eve 0 * :Eve Example");
	cli_register_wait(eve);
	cli_send(eve, "PRIVMSG listener :registered now");
	cli_expect_text(f.listener, "PRIVMSG", eve, "listener", "registered now");
	h_fx_stop(&f);
}
END_TEST

/* a client set up for SASL: no sasl in CAP LS, REQ refused, AUTHENTICATE
 * answered 904, and registration completes after CAP END */
START_TEST(test_authenticate)
{
	struct h_fx f;
	struct cli *sam;
	struct rl r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER_IN_LIVE);
	sam = cli_connect(f.s);
	snprintf(sam->nick, sizeof sam->nick, "sam");
	snprintf(sam->user, sizeof sam->user, "sam");
	n = replies_to(sam, "CAP LS 302", r, MAXR);
	expect_cmds(r, n, "CAP LS 302", "CAP");
	H_ASSERT(!strcmp(r[0].p[1], "LS") && !strstr(r[0].p[2], "sasl"), "CAP LS: %s",
		 replies_str(r, n));
	cli_send(sam, "NICK sam");
	cli_send(sam, "USER sam 0 * :Sam SASL");
	n = replies_to(sam, "CAP REQ :sasl", r, MAXR);
	expect_cmds(r, n, "CAP REQ :sasl", "CAP");
	H_ASSERT(!strcmp(r[0].p[1], "NAK") && !strcmp(r[0].p[2], "sasl"), "CAP REQ: %s",
		 replies_str(r, n));
	n = replies_to(sam, "AUTHENTICATE PLAIN", r, MAXR);
	expect_cmds(r, n, "AUTHENTICATE PLAIN", "904");
	/* the nick is reserved by now (the PING of CAP REQ sent it) */
	H_ASSERT(!strcmp(r[0].p[0], "sam"), "904 before registration: %s", replies_str(r, n));
	n = replies_to(sam, "AUTHENTICATE dGVzdAB0ZXN0AHBhc3N3b3Jk", r, MAXR);
	expect_cmds(r, n, "AUTHENTICATE <base64>", "904");
	n = replies_to(sam, "AUTHENTICATE *", r, MAXR);
	expect_cmds(r, n, "AUTHENTICATE *", "904");
	n = replies_to(sam, "AUTHENTICATE", r, MAXR);
	expect_cmds(r, n, "AUTHENTICATE", "461");
	cli_send(sam, "CAP END");
	cli_register_wait(sam);
	n = replies_to(sam, "AUTHENTICATE PLAIN", r, MAXR);
	expect_cmds(r, n, "AUTHENTICATE after registration", "904");
	H_ASSERT(!strcmp(r[0].p[0], "sam"), "904: %s", replies_str(r, n));
	cli_send(sam, "PRIVMSG listener :authenticated or not");
	cli_expect_text(f.listener, "PRIVMSG", sam, "listener", "authenticated or not");

	/* without CAP at all: NICK, USER and AUTHENTICATE in one write */
	{
		struct cli *una = cli_connect(f.s);

		snprintf(una->nick, sizeof una->nick, "una");
		snprintf(una->user, sizeof una->user, "una");
		struct irc_msg m;

		cli_send(una, "AUTHENTICATE PLAIN\r\nNICK una\r\nUSER una 0 * :Una");
		EXPECT(una, "904", &m);
		H_ASSERT(!strcmp(msg_param(&m, 0), "*"), "904 before NICK is to %s",
			 msg_param(&m, 0));
		cli_register_wait(una);
	}
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("query");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "whowas", 30, NULL, NULL);
	tcase_add_test(tc, test_whowas_after_quit);
	tcase_add_test(tc, test_whowas_after_nick);
	tcase_add_test(tc, test_whowas_unknown);
	tcase_add_test(tc, test_whowas_count);
	tcase_add_test(tc, test_whowas_bounded);
	tcase_add_test(tc, test_whowas_reload);

	tc = h_tcase(su, "server", 30, NULL, NULL);
	tcase_add_test(tc, test_lusers_max);
	tcase_add_test(tc, test_info);
	tcase_add_test(tc, test_admin_configured);
	tcase_add_test(tc, test_admin_defaults);
	tcase_add_test(tc, test_version_isupport);

	tc = h_tcase(su, "registration", 30, NULL, NULL);
	tcase_add_test(tc, test_user_empty_realname);
	tcase_add_test(tc, test_authenticate);

	return h_suite_run(su);
}
