#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_tls.h"

/*
 * TLS listeners (issue 13): every test starts shmchatd with a plain and a
 * TLS listener (socket activation, the second socket named "ircs") and a
 * certificate made for the run (harness_tls.c). Fault tests end by
 * checking that a fresh TLS client and a plain one are still served.
 */

/* ---------------------------------------------------------------- helpers */

static char g_cert[400], g_key[400];

/* a fresh pair in the test's temp dir, and the config naming it */
static const char *
tls_conf(const char *extra)
{
	static char conf[2048];

	snprintf(g_cert, sizeof g_cert, "%s/cert.pem", h_tmpdir());
	snprintf(g_key, sizeof g_key, "%s/key.pem", h_tmpdir());
	h_tls_make_pair("one.test", NULL, g_cert, g_key, NULL);
	snprintf(conf, sizeof conf, "tls = { certificate = \"%s\"; key = \"%s\"; "
	    "sts_duration = 1234; };\n%s", g_cert, g_key, extra ? extra : "");
	return conf;
}

static struct srv *
tls_srv(const char *extra)
{
	return srv_start_tls(tls_conf(extra));
}

/* utime + stime of pid in clock ticks, -1 when gone */
static long long
proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *rp;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* a new TLS client and a new plain one talk to each other in a channel */
static void
pair_served(struct srv *s, const char *tag)
{
	char tn[32], pn[32], ch[40];
	struct cli *t, *p;

	snprintf(tn, sizeof tn, "t%s", tag);
	snprintf(pn, sizeof pn, "p%s", tag);
	snprintf(ch, sizeof ch, "#ok%s", tag);
	t = cli_new_tls(s, tn);
	p = cli_new(s, pn);
	cli_join(t, ch);
	cli_join(p, ch);
	EXPECT_FROM(t, "JOIN", pn, NULL);
	cli_send(t, "PRIVMSG %s :from tls", ch);
	cli_expect_text(p, "PRIVMSG", t, ch, "from tls");
	cli_send(p, "PRIVMSG %s :from plain", ch);
	cli_expect_text(t, "PRIVMSG", p, ch, "from plain");
	cli_close(t);
	cli_close(p);
}

/* ------------------------------------------------------------------ tests */

/* TLS and plain members of one channel see each other's lines once, in order */
START_TEST(test_mixed_channel)
{
	struct srv *s = tls_srv(NULL);
	struct cli *a = cli_new_tls(s, "alice"), *b = cli_new(s, "bob");
	struct irc_msg m;

	cli_join(a, "#mix");
	cli_join(b, "#mix");
	EXPECT_FROM(a, "JOIN", "bob", &m);
	for (int i = 0; i < 50; i++) {
		cli_send(a, "PRIVMSG #mix :a%d", i);
		cli_send(b, "PRIVMSG #mix :b%d", i);
	}
	for (int i = 0; i < 50; i++) {
		char want[16];

		snprintf(want, sizeof want, "a%d", i);
		cli_expect_text(b, "PRIVMSG", a, "#mix", want);
		snprintf(want, sizeof want, "b%d", i);
		cli_expect_text(a, "PRIVMSG", b, "#mix", want);
	}
	/* nothing more: no copy came twice */
	H_ASSERT(cli_sync(a, "PRIVMSG") == 0, "alice got an extra PRIVMSG");
	H_ASSERT(cli_sync(b, "PRIVMSG") == 0, "bob got an extra PRIVMSG");
	srv_stop(s);
}
END_TEST

/* 2000 lines each way between a TLS and a plain client, all in order */
START_TEST(test_burst)
{
	struct srv *s = tls_srv(NULL);
	struct cli *a = cli_new_tls(s, "tsend"), *b = cli_new(s, "precv");
	struct cli *c = cli_new_tls(s, "trecv");
	char buf[2000 * 64], *p = buf;
	struct irc_msg m;

	cli_join(a, "#burst");
	cli_join(b, "#burst");
	cli_join(c, "#burst");
	EXPECT_FROM(a, "JOIN", "trecv", NULL);
	/* one write of the whole burst: many lines per TLS record */
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "PRIVMSG #burst :%d %040d\r\n", i, i);
	H_ASSERT(cli_send_raw(a, buf, (size_t)(p - buf)), "burst not sent");
	for (int i = 0; i < 2000; i++) {
		EXPECT_T(b, "PRIVMSG", T_LONG, &m);
		H_ASSERT(atoi(msg_last(&m)) == i, "plain reader got %s, expected %d",
		    msg_last(&m), i);
		EXPECT_T(c, "PRIVMSG", T_LONG, &m);
		H_ASSERT(atoi(msg_last(&m)) == i, "TLS reader got %s, expected %d",
		    msg_last(&m), i);
	}
	/* and back: a plain burst to TLS readers goes through SSL_write */
	p = buf;
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "PRIVMSG #burst :%d %040d\r\n", i, i);
	H_ASSERT(cli_send_raw(b, buf, (size_t)(p - buf)), "burst not sent");
	for (int i = 0; i < 2000; i++) {
		EXPECT_T(a, "PRIVMSG", T_LONG, &m);
		H_ASSERT(atoi(msg_last(&m)) == i, "TLS sender got %s, expected %d",
		    msg_last(&m), i);
	}
	H_ASSERT(cli_sync(a, "PRIVMSG") == 0, "extra lines");
	srv_stop(s);
}
END_TEST

/* a TLS client that does not read is cut at sendq; the others go on */
START_TEST(test_sendq)
{
	struct srv *s = tls_srv("sendq = 65536;");
	struct cli *z = cli_connect_tls_rcvbuf(s, 4096), *r, *f;
	char payload[381];
	int sent = 0, next = 0, target = 20000;
	long long deadline = h_now_ms() + 30000LL * h_scale;
	bool quit = false;
	struct irc_msg m;

	cli_register(z, "sleepy");
	cli_join(z, "#flood");
	r = cli_new_tls(s, "reader");
	cli_join(r, "#flood");
	f = cli_new(s, "flooder");
	cli_join(f, "#flood");
	memset(payload, 'x', 380);
	payload[380] = '\0';
	while (next < target) {
		H_ASSERT(h_now_ms() < deadline, "flood not done: sent %d, reader at %d", sent, next);
		/* the reader keeps up (a window of 50 lines, below sendq) */
		if (sent < target && sent - next < 50) {
			cli_send(f, "PRIVMSG #flood :%d %s", sent, payload);
			sent++;
			continue;
		}
		H_ASSERT(cli_next(r, T_LONG, &m), "reader: nothing within %d ms (at %d)", T_LONG,
		    next);
		if (!strcmp(m.command, "QUIT")) {
			H_ASSERT(m.prefix && !strncmp(m.prefix, "sleepy!", 7), "QUIT of %s", m.prefix);
			H_ASSERT(!strcmp(msg_last(&m), "Max SendQ exceeded"), "QUIT :%s",
			    msg_last(&m));
			quit = true;
			target = sent + 100;
			continue;
		}
		if (strcmp(m.command, "PRIVMSG"))
			continue;
		H_ASSERT(atoi(msg_last(&m)) == next, "reader got %d, expected %d",
		    atoi(msg_last(&m)), next);
		next++;
	}
	H_ASSERT(quit, "sleepy was never cut");
	H_ASSERT(cli_sync(f, "ERROR") == 0, "flooder ERROR");
	pair_served(s, "1");
	srv_stop(s);
}
END_TEST

/* plain text to the TLS port: logged, closed, nobody else disturbed */
START_TEST(test_garbage_tls_port)
{
	struct srv *s = tls_srv(NULL);
	struct cli *c = cli_connect_port(s, s->tls_port, 0);

	cli_send(c, "NICK garbage");
	cli_send(c, "USER g 0 * :g");
	EXPECT_EOF(c, T_LONG);
	H_ASSERT(srv_log_has(s, "TLS handshake failed", T_SHORT), "no log line");
	pair_served(s, "1");
	srv_stop(s);
}
END_TEST

/* a TLS ClientHello to the plain port: logged, closed */
START_TEST(test_clienthello_plain_port)
{
	struct srv *s = tls_srv(NULL);
	struct cli *c = cli_connect(s);
	static const unsigned char hello[] = {
		0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03,
	};

	cli_send_raw(c, hello, sizeof hello);
	EXPECT_EOF(c, T_LONG);
	H_ASSERT(srv_log_has(s, "TLS handshake on a plain-text port", T_SHORT), "no log line");
	pair_served(s, "1");
	srv_stop(s);
}
END_TEST

/* half a ClientHello, then silence: the registration timeout closes it,
 * and the worker waits without spinning meanwhile */
START_TEST(test_stalled_handshake)
{
	struct srv *s = tls_srv("registration_timeout = 3;");
	struct cli *c = cli_connect_port(s, s->tls_port, 0);
	static const unsigned char part[] = {
		0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x11, 0x22,
	};
	char *line;
	size_t len;
	pid_t w;
	long long t0, t1;

	cli_send_raw(c, part, sizeof part);
	w = srv_worker_of(s, c, T_SHORT);
	H_ASSERT(w > 0, "no worker for the stalled client");
	t0 = proc_cpu_ticks(w);
	/* a bounded wait for something that must not come */
	H_ASSERT(!cli_line(c, 1500, &line, &len) && !c->eof, "the server answered or closed early");
	t1 = proc_cpu_ticks(w);
	H_ASSERT(t0 >= 0 && t1 >= 0 && t1 - t0 <= 5, "the waiting worker used %lld ticks",
	    t1 - t0);
	EXPECT_EOF(c, T_LONG);
	H_ASSERT(srv_log_has(s, "TLS handshake not done in 3 s", T_SHORT), "no log line");
	pair_served(s, "1");
	srv_stop(s);
}
END_TEST

/* TLS 1.2 renegotiation: refused, logged, closed */
START_TEST(test_renegotiation)
{
	struct srv *s = tls_srv(NULL);
	struct cli *c = cli_connect_tls12(s);

	cli_register(c, "reneg");
	cli_tls_renegotiate(c);
	EXPECT_EOF(c, T_LONG);
	H_ASSERT(srv_log_has(s, "TLS renegotiation attempted", T_SHORT), "no log line");
	pair_served(s, "1");
	srv_stop(s);
}
END_TEST

/* SIGHUP reloads the pair; a broken pair is reported and the old one kept */
START_TEST(test_reload)
{
	struct srv *s = tls_srv(NULL);
	struct cli *a = cli_new_tls(s, "before"), *b, *c;
	char cn[128];

	cli_tls_peer_cn(a, cn, sizeof cn);
	H_ASSERT(!strcmp(cn, "one.test"), "first certificate: %s", cn);
	h_tls_make_pair("two.test", NULL, g_cert, g_key, NULL);
	kill(s->pid, SIGHUP);
	H_ASSERT(srv_log_has(s, "TLS certificate reloaded", T_LONG), "no reload logged");
	b = cli_new_tls(s, "after");
	cli_tls_peer_cn(b, cn, sizeof cn);
	H_ASSERT(!strcmp(cn, "two.test"), "after the reload: %s", cn);
	/* a key that is no key: the pair in use stays */
	h_write_file(g_key, "not a key\n");
	kill(s->pid, SIGHUP);
	H_ASSERT(srv_log_has(s, "the previous pair is kept", T_LONG), "no failure logged");
	c = cli_new_tls(s, "broken");
	cli_tls_peer_cn(c, cn, sizeof cn);
	H_ASSERT(!strcmp(cn, "two.test"), "after a broken reload: %s", cn);
	/* the clients from before are still served */
	cli_send(a, "PRIVMSG after :still here");
	cli_expect_text(b, "PRIVMSG", a, "after", "still here");
	H_ASSERT(srv_log_count(s, "TLS certificate reloaded") == 1, "reloaded twice?");
	pair_served(s, "1");
	srv_stop(s);
}
END_TEST

/* WHOIS 671 for a TLS client, not for a plain one */
START_TEST(test_whois_secure)
{
	struct srv *s = tls_srv(NULL);
	struct cli *a = cli_new_tls(s, "secure"), *b = cli_new(s, "plain");
	struct irc_msg m;

	cli_send(b, "WHOIS secure");
	EXPECT(b, "671", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "secure") &&
	    !strcmp(msg_last(&m), "is using a secure connection"), "671: %s %s",
	    msg_param(&m, 1), msg_last(&m));
	EXPECT(b, "318", &m);
	cli_send(a, "WHOIS plain");
	EXPECT(a, "311", &m);
	H_ASSERT(cli_sync(a, "671") == 0, "671 for a plain client");
	srv_stop(s);
}
END_TEST

/* the CAP LS list has this capability (with its value) among its words */
static bool
cap_listed(const char *list, const char *cap)
{
	size_t n = strlen(cap);

	for (const char *p = list; (p = strstr(p, cap)) != NULL; p++)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* CAP LS: sts with the port on plain connections, without it on TLS;
 * sts cannot be requested */
START_TEST(test_cap_sts)
{
	struct srv *s = tls_srv(NULL);
	struct cli *p = cli_connect(s), *t = cli_connect_tls(s);
	struct irc_msg m;
	char want[64];

	snprintf(want, sizeof want, "sts=port=%d,duration=1234", s->tls_port);
	cli_send(p, "CAP LS 302");
	EXPECT(p, "CAP", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "LS") && cap_listed(msg_last(&m), want),
	    "plain CAP LS: %s", msg_last(&m));
	cli_send(t, "CAP LS 302");
	EXPECT(t, "CAP", &m);
	H_ASSERT(cap_listed(msg_last(&m), "sts=duration=1234") &&
	    !cap_listed(msg_last(&m), want), "TLS CAP LS: %s", msg_last(&m));
	cli_send(p, "CAP REQ :sts");
	EXPECT(p, "CAP", &m);
	H_ASSERT(!strcmp(msg_param(&m, 1), "NAK") && !strcmp(msg_last(&m), "sts"),
	    "CAP REQ sts: %s %s", msg_param(&m, 1), msg_last(&m));
	cli_send(p, "CAP END");
	cli_send(t, "CAP END");
	cli_register(p, "capp");
	cli_register(t, "capt");
	srv_stop(s);
}
END_TEST

/* shmchatctl who: a TLS column */
START_TEST(test_ctl_who)
{
	struct srv *s = tls_srv(NULL);
	struct cli *a = cli_new_tls(s, "overtls"), *b = cli_new(s, "inclear");
	const char *argv[] = { SHMCHATCTL_PATH, "--config", s->conf, "--json", "who", NULL };
	char out[8192];
	int st = h_run(argv, out, sizeof out, T_LONG);
	const char *t, *p;

	H_ASSERT(st == 0, "shmchatctl who: status %d: %s", st, out);
	t = strstr(out, "\"overtls\"");
	p = strstr(out, "\"inclear\"");
	H_ASSERT(t != NULL && p != NULL, "who lists both: %s", out);
	/* one JSON object per line */
	H_ASSERT(strstr(t, "\"tls\": \"yes\"") != NULL &&
	    strstr(t, "\"tls\": \"yes\"") < (strchr(t, '\n') ? strchr(t, '\n') : t + strlen(t)),
	    "overtls not on TLS: %s", out);
	H_ASSERT(strstr(p, "\"tls\": \"no\"") != NULL &&
	    strstr(p, "\"tls\": \"no\"") < (strchr(p, '\n') ? strchr(p, '\n') : p + strlen(p)),
	    "inclear on TLS: %s", out);
	cli_close(a);
	cli_close(b);
	srv_stop(s);
}
END_TEST

/* without TLS configured, no sts and no 671 */
START_TEST(test_no_tls)
{
	struct srv *s = srv_start(NULL);
	struct cli *p = cli_connect(s);
	struct irc_msg m;

	cli_send(p, "CAP LS 302");
	EXPECT(p, "CAP", &m);
	H_ASSERT(strstr(msg_last(&m), "sts") == NULL && cap_listed(msg_last(&m), "server-time"),
	    "CAP LS without TLS: %s", msg_last(&m));
	srv_stop(s);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("tls");
	TCase *tc;

	harness_init();
	tc = h_tcase(su, "traffic", 90, NULL, NULL);
	tcase_add_test(tc, test_mixed_channel);
	tcase_add_test(tc, test_burst);
	tcase_add_test(tc, test_sendq);
	tc = h_tcase(su, "faults", 60, NULL, NULL);
	tcase_add_test(tc, test_garbage_tls_port);
	tcase_add_test(tc, test_clienthello_plain_port);
	tcase_add_test(tc, test_stalled_handshake);
	tcase_add_test(tc, test_renegotiation);
	tc = h_tcase(su, "irc", 60, NULL, NULL);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_whois_secure);
	tcase_add_test(tc, test_cap_sts);
	tcase_add_test(tc, test_ctl_who);
	tcase_add_test(tc, test_no_tls);
	return h_suite_run(su);
}
