/* cmd_query: questions about the network, both halves */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chanmode.h"
#include "cmd_query.h"
#include "conf.h"
#include "dirsvc.h"
#include "irc.h"
#include "worker_io.h"

/* ----------------------------------------------------------- worker side */

static enum cmd_result
w_whois(struct worker *w, const struct irc_msg *m)
{
	/* WHOIS [server] nick[,nick]: the last parameter, its first nick */
	char nick[IRC_MAXLINE];
	const char *args[1] = { nick };

	snprintf(nick, sizeof nick, "%s", m->params[m->nparams - 1]);
	nick[strcspn(nick, ",")] = '\0';
	worker_request(w, "WHOIS", args, 1);
	return CMD_DONE;
}

/* ISON and USERHOST: nicks spread over parameters and spaces */
static enum cmd_result
w_nick_list(struct worker *w, const struct irc_msg *m)
{
	char all[IRC_MAXLINE], *nv[IPC_REQ_ARGS], *save = NULL;
	size_t len = 0;
	int n = 0;

	all[0] = '\0';
	for (int i = 0; i < m->nparams && len < sizeof all; i++)
		len += snprintf(all + len, sizeof all - len, "%s ", m->params[i]);
	for (char *tok = strtok_r(all, " ", &save); tok != NULL && n < IPC_REQ_ARGS;
	    tok = strtok_r(NULL, " ", &save))
		nv[n++] = tok;
	worker_request(w, m->command, (const char *const *)nv, n);
	return CMD_DONE;
}

static enum cmd_result
w_version(struct worker *w, const struct irc_msg *m)
{
	(void)m;
	RPL(&w->rpl, RPL_VERSION, "shmchat-" PACKAGE_VERSION, w->set.server_name,
	    w->set.description);
	return CMD_DONE;
}

static enum cmd_result
w_time(struct worker *w, const struct irc_msg *m)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;

	(void)m;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%A %B %d %Y -- %H:%M:%S %z", &tm);
	RPL(&w->rpl, RPL_TIME, w->set.server_name, when);
	return CMD_DONE;
}

/* ----------------------------------------------------------- master side */

void
cmd_query_lusers(struct dirsvc *ds, struct reply *r)
{
	struct dir *d = &ds->dir;
	uint32_t unknown = d->nconnected - d->nregistered;

	RPL(r, RPL_LUSERCLIENT, d->nregistered);
	if (unknown > 0)
		RPL(r, RPL_LUSERUNKNOWN, unknown);
	RPL(r, RPL_LUSERCHANNELS, d->nchannels);
	RPL(r, RPL_LUSERME, d->nregistered);
}

void
cmd_query_motd(struct dirsvc *ds, struct reply *r)
{
	const char *motd = ds->cfg->motd_text;

	if (motd == NULL) {
		RPL(r, ERR_NOMOTD);
		return;
	}
	RPL(r, RPL_MOTDSTART, ds->cfg->server_name);
	for (const char *p = motd; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		RPL(r, RPL_MOTD, n, p);
		p += n + (nl != NULL);
	}
	RPL(r, RPL_ENDOFMOTD);
}

static int
m_lusers(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	(void)q;
	cmd_query_lusers(ds, r);
	return CMD_OK;
}

static int
m_motd(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	(void)q;
	cmd_query_motd(ds, r);
	return CMD_OK;
}

/* 352 for u: flags H or G, then its prefix in chan (m, or NULL) */
static void
query_who_one(struct dirsvc *ds, struct reply *r, const char *chan, const struct dir_user *u,
    const struct dir_member *m)
{
	char flags[8];

	snprintf(flags, sizeof flags, "%s%s", u->away ? "G" : "H",
	    m != NULL ? chanmode_prefix(m) : "");
	RPL(r, RPL_WHOREPLY, chan, u->user, u->host, ds->cfg->server_name, u->nick, flags,
	    u->realname);
}

/* may viewer see u in a WHO or NAMES of the whole network? (+i hides) */
static bool
query_user_visible(const struct dirsvc *ds, uint32_t viewer, uint32_t slot)
{
	return slot == viewer || !(ds->dir.users[slot].umodes & DIR_UMODE_INVISIBLE) ||
	    dir_shares_chan(&ds->dir, viewer, slot);
}

static void
query_who_chan(struct dirsvc *ds, struct reply *r, const struct dir_chan *c, uint32_t viewer,
    bool opers_only)
{
	struct dir *d = &ds->dir;
	bool member = dir_is_member(d, c->id, viewer);

	if (!member && (c->modes & (DIR_CMODE_SECRET | DIR_CMODE_PRIVATE)))
		return;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct dir_user *u = &d->users[c->members[i].slot];
		if ((!member && (u->umodes & DIR_UMODE_INVISIBLE)) ||
		    (opers_only && !(u->umodes & DIR_UMODE_OPER)))
			continue;
		query_who_one(ds, r, c->name, u, &c->members[i]);
	}
}

/* WHO #chan, or WHO mask (nick, host or realname) [o]: operators only */
static int
m_who(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir *d = &ds->dir;
	const char *mask = q->nargs > 0 ? q->args[0] : "*";
	bool opers_only = q->nargs > 1 && strchr(q->args[1], 'o') != NULL;

	if (mask[0] == '#') {
		struct dir_chan *c = dir_chan_find(d, mask);
		if (c != NULL)
			query_who_chan(ds, r, c, q->slot, opers_only);
	} else {
		if (strcmp(mask, "0") == 0)
			mask = "*";
		/* bounded: a WHO * on a huge server answers the first 1000 */
		unsigned shown = 0;
		for (uint32_t i = 0; i < d->nslots && shown < 1000; i++) {
			const struct dir_user *u = &d->users[i];
			if (u->state != DIR_REGISTERED || !query_user_visible(ds, q->slot, i) ||
			    (opers_only && !(u->umodes & DIR_UMODE_OPER)))
				continue;
			if (irc_mask_match(mask, u->nick) || irc_mask_match(mask, u->host) ||
			    irc_mask_match(mask, u->realname)) {
				query_who_one(ds, r, "*", u, NULL);
				shown++;
			}
		}
	}
	RPL(r, RPL_ENDOFWHO, mask);
	return CMD_OK;
}

static int
m_whois(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir *d = &ds->dir;
	int slot = dir_nick_find(d, q->args[0]);

	if (slot < 0 || d->users[slot].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, q->args[0]);
		RPL(r, RPL_ENDOFWHOIS, q->args[0]);
		return CMD_FAILED;
	}
	const struct dir_user *u = &d->users[slot];
	struct reply_list l;

	RPL(r, RPL_WHOISUSER, u->nick, u->user, u->host, u->realname);
	RPL(r, RPL_WHOISSERVER, u->nick, ds->cfg->server_name, ds->cfg->description);
	if (u->away)
		RPL(r, RPL_AWAY, u->nick, u->away);
	REPLY_LIST_START(&l, r, RPL_WHOISCHANNELS, u->nick);
	for (uint32_t i = 0; i < u->nchans; i++) {
		const struct dir_chan *c = dir_chan_get(d, u->chans[i]);
		/* secret and private channels only to those who are in them */
		if (c == NULL || ((c->modes & (DIR_CMODE_SECRET | DIR_CMODE_PRIVATE)) &&
		    (uint32_t)slot != q->slot && !dir_is_member(d, c->id, q->slot)))
			continue;
		reply_list_add(&l, chanmode_prefix(dir_member_get(c, (uint32_t)slot)), c->name);
	}
	reply_list_end(&l);
	RPL(r, RPL_WHOISIDLE, u->nick, dirsvc_idle(ds, slot), (long long)u->connected_at);
	RPL(r, RPL_ENDOFWHOIS, q->args[0]);
	return CMD_OK;
}

static int
m_away(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	char msg[512];

	if (q->nargs > 0 && q->args[0][0] != '\0') {
		snprintf(msg, sizeof msg, "%.*s", ds->cfg->away_len, q->args[0]);
		msg[irc_utf8_cut(msg, strlen(msg))] = '\0';
		dir_set_away(&ds->dir, q->slot, msg);
		RPL(r, RPL_NOWAWAY);
	} else {
		dir_set_away(&ds->dir, q->slot, NULL);
		RPL(r, RPL_UNAWAY);
	}
	return CMD_OK;
}

/* ISON: the nicks present; USERHOST: nick=+user@host of (at most 5) */
static int
m_nick_list(struct dirsvc *ds, struct reply *r, const struct cmd_req *q, bool userhost)
{
	struct dir *d = &ds->dir;
	char list[450];
	size_t len = 0;

	list[0] = '\0';
	for (int i = 0; i < q->nargs && (!userhost || i < 5); i++) {
		int slot = dir_nick_find(d, q->args[i]);
		if (slot < 0 || d->users[slot].state != DIR_REGISTERED)
			continue;
		const struct dir_user *u = &d->users[slot];
		if (userhost)
			len += snprintf(list + len, sizeof list - len, "%s%s=%c%s@%s",
			    len ? " " : "", u->nick, u->away ? '-' : '+', u->user, u->host);
		else
			len += snprintf(list + len, sizeof list - len, "%s%s",
			    len ? " " : "", u->nick);
		if (len >= sizeof list)
			len = sizeof list - 1;
	}
	if (userhost)
		RPL(r, RPL_USERHOST, list);
	else
		RPL(r, RPL_ISON, list);
	return CMD_OK;
}

static int
m_ison(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	return m_nick_list(ds, r, q, false);
}

static int
m_userhost(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	return m_nick_list(ds, r, q, true);
}

static const struct cmd_row query_rows[] = {
	{ .name = "WHO", .flags = CMD_REGISTERED, .max_params = 2, .worker = worker_forward,
	  .master = m_who, .max_args = 2 },
	{ .name = "WHOIS", .flags = CMD_REGISTERED, .min_params = 1, .max_params = 2,
	  .worker = w_whois, .master = m_whois, .min_args = 1, .max_args = 1 },
	{ .name = "LUSERS", .flags = CMD_REGISTERED, .max_params = 2, .worker = worker_forward,
	  .master = m_lusers, .max_args = 2 },
	{ .name = "MOTD", .flags = CMD_REGISTERED, .max_params = 1, .worker = worker_forward,
	  .master = m_motd, .max_args = 1 },
	{ .name = "AWAY", .flags = CMD_REGISTERED, .max_params = 1, .worker = worker_forward,
	  .master = m_away, .max_args = 1 },
	{ .name = "ISON", .flags = CMD_REGISTERED, .min_params = 1, .worker = w_nick_list,
	  .master = m_ison, .max_args = IPC_REQ_ARGS },
	{ .name = "USERHOST", .flags = CMD_REGISTERED, .min_params = 1,
	  .worker = w_nick_list, .master = m_userhost, .max_args = IPC_REQ_ARGS },
	{ .name = "VERSION", .flags = CMD_REGISTERED, .max_params = 1, .worker = w_version },
	{ .name = "TIME", .flags = CMD_REGISTERED, .max_params = 1, .worker = w_time },
};

CMD_FAMILY(cmd_query, "queries", query_rows);
