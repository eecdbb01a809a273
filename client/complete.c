/* complete: nick completion */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "complete.h"
#include "irc.h"

static bool
prefix_match(const char *nick, const char *word, size_t wlen)
{
	for (size_t i = 0; i < wlen; i++)
		if (nick[i] == '\0' || irc_tolower(nick[i]) != irc_tolower(word[i]))
			return false;
	return true;
}

size_t
complete_nick(struct complete *c, const char *line, size_t cursor,
    char *const *nicks, size_t nnicks)
{
	const char *word, *first = NULL;
	size_t wlen, common = 0, i;

	memset(c, 0, sizeof *c);
	i = cursor;
	while (i > 0 && line[i - 1] != ' ')
		i--;
	c->word_start = i;
	word = line + i;
	wlen = cursor - i;

	for (i = 0; i < nnicks; i++) {
		size_t k;

		if (!prefix_match(nicks[i], word, wlen))
			continue;
		if (c->nmatch++ == 0) {
			first = nicks[i];
			common = strlen(first);
			continue;
		}
		for (k = wlen; k < common && nicks[i][k] != '\0' &&
		    irc_tolower(nicks[i][k]) == irc_tolower(first[k]); k++)
			;
		common = k;
	}
	if (c->nmatch == 0)
		return 0;
	if (c->nmatch == 1) {
		const char *sep = c->word_start == 0 ? ": " : " ";

		snprintf(c->text, sizeof c->text, "%s%s", first, sep);
	} else {
		size_t n = common;

		if (n >= sizeof c->text)
			n = sizeof c->text - 1;
		memcpy(c->text, first, n);
		c->text[n] = '\0';
	}
	return c->nmatch;
}
