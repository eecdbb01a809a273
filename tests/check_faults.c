#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>

#include "harness.h"

/*
 * Fault injection, hostile input and resource limits (docs/reliability.md
 * says what each test proves). Every test starts its own shmchatd through
 * the harness (socket activation on 127.0.0.1 port 0) with small timeouts,
 * and every assertion goes through H_ASSERT/EXPECT/H_FAIL, which kill the
 * daemon before Check ends the test process. Waits are bounded: either a
 * reply from the server, or /proc polled against a deadline.
 *
 * Tests of max_clients_per_ip and flood control set `limits_exempt = [];`,
 * since loopback, where the tests connect from, is exempt by default.
 */

/* ---------------------------------------------------------------- helpers */

static void nap(int ms)
{
	poll(NULL, 0, ms);
}

static bool prefix_nick(const char *prefix, const char *nick)
{
	size_t n = strlen(nick);

	return prefix && !strncasecmp(prefix, nick, n) && (prefix[n] == '!' || prefix[n] == '\0');
}

/* /proc/PID/stat fields: state (0 when gone), utime+stime in ms */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *rp;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof buf, f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

static long long proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *rp;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			  &ut, &st) != 2)
		return 0;
	return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

static long proc_kb(pid_t pid, const char *name)
{
	long v[4] = { -1 };

	return h_proc_fields(pid, "status", name, v) >= 1 ? v[0] : -1;
}

static int count_descendants(struct srv *s)
{
	pid_t v[4096];

	return h_descendants(s->pid, v, 4096, 0, 3);
}

/* no zombie among the daemon's processes (the master reaps every turn) */
static void assert_no_zombies(struct srv *s, int ms)
{
	long long deadline = h_now_ms() + ms;
	pid_t v[4096];

	for (;;) {
		int n = h_descendants(s->pid, v, 4096, 0, 3), z = -1;

		for (int i = 0; i < n && z < 0; i++)
			if (proc_state(v[i]) == 'Z')
				z = i;
		if (z < 0)
			return;
		H_ASSERT(h_now_ms() < deadline, "process %d (child of the daemon) is a zombie "
			 "after %d ms", (int)v[z], ms);
		nap(10);
	}
}

/* wait until pid has exited (gone, or a zombie of someone else) */
static bool wait_exited(pid_t pid, int ms)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		char st = proc_state(pid);

		if (st == 0 || st == 'Z')
			return true;
		if (h_now_ms() >= deadline)
			return false;
		nap(5);
	}
}

/* the admin queue id for key from /proc/sysvipc/msg (-1: none); perms too */
static int msq_of_key(long key, unsigned *perms)
{
	FILE *f = fopen("/proc/sysvipc/msg", "r");
	char line[512];
	int id = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		long k;
		int i;
		unsigned p;

		if (sscanf(line, "%ld %d %o", &k, &i, &p) == 3 && k == key) {
			id = i;
			if (perms)
				*perms = p;
			break;
		}
	}
	fclose(f);
	return id;
}

/* /dev/shm names that start with prefix */
static int shm_count(const char *prefix)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

/*
 * Connect and register, without failing on refusal: true when registered,
 * false when the server answered ERROR (reason copied) or did not finish
 * within ms (reason says "timeout").
 */
static bool try_register(struct cli *c, const char *nick, int ms, char *why, size_t cap)
{
	struct irc_msg m;
	long long deadline = h_now_ms() + ms;

	cli_register_send(c, nick);
	for (;;) {
		int left = (int)(deadline - h_now_ms());

		if (left <= 0 || !cli_next(c, left, &m)) {
			snprintf(why, cap, "%s", c->eof ? "EOF" : "timeout");
			return false;
		}
		if (!strcmp(m.command, "ERROR")) {
			snprintf(why, cap, "%s", msg_last(&m));
			return false;
		}
		if (!strcmp(m.command, "376") || !strcmp(m.command, "422"))
			return true;
	}
}

/* CPU time (ms) the daemon's master used over ms milliseconds */
static long long master_cpu_over(struct srv *s, int ms)
{
	long long before = proc_cpu_ms(s->pid);

	nap(ms);
	return proc_cpu_ms(s->pid) - before;
}

/* ------------------------------------------------------------------ faults */

/*
 * 100 clients in one channel, three of them sending numbered messages
 * while 20 others have their workers SIGKILLed one after the other. Every
 * survivor must get every sender's messages in order without a gap and a
 * QUIT for every victim; no zombie stays; the victims' nicks and slots
 * (max_clients = 100, so every slot) can be taken again.
 */
#define NLOAD	100
#define NSEND	3
#define NKILL	20
#define PER_SENDER	300

START_TEST(test_kill_workers_under_load)
{
	struct srv *s;
	static struct cli *c[NLOAD];
	static bool dead[NLOAD];
	static int last[NLOAD][NSEND];
	static unsigned char quit_seen[NLOAD][NLOAD];
	static struct pollfd pf[NLOAD];
	static int pfidx[NLOAD];
	struct irc_msg *m = malloc(sizeof *m);
	int sent[NSEND] = { 0 }, nkilled = 0, victims[NKILL];
	pid_t killed[NKILL];
	unsigned rng = (unsigned)getpid() * 2654435761u;
	long long t0, deadline, next_kill;
	char nick[64];

	H_ASSERT(m != NULL, "out of memory");
	memset(dead, 0, sizeof dead);
	memset(last, 0, sizeof last);
	memset(quit_seen, 0, sizeof quit_seen);
	s = srv_start("max_clients = 100; log_level = \"info\";");
	for (int i = 0; i < NLOAD; i++) {
		if (i < NSEND)
			snprintf(nick, sizeof nick, "snd%d", i);
		else
			snprintf(nick, sizeof nick, "u%03d", i);
		c[i] = cli_connect(s);
		cli_register_send(c[i], nick);
	}
	for (int i = 0; i < NLOAD; i++)
		cli_register_wait(c[i]);
	for (int i = 0; i < NLOAD; i++)
		cli_send(c[i], "JOIN #load");
	for (int i = 0; i < NLOAD; i++)
		h_expect(__FILE__, __LINE__, c[i], "366", NULL, T_LONG, m);

	t0 = h_now_ms();
	next_kill = t0 + 100;
	deadline = t0 + 40000LL * h_scale;
	for (;;) {
		long long now = h_now_ms();
		bool done = nkilled == NKILL;
		int np = 0;

		H_ASSERT(now < deadline, "load not delivered in 40 s (sent %d/%d/%d, killed %d)",
			 sent[0], sent[1], sent[2], nkilled);
		/* senders: about 200 messages a second each */
		for (int k = 0; k < NSEND; k++) {
			long long due = (now - t0) / 5 + 1;

			while (sent[k] < PER_SENDER && sent[k] < due)
				cli_send(c[k], "PRIVMSG #load :%d %d", k, ++sent[k]);
			done = done && sent[k] == PER_SENDER;
		}
		/* the killer: one non-sender every 70 ms */
		if (nkilled < NKILL && now >= next_kill) {
			int v;
			pid_t w;

			do
				v = NSEND + (int)((rng = rng * 1103515245u + 12345u) >> 8) % (NLOAD - NSEND);
			while (dead[v]);
			w = srv_worker_of(s, c[v], T_SHORT);
			H_ASSERT(w > 0 && w != s->pid, "no worker found for %s", c[v]->nick);
			H_ASSERT(kill(w, SIGKILL) == 0, "kill %d: %s", (int)w, strerror(errno));
			dead[v] = true;
			victims[nkilled] = v;
			killed[nkilled++] = w;
			next_kill = now + 70;
		}
		/* every survivor reads */
		for (int i = 0; i < NLOAD; i++)
			if (!dead[i]) {
				pf[np] = (struct pollfd){ c[i]->fd, POLLIN, 0 };
				pfidx[np++] = i;
			}
		poll(pf, (nfds_t)np, 5);
		for (int j = 0; j < np; j++) {
			int i = pfidx[j];
			char *line;
			size_t len;

			if (!pf[j].revents)
				continue;
			while (cli_line_nowait(c[i], &line, &len)) {
				if (irc_parse(m, line, len) != IRC_PARSE_OK)
					H_FAIL("%s: unparsable line: %.200s", c[i]->nick, line);
				if (!strcmp(m->command, "PING")) {
					cli_send(c[i], "PONG :%s", msg_last(m));
				} else if (!strcmp(m->command, "PRIVMSG")) {
					int k = -1, seq = 0;
					int nf = sscanf(msg_last(m), "%d %d", &k, &seq);

					H_ASSERT(nf == 2 &&
						 k >= 0 && k < NSEND && k != i,
						 "%s: unexpected PRIVMSG '%s'", c[i]->nick, msg_last(m));
					H_ASSERT(prefix_nick(m->prefix, c[k]->nick),
						 "%s: message %d %d from %s", c[i]->nick, k, seq,
						 m->prefix ? m->prefix : "?");
					H_ASSERT(seq == last[i][k] + 1,
						 "%s: from %s got message %d after %d (lost or reordered)",
						 c[i]->nick, c[k]->nick, seq, last[i][k]);
					last[i][k] = seq;
				} else if (!strcmp(m->command, "QUIT")) {
					int v = -1;

					if (m->prefix && m->prefix[0] == 'u')
						v = atoi(m->prefix + 1);
					H_ASSERT(v >= NSEND && v < NLOAD && dead[v],
						 "%s: QUIT from %s, which was not killed: %s",
						 c[i]->nick, m->prefix ? m->prefix : "?", msg_last(m));
					H_ASSERT(strstr(msg_last(m), "signal 9"),
						 "%s: QUIT of %s says '%s'", c[i]->nick, c[v]->nick,
						 msg_last(m));
					quit_seen[i][v]++;
					H_ASSERT(quit_seen[i][v] == 1, "%s: two QUITs for %s",
						 c[i]->nick, c[v]->nick);
				} else if (!strcmp(m->command, "ERROR")) {
					H_FAIL("%s: ERROR :%s", c[i]->nick, msg_last(m));
				}
			}
			H_ASSERT(!c[i]->eof, "surviving client %s was disconnected", c[i]->nick);
		}
		if (!done)
			continue;
		for (int i = 0; i < NLOAD && done; i++) {
			if (dead[i])
				continue;
			for (int k = 0; k < NSEND && done; k++)
				done = k == i || last[i][k] == PER_SENDER;
			for (int v = 0; v < NKILL && done; v++)
				done = quit_seen[i][victims[v]] == 1;
		}
		if (done)
			break;
	}
	fprintf(stderr, "kill workers: %d of %d workers SIGKILLed while %d senders sent %d "
		"messages each; %d survivors got all of them in order, and every QUIT, in %lld ms\n",
		NKILL, NLOAD, NSEND, PER_SENDER, NLOAD - NKILL, h_now_ms() - t0);
	/* the victims' connections are closed, their workers reaped */
	for (int v = 0; v < NKILL; v++)
		EXPECT_EOF(c[victims[v]], T_SHORT);
	assert_no_zombies(s, T_SHORT);
	for (int v = 0; v < NKILL; v++) {
		pid_t kids[4096];
		int n = h_descendants(s->pid, kids, 4096, 0, 3);

		for (int i = 0; i < n; i++)
			H_ASSERT(kids[i] != killed[v] || proc_state(kids[i]) != 'Z',
				 "killed worker %d not reaped", (int)killed[v]);
	}
	/* every nick and slot can be taken again (all 100 slots in use after) */
	for (int v = 0; v < NKILL; v++) {
		int i = victims[v];

		snprintf(nick, sizeof nick, "%s", c[i]->nick);
		cli_close(c[i]);
		c[i] = cli_connect(s);
		cli_register_send(c[i], nick);
	}
	for (int v = 0; v < NKILL; v++) {
		cli_register_wait(c[victims[v]]);
		cli_send(c[victims[v]], "JOIN #load");
	}
	for (int v = 0; v < NKILL; v++) {
		struct cli *x = c[victims[v]];

		h_expect(__FILE__, __LINE__, x, "366", NULL, T_LONG, m);
		cli_send(x, "PRIVMSG #load :back %s", x->nick);
	}
	for (int seen = 0; seen < NKILL; ) {
		H_ASSERT(cli_wait(c[1], "PRIVMSG", NULL, T_LONG, m),
			 "snd1 got %d of the %d messages of the returned clients", seen, NKILL);
		if (!strncmp(msg_last(m), "back ", 5)) {
			H_ASSERT(prefix_nick(m->prefix, msg_last(m) + 5), "'%s' from %s",
				 msg_last(m), m->prefix);
			seen++;
		}
	}
	free(m);
	srv_stop(s);
}
END_TEST

/*
 * kill -9 the master: every worker exits within a second (EOF on its
 * socketpair), so no client stays connected to an orphan; a new shmchatd
 * with the same admin queue key then starts cleanly: it replaces the stale
 * queue (logged), and nothing was left in /dev/shm.
 */
START_TEST(test_master_kill9_restart)
{
	long key = 0x5cf00000L | (long)(getpid() & 0xffff);
	char conf[256], prefix[64];
	struct srv *s, *s2;
	struct cli *a, *b, *c, *d;
	pid_t w[3];
	int qid_old, qid_new;
	long long t0;

	snprintf(conf, sizeof conf,
		 "admin = { queue_key = 0x%lx; group = \"root\"; }; log_level = \"info\";", key);
	s = srv_start(conf);
	a = cli_new(s, "orphan1");
	b = cli_new(s, "orphan2");
	c = cli_connect(s);
	cli_send(c, "NICK halfway");
	cli_join(a, "#dead");
	cli_join(b, "#dead");
	w[0] = srv_worker_of(s, a, T_SHORT);
	w[1] = srv_worker_of(s, b, T_SHORT);
	w[2] = srv_worker_of(s, c, T_SHORT);
	for (int i = 0; i < 3; i++)
		H_ASSERT(w[i] > 0 && w[i] != s->pid, "no worker for client %d", i);
	qid_old = msq_of_key(key, NULL);
	H_ASSERT(qid_old >= 0, "no admin queue with key 0x%lx", key);
	snprintf(prefix, sizeof prefix, "shmchat-%d-", (int)s->pid);
	H_ASSERT(shm_count(prefix) == 0, "/dev/shm/%s* exists while the server runs "
		 "(it should be unlinked at start)", prefix);

	t0 = h_now_ms();
	H_ASSERT(kill(s->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	H_ASSERT(srv_wait_master(s, T_SHORT), "master survived SIGKILL");
	for (int i = 0; i < 3; i++)
		H_ASSERT(wait_exited(w[i], 1000 * h_scale),
			 "worker %d still running %lld ms after the master died", (int)w[i],
			 h_now_ms() - t0);
	EXPECT_EOF(a, 1000 * h_scale);
	EXPECT_EOF(b, 1000 * h_scale);
	EXPECT_EOF(c, 1000 * h_scale);
	H_ASSERT(h_now_ms() - t0 <= 1000LL * h_scale + 200,
		 "clients saw EOF only %lld ms after the master died", h_now_ms() - t0);
	H_ASSERT(srv_group_gone(s, T_SHORT), "processes of the killed server remain");
	H_ASSERT(shm_count(prefix) == 0, "/dev/shm/%s* left by the killed server", prefix);
	/* the killed server could not remove its queue: it is stale now */
	H_ASSERT(msq_of_key(key, NULL) == qid_old, "the admin queue of the killed server is gone "
		 "(expected it to stay, stale)");

	s2 = srv_start(conf);
	H_ASSERT(srv_log_has(s2, "replaced a stale admin queue", T_SHORT),
		 "the new server did not log 'replaced a stale admin queue'");
	qid_new = msq_of_key(key, NULL);
	H_ASSERT(qid_new >= 0 && qid_new != qid_old, "admin queue id %d (old %d)", qid_new,
		 qid_old);
	d = cli_new(s2, "reborn");
	cli_join(d, "#dead");
	H_ASSERT(cli_sync(d, "ERROR") == 0, "ERROR on the new server");
	srv_stop(s2);
}
END_TEST

/*
 * A stopped worker (SIGSTOP) in a busy channel: its inbox (64 entries)
 * fills and holds the fan-out back; the master kills it after
 * stall_timeout (2 s) and the channel flows again. Deliveries to the others
 * pause at most stall_timeout + tick; a stopped worker that holds nothing
 * back (idle, other channel) is left alone.
 */
START_TEST(test_sigstop_worker)
{
	struct srv *s = srv_start("stall_timeout = 2; inbox_size = 64; log_level = \"info\";");
	struct cli *a = cli_new(s, "talker"), *b = cli_new(s, "hearer");
	struct cli *z = cli_new(s, "frozen"), *y = cli_new(s, "idlefrz");
	struct irc_msg m;
	pid_t wz, wy;
	const int N = 400, stall_ms = 2000;
	int next = 1;
	long long t0, tlast, maxgap = 0, tquit = 0, deadline;

	cli_join(a, "#st");
	cli_join(b, "#st");
	cli_join(z, "#st");
	cli_join(y, "#quiet");
	wz = srv_worker_of(s, z, T_SHORT);
	wy = srv_worker_of(s, y, T_SHORT);
	H_ASSERT(wz > 0 && wy > 0, "workers not found");
	H_ASSERT(kill(wz, SIGSTOP) == 0 && kill(wy, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
	deadline = h_now_ms() + T_SHORT;
	while (proc_state(wz) != 'T' || proc_state(wy) != 'T') {
		H_ASSERT(h_now_ms() < deadline, "workers not stopped");
		nap(5);
	}

	t0 = tlast = h_now_ms();
	for (int i = 1; i <= N; i++)
		cli_send(a, "PRIVMSG #st :%d", i);
	deadline = t0 + (stall_ms + 6000LL) * h_scale;
	while (next <= N || !tquit) {
		long long now;

		H_ASSERT(h_now_ms() < deadline, "hearer at message %d of %d, frozen %s", next, N,
			 tquit ? "cut loose" : "still there");
		if (!cli_next(b, 100, &m))
			continue;
		now = h_now_ms();
		if (!strcmp(m.command, "PRIVMSG")) {
			H_ASSERT(atoi(msg_last(&m)) == next, "hearer got %s, expected %d",
				 msg_last(&m), next);
			next++;
			if (now - tlast > maxgap)
				maxgap = now - tlast;
			tlast = now;
		} else if (!strcmp(m.command, "QUIT")) {
			H_ASSERT(prefix_nick(m.prefix, "frozen"), "QUIT from %s", m.prefix);
			H_ASSERT(strstr(msg_last(&m), "signal 9"), "frozen quit with '%s'",
				 msg_last(&m));
			tquit = now;
		}
	}
	fprintf(stderr, "sigstop: frozen worker cut loose after %lld ms; longest pause in "
		"delivery %lld ms\n", tquit - t0, maxgap);
	/* the stall is timed in whole seconds: more than stall_timeout - 1 s */
	H_ASSERT(tquit - t0 >= stall_ms - 1000, "the stopped worker was cut loose after only "
		 "%lld ms (stall_timeout 2 s)", tquit - t0);
	H_ASSERT(tquit - t0 <= (stall_ms + 2500LL) * h_scale,
		 "the stopped worker was cut loose only after %lld ms (stall_timeout 2 s)",
		 tquit - t0);
	H_ASSERT(maxgap <= (stall_ms + 2500LL) * h_scale,
		 "deliveries paused for %lld ms (stall_timeout 2 s)", maxgap);
	H_ASSERT(srv_log_has(s, "held the shared ring", T_SHORT), "no log line about the stall");
	EXPECT_EOF(z, T_SHORT);
	H_ASSERT(wait_exited(wz, T_SHORT), "stopped worker %d still there", (int)wz);
	/* throughput is back: 500 more messages arrive at once */
	t0 = h_now_ms();
	for (int i = 1; i <= 500; i++)
		cli_send(a, "PRIVMSG #st :%d", N + i);
	while (next <= N + 500) {
		H_ASSERT(cli_wait(b, "PRIVMSG", NULL, T_SHORT, &m), "hearer stuck at %d", next);
		H_ASSERT(atoi(msg_last(&m)) == next, "hearer got %s, expected %d", msg_last(&m),
			 next);
		next++;
	}
	H_ASSERT(h_now_ms() - t0 < 2000LL * h_scale, "500 messages took %lld ms",
		 h_now_ms() - t0);
	/* the stopped worker that held nothing back was not killed */
	H_ASSERT(proc_state(wy) == 'T', "the idle stopped worker %d was killed (state %c)",
		 (int)wy, proc_state(wy) ? proc_state(wy) : '-');
	H_ASSERT(kill(wy, SIGCONT) == 0, "SIGCONT: %s", strerror(errno));
	H_ASSERT(cli_sync(y, "ERROR") == 0, "resumed client got ERROR");
	srv_stop(s);
}
END_TEST

/*
 * A client that never reads: its own worker cuts it at sendq (Max SendQ
 * exceeded); meanwhile another member keeps getting every message with
 * low latency (each message carries its send time).
 */
START_TEST(test_stuck_reader_latency)
{
	struct srv *s = srv_start("sendq = 65536; log_level = \"info\";");
	struct cli *d = cli_connect_rcvbuf(s, 4096), *a, *r;
	struct irc_msg m;
	char pad[401];
	int sent = 0, next = 1, target = 30000, over = 0;
	long long maxlat = 0, t0 = h_now_ms(), deadline = t0 + 30000LL * h_scale, tquit = 0;

	cli_register(d, "stuck");
	cli_join(d, "#sr");
	a = cli_new(s, "talk");
	r = cli_new(s, "listen");
	cli_join(a, "#sr");
	cli_join(r, "#sr");
	memset(pad, 'p', 400);
	pad[400] = '\0';
	while (next <= target) {
		H_ASSERT(h_now_ms() < deadline, "listener at %d, sent %d, stuck %s", next, sent,
			 tquit ? "gone" : "still there");
		/* keep at most 40 messages in flight to the listener */
		while (sent < target && sent - next < 40)
			cli_send(a, "PRIVMSG #sr :%d %lld %s", ++sent, h_now_ms(), pad);
		if (!cli_next(r, 100, &m))
			continue;
		if (!strcmp(m.command, "QUIT")) {
			H_ASSERT(prefix_nick(m.prefix, "stuck"), "QUIT from %s", m.prefix);
			H_ASSERT(strstr(msg_last(&m), "SendQ"), "stuck quit with '%s'", msg_last(&m));
			H_ASSERT(!tquit, "a second QUIT from the stuck client");
			tquit = h_now_ms();
			target = sent + 200 > 1000 ? sent + 200 : 1000;
			continue;
		}
		if (strcmp(m.command, "PRIVMSG"))
			continue;
		{
			int seq = 0;
			long long ts = 0, lat;
			int nf = sscanf(msg_last(&m), "%d %lld", &seq, &ts);

			H_ASSERT(nf == 2 && seq == next,
				 "listener got '%.40s', expected %d", msg_last(&m), next);
			next++;
			lat = h_now_ms() - ts;
			if (lat > maxlat)
				maxlat = lat;
			if (lat > 200)
				over++;
		}
	}
	H_ASSERT(tquit, "the non-reading client was never disconnected");
	fprintf(stderr, "stuck reader: cut after %lld ms; listener got %d messages, max latency "
		"%lld ms, %d over 200 ms\n", tquit - t0, next - 1, maxlat, over);
	H_ASSERT(maxlat < 1000LL * h_scale, "a message took %lld ms to the listener", maxlat);
	{
		char why[256];

		cli_resume_reading(d);
		H_ASSERT(cli_wait_eof(d, T_LONG), "stuck client still connected: %s",
			 cli_tcp_report(d, why, sizeof why));
	}
	H_ASSERT(cli_sync(a, "ERROR") == 0 && cli_sync(r, "ERROR") == 0, "ERROR to the others");
	srv_stop(s);
}
END_TEST

/* ---- accept() failing: RLIMIT_NOFILE of the daemon lowered before exec */

static rlim_t g_nofile;

static void pre_exec_nofile(const struct srv *s)
{
	struct rlimit rl = { g_nofile, g_nofile };

	(void)s;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		_exit(120);
}

START_TEST(test_accept_emfile)
{
	struct srv *s;
	struct cli *c[64], *pend[3];
	char why[256], nick[16];
	int n = 0, busy = 0, base;
	long long cpu;
	struct irc_msg m;

	if (getenv("SHMCHATD_WRAPPER")) {
		fprintf(stderr, "accept_emfile: skipped under a wrapper (valgrind needs descriptors)\n");
		return;
	}
	g_nofile = 40;
	srv_pre_exec = pre_exec_nofile;
	s = srv_start("max_clients = 200; log_level = \"info\";");
	srv_pre_exec = NULL;
	base = h_proc_nfds(s->pid);
	H_ASSERT(base > 0 && base < 30, "master has %d descriptors at start", base);
	/* fill the master's descriptor table with registered clients */
	for (;;) {
		H_ASSERT(n < 64, "%d clients registered with RLIMIT_NOFILE = 40", n);
		snprintf(nick, sizeof nick, "fd%02d", n);
		c[n] = cli_connect(s);
		if (!try_register(c[n], nick, 1500 * h_scale, why, sizeof why))
			break;
		n++;
	}
	fprintf(stderr, "accept_emfile: %d clients registered (master had %d fds at start); the "
		"next got: %s\n", n, base, why);
	H_ASSERT(n >= 40 - base - 4, "only %d clients before the limit", n);
	if (strstr(why, "busy"))
		busy++;
	else
		H_ASSERT(!strcmp(why, "timeout"), "refused client got '%s'", why);
	/* more connections wait in the backlog (or are told busy) */
	for (int i = 0; i < 3; i++) {
		pend[i] = cli_connect(s);
		snprintf(nick, sizeof nick, "pend%d", i);
		cli_register_send(pend[i], nick);
	}
	/* no busy loop while connections wait and accept() fails */
	cpu = master_cpu_over(s, 2000);
	fprintf(stderr, "accept_emfile: master used %lld ms CPU in 2 s while accept() failed\n",
		cpu);
	H_ASSERT(cpu < 300, "master used %lld ms of CPU in 2 s while out of descriptors", cpu);
	H_ASSERT(srv_log_has(s, "Too many open files", T_SHORT), "nothing logged about running out "
		 "of descriptors");
	/* the connected clients are served */
	cli_join(c[0], "#fd");
	cli_join(c[1], "#fd");
	cli_send(c[0], "PRIVMSG #fd :still served");
	EXPECT_FROM(c[1], "PRIVMSG", c[0]->nick, &m);
	/* freeing descriptors lets the waiting ones in */
	for (int i = 2; i < 8; i++) {
		cli_send(c[i], "QUIT :making room");
		EXPECT_EOF(c[i], T_SHORT);
	}
	cli_close(c[n]);
	for (int i = 0; i < 3; i++) {
		if (!try_register(pend[i], pend[i]->nick, 5000 * h_scale, why, sizeof why)) {
			H_ASSERT(strstr(why, "busy"), "waiting client %d got '%s'", i, why);
			busy++;
		}
	}
	fprintf(stderr, "accept_emfile: %d connections were told the server is busy\n", busy);
	srv_stop(s);
}
END_TEST

/*
 * fork() failing: the daemon runs as an unused uid with RLIMIT_NPROC = 5
 * (master, fork server, admin and two workers; root ignores RLIMIT_NPROC,
 * so the child switches uid before exec). The third client is told
 * "Server is busy", the others keep chatting, no busy loop; once a worker
 * is gone a new client gets in.
 */
static uid_t g_uid;

static void pre_exec_nproc(const struct srv *s)
{
	struct rlimit rl = { 5, 5 };
	char dir[256];
	size_t n = strlen(s->dir);
	char *slash;

	if (n >= sizeof dir)
		_exit(119);
	memcpy(dir, s->dir, n + 1);
	chmod(dir, 0755);		/* the config file must be readable */
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		chmod(dir, 0711);
	}
	if (setrlimit(RLIMIT_NPROC, &rl) < 0)
		_exit(120);
	if (setgroups(0, NULL) < 0 || setgid((gid_t)g_uid) < 0 || setuid(g_uid) < 0)
		_exit(121);
}

/* can uid reach and execute path? (checked in a child that becomes uid) */
static bool
uid_can_exec(uid_t uid, const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(uid) < 0)
			_exit(1);
		_exit(access(path, X_OK) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

START_TEST(test_fork_fails)
{
	struct srv *s;
	struct cli *a, *b, *c, *d;
	struct irc_msg m;
	char why[256];
	long long cpu, deadline;
	pid_t wb;

	if (geteuid() != 0) {
		fprintf(stderr, "fork_fails: skipped (needs root to run the daemon as another uid)\n");
		return;
	}
	g_uid = 40000 + (uid_t)(getpid() % 20000);
	while (getpwuid(g_uid))
		g_uid++;
	if (!uid_can_exec(g_uid, SHMCHATD_PATH)) {
		/* e.g. a build under /root (mode 0700): another uid cannot run it */
		fprintf(stderr, "fork_fails: skipped (uid %ld cannot execute %s)\n",
		    (long)g_uid, SHMCHATD_PATH);
		return;
	}
	srv_pre_exec = pre_exec_nproc;
	s = srv_start("log_level = \"info\";");
	srv_pre_exec = NULL;
	{
		long uid[4] = { -1 };

		H_ASSERT(h_proc_fields(s->pid, "status", "Uid", uid) == 4 && uid[0] == (long)g_uid,
			 "daemon runs as uid %ld, wanted %ld", uid[0], (long)g_uid);
	}
	a = cli_new(s, "first");
	b = cli_new(s, "second");
	c = cli_connect(s);
	H_ASSERT(!try_register(c, "third", T_LONG, why, sizeof why), "a third worker was forked "
		 "with RLIMIT_NPROC = 5");
	H_ASSERT(strstr(why, "Server is busy, try again later"), "third client got '%s'", why);
	EXPECT_EOF(c, T_SHORT);
	H_ASSERT(srv_log_has(s, "fork", T_SHORT), "the fork failure was not logged");
	cpu = master_cpu_over(s, 1000);
	fprintf(stderr, "fork_fails: third client refused (%s); master used %lld ms CPU in the "
		"next second\n", why, cpu);
	H_ASSERT(cpu < 200, "master used %lld ms CPU in 1 s after fork() failed", cpu);
	cli_join(a, "#nproc");
	cli_join(b, "#nproc");
	cli_send(a, "PRIVMSG #nproc :still here");
	EXPECT_FROM(b, "PRIVMSG", "first", &m);
	/* a worker gone (reaped) makes room again */
	wb = srv_worker_of(s, b, T_SHORT);
	H_ASSERT(wb > 0, "no worker for second");
	H_ASSERT(kill(wb, SIGKILL) == 0, "kill: %s", strerror(errno));
	EXPECT_FROM(a, "QUIT", "second", &m);
	deadline = h_now_ms() + T_SHORT;
	while (proc_state(wb) != 0) {
		H_ASSERT(h_now_ms() < deadline, "worker %d not reaped", (int)wb);
		nap(5);
	}
	d = cli_connect(s);
	H_ASSERT(try_register(d, "fourth", T_LONG, why, sizeof why), "no room after a worker "
		 "exited: %s", why);
	srv_stop(s);
}
END_TEST

/* ------------------------------------------------------ connection limits */

/*
 * max_clients_per_ip: the connection over the limit gets the ERROR line and
 * no worker is ever forked for it (the master logs every worker it asks
 * for at debug level); a place freed is usable again; loopback is exempt
 * by default; max_clients is refused before forking as well.
 */
START_TEST(test_per_ip_limit)
{
	/* no spare workers: the process count then shows any fork */
	struct srv *s = srv_start("limits_exempt = []; max_clients_per_ip = 3; max_clients = 50; "
				  "max_spare_workers = 0;");
	struct cli *a = cli_new(s, "ip1"), *b = cli_new(s, "ip2"), *c = cli_new(s, "ip3"), *d, *e;
	struct irc_msg m;
	char why[256];
	int spawned = srv_log_count(s, "worker requested"), procs = count_descendants(s);
	long long deadline;
	bool ok = false;

	H_ASSERT(spawned == 3, "the log shows %d workers requested for 3 clients", spawned);
	d = cli_connect(s);
	EXPECT(d, "ERROR", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Closing Link: 127.0.0.1 (Too many connections from your "
			 "address)"), "refused with ERROR :%s", msg_last(&m));
	EXPECT_EOF(d, T_SHORT);
	H_ASSERT(srv_log_count(s, "worker requested") == spawned, "a worker was requested for the "
		 "connection over the per-address limit");
	H_ASSERT(count_descendants(s) == procs, "process count changed: %d -> %d", procs,
		 count_descendants(s));
	H_ASSERT(cli_sync(a, "ERROR") == 0 && cli_sync(b, "ERROR") == 0, "ERROR to the others");
	/* a freed place can be used again (once the master has reaped c's worker) */
	cli_send(c, "QUIT :leaving");
	EXPECT_EOF(c, T_SHORT);
	deadline = h_now_ms() + T_LONG;
	while (!ok) {
		H_ASSERT(h_now_ms() < deadline, "no place after a client left: %s", why);
		e = cli_connect(s);
		ok = try_register(e, "ip4", T_SHORT, why, sizeof why);
		if (!ok) {
			H_ASSERT(strstr(why, "Too many connections"), "ip4 got '%s'", why);
			cli_close(e);
			nap(20);
		}
	}
	srv_stop(s);

	/* loopback exempt by default; max_clients refused before forking too */
	s = srv_start("max_clients_per_ip = 1; max_clients = 2; max_spare_workers = 0;");
	a = cli_new(s, "ex1");
	b = cli_new(s, "ex2");	/* a second one from 127.0.0.1 despite the limit of 1 */
	spawned = srv_log_count(s, "worker requested");
	d = cli_connect(s);
	EXPECT(d, "ERROR", &m);
	H_ASSERT(strstr(msg_last(&m), "(Server is full)"), "refused with ERROR :%s", msg_last(&m));
	EXPECT_EOF(d, T_SHORT);
	H_ASSERT(srv_log_count(s, "worker requested") == spawned, "a worker was requested for the "
		 "connection over max_clients");
	H_ASSERT(cli_sync(a, "ERROR") == 0 && cli_sync(b, "ERROR") == 0, "ERROR to the others");
	srv_stop(s);
}
END_TEST

/* wait until the fork server has want children; their pids in v */
static int wait_fs_children(pid_t fs, int want, pid_t *v, int max)
{
	long long deadline = h_now_ms() + T_LONG;
	int n;

	while ((n = h_descendants(fs, v, max, 0, 0)) != want && h_now_ms() < deadline)
		nap(10);
	return n;
}

static bool pid_in(pid_t p, const pid_t *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/*
 * Spare workers: the fork server keeps min_spare_workers forked ahead of
 * demand. A client is served by one of them, and the pool refills; a
 * spare killed while it waits is replaced and nobody notices; a burst
 * that empties the pool makes it keep more; the clients keep chatting.
 */
START_TEST(test_spare_workers)
{
	struct srv *s = srv_start("min_spare_workers = 3; max_spare_workers = 12;");
	pid_t fs = 0, sp[64], v[64], wa;
	struct cli *a, *b, *burst[10];
	long long until = h_now_ms() + T_SHORT;
	int n;

	/* the pool fills while the master starts */
	while ((fs = srv_forkserver(s)) == 0 && h_now_ms() < until)
		nap(10);
	H_ASSERT(fs > 0, "no fork server under the master");
	n = wait_fs_children(fs, 3, sp, 64);
	H_ASSERT(n == 3, "the fork server has %d children, not the 3 spares", n);
	a = cli_new(s, "spa");
	wa = srv_worker_of(s, a, T_SHORT);
	H_ASSERT(wa > 0 && pid_in(wa, sp, 3), "spa's worker %d is not one of the spares",
		 (int)wa);
	n = wait_fs_children(fs, 4, v, 64);
	H_ASSERT(n == 4, "%d children after a spare took a client, not 4 (refilled)", n);
	/* a spare that dies while it waits: replaced, and not reported as a worker */
	for (int i = 0; i < n; i++)
		if (v[i] != wa) {
			H_ASSERT(kill(v[i], SIGKILL) == 0, "kill: %s", strerror(errno));
			break;
		}
	n = wait_fs_children(fs, 4, v, 64);
	H_ASSERT(n == 4, "%d children after a spare died, not 4", n);
	b = cli_new(s, "spb");
	cli_send(a, "PRIVMSG spb :after a spare died");
	cli_expect_text(b, "PRIVMSG", a, "spb", "after a spare died");
	/* ten at once: more than the pool holds, so it keeps more from now on */
	for (int i = 0; i < 10; i++)
		burst[i] = cli_connect(s);
	for (int i = 0; i < 10; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "burst%d", i);
		cli_register(burst[i], nick);
	}
	{
		long long deadline = h_now_ms() + T_LONG;

		/* 12 workers, and more than 3 spares */
		while ((n = h_descendants(fs, v, 64, 0, 0)) < 12 + 6 && h_now_ms() < deadline)
			nap(10);
		H_ASSERT(n >= 12 + 6, "the pool did not grow after running dry: %d children "
			 "for 12 clients", n);
	}
	cli_send(burst[9], "PRIVMSG spa :still served");
	cli_expect_text(a, "PRIVMSG", burst[9], "spa", "still served");
	H_ASSERT(srv_log_count(s, "spare worker") == 0, "the pool complained in the log");
	srv_stop(s);
}
END_TEST

/*
 * 10,000 connection attempts from one address (64 at a time), with its
 * per-address quota of 5 in use: each is refused with the ERROR line
 * before any fork; the daemon never has more than its 5 workers, the
 * master's memory and descriptors stay flat, the 5 clients keep working.
 */
#define NFLOOD	10000

START_TEST(test_connection_flood)
{
	struct srv *s = srv_start("limits_exempt = []; max_clients_per_ip = 5; max_clients = 100; "
				  "log_level = \"warning\"; max_spare_workers = 0;");
	struct cli *k[5];
	struct pollfd pf[64];
	char buf[64][256];
	size_t got[64];
	const int nflood = NFLOOD;
	int started = 0, finished = 0, refused = 0, other = 0, maxprocs = 0, procs;
	long rss0, rss1, fds0, fds1;
	struct sockaddr_in sa;
	long long t0 = h_now_ms(), deadline = t0 + 40000LL * h_scale;
	struct linger lg = { 1, 0 };

	for (int i = 0; i < 5; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "keep%d", i);
		k[i] = cli_new(s, nick);
	}
	procs = count_descendants(s);
	rss0 = proc_kb(s->pid, "VmRSS");
	fds0 = h_proc_nfds(s->pid);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)s->port);
	for (int i = 0; i < 64; i++)
		pf[i].fd = -1;
	while (finished < nflood) {
		H_ASSERT(h_now_ms() < deadline, "flood not done in 40 s: %d of %d answered",
			 finished, nflood);
		for (int i = 0; i < 64; i++) {
			if (pf[i].fd >= 0 || started >= nflood)
				continue;
			pf[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			H_ASSERT(pf[i].fd >= 0, "socket: %s", strerror(errno));
			/* close with RST: no TIME_WAIT piling up on either side */
			setsockopt(pf[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			if (connect(pf[i].fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
			    errno != EINPROGRESS)
				H_FAIL("connect #%d: %s", started, strerror(errno));
			pf[i].events = POLLIN;
			got[i] = 0;
			started++;
		}
		poll(pf, 64, 100);
		for (int i = 0; i < 64; i++) {
			ssize_t r;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			r = recv(pf[i].fd, buf[i] + got[i], sizeof buf[i] - 1 - got[i], 0);
			if (r > 0) {
				got[i] += (size_t)r;
				if (got[i] < sizeof buf[i] - 1)
					continue;
			} else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				continue;
			}
			buf[i][got[i]] = '\0';
			if (!strcmp(buf[i], "ERROR :Closing Link: 127.0.0.1 (Too many connections "
				    "from your address)\r\n"))
				refused++;
			else
				other++;
			close(pf[i].fd);
			pf[i].fd = -1;
			finished++;
		}
		if (finished % 500 < 64) {
			int p = count_descendants(s);

			if (p > maxprocs)
				maxprocs = p;
		}
	}
	rss1 = proc_kb(s->pid, "VmRSS");
	fds1 = h_proc_nfds(s->pid);
	fprintf(stderr, "connection flood: %d attempts in %lld ms, %d refused with the ERROR line, "
		"%d otherwise; daemon processes %d (max %d seen); master RSS %ld -> %ld kB, fds "
		"%ld -> %ld\n", nflood, h_now_ms() - t0, refused, other, procs, maxprocs, rss0, rss1,
		fds0, fds1);
	H_ASSERT(maxprocs <= procs, "the daemon had %d processes during the flood (%d before)",
		 maxprocs, procs);
	H_ASSERT(refused >= nflood - nflood / 100, "only %d of %d attempts got the ERROR line",
		 refused, nflood);
	H_ASSERT(rss1 - rss0 < 2048, "master RSS grew from %ld to %ld kB", rss0, rss1);
	H_ASSERT(fds1 <= fds0, "master descriptors grew from %ld to %ld", fds0, fds1);
	for (int i = 0; i < 5; i++)
		H_ASSERT(cli_sync(k[i], "ERROR") == 0, "keep%d got ERROR", i);
	srv_stop(s);
}
END_TEST

/*
 * Flood control (token bucket: flood_rate lines/s, flood_burst deep): a
 * burst beyond the bucket is slowed to the rate, not dropped; a client that
 * keeps more than flood_queue bytes unread while throttled gets ERROR
 * :Closing Link: ... (Excess Flood); another client sending at a modest
 * rate meanwhile is unaffected; an exempt address is not limited at all.
 */
START_TEST(test_flood_control)
{
	struct srv *s = srv_start("limits_exempt = []; flood_rate = 10; flood_burst = 10; "
				  "flood_queue = 1024; log_level = \"info\";");
	struct cli *f = cli_new(s, "fast"), *o = cli_new(s, "observer"), *g, *h;
	struct irc_msg m;
	char pad[81], burst[65536];
	size_t blen = 0;
	long long tfirst = 0, tlast = 0, deadline, t0, maxlat = 0, nexth;
	int next = 1, hsent = 0, hnext = 1;
	bool gquit = false;

	cli_join(f, "#fl");
	cli_join(o, "#fl");
	nap(1100);		/* f's bucket full again after registering and joining */
	for (int i = 1; i <= 25; i++)
		cli_send(f, "PRIVMSG #fl :a%d", i);
	deadline = h_now_ms() + 10000LL * h_scale;
	while (next <= 25) {
		H_ASSERT(cli_wait(o, "PRIVMSG", "fast", (int)(deadline - h_now_ms()), &m),
			 "observer got %d of 25 throttled lines", next - 1);
		H_ASSERT(msg_last(&m)[0] == 'a' && atoi(msg_last(&m) + 1) == next,
			 "observer got %s, expected a%d", msg_last(&m), next);
		if (next == 1)
			tfirst = h_now_ms();
		tlast = h_now_ms();
		next++;
	}
	fprintf(stderr, "flood: 25 lines with a 10-line bucket at 10 lines/s took %lld ms\n",
		tlast - tfirst);
	/* 15 lines past the bucket at 10 a second: about 1.5 s */
	H_ASSERT(tlast - tfirst >= 1200, "25 lines went through in %lld ms: not throttled",
		 tlast - tfirst);
	H_ASSERT(tlast - tfirst <= 4000LL * h_scale, "throttled too hard: %lld ms",
		 tlast - tfirst);
	H_ASSERT(cli_sync(f, "ERROR") == 0, "the slowed client got ERROR");

	/* a flood of 24 KB: Excess Flood; a modest sender is unaffected */
	g = cli_new(s, "flooder");
	h = cli_new(s, "modest");
	cli_join(g, "#fl");
	cli_join(h, "#fl");
	memset(pad, 'f', 80);
	pad[80] = '\0';
	for (int i = 1; i <= 300; i++)
		blen += (size_t)snprintf(burst + blen, sizeof burst - blen, "PRIVMSG #fl :%d %s\r\n",
					 i, pad);
	cli_send_raw(g, burst, blen);
	t0 = nexth = h_now_ms();
	deadline = t0 + 10000LL * h_scale;
	while (!gquit || hnext <= 10) {
		H_ASSERT(h_now_ms() < deadline, "flooder %s; modest at %d of 10",
			 gquit ? "gone" : "still connected", hnext);
		if (hsent < 10 && h_now_ms() >= nexth) {
			cli_send(h, "PRIVMSG #fl :h%d %lld", ++hsent, h_now_ms());
			nexth += 200;	/* 5 lines a second, under the rate */
		}
		if (!cli_next(o, 20, &m))
			continue;
		if (!strcmp(m.command, "QUIT") && prefix_nick(m.prefix, "flooder")) {
			H_ASSERT(strstr(msg_last(&m), "Excess Flood"), "flooder quit with '%s'",
				 msg_last(&m));
			gquit = true;
		} else if (!strcmp(m.command, "PRIVMSG") && prefix_nick(m.prefix, "modest")) {
			int seq = 0;
			long long ts = 0;
			int nf = sscanf(msg_last(&m), "h%d %lld", &seq, &ts);

			H_ASSERT(nf == 2 && seq == hnext,
				 "observer got '%s' from modest, expected h%d", msg_last(&m), hnext);
			hnext++;
			if (h_now_ms() - ts > maxlat)
				maxlat = h_now_ms() - ts;
		}
	}
	fprintf(stderr, "flood: flooder cut after %lld ms; modest sender's max latency %lld ms\n",
		h_now_ms() - t0, maxlat);
	H_ASSERT(maxlat < 500LL * h_scale, "the modest sender's lines took up to %lld ms", maxlat);
	EXPECT(g, "ERROR", &m);
	H_ASSERT(!strcmp(msg_last(&m), "Closing Link: 127.0.0.1 (Excess Flood)"),
		 "flooder got ERROR :%s", msg_last(&m));
	EXPECT_EOF(g, T_SHORT);
	H_ASSERT(cli_sync(h, "ERROR") == 0 && cli_sync(o, "ERROR") == 0 &&
		 cli_sync(f, "ERROR") == 0, "ERROR to a client that did not flood");
	srv_stop(s);

	/* loopback exempt (the default): the same flood goes through at once */
	s = srv_start("flood_rate = 10; flood_burst = 5; flood_queue = 1024; log_level = \"info\";");
	g = cli_new(s, "exempt");
	o = cli_new(s, "watcher");
	cli_join(g, "#fl");
	cli_join(o, "#fl");
	t0 = h_now_ms();
	cli_send_raw(g, burst, blen);
	for (int i = 1; i <= 300; i++) {
		H_ASSERT(cli_wait(o, "PRIVMSG", "exempt", T_SHORT, &m), "watcher got %d of 300 lines",
			 i - 1);
		H_ASSERT(atoi(msg_last(&m)) == i, "watcher got '%.20s', expected %d", msg_last(&m),
			 i);
	}
	H_ASSERT(h_now_ms() - t0 < 2000LL * h_scale, "300 exempt lines took %lld ms",
		 h_now_ms() - t0);
	H_ASSERT(cli_sync(g, "ERROR") == 0, "the exempt client got ERROR");
	srv_stop(s);
}
END_TEST

/* ------------------------------------------------ slow and broken clients */

/*
 * Slowloris: one byte a second of a registration never completes it in
 * time; the trickle does not extend registration_timeout (3 s).
 */
START_TEST(test_slowloris)
{
	struct srv *s = srv_start("registration_timeout = 3; log_level = \"info\";");
	struct cli *b = cli_new(s, "patient"), *c = cli_connect(s);
	static const char reg[] = "NICK slowloris\r\nUSER slow 0 * :one byte a second\r\n";
	long long t0 = h_now_ms(), t;
	size_t i = 0;
	char *line = NULL;
	size_t len;
	bool error = false;

	while (!error && !c->eof) {
		H_ASSERT(h_now_ms() - t0 < 8000LL * h_scale, "slowloris still connected after %lld ms",
			 h_now_ms() - t0);
		if (i < sizeof reg - 1 && !cli_send_raw(c, reg + i++, 1))
			break;
		/* a second between bytes, or the server's answer */
		while (cli_line(c, 1000, &line, &len))
			if (!strncmp(line, "ERROR ", 6) || strstr(line, " ERROR ")) {
				error = true;
				break;
			}
	}
	t = h_now_ms() - t0;
	fprintf(stderr, "slowloris: closed after %lld ms, %zu bytes sent\n", t, i);
	H_ASSERT(error && strstr(line, "Registration timeout"), "closed without ERROR "
		 ":... (Registration timeout): %s", error ? line : "EOF");
	EXPECT_EOF(c, T_SHORT);
	H_ASSERT(t >= 2500 && t <= 5000LL * h_scale, "closed after %lld ms "
		 "(registration_timeout 3 s)", t);
	H_ASSERT(cli_sync(b, "ERROR") == 0, "the registered client got ERROR");
	srv_stop(s);
}
END_TEST

/*
 * A peer that went silent (a half-open connection: nothing arrives, no
 * FIN) is dropped by the ping timeout (ping_interval 2 + ping_timeout 2);
 * one that half-closes (FIN) is gone at once; peers see both QUITs and a
 * client that answers PINGs stays.
 */
START_TEST(test_half_open)
{
	struct srv *s = srv_start("ping_interval = 2; ping_timeout = 2; log_level = \"info\";");
	struct cli *a = cli_new(s, "silent"), *b = cli_new(s, "alive"), *c = cli_new(s, "halfcl");
	struct irc_msg m;
	long long t0, tsilent = 0, thalf = 0, deadline;

	cli_join(a, "#ho");
	cli_join(b, "#ho");
	cli_join(c, "#ho");
	t0 = h_now_ms();
	H_ASSERT(shutdown(c->fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
	deadline = t0 + 10000LL * h_scale;
	while (!tsilent || !thalf) {
		H_ASSERT(h_now_ms() < deadline, "after 10 s: silent %s, half-closed %s",
			 tsilent ? "dropped" : "still there", thalf ? "dropped" : "still there");
		if (!cli_next(b, 100, &m))	/* answers PINGs itself */
			continue;
		if (strcmp(m.command, "QUIT"))
			continue;
		if (prefix_nick(m.prefix, "halfcl")) {
			thalf = h_now_ms();
		} else {
			H_ASSERT(prefix_nick(m.prefix, "silent"), "QUIT from %s", m.prefix);
			H_ASSERT(strstr(msg_last(&m), "Ping timeout"), "silent quit with '%s'",
				 msg_last(&m));
			tsilent = h_now_ms();
		}
	}
	fprintf(stderr, "half-open: half-closed peer gone after %lld ms, silent peer after %lld ms\n",
		thalf - t0, tsilent - t0);
	H_ASSERT(thalf - t0 < 1000LL * h_scale, "half-closed client dropped after %lld ms",
		 thalf - t0);
	H_ASSERT(tsilent - t0 >= 2000 && tsilent - t0 <= 7000LL * h_scale,
		 "silent client dropped after %lld ms (ping_interval 2 + ping_timeout 2)",
		 tsilent - t0);
	EXPECT_EOF(a, T_SHORT);
	EXPECT_EOF(c, T_SHORT);
	H_ASSERT(cli_sync(b, "ERROR") == 0, "the answering client got ERROR");
	srv_stop(s);
}
END_TEST

/* ---------------------------------------------------------- hostile input */

/*
 * Check a raw line the observer received: one line (the harness cut it at
 * LF and removed the CR), no CR, no NUL, at most 510 bytes, a prefix of a
 * known source, a valid command. Returns the parsed message.
 */
static void check_wire_line(struct cli *o, const char *line, size_t len, struct irc_msg *m,
			    const char *const *nicks, int nnicks)
{
	bool known = false;

	H_ASSERT(memchr(line, '\0', len) == NULL, "%s received a NUL byte: %.100s", o->nick, line);
	H_ASSERT(memchr(line, '\r', len) == NULL, "%s received a lone CR: %.200s", o->nick, line);
	H_ASSERT(len <= IRC_MAXLINE - 2, "%s received a %zu-byte line: %.100s", o->nick, len, line);
	H_ASSERT(len > 0 && line[0] == ':', "%s received a line without prefix: %.200s", o->nick,
		 line);
	H_ASSERT(irc_parse(m, line, len) == IRC_PARSE_OK, "%s received an unparsable line: %.200s",
		 o->nick, line);
	if (!strcmp(m->prefix, "irc.test"))
		known = true;
	for (int i = 0; i < nnicks && !known; i++)
		known = prefix_nick(m->prefix, nicks[i]);
	H_ASSERT(known, "%s received a line from an unknown source (injected?): %.200s", o->nick,
		 line);
}

struct bad {
	const char *p;
	size_t n;
};
#define BAD(s) { s, sizeof(s) - 1 }

START_TEST(test_hostile_lines)
{
	struct srv *s = srv_start("log_level = \"info\";");
	struct cli *x = cli_new(s, "hostile"), *o = cli_new(s, "obs");
	struct irc_msg *m = malloc(sizeof *m);
	static const struct bad fixed[] = {
		BAD("PRIVMSG #h :nul\0byte\r\n"),
		BAD("\0\0\0\r\n"),
		BAD("PRIVMSG #h :\x01" "ACTION ctl\x01 \x02\x03" "4,5\x07\x1b[31mred\x7f\x1f\r\n"),
		BAD("PRIVMSG #h :\xff\xfe\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf\r\n"),
		BAD("PRIVMSG #h :one\rPRIVMSG #h :two\r\n"),
		BAD("PRIVMSG #h :x\r:evil!e@h PRIVMSG obs :injected\r\n"),
		BAD("PRIVMSG obs :x\r\r\r\n"),
		BAD("PRIVMSG #h :lf1\nPRIVMSG #h :lf2\r\n"),
		BAD("AWAY :gone\r:evil!e@h NOTICE obs :injected\r\n"),
		BAD("TOPIC #h :top\ric\r\n"),
		BAD(":evil!e@h PRIVMSG #h :spoofed prefix\r\n"),
		BAD(": PRIVMSG #h :empty prefix\r\n"),
		BAD("\r\n"), BAD(" \r\n"), BAD("\n"), BAD("\r\r\r\n"), BAD(":\r\n"), BAD(":pfx\r\n"),
		BAD("@\r\n"), BAD("@a=b\r\n"), BAD("@a=b :pfx\r\n"), BAD("   PING   :spaces\r\n"),
		BAD("PRIV\xffMSG #h :x\r\n"), BAD("12 x\r\n"), BAD("0001 x\r\n"), BAD("001 obs :x\r\n"),
		BAD("PRIVMSG\r\n"), BAD("PRIVMSG #h\r\n"), BAD("PRIVMSG :\r\n"), BAD("PRIVMSG #h :\r\n"),
		BAD("NOTICE\r\n"), BAD("JOIN\r\n"), BAD("JOIN :\r\n"), BAD("JOIN ,,,,\r\n"),
		BAD("JOIN #\r\n"), BAD("JOIN #a\x07" "b\r\n"), BAD("JOIN #a:b\r\n"), BAD("JOIN h\r\n"),
		BAD("PART\r\n"), BAD("PART #notjoined\r\n"), BAD("NICK\r\n"), BAD("NICK :\r\n"),
		BAD("NICK 9nine\r\n"), BAD("NICK a,b\r\n"), BAD("NICK #chan\r\n"), BAD("NICK :\xff\xfe\r\n"),
		BAD("USER a 0 * :again\r\n"), BAD("PASS secret\r\n"), BAD("TOPIC\r\n"),
		BAD("TOPIC #nosuch :x\r\n"), BAD("MODE\r\n"), BAD("MODE #h +ooooooooooo a b c\r\n"),
		BAD("KICK #h obs\r\n"), BAD("WHO *\xff\r\n"), BAD("WHOIS\r\n"), BAD("ISON\r\n"),
		BAD("USERHOST\r\n"), BAD("LIST *\r\n"), BAD("NAMES ,,,\r\n"), BAD("AWAY\r\n"),
		BAD("CAP\r\n"), BAD("CAP REQ :\xff\r\n"), BAD("CAP END\r\n"), BAD("PONG\r\n"),
		BAD("PING\r\n"), BAD("QUIT\0\r\n"),
		BAD("PRIVMSG #h :last\r\r\n"),
	};
	enum { NGEN = 16 };
	static char gen[NGEN][24000];
	size_t gl[NGEN];
	const char *nicks[2] = { "hostile", "obs" };
	char *line;
	size_t len;
	int ng = 0, replies = 0;
	size_t k;

	H_ASSERT(m != NULL, "out of memory");
	/* the observer holds the channel: the hostile client's KICK and MODE
	 * are refused, not obeyed */
	cli_join(o, "#h");
	cli_join(x, "#h");
	/* generated: overlong, many params, names at and beyond their limits */
	{
		char *p;

		p = gen[ng];
		p += sprintf(p, "PRIVMSG #h :");
		memset(p, 'A', 600);
		p += 600;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* 20 KB without LF, then one */
		memset(p, 'B', 20000);
		p += 20000;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* 10,000 parameters */
		p += sprintf(p, "PRIVMSG #h");
		for (int i = 0; i < 10000; i++)
			p += sprintf(p, " p");
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* as many parameters as fit in 512 bytes */
		p += sprintf(p, "PRIVMSG #h");
		while (p - gen[ng] < 506)
			p += sprintf(p, " q");
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* 100 comma-separated targets */
		p += sprintf(p, "PRIVMSG ");
		for (int i = 0; i < 100; i++)
			p += sprintf(p, "%sn%d", i ? "," : "", i);
		p += sprintf(p, " :to many\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* exactly 512 bytes with CR LF: valid */
		p += sprintf(p, "PRIVMSG #h :");
		memset(p, 'C', 510 - 12);
		p += 510 - 12;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* 513 bytes */
		p += sprintf(p, "PRIVMSG #h :");
		memset(p, 'D', 511 - 12);
		p += 511 - 12;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* 8 KB of tags */
		*p++ = '@';
		memset(p, 't', 8000);
		p += 8000;
		p += sprintf(p, " PRIVMSG #h :tagged\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* a 400-letter command */
		memset(p, 'X', 400);
		p += 400;
		p += sprintf(p, " y\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* channel name at the limit (50) */
		p += sprintf(p, "JOIN #");
		memset(p, 'c', 49);
		p += 49;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* and one beyond it */
		p += sprintf(p, "JOIN #");
		memset(p, 'd', 50);
		p += 50;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* a 300-byte channel name */
		p += sprintf(p, "PRIVMSG #");
		memset(p, 'e', 300);
		p += 300;
		p += sprintf(p, " :x\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* WHOIS of 100 nicks, NAMES of 100 channels */
		p += sprintf(p, "WHOIS ");
		for (int i = 0; i < 100; i++)
			p += sprintf(p, "%sw%d", i ? "," : "", i);
		p += sprintf(p, "\r\nNAMES ");
		for (int i = 0; i < 100; i++)
			p += sprintf(p, "%s#n%d", i ? "," : "", i);
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;

		p = gen[ng];	/* an overlong topic */
		p += sprintf(p, "TOPIC #h :");
		memset(p, 'T', 480);
		p += 480;
		p += sprintf(p, "\r\n");
		gl[ng] = (size_t)(p - gen[ng]);
		ng++;
	}

	for (k = 0; k < sizeof fixed / sizeof *fixed + (size_t)ng; k++) {
		const char *p = k < sizeof fixed / sizeof *fixed ? fixed[k].p :
			gen[k - sizeof fixed / sizeof *fixed];
		size_t n = k < sizeof fixed / sizeof *fixed ? fixed[k].n :
			gl[k - sizeof fixed / sizeof *fixed];
		char tok[32];
		bool pong = false;

		H_ASSERT(cli_send_raw(x, p, n), "the server closed the connection at bad line %zu",
			 k);
		snprintf(tok, sizeof tok, "bad%zu", k);
		cli_send(x, "PING :%s", tok);
		/* the sender: a reply or nothing, then the PONG; never an ERROR */
		while (!pong) {
			if (!cli_line(x, T_SHORT, &line, &len))
				H_FAIL("no PONG after bad line %zu (%.60s)%s", k, p,
				       x->eof ? ": disconnected" : "");
			H_ASSERT(memchr(line, '\r', len) == NULL && len <= IRC_MAXLINE - 2,
				 "malformed reply to bad line %zu: %.100s", k, line);
			H_ASSERT(irc_parse(m, line, len) == IRC_PARSE_OK,
				 "unparsable reply to bad line %zu: %.200s", k, line);
			H_ASSERT(strcmp(m->command, "ERROR"), "bad line %zu (%.60s) got ERROR :%s", k,
				 p, msg_last(m));
			if (!strcmp(m->command, "PONG") && !strcmp(msg_last(m), tok))
				pong = true;
			else if (isdigit((unsigned char)m->command[0]))
				replies++;
		}
		/* the observer: only well-formed lines from known sources */
		while (cli_line_nowait(o, &line, &len))
			check_wire_line(o, line, len, m, nicks, 2);
	}
	/* everything the observer got, up to a marker */
	cli_send(x, "PRIVMSG #h :the end");
	for (;;) {
		H_ASSERT(cli_line(o, T_SHORT, &line, &len), "observer: no 'the end' (%s)",
			 o->eof ? "EOF" : "timeout");
		check_wire_line(o, line, len, m, nicks, 2);
		H_ASSERT(strcmp(m->command, "NICK"), "the hostile client changed nick: %.200s", line);
		if (!strcmp(m->command, "PRIVMSG") && !strcmp(msg_last(m), "the end"))
			break;
	}
	fprintf(stderr, "hostile lines: %zu sent, %d numeric replies, sender still connected\n",
		k, replies);
	H_ASSERT(cli_sync(o, "ERROR") == 0, "observer got ERROR");
	free(m);
	srv_stop(s);
}
END_TEST

/*
 * Nicks and channel names at and beyond their limits (nick_len 30,
 * channel_len 50, max_channels_per_client 20), and 1,000 JOINs pipelined:
 * nothing over a limit is accepted, the rest is refused with numerics.
 */
START_TEST(test_limits_and_joins)
{
	struct srv *s = srv_start("log_level = \"info\";");
	struct cli *x = cli_new(s, "joiner"), *o = cli_new(s, "peer");
	struct irc_msg m;
	char name[128];
	int joins = 0, toomany = 0, errs = 0;

	cli_join(o, "#base");
	cli_join(x, "#base");
	/* a nick at the limit is taken; beyond it refused (or cut to the limit) */
	memset(name, 'n', 30);
	name[30] = '\0';
	cli_send(x, "NICK %s", name);
	EXPECT_FROM(o, "NICK", "joiner", &m);
	H_ASSERT(!strcmp(msg_last(&m), name), "30-character nick became '%s'", msg_last(&m));
	snprintf(x->nick, sizeof x->nick, "%.63s", name);
	memset(name, 'm', 31);
	name[31] = '\0';
	cli_send(x, "NICK %s", name);
	cli_send(x, "PING :nick31");
	for (;;) {
		H_ASSERT(cli_next(x, T_SHORT, &m), "no PONG after a 31-character NICK");
		if (!strcmp(m.command, "PONG"))
			break;
		if (!strcmp(m.command, "NICK")) {
			H_ASSERT(strlen(msg_last(&m)) <= 30, "nick of %zu characters accepted",
				 strlen(msg_last(&m)));
			snprintf(x->nick, sizeof x->nick, "%s", msg_last(&m));
		}
	}
	/* 1,000 JOINs in one go: at most 20 channels */
	{
		static char buf[1000 * 16];
		size_t n = 0;

		for (int i = 0; i < 1000; i++)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "JOIN #j%d\r\n", i);
		H_ASSERT(cli_send_raw(x, buf, n), "connection closed during 1,000 JOINs");
	}
	cli_send(x, "PING :joins");
	for (;;) {
		H_ASSERT(cli_next(x, T_LONG, &m), "no PONG after 1,000 JOINs (%d joined, %d 405)",
			 joins, toomany);
		if (!strcmp(m.command, "PONG") && !strcmp(msg_last(&m), "joins"))
			break;
		if (!strcmp(m.command, "JOIN"))
			joins++;
		else if (!strcmp(m.command, "405"))
			toomany++;
		else if (isdigit((unsigned char)m.command[0]) && m.command[0] >= '4')
			errs++;
		H_ASSERT(strcmp(m.command, "ERROR"), "ERROR :%s", msg_last(&m));
	}
	fprintf(stderr, "1,000 JOINs: %d joined, %d refused with 405, %d other errors\n", joins,
		toomany, errs);
	H_ASSERT(joins == 19, "joined %d channels besides #base (max_channels_per_client 20)",
		 joins);
	H_ASSERT(toomany >= 1, "no 405 ERR_TOOMANYCHANNELS");
	/* channel names: 50 is fine once there is room, 51 is not */
	cli_send(x, "JOIN 0");
	memset(name, 'c', 49);
	name[49] = '\0';
	cli_send(x, "JOIN #%s", name);
	memset(name, 'd', 50);
	name[50] = '\0';
	cli_send(x, "JOIN #%s", name);
	cli_send(x, "PING :names");
	joins = 0;
	for (;;) {
		H_ASSERT(cli_next(x, T_SHORT, &m), "no PONG after the channel-name JOINs");
		if (!strcmp(m.command, "PONG") && !strcmp(msg_last(&m), "names"))
			break;
		if (!strcmp(m.command, "JOIN")) {
			H_ASSERT(strlen(msg_param(&m, 0)) <= 50, "joined a %zu-byte channel name",
				 strlen(msg_param(&m, 0)));
			if (strlen(msg_param(&m, 0)) == 50)
				joins++;
		}
	}
	H_ASSERT(joins == 1, "the 50-byte channel name was not joined");
	H_ASSERT(cli_sync(o, "ERROR") == 0, "peer got ERROR");
	srv_stop(s);
}
END_TEST

/* -------------------------------------------------------------- privileges */

static void check_creds(pid_t pid, const char *what, uid_t uid, gid_t gid)
{
	long u[4] = { -1, -1, -1, -1 }, g[4] = { -1, -1, -1, -1 }, cap[1] = { -1 };
	char path[64], line[512];
	FILE *f;

	H_ASSERT(h_proc_fields(pid, "status", "Uid", u) == 4, "%s %d: no Uid line", what, (int)pid);
	H_ASSERT(h_proc_fields(pid, "status", "Gid", g) == 4, "%s %d: no Gid line", what, (int)pid);
	for (int i = 0; i < 4; i++) {
		H_ASSERT(u[i] == (long)uid, "%s %d runs with uids %ld %ld %ld %ld, wanted %ld", what,
			 (int)pid, u[0], u[1], u[2], u[3], (long)uid);
		H_ASSERT(g[i] == (long)gid, "%s %d runs with gids %ld %ld %ld %ld, wanted %ld", what,
			 (int)pid, g[0], g[1], g[2], g[3], (long)gid);
	}
	/* supplementary groups: none, or only gid */
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	H_ASSERT(f != NULL, "%s %d is gone", what, (int)pid);
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "Groups:", 7)) {
			for (char *save = NULL, *t = strtok_r(line + 7, " \t\n", &save); t;
			     t = strtok_r(NULL, " \t\n", &save))
				H_ASSERT(atol(t) == (long)gid, "%s %d keeps supplementary group %s",
					 what, (int)pid, t);
		}
		if (!strncmp(line, "CapEff:", 7))
			cap[0] = strtol(line + 7, NULL, 16);
	}
	fclose(f);
	H_ASSERT(cap[0] == 0, "%s %d has effective capabilities %lx", what, (int)pid, cap[0]);
}

/* the shared segment's mode, through the master's mapping of it */
static unsigned shm_mode(pid_t pid)
{
	char path[64], line[1024];
	FILE *f;
	unsigned mode = 0;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char mf[128];
		struct stat st;

		if (!strstr(line, "/dev/shm/shmchat"))
			continue;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		/* map_files names carry no leading zeros, maps lines do */
		snprintf(mf, sizeof mf, "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
		if (stat(mf, &st) == 0) {
			mode = st.st_mode & 07777;
			break;
		}
	}
	fclose(f);
	return mode;
}

/* a free port below 1024 on 127.0.0.1, or 0 */
static int free_low_port(void)
{
	for (int p = 1000; p > 600; p--) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		if (fd < 0)
			return 0;
		ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
		close(fd);
		if (ok)
			return p;
	}
	return 0;
}

/*
 * Started as root, shmchatd binds (here a port below 1024, which only root
 * may bind), creates its IPC objects, then switches to the configured user
 * and group before forking anything: master, fork server, admin and every
 * worker run unprivileged with no supplementary groups or capabilities;
 * it logs the switch; the queue and the segment are not world-writable.
 * Without user/group in the file it falls back to nobody/nogroup when
 * there is no `shmchat` account.
 */
START_TEST(test_privileges)
{
	struct passwd *pw;
	struct group *gr;
	uid_t uid;
	gid_t gid;
	struct srv *s;
	struct cli *a, *b;
	pid_t kids[64];
	int n, port;
	unsigned perms = 0, mode;
	char conf[512];

	if (geteuid() != 0) {
		fprintf(stderr, "privileges: skipped (not root)\n");
		return;
	}
	pw = getpwnam("nobody");
	gr = getgrnam("nogroup");
	H_ASSERT(pw && gr, "no nobody/nogroup on this system");
	uid = pw->pw_uid;
	gid = gr->gr_gid;
	port = free_low_port();
	H_ASSERT(port > 0, "no free port below 1024");
	snprintf(conf, sizeof conf, "listen = [\"127.0.0.1:%d\"]; user = \"nobody\"; "
		 "group = \"nogroup\"; log_level = \"info\";", port);
	s = srv_start_bind(conf);
	H_ASSERT(s->port == port, "listening on %d, wanted %d", s->port, port);
	a = cli_new(s, "priv1");
	b = cli_new(s, "priv2");
	cli_join(a, "#priv");
	cli_join(b, "#priv");
	cli_send(a, "PRIVMSG #priv :unprivileged");
	EXPECT_FROM(b, "PRIVMSG", "priv1", NULL);
	check_creds(s->pid, "master", uid, gid);
	n = h_descendants(s->pid, kids, 64, 0, 3);
	H_ASSERT(n >= 4, "%d processes under the master (fork server, admin, 2 workers)", n);
	for (int i = 0; i < n; i++)
		check_creds(kids[i], "child", uid, gid);
	H_ASSERT(srv_log_has(s, "nobody", T_SHORT), "the switch to user nobody was not logged");
	H_ASSERT(msq_of_key(s->admin_key, &perms) >= 0, "no admin queue");
	H_ASSERT(!(perms & 0002), "admin queue mode %o is world-writable", perms);
	mode = shm_mode(s->pid);
	H_ASSERT(mode != 0, "shared segment not found in the master's mappings");
	H_ASSERT(!(mode & 0002), "shared segment mode %o is world-writable", mode);
	fprintf(stderr, "privileges: every process runs as %d:%d; admin queue mode %o, shared "
		"segment mode %o\n", (int)uid, (int)gid, perms & 0777, mode);
	srv_stop(s);

	/* the default, shmchat, or nobody/nogroup when that does not exist
	 * (the harness itself configures root, so name the default here) */
	pw = getpwnam("shmchat");
	gr = getgrnam("shmchat");
	if (pw)
		uid = pw->pw_uid;
	if (gr)
		gid = gr->gr_gid;
	s = srv_start("user = \"shmchat\"; group = \"shmchat\"; log_level = \"info\";");
	a = cli_new(s, "priv3");
	check_creds(s->pid, "master", uid, gid);
	n = h_descendants(s->pid, kids, 64, 0, 3);
	for (int i = 0; i < n; i++)
		check_creds(kids[i], "child", uid, gid);
	H_ASSERT(srv_log_has(s, pw ? "shmchat" : "nobody", T_SHORT), "the switch was not logged");
	(void)a;
	srv_stop(s);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("faults");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "faults", 60, NULL, NULL);
	tcase_add_test(tc, test_kill_workers_under_load);
	tcase_add_test(tc, test_master_kill9_restart);
	tcase_add_test(tc, test_sigstop_worker);
	tcase_add_test(tc, test_stuck_reader_latency);
	tcase_add_test(tc, test_accept_emfile);
	tcase_add_test(tc, test_fork_fails);

	tc = h_tcase(su, "limits", 60, NULL, NULL);
	tcase_add_test(tc, test_per_ip_limit);
	tcase_add_test(tc, test_spare_workers);
	tcase_add_test(tc, test_connection_flood);
	tcase_add_test(tc, test_flood_control);
	tcase_add_test(tc, test_slowloris);
	tcase_add_test(tc, test_half_open);

	tc = h_tcase(su, "hostile", 60, NULL, NULL);
	tcase_add_test(tc, test_hostile_lines);
	tcase_add_test(tc, test_limits_and_joins);
	tcase_add_test(tc, test_privileges);

	return h_suite_run(su);
}
