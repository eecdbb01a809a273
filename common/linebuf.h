/*
 * linebuf: frames a byte stream into lines. One read() is not one message:
 * bytes go in as they arrive, complete lines come out.
 *
 * A line ends at LF; a CR before the LF is dropped. A line longer than
 * maxline bytes (counting its CR LF) is never split into several lines and
 * never truncated into a command: linebuf_next() reports LINEBUF_TOOLONG
 * once for it and drops every byte up to the next LF.
 */
#ifndef SHMCHAT_LINEBUF_H
#define SHMCHAT_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

struct linebuf {
	char *buf;		/* maxline bytes */
	size_t maxline;
	size_t len;		/* bytes held */
	size_t scan;		/* bytes already searched for LF */
	bool discarding;	/* inside an overlong line */
	bool borrowed;		/* buf is the caller's: linebuf_free() keeps it */
};

enum linebuf_result {
	LINEBUF_NEED_MORE = 0,
	LINEBUF_LINE = 1,
	LINEBUF_TOOLONG = 2,
};

/* returns 0 or -ENOMEM */
int linebuf_init(struct linebuf *lb, size_t maxline);
/* the same in storage of the caller's (maxline bytes, outliving lb);
 * returns 0 or -EINVAL */
int linebuf_init_in(struct linebuf *lb, char *storage, size_t maxline);
void linebuf_free(struct linebuf *lb);
/* longer lines from now on (what is buffered is kept, lines returned
 * before are not valid any more); 0 or -ENOMEM with nothing changed */
int linebuf_grow(struct linebuf *lb, size_t maxline);
/* where to read() into, and how many bytes fit (always > 0 after next()) */
char *linebuf_space(struct linebuf *lb, size_t *avail);
void linebuf_commit(struct linebuf *lb, size_t n);
/*
 * LINEBUF_LINE: *line, *len is the next line without CR LF, valid until the
 * next call. LINEBUF_TOOLONG: an overlong line was dropped (reported once,
 * when its excess is first seen). LINEBUF_NEED_MORE: read more first.
 */
enum linebuf_result linebuf_next(struct linebuf *lb, const char **line, size_t *len);
/* hand the line returned last out again on the next linebuf_next() */
void linebuf_unget(struct linebuf *lb);
/* bytes buffered but not yet returned as lines */
size_t linebuf_pending(const struct linebuf *lb);
/* forget everything buffered (a new connection starts with no half line) */
void linebuf_reset(struct linebuf *lb);

#endif
