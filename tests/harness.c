#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with byte counters */
#include <arpa/inet.h>

#include <check.h>

#include "harness.h"

#define H_MAXSRV	8
#define H_MAXCLI	1024
#define RBUF_SIZE	65536

extern char **environ;

int h_scale = 1;

static struct srv *g_srv[H_MAXSRV];
static struct cli *g_cli[H_MAXCLI];
static int g_ncli;
static int g_cli_ids;
static unsigned g_counter;
static bool g_failing;
static char g_tmpdir[PATH_MAX];

struct h_notify {
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	int wake;
	bool started;
	char **lines;
	size_t n, cap, cursor;
};

/* ------------------------------------------------------------------ time */

long long h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
	long long d = deadline - h_now_ms();

	if (d < 0)
		return 0;
	return d > INT_MAX ? INT_MAX : (int)d;
}

static void nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---------------------------------------------------------------- files */

/* every temp dir of this test program lives in one base dir, created by
 * harness_init() in main() and removed by harness_finish(), so even the dirs
 * of a test process that crashed or timed out go away */
static char g_basedir[PATH_MAX];

static void make_basedir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (g_basedir[0])
		return;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(g_basedir, sizeof g_basedir, "%s/shmchat-test-XXXXXX", tmp);
	if (!mkdtemp(g_basedir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", g_basedir, strerror(errno));
		g_basedir[0] = '\0';
	}
}

void h_mkdtemp(char *out, size_t cap)
{
	make_basedir();
	if (!g_basedir[0])
		H_FAIL("no temp dir");
	snprintf(out, cap, "%s/t-XXXXXX", g_basedir);
	if (!mkdtemp(out))
		H_FAIL("mkdtemp %s: %s", out, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void h_rmtree(const char *dir)
{
	if (dir && *dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *h_tmpdir(void)
{
	if (!g_tmpdir[0])
		h_mkdtemp(g_tmpdir, sizeof g_tmpdir);
	return g_tmpdir;
}

void h_write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		H_FAIL("cannot write %s: %s", tmp, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		H_FAIL("cannot write %s: %s", tmp, strerror(errno));
	if (rename(tmp, path) < 0)
		H_FAIL("rename %s: %s", path, strerror(errno));
}

static char *read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

/* ------------------------------------------------------------- failures */

void cli_dump(const struct cli *c)
{
	unsigned n = c->nhist < 16 ? c->nhist : 16;

	fprintf(stderr, "--- client %d (%s, local port %d%s): last %u lines read:\n",
		c->id, c->nick[0] ? c->nick : "unregistered", c->local_port,
		c->eof ? ", EOF" : "", n);
	for (unsigned i = c->nhist - n; i < c->nhist; i++)
		fprintf(stderr, "    %s\n", c->hist[i % 16]);
}

void srv_dump_log(struct srv *s, int lines)
{
	size_t len = 0;
	char *text = read_file(s->log, &len);
	size_t pos;
	int n = 0;

	fprintf(stderr, "--- server pid %d port %d: last %d lines of %s:\n",
		(int)s->pid, s->port, lines, s->log);
	if (!text) {
		fprintf(stderr, "    (no log)\n");
		return;
	}
	pos = len;
	if (pos > 0 && text[pos - 1] == '\n')
		pos--;
	while (pos > 0 && n < lines) {
		pos--;
		if (text[pos] == '\n')
			n++;
	}
	if (text[pos] == '\n')
		pos++;
	fprintf(stderr, "%s%s", text + pos, len && text[len - 1] == '\n' ? "" : "\n");
	free(text);
}

static void dump_context(void)
{
	for (int i = 0; i < g_ncli; i++)
		if (g_cli[i])
			cli_dump(g_cli[i]);
	for (int i = 0; i < H_MAXSRV; i++)
		if (g_srv[i])
			srv_dump_log(g_srv[i], 60);
}

void h_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n=== FAILED at %s:%d: %s\n", file, line, msg);
	if (!g_failing) {
		g_failing = true;
		dump_context();
		harness_teardown();
		g_failing = false;
	}
	fprintf(stderr, "=== end of failure context\n");
	fflush(stderr);
	_ck_assert_failed(file, line, "Failed", "%s", msg);
}

/* -------------------------------------------------------------- process */

static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

void harness_init(void)
{
	const char *sc = getenv("SHMCHAT_TEST_SCALE");

	h_scale = 1;
	if (sc && atoi(sc) > 0)
		h_scale = atoi(sc);
	else if (getenv("SHMCHAT_VALGRIND") || getenv("SHMCHATD_WRAPPER"))
		h_scale = 5;
	ensure_std_fds();
	make_basedir();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

void harness_finish(void)
{
	harness_teardown();
	harness_reap_orphans();
	if (g_basedir[0])
		h_rmtree(g_basedir);
	g_basedir[0] = '\0';
}

void harness_setup(void)
{
	harness_init();
	g_failing = false;
}

static pid_t pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (pid_t)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* environment for the daemon: ours minus the systemd variables */
const char *srv_extra_env;
void (*srv_pre_exec)(const struct srv *s);

static char **make_env(const char *notify, bool activated, bool tls, char **pidslot)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 8, sizeof *env);
	if (!env)
		H_FAIL("out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];

		if (!strncmp(e, "LISTEN_", 7) || !strncmp(e, "NOTIFY_SOCKET=", 14) ||
		    !strncmp(e, "WATCHDOG_", 9))
			continue;
		env[k++] = (char *)e;
	}
	if (notify) {
		char *v = malloc(strlen(notify) + 16);

		sprintf(v, "NOTIFY_SOCKET=%s", notify);
		env[k++] = v;
	}
	if (srv_extra_env)
		env[k++] = (char *)srv_extra_env;
	if (activated && tls) {
		/* fd 3 the plain listener, fd 4 the TLS one, told apart by name */
		env[k++] = (char *)"LISTEN_FDS=2";
		env[k++] = (char *)"LISTEN_FDNAMES=irc:ircs";
		*pidslot = calloc(1, 40);
		strcpy(*pidslot, "LISTEN_PID=");
		env[k++] = *pidslot;
	} else if (activated) {
		env[k++] = (char *)"LISTEN_FDS=1";
		*pidslot = calloc(1, 40);
		strcpy(*pidslot, "LISTEN_PID=");
		env[k++] = *pidslot;
	}
	env[k] = NULL;
	return env;
}

static void free_env(char **env, const char *notify, char *pidslot)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		if (notify && !strncmp(env[i], "NOTIFY_SOCKET=", 14))
			free(env[i]);
	free(pidslot);
	free(env);
}

/*
 * argv for the daemon: SHMCHATD_WRAPPER (words split on blanks, e.g. the
 * valgrind-wrap script of `make check-valgrind`) + SHMCHATD_PATH + args.
 * The first word is resolved along PATH here, before fork().
 */
static char **make_argv(const char *const args[])
{
	const char *w = getenv("SHMCHATD_WRAPPER");
	size_t n = 0, k = 0;
	char **argv, *words = strdup(w ? w : "");

	for (const char *const *a = args; *a; a++)
		n++;
	argv = calloc(n + 2 + (words ? strlen(words) : 0) / 2 + 2, sizeof *argv);
	if (!argv || !words)
		H_FAIL("out of memory");
	for (char *save = NULL, *t = strtok_r(words, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save))
		argv[k++] = strdup(t);
	free(words);
	if (k > 0 && !strchr(argv[0], '/')) {
		const char *path = getenv("PATH");
		char *dirs = strdup(path ? path : "/usr/bin:/bin");

		for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
		     d = strtok_r(NULL, ":", &save)) {
			char full[PATH_MAX];

			snprintf(full, sizeof full, "%s/%s", d, argv[0]);
			if (access(full, X_OK) == 0) {
				free(argv[0]);
				argv[0] = strdup(full);
				break;
			}
		}
		free(dirs);
	}
	for (size_t i = 0; i < n; i++)
		argv[k++] = strdup(args[i]);
	argv[k] = NULL;
	return argv;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* async-signal-safe decimal formatting */
static void put_dec(char *dst, long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		*dst++ = tmp[--n];
	*dst = '\0';
}

static void child_common(pid_t parent)
{
	sigset_t none;
	struct sigaction sa;
	static const int sigs[] = { SIGPIPE, SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2 };

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void close_from(unsigned first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, first, ~0U, 0) == 0)
		return;
#endif
	for (long fd = first, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		close((int)fd);
}

static void child_stdio(const char *outpath)
{
	int nul = open("/dev/null", O_RDONLY);
	int out = open(outpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (nul < 0 || out < 0)
		_exit(125);
	if (nul != 0) {
		dup2(nul, 0);
		close(nul);
	}
	dup2(out, 1);
	dup2(out, 2);
	if (out > 2)
		close(out);
}

int h_run(const char *const argv[], char *out, size_t cap, int ms)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	char **env;
	pid_t parent = getpid(), pid;
	int st = 0, rc = -1;
	long long deadline = h_now_ms() + ms;

	char **av = make_argv(argv);

	h_mkdtemp(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/out", dir);
	env = make_env(NULL, false, false, NULL);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		H_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		child_common(parent);
		child_stdio(path);
		close_from(3);
		execve(av[0], av, env);
		_exit(127);
	}
	free_env(env, NULL, NULL);
	free_argv(av);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			rc = st;
			break;
		}
		if (h_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			rc = -1;
			break;
		}
		nap_ms(5);
	}
	if (out && cap) {
		size_t len = 0;
		char *text = read_file(path, &len);

		out[0] = '\0';
		if (text) {
			snprintf(out, cap, "%s", text);
			free(text);
		}
	}
	h_rmtree(dir);
	return rc;
}

/* ---------------------------------------------------------------- notify */

static void *notify_thread(void *arg)
{
	struct h_notify *nt = arg;
	char buf[4097];

	for (;;) {
		struct pollfd p[2] = { { nt->fd, POLLIN, 0 }, { nt->wake, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = recv(nt->fd, buf, sizeof buf - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		pthread_mutex_lock(&nt->mu);
		for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			if (nt->n == nt->cap) {
				size_t nc = nt->cap ? nt->cap * 2 : 64;
				char **nl = realloc(nt->lines, nc * sizeof *nl);

				if (!nl)
					break;
				nt->lines = nl;
				nt->cap = nc;
			}
			nt->lines[nt->n++] = strdup(l);
		}
		pthread_cond_broadcast(&nt->cv);
		pthread_mutex_unlock(&nt->mu);
	}
	return NULL;
}

static void notify_open(struct srv *s)
{
	struct sockaddr_un sa;
	struct h_notify *nt;
	pthread_condattr_t ca;
	socklen_t len;

	snprintf(s->notify_name, sizeof s->notify_name, "@shmchat-test-%d-%u",
		 (int)getpid(), ++g_counter);
	s->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->notify_fd < 0)
		H_FAIL("notify socket: %s", strerror(errno));
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	sa.sun_path[0] = '\0';
	memcpy(sa.sun_path + 1, s->notify_name + 1, strlen(s->notify_name) - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s->notify_name));
	if (bind(s->notify_fd, (struct sockaddr *)&sa, len) < 0)
		H_FAIL("bind notify socket %s: %s", s->notify_name, strerror(errno));

	nt = calloc(1, sizeof *nt);
	if (!nt)
		H_FAIL("out of memory");
	nt->fd = s->notify_fd;
	nt->wake = eventfd(0, EFD_CLOEXEC);
	if (nt->wake < 0)
		H_FAIL("eventfd: %s", strerror(errno));
	pthread_mutex_init(&nt->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&nt->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->nt = nt;
	if (pthread_create(&nt->thr, NULL, notify_thread, nt) != 0)
		H_FAIL("pthread_create failed");
	nt->started = true;
}

static void notify_close(struct srv *s)
{
	struct h_notify *nt = s->nt;

	if (nt) {
		if (nt->started) {
			uint64_t one = 1;

			if (write(nt->wake, &one, sizeof one) < 0)
				perror("eventfd write");
			pthread_join(nt->thr, NULL);
		}
		close(nt->wake);
		for (size_t i = 0; i < nt->n; i++)
			free(nt->lines[i]);
		free(nt->lines);
		pthread_mutex_destroy(&nt->mu);
		pthread_cond_destroy(&nt->cv);
		free(nt);
		s->nt = NULL;
	}
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	s->notify_fd = -1;
}

static bool notify_match(const char *line, const char *want)
{
	size_t wl = strlen(want);

	if (wl && want[wl - 1] == '=')
		return !strncmp(line, want, wl);
	return !strcmp(line, want);
}

static void abs_deadline(struct timespec *ts, long long deadline_ms)
{
	ts->tv_sec = deadline_ms / 1000;
	ts->tv_nsec = (deadline_ms % 1000) * 1000000L;
}

bool srv_wait_notify(struct srv *s, const char *want, int ms, char *out, size_t cap)
{
	struct h_notify *nt = s->nt;
	long long deadline = h_now_ms() + ms;
	struct timespec ts;
	bool found = false;

	if (!nt)
		return false;
	abs_deadline(&ts, deadline);
	pthread_mutex_lock(&nt->mu);
	for (;;) {
		while (nt->cursor < nt->n) {
			const char *l = nt->lines[nt->cursor++];

			if (!strncmp(l, "STATUS=", 7))
				snprintf(s->status, sizeof s->status, "%s", l + 7);
			if (notify_match(l, want)) {
				if (out && cap)
					snprintf(out, cap, "%s", l);
				found = true;
				break;
			}
		}
		if (found || h_now_ms() >= deadline)
			break;
		pthread_cond_timedwait(&nt->cv, &nt->mu, &ts);
	}
	pthread_mutex_unlock(&nt->mu);
	return found;
}

bool srv_wait_status(struct srv *s, const char *substr, int ms, char *out, size_t cap)
{
	struct h_notify *nt = s->nt;
	long long deadline = h_now_ms() + ms;
	struct timespec ts;
	bool found = false;
	size_t scanned = 0;

	if (!nt)
		return false;
	abs_deadline(&ts, deadline);
	pthread_mutex_lock(&nt->mu);
	for (;;) {
		for (; scanned < nt->n; scanned++) {
			const char *l = nt->lines[scanned];

			if (!strncmp(l, "STATUS=", 7) && strstr(l + 7, substr)) {
				snprintf(s->status, sizeof s->status, "%s", l + 7);
				if (out && cap)
					snprintf(out, cap, "%s", l + 7);
				found = true;
				break;
			}
		}
		if (found || h_now_ms() >= deadline)
			break;
		pthread_cond_timedwait(&nt->cv, &nt->mu, &ts);
	}
	pthread_mutex_unlock(&nt->mu);
	return found;
}

/* ------------------------------------------------------------------- IPC */

static int list_shm(char ***out)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	char **v = NULL;
	int n = 0;

	if (d) {
		while ((e = readdir(d))) {
			char **nv;

			if (strncmp(e->d_name, "shmchat", 7))
				continue;
			nv = realloc(v, (size_t)(n + 1) * sizeof *v);
			if (!nv)
				break;
			v = nv;
			v[n++] = strdup(e->d_name);
		}
		closedir(d);
	}
	*out = v;
	return n;
}

/* queues with this key only: other test programs run beside us (make -j) */
static int list_msq(long want_key, int **out)
{
	FILE *f = fopen("/proc/sysvipc/msg", "r");
	char line[512];
	int *v = NULL, n = 0;

	if (f) {
		while (fgets(line, sizeof line, f)) {
			long key;
			int id;

			int *nv;

			if (sscanf(line, "%ld %d", &key, &id) != 2 || key != want_key)
				continue;
			nv = realloc(v, (size_t)(n + 1) * sizeof *v);
			if (!nv)
				break;
			v = nv;
			v[n++] = id;
		}
		fclose(f);
	}
	*out = v;
	return n;
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void ipc_snapshot(struct srv *s)
{
	s->nshm_before = list_shm(&s->shm_before);
	s->nmsq_before = list_msq(s->admin_key, &s->msq_before);
}

/*
 * The daemon names its segments shmchat-<creator pid>-<random>: one made by
 * a live process outside this server's process group belongs to someone
 * else (a unit test or another test run going on at the same time).
 */
static bool shm_foreign(const struct srv *s, const char *name)
{
	char *end;
	long pid;
	pid_t pg;

	if (strncmp(name, "shmchat-", 8))
		return false;
	pid = strtol(name + 8, &end, 10);
	if (end == name + 8 || *end != '-' || pid <= 0 || pid == s->pid)
		return false;
	pg = getpgid((pid_t)pid);
	return pg >= 0 && pg != s->pid;
}

/* names of new objects into buf; returns how many */
static int ipc_new(struct srv *s, char *buf, size_t cap, bool remove_them)
{
	char **names;
	int *ids;
	int nn = list_shm(&names), ni = list_msq(s->admin_key, &ids), count = 0;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < nn; i++) {
		bool old = false;

		for (int j = 0; j < s->nshm_before && !old; j++)
			old = !strcmp(names[i], s->shm_before[j]);
		if (old || shm_foreign(s, names[i]))
			continue;
		count++;
		if (used < cap)
			used += (size_t)snprintf(buf + used, cap - used, " /dev/shm/%s", names[i]);
		if (remove_them) {
			char p[PATH_MAX];

			snprintf(p, sizeof p, "/dev/shm/%s", names[i]);
			unlink(p);
		}
	}
	for (int i = 0; i < ni; i++) {
		bool old = false;

		for (int j = 0; j < s->nmsq_before && !old; j++)
			old = ids[i] == s->msq_before[j];
		if (old)
			continue;
		count++;
		if (used < cap)
			used += (size_t)snprintf(buf + used, cap - used, " msqid=%d", ids[i]);
		if (remove_them)
			msgctl(ids[i], IPC_RMID, NULL);
	}
	free_names(names, nn);
	free(ids);
	return count;
}

void srv_check_ipc(struct srv *s, bool fail_on_leak)
{
	char buf[1024];
	long long deadline = h_now_ms() + 1000L * h_scale;

	/* tolerate objects that disappear within a second (another test
	 * program of the same `make -j check` may be using the prefix) */
	while (ipc_new(s, buf, sizeof buf, false) > 0 && h_now_ms() < deadline)
		nap_ms(20);
	if (ipc_new(s, buf, sizeof buf, true) > 0) {
		if (fail_on_leak)
			H_FAIL("IPC objects left behind (now removed):%s", buf);
		fprintf(stderr, "note: removed IPC objects left behind:%s\n", buf);
	}
}

/* -------------------------------------------------------------- servers */

static void conf_add(char *buf, size_t cap, const char *extra, const char *key, const char *line)
{
	/* skip a default when extra sets the same key */
	if (extra) {
		size_t kl = strlen(key);

		for (const char *p = extra; (p = strstr(p, key)); p += kl) {
			const char *q = p + kl;

			if (p != extra && !strchr(" \t\n;", p[-1]))
				continue;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=' || *q == ':')
				return;
		}
	}
	strncat(buf, line, cap - strlen(buf) - 1);
	strncat(buf, "\n", cap - strlen(buf) - 1);
}

void srv_write_conf(struct srv *s, const char *extra)
{
	char buf[16384] = "# written by tests/harness.c\n";

	conf_add(buf, sizeof buf, extra, "server_name", "server_name = \"irc.test\";");
	conf_add(buf, sizeof buf, extra, "network", "network = \"TestNet\";");
	conf_add(buf, sizeof buf, extra, "log_level", "log_level = \"debug\";");
	conf_add(buf, sizeof buf, extra, "listen", "listen = [\"127.0.0.1:0\"];");
	/*
	 * Tests run as root with their files in private temp dirs: keep root so
	 * reloads can read them (check_faults tests the switch to a user).
	 */
	conf_add(buf, sizeof buf, extra, "user", "user = \"root\";");
	conf_add(buf, sizeof buf, extra, "group", "group = \"root\";");
	/*
	 * A queue key of its own: servers of parallel test runs, and a real
	 * shmchatd on this machine, must never meet on the default key.
	 */
	if (s->admin_key == 0) {
		static unsigned counter;
		s->admin_key = 0x5c000000L | ((long)(getpid() & 0xffff) << 8) | (counter++ & 0xff);
	}
	if (extra && strstr(extra, "queue_key")) {
		/* the test picked its own key: watch that one for leftovers */
		const char *k = strstr(extra, "queue_key");
		k += strcspn(k, "=") + 1;
		s->admin_key = strtol(k, NULL, 0);
	}
	{
		char line[128];
		snprintf(line, sizeof line, "admin = { queue_key = 0x%lx; group = \"root\"; };",
		    s->admin_key);
		conf_add(buf, sizeof buf, extra, "admin", line);
	}
	if (extra) {
		strncat(buf, extra, sizeof buf - strlen(buf) - 2);
		strcat(buf, "\n");
	}
	h_write_file(s->conf, buf);
}

static int listen_socket(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		H_FAIL("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		H_FAIL("bind 127.0.0.1:0: %s", strerror(errno));
	if (listen(fd, 1024) < 0)
		H_FAIL("listen: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		H_FAIL("getsockname: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

bool srv_alive(struct srv *s)
{
	int st;

	if (s->reaped)
		return false;
	if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
		s->reaped = true;
		s->wstatus = st;
		return false;
	}
	return true;
}

bool srv_wait_master(struct srv *s, int ms)
{
	long long deadline = h_now_ms() + ms;

	while (srv_alive(s)) {
		int left = left_ms(deadline);

		if (left <= 0)
			return false;
		if (s->pidfd >= 0) {
			struct pollfd p = { s->pidfd, POLLIN, 0 };

			poll(&p, 1, left);
		} else {
			nap_ms(5);
		}
	}
	return true;
}

static void describe_status(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, cap, "wait status 0x%x", st);
}

/* "pid(comm,state) ..." of processes in group pgid */
static int group_members(pid_t pgid, char *buf, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	size_t used = 0;

	buf[0] = '\0';
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[64], stat[512], *rp;
		int pid = atoi(e->d_name), pgrp = 0, ppid = 0;
		char state = '?';
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(stat, sizeof stat, f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		rp = strrchr(stat, ')');
		if (!rp || sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
			continue;
		if (pgrp != pgid)
			continue;
		n++;
		if (used < cap)
			used += (size_t)snprintf(buf + used, cap - used, " %d(state %c, ppid %d)",
						 pid, state, ppid);
	}
	closedir(d);
	return n;
}

bool srv_group_gone(struct srv *s, int ms)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		int st;
		pid_t w;

		/* the master's orphans are re-parented to us (child subreaper) */
		while ((w = waitpid(-s->pid, &st, WNOHANG)) > 0)
			if (w == s->pid) {
				s->reaped = true;
				s->wstatus = st;
			}
		if (kill(-s->pid, 0) < 0 && errno == ESRCH)
			return true;
		if (h_now_ms() >= deadline)
			return false;
		nap_ms(5);
	}
}

static void srv_register(struct srv *s)
{
	for (int i = 0; i < H_MAXSRV; i++)
		if (!g_srv[i]) {
			g_srv[i] = s;
			return;
		}
	H_FAIL("too many servers in one test");
}

static struct srv *srv_spawn(const char *extra, bool activated, bool tls)
{
	struct srv *s = calloc(1, sizeof *s);
	char **env;
	char *pidslot = NULL;
	int lfd = -1, tfd = -1;
	pid_t parent = getpid();
	const char *args[] = { SHMCHATD_PATH, "--config", NULL, NULL };
	char **argv;

	if (!s)
		H_FAIL("out of memory");
	s->notify_fd = -1;
	s->pidfd = -1;
	s->pid = -1;
	s->reaped = true;	/* nothing to kill yet */
	s->activated = activated;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	h_mkdtemp(s->dir, sizeof s->dir);
	snprintf(s->conf, sizeof s->conf, "%s/shmchatd.conf", s->dir);
	snprintf(s->log, sizeof s->log, "%s/shmchatd.log", s->dir);
	srv_register(s);
	srv_write_conf(s, extra);
	args[2] = s->conf;
	argv = make_argv(args);
	if (access(SHMCHATD_PATH, X_OK) < 0)
		H_FAIL("daemon %s not runnable: %s", SHMCHATD_PATH, strerror(errno));
	if (activated)
		lfd = listen_socket(&s->port);
	if (activated && tls)
		tfd = listen_socket(&s->tls_port);
	notify_open(s);
	ipc_snapshot(s);
	env = make_env(s->notify_name, activated, tls, &pidslot);

	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0)
		H_FAIL("fork: %s", strerror(errno));
	if (s->pid == 0) {
		child_common(parent);
		child_stdio(s->log);
		if (lfd >= 0 && tfd >= 0) {
			/* above 4 first, so neither dup2() clobbers the other */
			int a = fcntl(lfd, F_DUPFD, 10), b = fcntl(tfd, F_DUPFD, 10);

			if (a < 0 || b < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0)
				_exit(124);
			put_dec(pidslot + strlen("LISTEN_PID="), (long)getpid());
			close_from(5);
		} else if (lfd >= 0) {
			if (lfd != 3) {
				if (dup2(lfd, 3) < 0)
					_exit(124);
			} else if (fcntl(3, F_SETFD, 0) < 0) {
				_exit(124);
			}
			put_dec(pidslot + strlen("LISTEN_PID="), (long)getpid());
			close_from(4);
		} else {
			close_from(3);
		}
		if (srv_pre_exec)
			srv_pre_exec(s);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free_argv(argv);
	s->reaped = false;
	s->pidfd = pidfd_open_compat(s->pid);
	if (s->pidfd >= 0)
		fcntl(s->pidfd, F_SETFD, FD_CLOEXEC);
	free_env(env, s->notify_name, pidslot);
	if (lfd >= 0)
		close(lfd);
	if (tfd >= 0)
		close(tfd);

	/* READY=1, or fail early if the daemon dies */
	{
		long long deadline = h_now_ms() + T_LONG;

		while (!srv_wait_notify(s, "READY=1", 50, NULL, 0)) {
			if (!srv_alive(s)) {
				char st[128];

				describe_status(s->wstatus, st, sizeof st);
				H_FAIL("daemon exited before READY=1: %s", st);
			}
			if (h_now_ms() >= deadline)
				H_FAIL("no READY=1 from the daemon within %d ms", T_LONG);
		}
	}
	if (!activated) {
		char status[512];
		const char *p;

		if (!srv_wait_status(s, "Listening on", T_SHORT, status, sizeof status))
			H_FAIL("no STATUS=Listening on ... after READY=1");
		p = strstr(status, "127.0.0.1:");
		if (!p)
			H_FAIL("STATUS does not mention 127.0.0.1:PORT: %s", status);
		s->port = atoi(p + strlen("127.0.0.1:"));
		if (s->port <= 0 || s->port > 65535)
			H_FAIL("bad port in STATUS: %s", status);
	}
	return s;
}

struct srv *srv_start(const char *extra_conf)
{
	return srv_spawn(extra_conf, true, false);
}

struct srv *srv_start_tls(const char *extra_conf)
{
	return srv_spawn(extra_conf, true, true);
}

struct srv *srv_start_bind(const char *extra_conf)
{
	return srv_spawn(extra_conf, false, false);
}

/*
 * The daemon's log must hold no sanitizer or valgrind report: a worker that
 * trips one exits non-zero, which the master only logs, so look for it here.
 */
static void srv_check_log(struct srv *s)
{
	static const char *const bad[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
		"Invalid read", "Invalid write", "uninitialised",
		"definitely lost in loss record", "exited with status 99",
	};
	char *log = read_file(s->log, NULL);

	if (log == NULL)
		return;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *hit = strstr(log, bad[i]);
		if (hit != NULL) {
			char excerpt[300];
			snprintf(excerpt, sizeof excerpt, "%s", hit);
			free(log);
			H_FAIL("the daemon's log reports a memory error: %s", excerpt);
		}
	}
	free(log);
}

void srv_stop(struct srv *s)
{
	char st[128], members[1024];

	if (!srv_alive(s)) {
		describe_status(s->wstatus, st, sizeof st);
		H_FAIL("daemon died before SIGTERM: %s", st);
	}
	if (kill(s->pid, SIGTERM) < 0)
		H_FAIL("kill SIGTERM: %s", strerror(errno));
	if (!srv_wait_master(s, T_LONG))
		H_FAIL("master did not exit within %d ms of SIGTERM", T_LONG);
	describe_status(s->wstatus, st, sizeof st);
	if (!WIFEXITED(s->wstatus) || WEXITSTATUS(s->wstatus) != 0)
		H_FAIL("master did not exit cleanly after SIGTERM: %s", st);
	if (!srv_wait_notify(s, "STOPPING=1", T_SHORT, NULL, 0))
		H_FAIL("no STOPPING=1 notification on shutdown");
	if (!srv_group_gone(s, T_SHORT)) {
		group_members(s->pid, members, sizeof members);
		H_FAIL("processes left in the daemon's group after shutdown:%s", members);
	}
	srv_check_ipc(s, true);
	srv_check_log(s);
}

void srv_kill(struct srv *s)
{
	if (s->pid <= 0)
		return;
	if (!s->reaped) {
		kill(-s->pid, SIGKILL);
		kill(s->pid, SIGKILL);
		srv_wait_master(s, 5000 * h_scale);
	}
	if (kill(-s->pid, 0) == 0)
		kill(-s->pid, SIGKILL);
	if (!srv_group_gone(s, 5000 * h_scale)) {
		char members[1024];

		group_members(s->pid, members, sizeof members);
		fprintf(stderr, "warning: processes still in group %d:%s\n", (int)s->pid, members);
	}
	srv_check_ipc(s, false);
}

static void srv_free(struct srv *s)
{
	notify_close(s);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	h_rmtree(s->dir);
	free_names(s->shm_before, s->nshm_before);
	free(s->msq_before);
	free(s);
}

/* ------------------------------------------------------- worker lookup */

static unsigned long find_inode(int lport, int rport)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");
		char line[512];

		if (!f)
			continue;
		while (fgets(line, sizeof line, f)) {
			char la[64], ra[64];
			unsigned lp, rp, st;
			unsigned long ino;

			if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x %*s %*s %*s %*s %*s %lu",
				   la, &lp, ra, &rp, &st, &ino) != 6)
				continue;
			if ((int)lp == lport && (int)rp == rport && ino != 0) {
				fclose(f);
				return ino;
			}
		}
		fclose(f);
	}
	return 0;
}

static bool pid_has_socket(pid_t pid, unsigned long ino)
{
	char path[64], want[64];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "socket:[%lu]", ino);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char lp[PATH_MAX], target[128];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(lp, sizeof lp, "%s/%s", path, e->d_name);
		n = readlink(lp, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, want);
	}
	closedir(d);
	return found;
}

/*
 * The descendant of master (workers are the fork server's children, so
 * grandchildren; depth-bounded) that holds the socket with inode ino.
 */
static pid_t descendant_with_socket(pid_t master, unsigned long ino, int depth)
{
	enum { MAX = 1 << 16 };
	pid_t *v = malloc(MAX * sizeof *v), found = -1;
	int n;

	if (!v)
		H_FAIL("out of memory");
	n = h_descendants(master, v, MAX, 0, depth);
	for (int i = 0; i < n && found < 0; i++)
		if (pid_has_socket(v[i], ino))
			found = v[i];
	free(v);
	return found;
}

int h_descendants(pid_t root, pid_t *out, int max, int n, int depth)
{
	char path[64];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof path, "/proc/%d/task", (int)root);
	d = opendir(path);
	if (!d)
		return n;
	while ((e = readdir(d))) {
		char cp[600];
		FILE *f;
		int pid;

		if (e->d_name[0] == '.')
			continue;
		snprintf(cp, sizeof cp, "%s/%s/children", path, e->d_name);
		f = fopen(cp, "r");
		if (!f)
			continue;
		while (fscanf(f, "%d", &pid) == 1) {
			if (n < max)
				out[n++] = pid;
			if (depth > 0)
				n = h_descendants(pid, out, max, n, depth - 1);
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

pid_t srv_forkserver(struct srv *s)
{
	pid_t v[64], c[64];
	int n = h_descendants(s->pid, v, 64, 0, 0);

	for (int i = 0; i < n; i++)
		if (h_descendants(v[i], c, 64, 0, 0) > 0)
			return v[i];
	return 0;
}

int h_proc_nfds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int h_proc_fields(pid_t pid, const char *file, const char *name, long v[4])
{
	char path[64], line[512];
	size_t nl = strlen(name);
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, name, nl) && line[nl] == ':') {
			n = sscanf(line + nl + 1, "%ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3]);
			break;
		}
	fclose(f);
	return n;
}

long h_proc_smaps_kb(pid_t pid, const char *field)
{
	long v[4] = { -1 };

	return h_proc_fields(pid, "smaps_rollup", field, v) >= 1 ? v[0] : -1;
}

pid_t srv_worker_of(struct srv *s, struct cli *c, int ms)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		unsigned long ino = find_inode(c->server_port, c->local_port);
		pid_t w = ino ? descendant_with_socket(s->pid, ino, 2) : -1;

		if (w > 0)
			return w;
		if (h_now_ms() >= deadline)
			return -1;
		nap_ms(10);
	}
}

/* -------------------------------------------------------------- clients */

static void cli_register_global(struct cli *c)
{
	for (int i = 0; i < g_ncli; i++)
		if (!g_cli[i]) {
			g_cli[i] = c;
			return;
		}
	if (g_ncli == H_MAXCLI)
		H_FAIL("too many clients");
	g_cli[g_ncli++] = c;
}

static struct cli *cli_connect_to(struct srv *s, int port, int rcvbuf)
{
	struct cli *c = calloc(1, sizeof *c);
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	if (!c)
		H_FAIL("out of memory");
	c->srv = s;
	c->id = ++g_cli_ids;
	c->auto_pong = true;
	c->rcap = RBUF_SIZE;
	c->rbuf = malloc(c->rcap + 1);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cli_register_global(c);
	if (!c->rbuf || c->fd < 0)
		H_FAIL("client socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		H_FAIL("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	if (getsockname(c->fd, (struct sockaddr *)&sa, &len) < 0)
		H_FAIL("getsockname: %s", strerror(errno));
	c->local_port = ntohs(sa.sin_port);
	c->server_port = port;
	return c;
}

struct cli *cli_connect_rcvbuf(struct srv *s, int rcvbuf)
{
	return cli_connect_to(s, s->port, rcvbuf);
}

struct cli *cli_connect_port(struct srv *s, int port, int rcvbuf)
{
	return cli_connect_to(s, port, rcvbuf);
}

struct cli *cli_connect(struct srv *s)
{
	return cli_connect_rcvbuf(s, 0);
}

void cli_close(struct cli *c)
{
	if (!c)
		return;
	for (int i = 0; i < g_ncli; i++)
		if (g_cli[i] == c)
			g_cli[i] = NULL;
	if (c->tr != NULL)
		c->tr->close(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c);
}

bool cli_send_raw(struct cli *c, const void *p, size_t n)
{
	const char *b = p;
	long long deadline = h_now_ms() + T_LONG;

	if (c->tr != NULL)
		return c->tr->send(c, p, n, deadline);
	while (n > 0) {
		ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { c->fd, POLLOUT, 0 };
			int left = left_ms(deadline);

			if (left <= 0)
				H_FAIL("client %s: send blocked for %d ms (server not reading?)",
				       c->nick, T_LONG);
			poll(&pf, 1, left);
			continue;
		}
		return false;	/* EPIPE, ECONNRESET: the server closed us */
	}
	return true;
}

void cli_send(struct cli *c, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf - 2)
		H_FAIL("cli_send: line too long for the harness");
	memcpy(buf + n, "\r\n", 2);
	cli_send_raw(c, buf, (size_t)n + 2);
}

static void hist_add(struct cli *c, const char *line, size_t len)
{
	char *h = c->hist[c->nhist++ % 16];
	size_t n = len < 519 ? len : 519;

	for (size_t i = 0; i < n; i++)
		h[i] = (line[i] >= 0x20 && line[i] != 0x7f) || (line[i] & 0x80) ? line[i] : '?';
	h[n] = '\0';
}

/* read once; wait up to ms (0: don't wait). false on timeout. */
static bool cli_fill(struct cli *c, int ms)
{
	struct pollfd pf = { c->fd, POLLIN, 0 };
	ssize_t n;

	if (c->rstart > 0 && (c->rend == c->rcap || c->rstart > c->rcap / 2)) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	if (c->rend == c->rcap)
		return true;	/* full without LF: take_line() hands it out */
	if (!(c->tr != NULL && c->tr->pending(c)) && poll(&pf, 1, ms) <= 0)
		return false;
	n = c->tr != NULL ? c->tr->recv(c, c->rbuf + c->rend, c->rcap - c->rend) :
	    recv(c->fd, c->rbuf + c->rend, c->rcap - c->rend, MSG_DONTWAIT);
	if (n > 0) {
		c->rend += (size_t)n;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	c->eof = true;	/* 0: EOF; <0: reset */
	return true;
}

static bool take_line(struct cli *c, char **line, size_t *len)
{
	char *b = c->rbuf + c->rstart, *nl;
	size_t avail = c->rend - c->rstart, l;

	nl = memchr(b, '\n', avail);
	if (!nl) {
		/* overlong junk without LF filling the buffer, or a last
		 * unterminated line at EOF: hand it out as it is */
		if (avail == 0 || (!c->eof && !(c->rstart == 0 && c->rend == c->rcap)))
			return false;
		nl = b + avail;
	}
	l = (size_t)(nl - b);
	c->rstart += l + (nl < b + avail ? 1 : 0);
	*nl = '\0';
	if (l > 0 && b[l - 1] == '\r')
		b[--l] = '\0';
	hist_add(c, b, l);
	*line = b;
	*len = l;
	return true;
}

bool cli_line(struct cli *c, int ms, char **line, size_t *len)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		if (take_line(c, line, len))
			return true;
		if (c->eof)
			return false;
		if (!cli_fill(c, left_ms(deadline)) && h_now_ms() >= deadline)
			return false;
	}
}

bool cli_line_nowait(struct cli *c, char **line, size_t *len)
{
	if (take_line(c, line, len))
		return true;
	if (c->eof)
		return false;
	cli_fill(c, 0);
	return take_line(c, line, len);
}

bool cli_next(struct cli *c, int ms, struct irc_msg *m)
{
	long long deadline = h_now_ms() + ms;
	char *line;
	size_t len;

	while (cli_line(c, left_ms(deadline), &line, &len)) {
		int rc = irc_parse(m, line, len);

		if (rc == IRC_PARSE_EMPTY)
			continue;
		if (rc != IRC_PARSE_OK)
			H_FAIL("client %s: unparsable line from the server (error %d): %.200s",
			       c->nick, rc, line);
		if (c->auto_pong && !strcmp(m->command, "PING")) {
			cli_send(c, "PONG :%s", msg_last(m));
			continue;
		}
		return true;
	}
	return false;
}

static bool prefix_nick_is(const char *prefix, const char *nick)
{
	char pn[128];
	size_t n = 0;

	if (!prefix)
		return false;
	while (prefix[n] && prefix[n] != '!' && prefix[n] != '@' && n < sizeof pn - 1) {
		pn[n] = prefix[n];
		n++;
	}
	pn[n] = '\0';
	return irc_casecmp(pn, nick) == 0;
}

bool cli_wait(struct cli *c, const char *cmd, const char *from, int ms, struct irc_msg *m)
{
	long long deadline = h_now_ms() + ms;
	struct irc_msg *tmp = NULL;
	bool ok = false;

	if (!m)
		m = tmp = malloc(sizeof *m);
	while (cli_next(c, left_ms(deadline), m)) {
		if (strcasecmp(m->command, cmd))
			continue;
		if (from && !prefix_nick_is(m->prefix, from))
			continue;
		ok = true;
		break;
	}
	free(tmp);
	return ok;
}

bool cli_wait_eof(struct cli *c, int ms)
{
	long long deadline = h_now_ms() + ms;
	char *line;
	size_t len;

	for (;;) {
		while (take_line(c, &line, &len))
			;
		if (c->eof)
			return true;
		if (!cli_fill(c, left_ms(deadline)) && h_now_ms() >= deadline)
			return false;
	}
}

void cli_resume_reading(struct cli *c)
{
	int size = 1 << 20;

	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
		H_FAIL("SO_RCVBUF: %s", strerror(errno));
}

const char *cli_tcp_report(struct cli *c, char *buf, size_t size)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
		snprintf(buf, size, "TCP_INFO: %s", strerror(errno));
		return buf;
	}
	snprintf(buf, size,
		 "tcp state %u, %llu bytes received, last data %u ms ago, rcv_space %u, "
		 "%zu bytes unread in the test's buffer",
		 ti.tcpi_state, (unsigned long long)ti.tcpi_bytes_received,
		 ti.tcpi_last_data_recv, ti.tcpi_rcv_space, c->rend - c->rstart);
	return buf;
}

int cli_sync(struct cli *c, const char *cmd)
{
	struct irc_msg *m = malloc(sizeof *m);
	char tok[32];
	int count = 0;
	long long deadline;

	if (!m)
		H_FAIL("out of memory");
	snprintf(tok, sizeof tok, "sync%u", ++c->sync_seq);
	cli_send(c, "PING :%s", tok);
	deadline = h_now_ms() + T_SHORT;
	for (;;) {
		if (!cli_next(c, left_ms(deadline), m)) {
			free(m);
			H_FAIL("client %s: no PONG for PING :%s within %d ms%s", c->nick, tok,
			       T_SHORT, c->eof ? " (EOF)" : "");
		}
		if (!strcmp(m->command, "PONG") && !strcmp(msg_last(m), tok))
			break;
		if (!cmd || !strcasecmp(m->command, cmd))
			count++;
	}
	free(m);
	return count;
}

bool cli_none(struct cli *c, const char *cmd, int ms)
{
	struct irc_msg *m = malloc(sizeof *m);
	long long deadline = h_now_ms() + ms;
	bool none = true;

	while (none && cli_next(c, left_ms(deadline), m))
		if (!cmd || !strcasecmp(m->command, cmd))
			none = false;
	free(m);
	return none;
}

const char *msg_last(const struct irc_msg *m)
{
	return m->nparams > 0 && m->params[m->nparams - 1] ? m->params[m->nparams - 1] : "";
}

const char *msg_param(const struct irc_msg *m, int i)
{
	return i >= 0 && i < m->nparams && m->params[i] ? m->params[i] : "";
}

bool h_list_has(const char *list, const char *nick)
{
	char buf[1024];

	snprintf(buf, sizeof buf, "%s", list);
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		while (*t && strchr("@+%~&", *t))
			t++;
		/* USERHOST/ISON style "nick=+user@host" */
		char *eq = strchr(t, '=');
		if (eq)
			*eq = '\0';
		if (eq && eq > t && eq[-1] == '*')
			eq[-1] = '\0';
		if (!irc_casecmp(t, nick))
			return true;
	}
	return false;
}

void cli_join(struct cli *c, const char *chan)
{
	struct irc_msg m;
	bool listed = false;

	cli_send(c, "JOIN %s", chan);
	h_expect(__FILE__, __LINE__, c, "JOIN", c->nick, T_SHORT, &m);
	H_ASSERT(!irc_casecmp(msg_param(&m, 0), chan), "%s joined %s, wanted %s", c->nick,
		 msg_param(&m, 0), chan);
	H_ASSERT(cli_prefix_is(c, m.prefix), "JOIN prefix %s", m.prefix ? m.prefix : "(none)");
	for (;;) {
		if (!cli_next(c, T_SHORT, &m))
			H_FAIL("%s: no 366 after joining %s", c->nick, chan);
		if (!strcmp(m.command, "353")) {
			H_ASSERT(!irc_casecmp(msg_param(&m, 2), chan), "%s: 353 on joining %s is for %s",
				 c->nick, chan, msg_param(&m, 2));
			listed |= h_list_has(msg_last(&m), c->nick);
		}
		if (!strcmp(m.command, "366"))
			break;
	}
	H_ASSERT(listed, "%s: NAMES on joining %s does not list it", c->nick, chan);
	H_ASSERT(!irc_casecmp(msg_param(&m, 1), chan), "%s: 366 on joining %s is for %s", c->nick,
		 chan, msg_param(&m, 1));
}

void cli_expect_text(struct cli *c, const char *cmd, struct cli *from, const char *target,
		     const char *text)
{
	struct irc_msg m;

	h_expect(__FILE__, __LINE__, c, cmd, NULL, T_SHORT, &m);
	H_ASSERT(cli_prefix_is(from, m.prefix), "%s got %s from %s, expected from %s!%s@127.0.0.1",
		 c->nick, cmd, m.prefix ? m.prefix : "(none)", from->nick, from->user);
	H_ASSERT(!irc_casecmp(msg_param(&m, 0), target), "%s: %s target %s, expected %s", c->nick,
		 cmd, msg_param(&m, 0), target);
	H_ASSERT(m.nparams == 2 && !strcmp(msg_last(&m), text),
		 "%s: %s text '%s', expected '%s'", c->nick, cmd, msg_last(&m), text);
}

char *srv_log_text(struct srv *s)
{
	return read_file(s->log, NULL);
}

bool srv_log_has(struct srv *s, const char *text, int ms)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		char *log = srv_log_text(s);
		bool found = log != NULL && strstr(log, text) != NULL;

		free(log);
		if (found)
			return true;
		if (h_now_ms() >= deadline)
			return false;
		usleep(20 * 1000);	/* polling a file: it has no readiness signal */
	}
}

int srv_log_count(struct srv *s, const char *text)
{
	char *log = srv_log_text(s);
	int n = 0;

	for (const char *p = log; p != NULL && (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(log);
	return n;
}

bool srv_log_count_reaches(struct srv *s, const char *text, int n, int ms)
{
	long long deadline = h_now_ms() + ms;

	while (srv_log_count(s, text) < n) {
		if (h_now_ms() >= deadline)
			return false;
		nap_ms(20);
	}
	return true;
}

void h_fx_start(struct h_fx *f, const char *extra_conf, enum h_tester cast)
{
	f->s = srv_start(extra_conf);
	f->cast = cast;
	f->tester = cast != H_NO_TESTER ? cli_new(f->s, "tester") : NULL;
	f->speaker = cli_new(f->s, "speaker");
	f->listener = cli_new(f->s, "listener");
	f->alive = 0;
	if (cast == H_TESTER_IN_LIVE)
		cli_join(f->tester, "#live");
	cli_join(f->speaker, "#live");
	cli_join(f->listener, "#live");
	if (cast == H_TESTER_IN_LIVE)
		EXPECT_FROM(f->tester, "JOIN", "listener", NULL);
	EXPECT_FROM(f->speaker, "JOIN", "listener", NULL);
}

void h_fx_alive(struct h_fx *f)
{
	char text[64];

	if (f->tester != NULL)
		cli_sync(f->tester, NULL);
	snprintf(text, sizeof text, "still served %d", ++f->alive);
	cli_send(f->speaker, "PRIVMSG #live :%s", text);
	cli_expect_text(f->listener, "PRIVMSG", f->speaker, "#live", text);
	if (f->cast == H_TESTER_IN_LIVE)
		cli_expect_text(f->tester, "PRIVMSG", f->speaker, "#live", text);
	cli_send(f->listener, "PRIVMSG #live :%s back", text);
	snprintf(text + strlen(text), sizeof text - strlen(text), " back");
	cli_expect_text(f->speaker, "PRIVMSG", f->listener, "#live", text);
	if (f->cast == H_TESTER_IN_LIVE)
		cli_expect_text(f->tester, "PRIVMSG", f->listener, "#live", text);
}

void h_fx_stop(struct h_fx *f)
{
	h_fx_alive(f);
	srv_stop(f->s);
}

bool cli_prefix_is(const struct cli *c, const char *prefix)
{
	char a[256], b[256];
	const char *bang;

	if (!prefix || !(bang = strchr(prefix, '!')))
		return false;
	if (!prefix_nick_is(prefix, c->nick))
		return false;
	snprintf(a, sizeof a, "!%s@127.0.0.1", c->user);
	snprintf(b, sizeof b, "!~%s@127.0.0.1", c->user);
	return !strcmp(bang, a) || !strcmp(bang, b);
}

void cli_register_send(struct cli *c, const char *nick)
{
	size_t i;

	snprintf(c->nick, sizeof c->nick, "%s", nick);
	for (i = 0; i < 9 && nick[i]; i++)
		c->user[i] = isalnum((unsigned char)nick[i]) ?
			(char)tolower((unsigned char)nick[i]) : 'x';
	c->user[i] = '\0';
	cli_send(c, "NICK %s", nick);
	cli_send(c, "USER %s 0 * :Real %s", c->user, nick);
}

void cli_register_wait(struct cli *c)
{
	struct irc_msg *m = malloc(sizeof *m);
	const char *nick = c->nick;
	long long deadline;

	if (!m)
		H_FAIL("out of memory");
	deadline = h_now_ms() + T_LONG;
	for (;;) {
		if (!cli_next(c, left_ms(deadline), m)) {
			free(m);
			H_FAIL("client %s: no 001 welcome within %d ms%s", nick, T_LONG,
			       c->eof ? " (EOF)" : "");
		}
		if (!strcmp(m->command, "001"))
			break;
		/* registration refused: say why at once */
		if (!strcmp(m->command, "431") || !strcmp(m->command, "432") ||
		    !strcmp(m->command, "433") || !strcmp(m->command, "464") ||
		    !strcmp(m->command, "ERROR")) {
			char why[256];

			snprintf(why, sizeof why, "%s", msg_last(m));
			free(m);
			H_FAIL("client %s: registration refused: %s :%s", nick,
			       c->hist[(c->nhist - 1) % 16], why);
		}
	}
	for (;;) {
		if (!cli_next(c, left_ms(deadline), m)) {
			free(m);
			H_FAIL("client %s: registration did not end with 376 or 422%s", nick,
			       c->eof ? " (EOF)" : "");
		}
		if (!strcmp(m->command, "376") || !strcmp(m->command, "422"))
			break;
		if (!strcmp(m->command, "ERROR")) {
			free(m);
			H_FAIL("client %s: ERROR during registration", nick);
		}
	}
	free(m);
}

void cli_register(struct cli *c, const char *nick)
{
	cli_register_send(c, nick);
	cli_register_wait(c);
}

struct cli *cli_new(struct srv *s, const char *nick)
{
	struct cli *c = cli_connect(s);

	cli_register(c, nick);
	return c;
}

void h_expect(const char *file, int line, struct cli *c, const char *cmd,
	      const char *from, int ms, struct irc_msg *m)
{
	if (!cli_wait(c, cmd, from, ms, m))
		h_fail(file, line, "client %s: expected %s%s%s within %d ms, got %s",
		       c->nick[0] ? c->nick : "(unregistered)", cmd, from ? " from " : "",
		       from ? from : "", ms, c->eof ? "EOF" : "timeout");
}

void h_expect_eof(const char *file, int line, struct cli *c, int ms)
{
	if (!cli_wait_eof(c, ms))
		h_fail(file, line, "client %s: connection not closed within %d ms",
		       c->nick[0] ? c->nick : "(unregistered)", ms);
}

/* ------------------------------------------------------------ teardown */

void harness_teardown(void)
{
	for (int i = 0; i < g_ncli; i++)
		if (g_cli[i])
			cli_close(g_cli[i]);
	g_ncli = 0;
	for (int i = 0; i < H_MAXSRV; i++)
		if (g_srv[i]) {
			struct srv *s = g_srv[i];

			g_srv[i] = NULL;
			srv_kill(s);
			srv_free(s);
		}
	if (g_tmpdir[0]) {
		h_rmtree(g_tmpdir);
		g_tmpdir[0] = '\0';
	}
}

void harness_reap_orphans(void)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	pid_t me = getpgrp();
	int killed = 0;

	d = opendir("/proc/self/task");
	if (!d)
		return;
	while ((e = readdir(d))) {
		FILE *f;
		int pid;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%.20s/children", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fscanf(f, "%d", &pid) == 1) {
			pid_t pg = getpgid(pid);

			if (pg > 0 && pg != me) {
				fprintf(stderr, "warning: killing orphaned process %d (group %d)\n",
					pid, (int)pg);
				kill(-pg, SIGKILL);
				killed++;
			}
		}
		fclose(f);
	}
	closedir(d);
	if (killed) {
		long long deadline = h_now_ms() + 5000;

		while (h_now_ms() < deadline) {
			int st;
			pid_t w = waitpid(-1, &st, WNOHANG);

			if (w < 0)
				break;
			if (w == 0)
				nap_ms(5);
		}
	}
}

/* ------------------------------------------------------------ suites */

TCase *h_tcase(Suite *su, const char *name, double timeout,
	       void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup ? setup : harness_setup,
				  teardown ? teardown : harness_teardown);
	tcase_add_unchecked_fixture(tc, NULL, harness_reap_orphans);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(su, tc);
	return tc;
}

int h_suite_run(Suite *su)
{
	SRunner *sr = srunner_create(su);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	harness_finish();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
