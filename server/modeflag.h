/*
 * modeflag: a table of mode letters and their bits, shared by channel
 * modes (chanmode.c) and user modes (cmd_user.c).
 */
#ifndef SHMCHAT_MODEFLAG_H
#define SHMCHAT_MODEFLAG_H

#include <stddef.h>
#include <stdint.h>

struct modeflag {
	char letter;
	uint32_t bit;
};

#define MODEFLAG_COUNT(t)	(sizeof (t) / sizeof *(t))

/* the bit of letter in t, 0 when t has no such letter */
static inline uint32_t
modeflag_bit(const struct modeflag *t, size_t n, char letter)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].letter == letter)
			return t[i].bit;
	return 0;
}

/* the letters of bits, in t's order, after out[0..len); returns the new length */
static inline size_t
modeflag_letters(const struct modeflag *t, size_t n, uint32_t bits, char *out, size_t len,
    size_t cap)
{
	for (size_t i = 0; i < n && len + 1 < cap; i++)
		if (bits & t[i].bit)
			out[len++] = t[i].letter;
	if (len < cap)
		out[len] = '\0';
	return len;
}

#endif
