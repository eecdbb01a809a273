/* forkserver: the process that forks every worker (in shmchatd-worker) */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "forkserver.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "ring.h"
#include "sandbox.h"
#include "worker.h"
#include "worker_tls.h"

/* a worker forked ahead of demand (forkserver.h, "The pool") */
struct forkserver_spare {
	pid_t pid;
	int fd;			/* our end of its channel; -1: told to go, not reaped yet */
};

struct forkserver_pool {
	uint32_t min, max;	/* min_spare_workers, max_spare_workers */
	uint32_t target;	/* spares kept now: min, doubled by each miss up to max */
	uint32_t ready;		/* spares waiting (fd >= 0) */
	uint32_t n;		/* entries: ready ones and the ones leaving */
	uint32_t sent_ready, sent_target;	/* last IPC_FS_POOL_STATE */
	uint64_t quiet_since;	/* clock_ms() of the last miss or halving */
	uint64_t retry_at;	/* after a failed fork(): not before */
	bool failing;		/* the last fork() failed (logged once) */
	struct forkserver_spare s[FORKSERVER_POOL_MAX * 2];
};

/*
 * The pool's memory is mapped MADV_DONTFORK: children do not inherit it.
 * The fork server rewrites it around every fork(); were it inherited, each
 * child would keep the page version of its own fork() to itself.
 */
static struct forkserver_pool *
forkserver_pool_new(void)
{
	struct forkserver_pool *pool = mmap(NULL, sizeof *pool, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (pool == MAP_FAILED) {
		log_warn("mmap of the worker pool");
		return NULL;
	}
	if (madvise(pool, sizeof *pool, MADV_DONTFORK) < 0) {
		log_warn("madvise(MADV_DONTFORK) of the worker pool");
		munmap(pool, sizeof *pool);
		return NULL;
	}
	return pool;
}

static void
forkserver_pool_remove(struct forkserver_pool *pool, uint32_t i)
{
	if (pool->s[i].fd >= 0) {
		close(pool->s[i].fd);
		pool->ready--;
	}
	pool->s[i] = pool->s[--pool->n];
}

/* a spare reaped: forget it (true), or it was not one */
static bool
forkserver_pool_reaped(struct forkserver_pool *pool, pid_t pid)
{
	for (uint32_t i = 0; i < pool->n; i++)
		if (pool->s[i].pid == pid) {
			forkserver_pool_remove(pool, i);
			return true;
		}
	return false;
}

/* tell the spares above the target to go: they leave on EOF */
static void
forkserver_pool_trim(struct forkserver_pool *pool)
{
	for (uint32_t i = 0; i < pool->n && pool->ready > pool->target; i++)
		if (pool->s[i].fd >= 0) {
			close(pool->s[i].fd);
			pool->s[i].fd = -1;
			pool->ready--;
		}
}

/* every spare goes (a new TLS context: they hold the old one) */
static void
forkserver_pool_flush(struct forkserver_pool *pool)
{
	uint32_t target = pool->target;

	pool->target = 0;
	forkserver_pool_trim(pool);
	pool->target = target;
}

static void
forkserver_pool_config(struct forkserver_pool *pool, const struct ipc_fs_pool *c)
{
	pool->max = c->max < FORKSERVER_POOL_MAX ? c->max : FORKSERVER_POOL_MAX;
	pool->min = c->min < pool->max ? c->min : pool->max;
	if (pool->target < pool->min)
		pool->target = pool->min;
	if (pool->target > pool->max)
		pool->target = pool->max;
	pool->quiet_since = clock_ms();
	forkserver_pool_trim(pool);
}

/* the master learns the pool's size when it is full again or shrank */
static void
forkserver_pool_report(struct forkserver_pool *pool, struct ipc_peer *p)
{
	struct ipc_fs_pool_state st = { .ready = pool->ready, .target = pool->target };

	if (pool->ready == pool->sent_ready && pool->target == pool->sent_target)
		return;
	if (pool->ready < pool->target && pool->target == pool->sent_target)
		return;	/* refilling: said when full */
	pool->sent_ready = pool->ready;
	pool->sent_target = pool->target;
	ipc_send(p, IPC_FS_POOL_STATE, &st, sizeof st);
}

/* milliseconds until the pool has something to do; 0: refill now */
static int
forkserver_pool_timeout(struct forkserver_pool *pool, uint64_t now)
{
	uint64_t due;

	if (pool->ready < pool->target && pool->n < FORKSERVER_POOL_MAX * 2)
		return now >= pool->retry_at ? 0 : (int)(pool->retry_at - now);
	if (pool->target <= pool->min)
		return -1;
	due = pool->quiet_since + FORKSERVER_POOL_DECAY_MS;
	return now >= due ? 0 : (int)(due - now);
}

/* in the spare: wait for the channel to the master, then be its worker */
static int
forkserver_spare_run(const struct ring *ring, int fd)
{
	struct ipc_peer p;
	struct ipc_hdr h;

	/* all a worker does before it has a client, done while nobody waits */
	if (worker_prepare(fd) < 0)
		return 1;
	ipc_peer_init(&p, fd);
	for (;;) {
		int wfd;
		ssize_t n = ipc_recv_into(&p, &h, sizeof h, &wfd);

		if (n == -EAGAIN || n == -EINTR) {
			if (worker_wait_readable(fd) < 0)
				return 1;
			continue;
		}
		if (n <= 0 || h.type != IPC_FS_TAKE || wfd < 0) {
			/* EOF: not needed any more, or the fork server is gone */
			if (wfd >= 0)
				close(wfd);
			return 0;
		}
		close(fd);
		return worker_run(ring, wfd);
	}
}

/* one more spare; false when fork() or the channel failed (retried later) */
static bool
forkserver_pool_fork(struct forkserver_pool *pool, const struct ring *ring)
{
	int sp[2], rc;
	pid_t pid;

	if ((rc = ipc_pair(sp)) < 0) {
		if (!pool->failing)
			log_warnc(-rc, "socketpair for a spare worker (retried every second)");
		pool->failing = true;
		return false;
	}
	if ((pid = fork()) == 0)
		_exit(forkserver_spare_run(ring, sp[1]));
	close(sp[1]);
	if (pid < 0) {
		/* a process limit reached stays reached for a while: said once */
		if (!pool->failing)
			log_warn("fork of a spare worker (retried every second)");
		pool->failing = true;
		close(sp[0]);
		return false;
	}
	pool->failing = false;
	pool->s[pool->n++] = (struct forkserver_spare){ .pid = pid, .fd = sp[0] };
	pool->ready++;
	return true;
}

/* the pool's turn when no request waits: one fork, or the decay */
static void
forkserver_pool_work(struct forkserver_pool *pool, struct ipc_peer *p,
    const struct ring *ring)
{
	uint64_t now = clock_ms();

	if (pool->ready < pool->target && pool->n < FORKSERVER_POOL_MAX * 2 &&
	    now >= pool->retry_at) {
		if (!forkserver_pool_fork(pool, ring))
			pool->retry_at = now + 1000;
	} else if (pool->target > pool->min &&
	    now >= pool->quiet_since + FORKSERVER_POOL_DECAY_MS) {
		pool->target = pool->target / 2 > pool->min ? pool->target / 2 : pool->min;
		pool->quiet_since = now;
		forkserver_pool_trim(pool);
	}
	forkserver_pool_report(pool, p);
}

/*
 * A spare takes the worker's channel to the master: its pid, or 0 when
 * none is left (a miss: the target doubles). A spare that died meanwhile
 * refuses the send and is dropped.
 */
static pid_t
forkserver_pool_take(struct forkserver_pool *pool, int wfd)
{
	for (uint32_t i = pool->n; i-- > 0;) {
		struct forkserver_spare *sp = &pool->s[i];
		struct ipc_peer to;
		struct ipc_hdr h;
		pid_t pid = sp->pid;
		int rc;

		if (sp->fd < 0)
			continue;
		ipc_peer_init(&to, sp->fd);
		rc = ipc_send_fd(&to, IPC_FS_TAKE, &h, sizeof h, wfd);
		/* a spare's channel is empty: anything queued means it is gone */
		if (rc < 0 || ipc_pending(&to)) {
			ipc_peer_close(&to);
			sp->fd = -1;
			pool->ready--;
			continue;
		}
		/* a worker now: its exit is the master's to hear of */
		forkserver_pool_remove(pool, i);
		return pid;
	}
	if (pool->max > 0) {
		pool->target = pool->target * 2 > pool->max ? pool->max :
		    pool->target > 0 ? pool->target * 2 : 1;
		pool->quiet_since = clock_ms();
	}
	return 0;
}

static void
forkserver_reap(struct ipc_peer *p, struct forkserver_pool *pool)
{
	for (;;) {
		struct ipc_fs_exited e;
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0) {
			if (pid < 0 && errno == EINTR)
				continue;
			return;
		}
		if (forkserver_pool_reaped(pool, pid))
			continue;
		e.pid = pid;
		e.status = status;
		ipc_send(p, IPC_FS_EXITED, &e, sizeof e);
	}
}

static void
forkserver_spawn_one(struct ipc_peer *p, const struct ring *ring,
    struct forkserver_pool *pool, const struct ipc_fs_spawn *req, int wfd)
{
	struct ipc_fs_spawned r = { .slot = req->slot, .gen = req->gen };
	pid_t pid = forkserver_pool_take(pool, wfd);

	if (pid == 0 && (pid = fork()) == 0) {
		/* the worker: nothing of ours survives worker_prepare's close_range */
		_exit(worker_prepare(wfd) < 0 ? 1 : worker_run(ring, wfd));
	}
	if (pid < 0) {
		r.err = errno;
		log_warn("fork of a worker");
	}
	r.pid = pid > 0 ? pid : 0;
	close(wfd);
	ipc_send(p, IPC_FS_SPAWNED, &r, sizeof r);
}

/*
 * A new TLS context from the files the master opened (IPC_FS_TLS_CERT
 * brought the certificate, this message the key); workers forked from
 * now on inherit it, running ones keep theirs (spares are replaced). The master learns the
 * outcome, and keeps serving with the old pair on failure.
 */
static int
forkserver_tls(struct ipc_peer *p, const void *msg, size_t len, int key_fd, int *cert_fd)
{
	const struct ipc_fs_tls *t = msg;
	struct {
		struct ipc_fs_tls_done d;
		char why[512];
	} out;
	struct ipc_out o;
	struct ipc_in in;
	const char *cert_path, *key_path, *ciphers;
	char err[512] = "";
	int rc = -1;

	ipc_in_init(&in, msg, len, sizeof *t);
	cert_path = ipc_get_str(&in);
	key_path = ipc_get_str(&in);
	ciphers = ipc_get_str(&in);
	if (cert_path == NULL || key_path == NULL || ciphers == NULL || key_fd < 0 ||
	    *cert_fd < 0)
		snprintf(err, sizeof err, "incomplete TLS request from the master");
	else
		rc = worker_tls_ctx_build(*cert_fd, key_fd, cert_path, key_path, ciphers,
		    t->min_version, err, sizeof err);
	if (key_fd >= 0)
		close(key_fd);
	if (*cert_fd >= 0)
		close(*cert_fd);
	*cert_fd = -1;
	ipc_out_init(&o, &out, sizeof out, sizeof out.d);
	out.d.id = t->id;
	out.d.ok = rc == 0;
	if (rc < 0)
		ipc_put_str(&o, err);
	ipc_send(p, IPC_FS_TLS_DONE, &out, o.len);
	return rc;
}

/*
 * Sandboxed before the first fork, so every worker inherits it
 * (sandbox.h), and not before: the master's TLS pair comes first, and
 * OpenSSL reads its own configuration file when the first context is
 * built. The master sends the pool's bounds after the pair.
 */
static int
forkserver_sandbox_once(bool *sandboxed)
{
	if (*sandboxed)
		return 0;
	if (sandbox_forkserver() < 0)
		return -1;
	*sandboxed = true;
	return 0;
}

int
forkserver_run(const struct ring *ring, int fd)
{
	/*
	 * On the stack, next to the frames every worker writes anyway: a page
	 * we write between two forks leaves the previous worker holding the
	 * old copy alone, a page of memory per client.
	 */
	union {
		struct ipc_fs_spawn req;
		char raw[IPC_MSG_MAX];	/* IPC_FS_TLS: paths; a spawn uses the start */
	} in;
	struct ipc_peer p;
	struct forkserver_pool *pool;
	sigset_t mask;
	int sigfd, cert_fd = -1;
	bool sandboxed = false;

	proc_keep_fds(&fd, 1);	/* stdio and our channel to the master */
	/*
	 * The master's death ends us too (the workers notice it on their
	 * own). Signals meant for "shmchatd" (Ctrl-C, pkill, a group SIGTERM)
	 * are the master's to act on: we leave when it closes our channel,
	 * after reporting every worker we reaped.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 0;
	worker_prefork();
	log_set_role("forkserver");
	proc_child_signals(PROC_SIG_TERM_IGNORE);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_SETMASK, &mask, NULL) < 0 ||
	    (sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_warn("signalfd");
		return 1;
	}
	if ((pool = forkserver_pool_new()) == NULL)
		return 1;
	ipc_peer_init(&p, fd);
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = fd, .events = POLLIN | (ipc_pending(&p) ? POLLOUT : 0) },
			{ .fd = sigfd, .events = POLLIN },
		};
		int ready = poll(pf, 2, sandboxed ? forkserver_pool_timeout(pool, clock_ms()) : -1);

		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof si) == sizeof si)
				;
			forkserver_reap(&p, pool);
		}
		if (ipc_flush(&p) < 0)
			return 0;	/* the master is gone */
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* nobody waits on us: the pool's turn (requests come first) */
			if (sandboxed)
				forkserver_pool_work(pool, &p, ring);
			continue;
		}
		for (int i = 0; i < 64; i++) {
			int wfd;
			ssize_t n = ipc_recv_into(&p, &in, sizeof in, &wfd);
			const struct ipc_fs_spawn *req = &in.req;

			if (n == -EAGAIN)
				break;
			if (n == -EBADMSG) {
				log_warnx("malformed message from the master, dropped");
				continue;
			}
			if (n <= 0)
				return 0;	/* EOF: the master is done with us */
			if (req->hdr.type == IPC_FS_TLS_CERT) {
				if (cert_fd >= 0)
					close(cert_fd);
				cert_fd = wfd;
				continue;
			}
			if (req->hdr.type == IPC_FS_TLS) {
				if (forkserver_tls(&p, &in, (size_t)n, wfd, &cert_fd) == 0)
					forkserver_pool_flush(pool);
				continue;
			}
			if (req->hdr.type == IPC_FS_POOL && wfd < 0) {
				if (forkserver_sandbox_once(&sandboxed) < 0)
					return 1;
				forkserver_pool_config(pool, (const struct ipc_fs_pool *)&in);
				/* a lowered maximum shows at once, not at the next refill */
				forkserver_pool_report(pool, &p);
				continue;
			}
			if (req->hdr.type != IPC_FS_SPAWN || (size_t)n != sizeof *req || wfd < 0) {
				log_warnx("unexpected message %u from the master", req->hdr.type);
				if (wfd >= 0)
					close(wfd);
				continue;
			}
			if (forkserver_sandbox_once(&sandboxed) < 0) {
				close(wfd);
				return 1;
			}
			forkserver_spawn_one(&p, ring, pool, req, wfd);
		}
	}
}
