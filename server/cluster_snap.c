/* cluster_snap: the network's state for a joining node */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_dir.h"
#include "cluster_snap.h"
#include "fields.h"
#include "log.h"

/*
 * The blob: fields, each "<length>:<bytes>" (binary safe), grouped in
 * records that start with a field "U" (a client: node, incarnation, slot,
 * gen, state, nick, user, host, realname, away, umodes, tls, connected)
 * or "C" (a channel: name, created, modes, key, limit, topic, by, at,
 * then per list a count and mask/by/at triples, then a member count and
 * client-index/flags pairs, the index counting "U" records from 0).
 */

int
cluster_snap_build(struct cluster_dir *cd, struct buf *out)
{
	struct dir *d = cd->d;
	uint32_t *index = calloc(d->nslots, sizeof *index), next = 0;
	int rc = 0;

	if (index == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < d->nslots && rc == 0; s++) {
		const struct dir_user *u = &d->users[s];
		const char *node;
		uint64_t inc;
		uint32_t hslot, hgen;
		char incs[24];

		if (u->state == DIR_FREE || u->state == DIR_QUITTING ||
		    !cluster_dir_home(cd, s, &node, &inc, &hslot, &hgen))
			continue;
		index[s] = ++next;	/* 0: not in the blob */
		snprintf(incs, sizeof incs, "%016" PRIx64, inc);
		rc |= fields_str(out, "U");
		rc |= fields_str(out, node);
		rc |= fields_str(out, incs);
		rc |= fields_num(out, hslot);
		rc |= fields_num(out, hgen);
		rc |= fields_str(out, u->state == DIR_REGISTERED ? "R" : "C");
		rc |= fields_str(out, u->nick);
		rc |= fields_str(out, u->user);
		rc |= fields_str(out, u->host);
		rc |= fields_str(out, u->realname);
		rc |= fields_str(out, u->away);
		rc |= fields_num(out, u->umodes);
		rc |= fields_num(out, u->tls);
		rc |= fields_num(out, (int64_t)u->connected_at);
	}
	for (uint32_t i = 0; i < d->nchans_alloc && rc == 0; i++) {
		const struct dir_chan *ch = d->chans[i];
		uint32_t n = 0;

		if (!ch->used)
			continue;
		for (uint32_t k = 0; k < ch->nmembers; k++)
			n += index[ch->members[k].slot] != 0;
		if (n == 0)
			continue;	/* only members on their way out */
		rc |= fields_str(out, "C");
		rc |= fields_str(out, ch->name);
		rc |= fields_num(out, (int64_t)ch->created);
		rc |= fields_num(out, ch->modes);
		rc |= fields_str(out, ch->chankey);
		rc |= fields_num(out, ch->limit);
		rc |= fields_str(out, ch->topic);
		rc |= fields_str(out, ch->topic_by);
		rc |= fields_num(out, (int64_t)ch->topic_at);
		for (int l = 0; l < DIR_NLISTS; l++) {
			rc |= fields_num(out, ch->lists[l].n);
			for (uint32_t k = 0; k < ch->lists[l].n; k++) {
				rc |= fields_str(out, ch->lists[l].v[k].mask);
				rc |= fields_str(out, ch->lists[l].v[k].by);
				rc |= fields_num(out, (int64_t)ch->lists[l].v[k].at);
			}
		}
		rc |= fields_num(out, n);
		for (uint32_t k = 0; k < ch->nmembers; k++) {
			if (index[ch->members[k].slot] == 0)
				continue;
			rc |= fields_num(out, index[ch->members[k].slot] - 1);
			rc |= fields_num(out, ch->members[k].flags);
		}
	}
	free(index);
	return rc != 0 ? -ENOMEM : 0;
}

/* ---------------------------------------------------------------- reading */

/* one "U" record (the tag read): a client of another node */
static void
snap_user(struct cluster_dir *cd, struct fields_in *in, uint32_t *slots, uint32_t *nusers,
    uint32_t max)
{
	struct dir *d = cd->d;
	char node[CLUSTER_NAME_MAX + 1], incs[24], state[2], nick[IRC_NICK_MAX + 1],
	    away[IRC_MAXLINE];
	char user[IRC_USER_MAX + 1], host[IRC_HOST_MAX + 1], real[IRC_REAL_MAX + 1];
	struct cluster_node *n;
	uint32_t hslot, hgen, local, lgen;
	uint64_t inc;
	int64_t umodes, tls, at;
	struct dir_user *u;

	fields_cstr(in, node, sizeof node);
	fields_cstr(in, incs, sizeof incs);
	hslot = (uint32_t)fields_int(in, 0, UINT32_MAX);
	hgen = (uint32_t)fields_int(in, 0, UINT32_MAX);
	fields_cstr(in, state, sizeof state);
	fields_cstr(in, nick, sizeof nick);
	fields_cstr(in, user, sizeof user);
	fields_cstr(in, host, sizeof host);
	fields_cstr(in, real, sizeof real);
	fields_cstr(in, away, sizeof away);
	umodes = fields_int(in, 0, UINT32_MAX);
	tls = fields_int(in, 0, 1);
	at = fields_int(in, INT64_MIN / 2, INT64_MAX / 2);
	if (in->bad)
		return;
	if (!cluster_entry_name_ok(node, strlen(node)) || sscanf(incs, "%" SCNx64, &inc) != 1 ||
	    (state[0] != 'R' && state[0] != 'C') || *nusers >= max) {
		fields_fail(in, "a client is malformed");
		return;
	}
	if ((n = cluster_dir_node_get(cd, node, strlen(node), inc)) == NULL || n->self ||
	    cluster_dir_ruser_add(cd, n, hslot, hgen, &local, &lgen) < 0) {
		fields_fail(in, "a client cannot be added");
		return;
	}
	slots[(*nusers)++] = local;
	u = &d->users[local];
	snprintf(u->user, sizeof u->user, "%s", user);
	snprintf(u->host, sizeof u->host, "%s", host);
	snprintf(u->realname, sizeof u->realname, "%s", real);
	u->tls = tls != 0;
	u->connected_at = (time_t)at;
	if (nick[0] != '\0' && dir_nick_set(d, local, nick) < 0) {
		fields_fail(in, "two clients hold one nick");
		return;
	}
	if (state[0] == 'R')
		dir_set_state(d, local, DIR_REGISTERED);
	dir_set_umodes(d, local, (uint32_t)umodes);
	if (away[0] != '\0')
		dir_set_away(d, local, away);
}

/* one "C" record (the tag read): a channel and its members */
static void
snap_chan(struct cluster_dir *cd, struct fields_in *in, const uint32_t *slots, uint32_t nusers)
{
	struct dir *d = cd->d;
	char name[IRC_CHAN_MAX + 1], key[IRC_KEY_MAX + 1], topic[IRC_MAXLINE],
	    by[IRC_NICK_MAX + 1];
	struct dir_chan *ch = NULL;
	int64_t created, modes, limit, at;
	struct {
		char mask[IRC_MASK_MAX + 1], by[IRC_NICK_MAX + 1];
		int64_t at;
	} m;

	fields_cstr(in, name, sizeof name);
	created = fields_int(in, INT64_MIN / 2, INT64_MAX / 2);
	modes = fields_int(in, 0, UINT32_MAX);
	fields_cstr(in, key, sizeof key);
	limit = fields_int(in, 0, UINT32_MAX);
	fields_cstr(in, topic, sizeof topic);
	fields_cstr(in, by, sizeof by);
	at = fields_int(in, INT64_MIN / 2, INT64_MAX / 2);
	/* the lists wait for the channel, which its first member creates */
	const char *lists_at = in->p;
	for (int l = 0; l < DIR_NLISTS && !in->bad; l++) {
		int64_t n = fields_int(in, 0, 100000);
		for (int64_t k = 0; k < n && !in->bad; k++) {
			fields_cstr(in, m.mask, sizeof m.mask);
			fields_cstr(in, m.by, sizeof m.by);
			fields_int(in, INT64_MIN / 2, INT64_MAX / 2);
		}
	}
	int64_t nm = fields_int(in, 1, UINT32_MAX);
	for (int64_t k = 0; k < nm && !in->bad; k++) {
		int64_t i = fields_int(in, 0, (int64_t)nusers - 1);
		int64_t fl = fields_int(in, 0, 255);
		struct dir_chan *joined;
		if (in->bad)
			break;
		if (dir_join(d, slots[i], name, 0, UINT32_MAX, &joined) < 0) {
			fields_fail(in, "a member cannot join");
			break;
		}
		ch = joined;
		struct dir_member *mb = dir_member_get(ch, slots[i]);
		if (mb != NULL)
			mb->flags = (uint8_t)fl;
	}
	if (in->bad || ch == NULL)
		return;
	ch->created = (time_t)created;
	ch->modes = (uint32_t)modes;
	snprintf(ch->chankey, sizeof ch->chankey, "%s", key);
	ch->limit = (uint32_t)limit;
	dir_set_topic(d, ch->id, topic, by, (time_t)at);
	/* now the lists, read a second time */
	const char *resume = in->p;
	in->p = lists_at;
	for (int l = 0; l < DIR_NLISTS; l++) {
		int64_t n = fields_int(in, 0, 100000);
		for (int64_t k = 0; k < n; k++) {
			fields_cstr(in, m.mask, sizeof m.mask);
			fields_cstr(in, m.by, sizeof m.by);
			m.at = fields_int(in, INT64_MIN / 2, INT64_MAX / 2);
			dir_mask_add(ch, (enum dir_list)l, m.mask, m.by, (time_t)m.at, UINT32_MAX);
		}
	}
	in->p = resume;
}

int
cluster_snap_apply(struct cluster_dir *cd, const char *p, size_t len)
{
	struct dir *d = cd->d;
	uint32_t max = d->nslots - d->nlocal, nusers = 0;
	uint32_t *slots = calloc(max + 1, sizeof *slots);
	struct fields_in in;

	if (slots == NULL)
		return -ENOMEM;
	fields_in_init(&in, p, len);
	while (in.p < in.end && !in.bad) {
		char tag[2];
		if (!fields_cstr(&in, tag, sizeof tag))
			break;
		if (strcmp(tag, "U") == 0)
			snap_user(cd, &in, slots, &nusers, max);
		else if (strcmp(tag, "C") == 0)
			snap_chan(cd, &in, slots, nusers);
		else {
			fields_fail(&in, "an unknown record");
		}
	}
	if (in.bad) {
		log_warnx("cluster: snapshot refused: %s", in.why);
		for (uint32_t i = 0; i < nusers; i++)
			cluster_dir_ruser_drop(cd, slots[i]);
		free(slots);
		return -EPROTO;
	}
	free(slots);
	return 0;
}
