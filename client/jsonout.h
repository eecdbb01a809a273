/*
 * jsonout: events as JSON, one object per line, for scripts:
 * {"type":"message","time":"2025-01-02T03:04:05.678Z","from":"alice",
 *  "target":"#ops","text":"hi"}. The five keys are always there (null when
 * not applicable); a kick, invite or kill adds "nick" (who was kicked,
 * invited, killed). "time" is the server's (server-time) when it said;
 * a line with a msgid tag adds "msgid", one from chat history
 * "history":true. Output is always
 * valid UTF-8 JSON: invalid bytes become U+FFFD, control characters are
 * escaped. Pure: appends to a buf, no I/O.
 */
#ifndef SHMCHAT_JSONOUT_H
#define SHMCHAT_JSONOUT_H

#include "buf.h"
#include "event.h"

/* append one event object and a newline; 0 or -ENOMEM */
int jsonout_event(struct buf *b, const struct event *ev);

#endif
