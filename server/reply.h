/*
 * reply: the one formatter of a client's reply lines, used by the worker
 * (which writes them to its client) and by the master (which sends them
 * through the ring). A struct reply knows the server's name, the client's
 * nick and where finished lines go.
 */
#ifndef SHMCHAT_REPLY_H
#define SHMCHAT_REPLY_H

#include <stddef.h>

#include "numeric.h"

struct reply {
	const char *server;	/* the prefix of numerics */
	const char *nick;	/* their target: "*" before registration */
	/* a whole line, CR LF included */
	void (*put)(struct reply *r, const char *line, size_t len);
};

/* ":server CODE nick text" from fmt; the text is cut to fit one IRC line */
void reply_numeric(struct reply *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* any other line, formatted (CR LF appended) */
void reply_line(struct reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* a numeric by name, its text from numeric.h: RPL(r, ERR_NOSUCHNICK, nick) */
#define RPL(r, NUM, ...) reply_numeric((r), NUM, NUM##_FMT, ##__VA_ARGS__)

/*
 * An IRCv3 standard reply: ":server FAIL command code [context] :text"
 * (kind "FAIL", "WARN" or "NOTE"; context: parameters, space-separated,
 * or NULL).
 */
void reply_standard(struct reply *r, const char *kind, const char *command,
    const char *code, const char *context, const char *text);

/*
 * A list reply split over as many lines as it needs: items are joined by
 * spaces and each line is RPL-formatted as head followed by ":items", e.g.
 * NAMES (353) and WHOIS channels (319).
 */
struct reply_list {
	struct reply *r;
	const char *code, *fmt;	/* fmt takes two strings: head and the items */
	const char *head;
	char items[400];
	size_t len;
};
void reply_list_start(struct reply_list *l, struct reply *r, const char *code,
    const char *fmt, const char *head);
void reply_list_add(struct reply_list *l, const char *prefix, const char *item);
void reply_list_end(struct reply_list *l);
#define REPLY_LIST_START(l, r, NUM, head) \
	reply_list_start((l), (r), NUM, NUM##_FMT, (head))

#endif
