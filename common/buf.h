/*
 * buf: a growable byte queue. Bytes are appended at the end and consumed
 * from the front; consumed space is reclaimed lazily by compacting.
 * Used for socket output queues and framed-message input.
 */
#ifndef SHMCHAT_BUF_H
#define SHMCHAT_BUF_H

#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *data;
	size_t off;	/* first unconsumed byte */
	size_t len;	/* end of valid bytes */
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
static inline size_t buf_used(const struct buf *b) { return b->len - b->off; }
static inline char *buf_head(const struct buf *b) { return b->data + b->off; }
/* make room for n more bytes; returns a pointer to write them or NULL (ENOMEM) */
char *buf_reserve(struct buf *b, size_t n);
static inline void buf_commit(struct buf *b, size_t n) { b->len += n; }
int buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
/* write as much as the fd takes: returns bytes written, 0 when empty, -errno */
ssize_t buf_write_fd(struct buf *b, int fd);
/* release memory of an empty buffer above keep bytes (idle workers stay small) */
void buf_shrink(struct buf *b, size_t keep);

#endif
