/* fields: "<length>:<bytes>" fields (fields.h) */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "fields.h"

/* v in decimal, ending at end; returns where it starts */
static char *
fields_digits(char *end, uint64_t v)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

/*
 * No snprintf() here: an upgrade writes a few hundred thousand fields
 * while the server pauses, and the new image reads them all twice
 */
int
fields_put(struct buf *b, const void *p, size_t len)
{
	char head[24], *h = fields_digits(head + sizeof head - 1, len), *dst;
	size_t hlen;

	head[sizeof head - 1] = ':';
	hlen = (size_t)(head + sizeof head - h);
	if ((dst = buf_reserve(b, hlen + len)) == NULL)
		return -ENOMEM;
	memcpy(dst, h, hlen);
	if (len > 0)
		memcpy(dst + hlen, p, len);
	buf_commit(b, hlen + len);
	return 0;
}

int
fields_str(struct buf *b, const char *s)
{
	return fields_put(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

int
fields_unum(struct buf *b, uint64_t v)
{
	char n[24], *p = fields_digits(n + sizeof n, v);

	return fields_put(b, p, (size_t)(n + sizeof n - p));
}

int
fields_num(struct buf *b, int64_t v)
{
	char n[24], *p = fields_digits(n + sizeof n, v < 0 ? -(uint64_t)v : (uint64_t)v);

	if (v < 0)
		*--p = '-';
	return fields_put(b, p, (size_t)(n + sizeof n - p));
}

/* the length of an open field: zero-padded to a fixed width, which the
 * reader takes as any other decimal */
#define FIELDS_OPEN_DIGITS 20

int
fields_open(struct buf *b, size_t *mark)
{
	char *dst = buf_reserve(b, FIELDS_OPEN_DIGITS + 1);

	if (dst == NULL)
		return -ENOMEM;
	*mark = buf_used(b);
	memset(dst, '0', FIELDS_OPEN_DIGITS);
	dst[FIELDS_OPEN_DIGITS] = ':';
	buf_commit(b, FIELDS_OPEN_DIGITS + 1);
	return 0;
}

void
fields_close(struct buf *b, size_t mark)
{
	char *head = buf_head(b) + mark;

	fields_digits(head + FIELDS_OPEN_DIGITS,
	    (uint64_t)(buf_used(b) - mark - FIELDS_OPEN_DIGITS - 1));
}

bool
fields_fail(struct fields_in *in, const char *why)
{
	if (!in->bad) {
		in->bad = true;
		in->why = why;
	}
	return false;
}

const char *
fields_get(struct fields_in *in, size_t *len, size_t max)
{
	size_t n = 0, left;
	const char *p = in->p, *s;

	if (in->bad)
		return NULL;
	/* the length can be no more than what is left: stop reading digits there */
	left = (size_t)(in->end - p);
	while (p < in->end && *p >= '0' && *p <= '9' && n <= left)
		n = n * 10 + (size_t)(*p++ - '0');
	if (p == in->p || p >= in->end || *p != ':' || n > max ||
	    n > (size_t)(in->end - p - 1)) {
		fields_fail(in, "a field is cut or too long");
		return NULL;
	}
	s = p + 1;
	in->p = s + n;
	*len = n;
	return s;
}

bool
fields_cstr(struct fields_in *in, char *out, size_t cap)
{
	size_t len;
	const char *s = fields_get(in, &len, cap - 1);

	if (s == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return fields_fail(in, "a string holds a control character");
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* decimal digits only, one at least, at most UINT64_MAX: their value */
static bool
fields_value(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)((unsigned char)s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int64_t
fields_int(struct fields_in *in, int64_t min, int64_t max)
{
	const uint64_t top = UINT64_C(1) << 63;	/* the magnitude of INT64_MIN */
	size_t len;
	const char *s = fields_get(in, &len, 20);
	uint64_t v;
	int64_t val;
	bool neg;

	if (s == NULL)
		return min;
	neg = len > 0 && s[0] == '-';
	if (!fields_value(s + neg, len - neg, &v) || v > top || (!neg && v == top))
		goto bad;
	val = !neg ? (int64_t)v : v == top ? INT64_MIN : -(int64_t)v;
	if (val >= min && val <= max)
		return val;
bad:
	fields_fail(in, "a number is out of range");
	return min;
}

uint64_t
fields_uint(struct fields_in *in, uint64_t max)
{
	size_t len;
	const char *s = fields_get(in, &len, 20);
	uint64_t v;

	if (s == NULL)
		return 0;
	if (fields_value(s, len, &v) && v <= max)
		return v;
	fields_fail(in, "a number is out of range");
	return 0;
}
