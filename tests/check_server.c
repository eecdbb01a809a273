#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

/*
 * Integration tests: each test starts its own shmchatd (socket activation,
 * 127.0.0.1 port 0), talks IRC to it and ends with srv_stop(), which checks
 * the SIGTERM shutdown (exit 0, STOPPING=1, empty process group, no IPC
 * objects left). Every assertion goes through H_ASSERT/EXPECT/H_FAIL so a
 * failure kills the daemon before Check ends the test process.
 */

/* ---------------------------------------------------------------- helpers */

/* 375, 372... (one containing text), 376 */
static void expect_motd(struct cli *c, const char *text)
{
	struct irc_msg m;
	bool seen = false;

	EXPECT(c, "375", &m);
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("%s: MOTD did not end with 376", c->nick);
		if (!strcmp(m.command, "376"))
			break;
		H_ASSERT(!strcmp(m.command, "372"), "%s: unexpected %s inside the MOTD", c->nick,
			 m.command);
		if (strstr(msg_last(&m), text))
			seen = true;
	}
	H_ASSERT(seen, "%s: no 372 line contains '%s'", c->nick, text);
}

/* a numeric reply that is one of a/b; returns the command */
static const char *expect_either(struct cli *c, const char *a, const char *b, struct irc_msg *m)
{
	for (;;) {
		if (!cli_next(c, T_SHORT, m))
			H_FAIL("%s: expected %s or %s, got %s", c->nick, a, b, c->eof ? "EOF" : "timeout");
		if (!strcmp(m->command, a) || !strcmp(m->command, b))
			return m->command;
	}
}

/*
 * Handle what c has ready now (answering PINGs); count lines with command
 * cmd from nick `from` (any sender if NULL); the last parameter of the first
 * one is copied to save.
 */
static int pump(struct cli *c, const char *cmd, const char *from, char *save, size_t cap)
{
	struct irc_msg m;
	int n = 0;

	while (cli_next(c, 0, &m)) {
		if (strcmp(m.command, cmd))
			continue;
		if (from && !(m.prefix && !strncmp(m.prefix, from, strlen(from)) &&
			      m.prefix[strlen(from)] == '!'))
			continue;
		if (save && n == 0)
			snprintf(save, cap, "%s", msg_last(&m));
		n++;
	}
	return n;
}

/* ---------------------------------------------------------- command line */

START_TEST(test_options)
{
	char out[8192], conf[512], bad[512];
	const char *dir = h_tmpdir();
	int st;

	{
		const char *argv[] = { SHMCHATD_PATH, "--version", NULL };

		st = h_run(argv, out, sizeof out, T_SHORT);
		H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			 "--version: status 0x%x, output: %s", st, out);
		H_ASSERT(strstr(out, PACKAGE_VERSION), "--version output lacks %s: %s",
			 PACKAGE_VERSION, out);
	}
	{
		const char *argv[] = { SHMCHATD_PATH, "--help", NULL };

		st = h_run(argv, out, sizeof out, T_SHORT);
		H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			 "--help: status 0x%x, output: %s", st, out);
		H_ASSERT(strstr(out, "--config"), "--help does not mention --config: %s", out);
	}
	{
		const char *argv[] = { SHMCHATD_PATH, "--no-such-option", NULL };

		st = h_run(argv, out, sizeof out, T_SHORT);
		H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
			 "unknown option accepted: status 0x%x, output: %s", st, out);
	}
	snprintf(conf, sizeof conf, "%s/good.conf", dir);
	h_write_file(conf, "server_name = \"irc.test\";\nnetwork = \"TestNet\";\n"
		     "listen = [\"127.0.0.1:0\"];\nmax_clients = 10;\nmotd = \"hi\";\n");
	{
		const char *argv[] = { SHMCHATD_PATH, "--config", conf, "--check-config", NULL };

		st = h_run(argv, out, sizeof out, T_SHORT);
		H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			 "--check-config on a valid file: status 0x%x, output: %s", st, out);
	}
	snprintf(bad, sizeof bad, "%s/bad.conf", dir);
	h_write_file(bad, "server_name = \"irc.test\"\nmax_clients = ;\n");
	{
		const char *argv[] = { SHMCHATD_PATH, "--config", bad, "--check-config", NULL };

		st = h_run(argv, out, sizeof out, T_SHORT);
		H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
			 "--check-config accepted a syntax error: status 0x%x, output: %s", st, out);
	}
	{
		/* starting with a broken config fails too (and leaves nothing) */
		const char *argv[] = { SHMCHATD_PATH, "--config", bad, NULL };

		st = h_run(argv, out, sizeof out, T_SHORT);
		H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
			 "daemon started with a broken config: status 0x%x, output: %s", st, out);
	}
}
END_TEST

/* ---------------------------------------------------------- registration */

START_TEST(test_register)
{
	struct srv *s = srv_start("nick_len = 12; channel_len = 40; topic_len = 200;");
	struct cli *c = cli_connect(s);
	struct irc_msg m;
	char isupport[4096] = " ";

	snprintf(c->nick, sizeof c->nick, "alice");
	snprintf(c->user, sizeof c->user, "alu");
	cli_send(c, "NICK alice");
	cli_send(c, "USER alu 0 * :Alice Liddell");
	EXPECT(c, "001", &m);
	H_ASSERT(m.prefix && !strcmp(m.prefix, "irc.test"), "001 prefix %s", m.prefix);
	H_ASSERT(!strcmp(msg_param(&m, 0), "alice"), "001 target %s", msg_param(&m, 0));
	{
		const char *t = msg_last(&m), *sp = strrchr(t, ' ');

		H_ASSERT(sp && (!strcmp(sp + 1, "alice!alu@127.0.0.1") ||
				!strcmp(sp + 1, "alice!~alu@127.0.0.1")),
			 "001 does not end with alice!alu@127.0.0.1: %s", t);
	}
	EXPECT(c, "002", &m);
	EXPECT(c, "003", &m);
	EXPECT(c, "004", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "irc.test"), "004 server name %s", msg_param(&m, 1));
	EXPECT(c, "005", &m);
	for (;;) {
		if (!strcmp(m.command, "005"))
			for (int i = 1; i < m.nparams - 1; i++) {
				strncat(isupport, m.params[i], sizeof isupport - strlen(isupport) - 2);
				strcat(isupport, " ");
			}
		if (!strcmp(m.command, "422"))
			break;
		H_ASSERT(strcmp(m.command, "375"), "MOTD sent although none is configured");
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("registration did not end with 422 (no MOTD configured)");
	}
	H_ASSERT(strstr(isupport, " CASEMAPPING=rfc1459 "), "ISUPPORT:%s", isupport);
	H_ASSERT(strstr(isupport, " CHANTYPES=# "), "ISUPPORT:%s", isupport);
	H_ASSERT(strstr(isupport, " NETWORK=TestNet "), "ISUPPORT:%s", isupport);
	H_ASSERT(strstr(isupport, " NICKLEN=12 "), "ISUPPORT (nick_len = 12):%s", isupport);
	H_ASSERT(strstr(isupport, " CHANNELLEN=40 "), "ISUPPORT (channel_len = 40):%s", isupport);
	H_ASSERT(strstr(isupport, " TOPICLEN=200 "), "ISUPPORT (topic_len = 200):%s", isupport);
	/* the client is usable */
	H_ASSERT(cli_sync(c, "ERROR") == 0, "ERROR after registration");
	srv_stop(s);
}
END_TEST

START_TEST(test_motd)
{
	struct srv *s = srv_start("motd = \"Welcome to the shmchat test network\";");
	struct cli *c = cli_connect(s);

	cli_register_send(c, "bob");
	expect_motd(c, "Welcome to the shmchat test network");
	cli_send(c, "MOTD");
	expect_motd(c, "Welcome to the shmchat test network");
	srv_stop(s);
}
END_TEST

START_TEST(test_motd_file)
{
	char path[512], conf[700];
	struct srv *s;
	struct cli *c;
	struct irc_msg m;
	bool one = false, two = false;

	snprintf(path, sizeof path, "%s/motd.txt", h_tmpdir());
	h_write_file(path, "First line of the file motd\nSecond line of the file motd\n");
	snprintf(conf, sizeof conf, "motd_file = \"%s\";", path);
	s = srv_start(conf);
	c = cli_connect(s);
	cli_register_send(c, "carol");
	EXPECT(c, "375", &m);
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("MOTD did not end with 376");
		if (!strcmp(m.command, "376"))
			break;
		one |= strstr(msg_last(&m), "First line of the file motd") != NULL;
		two |= strstr(msg_last(&m), "Second line of the file motd") != NULL;
	}
	H_ASSERT(one && two, "motd_file lines missing (first %d, second %d)", one, two);
	srv_stop(s);
}
END_TEST

START_TEST(test_password)
{
	struct srv *s = srv_start("password = \"s3cret\";");
	struct cli *a = cli_connect(s), *b = cli_connect(s), *c = cli_connect(s);
	struct irc_msg m;

	/* no PASS */
	cli_send(a, "NICK nopass");
	cli_send(a, "USER nopass 0 * :x");
	EXPECT(a, "464", &m);
	EXPECT(a, "ERROR", &m);
	EXPECT_EOF(a, T_SHORT);
	/* wrong PASS */
	cli_send(b, "PASS wrong");
	cli_send(b, "NICK badpass");
	cli_send(b, "USER badpass 0 * :x");
	EXPECT(b, "464", &m);
	EXPECT(b, "ERROR", &m);
	EXPECT_EOF(b, T_SHORT);
	/* right PASS */
	cli_send(c, "PASS s3cret");
	cli_register(c, "goodpass");
	srv_stop(s);
}
END_TEST

START_TEST(test_cap)
{
	struct srv *s = srv_start(NULL);
	struct cli *c = cli_connect(s);
	struct irc_msg m;

	cli_send(c, "CAP LS 302");
	cli_register_send(c, "capper");
	EXPECT(c, "CAP", &m);
	H_ASSERT(m.nparams >= 3 && !strcmp(msg_param(&m, 0), "*") && !strcmp(msg_param(&m, 1), "LS") &&
		 strstr(msg_last(&m), "server-time") != NULL,
		 "CAP LS reply is not 'CAP * LS :... server-time ...' (%d params, '%s' '%s' '%s')",
		 m.nparams, msg_param(&m, 0), msg_param(&m, 1), msg_last(&m));
	/* registration waits for CAP END */
	H_ASSERT(cli_none(c, "001", 300), "001 sent before CAP END");
	cli_send(c, "CAP END");
	cli_register_wait(c);
	srv_stop(s);
}
END_TEST

START_TEST(test_unregistered)
{
	struct srv *s = srv_start(NULL);
	struct cli *c = cli_connect(s);
	struct irc_msg m;

	cli_send(c, "JOIN #early");
	EXPECT(c, "451", &m);
	cli_send(c, "PRIVMSG someone :hi");
	EXPECT(c, "451", &m);
	cli_register(c, "late");
	cli_join(c, "#early");
	srv_stop(s);
}
END_TEST

START_TEST(test_bind_path)
{
	struct srv *s = srv_start_bind(NULL);
	struct cli *a = cli_new(s, "binder"), *b = cli_new(s, "bound");

	H_ASSERT(strstr(s->status, "Listening on 127.0.0.1:"), "STATUS: %s", s->status);
	cli_join(a, "#bind");
	cli_join(b, "#bind");
	cli_send(a, "PRIVMSG #bind :over the bound socket");
	cli_expect_text(b, "PRIVMSG", a, "#bind", "over the bound socket");
	srv_stop(s);
}
END_TEST

START_TEST(test_registration_timeout)
{
	struct srv *s = srv_start("registration_timeout = 1;");
	struct cli *slow = cli_connect(s), *fast;
	struct irc_msg m;
	long long t0 = h_now_ms();

	cli_send(slow, "NICK slowpoke");
	fast = cli_new(s, "fast");
	EXPECT_T(slow, "ERROR", 5000 * h_scale, &m);
	EXPECT_EOF(slow, T_SHORT);
	H_ASSERT(h_now_ms() - t0 >= 900, "closed after %lld ms, before registration_timeout",
		 h_now_ms() - t0);
	/* registered clients are not affected */
	H_ASSERT(cli_sync(fast, "ERROR") == 0, "registered client got ERROR");
	srv_stop(s);
}
END_TEST

START_TEST(test_max_clients)
{
	struct srv *s = srv_start("max_clients = 2;");
	struct cli *a = cli_new(s, "first"), *b = cli_new(s, "second"), *c;
	struct irc_msg m;

	c = cli_connect(s);
	cli_send(c, "NICK third");
	cli_send(c, "USER third 0 * :x");
	EXPECT(c, "ERROR", &m);
	EXPECT_EOF(c, T_SHORT);
	cli_close(c);
	H_ASSERT(cli_sync(a, "ERROR") == 0, "first client got ERROR");
	H_ASSERT(cli_sync(b, "ERROR") == 0, "second client got ERROR");
	cli_join(a, "#full");
	cli_join(b, "#full");
	cli_send(a, "PRIVMSG #full :still here");
	cli_expect_text(b, "PRIVMSG", a, "#full", "still here");
	srv_stop(s);
}
END_TEST

/* -------------------------------------------------------------- commands */

START_TEST(test_ping_unknown)
{
	struct srv *s = srv_start(NULL);
	struct cli *c = cli_new(s, "pinger");
	struct irc_msg m;

	cli_send(c, "PING :tok123");
	EXPECT(c, "PONG", &m);
	H_ASSERT(!strcmp(msg_last(&m), "tok123"), "PONG carries '%s'", msg_last(&m));
	H_ASSERT(m.prefix && !strcmp(m.prefix, "irc.test"), "PONG prefix %s", m.prefix);
	cli_send(c, "PING tok456");
	EXPECT(c, "PONG", &m);
	H_ASSERT(!strcmp(msg_last(&m), "tok456"), "PONG carries '%s'", msg_last(&m));
	cli_send(c, "FOOBAR baz");
	EXPECT(c, "421", &m);
	H_ASSERT(!strcasecmp(msg_param(&m, 1), "FOOBAR"), "421 names '%s'", msg_param(&m, 1));
	cli_send(c, "VERSION");
	EXPECT(c, "351", &m);
	cli_send(c, "TIME");
	EXPECT(c, "391", &m);
	cli_send(c, "MOTD");
	EXPECT(c, "422", &m);
	srv_stop(s);
}
END_TEST

START_TEST(test_long_line)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "longa"), *b = cli_new(s, "longb");
	struct irc_msg m;
	char big[700];

	cli_join(a, "#long");
	cli_join(b, "#long");
	memset(big, 'A', 600);
	big[600] = '\0';
	cli_send(a, "PRIVMSG #long :%s", big);
	cli_send(a, "PING :x");
	EXPECT(a, "417", &m);
	EXPECT(a, "PONG", &m);
	H_ASSERT(!strcmp(msg_last(&m), "x"), "PONG carries '%s'", msg_last(&m));
	/* the overlong line was not executed: b's next message from a is this */
	cli_send(a, "PRIVMSG #long :after");
	cli_expect_text(b, "PRIVMSG", a, "#long", "after");
	/* exactly 512 bytes with CR LF is fine */
	memset(big, 'B', sizeof big);
	big[510 - strlen("PRIVMSG #long :")] = '\0';
	cli_send(a, "PRIVMSG #long :%s", big);
	H_ASSERT(cli_sync(a, "417") == 0, "417 for a line of exactly 512 bytes");
	EXPECT(b, "PRIVMSG", &m);
	H_ASSERT(!strcmp(msg_last(&m), big) || strlen(msg_last(&m)) > 400,
		 "512-byte line mangled: %zu bytes arrived", strlen(msg_last(&m)));
	srv_stop(s);
}
END_TEST

/*
 * Before registration the worker holds a NICK back until it knows whether
 * USER follows in the same packet (one request to the master registers
 * and reserves the nick); a NICK on its own is reserved as soon as the
 * client pauses.
 */
START_TEST(test_register_one_packet)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "taken");
	struct cli *b = cli_connect(s), *c = cli_connect(s), *d = cli_connect(s);
	struct cli *e = cli_connect(s), *f = cli_connect(s);
	static const char taken[] = "NICK taken\r\nUSER b 0 * :B\r\n";
	static const char twice[] = "NICK one\r\nNICK two\r\nUSER c 0 * :C\r\n";
	static const char lone[] = "NICK lone\r\nUSER f 0 * :F\r\n";
	struct irc_msg m;

	(void)a;
	/* a taken nick in the registration packet: 433, not registered */
	H_ASSERT(cli_send_raw(b, taken, sizeof taken - 1), "send");
	EXPECT(b, "433", &m);
	ck_assert_str_eq(m.params[1], "taken");
	ck_assert_int_eq(cli_sync(b, "001"), 0);
	cli_send(b, "NICK bee");
	EXPECT(b, "001", &m);
	ck_assert_str_eq(m.params[0], "bee");

	/* the last NICK before USER counts; the first was never reserved */
	H_ASSERT(cli_send_raw(c, twice, sizeof twice - 1), "send");
	EXPECT(c, "001", &m);
	ck_assert_str_eq(m.params[0], "two");
	cli_register(d, "one");

	/* a NICK alone is reserved once the client pauses (PONG: it was) */
	cli_send(e, "NICK lone");
	ck_assert_int_eq(cli_sync(e, "433"), 0);
	H_ASSERT(cli_send_raw(f, lone, sizeof lone - 1), "send");
	EXPECT(f, "433", &m);
	cli_send(e, "USER e 0 * :E");
	EXPECT(e, "001", &m);
	ck_assert_str_eq(m.params[0], "lone");
	srv_stop(s);
}
END_TEST

START_TEST(test_nick_errors)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "Nick"), *a2 = cli_new(s, "a[b"), *b = cli_connect(s);
	struct irc_msg m;

	(void)a;
	(void)a2;
	cli_send(b, "NICK");
	EXPECT(b, "431", &m);
	cli_send(b, "NICK 1abc");
	EXPECT(b, "432", &m);
	cli_send(b, "NICK nick");
	EXPECT(b, "433", &m);
	cli_send(b, "NICK NICK");
	EXPECT(b, "433", &m);
	cli_send(b, "NICK a{b");
	EXPECT(b, "433", &m);
	cli_send(b, "NICK A{B");
	EXPECT(b, "433", &m);
	cli_register(b, "bee");
	cli_send(b, "NICK nICK");
	EXPECT(b, "433", &m);
	cli_send(b, "NICK -bad");
	EXPECT(b, "432", &m);
	cli_send(b, "NICK");
	EXPECT(b, "431", &m);
	/* still called bee */
	cli_send(a, "PRIVMSG bee :are you there");
	cli_expect_text(b, "PRIVMSG", a, "bee", "are you there");
	srv_stop(s);
}
END_TEST

START_TEST(test_nick_change)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "oldnick"), *b = cli_new(s, "watcher"), *d;
	struct irc_msg m;

	cli_join(a, "#nick");
	cli_join(b, "#nick");
	cli_send(a, "NICK newnick");
	EXPECT_FROM(a, "NICK", "oldnick", &m);
	H_ASSERT(cli_prefix_is(a, m.prefix), "NICK prefix %s", m.prefix);
	H_ASSERT(!strcmp(msg_last(&m), "newnick"), "NICK to '%s'", msg_last(&m));
	EXPECT_FROM(b, "NICK", "oldnick", &m);
	H_ASSERT(cli_prefix_is(a, m.prefix), "NICK prefix seen by peer %s", m.prefix);
	H_ASSERT(!strcmp(msg_last(&m), "newnick"), "peer saw NICK to '%s'", msg_last(&m));
	snprintf(a->nick, sizeof a->nick, "newnick");
	/* case-only change of one's own nick is allowed */
	cli_send(a, "NICK NewNick");
	EXPECT_FROM(a, "NICK", "newnick", &m);
	H_ASSERT(!strcmp(msg_last(&m), "NewNick"), "NICK to '%s'", msg_last(&m));
	snprintf(a->nick, sizeof a->nick, "NewNick");
	EXPECT_FROM(b, "NICK", "newnick", &m);
	/* the old nick is free, the new one routes */
	d = cli_new(s, "oldnick");
	cli_send(b, "PRIVMSG newnick :to the renamed");
	cli_expect_text(a, "PRIVMSG", b, "newnick", "to the renamed");
	cli_send(b, "PRIVMSG oldnick :to the newcomer");
	cli_expect_text(d, "PRIVMSG", b, "oldnick", "to the newcomer");
	srv_stop(s);
}
END_TEST

START_TEST(test_join_part)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "joiner"), *b = cli_new(s, "second");
	struct irc_msg m;
	int parts = 0;
	bool pc = false, pa = false, pb = false;

	cli_send(a, "JOIN #c");
	EXPECT_FROM(a, "JOIN", "joiner", &m);
	H_ASSERT(cli_prefix_is(a, m.prefix) && !strcmp(msg_param(&m, 0), "#c"), "JOIN echo %s %s",
		 m.prefix, msg_param(&m, 0));
	EXPECT(a, "353", &m);
	H_ASSERT(strchr("=*@", msg_param(&m, 1)[0]) && !strcmp(msg_param(&m, 2), "#c") &&
		 h_list_has(msg_last(&m), "joiner"), "353: %s %s :%s", msg_param(&m, 1), msg_param(&m, 2),
		 msg_last(&m));
	EXPECT(a, "366", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "#c"), "366 for %s", msg_param(&m, 1));

	cli_send(b, "JOIN #c");
	EXPECT_FROM(b, "JOIN", "second", &m);
	EXPECT(b, "353", &m);
	H_ASSERT(h_list_has(msg_last(&m), "joiner") && h_list_has(msg_last(&m), "second"),
		 "353 lacks members: %s", msg_last(&m));
	EXPECT(b, "366", &m);
	EXPECT_FROM(a, "JOIN", "second", &m);
	H_ASSERT(cli_prefix_is(b, m.prefix) && !strcmp(msg_param(&m, 0), "#c"), "JOIN seen as %s %s",
		 m.prefix, msg_param(&m, 0));

	cli_send(b, "PART #c :see you");
	EXPECT_FROM(b, "PART", "second", &m);
	H_ASSERT(!strcmp(msg_param(&m, 0), "#c") && !strcmp(msg_last(&m), "see you"),
		 "PART echo %s :%s", msg_param(&m, 0), msg_last(&m));
	EXPECT_FROM(a, "PART", "second", &m);
	H_ASSERT(cli_prefix_is(b, m.prefix) && !strcmp(msg_param(&m, 0), "#c") &&
		 !strcmp(msg_last(&m), "see you"), "PART seen as %s %s :%s", m.prefix,
		 msg_param(&m, 0), msg_last(&m));
	/* b is no member any more: messages to #c do not reach it */
	cli_send(b, "PRIVMSG #c :not a member");
	EXPECT(b, "404", &m);

	cli_send(a, "JOIN #a,#b");
	EXPECT_FROM(a, "JOIN", "joiner", &m);
	H_ASSERT(!strcmp(msg_param(&m, 0), "#a"), "first JOIN of #a,#b is %s", msg_param(&m, 0));
	EXPECT_FROM(a, "JOIN", "joiner", &m);
	H_ASSERT(!strcmp(msg_param(&m, 0), "#b"), "second JOIN of #a,#b is %s", msg_param(&m, 0));
	EXPECT(a, "366", &m);

	cli_send(a, "JOIN 0");
	while (parts < 3) {
		EXPECT_FROM(a, "PART", "joiner", &m);
		pc |= !strcmp(msg_param(&m, 0), "#c");
		pa |= !strcmp(msg_param(&m, 0), "#a");
		pb |= !strcmp(msg_param(&m, 0), "#b");
		parts++;
	}
	H_ASSERT(pc && pa && pb, "JOIN 0 parted #c %d #a %d #b %d", pc, pa, pb);
	cli_send(a, "PRIVMSG #a :gone");
	expect_either(a, "404", "403", &m);
	srv_stop(s);
}
END_TEST

START_TEST(test_privmsg_channel)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "alpha"), *b = cli_new(s, "beta"), *c = cli_new(s, "gamma");
	struct cli *d = cli_new(s, "delta");
	struct irc_msg m;

	cli_join(a, "#chat");
	cli_join(b, "#chat");
	cli_join(c, "#chat");
	cli_send(a, "PRIVMSG #chat :hello world");
	cli_expect_text(b, "PRIVMSG", a, "#chat", "hello world");
	cli_expect_text(c, "PRIVMSG", a, "#chat", "hello world");
	/* no echo: the first PRIVMSG alpha sees is beta's answer */
	cli_send(b, "PRIVMSG #chat :ack");
	cli_expect_text(a, "PRIVMSG", b, "#chat", "ack");
	cli_expect_text(c, "PRIVMSG", b, "#chat", "ack");
	cli_send(a, "NOTICE #chat :a notice");
	cli_expect_text(b, "NOTICE", a, "#chat", "a notice");
	cli_expect_text(c, "NOTICE", a, "#chat", "a notice");
	cli_send(c, "NOTICE #chat :back");
	cli_expect_text(a, "NOTICE", c, "#chat", "back");

	/* errors */
	cli_send(d, "PRIVMSG #chat :outsider");
	EXPECT(d, "404", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "#chat"), "404 for %s", msg_param(&m, 1));
	cli_send(d, "PRIVMSG #nowhere :hello");
	EXPECT(d, "403", &m);
	cli_send(d, "PRIVMSG nobody :hello");
	EXPECT(d, "401", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "nobody"), "401 for %s", msg_param(&m, 1));
	cli_send(d, "PRIVMSG");
	EXPECT(d, "411", &m);
	cli_send(d, "PRIVMSG alpha");
	EXPECT(d, "412", &m);
	/* the outsider's attempt reached nobody: next from delta is this */
	cli_join(d, "#chat");
	cli_send(d, "PRIVMSG #chat :now inside");
	cli_expect_text(a, "PRIVMSG", d, "#chat", "now inside");
	srv_stop(s);
}
END_TEST

START_TEST(test_privmsg_user)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "sender"), *b = cli_new(s, "target"), *c = cli_new(s, "bystander");
	struct irc_msg m;

	cli_join(a, "#pm");
	cli_join(b, "#pm");
	cli_join(c, "#pm");
	cli_send(a, "PRIVMSG target :for your eyes only");
	cli_send(a, "NOTICE TARGET :noticed");
	cli_send(a, "PRIVMSG #pm :public");
	cli_expect_text(b, "PRIVMSG", a, "target", "for your eyes only");
	cli_expect_text(b, "NOTICE", a, "TARGET", "noticed");
	cli_expect_text(b, "PRIVMSG", a, "#pm", "public");
	/* the private ones were sent first: the bystander sees only "public" */
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("bystander: no PRIVMSG #pm within %d ms", T_SHORT);
		H_ASSERT(strcmp(m.command, "NOTICE") && (strcmp(m.command, "PRIVMSG") ||
							 !strcmp(msg_param(&m, 0), "#pm")),
			 "bystander got %s %s :%s", m.command, msg_param(&m, 0), msg_last(&m));
		if (!strcmp(m.command, "PRIVMSG"))
			break;
	}
	H_ASSERT(cli_prefix_is(a, m.prefix) && !strcmp(msg_last(&m), "public"),
		 "bystander got %s :%s", m.prefix, msg_last(&m));
	srv_stop(s);
}
END_TEST

/*
 * Regression: the master's own 401/301 used to leave the ring's doorbell
 * rung, so no publisher woke it again and delivery stopped for everyone.
 * After each error the next action is the observation itself: another
 * member's channel message must arrive.
 */
START_TEST(test_delivery_after_401_301)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "speaker"), *b = cli_new(s, "listener");
	struct cli *c = cli_new(s, "typo"), *d = cli_new(s, "dozer");
	struct irc_msg m;

	cli_join(a, "#live");
	cli_join(b, "#live");
	cli_send(c, "PRIVMSG nosuchnick :hi");
	EXPECT(c, "401", &m);
	cli_send(a, "PRIVMSG #live :after the 401");
	cli_expect_text(b, "PRIVMSG", a, "#live", "after the 401");

	cli_send(d, "AWAY :asleep");
	EXPECT(d, "306", &m);
	cli_send(c, "PRIVMSG dozer :first");
	EXPECT(c, "301", &m);
	cli_send(c, "PRIVMSG dozer :second");
	EXPECT(c, "301", &m);
	cli_send(a, "PRIVMSG #live :after the 301");
	cli_expect_text(b, "PRIVMSG", a, "#live", "after the 301");
	cli_send(b, "PRIVMSG speaker :private after both");
	cli_expect_text(a, "PRIVMSG", b, "speaker", "private after both");
	srv_stop(s);
}
END_TEST

START_TEST(test_topic)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "topper"), *b = cli_new(s, "reader"), *c = cli_new(s, "late");
	struct irc_msg m;

	cli_join(a, "#t");
	cli_send(a, "TOPIC #t");
	H_ASSERT(!strcmp(expect_either(a, "331", "332", &m), "331"), "new channel has a topic: %s",
		 msg_last(&m));
	cli_join(b, "#t");
	cli_send(a, "TOPIC #t :Hello topic world");
	EXPECT_FROM(a, "TOPIC", "topper", &m);
	H_ASSERT(!strcmp(msg_param(&m, 0), "#t") && !strcmp(msg_last(&m), "Hello topic world"),
		 "TOPIC echo %s :%s", msg_param(&m, 0), msg_last(&m));
	EXPECT_FROM(b, "TOPIC", "topper", &m);
	H_ASSERT(cli_prefix_is(a, m.prefix) && !strcmp(msg_last(&m), "Hello topic world"),
		 "TOPIC seen as %s :%s", m.prefix, msg_last(&m));
	cli_send(b, "TOPIC #t");
	EXPECT(b, "332", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "#t") && !strcmp(msg_last(&m), "Hello topic world"),
		 "332 %s :%s", msg_param(&m, 1), msg_last(&m));
	EXPECT(b, "333", &m);
	H_ASSERT(!strncmp(msg_param(&m, 2), "topper", 6), "333 setter %s", msg_param(&m, 2));
	/* a joiner gets the topic */
	cli_send(c, "JOIN #t");
	EXPECT_FROM(c, "JOIN", "late", &m);
	EXPECT(c, "332", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Hello topic world"), "332 on join: %s", msg_last(&m));
	EXPECT(c, "353", &m);
	EXPECT(c, "366", &m);
	srv_stop(s);
}
END_TEST

START_TEST(test_names_who)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "named"), *b = cli_new(s, "other");
	struct irc_msg m;
	bool sa = false, sb = false;
	int n352 = 0;

	cli_join(a, "#w");
	cli_join(b, "#w");
	cli_send(a, "NAMES #w");
	EXPECT(a, "353", &m);
	H_ASSERT(h_list_has(msg_last(&m), "named") && h_list_has(msg_last(&m), "other"), "NAMES: %s",
		 msg_last(&m));
	EXPECT(a, "366", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "#w"), "366 for %s", msg_param(&m, 1));
	cli_send(a, "WHO #w");
	for (;;) {
		if (!cli_next(a, T_SHORT, &m))
			H_FAIL("WHO did not end with 315");
		if (!strcmp(m.command, "315"))
			break;
		if (strcmp(m.command, "352"))
			continue;
		n352++;
		H_ASSERT(!strcmp(msg_param(&m, 1), "#w") && !strcmp(msg_param(&m, 3), "127.0.0.1"),
			 "352: channel %s host %s", msg_param(&m, 1), msg_param(&m, 3));
		sa |= !strcmp(msg_param(&m, 5), "named");
		sb |= !strcmp(msg_param(&m, 5), "other");
	}
	H_ASSERT(n352 == 2 && sa && sb, "WHO #w: %d replies (named %d, other %d)", n352, sa, sb);
	srv_stop(s);
}
END_TEST

START_TEST(test_whois)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "whoami"), *b = cli_new(s, "asker");
	struct irc_msg m;
	bool got311 = false, got312 = false, got319 = false;

	cli_join(a, "#x");
	cli_join(a, "#y");
	cli_send(b, "WHOIS whoami");
	for (;;) {
		if (!cli_next(b, T_SHORT, &m))
			H_FAIL("WHOIS did not end with 318");
		if (!strcmp(m.command, "318"))
			break;
		if (!strcmp(m.command, "311")) {
			got311 = true;
			H_ASSERT(!strcmp(msg_param(&m, 1), "whoami") && !strcmp(msg_param(&m, 3), "127.0.0.1") &&
				 !strcmp(msg_last(&m), "Real whoami"),
				 "311: %s %s %s :%s", msg_param(&m, 1), msg_param(&m, 2), msg_param(&m, 3),
				 msg_last(&m));
			H_ASSERT(!strcmp(msg_param(&m, 2), a->user) || (msg_param(&m, 2)[0] == '~' &&
				 !strcmp(msg_param(&m, 2) + 1, a->user)), "311 user %s", msg_param(&m, 2));
		} else if (!strcmp(m.command, "312")) {
			got312 = true;
			H_ASSERT(!strcmp(msg_param(&m, 2), "irc.test"), "312 server %s", msg_param(&m, 2));
		} else if (!strcmp(m.command, "319")) {
			got319 = true;
			H_ASSERT(h_list_has(msg_last(&m), "#x") && h_list_has(msg_last(&m), "#y"),
				 "319 channels: %s", msg_last(&m));
		}
	}
	H_ASSERT(got311 && got312 && got319, "WHOIS replies: 311 %d 312 %d 319 %d", got311, got312,
		 got319);
	cli_send(b, "WHOIS nosuchnick");
	EXPECT(b, "401", &m);
	srv_stop(s);
}
END_TEST

START_TEST(test_list_lusers)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "lister1"), *b = cli_new(s, "lister2"), *c = cli_new(s, "viewer");
	struct irc_msg m;
	bool l1 = false, l2 = false, g251 = false;

	cli_join(a, "#l1");
	cli_send(a, "TOPIC #l1 :first topic");
	EXPECT(a, "TOPIC", &m);
	cli_join(b, "#l2");
	cli_send(c, "LIST");
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("LIST did not end with 323");
		if (!strcmp(m.command, "323"))
			break;
		if (strcmp(m.command, "322"))
			continue;
		if (!strcmp(msg_param(&m, 1), "#l1")) {
			l1 = true;
			H_ASSERT(!strcmp(msg_param(&m, 2), "1") && !strcmp(msg_last(&m), "first topic"),
				 "322 #l1: %s users, topic '%s'", msg_param(&m, 2), msg_last(&m));
		}
		l2 |= !strcmp(msg_param(&m, 1), "#l2");
	}
	H_ASSERT(l1 && l2, "LIST lacks channels: #l1 %d #l2 %d", l1, l2);
	cli_send(c, "LUSERS");
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("LUSERS did not end with 255");
		if (!strcmp(m.command, "251"))
			g251 = true;
		if (!strcmp(m.command, "255"))
			break;
	}
	H_ASSERT(g251, "LUSERS without 251");
	srv_stop(s);
}
END_TEST

START_TEST(test_away)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "talker"), *b = cli_new(s, "napper");
	struct irc_msg m;

	cli_send(b, "AWAY :gone fishing");
	EXPECT(b, "306", &m);
	cli_send(a, "PRIVMSG napper :are you there?");
	EXPECT(a, "301", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "napper") && !strcmp(msg_last(&m), "gone fishing"),
		 "301 %s :%s", msg_param(&m, 1), msg_last(&m));
	cli_expect_text(b, "PRIVMSG", a, "napper", "are you there?");
	cli_send(b, "AWAY");
	EXPECT(b, "305", &m);
	cli_send(a, "PRIVMSG napper :back?");
	cli_expect_text(b, "PRIVMSG", a, "napper", "back?");
	H_ASSERT(cli_sync(a, "301") == 0, "301 after AWAY was cleared");
	srv_stop(s);
}
END_TEST

START_TEST(test_ison_userhost)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "isona"), *b = cli_new(s, "isonb");
	struct irc_msg m;

	(void)b;
	cli_send(a, "ISON isonb nobody ISONA");
	EXPECT(a, "303", &m);
	H_ASSERT(h_list_has(msg_last(&m), "isonb") && h_list_has(msg_last(&m), "isona") &&
		 !h_list_has(msg_last(&m), "nobody"), "303 :%s", msg_last(&m));
	cli_send(a, "USERHOST isonb");
	EXPECT(a, "302", &m);
	H_ASSERT(h_list_has(msg_last(&m), "isonb") && strstr(msg_last(&m), "@127.0.0.1"),
		 "302 :%s", msg_last(&m));
	srv_stop(s);
}
END_TEST

START_TEST(test_quit)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "quitter"), *b = cli_new(s, "stayer"), *c = cli_new(s, "dropper");
	struct irc_msg m;

	cli_join(a, "#q");
	cli_join(b, "#q");
	cli_join(c, "#q");
	cli_send(a, "QUIT :bye");
	EXPECT(a, "ERROR", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Closing Link: 127.0.0.1 (Quit: bye)"), "ERROR :%s",
		 msg_last(&m));
	EXPECT_EOF(a, T_SHORT);
	EXPECT_FROM(b, "QUIT", "quitter", &m);
	H_ASSERT(cli_prefix_is(a, m.prefix) && !strcmp(msg_last(&m), "Quit: bye"), "QUIT %s :%s",
		 m.prefix, msg_last(&m));
	/* just closing the socket */
	cli_close(c);
	EXPECT_FROM(b, "QUIT", "dropper", &m);
	/* both nicks are free again */
	a = cli_new(s, "quitter");
	c = cli_new(s, "dropper");
	cli_send(a, "PRIVMSG dropper :hi again");
	cli_expect_text(c, "PRIVMSG", a, "dropper", "hi again");
	srv_stop(s);
}
END_TEST

START_TEST(test_ping_timeout)
{
	struct srv *s = srv_start("ping_interval = 1; ping_timeout = 2;");
	struct cli *a = cli_new(s, "sleeper"), *b = cli_new(s, "awake");
	struct irc_msg m, q;
	long long deadline;
	int pings = 0, bquit = 0;
	char reason[512] = "";

	cli_join(a, "#p");
	cli_join(b, "#p");
	a->auto_pong = false;
	/* answer the first PING, ignore the second; b keeps answering (pump) */
	deadline = h_now_ms() + 15000LL * h_scale;
	for (;;) {
		if (cli_next(a, 100, &m)) {
			if (!strcmp(m.command, "PING")) {
				if (++pings == 1)
					cli_send(a, "PONG :%s", msg_last(&m));
			} else if (!strcmp(m.command, "ERROR")) {
				break;
			}
		}
		bquit += pump(b, "QUIT", "sleeper", bquit ? NULL : reason, sizeof reason);
		H_ASSERT(h_now_ms() < deadline, "no ping timeout within 15 s (%d PINGs)", pings);
		H_ASSERT(!a->eof, "connection closed without ERROR");
	}
	H_ASSERT(pings >= 2, "ERROR after %d PING(s): the answered PING did not count", pings);
	H_ASSERT(strstr(msg_last(&m), "Closing Link: 127.0.0.1 (Ping timeout"), "ERROR :%s",
		 msg_last(&m));
	EXPECT_EOF(a, T_SHORT);
	if (!bquit) {
		h_expect(__FILE__, __LINE__, b, "QUIT", "sleeper", T_LONG, &q);
		snprintf(reason, sizeof reason, "%s", msg_last(&q));
	}
	H_ASSERT(strstr(reason, "Ping timeout"), "peer saw QUIT :%s", reason);
	H_ASSERT(cli_sync(b, "ERROR") == 0, "the answering client was disconnected");
	srv_stop(s);
}
END_TEST

START_TEST(test_garbage)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "garbler"), *b = cli_new(s, "bystand");
	struct irc_msg m;
	unsigned char junk[4096];
	unsigned seed = 12345;
	bool alive = true;
	char longline[3000];

	cli_join(a, "#g");
	cli_join(b, "#g");
	for (size_t i = 0; i < sizeof junk; i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (unsigned char)(seed >> 16);
	}
	memset(longline, 'Z', sizeof longline);
	alive = cli_send_raw(a, junk, sizeof junk);
	alive = alive && cli_send_raw(a, "\r\nPRIVMSG #g :\xff\xfe\xc3\x28 bad utf8\r\n", 30);
	alive = alive && cli_send_raw(a, "PRIVMSG #g :nul\0inside\r\n", 24);
	alive = alive && cli_send_raw(a, "PING :cr\rPING :lone\rcr\r\n", 24);
	alive = alive && cli_send_raw(a, "\r\r\r\n\n\n   \r\n", 11);
	alive = alive && cli_send_raw(a, longline, sizeof longline);
	alive = alive && cli_send_raw(a, "\r\n:prefix.only\r\n@tag=1\r\n:\r\n", 27);
	alive = alive && cli_send_raw(a, "\r\nPING :alive\r\n", 15);
	if (alive) {
		/* either a PONG or the server chose to close the connection */
		for (;;) {
			if (!cli_next(a, T_LONG, &m)) {
				H_ASSERT(a->eof, "no PONG after garbage within %d ms", T_LONG);
				break;
			}
			if (!strcmp(m.command, "PONG") && !strcmp(msg_last(&m), "alive"))
				break;
		}
	}
	/* the other client is unaffected, the server still serves */
	H_ASSERT(cli_sync(b, "ERROR") == 0, "bystander got ERROR");
	{
		struct cli *c = cli_new(s, "newcomer");

		cli_join(c, "#g");
		cli_send(c, "PRIVMSG #g :still working");
		/* b may first get garbler's PRIVMSGs that happened to be valid */
		EXPECT_FROM(b, "PRIVMSG", "newcomer", &m);
		H_ASSERT(!strcmp(msg_last(&m), "still working"), "b got '%s'", msg_last(&m));
	}
	srv_stop(s);
}
END_TEST

/* ------------------------------------------------------------- lifecycle */

START_TEST(test_sighup_reload)
{
	struct srv *s = srv_start("motd = \"first edition\";");
	struct cli *a = cli_new(s, "reloader"), *b;

	cli_join(a, "#r");
	srv_write_conf(s, "motd = \"second edition\";");
	H_ASSERT(kill(s->pid, SIGHUP) == 0, "kill SIGHUP: %s", strerror(errno));
	H_ASSERT(srv_wait_notify(s, "RELOADING=1", T_SHORT, NULL, 0), "no RELOADING=1 after SIGHUP");
	H_ASSERT(srv_wait_notify(s, "READY=1", T_LONG, NULL, 0), "no READY=1 after the reload");
	H_ASSERT(cli_sync(a, "ERROR") == 0, "client got ERROR during the reload");
	cli_send(a, "MOTD");
	expect_motd(a, "second edition");
	b = cli_connect(s);
	cli_register_send(b, "afterhup");
	expect_motd(b, "second edition");
	cli_join(b, "#r");
	cli_send(b, "PRIVMSG #r :after reload");
	cli_expect_text(a, "PRIVMSG", b, "#r", "after reload");
	srv_stop(s);
}
END_TEST

START_TEST(test_reload_invalid)
{
	struct srv *s = srv_start("motd = \"kept\";");
	struct cli *a = cli_new(s, "keeper");

	cli_join(a, "#k");
	srv_write_conf(s, "motd = \"never\";\nmax_clients = \"many\";");
	H_ASSERT(kill(s->pid, SIGHUP) == 0, "kill SIGHUP: %s", strerror(errno));
	H_ASSERT(srv_wait_notify(s, "RELOADING=1", T_SHORT, NULL, 0), "no RELOADING=1 after SIGHUP");
	H_ASSERT(srv_wait_notify(s, "READY=1", T_LONG, NULL, 0), "no READY=1 after a failed reload");
	H_ASSERT(cli_sync(a, "ERROR") == 0, "client got ERROR during the failed reload");
	cli_send(a, "MOTD");
	expect_motd(a, "kept");
	srv_stop(s);
}
END_TEST

START_TEST(test_watchdog_status)
{
	struct srv *s;
	struct cli *a, *b;
	char out[512];

	/* sd_watchdog_enabled() only needs WATCHDOG_USEC when WATCHDOG_PID is unset */
	srv_extra_env = "WATCHDOG_USEC=400000";
	s = srv_start(NULL);
	srv_extra_env = NULL;
	for (int i = 0; i < 3; i++)
		H_ASSERT(srv_wait_notify(s, "WATCHDOG=1", T_SHORT, NULL, 0),
		    "no WATCHDOG=1 (%d) with WatchdogSec=0.4s", i);
	a = cli_new(s, "stat1");
	b = cli_new(s, "stat2");
	cli_join(a, "#s1");
	cli_join(b, "#s2");
	H_ASSERT(srv_wait_status(s, "2 clients, 2 channels", T_LONG, out, sizeof out),
	    "STATUS never said 2 clients, 2 channels");
	srv_stop(s);
}
END_TEST

START_TEST(test_sigterm)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "terma"), *b = cli_new(s, "termb"), *c = cli_connect(s);
	struct cli *all[2] = { a, b };
	struct irc_msg m;

	cli_join(a, "#term");
	cli_join(b, "#term");
	cli_send(c, "NICK halfway");
	H_ASSERT(cli_sync(a, "ERROR") == 0, "ERROR before SIGTERM");
	srv_stop(s);	/* exit 0, STOPPING=1, no process, no IPC object left */
	for (int i = 0; i < 2; i++) {
		struct cli *x = all[i];

		EXPECT(x, "ERROR", &m);
		H_ASSERT(!strncmp(msg_last(&m), "Closing Link: 127.0.0.1 (", 25),
			 "%s: ERROR :%s", x->nick, msg_last(&m));
		EXPECT_EOF(x, T_SHORT);
	}
	EXPECT(c, "ERROR", &m);
	EXPECT_EOF(c, T_SHORT);
}
END_TEST

START_TEST(test_master_death)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "orphan1"), *b = cli_new(s, "orphan2"), *c = cli_connect(s);
	long long t0;

	cli_join(a, "#dead");
	cli_join(b, "#dead");
	cli_send(c, "NICK orphan3");
	H_ASSERT(cli_sync(a, NULL) >= 0, "sync");
	H_ASSERT(srv_worker_of(s, a, T_SHORT) > 0, "no worker process found for a client");
	t0 = h_now_ms();
	H_ASSERT(kill(s->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	H_ASSERT(srv_wait_master(s, T_SHORT), "master survived SIGKILL");
	EXPECT_EOF(a, 2000 * h_scale);
	EXPECT_EOF(b, 2000 * h_scale);
	EXPECT_EOF(c, 2000 * h_scale);
	if (!srv_group_gone(s, 2000 * h_scale))
		H_FAIL("workers still alive %lld ms after the master died", h_now_ms() - t0);
	/* the daemon could not clean up after itself: remove what is left */
	srv_check_ipc(s, false);
}
END_TEST

/* workers are the lean helper program: no libconfig, no libsystemd mapped */
START_TEST(test_lean_workers)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "lean1");
	pid_t w = srv_worker_of(s, a, T_SHORT);
	char path[64], exe[4096], line[512];
	ssize_t n;
	FILE *f;
	int libc = 0;
	bool heap = false;

	H_ASSERT(w > 0, "no worker process found for a client");
	snprintf(path, sizeof path, "/proc/%d/exe", (int)w);
	n = readlink(path, exe, sizeof exe - 1);
	H_ASSERT(n > 0, "readlink %s: %s", path, strerror(errno));
	exe[n] = '\0';
	if (getenv("SHMCHATD_WRAPPER") != NULL && strstr(exe, "/shmchatd-worker") == NULL) {
		/* under valgrind the executable is valgrind's; its command line
		 * (valgrind's options, then the program's) names the program */
		int fd;

		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)w);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		H_ASSERT(fd >= 0, "%s: %s", path, strerror(errno));
		n = read(fd, exe, sizeof exe - 1);
		close(fd);
		H_ASSERT(n > 0, "read %s: %s", path, n < 0 ? strerror(errno) : "empty");
		for (ssize_t i = 0; i < n; i++)
			if (exe[i] == '\0')
				exe[i] = ' ';
		exe[n] = '\0';
	}
	H_ASSERT(strstr(exe, "/shmchatd-worker") != NULL, "worker runs %s", exe);
	/* replies of its own (PONG, an error) and the master's (WHOIS) */
	cli_send(a, "PING :lean");
	EXPECT(a, "PONG", NULL);
	cli_send(a, "NOSUCHCOMMAND");
	EXPECT(a, "421", NULL);
	cli_send(a, "WHOIS lean1");
	EXPECT(a, "318", NULL);
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)w);
	f = fopen(path, "r");
	H_ASSERT(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		long kb;
		unsigned long lo, hi;

		H_ASSERT(!strstr(line, "libconfig") && !strstr(line, "libsystemd"),
			 "a worker maps %s", line);
		/*
		 * A client that keeps up is written to straight from the ring:
		 * its worker never calls malloc, so it owns no heap page. The
		 * heap it maps is the fork server's (the time zone, read
		 * there once), shared with every worker (a wrapper such as
		 * valgrind brings an allocator of its own).
		 */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			heap = strstr(line, "[heap]") != NULL;	/* a mapping starts */
		if (heap && sscanf(line, "Private_Dirty: %ld kB", &kb) == 1 &&
		    !getenv("SHMCHATD_WRAPPER") && !getenv("SHMCHAT_VALGRIND"))
			H_ASSERT(kb == 0, "an idle worker owns %ld kB of heap", kb);
		libc += strstr(line, "libc.so") != NULL;
	}
	fclose(f);
	H_ASSERT(libc > 0, "no libc in the worker's maps: not read properly");
	srv_stop(s);
}
END_TEST

/*
 * Stop a's worker, let talker send n lines to #bl (which a and watch are
 * in), and once watch has them all (so a's inbox holds them too) let the
 * worker go: it finds a backlog, and a gets every line, in order.
 */
static void
backlog_round(struct cli *a, struct cli *talker, struct cli *watch, pid_t w, int round, int n)
{
	char text[64];

	H_ASSERT(kill(w, SIGSTOP) == 0, "SIGSTOP %d: %s", (int)w, strerror(errno));
	for (int i = 0; i < n; i++)
		cli_send(talker, "PRIVMSG #bl :r%d line %d", round, i);
	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof text, "r%d line %d", round, i);
		cli_expect_text(watch, "PRIVMSG", talker, "#bl", text);
	}
	H_ASSERT(kill(w, SIGCONT) == 0, "SIGCONT %d: %s", (int)w, strerror(errno));
	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof text, "r%d line %d", round, i);
		cli_expect_text(a, "PRIVMSG", talker, "#bl", text);
	}
}

/*
 * A backlog is written from a static array of two pages (a record takes
 * one of its 16-byte entries, so 300 records fill one page); they are given
 * back once the worker has gone two seconds without one (or every worker
 * that was ever behind would keep them), and the next backlog works again.
 */
START_TEST(test_backlog_pages_given_back)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "behind"), *t = cli_new(s, "talker"), *c = cli_new(s, "watch");
	/* the pages are the worker's own only without a wrapper (valgrind) */
	bool measure = !getenv("SHMCHATD_WRAPPER") && !getenv("SHMCHAT_VALGRIND");
	pid_t w = srv_worker_of(s, a, T_SHORT);

	H_ASSERT(w > 0, "no worker process found for a client");
	cli_join(a, "#bl");
	cli_join(t, "#bl");
	cli_join(c, "#bl");
	for (int round = 0; round < 2; round++) {
		long behind, now = -1;
		long long deadline;

		backlog_round(a, t, c, w, round, 300);
		behind = h_proc_smaps_kb(w, "Private_Dirty");
		H_ASSERT(behind > 0, "Private_Dirty of worker %d unreadable", (int)w);
		deadline = h_now_ms() + 2000 + 3 * T_SHORT;
		while (measure && h_now_ms() < deadline &&
		    (now = h_proc_smaps_kb(w, "Private_Dirty")) > behind - 4)
			poll(NULL, 0, 50);
		H_ASSERT(!measure || now <= behind - 4,
			 "round %d: the worker still owns %ld kB (%ld kB after its backlog)",
			 round, now, behind);
	}
	/* and everyone is still served */
	cli_send(a, "PRIVMSG #bl :caught up");
	cli_expect_text(c, "PRIVMSG", a, "#bl", "caught up");
	cli_expect_text(t, "PRIVMSG", a, "#bl", "caught up");
	srv_stop(s);
}
END_TEST

START_TEST(test_kill_worker)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "victim"), *b = cli_new(s, "witness"), *c;
	struct irc_msg m;
	pid_t w, wb;
	char path[64];
	long long deadline;

	cli_join(a, "#kill");
	cli_join(b, "#kill");
	w = srv_worker_of(s, a, T_SHORT);
	H_ASSERT(w > 0, "no worker process found for the victim");
	wb = srv_worker_of(s, b, T_SHORT);
	H_ASSERT(wb > 0 && wb != w, "worker of witness %d, of victim %d", (int)wb, (int)w);
	H_ASSERT(w != s->pid, "the victim's connection is held by the master");
	H_ASSERT(kill(w, SIGKILL) == 0, "kill %d: %s", (int)w, strerror(errno));
	EXPECT_EOF(a, T_SHORT);
	EXPECT_FROM(b, "QUIT", "victim", &m);
	/* reaped: no zombie left behind */
	snprintf(path, sizeof path, "/proc/%d", (int)w);
	deadline = h_now_ms() + T_SHORT;
	while (access(path, F_OK) == 0) {
		char st[512] = "", *rp;
		FILE *f;

		snprintf(st, sizeof st, "/proc/%d/stat", (int)w);
		f = fopen(st, "r");
		if (f) {
			if (!fgets(st, sizeof st, f))
				st[0] = '\0';
			fclose(f);
		}
		rp = strrchr(st, ')');
		H_ASSERT(h_now_ms() < deadline, "killed worker %d not reaped (state %c)", (int)w,
			 rp ? rp[2] : '?');
		poll(NULL, 0, 10);
	}
	/* the nick is free, the server keeps serving */
	c = cli_new(s, "victim");
	cli_join(c, "#kill");
	EXPECT_FROM(b, "JOIN", "victim", &m);
	cli_send(c, "PRIVMSG #kill :I am back");
	cli_expect_text(b, "PRIVMSG", c, "#kill", "I am back");
	cli_send(b, "PRIVMSG victim :welcome back");
	cli_expect_text(c, "PRIVMSG", b, "victim", "welcome back");
	srv_stop(s);
}
END_TEST

/* ------------------------------------------------------------------ load */

START_TEST(test_sendq)
{
	struct srv *s = srv_start("sendq = 65536; log_level = \"info\";");
	struct cli *a = cli_connect_rcvbuf(s, 4096);
	struct cli *r, *f;
	struct irc_msg m;
	char payload[400], out[600];
	const int nmin = 2000, nmax = 12000;
	int sent = 0, target = nmax, next = 1, rquit = 0;
	size_t opos = 0, olen = 0;
	long long deadline;
	char *line;
	size_t len;
	int last_a = 0, lines_a = 0;
	char last_line[600] = "";

	cli_register(a, "sleepy");
	cli_join(a, "#flood");
	r = cli_new(s, "reader");
	cli_join(r, "#flood");
	f = cli_new(s, "flooder");
	cli_join(f, "#flood");
	memset(payload, 'x', 380);
	payload[380] = '\0';

	/* flood until the reader saw sleepy quit (plus some), read as we go */
	deadline = h_now_ms() + 30000LL * h_scale;
	while (next <= target) {
		struct pollfd p[2] = { { f->fd, 0, 0 }, { r->fd, POLLIN, 0 } };

		H_ASSERT(h_now_ms() < deadline, "flood not done in 30 s: sent %d, reader at %d", sent,
			 next);
		/* keep the reader's backlog small (window of 50 messages, about
		 * 21 KB < sendq): only the non-reader may overflow */
		if (olen == 0 && sent < target && sent - next < 50) {
			sent++;
			olen = (size_t)snprintf(out, sizeof out, "PRIVMSG #flood :%d %s\r\n", sent,
						payload);
			opos = 0;
		}
		if (olen)
			p[0].events = POLLOUT;
		poll(p, 2, 100);
		if (p[0].revents & POLLOUT) {
			ssize_t n = send(f->fd, out + opos, olen - opos, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0) {
				opos += (size_t)n;
				if (opos == olen)
					olen = 0;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				H_FAIL("flooder send: %s", strerror(errno));
			}
		}
		H_ASSERT(!(p[0].revents & (POLLERR | POLLHUP)), "flooder disconnected");
		pump(f, "ERROR", NULL, NULL, 0);
		H_ASSERT(!f->eof, "flooder was disconnected");
		while (cli_next(r, 0, &m)) {
			if (!strcmp(m.command, "QUIT") && m.prefix && !strncmp(m.prefix, "sleepy!", 7)) {
				if (!rquit++) {
					target = sent + 100 < nmax ? sent + 100 : nmax;
					if (target < nmin)
						target = nmin;
				}
				continue;
			}
			H_ASSERT(strcmp(m.command, "ERROR"), "the reading member got ERROR :%s",
				 msg_last(&m));
			if (strcmp(m.command, "PRIVMSG"))
				continue;
			H_ASSERT(cli_prefix_is(f, m.prefix), "PRIVMSG from %s", m.prefix);
			H_ASSERT(atoi(msg_last(&m)) == next, "reader got message %d, expected %d",
				 atoi(msg_last(&m)), next);
			next++;
		}
		H_ASSERT(!r->eof, "the reading member was disconnected");
	}
	/* now drain the one that never read */
	cli_resume_reading(a);
	while (cli_line(a, T_LONG, &line, &len)) {
		struct irc_msg am;

		if (irc_parse(&am, line, len) != IRC_PARSE_OK)
			continue;
		lines_a++;
		snprintf(last_line, sizeof last_line, "%s", line);
		if (!strcmp(am.command, "PRIVMSG")) {
			int n = atoi(msg_last(&am));

			H_ASSERT(n > last_a, "non-reader got message %d after %d", n, last_a);
			last_a = n;
		}
	}
	{
		char why[256];

		H_ASSERT(a->eof, "the non-reading client was not disconnected (%d lines, last "
			 "message %d): %s", lines_a, last_a, cli_tcp_report(a, why, sizeof why));
	}
	{
		static const char want[] = "ERROR :Closing Link: 127.0.0.1 (Max SendQ exceeded)";
		const char *e = strstr(last_line, want);

		H_ASSERT(!(e && e != last_line && strcmp(e, want) == 0 &&
			   strncmp(last_line, ":irc.test ", 10)),
			 "ERROR was glued to the end of a partially sent line: ...%.60s",
			 e && e - last_line > 60 ? e - 60 : last_line);
		H_ASSERT(!strcmp(last_line, want) || (!strncmp(last_line, ":irc.test ", 10) &&
						     !strcmp(last_line + 10, want)),
			 "last line before EOF is not '%s': %.200s", want, last_line);
	}
	H_ASSERT(last_a < sent, "non-reader got all %d messages", sent);
	if (!rquit)
		h_expect(__FILE__, __LINE__, r, "QUIT", "sleepy", T_LONG, &m);
	H_ASSERT(cli_sync(r, "ERROR") == 0, "reader ERROR");
	H_ASSERT(cli_sync(f, "ERROR") == 0, "flooder ERROR");
	srv_stop(s);
}
END_TEST

#define NBIG	200
#define KBIG	10

/*
 * Lazy wake-ups (fanout.h): in a channel of more than FANOUT_LAZY_MIN
 * members, JOIN and NICK announcements reach sleeping members a little
 * later, batched; each still reaches every member, and a message sent
 * right behind one arrives at once, after it, in order.
 */
#define NLAZY	40

START_TEST(test_lazy_announcements)
{
	struct srv *s = srv_start("max_clients = 100;");
	struct cli *c[NLAZY], *n;
	struct irc_msg m;

	for (int i = 0; i < NLAZY; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "z%02d", i);
		c[i] = cli_connect(s);
		cli_register_send(c[i], nick);
	}
	for (int i = 0; i < NLAZY; i++) {
		cli_register_wait(c[i]);
		cli_send(c[i], "JOIN #lazy");
		h_expect(__FILE__, __LINE__, c[i], "366", NULL, T_LONG, &m);
	}
	n = cli_new(s, "newcomer");
	cli_send(n, "JOIN #lazy");
	EXPECT(n, "366", &m);
	for (int i = 0; i < NLAZY; i++)
		h_expect(__FILE__, __LINE__, c[i], "JOIN", "newcomer", T_LONG, &m);
	/* an announcement, and a message right behind it */
	cli_send(n, "NICK later");
	cli_send(n, "PRIVMSG #lazy :right behind");
	for (int i = 0; i < NLAZY; i++) {
		bool nick = false;

		for (;;) {
			H_ASSERT(cli_next(c[i], T_SHORT, &m), "z%02d: no PRIVMSG within %d ms "
				 "(nick seen: %d)", i, T_SHORT, nick);
			if (!strcmp(m.command, "NICK"))
				nick = true;
			if (!strcmp(m.command, "PRIVMSG"))
				break;
		}
		H_ASSERT(nick, "z%02d: the PRIVMSG came before the NICK", i);
		H_ASSERT(!strcmp(msg_last(&m), "right behind"), "z%02d got '%s'", i, msg_last(&m));
	}
	cli_send(c[NLAZY - 1], "PRIVMSG later :still served");
	cli_expect_text(n, "PRIVMSG", c[NLAZY - 1], "later", "still served");
	srv_stop(s);
}
END_TEST

START_TEST(test_many_clients)
{
	struct srv *s;
	struct cli *c[NBIG];
	int *last = calloc(NBIG * NBIG, sizeof *last);
	int got[NBIG] = { 0 }, sent[NBIG] = { 0 };
	struct pollfd *p = calloc(NBIG, sizeof *p);
	struct rlimit rl;
	struct irc_msg m;
	long long deadline;
	int done = 0, total = 0;

	H_ASSERT(last && p, "out of memory");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	s = srv_start("max_clients = 400; sendq = 1048576; log_level = \"info\";");
	for (int i = 0; i < NBIG; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "u%03d", i);
		c[i] = cli_connect(s);
		cli_register_send(c[i], nick);
	}
	for (int i = 0; i < NBIG; i++)
		cli_register_wait(c[i]);
	for (int i = 0; i < NBIG; i++)
		cli_send(c[i], "JOIN #big");
	for (int i = 0; i < NBIG; i++)
		h_expect(__FILE__, __LINE__, c[i], "366", NULL, T_LONG, &m);

	/* everyone sends K numbered lines, interleaved with reading */
	deadline = h_now_ms() + 40000LL * h_scale;
	while (done < NBIG) {
		for (int i = 0; i < NBIG; i++) {
			p[i].fd = c[i]->fd;
			p[i].events = POLLIN | (sent[i] < KBIG ? POLLOUT : 0);
			p[i].revents = 0;
		}
		H_ASSERT(h_now_ms() < deadline, "not done in 40 s: %d of %d clients have all, %d lines",
			 done, NBIG, total);
		if (poll(p, NBIG, 200) < 0 && errno != EINTR)
			H_FAIL("poll: %s", strerror(errno));
		for (int i = 0; i < NBIG; i++) {
			char *line;
			size_t len;

			if ((p[i].revents & POLLOUT) && sent[i] < KBIG) {
				sent[i]++;
				cli_send(c[i], "PRIVMSG #big :u%03d %d", i, sent[i]);
			}
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			while (cli_line_nowait(c[i], &line, &len)) {
				const char *t = strstr(line, " PRIVMSG #big :");
				int from = -1, seq = -1, pfrom = -2;

				if (!t) {
					if (strstr(line, "PING ") == line || strstr(line, " PING ")) {
						if (irc_parse(&m, line, len) == IRC_PARSE_OK &&
						    !strcmp(m.command, "PING"))
							cli_send(c[i], "PONG :%s", msg_last(&m));
					}
					H_ASSERT(!strstr(line, "ERROR "), "u%03d: %s", i, line);
					continue;
				}
				if (sscanf(t + 15, "u%d %d", &from, &seq) != 2 ||
				    sscanf(line, ":u%d!", &pfrom) != 1 || pfrom != from ||
				    from < 0 || from >= NBIG)
					H_FAIL("u%03d: unexpected line %s", i, line);
				H_ASSERT(from != i, "u%03d got its own message back: %s", i, line);
				H_ASSERT(seq == last[i * NBIG + from] + 1,
					 "u%03d: from u%03d got %d after %d", i, from, seq,
					 last[i * NBIG + from]);
				last[i * NBIG + from] = seq;
				total++;
				if (++got[i] == (NBIG - 1) * KBIG)
					done++;
			}
			H_ASSERT(!c[i]->eof, "u%03d was disconnected", i);
		}
	}
	for (int i = 0; i < NBIG; i++)
		for (int j = 0; j < NBIG; j++)
			H_ASSERT(last[i * NBIG + j] == (i == j ? 0 : KBIG), "u%03d got %d from u%03d", i,
				 last[i * NBIG + j], j);
	free(last);
	free(p);
	srv_stop(s);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("server");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "options", 30, NULL, NULL);
	tcase_add_test(tc, test_options);

	tc = h_tcase(su, "registration", 30, NULL, NULL);
	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_motd);
	tcase_add_test(tc, test_motd_file);
	tcase_add_test(tc, test_password);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_unregistered);
	tcase_add_test(tc, test_bind_path);
	tcase_add_test(tc, test_registration_timeout);
	tcase_add_test(tc, test_max_clients);

	tc = h_tcase(su, "commands", 30, NULL, NULL);
	tcase_add_test(tc, test_ping_unknown);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_nick_errors);
	tcase_add_test(tc, test_register_one_packet);
	tcase_add_test(tc, test_nick_change);
	tcase_add_test(tc, test_join_part);
	tcase_add_test(tc, test_privmsg_channel);
	tcase_add_test(tc, test_privmsg_user);
	tcase_add_test(tc, test_delivery_after_401_301);
	tcase_add_test(tc, test_topic);
	tcase_add_test(tc, test_names_who);
	tcase_add_test(tc, test_whois);
	tcase_add_test(tc, test_list_lusers);
	tcase_add_test(tc, test_away);
	tcase_add_test(tc, test_ison_userhost);
	tcase_add_test(tc, test_quit);
	tcase_add_test(tc, test_ping_timeout);
	tcase_add_test(tc, test_garbage);

	tc = h_tcase(su, "lifecycle", 30, NULL, NULL);
	tcase_add_test(tc, test_sighup_reload);
	tcase_add_test(tc, test_reload_invalid);
	tcase_add_test(tc, test_watchdog_status);
	tcase_add_test(tc, test_sigterm);
	tcase_add_test(tc, test_master_death);
	tcase_add_test(tc, test_kill_worker);
	tcase_add_test(tc, test_lean_workers);
	tcase_add_test(tc, test_backlog_pages_given_back);

	tc = h_tcase(su, "load", 60, NULL, NULL);
	tcase_add_test(tc, test_sendq);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_lazy_announcements);

	return h_suite_run(su);
}
