/*
 * ctl_reply: shmchatctl's side of an answer from shmchatd.
 *
 * Reassembles the numbered reply parts of one request (see adminq.h):
 * parts must come as 0, 1, 2 ... with ADMINQ_F_LAST on the last one and
 * the same status in each; a reply carrying another request id is stale
 * (left by an earlier process with our pid) and skipped. Then splits the
 * answer into rows ('\n') of tab-separated fields, the first row naming
 * the columns. Everything here is untrusted input: sizes are checked and
 * nothing is assumed about the number of rows or fields.
 */
#ifndef SHMCHAT_CTL_REPLY_H
#define SHMCHAT_CTL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adminq.h"

/* an answer larger than this is refused as garbled (about 64 MiB) */
#define CTL_REPLY_MAX	(64u << 20)

struct ctl_reply {
	uint32_t id;		/* the request's id */
	unsigned status;	/* enum adminq_status, valid once a part arrived */
	unsigned next;		/* the part number expected next */
	bool done;		/* the part flagged ADMINQ_F_LAST arrived */
	unsigned stale;		/* replies to other requests skipped */
	unsigned peer_version;	/* -EPROTO: the version the reply speaks */
	char *data;		/* the parts' data, concatenated; NUL-terminated */
	size_t len, cap;
};

void ctl_reply_init(struct ctl_reply *r, uint32_t id);
void ctl_reply_free(struct ctl_reply *r);
/*
 * Add one received message body of len bytes. Returns 1 when the answer is
 * complete, 0 when more is to come (or the message was stale and skipped),
 * -EBADMSG for a garbled part (bad header, a gap or repeat in the part
 * numbers, a status that changes), -EPROTO when the reply speaks another
 * protocol version (r->peer_version says which), -EFBIG past
 * CTL_REPLY_MAX, -ENOMEM.
 */
int ctl_reply_add(struct ctl_reply *r, const struct adminq_msg *m, size_t len);

/* an answer split into rows and fields */
struct ctl_table {
	char *buf;		/* a copy of the data, split in place */
	int ncols;
	int nrows;		/* rows after the header */
	char **cols;		/* column names */
	char **cells;		/* nrows * ncols; missing fields are "" */
};

/*
 * Split data (len bytes) into a table. A single trailing newline ends the
 * last row; fields beyond the header's count are dropped. Returns 0,
 * -EBADMSG when there is no header row or the data holds a NUL byte,
 * -ENOMEM.
 */
int ctl_table_parse(struct ctl_table *t, const char *data, size_t len);
void ctl_table_free(struct ctl_table *t);
/* index of the column called name, or -1 */
int ctl_table_col(const struct ctl_table *t, const char *name);
/* the field of row at column col ("" when col < 0) */
const char *ctl_table_cell(const struct ctl_table *t, int row, int col);

#endif
