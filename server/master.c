/* master: event loop, accept + fork, reaping, signals, reload, shutdown */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fanout.h"
#include "irc.h"
#include "log.h"
#include "master.h"
#include "master_forkserver.h"
#include "master_req.h"
#include "iplimit.h"
#include "privdrop.h"

#define EV_LISTEN	1u
#define EV_SIGNAL	2u
#define EV_TIMER	3u
#define EV_WORKER	4u
#define EV_ADMIN	5u	/* master_admin.c tags its fd the same way */
#define EV_FORKSERVER	6u
#define EV(type, idx)	(((uint64_t)(type) << 32) | (uint32_t)(idx))

#define TICK_MS		200
#define FANOUT_BUDGET	4096
#define SHUTDOWN_GRACE	10	/* seconds before remaining workers get SIGKILL */

/* ------------------------------------------------------------ pid -> slot */

struct pidmap {
	pid_t *pids;
	uint32_t *slots;
	uint32_t cap;
};

static struct pidmap *
pidmap_new(uint32_t n)
{
	struct pidmap *p = calloc(1, sizeof *p);
	uint32_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	if (p == NULL)
		return NULL;
	p->cap = cap;
	p->pids = calloc(cap, sizeof *p->pids);
	p->slots = calloc(cap, sizeof *p->slots);
	if (!p->pids || !p->slots) {
		free(p->pids);
		free(p->slots);
		free(p);
		return NULL;
	}
	return p;
}

/* linear probing with backward-shift deletion: no tombstones */
static uint32_t
pidmap_pos(const struct pidmap *p, pid_t pid)
{
	uint32_t i = ((uint32_t)pid * 2654435761u) & (p->cap - 1);

	while (p->pids[i] != 0 && p->pids[i] != pid)
		i = (i + 1) & (p->cap - 1);
	return i;
}

static void
pidmap_put(struct pidmap *p, pid_t pid, uint32_t slot)
{
	uint32_t i = pidmap_pos(p, pid);

	p->pids[i] = pid;
	p->slots[i] = slot;
}

static int
pidmap_take(struct pidmap *p, pid_t pid)
{
	uint32_t i = pidmap_pos(p, pid), j, mask = p->cap - 1;
	int slot;

	if (p->pids[i] == 0)
		return -1;
	slot = p->slots[i];
	p->pids[i] = 0;
	for (j = (i + 1) & mask; p->pids[j] != 0; j = (j + 1) & mask) {
		uint32_t home = ((uint32_t)p->pids[j] * 2654435761u) & mask;
		/* move j back to i if its home is not in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			p->pids[i] = p->pids[j];
			p->slots[i] = p->slots[j];
			p->pids[j] = 0;
			i = j;
		}
	}
	return slot;
}

static void
pidmap_free(struct pidmap *p)
{
	if (p == NULL)
		return;
	free(p->pids);
	free(p->slots);
	free(p);
}

/* ------------------------------------------------------------- helpers */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
master_status_text(struct master *m, char *out, size_t outlen)
{
	snprintf(out, outlen, "Listening on %s; %u clients, %u channels",
	    m->listen_desc, m->dir.nregistered, m->dir.nchannels);
}

static void
master_update_status(struct master *m)
{
	static char last[512];
	char status[512];

	master_status_text(m, status, sizeof status);
	if (strcmp(status, last) != 0) {
		notify_status(&m->notify, status);
		memcpy(last, status, sizeof last);
	}
}

struct pending_hdr {
	struct ring_target t;
	uint32_t owner, owner_gen;
	size_t len;
};

int
master_emit_as(struct master *m, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const void *payload, size_t len)
{
	struct pending_hdr h = { *t, owner, owner_gen, len };
	int rc;

	if (buf_used(&m->pending) == 0) {
		rc = ring_publish(&m->ring, owner, owner_gen, t, payload, len, NULL);
		if (rc == 0) {
			m->fanout_due = true;
			return 0;
		}
		if (rc != -EAGAIN)
			return rc;
	}
	/* the ring is full: keep order by queueing behind what already waits */
	h.t.extra = NULL;
	if (buf_append(&m->pending, &h, sizeof h) < 0 ||
	    buf_append(&m->pending, t->extra, t->extra_len) < 0 ||
	    buf_append(&m->pending, payload, len) < 0) {
		log_warnx("out of memory queueing a record; dropped");
		return -ENOMEM;
	}
	return 0;
}

int
master_emit(struct master *m, const struct ring_target *t, const void *payload, size_t len)
{
	return master_emit_as(m, RING_OWNER_MASTER, 0, t, payload, len);
}

static void
master_flush_pending(struct master *m)
{
	while (buf_used(&m->pending) > 0) {
		struct pending_hdr h;
		const char *p = buf_head(&m->pending);
		int rc;

		memcpy(&h, p, sizeof h);
		h.t.extra = p + sizeof h;
		rc = ring_publish(&m->ring, h.owner, h.owner_gen, &h.t,
		    p + sizeof h + h.t.extra_len, h.len, NULL);
		if (rc == -EAGAIN)
			return;
		if (rc < 0)
			log_warnx("dropping a queued record: %s", strerror(-rc));
		m->fanout_due = true;
		buf_consume(&m->pending, sizeof h + h.t.extra_len + h.len);
	}
}

static void
master_arm_output(struct master *m, uint32_t slot)
{
	struct mslot *ms = &m->slots[slot];

	if (ipc_pending(&ms->ipc) && ms->in_epoll && !ms->out_watched) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
		    .data.u64 = EV(EV_WORKER, slot) };
		if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, ms->ipc.fd, &ev) == 0)
			ms->out_watched = true;
	}
}

void
master_send(struct master *m, uint32_t slot, uint16_t type, void *msg, size_t len)
{
	struct mslot *ms = &m->slots[slot];

	/* a worker still being forked reads it right after its assignment */
	if (ms->ipc.fd < 0 || ms->ipc.dead || ms->reaped)
		return;
	if (ipc_send(&ms->ipc, type, msg, len) == 0)
		master_arm_output(m, slot);
}

void
master_close_slot(struct master *m, uint32_t slot, const char *reason)
{
	char msg[IPC_WORKER_MSG_MAX];
	size_t n = strlen(reason) + 1;

	if (n > sizeof msg - sizeof(struct ipc_hdr))
		n = sizeof msg - sizeof(struct ipc_hdr);
	memcpy(msg + sizeof(struct ipc_hdr), reason, n);
	msg[sizeof(struct ipc_hdr) + n - 1] = '\0';
	master_send(m, slot, IPC_CLOSE, msg, sizeof(struct ipc_hdr) + n);
}

/* what a worker needs of the configuration */
static void
master_fill_wsettings(struct master *m, struct ipc_wsettings *s, bool exempt)
{
	memset(s, 0, sizeof *s);
	s->flood_rate = exempt ? 0 : m->cfg->flood_rate;
	s->flood_burst = m->cfg->flood_burst;
	s->flood_queue = m->cfg->flood_queue;
	s->sendq = m->cfg->sendq;
	s->ping_interval = m->cfg->ping_interval;
	s->ping_timeout = m->cfg->ping_timeout;
	s->registration_timeout = m->cfg->registration_timeout;
	s->nick_len = m->cfg->nick_len;
	s->channel_len = m->cfg->channel_len;
	s->topic_len = m->cfg->topic_len;
	s->away_len = m->cfg->away_len;
	s->max_channels = m->cfg->max_channels_per_client;
	snprintf(s->server_name, sizeof s->server_name, "%s", m->cfg->server_name);
	snprintf(s->description, sizeof s->description, "%s", m->cfg->description);
	if (m->cfg->password != NULL)
		snprintf(s->password, sizeof s->password, "%s", m->cfg->password);
}

static void
master_send_settings(struct master *m, uint32_t slot)
{
	struct ipc_settings s;

	master_fill_wsettings(m, &s.s, m->slots[slot].exempt);
	master_send(m, slot, IPC_SETTINGS, &s, sizeof s);
}

/* the fork server's channel: EPOLLOUT while requests wait in its queue */
static void
master_fs_arm_output(struct master *m)
{
	struct master_forkserver *fs = &m->fs;
	bool want = ipc_pending(&fs->ipc);

	if (fs->in_epoll && want != fs->out_watched) {
		struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0),
		    .data.u64 = EV(EV_FORKSERVER, 0) };
		if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fs->ipc.fd, &ev) == 0)
			fs->out_watched = want;
	}
}

/* ------------------------------------------------------------ accept/fork */

static void
master_refuse(int fd, const char *host, const char *why)
{
	char line[IRC_MAXLINE + 1];
	size_t n = irc_fmt(line, sizeof line, "ERROR :Closing Link: %s (%s)", host, why);

	/* best effort on a fresh socket: the kernel buffer takes one line */
	(void)!write(fd, line, n);
	close(fd);
}

static void
master_accept_one(struct master *m, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[DIR_HOST_MAX + 1];
	int fd, sp[2], rc, slot;
	uint32_t gen;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/*
			 * The pending connection stays readable: stop watching
			 * the listeners for a second instead of spinning.
			 */
			log_warn("accept (pausing new connections for 1 s)");
			for (int i = 0; i < m->ls.n; i++)
				epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->ls.fds[i], NULL);
			m->accept_resume_ms = now_ms() + 1000;
			errno = EAGAIN;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	listen_format_addr((struct sockaddr *)&ss, host, sizeof host, false);
	bool exempt = false;
	for (int i = 0; i < m->cfg->nlimits_exempt; i++)
		if (strcmp(host, m->cfg->limits_exempt[i]) == 0)
			exempt = true;
	if (host[0] == ':') {
		/* "::1" would read as a prefix separator in nick!user@host */
		memmove(host + 1, host, strlen(host) + 1);
		host[0] = '0';
	}
	if (m->stopping) {
		master_refuse(fd, host, "Server shutting down");
		return;
	}
	if (m->dir.nconnected >= (uint32_t)m->cfg->max_clients ||
	    (slot = dir_user_alloc(&m->dir, &gen)) < 0) {
		log_notice("refusing %s: server full (%d clients)", host, m->cfg->max_clients);
		master_refuse(fd, host, "Server is full");
		return;
	}
	/* before any process exists for it: a flood from one address stays cheap */
	if (!exempt && m->cfg->max_clients_per_ip > 0 &&
	    iplimit_count(m->peers, host) >= (uint32_t)m->cfg->max_clients_per_ip) {
		dir_user_release(&m->dir, slot);
		log_notice("refusing %s: %d connections from that address already", host,
		    m->cfg->max_clients_per_ip);
		master_refuse(fd, host, "Too many connections from your address");
		return;
	}
	snprintf(m->dir.users[slot].host, sizeof m->dir.users[slot].host, "%s", host);
	if ((rc = ipc_pair(sp)) < 0) {
		errno = -rc;
		log_warn("socketpair for %s", host);
		dir_user_release(&m->dir, slot);
		master_refuse(fd, host, "Server is busy, try again later");
		return;
	}
	ring_inbox_reset(&m->ring, slot);

	/*
	 * The client's socket goes to the worker with its first message; the
	 * message waits in the socketpair until the fork server has forked
	 * the worker that owns the other end.
	 */
	struct mslot *ms = &m->slots[slot];
	struct ipc_assign a = { .slot = slot, .gen = gen };
	memset(ms, 0, sizeof *ms);
	ms->pending_fd = -1;
	ms->exempt = exempt;
	ipc_peer_init(&ms->ipc, sp[0]);
	snprintf(a.host, sizeof a.host, "%s", host);
	master_fill_wsettings(m, &a.s, exempt);
	if ((rc = ipc_send_fd(&ms->ipc, IPC_ASSIGN, &a, sizeof a, fd)) < 0 ||
	    (rc = master_forkserver_spawn(&m->fs, slot, gen, sp[1])) < 0) {
		errno = -rc;
		log_warn("cannot start a worker for %s", host);
		close(sp[1]);
		ipc_peer_close(&ms->ipc);
		dir_user_release(&m->dir, slot);
		master_refuse(fd, host, "Server is busy, try again later");
		return;
	}
	close(sp[1]);
	ms->pending_fd = fd;	/* kept to tell the client if fork() fails */
	ms->counted = iplimit_add(m->peers, host) > 0;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_WORKER, slot) };
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, sp[0], &ev) == 0)
		ms->in_epoll = true;
	else
		log_warn("epoll_ctl for the worker of %s", host);
	ms->live_idx = m->nlive;
	m->live[m->nlive++] = slot;
	master_fs_arm_output(m);
	log_debug("client %s: slot %d, worker requested", host, slot);
}

static void
master_accept(struct master *m, int lfd)
{
	/* bounded, so a connection storm cannot starve the running clients */
	for (int i = 0; i < 64 && m->accept_resume_ms == 0; i++) {
		int before = m->dir.nconnected;
		errno = 0;
		master_accept_one(m, lfd);
		if ((int)m->dir.nconnected == before && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
	}
}

/* ---------------------------------------------------------------- reaping */

static void master_worker_event(struct master *m, uint32_t slot, uint32_t events);

/* never signal a reaped pid: the kernel may have handed it to another process */
static void
master_kill(struct mslot *ms)
{
	if (ms->pid > 0 && !ms->reaped)
		kill(ms->pid, SIGKILL);
}

static void
master_slot_gone(struct master *m, uint32_t slot, int status)
{
	struct mslot *ms = &m->slots[slot];
	struct dir_user *u = &m->dir.users[slot];
	char why[64];

	/*
	 * What the worker said before dying (its QUIT and reason, typically)
	 * is still in the socket: hear it before declaring the client lost.
	 */
	ms->reaped = true;
	if (ms->ipc.fd >= 0)
		master_worker_event(m, slot, EPOLLIN);

	if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
		log_warnx("worker %ld (%s) %s", (long)ms->pid,
		    u->nick[0] ? u->nick : u->host, why);
	else
		log_debug("worker %ld (%s) %s", (long)ms->pid,
		    u->nick[0] ? u->nick : u->host, why);

	if (ring_abandon(&m->ring, slot, u->gen) > 0)
		m->fanout_due = true;
	if (u->state == DIR_REGISTERED && !m->stopping) {
		char reason[96];
		snprintf(reason, sizeof reason, "Connection lost (worker %s)", why);
		master_req_quit(m, slot, reason);
	}
	ring_inbox_reset(&m->ring, slot);
	if (ms->in_epoll)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, ms->ipc.fd, NULL);
	ms->in_epoll = false;
	ipc_peer_close(&ms->ipc);
	if (ms->pending_fd >= 0)
		close(ms->pending_fd);
	ms->pending_fd = -1;
	if (ms->counted)
		iplimit_del(m->peers, u->host);
	ms->counted = false;
	/* remove from the live list (swap with last) */
	uint32_t last = m->live[--m->nlive];
	m->live[ms->live_idx] = last;
	m->slots[last].live_idx = ms->live_idx;
	for (uint32_t i = 0; i < m->nwaiters; i++)
		if (m->waiters[i] == slot) {
			m->waiters[i] = m->waiters[--m->nwaiters];
			break;
		}
	if (m->stalled && m->stall_slot == slot)
		m->stalled = false;
	dir_user_release(&m->dir, slot);
	ms->pid = 0;
	ms->space_wait = false;
	m->fanout_due = true;
}

static void master_fs_lost(struct master *m);

/* a process is gone: ours (SIGCHLD) or a worker the fork server reaped */
static void
master_child_exited(struct master *m, pid_t pid, int status)
{
	int slot;

	if (master_admin_reaped(m, pid, status))
		return;
	if (pid == m->fs.pid) {
		if (!m->stopping)
			log_warnx("the fork server (pid %ld) %s %d", (long)pid,
			    WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		m->fs.pid = 0;
		master_fs_lost(m);
		return;
	}
	slot = pidmap_take(m->pids, pid);
	if (slot < 0) {
		log_debug("reaped unknown child %ld", (long)pid);
		return;
	}
	master_slot_gone(m, slot, status);
}

static void
master_reap(struct master *m)
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

static int
master_fs_watch(struct master *m)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_FORKSERVER, 0) };

	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->fs.ipc.fd, &ev) < 0) {
		log_warn("epoll_ctl for the fork server");
		return -1;
	}
	m->fs.in_epoll = true;
	m->fs.out_watched = false;
	return 0;
}

/* the fork server answered a spawn request */
static void
master_worker_spawned(struct master *m, const struct ipc_fs_spawned *r)
{
	struct mslot *ms;

	if (r->slot >= m->nslots || m->dir.users[r->slot].gen != r->gen ||
	    (ms = &m->slots[r->slot])->pending_fd < 0) {
		/* the slot is gone already; a real worker will exit on EOF */
		return;
	}
	if (r->pid > 0) {
		ms->pid = r->pid;
		pidmap_put(m->pids, r->pid, r->slot);
		close(ms->pending_fd);
		ms->pending_fd = -1;
		log_debug("slot %u: worker %ld", r->slot, (long)r->pid);
		return;
	}
	errno = r->err;
	log_warn("no worker for %s", m->dir.users[r->slot].host);
	master_refuse(ms->pending_fd, m->dir.users[r->slot].host,
	    "Server is busy, try again later");
	ms->pending_fd = -1;
	ms->reaped = true;
	master_slot_gone(m, r->slot, 0);
}

/* spawns that were in flight when the fork server died never happen */
static void
master_fs_lost(struct master *m)
{
	struct master_forkserver *fs = &m->fs;

	if (fs->in_epoll)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, fs->ipc.fd, NULL);
	fs->in_epoll = false;
	ipc_peer_close(&fs->ipc);
	for (uint32_t i = 0; i < m->nlive;) {
		uint32_t slot = m->live[i];
		struct mslot *ms = &m->slots[slot];
		if (ms->pid == 0 && ms->pending_fd >= 0) {
			struct ipc_fs_spawned r = { .slot = slot,
			    .gen = m->dir.users[slot].gen, .err = ECHILD };
			master_worker_spawned(m, &r);	/* frees the slot: same i again */
		} else
			i++;
	}
	/* workers it reaped but could not report: their channel is closed */
	for (uint32_t i = 0; i < m->nlive;) {
		uint32_t slot = m->live[i];
		struct mslot *ms = &m->slots[slot];
		if (ms->eof && ms->pid > 0 && !ms->reaped) {
			ms->reaped = true;
			pidmap_take(m->pids, ms->pid);
			master_slot_gone(m, slot, 0);
		} else
			i++;
	}
	if (m->stopping)
		return;
	/* dead within a second of its start: it cannot run (a missing or
	 * unreadable program); restarting it would only spin */
	{
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - fs->started.tv_sec < 2) {
			log_errx("the fork server (%s) died right after its start; stopping",
			    fs->path);
			m->exit_code = 1;
			master_shutdown(m, "the fork server cannot run");
			return;
		}
	}
	/* its workers are ours now (child subreaper); a new one for new clients */
	if (master_forkserver_start(&m->fs, m->seg.fd) == 0 && master_fs_watch(m) == 0)
		log_notice("fork server restarted (pid %ld)", (long)m->fs.pid);
}

static void
master_fs_event(struct master *m, uint32_t events)
{
	struct master_forkserver *fs = &m->fs;
	char msg[IPC_MSG_MAX];

	if (fs->ipc.fd < 0)
		return;
	if (events & EPOLLOUT) {
		ipc_flush(&fs->ipc);
		master_fs_arm_output(m);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (int i = 0; i < 512; i++) {
		ssize_t n = ipc_recv(&fs->ipc, msg);
		const struct ipc_hdr *h = (const void *)msg;

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			/* it is exiting: SIGCHLD finishes the job */
			if (fs->in_epoll)
				epoll_ctl(m->epfd, EPOLL_CTL_DEL, fs->ipc.fd, NULL);
			fs->in_epoll = false;
			return;
		}
		if (h->type == IPC_FS_SPAWNED && (size_t)n == sizeof(struct ipc_fs_spawned))
			master_worker_spawned(m, (const void *)msg);
		else if (h->type == IPC_FS_EXITED && (size_t)n == sizeof(struct ipc_fs_exited))
			master_child_exited(m, ((const struct ipc_fs_exited *)(const void *)msg)->pid,
			    ((const struct ipc_fs_exited *)(const void *)msg)->status);
		else
			log_warnx("unexpected message %u from the fork server", h->type);
	}
}

/* --------------------------------------------------------- reload/shutdown */

int
master_reload(struct master *m, char *out, size_t outlen)
{
	struct conf *nc = malloc(sizeof *nc);
	char err[512], diff[512];
	int rc = -1;

	notify_reloading(&m->notify);
	if (nc == NULL) {
		log_warnx("reload: out of memory");
		snprintf(out, outlen, "reload failed: out of memory");
		goto done;
	}
	conf_init_defaults(nc);
	if (conf_load(nc, m->config_path, m->config_must_exist, err, sizeof err) < 0) {
		log_errx("reload failed, keeping the running configuration: %s", err);
		snprintf(out, outlen, "reload failed, configuration kept: %s", err);
		conf_free(nc);
		free(nc);
		goto done;
	}
	if (nc->max_clients > (int)m->nslots) {
		log_warnx("reload: max_clients %d exceeds the %u slots sized at start; "
		    "using %u until restart", nc->max_clients, m->nslots, m->nslots);
		nc->max_clients = m->nslots;
	}
	conf_diff(m->cfg, nc, diff, sizeof diff);
	/* listen addresses and shared-memory sizes only change on restart */
	for (int i = 0; i < nc->nlisten; i++)
		free(nc->listen[i]);
	memcpy(nc->listen, m->cfg->listen, sizeof nc->listen);
	nc->nlisten = m->cfg->nlisten;
	m->cfg->nlisten = 0;
	nc->ring_size = m->cfg->ring_size;
	nc->inbox_size = m->cfg->inbox_size;
	/* the queue exists already: its key and group change on restart */
	nc->admin_queue_key = m->cfg->admin_queue_key;
	free(nc->admin_group);
	nc->admin_group = m->cfg->admin_group;
	m->cfg->admin_group = NULL;
	conf_free(m->cfg);
	free(m->cfg);
	m->cfg = nc;
	log_set_level(nc->log_level);
	for (uint32_t i = 0; i < m->nlive; i++)
		master_send_settings(m, m->live[i]);
	log_notice("configuration reloaded (changed: %s)", diff);
	snprintf(out, outlen, "reloaded (changed: %s)", diff);
	rc = 0;
done:
	{
		char status[512];
		master_status_text(m, status, sizeof status);
		notify_ready(&m->notify, status);
	}
	return rc;
}

void
master_shutdown(struct master *m, const char *reason)
{
	if (m->stopping)
		return;
	m->stopping = true;
	snprintf(m->stop_reason, sizeof m->stop_reason, "%s", reason);
	notify_stopping(&m->notify);
	log_notice("shutting down (%s), closing %u clients", reason, m->nlive);
	for (int i = 0; i < m->ls.n; i++)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->ls.fds[i], NULL);
	listen_close(&m->ls);
	for (uint32_t i = 0; i < m->nlive; i++)
		master_close_slot(m, m->live[i], reason);
	m->stop_deadline = time(NULL) + SHUTDOWN_GRACE;
}

static void
master_signal(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			master_reap(m);
			break;
		case SIGTERM:
		case SIGINT:
			master_shutdown(m, "Server shutting down");
			break;
		case SIGHUP:
			{
				char result[600];
				log_info("SIGHUP: reloading %s", m->config_path);
				master_reload(m, result, sizeof result);
			}
			break;
		default:
			break;
		}
	}
}

/* -------------------------------------------------------------- workers */

static void
master_worker_msg(struct master *m, uint32_t slot, const char *msg, size_t len)
{
	const struct ipc_hdr *h = (const void *)msg;
	struct mslot *ms = &m->slots[slot];

	switch (h->type) {
	case IPC_FANOUT:
		m->fanout_due = true;
		break;
	case IPC_SPACE_WAIT:
		if (!ms->space_wait) {
			ms->space_wait = true;
			m->waiters[m->nwaiters++] = slot;
		}
		m->fanout_due = true;
		break;
	case IPC_REQ:
		if (master_req_handle(m, slot, msg, len) < 0)
			goto bad;
		break;
	default:
		goto bad;
	}
	return;
bad:
	/* a worker that speaks nonsense is broken: stop it, keep the rest */
	log_warnx("worker %ld sent a malformed message (type %u, %zu bytes); killing it",
	    (long)ms->pid, h->type, len);
	master_kill(ms);
}

static void
master_worker_event(struct master *m, uint32_t slot, uint32_t events)
{
	struct mslot *ms = &m->slots[slot];
	char msg[IPC_MSG_MAX];

	if (ms->pid == 0)
		return;
	if (events & EPOLLOUT) {
		if (ipc_flush(&ms->ipc) <= 0 && ms->in_epoll) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_WORKER, slot) };
			epoll_ctl(m->epfd, EPOLL_CTL_MOD, ms->ipc.fd, &ev);
			ms->out_watched = false;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* bounded per event so one chatty worker cannot starve the loop */
		for (int i = 0; i < 256; i++) {
			ssize_t n = ipc_recv(&ms->ipc, msg);
			if (n == -EAGAIN)
				break;
			if (n == -EBADMSG) {
				log_warnx("worker %ld: malformed message; killing it", (long)ms->pid);
				master_kill(ms);
				break;
			}
			if (n <= 0) {
				/* EOF: the worker is exiting; its reaper tells the rest */
				if (ms->in_epoll) {
					epoll_ctl(m->epfd, EPOLL_CTL_DEL, ms->ipc.fd, NULL);
					ms->in_epoll = false;
				}
				ms->eof = true;
				/*
				 * With no fork server, whoever reaped it may never
				 * say so: the closed channel is proof enough.
				 */
				if (m->fs.pid == 0 && !ms->reaped && ms->pid > 0) {
					ms->reaped = true;
					pidmap_take(m->pids, ms->pid);
					master_slot_gone(m, slot, 0);
				}
				break;
			}
			master_worker_msg(m, slot, msg, n);
			if (ms->pid == 0)
				break;
		}
	}
}

/* ---------------------------------------------------------- ring upkeep */

static void
master_ring_upkeep(struct master *m)
{
	bool want = m->nwaiters > 0 || buf_used(&m->pending) > 0 ||
	    ring_used(&m->ring) > m->ring.cap / 2;

	if (!want)
		return;
	ring_reclaim(&m->ring, m->live, m->nlive);
	master_flush_pending(m);
	/* wake publishers only once there is room worth retrying for */
	if (m->nwaiters > 0 && ring_free_bytes(&m->ring) >= 2 * RING_REC_MAX) {
		for (uint32_t i = 0; i < m->nwaiters; i++) {
			m->slots[m->waiters[i]].space_wait = false;
			fanout_queue_wake(m, m->waiters[i]);
		}
		m->nwaiters = 0;
	}
	if (m->nwaiters > 0 && ring_free_bytes(&m->ring) < 2 * RING_REC_MAX) {
		/* full: who holds the tail back? the oldest unread inbox */
		uint64_t min = UINT64_MAX;
		uint32_t holder = UINT32_MAX;
		for (uint32_t i = 0; i < m->nlive; i++) {
			uint64_t o = ring_inbox_oldest(&m->ring, m->live[i]);
			if (o < min) {
				min = o;
				holder = m->live[i];
			}
		}
		if (holder != UINT32_MAX) {
			ring_drain_notify_request(&m->ring, holder);
			fanout_queue_wake(m, holder);
			if (!m->stalled || m->stall_slot != holder) {
				m->stalled = true;
				m->stall_slot = holder;
				clock_gettime(CLOCK_MONOTONIC, &m->stall_since);
			}
		}
	}
}

static void
master_check_stall(struct master *m)
{
	struct timespec now;
	struct mslot *ms;

	if (!m->stalled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - m->stall_since.tv_sec) * 1000 +
	    (now.tv_nsec - m->stall_since.tv_nsec) / 1000000 < m->cfg->stall_timeout * 1000L)
		return;
	if (m->stall_slot >= m->nslots || (ms = &m->slots[m->stall_slot])->pid == 0) {
		m->stalled = false;
		return;
	}
	log_warnx("worker %ld (slot %u) has held the shared ring for %d s; cutting it loose",
	    (long)ms->pid, m->stall_slot, m->cfg->stall_timeout);
	master_kill(ms);
	m->stall_since = now;
}

static void
master_tick(struct master *m)
{
	uint64_t t = now_ms(), expirations;
	static time_t last_status;

	while (read(m->timerfd, &expirations, sizeof expirations) > 0)
		;
	if (m->notify.watchdog_usec && t >= m->watchdog_next_ms) {
		notify_watchdog(&m->notify);
		m->watchdog_next_ms = t + m->notify.watchdog_usec / 2000;
	}
	if (time(NULL) != last_status && !m->stopping) {
		last_status = time(NULL);
		master_update_status(m);	/* sends only when the text changed */
	}
	if (m->stalled)
		m->fanout_due = true;	/* retry a stuck fan-out */
	master_admin_tick(m, t);
	if (m->accept_resume_ms && t >= m->accept_resume_ms && !m->stopping) {
		m->accept_resume_ms = 0;
		for (int i = 0; i < m->ls.n; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_LISTEN, i) };
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->ls.fds[i], &ev) < 0)
				log_warn("resuming accept on %s", m->ls.names[i]);
		}
	}
	master_check_stall(m);
	if (m->stopping && time(NULL) >= m->stop_deadline) {
		for (uint32_t i = 0; i < m->nlive; i++) {
			log_warnx("worker %ld did not exit in time; killing it",
			    (long)m->slots[m->live[i]].pid);
			master_kill(&m->slots[m->live[i]]);
		}
		m->stop_deadline = time(NULL) + 5;
	}
}

/* ---------------------------------------------------------------- setup */

static void
master_raise_nofile(uint32_t need)
{
	struct rlimit rl;

	/* one socketpair end per client, plus listeners and a margin */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need + 64)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need + 64 ?
	    need + 64 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need + 64)
		log_warnx("open file limit %llu is below what max_clients=%u needs (%u); "
		    "raise LimitNOFILE", (unsigned long long)rl.rlim_cur, need, need + 64);
}

static int
master_setup(struct master *m)
{
	char err[512];
	sigset_t mask;
	size_t segsize;
	int rc;

	m->nslots = m->cfg->max_clients;
	master_raise_nofile(m->nslots);

	if (listen_open(&m->ls, m->cfg, err, sizeof err) < 0) {
		log_errx("%s", err);
		return -1;
	}
	if (err[0] != '\0')
		log_warnx("%s", err);
	m->listen_desc[0] = '\0';
	for (int i = 0; i < m->ls.n; i++) {
		size_t l = strlen(m->listen_desc);
		snprintf(m->listen_desc + l, sizeof m->listen_desc - l, "%s%s",
		    i ? ", " : "", m->ls.names[i]);
		log_info("listening on %s%s", m->ls.names[i],
		    m->ls.activated ? " (socket activation)" : "");
	}

	if (master_forkserver_find(&m->fs) < 0)
		return -1;
	segsize = ring_segment_size(m->nslots, m->cfg->inbox_size, m->cfg->ring_size);
	if ((rc = shm_create(&m->seg, segsize)) < 0) {
		errno = -rc;
		log_warn("cannot create the shared-memory segment (%zu bytes)", segsize);
		return -1;
	}
	if ((rc = ring_init(&m->ring, m->seg.mem, segsize, m->nslots,
	    m->cfg->inbox_size, m->cfg->ring_size)) < 0) {
		errno = -rc;
		log_warn("cannot initialise the shared ring");
		return -1;
	}
	log_debug("shared segment %s: %zu bytes (%u slots, ring %ld bytes)",
	    m->seg.name, segsize, m->nslots, m->cfg->ring_size);

	/*
	 * Workers are forked from a fork server made now, while this process
	 * is small: what they share then never changes under them. Workers
	 * orphaned by a fork server's death come back to us to be reaped.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER");
	/* the last things root is needed for: then drop it, before any fork */
	if (master_admin_create(m) < 0)
		return -1;
	if (privdrop(m->cfg, m->admin.qid, err, sizeof err) < 0) {
		log_errx("%s", err);
		return -1;
	}
	if (master_forkserver_start(&m->fs, m->seg.fd) < 0)
		return -1;

	if (dir_init(&m->dir, m->nslots) < 0 ||
	    (m->slots = calloc(m->nslots, sizeof *m->slots)) == NULL ||
	    (m->live = calloc(m->nslots, sizeof *m->live)) == NULL ||
	    (m->recips = calloc(m->nslots, sizeof *m->recips)) == NULL ||
	    (m->wakes = calloc(m->nslots, sizeof *m->wakes)) == NULL ||
	    (m->waiters = calloc(m->nslots, sizeof *m->waiters)) == NULL ||
	    (m->pids = pidmap_new(m->nslots)) == NULL ||
	    (m->peers = iplimit_new(m->nslots)) == NULL) {
		log_errx("out of memory for %u client slots", m->nslots);
		return -1;
	}
	for (uint32_t i = 0; i < m->nslots; i++)
		m->slots[i].ipc.fd = -1;
	buf_init(&m->pending);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (m->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_warn("signalfd");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (m->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		log_warn("epoll/timerfd");
		return -1;
	}
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
	    .it_value = { 0, TICK_MS * 1000000L } };
	timerfd_settime(m->timerfd, 0, &its, NULL);

	struct epoll_event ev = { .events = EPOLLIN };
	ev.data.u64 = EV(EV_SIGNAL, 0);
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->sigfd, &ev);
	ev.data.u64 = EV(EV_TIMER, 0);
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->timerfd, &ev);
	for (int i = 0; i < m->ls.n; i++) {
		ev.data.u64 = EV(EV_LISTEN, i);
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->ls.fds[i], &ev) < 0) {
			log_warn("epoll_ctl listen");
			return -1;
		}
	}
	if (master_fs_watch(m) < 0)
		return -1;
	/* the queue and the admin process exist before READY=1 */
	return master_admin_start(m);
}

static void
master_cleanup(struct master *m)
{
	master_admin_stop(m);	/* the queue goes on every exit path */
	master_forkserver_stop(&m->fs);
	for (uint32_t i = 0; m->slots && i < m->nslots; i++)
		if (m->slots[i].ipc.fd >= 0)
			ipc_peer_close(&m->slots[i].ipc);
	listen_close(&m->ls);
	shm_destroy(&m->seg);
	dir_free(&m->dir);
	free(m->slots);
	free(m->live);
	free(m->recips);
	free(m->wakes);
	free(m->waiters);
	pidmap_free(m->pids);
	iplimit_free(m->peers);
	buf_free(&m->pending);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	if (m->timerfd >= 0)
		close(m->timerfd);
	conf_free(m->cfg);
	free(m->cfg);
}

int
master_run(struct conf *cfg, const char *config_path, bool must_exist)
{
	struct master mst, *m = &mst;
	struct epoll_event evs[256];
	char status[512];

	memset(m, 0, sizeof *m);
	m->cfg = cfg;
	m->config_path = config_path;
	m->config_must_exist = must_exist;
	m->epfd = m->sigfd = m->timerfd = -1;
	m->admin.qid = -1;
	m->admin.ipc.fd = -1;
	m->fs.ipc.fd = -1;
	m->started = time(NULL);
	log_set_role("master");
	notify_init(&m->notify);

	if (master_setup(m) < 0) {
		master_cleanup(m);
		return 1;
	}
	master_status_text(m, status, sizeof status);
	notify_ready(&m->notify, status);
	log_notice("shmchatd " PACKAGE_VERSION " ready: %s", status);

	while (!m->stopping || m->nlive > 0) {
		int timeout = m->fanout_due ? 0 : -1;
		int n = epoll_wait(m->epfd, evs, 256, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			m->exit_code = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint32_t type = evs[i].data.u64 >> 32, idx = (uint32_t)evs[i].data.u64;
			switch (type) {
			case EV_LISTEN:
				if (!m->stopping && m->accept_resume_ms == 0)
					master_accept(m, m->ls.fds[idx]);
				break;
			case EV_SIGNAL:
				master_signal(m);
				break;
			case EV_TIMER:
				master_tick(m);
				break;
			case EV_WORKER:
				master_worker_event(m, idx, evs[i].events);
				break;
			case EV_ADMIN:
				master_admin_event(m, evs[i].events);
				break;
			case EV_FORKSERVER:
				master_fs_event(m, evs[i].events);
				break;
			}
		}
		if (m->fanout_due) {
			m->fanout_due = fanout_run(m, FANOUT_BUDGET);
			master_ring_upkeep(m);
			fanout_flush_wakes(m);
		} else if (m->nwaiters > 0 || buf_used(&m->pending) > 0) {
			master_ring_upkeep(m);
			fanout_flush_wakes(m);
		}
	}
	/* every worker is reaped: nothing else holds the segment */
	log_notice("stopped");
	master_cleanup(m);
	return m->exit_code;
}
