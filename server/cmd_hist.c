/* cmd_hist: chat history's IRC side: what fan-out keeps, CHATHISTORY and
 * the replay on JOIN (IRCv3 draft/chathistory); the lines are history.c's */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cap.h"
#include "chanmode.h"
#include "clock.h"
#include "cmd_hist.h"
#include "conf.h"
#include "dirsvc.h"
#include "history.h"
#include "log.h"
#include "worker_io.h"

#define HIST_CONTEXT_MAX	(IRC_CHAN_MAX + 32)

/* a connection's identity for private history: never reused while the
 * master runs (a slot's generation grows with every client in it) */
static uint64_t
hist_uid(const struct dirsvc *ds, uint32_t slot)
{
	return (uint64_t)ds->dir.users[slot].gen << 32 | slot;
}

/* the stamp's time and msgid (irctags.h), or false for an unstamped line */
static bool
hist_stamp(const char *p, size_t len, int64_t *ms, char id[IRCTAGS_MSGID_LEN + 1])
{
	if (len <= IRCTAGS_STAMP_LEN || p[0] != '@' ||
	    !irctags_time_parse(p + 6, IRCTAGS_TIME_LEN, ms))
		return false;
	memcpy(id, p + IRCTAGS_STAMP_TIME_END + 7, IRCTAGS_MSGID_LEN);
	id[IRCTAGS_MSGID_LEN] = '\0';
	return true;
}

void
cmd_hist_record(struct dirsvc *ds, const struct ring_rec *rec, const struct dir_chan *c,
    uint32_t to)
{
	const char *p = ring_rec_payload(rec);
	char id[IRCTAGS_MSGID_LEN + 1];
	int64_t ms;
	int rc;

	/* PRIVMSG and NOTICE: TAGMSG (cap_need) is not kept */
	if (ds->history == NULL || !(rec->flags & RING_F_TAGGED) || rec->cap_need != 0 ||
	    rec->owner >= ds->dir.nslots || !hist_stamp(p, rec->payload_len, &ms, id))
		return;
	if (c != NULL)
		rc = history_add_chan(ds->history, c->key, ms, id, p, rec->payload_len);
	else if (to < ds->dir.nslots)
		rc = history_add_private(ds->history, hist_uid(ds, rec->owner),
		    ds->dir.users[rec->owner].nick, hist_uid(ds, to), ds->dir.users[to].nick, ms,
		    id, p, rec->payload_len);
	else
		return;
	if (rc < 0 && rc != -E2BIG)
		log_warnc(-rc, "a line could not be kept in the history");
}

/* the directory lets go of a client: its conversations go once the
 * other party has gone too */
static void
hist_user_gone(void *arg, uint32_t slot, uint32_t gen)
{
	struct dirsvc *ds = arg;

	if (ds->history != NULL)
		history_user_gone(ds->history, (uint64_t)gen << 32 | slot);
}

/* a channel made again later is someone else's: its past is not theirs */
static void
hist_chan_gone(void *arg, const struct dir_chan *c)
{
	struct dirsvc *ds = arg;

	if (ds->history != NULL)
		history_forget_chan(ds->history, c->key);
}

int
cmd_hist_setup(struct dirsvc *ds)
{
	const struct conf *cfg = ds->cfg;
	struct history_limits lim = { .lines = (uint32_t)cfg->history_lines,
	    .age_s = (uint32_t)cfg->history_age, .max_bytes = (uint64_t)cfg->history_memory };

	ds->dir.user_gone = hist_user_gone;
	ds->dir.chan_gone = hist_chan_gone;
	ds->dir.nick_gone_arg = ds;
	if (lim.lines == 0) {
		history_free(ds->history);
		ds->history = NULL;
		return 0;
	}
	if (ds->history != NULL) {
		history_set_limits(ds->history, &lim);
		return 0;
	}
	if ((ds->history = history_new(&lim)) == NULL) {
		log_warnx("out of memory: no chat history is kept");
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------ output */

/*
 * One kept line for a client: the tags it asked for (the stamp's time
 * for server-time, its msgid and the client's tags for message-tags),
 * batch first when in one; the rest of the line unchanged.
 */
static void
hist_put_line(struct reply *r, uint32_t caps, const char *batch, const char *p, size_t len)
{
	char buf[IRCTAGS_STAMP_LEN + IRCTAGS_CLIENT_MAX + IRC_MAXLINE + 64];
	const char *sp = memchr(p, ' ', len);
	size_t n = 0;

	if (sp == NULL || len <= IRCTAGS_STAMP_LEN || len >= sizeof buf - 40)
		return;
	buf[n++] = '@';
	if (batch != NULL)
		n += snprintf(buf + n, sizeof buf - n, "batch=%s;", batch);
	if (caps & CAP_SERVER_TIME) {
		memcpy(buf + n, p + 1, IRCTAGS_STAMP_TIME_END - 1);
		n += IRCTAGS_STAMP_TIME_END - 1;
		buf[n++] = ';';
	}
	if (caps & CAP_MESSAGE_TAGS) {
		size_t k = sp - (p + IRCTAGS_STAMP_TIME_END + 1);
		memcpy(buf + n, p + IRCTAGS_STAMP_TIME_END + 1, k);
		n += k;
		buf[n++] = ';';
	}
	if (n == 1)
		n = 0;		/* no tags at all */
	else
		buf[n - 1] = ' ';
	memcpy(buf + n, sp + 1, len - (sp + 1 - p));
	n += len - (sp + 1 - p);
	r->put(r, buf, n);
}

/* a client without server-time: the time goes in front of the text */
static void
hist_put_marked(struct reply *r, const char *batch, int64_t ms, const char *p, size_t len)
{
	static struct irc_msg m;	/* large: not on the master's stack */
	const char *sp = memchr(p, ' ', len);
	char when[32], text[IRC_MAXLINE + 48], line[IRC_MAXLINE + 1];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	/* the kept line ends in CR LF (history.h): not part of the text */
	if (sp == NULL || irc_parse(&m, sp + 1, len - (sp + 1 - p) - 2) != IRC_PARSE_OK ||
	    m.nparams < 2 || m.prefix == NULL)
		return;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "[%Y-%m-%d %H:%M:%S UTC]", &tm);
	const char *body = m.params[1];
	if (strncmp(body, "\001ACTION ", 8) == 0)
		snprintf(text, sizeof text, "\001ACTION %s %s", when, body + 8);
	else
		snprintf(text, sizeof text, "%s %s", when, body);
	if (batch != NULL)
		n = irc_fmt(line, sizeof line, "@batch=%s :%s %s %s :%s", batch, m.prefix,
		    m.command, m.params[0], text);
	else
		n = irc_fmt(line, sizeof line, ":%s %s %s :%s", m.prefix, m.command, m.params[0],
		    text);
	r->put(r, line, n);
}

static void
hist_put_batch(struct dirsvc *ds, struct reply *r, uint32_t caps, const char *type,
    const char *target, const struct history_line *lines, size_t n, bool mark)
{
	char id[16];
	const char *batch = NULL;

	if (caps & CAP_BATCH) {
		snprintf(id, sizeof id, "h%u", ++ds->batch_next);
		batch = id;
		reply_line(r, ":%s BATCH +%s %s %s", r->server, id, type, target);
	}
	for (size_t i = 0; i < n; i++)
		if (mark && !(caps & CAP_SERVER_TIME))
			hist_put_marked(r, batch, lines[i].ms, lines[i].line, lines[i].len);
		else
			hist_put_line(r, caps, batch, lines[i].line, lines[i].len);
	if (batch != NULL)
		reply_line(r, ":%s BATCH -%s", r->server, id);
}

/* --------------------------------------------------------- the replay */

void
cmd_hist_join_replay(struct dirsvc *ds, struct reply *r, const struct dir_chan *c,
    uint32_t slot)
{
	uint32_t caps = ds->dir.users[slot].caps, n = (uint32_t)ds->cfg->join_replay_lines;
	struct history_ref none = { .kind = HISTORY_REF_NONE };
	struct history_target *t;
	struct history_line *lines;
	size_t got;

	/* a chathistory client asks for what it wants */
	if (n == 0 || ds->history == NULL || (caps & CAP_CHATHISTORY) ||
	    (t = history_chan(ds->history, c->key)) == NULL)
		return;
	if ((lines = calloc(n, sizeof *lines)) == NULL)
		return;
	got = history_select(ds->history, t, HISTORY_LATEST, &none, NULL, n, lines);
	if (got > 0)
		hist_put_batch(ds, r, caps, "chathistory", c->name, lines, got, true);
	free(lines);
}

/* ------------------------------------------------------- CHATHISTORY */

/* "*", "timestamp=...", "msgid=..."; false when it is none of them */
static bool
hist_ref_parse(const char *s, bool star_ok, struct history_ref *ref)
{
	memset(ref, 0, sizeof *ref);
	if (strcmp(s, "*") == 0) {
		ref->kind = HISTORY_REF_NONE;
		return star_ok;
	}
	if (strncmp(s, "timestamp=", 10) == 0) {
		ref->kind = HISTORY_REF_TIME;
		return irctags_time_parse(s + 10, strlen(s + 10), &ref->ms);
	}
	if (strncmp(s, "msgid=", 6) == 0 && s[6] != '\0' &&
	    strlen(s + 6) <= IRCTAGS_MSGID_LEN) {
		ref->kind = HISTORY_REF_MSGID;
		snprintf(ref->msgid, sizeof ref->msgid, "%s", s + 6);
		return true;
	}
	return false;
}

static bool
hist_limit_parse(struct dirsvc *ds, const char *s, size_t *limit)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1)
		return false;
	*limit = v > ds->cfg->chathistory_max ? (size_t)ds->cfg->chathistory_max : (size_t)v;
	return true;
}

/* the history slot may read for target: a channel it is in (and not banned
 * from), or its own conversation with a nick; NULL with *denied when it
 * may not, NULL alone when there is none */
static struct history_target *
hist_target(struct dirsvc *ds, uint32_t slot, const char *target, bool *denied)
{
	char key[IRC_NICK_MAX + 1], nuh[IRC_MASK_MAX + 1];

	*denied = false;
	if (target[0] == '#') {
		const struct dir_chan *c = dir_chan_find(&ds->dir, target);
		const struct dir_member *m = c != NULL ? dir_member_get(c, slot) : NULL;
		/* unknown and forbidden look alike: secret channels stay secret */
		if (m == NULL) {
			*denied = true;
			return NULL;
		}
		dirsvc_prefix(&ds->dir.users[slot], nuh, sizeof nuh);
		if (!(m->flags & (DIR_MEMBER_OP | DIR_MEMBER_VOICE)) &&
		    c->lists[DIR_LIST_BAN].n > 0 && chanmode_banned(c, nuh)) {
			*denied = true;
			return NULL;
		}
		return history_chan(ds->history, c->key);
	}
	if (!irc_nick_valid(target, IRC_NICK_MAX) || irc_casefold(key, sizeof key, target) < 0) {
		*denied = true;
		return NULL;
	}
	int other = dir_nick_find(&ds->dir, target);
	return history_private(ds->history, hist_uid(ds, slot),
	    other >= 0 ? hist_uid(ds, (uint32_t)other) : 0, key);
}

/* TARGETS a b limit: the channels slot is in and its conversations with
 * a line between the two times, oldest latest line first */
static int
hist_targets(struct dirsvc *ds, struct reply *r, const struct cmd_req *q, size_t limit,
    int64_t a, int64_t b)
{
	const struct dir_user *u = &ds->dir.users[q->slot];
	int64_t lo = a < b ? a : b, hi = a < b ? b : a;
	size_t cap = limit + u->nchans, n;
	struct history_target_info *v = calloc(cap > 0 ? cap : 1, sizeof *v);
	char id[16];

	if (v == NULL) {
		reply_standard(r, "FAIL", "CHATHISTORY", "MESSAGE_ERROR", "TARGETS",
		    "Out of memory");
		return CMD_FAILED;
	}
	n = history_private_targets(ds->history, hist_uid(ds, q->slot), a, b, limit, v);
	for (uint32_t i = 0; i < u->nchans; i++) {
		const struct dir_chan *c = dir_chan_get(&ds->dir, u->chans[i]);
		int64_t t = c != NULL ? history_chan_latest(ds->history, c->key) : 0;
		if (t > lo && t < hi)
			v[n++] = (struct history_target_info){ c->name, t };
	}
	/* by time, then the first limit of them */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j].latest_ms < v[j - 1].latest_ms; j--) {
			struct history_target_info x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	if (n > limit)
		n = limit;
	bool batch = u->caps & CAP_BATCH;
	if (batch) {
		snprintf(id, sizeof id, "h%u", ++ds->batch_next);
		reply_line(r, ":%s BATCH +%s draft/chathistory-targets", r->server, id);
	}
	for (size_t i = 0; i < n; i++) {
		char when[IRCTAGS_TIME_LEN + 1];
		irctags_time_fmt(when, v[i].latest_ms);
		reply_line(r, "%s%s%s:%s CHATHISTORY TARGETS %s timestamp=%s", batch ? "@batch=" : "",
		    batch ? id : "", batch ? " " : "", r->server, v[i].name, when);
	}
	if (batch)
		reply_line(r, ":%s BATCH -%s", r->server, id);
	free(v);
	return CMD_OK;
}

/*
 * CHATHISTORY LATEST|BEFORE|AFTER|AROUND target ref limit,
 * BETWEEN target ref ref limit, TARGETS ref ref limit. Errors are IRCv3
 * standard replies (FAIL CHATHISTORY code subcommand ...).
 */
static int
m_chathistory(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	static const struct {
		const char *name;
		enum history_sel sel;
		int nargs;
	} subs[] = {
		{ "LATEST", HISTORY_LATEST, 4 }, { "BEFORE", HISTORY_BEFORE, 4 },
		{ "AFTER", HISTORY_AFTER, 4 }, { "AROUND", HISTORY_AROUND, 4 },
		{ "BETWEEN", HISTORY_BETWEEN, 5 }, { "TARGETS", HISTORY_LATEST, 4 },
	};
	const char *sub = q->nargs > 0 ? q->args[0] : "";
	char ctx[HIST_CONTEXT_MAX];
	struct history_ref a, b;
	size_t limit, k = 0;

	while (k < sizeof subs / sizeof *subs && strcasecmp(subs[k].name, sub) != 0)
		k++;
	if (q->nargs == 0) {
		reply_standard(r, "FAIL", "CHATHISTORY", "NEED_MORE_PARAMS", NULL,
		    "Missing parameters");
		return CMD_FAILED;
	}
	if (k == sizeof subs / sizeof *subs) {
		reply_standard(r, "FAIL", "CHATHISTORY", "UNKNOWN_COMMAND", sub, "Unknown command");
		return CMD_FAILED;
	}
	sub = subs[k].name;
	if (q->nargs < subs[k].nargs) {
		reply_standard(r, "FAIL", "CHATHISTORY", "NEED_MORE_PARAMS", sub,
		    "Missing parameters");
		return CMD_FAILED;
	}
	if (ds->history == NULL) {
		reply_standard(r, "FAIL", "CHATHISTORY", "MESSAGE_ERROR", sub,
		    "This server keeps no history");
		return CMD_FAILED;
	}
	if (strcmp(sub, "TARGETS") == 0) {
		if (!hist_ref_parse(q->args[1], false, &a) || a.kind != HISTORY_REF_TIME ||
		    !hist_ref_parse(q->args[2], false, &b) || b.kind != HISTORY_REF_TIME ||
		    !hist_limit_parse(ds, q->args[3], &limit)) {
			reply_standard(r, "FAIL", "CHATHISTORY", "INVALID_PARAMS", sub,
			    "Invalid timestamps or limit");
			return CMD_FAILED;
		}
		return hist_targets(ds, r, q, limit, a.ms, b.ms);
	}
	const char *target = q->args[1];
	snprintf(ctx, sizeof ctx, "%s %s", sub, target);
	if (!hist_ref_parse(q->args[2], subs[k].sel == HISTORY_LATEST, &a) ||
	    (subs[k].sel == HISTORY_BETWEEN && (!hist_ref_parse(q->args[3], false, &b))) ||
	    !hist_limit_parse(ds, q->args[subs[k].nargs - 1], &limit)) {
		reply_standard(r, "FAIL", "CHATHISTORY", "INVALID_PARAMS", ctx,
		    "Invalid message reference or limit");
		return CMD_FAILED;
	}
	bool denied;
	struct history_target *t = hist_target(ds, q->slot, target, &denied);
	if (denied) {
		reply_standard(r, "FAIL", "CHATHISTORY", "INVALID_TARGET", ctx,
		    "Messages could not be retrieved");
		return CMD_FAILED;
	}
	struct history_line *lines = calloc(limit, sizeof *lines);
	if (lines == NULL) {
		reply_standard(r, "FAIL", "CHATHISTORY", "MESSAGE_ERROR", ctx, "Out of memory");
		return CMD_FAILED;
	}
	size_t n = t != NULL ? history_select(ds->history, t, subs[k].sel, &a, &b, limit,
	    lines) : 0;
	/* none kept, or none in the range: an empty batch, as the spec says */
	hist_put_batch(ds, r, ds->dir.users[q->slot].caps, "chathistory", target, lines, n,
	    false);
	free(lines);
	return CMD_OK;
}

static const struct cmd_row hist_rows[] = {
	{ .name = "CHATHISTORY", .flags = CMD_REGISTERED, .max_params = 5,
	  .worker = worker_forward, .master = m_chathistory, .max_args = 5 },
};

CMD_FAMILY(cmd_hist, "history", hist_rows);
