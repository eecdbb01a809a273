/* master_requests: directory requests, in the ring's order */
#include <config.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "cmd.h"
#include "log.h"
#include "master_requests.h"
#include "master_state.h"
#include "numeric.h"

struct master_req_hdr {
	uint32_t slot, gen;
	uint32_t kind;
	uint32_t len;
};

/* records are padded so that every request starts aligned for struct ipc_req */
#define MASTER_REQ_ALIGN	_Alignof(max_align_t)

static size_t
master_requests_size(size_t len)
{
	return sizeof(struct master_req_hdr) +
	    (len + MASTER_REQ_ALIGN - 1) / MASTER_REQ_ALIGN * MASTER_REQ_ALIGN;
}

void
master_requests_push(struct master *m, uint32_t slot, uint32_t gen,
    enum master_req_kind kind, const void *msg, size_t len)
{
	struct master_req_hdr h = { slot, gen, kind, len };
	char *p = buf_reserve(&m->requests, master_requests_size(len));

	if (p == NULL) {
		/* its worker would wait for an answer that cannot come: end it */
		log_warnx("out of memory queueing a request of slot %u; killing its worker", slot);
		master_slot_kill(&m->slots[slot]);
		return;
	}
	memcpy(p, &h, sizeof h);
	if (len > 0)	/* a RELEASE carries no text, and msg may be NULL */
		memcpy(p + sizeof h, msg, len);
	buf_commit(&m->requests, master_requests_size(len));
}

bool
master_requests_pending(const struct master *m)
{
	return buf_used(&m->requests) > 0;
}

/* the master's own QUIT for a client, answered to nobody */
static void
master_requests_quit(struct master *m, uint32_t slot, uint32_t gen, const char *reason,
    size_t len)
{
	char msg[sizeof(struct ipc_req) + 600];
	struct ipc_out o;
	struct ipc_req *req = ipc_out_init(&o, msg, sizeof msg, sizeof *req);
	char text[512];

	snprintf(text, sizeof text, "%.*s", (int)(len < sizeof text ? len : sizeof text - 1),
	    reason);
	req->nargs = 1;
	ipc_put_str(&o, "QUIT");
	ipc_put_str(&o, text);
	cmd_master_request(&m->ds, slot, gen, o.buf, o.len, false);
}

/*
 * A request the network cannot take now (a cluster without its link, or
 * still joining): a client that is registering is closed with a reason a
 * client shows (and reconnects after); a registered one is told and goes on.
 */
static void
master_requests_refuse(struct master *m, uint32_t slot, uint32_t gen, const void *msg)
{
	const struct ipc_req *req = msg;
	struct ring_ack ack = { .req_id = req->id, .status = CMD_FAILED };
	struct dirsvc_reply dr;

	if (m->ds.dir.users[slot].state != DIR_REGISTERED) {
		m->ds.ops->close_client(&m->ds, slot, "This server is not connected to the rest "
		    "of the network yet; try again shortly");
		return;
	}
	dirsvc_reply_init(&m->ds, &dr, slot);
	reply_line(&dr.r, ":%s NOTICE %s :*** This server is not connected to the rest of "
	    "the network; try again shortly", m->cfg->server_name, m->ds.dir.users[slot].nick);
	dirsvc_reply_send(&m->ds, &dr, slot, gen, &ack);
}

/* a worker's request: run here, or (a cluster's directory change) by every node */
static void
master_requests_worker(struct master *m, uint32_t slot, uint32_t gen, const char *msg,
    size_t len)
{
	int flags = cmd_request_flags(msg, len);

	if (flags >= 0 && (flags & CMD_FROM_LOG)) {
		log_warnx("worker of slot %u sent a request only nodes may send; killing it",
		    slot);
		master_slot_kill(&m->slots[slot]);
		return;
	}
	if (m->cluster == NULL || flags < 0 || !(flags & CMD_REPLICATE)) {
		cmd_master_request(&m->ds, slot, gen, msg, len, true);
		return;
	}
	if (cluster_submit(m->cluster, slot, gen, msg, len) == 0)
		return;
	if (flags & CMD_NO_ANSWER) {
		/* a client leaving (QUIT) is never refused: it leaves here now
		 * with its reason, which the network hears when the link is back */
		const struct ipc_req *req = (const void *)msg;
		struct ipc_in in;
		const char *name, *reason;

		ipc_in_init(&in, msg, len, sizeof *req);
		name = ipc_get_str(&in);
		reason = name != NULL ? ipc_get_str(&in) : NULL;
		cluster_quit(m->cluster, slot, gen, reason != NULL ? reason : "",
		    reason != NULL ? strlen(reason) : 0);
		cmd_master_request(&m->ds, slot, gen, msg, len, true);
		return;
	}
	master_requests_refuse(m, slot, gen, msg);
}

/* another node's client's message, for ours */
static void
master_requests_log_msg(struct master *m, uint32_t slot, uint32_t gen, const char *msg,
    size_t len)
{
	struct cluster_msg h;
	struct ring_target t = { 0 };

	if (len < sizeof h)
		return;
	memcpy(&h, msg, sizeof h);
	if (sizeof h + h.target_len + h.payload_len != len)
		return;
	t.kind = h.kind;
	t.flags = h.flags & ~RING_F_ECHO;	/* its own node echoed it */
	t.cap_need = h.caps;
	t.extra = msg + sizeof h;
	t.extra_len = h.target_len;
	if (dirsvc_emit_as(&m->ds, slot, gen, &t, msg + sizeof h + h.target_len,
	    h.payload_len) < 0)
		log_warnx("a message from another node could not be queued");
}

static void
master_requests_release(struct master *m, uint32_t slot, uint32_t gen)
{
	if (m->ds.dir.users[slot].gen != gen)
		return;
	if (dir_is_local(&m->ds.dir, slot))
		ring_inbox_reset(&m->ring, slot);
	dir_user_release(&m->ds.dir, slot);
}

void
master_requests_handle_one(struct master *m)
{
	struct master_req_hdr h;
	const char *msg;
	char id[64];
	bool ours;
	int flags;

	if (buf_used(&m->requests) < sizeof h)
		return;
	memcpy(&h, buf_head(&m->requests), sizeof h);
	msg = buf_head(&m->requests) + sizeof h;
	/* in a cluster, our clients' leaving goes through the network log */
	ours = m->cluster != NULL && dir_is_local(&m->ds.dir, h.slot);
	switch (h.kind) {
	case MASTER_REQ_WORKER:
		master_requests_worker(m, h.slot, h.gen, msg, h.len);
		break;
	case MASTER_REQ_QUIT:
		if (m->ds.dir.users[h.slot].gen != h.gen)
			break;
		if (!ours || !cluster_quit(m->cluster, h.slot, h.gen, msg, h.len))
			master_requests_quit(m, h.slot, h.gen, msg, h.len);
		break;
	case MASTER_REQ_RELEASE:
		if (m->ds.dir.users[h.slot].gen != h.gen)
			break;
		if (!ours || !cluster_release(m->cluster, h.slot, h.gen))
			master_requests_release(m, h.slot, h.gen);
		break;
	case MASTER_REQ_LOG:
		if (m->ds.dir.users[h.slot].gen != h.gen)
			break;
		flags = cmd_request_flags(msg, h.len);
		if (flags < 0 || !(flags & CMD_REPLICATE)) {
			log_warnx("cluster: a request in the log is not a directory change; "
			    "skipped");
			break;
		}
		cmd_master_request(&m->ds, h.slot, h.gen, msg, h.len,
		    dir_is_local(&m->ds.dir, h.slot));
		break;
	case MASTER_REQ_LOG_MSG:
		if (m->ds.dir.users[h.slot].gen == h.gen)
			master_requests_log_msg(m, h.slot, h.gen, msg, h.len);
		break;
	case MASTER_REQ_LOG_RELEASE:
		master_requests_release(m, h.slot, h.gen);
		break;
	case MASTER_REQ_LOG_REJOIN:
		if (m->cluster != NULL)
			cluster_rejoin(m->cluster);
		break;
	case MASTER_REQ_LOG_SNAPSHOT:
		snprintf(id, sizeof id, "%.*s", (int)(h.len < sizeof id ? h.len : sizeof id - 1),
		    msg);
		if (m->cluster != NULL)
			cluster_snap_due(m->cluster, id);
		break;
	}
	buf_consume(&m->requests, master_requests_size(h.len));
	if (buf_used(&m->requests) == 0)
		buf_free(&m->requests);
}
