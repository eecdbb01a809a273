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
	SESS_HISTORY = 1 << 9,		/* the line is chat history (in a chathistory
					 * batch): show it marked, it changes no state */
	SESS_HISTORY_END = 1 << 10,	/* a chathistory batch for chan ended;
					 * history_count lines came in it */
};

/*
 * IRCv3 capabilities the client asks for when the server offers them
 * (CAP LS 302, then one CAP REQ; a NAK means going on without).
 */
enum {
	SESSION_CAP_SERVER_TIME = 1 << 0,	/* time tags: when a line was sent */
	SESSION_CAP_ECHO_MESSAGE = 1 << 1,	/* our PRIVMSG/NOTICE come back */
	SESSION_CAP_MESSAGE_TAGS = 1 << 2,	/* msgid, +client tags, TAGMSG */
	SESSION_CAP_BATCH = 1 << 3,
	SESSION_CAP_MULTI_PREFIX = 1 << 4,	/* NAMES shows every prefix (@+nick) */
	SESSION_CAP_AWAY_NOTIFY = 1 << 5,	/* AWAY lines of people we share a channel with */
	SESSION_CAP_CHATHISTORY = 1 << 6,	/* draft/chathistory */
	SESSION_CAP_LABELED_RESPONSE = 1 << 7,
};

/* where capability negotiation is */
enum session_cap_state {
	SESSION_CAP_IDLE,	/* not started (not connected) */
	SESSION_CAP_LS,		/* CAP LS 302 sent, the list not complete */
	SESSION_CAP_REQ,	/* CAP REQ sent, waiting for ACK or NAK */
	SESSION_CAP_DONE,	/* CAP END sent, or the server knows no CAP */
};

#define SESSION_BATCHES		16	/* open batches we follow (nested ones too) */
#define SESSION_HISTORY_DEFAULT	20	/* lines /history fetches when not told */

/* an open batch (BATCH +id type params) */
struct session_batch {
	char id[64];
	char type[40];		/* "chathistory", "labeled-response", ... */
	char target[256];	/* the first parameter (a chathistory's channel) */
	int parent;		/* index of the batch it is nested in, or -1 */
	int count;		/* lines seen in it */
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
	/* IRCv3: capabilities and batches */
	enum session_cap_state cap_state;
	unsigned caps_offered;		/* SESSION_CAP_* the server lists */
	unsigned caps;			/* SESSION_CAP_* enabled (ACKed) */
	int cap_pending;		/* CAP REQs not answered yet */
	int chathistory_max;		/* CHATHISTORY= from 005, 0: no limit said */
	bool msgref_msgid, msgref_timestamp;	/* MSGREFTYPES= from 005 */
	int history;			/* lines to fetch when joining, 0: none */
	struct session_batch batches[SESSION_BATCHES];
	int nbatches;
	int history_count;		/* lines of the chathistory batch that ended */
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
/* queue CAP LS 302, PASS, NICK, USER; 0 or -ENOMEM */
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
/* is this SESSION_CAP_* capability enabled? */
bool session_has_cap(const struct session *s, unsigned cap);
/*
 * Should what we send (PRIVMSG, NOTICE) be shown at once? Not with
 * echo-message: the server's copy, tagged and as others got it, comes back.
 */
bool session_echo_local(const struct session *s);
/* the name of one SESSION_CAP_* bit ("server-time"), NULL when unknown */
const char *session_cap_name(unsigned cap);
/*
 * Ask for n (0: SESSION_HISTORY_DEFAULT) lines of chan's history before
 * the oldest line seen there (CHATHISTORY BEFORE, by msgid when the
 * server takes one, else by timestamp; LATEST when nothing was seen),
 * at most the server's CHATHISTORY= limit. 0, -ENOTSUP (no
 * draft/chathistory), -ENOENT (not in chan), -ENOMEM.
 */
int session_history(struct session *s, const char *chan, int n);
/* how many mode changes (+o nick) to send in one MODE line */
int session_modes_per_line(const struct session *s);
/* the nick to try after `try` failures of want (pure; for tests too) */
void session_alt_nick(char *out, size_t cap, const char *want, int try, size_t max);

#endif
