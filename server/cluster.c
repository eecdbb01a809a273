/* cluster: the network log, leases, and other nodes' clients (docs/cluster.md) */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "cluster.h"
#include "cluster_dir.h"
#include "cluster_snap.h"
#include "conf.h"
#include "dirsvc.h"
#include "fields.h"
#include "ipc.h"
#include "log.h"

#define CLUSTER_READ_COUNT	512		/* entries per XREAD */
#define CLUSTER_READ_BLOCK	"1000"		/* ms an XREAD waits */
#define CLUSTER_HELLO_RETRY_MS	3000		/* no snapshot this long: HELLO again */
#define CLUSTER_OUTBOX_MAX	(16u << 20)	/* bytes written, not yet confirmed */
#define CLUSTER_BACKLOG_MAX	(8u << 20)	/* bytes read, not yet run: read no more */
#define CLUSTER_DEAD_TTL_MS	"3600000"	/* a node declared dead stays so an hour */

/* leases of the nodes in the registry that hold one: name, value, ... */
static const char cluster_lua_leases[] =
    "local r = {} "
    "for _, n in ipairs(redis.call('HKEYS', KEYS[1])) do "
    "  local v = redis.call('GET', ARGV[1] .. n) "
    "  if v then r[#r + 1] = n; r[#r + 1] = v end "
    "end "
    "return r";

static void cluster_read(struct cluster *c);

static uint64_t
cluster_now_ms(void)
{
	return clock_ms();
}

/* the cluster whose link called back */
static struct cluster *
cluster_of(struct redis_link *l)
{
	return (struct cluster *)((char *)l - offsetof(struct cluster, link));
}

/* a node is gone: every one of its clients quits, in the log's order */
static void
cluster_node_gone(struct cluster *c, struct cluster_node *n, const char *why)
{
	struct cluster_ruser *ru, *tmp;
	char reason[128];
	unsigned count = 0;

	snprintf(reason, sizeof reason, "%s %s", n->name, why);
	HASH_ITER(hh, c->cd.rusers, ru, tmp) {
		if (ru->key.node != n->idx)
			continue;
		uint32_t s = ru->local, g = c->ds->dir.users[s].gen;
		c->ops->quit(c->arg, s, g, reason);
		c->ops->release(c->arg, s, g);
		cluster_dir_ruser_forget(&c->cd, ru);
		count++;
	}
	n->dead = true;
	n->nusers = 0;
	log_notice("cluster: node %s (incarnation %016" PRIx64 ") %s; its %u clients quit",
	    n->name, n->inc, why, count);
}

/* ---------------------------------------------------------------- writing */

/* XADD key MAXLEN ~ n * field value ...: the command's head */
static void
cluster_xadd_head(struct cluster *c, struct cluster_argv *a, char *maxlen, size_t size)
{
	snprintf(maxlen, size, "%d", c->cfg->cluster_log_max);
	a->argc = 0;
	a->argv[a->argc] = "XADD"; a->len[a->argc++] = 4;
	a->argv[a->argc] = c->k_log; a->len[a->argc++] = strlen(c->k_log);
	a->argv[a->argc] = "MAXLEN"; a->len[a->argc++] = 6;
	a->argv[a->argc] = "~"; a->len[a->argc++] = 1;
	a->argv[a->argc] = maxlen; a->len[a->argc++] = strlen(maxlen);
	a->argv[a->argc] = "*"; a->len[a->argc++] = 1;
}

static void
cluster_entry_fill(struct cluster *c, struct cluster_entry *e, enum cluster_kind kind)
{
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->node = (struct cluster_str){ c->cd.self->name, strlen(c->cd.self->name) };
	e->inc = c->cd.self->inc;
	e->seq = ++c->seq;
	e->time = (int64_t)time(NULL);
}

/* outbox record: u32 argc, then per argument u32 length and the bytes */
static int
cluster_outbox_put(struct cluster *c, const struct cluster_argv *a)
{
	size_t need = 4;
	char *p;

	for (int i = 0; i < a->argc; i++)
		need += 4 + a->len[i];
	if (buf_used(&c->outbox) + need > CLUSTER_OUTBOX_MAX)
		return -ENOBUFS;
	if ((p = buf_reserve(&c->outbox, need)) == NULL)
		return -ENOMEM;
	uint32_t n = (uint32_t)a->argc;
	memcpy(p, &n, 4);
	p += 4;
	for (int i = 0; i < a->argc; i++) {
		uint32_t l = (uint32_t)a->len[i];
		memcpy(p, &l, 4);
		memcpy(p + 4, a->argv[i], a->len[i]);
		p += 4 + a->len[i];
	}
	buf_commit(&c->outbox, need);
	c->outbox_n++;
	return 0;
}

/* the outbox record at p as argv; returns its size */
static size_t
cluster_outbox_argv(const char *p, const char **argv, size_t *len, int *argc)
{
	const char *start = p;
	uint32_t n;

	memcpy(&n, p, 4);
	p += 4;
	for (uint32_t i = 0; i < n && i < CLUSTER_ENTRY_ARGV; i++) {
		uint32_t l;
		memcpy(&l, p, 4);
		argv[i] = p + 4;
		len[i] = l;
		p += 4 + l;
	}
	*argc = (int)n;
	return (size_t)(p - start);
}

/* Redis took (or refused) the oldest entry in flight */
static void
cluster_xadd_done(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = priv;
	const char *argv[CLUSTER_ENTRY_ARGV];
	size_t len[CLUSTER_ENTRY_ARGV];
	int argc;

	(void)l;
	if (reply == NULL)
		return;		/* the connection went: written again when it is back */
	if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: Redis refused an entry of the log: %s; it is lost",
		    reply->str);
	else
		c->written++;
	if (c->outbox_n == 0)
		return;
	buf_consume(&c->outbox, cluster_outbox_argv(buf_head(&c->outbox), argv, len, &argc));
	c->outbox_n--;
	if (c->outbox_n == 0)
		buf_free(&c->outbox);
}

/* send every entry of the outbox (after a reconnection) */
static void
cluster_outbox_flush(struct cluster *c)
{
	const char *argv[CLUSTER_ENTRY_ARGV];
	size_t len[CLUSTER_ENTRY_ARGV];
	const char *p = buf_head(&c->outbox);
	int argc;

	for (uint32_t i = 0; i < c->outbox_n; i++) {
		p += cluster_outbox_argv(p, argv, len, &argc);
		if (redis_link_cmd(&c->link, cluster_xadd_done, c, argc, argv, len) < 0)
			return;	/* down again: the rest waits for the next time */
	}
	if (c->outbox_n > 0)
		log_info("cluster: %u entries written again after the reconnection", c->outbox_n);
}

/*
 * Append an entry to the log (through the outbox: written again if the
 * connection is lost before Redis confirms it). 0, or -errno.
 */
static int
cluster_write(struct cluster *c, const struct cluster_entry *e)
{
	struct cluster_argv a;
	char maxlen[16];
	int rc;

	cluster_xadd_head(c, &a, maxlen, sizeof maxlen);
	if (cluster_entry_encode(e, &a) < 0) {
		log_warnx("bug: cluster entry %c does not encode", (char)e->kind);
		return -EINVAL;
	}
	if ((rc = cluster_outbox_put(c, &a)) < 0) {
		c->dropped++;
		log_warnx("cluster: %s; an entry of kind %c is dropped", rc == -ENOBUFS ?
		    "too much waits for Redis" : "out of memory", (char)e->kind);
		return rc;
	}
	if (redis_link_is_up(&c->link))
		redis_link_cmd(&c->link, cluster_xadd_done, c, a.argc, a.argv, a.len);
	return 0;
}

bool
cluster_ready(const struct cluster *c)
{
	return c->state == CLUSTER_SYNCED && !c->split;
}

/* our client's USER entry, before its first request */
static int
cluster_introduce(struct cluster *c, uint32_t slot, uint32_t gen)
{
	const struct dir_user *u = &c->ds->dir.users[slot];
	struct cluster_entry e;
	int rc;

	if (c->introduced[slot])
		return 0;
	cluster_entry_fill(c, &e, CLUSTER_USER);
	e.slot = slot;
	e.gen = gen;
	e.host = (struct cluster_str){ u->host, strlen(u->host) };
	e.tls = u->tls;
	e.connected_at = (int64_t)u->connected_at;
	if ((rc = cluster_write(c, &e)) == 0)
		c->introduced[slot] = true;
	return rc;
}

int
cluster_submit(struct cluster *c, uint32_t slot, uint32_t gen, const void *msg, size_t len)
{
	const struct ipc_req *req = msg;
	struct cluster_entry e;
	struct ipc_in in;
	const char *s;
	int rc;

	if (!cluster_ready(c))
		return -EAGAIN;
	if ((rc = cluster_introduce(c, slot, gen)) < 0)
		return rc;
	cluster_entry_fill(c, &e, CLUSTER_REQ);
	e.slot = slot;
	e.gen = gen;
	e.req_id = req->id;
	ipc_in_init(&in, msg, len, sizeof *req);
	while (e.nargs < 1 + IPC_REQ_ARGS && (s = ipc_get_str(&in)) != NULL)
		e.args[e.nargs++] = (struct cluster_str){ s, strlen(s) };
	if (e.nargs < 1)
		return -EINVAL;
	for (int i = 0; i < e.nargs; i++)
		if (e.args[i].len > CLUSTER_ARG_MAX)
			return -EINVAL;	/* the readers would refuse it */
	return cluster_write(c, &e);
}

bool
cluster_quit(struct cluster *c, uint32_t slot, uint32_t gen, const char *reason, size_t len)
{
	struct cluster_entry e;

	if (!c->introduced[slot])
		return false;	/* the network never heard of it */
	cluster_entry_fill(c, &e, CLUSTER_REQ);
	e.slot = slot;
	e.gen = gen;
	e.args[0] = (struct cluster_str){ "QUIT", 4 };
	e.args[1] = (struct cluster_str){ reason, len < 400 ? len : 400 };
	e.nargs = 2;
	/* split: the others hear of it later (and it is a no-op here then) */
	return cluster_write(c, &e) == 0 && cluster_ready(c);
}

bool
cluster_release(struct cluster *c, uint32_t slot, uint32_t gen)
{
	struct cluster_entry e;

	if (!c->introduced[slot])
		return false;
	c->introduced[slot] = false;
	cluster_entry_fill(c, &e, CLUSTER_GONE);
	e.slot = slot;
	e.gen = gen;
	return cluster_write(c, &e) == 0 && cluster_ready(c);
}

/* "@+#c" etc.: a channel with the client's status, for RESTORE */
static size_t
cluster_chan_arg(const struct dir *d, uint32_t slot, uint32_t chan, char *out, size_t cap)
{
	const struct dir_chan *ch = dir_chan_get((struct dir *)d, chan);
	const struct dir_member *mb = ch != NULL ? dir_member_get(ch, slot) : NULL;

	if (mb == NULL)
		return 0;
	return (size_t)snprintf(out, cap, "%s%s%s", (mb->flags & DIR_MEMBER_OP) ? "@" : "",
	    (mb->flags & DIR_MEMBER_VOICE) ? "+" : "", ch->name);
}

/* one client of ours back into the network: USER, then RESTORE */
static void
cluster_restore(struct cluster *c, uint32_t slot)
{
	struct dir *d = &c->ds->dir;
	struct dir_user *u = &d->users[slot];
	char umodes[16], fallback[IRC_NICK_MAX + 1], chans[IPC_REQ_ARGS][IRC_CHAN_MAX + 4];
	struct cluster_entry e;
	uint32_t r = 0;
	int n = 0;

	snprintf(umodes, sizeof umodes, "%u", u->umodes);
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = slot ^ (uint32_t)time(NULL);
	/* what the client is called if its nick was taken meanwhile */
	snprintf(fallback, sizeof fallback, "%.*s|%04x",
	    c->cfg->nick_len > 5 ? c->cfg->nick_len - 5 : 1, u->nick, r & 0xffff);
	for (uint32_t i = 0; i < u->nchans && n < IPC_REQ_ARGS - 6; i++)
		if (cluster_chan_arg(d, slot, u->chans[i], chans[n], sizeof chans[n]) > 0)
			n++;
	cluster_entry_fill(c, &e, CLUSTER_USER);
	e.slot = slot;
	e.gen = u->gen;
	e.host = (struct cluster_str){ u->host, strlen(u->host) };
	e.tls = u->tls;
	e.connected_at = (int64_t)u->connected_at;
	cluster_write(c, &e);
	cluster_entry_fill(c, &e, CLUSTER_REQ);
	e.slot = slot;
	e.gen = u->gen;
	e.args[e.nargs++] = (struct cluster_str){ "RESTORE", 7 };
	e.args[e.nargs++] = (struct cluster_str){ u->nick, strlen(u->nick) };
	e.args[e.nargs++] = (struct cluster_str){ u->user, strlen(u->user) };
	e.args[e.nargs++] = (struct cluster_str){ u->realname, strlen(u->realname) };
	e.args[e.nargs++] = (struct cluster_str){ umodes, strlen(umodes) };
	e.args[e.nargs++] = (struct cluster_str){ u->away ? u->away : "",
		u->away ? strlen(u->away) : 0 };
	e.args[e.nargs++] = (struct cluster_str){ fallback, strlen(fallback) };
	for (int i = 0; i < n; i++)
		e.args[e.nargs++] = (struct cluster_str){ chans[i], strlen(chans[i]) };
	cluster_write(c, &e);
	/* the network forgot it: so does the directory here until RESTORE runs */
	while (u->nchans > 0)
		if (dir_part(d, slot, u->chans[u->nchans - 1]) < 0)
			u->nchans--;
	dir_nick_clear(d, slot);
}

void
cluster_rejoin(struct cluster *c)
{
	struct dir *d = &c->ds->dir;
	unsigned count = 0;

	for (uint32_t s = 0; s < d->nlocal; s++) {
		if (!c->introduced[s])
			continue;
		if (d->users[s].state == DIR_REGISTERED) {
			cluster_restore(c, s);
			count++;
		} else {
			/* not registered yet: it is introduced again with its REGISTER */
			c->introduced[s] = false;
			dir_nick_clear(d, s);
		}
	}
	log_notice("cluster: %u clients of this node go back into the network", count);
}

bool
cluster_wants(const struct cluster *c, const struct ring_rec *rec)
{
	const struct dir *d = &c->ds->dir;

	if (c->state != CLUSTER_SYNCED || rec->owner >= d->nlocal)
		return false;	/* not ours (another node's, or the master's) */
	if (rec->kind != RING_MSG_CHAN && rec->kind != RING_TO_NICK)
		return false;
	return c->cd.nnodes > 1 || c->cd.rusers != NULL;
}

void
cluster_forward(struct cluster *c, const struct ring_rec *rec)
{
	struct cluster_entry e;

	if (!c->introduced[rec->owner])
		return;
	cluster_entry_fill(c, &e, CLUSTER_MSG);
	e.slot = rec->owner;
	e.gen = rec->owner_gen;
	e.msg_kind = rec->kind;
	e.msg_flags = rec->flags & ~RING_F_REPLY_ERRORS;
	e.msg_caps = rec->cap_need;
	e.target = (struct cluster_str){ ring_rec_extra(rec), ring_rec_target_len(rec) };
	e.payload = (struct cluster_str){ ring_rec_payload(rec), rec->payload_len };
	cluster_write(c, &e);
}

/* ---------------------------------------------------------------- applying */

/* an entry's client, here: its local slot, or false */
static bool
cluster_entry_client(struct cluster *c, const struct cluster_node *n,
    const struct cluster_entry *e, uint32_t *slot, uint32_t *gen)
{
	struct cluster_ruser *ru;

	if (n->self) {
		if (e->slot >= c->ds->dir.nlocal || c->ds->dir.users[e->slot].gen != e->gen)
			return false;
		*slot = e->slot;
		*gen = e->gen;
		return true;
	}
	if ((ru = cluster_dir_ruser_find(&c->cd, n->idx, e->slot, e->gen)) == NULL)
		return false;
	*slot = ru->local;
	*gen = c->ds->dir.users[ru->local].gen;
	return true;
}

/* a request from the log as an ipc_req message, for cmd_master_request */
static void
cluster_apply_req(struct cluster *c, uint32_t slot, uint32_t gen, const struct cluster_entry *e)
{
	char msg[IPC_MSG_MAX];
	struct ipc_out o;
	struct ipc_req *req = ipc_out_init(&o, msg, sizeof msg, sizeof *req);
	char arg[CLUSTER_ARG_MAX + 1];

	req->nargs = (uint16_t)(e->nargs - 1);
	req->id = e->req_id;
	for (int i = 0; i < e->nargs; i++) {
		memcpy(arg, e->args[i].p, e->args[i].len);
		arg[e->args[i].len] = '\0';
		ipc_put_str(&o, arg);
	}
	if (o.overflow) {
		log_warnx("cluster: a request from the log is too long; skipped");
		return;
	}
	c->ops->request(c->arg, slot, gen, o.buf, o.len);
}

static void
cluster_apply_msg(struct cluster *c, uint32_t slot, uint32_t gen, const struct cluster_entry *e)
{
	struct cluster_msg h = { e->msg_kind, e->msg_flags, (uint16_t)e->target.len,
		e->msg_caps, (uint32_t)e->payload.len };
	char *msg = malloc(sizeof h + e->target.len + e->payload.len);

	if (msg == NULL) {
		log_warnx("cluster: out of memory for a message from the log; dropped");
		return;
	}
	memcpy(msg, &h, sizeof h);
	memcpy(msg + sizeof h, e->target.p, e->target.len);
	memcpy(msg + sizeof h + e->target.len, e->payload.p, e->payload.len);
	c->ops->message(c->arg, slot, gen, msg, sizeof h + e->target.len + e->payload.len);
	free(msg);
}

static void
cluster_apply_user(struct cluster *c, struct cluster_node *n, const struct cluster_entry *e)
{
	uint32_t local, lgen;
	struct dir_user *u;
	int rc = cluster_dir_ruser_add(&c->cd, n, e->slot, e->gen, &local, &lgen);

	if (rc < 0) {
		log_warnx("cluster: client %u.%u of node %s cannot be added here: %s",
		    e->slot, e->gen, n->name, rc == -ENOSPC ?
		    "max_remote_clients reached" : strerror(-rc));
		return;
	}
	u = &c->ds->dir.users[local];
	snprintf(u->host, sizeof u->host, "%.*s", (int)e->host.len, e->host.p);
	u->tls = e->tls;
	u->connected_at = (time_t)e->connected_at;
}

/* a snapshot taken at a HELLO, waiting to learn whether this node sends it */
struct cluster_snap_job {
	struct cluster *c;
	struct buf blob;
	char id[48];
};

static void
cluster_snap_sent(struct redis_link *l, const redisReply *reply, void *priv)
{
	(void)l;
	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: Redis refused the snapshot: %s", reply->str);
}

static void
cluster_snap_claimed(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster_snap_job *job = priv;
	struct cluster *c = cluster_of(l);

	if (reply != NULL && reply->type == REDIS_REPLY_STATUS) {
		struct cluster_entry e;
		struct cluster_argv a;
		char maxlen[16];

		cluster_entry_fill(c, &e, CLUSTER_SNAP);
		e.answers = (struct cluster_str){ job->id, strlen(job->id) };
		e.blob = (struct cluster_str){ buf_head(&job->blob), buf_used(&job->blob) };
		cluster_xadd_head(c, &a, maxlen, sizeof maxlen);
		/* not through the outbox: a lost snapshot is asked for again */
		if (cluster_entry_encode(&e, &a) == 0 &&
		    redis_link_cmd(&c->link, cluster_snap_sent, NULL, a.argc, a.argv, a.len) == 0)
			log_info("cluster: sent the network's state (%zu bytes) for HELLO %s",
			    buf_used(&job->blob), job->id);
	}
	buf_free(&job->blob);
	free(job);
}

void
cluster_snap_due(struct cluster *c, const char *id)
{
	struct cluster_snap_job *job;
	char key[400];

	if (c->state != CLUSTER_SYNCED || !redis_link_is_up(&c->link))
		return;		/* the joining node will ask again */
	if ((job = calloc(1, sizeof *job)) == NULL)
		return;
	job->c = c;
	buf_init(&job->blob);
	snprintf(job->id, sizeof job->id, "%s", id);
	if (cluster_snap_build(&c->cd, &job->blob) < 0) {
		log_warnx("cluster: out of memory for a snapshot");
		buf_free(&job->blob);
		free(job);
		return;
	}
	snprintf(key, sizeof key, "%ssnap:%s", c->cfg->cluster_key_prefix, id);
	const char *argv[] = { "SET", key, c->cd.self->name, "NX", "PX", "30000" };
	if (redis_link_cmd(&c->link, cluster_snap_claimed, job, 6, argv, NULL) < 0) {
		buf_free(&job->blob);
		free(job);
	}
}

/* the nodes up, for LUSERS */
static void
cluster_count_servers(struct cluster *c)
{
	uint32_t up = 0;

	for (uint16_t i = 1; i <= c->cd.nnodes; i++)
		up += !c->cd.nodes[i]->dead;
	c->ds->servers = up;
}

static void
cluster_apply(struct cluster *c, const char *id, const struct cluster_entry *e)
{
	struct cluster_node *n = cluster_dir_node_find(&c->cd, e->node.p, e->node.len);
	uint32_t slot, gen;

	if (n == NULL) {
		if ((n = cluster_dir_node_add(&c->cd, e->node.p, e->node.len, e->inc)) == NULL)
			return;
		log_notice("cluster: node %s (incarnation %016" PRIx64 ") joins", n->name, n->inc);
	} else if (n->inc != e->inc) {
		if (n->self) {
			/* an older incarnation of ours, still in the log */
			return;
		}
		if (!n->dead)
			cluster_node_gone(c, n, "restarted");
		n->inc = e->inc;
		n->seq = 0;
		n->dead = false;
		n->lease_missing_ms = 0;
		log_notice("cluster: node %s (incarnation %016" PRIx64 ") joins", n->name, n->inc);
	}
	cluster_count_servers(c);
	if (e->seq <= n->seq)
		return;		/* written again after a lost connection: applied already */
	if (n->dead && e->kind != CLUSTER_DEAD && !n->self) {
		/* declared dead while it could not reach Redis: it is back */
		n->dead = false;
		n->lease_missing_ms = 0;
		log_notice("cluster: node %s is back", n->name);
	}
	n->seq = e->seq;
	c->applied++;
	switch (e->kind) {
	case CLUSTER_HELLO:
		if (!n->self && !n->dead)
			c->ops->snapshot_point(c->arg, id);
		break;
	case CLUSTER_USER:
		if (!n->self)
			cluster_apply_user(c, n, e);
		break;
	case CLUSTER_REQ:
		if (cluster_entry_client(c, n, e, &slot, &gen))
			cluster_apply_req(c, slot, gen, e);
		break;
	case CLUSTER_MSG:
		if (!n->self && cluster_entry_client(c, n, e, &slot, &gen))
			cluster_apply_msg(c, slot, gen, e);
		break;
	case CLUSTER_GONE:
		if (n->self) {
			if (e->slot < c->ds->dir.nlocal)
				c->ops->release(c->arg, e->slot, e->gen);
		} else {
			struct cluster_ruser *ru = cluster_dir_ruser_find(&c->cd, n->idx, e->slot, e->gen);
			if (ru != NULL) {
				c->ops->release(c->arg, ru->local, c->ds->dir.users[ru->local].gen);
				cluster_dir_ruser_forget(&c->cd, ru);
			}
		}
		break;
	case CLUSTER_DEAD: {
		struct cluster_node *dn = cluster_dir_node_find(&c->cd, e->dead.p, e->dead.len);
		if (dn == NULL || dn->inc != e->dead_inc || dn->dead)
			break;
		if (dn->self) {
			log_warnx("cluster: node %s declared this node dead (its lease lapsed "
			    "while Redis was out of reach); bringing our clients back", n->name);
			c->ops->rejoin_point(c->arg);
			break;
		}
		cluster_node_gone(c, dn, "went away");
		cluster_count_servers(c);
		break;
	}
	case CLUSTER_SNAP:
		break;		/* for a node starting up */
	}
}

/* while waiting: only a snapshot answering one of our HELLOs matters */
static void
cluster_wait_entry(struct cluster *c, const struct cluster_entry *e)
{
	char answered[48];

	if (e->kind != CLUSTER_SNAP)
		return;
	snprintf(answered, sizeof answered, "%.*s", (int)e->answers.len, e->answers.p);
	if (strcmp(answered, c->hello_id) != 0)
		return;
	if (cluster_snap_apply(&c->cd, e->blob.p, e->blob.len) < 0) {
		log_warnx("cluster: the snapshot from %.*s does not parse; asking again",
		    (int)e->node.len, e->node.p);
		c->hello_ms = 0;
		return;
	}
	/* the state is as of our HELLO: read on from there */
	snprintf(c->last_id, sizeof c->last_id, "%s", c->hello_id);
	c->state = CLUSTER_SYNCED;
	log_notice("cluster: joined the network (%u nodes, %u clients elsewhere)",
	    c->cd.nnodes - 1, HASH_COUNT(c->cd.rusers));
	c->ops->link(c->arg, true);
}

/* the field/value array of one stream entry */
static bool
cluster_entry_fields(const redisReply *fields, struct cluster_str *fv, size_t *nf)
{
	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0 ||
	    fields->elements > 2 * 64)
		return false;
	for (size_t i = 0; i < fields->elements; i++) {
		const redisReply *s = fields->element[i];
		if (s->type != REDIS_REPLY_STRING)
			return false;
		fv[i] = (struct cluster_str){ s->str, s->len };
	}
	*nf = fields->elements;
	return true;
}

static void
cluster_read_done(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);
	const redisReply *entries;

	if ((uintptr_t)priv != c->read_gen)
		return;		/* a read from before a rewind: ignored */
	c->reading = false;
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("cluster: reading the log: %s", reply->str);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
	    reply->element[0]->type == REDIS_REPLY_ARRAY &&
	    reply->element[0]->elements == 2 &&
	    (entries = reply->element[0]->element[1])->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < entries->elements; i++) {
			const redisReply *en = entries->element[i];
			struct cluster_str fv[2 * 64];
			struct cluster_entry e;
			const char *why = NULL;
			size_t nf = 0;

			if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
			    en->element[0]->type != REDIS_REPLY_STRING ||
			    en->element[0]->len >= sizeof c->last_id)
				continue;
			snprintf(c->last_id, sizeof c->last_id, "%s", en->element[0]->str);
			if (!cluster_entry_fields(en->element[1], fv, &nf) ||
			    cluster_entry_decode(&e, fv, nf, &why) < 0) {
				c->refused++;
				log_warnx("cluster: entry %s of the log refused: %s", c->last_id,
				    nf == 0 ? "not a list of fields" : why);
				continue;
			}
			if (c->state == CLUSTER_SYNCED)
				cluster_apply(c, c->last_id, &e);
			else if (c->state == CLUSTER_WAITING) {
				cluster_wait_entry(c, &e);
				if (c->state == CLUSTER_SYNCED) {
					c->read_gen++;
					break;	/* read again from our HELLO */
				}
			}
		}
	}
	cluster_read(c);
}

static void
cluster_read(struct cluster *c)
{
	const char *argv[] = { "XREAD", "COUNT", "512", "BLOCK", CLUSTER_READ_BLOCK, "STREAMS",
		c->k_log, c->last_id };

	if (c->reading || !redis_link_is_up(&c->link) || c->state < CLUSTER_WAITING)
		return;
	/* a node that cannot keep up reads on when it has (the tick, the turn) */
	if (c->ops->backlog(c->arg) > CLUSTER_BACKLOG_MAX)
		return;
	if (redis_link_block_cmd(&c->link, cluster_read_done,
	    (void *)c->read_gen, 8, argv, NULL) == 0)
		c->reading = true;
}

/* ---------------------------------------------------------------- joining */

static void
cluster_hello_done(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);
	bool alone = priv != NULL;

	c->xadd_pending = false;
	if (reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_STRING || reply->len >= sizeof c->hello_id) {
		log_warnx("cluster: writing our HELLO: %s", reply->type == REDIS_REPLY_ERROR ?
		    reply->str : "unexpected reply");
		return;
	}
	snprintf(c->hello_id, sizeof c->hello_id, "%s", reply->str);
	c->hello_ms = cluster_now_ms();
	if (alone) {
		/* nobody holds the state: the network starts here, empty */
		snprintf(c->last_id, sizeof c->last_id, "%s", c->hello_id);
		c->read_gen++;		/* a read already waiting started earlier */
		c->reading = false;
		c->state = CLUSTER_SYNCED;
		log_notice("cluster: first node of the network (log %s)", c->k_log);
		c->ops->link(c->arg, true);
	} else if (c->state != CLUSTER_WAITING || c->last_id[0] == '\0') {
		/* the answer comes after our first HELLO: read from there */
		snprintf(c->last_id, sizeof c->last_id, "%s", c->hello_id);
		c->state = CLUSTER_WAITING;
	}
	cluster_read(c);
}

static void
cluster_hello_write(struct cluster *c, bool alone)
{
	struct cluster_entry e;
	struct cluster_argv a;
	char maxlen[16];

	cluster_entry_fill(c, &e, CLUSTER_HELLO);
	cluster_xadd_head(c, &a, maxlen, sizeof maxlen);
	if (cluster_entry_encode(&e, &a) < 0)
		return;
	/* not through the outbox: a HELLO lost with the connection is sent anew */
	if (redis_link_cmd(&c->link, cluster_hello_done, alone ? c : NULL, a.argc, a.argv,
	    a.len) == 0)
		c->xadd_pending = true;
}

static void
cluster_seed_done(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);

	(void)priv;
	if (reply == NULL)
		return;
	/* won: nobody holds the network's state, we start it; lost: another does */
	cluster_hello_write(c, reply->type == REDIS_REPLY_STATUS);
}

/* the live nodes' leases, at start: is there a node to ask for the state? */
static void
cluster_claim_leases(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);
	bool synced_peer = false;

	(void)priv;
	if (reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("cluster: reading the nodes' leases: %s",
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		return;
	}
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const redisReply *name = reply->element[i], *val = reply->element[i + 1];
		if (name->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(name->str, c->cd.self->name) == 0)
			continue;
		if (val->len > 2 && strcmp(val->str + val->len - 2, ":1") == 0)
			synced_peer = true;
	}
	if (synced_peer) {
		cluster_hello_write(c, false);
		return;
	}
	/* nobody has the state: one of those starting now seeds the network */
	char px[24];
	snprintf(px, sizeof px, "%d", c->cfg->cluster_dead_after * 1000);
	const char *argv[] = { "SET", c->k_seed, c->cd.self->name, "NX", "PX", px };
	redis_link_cmd(&c->link, cluster_seed_done, NULL, 6, argv, NULL);
}

static void
cluster_lease_set(struct cluster *c, bool nx, redis_link_cb *cb)
{
	char val[40], px[24];
	const char *argv[] = { "SET", c->k_lease, val, "PX", px, "NX" };

	snprintf(val, sizeof val, "%016" PRIx64 ":%d", c->cd.self->inc,
	    c->state == CLUSTER_SYNCED ? 1 : 0);
	snprintf(px, sizeof px, "%d", c->cfg->cluster_dead_after * 1000);
	redis_link_cmd(&c->link, cb, c, nx ? 6 : 5, argv, NULL);
}

/* the network's epoch: set by its first node, kept by every node */
static void
cluster_epoch_read(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);

	(void)priv;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		return;
	if (reply->type == REDIS_REPLY_STRING && reply->len < sizeof c->epoch) {
		if (c->epoch[0] != '\0' && strcmp(c->epoch, reply->str) != 0)
			log_warnx("cluster: Redis holds the log of another network (epoch %s, "
			    "ours %s): nodes started while this one was away; their state "
			    "and ours may differ", reply->str, c->epoch);
		else if (c->epoch[0] == '\0')
			snprintf(c->epoch, sizeof c->epoch, "%s", reply->str);
		return;
	}
	if (reply->type == REDIS_REPLY_NIL && c->epoch[0] != '\0') {
		/* Redis restarted empty: the nodes hold the state, the keys come back */
		const char *set[] = { "SET", c->k_epoch, c->epoch, "NX" };
		const char *hset[] = { "HSET", c->k_nodes, c->cd.self->name, "1" };
		log_warnx("cluster: Redis has lost the network's keys (restarted empty?); "
		    "restoring them from this node");
		redis_link_cmd(&c->link, NULL, NULL, 4, set, NULL);
		redis_link_cmd(&c->link, NULL, NULL, 4, hset, NULL);
	}
}

static void
cluster_epoch(struct cluster *c, bool create)
{
	char fresh[40];
	uint64_t r[2];
	const char *set[] = { "SET", c->k_epoch, fresh, "NX" };
	const char *get[] = { "GET", c->k_epoch };

	if (create && c->epoch[0] == '\0' && getrandom(r, sizeof r, 0) == (ssize_t)sizeof r) {
		snprintf(fresh, sizeof fresh, "%016" PRIx64 "%016" PRIx64, r[0], r[1]);
		redis_link_cmd(&c->link, NULL, NULL, 4, set, NULL);
	}
	redis_link_cmd(&c->link, cluster_epoch_read, NULL, 2, get, NULL);
}

static void
cluster_claimed(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = priv;
	const char *hset[] = { "HSET", c->k_nodes, c->cd.self->name, "1" };
	const char *leases[] = { "EVAL", cluster_lua_leases, "1", c->k_nodes, NULL };
	char prefix[300];

	(void)l;
	if (reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_STATUS) {
		if (reply->type == REDIS_REPLY_NIL)
			log_warnx("cluster: node name %s is held by a running node (or by "
			    "this node's previous run, for up to %d s); waiting",
			    c->cd.self->name, c->cfg->cluster_dead_after);
		else
			log_warnx("cluster: taking our lease: %s",
			    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		c->state = CLUSTER_CONNECTING;	/* tried again at the next tick */
		return;
	}
	snprintf(prefix, sizeof prefix, "%slease:", c->cfg->cluster_key_prefix);
	leases[4] = prefix;
	cluster_epoch(c, true);
	redis_link_cmd(&c->link, NULL, NULL, 4, hset, NULL);
	redis_link_cmd(&c->link, cluster_claim_leases, NULL, 5, leases, NULL);
}

static void
cluster_up(void *arg)
{
	struct cluster *c = arg;

	log_notice("cluster: connected to Redis at %s", c->link.name);
	c->up_ms = cluster_now_ms();
	if (c->state == CLUSTER_SYNCED) {
		/* back after an outage: what waited goes out, reading goes on */
		const char *hset[] = { "HSET", c->k_nodes, c->cd.self->name, "1" };
		c->split = false;
		cluster_lease_set(c, false, NULL);
		cluster_epoch(c, false);
		redis_link_cmd(&c->link, NULL, NULL, 4, hset, NULL);
		cluster_outbox_flush(c);
		cluster_read(c);
		/* after an upgrade in place our clients never heard it was gone */
		if (!c->resumed)
			c->ops->link(c->arg, true);
		c->resumed = false;
		return;
	}
	c->state = CLUSTER_CLAIMING;
	cluster_lease_set(c, true, cluster_claimed);
}

static void
cluster_down(void *arg, const char *reason)
{
	struct cluster *c = arg;

	c->reading = false;
	c->xadd_pending = false;
	c->resumed = false;
	if (c->state == CLUSTER_SYNCED) {
		if (!c->split) {
			c->split = true;
			log_warnx("cluster: lost Redis (%s); serving this node's clients only "
			    "until it is back", reason);
			c->ops->link(c->arg, false);
		}
	} else {
		c->state = CLUSTER_CONNECTING;
		log_warnx("cluster: cannot reach Redis (%s); trying again", reason);
	}
}

static const struct redis_link_ops cluster_link_ops = { cluster_up, cluster_down };

/* ---------------------------------------------------------------- leases */

static void
cluster_dead_claimed(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);
	uintptr_t idx = (uintptr_t)priv;
	struct cluster_node *n;
	struct cluster_entry e;

	if (reply == NULL || reply->type != REDIS_REPLY_STATUS || idx == 0 || idx > c->cd.nnodes)
		return;		/* another node announces it */
	n = c->cd.nodes[idx];
	cluster_entry_fill(c, &e, CLUSTER_DEAD);
	e.dead = (struct cluster_str){ n->name, strlen(n->name) };
	e.dead_inc = n->inc;
	log_notice("cluster: node %s has not renewed its lease for %d s; announcing it gone",
	    n->name, c->cfg->cluster_dead_after);
	cluster_write(c, &e);
}

static void
cluster_check_leases(struct redis_link *l, const redisReply *reply, void *priv)
{
	struct cluster *c = cluster_of(l);
	uint64_t now = cluster_now_ms();

	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || c->state != CLUSTER_SYNCED)
		return;
	for (uint16_t i = 1; i <= c->cd.nnodes; i++) {
		struct cluster_node *n = c->cd.nodes[i];
		bool held = false;
		if (n->self || n->dead)
			continue;
		for (size_t k = 0; k + 1 < reply->elements; k += 2) {
			const redisReply *name = reply->element[k], *val = reply->element[k + 1];
			uint64_t inc;
			if (name->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING ||
			    strcmp(name->str, n->name) != 0)
				continue;
			held = sscanf(val->str, "%" SCNx64, &inc) == 1 && inc == n->inc;
		}
		if (held) {
			n->lease_missing_ms = 0;
			continue;
		}
		if (n->lease_missing_ms == 0)
			n->lease_missing_ms = now;
		/* just back ourselves (Redis restarted?): the others get time to renew */
		if (now - c->up_ms < (uint64_t)c->cfg->cluster_dead_after * 1000)
			continue;
		/* the lease's own TTL was the wait; claim the announcement once */
		char key[400];
		char inc[24];
		snprintf(key, sizeof key, "%sdead:%s:%016" PRIx64, c->cfg->cluster_key_prefix,
		    n->name, n->inc);
		snprintf(inc, sizeof inc, "%016" PRIx64, c->cd.self->inc);
		const char *argv[] = { "SET", key, c->cd.self->name, "NX", "PX", CLUSTER_DEAD_TTL_MS };
		redis_link_cmd(&c->link, cluster_dead_claimed, (void *)(uintptr_t)n->idx, 6,
		    argv, NULL);
		(void)inc;
	}
}

void
cluster_tick(struct cluster *c, uint64_t now)
{
	redis_link_tick(&c->link, now);
	if (!redis_link_is_up(&c->link))
		return;
	if (c->state == CLUSTER_CONNECTING) {
		c->state = CLUSTER_CLAIMING;
		cluster_lease_set(c, true, cluster_claimed);
		return;
	}
	if (c->state == CLUSTER_WAITING && !c->xadd_pending &&
	    now - c->hello_ms >= CLUSTER_HELLO_RETRY_MS) {
		/* the node we counted on may be gone: look at the leases again */
		char prefix[300];
		const char *argv[] = { "EVAL", cluster_lua_leases, "1", c->k_nodes, prefix };
		log_info("cluster: no snapshot yet; looking for a node to ask again");
		c->hello_ms = now;
		snprintf(prefix, sizeof prefix, "%slease:", c->cfg->cluster_key_prefix);
		redis_link_cmd(&c->link, cluster_claim_leases, NULL, 5, argv, NULL);
	}
	if (now >= c->next_lease_ms && c->state >= CLUSTER_WAITING) {
		c->next_lease_ms = now + (uint64_t)c->cfg->cluster_dead_after * 1000 / 3;
		cluster_lease_set(c, false, NULL);
	}
	if (now >= c->next_check_ms && c->state == CLUSTER_SYNCED) {
		char prefix[300];
		const char *argv[] = { "EVAL", cluster_lua_leases, "1", c->k_nodes, prefix };
		c->next_check_ms = now + 1000;
		snprintf(prefix, sizeof prefix, "%slease:", c->cfg->cluster_key_prefix);
		redis_link_cmd(&c->link, cluster_check_leases, NULL, 5, argv, NULL);
	}
	cluster_read(c);
}

/* ---------------------------------------------------------------- life */

int
cluster_init(struct cluster *c, const struct conf *cfg, struct dirsvc *ds, int epfd,
    uint32_t ev_kind, const struct cluster_ops *ops, void *arg)
{
	struct redis_link_addr addr;
	char err[256];
	uint64_t inc;
	const char *p = cfg->cluster_key_prefix;

	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->ds = ds;
	c->ops = ops;
	c->arg = arg;
	buf_init(&c->outbox);
	if (redis_link_parse_url(cfg->cluster_redis, &addr, err, sizeof err) < 0) {
		log_warnx("cluster.redis: %s", err);
		return -EINVAL;
	}
	if (getrandom(&inc, sizeof inc, 0) != (ssize_t)sizeof inc) {
		log_warn("getrandom");
		return -EIO;
	}
	c->introduced = calloc(ds->dir.nlocal, sizeof *c->introduced);
	if (cluster_dir_init(&c->cd, &ds->dir) < 0 || c->introduced == NULL ||
	    (c->cd.self = cluster_dir_node_add(&c->cd, cfg->cluster_node_name,
	    strlen(cfg->cluster_node_name), inc)) == NULL) {
		cluster_free(c);
		return -ENOMEM;
	}
	c->cd.self->self = true;
	snprintf(c->k_log, sizeof c->k_log, "%slog", p);
	snprintf(c->k_lease, sizeof c->k_lease, "%slease:%s", p, c->cd.self->name);
	snprintf(c->k_nodes, sizeof c->k_nodes, "%snodes", p);
	snprintf(c->k_seed, sizeof c->k_seed, "%sseed", p);
	snprintf(c->k_epoch, sizeof c->k_epoch, "%sepoch", p);
	if (redis_link_init(&c->link, epfd, ev_kind, &addr, cfg->cluster_user,
	    cfg->cluster_password, &cluster_link_ops, c) < 0) {
		cluster_free(c);
		return -EINVAL;
	}
	log_info("cluster: node %s (incarnation %016" PRIx64 "), Redis at %s", c->cd.self->name,
	    inc, c->link.name);
	return 0;
}

void
cluster_free(struct cluster *c)
{
	if (c->link.ops != NULL)
		redis_link_free(&c->link);
	cluster_dir_free(&c->cd);
	free(c->introduced);
	buf_free(&c->outbox);
	memset(c, 0, sizeof *c);
}

void
cluster_flush(struct cluster *c)
{
	redis_link_flush(&c->link);
	cluster_read(c);	/* if it waited for the backlog to shrink */
}

void
cluster_event(struct cluster *c, uint32_t idx, uint32_t events)
{
	redis_link_event(&c->link, idx, events);
}

const char *
cluster_state_name(const struct cluster *c)
{
	static const char *const states[] = { "connecting", "joining", "waiting for the state",
		"synced" };

	if (c->split)
		return "split (Redis out of reach)";
	return states[c->state];
}

/* ---------------------------------------------------------------- upgrades in place */

#define CLUSTER_HANDOVER_MAGIC	"shmchat-cluster-node"

const char *
cluster_handover_refused(const struct cluster *c)
{
	/* joining: what it holds is not the network's yet */
	return c->state == CLUSTER_SYNCED ? NULL :
	    "the node is still joining its network (shmchatctl status says when it is in)";
}

const char *
cluster_handover_busy(const struct cluster *c)
{
	/* while Redis is reachable, what we wrote reaches it before we go */
	if (redis_link_is_up(&c->link) && c->outbox_n > 0)
		return "entries of the network's log wait for Redis";
	return NULL;
}

int
cluster_handover_write(const struct cluster *c, struct buf *out)
{
	int rc = 0;

	rc |= fields_str(out, CLUSTER_HANDOVER_MAGIC);
	rc |= cluster_dir_write(&c->cd, out);
	rc |= fields_num(out, c->split);
	rc |= fields_unum(out, c->seq);
	rc |= fields_str(out, c->last_id);
	rc |= fields_str(out, c->epoch);
	rc |= fields_unum(out, c->written);
	rc |= fields_unum(out, c->applied);
	rc |= fields_unum(out, c->refused);
	rc |= fields_unum(out, c->dropped);
	rc |= fields_num(out, c->outbox_n);
	rc |= fields_put(out, buf_head(&c->outbox), buf_used(&c->outbox));
	for (uint32_t s = 0; s < c->ds->dir.nlocal; s++)
		if (c->introduced[s])
			rc |= fields_num(out, s);
	rc |= fields_num(out, -1);
	return rc != 0 ? -ENOMEM : 0;
}

/* the outbox as written: n records, each whole and within bounds */
static bool
cluster_handover_outbox_ok(const char *p, size_t len, uint32_t n)
{
	const char *end = p + len;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t argc, l;

		if ((size_t)(end - p) < 4)
			return false;
		memcpy(&argc, p, 4);
		p += 4;
		if (argc == 0 || argc > CLUSTER_ENTRY_ARGV)
			return false;
		for (uint32_t k = 0; k < argc; k++) {
			if ((size_t)(end - p) < 4)
				return false;
			memcpy(&l, p, 4);
			if ((size_t)(end - p) - 4 < l)
				return false;
			p += 4 + l;
		}
	}
	return p == end;
}

int
cluster_handover_read(struct cluster *c, const void *p, size_t len, const char **why)
{
	struct fields_in f;
	char magic[sizeof CLUSTER_HANDOVER_MAGIC];
	const char *outbox;
	size_t outbox_len = 0;
	int64_t slot, outbox_n;

	fields_in_init(&f, p, len);
	fields_cstr(&f, magic, sizeof magic);
	if (!f.bad && strcmp(magic, CLUSTER_HANDOVER_MAGIC) != 0)
		fields_fail(&f, "not a cluster node's state");
	/* the nodes as the old image knew them, this one included */
	cluster_dir_free(&c->cd);
	if (!f.bad && cluster_dir_init(&c->cd, &c->ds->dir) < 0)
		fields_fail(&f, "out of memory");
	if (!f.bad && cluster_dir_read(&c->cd, &f) &&
	    strcmp(c->cd.self->name, c->cfg->cluster_node_name) != 0)
		fields_fail(&f, "the configuration gives this node another name: a restart "
		    "does that");
	c->split = fields_int(&f, 0, 1) != 0;
	c->seq = fields_uint(&f, UINT64_MAX);
	fields_cstr(&f, c->last_id, sizeof c->last_id);
	fields_cstr(&f, c->epoch, sizeof c->epoch);
	c->written = fields_uint(&f, UINT64_MAX);
	c->applied = fields_uint(&f, UINT64_MAX);
	c->refused = fields_uint(&f, UINT64_MAX);
	c->dropped = fields_uint(&f, UINT64_MAX);
	outbox_n = fields_int(&f, 0, UINT32_MAX);
	outbox = fields_get(&f, &outbox_len, CLUSTER_OUTBOX_MAX);
	if (!f.bad && !cluster_handover_outbox_ok(outbox, outbox_len, (uint32_t)outbox_n))
		fields_fail(&f, "the entries waiting for Redis are malformed");
	if (!f.bad && (c->last_id[0] == '\0' || (outbox_len > 0 &&
	    buf_append(&c->outbox, outbox, outbox_len) < 0)))
		fields_fail(&f, c->last_id[0] == '\0' ? "the log's position is missing" :
		    "out of memory");
	c->outbox_n = (uint32_t)outbox_n;
	while (!f.bad && (slot = fields_int(&f, -1, (int64_t)c->ds->dir.nlocal - 1)) >= 0) {
		if (c->ds->dir.users[slot].state == DIR_FREE)
			fields_fail(&f, "a client the network knows is not here");
		else
			c->introduced[slot] = true;
	}
	if (!f.bad && f.p != f.end)
		fields_fail(&f, "bytes after the end of the cluster's state");
	if (f.bad) {
		*why = f.why;
		return -EPROTO;
	}
	c->state = CLUSTER_SYNCED;
	c->resumed = !c->split;
	log_notice("cluster: node %s (incarnation %016" PRIx64 ") goes on from entry %s of "
	    "the log%s", c->cd.self->name, c->cd.self->inc, c->last_id,
	    c->split ? " (Redis still out of reach)" : "");
	return 0;
}
