/*
 * irc: IRC wire syntax (parsing and formatting of lines), UTF-8 boundary
 * helpers, rfc1459 case mapping and nick/channel name rules. Pure
 * functions: no I/O, no allocation, no global state.
 */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "irc.h"

/* the line after the tags, without its CR LF */
#define IRC_MAXBODY	(IRC_MAXLINE - 2)

static bool
is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* skip spaces: Modern IRC asks servers to accept runs of them */
static const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static char *
skip_spaces_mut(char *p, char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static char *
find_space(char *p, char *end)
{
	while (p < end && *p != ' ')
		p++;
	return p;
}

/* letters (upper-cased in place) or exactly three digits */
static bool
command_ok(char *cmd, size_t n)
{
	size_t i;

	if (n == 3 && is_digit(cmd[0]) && is_digit(cmd[1]) && is_digit(cmd[2]))
		return true;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_letter(cmd[i]))
			return false;
		if (cmd[i] >= 'a' && cmd[i] <= 'z')
			cmd[i] = (char)(cmd[i] - 'a' + 'A');
	}
	return true;
}

int
irc_parse(struct irc_msg *m, const char *line, size_t len)
{
	const char *p = line, *end, *rest;
	char *s, *q, *qend, *cmd;
	size_t n;

	m->tags = m->prefix = m->command = NULL;
	m->nparams = 0;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	end = line + len;
	if (memchr(line, '\0', len) != NULL)
		return IRC_PARSE_NUL;

	s = m->store;
	if (len > 0 && line[0] == '@') {
		const char *t = line + 1, *te = t;

		while (te < end && *te != ' ')
			te++;
		n = (size_t)(te - t);
		if (n > IRC_MAXTAGS)
			return IRC_PARSE_TOOLONG;
		memcpy(s, t, n);
		s[n] = '\0';
		m->tags = s;
		s += n + 1;
		/* the 512-byte limit counts from after the tags' separator */
		rest = te < end ? te + 1 : te;
	} else
		rest = line;

	p = skip_spaces(rest, end);
	if (p == end)
		return m->tags != NULL ? IRC_PARSE_NOCOMMAND : IRC_PARSE_EMPTY;
	if ((size_t)(end - rest) > IRC_MAXBODY)
		return IRC_PARSE_TOOLONG;

	/* copy the body so separators can become NULs in place */
	n = (size_t)(end - p);
	memcpy(s, p, n);
	s[n] = '\0';
	q = s;
	qend = s + n;

	if (*q == ':') {
		m->prefix = ++q;
		q = find_space(q, qend);
		if (q == qend)
			return IRC_PARSE_NOCOMMAND;
		*q++ = '\0';
		q = skip_spaces_mut(q, qend);
		if (q == qend)
			return IRC_PARSE_NOCOMMAND;
	}

	cmd = q;
	q = find_space(q, qend);
	if (!command_ok(cmd, (size_t)(q - cmd)))
		return IRC_PARSE_BADCOMMAND;
	m->command = cmd;
	if (q < qend)
		*q++ = '\0';

	for (;;) {
		q = skip_spaces_mut(q, qend);
		if (q == qend)
			break;
		if (*q == ':' || m->nparams == IRC_MAXPARAMS - 1) {
			/* trailing, or RFC 2812's folding of params past the 15th */
			if (*q == ':')
				q++;
			m->params[m->nparams++] = q;
			break;
		}
		m->params[m->nparams++] = q;
		q = find_space(q, qend);
		if (q < qend)
			*q++ = '\0';
	}
	return IRC_PARSE_OK;
}

const char *
irc_param(const struct irc_msg *m, int i)
{
	return i >= 0 && i < m->nparams && m->params[i] ? m->params[i] : "";
}

const char *
irc_last(const struct irc_msg *m)
{
	return m->nparams > 0 ? irc_param(m, m->nparams - 1) : "";
}

size_t
irc_fmt(char *out, size_t cap, const char *fmt, ...)
{
	char tmp[IRC_MAXLINE * 2];
	size_t n, limit, i;
	va_list ap;
	int r;

	if (cap < 3) {
		/* no room for even CR LF NUL: leave an empty string */
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	limit = cap - 3 < IRC_MAXBODY ? cap - 3 : IRC_MAXBODY;

	va_start(ap, fmt);
	r = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (r < 0)
		n = 0;
	else if ((size_t)r >= sizeof tmp)
		n = sizeof tmp - 1;
	else
		n = (size_t)r;

	/* a parameter must never be able to end the line early */
	for (i = 0; i < n; i++)
		if (tmp[i] == '\r' || tmp[i] == '\n' || tmp[i] == '\0')
			tmp[i] = ' ';
	if (n > limit)
		n = irc_utf8_cut(tmp, limit);

	memcpy(out, tmp, n);
	out[n++] = '\r';
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

size_t
irc_utf8_cut(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = len, k = 0, need;
	unsigned char lead;

	while (k < 3 && i > 0 && (u[i - 1] & 0xC0) == 0x80) {
		i--;
		k++;
	}
	if (i == 0)
		return len;
	lead = u[i - 1];
	if (lead >= 0xC2 && lead <= 0xDF)
		need = 1;
	else if (lead >= 0xE0 && lead <= 0xEF)
		need = 2;
	else if (lead >= 0xF0 && lead <= 0xF4)
		need = 3;
	else
		return len;	/* ASCII, stray continuation or invalid lead */
	return k < need ? i - 1 : len;
}

size_t
irc_utf8_seqlen(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char c, lo = 0x80, hi = 0xBF;
	size_t need, j;

	if (len == 0)
		return 0;
	c = u[0];
	if (c < 0x80)
		return 1;
	/* the second byte's range excludes overlongs, surrogates, > U+10FFFF */
	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (len <= need)
		return 0;
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (j = 2; j <= need; j++)
		if ((u[j] & 0xC0) != 0x80)
			return 0;
	return need + 1;
}

bool
irc_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = irc_utf8_seqlen(s + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

char
irc_tolower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	switch (c) {
	case '[':
		return '{';
	case ']':
		return '}';
	case '\\':
		return '|';
	case '~':
		return '^';
	default:
		return c;
	}
}

int
irc_casecmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = (unsigned char)irc_tolower(*a++);
		cb = (unsigned char)irc_tolower(*b++);
	} while (ca == cb && ca != '\0');
	return ca - cb;
}

int
irc_casefold(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src), i;

	if (n >= cap || n > INT_MAX) {
		if (cap > 0)
			dst[0] = '\0';
		return -1;
	}
	for (i = 0; i < n; i++)
		dst[i] = irc_tolower(src[i]);
	dst[n] = '\0';
	return (int)n;
}

bool
irc_mask_match(const char *mask, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*mask == '*') {
			/* remember the last star; a mismatch later retries one further */
			star = mask++;
			resume = s;
		} else if (*mask != '\0' && (*mask == '?' || irc_tolower(*mask) == irc_tolower(*s))) {
			mask++;
			s++;
		} else if (star != NULL) {
			mask = star + 1;
			s = ++resume;
		} else
			return false;
	}
	while (*mask == '*')
		mask++;
	return *mask == '\0';
}

bool
irc_mask_normalize(const char *in, char *out, size_t cap)
{
	const char *bang = strchr(in, '!'), *at = strchr(in, '@');
	char nick[IRC_MASK_MAX + 1], user[IRC_MASK_MAX + 1], host[IRC_MASK_MAX + 1];
	int n;

	out[0] = '\0';
	if (strlen(in) > IRC_MASK_MAX)
		return false;
	for (const char *p = in; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == 0x7f)
			return false;
	if (at != NULL && bang != NULL && bang > at)
		bang = NULL;	/* "user@ho!st": the '!' belongs to the host */
	if (bang == NULL && at == NULL && strchr(in, '.') == NULL && strchr(in, ':') == NULL) {
		snprintf(nick, sizeof nick, "%s", in);		/* a nick */
		user[0] = host[0] = '\0';
	} else if (bang == NULL && at == NULL) {
		nick[0] = user[0] = '\0';			/* a host */
		snprintf(host, sizeof host, "%s", in);
	} else {
		const char *u = bang != NULL ? bang + 1 : in;
		snprintf(nick, sizeof nick, "%.*s", bang != NULL ? (int)(bang - in) : 0, in);
		snprintf(user, sizeof user, "%.*s", at != NULL ? (int)(at - u) : (int)strlen(u), u);
		snprintf(host, sizeof host, "%s", at != NULL ? at + 1 : "");
	}
	n = snprintf(out, cap, "%s!%s@%s", nick[0] ? nick : "*", user[0] ? user : "*",
	    host[0] ? host : "*");
	if (n < 0 || (size_t)n >= cap || n > IRC_MASK_MAX) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* strlen capped just past maxlen, so over-long names cost O(maxlen) */
static size_t
len_upto(const char *s, size_t maxlen)
{
	return strnlen(s, maxlen < SIZE_MAX ? maxlen + 1 : maxlen);
}

static bool
nick_special(char c)
{
	return c != '\0' && strchr("[]\\`_^{|}", c) != NULL;
}

bool
irc_nick_valid(const char *nick, size_t maxlen)
{
	size_t n, i;

	if (nick == NULL)
		return false;
	n = len_upto(nick, maxlen);
	if (n == 0 || n > maxlen)
		return false;
	if (!is_letter(nick[0]) && !nick_special(nick[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!is_letter(nick[i]) && !is_digit(nick[i]) &&
		    !nick_special(nick[i]) && nick[i] != '-')
			return false;
	return true;
}

/*
 * ':' is refused as well: RFC 2812 excludes it from channel names (it
 * separates a channel mask) and the header's list is a minimum.
 */
bool
irc_chan_valid(const char *name, size_t maxlen)
{
	size_t n, i;

	if (name == NULL || name[0] != '#')
		return false;
	n = len_upto(name, maxlen);
	if (n < 2 || n > maxlen)
		return false;
	for (i = 1; i < n; i++)
		switch (name[i]) {
		case ' ':
		case ',':
		case '\a':
		case '\r':
		case '\n':
		case ':':
			return false;
		default:
			break;
		}
	return true;
}
