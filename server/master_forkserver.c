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
#include <linux/close_range.h>

#include "clock.h"
#include "conf.h"
#include "errbuf.h"
#include "master_forkserver.h"
#include "log.h"
#include "notify.h"

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

/*
 * In the child of vfork(), which shares our memory until it execs: system
 * calls only. The channel on FORKSERVER_FD_IPC, the segment on
 * FORKSERVER_FD_RING; everything else is made close-on-exec (one call, no
 * work per descriptor here: the exec closes them after we run on).
 */
static void
master_forkserver_exec(int exe_fd, int ipc_fd, int ring_fd, char *const argv[],
    char *const envp[])
{
	int a, b, exe;

	/* above both targets first, so no dup2() clobbers another one */
	if ((a = fcntl(ipc_fd, F_DUPFD_CLOEXEC, 16)) < 0 ||
	    (b = fcntl(ring_fd, F_DUPFD_CLOEXEC, 16)) < 0 ||
	    (exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, 16)) < 0 ||
	    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ||
	    dup2(a, FORKSERVER_FD_IPC) < 0 || dup2(b, FORKSERVER_FD_RING) < 0)
		_exit(126);
	/* AT_EMPTY_PATH: the descriptor opened as root, before privdrop */
	syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/*
 * vfork(), not fork(): the master may hold ten thousand channels and
 * megabytes of tables; fork() would copy its page tables and make every
 * page it writes afterwards fault (copy-on-write), while an upgraded image
 * starts its fork server during the pause. We wait only until the exec.
 */
static pid_t
master_forkserver_vfork(int exe_fd, int ipc_fd, int ring_fd, char *const argv[],
    char *const envp[])
{
	pid_t pid = vfork();

	if (pid == 0)
		master_forkserver_exec(exe_fd, ipc_fd, ring_fd, argv, envp);
	return pid;
}

int
master_forkserver_start(struct master_forkserver *fs, int ring_fd)
{
	char level[16];
	char *argv[] = { FORKSERVER_PROG, "--fork-server", level, NULL };
	char **envp;
	int sp[2], rc;
	pid_t pid;

	/* readiness and the watchdog are the master's */
	if ((envp = notify_environ()) == NULL) {
		log_warnx("out of memory for the fork server's environment");
		return -1;
	}
	if ((rc = ipc_pair(sp)) < 0) {
		log_warnc(-rc, "socketpair for the fork server");
		free(envp);
		return -1;
	}
	snprintf(level, sizeof level, "%d", (int)log_get_level());
	pid = master_forkserver_vfork(fs->exe_fd, sp[1], ring_fd, argv, envp);
	free(envp);
	close(sp[1]);
	if (pid < 0) {
		log_warn("vfork of the fork server");
		close(sp[0]);
		return -1;
	}
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

/* ------------------------------------------------------------------ TLS */

int
master_forkserver_tls_open(const struct conf *c, int fds[2], char *err, size_t errlen)
{
	const char *paths[2] = { c->tls_certificate, c->tls_key };

	fds[0] = fds[1] = -1;
	for (int i = 0; i < 2; i++)
		if (paths[i] == NULL ||
		    (fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
			errbuf_set(err, errlen, "cannot open the TLS %s %s: %s",
			    i ? "key" : "certificate", paths[i] ? paths[i] : "(none)",
			    strerror(paths[i] ? errno : ENOENT));
			if (i == 1)
				close(fds[0]);
			fds[0] = -1;
			return -1;
		}
	return 0;
}

static int
master_forkserver_tls_pair(struct master_forkserver *fs, const struct conf *c,
    int cert_fd, int key_fd, uint32_t id)
{
	char msg[IPC_MSG_MAX];
	struct ipc_hdr h;
	struct ipc_out o;
	struct ipc_fs_tls *t = ipc_out_init(&o, msg, sizeof msg, sizeof *t);
	int rc;

	t->id = id;
	t->min_version = c->tls_min_version;
	ipc_put_str(&o, c->tls_certificate ? c->tls_certificate : "");
	ipc_put_str(&o, c->tls_key ? c->tls_key : "");
	ipc_put_str(&o, c->tls_ciphers ? c->tls_ciphers : "");
	if (o.overflow)
		return -EMSGSIZE;
	if (fs->pid == 0 || fs->ipc.fd < 0)
		return -ECHILD;
	if ((rc = ipc_send_fd(&fs->ipc, IPC_FS_TLS_CERT, &h, sizeof h, cert_fd)) < 0)
		return rc;
	return ipc_send_fd(&fs->ipc, IPC_FS_TLS, msg, o.len, key_fd);
}

static int
master_forkserver_tls_send(struct master_forkserver *fs, const struct conf *c)
{
	int rc;

	if (fs->tls_cert_fd < 0)
		return 0;
	if ((rc = master_forkserver_tls_pair(fs, c, fs->tls_cert_fd, fs->tls_key_fd,
	    ++fs->tls_id)) < 0)
		log_warnc(-rc, "cannot pass the TLS certificate to the fork server");
	return rc;
}

int
master_forkserver_pool_send(struct master_forkserver *fs, const struct conf *c)
{
	struct ipc_fs_pool req = { .min = (uint32_t)c->min_spare_workers,
	    .max = (uint32_t)c->max_spare_workers };
	int rc;

	if (fs->pid == 0 || fs->ipc.fd < 0)
		rc = -ECHILD;
	else
		rc = ipc_send(&fs->ipc, IPC_FS_POOL, &req, sizeof req);
	if (rc < 0)
		log_warnc(-rc, "cannot tell the fork server the spare workers' bounds");
	return rc;
}

int
master_forkserver_setup(struct master_forkserver *fs, const struct conf *c)
{
	int rc = master_forkserver_tls_send(fs, c);

	fs->spares_ready = fs->spares_target = 0;
	return rc < 0 ? rc : master_forkserver_pool_send(fs, c);
}

int
master_forkserver_tls_reload(struct master_forkserver *fs, const struct conf *c, int fds[2])
{
	int rc;

	/* an earlier reload still unanswered: this one replaces it */
	if (fs->tls_new_cert_fd >= 0) {
		close(fs->tls_new_cert_fd);
		close(fs->tls_new_key_fd);
	}
	fs->tls_new_cert_fd = fds[0];
	fs->tls_new_key_fd = fds[1];
	fs->tls_new_id = ++fs->tls_id;
	if ((rc = master_forkserver_tls_pair(fs, c, fds[0], fds[1], fs->tls_new_id)) < 0) {
		log_warnc(-rc, "cannot pass the new TLS certificate to the fork server");
		close(fs->tls_new_cert_fd);
		close(fs->tls_new_key_fd);
		fs->tls_new_cert_fd = fs->tls_new_key_fd = -1;
	}
	return rc;
}

bool
master_forkserver_tls_done(struct master_forkserver *fs, const void *msg, size_t len)
{
	const struct ipc_fs_tls_done *d = msg;
	bool reload = d->id == fs->tls_new_id && fs->tls_new_cert_fd >= 0;
	const char *why = NULL;
	struct ipc_in in;

	if (!d->ok) {
		ipc_in_init(&in, msg, len, sizeof *d);
		why = ipc_get_str(&in);
	}
	if (reload && d->ok) {
		/* the new pair is the one in use: a restarted fork server gets it */
		close(fs->tls_cert_fd);
		close(fs->tls_key_fd);
		fs->tls_cert_fd = fs->tls_new_cert_fd;
		fs->tls_key_fd = fs->tls_new_key_fd;
	} else if (reload) {
		close(fs->tls_new_cert_fd);
		close(fs->tls_new_key_fd);
	}
	if (reload)
		fs->tls_new_cert_fd = fs->tls_new_key_fd = -1;
	if (d->ok) {
		log_notice("TLS certificate %s", reload ? "reloaded" : "loaded");
		fs->tls_loaded = true;
		return true;
	}
	log_errx("TLS certificate and key not loaded%s: %s",
	    fs->tls_loaded ? ", the previous pair is kept" : "", why ? why : "(no reason)");
	return fs->tls_loaded;
}

void
master_forkserver_stop(struct master_forkserver *fs)
{
	int *fds[] = { &fs->tls_cert_fd, &fs->tls_key_fd, &fs->tls_new_cert_fd,
	    &fs->tls_new_key_fd };

	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
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
