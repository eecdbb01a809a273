/* master_requests: directory requests, in the ring's order */
#include <config.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "master_requests.h"
#include "master_state.h"

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

void
master_requests_handle_one(struct master *m)
{
	struct master_req_hdr h;
	const char *msg;

	if (buf_used(&m->requests) < sizeof h)
		return;
	memcpy(&h, buf_head(&m->requests), sizeof h);
	msg = buf_head(&m->requests) + sizeof h;
	switch (h.kind) {
	case MASTER_REQ_WORKER:
		cmd_master_request(&m->ds, h.slot, h.gen, msg, h.len, true);
		break;
	case MASTER_REQ_QUIT:
		if (m->ds.dir.users[h.slot].gen == h.gen)
			master_requests_quit(m, h.slot, h.gen, msg, h.len);
		break;
	case MASTER_REQ_RELEASE:
		if (m->ds.dir.users[h.slot].gen == h.gen) {
			ring_inbox_reset(&m->ring, h.slot);
			dir_user_release(&m->ds.dir, h.slot);
		}
		break;
	}
	buf_consume(&m->requests, master_requests_size(h.len));
	if (buf_used(&m->requests) == 0)
		buf_free(&m->requests);
}
