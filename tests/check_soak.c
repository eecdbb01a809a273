#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "adminq.h"
#include "harness.h"

/*
 * Soak test (make check-soak SOAK_SECONDS=120; not part of make check).
 *
 * For SOAK_SECONDS, in rounds: 40 short-lived clients connect, register,
 * join the main channel and one of five others, chat (channel and private
 * messages, a NICK change), and leave in three ways (QUIT, close, reset);
 * two more connect and never register. Twenty long-lived members read
 * everything and check every churner's messages arrive complete and in
 * order, and see its QUIT. Every few rounds shmchatctl's STATUS request
 * goes through the admin queue.
 *
 * At the end of each round (all churners gone, every member has seen every
 * QUIT, only the members' workers left, the master's descriptor count back
 * at its low mark or T_LONG passed) the master's open descriptors
 * (/proc/PID/fd), RSS and PSS (smaps_rollup), the fork server's PSS and the
 * number of the daemon's processes are sampled. It fails when the
 * descriptor or process count at these quiet points ever differs from the
 * one after warm-up, or when the peak of the master's RSS or anonymous
 * memory, or of the fork server's anonymous memory, in the last quarter of
 * the run exceeds that of the second quarter by more than SOAK_MEM_TOL_KB
 * (default 512; PSS, which moves with sharing, gets four times that). After SIGTERM nothing may be left in /dev/shm or in the
 * queue list (srv_stop checks both). Figures go to stderr and, if
 * SOAK_REPORT names a file, there as well.
 */

#define NSTABLE	20
#define NSPARE	4	/* spare workers: a pool of fixed size, refilled after each round */
#define NSPARE_CONF	"min_spare_workers = 4; max_spare_workers = 4;"	/* NSPARE */
#define NCHURN	40
#define NIDLE	2
#define NMSG	5

struct sample {
	long long t;
	int round;
	long conns;
	int fds, procs;
	long rss, pss, anon, fs_pss, fs_anon;
};

static int g_seconds = 120;
static long g_tol_kb = 512;

static int count_procs(struct srv *s, pid_t *forkserver)
{
	pid_t kids[16], grand[4096];
	int n = h_descendants(s->pid, kids, 16, 0, 0), total = n;

	*forkserver = 0;
	for (int i = 0; i < n; i++) {
		int g = h_descendants(kids[i], grand, 4096, 0, 0);

		total += g;
		if (g > 0)
			*forkserver = kids[i];
	}
	return total;
}

/* shmchatctl status through the queue, by hand: true when answered OK */
static bool admin_status(struct srv *s)
{
	static struct adminq_msg m;
	static uint32_t id;
	int qid = adminq_open((key_t)s->admin_key);
	ssize_t n;

	if (qid < 0)
		return false;
	n = adminq_encode_req(&m, ADMINQ_STATUS, getpid(), ++id, NULL, 0);
	if (n < 0 || adminq_send(qid, &m, (size_t)n) < 0)
		return false;
	for (;;) {
		struct adminq_reply_hdr h;
		const char *data;

		n = adminq_recv(qid, &m, getpid(), T_SHORT);
		if (n < 0 || adminq_decode_reply(&m, (size_t)n, &h, &data) < 0)
			return false;
		if (h.id != id)
			continue;
		if (h.status != ADMINQ_OK)
			return false;
		if (h.flags & ADMINQ_F_LAST)
			return true;
	}
}

/* discard what a churner has received (answering PINGs is not needed:
 * a churner lives for well under ping_interval) */
static void drain(struct cli *c)
{
	char *line;
	size_t len;

	while (cli_line_nowait(c, &line, &len))
		;
}

/* read what the members have; per-churner message order and QUITs */
static void pump_members(struct cli **st, int (*got)[NCHURN], int *quits, int round)
{
	struct pollfd pf[NSTABLE];
	struct irc_msg *m = malloc(sizeof *m);

	H_ASSERT(m != NULL, "out of memory");
	for (int i = 0; i < NSTABLE; i++)
		pf[i] = (struct pollfd){ st[i]->fd, POLLIN, 0 };
	poll(pf, NSTABLE, 10);
	for (int i = 0; i < NSTABLE; i++) {
		char *line;
		size_t len;

		while (cli_line_nowait(st[i], &line, &len)) {
			char *p;
			int r, k, seq;

			H_ASSERT(irc_parse(m, line, len) == IRC_PARSE_OK, "%s: unparsable: %.200s",
				 st[i]->nick, line);
			if (!strcmp(m->command, "PING")) {
				cli_send(st[i], "PONG :%s", msg_last(m));
				continue;
			}
			H_ASSERT(strcmp(m->command, "ERROR"), "member %s got ERROR :%s", st[i]->nick,
				 msg_last(m));
			/* churner nicks: c<round>x<k> or, after NICK, d<round>x<k>;
			 * the rest is members' chatter and server lines */
			if (!m->prefix || (m->prefix[0] != 'c' && m->prefix[0] != 'd') ||
			    sscanf(m->prefix + 1, "%dx%d", &r, &k) != 2)
				continue;
			H_ASSERT(r == round && k >= 0 && k < NCHURN, "%s: %s from %s in round %d",
				 st[i]->nick, m->command, m->prefix, round);
			if (!strcmp(m->command, "PRIVMSG") && m->nparams == 2 &&
			    !strcmp(m->params[0], "#soak")) {
				int nf = sscanf(msg_last(m), "%d", &seq);

				p = strchr(msg_last(m), ' ');
				H_ASSERT(p && nf == 1,
					 "%s: bad churner message '%s'", st[i]->nick, msg_last(m));
				H_ASSERT(seq == got[i][k] + 1, "%s: from %s got %d after %d (round %d)",
					 st[i]->nick, m->prefix, seq, got[i][k], round);
				got[i][k] = seq;
			} else if (!strcmp(m->command, "QUIT")) {
				quits[i]++;
			}
		}
		H_ASSERT(!st[i]->eof, "member %s was disconnected", st[i]->nick);
	}
	free(m);
}

START_TEST(test_soak)
{
	struct srv *s;
	struct cli *st[NSTABLE], *ch[NCHURN], *idle[NIDLE];
	static int got[NSTABLE][NCHURN];
	int quits[NSTABLE];
	struct sample *smp = NULL;
	size_t nsmp = 0, capsmp = 0;
	long long t0, tend, next_print;
	long conns = 0, msgs = 0;
	int round = 0, admin_ok = 0, fds_low = 0;
	FILE *rep = NULL;
	const char *repname = getenv("SOAK_REPORT");
	struct rlimit rl;
	struct irc_msg m;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024) {
		rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * A 1 MiB ring wraps every second or so: reuse is exercised, RSS
	 * levels off early. So does the chat history, held to its smallest
	 * bound: it stays on, and its bound is part of what must hold.
	 */
	s = srv_start("max_clients = 200; ring_size = 1048576; log_level = \"notice\"; "
	    "history_memory = 65536; " NSPARE_CONF);
	for (int i = 0; i < NSTABLE; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "member%02d", i);
		st[i] = cli_connect(s);
		cli_register_send(st[i], nick);
	}
	for (int i = 0; i < NSTABLE; i++) {
		cli_register_wait(st[i]);
		cli_send(st[i], "JOIN #soak");
		h_expect(__FILE__, __LINE__, st[i], "366", NULL, T_LONG, &m);
	}
	if (repname)
		rep = fopen(repname, "w");
	fprintf(stderr, "soak: %d s, %d members, %d churners + %d idle connections a round\n",
		g_seconds, NSTABLE, NCHURN, NIDLE);
	fprintf(stderr, "soak: %6s %6s %7s %4s %5s %8s %8s %8s %8s %8s\n", "time", "round",
		"conns", "fds", "procs", "rss_kB", "pss_kB", "anon_kB", "fs_pss", "fs_anon");
	t0 = h_now_ms();
	tend = t0 + (long long)g_seconds * 1000;
	next_print = t0;
	while (h_now_ms() < tend) {
		long long deadline;
		bool done;
		pid_t fs;
		struct sample x;

		round++;
		memset(got, 0, sizeof got);
		memset(quits, 0, sizeof quits);
		/* arrive */
		for (int k = 0; k < NCHURN; k++) {
			char nick[32];

			snprintf(nick, sizeof nick, "c%dx%d", round, k);
			ch[k] = cli_connect(s);
			cli_register_send(ch[k], nick);
			cli_send(ch[k], "JOIN #soak,#side%d", k % 5);
		}
		for (int k = 0; k < NIDLE; k++)
			idle[k] = cli_connect(s);
		conns += NCHURN + NIDLE;
		for (int k = 0; k < NCHURN; k++) {
			cli_register_wait(ch[k]);
			H_ASSERT(cli_wait(ch[k], "366", NULL, T_LONG, &m), "%s: JOIN failed",
				 ch[k]->nick);
		}
		/* chat: numbered lines to #soak, one private line, a topic, a nick */
		for (int k = 0; k < NCHURN; k++) {
			for (int j = 1; j <= NMSG; j++)
				cli_send(ch[k], "PRIVMSG #soak :%d round %d", j, round);
			cli_send(ch[k], "PRIVMSG member%02d :hello from %s", k % NSTABLE, ch[k]->nick);
			cli_send(ch[k], "TOPIC #side%d :round %d", k % 5, round);
			if (k % 4 == 0) {
				char nick[32];

				snprintf(nick, sizeof nick, "d%dx%d", round, k);
				cli_send(ch[k], "NICK %s", nick);
				snprintf(ch[k]->nick, sizeof ch[k]->nick, "%s", nick);
			}
			msgs += NMSG + 1;
		}
		for (int i = 0; i < NSTABLE; i++)
			cli_send(st[i], "PRIVMSG #soak :member chatter %d", round);
		/* wait until every member has every churner's lines */
		deadline = h_now_ms() + T_LONG;
		do {
			H_ASSERT(h_now_ms() < deadline, "round %d: messages not delivered", round);
			pump_members(st, got, quits, round);
			done = true;
			for (int i = 0; i < NSTABLE && done; i++)
				for (int k = 0; k < NCHURN && done; k++)
					done = got[i][k] == NMSG;
			for (int k = 0; k < NCHURN; k++)
				drain(ch[k]);
		} while (!done);
		/* leave: QUIT, close, or reset */
		for (int k = 0; k < NCHURN; k++) {
			if (k % 3 == 0) {
				cli_send(ch[k], "QUIT :round %d over", round);
			} else if (k % 3 == 2) {
				struct linger lg = { 1, 0 };

				setsockopt(ch[k]->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			}
			if (k % 3 != 0)
				cli_close(ch[k]);
		}
		for (int k = 0; k < NIDLE; k++)
			cli_close(idle[k]);
		deadline = h_now_ms() + T_LONG;
		do {
			H_ASSERT(h_now_ms() < deadline, "round %d: QUITs not seen (member00: %d of %d)",
				 round, quits[0], NCHURN);
			pump_members(st, got, quits, round);
			done = true;
			for (int i = 0; i < NSTABLE && done; i++)
				done = quits[i] == NCHURN;
		} while (!done);
		for (int k = 0; k < NCHURN; k += 3) {
			EXPECT_EOF(ch[k], T_SHORT);
			cli_close(ch[k]);
		}
		if (round % 10 == 0) {
			H_ASSERT(admin_status(s), "round %d: no answer from the admin queue", round);
			admin_ok++;
		}
		/* quiet point: only the members' workers (+ fork server, admin,
		 * and the pool refilled to its fixed size) */
		deadline = h_now_ms() + T_LONG;
		while ((x.procs = count_procs(s, &fs)) != 2 + NSTABLE + NSPARE) {
			H_ASSERT(h_now_ms() < deadline, "round %d: %d processes, expected %d", round,
				 x.procs, 2 + NSTABLE + NSPARE);
			poll(NULL, 0, 5);
		}
		/* the master closes a worker's socketpair once it has handled the
		 * exit report: give it a moment to come back to the low mark */
		x.fds = h_proc_nfds(s->pid);
		while (fds_low > 0 && x.fds > fds_low && h_now_ms() < deadline) {
			poll(NULL, 0, 5);
			x.fds = h_proc_nfds(s->pid);
		}
		if (fds_low == 0 || x.fds < fds_low)
			fds_low = x.fds;
		x.t = h_now_ms() - t0;
		x.round = round;
		x.conns = conns;
		x.rss = h_proc_smaps_kb(s->pid, "Rss");
		x.pss = h_proc_smaps_kb(s->pid, "Pss");
		x.anon = h_proc_smaps_kb(s->pid, "Anonymous");
		x.fs_pss = fs ? h_proc_smaps_kb(fs, "Pss") : -1;
		x.fs_anon = fs ? h_proc_smaps_kb(fs, "Anonymous") : -1;
		if (nsmp == capsmp) {
			capsmp = capsmp ? capsmp * 2 : 256;
			smp = realloc(smp, capsmp * sizeof *smp);
			H_ASSERT(smp != NULL, "out of memory");
		}
		smp[nsmp++] = x;
		if (h_now_ms() >= next_print || h_now_ms() >= tend) {
			fprintf(stderr, "soak: %5llds %6d %7ld %4d %5d %8ld %8ld %8ld %8ld %8ld\n",
				x.t / 1000, x.round, x.conns, x.fds, x.procs, x.rss, x.pss, x.anon,
				x.fs_pss, x.fs_anon);
			if (rep)
				fprintf(rep, "%lld %d %ld %d %d %ld %ld %ld %ld %ld\n", x.t / 1000,
					x.round, x.conns, x.fds, x.procs, x.rss, x.pss, x.anon,
					x.fs_pss, x.fs_anon);
			next_print += 10000;
		}
	}
	H_ASSERT(nsmp >= 8, "only %zu rounds in %d s", nsmp, g_seconds);
	{
		size_t q1 = nsmp / 4, q2 = nsmp / 2, q3 = nsmp * 3 / 4;
		struct sample mid = { 0 }, end = { 0 };
		const struct sample *b = &smp[q1];

		/* peaks of the second and of the last quarter */
		for (size_t i = q1; i < nsmp; i++) {
			struct sample *p = i < q2 ? &mid : i >= q3 ? &end : NULL;

			if (!p)
				continue;
			p->rss = smp[i].rss > p->rss ? smp[i].rss : p->rss;
			p->pss = smp[i].pss > p->pss ? smp[i].pss : p->pss;
			p->anon = smp[i].anon > p->anon ? smp[i].anon : p->anon;
			p->fs_pss = smp[i].fs_pss > p->fs_pss ? smp[i].fs_pss : p->fs_pss;
			p->fs_anon = smp[i].fs_anon > p->fs_anon ? smp[i].fs_anon : p->fs_anon;
		}
		fprintf(stderr, "soak: %d rounds, %ld connections, %ld churner messages, %d admin "
			"requests in %lld s\n", round, conns, msgs, admin_ok, (h_now_ms() - t0) / 1000);
		fprintf(stderr, "soak: master fds %d (first round) / %d (after warm-up) / %d (last); "
			"processes %d at every quiet point\n", smp[0].fds, b->fds, smp[nsmp - 1].fds,
			smp[nsmp - 1].procs);
		fprintf(stderr, "soak: master kB, first / peak of 2nd quarter / peak of last quarter: "
			"RSS %ld / %ld / %ld, anonymous %ld / %ld / %ld, PSS %ld / %ld / %ld\n",
			smp[0].rss, mid.rss, end.rss, smp[0].anon, mid.anon, end.anon, smp[0].pss,
			mid.pss, end.pss);
		fprintf(stderr, "soak: fork server kB: PSS %ld / %ld / %ld, anonymous %ld / %ld / %ld\n",
			smp[0].fs_pss, mid.fs_pss, end.fs_pss, smp[0].fs_anon, mid.fs_anon,
			end.fs_anon);
		if (rep) {
			fprintf(rep, "# rounds %d connections %ld messages %ld seconds %lld\n", round,
				conns, msgs, (h_now_ms() - t0) / 1000);
			fprintf(rep, "# fds first %d warm %d last %d\n", smp[0].fds, b->fds,
				smp[nsmp - 1].fds);
			fprintf(rep, "# master rss %ld %ld %ld anon %ld %ld %ld pss %ld %ld %ld\n",
				smp[0].rss, mid.rss, end.rss, smp[0].anon, mid.anon, end.anon,
				smp[0].pss, mid.pss, end.pss);
			fclose(rep);
			rep = NULL;
		}
		for (size_t i = q1; i < nsmp; i++)
			H_ASSERT(smp[i].fds == b->fds, "master descriptors %d at round %d (did not "
				 "come back down within %d ms), %d after warm-up (round %d)",
				 smp[i].fds, smp[i].round, T_LONG, b->fds, b->round);
		/*
		 * RSS includes the shared ring's pages once touched (it levels off at
		 * the ring's size) and anonymous memory is the master's own heap and
		 * stack: both must be flat. PSS divides each shared page among the
		 * processes that have touched it, so it moves with what the members'
		 * workers happen to have read: reported, with a wider margin.
		 */
		H_ASSERT(end.rss - mid.rss <= g_tol_kb, "master RSS grew from %ld to %ld kB",
			 mid.rss, end.rss);
		H_ASSERT(end.anon - mid.anon <= g_tol_kb, "master anonymous memory grew from %ld "
			 "to %ld kB", mid.anon, end.anon);
		H_ASSERT(end.pss - mid.pss <= 4 * g_tol_kb, "master PSS grew from %ld to %ld kB",
			 mid.pss, end.pss);
		H_ASSERT(end.fs_anon - mid.fs_anon <= g_tol_kb, "fork server anonymous memory grew "
			 "from %ld to %ld kB", mid.fs_anon, end.fs_anon);
	}
	free(smp);
	srv_stop(s);	/* SIGTERM: exit 0, nothing in /dev/shm, no queue */
	fprintf(stderr, "soak: after SIGTERM: no process, no /dev/shm object, no queue left\n");
}
END_TEST

int main(void)
{
	Suite *su = suite_create("soak");
	TCase *tc;
	const char *e;

	if ((e = getenv("SOAK_SECONDS")) && atoi(e) > 0)
		g_seconds = atoi(e);
	if ((e = getenv("SOAK_MEM_TOL_KB")) && atol(e) > 0)
		g_tol_kb = atol(e);
	harness_init();
	tc = h_tcase(su, "soak", g_seconds + 120, NULL, NULL);
	tcase_add_test(tc, test_soak);
	return h_suite_run(su);
}
