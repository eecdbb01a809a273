/* session: registration, nick fallback, PING, channel state */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "irctags.h"
#include "session.h"

/* a nick too long for the server gets cut to this when it says so */
#define NICK_SHORT	9

void
session_init(struct session *s, struct buf *out, const char *nick,
    const char *user, const char *realname, char *password)
{
	memset(s, 0, sizeof *s);
	s->out = out;
	snprintf(s->want_nick, sizeof s->want_nick, "%s", nick);
	snprintf(s->nick, sizeof s->nick, "%s", nick);
	snprintf(s->user, sizeof s->user, "%s", user);
	snprintf(s->realname, sizeof s->realname, "%s", realname);
	s->password = password;
	s->nick_max = sizeof s->nick - 1;
	s->msgref_msgid = s->msgref_timestamp = true;
	chans_init(&s->chans);
}

void
session_free(struct session *s)
{
	chans_free(&s->chans);
}

void
session_reset(struct session *s)
{
	s->registered = false;
	s->userhost[0] = s->server[0] = '\0';
	s->nicklen = 0;
	s->modes = 0;
	s->nick_try = 0;
	s->ack_pending = false;
	s->refused = 0;
	s->cap_state = SESSION_CAP_IDLE;
	s->caps_offered = s->caps = 0;
	s->cap_pending = 0;
	s->chathistory_max = 0;
	s->msgref_msgid = s->msgref_timestamp = true;
	s->nbatches = 0;
	snprintf(s->nick, sizeof s->nick, "%s", s->want_nick);
	chans_reset(&s->chans);
}

int
session_send(struct session *s, const char *fmt, ...)
{
	char out[IRC_MAXLINE + 1], line[2 * IRC_MAXLINE];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	n = irc_fmt(out, sizeof out, "%s", line);
	if (s->trace != NULL) {
		out[n - 2] = '\0';
		s->trace(s->trace_arg, out);
		out[n - 2] = '\r';
	}
	return buf_append(s->out, out, n);
}

int
session_register(struct session *s)
{
	int rc;

	/*
	 * NICK and USER go out at once, without waiting for the list: a
	 * server that knows CAP holds registration until CAP END, one that
	 * does not registers us as before.
	 */
	s->cap_state = SESSION_CAP_LS;
	s->caps_offered = s->caps = 0;
	s->cap_pending = 0;
	rc = session_send(s, "CAP LS 302");
	if (rc == 0 && s->password != NULL && s->password[0] != '\0')
		rc = session_send(s, "PASS :%s", s->password);
	if (rc == 0)
		rc = session_send(s, "NICK %s", s->nick);
	if (rc == 0)
		rc = session_send(s, "USER %s 0 * :%s", s->user, s->realname);
	return rc;
}

void
session_alt_nick(char *out, size_t cap, const char *want, int try, size_t max)
{
	char suffix[16];
	size_t keep = strlen(want);

	/* alice_, then alice2, alice3...: recognisable, and short */
	if (try <= 1)
		snprintf(suffix, sizeof suffix, "_");
	else
		snprintf(suffix, sizeof suffix, "%d", try);
	if (max < strlen(suffix) + 1)
		max = strlen(suffix) + 1;
	if (keep + strlen(suffix) > max)
		keep = max - strlen(suffix);
	snprintf(out, cap, "%.*s%s", (int)keep, want, suffix);
}

/* the nick part of a prefix, into buf */
static const char *
prefix_nick(const struct irc_msg *m, char *buf, size_t cap)
{
	size_t n;

	if (m->prefix == NULL)
		return "";
	n = strcspn(m->prefix, "!@");
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, m->prefix, n);
	buf[n] = '\0';
	return buf;
}

static bool
is_me(const struct session *s, const char *nick)
{
	return nick[0] != '\0' && !irc_casecmp(nick, s->nick);
}

static unsigned
refuse(struct session *s, enum session_refusal why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static unsigned
refuse(struct session *s, enum session_refusal why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->note, sizeof s->note, fmt, ap);
	va_end(ap);
	s->refused = why;
	return SESS_REFUSED | SESS_HANDLED;
}

/* 432/433/436/437 while registering: try the next nick */
static unsigned
nick_refused(struct session *s, const struct irc_msg *m)
{
	bool erroneous = !strcmp(m->command, "432");
	char alt[64];

	if (erroneous) {
		/* a suffix made it too long for this server: shorter, same try */
		if (s->nick_try > 0 && s->nick_max > NICK_SHORT) {
			s->nick_max = NICK_SHORT;
			s->nick_try--;
		} else
			return refuse(s, SESS_REFUSED_OTHER, "the server refused the nick %s: %s",
			    s->nick, irc_last(m));
	}
	if (++s->nick_try > SESSION_NICK_TRIES)
		return refuse(s, SESS_REFUSED_OTHER, "no free nick found (tried %s and %d others)",
		    s->want_nick, SESSION_NICK_TRIES);
	session_alt_nick(alt, sizeof alt, s->want_nick, s->nick_try, s->nick_max);
	if (!erroneous || s->nick_try == 1)
		snprintf(s->note, sizeof s->note, "nick %s is in use, trying %s", s->nick, alt);
	else
		snprintf(s->note, sizeof s->note, "nick %s is too long here, trying %s",
		    s->nick, alt);
	snprintf(s->nick, sizeof s->nick, "%s", alt);
	session_send(s, "NICK %s", s->nick);
	return SESS_NOTE | SESS_HANDLED;
}

static void
join_all(struct session *s)
{
	for (size_t i = 0; i < s->chans.n; i++) {
		const struct chan *c = &s->chans.v[i];

		if (c->key != NULL)
			session_send(s, "JOIN %s %s", c->name, c->key);
		else
			session_send(s, "JOIN %s", c->name);
	}
}

static unsigned
welcome(struct session *s, const struct irc_msg *m)
{
	const char *text = irc_last(m), *sp, *bang;

	s->registered = true;
	/* no CAP reply before the welcome: a server without CAP */
	s->cap_state = SESSION_CAP_DONE;
	s->cap_pending = 0;
	if (m->nparams > 0)
		snprintf(s->nick, sizeof s->nick, "%s", irc_param(m, 0));
	snprintf(s->server, sizeof s->server, "%s", m->prefix ? m->prefix : "");
	/* "Welcome to ... nick!user@host": the prefix others will see */
	sp = strrchr(text, ' ');
	sp = sp ? sp + 1 : text;
	bang = strchr(sp, '!');
	if (bang != NULL && strchr(bang, '@') != NULL)
		snprintf(s->userhost, sizeof s->userhost, "%s", bang + 1);
	if (s->nick_try > 0 || irc_casecmp(s->nick, s->want_nick)) {
		snprintf(s->note, sizeof s->note,
		    "registered as %s (%s was taken)", s->nick, s->want_nick);
		join_all(s);
		return SESS_REGISTERED | SESS_NOTE;
	}
	join_all(s);
	return SESS_REGISTERED;
}

/* is word one of the comma-separated list? */
static bool
msgref_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	while (*list != '\0') {
		size_t n = strcspn(list, ",");

		if (n == wl && !strncmp(list, word, n))
			return true;
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

static void
isupport(struct session *s, const struct irc_msg *m)
{
	for (int i = 1; i < m->nparams - 1; i++) {
		const char *t = m->params[i];

		if (!strncmp(t, "NICKLEN=", 8)) {
			char *end;
			long n = strtol(t + 8, &end, 10);

			/* a hostile value (overlong, negative) keeps what we had */
			if (*end == '\0' && n > 0 && n < 4096) {
				s->nicklen = (int)n;
				if ((size_t)n < s->nick_max)
					s->nick_max = (size_t)n;
			}
		} else if (!strcmp(t, "MODES") || !strcmp(t, "MODES=")) {
			s->modes = SESSION_MODES_NOLIMIT;
		} else if (!strncmp(t, "MODES=", 6)) {
			char *end;
			long n = strtol(t + 6, &end, 10);

			/* nonsense keeps the default; plenty is capped by the line */
			if (*end == '\0' && n > 0)
				s->modes = n < SESSION_MODES_NOLIMIT ? (int)n : SESSION_MODES_NOLIMIT;
		} else if (!strncmp(t, "PREFIX=", 7)) {
			/* a bad value keeps what we had: (ov)@+ */
			chans_set_prefix(&s->chans, t + 7);
		} else if (!strcmp(t, "PREFIX")) {
			chans_set_prefix(&s->chans, "");
		} else if (!strncmp(t, "CHANMODES=", 10)) {
			chans_set_chanmodes(&s->chans, t + 10);
		} else if (!strncmp(t, "CHATHISTORY=", 12)) {
			char *end;
			long n = strtol(t + 12, &end, 10);

			/* 0 or nonsense: no limit said */
			s->chathistory_max = *end == '\0' && n > 0 && n < 1000000 ? (int)n : 0;
		} else if (!strncmp(t, "MSGREFTYPES=", 12)) {
			/* the kinds of reference CHATHISTORY takes, in the server's order */
			s->msgref_msgid = msgref_has(t + 12, "msgid");
			s->msgref_timestamp = msgref_has(t + 12, "timestamp");
		}
	}
}

int
session_modes_per_line(const struct session *s)
{
	return s->modes > 0 ? s->modes : SESSION_MODES_DEFAULT;
}

static void history_on_join(struct session *s, const char *chan);

static unsigned
on_join(struct session *s, const struct irc_msg *m, const char *who)
{
	const char *name = irc_param(m, 0);
	struct chan *c;

	if (!is_me(s, who)) {
		if ((c = chans_find(&s->chans, name)) != NULL)
			chans_member_add(c, who);
		return 0;
	}
	if (m->prefix != NULL && strchr(m->prefix, '!') != NULL)
		snprintf(s->userhost, sizeof s->userhost, "%s", strchr(m->prefix, '!') + 1);
	/* joined by the server or /raw: it is ours now */
	if ((c = chans_add(&s->chans, name, NULL)) == NULL)
		return 0;
	c->joined = true;
	c->names_fresh = true;
	chans_member_add(c, s->nick);
	snprintf(s->chan, sizeof s->chan, "%s", c->name);
	history_on_join(s, c->name);
	return SESS_JOINED;
}

static unsigned
left(struct session *s, const char *name)
{
	snprintf(s->chan, sizeof s->chan, "%s", name);
	chans_remove(&s->chans, name);
	return SESS_LEFT;
}

/* errors that mean we will not get into the channel in params[1] */
static bool
join_error(const char *num)
{
	static const char *const nums[] = {
		"403", "405", "437", "471", "473", "474", "475", "476", "477", "479",
	};

	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (!strcmp(num, nums[i]))
			return true;
	return false;
}

/* ------------------------------------------------------ capabilities */

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
	{ "server-time", SESSION_CAP_SERVER_TIME },
	{ "echo-message", SESSION_CAP_ECHO_MESSAGE },
	{ "message-tags", SESSION_CAP_MESSAGE_TAGS },
	{ "batch", SESSION_CAP_BATCH },
	{ "multi-prefix", SESSION_CAP_MULTI_PREFIX },
	{ "away-notify", SESSION_CAP_AWAY_NOTIFY },
	{ "draft/chathistory", SESSION_CAP_CHATHISTORY },
	{ "labeled-response", SESSION_CAP_LABELED_RESPONSE },
};

bool
session_has_cap(const struct session *s, unsigned cap)
{
	return (s->caps & cap) == cap && cap != 0;
}

bool
session_echo_local(const struct session *s)
{
	return !session_has_cap(s, SESSION_CAP_ECHO_MESSAGE);
}

const char *
session_cap_name(unsigned cap)
{
	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (cap_names[i].bit == cap)
			return cap_names[i].name;
	return NULL;
}

/* the SESSION_CAP_* bit of a name (len bytes, any "=value" cut off), 0 if unknown */
static unsigned
cap_bit(const char *name, size_t len)
{
	const char *eq = memchr(name, '=', len);

	if (eq != NULL)
		len = (size_t)(eq - name);
	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (strlen(cap_names[i].name) == len && !memcmp(cap_names[i].name, name, len))
			return cap_names[i].bit;
	return 0;
}

/*
 * The bits of a space-separated capability list. minus (may be NULL)
 * collects the names prefixed with '-' (an ACK that disables them).
 */
static unsigned
cap_list(const char *list, unsigned *minus)
{
	unsigned bits = 0;

	if (minus != NULL)
		*minus = 0;
	while (*list != '\0') {
		size_t n;
		bool off = false;

		list += strspn(list, " ");
		if (*list == '-') {
			off = true;
			list++;
		}
		n = strcspn(list, " ");
		if (n == 0)
			continue;
		if (off && minus != NULL)
			*minus |= cap_bit(list, n);
		else if (!off)
			bits |= cap_bit(list, n);
		list += n;
	}
	return bits;
}

/* negotiation is over: CAP END, unless registration already happened */
static void
cap_end(struct session *s)
{
	if (s->cap_state != SESSION_CAP_DONE && !s->registered)
		session_send(s, "CAP END");
	s->cap_state = SESSION_CAP_DONE;
}

/* ask for the wanted ones among bits (offered, not on yet); false: none */
static bool
cap_request(struct session *s, unsigned bits)
{
	char list[256] = "";
	size_t n = 0;

	bits &= ~s->caps;
	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (bits & cap_names[i].bit)
			n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? " " : "",
			    cap_names[i].name);
	if (n == 0)
		return false;
	s->cap_pending++;
	session_send(s, "CAP REQ :%s", list);
	return true;
}

/* CAP <nick|*> LS|ACK|NAK|NEW|DEL [*] :list */
static unsigned
on_cap(struct session *s, const struct irc_msg *m)
{
	const char *sub = irc_param(m, 1), *list = irc_last(m);
	unsigned bits, minus;

	if (m->nparams < 3)
		return SESS_HANDLED;
	if (!strcmp(sub, "LS")) {
		s->caps_offered |= cap_list(list, NULL);
		/* CAP 302: "LS * :..." says more lines follow */
		if (m->nparams >= 4 && !strcmp(irc_param(m, 2), "*"))
			return SESS_HANDLED;
		if (s->cap_state != SESSION_CAP_LS)
			return SESS_HANDLED;	/* an LS we did not ask for (/raw) */
		if (cap_request(s, s->caps_offered))
			s->cap_state = SESSION_CAP_REQ;
		else
			cap_end(s);
	} else if (!strcmp(sub, "ACK") || !strcmp(sub, "NAK")) {
		if (sub[0] == 'A') {
			bits = cap_list(list, &minus);
			s->caps = (s->caps | bits) & ~minus;
		}
		/* a NAK refuses the whole REQ: we go on without those */
		if (s->cap_pending > 0)
			s->cap_pending--;
		if (s->cap_pending == 0 && s->cap_state == SESSION_CAP_REQ)
			cap_end(s);
	} else if (!strcmp(sub, "NEW")) {
		/* cap-notify (implied by 302): offered later, asked for now */
		bits = cap_list(list, NULL);
		s->caps_offered |= bits;
		if (s->cap_state == SESSION_CAP_DONE || s->cap_state == SESSION_CAP_REQ)
			cap_request(s, bits);
	} else if (!strcmp(sub, "DEL")) {
		bits = cap_list(list, NULL);
		s->caps_offered &= ~bits;
		s->caps &= ~bits;
		if (bits & SESSION_CAP_BATCH)
			s->nbatches = 0;
	}
	return SESS_HANDLED;
}

/* ------------------------------------------------------------ batches */

/* the unescaped value of tag key into out, or false when it is absent */
static bool
tag_value(const struct irc_msg *m, const char *key, char *out, size_t cap)
{
	struct irctag t;

	if (m->tags == NULL || !irctags_get(m->tags, strlen(m->tags), key, &t))
		return false;
	return irctags_unescape(out, cap, t.val, t.val_len) >= 0;
}

static int
batch_find(const struct session *s, const char *id)
{
	for (int i = 0; i < s->nbatches; i++)
		if (!strcmp(s->batches[i].id, id))
			return i;
	return -1;
}

/* the open batch a line belongs to (its batch tag), -1 for none */
static int
batch_of(const struct session *s, const struct irc_msg *m)
{
	char id[64];

	if (s->nbatches == 0 || !tag_value(m, "batch", id, sizeof id))
		return -1;
	return batch_find(s, id);
}

/* the chathistory batch that batch i is or is nested in, -1 for none */
static int
batch_history(const struct session *s, int i)
{
	for (int depth = 0; i >= 0 && depth < SESSION_BATCHES; depth++) {
		if (!strcmp(s->batches[i].type, "chathistory"))
			return i;
		i = s->batches[i].parent;
	}
	return -1;
}

static void
batch_close(struct session *s, int i)
{
	/* the ones nested in it point elsewhere now */
	for (int k = 0; k < s->nbatches; k++) {
		if (s->batches[k].parent == i)
			s->batches[k].parent = -1;
		else if (s->batches[k].parent == s->nbatches - 1)
			s->batches[k].parent = i;
	}
	s->batches[i] = s->batches[--s->nbatches];
}

/* BATCH +id type [params] / BATCH -id */
static unsigned
on_batch(struct session *s, const struct irc_msg *m)
{
	const char *ref = irc_param(m, 0);
	struct session_batch *b;
	int i;

	if (ref[0] == '-') {
		unsigned f = SESS_HANDLED;

		if ((i = batch_find(s, ref + 1)) < 0)
			return f;
		if (!strcmp(s->batches[i].type, "chathistory")) {
			snprintf(s->chan, sizeof s->chan, "%s", s->batches[i].target);
			s->history_count = s->batches[i].count;
			f |= SESS_HISTORY_END;
		}
		batch_close(s, i);
		return f;
	}
	if (ref[0] != '+' || ref[1] == '\0' || m->nparams < 2)
		return SESS_HANDLED;
	/* too many open: the oldest goes (a server that never closes them) */
	if (s->nbatches == SESSION_BATCHES)
		batch_close(s, 0);
	i = batch_of(s, m);
	b = &s->batches[s->nbatches];
	memset(b, 0, sizeof *b);
	snprintf(b->id, sizeof b->id, "%s", ref + 1);
	snprintf(b->type, sizeof b->type, "%s", irc_param(m, 1));
	snprintf(b->target, sizeof b->target, "%s", irc_param(m, 2));
	b->parent = i;
	s->nbatches++;
	return SESS_HANDLED;
}

/* a line with server-time about chan: remember it if it is the oldest or newest seen there */
static void
seen(struct session *s, const char *chan, const struct irc_msg *m)
{
	struct chan *c = chans_find(&s->chans, chan);
	char t[40], id[64];
	int64_t ms;

	if (c == NULL || !tag_value(m, "time", t, sizeof t) ||
	    !irctags_time_parse(t, strlen(t), &ms) || strlen(t) >= sizeof c->oldest_time)
		return;
	/* a reference goes out as one word */
	if (!tag_value(m, "msgid", id, sizeof id) || strpbrk(id, " ") != NULL)
		id[0] = '\0';
	/* the same format from one server sorts as text */
	if (c->oldest_time[0] == '\0' || strcmp(t, c->oldest_time) < 0) {
		snprintf(c->oldest_time, sizeof c->oldest_time, "%s", t);
		snprintf(c->oldest_msgid, sizeof c->oldest_msgid, "%s", id);
	}
	if (c->newest_time[0] == '\0' || strcmp(t, c->newest_time) > 0) {
		snprintf(c->newest_time, sizeof c->newest_time, "%s", t);
		snprintf(c->newest_msgid, sizeof c->newest_msgid, "%s", id);
	}
}

/* a line of a chathistory batch: counted and remembered, no state changes */
static unsigned
history_line(struct session *s, int b, const struct irc_msg *m)
{
	s->batches[b].count++;
	seen(s, s->batches[b].target, m);
	return SESS_HISTORY;
}

/*
 * The last lines of a channel we just joined; joined again (a
 * reconnect), only those after the newest we have seen: what we missed.
 */
static void
history_on_join(struct session *s, const char *chan)
{
	struct chan *c = chans_find(&s->chans, chan);
	int n = s->history;

	if (c == NULL || n <= 0 || !session_has_cap(s, SESSION_CAP_CHATHISTORY))
		return;
	if (s->chathistory_max > 0 && n > s->chathistory_max)
		n = s->chathistory_max;
	if (c->newest_msgid[0] != '\0' && s->msgref_msgid)
		session_send(s, "CHATHISTORY LATEST %s msgid=%s %d", c->name, c->newest_msgid, n);
	else if (c->newest_time[0] != '\0' && s->msgref_timestamp)
		session_send(s, "CHATHISTORY LATEST %s timestamp=%s %d", c->name, c->newest_time, n);
	else
		session_send(s, "CHATHISTORY LATEST %s * %d", c->name, n);
}

int
session_history(struct session *s, const char *chan, int n)
{
	struct chan *c;

	if (!session_has_cap(s, SESSION_CAP_CHATHISTORY))
		return -ENOTSUP;
	if ((c = chans_find(&s->chans, chan)) == NULL || !c->joined)
		return -ENOENT;
	if (n <= 0)
		n = SESSION_HISTORY_DEFAULT;
	if (s->chathistory_max > 0 && n > s->chathistory_max)
		n = s->chathistory_max;
	if (c->oldest_msgid[0] != '\0' && s->msgref_msgid)
		return session_send(s, "CHATHISTORY BEFORE %s msgid=%s %d", c->name,
		    c->oldest_msgid, n);
	if (c->oldest_time[0] != '\0' && s->msgref_timestamp)
		return session_send(s, "CHATHISTORY BEFORE %s timestamp=%s %d", c->name,
		    c->oldest_time, n);
	/* nothing seen yet (or no reference the server takes): the latest */
	return session_send(s, "CHATHISTORY LATEST %s * %d", c->name, n);
}

unsigned
session_handle(struct session *s, const struct irc_msg *m)
{
	const char *cmd = m->command;
	char who[64];
	struct chan *c;
	int b;

	s->note[0] = '\0';
	prefix_nick(m, who, sizeof who);

	/* history is shown, never acted on (an old JOIN of ours, a PING...) */
	if ((b = batch_history(s, batch_of(s, m))) >= 0 && strcmp(cmd, "BATCH") != 0)
		return history_line(s, b, m);
	if (!strcmp(cmd, "CAP"))
		return on_cap(s, m);
	if (!strcmp(cmd, "BATCH") && m->nparams >= 1)
		return on_batch(s, m);
	/* a server that knows no CAP: registration goes on without */
	if ((!strcmp(cmd, "421") || !strcmp(cmd, "451")) &&
	    !strcasecmp(irc_param(m, 1), "CAP") && s->cap_state != SESSION_CAP_DONE) {
		s->cap_state = SESSION_CAP_DONE;
		s->cap_pending = 0;
		return SESS_HANDLED;
	}
	/* draft/chathistory offered, the command unknown: no history then */
	if (!strcmp(cmd, "421") && !strcasecmp(irc_param(m, 1), "CHATHISTORY") &&
	    session_has_cap(s, SESSION_CAP_CHATHISTORY)) {
		s->caps &= ~(unsigned)SESSION_CAP_CHATHISTORY;
		snprintf(s->note, sizeof s->note,
		    "the server offers chat history but does not know CHATHISTORY: none shown");
		return SESS_NOTE | SESS_HANDLED;
	}

	if (!strcmp(cmd, "PING")) {
		session_send(s, "PONG :%s", irc_last(m));
		return 0;
	}
	if (!strcmp(cmd, "PONG")) {
		if (s->ack_pending && !strcmp(irc_last(m), s->ack_token)) {
			s->ack_pending = false;
			return SESS_ACK;
		}
		return 0;
	}
	if (!strcmp(cmd, "001"))
		return welcome(s, m);
	if (!strcmp(cmd, "005")) {
		isupport(s, m);
		return 0;
	}
	if (!s->registered) {
		if (!strcmp(cmd, "433") || !strcmp(cmd, "436") || !strcmp(cmd, "432") ||
		    (!strcmp(cmd, "437") && !irc_casecmp(irc_param(m, 1), s->nick)))
			return nick_refused(s, m);
		if (!strcmp(cmd, "464"))
			return refuse(s, SESS_REFUSED_PASSWORD, "the server refused the password: %s",
			    irc_last(m));
		if (!strcmp(cmd, "465") || !strcmp(cmd, "ERROR"))
			return refuse(s, SESS_REFUSED_OTHER, "the server refused us: %s", irc_last(m));
	}
	if ((!strcmp(cmd, "PRIVMSG") || !strcmp(cmd, "NOTICE")) && m->nparams >= 2) {
		/* where /history goes back from when nothing older was seen */
		seen(s, irc_param(m, 0), m);
		return 0;
	}
	if (!strcmp(cmd, "JOIN") && m->nparams >= 1)
		return on_join(s, m, who);
	if (!strcmp(cmd, "PART") && m->nparams >= 1) {
		if (is_me(s, who))
			return left(s, irc_param(m, 0));
		if ((c = chans_find(&s->chans, irc_param(m, 0))) != NULL)
			chans_member_del(c, who);
		return 0;
	}
	if (!strcmp(cmd, "KICK") && m->nparams >= 2) {
		if (is_me(s, irc_param(m, 1)))
			return left(s, irc_param(m, 0));
		if ((c = chans_find(&s->chans, irc_param(m, 0))) != NULL)
			chans_member_del(c, irc_param(m, 1));
		return 0;
	}
	if (!strcmp(cmd, "QUIT")) {
		chans_quit(&s->chans, who);
		return 0;
	}
	if (!strcmp(cmd, "NICK") && m->nparams >= 1) {
		chans_rename(&s->chans, who, irc_param(m, 0));
		if (is_me(s, who)) {
			snprintf(s->nick, sizeof s->nick, "%s", irc_param(m, 0));
			/* a nick chosen with /nick is the one to come back with */
			snprintf(s->want_nick, sizeof s->want_nick, "%s", irc_param(m, 0));
			return SESS_NICK;
		}
		return 0;
	}
	if (!strcmp(cmd, "MODE") && m->nparams >= 2) {
		/* a channel's: who has which prefix now (user modes need nothing) */
		if ((c = chans_find(&s->chans, irc_param(m, 0))) != NULL)
			chans_mode(&s->chans, c, irc_param(m, 1), m->params + 2, m->nparams - 2);
		return 0;
	}
	if (!strcmp(cmd, "353") && m->nparams >= 4) {
		if ((c = chans_find(&s->chans, irc_param(m, 2))) != NULL)
			chans_names(&s->chans, c, irc_last(m));
		return 0;
	}
	if (!strcmp(cmd, "366") && m->nparams >= 2) {
		/* the next NAMES reply for it is a fresh list */
		if ((c = chans_find(&s->chans, irc_param(m, 1))) != NULL)
			c->names_fresh = true;
		return 0;
	}
	if (join_error(cmd) && m->nparams >= 2) {
		c = chans_find(&s->chans, irc_param(m, 1));
		if (c != NULL && !c->joined) {
			snprintf(s->note, sizeof s->note, "cannot join %s: %s", c->name, irc_last(m));
			snprintf(s->chan, sizeof s->chan, "%s", c->name);
			chans_remove(&s->chans, irc_param(m, 1));
			return SESS_JOIN_FAILED | SESS_NOTE;
		}
	}
	return 0;
}

int
session_join(struct session *s, const char *chan, const char *key)
{
	if (chans_add(&s->chans, chan, key) == NULL)
		return -ENOMEM;
	if (!s->registered)
		return 0;
	if (key != NULL)
		return session_send(s, "JOIN %s %s", chan, key);
	return session_send(s, "JOIN %s", chan);
}

int
session_ack(struct session *s)
{
	snprintf(s->ack_token, sizeof s->ack_token, "shmchat-ack-%u", ++s->ack_seq);
	s->ack_pending = true;
	return session_send(s, "PING :%s", s->ack_token);
}
