/* master_worker: the master's side of each worker's channel */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cap.h"
#include "log.h"
#include "master_requests.h"
#include "master_state.h"
#include "master_worker.h"

static bool
master_worker_dispatch(void *arg, struct ipc_peer *p, enum ipc_event ev,
    const void *msg, size_t len, int fd)
{
	struct master *m = arg;
	uint32_t slot = (uint32_t)p->tag;
	struct mslot *ms = &m->slots[slot];
	const struct ipc_hdr *h = msg;

	if (fd >= 0)
		close(fd);	/* workers send no descriptors */
	if (ev == IPC_EV_EOF) {
		/*
		 * The worker is exiting: whoever reaps it tells the rest (the
		 * fork server, or the master itself for the workers of a dead
		 * fork server, which it adopts; master_child.c).
		 */
		ms->eof = true;
		return false;
	}
	if (ev == IPC_EV_BAD) {
		/* a worker that speaks nonsense is broken: stop it, keep the rest */
		log_warnx("worker %ld sent a malformed message; killing it", (long)ms->pid);
		master_slot_kill(ms);
		return false;
	}
	switch (h->type) {
	case IPC_FANOUT:
		m->ds.fanout_due = true;
		break;
	case IPC_SPACE_WAIT:
		if (!ms->space_wait) {
			ms->space_wait = true;
			m->waiters[m->nwaiters++] = slot;
		}
		m->ds.fanout_due = true;
		break;
	case IPC_REQ:
		master_requests_push(m, slot, m->ds.dir.users[slot].gen, MASTER_REQ_WORKER,
		    msg, len);
		break;
	default:
		log_warnx("worker %ld sent message type %u, which workers do not send; "
		    "killing it", (long)ms->pid, h->type);
		master_slot_kill(ms);
		return false;
	}
	return ms->pid != 0;
}

int
master_worker_watch(struct master *m, uint32_t slot)
{
	return ipc_peer_watch(&m->slots[slot].ipc, m->epfd, EV(EV_WORKER, slot), m->rbuf,
	    sizeof m->rbuf, master_worker_dispatch, m);
}

void
master_worker_adopt(struct master *m, uint32_t slot)
{
	ipc_peer_adopt(&m->slots[slot].ipc, m->epfd, EV(EV_WORKER, slot), m->rbuf,
	    sizeof m->rbuf, master_worker_dispatch, m);
}

void
master_worker_send(struct master *m, uint32_t slot, uint16_t type, void *msg, size_t len)
{
	struct mslot *ms = &m->slots[slot];

	/* a worker still being forked reads it right after its assignment */
	if (ms->ipc.fd < 0 || ms->ipc.dead || ms->reaped)
		return;
	ipc_send(&ms->ipc, type, msg, len);
}

void
master_worker_close(struct master *m, uint32_t slot, const char *reason)
{
	char msg[IPC_WORKER_MSG_MAX];
	struct ipc_out o;
	struct mslot *ms = &m->slots[slot];
	char cut[IPC_WORKER_MSG_MAX / 2];

	snprintf(cut, sizeof cut, "%s", reason);
	ipc_out_init(&o, msg, sizeof msg, sizeof(struct ipc_hdr));
	ipc_put_str(&o, cut);
	if (ms->ipc.fd >= 0 && !ms->ipc.dead && !ms->reaped)
		ipc_out_send(&ms->ipc, IPC_CLOSE, &o);
}

void
master_worker_settings(struct master *m, struct ipc_wsettings *s, bool exempt)
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
	/* IRCv3 sts: only when TLS clients can really connect */
	if (m->tls_listeners > 0 && conf_tls_enabled(m->cfg) && m->cfg->tls_sts_duration > 0) {
		s->sts_port = m->cfg->tls_sts_port > 0 ? m->cfg->tls_sts_port : m->tls_port;
		s->sts_duration = s->sts_port > 0 ? m->cfg->tls_sts_duration : 0;
	}
	s->caps_offered = CAP_ALWAYS | (m->cfg->history_lines > 0 ? CAP_CHATHISTORY : 0);
	s->msgid_salt = m->ds.msgid.salt;
}

void
master_worker_send_settings(struct master *m, uint32_t slot)
{
	struct ipc_settings s;

	master_worker_settings(m, &s.s, m->slots[slot].exempt);
	master_worker_send(m, slot, IPC_SETTINGS, &s, sizeof s);
}
