/* master_forkserver: the master's side of the fork server: find it, start it, ask it */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "master_forkserver.h"
#include "log.h"
#include "notify.h"
#include "proc.h"

static int
master_forkserver_open(struct master_forkserver *fs)
{
	fs->exe_fd = open(fs->path, O_PATH | O_CLOEXEC);
	return fs->exe_fd >= 0 ? 0 : -1;
}

int
master_forkserver_find(struct master_forkserver *fs)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	fs->exe_fd = -1;
	/* beside our own binary: a build tree, or a test of one */
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(fs->path, sizeof fs->path, "%s/" FORKSERVER_PROG,
			    self) < sizeof fs->path && access(fs->path, X_OK) == 0 &&
			    master_forkserver_open(fs) == 0)
				return 0;
		}
	}
	snprintf(fs->path, sizeof fs->path, "%s/" FORKSERVER_PROG, PKGLIBEXECDIR);
	if (access(fs->path, X_OK) == 0 && master_forkserver_open(fs) == 0)
		return 0;
	log_warn("cannot run %s (the worker program; is shmchat installed completely?)",
	    fs->path);
	return -1;
}

/* in the child: the channel on FORKSERVER_FD_IPC, the segment on
 * FORKSERVER_FD_RING, nothing else; never returns */
static void
master_forkserver_exec(const struct master_forkserver *fs, int ipc_fd, int ring_fd)
{
	char level[16];
	int a, b, exe;

	/* above both targets first, so no dup2() clobbers another one */
	if ((a = fcntl(ipc_fd, F_DUPFD_CLOEXEC, 16)) < 0 ||
	    (b = fcntl(ring_fd, F_DUPFD_CLOEXEC, 16)) < 0 ||
	    (exe = fcntl(fs->exe_fd, F_DUPFD_CLOEXEC, 16)) < 0 ||
	    dup2(a, FORKSERVER_FD_IPC) < 0 || dup2(b, FORKSERVER_FD_RING) < 0) {
		log_warn("fork server descriptors");
		_exit(127);
	}
	/* keep only those two, and the program (close-on-exec) */
	proc_keep_fds((const int[]){ FORKSERVER_FD_IPC, FORKSERVER_FD_RING, exe }, 3);
	notify_forget();	/* readiness and the watchdog are the master's */
	snprintf(level, sizeof level, "%d", (int)log_get_level());
	{
		char *const argv[] = { FORKSERVER_PROG, "--fork-server", level, NULL };

		/* AT_EMPTY_PATH: the descriptor opened as root, before privdrop */
		syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
	}
	log_warn("exec %s", fs->path);
	_exit(127);
}

int
master_forkserver_start(struct master_forkserver *fs, int ring_fd)
{
	int sp[2], rc;
	pid_t pid;

	if ((rc = ipc_pair(sp)) < 0) {
		log_warnc(-rc, "socketpair for the fork server");
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork of the fork server");
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0)
		master_forkserver_exec(fs, sp[1], ring_fd);
	close(sp[1]);
	fs->started = clock_s();
	fs->pid = pid;
	ipc_peer_init(&fs->ipc, sp[0]);
	return 0;
}

int
master_forkserver_spawn(struct master_forkserver *fs, uint32_t slot, uint32_t gen, int wfd)
{
	struct ipc_fs_spawn req = { .slot = slot, .gen = gen };

	if (fs->pid == 0 || fs->ipc.fd < 0)
		return -ECHILD;
	return ipc_send_fd(&fs->ipc, IPC_FS_SPAWN, &req, sizeof req, wfd);
}

void
master_forkserver_stop(struct master_forkserver *fs)
{
	if (fs->ipc.fd >= 0)
		ipc_peer_close(&fs->ipc);
	if (fs->pid > 0) {
		while (waitpid(fs->pid, NULL, 0) < 0 && errno == EINTR)
			;
		fs->pid = 0;
	}
	if (fs->exe_fd >= 0)
		close(fs->exe_fd);
	fs->exe_fd = -1;
}
