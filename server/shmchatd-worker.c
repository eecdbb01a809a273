/*
 * shmchatd-worker: the fork server and, forked from it, every worker.
 *
 * Started by shmchatd only (forkserver.h): a small program linked with the
 * C library alone, so that fork() copies little and workers start fast.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "forkserver.h"
#include "log.h"
#include "ring.h"
#include "worker.h"

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
		char raw[256];
	} in;
	struct ipc_peer p;
	sigset_t mask;
	int sigfd;

	if (fd > 3)
		close_range(3, fd - 1, 0);
	close_range(fd + 1, ~0U, 0);
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
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
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
			if (req->hdr.type != IPC_FS_SPAWN || (size_t)n != sizeof *req || wfd < 0) {
				log_warnx("unexpected message %u from the master", req->hdr.type);
				if (wfd >= 0)
					close(wfd);
				continue;
			}
			forkserver_spawn_one(&p, sigfd, ring, req, wfd);
		}
	}
}


int
main(int argc, char **argv)
{
	struct ring ring;
	struct stat st;
	void *mem;
	char *end;
	long level;

	if (argc != 3 || strcmp(argv[1], "--fork-server") != 0) {
		fprintf(stderr, "%s: part of shmchatd, started by it; not to be run by hand\n",
		    FORKSERVER_PROG);
		return EX_USAGE;
	}
	level = strtol(argv[2], &end, 10);
	if (*end != '\0' || level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_INFO;
	log_init("forkserver", (enum log_level)level);
	if (fstat(FORKSERVER_FD_RING, &st) < 0 || st.st_size <= 0) {
		log_warn("the shared segment (descriptor %d)", FORKSERVER_FD_RING);
		return EX_OSERR;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    FORKSERVER_FD_RING, 0);
	if (mem == MAP_FAILED) {
		log_warn("mmap of the shared segment");
		return EX_OSERR;
	}
	close(FORKSERVER_FD_RING);
	if (ring_attach(&ring, mem, (size_t)st.st_size) < 0) {
		log_warnx("descriptor %d is not shmchatd's shared segment of this version",
		    FORKSERVER_FD_RING);
		return EX_SOFTWARE;
	}
	return forkserver_run(&ring, FORKSERVER_FD_IPC);
}
