/* chanmode: channel modes: parsing, applying, and the checks they imply */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chanmode.h"
#include "modeflag.h"
#include "reply.h"

/* the parameterless modes (CHANMODES type D) and their bits, in 324's order */
static const struct modeflag chanmode_flags[] = {
	{ 'i', DIR_CMODE_INVITE },
	{ 'm', DIR_CMODE_MODERATED },
	{ 'n', DIR_CMODE_NOEXTERNAL },
	{ 'p', DIR_CMODE_PRIVATE },
	{ 's', DIR_CMODE_SECRET },
	{ 't', DIR_CMODE_TOPIC },
};

static uint32_t
chanmode_bit(char letter)
{
	return modeflag_bit(chanmode_flags, MODEFLAG_COUNT(chanmode_flags), letter);
}

static int
chanmode_list_of(char letter)
{
	switch (letter) {
	case 'b':
		return DIR_LIST_BAN;
	case 'e':
		return DIR_LIST_EXCEPT;
	case 'I':
		return DIR_LIST_INVEX;
	default:
		return -1;
	}
}

int
chanmode_parse(const char *modes, const char *const *params, int nparams,
    struct chanmode_change *out, int max, char *unknown, size_t unknown_cap)
{
	int n = 0, next = 0, with_param = 0;
	size_t nunknown = 0;
	bool add = true;

	if (unknown_cap > 0)
		unknown[0] = '\0';
	for (const char *p = modes; *p != '\0' && n < max; p++) {
		char c = *p;
		bool takes;

		if (c == '+' || c == '-') {
			add = c == '+';
			continue;
		}
		if (chanmode_list_of(c) >= 0 || c == 'k' || c == 'o' || c == 'v')
			takes = true;		/* type A, B and prefixes: both ways */
		else if (c == 'l')
			takes = add;		/* type C: only when set */
		else if (chanmode_bit(c) != 0)
			takes = false;		/* type D */
		else {
			if (nunknown + 1 < unknown_cap && strchr(unknown, c) == NULL) {
				unknown[nunknown++] = c;
				unknown[nunknown] = '\0';
			}
			continue;
		}
		struct chanmode_change ch = { c, add, NULL };
		if (takes && next < nparams) {
			/* past MODES= changes with a parameter, the rest is ignored */
			if (++with_param > CHANMODE_PER_LINE)
				break;
			ch.param = params[next++];
		} else if (takes && chanmode_list_of(c) < 0 && !(c == 'k' && !add))
			continue;	/* needs a parameter it did not get ("-k" needs none) */
		out[n++] = ch;
	}
	return n;
}

static void
chanmode_list_reply(struct reply *r, const struct dir_chan *c, int l)
{
	const struct dir_masklist *ml = &c->lists[l];

	for (uint32_t i = 0; i < ml->n; i++) {
		const struct dir_mask *m = &ml->v[i];
		if (l == DIR_LIST_BAN)
			RPL(r, RPL_BANLIST, c->name, m->mask, m->by, (long long)m->at);
		else if (l == DIR_LIST_EXCEPT)
			RPL(r, RPL_EXCEPTLIST, c->name, m->mask, m->by, (long long)m->at);
		else
			RPL(r, RPL_INVITELIST, c->name, m->mask, m->by, (long long)m->at);
	}
	if (l == DIR_LIST_BAN)
		RPL(r, RPL_ENDOFBANLIST, c->name);
	else if (l == DIR_LIST_EXCEPT)
		RPL(r, RPL_ENDOFEXCEPTLIST, c->name);
	else
		RPL(r, RPL_ENDOFINVITELIST, c->name);
}

/* a parameter as 696 names it: one non-empty middle word, else "*" */
static const char *
chanmode_shown(const char *param)
{
	if (param[0] == '\0' || param[0] == ':' || strchr(param, ' ') != NULL)
		return "*";
	return param;
}

/* a channel key: what JOIN can carry (no comma, no leading ':'), cut to KEYLEN */
static bool
chanmode_key_ok(const char *key)
{
	if (key[0] == '\0' || key[0] == ':')
		return false;
	for (const char *p = key; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == 0x7f)
			return false;
	return true;
}

static void
chanmode_applied_add(struct chanmode_applied *a, int *na, char letter, bool add,
    const char *param)
{
	struct chanmode_applied *x = &a[(*na)++];

	x->letter = letter;
	x->add = add;
	snprintf(x->param, sizeof x->param, "%s", param != NULL ? param : "");
}

static void
chanmode_apply_list(struct dir_chan *c, const struct chanmode_actor *who,
    const struct chanmode_change *ch, uint32_t max_list, struct reply *r,
    struct chanmode_applied *applied, int *na)
{
	int l = chanmode_list_of(ch->letter);
	char mask[IRC_MASK_MAX + 1], letter[2] = { ch->letter, '\0' };
	uint32_t room;
	int rc;

	/* an empty mask would become *!*@*, one starting with ':' would break
	 * the echo's parameters: both are invalid, as in ratbox and charybdis */
	if (ch->param[0] == '\0' || ch->param[0] == ':' ||
	    !irc_mask_normalize(ch->param, mask, sizeof mask)) {
		RPL(r, ERR_INVALIDMODEPARAM, c->name, ch->letter, chanmode_shown(ch->param),
		    "Invalid mask");
		return;
	}
	if (!ch->add) {
		if (dir_mask_del(c, l, mask) == 0 || dir_mask_del(c, l, ch->param) == 0)
			chanmode_applied_add(applied, na, ch->letter, false, mask);
		return;
	}
	/* the three lists share max_list: when they are full, this list takes
	 * no more (a mask already listed is still just "nothing changes") */
	room = c->lists[DIR_LIST_BAN].n + c->lists[DIR_LIST_EXCEPT].n +
	    c->lists[DIR_LIST_INVEX].n < max_list ? UINT32_MAX : c->lists[l].n;
	rc = dir_mask_add(c, l, mask, who->name, time(NULL), room);
	if (rc == 0)
		chanmode_applied_add(applied, na, ch->letter, true, mask);
	else if (rc == -ENOSPC || rc == -ENOMEM)
		RPL(r, ERR_BANLISTFULL, c->name, letter);
	/* -EEXIST: already listed, nothing changes */
}

static void
chanmode_apply_member(struct dir *d, struct dir_chan *c, const struct chanmode_change *ch,
    struct reply *r, struct chanmode_applied *applied, int *na)
{
	uint8_t flag = ch->letter == 'o' ? DIR_MEMBER_OP : DIR_MEMBER_VOICE;
	int slot = dir_nick_find(d, ch->param);
	struct dir_member *m;

	if (slot < 0 || d->users[slot].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, ch->param);
		return;
	}
	if ((m = dir_member_get(c, (uint32_t)slot)) == NULL) {
		RPL(r, ERR_USERNOTINCHANNEL, d->users[slot].nick, c->name);
		return;
	}
	if (((m->flags & flag) != 0) == ch->add)
		return;
	m->flags = ch->add ? m->flags | flag : m->flags & ~flag;
	chanmode_applied_add(applied, na, ch->letter, ch->add, d->users[slot].nick);
}

static void
chanmode_apply_key(struct dir_chan *c, const struct chanmode_change *ch, struct reply *r,
    struct chanmode_applied *applied, int *na)
{
	char key[IRC_KEY_MAX + 1];

	if (!ch->add) {
		if (c->chankey[0] == '\0')
			return;
		chanmode_applied_add(applied, na, 'k', false, c->chankey);
		c->chankey[0] = '\0';
		return;
	}
	if (!chanmode_key_ok(ch->param)) {
		RPL(r, ERR_INVALIDMODEPARAM, c->name, 'k', chanmode_shown(ch->param),
		    "Invalid key");
		return;
	}
	snprintf(key, sizeof key, "%s", ch->param);
	if (strcmp(key, c->chankey) == 0)
		return;
	if (c->chankey[0] != '\0') {
		RPL(r, ERR_KEYSET, c->name);
		return;
	}
	memcpy(c->chankey, key, sizeof key);
	chanmode_applied_add(applied, na, 'k', true, key);
}

static void
chanmode_apply_limit(struct dir_chan *c, const struct chanmode_change *ch, struct reply *r,
    struct chanmode_applied *applied, int *na)
{
	char *end, num[16];
	long v;

	if (!ch->add) {
		if (c->limit == 0)
			return;
		c->limit = 0;
		chanmode_applied_add(applied, na, 'l', false, NULL);
		return;
	}
	v = strtol(ch->param, &end, 10);
	if (end == ch->param || *end != '\0' || v < 1 || v > 1000000) {
		RPL(r, ERR_INVALIDMODEPARAM, c->name, 'l', chanmode_shown(ch->param),
		    "Invalid limit");
		return;
	}
	if ((uint32_t)v == c->limit)
		return;
	c->limit = (uint32_t)v;
	snprintf(num, sizeof num, "%ld", v);
	chanmode_applied_add(applied, na, 'l', true, num);
}

int
chanmode_apply(struct dir *d, struct dir_chan *c, const struct chanmode_actor *who,
    const struct chanmode_change *v, int n, uint32_t max_list, struct reply *r,
    struct chanmode_applied *applied)
{
	bool listed[DIR_NLISTS] = { false }, denied = false;
	int na = 0;

	for (int i = 0; i < n; i++) {
		const struct chanmode_change *ch = &v[i];
		int l = chanmode_list_of(ch->letter);

		if (l >= 0 && ch->param == NULL) {
			/* a list query, answered once; only operators see e and I */
			if (listed[l])
				continue;
			listed[l] = true;
			if (l == DIR_LIST_BAN || who->privileged)
				chanmode_list_reply(r, c, l);
			else if (!denied) {
				RPL(r, ERR_CHANOPRIVSNEEDED, c->name);
				denied = true;
			}
			continue;
		}
		if (!who->privileged) {
			if (!denied)
				RPL(r, ERR_CHANOPRIVSNEEDED, c->name);
			denied = true;
			continue;
		}
		if (l >= 0)
			chanmode_apply_list(c, who, ch, max_list, r, applied, &na);
		else if (ch->letter == 'o' || ch->letter == 'v')
			chanmode_apply_member(d, c, ch, r, applied, &na);
		else if (ch->letter == 'k')
			chanmode_apply_key(c, ch, r, applied, &na);
		else if (ch->letter == 'l')
			chanmode_apply_limit(c, ch, r, applied, &na);
		else {
			uint32_t bit = chanmode_bit(ch->letter);
			if (bit == 0 || ((c->modes & bit) != 0) == ch->add)
				continue;
			c->modes = ch->add ? c->modes | bit : c->modes & ~bit;
			chanmode_applied_add(applied, &na, ch->letter, ch->add, NULL);
		}
	}
	return na;
}

bool
chanmode_format(const struct chanmode_applied *v, int n, int *pos,
    char *modes, size_t modes_cap, char *params, size_t params_cap)
{
	size_t ml = 0, pl = 0;
	char sign = 0;
	int i;

	if (*pos >= n || modes_cap < 3 || params_cap < 1)
		return false;
	params[0] = '\0';
	for (i = *pos; i < n; i++) {
		size_t need = v[i].param[0] != '\0' ? strlen(v[i].param) + 1 : 0;
		char s = v[i].add ? '+' : '-';

		/* one more, sign included, must fit; the first always goes */
		if (i > *pos && (ml + 3 > modes_cap || pl + need + 1 > params_cap))
			break;
		if (need > 0 && pl + need + 1 > params_cap)
			need = 0;	/* cannot happen with the caller's buffers */
		if (s != sign)
			modes[ml++] = sign = s;
		modes[ml++] = v[i].letter;
		if (need > 0)
			pl += (size_t)snprintf(params + pl, params_cap - pl, " %s", v[i].param);
	}
	modes[ml] = '\0';
	*pos = i;
	return true;
}

void
chanmode_string(const struct dir_chan *c, bool show_key, char *out, size_t cap)
{
	char modes[16], params[64] = "";
	size_t n = 0, pl = 0;

	modes[n++] = '+';
	n = modeflag_letters(chanmode_flags, MODEFLAG_COUNT(chanmode_flags), c->modes, modes, n,
	    sizeof modes);
	if (c->chankey[0] != '\0') {
		modes[n++] = 'k';
		if (show_key)
			pl += (size_t)snprintf(params + pl, sizeof params - pl, " %s", c->chankey);
	}
	if (c->limit > 0) {
		modes[n++] = 'l';
		snprintf(params + pl, sizeof params - pl, " %u", c->limit);
	}
	modes[n] = '\0';
	snprintf(out, cap, "%s%s", modes, params);
}

void
chanmode_set_defaults(struct dir_chan *c, const char *letters)
{
	for (const char *p = letters; *p != '\0'; p++)
		c->modes |= chanmode_bit(*p);
}

static bool
chanmode_list_match(const struct dir_chan *c, int l, const char *nuh)
{
	const struct dir_masklist *ml = &c->lists[l];

	for (uint32_t i = 0; i < ml->n; i++)
		if (irc_mask_match(ml->v[i].mask, nuh))
			return true;
	return false;
}

bool
chanmode_banned(const struct dir_chan *c, const char *nuh)
{
	return chanmode_list_match(c, DIR_LIST_BAN, nuh) &&
	    !chanmode_list_match(c, DIR_LIST_EXCEPT, nuh);
}

bool
chanmode_invex(const struct dir_chan *c, const char *nuh)
{
	return chanmode_list_match(c, DIR_LIST_INVEX, nuh);
}

bool
chanmode_can_speak(const struct dir_chan *c, const struct dir_member *member,
    const char *nuh)
{
	if (member != NULL && (member->flags & (DIR_MEMBER_OP | DIR_MEMBER_VOICE)))
		return true;
	if (member == NULL && (c->modes & DIR_CMODE_NOEXTERNAL))
		return false;
	if (c->modes & DIR_CMODE_MODERATED)
		return false;
	return c->lists[DIR_LIST_BAN].n == 0 || !chanmode_banned(c, nuh);
}

const char *
chanmode_prefix(const struct dir_member *m)
{
	if (m == NULL)
		return "";
	if (m->flags & DIR_MEMBER_OP)
		return "@";
	return m->flags & DIR_MEMBER_VOICE ? "+" : "";
}

const char *
chanmode_prefixes(const struct dir_member *m, bool all)
{
	if (!all || m == NULL || (m->flags & (DIR_MEMBER_OP | DIR_MEMBER_VOICE)) !=
	    (DIR_MEMBER_OP | DIR_MEMBER_VOICE))
		return chanmode_prefix(m);
	return "@+";
}
