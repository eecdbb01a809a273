/*
 * fields: strings and numbers in one binary-safe run of bytes, each field
 * "<length>:<bytes>" (the length in decimal), for state one process hands
 * another: a cluster snapshot, the master's state across an upgrade. The
 * reader never trusts the writer: every field is checked against what is
 * left and against its caller's bound, and the first bad one stops it.
 */
#ifndef SHMCHAT_FIELDS_H
#define SHMCHAT_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* append a field; 0 or -ENOMEM */
int fields_put(struct buf *b, const void *p, size_t len);
/* a string (NULL: the empty one) */
int fields_str(struct buf *b, const char *s);
int fields_num(struct buf *b, int64_t v);
int fields_unum(struct buf *b, uint64_t v);
/*
 * A field whose bytes are appended to b after it (a nested state written in
 * place, without a copy): fields_open() leaves room for the length and
 * gives its place (0 or -ENOMEM), fields_close() writes it once the bytes
 * are there.
 */
int fields_open(struct buf *b, size_t *mark);
void fields_close(struct buf *b, size_t mark);

struct fields_in {
	const char *p, *end;
	bool bad;		/* a field did not parse: every read from now on fails */
	const char *why;	/* what, once bad */
};

static inline void
fields_in_init(struct fields_in *in, const void *p, size_t len)
{
	in->p = p;
	in->end = in->p + len;
	in->bad = false;
	in->why = NULL;
}

/* mark the input bad (the first reason stays); always false */
bool fields_fail(struct fields_in *in, const char *why);
/* the next field, at most max bytes: its bytes, or NULL (bad) */
const char *fields_get(struct fields_in *in, size_t *len, size_t max);
/* a field as a string in out (of size cap), with no NUL, CR or LF in it */
bool fields_cstr(struct fields_in *in, char *out, size_t cap);
/* a decimal number from min to max (min when bad) */
int64_t fields_int(struct fields_in *in, int64_t min, int64_t max);
/* one without a sign, up to max (0 when bad) */
uint64_t fields_uint(struct fields_in *in, uint64_t max);

#endif
