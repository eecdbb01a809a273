/*
 * render: events as lines for a person: "12:34 <nick> text",
 * "* nick waves", "-!- nick has joined #chan", private messages marked
 * "*nick*". Everything that came from the network is cleaned first
 * (render_clean): invalid UTF-8 becomes U+FFFD, control characters
 * cannot reach the terminal, IRC colour/bold codes are dropped. Colours
 * (ANSI SGR) only when asked for. Pure: no I/O.
 */
#ifndef SHMCHAT_RENDER_H
#define SHMCHAT_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

struct render_opts {
	bool color;		/* ANSI colours for nicks and notices */
	bool time;		/* "HH:MM " (local time) in front */
	const char *current;	/* the current target: not repeated per line */
};

/*
 * Clean len bytes of s into out (cap bytes, NUL-terminated, cut on a
 * character boundary when full). Returns the length written.
 */
size_t render_clean(char *out, size_t cap, const char *s, size_t len);

/*
 * One line (no newline) for ev into out; returns its length, 0 for events
 * that show nothing (EV_NONE).
 */
size_t render_event(char *out, size_t cap, const struct event *ev,
    const struct render_opts *ro);

/* the SGR colour number (31..36, 91..96) a nick gets, stable across runs */
int render_nick_color(const char *nick);

#endif
