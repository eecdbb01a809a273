/* buf: growable byte queue */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof *b);
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

char *
buf_reserve(struct buf *b, size_t n)
{
	if (b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len >= n)
		return b->data + b->len;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, buf_used(b));
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return b->data + b->len;
	}
	size_t need = b->len + n, cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > ((size_t)-1) / 2) {
			errno = ENOMEM;
			return NULL;
		}
		cap *= 2;
	}
	/* realloc: a large buffer grows by remapping, without a copy (an
	 * upgrade's state is megabytes, written while the server pauses) */
	char *p = realloc(b->data, cap);
	if (p == NULL)
		return NULL;
	b->data = p;
	b->cap = cap;
	return b->data + b->len;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	char *dst;

	if (n == 0)
		return 0;
	if ((dst = buf_reserve(b, n)) == NULL)
		return -ENOMEM;
	memcpy(dst, p, n);
	b->len += n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > buf_used(b))
		n = buf_used(b);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

ssize_t
buf_write_fd(struct buf *b, int fd)
{
	size_t total = 0;

	while (buf_used(b) > 0) {
		ssize_t n = write(fd, buf_head(b), buf_used(b));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		buf_consume(b, n);
		total += n;
	}
	return total;
}

void
buf_shrink(struct buf *b, size_t keep)
{
	if (buf_used(b) == 0 && b->cap > keep) {
		free(b->data);
		buf_init(b);
	}
}
