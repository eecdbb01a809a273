/*
 * split: cut a message into pieces that each fit one IRC line.
 *
 * The 512-byte limit applies to the line the server relays, which carries
 * our ":nick!user@host " prefix in front of "PRIVMSG target :text", so the
 * room for text is computed from that relayed form. Pieces end on a space
 * when one is near the limit, and never inside a UTF-8 character.
 */
#ifndef SHMCHAT_SPLIT_H
#define SHMCHAT_SPLIT_H

#include <stddef.h>

/* what we assume for the parts of our prefix we do not know yet */
#define SPLIT_USER_GUESS	10	/* "~" + 9 (USERLEN) */
#define SPLIT_HOST_GUESS	63	/* a DNS label's limit, a common HOSTLEN */

/*
 * Bytes of text that fit in one "CMD target :text" line relayed with the
 * prefix ":nick!user@host ". user or host may be NULL (unknown: guessed).
 * extra is added overhead (9 for the CTCP ACTION wrapper). Never below 1.
 */
size_t split_room(const char *nick, const char *user, const char *host,
    const char *cmd, const char *target, size_t extra);

/*
 * The next piece of text[0..len): returns its length (> 0 when len > 0, at
 * most room) and stores in *advance how many bytes it consumes (the piece
 * plus the space it was cut at, if any).
 */
size_t split_next(const char *text, size_t len, size_t room, size_t *advance);

#endif
