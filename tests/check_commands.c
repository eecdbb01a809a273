#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "harness.h"

/*
 * Integration tests of the IRC command layer: what the server answers, in
 * which order, and that an error leaves nothing behind. Each test starts its
 * own shmchatd on loopback and ends with srv_stop(). A test of an error path
 * ends by showing that others are still served (h_fx_alive()). No sleeps:
 * replies, PING round trips (cli_sync) and cli_none() synchronise.
 */

/* ---------------------------------------------------------------- helpers */

/* is cmd one of the blank-separated words of set? */
static bool word_in(const char *set, const char *cmd)
{
	size_t n = strlen(cmd);

	for (const char *p = set; (p = strstr(p, cmd)); p += n)
		if ((p == set || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static bool is_error_numeric(const char *cmd)
{
	return isdigit((unsigned char)cmd[0]) && (cmd[0] == '4' || cmd[0] == '5');
}

/* from says text in chan; each listener (NULL-terminated) hears it next */
static void say(struct cli *from, const char *chan, const char *text, struct cli *const *to)
{
	cli_send(from, "PRIVMSG %s :%s", chan, text);
	for (; *to; to++)
		cli_expect_text(*to, "PRIVMSG", from, chan, text);
}

/*
 * speaker's PRIVMSG to chan is refused with 404 (about chan); when it is
 * not, the failure says whether listener received the message
 */
static void expect_refused(struct cli *speaker, const char *chan, const char *text,
			   struct cli *listener)
{
	struct irc_msg m;
	bool heard;

	cli_send(speaker, "PRIVMSG %s :%s", chan, text);
	if (cli_wait(speaker, "404", NULL, T_SHORT, &m)) {
		H_ASSERT(!irc_casecmp(msg_param(&m, 1), chan), "%s: 404 is about %s, expected %s",
			 speaker->nick, msg_param(&m, 1), chan);
		return;
	}
	heard = cli_wait(listener, "PRIVMSG", speaker->nick, T_SHORT, &m);
	H_FAIL("%s: no 404 for PRIVMSG %s within %d ms (%s); %s %s", speaker->nick, chan, T_SHORT,
	       speaker->eof ? "EOF" : "timeout", listener->nick,
	       heard ? "received the message" : "did not receive it either");
}

/* the lines (NULL-terminated), each with CR LF, in one write */
static void send_batch(struct cli *c, const char *const *lines)
{
	char buf[4096];
	size_t len = 0;

	for (; *lines; lines++) {
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\r\n", *lines);
		H_ASSERT(len < sizeof buf, "batch too long");
	}
	H_ASSERT(cli_send_raw(c, buf, len), "%s: send failed", c->nick);
}

/*
 * The replies named in want (NULL-terminated) arrive in exactly this order:
 * lines whose command is not in want are skipped, one that is must be the
 * next expected.
 */
static void expect_order(struct cli *c, const char *what, const char *const *want)
{
	char set[256] = "";
	struct irc_msg m;
	int n = 0;

	for (; want[n]; n++) {
		strncat(set, want[n], sizeof set - strlen(set) - 2);
		strcat(set, " ");
	}
	for (int i = 0; i < n;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("%s: %s: reply %d of %d (%s) missing (%s)", c->nick, what, i + 1, n,
			       want[i], c->eof ? "EOF" : "timeout");
		if (!word_in(set, m.command))
			continue;
		H_ASSERT(!strcmp(m.command, want[i]), "%s: %s: reply %d of %d is %s, expected %s",
			 c->nick, what, i + 1, n, m.command, want[i]);
		i++;
	}
}

/* one reply line, its raw length checked, parameters kept */
struct reply {
	char cmd[16];
	char p[4][64];
	int nparams;
};

/*
 * Send line and "PING :probe" in one write; the replies before the PONG.
 * Every raw line is checked for NUL bytes (the line length vs strlen).
 */
static int replies_to(struct cli *c, const char *line, struct reply *r, int max)
{
	static unsigned seq;
	char ping[32], *raw;
	size_t len;
	struct irc_msg m;
	int n = 0;

	snprintf(ping, sizeof ping, "PING :probe%u", ++seq);
	send_batch(c, (const char *[]){ line, ping, NULL });
	for (;;) {
		if (!cli_line(c, T_SHORT, &raw, &len))
			H_FAIL("%s: '%s': no PONG for %s (%s)", c->nick, line, ping,
			       c->eof ? "EOF" : "timeout");
		H_ASSERT(strlen(raw) == len, "%s: reply to '%s' has a NUL byte at %zu of %zu: %s",
			 c->nick, line, strlen(raw), len, raw);
		if (irc_parse(&m, raw, len) != IRC_PARSE_OK)
			H_FAIL("%s: unparsable reply to '%s': %s", c->nick, line, raw);
		if (!strcmp(m.command, "PONG") && !strcmp(msg_last(&m), ping + 6))
			return n;
		H_ASSERT(n < max, "%s: more than %d replies to '%s'", c->nick, max, line);
		snprintf(r[n].cmd, sizeof r[n].cmd, "%s", m.command);
		r[n].nparams = m.nparams;
		for (int i = 0; i < 4; i++)
			snprintf(r[n].p[i], sizeof r[n].p[i], "%s", msg_param(&m, i));
		n++;
	}
}

/* the first reply with this command, or NULL */
static const struct reply *find_reply(const struct reply *r, int n, const char *cmd)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(r[i].cmd, cmd))
			return &r[i];
	return NULL;
}

/* "CMD p1 p2 ..., CMD ..." for messages */
static const char *replies_str(const struct reply *r, int n)
{
	static char out[1024];
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < n && len < sizeof out; i++) {
		len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? ", " : "", r[i].cmd);
		for (int j = 1; j < r[i].nparams && j < 4 && len < sizeof out; j++)
			len += (size_t)snprintf(out + len, sizeof out - len, " '%s'", r[i].p[j]);
	}
	return n ? out : "(nothing)";
}

/*
 * The common cast: tester (the client under test), and speaker and listener,
 * both in #live, who show the server still serves others.
 */
/* ------------------------------------------------------------- membership */

#define NCHAN	20	/* max_channels_per_client */

/* register and return the value of one ISUPPORT token of 005 */
static struct cli *cli_new_isupport(struct srv *s, const char *nick, const char *key,
				    char *val, size_t cap)
{
	struct cli *c = cli_connect(s);
	struct irc_msg m;
	size_t kl = strlen(key);

	val[0] = '\0';
	cli_register_send(c, nick);
	for (;;) {
		if (!cli_next(c, T_LONG, &m))
			H_FAIL("%s: registration did not end with 376/422", nick);
		if (!strcmp(m.command, "376") || !strcmp(m.command, "422"))
			break;
		if (strcmp(m.command, "005"))
			continue;
		for (int i = 1; i < m.nparams - 1; i++)
			if (!strncmp(m.params[i], key, kl) && m.params[i][kl] == '=')
				snprintf(val, cap, "%s", m.params[i] + kl + 1);
	}
	H_ASSERT(val[0], "%s: no %s= in 005", nick, key);
	return c;
}

/*
 * alice fills every channel slot with names of the longest length the
 * server announces, bob and carol share some of them; alice's JOIN 0 must
 * leave her in none of them, and the probe channel must work again after a
 * new JOIN.
 */
static void join0_scenario(int probe)
{
	struct srv *s = srv_start("max_channels_per_client = 20; channel_len = 50;");
	char chan[NCHAN][256], len[16], seen[NCHAN] = { 0 };
	struct cli *alice = cli_new_isupport(s, "alice", "CHANNELLEN", len, sizeof len);
	struct cli *bob = cli_new(s, "bob"), *carol = cli_new(s, "carol");
	int want[3] = { 0, probe, NCHAN - 1 }, bobs[3], nbob = 0;
	struct irc_msg m;
	int clen = atoi(len);

	H_ASSERT(clen == 50, "CHANNELLEN=%s, configured channel_len = 50", len);
	for (int i = 0; i < NCHAN; i++) {
		snprintf(chan[i], sizeof chan[i], "#c%02d", i);
		memset(chan[i] + 4, 'x', (size_t)clen - 4);
		chan[i][clen] = '\0';
		cli_join(alice, chan[i]);
	}
	/* bob in the first, the probe and the last channel; carol in the probe */
	for (int i = 0; i < 3; i++) {
		if (i > 0 && want[i] == want[i - 1])
			continue;
		cli_join(bob, chan[want[i]]);
		bobs[nbob++] = want[i];
	}
	cli_join(carol, chan[probe]);
	EXPECT_FROM(bob, "JOIN", "carol", &m);

	cli_send(alice, "JOIN 0");
	for (int i = 0; i < NCHAN; i++) {
		int k;

		EXPECT_FROM(alice, "PART", "alice", &m);
		for (k = 0; k < NCHAN && irc_casecmp(chan[k], msg_param(&m, 0)); k++)
			;
		H_ASSERT(k < NCHAN && !seen[k], "alice: PART %d of %d is for %s%s", i + 1, NCHAN,
			 msg_param(&m, 0), k < NCHAN ? " (again)" : " (not one of hers)");
		seen[k] = 1;
	}
	for (int i = 0; i < nbob; i++) {
		int k;

		EXPECT_FROM(bob, "PART", "alice", &m);
		for (k = 0; k < nbob && irc_casecmp(chan[bobs[k]], msg_param(&m, 0)); k++)
			;
		H_ASSERT(k < nbob && seen[bobs[k]] == 1, "bob: alice's PART %d of %d is for %s",
			 i + 1, nbob, msg_param(&m, 0));
		seen[bobs[k]] = 2;
	}
	cli_sync(alice, NULL);

	/* alice is in none of them: 404, and nobody hears her */
	expect_refused(alice, chan[probe], "after JOIN 0 I should not be heard", bob);
	say(carol, chan[probe], "carol after JOIN 0", (struct cli *[]){ bob, NULL });
	say(bob, chan[probe], "bob after JOIN 0", (struct cli *[]){ carol, NULL });

	/* a new JOIN works: echo, NAMES, peers see it, her messages arrive */
	cli_join(alice, chan[probe]);
	EXPECT_FROM(bob, "JOIN", "alice", &m);
	H_ASSERT(!irc_casecmp(msg_param(&m, 0), chan[probe]), "bob saw alice join %s", msg_param(&m, 0));
	cli_send(bob, "NAMES %s", chan[probe]);
	EXPECT(bob, "353", &m);
	H_ASSERT(h_list_has(msg_last(&m), "alice") && h_list_has(msg_last(&m), "carol"),
		 "NAMES %s after the new JOIN: %s", chan[probe], msg_last(&m));
	EXPECT(bob, "366", &m);
	say(alice, chan[probe], "back again", (struct cli *[]){ bob, carol, NULL });
	/* and in none of the others bob keeps alive */
	for (int i = 0; i < nbob; i++)
		if (bobs[i] != probe)
			expect_refused(alice, chan[bobs[i]], "still parted", bob);
	say(carol, chan[probe], "the end", (struct cli *[]){ alice, bob, NULL });
	srv_stop(s);
}

START_TEST(test_join0_last)
{
	join0_scenario(NCHAN - 1);
}
END_TEST

START_TEST(test_join0_first)
{
	join0_scenario(0);
}
END_TEST

START_TEST(test_join0_middle)
{
	join0_scenario(NCHAN / 2);
}
END_TEST

/* PART of one channel, then PRIVMSG to it: 404, and nobody hears it */
START_TEST(test_part_then_privmsg)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "alice"), *b = cli_new(s, "bob"), *c = cli_new(s, "carol");
	struct irc_msg m;

	cli_join(a, "#stay");
	cli_join(a, "#parted");
	cli_join(b, "#parted");
	cli_join(c, "#parted");
	cli_send(a, "PART #parted");
	EXPECT_FROM(a, "PART", "alice", &m);
	H_ASSERT(!strcmp(msg_param(&m, 0), "#parted"), "alice parted %s", msg_param(&m, 0));
	EXPECT_FROM(b, "PART", "alice", &m);
	expect_refused(a, "#parted", "after PART I should not be heard", b);
	say(c, "#parted", "carol after the PART", (struct cli *[]){ b, NULL });
	say(b, "#parted", "bob after the PART", (struct cli *[]){ c, NULL });
	/* alice is still in her other channel */
	cli_send(a, "NAMES #stay");
	EXPECT(a, "353", &m);
	H_ASSERT(h_list_has(msg_last(&m), "alice"), "NAMES #stay: %s", msg_last(&m));
	srv_stop(s);
}
END_TEST

/* --------------------------------------------------------------- ordering */

/* line (answered by the master) and local (answered by the worker) in one
 * write: the reply `first` comes before `then` */
static void check_pair(struct h_fx *f, const char *line, const char *local, const char *first,
		       const char *then)
{
	char what[128];

	snprintf(what, sizeof what, "'%s' + '%s'", line, local);
	send_batch(f->tester, (const char *[]){ line, local, NULL });
	expect_order(f->tester, what, (const char *[]){ first, then, NULL });
}

START_TEST(test_order_401_version)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	check_pair(&f, "PRIVMSG nosuchnick :x", "VERSION", "401", "351");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_order_403_ping)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	check_pair(&f, "PRIVMSG #nosuchchan :x", "PING :t", "403", "PONG");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_order_404_time)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	check_pair(&f, "PRIVMSG #live :x", "TIME", "404", "391");
	/* and the non-member's message reached nobody */
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_order_301_version)
{
	struct h_fx f;
	struct cli *dozer;
	struct irc_msg m;

	h_fx_start(&f, NULL, H_TESTER);
	dozer = cli_new(f.s, "dozer");
	cli_send(dozer, "AWAY :asleep");
	EXPECT(dozer, "306", &m);
	check_pair(&f, "PRIVMSG dozer :x", "VERSION", "301", "351");
	cli_expect_text(dozer, "PRIVMSG", f.tester, "dozer", "x");
	h_fx_stop(&f);
}
END_TEST

/* replies in command order, master-answered and local ones mixed */
START_TEST(test_order_pipeline)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	send_batch(f.tester, (const char *[]){ "JOIN #a", "VERSION", "NAMES #a", "PING :z",
					       "TOPIC #a", "TIME", NULL });
	expect_order(f.tester, "JOIN/VERSION/NAMES/PING/TOPIC/TIME",
		     (const char *[]){ "JOIN", "353", "366", "351", "353", "366", "PONG", "331",
				       "391", NULL });
	h_fx_stop(&f);
}
END_TEST

/* ---------------------------------------------------------------- replies */

#define MAXR	16

/* MODE #chan +: no NUL byte, no empty or non-printable mode in a 472 */
START_TEST(test_mode_plus_alone)
{
	struct h_fx f;
	struct reply r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER);
	cli_join(f.tester, "#chan");
	n = replies_to(f.tester, "MODE #chan +", r, MAXR);
	for (int i = 0; i < n; i++)
		H_ASSERT(strcmp(r[i].cmd, "472") || (strlen(r[i].p[1]) == 1 &&
			 isgraph((unsigned char)r[i].p[1][0]) && !strchr("+-", r[i].p[1][0])),
			 "MODE #chan +: 472 names mode '%s' (%s)", r[i].p[1], replies_str(r, n));
	h_fx_stop(&f);
}
END_TEST

/* MODE #chan +-+: the signs are no unknown modes */
START_TEST(test_mode_signs_only)
{
	struct h_fx f;
	struct reply r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER);
	cli_join(f.tester, "#chan");
	n = replies_to(f.tester, "MODE #chan +-+", r, MAXR);
	for (int i = 0; i < n; i++)
		H_ASSERT(strcmp(r[i].cmd, "472") || !strchr("+-", r[i].p[1][0]),
			 "MODE #chan +-+: 472 calls '%s' an unknown mode (%s)", r[i].p[1],
			 replies_str(r, n));
	h_fx_stop(&f);
}
END_TEST

/* the expected numeric (about p1 unless NULL) is among the replies to
 * line; `not` is not */
static void check_mode(struct h_fx *f, const char *line, const char *want, const char *p1,
		       const char *not)
{
	struct reply r[MAXR];
	int n = replies_to(f->tester, line, r, MAXR);
	const struct reply *x = find_reply(r, n, want);

	H_ASSERT(x && (!p1 || !irc_casecmp(x->p[1], p1)) && !find_reply(r, n, not),
		 "%s: expected %s '%s' (not %s), got %s", line, want, p1 ? p1 : "*", not,
		 replies_str(r, n));
}

START_TEST(test_mode_no_channel)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	check_mode(&f, "MODE #nochan", "403", "#nochan", "324");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_mode_no_nick)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	check_mode(&f, "MODE ghost", "401", "ghost", "502");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_mode_other_user)
{
	struct h_fx f;
	struct reply r[MAXR];
	int n;

	h_fx_start(&f, NULL, H_TESTER);
	n = replies_to(f.tester, "MODE speaker", r, MAXR);
	H_ASSERT(find_reply(r, n, "502") && n == 1, "MODE speaker: expected 502, got %s",
		 replies_str(r, n));
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_mode_own_nick)
{
	struct h_fx f;

	h_fx_start(&f, NULL, H_TESTER);
	check_mode(&f, "MODE tester", "221", NULL, "502");
	h_fx_stop(&f);
}
END_TEST

/* 317 of WHOIS nick asked by c: idle seconds and signon time */
static void whois_idle(struct cli *c, const char *nick, long long *idle, long long *signon)
{
	struct irc_msg m;
	char *e1, *e2;

	cli_send(c, "WHOIS %s", nick);
	EXPECT(c, "317", &m);
	H_ASSERT(!irc_casecmp(msg_param(&m, 1), nick), "317 for %s", msg_param(&m, 1));
	*idle = strtoll(msg_param(&m, 2), &e1, 10);
	*signon = strtoll(msg_param(&m, 3), &e2, 10);
	H_ASSERT(msg_param(&m, 2)[0] && !*e1 && msg_param(&m, 3)[0] && !*e2,
		 "317 fields not numbers: idle '%s' signon '%s'", msg_param(&m, 2), msg_param(&m, 3));
	EXPECT(c, "318", &m);
}

START_TEST(test_whois_idle_fields)
{
	struct h_fx f;
	long long idle, signon, now;

	h_fx_start(&f, NULL, H_TESTER);
	whois_idle(f.speaker, "tester", &idle, &signon);
	now = (long long)time(NULL);
	H_ASSERT(idle >= 0 && idle <= 60, "idle %lld s for a client that just registered", idle);
	H_ASSERT(signon <= now && signon > now - 60, "signon %lld, now %lld", signon, now);
	h_fx_stop(&f);
}
END_TEST

/* idle counts from the user's last PRIVMSG/NOTICE (a PING does not reset
 * it); waits 2.1 s once */
START_TEST(test_whois_idle_counts)
{
	struct h_fx f;
	long long idle, signon;

	h_fx_start(&f, NULL, H_TESTER);
	say(f.tester, "listener", "one message, then silence",
	    (struct cli *[]){ f.listener, NULL });
	H_ASSERT(cli_none(f.speaker, NULL, 2100), "speaker got a line while all were silent");
	cli_sync(f.tester, NULL);
	whois_idle(f.speaker, "tester", &idle, &signon);
	H_ASSERT(idle >= 2 && idle <= 60, "idle %lld s after 2.1 s of silence", idle);
	say(f.tester, "listener", "talking again", (struct cli *[]){ f.listener, NULL });
	whois_idle(f.speaker, "tester", &idle, &signon);
	H_ASSERT(idle <= 1, "idle %lld s right after a PRIVMSG", idle);
	h_fx_stop(&f);
}
END_TEST

/*
 * Master-answered commands with odd arguments: an answer (one of `answers`;
 * other error numerics are wrong), then a PING round trip, then others are
 * still served. answers NULL: no error numeric at all (NICK to one's own).
 */
static const struct odd {
	const char *line, *answers;
} odd[] = {
	{ "TOPIC", "461" },
	{ "TOPIC #nochan", "403 442" },
	{ "PART #nochan", "403 442" },
	{ "PART #live", "442" },	/* exists, tester is no member */
	{ "NAMES #nochan", "366" },
	{ "WHO", "315" },
	{ "WHO #nochan", "315" },
	{ "WHOIS nobody", "401" },
	{ "LIST #nochan", "323" },
	{ "ISON", "461" },
	{ "USERHOST", "461" },
	{ "AWAY", "305" },
	{ "JOIN #", "403 476 479" },
	{ "JOIN ,,,", "461 403 476 479" },
	{ "NICK tester", NULL },
	{ "NICK speaker", "433" },
};

START_TEST(test_odd_args)
{
	const struct odd *o = &odd[_i];
	struct h_fx f;
	struct irc_msg m;

	h_fx_start(&f, NULL, H_TESTER);
	if (!o->answers) {
		struct reply r[MAXR];
		int n = replies_to(f.tester, o->line, r, MAXR);

		for (int i = 0; i < n; i++)
			H_ASSERT(!is_error_numeric(r[i].cmd), "'%s': got %s", o->line,
				 replies_str(r, n));
	} else {
		cli_send(f.tester, "%s", o->line);
		for (;;) {
			if (!cli_next(f.tester, T_SHORT, &m))
				H_FAIL("'%s': no answer (%s) within %d ms (%s)", o->line, o->answers,
				       T_SHORT, f.tester->eof ? "EOF" : "timeout");
			if (word_in(o->answers, m.command))
				break;
			H_ASSERT(!is_error_numeric(m.command), "'%s': answered %s :%s, expected %s",
				 o->line, m.command, msg_last(&m), o->answers);
		}
	}
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("commands");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "membership", 60, NULL, NULL);
	tcase_add_test(tc, test_join0_last);
	tcase_add_test(tc, test_join0_first);
	tcase_add_test(tc, test_join0_middle);
	tcase_add_test(tc, test_part_then_privmsg);

	tc = h_tcase(su, "ordering", 30, NULL, NULL);
	tcase_add_test(tc, test_order_401_version);
	tcase_add_test(tc, test_order_403_ping);
	tcase_add_test(tc, test_order_404_time);
	tcase_add_test(tc, test_order_301_version);
	tcase_add_test(tc, test_order_pipeline);

	tc = h_tcase(su, "replies", 30, NULL, NULL);
	tcase_add_test(tc, test_mode_plus_alone);
	tcase_add_test(tc, test_mode_signs_only);
	tcase_add_test(tc, test_mode_no_channel);
	tcase_add_test(tc, test_mode_no_nick);
	tcase_add_test(tc, test_mode_other_user);
	tcase_add_test(tc, test_mode_own_nick);
	tcase_add_test(tc, test_whois_idle_fields);
	tcase_add_test(tc, test_whois_idle_counts);

	tc = h_tcase(su, "odd-arguments", 30, NULL, NULL);
	tcase_add_loop_test(tc, test_odd_args, 0, (int)(sizeof odd / sizeof *odd));

	return h_suite_run(su);
}
