/*
 * irctags: IRCv3 message tags (ircv3.net/specs/extensions/message-tags),
 * shared by the server and the client. Pure functions: no I/O, no
 * allocation, no global state.
 *
 * A tag section is what follows '@' up to the first space: key[=value]
 * pairs separated by ';'. Values are escaped (";" "\:", " " "\s", "\"
 * "\\", CR "\r", LF "\n"). Client-only tags have keys starting with '+'.
 *
 * The server stamps every relayed message with two tags of fixed width,
 * always first and in this order, so a worker can strip what its client
 * did not ask for by slicing, never by formatting per recipient:
 *
 *   @time=2026-12-06T10:00:00.123Z;msgid=<26 characters>[;+client=tags] :src CMD ...
 *   ^0   ^1                        ^30                                 ^63
 */
#ifndef SHMCHAT_IRCTAGS_H
#define SHMCHAT_IRCTAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRCTAGS_CLIENT_MAX	4094	/* bytes of tag data a client may send */
#define IRCTAGS_TIME_LEN	24	/* 2026-12-06T10:00:00.123Z */
#define IRCTAGS_MSGID_LEN	26	/* base32, sortable by time */
/* "@time=" TIME ";msgid=" MSGID: the server's stamp at the head of a line */
#define IRCTAGS_STAMP_TIME_END	(1 + 5 + IRCTAGS_TIME_LEN)	/* 30: end of "@time=..." */
#define IRCTAGS_STAMP_LEN	(IRCTAGS_STAMP_TIME_END + 7 + IRCTAGS_MSGID_LEN)	/* 63 */

struct irctag {
	const char *key, *val;	/* val: raw (escaped) */
	size_t key_len, val_len;	/* val_len 0: no value, or an empty one */
};

/*
 * The next tag of a tag section (without '@'), from *p up to end; *p moves
 * past it. false at the end. Empty items (";;") are skipped.
 */
bool irctags_next(const char **p, const char *end, struct irctag *t);
/* the tag named key in the section tags[0..len): true with *t filled */
bool irctags_get(const char *tags, size_t len, const char *key, struct irctag *t);
/* a valid key: an optional '+', an optional vendor ending in '/', then
 * letters, digits, '-' and '.'; 1..len bytes */
bool irctags_key_valid(const char *key, size_t len);

/*
 * Escape a value (len bytes) into out (cap bytes, NUL-terminated).
 * Returns the length, or -1 when it does not fit.
 */
int irctags_escape(char *out, size_t cap, const char *val, size_t len);
/*
 * Unescape a raw value into out (cap bytes, NUL-terminated): "\:" ";",
 * "\s" " ", "\\" "\", "\r" CR, "\n" LF, "\" before any other character is
 * dropped, a trailing lone "\" is dropped. Returns the length or -1.
 */
int irctags_unescape(char *out, size_t cap, const char *val, size_t len);

/*
 * The client-only tags (+key) of a client's tag section, checked and
 * joined with ';' into out (cap bytes, NUL-terminated; no leading ';' or
 * '@'). Other tags (label, batch, ...) are left out. Returns the length,
 * or -1 when a client-only key is invalid, a value holds a space, CR, LF
 * or NUL, or the result would pass cap.
 */
int irctags_client_only(char *out, size_t cap, const char *tags, size_t len);

/* server-time: milliseconds since the epoch as 2026-12-06T10:00:00.123Z
 * (IRCTAGS_TIME_LEN bytes and a NUL into out) */
void irctags_time_fmt(char out[IRCTAGS_TIME_LEN + 1], int64_t ms);
/* parse that form (also without milliseconds, or with more digits);
 * false when it is not one */
bool irctags_time_parse(const char *s, size_t len, int64_t *ms);

/*
 * Message ids: unique across processes and restarts, and ordered by time
 * when compared as strings. 128 bits in base32 (0-9 a-v): 48 bits of
 * milliseconds, a 16-bit sequence within the millisecond, the publisher's
 * 24-bit slot and 8 bits of its generation, and 32 random bits drawn once
 * by the server at start.
 */
struct irctags_msgid {
	uint32_t salt;		/* per server run */
	uint32_t slot, gen;	/* the publisher */
	int64_t last_ms;
	uint32_t seq;
};
/* the next id at time ms into out (IRCTAGS_MSGID_LEN bytes and a NUL) */
void irctags_msgid_next(struct irctags_msgid *g, int64_t ms, char out[IRCTAGS_MSGID_LEN + 1]);
/* the milliseconds an id was made at; false when s is not an id */
bool irctags_msgid_ms(const char *s, size_t len, int64_t *ms);

/*
 * The server's stamp for a line: "@time=...;msgid=..." (IRCTAGS_STAMP_LEN
 * bytes, no NUL needed) into out.
 */
void irctags_stamp(char out[IRCTAGS_STAMP_LEN + 1], int64_t ms, const char *msgid);

#endif
