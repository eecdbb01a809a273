/* master_child: pids, reaping, the end of a worker, the fork server */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "hashtab.h"
#include "iplimit.h"
#include "log.h"
#include "master_accept.h"
#include "master_child.h"
#include "master_control.h"
#include "master_ring.h"
#include "master_requests.h"
#include "master_state.h"

/* pid -> slot of a running worker */
struct master_pid {
	pid_t pid;
	uint32_t slot;
	UT_hash_handle hh;
};

int
master_child_init(struct master *m)
{
	m->pids = NULL;		/* an empty uthash table */
	return 0;
}

void
master_child_free(struct master *m)
{
	struct master_pid *p, *tmp;

	HASH_ITER(hh, m->pids, p, tmp) {
		HASH_DEL(m->pids, p);
		free(p);
	}
}

bool
master_child_put(struct master *m, pid_t pid, uint32_t slot)
{
	struct master_pid *p = malloc(sizeof *p);
	unsigned before = HASH_COUNT(m->pids);

	if (p == NULL)
		return false;
	p->pid = pid;
	p->slot = slot;
	HASH_ADD(hh, m->pids, pid, sizeof p->pid, p);
	if (HASH_COUNT(m->pids) == before) {
		free(p);
		return false;
	}
	return true;
}

/* forget pid; its slot, or -1 */
static int
master_child_take(struct master *m, pid_t pid)
{
	struct master_pid *p;
	int slot;

	HASH_FIND(hh, m->pids, &pid, sizeof pid, p);
	if (p == NULL)
		return -1;
	slot = (int)p->slot;
	HASH_DEL(m->pids, p);
	free(p);
	return slot;
}

void
master_child_gone(struct master *m, uint32_t slot, int status)
{
	struct mslot *ms = &m->slots[slot];
	struct dir_user *u = &m->ds.dir.users[slot];
	char why[64];

	/*
	 * What the worker said before dying (its QUIT and reason, typically)
	 * is still in the socket: hear it before declaring the client lost.
	 */
	if (ms->pid > 0)
		master_child_take(m, ms->pid);
	ms->reaped = true;
	if (ms->ipc.fd >= 0 && ms->ipc.epfd >= 0)
		ipc_peer_receive(&ms->ipc, 256);

	/* SIGSYS: its seccomp filter (sandbox.h); which call, only the
	 * kernel's audit log says (type 1326, syscall=N) */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(why, sizeof why, "killed by SIGSYS: a forbidden system call");
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_warnx("worker %ld (%s) %s (seccomp; the kernel's audit log names it)",
		    (long)ms->pid, u->nick[0] ? u->nick : u->host, why);
	else if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
		log_warnx("worker %ld (%s) %s", (long)ms->pid, u->nick[0] ? u->nick : u->host, why);
	else
		log_debug("worker %ld (%s) %s", (long)ms->pid, u->nick[0] ? u->nick : u->host, why);

	if (ring_abandon(&m->ring, slot, u->gen) > 0)
		m->ds.fanout_due = true;
	/* the directory hears of it in the ring's order: first the QUIT, then
	 * the slot is freed (master_requests.c) */
	if (u->state == DIR_REGISTERED && !m->stopping) {
		char reason[96];
		snprintf(reason, sizeof reason, "Connection lost (worker %s)", why);
		master_requests_push(m, slot, u->gen, MASTER_REQ_QUIT, reason, strlen(reason));
	}
	master_requests_push(m, slot, u->gen, MASTER_REQ_RELEASE, NULL, 0);
	ipc_peer_close(&ms->ipc);
	if (ms->pending_fd >= 0)
		close(ms->pending_fd);
	ms->pending_fd = -1;
	if (ms->counted)
		iplimit_del(m->per_ip, u->host);
	ms->counted = false;
	/* remove from the live list (swap with last) */
	uint32_t last = m->live[--m->nlive];
	m->live[ms->live_idx] = last;
	m->slots[last].live_idx = ms->live_idx;
	master_ring_forget(m, slot);
	ms->pid = 0;
	ms->space_wait = false;
}

/* a process is gone: ours (SIGCHLD) or a worker the fork server reaped */
static void master_child_fs_lost(struct master *m);

static void
master_child_exited(struct master *m, pid_t pid, int status)
{
	int slot;

	if (master_admin_reaped(m, pid, status))
		return;
	if (pid == m->up.check_pid && pid > 0) {
		/* an upgrade's check: master_upgrade reads the verdict */
		m->up.check_status = status;
		m->up.check_reaped = true;
		return;
	}
	if (pid == m->fs.retiring_pid && pid > 0) {
		m->fs.retiring_pid = 0;	/* left after an upgrade: expected */
		return;
	}
	if (pid == m->fs.pid) {
		if (!m->stopping)
			log_warnx("the fork server (pid %ld) %s %d", (long)pid,
			    WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		m->fs.pid = 0;
		master_child_fs_lost(m);
		return;
	}
	slot = master_child_take(m, pid);
	if (slot < 0) {
		log_debug("reaped unknown child %ld", (long)pid);
		return;
	}
	master_child_gone(m, slot, status);
}

void
master_child_reap(struct master *m)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid == 0)
			return;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitpid");
			return;
		}
		master_child_exited(m, pid, status);
	}
}

/* ------------------------------------------------------------ fork server */

/* the fork server answered a spawn request */
static void
master_child_spawned(struct master *m, const struct ipc_fs_spawned *r)
{
	struct mslot *ms;

	if (r->slot >= m->nslots || m->ds.dir.users[r->slot].gen != r->gen ||
	    (ms = &m->slots[r->slot])->pending_fd < 0) {
		/* the slot is gone already; a real worker will exit on EOF */
		return;
	}
	if (r->pid > 0) {
		ms->pid = r->pid;
		if (!master_child_put(m, r->pid, r->slot)) {
			/* a worker nobody could reap as its own: end it now */
			log_warnx("out of memory recording worker %ld; ending it", (long)r->pid);
			master_slot_kill(ms);
			master_child_gone(m, r->slot, SIGKILL);
			return;
		}
		close(ms->pending_fd);
		ms->pending_fd = -1;
		log_debug("slot %u: worker %ld", r->slot, (long)r->pid);
		return;
	}
	log_warnc(r->err, "no worker for %s", m->ds.dir.users[r->slot].host);
	master_accept_refuse(ms->pending_fd, m->ds.dir.users[r->slot].host,
	    "Server is busy, try again later");
	ms->pending_fd = -1;
	master_child_gone(m, r->slot, 0);
}

static bool
master_child_fs_dispatch(void *arg, struct ipc_peer *p, enum ipc_event ev,
    const void *msg, size_t len, int fd)
{
	struct master *m = arg;
	const struct ipc_hdr *h = msg;

	(void)p;
	if (fd >= 0)
		close(fd);
	if (ev == IPC_EV_EOF)
		return false;	/* it is exiting: SIGCHLD finishes the job */
	if (ev == IPC_EV_BAD) {
		log_warnx("malformed message from the fork server, dropped");
		return true;
	}
	if (h->type == IPC_FS_SPAWNED) {
		master_child_spawned(m, msg);
	} else if (h->type == IPC_FS_EXITED) {
		const struct ipc_fs_exited *e = msg;
		master_child_exited(m, e->pid, e->status);
	} else if (h->type == IPC_FS_POOL_STATE) {
		const struct ipc_fs_pool_state *st = msg;
		m->fs.spares_ready = st->ready;
		m->fs.spares_target = st->target;
	} else if (h->type == IPC_FS_TLS_DONE) {
		/* no pair at all since the start: TLS listeners would only refuse */
		if (!master_forkserver_tls_done(&m->fs, msg, len)) {
			m->exit_code = 1;
			master_control_shutdown(m, "the TLS certificate cannot be loaded");
		}
	} else
		log_warnx("unexpected message %u from the fork server", h->type);
	return true;
}

/* the former fork server (an upgrade): only its reports of reaped workers */
static bool
master_child_old_fs_dispatch(void *arg, struct ipc_peer *p, enum ipc_event ev,
    const void *msg, size_t len, int fd)
{
	struct master *m = arg;
	const struct ipc_hdr *h = msg;

	(void)p;
	(void)len;
	if (fd >= 0)
		close(fd);
	if (ev == IPC_EV_EOF) {
		/* it has left: the workers it had not reaped are ours (SIGCHLD) */
		ipc_peer_close(&m->fs.retiring);
		return false;
	}
	if (ev == IPC_EV_MSG && h->type == IPC_FS_EXITED) {
		const struct ipc_fs_exited *e = msg;
		master_child_exited(m, e->pid, e->status);
	}
	return true;
}

int
master_child_retire_forkserver(struct master *m, int fd, pid_t pid)
{
	if (fd < 0)
		return 0;
	m->fs.retiring_pid = pid;
	ipc_peer_init(&m->fs.retiring, fd);
	/* it leaves at EOF, after reporting what it reaped: read on until then */
	if (shutdown(fd, SHUT_WR) < 0)
		log_warn("upgrade: shutdown of the former fork server's channel");
	if (ipc_peer_watch(&m->fs.retiring, m->epfd, EV(EV_FORKSERVER, 1), m->fs.retiring_rbuf,
	    sizeof m->fs.retiring_rbuf, master_child_old_fs_dispatch, m) < 0) {
		log_warn("epoll_ctl for the former fork server");
		return -1;
	}
	return 0;
}

int
master_child_watch_forkserver(struct master *m)
{
	if (ipc_peer_watch(&m->fs.ipc, m->epfd, EV(EV_FORKSERVER, 0), m->fs.rbuf,
	    sizeof m->fs.rbuf,
	    master_child_fs_dispatch, m) < 0) {
		log_warn("epoll_ctl for the fork server");
		return -1;
	}
	return 0;
}

/* spawns that were in flight when the fork server died never happen */
static void
master_child_fs_lost(struct master *m)
{
	struct master_forkserver *fs = &m->fs;

	ipc_peer_close(&fs->ipc);
	for (uint32_t i = 0; i < m->nlive;) {
		uint32_t slot = m->live[i];
		struct mslot *ms = &m->slots[slot];
		if (ms->pid == 0 && ms->pending_fd >= 0) {
			struct ipc_fs_spawned r = { .slot = slot,
			    .gen = m->ds.dir.users[slot].gen, .err = ECHILD };
			master_child_spawned(m, &r);	/* frees the slot: same i again */
		} else
			i++;
	}
	/* workers it reaped but could not report: their channel is closed */
	for (uint32_t i = 0; i < m->nlive;) {
		uint32_t slot = m->live[i];
		struct mslot *ms = &m->slots[slot];
		if (ms->eof && ms->pid > 0 && !ms->reaped)
			master_child_gone(m, slot, 0);
		else
			i++;
	}
	if (m->stopping)
		return;
	/* dead within two seconds of its start: it cannot run (a missing or
	 * unreadable program); restarting it would only spin */
	if (clock_s() - fs->started < 2) {
		log_errx("the fork server (%s) died right after its start; stopping", fs->path);
		m->exit_code = 1;
		master_control_shutdown(m, "the fork server cannot run");
		return;
	}
	/* its workers are ours now (child subreaper); a new one for new clients */
	if (master_forkserver_start(&m->fs, m->seg.fd) == 0 &&
	    master_forkserver_setup(&m->fs, m->cfg) == 0 &&
	    master_child_watch_forkserver(m) == 0)
		log_notice("fork server restarted (pid %ld)", (long)m->fs.pid);
}
