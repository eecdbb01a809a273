/* master_cluster: the master's side of a cluster */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster.h"
#include "ipc.h"
#include "log.h"
#include "master_cluster.h"
#include "master_requests.h"
#include "master_state.h"

static struct master *
master_cluster_of(struct dirsvc *ds)
{
	return (struct master *)((char *)ds - offsetof(struct master, ds));
}

/* ---------------------------------------------------------------- the log, in order */

static void
mc_request(void *arg, uint32_t slot, uint32_t gen, const void *msg, size_t len)
{
	master_requests_push(arg, slot, gen, MASTER_REQ_LOG, msg, len);
}

static void
mc_message(void *arg, uint32_t slot, uint32_t gen, const void *msg, size_t len)
{
	master_requests_push(arg, slot, gen, MASTER_REQ_LOG_MSG, msg, len);
}

static void
mc_quit(void *arg, uint32_t slot, uint32_t gen, const char *reason)
{
	master_requests_push(arg, slot, gen, MASTER_REQ_QUIT, reason, strlen(reason));
}

static void
mc_release(void *arg, uint32_t slot, uint32_t gen)
{
	master_requests_push(arg, slot, gen, MASTER_REQ_LOG_RELEASE, NULL, 0);
}

static void
mc_snapshot_point(void *arg, const char *id)
{
	master_requests_push(arg, 0, 0, MASTER_REQ_LOG_SNAPSHOT, id, strlen(id));
}

/* the network split or joined: every registered client of ours hears it */
static void
mc_link(void *arg, bool joined)
{
	struct master *m = arg;
	struct ring_target t = { .kind = RING_TO_ALL };
	char line[IRC_MAXLINE + 1];
	size_t len;

	if (m->stopping)
		return;
	len = irc_fmt(line, sizeof line, ":%s NOTICE * :*** %s", m->cfg->server_name, joined ?
	    "This server is connected to the network" :
	    "This server lost the rest of the network: you see only its own users until "
	    "it is back; nick, channel and mode changes wait until then");
	if (dirsvc_emit(&m->ds, &t, line, len) < 0)
		log_warnx("cluster: the notice of the link's state could not be queued");
}

static void
mc_rejoin_point(void *arg)
{
	master_requests_push(arg, 0, 0, MASTER_REQ_LOG_REJOIN, NULL, 0);
}

static size_t
mc_backlog(void *arg)
{
	struct master *m = arg;

	return buf_used(&m->requests);
}

static const struct cluster_ops master_cluster_ops = {
	.request = mc_request,
	.message = mc_message,
	.quit = mc_quit,
	.release = mc_release,
	.link = mc_link,
	.snapshot_point = mc_snapshot_point,
	.rejoin_point = mc_rejoin_point,
	.backlog = mc_backlog,
};

/* ---------------------------------------------------------------- the command layer */

static void
mc_forward(struct dirsvc *ds, const struct ring_rec *rec)
{
	struct master *m = master_cluster_of(ds);

	if (cluster_wants(m->cluster, rec))
		cluster_forward(m->cluster, rec);
}

static const char *
mc_server_of(struct dirsvc *ds, uint32_t slot)
{
	struct master *m = master_cluster_of(ds);

	return cluster_dir_node_name(&m->cluster->cd, ds->dir.users[slot].node);
}

static void
mc_replicate(struct dirsvc *ds, uint32_t slot, uint32_t gen, const char *name)
{
	struct master *m = master_cluster_of(ds);
	char msg[sizeof(struct ipc_req) + 64];
	struct ipc_out o;
	struct ipc_req *req = ipc_out_init(&o, msg, sizeof msg, sizeof *req);

	req->nargs = 0;
	ipc_put_str(&o, name);
	if (cluster_submit(m->cluster, slot, gen, o.buf, o.len) < 0)
		log_warnx("cluster: %s of slot %u could not be told to the network", name, slot);
}

/* ---------------------------------------------------------------- life */

/* a Redis password in a file anyone may read: say so once, at start */
static void
master_cluster_check_secret(const struct master *m)
{
	struct stat st;

	if (m->config_path == NULL || (m->cfg->cluster_password == NULL &&
	    strchr(m->cfg->cluster_redis, '@') == NULL))
		return;
	if (stat(m->config_path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("%s holds the Redis password and every user may read it: "
		    "chmod 0640 it (group shmchat)", m->config_path);
}

int
master_cluster_start(struct master *m)
{
	if (!conf_cluster_enabled(m->cfg))
		return 0;
	master_cluster_check_secret(m);
	if ((m->cluster = calloc(1, sizeof *m->cluster)) == NULL) {
		log_errx("out of memory for the cluster");
		return -1;
	}
	if (cluster_init(m->cluster, m->cfg, &m->ds, m->epfd, EV_REDIS, &master_cluster_ops,
	    m) < 0) {
		free(m->cluster);
		m->cluster = NULL;
		return -1;
	}
	if (m->ds.ops == NULL)
		return 0;	/* an upgrade's check: nothing runs commands */
	m->ds_ops = *m->ds.ops;
	m->ds_ops.forward = mc_forward;
	m->ds_ops.server_of = mc_server_of;
	m->ds_ops.replicate = mc_replicate;
	m->ds.ops = &m->ds_ops;
	return 0;
}

void
master_cluster_stop(struct master *m)
{
	if (m->cluster == NULL)
		return;
	cluster_free(m->cluster);
	free(m->cluster);
	m->cluster = NULL;
}

void
master_cluster_event(struct master *m, uint32_t idx, uint32_t events)
{
	if (m->cluster != NULL)
		cluster_event(m->cluster, idx, events);
}

void
master_cluster_tick(struct master *m, uint64_t now_ms)
{
	if (m->cluster != NULL)
		cluster_tick(m->cluster, now_ms);
}

void
master_cluster_flush(struct master *m)
{
	if (m->cluster != NULL)
		cluster_flush(m->cluster);
}
