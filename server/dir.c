/* dir: clients, nicks, channels and memberships (master only) */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "irc.h"

int
dir_init(struct dir *d, uint32_t nlocal, uint32_t nremote)
{
	memset(d, 0, sizeof *d);
	if (nremote > UINT32_MAX - 1 - nlocal)
		return -EINVAL;
	d->nslots = nlocal + nremote;
	d->nlocal = nlocal;
	d->users = calloc(d->nslots, sizeof *d->users);
	d->free_slots = calloc(nlocal, sizeof *d->free_slots);
	d->free_remote = calloc(nremote > 0 ? nremote : 1, sizeof *d->free_remote);
	if (!d->users || !d->free_slots || !d->free_remote) {
		dir_free(d);
		return -ENOMEM;
	}
	/* lowest slots first: a small server touches few inbox pages */
	for (uint32_t i = 0; i < nlocal; i++)
		d->free_slots[i] = nlocal - 1 - i;
	d->nfree = nlocal;
	for (uint32_t i = 0; i < nremote; i++)
		d->free_remote[i] = d->nslots - 1 - i;
	d->nfree_remote = nremote;
	return 0;
}

/* what a channel record holds besides itself */
static void
dir_chan_clear(struct dir_chan *c)
{
	free(c->topic);
	c->topic = NULL;
	free(c->members);
	c->members = NULL;
	c->cap = c->nmembers = 0;
	for (int l = 0; l < DIR_NLISTS; l++) {
		for (uint32_t i = 0; i < c->lists[l].n; i++)
			free(c->lists[l].v[i].mask);
		free(c->lists[l].v);
		c->lists[l] = (struct dir_masklist){ 0 };
	}
	free(c->invites);
	c->invites = NULL;
	c->ninvites = 0;
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
		dir_chan_clear(d->chans[i]);
		free(d->chans[i]);
	}
	free(d->users);
	free(d->free_slots);
	free(d->free_remote);
	free(d->chans);
	free(d->free_chans);
	memset(d, 0, sizeof *d);
}

static int
dir_user_take(struct dir *d, uint32_t slot, uint32_t *gen)
{
	struct dir_user *u;

	u = &d->users[slot];
	u->state = DIR_CONNECTED;
	u->gen++;
	u->nick[0] = u->key[0] = u->user[0] = u->host[0] = u->realname[0] = '\0';
	u->nchans = 0;
	u->umodes = 0;
	u->oper_retry_ms = 0;
	u->tls = false;		/* the accepting master sets it */
	u->node = 0;
	u->connected_at = time(NULL);
	d->nconnected++;
	*gen = u->gen;
	return (int)slot;
}

int
dir_user_alloc(struct dir *d, uint32_t *gen)
{
	if (d->nfree == 0)
		return -ENOSPC;
	return dir_user_take(d, d->free_slots[--d->nfree], gen);
}

int
dir_user_alloc_remote(struct dir *d, uint32_t *gen)
{
	if (d->nfree_remote == 0)
		return -ENOSPC;
	return dir_user_take(d, d->free_remote[--d->nfree_remote], gen);
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
	u->caps = 0;
	if (d->user_gone != NULL)
		d->user_gone(d->nick_gone_arg, slot, u->gen);
	u->gen++;		/* anything still addressed to the old client misses */
	d->nconnected--;
	if (dir_is_local(d, slot))
		d->free_slots[d->nfree++] = slot;
	else
		d->free_remote[d->nfree_remote++] = slot;
}

void
dir_nick_clear(struct dir *d, uint32_t slot)
{
	struct dir_user *u = &d->users[slot];

	if (u->key[0] != '\0') {
		if (u->state == DIR_REGISTERED && d->nick_gone != NULL)
			d->nick_gone(d->nick_gone_arg, u);
		HASH_DEL(d->nicks, u);
	}
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
	if (owner == u) {
		strcpy(u->nick, nick);
		return 0;	/* only the case changed: the entry stays */
	}
	dir_nick_clear(d, slot);	/* (tells nick_gone the old nick) */
	strcpy(u->nick, nick);
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

/* twice as many channel records; the new ids go on the free list */
static int
dir_chans_grow(struct dir *d)
{
	uint32_t n = d->nchans_alloc ? d->nchans_alloc * 2 : 16;
	struct dir_chan **nc = realloc(d->chans, n * sizeof *nc);
	uint32_t *nf;

	if (nc == NULL)
		return -ENOMEM;
	d->chans = nc;
	nf = realloc(d->free_chans, n * sizeof *nf);
	if (nf == NULL)
		return -ENOMEM;
	d->free_chans = nf;
	for (uint32_t i = d->nchans_alloc; i < n; i++) {
		if ((d->chans[i] = calloc(1, sizeof **nc)) == NULL) {
			n = i;
			break;
		}
	}
	if (n == d->nchans_alloc)
		return -ENOMEM;
	/* lowest ids first */
	for (uint32_t i = n; i-- > d->nchans_alloc;)
		d->free_chans[d->nfree_chans++] = i;
	d->nchans_alloc = n;
	return 0;
}

/* channel record id (free, off the free list) becomes the channel name */
static struct dir_chan *
dir_chan_init(struct dir *d, uint32_t id, const char *name)
{
	struct dir_chan *c = d->chans[id];
	unsigned before;

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
	c->modes = 0;
	c->chankey[0] = '\0';
	c->limit = 0;
	before = HASH_COUNT(d->channels);
	HASH_ADD_STR(d->channels, key, c);
	if (HASH_COUNT(d->channels) == before) {	/* out of memory */
		c->used = false;
		return NULL;
	}
	d->nchannels++;
	return c;
}

static struct dir_chan *
dir_chan_create(struct dir *d, const char *name)
{
	struct dir_chan *c;
	uint32_t id;

	if (strlen(name) > IRC_CHAN_MAX)
		return NULL;
	if (d->nfree_chans == 0 && dir_chans_grow(d) < 0)
		return NULL;
	id = d->free_chans[--d->nfree_chans];
	if ((c = dir_chan_init(d, id, name)) == NULL)
		d->free_chans[d->nfree_chans++] = id;
	return c;
}

static void
dir_chan_destroy(struct dir *d, struct dir_chan *c)
{
	if (d->chan_gone != NULL)
		d->chan_gone(d->nick_gone_arg, c);
	HASH_DEL(d->channels, c);
	dir_chan_clear(c);
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

/* room for one more channel in a client's list: 0 or -ENOMEM */
static int
dir_user_chans_room(struct dir_user *u)
{
	uint32_t n;
	uint32_t *p;

	if (u->nchans < u->cap)
		return 0;
	n = u->cap ? u->cap * 2 : 4;
	if ((p = realloc(u->chans, n * sizeof *p)) == NULL)
		return -ENOMEM;
	u->chans = p;
	u->cap = n;
	return 0;
}

/* room for one more member in a channel: 0 or -ENOMEM */
static int
dir_chan_members_room(struct dir_chan *c)
{
	uint32_t n;
	struct dir_member *p;

	if (c->nmembers < c->cap)
		return 0;
	n = c->cap ? c->cap * 2 : 4;
	if ((p = realloc(c->members, n * sizeof *p)) == NULL)
		return -ENOMEM;
	c->members = p;
	c->cap = n;
	return 0;
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
	if (dir_user_chans_room(u) < 0)
		return -ENOMEM;
	if (c == NULL) {
		if ((c = dir_chan_create(d, name)) == NULL)
			return -ENOMEM;
		created = true;
	}
	if (dir_chan_members_room(c) < 0) {
		if (created)
			dir_chan_destroy(d, c);
		return -ENOMEM;
	}
	/* the first member of a new channel is its operator */
	c->members[c->nmembers++] = (struct dir_member){ slot, u->gen, joined_at,
	    created ? DIR_MEMBER_OP : 0 };
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

struct dir_member *
dir_member_get(const struct dir_chan *c, uint32_t slot)
{
	for (uint32_t i = 0; i < c->nmembers; i++)
		if (c->members[i].slot == slot)
			return &c->members[i];
	return NULL;
}

bool
dir_shares_chan(const struct dir *d, uint32_t a, uint32_t b)
{
	const struct dir_user *ua = &d->users[a];

	for (uint32_t i = 0; i < ua->nchans; i++)
		if (dir_is_member(d, ua->chans[i], b))
			return true;
	return false;
}

static int
dir_mask_index(const struct dir_masklist *ml, const char *mask)
{
	for (uint32_t i = 0; i < ml->n; i++)
		if (irc_casecmp(ml->v[i].mask, mask) == 0)
			return (int)i;
	return -1;
}

int
dir_mask_add(struct dir_chan *c, enum dir_list l, const char *mask, const char *by,
    time_t at, uint32_t max)
{
	struct dir_masklist *ml = &c->lists[l];
	char *m;

	if (dir_mask_index(ml, mask) >= 0)
		return -EEXIST;
	if (ml->n >= max)
		return -ENOSPC;
	if (ml->n == ml->cap) {
		uint32_t n = ml->cap ? ml->cap * 2 : 4;
		struct dir_mask *v = realloc(ml->v, n * sizeof *v);
		if (v == NULL)
			return -ENOMEM;
		ml->v = v;
		ml->cap = n;
	}
	if ((m = strdup(mask)) == NULL)
		return -ENOMEM;
	ml->v[ml->n].mask = m;
	snprintf(ml->v[ml->n].by, sizeof ml->v[ml->n].by, "%s", by);
	ml->v[ml->n].at = at;
	ml->n++;
	return 0;
}

int
dir_mask_del(struct dir_chan *c, enum dir_list l, const char *mask)
{
	struct dir_masklist *ml = &c->lists[l];
	int i = dir_mask_index(ml, mask);

	if (i < 0)
		return -ENOENT;
	free(ml->v[i].mask);
	/* keep the order the list was set in: 367 shows it */
	memmove(&ml->v[i], &ml->v[i + 1], (ml->n - i - 1) * sizeof *ml->v);
	ml->n--;
	return 0;
}

/* invites kept per channel; past this the oldest is forgotten */
#define DIR_INVITES_MAX	64

int
dir_invite_add(struct dir_chan *c, uint32_t slot, uint32_t gen)
{
	for (uint32_t i = 0; i < c->ninvites; i++)
		if (c->invites[i].slot == slot && c->invites[i].gen == gen)
			return 0;
	if (c->invites == NULL &&
	    (c->invites = calloc(DIR_INVITES_MAX, sizeof *c->invites)) == NULL)
		return -ENOMEM;
	if (c->ninvites == DIR_INVITES_MAX)
		memmove(&c->invites[0], &c->invites[1], --c->ninvites * sizeof *c->invites);
	c->invites[c->ninvites++] = (struct dir_invite){ slot, gen };
	return 0;
}

bool
dir_invite_take(struct dir_chan *c, uint32_t slot, uint32_t gen)
{
	for (uint32_t i = 0; i < c->ninvites; i++)
		if (c->invites[i].slot == slot && c->invites[i].gen == gen) {
			c->invites[i] = c->invites[--c->ninvites];
			return true;
		}
	return false;
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

	if (u->state == DIR_REGISTERED && st != DIR_REGISTERED) {
		d->nregistered--;
		d->nlocal_registered -= dir_is_local(d, slot);
		d->nopers -= (u->umodes & DIR_UMODE_OPER) != 0;
		d->ninvisible -= (u->umodes & DIR_UMODE_INVISIBLE) != 0;
	} else if (u->state != DIR_REGISTERED && st == DIR_REGISTERED) {
		d->nregistered++;
		if (d->nregistered > d->max_registered)
			d->max_registered = d->nregistered;
		if (dir_is_local(d, slot) && ++d->nlocal_registered > d->max_local_registered)
			d->max_local_registered = d->nlocal_registered;
		d->nopers += (u->umodes & DIR_UMODE_OPER) != 0;
		d->ninvisible += (u->umodes & DIR_UMODE_INVISIBLE) != 0;
	}
	u->state = st;
}

void
dir_set_umodes(struct dir *d, uint32_t slot, uint32_t umodes)
{
	struct dir_user *u = &d->users[slot];

	/* only registered users are counted (LUSERS) */
	if (u->state == DIR_REGISTERED) {
		d->nopers += ((umodes & DIR_UMODE_OPER) != 0) - ((u->umodes & DIR_UMODE_OPER) != 0);
		d->ninvisible += ((umodes & DIR_UMODE_INVISIBLE) != 0) -
		    ((u->umodes & DIR_UMODE_INVISIBLE) != 0);
	}
	u->umodes = umodes;
}

/* ------------------------------------------------------------ restore */

int
dir_restore_gen(struct dir *d, uint32_t slot, uint32_t gen)
{
	if (slot >= d->nslots || d->users[slot].state != DIR_FREE)
		return -EINVAL;
	d->users[slot].gen = gen;
	return 0;
}

int
dir_restore_user(struct dir *d, uint32_t slot, uint32_t gen)
{
	uint32_t ignored;

	if (slot >= d->nslots || d->users[slot].state != DIR_FREE)
		return -EINVAL;
	dir_user_take(d, slot, &ignored);
	d->users[slot].gen = gen;
	return 0;
}

struct dir_chan *
dir_restore_chan(struct dir *d, uint32_t id, uint32_t gen, const char *name)
{
	struct dir_chan *c;
	char key[IRC_CHAN_MAX + 1];

	if (strlen(name) > IRC_CHAN_MAX || irc_casefold(key, sizeof key, name) < 0 ||
	    dir_chan_find(d, name) != NULL || id >= UINT32_MAX / 2)
		return NULL;
	while (id >= d->nchans_alloc)
		if (dir_chans_grow(d) < 0)
			return NULL;
	if (d->chans[id]->used || (c = dir_chan_init(d, id, name)) == NULL)
		return NULL;
	c->gen = gen;
	return c;
}

int
dir_restore_chan_gen(struct dir *d, uint32_t id, uint32_t gen)
{
	if (id >= UINT32_MAX / 2)
		return -EINVAL;
	while (id >= d->nchans_alloc)
		if (dir_chans_grow(d) < 0)
			return -ENOMEM;
	if (d->chans[id]->used)
		return -EINVAL;
	d->chans[id]->gen = gen;
	return 0;
}

int
dir_restore_member(struct dir *d, struct dir_chan *c, uint32_t slot, uint64_t joined_at,
    uint8_t flags)
{
	struct dir_user *u;

	if (slot >= d->nslots || (u = &d->users[slot])->state == DIR_FREE ||
	    dir_is_member(d, c->id, slot))
		return -EINVAL;
	if (dir_user_chans_room(u) < 0 || dir_chan_members_room(c) < 0)
		return -ENOMEM;
	c->members[c->nmembers++] = (struct dir_member){ slot, u->gen, joined_at, flags };
	u->chans[u->nchans++] = c->id;
	return 0;
}

void
dir_restore_done(struct dir *d)
{
	/* lowest first, as dir_init has them */
	d->nfree = d->nfree_remote = d->nfree_chans = 0;
	for (uint32_t i = d->nlocal; i-- > 0;)
		if (d->users[i].state == DIR_FREE)
			d->free_slots[d->nfree++] = i;
	for (uint32_t i = d->nslots; i-- > d->nlocal;)
		if (d->users[i].state == DIR_FREE)
			d->free_remote[d->nfree_remote++] = i;
	for (uint32_t i = d->nchans_alloc; i-- > 0;)
		if (!d->chans[i]->used)
			d->free_chans[d->nfree_chans++] = i;
}
