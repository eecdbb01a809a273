/* master: set-up, the event loop, signals, the tick, clean-up */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cmd_hist.h"
#include "history.h"
#include "iplimit.h"
#include "log.h"
#include "master.h"
#include "master_accept.h"
#include "master_admin.h"
#include "master_child.h"
#include "master_cluster.h"
#include "master_control.h"
#include "master_requests.h"
#include "master_setup.h"
#include "master_upgrade.h"
#include "master_ring.h"
#include "master_state.h"
#include "master_worker.h"
#include "passwd.h"
#include "privdrop.h"

#define WORKER_MSG_BUDGET	256	/* a worker's messages per readiness report */
#define REQUESTS_PER_TURN	256	/* directory requests between two epoll_waits */

/* ---------------------------------------------------------------- signals */

static void
master_signal(struct master *m)
{
	struct signalfd_siginfo si;
	char result[600];

	while (read(m->sigfd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			master_child_reap(m);
			break;
		case SIGTERM:
		case SIGINT:
			master_control_shutdown(m, "Server shutting down");
			break;
		case SIGHUP:
			log_info("SIGHUP: reloading %s", m->config_path);
			master_control_reload(m, result, sizeof result);
			break;
		case SIGUSR2:
			log_notice("SIGUSR2: upgrading in place to %s", m->up.self);
			if (master_upgrade_request(m, NULL, NULL, result, sizeof result) < 0)
				log_errx("upgrade refused: %s", result);
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------ for the command layer */

/* the master that owns ds (struct dirsvc lives inside struct master) */
static struct master *
master_of(struct dirsvc *ds)
{
	return (struct master *)(void *)((char *)ds - offsetof(struct master, ds));
}

/* KILL: the same close as shmchatctl kick's */
static void
master_close_client(struct dirsvc *ds, uint32_t slot, const char *reason)
{
	if (!dir_is_local(&ds->dir, slot))
		return;		/* another node's client: its node closes it */
	master_worker_close(master_of(ds), slot, reason);
}

/* REHASH: not inside the request, whose reply still points into the
 * running configuration; master_turn() reloads after it */
static void
master_rehash(struct dirsvc *ds, uint32_t slot, uint32_t gen)
{
	struct master *m = master_of(ds);

	m->rehash_due = true;
	m->rehash_slot = slot;
	m->rehash_gen = gen;
}

static const struct dirsvc_ops master_ds_ops = {
	.close_client = master_close_client,
	.rehash = master_rehash,
	.passwd_check = passwd_check,
};

/* reload as SIGHUP does, and tell the operator who asked how it went */
static void
master_rehash_now(struct master *m)
{
	const struct dir_user *u = &m->ds.dir.users[m->rehash_slot];
	struct ring_target t = { .kind = RING_TO_SLOT, .id = m->rehash_slot,
	    .gen = m->rehash_gen };
	char result[600], line[IRC_MAXLINE + 1];
	size_t len;

	m->rehash_due = false;
	log_info("REHASH: reloading %s", m->config_path);
	master_control_reload(m, result, sizeof result);
	if (u->gen != m->rehash_gen || u->state != DIR_REGISTERED)
		return;
	len = irc_fmt(line, sizeof line, ":%s NOTICE %s :*** REHASH: %s", m->cfg->server_name,
	    u->nick, result);
	if (dirsvc_emit(&m->ds, &t, line, len) < 0)
		log_warnx("REHASH: could not queue the notice to %s", u->nick);
}

/* ------------------------------------------------------------------ tick */

static void
master_tick(struct master *m)
{
	uint64_t t = clock_ms(), expirations;

	while (read(m->timerfd, &expirations, sizeof expirations) > 0)
		;
	if (m->notify.watchdog_usec && t >= m->watchdog_next_ms) {
		notify_watchdog(&m->notify);
		m->watchdog_next_ms = t + m->notify.watchdog_usec / 2000;
	}
	if (time(NULL) != m->last_status_at && !m->stopping) {
		m->last_status_at = time(NULL);
		master_control_update_status(m);	/* sends only when the text changed */
		if (m->ds.history != NULL)
			history_expire(m->ds.history, clock_realtime_ms());
	}
	master_admin_tick(m, t);
	if (m->accept_resume_ms && t >= m->accept_resume_ms && !m->stopping) {
		m->accept_resume_ms = 0;
		for (int i = 0; i < m->ls.n; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_LISTEN, i) };
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->ls.fds[i], &ev) < 0)
				log_warn("resuming accept on %s", m->ls.names[i]);
		}
	}
	master_ring_tick(m, t);
	master_cluster_tick(m, t);
	if (m->stopping && time(NULL) >= m->stop_deadline) {
		for (uint32_t i = 0; i < m->nlive; i++) {
			log_warnx("worker %ld did not exit in time; killing it",
			    (long)m->slots[m->live[i]].pid);
			master_slot_kill(&m->slots[m->live[i]]);
		}
		m->stop_deadline = time(NULL) + 5;
	}
}

/* ------------------------------------------------------------------ loop */

static void
master_event(struct master *m, uint64_t data, uint32_t events)
{
	uint32_t type = data >> 32, idx = (uint32_t)data;

	switch (type) {
	case EV_LISTEN:
		if (!m->stopping && m->accept_resume_ms == 0)
			master_accept(m, m->ls.fds[idx], m->ls.tls[idx]);
		break;
	case EV_SIGNAL:
		master_signal(m);
		break;
	case EV_TIMER:
		master_tick(m);
		break;
	case EV_WORKER:
		if (idx < m->nslots)
			ipc_peer_event(&m->slots[idx].ipc, events, WORKER_MSG_BUDGET);
		break;
	case EV_ADMIN:
		ipc_peer_event(&m->admin.ipc, events, 64);
		break;
	case EV_FORKSERVER:
		/* 1: the fork server of the image before an upgrade, leaving */
		ipc_peer_event(idx == 1 ? &m->fs.retiring : &m->fs.ipc, events, 512);
		break;
	case EV_REDIS:
		master_cluster_event(m, idx, events);
		break;
	case EV_UPGRADE:
		master_upgrade_check_event(m);
		break;
	}
}

/*
 * After a batch of events: fan-out, and directory requests in between
 * (each only once fan-out has caught up, so it takes effect at its place
 * in the ring's order); then reclaim, flush and wake. Returns whether
 * more work is ready at once.
 */
static bool
master_turn(struct master *m)
{
	enum fanout_result r = master_ring_fanout(m);

	for (int i = 0; i < REQUESTS_PER_TURN && r == FANOUT_CAUGHT_UP &&
	    master_requests_pending(m); i++) {
		master_requests_handle_one(m);
		r = master_ring_fanout(m);
	}
	if (m->rehash_due)
		master_rehash_now(m);
	if (m->up.asked)
		master_upgrade_asked(m);
	if (m->up.due)
		master_upgrade_turn(m);
	if (m->up.answer_due)
		master_admin_upgrade_answer(m);
	/* other nodes' recipients wait on Redis: their messages go before our wake-ups */
	master_cluster_flush(m);
	master_ring_upkeep(m);
	return m->ds.fanout_due || (r == FANOUT_CAUGHT_UP && master_requests_pending(m));
}

int
master_run(struct conf *cfg, const char *config_path, bool must_exist, int handover_fd)
{
	struct master *m = master_setup_new(cfg, config_path, must_exist);
	struct epoll_event evs[256];
	char status[512];
	bool busy = false;
	int rc;

	if (m == NULL)
		return 1;
	m->ds.ops = &master_ds_ops;	/* before the cluster wraps it */
	log_set_role("master");
	notify_init(&m->notify);
	master_upgrade_init(m);

	if (handover_fd >= 0 ? master_upgrade_resume(m, handover_fd) < 0 : master_setup_fresh(m) < 0) {
		master_setup_cleanup(m);
		free(m);
		return 1;
	}
	if (handover_fd >= 0) {
		/* the admin process the former image handed over relays its answer */
		master_admin_adopt(m);
		master_upgrade_resumed(m);
		if (m->up.answer_due)
			master_admin_upgrade_answer(m);
	}
	else {
		master_control_status(m, status, sizeof status);
		notify_ready(&m->notify, status);
		log_notice("shmchatd " PACKAGE_VERSION " ready: %s", status);
	}

	while (!m->stopping || m->nlive > 0) {
		int n = epoll_wait(m->epfd, evs, 256, busy ? 0 : master_ring_timeout(m));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			m->exit_code = 1;
			break;
		}
		for (int i = 0; i < n; i++)
			master_event(m, evs[i].data.u64, evs[i].events);
		busy = master_turn(m);
	}
	/* every worker is reaped: nothing else holds the segment */
	log_notice("stopped");
	rc = m->exit_code;
	master_setup_cleanup(m);
	free(m);
	return rc;
}
