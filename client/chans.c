/* chans: wanted channels and their members */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chans.h"
#include "irc.h"

void
chans_init(struct chans *cs)
{
	memset(cs, 0, sizeof *cs);
}

static void
members_clear(struct chan *c)
{
	for (size_t i = 0; i < c->nnicks; i++)
		free(c->nicks[i]);
	c->nnicks = 0;
}

static void
chan_free(struct chan *c)
{
	members_clear(c);
	free(c->nicks);
	free(c->name);
	free(c->key);
}

void
chans_free(struct chans *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		chan_free(&cs->v[i]);
	free(cs->v);
	chans_init(cs);
}

struct chan *
chans_find(struct chans *cs, const char *name)
{
	for (size_t i = 0; i < cs->n; i++)
		if (!irc_casecmp(cs->v[i].name, name))
			return &cs->v[i];
	return NULL;
}

struct chan *
chans_add(struct chans *cs, const char *name, const char *key)
{
	struct chan *c = chans_find(cs, name);

	if (c != NULL) {
		if (key != NULL) {
			char *k = strdup(key);

			if (k == NULL)
				return NULL;
			free(c->key);
			c->key = k;
		}
		return c;
	}
	if (cs->n == cs->cap) {
		size_t ncap = cs->cap ? cs->cap * 2 : 8;
		struct chan *nv = realloc(cs->v, ncap * sizeof *nv);

		if (nv == NULL)
			return NULL;
		cs->v = nv;
		cs->cap = ncap;
	}
	c = &cs->v[cs->n];
	memset(c, 0, sizeof *c);
	c->name = strdup(name);
	c->key = key != NULL ? strdup(key) : NULL;
	if (c->name == NULL || (key != NULL && c->key == NULL)) {
		chan_free(c);
		return NULL;
	}
	cs->n++;
	return c;
}

void
chans_remove(struct chans *cs, const char *name)
{
	struct chan *c = chans_find(cs, name);
	size_t i;

	if (c == NULL)
		return;
	i = (size_t)(c - cs->v);
	chan_free(c);
	/* keep the order: channels are rejoined as they were joined */
	memmove(&cs->v[i], &cs->v[i + 1], (cs->n - i - 1) * sizeof *cs->v);
	cs->n--;
}

void
chans_reset(struct chans *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		cs->v[i].joined = false;
		cs->v[i].names_fresh = false;
		members_clear(&cs->v[i]);
	}
}

static ssize_t
member_index(const struct chan *c, const char *nick)
{
	for (size_t i = 0; i < c->nnicks; i++)
		if (!irc_casecmp(c->nicks[i], nick))
			return (ssize_t)i;
	return -1;
}

int
chans_member_add(struct chan *c, const char *nick)
{
	char *dup;

	if (nick[0] == '\0' || member_index(c, nick) >= 0)
		return 0;
	if (c->nnicks == c->capnicks) {
		size_t ncap = c->capnicks ? c->capnicks * 2 : 16;
		char **nv = realloc(c->nicks, ncap * sizeof *nv);

		if (nv == NULL)
			return -ENOMEM;
		c->nicks = nv;
		c->capnicks = ncap;
	}
	if ((dup = strdup(nick)) == NULL)
		return -ENOMEM;
	c->nicks[c->nnicks++] = dup;
	return 0;
}

void
chans_member_del(struct chan *c, const char *nick)
{
	ssize_t i = member_index(c, nick);

	if (i < 0)
		return;
	free(c->nicks[i]);
	c->nicks[i] = c->nicks[--c->nnicks];
}

int
chans_names(struct chan *c, const char *list)
{
	const char *p = list;

	if (c->names_fresh) {
		/* a new NAMES reply replaces what we knew */
		members_clear(c);
		c->names_fresh = false;
	}
	while (*p != '\0') {
		char nick[128];
		size_t n;
		int rc;

		while (*p == ' ')
			p++;
		/* channel membership prefixes: ~ & @ % + */
		while (*p != '\0' && strchr("~&@%+", *p) != NULL)
			p++;
		n = strcspn(p, " ");
		if (n > 0 && n < sizeof nick) {
			/* userhost-in-names style "nick!user@host": keep the nick */
			memcpy(nick, p, n);
			nick[n] = '\0';
			nick[strcspn(nick, "!")] = '\0';
			if ((rc = chans_member_add(c, nick)) < 0)
				return rc;
		}
		p += n;
	}
	return 0;
}

void
chans_quit(struct chans *cs, const char *nick)
{
	for (size_t i = 0; i < cs->n; i++)
		chans_member_del(&cs->v[i], nick);
}

int
chans_rename(struct chans *cs, const char *old, const char *nick)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct chan *c = &cs->v[i];
		ssize_t k = member_index(c, old);
		char *dup;

		if (k < 0)
			continue;
		if ((dup = strdup(nick)) == NULL)
			return -ENOMEM;
		free(c->nicks[k]);
		c->nicks[k] = dup;
	}
	return 0;
}
