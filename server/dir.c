/* dir: clients, nicks, channels and memberships (master only) */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "irc.h"

int
dir_init(struct dir *d, uint32_t nslots)
{
	memset(d, 0, sizeof *d);
	d->nslots = nslots;
	d->users = calloc(nslots, sizeof *d->users);
	d->free_slots = calloc(nslots, sizeof *d->free_slots);
	if (!d->users || !d->free_slots) {
		dir_free(d);
		return -ENOMEM;
	}
	/* lowest slots first: a small server touches few inbox pages */
	for (uint32_t i = 0; i < nslots; i++)
		d->free_slots[i] = nslots - 1 - i;
	d->nfree = nslots;
	return 0;
}

void
dir_free(struct dir *d)
{
	/* the tables' own memory; the records are freed below */
	HASH_CLEAR(hh, d->nicks);
	HASH_CLEAR(hh, d->channels);
	if (d->users != NULL)
		for (uint32_t i = 0; i < d->nslots; i++) {
			free(d->users[i].chans);
			free(d->users[i].away);
		}
	for (uint32_t i = 0; i < d->nchans_alloc; i++) {
		free(d->chans[i]->members);
		free(d->chans[i]->topic);
		free(d->chans[i]);
	}
	free(d->users);
	free(d->free_slots);
	free(d->chans);
	free(d->free_chans);
	memset(d, 0, sizeof *d);
}

int
dir_user_alloc(struct dir *d, uint32_t *gen)
{
	struct dir_user *u;
	uint32_t slot;

	if (d->nfree == 0)
		return -ENOSPC;
	slot = d->free_slots[--d->nfree];
	u = &d->users[slot];
	u->state = DIR_CONNECTED;
	u->gen++;
	u->nick[0] = u->key[0] = u->user[0] = u->host[0] = u->realname[0] = '\0';
	u->nchans = 0;
	u->connected_at = time(NULL);
	d->nconnected++;
	*gen = u->gen;
	return slot;
}

void
dir_user_release(struct dir *d, uint32_t slot)
{
	struct dir_user *u = &d->users[slot];

	if (u->state == DIR_FREE)
		return;
	while (u->nchans > 0)
		if (dir_part(d, slot, u->chans[u->nchans - 1]) < 0)
			u->nchans--;	/* inconsistent entry: drop it, never loop */
	dir_nick_clear(d, slot);
	dir_set_state(d, slot, DIR_FREE);
	u->nick[0] = '\0';
	free(u->away);
	u->away = NULL;
	u->gen++;		/* anything still addressed to the old client misses */
	d->nconnected--;
	d->free_slots[d->nfree++] = slot;
}

void
dir_nick_clear(struct dir *d, uint32_t slot)
{
	struct dir_user *u = &d->users[slot];

	if (u->key[0] != '\0')
		HASH_DEL(d->nicks, u);
	u->key[0] = '\0';
}

int
dir_nick_find(const struct dir *d, const char *nick)
{
	char key[IRC_NICK_MAX + 1];
	struct dir_user *u;

	if (irc_casefold(key, sizeof key, nick) < 0)
		return -1;
	HASH_FIND_STR(d->nicks, key, u);
	return u == NULL ? -1 : (int)(u - d->users);
}

int
dir_nick_set(struct dir *d, uint32_t slot, const char *nick)
{
	struct dir_user *u = &d->users[slot];
	char key[IRC_NICK_MAX + 1];
	struct dir_user *owner;
	unsigned before;

	if (irc_casefold(key, sizeof key, nick) < 0)
		return -ENAMETOOLONG;
	HASH_FIND_STR(d->nicks, key, owner);
	if (owner != NULL && owner != u)
		return -EEXIST;
	strcpy(u->nick, nick);
	if (owner == u)
		return 0;	/* only the case changed: the entry stays */
	dir_nick_clear(d, slot);
	strcpy(u->key, key);
	before = HASH_COUNT(d->nicks);
	HASH_ADD_STR(d->nicks, key, u);
	if (HASH_COUNT(d->nicks) == before) {	/* out of memory */
		u->key[0] = '\0';
		return -ENOMEM;
	}
	return 0;
}

struct dir_chan *
dir_chan_find(const struct dir *d, const char *name)
{
	char key[IRC_CHAN_MAX + 1];
	struct dir_chan *c;

	if (irc_casefold(key, sizeof key, name) < 0)
		return NULL;
	HASH_FIND_STR(d->channels, key, c);
	return c;
}

static struct dir_chan *
dir_chan_create(struct dir *d, const char *name)
{
	struct dir_chan *c;
	uint32_t id;
	unsigned before;

	if (strlen(name) > IRC_CHAN_MAX)
		return NULL;
	if (d->nfree_chans > 0) {
		id = d->free_chans[--d->nfree_chans];
	} else {
		uint32_t n = d->nchans_alloc ? d->nchans_alloc * 2 : 16;
		struct dir_chan **nc = realloc(d->chans, n * sizeof *nc);
		uint32_t *nf;
		if (nc == NULL)
			return NULL;
		d->chans = nc;
		nf = realloc(d->free_chans, n * sizeof *nf);
		if (nf == NULL)
			return NULL;
		d->free_chans = nf;
		for (uint32_t i = d->nchans_alloc; i < n; i++) {
			if ((d->chans[i] = calloc(1, sizeof **nc)) == NULL) {
				n = i;
				break;
			}
		}
		if (n == d->nchans_alloc)
			return NULL;
		for (uint32_t i = n; i-- > d->nchans_alloc + 1;)
			d->free_chans[d->nfree_chans++] = i;
		id = d->nchans_alloc;
		d->nchans_alloc = n;
	}
	c = d->chans[id];
	c->used = true;
	c->id = id;
	c->gen++;
	strcpy(c->name, name);
	irc_casefold(c->key, sizeof c->key, name);
	free(c->topic);
	c->topic = NULL;
	c->topic_by[0] = '\0';
	c->topic_at = 0;
	c->created = time(NULL);
	c->nmembers = 0;
	before = HASH_COUNT(d->channels);
	HASH_ADD_STR(d->channels, key, c);
	if (HASH_COUNT(d->channels) == before) {	/* out of memory */
		c->used = false;
		d->free_chans[d->nfree_chans++] = id;
		return NULL;
	}
	d->nchannels++;
	return c;
}

static void
dir_chan_destroy(struct dir *d, struct dir_chan *c)
{
	HASH_DEL(d->channels, c);
	free(c->topic);
	c->topic = NULL;
	free(c->members);
	c->members = NULL;
	c->cap = c->nmembers = 0;
	c->used = false;
	c->gen++;
	d->free_chans[d->nfree_chans++] = c->id;
	d->nchannels--;
}

bool
dir_is_member(const struct dir *d, uint32_t chan_id, uint32_t slot)
{
	const struct dir_user *u = &d->users[slot];

	for (uint32_t i = 0; i < u->nchans; i++)
		if (u->chans[i] == chan_id)
			return true;
	return false;
}

int
dir_join(struct dir *d, uint32_t slot, const char *name, uint64_t joined_at,
    unsigned max_chans, struct dir_chan **out)
{
	struct dir_user *u = &d->users[slot];
	struct dir_chan *c = dir_chan_find(d, name);
	bool created = false;

	if (c != NULL && dir_is_member(d, c->id, slot)) {
		*out = c;
		return -EALREADY;
	}
	if (u->nchans >= max_chans)
		return -ENOSPC;
	if (u->nchans == u->cap) {
		uint32_t n = u->cap ? u->cap * 2 : 4;
		uint32_t *p = realloc(u->chans, n * sizeof *p);
		if (p == NULL)
			return -ENOMEM;
		u->chans = p;
		u->cap = n;
	}
	if (c == NULL) {
		if ((c = dir_chan_create(d, name)) == NULL)
			return -ENOMEM;
		created = true;
	}
	if (c->nmembers == c->cap) {
		uint32_t n = c->cap ? c->cap * 2 : 4;
		struct dir_member *p = realloc(c->members, n * sizeof *p);
		if (p == NULL) {
			if (created)
				dir_chan_destroy(d, c);
			return -ENOMEM;
		}
		c->members = p;
		c->cap = n;
	}
	c->members[c->nmembers++] = (struct dir_member){ slot, u->gen, joined_at };
	u->chans[u->nchans++] = c->id;
	*out = c;
	return 0;
}

int
dir_part(struct dir *d, uint32_t slot, uint32_t chan_id)
{
	struct dir_user *u = &d->users[slot];
	struct dir_chan *c = dir_chan_get(d, chan_id);
	uint32_t i;

	if (c == NULL)
		return -ENOENT;
	for (i = 0; i < u->nchans && u->chans[i] != chan_id; i++)
		;
	if (i == u->nchans)
		return -ENOENT;
	/* keep the user's channel order (WHOIS lists it) */
	memmove(&u->chans[i], &u->chans[i + 1], (u->nchans - i - 1) * sizeof *u->chans);
	u->nchans--;
	for (i = 0; i < c->nmembers; i++)
		if (c->members[i].slot == slot) {
			/* keep join order too: NAMES and WHO show it */
			memmove(&c->members[i], &c->members[i + 1],
			    (c->nmembers - i - 1) * sizeof *c->members);
			c->nmembers--;
			break;
		}
	if (c->nmembers == 0)
		dir_chan_destroy(d, c);
	return 0;
}

int
dir_set_topic(struct dir *d, uint32_t chan_id, const char *topic, const char *by, time_t at)
{
	struct dir_chan *c = dir_chan_get(d, chan_id);
	char *t = NULL;

	if (c == NULL)
		return -ENOENT;
	if (topic[0] != '\0' && (t = strdup(topic)) == NULL)
		return -ENOMEM;
	free(c->topic);
	c->topic = t;
	snprintf(c->topic_by, sizeof c->topic_by, "%s", by);
	c->topic_at = at;
	return 0;
}

int
dir_set_away(struct dir *d, uint32_t slot, const char *msg)
{
	struct dir_user *u = &d->users[slot];
	char *a = NULL;

	if (msg != NULL && msg[0] != '\0' && (a = strdup(msg)) == NULL)
		return -ENOMEM;
	free(u->away);
	u->away = a;
	return 0;
}

void
dir_set_state(struct dir *d, uint32_t slot, enum dir_state st)
{
	struct dir_user *u = &d->users[slot];

	if (u->state == DIR_REGISTERED && st != DIR_REGISTERED)
		d->nregistered--;
	else if (u->state != DIR_REGISTERED && st == DIR_REGISTERED)
		d->nregistered++;
	u->state = st;
}
