/* forkserver: the process that forks every worker (in shmchatd-worker) */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkserver.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "ring.h"
#include "sandbox.h"
#include "worker.h"
#include "worker_tls.h"

static void
forkserver_reap(struct ipc_peer *p)
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
		e.pid = pid;
		e.status = status;
		ipc_send(p, IPC_FS_EXITED, &e, sizeof e);
	}
}

static void
forkserver_spawn_one(struct ipc_peer *p, int sigfd, const struct ring *ring,
    const struct ipc_fs_spawn *req, int wfd)
{
	struct ipc_fs_spawned r = { .slot = req->slot, .gen = req->gen };
	pid_t pid = fork();

	if (pid == 0) {
		/* the worker: nothing of ours survives worker_setup's close_range */
		close(sigfd);
		_exit(worker_run(ring, wfd));
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
 * now on inherit it, running ones keep theirs. The master learns the
 * outcome, and keeps serving with the old pair on failure.
 */
static void
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
	ipc_peer_init(&p, fd);
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = fd, .events = POLLIN | (ipc_pending(&p) ? POLLOUT : 0) },
			{ .fd = sigfd, .events = POLLIN },
		};

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof si) == sizeof si)
				;
			forkserver_reap(&p);
		}
		if (ipc_flush(&p) < 0)
			return 0;	/* the master is gone */
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
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
				forkserver_tls(&p, &in, (size_t)n, wfd, &cert_fd);
				continue;
			}
			if (req->hdr.type != IPC_FS_SPAWN || (size_t)n != sizeof *req || wfd < 0) {
				log_warnx("unexpected message %u from the master", req->hdr.type);
				if (wfd >= 0)
					close(wfd);
				continue;
			}
			/*
			 * Sandboxed before the first fork, so every worker
			 * inherits it (sandbox.h), and not before: the master's
			 * TLS pair comes first, and OpenSSL reads its own
			 * configuration file when the first context is built.
			 */
			if (!sandboxed) {
				if (sandbox_forkserver() < 0) {
					close(wfd);
					return 1;
				}
				sandboxed = true;
			}
			forkserver_spawn_one(&p, sigfd, ring, req, wfd);
		}
	}
}
