/*
 * complete: nick (and command) completion for the word before the cursor. Matching is
 * case-insensitive (rfc1459); the completion takes the nick's own case.
 * Pure: the caller supplies the candidates and inserts the result.
 */
#ifndef SHMCHAT_COMPLETE_H
#define SHMCHAT_COMPLETE_H

#include <stddef.h>

struct complete {
	size_t word_start;	/* where the word being completed starts */
	size_t nmatch;		/* how many nicks match it */
	char text[256];		/* replaces line[word_start..cursor) */
};

/*
 * line[0..cursor) is the text before the cursor. nicks are the
 * candidates. A single match is completed whole, followed by ": " when it
 * is the first word of the line and " " otherwise; several matches are
 * completed to their longest common prefix. Returns nmatch.
 */
size_t complete_nick(struct complete *c, const char *line, size_t cursor,
    char *const *nicks, size_t nnicks);
/*
 * The same for a command word ("/ki" -> "/kick "), from the command
 * table (cmd_table), for a line starting with '/' with no space before
 * the cursor.
 */
size_t complete_command(struct complete *c, const char *line, size_t cursor);

#endif
