/* jsonout: JSON encoding of events (RFC 8259) */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "jsonout.h"

static int
key(struct buf *b, const char *name, const char *value, bool first)
{
	int rc;

	if (!first && (rc = buf_append(b, ",", 1)) < 0)
		return rc;
	if ((rc = json_string(b, name, strlen(name))) < 0 ||
	    (rc = buf_append(b, ":", 1)) < 0)
		return rc;
	if (value == NULL)
		return buf_append(b, "null", 4);
	return json_string(b, value, strlen(value));
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
	/* who is kicked, invited or killed */
	if ((ev->type == EV_KICK || ev->type == EV_INVITE || ev->type == EV_KILL) &&
	    (rc = key(b, "nick", ev->victim, false)) < 0)
		return rc;
	/* IRCv3: only when there is something to say, so older readers see no change */
	if (ev->msgid[0] != '\0' && (rc = key(b, "msgid", ev->msgid, false)) < 0)
		return rc;
	if (ev->history && (rc = buf_append(b, ",\"history\":true", 15)) < 0)
		return rc;
	return buf_append(b, "}\n", 2);
}
