/* complete: nick and command completion */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
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

size_t
complete_command(struct complete *c, const char *line, size_t cursor)
{
	size_t nt, k = 0, n;
	const struct cmd_info *t = cmd_table(&nt);
	char store[64][24], *names[64];

	for (size_t i = 0; i < nt && k < sizeof names / sizeof names[0]; i++) {
		snprintf(store[k], sizeof store[k], "/%s", t[i].name);
		names[k] = store[k];
		k++;
	}
	n = complete_nick(c, line, cursor, names, k);
	if (n == 1) {
		/* "/join " rather than the "nick: " of a first word */
		size_t tl = strlen(c->text);

		c->text[tl - 2] = ' ';
		c->text[tl - 1] = '\0';
	}
	return n;
}
