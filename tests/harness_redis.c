#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "clock.h"
#include "harness_redis.h"

/* servers running, for h_redis_kill_all() */
static struct h_redis *running[8];

static void
forget(struct h_redis *r)
{
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (running[i] == r)
			running[i] = NULL;
}

static void
remember(struct h_redis *r)
{
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (running[i] == NULL) {
			running[i] = r;
			return;
		}
}

bool
h_redis_available(void)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *dir;
	char exe[4200];

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	snprintf(buf, sizeof(buf), "%s", path);
	for (dir = strtok_r(buf, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof(exe), "%s/redis-server", dir);
		if (access(exe, X_OK) == 0)
			return true;
	}
	return false;
}

bool
h_redis_init(struct h_redis *r, const char *parent, const char *password)
{
	memset(r, 0, sizeof(*r));
	if (snprintf(r->dir, sizeof(r->dir), "%s/redis-XXXXXX", parent) >= (int)sizeof(r->dir)) {
		snprintf(r->err, sizeof(r->err), "directory name too long");
		r->dir[0] = '\0';
		return false;
	}
	if (mkdtemp(r->dir) == NULL) {
		snprintf(r->err, sizeof(r->err), "mkdtemp %s: %s", r->dir, strerror(errno));
		r->dir[0] = '\0';
		return false;
	}
	/* world-accessible: the socket inside is for a daemon running as nobody too */
	chmod(r->dir, 0777);
	snprintf(r->sock, sizeof(r->sock), "%s/r.sock", r->dir);
	if (password != NULL)
		snprintf(r->password, sizeof(r->password), "%s", password);
	return true;
}

static void
reap(struct h_redis *r)
{
	int st;

	while (waitpid(r->pid, &st, 0) == -1 && errno == EINTR)
		;
	r->pid = 0;
	forget(r);
}

bool
h_redis_start(struct h_redis *r)
{
	int pfd[2];
	char buf[4096], port[16];
	const char *argv[32];
	int argc = 0;
	size_t have = 0;
	long long deadline = (long long)clock_ms() + 10000;
	pid_t parent = getpid();

	if (r->pid > 0) {
		snprintf(r->err, sizeof(r->err), "already running");
		return false;
	}
	snprintf(port, sizeof(port), "%u", r->port);
	argv[argc++] = "redis-server";
	argv[argc++] = "--port";
	argv[argc++] = port;
	if (r->port != 0) {
		argv[argc++] = "--bind";
		argv[argc++] = "127.0.0.1";
	}
	argv[argc++] = "--unixsocket";
	argv[argc++] = r->sock;
	argv[argc++] = "--unixsocketperm";
	argv[argc++] = "777";
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "no";
	argv[argc++] = "--daemonize";
	argv[argc++] = "no";
	argv[argc++] = "--dir";
	argv[argc++] = r->dir;
	argv[argc++] = "--loglevel";
	argv[argc++] = "notice";
	if (r->password[0] != '\0') {
		argv[argc++] = "--requirepass";
		argv[argc++] = r->password;
	}
	argv[argc] = NULL;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		return false;
	}
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		snprintf(r->err, sizeof(r->err), "fork: %s", strerror(errno));
		r->pid = 0;
		close(pfd[0]);
		close(pfd[1]);
		return false;
	}
	if (r->pid == 0) {
		/* dies with the test, whatever happens to the test */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(pfd[1], STDOUT_FILENO);
		execvp("redis-server", (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	remember(r);
	/* its log on stdout says when it listens */
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long left = deadline - (long long)clock_ms();
		ssize_t n;

		if (left <= 0) {
			close(pfd[0]);
			kill(r->pid, SIGKILL);
			reap(r);
			snprintf(r->err, sizeof(r->err), "redis-server not ready in 10 s");
			return false;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (have == sizeof(buf) - 1) {
			/* keep the tail only: the line may straddle */
			memmove(buf, buf + have / 2, have - have / 2);
			have -= have / 2;
		}
		n = read(pfd[0], buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(pfd[0]);
			reap(r);
			snprintf(r->err, sizeof(r->err), "redis-server exited before it was ready");
			return false;
		}
		have += (size_t)n;
		buf[have] = '\0';
		/* 7.0: "The server is now ready to accept connections at PATH",
		 * "Ready to accept connections" (TCP) before and after */
		if (strcasestr(buf, "ready to accept connections") != NULL)
			break;
	}
	/* it logs little more; what it does log goes nowhere (it ignores SIGPIPE) */
	close(pfd[0]);
	return true;
}

unsigned
h_redis_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

bool
h_redis_signal(struct h_redis *r, int sig)
{
	return r->pid > 0 && kill(r->pid, sig) == 0;
}

void
h_redis_kill(struct h_redis *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGKILL);
	reap(r);
}

bool
h_redis_restart(struct h_redis *r)
{
	h_redis_kill(r);
	return h_redis_start(r);
}

const char *
h_redis_url(const struct h_redis *r, bool tcp, char *buf, size_t cap)
{
	if (tcp)
		snprintf(buf, cap, "redis://127.0.0.1:%u/0", r->port);
	else
		snprintf(buf, cap, "unix:%s", r->sock);
	return buf;
}

static int
h_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
h_redis_rmtree(const char *dir)
{
	nftw(dir, h_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void
h_redis_cleanup(struct h_redis *r)
{
	h_redis_kill(r);
	if (r->dir[0] != '\0')
		h_redis_rmtree(r->dir);
	r->dir[0] = '\0';
}

void
h_redis_kill_all(void)
{
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (running[i] != NULL)
			h_redis_kill(running[i]);
}
