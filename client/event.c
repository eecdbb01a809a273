/* event: classification of IRC lines into events; numeric reply table */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "irctags.h"

/* below the template machinery it uses */
static void list_entry(struct event *ev, const struct irc_msg *m);

/*
 * Numeric replies we know, with a template for their text: $N is param N
 * (param 0 is our nick), $- the last param, $*N params N to the last
 * joined with spaces, $tN param N as a date (Unix time); or a function
 * for what a template cannot say. EV_NONE rows are shown as nothing (ends
 * of lists, capability lists). A numeric not in the table is shown raw;
 * an unlisted 4xx/5xx one as an error in generic form. Errors a person
 * may meet are worded here rather than left to the server.
 */
static const struct numeric_row {
	const char *num;
	enum event_type type;
	const char *tmpl;
	void (*fn)(struct event *ev, const struct irc_msg *m);
} numeric_rows[] = {
	{ "001", EV_SERVER, "$-", NULL },
	{ "002", EV_SERVER, "$-", NULL },
	{ "003", EV_SERVER, "$-", NULL },
	{ "004", EV_NONE, NULL, NULL },
	{ "005", EV_NONE, NULL, NULL },
	{ "221", EV_SERVER, "Your user mode is $*1", NULL },
	{ "250", EV_SERVER, "$-", NULL },
	{ "251", EV_SERVER, "$-", NULL },
	{ "252", EV_SERVER, "$1 $-", NULL },
	{ "253", EV_SERVER, "$1 $-", NULL },
	{ "254", EV_SERVER, "$1 $-", NULL },
	{ "255", EV_SERVER, "$-", NULL },
	{ "265", EV_SERVER, "$-", NULL },
	{ "266", EV_SERVER, "$-", NULL },
	{ "301", EV_SERVER, "$1 is away: $-", NULL },
	{ "305", EV_SERVER, "$-", NULL },
	{ "306", EV_SERVER, "$-", NULL },
	{ "311", EV_SERVER, "$1 is $2@$3 ($-)", NULL },
	{ "312", EV_SERVER, "$1 is on $2 ($-)", NULL },
	{ "313", EV_SERVER, "$1 $-", NULL },
	{ "314", EV_SERVER, "$1 was $2@$3 ($-)", NULL },
	{ "315", EV_NONE, NULL, NULL },
	{ "317", EV_SERVER, "$1 has been idle $2 seconds", NULL },
	{ "318", EV_NONE, NULL, NULL },
	{ "319", EV_SERVER, "$1 is on $-", NULL },
	{ "321", EV_NONE, NULL, NULL },
	{ "322", EV_SERVER, "$1 ($2 users): $-", NULL },
	{ "323", EV_NONE, NULL, NULL },
	{ "324", EV_SERVER, "Modes of $1: $*2", NULL },
	{ "329", EV_SERVER, "$1 was created on $t2", NULL },
	{ "330", EV_SERVER, "$1 is logged in as $2", NULL },
	{ "331", EV_SERVER, "$1 has no topic", NULL },
	{ "332", EV_TOPIC_IS, NULL, NULL },
	{ "333", EV_SERVER, "Topic of $1 set by $2", NULL },
	{ "341", EV_SERVER, "Inviting $1 to $2", NULL },
	{ "346", EV_SERVER, NULL, list_entry },
	{ "347", EV_SERVER, "End of the invite list of $1", NULL },
	{ "348", EV_SERVER, NULL, list_entry },
	{ "349", EV_SERVER, "End of the ban exception list of $1", NULL },
	{ "351", EV_SERVER, "$1 $2 $-", NULL },
	{ "352", EV_SERVER, "$1 $5 ($2@$3) $6 $-", NULL },
	{ "353", EV_SERVER, "Users on $2: $-", NULL },
	{ "366", EV_NONE, NULL, NULL },
	{ "367", EV_SERVER, NULL, list_entry },
	{ "368", EV_SERVER, "End of the ban list of $1", NULL },
	{ "369", EV_NONE, NULL, NULL },
	{ "371", EV_SERVER, "$-", NULL },
	{ "372", EV_SERVER, "$-", NULL },
	{ "374", EV_NONE, NULL, NULL },
	{ "375", EV_SERVER, "$-", NULL },
	{ "376", EV_NONE, NULL, NULL },
	{ "378", EV_SERVER, "$1 $-", NULL },
	{ "381", EV_SERVER, "$-", NULL },
	{ "391", EV_SERVER, "Time on $1: $-", NULL },
	{ "396", EV_SERVER, "$1 $-", NULL },
	{ "422", EV_SERVER, "$-", NULL },	/* no MOTD: not worth calling an error */
	{ "441", EV_ERROR, "$1 is not on $2", NULL },
	{ "442", EV_ERROR, "You are not on $1", NULL },
	{ "443", EV_ERROR, "$1 is already on $2", NULL },
	{ "464", EV_ERROR, "Password incorrect", NULL },
	{ "471", EV_ERROR, "Cannot join $1: the channel is full (+l)", NULL },
	{ "472", EV_ERROR, "Unknown mode $1", NULL },
	{ "473", EV_ERROR, "Cannot join $1: invite only (+i), an operator must /invite you", NULL },
	{ "474", EV_ERROR, "Cannot join $1: you are banned (+b)", NULL },
	{ "475", EV_ERROR, "Cannot join $1: wrong or missing key (+k), /join $1 KEY", NULL },
	{ "481", EV_ERROR, "Permission denied: you are not an IRC operator", NULL },
	{ "482", EV_ERROR, "$1: you are not a channel operator", NULL },
	{ "491", EV_ERROR, "You cannot become an IRC operator from this host", NULL },
};

/* append s to the event's text buffer */
static void
put(struct event *ev, size_t *n, const char *s, size_t len)
{
	size_t room = sizeof ev->textb - 1 - *n;

	if (len > room)
		len = irc_utf8_cut(s, room);
	memcpy(ev->textb + *n, s, len);
	*n += len;
	ev->textb[*n] = '\0';
}

/* a Unix time from the server as a local date; anything else as it came */
static void
put_date(struct event *ev, size_t *n, const char *s)
{
	char date[64];
	char *end;
	long long v;
	time_t t;
	struct tm tm;

	errno = 0;
	v = strtoll(s, &end, 10);
	t = (time_t)v;
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || (long long)t != v ||
	    localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm) == 0) {
		put(ev, n, s, strlen(s));
		return;
	}
	put(ev, n, date, strlen(date));
}

static void
put_str(struct event *ev, size_t *n, const char *s)
{
	put(ev, n, s, strlen(s));
}

static void
expand(struct event *ev, const struct irc_msg *m, const char *tmpl)
{
	size_t n = 0;
	const char *p;

	ev->textb[0] = '\0';
	for (p = tmpl; *p != '\0'; p++) {
		const char *s;

		if (p[0] == '$' && p[1] == '-') {
			s = irc_last(m);
			p++;
		} else if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
			s = irc_param(m, p[1] - '0');
			p++;
		} else if (p[0] == '$' && p[1] == '*' && p[2] >= '0' && p[2] <= '9') {
			for (int i = p[2] - '0'; i < m->nparams; i++) {
				if (i > p[2] - '0')
					put(ev, &n, " ", 1);
				put(ev, &n, m->params[i], strlen(m->params[i]));
			}
			p += 2;
			continue;
		} else if (p[0] == '$' && p[1] == 't' && p[2] >= '0' && p[2] <= '9') {
			put_date(ev, &n, irc_param(m, p[2] - '0'));
			p += 2;
			continue;
		} else {
			put(ev, &n, p, 1);
			continue;
		}
		put(ev, &n, s, strlen(s));
	}
	ev->text = ev->textb;
}

/* 367/346/348 "#c mask [setter [time]]": "Ban on #c: mask (set by op on ...)" */
static void
list_entry(struct event *ev, const struct irc_msg *m)
{
	const char *what = !strcmp(m->command, "367") ? "Ban on " :
	    !strcmp(m->command, "346") ? "Invite exception on " : "Ban exception on ";
	size_t n = 0;

	ev->textb[0] = '\0';
	put_str(ev, &n, what);
	put_str(ev, &n, irc_param(m, 1));
	put_str(ev, &n, ": ");
	put_str(ev, &n, irc_param(m, 2));
	if (m->nparams > 3) {
		put_str(ev, &n, " (set by ");
		put_str(ev, &n, irc_param(m, 3));
		if (m->nparams > 4) {
			put_str(ev, &n, " on ");
			put_date(ev, &n, irc_param(m, 4));
		}
		put_str(ev, &n, ")");
	}
	ev->text = ev->textb;
}

/* "p1 p2: last" without our nick, for numerics we have no template for */
static void
generic(struct event *ev, const struct irc_msg *m)
{
	size_t n = 0;
	int i;

	ev->textb[0] = '\0';
	for (i = 1; i < m->nparams - 1; i++) {
		if (i > 1)
			put(ev, &n, " ", 1);
		put(ev, &n, irc_param(m, i), strlen(irc_param(m, i)));
	}
	if (m->nparams > 2)
		put(ev, &n, ": ", 2);
	if (m->nparams > 1)
		put(ev, &n, irc_last(m), strlen(irc_last(m)));
	ev->text = ev->textb;
}

static void
set_raw(struct event *ev, const char *raw, size_t rawlen)
{
	size_t n = 0;

	ev->type = EV_RAW;
	ev->textb[0] = '\0';
	if (raw != NULL) {
		if (rawlen > 0 && raw[rawlen - 1] == '\r')
			rawlen--;
		put(ev, &n, raw, rawlen);
	}
	ev->text = ev->textb;
}

static void
numeric(struct event *ev, const struct irc_msg *m, const char *raw, size_t rawlen)
{
	size_t i;

	ev->numeric = m->command;
	for (i = 0; i < sizeof numeric_rows / sizeof numeric_rows[0]; i++) {
		const struct numeric_row *r = &numeric_rows[i];

		if (strcmp(r->num, m->command) != 0)
			continue;
		ev->type = r->type;
		if (r->type == EV_TOPIC_IS) {
			ev->from = NULL;
			ev->target = irc_param(m, 1);
			ev->text = irc_last(m);
		} else if (r->fn != NULL)
			r->fn(ev, m);
		else if (r->tmpl != NULL)
			expand(ev, m, r->tmpl);
		return;
	}
	if (m->command[0] == '4' || m->command[0] == '5') {
		ev->type = EV_ERROR;
		generic(ev, m);
		return;
	}
	set_raw(ev, raw, rawlen);
}

bool
event_tag_time(const char *tags, struct timespec *ts)
{
	struct irctag t;
	int64_t ms;

	if (tags == NULL || !irctags_get(tags, strlen(tags), "time", &t) ||
	    !irctags_time_parse(t.val, t.val_len, &ms))
		return false;
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
	return true;
}

/* the msgid tag into ev->msgid, when there is one that fits */
static void
tag_msgid(struct event *ev, const char *tags)
{
	struct irctag t;

	if (tags == NULL || !irctags_get(tags, strlen(tags), "msgid", &t) ||
	    irctags_unescape(ev->msgid, sizeof ev->msgid, t.val, t.val_len) < 0)
		ev->msgid[0] = '\0';
}

/*
 * Standard replies: FAIL/WARN/NOTE <command> <code> [context...] :text.
 * "CHATHISTORY: text (INVALID_TARGET #c)"; FAIL is an error.
 */
static void
standard_reply(struct event *ev, const struct irc_msg *m)
{
	size_t n = 0;
	const char *cmd = irc_param(m, 0);

	ev->type = m->command[0] == 'F' ? EV_ERROR : EV_SERVER;
	ev->textb[0] = '\0';
	if (m->command[0] == 'W')
		put_str(ev, &n, "Warning: ");
	if (cmd[0] != '\0' && strcmp(cmd, "*") != 0) {
		put_str(ev, &n, cmd);
		put_str(ev, &n, ": ");
	}
	put_str(ev, &n, irc_last(m));
	if (m->nparams > 2) {
		put_str(ev, &n, " (");
		for (int i = 1; i < m->nparams - 1; i++) {
			if (i > 1)
				put_str(ev, &n, " ");
			put_str(ev, &n, irc_param(m, i));
		}
		put_str(ev, &n, ")");
	}
	ev->text = ev->textb;
}

bool
event_is_channel(const char *name)
{
	return name != NULL && name[0] != '\0' && strchr("#&+!", name[0]) != NULL;
}

/* a message's text: CTCP requests are \1CMD args\1 */
static void
message(struct event *ev, const struct irc_msg *m, bool notice)
{
	const char *text = irc_param(m, 1);
	size_t len = strlen(text), n = 0;

	ev->target = irc_param(m, 0);
	ev->priv = !event_is_channel(ev->target);
	ev->type = notice ? EV_NOTICE : EV_MESSAGE;
	ev->text = text;
	if (len < 2 || text[0] != '\001')
		return;
	text++;
	len--;
	if (text[len - 1] == '\001')
		len--;
	if (!notice && len >= 6 && !strncasecmp(text, "ACTION", 6) &&
	    (len == 6 || text[6] == ' ')) {
		ev->type = EV_ACTION;
		text += len > 6 ? 7 : 6;
		len -= len > 6 ? 7 : 6;
	} else if (!notice) {
		const char *sp = memchr(text, ' ', len);

		ev->type = EV_CTCP;
		if (sp != NULL)
			len = (size_t)(sp - text);
	}
	put(ev, &n, text, len);
	ev->text = ev->textb;
}

void
event_from_msg(struct event *ev, const struct irc_msg *m, const char *mynick,
    const char *raw, size_t rawlen)
{
	const char *cmd = m->command;
	const char *bang;

	memset(ev, 0, offsetof(struct event, fromb));
	ev->fromb[0] = ev->textb[0] = '\0';
	ev->type = EV_NONE;
	if (!event_tag_time(m->tags, &ev->time))
		clock_gettime(CLOCK_REALTIME, &ev->time);
	tag_msgid(ev, m->tags);

	if (m->prefix != NULL) {
		bang = strchr(m->prefix, '!');
		if (bang != NULL) {
			size_t n = (size_t)(bang - m->prefix);

			if (n >= sizeof ev->fromb)
				n = sizeof ev->fromb - 1;
			memcpy(ev->fromb, m->prefix, n);
			ev->fromb[n] = '\0';
			ev->from = ev->fromb;
			ev->userhost = bang + 1;
		} else
			ev->from = m->prefix;
		ev->self = mynick != NULL && !irc_casecmp(ev->from, mynick);
	}

	if (cmd[0] >= '0' && cmd[0] <= '9') {
		numeric(ev, m, raw, rawlen);
		return;
	}
	if (!strcmp(cmd, "PRIVMSG") || !strcmp(cmd, "NOTICE")) {
		bool notice = cmd[0] == 'N';

		if (m->nparams < 2) {
			set_raw(ev, raw, rawlen);
			return;
		}
		message(ev, m, notice);
		/* a notice from a server, not a person (no nick!user@host) */
		if (notice && (m->prefix == NULL || ev->userhost == NULL))
			ev->type = EV_SERVER;
		return;
	}
	if (!strcmp(cmd, "JOIN") && m->nparams >= 1) {
		ev->type = EV_JOIN;
		ev->target = irc_param(m, 0);
	} else if (!strcmp(cmd, "PART") && m->nparams >= 1) {
		ev->type = EV_PART;
		ev->target = irc_param(m, 0);
		ev->text = m->nparams >= 2 ? irc_param(m, 1) : NULL;
	} else if (!strcmp(cmd, "QUIT")) {
		ev->type = EV_QUIT;
		ev->text = m->nparams >= 1 ? irc_param(m, 0) : NULL;
	} else if (!strcmp(cmd, "NICK") && m->nparams >= 1) {
		ev->type = EV_NICK;
		ev->text = irc_param(m, 0);
	} else if (!strcmp(cmd, "KICK") && m->nparams >= 2) {
		ev->type = EV_KICK;
		ev->target = irc_param(m, 0);
		ev->victim = irc_param(m, 1);
		ev->text = m->nparams >= 3 ? irc_param(m, 2) : NULL;
	} else if (!strcmp(cmd, "KILL") && m->nparams >= 1) {
		ev->type = EV_KILL;
		ev->victim = irc_param(m, 0);
		ev->text = m->nparams >= 2 ? irc_param(m, 1) : NULL;
	} else if (!strcmp(cmd, "WALLOPS") && m->nparams >= 1) {
		ev->type = EV_WALLOPS;
		ev->text = irc_last(m);
	} else if (!strcmp(cmd, "TOPIC") && m->nparams >= 1) {
		ev->type = EV_TOPIC;
		ev->target = irc_param(m, 0);
		ev->text = m->nparams >= 2 ? irc_param(m, 1) : "";
	} else if (!strcmp(cmd, "MODE") && m->nparams >= 2) {
		size_t n = 0;

		ev->type = EV_MODE;
		ev->target = irc_param(m, 0);
		/* a nick's (user) modes: can only be our own, or an oper's doing */
		if (!event_is_channel(ev->target))
			ev->victim = ev->target;
		for (int i = 1; i < m->nparams; i++) {
			if (i > 1)
				put(ev, &n, " ", 1);
			put(ev, &n, irc_param(m, i), strlen(irc_param(m, i)));
		}
		ev->text = ev->textb;
	} else if (!strcmp(cmd, "INVITE") && m->nparams >= 2) {
		ev->type = EV_INVITE;
		ev->victim = irc_param(m, 0);
		ev->target = irc_param(m, 1);
	} else if (!strcmp(cmd, "ERROR")) {
		ev->type = EV_ERROR;
		ev->text = irc_last(m);
	} else if (!strcmp(cmd, "AWAY")) {
		ev->type = EV_AWAY;
		ev->text = m->nparams >= 1 && irc_last(m)[0] != '\0' ? irc_last(m) : NULL;
	} else if ((!strcmp(cmd, "FAIL") || !strcmp(cmd, "WARN") || !strcmp(cmd, "NOTE")) &&
	    m->nparams >= 3) {
		standard_reply(ev, m);
	} else if (!strcmp(cmd, "PING") || !strcmp(cmd, "PONG") || !strcmp(cmd, "CAP") ||
	    /* IRCv3 plumbing: batches, labeled-response's empty reply, tag-only messages */
	    !strcmp(cmd, "BATCH") || !strcmp(cmd, "ACK") || !strcmp(cmd, "TAGMSG")) {
		ev->type = EV_NONE;
	} else {
		set_raw(ev, raw, rawlen);
	}
	ev->victim_self = ev->victim != NULL && mynick != NULL && !irc_casecmp(ev->victim, mynick);
}

void
event_local(struct event *ev, enum event_type type, const char *from,
    const char *target, const char *text)
{
	memset(ev, 0, offsetof(struct event, fromb));
	ev->fromb[0] = ev->textb[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &ev->time);
	ev->type = type;
	if (from != NULL) {
		snprintf(ev->fromb, sizeof ev->fromb, "%s", from);
		ev->from = ev->fromb;
		ev->self = true;
	}
	ev->target = target;
	if (text != NULL) {
		size_t n = 0;

		put(ev, &n, text, strlen(text));
		ev->text = ev->textb;
	}
	ev->priv = target != NULL && !event_is_channel(target);
}

bool
event_public(const struct event *ev)
{
	switch (ev->type) {
	case EV_MESSAGE:
	case EV_ACTION:
	case EV_NOTICE:
	case EV_JOIN:
	case EV_PART:
	case EV_QUIT:
	case EV_NICK:
	case EV_KICK:
	case EV_TOPIC:
	case EV_TOPIC_IS:
	case EV_MODE:
	case EV_INVITE:
	case EV_WALLOPS:
	case EV_KILL:
	case EV_AWAY:
	case EV_ERROR:
		return true;
	default:
		return false;
	}
}

const char *
event_type_name(enum event_type type)
{
	static const char *const names[] = {
		[EV_NONE] = "none",
		[EV_MESSAGE] = "message",
		[EV_ACTION] = "action",
		[EV_NOTICE] = "notice",
		[EV_CTCP] = "ctcp",
		[EV_JOIN] = "join",
		[EV_PART] = "part",
		[EV_QUIT] = "quit",
		[EV_NICK] = "nick",
		[EV_KICK] = "kick",
		[EV_TOPIC] = "topic",
		[EV_TOPIC_IS] = "topic",
		[EV_MODE] = "mode",
		[EV_INVITE] = "invite",
		[EV_WALLOPS] = "wallops",
		[EV_KILL] = "kill",
		[EV_AWAY] = "away",
		[EV_ERROR] = "error",
		[EV_SERVER] = "server",
		[EV_RAW] = "raw",
		[EV_NOTE] = "note",
	};

	if ((size_t)type < sizeof names / sizeof names[0] && names[type] != NULL)
		return names[type];
	return "unknown";
}
