/* fanout: resolve ring records to inboxes (master only) */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chanmode.h"
#include "clock.h"
#include "cmd_hist.h"
#include "cmd_msg.h"
#include "dirsvc.h"
#include "fanout.h"
#include "irc.h"
#include "log.h"

int
fanout_init(struct fanout *f, uint32_t nslots)
{
	memset(f, 0, sizeof *f);
	f->nslots = nslots;
	f->slots = calloc(nslots, sizeof *f->slots);
	f->recips = calloc(nslots, sizeof *f->recips);
	f->wakes = calloc(nslots, sizeof *f->wakes);
	f->lazy = calloc(nslots, sizeof *f->lazy);
	if (f->slots == NULL || f->recips == NULL || f->wakes == NULL || f->lazy == NULL) {
		fanout_free(f);
		return -ENOMEM;
	}
	return 0;
}

void
fanout_free(struct fanout *f)
{
	free(f->slots);
	free(f->recips);
	free(f->wakes);
	free(f->lazy);
	f->slots = NULL;
	f->recips = f->wakes = f->lazy = NULL;
}

void
fanout_queue_wake(struct fanout *f, uint32_t slot)
{
	if (!f->slots[slot].wake_queued) {
		f->slots[slot].wake_queued = true;
		f->wakes[f->nwakes++] = slot;
	}
}

void
fanout_wakes_sent(struct fanout *f)
{
	for (uint32_t i = 0; i < f->nwakes; i++)
		f->slots[f->wakes[i]].wake_queued = false;
	f->nwakes = 0;
}

/* a lazy record for a sleeping slot: the wake is owed until due */
static void
fanout_queue_lazy(struct fanout *f, struct ring *r, uint32_t slot, uint64_t due)
{
	/* half its inbox used: waiting longer would only stall fan-out */
	if (ring_inbox_room(r, slot) < r->inbox_size / 2) {
		if (ring_inbox_take_wake(r, slot))
			fanout_queue_wake(f, slot);
		return;
	}
	if (f->slots[slot].lazy_queued)
		return;
	f->slots[slot].lazy_queued = true;
	f->lazy[f->nlazy++] = slot;
	if (f->nlazy == 1 || due < f->lazy_due)
		f->lazy_due = due;
}

int
fanout_lazy_timeout(const struct fanout *f, uint64_t now)
{
	if (f->nlazy == 0)
		return -1;
	return f->lazy_due <= now ? 0 : (int)(f->lazy_due - now);
}

void
fanout_lazy_flush(struct fanout *f, struct ring *r, uint64_t now, bool force)
{
	if (f->nlazy == 0 || (!force && now < f->lazy_due))
		return;
	for (uint32_t i = 0; i < f->nlazy; i++) {
		uint32_t slot = f->lazy[i];

		f->slots[slot].lazy_queued = false;
		/* not if it woke meanwhile (it took the entries), or is gone */
		if (!f->slots[slot].gone && ring_inbox_take_wake(r, slot))
			fanout_queue_wake(f, slot);
	}
	f->nlazy = 0;
}

void
fanout_stall(struct fanout *f, uint32_t slot)
{
	if (!f->stalled || f->stall_slot != slot) {
		f->stalled = true;
		f->stall_slot = slot;
		f->stall_since = clock_ms();
	}
}

/* add slot to the recipient list once per record */
static inline void
fanout_add(struct fanout *f, uint32_t *n, uint32_t slot, uint64_t stamp)
{
	struct fanout_slot *fs;

	if (slot >= f->nslots) {
		f->remote = true;	/* another node's client: its node delivers */
		return;
	}
	fs = &f->slots[slot];
	if (fs->mark != stamp && !fs->gone) {
		fs->mark = stamp;
		f->recips[(*n)++] = slot;
	}
}

static void
fanout_chan_members(struct fanout *f, uint32_t *n, const struct dir_chan *c,
    const struct ring_rec *rec, uint64_t pos, uint64_t stamp)
{
	bool excl = rec->flags & RING_F_EXCLUDE_ORIGIN;

	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct dir_member *mb = &c->members[i];
		if (mb->joined_at > pos)
			continue;	/* joined after this was published */
		if (excl && mb->slot == rec->owner && mb->gen == rec->owner_gen)
			continue;
		fanout_add(f, n, mb->slot, stamp);
	}
}

/* the record's target name (extra), NUL-terminated in out */
static const char *
fanout_target_name(const struct ring_rec *rec, char *out, size_t size)
{
	size_t len = ring_rec_target_len(rec);

	if (len >= size)
		len = size - 1;
	memcpy(out, ring_rec_extra(rec), len);
	out[len] = '\0';
	return out;
}

/* is the record's publisher still the registered client it was? */
static bool
fanout_origin_ok(struct dirsvc *ds, const struct ring_rec *rec)
{
	return rec->owner < ds->dir.nslots && ds->dir.users[rec->owner].gen == rec->owner_gen &&
	    ds->dir.users[rec->owner].state == DIR_REGISTERED;
}

/*
 * Channel modes decide who speaks (+n, +m, bans). The common case, a
 * plain member of a channel without +m or bans, costs one membership scan.
 */
static bool
fanout_may_speak(struct dirsvc *ds, const struct dir_chan *c, uint32_t slot)
{
	const struct dir_member *m;
	char nuh[IRC_MASK_MAX + 1];

	if (!(c->modes & DIR_CMODE_MODERATED) && c->lists[DIR_LIST_BAN].n == 0) {
		if (!(c->modes & DIR_CMODE_NOEXTERNAL))
			return true;
		return dir_is_member(&ds->dir, c->id, slot);
	}
	m = dir_member_get(c, slot);
	dirsvc_prefix(&ds->dir.users[slot], nuh, sizeof nuh);
	return chanmode_can_speak(c, m, nuh);
}

/* a client's message to a channel: who may speak there is the channel's say */
static void
fanout_msg_chan(struct fanout *f, struct dirsvc *ds, uint32_t *n,
    const struct ring_rec *rec, uint64_t pos, uint64_t stamp)
{
	char name[IRC_MAXLINE];
	bool errors = rec->flags & RING_F_REPLY_ERRORS;
	struct dir_chan *c = dir_chan_find(&ds->dir, fanout_target_name(rec, name, sizeof name));

	if (!fanout_origin_ok(ds, rec))
		return;
	if (c == NULL) {
		if (errors)
			f->report = CMD_MSG_NO_CHANNEL;
		return;
	}
	/* another node's client: its node judged it, at its place in the log */
	if (dir_is_local(&ds->dir, rec->owner) && !fanout_may_speak(ds, c, rec->owner)) {
		if (errors)
			f->report = CMD_MSG_CANNOT_SEND;
		return;
	}
	fanout_chan_members(f, n, c, rec, pos, stamp);
	f->hist_chan = c;
}

/* a client's message to a nick: resolved now */
static void
fanout_msg_nick(struct fanout *f, struct dirsvc *ds, uint32_t *n,
    const struct ring_rec *rec, uint64_t stamp)
{
	char nick[IRC_MAXLINE];
	bool errors = rec->flags & RING_F_REPLY_ERRORS;
	int slot = dir_nick_find(&ds->dir, fanout_target_name(rec, nick, sizeof nick));

	if (!fanout_origin_ok(ds, rec))
		return;
	if (slot < 0 || ds->dir.users[slot].state != DIR_REGISTERED) {
		if (errors)
			f->report = CMD_MSG_NO_NICK;
		return;
	}
	fanout_add(f, n, slot, stamp);
	f->hist_to = slot;
	if (rec->flags & RING_F_ECHO)
		fanout_add(f, n, rec->owner, stamp);
	if (errors && ds->dir.users[slot].away != NULL) {
		f->report = CMD_MSG_AWAY;
		f->report_to = slot;
	}
}

/* the record's own client, if it is still the one it was published for */
static void
fanout_target_slot(struct fanout *f, struct dirsvc *ds, uint32_t *n,
    const struct ring_rec *rec, uint64_t stamp)
{
	if (rec->target_id < ds->dir.nslots &&
	    ds->dir.users[rec->target_id].gen == rec->target_gen &&
	    ds->dir.users[rec->target_id].state != DIR_FREE)
		fanout_add(f, n, rec->target_id, stamp);
}

/* a line for the clients with (or without) some capability only: the rare
 * case (a JOIN in two forms, AWAY for away-notify), so a second pass */
static uint32_t
fanout_by_caps(struct dirsvc *ds, struct fanout *f, const struct ring_rec *rec, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t caps = ds->dir.users[f->recips[i]].caps;
		if ((caps & rec->cap_need) == rec->cap_need && !(caps & rec->cap_deny))
			f->recips[k++] = f->recips[i];
		else
			f->slots[f->recips[i]].mark = 0;
	}
	return k;
}

static uint32_t
fanout_resolve(struct fanout *f, struct dirsvc *ds, const struct ring_rec *rec, uint64_t pos)
{
	uint64_t stamp = pos + 1;
	uint32_t n = 0;
	struct dir_chan *c;

	f->report = -1;
	f->remote = false;
	f->hist_chan = NULL;
	f->hist_to = -1;
	switch (rec->kind) {
	case RING_TO_CHAN:
		c = dir_chan_get(&ds->dir, rec->target_id);
		if (c != NULL && c->gen == rec->target_gen)
			fanout_chan_members(f, &n, c, rec, pos, stamp);
		break;
	case RING_MSG_CHAN:
		fanout_msg_chan(f, ds, &n, rec, pos, stamp);
		break;
	case RING_TO_CHANS: {
		size_t nrefs = ring_rec_target_len(rec) / sizeof(struct ring_chanref);
		for (size_t i = 0; i < nrefs; i++) {
			struct ring_chanref r;
			memcpy(&r, ring_rec_extra(rec) + i * sizeof r, sizeof r);
			c = dir_chan_get(&ds->dir, r.id);
			if (c != NULL && c->gen == r.gen)
				fanout_chan_members(f, &n, c, rec, pos, stamp);
		}
		if (rec->flags & RING_F_INCLUDE_TARGET)
			fanout_target_slot(f, ds, &n, rec, stamp);
		break;
	}
	case RING_TO_SLOT:
	case RING_ACK:
		fanout_target_slot(f, ds, &n, rec, stamp);
		break;
	case RING_TO_NICK:
		fanout_msg_nick(f, ds, &n, rec, stamp);
		break;
	case RING_TO_ALL:
		/* target_id: user modes of which a recipient needs one (WALLOPS: +w) */
		for (uint32_t i = 0; i < ds->dir.nslots; i++)
			if (ds->dir.users[i].state == DIR_REGISTERED && (rec->target_id == 0 ||
			    (ds->dir.users[i].umodes & rec->target_id) != 0))
				fanout_add(f, &n, i, stamp);
		break;
	default:
		log_warnx("record at %llu has unknown target kind %u; dropped",
		    (unsigned long long)pos, rec->kind);
	}
	if (rec->cap_need | rec->cap_deny)
		n = fanout_by_caps(ds, f, rec, n);
	return n;
}

enum fanout_result
fanout_run(struct fanout *f, struct dirsvc *ds, unsigned budget)
{
	struct ring *r = ds->ring;
	const struct ring_rec *rec;
	uint64_t pos;
	int rc;

	ring_doorbell_clear(r);
	while (budget-- > 0) {
		uint32_t n;

		rc = ring_fanout_peek(r, &rec, &pos);
		if (rc == 0) {
			f->stalled = false;
			return FANOUT_CAUGHT_UP;
		}
		if (rc == -EINPROGRESS) {
			/* a publisher is between reserve and commit */
			fanout_stall(f, rec->owner);
			return FANOUT_BLOCKED;
		}
		n = fanout_resolve(f, ds, rec, pos);
		for (uint32_t i = 0; i < n; i++)
			if (ring_inbox_room(r, f->recips[i]) == 0) {
				/*
				 * This reader is behind by a whole inbox. Wait
				 * for it (it is being woken); it is cut loose if
				 * it stays stuck past stall_timeout. Marks are
				 * reset so the retry resolves afresh.
				 */
				for (uint32_t j = 0; j < n; j++)
					f->slots[f->recips[j]].mark = 0;
				ring_drain_notify_request(r, f->recips[i]);
				fanout_queue_wake(f, f->recips[i]);
				fanout_stall(f, f->recips[i]);
				return FANOUT_BLOCKED;
			}
		/* the sender hears of it once, when the record is delivered */
		if (f->report >= 0)
			cmd_msg_report(ds, rec, (enum cmd_msg_outcome)f->report, f->report_to);
		/* recipients on other nodes of a cluster: theirs to deliver */
		if (f->remote && ds->ops != NULL && ds->ops->forward != NULL)
			ds->ops->forward(ds, rec);
		/* kept once delivered (a retry after a full inbox resolves again) */
		if (f->hist_chan != NULL || f->hist_to >= 0)
			cmd_hist_record(ds, rec, f->hist_chan, (uint32_t)f->hist_to);
		if ((rec->flags & RING_F_LAZY) && n >= FANOUT_LAZY_MIN) {
			uint64_t delay = (uint64_t)n * FANOUT_LAZY_US / 1000;
			uint64_t due = clock_ms() + (delay < FANOUT_LAZY_MAX_MS ? delay :
			    FANOUT_LAZY_MAX_MS);

			for (uint32_t i = 0; i < n; i++)
				if (ring_inbox_push_lazy(r, f->recips[i], pos))
					fanout_queue_lazy(f, r, f->recips[i], due);
		} else {
			for (uint32_t i = 0; i < n; i++)
				if (ring_inbox_push(r, f->recips[i], pos))
					fanout_queue_wake(f, f->recips[i]);
		}
		f->delivered += n;
		f->stalled = false;
		ring_fanout_advance(r);
	}
	return FANOUT_MORE;
}
