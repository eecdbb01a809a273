/* cmd_chan: joining, leaving and describing channels, both halves */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd_chan.h"
#include "cmd_user.h"
#include "conf.h"
#include "dirsvc.h"
#include "irc.h"
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

static void
chan_names(struct dirsvc *ds, struct reply *r, const struct dir_chan *c)
{
	struct reply_list l;

	REPLY_LIST_START(&l, r, RPL_NAMREPLY, c->name);
	for (uint32_t i = 0; i < c->nmembers; i++)
		reply_list_add(&l, "", ds->dir.users[c->members[i].slot].nick);
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

/* the client leaves c: its members and the client itself see the PART */
static void
chan_part_one(struct dirsvc *ds, uint32_t slot, struct dir_chan *c, const char *reason)
{
	struct dir_user *u = &ds->dir.users[slot];
	struct ring_chanref ref = { c->id, c->gen };
	struct ring_target t = { .kind = RING_TO_CHANS, .id = slot, .gen = u->gen,
	    .flags = RING_F_INCLUDE_TARGET, .extra = &ref, .extra_len = sizeof ref };
	char pfx[256], line[IRC_MAXLINE + 1];
	size_t len;

	dirsvc_prefix(u, pfx, sizeof pfx);
	if (reason != NULL && reason[0] != '\0')
		len = irc_fmt(line, sizeof line, ":%s PART %s :%s", pfx, c->name, reason);
	else
		len = irc_fmt(line, sizeof line, ":%s PART %s", pfx, c->name);
	/* published before the directory forgets the member: fan-out, which
	 * runs later, reaches the parter through the record's target */
	dirsvc_emit(ds, &t, line, len);
	dir_part(&ds->dir, slot, c->id);
}

static int
m_join(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	struct dirsvc_reply *dr = (struct dirsvc_reply *)r;
	char list[IRC_MAXLINE], *names[CHAN_LIST_MAX], pfx[256], line[IRC_MAXLINE + 1];
	int n, status = CMD_OK;

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
	dirsvc_prefix(u, pfx, sizeof pfx);
	for (int i = 0; i < n; i++) {
		struct dir_chan *c = NULL;
		int rc;

		if (!irc_chan_valid(names[i], ds->cfg->channel_len)) {
			RPL(r, ERR_NOSUCHCHANNEL, names[i]);
			status = CMD_FAILED;
			continue;
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
		/* what came before this channel's JOIN goes out before it */
		dirsvc_reply_flush(ds, dr, q->slot, q->gen);
		size_t len = irc_fmt(line, sizeof line, ":%s JOIN %s", pfx, c->name);
		dirsvc_emit_chan(ds, c, q->slot, 0, line, len);
		chan_topic(r, c, false);
		chan_names(ds, r, c);
		RPL(r, RPL_ENDOFNAMES, c->name);
	}
	return status;
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
	if (q->nargs == 1) {
		chan_topic(r, c, true);
		return CMD_OK;
	}
	if (!dir_is_member(&ds->dir, c->id, q->slot)) {
		RPL(r, ERR_NOTONCHANNEL, c->name);
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
			chan_names(ds, r, c);
		RPL(r, RPL_ENDOFNAMES, c != NULL ? c->name : first);
		return CMD_OK;
	}
	for (uint32_t i = 0; i < d->nchans_alloc; i++)
		if (d->chans[i]->used)
			chan_names(ds, r, d->chans[i]);
	RPL(r, RPL_ENDOFNAMES, "*");
	return CMD_OK;
}

static void
chan_list_one(struct reply *r, const struct dir_chan *c)
{
	RPL(r, RPL_LIST, c->name, c->nmembers, c->topic ? c->topic : "");
}

static int
m_list(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir *d = &ds->dir;

	RPL(r, RPL_LISTSTART);
	if (q->nargs > 0) {
		char list[IRC_MAXLINE], *names[CHAN_LIST_MAX];
		snprintf(list, sizeof list, "%s", q->args[0]);
		int n = chan_split(list, names, CHAN_LIST_MAX);
		for (int i = 0; i < n; i++) {
			struct dir_chan *c = dir_chan_find(d, names[i]);
			if (c != NULL)
				chan_list_one(r, c);
		}
	} else {
		for (uint32_t i = 0; i < d->nchans_alloc; i++)
			if (d->chans[i]->used)
				chan_list_one(r, d->chans[i]);
	}
	RPL(r, RPL_LISTEND);
	return CMD_OK;
}

/* every mode character of a change, signs skipped: unknown ones get 472 */
static int
chan_mode_unknown(struct reply *r, const char *change)
{
	int n = 0;

	for (const char *p = change; *p != '\0' && n < 8; p++)
		if (*p != '+' && *p != '-' && (unsigned char)*p > ' ') {
			RPL(r, ERR_UNKNOWNMODE, *p);
			n++;
		}
	return n > 0 ? CMD_FAILED : CMD_OK;
}

static int
m_mode(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const char *target = q->args[0];

	if (target[0] == '#') {
		struct dir_chan *c = dir_chan_find(&ds->dir, target);
		if (c == NULL) {
			RPL(r, ERR_NOSUCHCHANNEL, target);
			return CMD_FAILED;
		}
		if (q->nargs == 1) {
			RPL(r, RPL_CHANNELMODEIS, c->name, "+");
			RPL(r, RPL_CREATIONTIME, c->name, (long long)c->created);
			return CMD_OK;
		}
		return chan_mode_unknown(r, q->args[1]);
	}
	return cmd_user_mode(ds, r, q);
}

static const struct cmd_row chan_rows[] = {
	{ .name = "JOIN", .flags = CMD_REGISTERED, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_join, .min_args = 1, .max_args = 2 },
	{ .name = "PART", .flags = CMD_REGISTERED, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_part, .min_args = 1, .max_args = 2 },
	{ .name = "TOPIC", .flags = CMD_REGISTERED, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_topic, .min_args = 1, .max_args = 2 },
	{ .name = "NAMES", .flags = CMD_REGISTERED, .max_params = 2,
	  .worker = worker_forward, .master = m_names, .max_args = 2 },
	{ .name = "LIST", .flags = CMD_REGISTERED, .max_params = 2,
	  .worker = worker_forward, .master = m_list, .max_args = 2 },
	{ .name = "MODE", .flags = CMD_REGISTERED, .min_params = 1,
	  .worker = worker_forward, .master = m_mode, .min_args = 1, .max_args = IRC_MAXPARAMS },
};

CMD_FAMILY(cmd_chan, "channels", chan_rows);
