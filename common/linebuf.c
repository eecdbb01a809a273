/*
 * linebuf: frames a byte stream into CR LF / LF terminated lines in a
 * fixed buffer of maxline bytes, dropping overlong lines whole.
 *
 * A returned line stays in place until the next call, which removes it
 * first. No extra field marks it: the scan stops at the first LF, so
 * [0, scan) holds a LF only when it ends a line already handed out.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"

int
linebuf_init(struct linebuf *lb, size_t maxline)
{
	memset(lb, 0, sizeof *lb);
	if (maxline < 3)
		return -EINVAL;	/* room for at least one byte and CR LF */
	lb->buf = malloc(maxline);
	if (lb->buf == NULL)
		return -ENOMEM;
	lb->maxline = maxline;
	return 0;
}

int
linebuf_init_in(struct linebuf *lb, char *storage, size_t maxline)
{
	memset(lb, 0, sizeof *lb);
	if (maxline < 3 || storage == NULL)
		return -EINVAL;
	lb->buf = storage;
	lb->maxline = maxline;
	lb->borrowed = true;
	return 0;
}

int
linebuf_grow(struct linebuf *lb, size_t maxline)
{
	char *nb;

	if (maxline <= lb->maxline)
		return 0;
	if ((nb = malloc(maxline)) == NULL)
		return -ENOMEM;
	memcpy(nb, lb->buf, lb->len);
	if (!lb->borrowed)
		free(lb->buf);
	lb->buf = nb;
	lb->maxline = maxline;
	lb->borrowed = false;
	return 0;
}

void
linebuf_free(struct linebuf *lb)
{
	if (!lb->borrowed)
		free(lb->buf);
	memset(lb, 0, sizeof *lb);
}

/* bytes at the front that belong to the line returned last */
static size_t
returned_bytes(const struct linebuf *lb)
{
	if (lb->scan > 0 && lb->buf[lb->scan - 1] == '\n')
		return lb->scan;
	return 0;
}

static void
drop(struct linebuf *lb, size_t n)
{
	memmove(lb->buf, lb->buf + n, lb->len - n);
	lb->len -= n;
	lb->scan = 0;
}

static void
compact(struct linebuf *lb)
{
	size_t n = returned_bytes(lb);

	if (n > 0)
		drop(lb, n);
}

char *
linebuf_space(struct linebuf *lb, size_t *avail)
{
	compact(lb);
	*avail = lb->maxline - lb->len;
	return lb->buf + lb->len;
}

void
linebuf_commit(struct linebuf *lb, size_t n)
{
	/* never trust n past the space handed out */
	if (n > lb->maxline - lb->len)
		n = lb->maxline - lb->len;
	lb->len += n;
}

enum linebuf_result
linebuf_next(struct linebuf *lb, const char **line, size_t *len)
{
	compact(lb);
	for (;;) {
		char *nl = memchr(lb->buf + lb->scan, '\n', lb->len - lb->scan);
		size_t end, n;

		if (lb->discarding) {
			if (nl == NULL) {
				lb->len = lb->scan = 0;
				return LINEBUF_NEED_MORE;
			}
			drop(lb, (size_t)(nl - lb->buf) + 1);
			lb->discarding = false;
			continue;
		}
		if (nl == NULL) {
			lb->scan = lb->len;
			if (lb->len < lb->maxline)
				return LINEBUF_NEED_MORE;
			/* full without a LF: the rest of this line goes too */
			lb->len = lb->scan = 0;
			lb->discarding = true;
			return LINEBUF_TOOLONG;
		}
		end = (size_t)(nl - lb->buf);
		n = end;
		if (n > 0 && lb->buf[n - 1] == '\r')
			n--;
		if (n > lb->maxline - 2) {
			drop(lb, end + 1);
			return LINEBUF_TOOLONG;
		}
		lb->scan = end + 1;
		*line = lb->buf;
		*len = n;
		return LINEBUF_LINE;
	}
}

size_t
linebuf_pending(const struct linebuf *lb)
{
	return lb->len - returned_bytes(lb);
}

void
linebuf_unget(struct linebuf *lb)
{
	/* the returned line is still at the front until the next call */
	if (returned_bytes(lb) > 0)
		lb->scan = 0;
}

void
linebuf_reset(struct linebuf *lb)
{
	lb->len = lb->scan = 0;
	lb->discarding = false;
}
