/* jsonout: JSON encoding of events (RFC 8259) */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "irc.h"
#include "jsonout.h"

int
jsonout_string(struct buf *b, const char *s, size_t len)
{
	size_t i = 0;
	int rc = buf_append(b, "\"", 1);

	while (rc == 0 && i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n, run;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = buf_append(b, esc, 2);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': rc = buf_append(b, "\\n", 2); break;
			case '\r': rc = buf_append(b, "\\r", 2); break;
			case '\t': rc = buf_append(b, "\\t", 2); break;
			default:
				snprintf(esc, sizeof esc, "\\u%04x", c);
				rc = buf_append(b, esc, 6);
				break;
			}
			i++;
			continue;
		}
		n = irc_utf8_seqlen(s + i, len - i);
		if (n == 0) {
			rc = buf_append(b, "\\ufffd", 6);
			i++;
			continue;
		}
		/* copy a run of plain bytes at once */
		run = n;
		while (i + run < len) {
			unsigned char d = (unsigned char)s[i + run];

			if (d == '"' || d == '\\' || d < 0x20 || d == 0x7f)
				break;
			if (d < 0x80) {
				run++;
				continue;
			}
			n = irc_utf8_seqlen(s + i + run, len - i - run);
			if (n == 0)
				break;
			run += n;
		}
		rc = buf_append(b, s + i, run);
		i += run;
	}
	if (rc == 0)
		rc = buf_append(b, "\"", 1);
	return rc;
}

static int
key(struct buf *b, const char *name, const char *value, bool first)
{
	int rc;

	if (!first && (rc = buf_append(b, ",", 1)) < 0)
		return rc;
	if ((rc = jsonout_string(b, name, strlen(name))) < 0 ||
	    (rc = buf_append(b, ":", 1)) < 0)
		return rc;
	if (value == NULL)
		return buf_append(b, "null", 4);
	return jsonout_string(b, value, strlen(value));
}

int
jsonout_event(struct buf *b, const struct event *ev)
{
	char ts[64];
	struct tm tm;
	time_t t = ev->time.tv_sec;
	int rc;

	/* RFC 3339 UTC with milliseconds, sortable as text */
	if (gmtime_r(&t, &tm) == NULL)
		return -EINVAL;
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ev->time.tv_nsec / 1000000 % 1000));

	if ((rc = buf_append(b, "{", 1)) < 0 ||
	    (rc = key(b, "type", event_type_name(ev->type), true)) < 0 ||
	    (rc = key(b, "time", ts, false)) < 0 ||
	    (rc = key(b, "from", ev->from, false)) < 0 ||
	    (rc = key(b, "target", ev->target, false)) < 0 ||
	    (rc = key(b, "text", ev->text, false)) < 0)
		return rc;
	if (ev->type == EV_KICK && (rc = key(b, "nick", ev->victim, false)) < 0)
		return rc;
	return buf_append(b, "}\n", 2);
}
