/* chans: wanted channels, their members and the members' prefixes */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "chans.h"
#include "irc.h"

/* what a server did not tell (or told wrong) is as most servers have it */
static void
modes_default(struct chans *cs)
{
	memset(&cs->modes, 0, sizeof cs->modes);
	chans_set_prefix(cs, CHANS_PREFIX_DEFAULT);
	chans_set_chanmodes(cs, CHANS_CHANMODES_DEFAULT);
}

void
chans_init(struct chans *cs)
{
	memset(cs, 0, sizeof *cs);
	modes_default(cs);
}

static bool
is_letter(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* a prefix character: printable, not a letter, digit or separator */
static bool
is_prefix_char(char ch)
{
	return ch > ' ' && ch < 0x7f && !is_letter(ch) && !(ch >= '0' && ch <= '9') &&
	    ch != ',' && ch != ':' && ch != '(' && ch != ')';
}

int
chans_set_prefix(struct chans *cs, const char *value)
{
	const char *close;
	size_t n;

	if (value[0] == '\0') {
		/* "PREFIX=": the server has no membership prefixes */
		cs->modes.prefix_modes[0] = cs->modes.prefix_chars[0] = '\0';
		return 0;
	}
	if (value[0] != '(' || (close = strchr(value, ')')) == NULL)
		return -EINVAL;
	n = (size_t)(close - value - 1);
	if (n > CHANS_PREFIX_MAX || strlen(close + 1) != n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const char *m = value + 1, *p = close + 1;

		if (!is_letter(m[i]) || !is_prefix_char(p[i]) ||
		    memchr(m, m[i], i) != NULL || memchr(p, p[i], i) != NULL)
			return -EINVAL;
	}
	memcpy(cs->modes.prefix_modes, value + 1, n);
	cs->modes.prefix_modes[n] = '\0';
	memcpy(cs->modes.prefix_chars, close + 1, n);
	cs->modes.prefix_chars[n] = '\0';
	return 0;
}

int
chans_set_chanmodes(struct chans *cs, const char *value)
{
	char always[sizeof cs->modes.param_always] = "", set[sizeof cs->modes.param_set] = "";
	size_t na = 0, ns = 0;
	int type = 0;

	/* types A,B,C,D (later ones, if any, take no parameter either) */
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ',') {
			type++;
			continue;
		}
		if (!is_letter(*p))
			return -EINVAL;
		if (type <= 1) {
			if (na + 1 >= sizeof always)
				return -EINVAL;
			always[na++] = *p;
			always[na] = '\0';
		} else if (type == 2) {
			if (ns + 1 >= sizeof set)
				return -EINVAL;
			set[ns++] = *p;
			set[ns] = '\0';
		}
	}
	memcpy(cs->modes.param_always, always, sizeof always);
	memcpy(cs->modes.param_set, set, sizeof set);
	return 0;
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
	free(c->prefix);
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
	/* the next server (or the same one, reconfigured) says its own */
	modes_default(cs);
}

static ssize_t
member_index(const struct chan *c, const char *nick)
{
	for (size_t i = 0; i < c->nnicks; i++)
		if (!irc_casecmp(c->nicks[i], nick))
			return (ssize_t)i;
	return -1;
}

/* add nick (if new); its index, or -ENOMEM */
static ssize_t
member_add(struct chan *c, const char *nick)
{
	ssize_t i = member_index(c, nick);
	char *dup;

	if (i >= 0)
		return i;
	if (c->nnicks == c->capnicks) {
		size_t ncap = c->capnicks ? c->capnicks * 2 : 16;
		char **nv = realloc(c->nicks, ncap * sizeof *nv);
		chans_prefix *pv;

		if (nv == NULL)
			return -ENOMEM;
		c->nicks = nv;
		/* both arrays have ncap entries before capnicks says so */
		if ((pv = realloc(c->prefix, ncap * sizeof *pv)) == NULL)
			return -ENOMEM;
		c->prefix = pv;
		c->capnicks = ncap;
	}
	if ((dup = strdup(nick)) == NULL)
		return -ENOMEM;
	c->prefix[c->nnicks][0] = '\0';
	c->nicks[c->nnicks] = dup;
	return (ssize_t)c->nnicks++;
}

int
chans_member_add(struct chan *c, const char *nick)
{
	ssize_t i;

	if (nick[0] == '\0')
		return 0;
	i = member_add(c, nick);
	return i < 0 ? (int)i : 0;
}

/* give (on) or take away prefix character ch; the rest stay in PREFIX order */
static void
prefix_put(const struct chans_modes *m, char *pfx, char ch, bool on)
{
	chans_prefix next;
	size_t n = 0;

	for (const char *p = m->prefix_chars; *p != '\0'; p++)
		if (*p == ch ? on : strchr(pfx, *p) != NULL)
			next[n++] = *p;
	next[n] = '\0';
	memcpy(pfx, next, n + 1);
}

const char *
chans_prefix_of(const struct chan *c, const char *nick)
{
	ssize_t i = member_index(c, nick);

	return i < 0 ? NULL : c->prefix[i];
}

void
chans_member_del(struct chan *c, const char *nick)
{
	ssize_t i = member_index(c, nick);

	if (i < 0)
		return;
	free(c->nicks[i]);
	c->nnicks--;
	c->nicks[i] = c->nicks[c->nnicks];
	memcpy(c->prefix[i], c->prefix[c->nnicks], sizeof c->prefix[i]);
}

int
chans_names(const struct chans *cs, struct chan *c, const char *list)
{
	const char *p = list;

	if (c->names_fresh) {
		/* a new NAMES reply replaces what we knew */
		members_clear(c);
		c->names_fresh = false;
	}
	while (*p != '\0') {
		char nick[128], seen[CHANS_PREFIX_MAX + 1];
		size_t n, ns = 0;
		ssize_t i;

		while (*p == ' ')
			p++;
		/*
		 * membership prefixes, several with multi-prefix: the server's,
		 * and the common ones even when it did not announce them (no
		 * nick starts with one)
		 */
		while (*p != '\0' && (strchr("~&@%+", *p) != NULL ||
		    (*p != ' ' && strchr(cs->modes.prefix_chars, *p) != NULL))) {
			if (strchr(cs->modes.prefix_chars, *p) != NULL && ns < CHANS_PREFIX_MAX &&
			    memchr(seen, *p, ns) == NULL)
				seen[ns++] = *p;
			p++;
		}
		n = strcspn(p, " ");
		if (n > 0 && n < sizeof nick) {
			/* userhost-in-names style "nick!user@host": keep the nick */
			memcpy(nick, p, n);
			nick[n] = '\0';
			nick[strcspn(nick, "!")] = '\0';
			if (nick[0] != '\0') {
				if ((i = member_add(c, nick)) < 0)
					return (int)i;
				c->prefix[i][0] = '\0';
				for (size_t k = 0; k < ns; k++)
					prefix_put(&cs->modes, c->prefix[i], seen[k], true);
			}
		}
		p += n;
	}
	return 0;
}

void
chans_mode(const struct chans *cs, struct chan *c, const char *modes,
    const char *const *params, int nparams)
{
	const struct chans_modes *m = &cs->modes;
	bool on = true;
	int next = 0;

	for (const char *p = modes; *p != '\0'; p++) {
		const char *pm;
		const char *param = NULL;

		if (*p == '+' || *p == '-') {
			on = *p == '+';
			continue;
		}
		if (!is_letter(*p))
			continue;
		pm = strchr(m->prefix_modes, *p);
		/* which modes take a parameter decides whose the next one is */
		if (pm != NULL || strchr(m->param_always, *p) != NULL ||
		    (on && strchr(m->param_set, *p) != NULL)) {
			if (next < nparams)
				param = params[next++];
		}
		if (pm != NULL && param != NULL) {
			ssize_t i = member_index(c, param);

			if (i >= 0)
				prefix_put(m, c->prefix[i],
				    m->prefix_chars[pm - m->prefix_modes], on);
		}
	}
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
