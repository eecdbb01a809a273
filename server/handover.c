/* handover: the master's state for its next image (handover.h) */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "fields.h"
#include "handover.h"
#include "whowas.h"

/*
 * The blob, field by field:
 *   "shmchat-handover" VERSION nlocal nremote
 *   "D" max_registered max_local_registered
 *   "G" slot gen                       a free slot that was used
 *   "U" slot gen state nick keyed user host realname away? away umodes
 *       oper_retry_ms connected_at tls caps node nchans chan-id...
 *   "K" id gen                         a free channel id that was used
 *   "C" id gen name created modes chankey limit topic? topic topic_by
 *       topic_at, per list: n (mask by at)..., ninvites (slot gen)...,
 *       nmembers (slot joined_at flags)...
 *   "W" nick user host realname server at   WHOWAS, oldest first
 *   "E" nusers nchans nwhowas          the end, with the counts
 * Clients come before channels, which name them.
 */
#define HANDOVER_MAGIC	"shmchat-handover"
#define LIST_MAX	100000	/* entries of one mask list, invites, members: a bound */

static int
handover_write_user(struct buf *b, uint32_t slot, const struct dir_user *u)
{
	int rc = 0;

	rc |= fields_str(b, "U");
	rc |= fields_num(b, slot);
	rc |= fields_num(b, u->gen);
	rc |= fields_str(b, u->state == DIR_REGISTERED ? "R" :
	    u->state == DIR_QUITTING ? "Q" : "C");
	rc |= fields_str(b, u->nick);
	rc |= fields_num(b, u->key[0] != '\0');
	rc |= fields_str(b, u->user);
	rc |= fields_str(b, u->host);
	rc |= fields_str(b, u->realname);
	rc |= fields_num(b, u->away != NULL);
	rc |= fields_str(b, u->away);
	rc |= fields_num(b, u->umodes);
	rc |= fields_num(b, (int64_t)u->oper_retry_ms);
	rc |= fields_num(b, (int64_t)u->connected_at);
	rc |= fields_num(b, u->tls);
	rc |= fields_num(b, u->caps);
	rc |= fields_num(b, u->node);
	rc |= fields_num(b, u->nchans);
	for (uint32_t i = 0; i < u->nchans; i++)
		rc |= fields_num(b, u->chans[i]);
	return rc;
}

static int
handover_write_chan(struct buf *b, const struct dir_chan *c)
{
	int rc = 0;

	rc |= fields_str(b, "C");
	rc |= fields_num(b, c->id);
	rc |= fields_num(b, c->gen);
	rc |= fields_str(b, c->name);
	rc |= fields_num(b, (int64_t)c->created);
	rc |= fields_num(b, c->modes);
	rc |= fields_str(b, c->chankey);
	rc |= fields_num(b, c->limit);
	rc |= fields_num(b, c->topic != NULL);
	rc |= fields_str(b, c->topic);
	rc |= fields_str(b, c->topic_by);
	rc |= fields_num(b, (int64_t)c->topic_at);
	for (int l = 0; l < DIR_NLISTS; l++) {
		rc |= fields_num(b, c->lists[l].n);
		for (uint32_t k = 0; k < c->lists[l].n; k++) {
			rc |= fields_str(b, c->lists[l].v[k].mask);
			rc |= fields_str(b, c->lists[l].v[k].by);
			rc |= fields_num(b, (int64_t)c->lists[l].v[k].at);
		}
	}
	rc |= fields_num(b, c->ninvites);
	for (uint32_t k = 0; k < c->ninvites; k++) {
		rc |= fields_num(b, c->invites[k].slot);
		rc |= fields_num(b, c->invites[k].gen);
	}
	rc |= fields_num(b, c->nmembers);
	for (uint32_t k = 0; k < c->nmembers; k++) {
		rc |= fields_num(b, c->members[k].slot);
		rc |= fields_num(b, (int64_t)c->members[k].joined_at);
		rc |= fields_num(b, c->members[k].flags);
	}
	return rc;
}

int
handover_write(const struct dir *d, const struct whowas *ww, struct buf *out)
{
	uint32_t nusers = 0, nchans = 0, oldest;
	int rc = 0;

	rc |= fields_str(out, HANDOVER_MAGIC);
	rc |= fields_num(out, HANDOVER_VERSION);
	rc |= fields_num(out, d->nlocal);
	rc |= fields_num(out, d->nslots - d->nlocal);
	rc |= fields_str(out, "D");
	rc |= fields_num(out, d->max_registered);
	rc |= fields_num(out, d->max_local_registered);
	for (uint32_t s = 0; s < d->nslots && rc == 0; s++) {
		const struct dir_user *u = &d->users[s];

		if (u->state != DIR_FREE) {
			rc |= handover_write_user(out, s, u);
			nusers++;
		} else if (u->gen != 0) {
			rc |= fields_str(out, "G");
			rc |= fields_num(out, s);
			rc |= fields_num(out, u->gen);
		}
	}
	for (uint32_t i = 0; i < d->nchans_alloc && rc == 0; i++) {
		const struct dir_chan *c = d->chans[i];

		if (c->used) {
			rc |= handover_write_chan(out, c);
			nchans++;
		} else if (c->gen != 0) {
			rc |= fields_str(out, "K");
			rc |= fields_num(out, i);
			rc |= fields_num(out, c->gen);
		}
	}
	oldest = ww->cap > 0 ? (ww->head + ww->cap - ww->n) % ww->cap : 0;
	for (uint32_t i = 0; i < ww->n && rc == 0; i++) {
		const struct whowas_entry *e = &ww->ring[(oldest + i) % ww->cap];

		rc |= fields_str(out, "W");
		rc |= fields_str(out, e->nick);
		rc |= fields_str(out, e->user);
		rc |= fields_str(out, e->host);
		rc |= fields_str(out, e->realname);
		rc |= fields_str(out, e->server);
		rc |= fields_num(out, (int64_t)e->at);
	}
	rc |= fields_str(out, "E");
	rc |= fields_num(out, nusers);
	rc |= fields_num(out, nchans);
	rc |= fields_num(out, ww->n);
	return rc != 0 ? -ENOMEM : 0;
}

/* ---------------------------------------------------------------- reading */

/* what reading keeps between records */
struct handover_in {
	struct fields_in f;
	struct dir *d;
	struct whowas *ww;
	const char **order;	/* per slot: where its channel list is in the blob */
	uint32_t nusers, nchans, nwhowas;
	bool end;
};

#define TIME_MIN	(INT64_MIN / 2)
#define TIME_MAX	(INT64_MAX / 2)

static void
handover_read_user(struct handover_in *in)
{
	struct fields_in *f = &in->f;
	struct dir *d = in->d;
	char state[2], nick[IRC_NICK_MAX + 1], away[IRC_MAXLINE];
	int64_t slot, gen, keyed, has_away, umodes, retry, at, tls, caps, node, n;
	struct dir_user *u;

	slot = fields_int(f, 0, (int64_t)d->nslots - 1);
	gen = fields_int(f, 0, UINT32_MAX);
	fields_cstr(f, state, sizeof state);
	fields_cstr(f, nick, sizeof nick);
	keyed = fields_int(f, 0, 1);
	if (f->bad)
		return;
	if (dir_restore_user(d, (uint32_t)slot, (uint32_t)gen) < 0) {
		fields_fail(f, "a slot is given twice");
		return;
	}
	u = &d->users[slot];
	fields_cstr(f, u->user, sizeof u->user);
	fields_cstr(f, u->host, sizeof u->host);
	fields_cstr(f, u->realname, sizeof u->realname);
	has_away = fields_int(f, 0, 1);
	fields_cstr(f, away, sizeof away);
	umodes = fields_int(f, 0, UINT32_MAX);
	retry = fields_int(f, 0, INT64_MAX);
	at = fields_int(f, TIME_MIN, TIME_MAX);
	tls = fields_int(f, 0, 1);
	caps = fields_int(f, 0, UINT32_MAX);
	node = fields_int(f, 0, UINT16_MAX);
	in->order[slot] = f->p;
	n = fields_int(f, 0, LIST_MAX);
	for (int64_t i = 0; i < n && !f->bad; i++)
		fields_int(f, 0, UINT32_MAX);	/* checked once the channels are in */
	if (f->bad)
		return;
	if (strcmp(state, "R") != 0 && strcmp(state, "C") != 0 && strcmp(state, "Q") != 0) {
		fields_fail(f, "a client's state is unknown");
		return;
	}
	if (keyed) {
		if (dir_nick_set(d, (uint32_t)slot, nick) < 0) {
			fields_fail(f, "two clients hold one nick");
			return;
		}
	} else
		memcpy(u->nick, nick, sizeof nick);	/* given up, still shown (QUIT) */
	if (has_away && dir_set_away(d, (uint32_t)slot, away) < 0) {
		fields_fail(f, "out of memory");
		return;
	}
	if (state[0] != 'C')
		dir_set_state(d, (uint32_t)slot, state[0] == 'R' ? DIR_REGISTERED : DIR_QUITTING);
	dir_set_umodes(d, (uint32_t)slot, (uint32_t)umodes);
	u->oper_retry_ms = (uint64_t)retry;
	u->connected_at = (time_t)at;
	u->tls = tls != 0;
	u->caps = (uint32_t)caps;
	u->node = (uint16_t)node;
	in->nusers++;
}

/* a channel's mask lists, invites and members */
static void
handover_read_chan_lists(struct handover_in *in, struct dir_chan *c)
{
	struct fields_in *f = &in->f;
	struct dir *d = in->d;
	char mask[IRC_MASK_MAX + 1], by[IRC_NICK_MAX + 1];
	int64_t n, at, slot, gen, joined, flags;

	for (int l = 0; l < DIR_NLISTS && !f->bad; l++) {
		n = fields_int(f, 0, LIST_MAX);
		for (int64_t k = 0; k < n && !f->bad; k++) {
			fields_cstr(f, mask, sizeof mask);
			fields_cstr(f, by, sizeof by);
			at = fields_int(f, TIME_MIN, TIME_MAX);
			if (!f->bad && dir_mask_add(c, (enum dir_list)l, mask, by, (time_t)at,
			    UINT32_MAX) < 0)
				fields_fail(f, "a mask list is malformed");
		}
	}
	n = fields_int(f, 0, LIST_MAX);
	for (int64_t k = 0; k < n && !f->bad; k++) {
		slot = fields_int(f, 0, (int64_t)d->nslots - 1);
		gen = fields_int(f, 0, UINT32_MAX);
		if (!f->bad && dir_invite_add(c, (uint32_t)slot, (uint32_t)gen) < 0)
			fields_fail(f, "out of memory");
	}
	n = fields_int(f, 1, LIST_MAX);
	for (int64_t k = 0; k < n && !f->bad; k++) {
		slot = fields_int(f, 0, (int64_t)d->nslots - 1);
		joined = fields_int(f, 0, INT64_MAX);
		flags = fields_int(f, 0, DIR_MEMBER_VOICE | DIR_MEMBER_OP);
		if (!f->bad && dir_restore_member(d, c, (uint32_t)slot, (uint64_t)joined,
		    (uint8_t)flags) < 0)
			fields_fail(f, "a member is no client, or listed twice");
	}
}

static void
handover_read_chan(struct handover_in *in)
{
	struct fields_in *f = &in->f;
	struct dir *d = in->d;
	char name[IRC_CHAN_MAX + 1], key[IRC_KEY_MAX + 1], topic[IRC_MAXLINE],
	    by[IRC_NICK_MAX + 1];
	int64_t id, gen, created, modes, limit, has_topic, at;
	struct dir_chan *c;

	id = fields_int(f, 0, UINT32_MAX / 2 - 1);
	gen = fields_int(f, 0, UINT32_MAX);
	fields_cstr(f, name, sizeof name);
	created = fields_int(f, TIME_MIN, TIME_MAX);
	modes = fields_int(f, 0, UINT32_MAX);
	fields_cstr(f, key, sizeof key);
	limit = fields_int(f, 0, UINT32_MAX);
	has_topic = fields_int(f, 0, 1);
	fields_cstr(f, topic, sizeof topic);
	fields_cstr(f, by, sizeof by);
	at = fields_int(f, TIME_MIN, TIME_MAX);
	if (f->bad)
		return;
	if ((c = dir_restore_chan(d, (uint32_t)id, (uint32_t)gen, name)) == NULL) {
		fields_fail(f, "a channel is given twice, or its name is bad");
		return;
	}
	c->created = (time_t)created;
	c->modes = (uint32_t)modes;
	memcpy(c->chankey, key, sizeof key);
	c->limit = (uint32_t)limit;
	if (has_topic && dir_set_topic(d, c->id, topic, by, (time_t)at) < 0) {
		fields_fail(f, "out of memory");
		return;
	}
	/* who cleared a topic, and when, are kept too */
	memcpy(c->topic_by, by, sizeof by);
	c->topic_at = (time_t)at;
	handover_read_chan_lists(in, c);
	in->nchans++;
}

static void
handover_read_whowas(struct handover_in *in)
{
	struct fields_in *f = &in->f;
	char nick[IRC_NICK_MAX + 1], user[IRC_USER_MAX + 1], host[IRC_HOST_MAX + 1],
	    real[IRC_REAL_MAX + 1], server[IRC_HOST_MAX + 1];
	int64_t at;

	fields_cstr(f, nick, sizeof nick);
	fields_cstr(f, user, sizeof user);
	fields_cstr(f, host, sizeof host);
	fields_cstr(f, real, sizeof real);
	fields_cstr(f, server, sizeof server);
	at = fields_int(f, TIME_MIN, TIME_MAX);
	if (f->bad)
		return;
	whowas_add(in->ww, nick, user, host, real, server, (time_t)at);
	in->nwhowas++;
}

/* every client's channels again, now that they exist: put in their order */
static void
handover_read_order(struct handover_in *in)
{
	struct dir *d = in->d;
	uint32_t *ids = NULL, cap = 0;

	for (uint32_t s = 0; s < d->nslots && !in->f.bad; s++) {
		struct dir_user *u = &d->users[s];
		struct fields_in f;
		int64_t n;

		if (in->order[s] == NULL)
			continue;
		fields_in_init(&f, in->order[s], (size_t)(in->f.end - in->order[s]));
		n = fields_int(&f, 0, LIST_MAX);
		if (n != u->nchans) {
			fields_fail(&in->f, "a client's channels and the members disagree");
			break;
		}
		if (u->nchans > cap) {
			uint32_t *p = realloc(ids, u->nchans * sizeof *ids);

			if (p == NULL) {
				fields_fail(&in->f, "out of memory");
				break;
			}
			ids = p;
			cap = u->nchans;
		}
		for (uint32_t i = 0; i < u->nchans && !f.bad; i++) {
			ids[i] = (uint32_t)fields_int(&f, 0, UINT32_MAX);
			/* a member of each, and each once: the same set */
			if (!f.bad && !dir_is_member(d, ids[i], s))
				fields_fail(&f, "a client's channels and the members disagree");
			for (uint32_t k = 0; k < i && !f.bad; k++)
				if (ids[k] == ids[i])
					fields_fail(&f, "a client's channel is listed twice");
		}
		if (f.bad)
			fields_fail(&in->f, f.why);
		else if (u->nchans > 0)
			memcpy(u->chans, ids, u->nchans * sizeof *ids);
	}
	free(ids);
}

int
handover_sizes(const void *p, size_t len, uint32_t *nlocal, uint32_t *nremote,
    const char **why)
{
	struct fields_in f;
	char magic[sizeof HANDOVER_MAGIC];
	int64_t version;

	fields_in_init(&f, p, len);
	fields_cstr(&f, magic, sizeof magic);
	if (f.bad || strcmp(magic, HANDOVER_MAGIC) != 0) {
		*why = "not a handover blob";
		return -EPROTO;
	}
	version = fields_int(&f, 0, INT32_MAX);
	if (!f.bad && version != HANDOVER_VERSION) {
		*why = "the state's version is not this program's";
		return -EPROTO;
	}
	*nlocal = (uint32_t)fields_int(&f, 1, UINT32_MAX / 2);
	*nremote = (uint32_t)fields_int(&f, 0, UINT32_MAX / 2);
	if (f.bad) {
		*why = f.why;
		return -EPROTO;
	}
	return 0;
}

int
handover_read(struct dir *d, struct whowas *ww, const void *p, size_t len, const char **why)
{
	struct handover_in in = { .d = d, .ww = ww };
	uint32_t nlocal, nremote;
	char tag[2];
	int rc;

	if ((rc = handover_sizes(p, len, &nlocal, &nremote, why)) < 0)
		return rc;
	if (nlocal != d->nlocal || nremote != d->nslots - d->nlocal) {
		*why = "the directory's sizes differ";
		return -EPROTO;
	}
	if ((in.order = calloc(d->nslots, sizeof *in.order)) == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	fields_in_init(&in.f, p, len);
	/* the header again, checked above */
	fields_cstr(&in.f, (char[sizeof HANDOVER_MAGIC]){ 0 }, sizeof HANDOVER_MAGIC);
	for (int i = 0; i < 3; i++)
		fields_int(&in.f, 0, INT64_MAX);
	while (!in.f.bad && !in.end && in.f.p < in.f.end && fields_cstr(&in.f, tag, sizeof tag)) {
		int64_t slot, gen, a, b, c;

		switch (tag[0]) {
		case 'D':
			a = fields_int(&in.f, 0, UINT32_MAX);
			b = fields_int(&in.f, 0, UINT32_MAX);
			d->max_registered = (uint32_t)a;
			d->max_local_registered = (uint32_t)b;
			break;
		case 'G':
			slot = fields_int(&in.f, 0, (int64_t)d->nslots - 1);
			gen = fields_int(&in.f, 0, UINT32_MAX);
			if (!in.f.bad && dir_restore_gen(d, (uint32_t)slot, (uint32_t)gen) < 0)
				fields_fail(&in.f, "a slot is given twice");
			break;
		case 'U':
			handover_read_user(&in);
			break;
		case 'K':
			slot = fields_int(&in.f, 0, UINT32_MAX / 2 - 1);
			gen = fields_int(&in.f, 0, UINT32_MAX);
			if (!in.f.bad && dir_restore_chan_gen(d, (uint32_t)slot, (uint32_t)gen) < 0)
				fields_fail(&in.f, "a channel id is given twice");
			break;
		case 'C':
			handover_read_chan(&in);
			break;
		case 'W':
			handover_read_whowas(&in);
			break;
		case 'E':
			a = fields_int(&in.f, 0, UINT32_MAX);
			b = fields_int(&in.f, 0, UINT32_MAX);
			c = fields_int(&in.f, 0, UINT32_MAX);
			if (!in.f.bad && (a != in.nusers || b != in.nchans || c != in.nwhowas))
				fields_fail(&in.f, "the counts at the end disagree");
			in.end = true;
			break;
		default:
			fields_fail(&in.f, "an unknown record");
		}
	}
	if (!in.f.bad && (!in.end || in.f.p != in.f.end))
		fields_fail(&in.f, in.end ? "bytes after the end" : "the state is cut short");
	if (!in.f.bad)
		handover_read_order(&in);
	free(in.order);
	if (in.f.bad) {
		*why = in.f.why;
		return -EPROTO;
	}
	dir_restore_done(d);
	return 0;
}
