/* session: registration, nick fallback, PING, channel state */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	int rc = 0;

	if (s->password != NULL && s->password[0] != '\0')
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
		}
	}
}

int
session_modes_per_line(const struct session *s)
{
	return s->modes > 0 ? s->modes : SESSION_MODES_DEFAULT;
}

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

unsigned
session_handle(struct session *s, const struct irc_msg *m)
{
	const char *cmd = m->command;
	char who[64];
	struct chan *c;

	s->note[0] = '\0';
	prefix_nick(m, who, sizeof who);

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
