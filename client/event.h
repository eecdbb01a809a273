/*
 * event: what an IRC line means to a person or a script. Classifies a
 * parsed line (PRIVMSG, CTCP ACTION, JOIN, numerics...) into one event
 * with from/target/text, the shape that render and jsonout print.
 * Pure: no I/O. Strings point into the irc_msg or into the event itself,
 * so an event is valid while its irc_msg is.
 */
#ifndef SHMCHAT_EVENT_H
#define SHMCHAT_EVENT_H

#include <stdbool.h>
#include <time.h>

#include "irc.h"

enum event_type {
	EV_NONE,	/* nothing to show (PING, end-of-list numerics...) */
	EV_MESSAGE,	/* PRIVMSG */
	EV_ACTION,	/* CTCP ACTION, "/me" */
	EV_NOTICE,	/* NOTICE from a user */
	EV_CTCP,	/* another CTCP request; text is its command */
	EV_JOIN,
	EV_PART,
	EV_QUIT,
	EV_NICK,	/* from is the old nick, text the new one */
	EV_KICK,	/* from kicked victim out of target; text the reason */
	EV_TOPIC,	/* from changed target's topic to text */
	EV_TOPIC_IS,	/* the topic of target is text (on join, /topic) */
	EV_MODE,	/* from changed target's modes: text is "+o bob" */
	EV_INVITE,	/* from invites victim to target */
	EV_WALLOPS,	/* a message from from to the IRC operators (and +w) */
	EV_KILL,	/* from disconnected victim; text the reason */
	EV_AWAY,	/* away-notify: from is away (text the message) or back (NULL) */
	EV_ERROR,	/* an error numeric or ERROR: text in plain words */
	EV_SERVER,	/* a server notice or an informational numeric */
	EV_RAW,		/* a line we do not know: text is the line as it came */
	EV_NOTE,	/* said by this client itself (connecting, ...) */
};

struct event {
	enum event_type type;
	struct timespec time;	/* when the server sent it (server-time tag),
				 * else CLOCK_REALTIME when it arrived */
	const char *from;	/* a nick, or a server name; NULL when none */
	const char *userhost;	/* "user@host" of a user prefix, or NULL */
	const char *target;	/* a channel or a nick; NULL when none */
	const char *text;	/* NULL when none */
	const char *victim;	/* who is kicked, invited, killed, or whose user
				 * modes change (EV_MODE on a nick); else NULL */
	const char *numeric;	/* the 3 digits of a numeric reply, or NULL */
	bool priv;		/* to us (or from us to a nick), not to a channel */
	bool self;		/* from is us */
	bool victim_self;	/* victim is us */
	bool history;		/* chat history (a chathistory batch), not live */
	char msgid[64];		/* the msgid tag, "" when none */
	char fromb[IRC_MAXLINE];
	char textb[2 * IRC_MAXLINE];
};

/*
 * Classify m. mynick (may be NULL) tells which lines are ours; raw/rawlen
 * is the line as received (for EV_RAW). Always fills ev.
 */
void event_from_msg(struct event *ev, const struct irc_msg *m, const char *mynick,
    const char *raw, size_t rawlen);
/*
 * The time of a server-time tag ("@time=2026-12-06T10:00:00.123Z") in
 * tags (without '@', may be NULL) into *ts; false when there is none.
 */
bool event_tag_time(const char *tags, struct timespec *ts);
/* an event of our own (a message we sent, a note): strings are copied */
void event_local(struct event *ev, enum event_type type, const char *from,
    const char *target, const char *text);
/* is name a channel (starts with # & + or !)? */
bool event_is_channel(const char *name);
/* the events a listening script gets (messages and channel changes) */
bool event_public(const struct event *ev);
/* "message", "join", ... for JSON */
const char *event_type_name(enum event_type type);

#endif
