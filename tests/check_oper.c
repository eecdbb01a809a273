/*
 * check_oper: server operators against a real shmchatd: OPER (381, +o,
 * 313, 252, USERHOST *, WHO *), a wrong password (464) and its rate
 * limit, a host not allowed (491), KILL, WALLOPS, REHASH, and
 * `shmchatd --hash-password` from a pipe and from a terminal. Every test
 * ends by showing that other clients are still served. No sleeps:
 * replies, PING round trips and markers in the ring's order synchronise;
 * the one wait is for the 3-second retry window of a failed OPER.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

/* "secret" as sha512-crypt: quick to check, so the tests stay quick */
#define HASH_SECRET	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5" \
	"knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"

#define OPERS_CONF \
	"opers = (\n" \
	"  { name = \"alice\"; password = \"" HASH_SECRET "\";\n" \
	"    hosts = [ \"*@127.0.0.1\", \"*@::1\" ]; },\n" \
	"  { name = \"remote\"; password = \"" HASH_SECRET "\"; hosts = [ \"*@10.0.0.1\" ]; },\n" \
	"  { name = \"nohosts\"; password = \"" HASH_SECRET "\"; }\n" \
	");\n"

#define OPER_RETRY_MS	3000	/* cmd_user.c */

/* ---------------------------------------------------------------- helpers */

/*
 * A 263 answers OPER while the server's password checks as a whole are
 * rate-limited: the last check (of anyone's) took t, none is made for 9t
 * (a yescrypt check on a busy machine: a few hundred ms). Ask again a
 * little later, within bounds.
 */
static void oper_again(struct cli *c, const char *name, const char *pw, long long deadline)
{
	H_ASSERT(h_now_ms() < deadline, "%s: OPER %s: 263 for %d ms", c->nick, name, T_LONG);
	H_ASSERT(cli_none(c, NULL, 50), "%s: a line while waiting to retry OPER", c->nick);
	cli_send(c, "OPER %s :%s", name, pw);
}

/* OPER name password: the numeric it ends with (381, 464, 491) */
static const char *oper(struct cli *c, const char *name, const char *pw, struct irc_msg *m)
{
	long long deadline = h_now_ms() + T_LONG;

	cli_send(c, "OPER %s :%s", name, pw);
	for (;;) {
		if (!cli_next(c, T_LONG, m))
			H_FAIL("%s: no answer to OPER %s (%s)", c->nick, name, c->eof ? "EOF" : "timeout");
		if (!strcmp(m->command, "263")) {
			oper_again(c, name, pw, deadline);
			continue;
		}
		if (!strcmp(m->command, "381") || !strcmp(m->command, "464") ||
		    !strcmp(m->command, "491"))
			return m->command;
	}
}

/* c becomes an operator: the MODE +o echo, then 381 */
static void oper_up(struct cli *c, const char *name, const char *pw)
{
	struct irc_msg m;
	bool mode = false;
	long long deadline = h_now_ms() + T_LONG;

	cli_send(c, "OPER %s :%s", name, pw);
	for (;;) {
		if (!cli_next(c, T_LONG, &m))
			H_FAIL("%s: no answer to OPER %s (%s)", c->nick, name, c->eof ? "EOF" : "timeout");
		if (!strcmp(m.command, "263")) {
			oper_again(c, name, pw, deadline);
			continue;
		}
		if (!strcmp(m.command, "MODE")) {
			H_ASSERT(!irc_casecmp(msg_param(&m, 0), c->nick) && !strcmp(msg_last(&m), "+o"),
				 "%s: OPER answered MODE %s %s", c->nick, msg_param(&m, 0), msg_last(&m));
			mode = true;
			continue;
		}
		H_ASSERT(!strcmp(m.command, "381"), "%s: OPER %s answered %s %s", c->nick, name,
			 m.command, msg_last(&m));
		break;
	}
	H_ASSERT(mode, "%s: 381 without the MODE +o echo before it", c->nick);
}

/* the numeric's parameter i of the reply to line (the first reply with cmd) */
static void ask(struct cli *c, const char *line, const char *cmd, struct irc_msg *m)
{
	cli_send(c, "%s", line);
	if (!cli_wait(c, cmd, NULL, T_SHORT, m))
		H_FAIL("%s: no %s for '%s' (%s)", c->nick, cmd, line, c->eof ? "EOF" : "timeout");
}

/* does asking line bring a reply with cmd before its end (end)? */
static bool replies_with(struct cli *c, const char *line, const char *cmd, const char *end,
			 struct irc_msg *m)
{
	bool seen = false;

	cli_send(c, "%s", line);
	for (;;) {
		if (!cli_next(c, T_SHORT, m))
			H_FAIL("%s: no %s after '%s'", c->nick, end, line);
		if (!strcmp(m->command, cmd))
			seen = true;
		if (!strcmp(m->command, end))
			return seen;
	}
}

/* /proc/PID/stat state letter, 0 when the process is gone */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *rp;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	rp = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

/* ------------------------------------------------------------------ OPER */

START_TEST(test_oper_success)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *boss, *other;

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	boss = cli_new(f.s, "boss");
	other = cli_new(f.s, "other");
	H_ASSERT(!replies_with(other, "LUSERS", "252", "255", &m), "252 with no operator online");
	/* the name is compared like nicks */
	oper_up(boss, "ALICE", "secret");
	ask(boss, "MODE boss", "221", &m);
	H_ASSERT(strchr(msg_param(&m, 1), 'o') != NULL, "221 after OPER: %s", msg_param(&m, 1));
	/* again: still an operator, told so */
	H_ASSERT(!strcmp(oper(boss, "alice", "secret", &m), "381"), "second OPER: %s", m.command);

	/* what others see of an operator */
	H_ASSERT(replies_with(other, "WHOIS boss", "313", "318", &m), "no 313 in WHOIS");
	ask(other, "LUSERS", "252", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "1"), "252 counts %s operators", msg_param(&m, 1));
	ask(other, "USERHOST boss other", "302", &m);
	H_ASSERT(!strncmp(msg_last(&m), "boss*=+boss@", 12), "USERHOST: %s", msg_last(&m));
	H_ASSERT(strstr(msg_last(&m), "other=+other@") != NULL, "USERHOST: %s", msg_last(&m));
	ask(other, "WHO boss", "352", &m);
	H_ASSERT(!strcmp(msg_param(&m, 6), "H*"), "WHO flags of an operator: %s", msg_param(&m, 6));
	ask(other, "WHO other", "352", &m);
	H_ASSERT(!strcmp(msg_param(&m, 6), "H"), "WHO flags of a user: %s", msg_param(&m, 6));
	/* 251 counts invisible users apart */
	cli_send(other, "MODE other +i");
	EXPECT(other, "MODE", &m);
	ask(other, "LUSERS", "251", &m);
	H_ASSERT(strstr(msg_last(&m), "There are 3 users and 1 invisible") != NULL, "251: %s",
		 msg_last(&m));

	/* MODE -o drops it */
	cli_send(boss, "MODE boss -o");
	EXPECT(boss, "MODE", &m);
	H_ASSERT(!strcmp(msg_last(&m), "-o"), "MODE -o echo: %s", msg_last(&m));
	H_ASSERT(!replies_with(other, "WHOIS boss", "313", "318", &m), "313 after MODE -o");
	H_ASSERT(!replies_with(other, "LUSERS", "252", "255", &m), "252 after MODE -o");
	ask(other, "USERHOST boss", "302", &m);
	H_ASSERT(!strncmp(msg_last(&m), "boss=+", 6), "USERHOST after -o: %s", msg_last(&m));
	H_ASSERT(srv_log_has(f.s, "boss!boss@127.0.0.1 is now an operator (oper block alice)", 0),
		 "OPER not logged");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_oper_wrong_password)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *c, *c2;

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	c = cli_new(f.s, "guesser");
	H_ASSERT(!strcmp(oper(c, "alice", "wrongpass", &m), "464"), "wrong password: %s",
		 m.command);
	h_fx_alive(&f);
	/* the right one right after: refused without a check */
	H_ASSERT(!strcmp(oper(c, "alice", "secret", &m), "464"), "retry too soon: %s", m.command);
	H_ASSERT(srv_log_has(f.s, "OPER alice from guesser!guesser@127.0.0.1 failed: wrong password",
		 0),
		 "failure not logged with the address");
	H_ASSERT(srv_log_has(f.s, "OPER alice from guesser!guesser@127.0.0.1 refused unchecked", 0),
		 "refusal not logged");
	H_ASSERT(!srv_log_has(f.s, "wrongpass", 0) && !srv_log_has(f.s, "secret", 0),
		 "a password was logged");
	/* the limit is the client's: another one gets in at once */
	c2 = cli_new(f.s, "rightful");
	oper_up(c2, "alice", "secret");
	h_fx_alive(&f);
	/* once the window is over, the right password works */
	H_ASSERT(cli_none(c, "381", OPER_RETRY_MS + 200), "381 without asking");
	oper_up(c, "alice", "secret");
	/*
	 * A flood of long wrong passwords: each is answered, 464 or, while
	 * the last check (of anyone's) is recent, 263; at most one is checked.
	 */
	c = cli_new(f.s, "flooder");
	for (int i = 0; i < 20; i++)
		cli_send(c, "OPER alice :%0400d", i);
	for (int i = 0; i < 20;) {
		H_ASSERT(cli_next(c, T_SHORT, &m), "flooder: %d of 20 OPER answered", i);
		H_ASSERT(strcmp(m.command, "381"), "a wrong password accepted");
		i += !strcmp(m.command, "464") || !strcmp(m.command, "263");
	}
	int checked = srv_log_count(f.s, "from flooder!flooder@127.0.0.1 failed");
	H_ASSERT(checked <= 1, "%d of 20 flooded passwords were checked", checked);
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_oper_host_not_allowed)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *c;
	char pw[600];

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	c = cli_new(f.s, "outsider");
	H_ASSERT(!strcmp(oper(c, "remote", "secret", &m), "491"), "host not allowed: %s",
		 m.command);
	H_ASSERT(!strcmp(oper(c, "nohosts", "secret", &m), "491"), "block without hosts: %s",
		 m.command);
	H_ASSERT(!strcmp(oper(c, "nosuch", "secret", &m), "491"), "unknown name: %s", m.command);
	H_ASSERT(srv_log_has(f.s, "OPER remote from outsider!outsider@127.0.0.1 refused: host not allowed",
		 0),
		 "491 not logged with the address");
	/* no check was made, so no retry window: the right block works at once */
	oper_up(c, "alice", "secret");
	/* hostile: a password as long as a line allows, and no password */
	memset(pw, 'x', 480);
	pw[480] = '\0';
	cli_send(c, "MODE outsider -o");
	EXPECT(c, "MODE", &m);
	H_ASSERT(!strcmp(oper(c, "alice", pw, &m), "464"), "long password: %s", m.command);
	cli_send(c, "OPER alice");
	EXPECT(c, "461", &m);
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------------ KILL */

START_TEST(test_kill)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *boss, *victim, *peer, *again;
	pid_t pid;
	long long deadline;

	h_fx_start(&f, OPERS_CONF "max_clients = 5;\n", H_NO_TESTER);
	boss = cli_new(f.s, "boss");
	victim = cli_new(f.s, "victim");
	peer = cli_new(f.s, "peer");
	cli_join(victim, "#room");
	cli_join(peer, "#room");
	pid = srv_worker_of(f.s, victim, T_SHORT);
	H_ASSERT(pid > 0, "no worker found for the victim");
	oper_up(boss, "alice", "secret");

	cli_send(boss, "KILL ghost :no one");
	EXPECT(boss, "401", &m);
	cli_send(boss, "KILL irc.test :the server");
	EXPECT(boss, "483", &m);
	cli_send(boss, "KILL Victim :spamming");
	EXPECT(victim, "ERROR", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Closing Link: 127.0.0.1 (Killed (boss (spamming)))"),
		 "victim's ERROR: %s", msg_last(&m));
	EXPECT_EOF(victim, T_SHORT);
	EXPECT_FROM(peer, "QUIT", "victim", &m);
	H_ASSERT(cli_prefix_is(victim, m.prefix), "QUIT prefix %s", m.prefix);
	H_ASSERT(!strcmp(msg_last(&m), "Killed (boss (spamming))"), "peer saw QUIT :%s",
		 msg_last(&m));
	H_ASSERT(srv_log_has(f.s, "KILL victim!victim@127.0.0.1 by boss!boss@127.0.0.1: spamming",
		 0),
		 "KILL not logged");

	/* its worker is gone, reaped (no zombie) */
	deadline = h_now_ms() + T_SHORT;
	while (proc_state(pid) != 0) {
		H_ASSERT(h_now_ms() < deadline, "worker %d still there (state %c)", (int)pid,
			 proc_state(pid));
		cli_sync(boss, NULL);
	}
	/* its slot is free: no unknown connection left, and with max_clients
	 * = 5 (four connected now) a new client fits, with the nick */
	for (deadline = h_now_ms() + T_SHORT;
	     replies_with(boss, "LUSERS", "253", "255", &m);)
		H_ASSERT(h_now_ms() < deadline, "the killed client's slot is still taken");
	again = cli_new(f.s, "victim");
	cli_send(peer, "PRIVMSG victim :welcome back");
	cli_expect_text(again, "PRIVMSG", peer, "victim", "welcome back");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_kill_long_reason)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *boss, *victim;
	char reason[480], *line;
	size_t len;

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	boss = cli_new(f.s, "boss");
	victim = cli_new(f.s, "victim");
	cli_join(victim, "#live");
	EXPECT_FROM(f.listener, "JOIN", "victim", &m);
	oper_up(boss, "alice", "secret");
	memset(reason, 'r', sizeof reason - 1);
	reason[sizeof reason - 1] = '\0';
	cli_send(boss, "KILL victim :%s", reason);
	for (;;) {
		H_ASSERT(cli_line(victim, T_SHORT, &line, &len), "victim: no ERROR");
		H_ASSERT(len <= 510, "victim: a line of %zu bytes", len);
		if (!strncmp(line, "ERROR :Closing Link: 127.0.0.1 (Killed (boss (rrrr", 50))
			break;
	}
	EXPECT_EOF(victim, T_SHORT);
	EXPECT_FROM(f.listener, "QUIT", "victim", &m);
	H_ASSERT(!strncmp(msg_last(&m), "Killed (boss (rrrr", 18), "QUIT :%s", msg_last(&m));
	/* no reason: one is given */
	victim = cli_new(f.s, "victim2");
	cli_send(boss, "KILL victim2");
	EXPECT(victim, "ERROR", &m);
	H_ASSERT(strstr(msg_last(&m), "(Killed (boss (<No reason given>)))") != NULL, "ERROR: %s",
		 msg_last(&m));
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_kill_not_oper)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *user, *victim;

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	user = cli_new(f.s, "user");
	victim = cli_new(f.s, "victim");
	cli_send(user, "KILL victim :try");
	EXPECT(user, "481", &m);
	cli_send(user, "WALLOPS :hello");
	EXPECT(user, "481", &m);
	cli_send(user, "REHASH");
	EXPECT(user, "481", &m);
	/* the victim is still there, and served */
	cli_sync(victim, NULL);
	cli_send(user, "PRIVMSG victim :still here?");
	cli_expect_text(victim, "PRIVMSG", user, "victim", "still here?");
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------- oper_override */

/* an operator acts as channel operator only where oper_override says so */
START_TEST(test_oper_override)
{
	for (int on = 0; on < 2; on++) {
		struct h_fx f;
		struct irc_msg m;
		struct cli *owner, *op;

		h_fx_start(&f, on ? OPERS_CONF "oper_override = true;\n" : OPERS_CONF, H_NO_TESTER);
		owner = cli_new(f.s, "owner");
		op = cli_new(f.s, "op");
		cli_join(owner, "#own");
		cli_join(op, "#own");
		EXPECT_FROM(owner, "JOIN", "op", NULL);
		oper_up(op, "alice", "secret");
		cli_send(op, "MODE #own +m");
		if (!on) {
			EXPECT(op, "482", &m);
			cli_send(op, "KICK #own owner :no");
			EXPECT(op, "482", &m);
		} else {
			EXPECT_FROM(owner, "MODE", "op", &m);
			H_ASSERT(!strcmp(msg_param(&m, 1), "+m"), "MODE %s", msg_param(&m, 1));
			cli_send(op, "KICK #own owner :override");
			EXPECT_FROM(owner, "KICK", "op", &m);
			H_ASSERT(srv_log_has(f.s, "used oper override for KICK on #own", 0),
				 "the override was not logged");
		}
		h_fx_stop(&f);
	}
}
END_TEST

/* --------------------------------------------------------------- WALLOPS */

START_TEST(test_wallops)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *boss, *w1, *plain;
	int seen = 0;

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	boss = cli_new(f.s, "boss");
	w1 = cli_new(f.s, "wally");
	plain = cli_new(f.s, "plain");
	cli_send(w1, "MODE wally +w");
	EXPECT(w1, "MODE", &m);
	oper_up(boss, "alice", "secret");
	cli_send(boss, "WALLOPS :network maintenance at noon");
	EXPECT(w1, "WALLOPS", &m);
	H_ASSERT(cli_prefix_is(boss, m.prefix), "WALLOPS prefix %s", m.prefix);
	H_ASSERT(!strcmp(msg_last(&m), "network maintenance at noon"), "WALLOPS :%s", msg_last(&m));
	/* the sender (not +w) sees it once */
	EXPECT(boss, "WALLOPS", &m);
	H_ASSERT(cli_sync(boss, "WALLOPS") == 0, "the sender got its WALLOPS twice");
	/* plain (not +w) gets none: a marker published after it arrives first */
	cli_send(f.speaker, "PRIVMSG plain :marker");
	for (;;) {
		H_ASSERT(cli_next(plain, T_SHORT, &m), "plain: no marker");
		seen += !strcmp(m.command, "WALLOPS");
		if (!strcmp(m.command, "PRIVMSG") && !strcmp(msg_last(&m), "marker"))
			break;
	}
	H_ASSERT(seen == 0, "a user without +w got WALLOPS");
	cli_send(boss, "WALLOPS :");
	EXPECT(boss, "461", &m);
	h_fx_stop(&f);
}
END_TEST

/* ---------------------------------------------------------------- REHASH */

START_TEST(test_rehash)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *boss, *carol;

	h_fx_start(&f, OPERS_CONF "motd = \"old motd\";\n", H_NO_TESTER);
	boss = cli_new(f.s, "boss");
	carol = cli_new(f.s, "carol");
	oper_up(boss, "alice", "secret");
	H_ASSERT(!strcmp(oper(carol, "carol", "secret", &m), "491"), "carol before: %s",
		 m.command);

	/* a new MOTD and a new oper block take effect */
	srv_write_conf(f.s, "motd = \"new motd\";\n"
		       "opers = ( { name = \"alice\"; password = \"" HASH_SECRET "\";"
		       " hosts = \"*@127.0.0.1\"; },\n"
		       "  { name = \"carol\"; password = \"" HASH_SECRET "\";"
		       " hosts = \"*@127.0.0.1\"; } );\n");
	cli_send(boss, "REHASH");
	EXPECT(boss, "382", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), f.s->conf) && !strcmp(msg_last(&m), "Rehashing"),
		 "382 %s :%s", msg_param(&m, 1), msg_last(&m));
	EXPECT(boss, "NOTICE", &m);
	H_ASSERT(strstr(msg_last(&m), "*** REHASH: reloaded (changed: ") != NULL &&
		 strstr(msg_last(&m), "motd") && strstr(msg_last(&m), "opers"),
		 "NOTICE :%s", msg_last(&m));
	ask(boss, "MOTD", "372", &m);
	H_ASSERT(!strcmp(msg_last(&m), "- new motd"), "MOTD after REHASH: %s", msg_last(&m));
	oper_up(carol, "carol", "secret");
	/* operators stay operators */
	H_ASSERT(replies_with(carol, "WHOIS boss", "313", "318", &m), "boss lost +o on REHASH");

	/* a broken file: refused, said so, the running configuration stays */
	srv_write_conf(f.s, "motd = \"newer motd\";\nmax_clients = \"many\";\n");
	cli_send(boss, "REHASH");
	EXPECT(boss, "382", &m);
	EXPECT(boss, "NOTICE", &m);
	H_ASSERT(strstr(msg_last(&m), "reload failed, configuration kept: ") &&
		 strstr(msg_last(&m), "max_clients must be an integer"), "NOTICE :%s",
		 msg_last(&m));
	ask(boss, "MOTD", "372", &m);
	H_ASSERT(!strcmp(msg_last(&m), "- new motd"), "MOTD after a failed REHASH: %s",
		 msg_last(&m));
	H_ASSERT(srv_log_has(f.s, "REHASH by boss!boss@127.0.0.1", 0), "REHASH not logged");
	h_fx_stop(&f);
}
END_TEST

/* -------------------------------------------------------- --hash-password */

START_TEST(test_hash_password_stdin)
{
	const char *const argv[] = { "/bin/sh", "-c",
		"printf 'hunter2\\n' | \"$0\" --hash-password 2>/dev/null", SHMCHATD_PATH, NULL };
	const char *const empty[] = { "/bin/sh", "-c", "\"$0\" --hash-password </dev/null",
		SHMCHATD_PATH, NULL };
	char hash[512], out[512], conf[1024];
	struct h_fx f;
	struct cli *c;
	struct irc_msg m;
	int st;

	st = h_run(argv, hash, sizeof hash, T_LONG);
	H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "--hash-password: status %d: %s",
		 st, hash);
	hash[strcspn(hash, "\n")] = '\0';
	/* Debian's libcrypt has yescrypt; sha512-crypt is the fallback */
	H_ASSERT(!strncmp(hash, "$y$", 3) || !strncmp(hash, "$6$", 3), "hash '%s'", hash);
	st = h_run(empty, out, sizeof out, T_LONG);
	H_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 65 &&
		 strstr(out, "no password given"), "empty stdin: status %d: %s", st, out);

	snprintf(conf, sizeof conf, "opers = ( { name = \"op\"; password = \"%s\";"
		 " hosts = [ \"*@127.0.0.1\" ]; } );\n", hash);
	h_fx_start(&f, conf, H_NO_TESTER);
	c = cli_new(f.s, "hasher");
	H_ASSERT(!strcmp(oper(c, "op", "hunter3", &m), "464"), "wrong password: %s", m.command);
	c = cli_new(f.s, "hasher2");
	oper_up(c, "op", "hunter2");
	h_fx_stop(&f);
}
END_TEST

/* read the pty until want appears in what was read (kept in buf) */
static void pty_until(int fd, char *buf, size_t cap, size_t *len, const char *want)
{
	long long deadline = h_now_ms() + T_LONG;

	while (!strstr(buf, want)) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		H_ASSERT(h_now_ms() < deadline, "no '%s' on the terminal; got '%s'", want, buf);
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf + *len, cap - *len - 1);
		if (n <= 0)
			H_FAIL("terminal closed before '%s'; got '%s'", want, buf);
		*len += (size_t)n;
		buf[*len] = '\0';
	}
}

/* run --hash-password on a pseudo-terminal, typing a and b at its prompts */
static int hash_on_tty(const char *a, const char *b, char *buf, size_t cap)
{
	pid_t parent = getpid(), pid;
	size_t len = 0;
	int fd, st;
	bool typed;

	buf[0] = '\0';
	fflush(NULL);
	pid = forkpty(&fd, NULL, NULL, NULL);
	H_ASSERT(pid >= 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		execl(SHMCHATD_PATH, SHMCHATD_PATH, "--hash-password", (char *)NULL);
		_exit(127);
	}
	pty_until(fd, buf, cap, &len, "Password: ");
	typed = dprintf(fd, "%s\n", a) > 0;
	H_ASSERT(typed, "write: %s", strerror(errno));
	pty_until(fd, buf, cap, &len, "Again: ");
	typed = dprintf(fd, "%s\n", b) > 0;
	H_ASSERT(typed, "write: %s", strerror(errno));
	for (;;) {	/* to EOF (EIO on Linux once the other side is gone) */
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, T_LONG) <= 0)
			break;
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	close(fd);
	H_ASSERT(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_hash_password_tty)
{
	char out[2048];

	H_ASSERT(hash_on_tty("tty-pass-1", "tty-pass-1", out, sizeof out) == 0,
		 "--hash-password on a terminal failed: %s", out);
	H_ASSERT(strstr(out, "$y$") || strstr(out, "$6$"), "no hash printed: %s", out);
	H_ASSERT(!strstr(out, "tty-pass-1"), "the password was echoed: %s", out);
	H_ASSERT(hash_on_tty("tty-pass-1", "tty-pass-2", out, sizeof out) == 65,
		 "different passwords accepted: %s", out);
	H_ASSERT(strstr(out, "the passwords differ") && !strstr(out, "$y$") && !strstr(out, "$6$"),
		 "different passwords: %s", out);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("oper");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "oper", 60, NULL, NULL);
	tcase_add_test(tc, test_oper_success);
	tcase_add_test(tc, test_oper_wrong_password);
	tcase_add_test(tc, test_oper_host_not_allowed);

	tc = h_tcase(su, "commands", 60, NULL, NULL);
	tcase_add_test(tc, test_kill);
	tcase_add_test(tc, test_kill_long_reason);
	tcase_add_test(tc, test_kill_not_oper);
	tcase_add_test(tc, test_oper_override);
	tcase_add_test(tc, test_wallops);
	tcase_add_test(tc, test_rehash);

	tc = h_tcase(su, "hash-password", 60, NULL, NULL);
	tcase_add_test(tc, test_hash_password_stdin);
	tcase_add_test(tc, test_hash_password_tty);

	return h_suite_run(su);
}
