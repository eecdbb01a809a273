/* json: JSON string escaping (see json.h) */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "irc.h"
#include "json.h"

#define JSON_ESC_MAX	6	/* "\u001f" */
#define JSON_CHUNK	4096	/* bytes reserved at a time by json_string() */

/* the escaped form of one ASCII byte into e; its length, 0 when plain */
static size_t
escape_ascii(char e[JSON_ESC_MAX + 1], unsigned char c)
{
	char named;

	switch (c) {
	case '"':
	case '\\':
		named = (char)c;
		break;
	case '\b':
		named = 'b';
		break;
	case '\f':
		named = 'f';
		break;
	case '\n':
		named = 'n';
		break;
	case '\r':
		named = 'r';
		break;
	case '\t':
		named = 't';
		break;
	default:
		if (c >= 0x20 && c != 0x7f)
			return 0;
		snprintf(e, JSON_ESC_MAX + 1, "\\u%04x", c);
		return JSON_ESC_MAX;
	}
	e[0] = '\\';
	e[1] = named;
	return 2;
}

size_t
json_escape(char *out, size_t cap, size_t *outlen, const char *s, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		char e[JSON_ESC_MAX + 1];
		const char *from = s + i;
		size_t in, n;

		if (c < 0x80) {
			in = 1;
			if ((n = escape_ascii(e, c)) > 0)
				from = e;
			else
				n = 1;
		} else if ((in = n = irc_utf8_seqlen(from, len - i)) == 0) {
			/* each bad byte: the replacement character */
			from = "\\ufffd";
			in = 1;
			n = JSON_ESC_MAX;
		}
		if (n > cap - o)
			break;
		memcpy(out + o, from, n);
		o += n;
		i += in;
	}
	*outlen = o;
	return i;
}

int
json_string(struct buf *b, const char *s, size_t len)
{
	if (buf_append(b, "\"", 1) < 0)
		return -ENOMEM;
	while (len > 0) {
		/* no more than the worst case, every byte escaped */
		size_t cap = len < JSON_CHUNK / JSON_ESC_MAX ? len * JSON_ESC_MAX : JSON_CHUNK;
		char *p = buf_reserve(b, cap);
		size_t done, w;

		if (p == NULL)
			return -ENOMEM;
		done = json_escape(p, cap, &w, s, len);
		buf_commit(b, w);
		s += done;
		len -= done;
	}
	return buf_append(b, "\"", 1) < 0 ? -ENOMEM : 0;
}
