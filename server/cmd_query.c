/* cmd_query: questions about the network, both halves */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap.h"
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

static enum cmd_result
w_whowas(struct worker *w, const struct irc_msg *m)
{
	/* WHOWAS nick[,nick] [count]: the first nick, as WHOIS */
	char nick[IRC_MAXLINE];
	const char *args[2] = { nick, m->nparams > 1 ? m->params[1] : "0" };

	snprintf(nick, sizeof nick, "%s", m->nparams > 0 ? m->params[0] : "");
	nick[strcspn(nick, ", ")] = '\0';
	if (nick[0] == '\0') {
		RPL(&w->rpl, ERR_NONICKNAMEGIVEN);
		return CMD_DONE;
	}
	worker_request(w, "WHOWAS", args, 2);
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

	uint32_t servers = ds->servers > 0 ? ds->servers : 1;

	RPL(r, RPL_LUSERCLIENT, d->nregistered - d->ninvisible, d->ninvisible, servers);
	if (d->nopers > 0)	/* like Solanum: only when there are any */
		RPL(r, RPL_LUSEROP, d->nopers);
	if (unknown > 0)
		RPL(r, RPL_LUSERUNKNOWN, unknown);
	RPL(r, RPL_LUSERCHANNELS, d->nchannels);
	/* in a cluster, the other nodes are the servers this one knows */
	RPL(r, RPL_LUSERME, d->nlocal_registered, servers - 1);
	RPL(r, RPL_LOCALUSERS, d->nlocal_registered, d->max_local_registered,
	    d->nlocal_registered, d->max_local_registered);
	RPL(r, RPL_GLOBALUSERS, d->nregistered, d->max_registered, d->nregistered,
	    d->max_registered);
}

void
cmd_query_isupport(struct dirsvc *ds, struct reply *r)
{
	const struct conf *cfg = ds->cfg;
	char isupport[400];

	snprintf(isupport, sizeof isupport, "AWAYLEN=%d CASEMAPPING=" SHMCHAT_CASEMAPPING
	    " CHANLIMIT=#:%d CHANNELLEN=%d CHANTYPES=" SHMCHAT_CHANTYPES " ELIST=MNU"
	    " KEYLEN=%d KICKLEN=%d MAXLIST=beI:%d NETWORK=%s NICKLEN=%d TOPICLEN=%d",
	    cfg->away_len, cfg->max_channels_per_client, cfg->channel_len, IRC_KEY_MAX,
	    cfg->topic_len, cfg->max_list_entries, cfg->network, cfg->nick_len,
	    cfg->topic_len);
	RPL(r, RPL_ISUPPORT, isupport);
	if (ds->history != NULL) {
		/* IRCv3 draft/chathistory: the most lines one request gets */
		snprintf(isupport, sizeof isupport, "CHATHISTORY=%d MSGREFTYPES=msgid,timestamp",
		    cfg->chathistory_max);
		RPL(r, RPL_ISUPPORT, isupport);
	}
	RPL(r, RPL_ISUPPORT, CHANMODE_ISUPPORT);
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

/*
 * The optional target of ADMIN, INFO and VERSION: this server (by name or
 * a mask matching it) or a client on it; anything else is a server that
 * does not exist here (402).
 */
static bool
query_target_ok(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	int slot;

	if (q->nargs == 0 || q->args[0][0] == '\0' ||
	    irc_mask_match(q->args[0], ds->cfg->server_name) ||
	    ((slot = dir_nick_find(&ds->dir, q->args[0])) >= 0 &&
	    ds->dir.users[slot].state == DIR_REGISTERED))
		return true;
	RPL(r, ERR_NOSUCHSERVER, q->args[0]);
	return false;
}

/* a time as ctime() writes it, "Sun Dec  6 20:15:00 2026" (WHOWAS, INFO) */
static void
query_ctime(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

static int
m_version(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	if (!query_target_ok(ds, r, q))
		return CMD_FAILED;
	RPL(r, RPL_VERSION, "shmchat-" PACKAGE_VERSION, ds->cfg->server_name,
	    ds->cfg->description);
	cmd_query_isupport(ds, r);
	return CMD_OK;
}

/* RFC 2812 3.4.9: where the server is, who runs it, how to reach them */
static int
m_admin(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const struct conf *cfg = ds->cfg;

	if (!query_target_ok(ds, r, q))
		return CMD_FAILED;
	/* as ngircd: every line is sent, an unset one empty */
	RPL(r, RPL_ADMINME, cfg->server_name);
	RPL(r, RPL_ADMINLOC1, cfg->admin_location ? cfg->admin_location : cfg->description);
	RPL(r, RPL_ADMINLOC2, cfg->admin_description ? cfg->admin_description : "");
	RPL(r, RPL_ADMINEMAIL, cfg->admin_email ? cfg->admin_email : "");
	return CMD_OK;
}

#if defined(__clang__)
#define QUERY_COMPILER	"clang " __clang_version__
#elif defined(__GNUC__)
#define QUERY_COMPILER	"gcc " __VERSION__
#else
#define QUERY_COMPILER	"an unknown C compiler"
#endif

static int
m_info(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	static const char *const about[] = {
		"shmchat-" PACKAGE_VERSION ", an IRC server",
		"Every client has a process of its own; messages go through",
		"one ring in shared memory, which the master fans out.",
		"Configured on " SHMCHAT_BUILD_DATE ", compiled with " QUERY_COMPILER ".",
	};
	char line[128], when[64];

	if (!query_target_ok(ds, r, q))
		return CMD_FAILED;
	for (size_t i = 0; i < sizeof about / sizeof *about; i++)
		RPL(r, RPL_INFO, about[i]);
	query_ctime(ds->started, when, sizeof when);
	snprintf(line, sizeof line, "On-line since %s", when);
	RPL(r, RPL_INFO, line);
	RPL(r, RPL_ENDOFINFO);
	return CMD_OK;
}

/* entries one WHOWAS shows at most, whatever count it asks for */
#define QUERY_WHOWAS_MAX	20

/* WHOWAS nick count: the newest entries first, at most count of them
 * (RFC 2812: a count <= 0 asks for all) and never more than the bound */
static int
m_whowas(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const char *nick = q->args[0];
	long count = q->nargs > 1 ? strtol(q->args[1], NULL, 10) : 0;
	const struct whowas_entry *e = NULL;
	char when[64];
	long shown = 0;

	if (count <= 0 || count > QUERY_WHOWAS_MAX)
		count = QUERY_WHOWAS_MAX;
	while (shown < count && (e = whowas_find(&ds->whowas, nick, e)) != NULL) {
		RPL(r, RPL_WHOWASUSER, e->nick, e->user, e->host, e->realname);
		query_ctime(e->at, when, sizeof when);
		RPL(r, RPL_WHOISSERVER, e->nick, e->server, when);
		shown++;
	}
	if (shown == 0)
		RPL(r, ERR_WASNOSUCHNICK, nick);
	RPL(r, RPL_ENDOFWHOWAS, nick);
	return shown > 0 ? CMD_OK : CMD_FAILED;
}

/* WHO's flags: H (here) or G (gone, away), * for an operator, then the
 * prefix in the channel (m, or NULL) */
static void
query_who_flags(const struct dir_user *u, const struct dir_member *m, bool all, char *out,
    size_t cap)
{
	snprintf(out, cap, "%c%s%s", u->away ? 'G' : 'H',
	    (u->umodes & DIR_UMODE_OPER) ? "*" : "", m != NULL ? chanmode_prefixes(m, all) : "");
}

/* 352 for u in chan (m: its membership there, or NULL) */
static void
query_who_one(struct dirsvc *ds, struct reply *r, const char *chan, const struct dir_user *u,
    const struct dir_member *m, uint32_t viewer)
{
	char flags[8];

	query_who_flags(u, m, ds->dir.users[viewer].caps & CAP_MULTI_PREFIX, flags, sizeof flags);
	RPL(r, RPL_WHOREPLY, chan, u->user, u->host,
	    dirsvc_server_of(ds, (uint32_t)(u - ds->dir.users)), u->nick, flags, u->realname);
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
		query_who_one(ds, r, c->name, u, &c->members[i], viewer);
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
				query_who_one(ds, r, "*", u, NULL, q->slot);
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
	RPL(r, RPL_WHOISSERVER, u->nick, dirsvc_server_of(ds, (uint32_t)slot),
	    ds->cfg->description);
	if (u->umodes & DIR_UMODE_OPER)
		RPL(r, RPL_WHOISOPERATOR, u->nick);
	if (u->away)
		RPL(r, RPL_AWAY, u->nick, u->away);
	REPLY_LIST_START(&l, r, RPL_WHOISCHANNELS, u->nick);
	for (uint32_t i = 0; i < u->nchans; i++) {
		const struct dir_chan *c = dir_chan_get(d, u->chans[i]);
		/* secret and private channels only to those who are in them */
		if (c == NULL || ((c->modes & (DIR_CMODE_SECRET | DIR_CMODE_PRIVATE)) &&
		    (uint32_t)slot != q->slot && !dir_is_member(d, c->id, q->slot)))
			continue;
		reply_list_add(&l, chanmode_prefixes(dir_member_get(c, (uint32_t)slot),
		    ds->dir.users[q->slot].caps & CAP_MULTI_PREFIX), c->name);
	}
	reply_list_end(&l);
	if (u->tls)
		RPL(r, RPL_WHOISSECURE, u->nick);
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
	/* IRCv3 away-notify: those who share a channel and asked for it */
	const struct dir_user *u = &ds->dir.users[q->slot];
	char pfx[IRC_MASK_MAX + 1], line[IRC_MAXLINE + 1];
	size_t n;
	dirsvc_prefix(u, pfx, sizeof pfx);
	if (u->away != NULL)
		n = irc_fmt(line, sizeof line, ":%s AWAY :%s", pfx, u->away);
	else
		n = irc_fmt(line, sizeof line, ":%s AWAY", pfx);
	dirsvc_emit_peers(ds, q->slot, false, CAP_AWAY_NOTIFY, NULL, line, n);
	return CMD_OK;
}

/* ISON: the nicks present; USERHOST: nick[*]=+user@host of (at most 5), * for an operator */
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
			len += snprintf(list + len, sizeof list - len, "%s%s%s=%c%s@%s",
			    len ? " " : "", u->nick, (u->umodes & DIR_UMODE_OPER) ? "*" : "",
			    u->away ? '-' : '+', u->user, u->host);
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
	{ .name = "AWAY", .flags = CMD_REGISTERED | CMD_REPLICATE, .max_params = 1, .worker = worker_forward,
	  .master = m_away, .max_args = 1 },
	{ .name = "ISON", .flags = CMD_REGISTERED, .min_params = 1, .worker = w_nick_list,
	  .master = m_ison, .max_args = IPC_REQ_ARGS },
	{ .name = "USERHOST", .flags = CMD_REGISTERED, .min_params = 1,
	  .worker = w_nick_list, .master = m_userhost, .max_args = IPC_REQ_ARGS },
	{ .name = "VERSION", .flags = CMD_REGISTERED, .max_params = 1, .worker = worker_forward,
	  .master = m_version, .max_args = 1 },
	{ .name = "TIME", .flags = CMD_REGISTERED, .max_params = 1, .worker = w_time },
	{ .name = "WHOWAS", .flags = CMD_REGISTERED, .max_params = 2, .worker = w_whowas,
	  .master = m_whowas, .min_args = 1, .max_args = 2 },
	{ .name = "ADMIN", .flags = CMD_REGISTERED, .max_params = 1, .worker = worker_forward,
	  .master = m_admin, .max_args = 1 },
	{ .name = "INFO", .flags = CMD_REGISTERED, .max_params = 1, .worker = worker_forward,
	  .master = m_info, .max_args = 1 },
};

CMD_FAMILY(cmd_query, "queries", query_rows);
