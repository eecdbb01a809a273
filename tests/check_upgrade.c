/*
 * check_upgrade: the master replaced in place by a new image (shmchatctl
 * upgrade, SIGUSR2) against real shmchatd processes: same pid, every
 * client still connected and served, every nick, channel, mode, topic,
 * ban and WHOWAS entry still there, workers started before it still
 * reaped after it, lines sent during it delivered once and in order, three
 * times in a row; and refused upgrades (a missing binary, a shmchatd of
 * another state format, one that cannot take the state) that leave the old
 * image serving.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#if !defined(SHMCHATCTL_PATH) || !defined(SHMCHATD_STATE2_PATH)
#error "SHMCHATCTL_PATH and SHMCHATD_STATE2_PATH must be defined by the build"
#endif

/* shmchatctl upgrade [binary]: its exit status; its output in out */
static int
ctl_upgrade(struct srv *s, const char *binary, char *out, size_t cap)
{
	char timeout[16];
	const char *argv[] = { SHMCHATCTL_PATH, "--config", s->conf, "--timeout", timeout,
	    "upgrade", binary, NULL };
	int st;

	snprintf(timeout, sizeof timeout, "%d", 20 * h_scale);
	st = h_run(argv, out, cap, T_LONG * 3);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* a line from a to b (a channel or a nick) arrives */
static void
say(struct cli *from, struct cli *to, const char *target, const char *text)
{
	cli_send(from, "PRIVMSG %s :%s", target, text);
	cli_expect_text(to, "PRIVMSG", from, target, text);
}

/* the reply with this numeric holds text */
static void
expect_numeric(struct cli *c, const char *num, const char *text)
{
	struct irc_msg m;

	for (;;) {
		H_ASSERT(cli_next(c, T_SHORT, &m), "no %s (wanted '%s')", num, text);
		if (strcmp(m.command, num) == 0) {
			bool found = false;

			for (int i = 0; i < m.nparams && !found; i++)
				found = strstr(m.params[i], text) != NULL;
			H_ASSERT(found, "%s: '%s' lacks '%s'", num, msg_last(&m), text);
			return;
		}
	}
}

START_TEST(test_upgrade_keeps_everything)
{
	struct srv *s = srv_start("whowas_history = 100; join_replay_lines = 3;");
	struct cli *a = cli_new(s, "alice"), *b = cli_new(s, "bob"), *c = cli_new(s, "carol");
	struct cli *d = cli_new(s, "dave"), *e, *half = cli_connect(s);
	struct irc_msg m;
	pid_t pid = s->pid, wa;
	char out[2048];

	cli_join(a, "#up");
	cli_join(b, "#up");
	EXPECT_FROM(a, "JOIN", "bob", &m);
	cli_send(a, "TOPIC #up :before and after");
	EXPECT(a, "TOPIC", &m);
	cli_send(a, "MODE #up +b spam!*@*");
	EXPECT(a, "MODE", &m);
	cli_send(a, "MODE #up +v bob");
	EXPECT(a, "MODE", &m);
	cli_join(c, "#other");
	cli_join(a, "#hist");
	cli_join(cli_new(s, "keeper"), "#hist");	/* an emptied channel's history goes */
	cli_send(a, "PRIVMSG #hist :said before the upgrades");
	H_ASSERT(cli_sync(a, NULL) >= 0, "sync");
	cli_send(a, "AWAY :gone fishing");
	EXPECT(a, "306", &m);
	cli_send(d, "QUIT :bye");
	EXPECT_EOF(d, T_SHORT);
	/* one client halfway through registering when the upgrades come */
	cli_send(half, "NICK halfway");
	H_ASSERT(cli_none(half, NULL, 200), "an answer to NICK alone");
	for (int round = 1; round <= 3; round++) {
		char text[64];

		H_ASSERT(ctl_upgrade(s, SHMCHATD_PATH, out, sizeof out) == 0,
			 "upgrade %d failed:\n%s", round, out);
		H_ASSERT(strstr(out, "upgraded from " PACKAGE_VERSION " to " PACKAGE_VERSION " (paused "),
			 "upgrade %d said:\n%s", round, out);
		H_ASSERT(srv_alive(s) && s->pid == pid, "the master is not the same process");
		/* the admin process that relayed the answer leaves; the new code's
		 * takes the queue (the next round's shmchatctl goes through it) */
		H_ASSERT(srv_log_count_reaches(s, "of the former image has left", round, T_SHORT),
			 "the former image's admin process did not leave (round %d)", round);
		/* everyone still connected and served, both ways */
		snprintf(text, sizeof text, "after upgrade %d", round);
		say(a, b, "#up", text);
		say(b, a, "#up", text);
		say(c, a, "alice", text);
		say(a, c, "carol", text);
	}
	/* the client halfway through registering finishes it */
	cli_send(half, "USER h 0 * :Half Way");
	EXPECT(half, "001", &m);
	cli_send(half, "JOIN #up");
	EXPECT(half, "366", &m);
	cli_send(half, "PRIVMSG #up :registered across three upgrades");
	EXPECT_FROM(a, "PRIVMSG", "halfway", &m);
	H_ASSERT(strcmp(msg_last(&m), "registered across three upgrades") == 0, "got %s",
		 msg_last(&m));
	/* what the directory knew */
	cli_send(b, "TOPIC #up");
	expect_numeric(b, "332", "before and after");
	cli_send(b, "NAMES #up");
	expect_numeric(b, "353", "@alice");
	cli_send(b, "NAMES #up");
	expect_numeric(b, "353", "+bob");
	cli_send(a, "MODE #up b");
	expect_numeric(a, "367", "spam!*@*");
	cli_send(c, "WHOIS alice");
	expect_numeric(c, "301", "gone fishing");
	cli_send(c, "WHOWAS dave");
	expect_numeric(c, "314", "dave");
	/* a worker started before the upgrades is still the master's to reap */
	wa = srv_worker_of(s, a, T_SHORT);
	H_ASSERT(wa > 0, "no worker found for alice");
	H_ASSERT(kill(wa, SIGKILL) == 0, "kill: %s", strerror(errno));
	EXPECT_FROM(b, "QUIT", "alice", &m);
	/* the nick is free; a new client gets a worker of the new fork server */
	e = cli_new(s, "alice");
	cli_join(e, "#up");
	EXPECT_FROM(b, "JOIN", "alice", &m);
	say(e, b, "#up", "a new worker");
	/* the history came along: a newcomer to #hist gets the line replayed */
	cli_send(e, "JOIN #hist");
	do
		H_ASSERT(cli_wait(e, "PRIVMSG", NULL, T_SHORT, &m), "no replay on JOIN");
	while (strcmp(msg_param(&m, 0), "#hist") != 0);
	H_ASSERT(strstr(msg_last(&m), "said before the upgrades"), "replayed: %s", msg_last(&m));
	say(b, e, "#up", "and an old one");
	srv_stop(s);
}
END_TEST

START_TEST(test_upgrade_refused)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "stay"), *b = cli_new(s, "put");
	char out[2048], script[400];
	FILE *f;

	cli_join(a, "#here");
	cli_join(b, "#here");
	/* a binary that is not there */
	H_ASSERT(ctl_upgrade(s, "/nonexistent/shmchatd", out, sizeof out) != 0, "taken:\n%s", out);
	H_ASSERT(strstr(out, "No such file"), "the reason:\n%s", out);
	say(a, b, "#here", "still here 1");
	/* one that exits at once */
	H_ASSERT(ctl_upgrade(s, "/bin/false", out, sizeof out) != 0, "taken:\n%s", out);
	H_ASSERT(strstr(out, "without taking the state"), "the reason:\n%s", out);
	say(b, a, "#here", "still here 2");
	/* a shmchatd built with another version of the state format */
	H_ASSERT(ctl_upgrade(s, SHMCHATD_STATE2_PATH, out, sizeof out) != 0, "taken:\n%s", out);
	H_ASSERT(strstr(out, "the state's format is another version's"), "the reason:\n%s", out);
	say(a, b, "#here", "still here after another format");
	/* one that says yes without reading anything is not believed */
	snprintf(script, sizeof script, "%s/says-yes", s->dir);
	f = fopen(script, "w");
	H_ASSERT(f != NULL, "%s: %s", script, strerror(errno));
	fprintf(f, "#!/bin/sh\nexit 0\n");
	fclose(f);
	H_ASSERT(ctl_upgrade(s, script, out, sizeof out) != 0, "taken:\n%s", out);
	/* a relative path */
	H_ASSERT(ctl_upgrade(s, "shmchatd", out, sizeof out) != 0, "taken:\n%s", out);
	H_ASSERT(strstr(out, "absolute"), "the reason:\n%s", out);
	/* nobody noticed; and the server can still be upgraded */
	say(a, b, "#here", "still here 3");
	H_ASSERT(ctl_upgrade(s, SHMCHATD_PATH, out, sizeof out) == 0, "upgrade failed:\n%s", out);
	say(b, a, "#here", "upgraded at last");
	srv_stop(s);
}
END_TEST

/*
 * SIGUSR2 while lines flow: every receiver gets every line, once, in
 * order, and new clients come in after it.
 */
START_TEST(test_upgrade_under_traffic)
{
	enum { NRECV = 8, NLINES = 300 };
	struct srv *s = srv_start(NULL);
	struct cli *snd = cli_new(s, "sender"), *r[NRECV], *late;
	struct irc_msg m;
	char status[512];

	cli_join(snd, "#flow");
	for (int i = 0; i < NRECV; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "recv%d", i);
		r[i] = cli_new(s, nick);
		cli_join(r[i], "#flow");
	}
	for (int n = 0; n < NLINES; n++) {
		if (n == NLINES / 4)
			H_ASSERT(kill(s->pid, SIGUSR2) == 0, "SIGUSR2: %s", strerror(errno));
		cli_send(snd, "PRIVMSG #flow :line %d", n);
	}
	for (int i = 0; i < NRECV; i++)
		for (int n = 0; n < NLINES; n++) {
			char text[32];

			snprintf(text, sizeof text, "line %d", n);
			cli_expect_text(r[i], "PRIVMSG", snd, "#flow", text);
		}
	H_ASSERT(srv_wait_status(s, "upgraded from", T_LONG, status, sizeof status),
		 "no upgrade reported (status: %s)", s->status);
	late = cli_new(s, "late");
	cli_join(late, "#flow");
	EXPECT_FROM(r[0], "JOIN", "late", &m);
	say(late, r[NRECV - 1], "#flow", "after the traffic");
	srv_stop(s);
}
END_TEST

/*
 * At scale: 200 clients in four channels, twenty of them sending numbered
 * lines at a steady rate while the master is upgraded three times (each
 * SIGUSR2 sent while lines flow): every member gets every other sender's
 * lines of its channel, once and in order, so nobody was disconnected.
 */
START_TEST(test_upgrade_200_clients)
{
	enum { NCLI = 200, NCHAN = 4, NSEND = 5, NLINES = 60 };
	struct srv *s = srv_start("max_clients = 400;");
	static struct cli *c[NCLI];
	int upgrades = 0;

	for (int i = 0; i < NCLI; i++) {
		char nick[16], chan[16];

		snprintf(nick, sizeof nick, "u%03d", i);
		snprintf(chan, sizeof chan, "#c%d", i % NCHAN);
		c[i] = cli_new(s, nick);
		cli_join(c[i], chan);
	}
	for (int r = 0; r < NLINES; r++) {
		if (r == 10 || r == 25 || r == 40) {
			/* the one before is done: one hand-over at a time */
			if (upgrades > 0)
				H_ASSERT(srv_wait_notify(s, "READY=1", T_LONG, NULL, 0),
					 "upgrade %d did not finish", upgrades);
			H_ASSERT(kill(s->pid, SIGUSR2) == 0, "SIGUSR2: %s", strerror(errno));
			upgrades++;
		}
		/* senders: the first NSEND members of each channel */
		for (int i = 0; i < NSEND * NCHAN; i++)
			cli_send(c[i], "PRIVMSG #c%d :u%03d %d", i % NCHAN, i, r);
		usleep(10000);	/* a steady rate, not a burst */
	}
	H_ASSERT(srv_wait_notify(s, "READY=1", T_LONG, NULL, 0), "upgrade 3 did not finish");
	H_ASSERT(srv_wait_status(s, "upgraded from", 0, NULL, 0), "no upgrade reported");
	for (int i = 0; i < NCLI; i++) {
		int next[NSEND * NCHAN] = { 0 }, want = 0, got = 0;
		struct irc_msg m;

		/* every sender of its channel but itself */
		for (int j = 0; j < NSEND * NCHAN; j++)
			want += j % NCHAN == i % NCHAN && j != i ? NLINES : 0;
		while (got < want) {
			int from, n;

			H_ASSERT(cli_next(c[i], T_LONG, &m), "u%03d: %d of %d lines", i, got, want);
			if (strcmp(m.command, "PRIVMSG") != 0)
				continue;
			bool mine = sscanf(msg_last(&m), "u%d %d", &from, &n) == 2 && from >= 0 &&
			    from < NSEND * NCHAN && from % NCHAN == i % NCHAN && from != i;

			H_ASSERT(mine, "u%03d got '%s'", i, msg_last(&m));
			H_ASSERT(n == next[from], "u%03d: line %d of u%03d after %d (lost or reordered)",
				 i, n, from, next[from] - 1);
			next[from]++;
			got++;
		}
	}
	/* and they go on */
	say(c[NCLI - 1], c[NCLI - 1 - NCHAN], "#c3", "after three upgrades");
	srv_stop(s);
}
END_TEST

/* the fork server of s, once it has its spares (a new one after an upgrade) */
static pid_t
forkserver(struct srv *s, pid_t not)
{
	long long deadline = h_now_ms() + T_LONG;
	pid_t fs;

	while (((fs = srv_forkserver(s)) == 0 || fs == not) && h_now_ms() < deadline)
		usleep(10 * 1000);
	H_ASSERT(fs > 0 && fs != not, "no (new) fork server under the master");
	return fs;
}

/*
 * An upgrade asked for while a worker is being forked (the fork server
 * stopped with a client's spawn request in its channel): it waits until
 * the worker exists, then hands over, and the client registers after it.
 * Stopped for longer than the quiet wait (2 s): the upgrade is refused,
 * the server serves on, and the client registers once the fork server
 * goes on; the next upgrade goes through.
 */
START_TEST(test_upgrade_while_forking)
{
	struct srv *s = srv_start(NULL);
	struct cli *a = cli_new(s, "early"), *b = cli_new(s, "other"), *c, *d;
	struct irc_msg m;
	pid_t fs = forkserver(s, 0);
	char out[2048];

	cli_join(a, "#f");
	cli_join(b, "#f");
	EXPECT_FROM(a, "JOIN", "other", &m);
	H_ASSERT(kill(fs, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
	c = cli_connect(s);
	cli_register_send(c, "forked");
	H_ASSERT(srv_log_count_reaches(s, "worker requested", 3, T_SHORT), "no spawn request");
	H_ASSERT(kill(s->pid, SIGUSR2) == 0, "SIGUSR2: %s", strerror(errno));
	/* checked, now waiting for the worker: let the fork server go on */
	H_ASSERT(srv_log_count_reaches(s, "can take the state over", 1, T_LONG), "no check");
	H_ASSERT(kill(fs, SIGCONT) == 0, "SIGCONT: %s", strerror(errno));
	H_ASSERT(srv_log_count_reaches(s, "took over from", 1, T_LONG), "no upgrade");
	cli_register_wait(c);
	cli_join(c, "#f");
	EXPECT_FROM(a, "JOIN", "forked", &m);
	say(c, b, "#f", "forked across the upgrade");
	cli_expect_text(a, "PRIVMSG", c, "#f", "forked across the upgrade");

	/* stopped for longer than the quiet wait: refused, served on */
	fs = forkserver(s, fs);
	H_ASSERT(kill(fs, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
	d = cli_connect(s);
	cli_register_send(d, "waited");
	H_ASSERT(srv_log_count_reaches(s, "worker requested", 4, T_SHORT), "no spawn request");
	H_ASSERT(ctl_upgrade(s, SHMCHATD_PATH, out, sizeof out) == 1 &&
		 strstr(out, "workers are still being started") != NULL,
		 "an upgrade with a worker stuck in its fork:\n%s", out);
	say(a, b, "#f", "served on");
	cli_expect_text(c, "PRIVMSG", a, "#f", "served on");
	H_ASSERT(kill(fs, SIGCONT) == 0, "SIGCONT: %s", strerror(errno));
	cli_register_wait(d);
	cli_join(d, "#f");
	EXPECT_FROM(b, "JOIN", "waited", &m);
	H_ASSERT(ctl_upgrade(s, SHMCHATD_PATH, out, sizeof out) == 0, "upgrade:\n%s", out);
	cli_send(d, "PRIVMSG #f :after both");
	cli_expect_text(a, "PRIVMSG", d, "#f", "after both");
	cli_expect_text(b, "PRIVMSG", d, "#f", "after both");
	cli_expect_text(c, "PRIVMSG", d, "#f", "after both");
	srv_stop(s);
}
END_TEST

/*
 * The master SIGKILLed at some moment of a hand-over (before, during the
 * check, around the exec, while the new image sets up): it is a master's
 * death like any other, and everyone is gone within a second or two.
 */
START_TEST(test_upgrade_master_killed)
{
	static const int delays_us[] = { 0, 2000, 15000, 40000 };

	for (size_t i = 0; i < sizeof delays_us / sizeof *delays_us; i++) {
		struct srv *s = srv_start(NULL);
		struct cli *a = cli_new(s, "one"), *b = cli_new(s, "two");
		long long t0;

		cli_join(a, "#x");
		cli_join(b, "#x");
		H_ASSERT(kill(s->pid, SIGUSR2) == 0, "SIGUSR2: %s", strerror(errno));
		usleep(delays_us[i]);
		t0 = h_now_ms();
		H_ASSERT(kill(s->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
		H_ASSERT(srv_wait_master(s, T_SHORT), "master survived SIGKILL");
		EXPECT_EOF(a, 2000 * h_scale);
		EXPECT_EOF(b, 2000 * h_scale);
		if (!srv_group_gone(s, 2000 * h_scale))
			H_FAIL("processes still alive %lld ms after the master died (%d us into "
			       "the upgrade)", h_now_ms() - t0, delays_us[i]);
		/* the daemon could not clean up after itself: remove what is left */
		srv_check_ipc(s, false);
	}
}
END_TEST

int
main(void)
{
	Suite *su;
	TCase *tc;

	harness_init();
	su = suite_create("upgrade");
	tc = h_tcase(su, "upgrade", 120, NULL, NULL);
	tcase_add_test(tc, test_upgrade_keeps_everything);
	tcase_add_test(tc, test_upgrade_refused);
	tcase_add_test(tc, test_upgrade_under_traffic);
	tcase_add_test(tc, test_upgrade_200_clients);
	tcase_add_test(tc, test_upgrade_while_forking);
	tcase_add_test(tc, test_upgrade_master_killed);
	return h_suite_run(su);
}
