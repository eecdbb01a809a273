/* master_accept: accept, limits, a slot and a worker for each client */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "iplimit.h"
#include "irc.h"
#include "log.h"
#include "master_accept.h"
#include "master_state.h"
#include "master_worker.h"

#define ACCEPT_BATCH	64	/* per readiness report: running clients go on */

enum accept_result {
	ACCEPT_TAKEN,		/* a connection was handled (served or refused) */
	ACCEPT_NONE,		/* none waiting (or accepting is paused) */
};

void
master_accept_refuse(int fd, const char *host, const char *why)
{
	char line[IRC_MAXLINE + 1];
	size_t n = irc_fmt(line, sizeof line, "ERROR :Closing Link: %s (%s)", host, why);

	/* best effort on a fresh socket: the kernel buffer takes one line */
	(void)!write(fd, line, n);
	close(fd);
}

/* out of descriptors or memory: stop watching the listeners for a second
 * (the pending connection stays readable) instead of spinning */
static void
master_accept_pause(struct master *m)
{
	log_warn("accept (pausing new connections for 1 s)");
	for (int i = 0; i < m->ls.n; i++)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->ls.fds[i], NULL);
	m->accept_resume_ms = clock_ms() + 1000;
}

/* the client's host as it appears in nick!user@host; exempt from limits? */
static bool
master_accept_host(struct master *m, const struct sockaddr_storage *ss, char *host,
    size_t size)
{
	bool exempt = false;

	listen_format_addr((const struct sockaddr *)ss, host, size, false);
	for (int i = 0; i < m->cfg->nlimits_exempt; i++)
		if (strcmp(host, m->cfg->limits_exempt[i]) == 0)
			exempt = true;
	if (host[0] == ':') {
		/* "::1" would read as a prefix separator in nick!user@host */
		memmove(host + 1, host, strlen(host) + 1);
		host[0] = '0';
	}
	return exempt;
}

/* slot and socketpair exist: its worker gets the client's socket */
static int
master_accept_spawn(struct master *m, int fd, uint32_t slot, uint32_t gen, int sp[2],
    const char *host, bool exempt, bool tls)
{
	struct mslot *ms = &m->slots[slot];
	struct ipc_assign a = { .slot = slot, .gen = gen, .flags = tls ? IPC_ASSIGN_TLS : 0 };
	int rc;

	/* before the worker can exist: it sleeps on this inbox at once */
	ring_inbox_reset(&m->ring, slot);
	m->fanout.slots[slot].gone = false;
	memset(ms, 0, sizeof *ms);
	ms->pending_fd = -1;
	ms->exempt = exempt;
	ipc_peer_init(&ms->ipc, sp[0]);
	snprintf(a.host, sizeof a.host, "%s", host);
	master_worker_settings(m, &a.s, exempt);
	/*
	 * The client's socket goes to the worker with its first message; the
	 * message waits in the socketpair until the fork server has forked
	 * the worker that owns the other end.
	 */
	if ((rc = ipc_send_fd(&ms->ipc, IPC_ASSIGN, &a, sizeof a, fd)) < 0 ||
	    (rc = master_forkserver_spawn(&m->fs, slot, gen, sp[1])) < 0) {
		ipc_peer_close(&ms->ipc);
		return rc;
	}
	if ((rc = master_worker_watch(m, slot)) < 0) {
		log_warnc(-rc, "epoll_ctl for the worker of %s", host);
	}
	ms->pending_fd = fd;	/* kept to tell the client if fork() fails */
	ms->counted = iplimit_add(m->per_ip, host) > 0;
	ms->live_idx = m->nlive;
	m->live[m->nlive++] = slot;
	return 0;
}

static enum accept_result
master_accept_one(struct master *m, int lfd, bool tls)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[IRC_HOST_MAX + 1];
	int fd, sp[2] = { -1, -1 }, rc, slot;
	uint32_t gen;
	bool exempt;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			master_accept_pause(m);
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return errno == ECONNABORTED || errno == EINTR ? ACCEPT_TAKEN : ACCEPT_NONE;
	}
	exempt = master_accept_host(m, &ss, host, sizeof host);
	if (m->stopping) {
		master_accept_refuse(fd, host, "Server shutting down");
		return ACCEPT_TAKEN;
	}
	if (m->ds.dir.nconnected >= (uint32_t)m->cfg->max_clients ||
	    (slot = dir_user_alloc(&m->ds.dir, &gen)) < 0) {
		log_notice("refusing %s: server full (%d clients)", host, m->cfg->max_clients);
		master_accept_refuse(fd, host, "Server is full");
		return ACCEPT_TAKEN;
	}
	/* before any process exists for it: a flood from one address stays cheap */
	if (!exempt && m->cfg->max_clients_per_ip > 0 &&
	    iplimit_count(m->per_ip, host) >= (uint32_t)m->cfg->max_clients_per_ip) {
		dir_user_release(&m->ds.dir, slot);
		log_notice("refusing %s: %d connections from that address already", host,
		    m->cfg->max_clients_per_ip);
		master_accept_refuse(fd, host, "Too many connections from your address");
		return ACCEPT_TAKEN;
	}
	snprintf(m->ds.dir.users[slot].host, sizeof m->ds.dir.users[slot].host, "%s", host);
	m->ds.dir.users[slot].tls = tls;
	if ((rc = ipc_pair(sp)) < 0 ||
	    (rc = master_accept_spawn(m, fd, slot, gen, sp, host, exempt, tls)) < 0) {
		log_warnc(-rc, "cannot start a worker for %s", host);
		if (sp[1] >= 0)
			close(sp[1]);
		dir_user_release(&m->ds.dir, slot);
		master_accept_refuse(fd, host, "Server is busy, try again later");
		return ACCEPT_TAKEN;
	}
	close(sp[1]);
	log_debug("client %s%s: slot %d, worker requested", host, tls ? " (TLS)" : "", slot);
	return ACCEPT_TAKEN;
}

void
master_accept(struct master *m, int lfd, bool tls)
{
	/* bounded, so a connection storm cannot starve the running clients */
	for (int i = 0; i < ACCEPT_BATCH && m->accept_resume_ms == 0; i++)
		if (master_accept_one(m, lfd, tls) == ACCEPT_NONE)
			break;
}
