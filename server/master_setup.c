/* master_setup: the master's set-up afresh, the parts an upgrade shares, its clean-up */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cmd_hist.h"
#include "history.h"
#include "iplimit.h"
#include "log.h"
#include "master_admin.h"
#include "master_child.h"
#include "master_cluster.h"
#include "master_setup.h"
#include "master_state.h"
#include "privdrop.h"

#define TICK_MS			200

void
master_setup_nofile(uint32_t need)
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

void
master_setup_describe_listeners(struct master *m)
{
	m->listen_desc[0] = '\0';
	m->tls_port = m->tls_listeners = 0;
	for (int i = 0; i < m->ls.n; i++) {
		size_t l = strlen(m->listen_desc);
		snprintf(m->listen_desc + l, sizeof m->listen_desc - l, "%s%s",
		    i ? ", " : "", m->ls.names[i]);
		log_info("listening on %s%s%s", m->ls.names[i], m->ls.tls[i] ? " (TLS)" : "",
		    m->ls.activated ? " (socket activation)" : "");
		if (m->ls.tls[i] && m->tls_port == 0) {
			const char *colon = strrchr(m->ls.names[i], ':');
			m->tls_port = colon != NULL ? atoi(colon + 1) : 0;
		}
		m->tls_listeners += m->ls.tls[i];
	}
}

static int
master_setup_listeners(struct master *m)
{
	char err[512];

	if (listen_open(&m->ls, m->cfg, err, sizeof err) < 0) {
		log_errx("%s", err);
		return -1;
	}
	if (err[0] != '\0')
		log_warnx("%s", err);
	master_setup_describe_listeners(m);
	return 0;
}

/*
 * TLS listeners need the certificate and key: the files are opened now,
 * while we may still be root (a root:ssl-cert 0640 key), and handed to
 * the fork server, which reads them; the master never calls OpenSSL.
 */
static int
master_setup_tls(struct master *m)
{
	char err[512];
	int fds[2];

	if (m->tls_listeners == 0)
		return 0;
	if (!conf_tls_enabled(m->cfg)) {
		log_errx("%d TLS listener%s (listen_tls, or sockets named \"" LISTEN_TLS_NAME
		    "\"), but no tls = { certificate = ...; key = ...; } configured",
		    m->tls_listeners, m->tls_listeners > 1 ? "s" : "");
		return -1;
	}
	if (master_forkserver_tls_open(m->cfg, fds, err, sizeof err) < 0) {
		log_errx("%s", err);
		return -1;
	}
	m->fs.tls_cert_fd = fds[0];
	m->fs.tls_key_fd = fds[1];
	return 0;
}

static int
master_setup_ring(struct master *m)
{
	size_t segsize = ring_segment_size(m->nslots, m->cfg->inbox_size, m->cfg->ring_size);
	int rc;

	if ((rc = shm_create(&m->seg, segsize)) < 0) {
		log_warnc(-rc, "cannot create the shared-memory segment (%zu bytes)", segsize);
		return -1;
	}
	if ((rc = ring_init(&m->ring, m->seg.mem, segsize, m->nslots,
	    m->cfg->inbox_size, m->cfg->ring_size)) < 0) {
		log_warnc(-rc, "cannot initialise the shared ring");
		return -1;
	}
	log_debug("shared segment %s: %zu bytes (%u slots, ring %ld bytes)",
	    m->seg.name, segsize, m->nslots, m->cfg->ring_size);
	return 0;
}

int
master_setup_tables(struct master *m)
{
	if (dir_init(&m->ds.dir, m->nslots, conf_cluster_enabled(m->cfg) ?
	    (uint32_t)m->cfg->cluster_max_remote_clients : 0) < 0 ||
	    fanout_init(&m->fanout, m->nslots) < 0 ||
	    master_child_init(m) < 0 ||
	    (m->slots = calloc(m->nslots, sizeof *m->slots)) == NULL ||
	    (m->live = calloc(m->nslots, sizeof *m->live)) == NULL ||
	    (m->waiters = calloc(m->nslots, sizeof *m->waiters)) == NULL ||
	    (m->per_ip = iplimit_new(m->nslots)) == NULL) {
		log_errx("out of memory for %u client slots", m->nslots);
		return -1;
	}
	for (uint32_t i = 0; i < m->nslots; i++)
		ipc_peer_init(&m->slots[i].ipc, -1);
	m->ds.ring = &m->ring;
	m->ds.cfg = m->cfg;
	m->ds.config_path = m->config_path;
	m->ds.started = m->started;
	{
		struct tm tm;
		if (localtime_r(&m->ds.started, &tm) == NULL ||
		    strftime(m->ds.created, sizeof m->ds.created, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
			snprintf(m->ds.created, sizeof m->ds.created, "%lld",
			    (long long)m->ds.started);
	}
	/* this run's part of every msgid; the master's own ids use a slot no
	 * client has (irctags.h) */
	if (getrandom(&m->ds.msgid.salt, sizeof m->ds.msgid.salt, 0) !=
	    (ssize_t)sizeof m->ds.msgid.salt)
		m->ds.msgid.salt = (uint32_t)getpid() ^ (uint32_t)m->started;
	m->ds.msgid.slot = 0xffffff;
	dirsvc_whowas_setup(&m->ds);	/* without it WHOWAS knows nobody: not fatal */
	cmd_hist_setup(&m->ds);		/* nor is a server without history */
	buf_init(&m->ds.pending);
	buf_init(&m->requests);
	return 0;
}

int
master_setup_events(struct master *m)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (m->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_warn("signalfd");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* an upgrade hands its epoll instance over: keep it */
	if ((m->epfd < 0 && (m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) ||
	    (m->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		log_warn("epoll/timerfd");
		return -1;
	}
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
	    .it_value = { 0, TICK_MS * 1000000L } };
	if (timerfd_settime(m->timerfd, 0, &its, NULL) < 0) {
		log_warn("timerfd_settime");
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN };
	ev.data.u64 = EV(EV_SIGNAL, 0);
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->sigfd, &ev) < 0)
		goto fail;
	ev.data.u64 = EV(EV_TIMER, 0);
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->timerfd, &ev) < 0)
		goto fail;
	for (int i = 0; i < m->ls.n; i++) {
		ev.data.u64 = EV(EV_LISTEN, i);
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->ls.fds[i], &ev) < 0)
			goto fail;
	}
	return 0;
fail:
	log_warn("epoll_ctl");
	return -1;
}

void
master_setup_subreaper(void)
{
	int on = 0;

	/* an upgraded image is one already: setting it again walks every
	 * descendant (ten thousand workers), while the server pauses */
	if (prctl(PR_GET_CHILD_SUBREAPER, &on) == 0 && on)
		return;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER");
}

int
master_setup_fresh(struct master *m)
{
	char err[512];

	m->nslots = m->cfg->max_clients;
	master_setup_nofile(m->nslots);
	if (master_setup_listeners(m) < 0 || master_forkserver_find(&m->fs) < 0 ||
	    master_setup_tls(m) < 0 || master_setup_ring(m) < 0)
		return -1;
	/*
	 * Workers are forked from a fork server made now, while this process
	 * is small: what they share then never changes under them. Workers
	 * orphaned by a fork server's death come back to us to be reaped.
	 */
	master_setup_subreaper();
	/* the last things root is needed for: then drop it, before any fork */
	if (master_admin_create(m) < 0)
		return -1;
	if (privdrop(m->cfg, m->admin.qid, err, sizeof err) < 0) {
		log_errx("%s", err);
		return -1;
	}
	if (master_forkserver_start(&m->fs, m->seg.fd) < 0 ||
	    master_forkserver_setup(&m->fs, m->cfg) < 0 || master_setup_tables(m) < 0 ||
	    master_setup_events(m) < 0 || master_child_watch_forkserver(m) < 0 ||
	    master_cluster_start(m) < 0)
		return -1;
	/* the queue and the admin process exist before READY=1 */
	return master_admin_start(m);
}

void
master_setup_cleanup(struct master *m)
{
	master_admin_stop(m);	/* the queue goes on every exit path */
	master_cluster_stop(m);
	master_forkserver_stop(&m->fs);
	ipc_peer_close(&m->fs.retiring);
	if (m->up.check_fd >= 0)
		close(m->up.check_fd);
	for (uint32_t i = 0; m->slots && i < m->nslots; i++)
		ipc_peer_close(&m->slots[i].ipc);
	listen_close(&m->ls);
	shm_destroy(&m->seg);
	dir_free(&m->ds.dir);
	fanout_free(&m->fanout);
	master_child_free(m);
	free(m->slots);
	free(m->live);
	free(m->waiters);
	iplimit_free(m->per_ip);
	buf_free(&m->ds.pending);
	buf_free(&m->requests);
	whowas_free(&m->ds.whowas);
	history_free(m->ds.history);
	m->ds.history = NULL;
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	if (m->timerfd >= 0)
		close(m->timerfd);
	conf_free(m->cfg);
	free(m->cfg);
}

struct master *
master_setup_new(struct conf *cfg, const char *config_path, bool must_exist)
{
	struct master *m = calloc(1, sizeof *m);

	if (m == NULL) {
		log_errx("out of memory");
		conf_free(cfg);
		free(cfg);
		return NULL;
	}
	m->cfg = cfg;
	m->config_path = config_path;
	m->config_must_exist = must_exist;
	m->epfd = m->sigfd = m->timerfd = -1;
	m->seg.fd = -1;
	m->admin.qid = -1;
	ipc_peer_init(&m->admin.ipc, -1);
	ipc_peer_init(&m->fs.ipc, -1);
	ipc_peer_init(&m->fs.retiring, -1);
	m->up.check_fd = -1;
	m->fs.exe_fd = -1;
	m->fs.tls_cert_fd = m->fs.tls_key_fd = -1;
	m->fs.tls_new_cert_fd = m->fs.tls_new_key_fd = -1;
	m->started = time(NULL);
	return m;
}

