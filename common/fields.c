/* fields: "<length>:<bytes>" fields (fields.h) */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"

int
fields_put(struct buf *b, const void *p, size_t len)
{
	char head[24];
	int n = snprintf(head, sizeof head, "%zu:", len);

	if (buf_append(b, head, (size_t)n) < 0 || buf_append(b, p, len) < 0)
		return -ENOMEM;
	return 0;
}

int
fields_str(struct buf *b, const char *s)
{
	return fields_put(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

int
fields_num(struct buf *b, int64_t v)
{
	char n[24];

	snprintf(n, sizeof n, "%" PRId64, v);
	return fields_str(b, n);
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

int64_t
fields_int(struct fields_in *in, int64_t min, int64_t max)
{
	char n[24], *end;
	long long v;

	if (!fields_cstr(in, n, sizeof n))
		return min;
	errno = 0;
	v = strtoll(n, &end, 10);
	if (n[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		fields_fail(in, "a number is out of range");
		return min;
	}
	return v;
}
