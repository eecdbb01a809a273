/* master_admin: the queue, the admin process, and answers to shmchatctl */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "adminq.h"
#include "chanmode.h"
#include "cluster.h"
#include "history.h"
#include "clock.h"
#include "cmd_chan.h"
#include "cmd_user.h"
#include "irc.h"
#include "log.h"
#include "master_admin.h"
#include "master_control.h"
#include "master_requests.h"
#include "master_state.h"
#include "master_worker.h"
#include "reply.h"

#define ADMIN_RESTART_DELAY_MS	1000	/* between restarts of a crashing admin */

static bool master_admin_dispatch(void *arg, struct ipc_peer *p, enum ipc_event ev,
    const void *msg, size_t len, int fd);

/* ------------------------------------------------------- the process */

int
master_admin_start(struct master *m)
{
	struct master_admin *a = &m->admin;
	int sp[2], rc;
	pid_t pid;

	if ((rc = ipc_pair(sp)) < 0) {
		log_warnc(-rc, "socketpair for the admin process");
		return -1;
	}
	if (getrandom(&a->token, sizeof a->token, 0) != (ssize_t)sizeof a->token || a->token == 0)
		a->token = (uint64_t)clock_ms() << 16 ^ (uint64_t)getpid() ^ 1;
	pid = fork();
	if (pid < 0) {
		log_warn("fork of the admin process");
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0)
		_exit(admin_run(a->qid, sp[1], a->token));
	close(sp[1]);
	a->pid = pid;
	a->started_ms = clock_ms();
	a->restart_ms = 0;
	a->retiring = a->retire_due = false;
	ipc_peer_init(&a->ipc, sp[0]);
	if (ipc_peer_watch(&a->ipc, m->epfd, EV(EV_ADMIN, 0), a->rbuf, sizeof a->rbuf,
	    master_admin_dispatch, m) < 0)
		log_warn("epoll_ctl for the admin process");
	log_debug("admin process %ld serves queue key 0x%08lx", (long)pid, a->key);
	return 0;
}

int
master_admin_adopt(struct master *m)
{
	struct master_admin *a = &m->admin;

	a->started_ms = clock_ms();
	a->restart_ms = 0;
	if (a->ipc.fd < 0) {
		/* none handed over: start one */
		a->pid = 0;
		a->restart_ms = a->started_ms;
		return 0;
	}
	/* in the epoll instance the former image handed over */
	ipc_peer_adopt(&a->ipc, m->epfd, EV(EV_ADMIN, 0), a->rbuf, sizeof a->rbuf,
	    master_admin_dispatch, m);
	a->retire_due = a->token != 0 && a->pid > 0;
	master_admin_tick(m, a->started_ms);
	return 0;
}

/* ADMINQ_RETIRE with its token, behind whatever the queue holds: 0, or
 * -EAGAIN while the queue is full */
static int
master_admin_retire(struct master *m)
{
	struct master_admin *a = &m->admin;
	struct adminq_msg msg;
	char token[24];
	const char *args[] = { token };
	ssize_t n;
	int rc;

	snprintf(token, sizeof token, "%016" PRIx64, a->token);
	if ((n = adminq_encode_req(&msg, ADMINQ_RETIRE, getpid(), 0, args, 1)) < 0)
		return (int)n;
	if ((rc = adminq_send(a->qid, &msg, (size_t)n)) < 0)
		return rc;
	a->retire_due = false;
	a->retiring = true;
	log_debug("admin process %ld told to leave the queue to one of version "
	    PACKAGE_VERSION, (long)a->pid);
	return 0;
}

int
master_admin_create(struct master *m)
{
	struct master_admin *a = &m->admin;
	gid_t gid = (gid_t)-1;
	struct group *gr;
	bool replaced;

	a->key = m->cfg->admin_queue_key;
	a->qid = -1;
	ipc_peer_init(&a->ipc, -1);
	errno = 0;
	if ((gr = getgrnam(m->cfg->admin_group)) != NULL) {
		gid = gr->gr_gid;
		snprintf(a->group, sizeof a->group, "%s", m->cfg->admin_group);
	} else
		log_warnx("admin group '%s' does not exist: only root can use shmchatctl",
		    m->cfg->admin_group);
	a->qid = adminq_create((key_t)a->key, gid, &replaced);
	if (a->qid == -EADDRINUSE) {
		log_errx("another shmchatd already serves the admin queue with key 0x%08lx; "
		    "set admin.queue_key to run a second instance", a->key);
		return -1;
	}
	if (a->qid < 0) {
		log_warnc(-a->qid, "cannot create the admin queue (key 0x%08lx)", a->key);
		a->qid = -1;
		return -1;
	}
	if (replaced)
		log_notice("replaced a stale admin queue (key 0x%08lx) left by an earlier instance",
		    a->key);
	return 0;
}

bool
master_admin_reaped(struct master *m, pid_t pid, int status)
{
	struct master_admin *a = &m->admin;

	if (pid == 0 || pid != a->pid)
		return false;
	if (a->retiring && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("admin process %ld of the former image has left; starting this "
		    "image's", (long)pid);
		a->started_ms = 0;	/* no crash: started again at once */
	} else if (!m->stopping)
		log_warnx("admin process %ld %s %d; restarting it", (long)pid,
		    WIFSIGNALED(status) ? "killed by signal" : "exited with status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	a->retiring = a->retire_due = false;
	ipc_peer_close(&a->ipc);
	a->pid = 0;
	a->busy = 0;
	if (!m->stopping) {
		uint64_t now = clock_ms();
		/* a crash loop should not become a fork loop */
		a->restart_ms = now - a->started_ms < ADMIN_RESTART_DELAY_MS ?
		    a->started_ms + ADMIN_RESTART_DELAY_MS : now;
		master_admin_tick(m, now);
	}
	return true;
}

void
master_admin_tick(struct master *m, uint64_t now_ms)
{
	struct master_admin *a = &m->admin;

	if (a->pid == 0 && a->restart_ms != 0 && now_ms >= a->restart_ms && !m->stopping &&
	    a->qid >= 0) {
		if (master_admin_start(m) < 0)
			a->restart_ms = now_ms + ADMIN_RESTART_DELAY_MS;
	}
	if (a->retire_due && a->pid > 0 && !m->stopping) {
		int rc = master_admin_retire(m);

		if (rc < 0 && rc != -EAGAIN) {
			a->retire_due = false;	/* it stays */
			log_warnc(-rc, "cannot tell the former image's admin process to leave");
		}
	}
}

/*
 * Before the queue goes, let the last answer (to `shmchatctl shutdown`,
 * typically) reach its reader: wait, bounded, until the admin process has
 * relayed everything and the queue is empty.
 */
static void
master_admin_drain(struct master *m)
{
	struct master_admin *a = &m->admin;
	uint64_t deadline = clock_ms() + 1000;

	while (a->pid > 0 && a->ipc.fd >= 0 && clock_ms() < deadline) {
		struct pollfd p = { .fd = a->ipc.fd, .events = POLLIN };

		if (ipc_flush(&a->ipc) < 0)
			break;
		if (a->busy == 0 && !ipc_pending(&a->ipc)) {
			struct msqid_ds ds;
			if (a->qid < 0 || msgctl(a->qid, IPC_STAT, &ds) < 0 || ds.msg_qnum == 0)
				break;
		}
		if (poll(&p, 1, 10) > 0 && ipc_peer_receive(&a->ipc, 1) < 0)
			break;
	}
}

void
master_admin_stop(struct master *m)
{
	struct master_admin *a = &m->admin;

	master_admin_drain(m);
	/* removing the queue wakes the admin process out of msgrcv (EIDRM) */
	adminq_remove(a->qid);
	a->qid = -1;
	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		while (waitpid(a->pid, NULL, 0) < 0 && errno == EINTR)
			;
		a->pid = 0;
	}
	ipc_peer_close(&a->ipc);
}

/* ----------------------------------------------------------- answers */

/* rows of tab-separated fields; tabs and line breaks in values become spaces */
static void
row(struct buf *b, int n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *f = va_arg(ap, const char *);
		size_t l = strlen(f);
		char *dst = buf_reserve(b, l + 1);
		if (dst == NULL)
			break;
		for (size_t k = 0; k < l; k++)
			dst[k] = f[k] == '\t' || f[k] == '\n' || f[k] == '\r' ? ' ' : f[k];
		dst[l] = i + 1 < n ? '\t' : '\n';
		buf_commit(b, l + 1);
	}
	va_end(ap);
}

static void
master_admin_send(struct master *m, pid_t to, uint32_t id, unsigned status,
    const char *data, size_t len)
{
	struct master_admin *a = &m->admin;
	char msg[IPC_MSG_MAX];
	struct ipc_admin_reply *r = (struct ipc_admin_reply *)msg;

	do {
		size_t n = len > (size_t)IPC_ADMIN_DATA_MAX ? (size_t)IPC_ADMIN_DATA_MAX : len;
		r->pid = to;
		r->id = id;
		r->status = status;
		r->last = n == len;
		r->len = n;
		memcpy(msg + sizeof *r, data, n);
		if (ipc_send(&a->ipc, IPC_ADMIN_REPLY, msg, sizeof *r + n) < 0) {
			log_warnx("cannot send an answer to the admin process");
			return;
		}
		data += n;
		len -= n;
	} while (len > 0);
}

static void
answer(struct master *m, const struct ipc_admin_req *q, unsigned status, struct buf *b)
{
	master_admin_send(m, q->pid, q->id, status, buf_head(b), buf_used(b));
	buf_free(b);
}

static void
refuse_v(struct master *m, const struct ipc_admin_req *q, const char *fmt, va_list ap)
{
	char text[512];

	vsnprintf(text, sizeof text, fmt, ap);
	master_admin_send(m, q->pid, q->id, ADMINQ_REFUSED, text, strlen(text));
}

static void
result_v(struct master *m, const struct ipc_admin_req *q, const char *fmt, va_list ap)
{
	struct buf b;
	char text[512];

	vsnprintf(text, sizeof text, fmt, ap);
	buf_init(&b);
	row(&b, 1, "result");
	row(&b, 1, text);
	answer(m, q, ADMINQ_OK, &b);
}

static void
master_admin_refuse(struct master *m, const struct ipc_admin_req *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refuse_v(m, q, fmt, ap);
	va_end(ap);
}

static void
master_admin_result(struct master *m, const struct ipc_admin_req *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_v(m, q, fmt, ap);
	va_end(ap);
}

void
master_admin_upgrade_answer(struct master *m)
{
	m->up.answer_due = false;
	if (m->up.answer_ok)
		master_admin_result(m, &m->up.req, "%s", m->up.answer_text);
	else
		master_admin_refuse(m, &m->up.req, "%s", m->up.answer_text);
}



static void
kv(struct buf *b, const char *key, const char *fmt, ...)
{
	char val[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof val, fmt, ap);
	va_end(ap);
	row(b, 2, key, val);
}

static void
do_status(struct master *m, const struct ipc_admin_req *q)
{
	struct buf b;

	buf_init(&b);
	row(&b, 2, "key", "value");
	kv(&b, "version", "%s", PACKAGE_VERSION);
	kv(&b, "pid", "%ld", (long)getpid());
	kv(&b, "uptime", "%lld", (long long)(time(NULL) - m->started));
	kv(&b, "started", "%lld", (long long)m->started);
	kv(&b, "listen", "%s", m->listen_desc);
	kv(&b, "clients", "%u", m->ds.dir.nregistered);
	kv(&b, "connections", "%u", m->ds.dir.nconnected);
	kv(&b, "channels", "%u", m->ds.dir.nchannels);
	kv(&b, "max_clients", "%d", m->cfg->max_clients);
	/* workers forked ahead, waiting for a client (as last reported) */
	kv(&b, "spare_workers", "%u", m->fs.spares_ready);
	kv(&b, "spare_workers_target", "%u", m->fs.spares_target);
	kv(&b, "messages", "%llu", (unsigned long long)m->ring.hdr->published);
	kv(&b, "deliveries", "%llu", (unsigned long long)m->fanout.delivered);
	kv(&b, "ring_used", "%llu", (unsigned long long)ring_used(&m->ring));
	kv(&b, "ring_size", "%llu", (unsigned long long)m->ring.cap);
	kv(&b, "shm_name", "%s", m->seg.name);
	kv(&b, "shm_size", "%zu", m->seg.size);
	if (m->cluster != NULL)
		kv(&b, "cluster", "%s", cluster_state_name(m->cluster));
	if (m->ds.history != NULL) {
		uint64_t lines, bytes;
		history_usage(m->ds.history, &lines, &bytes);
		kv(&b, "history_lines", "%llu", (unsigned long long)lines);
		kv(&b, "history_bytes", "%llu", (unsigned long long)bytes);
		kv(&b, "history_memory", "%ld", m->cfg->history_memory);
	}
	answer(m, q, ADMINQ_OK, &b);
}

/*
 * The member flags of every membership, indexed by off[slot] + the
 * position of the channel in the user's chans: found channel by channel,
 * so `who` costs memberships x channels per user, not members squared
 * per channel as a dir_member_get() for each would in a big channel.
 * NULL when out of memory (who_row then looks each one up).
 */
static uint8_t *
who_flags(struct master *m, uint32_t **offp)
{
	struct dir *d = &m->ds.dir;
	uint32_t *off = malloc(((size_t)d->nslots + 1) * sizeof *off), total = 0;
	uint8_t *flags;

	*offp = NULL;
	if (off == NULL)
		return NULL;
	for (uint32_t s = 0; s < d->nslots; s++) {
		off[s] = total;
		total += d->users[s].nchans;
	}
	off[d->nslots] = total;
	if ((flags = calloc(total ? total : 1, 1)) == NULL) {
		free(off);
		return NULL;
	}
	for (uint32_t i = 0; i < d->nchans_alloc; i++) {
		const struct dir_chan *c = d->chans[i];

		if (!c->used)
			continue;
		for (uint32_t k = 0; k < c->nmembers; k++) {
			const struct dir_user *u = &d->users[c->members[k].slot];

			for (uint32_t j = 0; j < u->nchans; j++)
				if (u->chans[j] == c->id) {
					flags[off[c->members[k].slot] + j] = c->members[k].flags;
					break;
				}
		}
	}
	*offp = off;
	return flags;
}

static void
who_row(struct master *m, struct buf *b, uint32_t slot, const uint8_t *flags,
    const uint32_t *off)
{
	struct dir_user *u = &m->ds.dir.users[slot];
	bool local = dir_is_local(&m->ds.dir, slot);
	struct ring_slot *rs = local ? &m->ring.slots[slot] : NULL;
	char uh[IRC_USER_MAX + IRC_HOST_MAX + 2], chans[2048] = "", idle[24], since[24],
	    pid[16], in[24], out[24], modes[16];
	size_t len = 0;

	snprintf(uh, sizeof uh, "%s@%s", u->user, u->host);
	cmd_user_modestr(&m->ds, slot, modes, sizeof modes);
	/* "@#ops +#talk #lobby", as WHOIS lists them */
	for (uint32_t i = 0; i < u->nchans; i++) {
		const struct dir_chan *c = dir_chan_get(&m->ds.dir, u->chans[i]);
		struct dir_member mb = { .flags = flags ? flags[off[slot] + i] : 0 };
		const char *pfx;
		int n;

		if (c == NULL)
			continue;
		pfx = chanmode_prefix(flags ? &mb : dir_member_get(c, slot));
		n = snprintf(chans + len, sizeof chans - len, "%s%s%s", len ? " " : "", pfx,
		    c->name);
		if (n < 0 || (size_t)n >= sizeof chans - len) {
			chans[len] = '\0';	/* whole names only */
			break;
		}
		len += (size_t)n;
	}
	snprintf(idle, sizeof idle, "%lld", dirsvc_idle(&m->ds, slot));
	snprintf(since, sizeof since, "%lld", (long long)u->connected_at);
	if (rs == NULL) {
		/* another node's client (a channel's member list): no worker here */
		snprintf(pid, sizeof pid, "-");
		snprintf(in, sizeof in, "-");
		snprintf(out, sizeof out, "-");
	} else {
		snprintf(pid, sizeof pid, "%ld", (long)m->slots[slot].pid);
		snprintf(in, sizeof in, "%llu", (unsigned long long)atomic_load_explicit(
		    &rs->bytes_in, memory_order_relaxed));
		snprintf(out, sizeof out, "%llu", (unsigned long long)atomic_load_explicit(
		    &rs->bytes_out, memory_order_relaxed));
	}
	row(b, 10, u->nick, uh, modes, chans, idle, since, pid, in, out, u->tls ? "yes" : "no");
}

static void
do_who(struct master *m, const struct ipc_admin_req *q, const char **args)
{
	struct dir_chan *c = NULL;
	uint32_t *off;
	uint8_t *flags;
	struct buf b;

	if (q->nargs == 1 && (c = dir_chan_find(&m->ds.dir, args[0])) == NULL) {
		master_admin_refuse(m, q, "no such channel: %s", args[0]);
		return;
	}
	flags = who_flags(m, &off);
	buf_init(&b);
	row(&b, 10, "nick", "userhost", "modes", "channels", "idle", "since", "pid",
	    "bytes_in", "bytes_out", "tls");
	if (c != NULL) {
		for (uint32_t i = 0; i < c->nmembers; i++)
			who_row(m, &b, c->members[i].slot, flags, off);
	} else {
		for (uint32_t i = 0; i < m->nlive; i++)
			if (m->ds.dir.users[m->live[i]].state == DIR_REGISTERED)
				who_row(m, &b, m->live[i], flags, off);
	}
	free(flags);
	free(off);
	answer(m, q, ADMINQ_OK, &b);
}

/* `shmchatctl cluster`: every node this one knows, with its clients here */
static void
do_cluster(struct master *m, const struct ipc_admin_req *q)
{
	const struct cluster *c = m->cluster;
	struct buf b;

	buf_init(&b);
	row(&b, 4, "node", "state", "clients", "incarnation");
	for (uint16_t i = 1; c != NULL && i <= c->cd.nnodes; i++) {
		const struct cluster_node *n = c->cd.nodes[i];
		char count[16], inc[24];
		snprintf(count, sizeof count, "%u", n->self ? m->ds.dir.nconnected -
		    (uint32_t)HASH_COUNT(c->cd.rusers) : n->nusers);
		snprintf(inc, sizeof inc, "%016llx", (unsigned long long)n->inc);
		row(&b, 4, n->name, n->self ? cluster_state_name(c) : n->dead ? "gone" : "up",
		    count, inc);
	}
	answer(m, q, ADMINQ_OK, &b);
}

static void
do_channels(struct master *m, const struct ipc_admin_req *q)
{
	struct buf b;

	buf_init(&b);
	row(&b, 4, "name", "members", "modes", "topic");
	for (uint32_t i = 0; i < m->ds.dir.nchans_alloc; i++) {
		const struct dir_chan *c = m->ds.dir.chans[i];
		char n[16], modes[128];
		if (!c->used)
			continue;
		snprintf(n, sizeof n, "%u", c->nmembers);
		/* with the key: the administrator may see it */
		chanmode_string(c, true, modes, sizeof modes);
		row(&b, 4, c->name, n, modes, c->topic ? c->topic : "");
	}
	answer(m, q, ADMINQ_OK, &b);
}

static void
do_kick(struct master *m, const struct ipc_admin_req *q, const char **args)
{
	const char *reason = q->nargs > 1 && args[1][0] ? args[1] : "Kicked by the administrator";
	int slot = dir_nick_find(&m->ds.dir, args[0]);
	char nick[IRC_NICK_MAX + 1];

	if (slot < 0 || m->ds.dir.users[slot].state != DIR_REGISTERED) {
		master_admin_refuse(m, q, "no such nick: %s", args[0]);
		return;
	}
	if (!dir_is_local(&m->ds.dir, (uint32_t)slot)) {
		master_admin_refuse(m, q, "%s is on node %s: kick it there", args[0],
		    dirsvc_server_of(&m->ds, (uint32_t)slot));
		return;
	}
	snprintf(nick, sizeof nick, "%s", m->ds.dir.users[slot].nick);
	/* peers hear the QUIT (in the ring's order); the worker says ERROR
	 * :Closing Link and leaves */
	master_requests_push(m, slot, m->ds.dir.users[slot].gen, MASTER_REQ_QUIT, reason,
	    strlen(reason));
	master_worker_close(m, slot, reason);
	log_notice("kicked %s (%s) on request of pid %ld", nick, reason, (long)q->pid);
	master_admin_result(m, q, "kicked %s", nick);
}

static void
do_wall(struct master *m, const struct ipc_admin_req *q, const char **args)
{
	char line[IRC_MAXLINE + 1];
	struct ring_target t = { .kind = RING_TO_ALL };
	size_t n = irc_fmt(line, sizeof line, ":%s NOTICE * :%s", m->cfg->server_name, args[0]);
	unsigned clients = m->ds.dir.nregistered;

	if (dirsvc_emit(&m->ds, &t, line, n) < 0) {
		master_admin_refuse(m, q, "could not queue the notice");
		return;
	}
	log_notice("wall from pid %ld: %s", (long)q->pid, args[0]);
	master_admin_result(m, q, "sent to %u client%s", clients, clients == 1 ? "" : "s");
}

static void
do_motd(struct master *m, const struct ipc_admin_req *q)
{
	const char *p = m->cfg->motd_text;
	struct buf b;

	buf_init(&b);
	row(&b, 1, "motd");
	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[1024];
		snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), p);
		row(&b, 1, line);
		p += l + (nl != NULL);
	}
	answer(m, q, ADMINQ_OK, &b);
}

static void
do_motd_set(struct master *m, const struct ipc_admin_req *q, const char **args)
{
	char *t = args[0][0] ? strdup(args[0]) : NULL;

	if (args[0][0] && t == NULL) {
		master_admin_refuse(m, q, "out of memory");
		return;
	}
	free(m->cfg->motd_text);
	m->cfg->motd_text = t;
	log_notice("MOTD replaced on request of pid %ld (until the next reload)", (long)q->pid);
	if (t != NULL)
		master_admin_result(m, q, "MOTD set (%zu bytes; a reload restores the configured one)",
		    strlen(t));
	else
		master_admin_result(m, q, "MOTD cleared");
}

static void
do_motd_reload(struct master *m, const struct ipc_admin_req *q)
{
	struct conf nc;
	char err[512];

	conf_init_defaults(&nc);
	if (conf_load(&nc, m->config_path, m->config_must_exist, err, sizeof err) < 0) {
		conf_free(&nc);
		master_admin_refuse(m, q, "%s", err);
		return;
	}
	free(m->cfg->motd_text);
	m->cfg->motd_text = nc.motd_text;
	nc.motd_text = NULL;
	conf_free(&nc);
	master_admin_result(m, q, "MOTD reloaded (%s)", m->cfg->motd_text ? "set" : "none configured");
}

static void
do_ipc(struct master *m, const struct ipc_admin_req *q)
{
	struct master_admin *a = &m->admin;
	struct buf b;
	char id[32], detail[256];

	buf_init(&b);
	row(&b, 3, "kind", "id", "detail");
	snprintf(id, sizeof id, "%d", a->qid);
	snprintf(detail, sizeof detail, "key 0x%08lx mode 0660 group %s", a->key,
	    a->group[0] ? a->group : "(none: root only)");
	row(&b, 3, "queue", id, detail);
	snprintf(detail, sizeof detail, "%zu bytes (%u slots, inbox %u, ring %llu bytes)",
	    m->seg.size, m->nslots, m->ring.inbox_size, (unsigned long long)m->ring.cap);
	row(&b, 3, "shm", m->seg.name, detail);
	snprintf(id, sizeof id, "%d", a->ipc.fd);
	snprintf(detail, sizeof detail, "admin process %ld", (long)a->pid);
	row(&b, 3, "admin", id, detail);
	for (uint32_t i = 0; i < m->nlive; i++) {
		uint32_t s = m->live[i];
		snprintf(id, sizeof id, "%d", m->slots[s].ipc.fd);
		snprintf(detail, sizeof detail, "worker %ld slot %u %s", (long)m->slots[s].pid,
		    s, m->ds.dir.users[s].nick[0] ? m->ds.dir.users[s].nick : m->ds.dir.users[s].host);
		row(&b, 3, "socketpair", id, detail);
	}
	answer(m, q, ADMINQ_OK, &b);
}

/* ------------------------------------------------------------ chanmode */

/* what chanmode_apply() says through a struct reply, kept as text */
struct master_admin_said {
	struct reply r;		/* first: put() gets it back as this */
	struct buf text;	/* readable lines, '\n' after each */
	unsigned n;
};

/*
 * ":srv 441 * bob #c :They aren't on that channel" becomes "bob #c: They
 * aren't on that channel": the parameters after the target, then the text.
 */
static void
master_admin_said_put(struct reply *r, const char *line, size_t len)
{
	struct master_admin_said *s = (struct master_admin_said *)r;
	struct irc_msg msg;
	size_t l = 0;
	char text[IRC_MAXLINE + 8];

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (irc_parse(&msg, line, len) != IRC_PARSE_OK || msg.nparams < 2)
		l = (size_t)snprintf(text, sizeof text, "%.*s", (int)len, line);
	else {
		for (int i = 1; i + 1 < msg.nparams && l < sizeof text; i++)
			l += (size_t)snprintf(text + l, sizeof text - l, "%s%s", i > 1 ? " " : "",
			    msg.params[i]);
		if (l < sizeof text)
			l += (size_t)snprintf(text + l, sizeof text - l, "%s%s", l ? ": " : "",
			    irc_last(&msg));
	}
	if (l >= sizeof text)
		l = sizeof text - 1;
	text[l++] = '\n';
	if (buf_append(&s->text, text, l) == 0)
		s->n++;
}

/* b, e and I: the lists a query without a mask shows */
static int
master_admin_list_of(char letter)
{
	return letter == 'b' ? DIR_LIST_BAN : letter == 'e' ? DIR_LIST_EXCEPT :
	    letter == 'I' ? DIR_LIST_INVEX : -1;
}

/*
 * Split modes and params into single changes, letter by letter through
 * chanmode_parse() so the pairing is the IRC one, but stricter than a
 * client's MODE: an unknown letter, a missing or a left-over parameter is
 * refused (into why) rather than skipped. Returns the count or -1.
 */
static int
master_admin_mode_split(const char *modes, const char *const *params, int nparams,
    struct chanmode_change *v, char *why, size_t why_cap)
{
	char one[3] = { '+', '\0', '\0' }, unknown[CHANMODE_MAX + 1] = "", u1[2];
	int n = 0, next = 0;

	for (const char *p = modes; *p != '\0'; p++) {
		if (*p == '+' || *p == '-') {
			one[0] = *p;
			continue;
		}
		if (n == CHANMODE_MAX) {
			snprintf(why, why_cap, "too many mode letters (at most %d)", CHANMODE_MAX);
			return -1;
		}
		one[1] = *p;
		if (chanmode_parse(one, params + next, nparams - next, &v[n], 1, u1,
		    sizeof u1) == 1) {
			next += v[n].param != NULL;
			n++;
		} else if (u1[0] != '\0') {
			size_t ul = strlen(unknown);
			if (strchr(unknown, *p) == NULL && ul + 1 < sizeof unknown) {
				unknown[ul] = *p;
				unknown[ul + 1] = '\0';
			}
		} else {
			snprintf(why, why_cap, "%s needs a parameter", one);
			return -1;
		}
	}
	if (unknown[0] != '\0') {
		/* shown with the printable characters only: it came from the queue */
		for (char *p = unknown; *p != '\0'; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				*p = '?';
		snprintf(why, why_cap, "unknown mode letter%s: %s", unknown[1] ? "s" : "",
		    unknown);
		return -1;
	}
	if (next < nparams) {
		snprintf(why, why_cap, "%d parameter%s too many (from '%s' on)",
		    nparams - next, nparams - next == 1 ? "" : "s", params[next]);
		return -1;
	}
	return n;
}

/* `shmchatctl chanmode #c`: the channel's modes, key included */
static void
master_admin_mode_show(struct master *m, const struct ipc_admin_req *q,
    const struct dir_chan *c)
{
	char modes[128], created[24], n[16];
	struct buf b;

	chanmode_string(c, true, modes, sizeof modes);
	snprintf(created, sizeof created, "%lld", (long long)c->created);
	snprintf(n, sizeof n, "%u", c->nmembers);
	buf_init(&b);
	row(&b, 4, "name", "modes", "members", "created");
	row(&b, 4, c->name, modes, n, created);
	answer(m, q, ADMINQ_OK, &b);
}

/* `shmchatctl chanmode #c b`: the lists asked for, each once */
static void
master_admin_mode_lists(struct master *m, const struct ipc_admin_req *q,
    const struct dir_chan *c, const struct chanmode_change *v, int n)
{
	bool shown[DIR_NLISTS] = { false };
	struct buf b;

	buf_init(&b);
	row(&b, 4, "list", "mask", "set_by", "set_at");
	for (int i = 0; i < n; i++) {
		int l = master_admin_list_of(v[i].letter);
		char letter[2] = { v[i].letter, '\0' }, at[24];

		if (shown[l])
			continue;
		shown[l] = true;
		for (uint32_t k = 0; k < c->lists[l].n; k++) {
			const struct dir_mask *e = &c->lists[l].v[k];
			snprintf(at, sizeof at, "%lld", (long long)e->at);
			row(&b, 4, letter, e->mask, e->by, at);
		}
	}
	answer(m, q, ADMINQ_OK, &b);
}

/*
 * chanmode CHANNEL [MODES [PARAMS...]]: applied as the server, with every
 * privilege; the members see ":server MODE #c +o bob". The answer says
 * what changed and what did not and why; nothing changed and a reason is
 * a refusal.
 */
static void
do_chanmode(struct master *m, const struct ipc_admin_req *q, const char **args)
{
	struct chanmode_change v[CHANMODE_MAX];
	struct chanmode_applied applied[CHANMODE_MAX];
	struct chanmode_actor who = { .name = m->cfg->server_name, .privileged = true };
	struct master_admin_said said = {
		.r = { .server = m->cfg->server_name, .nick = "*", .put = master_admin_said_put },
	};
	char why[256], modes[CHANMODE_MAX * 2 + 1], params[400],
	    text[CHANMODE_MAX * 2 + ADMINQ_CHANMODE_PARAMS * (IRC_MASK_MAX + 4)];
	struct dir_chan *c = dir_chan_find(&m->ds.dir, args[0]);
	int n, na, nqueries = 0, pos = 0;
	size_t tl = 0;
	struct buf b;

	text[0] = '\0';
	if (c == NULL) {
		master_admin_refuse(m, q, "no such channel: %s", args[0]);
		return;
	}
	if (q->nargs < 2) {
		master_admin_mode_show(m, q, c);
		return;
	}
	if (m->cluster != NULL) {
		/* a change here alone would leave the other nodes' directories behind */
		master_admin_refuse(m, q, "in a cluster, channel modes change through IRC (MODE, as an "
		    "operator with oper_override); chanmode only shows them");
		return;
	}
	n = master_admin_mode_split(args[1], args + 2, q->nargs - 2, v, why, sizeof why);
	if (n < 0) {
		master_admin_refuse(m, q, "%s", why);
		return;
	}
	if (n == 0) {
		master_admin_mode_show(m, q, c);
		return;
	}
	for (int i = 0; i < n; i++)
		nqueries += v[i].param == NULL && master_admin_list_of(v[i].letter) >= 0;
	if (nqueries == n) {
		master_admin_mode_lists(m, q, c, v, n);
		return;
	}
	if (nqueries > 0) {
		master_admin_refuse(m, q, "a list query (b, e or I without a mask) cannot be combined "
		    "with changes");
		return;
	}

	buf_init(&said.text);
	na = chanmode_apply(&m->ds.dir, c, &who, v, n, (uint32_t)m->cfg->max_list_entries,
	    &said.r, applied);
	cmd_chan_mode_echo(&m->ds, c, UINT32_MAX, applied, na);
	/* "+o bob", or "+ov-k bob carol; +l 10" when more than one line's worth */
	while (chanmode_format(applied, na, &pos, modes, sizeof modes, params, sizeof params) &&
	    tl < sizeof text)
		tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s%s%s", tl ? "; " : "",
		    modes, params);
	if (na > 0)
		log_notice("%s: MODE %s on request of pid %ld", c->name, text, (long)q->pid);
	buf_init(&b);
	if (na == 0 && said.n > 0) {
		/* every reason on one line, as master_admin_refuse() gives it */
		for (const char *p = buf_head(&said.text), *end = p + buf_used(&said.text);
		    p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (buf_used(&b) > 0)
				buf_append(&b, "; ", 2);
			buf_append(&b, p, (size_t)(nl - p));
			p = nl + 1;
		}
		buf_free(&said.text);
		if (buf_used(&b) == 0)
			master_admin_refuse(m, q, "out of memory");
		else
			answer(m, q, ADMINQ_REFUSED, &b);
		return;
	}
	row(&b, 1, "result");
	row(&b, 1, na > 0 ? text : "nothing changed");
	if (said.n > 0) {
		const char *p = buf_head(&said.text), *end = p + buf_used(&said.text);

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			char line[IRC_MAXLINE + 16];

			snprintf(line, sizeof line, "not applied: %.*s", (int)(nl - p), p);
			row(&b, 1, line);
			p = nl + 1;
		}
	}
	buf_free(&said.text);
	answer(m, q, ADMINQ_OK, &b);
}

static void
master_admin_request(struct master *m, const void *msg, size_t len)
{
	const struct ipc_admin_req *q = msg;
	const char *args[ADMINQ_NARGS_MAX], *arg;
	char text[600];
	struct ipc_in in;
	int n = 0;

	ipc_in_init(&in, msg, len, sizeof *q);
	while (n < ADMINQ_NARGS_MAX && (arg = ipc_get_str(&in)) != NULL)
		args[n++] = arg;
	if (!ipc_in_done(&in) || n != q->nargs)
		goto bad;
	switch (q->cmd) {
	case ADMINQ_STATUS:	do_status(m, q); break;
	case ADMINQ_WHO:	do_who(m, q, args); break;
	case ADMINQ_CHANNELS:	do_channels(m, q); break;
	case ADMINQ_KICK:	if (n < 1) goto bad; do_kick(m, q, args); break;
	case ADMINQ_WALL:	if (n < 1) goto bad; do_wall(m, q, args); break;
	case ADMINQ_MOTD:	do_motd(m, q); break;
	case ADMINQ_MOTD_SET:	if (n < 1) goto bad; do_motd_set(m, q, args); break;
	case ADMINQ_MOTD_RELOAD: do_motd_reload(m, q); break;
	case ADMINQ_RELOAD:
		if (master_control_reload(m, text, sizeof text) < 0)
			master_admin_refuse(m, q, "%s", text);
		else
			master_admin_result(m, q, "%s", text);
		break;
	case ADMINQ_UPGRADE:
		/* taken up after this turn's requests (master_upgrade.c), and
		 * answered once the new image runs or the upgrade is refused */
		if (m->up.asked || m->up.due) {
			master_admin_refuse(m, q, "upgrade refused: an upgrade is under way already");
			break;
		}
		m->up.asked = true;
		m->up.asked_req = *q;
		snprintf(m->up.asked_path, sizeof m->up.asked_path, "%s", n > 0 ? args[0] : "");
		break;
	case ADMINQ_SHUTDOWN:
		master_admin_result(m, q, "shutting down");
		log_notice("shutdown requested by pid %ld", (long)q->pid);
		master_control_shutdown(m, n > 0 && args[0][0] ? args[0] : "Server shutting down");
		break;
	case ADMINQ_IPC:	do_ipc(m, q); break;
	case ADMINQ_CHANMODE:	if (n < 1) goto bad; do_chanmode(m, q, args); break;
	case ADMINQ_CLUSTER:	do_cluster(m, q); break;
	default:
		goto bad;
	}
	return;
bad:
	/* the admin process validated it: a mismatch means it is broken */
	log_warnx("malformed request from the admin process; restarting it");
	if (m->admin.pid > 0)
		kill(m->admin.pid, SIGKILL);
}

static bool
master_admin_dispatch(void *arg, struct ipc_peer *p, enum ipc_event ev,
    const void *msg, size_t len, int fd)
{
	struct master *m = arg;
	struct master_admin *a = &m->admin;
	const struct ipc_hdr *h = msg;

	(void)p;
	if (fd >= 0)
		close(fd);
	if (ev == IPC_EV_EOF)
		return false;	/* exiting; SIGCHLD tells the rest */
	if (ev == IPC_EV_BAD) {
		log_warnx("malformed message from the admin process, dropped");
		return true;
	}
	if (h->type == IPC_ADMIN_REQ) {
		a->busy++;
		master_admin_request(m, msg, len);
	} else if (h->type == IPC_ADMIN_DONE) {
		if (a->busy > 0)
			a->busy--;
	} else
		log_warnx("unexpected message %u from the admin process", h->type);
	return true;
}
