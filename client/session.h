/*
 * session: the IRC protocol state of one client, independent of sockets.
 * It registers (PASS/NICK/USER), picks another nick when ours is taken,
 * answers PINGs, joins the wanted channels once registered and keeps
 * track of which channels we are in and who is there (chans). Lines to
 * send go into a buf the caller flushes; what a person should be told is
 * left in note. The same state survives reconnects: session_reset() keeps
 * the wanted channels and the nick, so the next registration rejoins.
 */
#ifndef SHMCHAT_SESSION_H
#define SHMCHAT_SESSION_H

#include <stdbool.h>

#include "buf.h"
#include "chans.h"
#include "irc.h"

#define SESSION_NICK_TRIES	20
#define SESSION_MODES_DEFAULT	3	/* MODES= when a server does not say (RFC 2812) */
#define SESSION_MODES_NOLIMIT	64	/* "MODES" without a value: the line length limits */

/* what session_handle() saw; several can be set */
enum {
	SESS_REGISTERED = 1 << 0,	/* 001: registration is complete */
	SESS_NOTE = 1 << 1,		/* note says something worth showing */
	SESS_REFUSED = 1 << 2,		/* registration cannot succeed: note, refused */
	SESS_JOINED = 1 << 3,		/* our JOIN of chan came back */
	SESS_JOIN_FAILED = 1 << 4,	/* the server refused to let us join chan */
	SESS_LEFT = 1 << 5,		/* we left chan (PART, KICK) */
	SESS_ACK = 1 << 6,		/* the PONG for session_ack() came */
	SESS_HANDLED = 1 << 7,		/* an error reply the session dealt with */
	SESS_NICK = 1 << 8,		/* our nick changed */
};

enum session_refusal {
	SESS_REFUSED_OTHER = 1,
	SESS_REFUSED_PASSWORD,		/* 464: wrong or missing password */
};

/* sees every line queued (for --verbose) */
typedef void session_trace_fn(void *arg, const char *line);

struct session {
	struct buf *out;		/* CR LF lines to send */
	session_trace_fn *trace;	/* NULL: none */
	void *trace_arg;
	/* what we ask for */
	char want_nick[64];
	char user[64];
	char realname[256];
	char *password;			/* not owned */
	/* what the server told us */
	bool registered;
	char nick[64];			/* current (or being tried) nick */
	char userhost[160];		/* "user@host" as others see us, or "" */
	char server[128];		/* its name (prefix of 001) */
	int nicklen;			/* NICKLEN from 005, 0 if unknown */
	int modes;			/* MODES from 005: changes per MODE line, 0 if unknown */
	int nick_try;			/* 0: want_nick, n: the nth alternative */
	size_t nick_max;		/* nick length that worked or was refused */
	struct chans chans;
	/* the PING round trip that acknowledges everything sent before it */
	unsigned ack_seq;
	char ack_token[32];
	bool ack_pending;
	/* results */
	enum session_refusal refused;
	char note[512];
	char chan[256];			/* the channel of JOINED/JOIN_FAILED/LEFT */
};

void session_init(struct session *s, struct buf *out, const char *nick,
    const char *user, const char *realname, char *password);
void session_free(struct session *s);
/* the connection is gone: forget server state, keep wanted channels */
void session_reset(struct session *s);
/* queue PASS, NICK, USER; 0 or -ENOMEM */
int session_register(struct session *s);
/* act on one line from the server; returns SESS_* flags */
unsigned session_handle(struct session *s, const struct irc_msg *m);
/* ask to join (or remember for after registration); 0 or -ENOMEM */
int session_join(struct session *s, const char *chan, const char *key);
/* send a PING whose PONG acknowledges all lines before it */
int session_ack(struct session *s);
/* queue a formatted line */
int session_send(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* how many mode changes (+o nick) to send in one MODE line */
int session_modes_per_line(const struct session *s);
/* the nick to try after `try` failures of want (pure; for tests too) */
void session_alt_nick(char *out, size_t cap, const char *want, int try, size_t max);

#endif
