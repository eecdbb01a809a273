/* split: message splitting to the IRC line limit, on UTF-8 boundaries */
#include <config.h>

#include <string.h>

#include "irc.h"
#include "split.h"

size_t
split_room(const char *nick, const char *user, const char *host,
    const char *cmd, const char *target, size_t extra)
{
	size_t used;

	/* ":" nick "!" user "@" host " " cmd " " target " :" ... CR LF */
	used = 1 + strlen(nick) + 1 + (user ? strlen(user) : SPLIT_USER_GUESS) +
	    1 + (host ? strlen(host) : SPLIT_HOST_GUESS) + 1 + strlen(cmd) + 1 +
	    strlen(target) + 2 + 2 + extra;
	if (used >= IRC_MAXLINE)
		return 1;
	return IRC_MAXLINE - used;
}

/* how far back from the limit we look for a space to cut at */
#define SPLIT_WORD_SLACK	64

size_t
split_next(const char *text, size_t len, size_t room, size_t *advance)
{
	size_t cut, i, floor;

	if (room == 0)
		room = 1;
	if (len <= room) {
		*advance = len;
		return len;
	}
	/* a space right at the limit: cut there, drop the space */
	if (text[room] == ' ') {
		*advance = room + 1;
		return room;
	}
	floor = room > SPLIT_WORD_SLACK ? room - SPLIT_WORD_SLACK : 0;
	for (i = room; i > floor && i > 1; i--)
		if (text[i - 1] == ' ') {
			*advance = i;
			return i - 1;
		}
	cut = irc_utf8_cut(text, room);
	if (cut == 0) {
		/* room smaller than one character: send that character whole */
		cut = irc_utf8_seqlen(text, len);
		if (cut == 0)
			cut = 1;
	}
	*advance = cut;
	return cut;
}
