/*
 * history: recent chat lines per channel and per private conversation,
 * kept by the master for CHATHISTORY and the replay on JOIN (master only;
 * no worker maps it). Bounded three ways: lines per target, age, and a
 * global number of bytes across all targets (the oldest line anywhere
 * goes first). It survives clients leaving and an upgrade in place
 * (history_write, history_read), not a restart.
 *
 * A line is stored as the server relayed it, stamp included:
 * "@time=...;msgid=...[;+client tags] :nick!user@host PRIVMSG #c :text\r\n"
 * with its time (ms since the epoch) and msgid beside it. Lines are added
 * in the ring's order; times never go backwards within a target (a line
 * older than the target's newest is stored with the newest's time).
 *
 * Targets: a channel by its case-folded name; a private conversation by
 * the two parties' connection ids (uid: unique for the master's life),
 * so a conversation belongs to the two connections that had it, never to
 * whoever takes a nick later. Each party's nick is remembered (as of the
 * last line) for TARGETS and for finding a conversation by nick.
 */
#ifndef SHMCHAT_HISTORY_H
#define SHMCHAT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "irc.h"
#include "irctags.h"

/* the longest line kept: client tags, their '@' and space, a line, the stamp */
#define HISTORY_LINE_MAX	(IRCTAGS_CLIENT_MAX + 2 + IRC_MAXLINE + IRCTAGS_STAMP_LEN)

struct history_limits {
	uint32_t lines;		/* per target (history_lines); 0: no history at all */
	uint32_t age_s;		/* lines older than this go (history_age); 0: no age limit */
	uint64_t max_bytes;	/* all targets together (history_memory) */
};

struct history_entry;
struct history_target;
struct history;

/* a CHATHISTORY reference: "*", timestamp=..., msgid=... */
enum history_ref_kind { HISTORY_REF_NONE, HISTORY_REF_TIME, HISTORY_REF_MSGID };
struct history_ref {
	enum history_ref_kind kind;
	int64_t ms;
	char msgid[IRCTAGS_MSGID_LEN + 1];
};

/* one line handed back by a query (valid until the next history_add,
 * history_expire or history_set_limits) */
struct history_line {
	int64_t ms;
	const char *msgid;
	const char *line;	/* CR LF included */
	size_t len;
};

/* what TARGETS lists: a channel's folded name or a conversation's other nick */
struct history_target_info {
	const char *name;
	int64_t latest_ms;
};

/* NULL on allocation failure */
struct history *history_new(const struct history_limits *lim);
void history_free(struct history *h);
/* new limits (a reload): what they no longer allow goes at once */
void history_set_limits(struct history *h, const struct history_limits *lim);
/* drop lines past the age limit (the master's tick) */
void history_expire(struct history *h, int64_t now_ms);

/*
 * Add a line to a channel (folded name) or to the conversation between
 * from and to (their uids and current nicks). 0, or -ENOMEM (nothing
 * kept), -E2BIG (longer than a line can be), 0 also when lines is 0.
 * Also -EINVAL: a msgid longer than IRCTAGS_MSGID_LEN or a nick longer
 * than IRC_NICK_MAX (nothing kept). msgid NULL or "": the line has none
 * (no reference finds it); a nick NULL: the one remembered stays.
 */
int history_add_chan(struct history *h, const char *chan_key, int64_t ms, const char *msgid,
    const char *line, size_t len);
int history_add_private(struct history *h, uint64_t from, const char *from_nick,
    uint64_t to, const char *to_nick, int64_t ms, const char *msgid,
    const char *line, size_t len);
/* a channel is gone (destroyed): its history stays until bounds take it,
 * unless forget; a client left: its conversations stay readable by the
 * other party while that one is connected, and go when both have left */
void history_forget_chan(struct history *h, const char *chan_key);
void history_user_gone(struct history *h, uint64_t uid);

/* a channel's history, or NULL when it has none */
struct history_target *history_chan(struct history *h, const char *chan_key);
/*
 * uid's conversation with the client other (its uid when that client is
 * connected, else 0) or, failing that, with whoever last had the nick
 * (folded) in a conversation with uid; NULL when none.
 */
struct history_target *history_private(struct history *h, uint64_t uid, uint64_t other,
    const char *nick_key);

/*
 * Queries, as CHATHISTORY defines them; lines come out oldest first, at
 * most limit (which the caller bounds). A msgid reference that is not in
 * the target's history matches nothing: 0 lines (the caller may say
 * so). Bounds are exclusive.
 *   LATEST: the newest lines, after ref (NONE: no lower bound)
 *   BEFORE: the newest lines before ref
 *   AFTER: the oldest lines after ref
 *   AROUND: about limit/2 before ref and the rest from it on
 *   BETWEEN: lines strictly between a and b, in either order of a and b;
 *            from a's side (a before b: the oldest after a; a after b:
 *            the newest before a)
 * A reference NONE ("*") is no bound: BEFORE gives the newest lines,
 * AFTER the oldest, BETWEEN runs to that end; AROUND needs one (0 lines).
 * AROUND: a timestamp's "from" half is the lines at or after it, a
 * msgid's starts with that line; the half before takes up to limit/2
 * lines and the "from" half the rest. Lines past the age limit are never
 * returned, even before history_expire takes them.
 * Returns the number of lines written to out.
 */
enum history_sel { HISTORY_LATEST, HISTORY_BEFORE, HISTORY_AFTER, HISTORY_AROUND,
	HISTORY_BETWEEN };
size_t history_select(struct history *h, struct history_target *t, enum history_sel sel,
    const struct history_ref *a, const struct history_ref *b, size_t limit,
    struct history_line *out);

/*
 * TARGETS: uid's conversations (the other party's nick) with a line in
 * (from_ms, to_ms), either order of the two times, at most limit, oldest
 * latest-line first. From the side of from_ms, as BETWEEN: from_ms
 * before to_ms, the limit oldest; after, the limit newest. The names stay
 * valid until the next call that adds or removes lines. Channels are the caller's (it knows memberships):
 * history_chan_latest gives a channel's newest time (0: none).
 */
size_t history_private_targets(struct history *h, uint64_t uid, int64_t from_ms, int64_t to_ms,
    size_t limit, struct history_target_info *out);
int64_t history_chan_latest(struct history *h, const char *chan_key);

/* statistics: lines and bytes held now */
void history_usage(const struct history *h, uint64_t *lines, uint64_t *bytes);

/*
 * An upgrade in place (handover.h): one image writes the history, the next
 * reads it back. Written: every line of h, oldest first (global order),
 * with the targets' state, appended to out: 0 or -ENOMEM. Read: into h,
 * fresh from history_new with the limits wanted now (lines they do not
 * allow are dropped as history_add would drop them; the age limit is the
 * next history_expire's). 0, or -EPROTO with *why set when the blob is
 * cut, malformed or contradicts itself (h then holds part: free it).
 */
int history_write(const struct history *h, struct buf *out);
int history_read(struct history *h, const void *p, size_t len, const char **why);

#endif
