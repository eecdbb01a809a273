/* dirsvc: the master's IRC state and what its command halves publish */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "dirsvc.h"
#include "irc.h"
#include "log.h"

struct pending_hdr {
	struct ring_target t;
	uint32_t owner, owner_gen;
	size_t len;
};

int
dirsvc_emit_as(struct dirsvc *ds, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const void *payload, size_t len)
{
	struct pending_hdr h = { *t, owner, owner_gen, len };
	int rc;

	if (buf_used(&ds->pending) == 0) {
		/* no doorbell: the master runs fan-out itself (ring.h) */
		rc = ring_publish(ds->ring, owner, owner_gen, t, payload, len, NULL);
		if (rc == 0) {
			ds->fanout_due = true;
			return 0;
		}
		if (rc != -EAGAIN)
			return rc;
	}
	/* the ring is full: keep order by queueing behind what already waits */
	h.t.extra = NULL;
	h.t.event = NULL;
	h.t.event_len = t->event != NULL ? t->event_len : 0;
	if (buf_append(&ds->pending, &h, sizeof h) < 0 ||
	    buf_append(&ds->pending, t->extra, t->extra_len) < 0 ||
	    buf_append(&ds->pending, t->event, h.t.event_len) < 0 ||
	    buf_append(&ds->pending, payload, len) < 0) {
		log_warnx("out of memory queueing a record; dropped");
		return -ENOMEM;
	}
	return 0;
}

int
dirsvc_emit(struct dirsvc *ds, const struct ring_target *t, const void *payload, size_t len)
{
	return dirsvc_emit_as(ds, RING_OWNER_MASTER, 0, t, payload, len);
}

bool
dirsvc_flush_pending(struct dirsvc *ds)
{
	while (buf_used(&ds->pending) > 0) {
		struct pending_hdr h;
		const char *p = buf_head(&ds->pending);
		size_t whole;
		int rc;

		memcpy(&h, p, sizeof h);
		h.t.extra = p + sizeof h;
		h.t.event = h.t.event_len ? (const void *)(p + sizeof h + h.t.extra_len) : NULL;
		whole = sizeof h + h.t.extra_len + h.t.event_len + h.len;
		rc = ring_publish(ds->ring, h.owner, h.owner_gen, &h.t,
		    p + sizeof h + h.t.extra_len + h.t.event_len, h.len, NULL);
		if (rc == -EAGAIN)
			return true;
		if (rc < 0)
			log_warnx("dropping a queued record: %s", strerror(-rc));
		ds->fanout_due = true;
		buf_consume(&ds->pending, whole);
	}
	return false;
}

/* the directory lets go of a registered client's nick */
static void
dirsvc_nick_gone(void *arg, const struct dir_user *u)
{
	struct dirsvc *ds = arg;

	whowas_add(&ds->whowas, u->nick, u->user, u->host, u->realname, ds->cfg->server_name,
	    time(NULL));
}

int
dirsvc_whowas_setup(struct dirsvc *ds)
{
	uint32_t want = (uint32_t)ds->cfg->whowas_history;
	int rc = whowas_resize(&ds->whowas, want);

	if (rc < 0)
		log_warnc(-rc, "cannot keep a WHOWAS history of %u nicks; %u kept", want,
		    ds->whowas.cap);
	ds->dir.nick_gone = dirsvc_nick_gone;
	ds->dir.nick_gone_arg = ds;
	return rc;
}

const char *
dirsvc_server_of(struct dirsvc *ds, uint32_t slot)
{
	if (ds->ops != NULL && ds->ops->server_of != NULL)
		return ds->ops->server_of(ds, slot);
	return ds->cfg->server_name;
}

long long
dirsvc_idle(const struct dirsvc *ds, uint32_t slot)
{
	/* its worker keeps the time it last spoke (CLOCK_MONOTONIC seconds);
	 * another node's client has no worker here: idle since it connected */
	time_t now = clock_s(), active = !dir_is_local(&ds->dir, slot) ? 0 :
	    atomic_load_explicit(&ds->ring->slots[slot].last_active, memory_order_relaxed);

	if (active > 0 && active <= now)
		return (long long)(now - active);
	now = time(NULL) - ds->dir.users[slot].connected_at;
	return now > 0 ? (long long)now : 0;
}

void
dirsvc_prefix(const struct dir_user *u, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s!%s@%s", u->nick, u->user, u->host);
}

int
dirsvc_emit_event(struct dirsvc *ds, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const char *line, size_t len)
{
	char buf[IRCTAGS_STAMP_LEN + 1 + IRC_MAXLINE + 1], id[IRCTAGS_MSGID_LEN + 1];
	struct ring_target st = *t;
	int64_t ms = clock_realtime_ms();

	if (len > IRC_MAXLINE)
		return dirsvc_emit_as(ds, owner, owner_gen, t, line, len);
	irctags_msgid_next(&ds->msgid, ms, id);
	irctags_stamp(buf, ms, id);
	buf[IRCTAGS_STAMP_LEN] = ' ';
	memcpy(buf + IRCTAGS_STAMP_LEN + 1, line, len);
	st.flags |= RING_F_TAGGED;
	return dirsvc_emit_as(ds, owner, owner_gen, &st, buf, IRCTAGS_STAMP_LEN + 1 + len);
}

void
dirsvc_emit_chan_caps(struct dirsvc *ds, const struct dir_chan *c, uint32_t origin,
    uint32_t flags, uint16_t need, uint16_t deny, const char *line, size_t len)
{
	/* announcements: nobody waits on them (fanout.h, lazy wake-ups) */
	struct ring_target t = { .kind = RING_TO_CHAN, .id = c->id, .gen = c->gen,
	    .flags = flags | RING_F_LAZY, .cap_need = need, .cap_deny = deny };

	/* RING_OWNER_MASTER (shmchatctl's chanmode) has no slot, hence no gen */
	dirsvc_emit_event(ds, origin, origin < ds->dir.nslots ? ds->dir.users[origin].gen : 0,
	    &t, line, len);
}

void
dirsvc_emit_chan(struct dirsvc *ds, const struct dir_chan *c, uint32_t origin,
    uint32_t flags, const char *line, size_t len)
{
	dirsvc_emit_chan_caps(ds, c, origin, flags, 0, 0, line, len);
}

void
dirsvc_emit_peers(struct dirsvc *ds, uint32_t slot, bool include_self, uint16_t need,
    const struct ring_event *ev, const char *line, size_t len)
{
	struct dir_user *u = &ds->dir.users[slot];
	struct ring_chanref refs[RING_EXTRA_MAX / 2 / sizeof(struct ring_chanref)];
	size_t n = 0;

	_Static_assert(sizeof refs / sizeof *refs >= 64,
	    "a client's channels fit one record");
	for (uint32_t i = 0; i < u->nchans && n < sizeof refs / sizeof *refs; i++) {
		struct dir_chan *c = dir_chan_get(&ds->dir, u->chans[i]);
		if (c != NULL)
			refs[n++] = (struct ring_chanref){ c->id, c->gen };
	}
	if (n < u->nchans)
		log_warnx("%s is in %u channels; only %zu hear of it", u->nick, u->nchans, n);
	if (n == 0 && !include_self)
		return;
	struct ring_target t = { .kind = RING_TO_CHANS, .id = slot, .gen = u->gen,
	    .flags = RING_F_LAZY | (include_self ? RING_F_INCLUDE_TARGET : 0),
	    .extra = refs, .extra_len = n * sizeof *refs, .cap_need = need,
	    .event = ev, .event_len = ev != NULL ? sizeof *ev + ev->len : 0 };
	dirsvc_emit_event(ds, RING_OWNER_MASTER, 0, &t, line, len);
}

static void
dirsvc_reply_put(struct reply *r, const char *line, size_t len)
{
	struct dirsvc_reply *dr = (struct dirsvc_reply *)r;

	if (buf_append(&dr->out, line, len) < 0)
		log_warnx("out of memory building a reply; a line is lost");
}

void
dirsvc_reply_init(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot)
{
	struct dir_user *u = &ds->dir.users[slot];

	dr->r.server = ds->cfg->server_name;
	dr->r.nick = u->nick[0] ? u->nick : "*";
	dr->r.put = dirsvc_reply_put;
	buf_init(&dr->out);
	dr->has_event = false;
}

void
dirsvc_reply_nick_event(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot)
{
	const struct dir_user *u = &ds->dir.users[slot];

	dr->event.ev = (struct ring_event){ .type = RING_EV_NICK, .slot = slot, .gen = u->gen,
	    .len = strlen(u->nick) };
	memcpy(dr->event.data, u->nick, dr->event.ev.len);
	dr->has_event = true;
}

void
dirsvc_reply_send(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot,
    uint32_t gen, const struct ring_ack *ack)
{
	struct ring_target t = { .kind = RING_TO_SLOT, .id = slot, .gen = gen };
	size_t room = RING_REC_MAX - sizeof(struct ring_rec) - RING_EXTRA_MAX - 8;
	const char *p = buf_head(&dr->out);
	size_t left = buf_used(&dr->out);

	if (!dir_is_local(&ds->dir, slot)) {
		/* another node's client: its own node answers it */
		buf_free(&dr->out);
		return;
	}
	/* cut at line boundaries; the last record carries the answer */
	do {
		size_t n = left;
		if (n > room) {
			n = room;
			while (n > 0 && p[n - 1] != '\n')
				n--;
		}
		bool last = n == left;
		if (last && ack != NULL) {
			t.kind = RING_ACK;
			t.extra = ack;
			t.extra_len = sizeof *ack;
		} else if (n == 0 && !(last && dr->has_event))
			break;	/* nothing to say and no answer to give */
		if (last && dr->has_event) {
			t.event = &dr->event.ev;
			t.event_len = sizeof dr->event.ev + dr->event.ev.len;
		}
		if (dirsvc_emit(ds, &t, p, n) < 0)
			log_warnx("reply to slot %u lost", slot);
		p += n;
		left -= n;
	} while (left > 0);
	buf_free(&dr->out);
}

void
dirsvc_reply_flush(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot,
    uint32_t gen)
{
	if (buf_used(&dr->out) > 0)
		dirsvc_reply_send(ds, dr, slot, gen, NULL);
}
