/* master_control: reload, shutdown, status */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "cluster.h"
#include "cmd_hist.h"
#include "log.h"
#include "master_control.h"
#include "master_state.h"
#include "master_worker.h"

#define SHUTDOWN_GRACE	10	/* seconds before remaining workers get SIGKILL */

void
master_control_status(struct master *m, char *out, size_t outlen)
{
	snprintf(out, outlen, "Listening on %s; %u clients, %u channels",
	    m->listen_desc, m->ds.dir.nregistered, m->ds.dir.nchannels);
}

void
master_control_update_status(struct master *m)
{
	char status[sizeof m->last_status];

	master_control_status(m, status, sizeof status);
	if (strcmp(status, m->last_status) != 0) {
		notify_status(&m->notify, status);
		memcpy(m->last_status, status, sizeof status);
	}
}

/*
 * The certificate and key are read again on every reload (a renewed pair
 * keeps its file names). The files are opened here, as the unprivileged
 * user; the fork server loads them and says whether it could (logged):
 * until then, and if it cannot, new clients get the pair in use.
 */
static const char *
master_control_tls(struct master *m)
{
	char err[512];
	int fds[2];

	if (m->tls_listeners == 0)
		return "";
	if (!conf_tls_enabled(m->cfg)) {
		log_errx("reload: tls certificate and key removed; TLS listeners keep "
		    "the pair in use");
		return "; TLS pair kept (none configured)";
	}
	if (master_forkserver_tls_open(m->cfg, fds, err, sizeof err) < 0) {
		log_errx("reload: %s; the TLS pair in use is kept", err);
		return "; TLS pair kept (cannot open the files)";
	}
	if (master_forkserver_tls_reload(&m->fs, m->cfg, fds) < 0)
		return "; TLS pair kept (the fork server is not running)";
	return "; TLS pair being reloaded (see the log)";
}

int
master_control_reload(struct master *m, char *out, size_t outlen)
{
	struct conf *nc = malloc(sizeof *nc);
	char err[512], diff[512], status[512];
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
	for (int i = 0; i < nc->nlisten_tls; i++)
		free(nc->listen_tls[i]);
	memcpy(nc->listen_tls, m->cfg->listen_tls, sizeof nc->listen_tls);
	nc->nlisten_tls = m->cfg->nlisten_tls;
	m->cfg->nlisten_tls = 0;
	nc->ring_size = m->cfg->ring_size;
	nc->inbox_size = m->cfg->inbox_size;
	/* joining or leaving a network, or another Redis, needs a restart */
	if (strstr(diff, "cluster_") != NULL)
		log_warnx("reload: the cluster settings take effect at the next start");
	conf_keep_cluster(nc, m->cfg);
	/* the queue exists already: its key and group change on restart */
	nc->admin_queue_key = m->cfg->admin_queue_key;
	free(nc->admin_group);
	nc->admin_group = m->cfg->admin_group;
	m->cfg->admin_group = NULL;
	conf_free(m->cfg);
	free(m->cfg);
	m->cfg = nc;
	m->ds.cfg = nc;
	if (m->cluster != NULL)
		m->cluster->cfg = nc;
	dirsvc_whowas_setup(&m->ds);	/* whowas_history may have changed */
	cmd_hist_setup(&m->ds);		/* and the history's bounds */
	log_set_level(nc->log_level);
	for (uint32_t i = 0; i < m->nlive; i++)
		master_worker_send_settings(m, m->live[i]);
	master_forkserver_pool_send(&m->fs, nc);
	log_notice("configuration reloaded (changed: %s)", diff);
	snprintf(out, outlen, "reloaded (changed: %s)%s", diff, master_control_tls(m));
	rc = 0;
done:
	master_control_status(m, status, sizeof status);
	notify_ready(&m->notify, status);
	return rc;
}

void
master_control_shutdown(struct master *m, const char *reason)
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
		master_worker_close(m, m->live[i], reason);
	m->stop_deadline = time(NULL) + SHUTDOWN_GRACE;
}
