/* fanout: resolve ring records to inboxes (master only) */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "fanout.h"
#include "irc.h"
#include "log.h"
#include "master.h"
#include "numeric.h"

void
fanout_queue_wake(struct master *m, uint32_t slot)
{
	if (!m->slots[slot].wake_queued) {
		m->slots[slot].wake_queued = true;
		m->wakes[m->nwakes++] = slot;
	}
}

void
fanout_flush_wakes(struct master *m)
{
	struct ipc_hdr h;

	for (uint32_t i = 0; i < m->nwakes; i++) {
		m->slots[m->wakes[i]].wake_queued = false;
		master_send(m, m->wakes[i], IPC_WAKE, &h, sizeof h);
	}
	m->nwakes = 0;
}

/* add slot to the recipient list once per record */
static inline void
fanout_add(struct master *m, uint32_t *n, uint32_t slot, uint64_t stamp)
{
	if (m->slots[slot].mark != stamp) {
		m->slots[slot].mark = stamp;
		m->recips[(*n)++] = slot;
	}
}

static void
fanout_chan_members(struct master *m, uint32_t *n, uint32_t id, uint32_t gen,
    const struct ring_rec *rec, uint64_t pos, uint64_t stamp)
{
	struct dir_chan *c = dir_chan_get(&m->dir, id);
	bool excl = rec->flags & RING_F_EXCLUDE_ORIGIN;

	if (c == NULL || c->gen != gen)
		return;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct dir_member *mb = &c->members[i];
		if (mb->joined_at > pos)
			continue;	/* joined after this was published */
		if (excl && mb->slot == rec->owner && mb->gen == rec->owner_gen)
			continue;
		fanout_add(m, n, mb->slot, stamp);
	}
}

/* PRIVMSG nick: resolve now; tell the sender if nobody has that nick */
static void
fanout_nick(struct master *m, uint32_t *n, const struct ring_rec *rec, uint64_t stamp)
{
	char nick[DIR_NICK_MAX + 1], line[IRC_MAXLINE + 1];
	size_t len = rec->extra_len < DIR_NICK_MAX ? rec->extra_len : DIR_NICK_MAX;
	bool errors = rec->flags & RING_F_REPLY_ERRORS;
	struct dir_user *from = NULL, *to;
	int slot;

	memcpy(nick, ring_rec_extra(rec), len);
	nick[len] = '\0';
	if (rec->owner < m->nslots && m->dir.users[rec->owner].gen == rec->owner_gen &&
	    m->dir.users[rec->owner].state == DIR_REGISTERED)
		from = &m->dir.users[rec->owner];
	slot = dir_nick_find(&m->dir, nick);
	to = slot >= 0 ? &m->dir.users[slot] : NULL;
	if (to == NULL || to->state != DIR_REGISTERED) {
		if (errors && from != NULL) {
			struct ring_target t = { .kind = RING_TO_SLOT,
			    .id = rec->owner, .gen = rec->owner_gen };
			size_t l = irc_fmt(line, sizeof line, ":%s " ERR_NOSUCHNICK
			    " %s %s :No such nick/channel", m->cfg->server_name,
			    from->nick, nick);
			master_emit(m, &t, line, l);
		}
		return;
	}
	fanout_add(m, n, slot, stamp);
	if (errors && from != NULL && to->away != NULL) {
		struct ring_target t = { .kind = RING_TO_SLOT,
		    .id = rec->owner, .gen = rec->owner_gen };
		size_t l = irc_fmt(line, sizeof line, ":%s " RPL_AWAY " %s %s :%s",
		    m->cfg->server_name, from->nick, to->nick, to->away);
		master_emit(m, &t, line, l);
	}
}

static uint32_t
fanout_resolve(struct master *m, const struct ring_rec *rec, uint64_t pos)
{
	uint64_t stamp = pos + 1;
	uint32_t n = 0;

	switch (rec->kind) {
	case RING_TO_CHAN:
		fanout_chan_members(m, &n, rec->target_id, rec->target_gen, rec, pos, stamp);
		break;
	case RING_TO_CHANS: {
		const struct ipc_chanref *refs = (const void *)ring_rec_extra(rec);
		size_t nrefs = rec->extra_len / sizeof *refs;
		for (size_t i = 0; i < nrefs; i++) {
			struct ipc_chanref r;
			memcpy(&r, &refs[i], sizeof r);
			fanout_chan_members(m, &n, r.id, r.gen, rec, pos, stamp);
		}
		if (!(rec->flags & RING_F_INCLUDE_TARGET))
			break;
	}
		/* FALLTHROUGH */
	case RING_TO_SLOT:
		if (rec->target_id < m->nslots &&
		    m->dir.users[rec->target_id].gen == rec->target_gen &&
		    m->dir.users[rec->target_id].state != DIR_FREE)
			fanout_add(m, &n, rec->target_id, stamp);
		break;
	case RING_TO_NICK:
		fanout_nick(m, &n, rec, stamp);
		break;
	case RING_TO_ALL:
		for (uint32_t i = 0; i < m->nlive; i++)
			if (m->dir.users[m->live[i]].state == DIR_REGISTERED)
				fanout_add(m, &n, m->live[i], stamp);
		break;
	default:
		log_warnx("record at %llu has unknown target kind %u; dropped",
		    (unsigned long long)pos, rec->kind);
	}
	return n;
}

static void
fanout_stall(struct master *m, uint32_t slot)
{
	if (!m->stalled || m->stall_slot != slot) {
		m->stalled = true;
		m->stall_slot = slot;
		clock_gettime(CLOCK_MONOTONIC, &m->stall_since);
	}
}

bool
fanout_run(struct master *m, unsigned budget)
{
	const struct ring_rec *rec;
	uint64_t pos;
	int rc;

	ring_doorbell_clear(&m->ring);
	while (budget-- > 0) {
		uint32_t n;

		rc = ring_fanout_peek(&m->ring, &rec, &pos);
		if (rc == 0) {
			m->stalled = false;
			return false;
		}
		if (rc == -EINPROGRESS) {
			/* a publisher is between reserve and commit */
			fanout_stall(m, rec->owner);
			return false;
		}
		n = fanout_resolve(m, rec, pos);
		for (uint32_t i = 0; i < n; i++)
			if (ring_inbox_room(&m->ring, m->recips[i]) == 0) {
				/*
				 * This reader is behind by a whole inbox. Wait
				 * for it (it is being woken); it is cut loose if
				 * it stays stuck past stall_timeout. Marks are
				 * reset so the retry resolves afresh.
				 */
				for (uint32_t j = 0; j < n; j++)
					m->slots[m->recips[j]].mark = 0;
				ring_drain_notify_request(&m->ring, m->recips[i]);
				fanout_queue_wake(m, m->recips[i]);
				fanout_stall(m, m->recips[i]);
				return false;
			}
		for (uint32_t i = 0; i < n; i++)
			if (ring_inbox_push(&m->ring, m->recips[i], pos))
				fanout_queue_wake(m, m->recips[i]);
		m->delivered += n;
		m->stalled = false;
		ring_fanout_advance(&m->ring);
	}
	return true;
}
