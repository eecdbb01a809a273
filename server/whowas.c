/* whowas: a bounded history of gone nicks (master only) */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whowas.h"

#define WHOWAS_NONE	UINT32_MAX

/* FNV-1a, as the directory's tables (hashtab.h) */
static uint32_t
whowas_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

int
whowas_init(struct whowas *w, uint32_t cap)
{
	uint32_t nb = 1;

	memset(w, 0, sizeof *w);
	if (cap == 0)
		return 0;
	if (cap > WHOWAS_MAX)
		return -EINVAL;
	while (nb < cap)
		nb <<= 1;
	w->ring = calloc(cap, sizeof *w->ring);
	w->buckets = malloc(nb * sizeof *w->buckets);
	if (w->ring == NULL || w->buckets == NULL) {
		whowas_free(w);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nb; i++)
		w->buckets[i] = WHOWAS_NONE;
	w->cap = cap;
	w->nbuckets = nb;
	return 0;
}

void
whowas_free(struct whowas *w)
{
	free(w->ring);
	free(w->buckets);
	memset(w, 0, sizeof *w);
}

int
whowas_resize(struct whowas *w, uint32_t cap)
{
	struct whowas nw;
	uint32_t keep = w->n < cap ? w->n : cap;
	int rc;

	if (cap == w->cap)
		return 0;
	if ((rc = whowas_init(&nw, cap)) < 0)
		return rc;
	/* the newest `keep` entries, oldest first, so their order stays */
	for (uint32_t k = keep; k > 0; k--) {
		const struct whowas_entry *e = &w->ring[(w->head + w->cap - k) % w->cap];
		whowas_add(&nw, e->nick, e->user, e->host, e->realname, e->server, e->at);
	}
	whowas_free(w);
	*w = nw;
	return 0;
}

static void
whowas_unlink(struct whowas *w, uint32_t i)
{
	struct whowas_entry *e = &w->ring[i];

	if (e->prev != WHOWAS_NONE)
		w->ring[e->prev].next = e->next;
	else
		w->buckets[e->hash & (w->nbuckets - 1)] = e->next;
	if (e->next != WHOWAS_NONE)
		w->ring[e->next].prev = e->prev;
}

void
whowas_add(struct whowas *w, const char *nick, const char *user, const char *host,
    const char *realname, const char *server, time_t at)
{
	char key[IRC_NICK_MAX + 1];
	struct whowas_entry *e;
	uint32_t i = w->head, b;
	int klen;

	if (w->cap == 0 || (klen = irc_casefold(key, sizeof key, nick)) < 0)
		return;
	if (w->n == w->cap)
		whowas_unlink(w, i);	/* the oldest goes */
	else
		w->n++;
	e = &w->ring[i];
	snprintf(e->nick, sizeof e->nick, "%s", nick);
	memcpy(e->key, key, (size_t)klen + 1);
	snprintf(e->user, sizeof e->user, "%s", user);
	snprintf(e->host, sizeof e->host, "%s", host);
	snprintf(e->server, sizeof e->server, "%s", server);
	snprintf(e->realname, sizeof e->realname, "%s", realname);
	e->at = at;
	e->hash = whowas_hash(key);
	b = e->hash & (w->nbuckets - 1);
	e->prev = WHOWAS_NONE;
	e->next = w->buckets[b];
	if (e->next != WHOWAS_NONE)
		w->ring[e->next].prev = i;
	w->buckets[b] = i;
	w->head = (i + 1) % w->cap;
}

const struct whowas_entry *
whowas_find(const struct whowas *w, const char *nick, const struct whowas_entry *after)
{
	char key[IRC_NICK_MAX + 1];
	uint32_t h, i;

	if (w->cap == 0 || irc_casefold(key, sizeof key, nick) < 0)
		return NULL;
	h = whowas_hash(key);
	i = after != NULL ? after->next : w->buckets[h & (w->nbuckets - 1)];
	for (; i != WHOWAS_NONE; i = w->ring[i].next)
		if (w->ring[i].hash == h && strcmp(w->ring[i].key, key) == 0)
			return &w->ring[i];
	return NULL;
}
