/*
 * irc: the IRC wire syntax, shared by the server and the client.
 * Pure functions only: no I/O, no allocation, no global state.
 *
 * Parsing follows RFC 1459/2812 and "Modern IRC": optional @tags, optional
 * :prefix, a command (letters or a 3-digit numeric), up to 15 parameters of
 * which the last may be a ":trailing" one. Lines handed to irc_parse() have
 * their CR LF already removed by linebuf.
 */
#ifndef SHMCHAT_IRC_H
#define SHMCHAT_IRC_H

#include <stdbool.h>
#include <stddef.h>

#define IRC_MAXLINE	512	/* bytes, including the final CR LF */
#define IRC_MAXTAGS	8191	/* bytes of @tags a peer may send before the line */
#define IRC_MAXPARAMS	15
/* the longest names shmchatd keeps (configuration may set shorter ones) */
#define IRC_NICK_MAX	64
#define IRC_CHAN_MAX	200
#define IRC_USER_MAX	16
#define IRC_HOST_MAX	64
#define IRC_REAL_MAX	128
#define IRC_KEY_MAX	23	/* a channel key (KEYLEN) */

struct irc_msg {
	const char *tags;	/* without '@', NULL when absent */
	const char *prefix;	/* without ':', NULL when absent */
	const char *command;	/* upper-cased copy; numerics stay as 3 digits */
	int nparams;
	const char *params[IRC_MAXPARAMS];
	/* storage the pointers above point into */
	char store[IRC_MAXTAGS + IRC_MAXLINE + IRC_MAXPARAMS + 8];
};

enum irc_parse_err {
	IRC_PARSE_OK = 0,
	IRC_PARSE_EMPTY = -1,		/* empty or only spaces: ignore silently */
	IRC_PARSE_NOCOMMAND = -2,	/* prefix/tags but no command */
	IRC_PARSE_BADCOMMAND = -3,	/* command neither letters nor 3 digits */
	IRC_PARSE_TOOLONG = -4,		/* exceeds IRC_MAXTAGS + IRC_MAXLINE */
	IRC_PARSE_NUL = -5,		/* contains a NUL byte */
};

/*
 * Parse one line (no CR LF; a stray trailing CR is tolerated). len bytes of
 * line are read; line need not be NUL-terminated. Params past the 15th are
 * folded into the 15th as trailing text, as RFC 2812 allows.
 */
int irc_parse(struct irc_msg *m, const char *line, size_t len);
/* parameter i of a parsed message, "" when there is no such parameter */
const char *irc_param(const struct irc_msg *m, int i);
/* its last parameter (usually the text), "" when it has none */
const char *irc_last(const struct irc_msg *m);

/*
 * Format a line into out (capacity IRC_MAXLINE + 1 at least), append CR LF
 * and a NUL. printf-style. The text before CR LF is cut to at most
 * IRC_MAXLINE - 2 bytes, never in the middle of a UTF-8 sequence; any CR, LF
 * or NUL produced by the arguments is replaced by a space so a parameter can
 * never inject a second command. Returns the length including CR LF.
 */
size_t irc_fmt(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Length of the longest prefix of s[0..len) that ends on a UTF-8 boundary. */
size_t irc_utf8_cut(const char *s, size_t len);
/* true when s[0..len) is valid UTF-8 */
bool irc_utf8_valid(const char *s, size_t len);
/*
 * Length (1..4) of the valid UTF-8 sequence that starts s[0..len), or 0 when
 * s starts with an invalid or truncated one (or len is 0). Lets a reader
 * step over bad bytes one at a time, e.g. to show U+FFFD for each.
 */
size_t irc_utf8_seqlen(const char *s, size_t len);

/*
 * Case mapping "rfc1459": A-Z [ ] \ ~ fold to a-z { } | ^ (the server
 * advertises CASEMAPPING=rfc1459 in 005).
 */
char irc_tolower(char c);
int irc_casecmp(const char *a, const char *b);
/* fold src into dst (cap bytes incl. NUL); returns length or -1 if too long */
int irc_casefold(char *dst, size_t cap, const char *src);

/*
 * Masks (bans, exceptions, oper hosts): nick!user@host patterns where *
 * matches any run of characters and ? exactly one, compared under the
 * case mapping. Linear in practice: one backtrack point, never exponential.
 */
#define IRC_MASK_MAX	(IRC_NICK_MAX + IRC_USER_MAX + IRC_HOST_MAX + 2)
bool irc_mask_match(const char *mask, const char *s);
/*
 * The full form of a mask as users type it: "nick" -> "nick!*@*",
 * "user@host" -> "*!user@host", "nick!user" -> "nick!user@*", "a.b" ->
 * "*!*@a.b"; empty parts become "*". false (out "") when the result would
 * not fit cap or the mask holds a space, comma or control character.
 */
bool irc_mask_normalize(const char *in, char *out, size_t cap);

/*
 * Nick: first char a letter or one of []\`_^{|}, then letters, digits,
 * those specials and '-'; 1..maxlen bytes.
 */
bool irc_nick_valid(const char *nick, size_t maxlen);
/*
 * Channel: starts with '#' (CHANTYPES=#), 2..maxlen bytes, no space, comma,
 * BEL (^G), NUL, CR or LF.
 */
bool irc_chan_valid(const char *name, size_t maxlen);

#endif
