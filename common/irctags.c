/* irctags: IRCv3 message tags: parsing, escaping, server-time, msgid */
#include <config.h>

#include <string.h>
#include <time.h>

#include "irctags.h"

bool
irctags_next(const char **p, const char *end, struct irctag *t)
{
	const char *s = *p;

	while (s < end && *s == ';')
		s++;
	if (s >= end)
		return false;
	const char *e = memchr(s, ';', end - s);
	if (e == NULL)
		e = end;
	const char *eq = memchr(s, '=', e - s);
	t->key = s;
	t->key_len = (eq != NULL ? eq : e) - s;
	t->val = eq != NULL ? eq + 1 : e;
	t->val_len = eq != NULL ? (size_t)(e - eq - 1) : 0;
	*p = e;
	return true;
}

bool
irctags_get(const char *tags, size_t len, const char *key, struct irctag *t)
{
	const char *p = tags, *end = tags + len;
	size_t klen = strlen(key);

	while (irctags_next(&p, end, t))
		if (t->key_len == klen && memcmp(t->key, key, klen) == 0)
			return true;
	return false;
}

static bool
irctags_keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.';
}

bool
irctags_key_valid(const char *key, size_t len)
{
	size_t i = 0, name;

	if (len > 0 && key[0] == '+')
		i++;
	/* a vendor (a host name) ends at the last '/' */
	const char *slash = len > i ? memrchr(key + i, '/', len - i) : NULL;
	if (slash != NULL) {
		if (slash == key + i)
			return false;
		for (const char *c = key + i; c < slash; c++)
			if (!irctags_keychar(*c))
				return false;
		i = slash - key + 1;
	}
	name = i;
	for (; i < len; i++)
		if (!irctags_keychar(key[i]))
			return false;
	return len > name;
}

int
irctags_escape(char *out, size_t cap, const char *val, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const char *rep = NULL;
		switch (val[i]) {
		case ';': rep = "\\:"; break;
		case ' ': rep = "\\s"; break;
		case '\\': rep = "\\\\"; break;
		case '\r': rep = "\\r"; break;
		case '\n': rep = "\\n"; break;
		}
		size_t k = rep != NULL ? 2 : 1;
		if (n + k >= cap)
			return -1;
		if (rep != NULL)
			memcpy(out + n, rep, 2);
		else
			out[n] = val[i];
		n += k;
	}
	if (n >= cap)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int
irctags_unescape(char *out, size_t cap, const char *val, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = val[i];
		if (c == '\\') {
			if (++i == len)
				break;	/* a trailing lone backslash is dropped */
			switch (val[i]) {
			case ':': c = ';'; break;
			case 's': c = ' '; break;
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			default: c = val[i];	/* "\\" and "\x": the character itself */
			}
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	if (n >= cap)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int
irctags_client_only(char *out, size_t cap, const char *tags, size_t len)
{
	const char *p = tags, *end = tags + len;
	struct irctag t;
	size_t n = 0;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	while (irctags_next(&p, end, &t)) {
		if (t.key_len == 0 || t.key[0] != '+')
			continue;
		if (!irctags_key_valid(t.key, t.key_len))
			return -1;
		/* a raw value holds none of what would end or break the line */
		for (size_t i = 0; i < t.val_len; i++)
			if (t.val[i] == ' ' || t.val[i] == '\r' || t.val[i] == '\n' || t.val[i] == '\0')
				return -1;
		size_t whole = t.key_len + (t.val_len > 0 ? 1 + t.val_len : 0);
		if (n + (n > 0) + whole >= cap)
			return -1;
		if (n > 0)
			out[n++] = ';';
		memcpy(out + n, t.key, whole);
		n += whole;
	}
	out[n] = '\0';
	return (int)n;
}

/* ---------------------------------------------------------------- time */

static void
irctags_digits(char *out, unsigned v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
irctags_time_fmt(char out[IRCTAGS_TIME_LEN + 1], int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0)
		s = 0, ms = 0;
	gmtime_r(&s, &tm);
	/* by hand: strftime() per message would cost more than the message */
	irctags_digits(out, (unsigned)(tm.tm_year + 1900) % 10000, 4);
	out[4] = '-';
	irctags_digits(out + 5, (unsigned)tm.tm_mon + 1, 2);
	out[7] = '-';
	irctags_digits(out + 8, (unsigned)tm.tm_mday, 2);
	out[10] = 'T';
	irctags_digits(out + 11, (unsigned)tm.tm_hour, 2);
	out[13] = ':';
	irctags_digits(out + 14, (unsigned)tm.tm_min, 2);
	out[16] = ':';
	irctags_digits(out + 17, (unsigned)tm.tm_sec, 2);
	out[19] = '.';
	irctags_digits(out + 20, (unsigned)(ms % 1000), 3);
	out[23] = 'Z';
	out[24] = '\0';
}

static bool
irctags_num(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* days since 1970-01-01 of a proleptic Gregorian date: arithmetic, where
 * timegm() costs a microsecond (the master parses a stamp per message) */
static int64_t
irctags_days(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

bool
irctags_time_parse(const char *s, size_t len, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19;

	if (len < 20 || !irctags_num(s, 4, &y) || s[4] != '-' || !irctags_num(s + 5, 2, &mo) ||
	    s[7] != '-' || !irctags_num(s + 8, 2, &d) || s[10] != 'T' ||
	    !irctags_num(s + 11, 2, &h) || s[13] != ':' || !irctags_num(s + 14, 2, &mi) ||
	    s[16] != ':' || !irctags_num(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	if (s[i] == '.') {
		int digits = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			if (digits < 3)
				frac = frac * 10 + (s[i] - '0');
		if (digits == 0)
			return false;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (i + 1 != len || s[i] != 'Z')
		return false;
	*ms = ((irctags_days(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + frac;
	return true;
}

/* --------------------------------------------------------------- msgid */

/* base32 whose character order is the value order: ids sort as strings */
static const char irctags_b32[] = "0123456789abcdefghijklmnopqrstuv";

void
irctags_msgid_next(struct irctags_msgid *g, int64_t ms, char out[IRCTAGS_MSGID_LEN + 1])
{
	uint64_t hi, lo;

	if (ms > g->last_ms) {
		g->last_ms = ms;
		g->seq = 0;
	} else if (++g->seq > 0xffff) {
		/* 65,536 in one millisecond: borrow the next one */
		g->last_ms++;
		g->seq = 0;
	}
	hi = ((uint64_t)g->last_ms & 0xffffffffffffull) << 16 | (g->seq & 0xffff);
	lo = (uint64_t)(g->slot & 0xffffff) << 40 | (uint64_t)(g->gen & 0xff) << 32 | g->salt;
	/* 128 bits, most significant first, 5 at a time: 26 characters (the
	 * first carries the top 3 bits) */
	for (int i = IRCTAGS_MSGID_LEN - 1; i >= 0; i--) {
		out[i] = irctags_b32[lo & 31];
		lo = lo >> 5 | (hi & 31) << 59;
		hi >>= 5;
	}
	out[IRCTAGS_MSGID_LEN] = '\0';
}

bool
irctags_msgid_ms(const char *s, size_t len, int64_t *ms)
{
	uint64_t hi = 0, lo = 0;

	if (len != IRCTAGS_MSGID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		const char *c = memchr(irctags_b32, s[i], 32);
		if (c == NULL || s[i] == '\0')
			return false;
		hi = hi << 5 | lo >> 59;
		lo = lo << 5 | (uint64_t)(c - irctags_b32);
	}
	*ms = (int64_t)(hi >> 16);
	return true;
}

void
irctags_stamp(char out[IRCTAGS_STAMP_LEN + 1], int64_t ms, const char *msgid)
{
	memcpy(out, "@time=", 6);
	irctags_time_fmt(out + 6, ms);
	memcpy(out + IRCTAGS_STAMP_TIME_END, ";msgid=", 7);
	memcpy(out + IRCTAGS_STAMP_TIME_END + 7, msgid, IRCTAGS_MSGID_LEN);
	out[IRCTAGS_STAMP_LEN] = '\0';
}
