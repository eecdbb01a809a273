#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "adminq.h"
#include "harness.h"

/*
 * Integration tests of shmchatctl against real shmchatd processes. Each
 * server gets its own queue key (admin.queue_key, unique per test process)
 * so parallel runs and an installed shmchatd never meet; shmchatctl finds
 * it through --config, as it finds the key of an installed server. Every
 * test ends by checking that the key's queue is gone once the server
 * stopped. Assertions go through H_ASSERT/H_FAIL (see harness.h).
 */

#ifndef SHMCHATCTL_PATH
#error "SHMCHATCTL_PATH must be defined by the build"
#endif

#define NOBODY_UID	65534
#define NOGROUP_GID	65534

/* ---------------------------------------------------------------- helpers */

static unsigned g_key_n;

/*
 * A queue key of this test process alone: 0x5e + 16 bits of pid + a
 * counter (the harness gives other servers 0x5c..., check_adminq uses
 * 0x5d...; the default key is 0x53434d51).
 */
static long test_key(void)
{
	return 0x5e000000L + ((long)(getpid() & 0xffff) << 8) + (long)(g_key_n++ & 0xff);
}

/* "admin = { ... }" for a key and group, plus more settings */
static const char *admin_conf(char *buf, size_t cap, long key, const char *group,
			      const char *more)
{
	snprintf(buf, cap, "admin = { queue_key = 0x%08lx; group = \"%s\"; };\n%s", key, group,
		 more ? more : "");
	return buf;
}

/* does /proc/sysvipc/msg list a queue with this key? */
static bool queue_exists(long key)
{
	FILE *f = fopen("/proc/sysvipc/msg", "r");
	char line[512];
	bool found = false;

	if (!f)
		H_FAIL("cannot read /proc/sysvipc/msg: %s", strerror(errno));
	while (!found && fgets(line, sizeof line, f)) {
		long k;

		if (sscanf(line, "%ld", &k) == 1 && (int)k == (int)key)
			found = true;
	}
	fclose(f);
	return found;
}

/* SIGTERM stop with the harness's checks, then: no queue with our key */
static void stop(struct srv *s, long key)
{
	srv_stop(s);
	H_ASSERT(!queue_exists(key), "the queue with key 0x%08lx is still there after the stop",
		 key);
}

struct run {
	int status;		/* exit status; -1: killed (timeout) or signalled */
	long long ms;		/* how long it ran */
	char out[65536];
	char err[8192];
};

enum run_as { AS_US, AS_NOBODY, AS_NOBODY_ROOT_GROUP };

static void drain(int fd, char *buf, size_t cap, size_t *len, bool *open)
{
	ssize_t n;

	if (*len + 1 >= cap) {
		char sink[4096];

		n = read(fd, sink, sizeof sink);
	} else {
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n > 0)
			*len += (size_t)n;
	}
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		*open = false;
	buf[*len] = '\0';
}

/*
 * Run shmchatctl --config conf --timeout T args... (NULL-terminated) with
 * SHMCHATD_WRAPPER (valgrind) in front if set, as us or as nobody.
 * stdout and stderr are kept apart.
 */
static void run_ctl_v(struct run *r, enum run_as as, const char *conf, const char *timeout,
		      const char *const *args)
{
	const char *argv[64];
	char *words = NULL, tbuf[32];
	int k = 0, po[2], pe[2], st;
	size_t lo = 0, le = 0;
	bool oo = true, eo = true;
	long long t0 = h_now_ms(), deadline;
	const char *w = getenv("SHMCHATD_WRAPPER");
	pid_t pid;

	if (w && *w) {
		words = strdup(w);
		for (char *save = NULL, *t = strtok_r(words, " \t", &save); t && k < 8;
		     t = strtok_r(NULL, " \t", &save))
			argv[k++] = t;
	}
	argv[k++] = SHMCHATCTL_PATH;
	if (conf) {
		argv[k++] = "--config";
		argv[k++] = conf;
	}
	if (!timeout) {
		snprintf(tbuf, sizeof tbuf, "%d", 5 * h_scale);
		timeout = tbuf;
	}
	argv[k++] = "--timeout";
	argv[k++] = timeout;
	for (int i = 0; args[i] && k < 62; i++)
		argv[k++] = args[i];
	argv[k] = NULL;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		H_FAIL("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		H_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
			_exit(125);
		signal(SIGPIPE, SIG_DFL);
		if (as != AS_US) {
			gid_t root = 0;

			if ((as == AS_NOBODY ? setgroups(0, NULL) : setgroups(1, &root)) < 0 ||
			    setgid(NOGROUP_GID) < 0 || setuid(NOBODY_UID) < 0)
				_exit(124);
			if (access(argv[0][0] == '/' ? argv[0] : SHMCHATCTL_PATH, X_OK) < 0)
				_exit(126);
		}
		if (words)
			execvp(argv[0], (char *const *)argv);
		else
			execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	free(words);
	deadline = h_now_ms() + T_LONG + 1000L * 10 * h_scale;
	while (oo || eo) {
		struct pollfd p[2] = { { oo ? po[0] : -1, POLLIN, 0 }, { eo ? pe[0] : -1, POLLIN, 0 } };
		long long left = deadline - h_now_ms();

		if (left <= 0)
			break;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			drain(po[0], r->out, sizeof r->out, &lo, &oo);
		if (p[1].revents)
			drain(pe[0], r->err, sizeof r->err, &le, &eo);
	}
	r->out[lo] = '\0';
	r->err[le] = '\0';
	close(po[0]);
	close(pe[0]);
	if (oo || eo) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->ms = h_now_ms() - t0;
	r->status = WIFEXITED(st) && !(oo || eo) ? WEXITSTATUS(st) : -1;
	if (WIFSIGNALED(st))
		fprintf(stderr, "shmchatctl killed by signal %d\n", WTERMSIG(st));
	/* a sanitizer's report may come with an exit status a test expects */
	if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
		H_FAIL("shmchatctl reports a memory error:\n%s", r->err);
}

#define RUN(r, conf, ...) run_ctl_v((r), AS_US, (conf), NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_T(r, conf, t, ...) run_ctl_v((r), AS_US, (conf), (t), (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_AS(r, as, conf, ...) run_ctl_v((r), (as), (conf), NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* the run ended with this status; say everything about it if not */
#define EXPECT_RC(r, want) H_ASSERT((r)->status == (want), \
	"shmchatctl exited with %d, expected %d\n--- stdout:\n%s--- stderr:\n%s", \
	(r)->status, (want), (r)->out, (r)->err)
#define EXPECT_OUT(r, text) H_ASSERT(strstr((r)->out, (text)) != NULL, \
	"shmchatctl's output lacks '%s':\n%s--- stderr:\n%s", (text), (r)->out, (r)->err)
#define EXPECT_NOT_OUT(r, text) H_ASSERT(strstr((r)->out, (text)) == NULL, \
	"shmchatctl's output has '%s':\n%s", (text), (r)->out)
#define EXPECT_ERR(r, text) H_ASSERT(strstr((r)->err, (text)) != NULL, \
	"shmchatctl's stderr lacks '%s':\n%s--- stdout:\n%s", (text), (r)->err, (r)->out)

static struct run *new_run(void)
{
	struct run *r = calloc(1, sizeof *r);

	if (!r)
		H_FAIL("out of memory");
	return r;
}

/* a server with its own queue key; *key gets it */
static struct srv *start(long *key, const char *more)
{
	char conf[2048];

	*key = test_key();
	H_ASSERT(!queue_exists(*key), "a queue with key 0x%08lx exists before the test", *key);
	return srv_start(admin_conf(conf, sizeof conf, *key, "root", more));
}

/* send MOTD; some 372 line must contain text */
static void expect_motd(struct cli *c, const char *text)
{
	struct irc_msg m;
	bool seen = false;

	cli_send(c, "MOTD");
	EXPECT(c, "375", &m);
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("%s: MOTD did not end with 376", c->nick);
		if (!strcmp(m.command, "376"))
			break;
		if (!strcmp(m.command, "372") && strstr(msg_last(&m), text))
			seen = true;
	}
	H_ASSERT(seen, "%s: no 372 line contains '%s'", c->nick, text);
}

/* the line of out that contains key (copied into line) */
static bool line_with(const char *out, const char *key, char *line, size_t cap)
{
	const char *p = strstr(out, key), *b, *e;

	if (!p)
		return false;
	for (b = p; b > out && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	snprintf(line, cap, "%.*s", (int)(e - b), b);
	return true;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ------------------------------------------------------------ no server */

START_TEST(test_usage)
{
	struct run *r = new_run();

	RUN(r, NULL, "--help");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "Usage: shmchatctl");
	EXPECT_OUT(r, "who [--channel CHANNEL]");
	RUN(r, NULL, "--version");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, PACKAGE_VERSION);
	RUN(r, NULL, "help", "kick");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "kick NICK [REASON]");

	/* usage errors: 64, before any config or queue is looked at */
	RUN(r, "/nonexistent/shmchatd.conf", "frobnicate");
	EXPECT_RC(r, 64);
	EXPECT_ERR(r, "unknown command 'frobnicate'");
	RUN(r, NULL, "kick");
	EXPECT_RC(r, 64);
	EXPECT_ERR(r, "Usage: shmchatctl kick NICK [REASON]");
	RUN(r, NULL, "wall");
	EXPECT_RC(r, 64);
	RUN(r, NULL, "status", "extra");
	EXPECT_RC(r, 64);
	RUN(r, NULL, "--channel", "#x", "who");
	EXPECT_RC(r, 64);
	RUN(r, NULL, "status", "--channel", "#x");
	EXPECT_RC(r, 64);
	RUN(r, NULL, "motd", "set");
	EXPECT_RC(r, 64);
	RUN(r, NULL, "motd", "frob");
	EXPECT_RC(r, 64);
	RUN(r, NULL, "--bogus", "status");
	EXPECT_RC(r, 64);
	RUN_T(r, NULL, "0", "status");
	EXPECT_RC(r, 64);
	RUN_T(r, NULL, "-1", "status");
	EXPECT_RC(r, 64);
	RUN_T(r, NULL, "soon", "status");
	EXPECT_RC(r, 64);
	EXPECT_ERR(r, "invalid timeout 'soon'");
	/* no command */
	{
		const char *const none[] = { NULL };

		run_ctl_v(r, AS_US, NULL, NULL, none);
		EXPECT_RC(r, 64);
	}
	free(r);
}
END_TEST

START_TEST(test_no_server)
{
	struct run *r = new_run();
	long key = test_key();
	char path[PATH_MAX], conf[512], want[128];
	int q;

	snprintf(path, sizeof path, "%s/ctl.conf", h_tmpdir());
	h_write_file(path, admin_conf(conf, sizeof conf, key, "root", NULL));

	/* no queue at all: 69 at once, saying so plainly */
	RUN(r, path, "status");
	EXPECT_RC(r, 69);
	snprintf(want, sizeof want, "shmchatd is not running (no queue with key 0x%08lx)", key);
	EXPECT_ERR(r, want);
	H_ASSERT(r->ms < 2000 * h_scale, "took %lld ms to find no queue", r->ms);
	RUN(r, path, "--json", "who");
	EXPECT_RC(r, 69);
	H_ASSERT(r->out[0] == '\0', "output on stdout: %s", r->out);

	/* a queue nobody serves (a hung server): 69 after the timeout */
	q = msgget((key_t)key, IPC_CREAT | IPC_EXCL | 0600);
	H_ASSERT(q >= 0, "msgget: %s", strerror(errno));
	RUN_T(r, path, "0.4", "status");
	msgctl(q, IPC_RMID, NULL);
	EXPECT_RC(r, 69);
	EXPECT_ERR(r, "no answer from shmchatd within 0.4 s");
	snprintf(want, sizeof want, "(queue key 0x%08lx)", key);
	EXPECT_ERR(r, want);
	H_ASSERT(r->ms >= 400 && r->ms < 400 + 3000 * h_scale,
		 "a 0.4 s timeout took %lld ms", r->ms);

	/* the default path is not used when --config names a file */
	RUN(r, "/nonexistent/shmchatd.conf", "status");
	EXPECT_RC(r, 78);
	EXPECT_ERR(r, "/nonexistent/shmchatd.conf");

	/* a file that does not parse: 78 with FILE:LINE */
	h_write_file(path, "admin = { queue_key = ; };\n");
	RUN(r, path, "status");
	EXPECT_RC(r, 78);
	EXPECT_ERR(r, ":1:");

	/* a file with a mistake elsewhere: the admin settings still count */
	admin_conf(conf, sizeof conf, key, "root", "max_clients = \"many\";\n");
	h_write_file(path, conf);
	RUN(r, path, "status");
	EXPECT_RC(r, 69);
	EXPECT_ERR(r, "warning:");
	EXPECT_ERR(r, "max_clients");
	snprintf(want, sizeof want, "no queue with key 0x%08lx", key);
	EXPECT_ERR(r, want);
	H_ASSERT(!queue_exists(key), "queue 0x%08lx left behind", key);
	free(r);
}
END_TEST

/* ----------------------------------------------------- read commands */

START_TEST(test_status_channels_ipc)
{
	long key;
	struct srv *s = start(&key, "motd = \"hi\";");
	struct cli *a = cli_new(s, "stata"), *b = cli_new(s, "statb");
	struct run *r = new_run();
	char want[256], line[1024];

	cli_join(a, "#one");
	cli_join(b, "#one");
	cli_join(b, "#two");
	cli_send(a, "TOPIC #one :hello topic");
	EXPECT(a, "TOPIC", NULL);
	/* delivered, hence kept in the history */
	cli_send(a, "PRIVMSG #one :kept");
	EXPECT(b, "PRIVMSG", NULL);
	cli_sync(b, NULL);

	RUN(r, s->conf, "status");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "version: " PACKAGE_VERSION "\n");
	snprintf(want, sizeof want, "pid: %d\n", (int)s->pid);
	EXPECT_OUT(r, want);
	EXPECT_OUT(r, "clients: 2\n");
	EXPECT_OUT(r, "channels: 2\n");
	EXPECT_OUT(r, "uptime: ");
	EXPECT_OUT(r, "ring_size: 8.0 MiB\n");
	EXPECT_OUT(r, "listen: ");
	EXPECT_OUT(r, "history_lines: 1\n");
	EXPECT_OUT(r, "history_memory: 64.0 MiB\n");

	RUN(r, s->conf, "status", "--json");
	EXPECT_RC(r, 0);
	H_ASSERT(r->out[0] == '{', "status --json is no object:\n%s", r->out);
	EXPECT_OUT(r, "\"version\": \"" PACKAGE_VERSION "\"");
	snprintf(want, sizeof want, "\"pid\": %d", (int)s->pid);
	EXPECT_OUT(r, want);
	EXPECT_OUT(r, "\"clients\": 2,");
	EXPECT_OUT(r, "\"ring_size\": 8388608,");
	EXPECT_OUT(r, "\"history_lines\": 1,");

	RUN(r, s->conf, "channels");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "CHANNEL");
	H_ASSERT(line_with(r->out, "#one", line, sizeof line), "no #one in:\n%s", r->out);
	H_ASSERT(strstr(line, " 2 ") && strstr(line, " +nt ") && strstr(line, "hello topic"),
		 "#one row: %s", line);
	EXPECT_OUT(r, "MODES");
	H_ASSERT(line_with(r->out, "#two", line, sizeof line), "no #two in:\n%s", r->out);

	RUN(r, s->conf, "--json", "channels");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"name\": \"#one\", \"members\": 2, \"modes\": \"+nt\", "
		   "\"topic\": \"hello topic\"}");
	EXPECT_OUT(r, "{\"name\": \"#two\", \"members\": 1, \"modes\": \"+nt\", \"topic\": \"\"}");

	RUN(r, s->conf, "ipc");
	EXPECT_RC(r, 0);
	snprintf(want, sizeof want, "key 0x%08lx", key);
	H_ASSERT(line_with(r->out, "queue", line, sizeof line) && strstr(line, want),
		 "no queue row with %s in:\n%s", want, r->out);
	H_ASSERT(strstr(line, "group root"), "queue row: %s", line);
	EXPECT_OUT(r, "shm ");
	H_ASSERT(count(r->out, "socketpair") == 2, "not 2 socketpairs:\n%s", r->out);

	RUN(r, s->conf, "ipc", "--json");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"kind\": \"queue\", \"id\": ");
	EXPECT_OUT(r, "\"kind\": \"shm\", \"id\": \"/shmchat");
	H_ASSERT(cli_sync(a, "ERROR") == 0, "a client got ERROR");
	free(r);
	stop(s, key);
}
END_TEST

START_TEST(test_who)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "alice"), *b = cli_new(s, "bob"), *c = cli_new(s, "carol");
	struct cli *half = cli_connect(s);
	struct run *r = new_run();
	char want[256], line[2048];
	pid_t wa = srv_worker_of(s, a, T_SHORT);

	H_ASSERT(wa > 0, "no worker found for alice");
	cli_join(a, "#w");
	cli_join(b, "#w");
	cli_join(a, "#x");
	cli_join(c, "#other");
	cli_send(half, "NICK halfway");
	cli_sync(a, NULL);

	RUN(r, s->conf, "who");
	EXPECT_RC(r, 0);
	H_ASSERT(!strncmp(r->out, "NICK ", 5), "no heading:\n%s", r->out);
	EXPECT_OUT(r, "USER@HOST");
	H_ASSERT(count(r->out, "\n") == 4, "not 3 clients and a heading:\n%s", r->out);
	H_ASSERT(line_with(r->out, "alice ", line, sizeof line), "no alice:\n%s", r->out);
	snprintf(want, sizeof want, " %d ", (int)wa);
	/* alice created #w and #x: she is their operator */
	H_ASSERT(strstr(line, want) && strstr(line, " @#w @#x") && strstr(line, "@127.0.0.1"),
		 "alice's row (worker %d): %s", (int)wa, line);
	H_ASSERT(line_with(r->out, "bob ", line, sizeof line) && strstr(line, " #w"),
		 "bob's row: %s", line);
	EXPECT_OUT(r, "bob ");
	EXPECT_OUT(r, "carol ");
	EXPECT_NOT_OUT(r, "halfway");

	RUN(r, s->conf, "who", "--json");
	EXPECT_RC(r, 0);
	H_ASSERT(r->out[0] == '[', "who --json is no array:\n%s", r->out);
	H_ASSERT(count(r->out, "\"nick\": ") == 3, "not 3 objects:\n%s", r->out);
	H_ASSERT(line_with(r->out, "\"nick\": \"alice\"", line, sizeof line), "no alice:\n%s",
		 r->out);
	snprintf(want, sizeof want, "\"pid\": %d,", (int)wa);
	H_ASSERT(strstr(line, want) && strstr(line, "\"channels\": \"@#w @#x\"") &&
		 strstr(line, "\"modes\": \"+\"") &&
		 strstr(line, "\"idle\": ") && strstr(line, "\"since\": ") &&
		 strstr(line, "\"bytes_in\": ") && strstr(line, "\"bytes_out\": ") &&
		 strstr(line, "@127.0.0.1\""), "alice's object: %s", line);

	RUN(r, s->conf, "who", "--channel", "#w");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "alice ");
	EXPECT_OUT(r, "bob ");
	EXPECT_NOT_OUT(r, "carol");

	RUN(r, s->conf, "who", "--channel", "#nowhere");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: ");
	EXPECT_ERR(r, "#nowhere");
	H_ASSERT(r->out[0] == '\0', "output on stdout: %s", r->out);
	free(r);
	stop(s, key);
}
END_TEST

/* an answer of several parts: 30 clients in 20 long-named channels each */
START_TEST(test_who_multipart)
{
	enum { NC = 30, NCH = 20 };
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *c[NC];
	struct run *r = new_run();
	char nick[32], line[600];

	for (int i = 0; i < NC; i++) {
		c[i] = cli_connect(s);
		snprintf(nick, sizeof nick, "multi%02d", i);
		cli_register_send(c[i], nick);
	}
	for (int i = 0; i < NC; i++)
		cli_register_wait(c[i]);
	for (int i = 0; i < NC; i++)
		for (int half = 0; half < 2; half++) {
			size_t len = 0;

			for (int k = half * NCH / 2; k < (half + 1) * NCH / 2; k++)
				len += (size_t)snprintf(line + len, sizeof line - len, "%s#a-rather-long-channel-name-for-multipart-%02d",
							len ? "," : "", k);
			cli_send(c[i], "JOIN %s", line);
		}
	for (int i = 0; i < NC; i++)
		cli_sync(c[i], NULL);

	RUN(r, s->conf, "who", "--json");
	EXPECT_RC(r, 0);
	H_ASSERT(strlen(r->out) > 3 * ADMINQ_DATA_MAX, "who --json is only %zu bytes",
		 strlen(r->out));
	H_ASSERT(count(r->out, "\"nick\": \"multi") == NC, "not %d clients:\n%.2000s", NC, r->out);
	H_ASSERT(count(r->out, "#a-rather-long-channel-name-for-multipart-") == NC * NCH,
		 "not %d channel names", NC * NCH);
	RUN(r, s->conf, "who");
	EXPECT_RC(r, 0);
	H_ASSERT(count(r->out, "\n") == NC + 1, "not %d rows:\n%.2000s", NC + 1, r->out);
	RUN(r, s->conf, "--json", "channels");
	EXPECT_RC(r, 0);
	H_ASSERT(count(r->out, "\"members\": 30,") == NCH, "channels:\n%s", r->out);
	free(r);
	stop(s, key);
}
END_TEST

/* ------------------------------------------------------------ actions */

START_TEST(test_kick)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "victim"), *b = cli_new(s, "witness");
	struct run *r = new_run();
	struct irc_msg m;

	cli_join(a, "#k");
	cli_join(b, "#k");
	RUN(r, s->conf, "kick", "victim", "go", "away");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "kicked victim");
	EXPECT(a, "ERROR", &m);
	H_ASSERT(!strncmp(msg_last(&m), "Closing Link", 12) && strstr(msg_last(&m), "(go away)"),
		 "victim got ERROR :%s", msg_last(&m));
	EXPECT_EOF(a, T_SHORT);
	EXPECT_FROM(b, "QUIT", "victim", &m);
	H_ASSERT(strstr(msg_last(&m), "go away"), "QUIT :%s", msg_last(&m));

	RUN(r, s->conf, "kick", "victim");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: ");
	EXPECT_ERR(r, "victim");

	/* without a reason, and --json */
	a = cli_new(s, "second");
	cli_join(a, "#k");
	EXPECT_FROM(b, "JOIN", "second", &m);
	RUN(r, s->conf, "--json", "kick", "second");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"result\": \"kicked second\"}");
	EXPECT(a, "ERROR", &m);
	EXPECT_EOF(a, T_SHORT);
	EXPECT_FROM(b, "QUIT", "second", &m);
	H_ASSERT(cli_sync(b, "ERROR") == 0, "the witness got ERROR");
	free(r);
	stop(s, key);
}
END_TEST

START_TEST(test_wall)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *c[3] = { cli_new(s, "walla"), cli_new(s, "wallb"), cli_new(s, "wallc") };
	struct run *r = new_run();
	struct irc_msg m;

	cli_join(c[0], "#only-one");
	RUN(r, s->conf, "wall", "maintenance", "at noon: \"quoted\" \\ text");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "sent to 3 clients");
	for (int i = 0; i < 3; i++) {
		EXPECT(c[i], "NOTICE", &m);
		H_ASSERT(!strcmp(msg_last(&m), "maintenance at noon: \"quoted\" \\ text"),
			 "%s: NOTICE :%s", c[i]->nick, msg_last(&m));
		H_ASSERT(m.prefix && !strchr(m.prefix, '!'), "%s: NOTICE not from the server: %s",
			 c[i]->nick, m.prefix ? m.prefix : "(none)");
	}
	RUN(r, s->conf, "wall", "--json", "--", "-dash first");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"result\": \"sent to 3 clients\"}");
	for (int i = 0; i < 3; i++) {
		EXPECT(c[i], "NOTICE", &m);
		H_ASSERT(!strcmp(msg_last(&m), "-dash first"), "NOTICE :%s", msg_last(&m));
	}
	free(r);
	stop(s, key);
}
END_TEST

START_TEST(test_motd_reload)
{
	long key;
	struct srv *s = start(&key, "motd = \"first edition\";");
	struct cli *a = cli_new(s, "reader");
	struct run *r = new_run();
	char conf[1024];

	cli_join(a, "#stay");
	RUN(r, s->conf, "motd");
	EXPECT_RC(r, 0);
	H_ASSERT(!strcmp(r->out, "first edition\n"), "motd said:\n%s", r->out);
	RUN(r, s->conf, "motd", "--json");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"motd\": \"first edition\"}");

	RUN(r, s->conf, "motd", "set", "a", "new", "MOTD");
	EXPECT_RC(r, 0);
	expect_motd(a, "a new MOTD");
	RUN(r, s->conf, "motd", "reload");
	EXPECT_RC(r, 0);
	expect_motd(a, "first edition");

	/* reload applies a changed file without dropping anyone */
	srv_write_conf(s, admin_conf(conf, sizeof conf, key, "root",
				     "motd = \"second edition\";"));
	RUN(r, s->conf, "reload");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "motd");
	H_ASSERT(cli_sync(a, "ERROR") == 0, "the client got ERROR during the reload");
	expect_motd(a, "second edition");
	RUN(r, s->conf, "motd");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "second edition");

	/* a broken file: the server says why and keeps what it has */
	srv_write_conf(s, admin_conf(conf, sizeof conf, key, "root",
				     "motd = \"never\";\nmax_clients = \"many\";"));
	RUN(r, s->conf, "reload");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: ");
	EXPECT_ERR(r, "max_clients");
	H_ASSERT(cli_sync(a, "ERROR") == 0, "the client got ERROR after a failed reload");
	expect_motd(a, "second edition");
	srv_write_conf(s, admin_conf(conf, sizeof conf, key, "root", "motd = \"second edition\";"));
	RUN(r, s->conf, "status");
	EXPECT_RC(r, 0);
	free(r);
	stop(s, key);
}
END_TEST

START_TEST(test_shutdown)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "downa"), *b = cli_new(s, "downb");
	struct run *r = new_run();
	struct irc_msg m;
	char want[128];

	cli_join(a, "#down");
	cli_join(b, "#down");
	RUN(r, s->conf, "shutdown", "--message", "back in five minutes", "--wait");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "shutting down");
	/* --wait: the queue is gone by the time shmchatctl returns */
	H_ASSERT(!queue_exists(key), "the queue is still there after shutdown --wait");
	for (int i = 0; i < 2; i++) {
		struct cli *c = i ? b : a;

		EXPECT(c, "ERROR", &m);
		H_ASSERT(strstr(msg_last(&m), "back in five minutes"), "%s: ERROR :%s", c->nick,
			 msg_last(&m));
		EXPECT_EOF(c, T_SHORT);
	}
	H_ASSERT(srv_wait_master(s, T_LONG), "the master did not exit after shutdown");
	H_ASSERT(WIFEXITED(s->wstatus) && WEXITSTATUS(s->wstatus) == 0,
		 "the master's wait status after shutdown: 0x%x", s->wstatus);
	H_ASSERT(srv_wait_notify(s, "STOPPING=1", T_SHORT, NULL, 0), "no STOPPING=1");
	H_ASSERT(srv_group_gone(s, T_SHORT), "processes left after shutdown");
	srv_check_ipc(s, true);
	RUN(r, s->conf, "status");
	EXPECT_RC(r, 69);
	snprintf(want, sizeof want, "shmchatd is not running (no queue with key 0x%08lx)", key);
	EXPECT_ERR(r, want);

	/* without --wait or a message */
	s = start(&key, NULL);
	a = cli_new(s, "again");
	RUN(r, s->conf, "--json", "shutdown");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"result\": \"shutting down\"}");
	EXPECT(a, "ERROR", &m);
	EXPECT_EOF(a, T_SHORT);
	H_ASSERT(srv_wait_master(s, T_LONG), "the master did not exit after shutdown");
	H_ASSERT(WIFEXITED(s->wstatus) && WEXITSTATUS(s->wstatus) == 0,
		 "the master's wait status after shutdown: 0x%x", s->wstatus);
	H_ASSERT(srv_group_gone(s, T_SHORT), "processes left after shutdown");
	srv_check_ipc(s, true);
	H_ASSERT(!queue_exists(key), "the queue is still there after shutdown");
	free(r);
}
END_TEST

/* --------------------------------------------------- hostile messages */

/* msgsnd without blocking, retrying while the queue is full */
static void put(int q, long mtype, const void *body, size_t len)
{
	struct adminq_msg m;
	long long deadline = h_now_ms() + T_LONG;

	m.mtype = mtype;
	memcpy(m.body, body, len);
	while (msgsnd(q, &m, len, IPC_NOWAIT) < 0) {
		if (errno != EAGAIN || h_now_ms() > deadline)
			H_FAIL("msgsnd: %s", strerror(errno));
		usleep(1000);
	}
}

/* the reply to our request id; returns its status, data in text */
static unsigned get_reply(int q, uint32_t id, char *text, size_t cap)
{
	struct adminq_msg m;
	struct adminq_reply_hdr h;
	const char *data;
	ssize_t n;

	for (;;) {
		n = adminq_recv(q, &m, getpid(), T_SHORT);
		H_ASSERT(n >= 0, "no reply on mtype %d: %s", (int)getpid(), strerror((int)-n));
		H_ASSERT(adminq_decode_reply(&m, (size_t)n, &h, &data) == 0, "garbled reply");
		if (h.id != id)
			continue;
		H_ASSERT(h.part == 0 && (h.flags & ADMINQ_F_LAST), "reply in parts");
		snprintf(text, cap, "%.*s", (int)h.len, data);
		return h.status;
	}
}

/* a pid no process has (counting down from the top of the pid space) */
static pid_t no_such_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long max = 32768;

	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 32768;
		fclose(f);
	}
	for (pid_t p = (pid_t)max - 1; p > 300; p--)
		if (kill(p, 0) < 0 && errno == ESRCH)
			return p;
	H_FAIL("no free pid found");
}

START_TEST(test_garbage)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "sturdy"), *b = cli_new(s, "steady");
	struct run *r = new_run();
	struct adminq_msg m;
	struct adminq_req_hdr h = {
		.magic = ADMINQ_MAGIC, .version = ADMINQ_VERSION, .cmd = ADMINQ_STATUS,
		.pid = getpid(), .id = 1,
	};
	char body[ADMINQ_MSG_MAX], text[512];
	unsigned seed = 7;
	int q = msgget((key_t)key, 0);
	pid_t dead;
	ssize_t len;

	H_ASSERT(q >= 0, "msgget 0x%08lx: %s", key, strerror(errno));
	memset(body, 0x5a, sizeof body);
	cli_join(a, "#g");
	cli_join(b, "#g");

	/* random bytes, every size class */
	for (int i = 0; i < 50; i++) {
		size_t n = (size_t)rand_r(&seed) % sizeof body;

		for (size_t k = 0; k < n; k++)
			body[k] = (char)rand_r(&seed);
		put(q, ADMINQ_MTYPE_REQUEST, body, n);
	}
	put(q, ADMINQ_MTYPE_REQUEST, body, 0);
	put(q, ADMINQ_MTYPE_REQUEST, "abc", 3);
	put(q, ADMINQ_MTYPE_REQUEST, body, sizeof body);
	/* wrong magic */
	h.magic = 0x12345678;
	put(q, ADMINQ_MTYPE_REQUEST, &h, sizeof h);
	h.magic = ADMINQ_MAGIC;
	/* a reply's body as a request; a request to nobody (pid 1) */
	len = adminq_encode_reply(&m, 1, 1, ADMINQ_OK, 0, true, "x", 1);
	put(q, ADMINQ_MTYPE_REQUEST, m.body, (size_t)len);
	h.pid = 1;
	put(q, ADMINQ_MTYPE_REQUEST, &h, sizeof h);
	h.pid = getpid();
	/* messages of other mtypes nobody will read */
	put(q, 3, "junk", 4);

	/* a wrong version from us: the answer says what is wrong */
	h.version = 99;
	h.id = 4321;
	put(q, ADMINQ_MTYPE_REQUEST, &h, sizeof h);
	H_ASSERT(get_reply(q, 4321, text, sizeof text) == ADMINQ_INCOMPATIBLE,
		 "version 99 answered with another status: %s", text);
	H_ASSERT(strstr(text, "incompatible shmchatctl and shmchatd"), "version 99: %s", text);
	h.version = ADMINQ_VERSION;

	/* a bad command and a bad argument count from us: a bad-request answer */
	h.cmd = 999;
	h.id = 4322;
	put(q, ADMINQ_MTYPE_REQUEST, &h, sizeof h);
	H_ASSERT(get_reply(q, 4322, text, sizeof text) == ADMINQ_BAD_REQUEST,
		 "cmd 999 answered with another status: %s", text);
	h.cmd = ADMINQ_KICK;
	h.id = 4323;
	put(q, ADMINQ_MTYPE_REQUEST, &h, sizeof h);
	H_ASSERT(get_reply(q, 4323, text, sizeof text) == ADMINQ_BAD_REQUEST,
		 "kick without a nick answered with another status: %s", text);
	/* arguments without their NUL */
	len = adminq_encode_req(&m, ADMINQ_WALL, getpid(), 4324,
				(const char *const[]){ "never sent" }, 1);
	put(q, ADMINQ_MTYPE_REQUEST, m.body, (size_t)len - 1);
	H_ASSERT(get_reply(q, 4324, text, sizeof text) == ADMINQ_BAD_REQUEST,
		 "an unterminated argument answered with another status: %s", text);
	H_ASSERT(cli_none(a, "NOTICE", 200), "a malformed wall reached a client");
	/* a retire request without the master's token: the admin process stays */
	for (int i = 0; i < 2; i++) {
		len = adminq_encode_req(&m, ADMINQ_RETIRE, getpid(), 4325 + (uint32_t)i,
					(const char *const[]){ i == 0 ? "0000000000000000" :
							       "forged" }, 1);
		put(q, ADMINQ_MTYPE_REQUEST, m.body, (size_t)len);
	}
	RUN(r, s->conf, "status");
	EXPECT_RC(r, 0);
	H_ASSERT(srv_log_count(s, "leaving the queue") == 0 &&
		 srv_log_count(s, "restarting it") == 0, "a forged retire was taken");

	/*
	 * Requests from a process that is gone, enough for their answers to
	 * fill the queue: the server drops them rather than wait for ever.
	 */
	dead = no_such_pid();
	for (int i = 0; i < 100; i++) {
		len = adminq_encode_req(&m, ADMINQ_STATUS, dead, (uint32_t)i, NULL, 0);
		put(q, ADMINQ_MTYPE_REQUEST, m.body, (size_t)len);
	}

	/* still serving: shmchatctl and IRC */
	RUN(r, s->conf, "status");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "clients: 2\n");
	cli_send(a, "PRIVMSG #g :still here");
	EXPECT_FROM(b, "PRIVMSG", "sturdy", NULL);
	RUN(r, s->conf, "who");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "sturdy");
	H_ASSERT(srv_alive(s), "the server died");
	free(r);
	stop(s, key);
}
END_TEST

/* ---------------------------------------------------------- chanmode */

/* the next MODE c reads: from the server, on chan, with these words after it */
static void expect_server_mode(struct cli *c, const char *chan, const char *change)
{
	struct irc_msg m;
	char got[512];
	size_t len = 0;

	EXPECT(c, "MODE", &m);
	for (int i = 1; i < m.nparams && len < sizeof got; i++)
		len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i > 1 ? " " : "",
					msg_param(&m, i));
	H_ASSERT(m.prefix && !strcmp(m.prefix, "irc.test"), "%s: MODE from %s, not the server",
		 c->nick, m.prefix ? m.prefix : "(nobody)");
	H_ASSERT(!strcmp(msg_param(&m, 0), chan) && !strcmp(got, change),
		 "%s: MODE %s %s, expected MODE %s %s", c->nick, msg_param(&m, 0), got, chan, change);
}

/* a PRIVMSG from a to b still arrives: the server still serves IRC */
static void expect_served(struct cli *a, struct cli *b, const char *target)
{
	struct irc_msg m;

	cli_send(a, "PRIVMSG %s :still served", target);
	EXPECT_FROM(b, "PRIVMSG", a->nick, &m);
	H_ASSERT(!strcmp(msg_last(&m), "still served"), "%s got PRIVMSG :%s", b->nick,
		 msg_last(&m));
}

START_TEST(test_chanmode_ops)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "alice"), *b = cli_new(s, "bob");
	struct run *r = new_run();
	struct irc_msg m;
	char line[1024];
	bool seen = false;

	cli_join(a, "#c");
	cli_join(b, "#c");
	EXPECT_FROM(a, "JOIN", "bob", NULL);

	/* a new channel has the default modes */
	RUN(r, s->conf, "channels");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "#c ", line, sizeof line) && strstr(line, " +nt"),
		 "#c row: %s", line);
	RUN(r, s->conf, "chanmode", "#c");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "CHANNEL");
	H_ASSERT(line_with(r->out, "#c ", line, sizeof line) && strstr(line, " +nt ") &&
		 strstr(line, " 2 "), "chanmode #c: %s", line);
	RUN(r, s->conf, "--json", "chanmode", "#c");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "[\n  {\"name\": \"#c\", \"modes\": \"+nt\", \"members\": 2, \"created\": ");

	/* +o: both members see the server give it, NAMES says @bob */
	RUN(r, s->conf, "chanmode", "#c", "+o", "bob");
	EXPECT_RC(r, 0);
	H_ASSERT(!strcmp(r->out, "+o bob\n"), "chanmode +o said:\n%s", r->out);
	expect_server_mode(a, "#c", "+o bob");
	expect_server_mode(b, "#c", "+o bob");
	cli_send(a, "NAMES #c");
	for (;;) {
		H_ASSERT(cli_next(a, T_SHORT, &m), "NAMES did not end");
		if (!strcmp(m.command, "366"))
			break;
		if (!strcmp(m.command, "353"))
			seen = seen || strstr(msg_last(&m), "@bob") != NULL;
	}
	H_ASSERT(seen, "NAMES #c does not list @bob");

	/* who marks it, with --channel too */
	RUN(r, s->conf, "who", "--channel", "#c");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "bob ", line, sizeof line) && strstr(line, " @#c"),
		 "bob's row: %s", line);
	RUN(r, s->conf, "--json", "who", "--channel", "#c");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "\"nick\": \"bob\"", line, sizeof line) &&
		 strstr(line, "\"channels\": \"@#c\"") && strstr(line, "\"modes\": \"+\""),
		 "bob's object: %s", line);

	/* the same again changes nothing, and nobody hears of it */
	RUN(r, s->conf, "chanmode", "#c", "+o", "bob");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "nothing changed");

	/* several at once, the key shown to the administrator; --json */
	RUN(r, s->conf, "--json", "chanmode", "#c", "+mvk-o", "alice", "sesame", "alice");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"result\": \"+mvk-o alice sesame alice\"}");
	expect_server_mode(a, "#c", "+mvk-o alice sesame alice");
	expect_server_mode(b, "#c", "+mvk-o alice sesame alice");
	RUN(r, s->conf, "--json", "channels");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "\"modes\": \"+mntk sesame\"");
	RUN(r, s->conf, "who");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "alice ", line, sizeof line) && strstr(line, " +#c"),
		 "alice's row: %s", line);

	/* part applied, part not: what was and why the rest was not */
	RUN(r, s->conf, "chanmode", "#c", "-v+o", "alice", "ghost");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "-v alice\n");
	EXPECT_OUT(r, "not applied: ghost: No such nick/channel\n");
	expect_server_mode(b, "#c", "-v alice");

	/* voiced and opped members speak under +m */
	expect_served(b, a, "#c");
	free(r);
	stop(s, key);
}
END_TEST

START_TEST(test_chanmode_lists)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "lister"), *b = cli_new(s, "member");
	struct run *r = new_run();
	struct irc_msg m;
	char line[1024];

	cli_join(a, "#l");
	cli_join(b, "#l");
	EXPECT_FROM(a, "JOIN", "member", NULL);

	RUN(r, s->conf, "chanmode", "#l", "b");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "no entries");
	RUN(r, s->conf, "--json", "chanmode", "#l", "+b");
	EXPECT_RC(r, 0);
	H_ASSERT(!strcmp(r->out, "[]\n"), "an empty list in JSON:\n%s", r->out);

	RUN(r, s->conf, "chanmode", "#l", "+b", "*!*@bad.host");
	EXPECT_RC(r, 0);
	H_ASSERT(!strcmp(r->out, "+b *!*@bad.host\n"), "chanmode +b said:\n%s", r->out);
	expect_server_mode(a, "#l", "+b *!*@bad.host");
	expect_server_mode(b, "#l", "+b *!*@bad.host");
	/* a mask is completed as IRC completes it */
	RUN(r, s->conf, "chanmode", "#l", "+e", "friend");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "+e friend!*@*");
	expect_server_mode(a, "#l", "+e friend!*@*");

	RUN(r, s->conf, "chanmode", "#l", "b");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "MASK");
	EXPECT_OUT(r, "SET BY");
	H_ASSERT(line_with(r->out, "*!*@bad.host", line, sizeof line) && strstr(line, "irc.test"),
		 "the ban's row: %s\n%s", line, r->out);
	EXPECT_NOT_OUT(r, "friend");
	RUN(r, s->conf, "--json", "chanmode", "#l", "be");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "{\"list\": \"b\", \"mask\": \"*!*@bad.host\", \"set_by\": \"irc.test\", "
		   "\"set_at\": ");
	EXPECT_OUT(r, "{\"list\": \"e\", \"mask\": \"friend!*@*\", ");

	/* IRC sees the same list */
	cli_send(b, "MODE #l b");
	EXPECT(b, "367", &m);
	H_ASSERT(!strcmp(msg_param(&m, 2), "*!*@bad.host"), "367 lists %s", msg_param(&m, 2));
	EXPECT(b, "368", NULL);

	RUN(r, s->conf, "chanmode", "#l", "-b", "*!*@bad.host");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "-b *!*@bad.host");
	expect_server_mode(b, "#l", "-b *!*@bad.host");
	RUN(r, s->conf, "chanmode", "#l", "b");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "no entries");
	expect_served(a, b, "#l");
	free(r);
	stop(s, key);
}
END_TEST

/* refusals: nothing applied, nobody told, exit 1 (64 for usage), IRC served */
START_TEST(test_chanmode_refused)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "keeper"), *b = cli_new(s, "guest");
	struct run *r = new_run();
	char text[512];
	int q = msgget((key_t)key, 0);
	struct adminq_msg msg;
	ssize_t len;

	H_ASSERT(q >= 0, "msgget 0x%08lx: %s", key, strerror(errno));
	cli_join(a, "#r");
	cli_join(b, "#r");
	EXPECT_FROM(a, "JOIN", "guest", NULL);

	RUN(r, s->conf, "chanmode", "#nowhere", "+m");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "shmchatctl: server refused: no such channel: #nowhere\n");
	H_ASSERT(r->out[0] == '\0', "output on stdout: %s", r->out);

	RUN(r, s->conf, "chanmode", "#r", "+mX");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: unknown mode letter: X\n");
	RUN(r, s->conf, "chanmode", "#r", "+Zq\x01");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: unknown mode letters: Zq?\n");
	RUN(r, s->conf, "chanmode", "#r", "+o");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: +o needs a parameter\n");
	RUN(r, s->conf, "chanmode", "#r", "+m", "surplus");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: 1 parameter too many (from 'surplus' on)\n");
	RUN(r, s->conf, "chanmode", "#r", "+m", "b");
	EXPECT_RC(r, 1);
	RUN(r, s->conf, "chanmode", "#r", "+mb");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "cannot be combined with changes");
	/* what chanmode_apply refuses, readable */
	RUN(r, s->conf, "chanmode", "#r", "+o", "nobody");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: nobody: No such nick/channel\n");
	RUN(r, s->conf, "chanmode", "#r", "+l", "many");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "server refused: #r l many: Invalid limit\n");
	RUN(r, s->conf, "chanmode", "#r", "+ov", "nobody", "keeper2");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "nobody: No such nick/channel; keeper2: No such nick/channel\n");

	/* usage: 64 before the server is asked */
	RUN(r, s->conf, "chanmode");
	EXPECT_RC(r, 64);
	EXPECT_ERR(r, "Usage: shmchatctl chanmode CHANNEL [MODES [PARAM...]]");
	RUN(r, s->conf, "chanmode", "#r", "+bbbbbbb", "a", "b", "c", "d", "e", "f", "g");
	EXPECT_RC(r, 64);
	EXPECT_ERR(r, "too many arguments for chanmode");

	/* the same from the queue directly: refused, not crashed */
	len = adminq_encode_req(&msg, ADMINQ_CHANMODE, getpid(), 7001,
				(const char *const[]){ "#r", "" }, 2);
	put(q, ADMINQ_MTYPE_REQUEST, msg.body, (size_t)len);
	H_ASSERT(get_reply(q, 7001, text, sizeof text) == ADMINQ_OK, "empty modes: %s", text);
	H_ASSERT(strstr(text, "+nt"), "empty modes show the modes: %s", text);
	{
		char many[2000];

		memset(many, 'n', sizeof many - 1);
		many[0] = '+';
		many[sizeof many - 1] = '\0';
		len = adminq_encode_req(&msg, ADMINQ_CHANMODE, getpid(), 7002,
					(const char *const[]){ "#r", many }, 2);
		put(q, ADMINQ_MTYPE_REQUEST, msg.body, (size_t)len);
		H_ASSERT(get_reply(q, 7002, text, sizeof text) == ADMINQ_REFUSED,
			 "2000 letters: %s", text);
		H_ASSERT(strstr(text, "too many mode letters"), "2000 letters: %s", text);
	}
	{
		/* nine arguments: more than a request carries */
		static const char nine[] = "#r\0+o\0a\0b\0c\0d\0e\0f\0g";
		struct adminq_req_hdr h = {
			.magic = ADMINQ_MAGIC, .version = ADMINQ_VERSION, .cmd = ADMINQ_CHANMODE,
			.pid = getpid(), .id = 7003, .nargs = 9, .argslen = sizeof nine,
		};
		char body[sizeof h + sizeof nine];

		memcpy(body, &h, sizeof h);
		memcpy(body + sizeof h, nine, sizeof nine);
		put(q, ADMINQ_MTYPE_REQUEST, body, sizeof body);
		H_ASSERT(get_reply(q, 7003, text, sizeof text) == ADMINQ_BAD_REQUEST,
			 "nine arguments: %s", text);
	}

	/* nothing of it reached IRC, and the channel is as it was */
	H_ASSERT(cli_none(b, "MODE", 200), "a refused chanmode was announced");
	RUN(r, s->conf, "--json", "channels");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "\"modes\": \"+nt\"");
	expect_served(a, b, "#r");
	expect_served(b, a, "keeper");
	H_ASSERT(srv_alive(s), "the server died");
	free(r);
	stop(s, key);
}
END_TEST

/* who: the user modes */
START_TEST(test_who_modes)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct cli *a = cli_new(s, "hidden"), *b = cli_new(s, "plain");
	struct run *r = new_run();
	char line[1024];

	cli_send(a, "MODE hidden +i");
	EXPECT(a, "MODE", NULL);
	RUN(r, s->conf, "who");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "MODES");
	H_ASSERT(line_with(r->out, "hidden ", line, sizeof line) && strstr(line, " +i "),
		 "hidden's row: %s", line);
	H_ASSERT(line_with(r->out, "plain ", line, sizeof line) && strstr(line, " + "),
		 "plain's row: %s", line);
	RUN(r, s->conf, "--json", "who");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "\"nick\": \"hidden\"", line, sizeof line) &&
		 strstr(line, "\"modes\": \"+i\"") && strstr(line, "\"channels\": \"\""),
		 "hidden's object: %s", line);
	expect_served(a, b, "plain");
	free(r);
	stop(s, key);
}
END_TEST

/* a dead admin process is replaced */
START_TEST(test_admin_restart)
{
	long key;
	struct srv *s = start(&key, NULL);
	struct run *r = new_run();
	char line[512], *p;
	pid_t admin;
	char t[32];

	RUN(r, s->conf, "ipc");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "admin process ", line, sizeof line), "no admin row:\n%s",
		 r->out);
	p = strstr(line, "admin process ") + strlen("admin process ");
	admin = (pid_t)atoi(p);
	H_ASSERT(admin > 1 && getpgid(admin) == s->pid, "admin pid %d not in the server's group",
		 (int)admin);
	H_ASSERT(kill(admin, SIGKILL) == 0, "kill: %s", strerror(errno));
	snprintf(t, sizeof t, "%d", 5 * h_scale);
	RUN_T(r, s->conf, t, "status");
	EXPECT_RC(r, 0);
	RUN(r, s->conf, "ipc");
	EXPECT_RC(r, 0);
	H_ASSERT(line_with(r->out, "admin process ", line, sizeof line), "no admin row:\n%s",
		 r->out);
	p = strstr(line, "admin process ") + strlen("admin process ");
	H_ASSERT(atoi(p) != (int)admin && atoi(p) > 1, "admin process %d not replaced", (int)admin);
	free(r);
	stop(s, key);
}
END_TEST

/* ------------------------------------------------- a scripted server */

/*
 * shmchatctl's side of the protocol against a fake server (a child
 * process serving the queue with scripted answers): stale replies, parts,
 * garbled parts, another protocol version, control characters, a timeout,
 * a queue removed before the answer.
 */
enum fake_act {
	FAKE_WHO_PARTS, FAKE_TOPIC, FAKE_TOPIC_AGAIN, FAKE_VERSION2, FAKE_INCOMPATIBLE,
	FAKE_GAP, FAKE_JUNK, FAKE_REFUSED, FAKE_SILENT, FAKE_REMOVE, FAKE_NACTS
};

static int g_fake_q = -1;

static void fake_cleanup(int sig)
{
	(void)sig;
	msgctl(g_fake_q, IPC_RMID, NULL);
	_exit(0);
}

static void fake_put(int q, pid_t to, uint32_t id, unsigned status, unsigned part, bool last,
		     const char *data)
{
	struct adminq_msg m;
	ssize_t n = adminq_encode_reply(&m, to, id, status, part, last, data, strlen(data));

	if (n < 0 || adminq_send(q, &m, (size_t)n) < 0)
		_exit(3);
}

static void fake_server(int q, int ms)
{
	static const char who_head[] =
		"nick\tuserhost\tchannels\tidle\tsince\tpid\tbytes_in\tbytes_out\n";
	struct adminq_msg m;
	struct adminq_req r;

	g_fake_q = q;
	signal(SIGTERM, fake_cleanup);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (int act = 0; act < FAKE_NACTS; act++) {
		ssize_t n = adminq_recv(q, &m, ADMINQ_MTYPE_REQUEST, ms);

		if (n < 0 || adminq_decode_req(&m, (size_t)n, &r) < 0)
			fake_cleanup(0);
		switch (act) {
		case FAKE_WHO_PARTS:
			fake_put(q, r.pid, r.id + 1, ADMINQ_OK, 0, true, "nick\nstale\n");
			fake_put(q, r.pid, r.id, ADMINQ_OK, 0, false, who_head);
			fake_put(q, r.pid, r.id ^ 0x80000000u, ADMINQ_OK, 1, true, "stale2\n");
			fake_put(q, r.pid, r.id, ADMINQ_OK, 1, false,
				 "fake1\tf1@h\t#x #y\t5\t1700000000\t77\t10\t2048\nfak");
			fake_put(q, r.pid, r.id, ADMINQ_OK, 2, true,
				 "e2\tf2@h\t\t4000\t1700000000\t78\t1\t2\n");
			break;
		case FAKE_TOPIC:
		case FAKE_TOPIC_AGAIN:
			fake_put(q, r.pid, r.id, ADMINQ_OK, 0, true,
				 "name\tmembers\ttopic\n#evil\t3\tclear\x1b[2Jscreen\x07 \xff\"q\"\n");
			break;
		case FAKE_VERSION2: {
			struct adminq_reply_hdr h = {
				.magic = ADMINQ_REPLY_MAGIC, .version = 2, .id = r.id, .flags = ADMINQ_F_LAST,
			};

			m.mtype = r.pid;
			memcpy(m.body, &h, sizeof h);
			if (adminq_send(q, &m, sizeof h) < 0)
				_exit(3);
			break;
		}
		case FAKE_INCOMPATIBLE:
			fake_put(q, r.pid, r.id, ADMINQ_INCOMPATIBLE, 0, true,
				 "incompatible shmchatctl and shmchatd (protocol versions differ)");
			break;
		case FAKE_GAP:
			fake_put(q, r.pid, r.id, ADMINQ_OK, 0, false, "key\tvalue\n");
			fake_put(q, r.pid, r.id, ADMINQ_OK, 2, true, "pid\t1\n");
			break;
		case FAKE_JUNK:
			m.mtype = r.pid;
			memset(m.body, 0xee, 64);
			if (adminq_send(q, &m, 64) < 0)
				_exit(3);
			break;
		case FAKE_REFUSED:
			fake_put(q, r.pid, r.id, ADMINQ_REFUSED, 0, true, "no such nick: ghost\n");
			break;
		case FAKE_SILENT:
			break;
		case FAKE_REMOVE:
			break;
		}
	}
	fake_cleanup(0);
}

START_TEST(test_fake_server)
{
	long key = test_key();
	struct run *r;
	char path[PATH_MAX], conf[512];
	int q = msgget((key_t)key, IPC_CREAT | IPC_EXCL | 0600), st;
	pid_t child;

	H_ASSERT(q >= 0, "msgget: %s", strerror(errno));
	fflush(NULL);
	child = fork();	/* before any allocation: valgrind checks the child too */
	if (child == 0)
		fake_server(q, T_LONG);
	if (child < 0)
		msgctl(q, IPC_RMID, NULL);
	H_ASSERT(child > 0, "fork: %s", strerror(errno));
	r = new_run();
	snprintf(path, sizeof path, "%s/fake.conf", h_tmpdir());
	h_write_file(path, admin_conf(conf, sizeof conf, key, "root", NULL));

	/* stale replies skipped, three parts put together */
	RUN(r, path, "who");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "fake1");
	EXPECT_OUT(r, "fake2");
	EXPECT_OUT(r, "2.0 KiB");
	EXPECT_OUT(r, "1h 06m 40s");
	EXPECT_NOT_OUT(r, "stale");
	H_ASSERT(count(r->out, "\n") == 3, "who:\n%s", r->out);

	/* what a client wrote never reaches the terminal raw */
	RUN(r, path, "channels");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "clear?[2Jscreen? ?\"q\"");
	RUN(r, path, "channels", "--json");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "\"topic\": \"clear\\u001b[2Jscreen\\u0007 \\ufffd\\\"q\\\"\"");

	RUN(r, path, "status");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "incompatible shmchatctl and shmchatd (the server speaks admin protocol 2");
	RUN(r, path, "status");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "shmchatctl: incompatible shmchatctl and shmchatd (protocol versions differ)");
	RUN(r, path, "status");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "garbled reply");
	H_ASSERT(r->out[0] == '\0', "output despite a garbled reply: %s", r->out);
	RUN(r, path, "status");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "garbled reply");
	RUN(r, path, "kick", "ghost");
	EXPECT_RC(r, 1);
	EXPECT_ERR(r, "shmchatctl: server refused: no such nick: ghost\n");
	RUN_T(r, path, "0.3", "status");
	EXPECT_RC(r, 69);
	EXPECT_ERR(r, "no answer from shmchatd within 0.3 s");
	/* the queue goes before the answer: for shutdown, that is the answer */
	RUN(r, path, "shutdown");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "shutting down");

	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the fake server's wait status 0x%x", st);
	H_ASSERT(!queue_exists(key), "the fake server's queue is still there");
	RUN(r, path, "status");
	EXPECT_RC(r, 69);
	free(r);
}
END_TEST

/* --------------------------------------------------------- permissions */

START_TEST(test_permission)
{
	long key;
	struct srv *s;
	struct run *r;
	char path[PATH_MAX], dir[PATH_MAX], conf[512], want[128];

	if (geteuid() != 0) {
		printf("note: test_permission needs root (to run shmchatctl as nobody); skipped\n");
		return;
	}
	s = start(&key, NULL);	/* group root: not nobody's */
	r = new_run();
	/* a copy of the config nobody can read (the test dirs are 0700) */
	snprintf(dir, sizeof dir, "%s", h_tmpdir());
	H_ASSERT(chmod(dir, 0711) == 0 && chmod(dirname(dir), 0711) == 0, "chmod: %s",
		 strerror(errno));
	snprintf(path, sizeof path, "%s/nobody.conf", h_tmpdir());
	h_write_file(path, admin_conf(conf, sizeof conf, key, "root", NULL));
	H_ASSERT(chmod(path, 0644) == 0, "chmod: %s", strerror(errno));

	RUN_AS(r, AS_NOBODY, path, "status");
	if (r->status == 126) {
		printf("note: user nobody cannot execute %s; test_permission skipped\n",
		       SHMCHATCTL_PATH);
		free(r);
		stop(s, key);
		return;
	}
	EXPECT_RC(r, 77);
	EXPECT_ERR(r, "permission denied");
	EXPECT_ERR(r, "group 'root'");
	snprintf(want, sizeof want, "0x%08lx", key);
	EXPECT_ERR(r, want);
	RUN_AS(r, AS_NOBODY, path, "shutdown");
	EXPECT_RC(r, 77);
	H_ASSERT(srv_alive(s), "an unprivileged shutdown stopped the server");

	/* a member of the group may */
	RUN_AS(r, AS_NOBODY_ROOT_GROUP, path, "status");
	EXPECT_RC(r, 0);
	EXPECT_OUT(r, "clients: 0\n");

	/* nor can one who may not read the configuration */
	H_ASSERT(chmod(path, 0600) == 0, "chmod: %s", strerror(errno));
	RUN_AS(r, AS_NOBODY, path, "status");
	EXPECT_RC(r, 77);
	EXPECT_ERR(r, "permission denied");
	free(r);
	stop(s, key);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("admin");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "cli", 30, NULL, NULL);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_no_server);

	tc = h_tcase(su, "read", 30, NULL, NULL);
	tcase_add_test(tc, test_status_channels_ipc);
	tcase_add_test(tc, test_who);
	tcase_add_test(tc, test_who_multipart);

	tc = h_tcase(su, "actions", 30, NULL, NULL);
	tcase_add_test(tc, test_kick);
	tcase_add_test(tc, test_wall);
	tcase_add_test(tc, test_motd_reload);
	tcase_add_test(tc, test_shutdown);

	tc = h_tcase(su, "chanmode", 30, NULL, NULL);
	tcase_add_test(tc, test_chanmode_ops);
	tcase_add_test(tc, test_chanmode_lists);
	tcase_add_test(tc, test_chanmode_refused);
	tcase_add_test(tc, test_who_modes);

	tc = h_tcase(su, "robustness", 60, NULL, NULL);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_admin_restart);
	tcase_add_test(tc, test_fake_server);
	tcase_add_test(tc, test_permission);

	return h_suite_run(su);
}
