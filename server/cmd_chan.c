/* cmd_chan: joining, leaving and describing channels, both halves */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap.h"
#include "chanmode.h"
#include "cmd_chan.h"
#include "cmd_hist.h"
#include "cmd_user.h"
#include "conf.h"
#include "dirsvc.h"
#include "irc.h"
#include "log.h"
#include "worker_io.h"

#define CHAN_LIST_MAX	32	/* channels of one JOIN, PART or LIST */

/* split a comma list in place into at most max non-empty parts */
static int
chan_split(char *s, char **out, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *tok = strtok_r(s, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

/* may viewer see c at all (NAMES, LIST, WHOIS)? secret and private
 * channels only show themselves to their members */
static bool
chan_visible(const struct dirsvc *ds, const struct dir_chan *c, uint32_t viewer)
{
	return !(c->modes & (DIR_CMODE_SECRET | DIR_CMODE_PRIVATE)) ||
	    dir_is_member(&ds->dir, c->id, viewer);
}

/* 353 for c as viewer sees it: prefixes, and invisible users only to members */
static void
chan_names(struct dirsvc *ds, struct reply *r, const struct dir_chan *c, uint32_t viewer)
{
	bool member = dir_is_member(&ds->dir, c->id, viewer);
	char head[IRC_CHAN_MAX + 3];
	struct reply_list l;

	if (!member && (c->modes & (DIR_CMODE_SECRET | DIR_CMODE_PRIVATE)))
		return;
	snprintf(head, sizeof head, "%c %s", (c->modes & DIR_CMODE_SECRET) ? '@' :
	    (c->modes & DIR_CMODE_PRIVATE) ? '*' : '=', c->name);
	REPLY_LIST_START(&l, r, RPL_NAMREPLY, head);
	uint32_t caps = ds->dir.users[viewer].caps;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct dir_user *u = &ds->dir.users[c->members[i].slot];
		char nuh[IRC_MASK_MAX + 1];
		if (!member && (u->umodes & DIR_UMODE_INVISIBLE))
			continue;
		if (caps & CAP_USERHOST_IN_NAMES)
			dirsvc_prefix(u, nuh, sizeof nuh);
		reply_list_add(&l, chanmode_prefixes(&c->members[i], caps & CAP_MULTI_PREFIX),
		    (caps & CAP_USERHOST_IN_NAMES) ? nuh : u->nick);
	}
	reply_list_end(&l);
}

static void
chan_topic(struct reply *r, const struct dir_chan *c, bool say_none)
{
	if (c->topic != NULL) {
		RPL(r, RPL_TOPIC, c->name, c->topic);
		RPL(r, RPL_TOPICWHOTIME, c->name, c->topic_by, (long long)c->topic_at);
	} else if (say_none)
		RPL(r, RPL_NOTOPIC, c->name);
}

/* may slot (membership m, or NULL) act as an operator of c? A channel
 * operator may; so may an IRC operator where oper_override allows it,
 * which is logged each time it is used */
static bool
chan_privileged(const struct dirsvc *ds, uint32_t slot, const struct dir_member *m,
    const char *what, const struct dir_chan *c)
{
	if (m != NULL && (m->flags & DIR_MEMBER_OP))
		return true;
	if (!cmd_user_oper_override(ds, slot))
		return false;
	log_notice("%s used oper override for %s on %s", ds->dir.users[slot].nick, what,
	    c->name);
	return true;
}

/* slot leaves c (PART, KICK): the members and slot itself see line */
static void
chan_leave(struct dirsvc *ds, uint32_t slot, struct dir_chan *c, const char *line, size_t len)
{
	struct ring_chanref ref = { c->id, c->gen };
	struct ring_target t = { .kind = RING_TO_CHANS, .id = slot,
	    .gen = ds->dir.users[slot].gen, .flags = RING_F_INCLUDE_TARGET,
	    .extra = &ref, .extra_len = sizeof ref };

	/* published before the directory forgets the member: fan-out, which
	 * runs later, reaches the leaver through the record's target */
	dirsvc_emit_event(ds, RING_OWNER_MASTER, 0, &t, line, len);
	dir_part(&ds->dir, slot, c->id);
}

static void
chan_part_one(struct dirsvc *ds, uint32_t slot, struct dir_chan *c, const char *reason)
{
	char pfx[256], line[IRC_MAXLINE + 1];
	size_t len;

	dirsvc_prefix(&ds->dir.users[slot], pfx, sizeof pfx);
	if (reason != NULL && reason[0] != '\0')
		len = irc_fmt(line, sizeof line, ":%s PART %s :%s", pfx, c->name, reason);
	else
		len = irc_fmt(line, sizeof line, ":%s PART %s", pfx, c->name);
	chan_leave(ds, slot, c, line, len);
}

/* may the client (its prefix nuh) join the existing channel c with key?
 * false, with the numeric that says why, when not; an INVITE passes +i,
 * bans and +l (not +k) */
static bool
chan_join_allowed(struct reply *r, const struct dir_chan *c, const char *nuh,
    const char *key, bool invited)
{
	if (!invited && c->lists[DIR_LIST_BAN].n > 0 && chanmode_banned(c, nuh))
		RPL(r, ERR_BANNEDFROMCHAN, c->name);
	else if ((c->modes & DIR_CMODE_INVITE) && !invited && !chanmode_invex(c, nuh))
		RPL(r, ERR_INVITEONLYCHAN, c->name);
	else if (c->chankey[0] != '\0' && (key == NULL || strcmp(key, c->chankey) != 0))
		RPL(r, ERR_BADCHANNELKEY, c->name);
	else if (c->limit > 0 && c->nmembers >= c->limit && !invited)
		RPL(r, ERR_CHANNELISFULL, c->name);
	else
		return true;
	return false;
}

/* the members see slot join c: in two forms (IRCv3 extended-join adds the
 * account, "*" for none, and the real name), and away-notify clients
 * learn that it is away */
static void
chan_announce_join(struct dirsvc *ds, struct dir_chan *c, uint32_t slot, const char *pfx)
{
	const struct dir_user *u = &ds->dir.users[slot];
	char line[IRC_MAXLINE + 1];
	size_t len = irc_fmt(line, sizeof line, ":%s JOIN %s", pfx, c->name);

	dirsvc_emit_chan_caps(ds, c, slot, 0, 0, CAP_EXTENDED_JOIN, line, len);
	len = irc_fmt(line, sizeof line, ":%s JOIN %s * :%s", pfx, c->name, u->realname);
	dirsvc_emit_chan_caps(ds, c, slot, 0, CAP_EXTENDED_JOIN, 0, line, len);
	if (u->away != NULL) {
		len = irc_fmt(line, sizeof line, ":%s AWAY :%s", pfx, u->away);
		dirsvc_emit_chan_caps(ds, c, slot, RING_F_EXCLUDE_ORIGIN, CAP_AWAY_NOTIFY, 0,
		    line, len);
	}
}

static int
m_join(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	struct dirsvc_reply *dr = (struct dirsvc_reply *)r;
	char list[IRC_MAXLINE], *names[CHAN_LIST_MAX], pfx[256];
	char keylist[IRC_MAXLINE], *keys[CHAN_LIST_MAX];
	int n, nkeys = 0, status = CMD_OK;

	if (strcmp(q->args[0], "0") == 0) {
		/* JOIN 0: leave every channel, each announced on its own */
		while (u->nchans > 0) {
			struct dir_chan *c = dir_chan_get(&ds->dir, u->chans[0]);
			if (c == NULL) {
				u->chans[0] = u->chans[--u->nchans];	/* never loop */
				continue;
			}
			chan_part_one(ds, q->slot, c, NULL);
		}
		return CMD_OK;
	}
	snprintf(list, sizeof list, "%s", q->args[0]);
	n = chan_split(list, names, CHAN_LIST_MAX);
	if (n == 0) {
		RPL(r, ERR_NEEDMOREPARAMS, "JOIN");
		return CMD_FAILED;
	}
	if (q->nargs > 1) {
		snprintf(keylist, sizeof keylist, "%s", q->args[1]);
		nkeys = chan_split(keylist, keys, CHAN_LIST_MAX);
	}
	dirsvc_prefix(u, pfx, sizeof pfx);
	for (int i = 0; i < n; i++) {
		struct dir_chan *c = dir_chan_find(&ds->dir, names[i]);
		bool invited = false;
		int rc;

		if (!irc_chan_valid(names[i], ds->cfg->channel_len)) {
			RPL(r, ERR_NOSUCHCHANNEL, names[i]);
			status = CMD_FAILED;
			continue;
		}
		if (c != NULL && dir_is_member(&ds->dir, c->id, q->slot))
			continue;
		if (c != NULL) {
			invited = dir_invite_take(c, q->slot, q->gen);
			if (!chan_join_allowed(r, c, pfx, i < nkeys ? keys[i] : NULL, invited)) {
				if (invited)	/* not used up by a refusal */
					dir_invite_add(c, q->slot, q->gen);
				status = CMD_FAILED;
				continue;
			}
		}
		/* records published from now on reach the new member */
		rc = dir_join(&ds->dir, q->slot, names[i], ring_head(ds->ring),
		    ds->cfg->max_channels_per_client, &c);
		if (rc == -EALREADY)
			continue;
		if (rc < 0) {
			if (rc == -ENOSPC)
				RPL(r, ERR_TOOMANYCHANNELS, names[i]);
			else
				RPL(r, ERR_NOSUCHCHANNEL, names[i]);
			status = CMD_FAILED;
			continue;
		}
		if (c->nmembers == 1)
			chanmode_set_defaults(c, ds->cfg->default_channel_modes);
		/* what came before this channel's JOIN goes out before it */
		dirsvc_reply_flush(ds, dr, q->slot, q->gen);
		chan_announce_join(ds, c, q->slot, pfx);
		chan_topic(r, c, false);
		chan_names(ds, r, c, q->slot);
		RPL(r, RPL_ENDOFNAMES, c->name);
		cmd_hist_join_replay(ds, r, c, q->slot);
	}
	return status;
}

/*
 * RESTORE nick user realname umodes away fallback [channels...] (internal,
 * from the network log only): a node the others had declared dead (its
 * lease lapsed while it could not reach Redis) brings its clients back.
 * Each channel is "@#c", "+#c" or "#c" with the status the client had;
 * the client rejoins past keys, limits and bans, as after a netsplit.
 * Its own node never showed it leaving: there it only hears of a new
 * nick (fallback, when another client took its own meanwhile) and gets
 * NAMES again; on the other nodes it JOINs again.
 */
static int
m_restore(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dirsvc_reply *dr = (struct dirsvc_reply *)r;
	struct dir_user *u = &ds->dir.users[q->slot];
	bool home = dir_is_local(&ds->dir, q->slot);
	const char *nick = q->args[0];
	char pfx[IRC_MASK_MAX + 1], line[IRC_MAXLINE + 1], old[IRC_NICK_MAX + 1];
	int owner = dir_nick_find(&ds->dir, nick);

	snprintf(old, sizeof old, "%s", nick);
	if (owner >= 0 && (uint32_t)owner != q->slot)
		nick = q->args[5];
	if (dir_nick_set(&ds->dir, q->slot, nick) < 0) {
		log_warnx("RESTORE of %s: nick %s and %s both taken; the client is closed",
		    old, q->args[0], q->args[5]);
		if (ds->ops != NULL && ds->ops->close_client != NULL)
			ds->ops->close_client(ds, q->slot, "Nick collision after a netsplit");
		return CMD_FAILED;
	}
	snprintf(u->user, sizeof u->user, "%s", q->args[1]);
	snprintf(u->realname, sizeof u->realname, "%s", q->args[2]);
	dir_set_state(&ds->dir, q->slot, DIR_REGISTERED);
	dir_set_umodes(&ds->dir, q->slot, (uint32_t)strtoul(q->args[3], NULL, 10));
	dir_set_away(&ds->dir, q->slot, q->args[4]);
	dirsvc_prefix(u, pfx, sizeof pfx);
	if (home && nick != q->args[0]) {
		reply_line(r, ":%s!%s@%s NICK :%s", old, u->user, u->host, nick);
		reply_line(r, ":%s NOTICE %s :*** While this server was cut off from the "
		    "network, another client took the nick %s", ds->cfg->server_name, nick, old);
		dirsvc_reply_nick_event(ds, dr, q->slot);
	}
	log_info("%s restored after a netsplit (%s)", pfx, home ? "ours" : "another node's");
	for (int i = 6; i < q->nargs; i++) {
		const char *name = q->args[i];
		uint8_t flags = 0;
		struct dir_chan *c;
		size_t len;

		for (; *name == '@' || *name == '+'; name++)
			flags |= *name == '@' ? DIR_MEMBER_OP : DIR_MEMBER_VOICE;
		if (!irc_chan_valid(name, IRC_CHAN_MAX) ||
		    dir_join(&ds->dir, q->slot, name, ring_head(ds->ring), UINT32_MAX, &c) < 0)
			continue;
		if (c->nmembers == 1)
			chanmode_set_defaults(c, ds->cfg->default_channel_modes);
		dir_member_get(c, q->slot)->flags = flags;
		if (home) {
			/* who came and went meanwhile */
			chan_names(ds, r, c, q->slot);
			RPL(r, RPL_ENDOFNAMES, c->name);
			continue;
		}
		len = irc_fmt(line, sizeof line, ":%s JOIN %s", pfx, c->name);
		dirsvc_emit_chan(ds, c, q->slot, RING_F_EXCLUDE_ORIGIN, line, len);
		if (flags != 0) {
			len = irc_fmt(line, sizeof line, ":%s MODE %s +%s%s %s%s%s", ds->cfg->server_name,
			    c->name, (flags & DIR_MEMBER_OP) ? "o" : "", (flags & DIR_MEMBER_VOICE) ?
			    "v" : "", u->nick, (flags & DIR_MEMBER_OP) && (flags & DIR_MEMBER_VOICE) ?
			    " " : "", (flags & DIR_MEMBER_OP) && (flags & DIR_MEMBER_VOICE) ? u->nick : "");
			dirsvc_emit_chan(ds, c, RING_OWNER_MASTER, 0, line, len);
		}
	}
	return CMD_OK;
}

static int
m_part(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	char list[IRC_MAXLINE], *names[CHAN_LIST_MAX];
	int n, status = CMD_OK;

	snprintf(list, sizeof list, "%s", q->args[0]);
	n = chan_split(list, names, CHAN_LIST_MAX);
	if (n == 0) {
		RPL(r, ERR_NEEDMOREPARAMS, "PART");
		return CMD_FAILED;
	}
	for (int i = 0; i < n; i++) {
		struct dir_chan *c = dir_chan_find(&ds->dir, names[i]);

		if (c == NULL) {
			RPL(r, ERR_NOSUCHCHANNEL, names[i]);
			status = CMD_FAILED;
		} else if (!dir_is_member(&ds->dir, c->id, q->slot)) {
			RPL(r, ERR_NOTONCHANNEL, c->name);
			status = CMD_FAILED;
		} else
			chan_part_one(ds, q->slot, c, q->nargs > 1 ? q->args[1] : NULL);
	}
	return status;
}

static int
m_topic(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_chan *c = dir_chan_find(&ds->dir, q->args[0]);

	if (c == NULL) {
		RPL(r, ERR_NOSUCHCHANNEL, q->args[0]);
		return CMD_FAILED;
	}
	if (q->nargs == 1 && chan_visible(ds, c, q->slot)) {
		chan_topic(r, c, true);
		return CMD_OK;
	}
	struct dir_member *m = dir_member_get(c, q->slot);
	if (m == NULL) {
		RPL(r, ERR_NOTONCHANNEL, c->name);
		return CMD_FAILED;
	}
	if ((c->modes & DIR_CMODE_TOPIC) && !chan_privileged(ds, q->slot, m, "TOPIC", c)) {
		RPL(r, ERR_CHANOPRIVSNEEDED, c->name);
		return CMD_FAILED;
	}
	struct dir_user *u = &ds->dir.users[q->slot];
	char pfx[256], line[IRC_MAXLINE + 1], topic[512];
	size_t len;

	snprintf(topic, sizeof topic, "%.*s", ds->cfg->topic_len, q->args[1]);
	topic[irc_utf8_cut(topic, strlen(topic))] = '\0';
	dir_set_topic(&ds->dir, c->id, topic, u->nick, time(NULL));
	dirsvc_prefix(u, pfx, sizeof pfx);
	len = irc_fmt(line, sizeof line, ":%s TOPIC %s :%s", pfx, c->name, topic);
	dirsvc_emit_chan(ds, c, q->slot, 0, line, len);
	return CMD_OK;
}

static int
m_names(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir *d = &ds->dir;

	if (q->nargs > 0) {
		char first[IRC_MAXLINE];
		snprintf(first, sizeof first, "%s", q->args[0]);
		first[strcspn(first, ",")] = '\0';
		struct dir_chan *c = dir_chan_find(d, first);
		if (c != NULL)
			chan_names(ds, r, c, q->slot);
		RPL(r, RPL_ENDOFNAMES, c != NULL ? c->name : first);
		return CMD_OK;
	}
	for (uint32_t i = 0; i < d->nchans_alloc; i++)
		if (d->chans[i]->used)
			chan_names(ds, r, d->chans[i], q->slot);
	RPL(r, RPL_ENDOFNAMES, "*");
	return CMD_OK;
}

/* LIST's filters (ELIST=MNU): names or masks (any of them), "!mask" (none
 * of them), ">n" and "<n" member counts (all of them) */
struct chan_list_filter {
	char *names[CHAN_LIST_MAX];
	int nnames;
	char *nots[CHAN_LIST_MAX];
	int nnots;
	long more_than, less_than;
};

static void
chan_list_filter_parse(struct chan_list_filter *f, char *arg)
{
	char *tok[CHAN_LIST_MAX];
	int n = chan_split(arg, tok, CHAN_LIST_MAX);

	memset(f, 0, sizeof *f);
	f->more_than = -1;
	f->less_than = -1;
	for (int i = 0; i < n; i++) {
		char *end;
		if ((tok[i][0] == '>' || tok[i][0] == '<') && tok[i][1] != '\0') {
			long v = strtol(tok[i] + 1, &end, 10);
			if (*end != '\0' || v < 0)
				continue;
			if (tok[i][0] == '>')
				f->more_than = v;
			else
				f->less_than = v;
		} else if (tok[i][0] == '!' && tok[i][1] != '\0')
			f->nots[f->nnots++] = tok[i] + 1;
		else
			f->names[f->nnames++] = tok[i];
	}
}

static bool
chan_list_filter_pass(const struct chan_list_filter *f, const struct dir_chan *c)
{
	bool named = f->nnames == 0;

	if (f->more_than >= 0 && c->nmembers <= (unsigned long)f->more_than)
		return false;
	if (f->less_than >= 0 && c->nmembers >= (unsigned long)f->less_than)
		return false;
	for (int i = 0; i < f->nnots; i++)
		if (irc_mask_match(f->nots[i], c->name))
			return false;
	for (int i = 0; i < f->nnames && !named; i++)
		named = irc_mask_match(f->names[i], c->name);
	return named;
}

static int
m_list(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir *d = &ds->dir;
	struct chan_list_filter f;
	char arg[IRC_MAXLINE] = "";

	if (q->nargs > 0)
		snprintf(arg, sizeof arg, "%s", q->args[0]);
	chan_list_filter_parse(&f, arg);
	RPL(r, RPL_LISTSTART);
	for (uint32_t i = 0; i < d->nchans_alloc; i++) {
		const struct dir_chan *c = d->chans[i];
		if (c->used && chan_visible(ds, c, q->slot) && chan_list_filter_pass(&f, c))
			RPL(r, RPL_LIST, c->name, c->nmembers, c->topic ? c->topic : "");
	}
	RPL(r, RPL_LISTEND);
	return CMD_OK;
}

/* a MODE change on a channel: applied, echoed to every member as applied */
static int
chan_mode_change(struct dirsvc *ds, struct reply *r, const struct cmd_req *q,
    struct dir_chan *c, struct dir_member *m)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	struct chanmode_change v[CHANMODE_MAX];
	struct chanmode_applied applied[CHANMODE_MAX];
	struct chanmode_actor who = { .name = u->nick };
	char unknown[CHANMODE_MAX + 1];
	int n, na;

	n = chanmode_parse(q->args[1], &q->args[2], q->nargs - 2, v, CHANMODE_MAX,
	    unknown, sizeof unknown);
	/* 472 names the letter as a middle parameter: a ':', a control or a
	 * non-ASCII byte there would break the line; those are ignored */
	for (const char *p = unknown; *p != '\0'; p++)
		if (*p > ' ' && *p < 0x7f && *p != ':')
			RPL(r, ERR_UNKNOWNMODE, *p);
	/* queries are anyone's (but e and I); changes an operator's; an
	 * override is logged only when it changes something */
	bool changes = false;
	for (int i = 0; i < n && !changes; i++)
		changes = v[i].param != NULL || strchr("beI", v[i].letter) == NULL;
	who.privileged = changes ? chan_privileged(ds, q->slot, m, "MODE", c) :
	    (m != NULL && (m->flags & DIR_MEMBER_OP)) || cmd_user_oper_override(ds, q->slot);
	na = chanmode_apply(&ds->dir, c, &who, v, n, (uint32_t)ds->cfg->max_list_entries, r,
	    applied);
	cmd_chan_mode_echo(ds, c, q->slot, applied, na);
	return unknown[0] != '\0' ? CMD_FAILED : CMD_OK;
}

void
cmd_chan_mode_echo(struct dirsvc *ds, const struct dir_chan *c, uint32_t slot,
    const struct chanmode_applied *applied, int n)
{
	char pfx[256], modes[CHANMODE_MAX * 2 + 1], params[400], line[IRC_MAXLINE + 1];
	int pos = 0;

	if (slot < ds->dir.nslots)
		dirsvc_prefix(&ds->dir.users[slot], pfx, sizeof pfx);
	else
		snprintf(pfx, sizeof pfx, "%s", ds->cfg->server_name);
	while (chanmode_format(applied, n, &pos, modes, sizeof modes, params, sizeof params)) {
		size_t len = irc_fmt(line, sizeof line, ":%s MODE %s %s%s", pfx, c->name, modes,
		    params);
		dirsvc_emit_chan(ds, c, slot < ds->dir.nslots ? slot : RING_OWNER_MASTER, 0,
		    line, len);
	}
}

static int
m_mode(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const char *target = q->args[0];
	struct dir_chan *c;
	char modes[128];

	if (target[0] != '#')
		return cmd_user_mode(ds, r, q);
	if ((c = dir_chan_find(&ds->dir, target)) == NULL) {
		RPL(r, ERR_NOSUCHCHANNEL, target);
		return CMD_FAILED;
	}
	struct dir_member *m = dir_member_get(c, q->slot);
	if (q->nargs == 1) {
		/* the key is for members' eyes */
		chanmode_string(c, m != NULL, modes, sizeof modes);
		RPL(r, RPL_CHANNELMODEIS, c->name, modes);
		RPL(r, RPL_CREATIONTIME, c->name, (long long)c->created);
		return CMD_OK;
	}
	return chan_mode_change(ds, r, q, c, m);
}

/* a KICK line of this command, kept for the victims after it */
struct chan_kicked {
	uint32_t chan_id, chan_gen;
	size_t len;
	char line[IRC_MAXLINE + 1];
};

/* KICK #a,#b x,y [:reason]: one channel and several victims, or pairs */
static int
m_kick(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	char chans[IRC_MAXLINE], users[IRC_MAXLINE], pfx[256], line[IRC_MAXLINE + 1];
	char *cv[CHAN_LIST_MAX], *uv[CHAN_LIST_MAX];
	const char *reason = q->nargs > 2 && q->args[2][0] != '\0' ? q->args[2] : u->nick;
	int nc, nu, status = CMD_OK, ndone = 0;
	struct chan_kicked *done = NULL;

	snprintf(chans, sizeof chans, "%s", q->args[0]);
	snprintf(users, sizeof users, "%s", q->args[1]);
	nc = chan_split(chans, cv, CHAN_LIST_MAX);
	nu = chan_split(users, uv, CHAN_LIST_MAX);
	if (nc == 0 || nu == 0 || (nc > 1 && nc != nu)) {
		RPL(r, ERR_NEEDMOREPARAMS, "KICK");
		return CMD_FAILED;
	}
	dirsvc_prefix(u, pfx, sizeof pfx);
	/*
	 * Fan-out finds a channel's members when it runs, after this whole
	 * command: a victim kicked later in it is gone by then and would miss
	 * the KICKs before its own. Those lines are kept and sent to it first.
	 */
	if (nu > 1 && (done = malloc((size_t)nu * sizeof *done)) == NULL)
		log_warnx("out of memory keeping the lines of a KICK");
	for (int i = 0; i < nu; i++) {
		const char *name = cv[nc > 1 ? i : 0];
		struct dir_chan *c = dir_chan_find(&ds->dir, name);
		struct dir_member *m;
		int victim;

		if (c == NULL) {
			RPL(r, ERR_NOSUCHCHANNEL, name);
			status = CMD_FAILED;
			continue;
		}
		m = dir_member_get(c, q->slot);
		if (!chan_privileged(ds, q->slot, m, "KICK", c)) {
			if (m == NULL)
				RPL(r, ERR_NOTONCHANNEL, c->name);
			else
				RPL(r, ERR_CHANOPRIVSNEEDED, c->name);
			status = CMD_FAILED;
			continue;
		}
		victim = dir_nick_find(&ds->dir, uv[i]);
		if (victim < 0 || ds->dir.users[victim].state != DIR_REGISTERED) {
			RPL(r, ERR_NOSUCHNICK, uv[i]);
			status = CMD_FAILED;
			continue;
		}
		if (dir_member_get(c, (uint32_t)victim) == NULL) {
			RPL(r, ERR_USERNOTINCHANNEL, ds->dir.users[victim].nick, c->name);
			status = CMD_FAILED;
			continue;
		}
		size_t len = irc_fmt(line, sizeof line, ":%s KICK %s %s :%.*s", pfx, c->name,
		    ds->dir.users[victim].nick, ds->cfg->topic_len, reason);
		log_info("%s kicked %s from %s (%s)", u->nick, ds->dir.users[victim].nick,
		    c->name, reason);
		struct ring_target to = { .kind = RING_TO_SLOT, .id = (uint32_t)victim,
		    .gen = ds->dir.users[victim].gen };
		for (int k = 0; k < ndone; k++)
			if (done[k].chan_id == c->id && done[k].chan_gen == c->gen)
				dirsvc_emit(ds, &to, done[k].line, done[k].len);
		if (done != NULL) {
			done[ndone] = (struct chan_kicked){ c->id, c->gen, len, "" };
			memcpy(done[ndone++].line, line, len);
		}
		chan_leave(ds, (uint32_t)victim, c, line, len);
	}
	free(done);
	return status;
}

static int
m_invite(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	int target = dir_nick_find(&ds->dir, q->args[0]);
	struct dir_chan *c = dir_chan_find(&ds->dir, q->args[1]);
	struct dir_member *m;
	char pfx[256], line[IRC_MAXLINE + 1];

	if (target < 0 || ds->dir.users[target].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, q->args[0]);
		return CMD_FAILED;
	}
	if (c == NULL) {
		RPL(r, ERR_NOSUCHCHANNEL, q->args[1]);
		return CMD_FAILED;
	}
	m = dir_member_get(c, q->slot);
	if (m == NULL && !chan_privileged(ds, q->slot, NULL, "INVITE", c)) {
		RPL(r, ERR_NOTONCHANNEL, c->name);
		return CMD_FAILED;
	}
	struct dir_user *t = &ds->dir.users[target];
	if (dir_member_get(c, (uint32_t)target) != NULL) {
		RPL(r, ERR_USERONCHANNEL, t->nick, c->name);
		return CMD_FAILED;
	}
	if ((c->modes & DIR_CMODE_INVITE) && !chan_privileged(ds, q->slot, m, "INVITE", c)) {
		RPL(r, ERR_CHANOPRIVSNEEDED, c->name);
		return CMD_FAILED;
	}
	if (dir_invite_add(c, (uint32_t)target, t->gen) < 0) {
		log_warnx("out of memory recording an invite to %s", c->name);
		return CMD_FAILED;
	}
	RPL(r, RPL_INVITING, t->nick, c->name);
	if (t->away != NULL)
		RPL(r, RPL_AWAY, t->nick, t->away);
	dirsvc_prefix(u, pfx, sizeof pfx);
	size_t len = irc_fmt(line, sizeof line, ":%s INVITE %s %s", pfx, t->nick, c->name);
	struct ring_target to = { .kind = RING_TO_SLOT, .id = (uint32_t)target, .gen = t->gen };
	dirsvc_emit_event(ds, q->slot, q->gen, &to, line, len);
	/* IRCv3 invite-notify: the members who asked for it see it too */
	dirsvc_emit_chan_caps(ds, c, q->slot, RING_F_EXCLUDE_ORIGIN, CAP_INVITE_NOTIFY, 0,
	    line, len);
	return CMD_OK;
}

static const struct cmd_row chan_rows[] = {
	{ .name = "JOIN", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_join, .min_args = 1, .max_args = 2 },
	{ .name = "PART", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_part, .min_args = 1, .max_args = 2 },
	{ .name = "TOPIC", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_topic, .min_args = 1, .max_args = 2 },
	{ .name = "NAMES", .flags = CMD_REGISTERED, .max_params = 2,
	  .worker = worker_forward, .master = m_names, .max_args = 2 },
	{ .name = "LIST", .flags = CMD_REGISTERED, .max_params = 2,
	  .worker = worker_forward, .master = m_list, .max_args = 2 },
	{ .name = "MODE", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1,
	  .worker = worker_forward, .master = m_mode, .min_args = 1, .max_args = IRC_MAXPARAMS },
	{ .name = "KICK", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 2, .max_params = 3,
	  .worker = worker_forward, .master = m_kick, .min_args = 2, .max_args = 3 },
	{ .name = "RESTORE", .flags = CMD_INTERNAL | CMD_REPLICATE | CMD_FROM_LOG | CMD_NO_ANSWER,
	  .master = m_restore, .min_args = 6, .max_args = IPC_REQ_ARGS },
	{ .name = "INVITE", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 2, .max_params = 2,
	  .worker = worker_forward, .master = m_invite, .min_args = 2, .max_args = 2 },
};

CMD_FAMILY(cmd_chan, "channels", chan_rows);
