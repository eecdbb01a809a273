/* ctl_reply: reassembly of reply parts and splitting into rows (see ctl_reply.h) */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "adminq.h"
#include "ctl_reply.h"

void
ctl_reply_init(struct ctl_reply *r, uint32_t id)
{
	memset(r, 0, sizeof *r);
	r->id = id;
}

void
ctl_reply_free(struct ctl_reply *r)
{
	free(r->data);
	r->data = NULL;
	r->len = r->cap = 0;
}

static int
reply_append(struct ctl_reply *r, const char *p, size_t n)
{
	if (n > CTL_REPLY_MAX - r->len)
		return -EFBIG;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 8192;
		char *d;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((d = realloc(r->data, cap)) == NULL)
			return -ENOMEM;
		r->data = d;
		r->cap = cap;
	}
	if (n > 0)
		memcpy(r->data + r->len, p, n);
	r->len += n;
	r->data[r->len] = '\0';
	return 0;
}

int
ctl_reply_add(struct ctl_reply *r, const struct adminq_msg *m, size_t len)
{
	struct adminq_reply_hdr h;
	const char *data;
	int e;

	if (r->done || len < sizeof h || len > sizeof m->body)
		return -EBADMSG;
	/* magic and version lead every version's header: say which one it is */
	memcpy(&h, m->body, sizeof h);
	if (h.magic != ADMINQ_REPLY_MAGIC)
		return -EBADMSG;
	if (h.version != ADMINQ_VERSION) {
		r->peer_version = h.version;
		return -EPROTO;
	}
	if (adminq_decode_reply(m, len, &h, &data) < 0)
		return -EBADMSG;
	if (h.id != r->id) {
		r->stale++;
		return 0;
	}
	if (h.part != r->next || (h.part > 0 && h.status != r->status))
		return -EBADMSG;
	if (h.part == 0)
		r->status = h.status;
	if ((e = reply_append(r, data, h.len)) < 0)
		return e;
	if (h.flags & ADMINQ_F_LAST) {
		r->done = true;
		return 1;
	}
	if (h.part == UINT16_MAX)
		return -EBADMSG;	/* no part number left for the rest */
	r->next++;
	return 0;
}

/* ------------------------------------------------------------- tables */

void
ctl_table_free(struct ctl_table *t)
{
	free(t->buf);
	free(t->cols);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* split s at sep in place into at most max pieces; returns how many */
static int
split(char *s, char sep, char **out, int max)
{
	int n = 0;

	for (;;) {
		char *end = strchr(s, sep);

		if (n < max)
			out[n] = s;
		n++;
		if (end == NULL)
			break;
		*end = '\0';
		s = end + 1;
	}
	return n;
}

int
ctl_table_parse(struct ctl_table *t, const char *data, size_t len)
{
	char **lines = NULL;
	int nlines;

	memset(t, 0, sizeof *t);
	if (len == 0 || memchr(data, '\0', len) != NULL)
		return -EBADMSG;
	if (data[len - 1] == '\n')
		len--;	/* ends the last row rather than starting an empty one */
	if ((t->buf = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(t->buf, data, len);
	t->buf[len] = '\0';

	/* rows */
	nlines = 1;
	for (size_t i = 0; i < len; i++)
		nlines += t->buf[i] == '\n';
	if ((lines = calloc(nlines, sizeof *lines)) == NULL)
		goto nomem;
	split(t->buf, '\n', lines, nlines);

	/* the header row: column names */
	t->ncols = 1;
	for (const char *p = lines[0]; *p; p++)
		t->ncols += *p == '\t';
	if ((t->cols = calloc(t->ncols, sizeof *t->cols)) == NULL)
		goto nomem;
	split(lines[0], '\t', t->cols, t->ncols);
	if (t->ncols == 1 && t->cols[0][0] == '\0') {
		free(lines);
		ctl_table_free(t);
		return -EBADMSG;
	}

	t->nrows = nlines - 1;
	if (t->nrows > 0 &&
	    (t->cells = calloc((size_t)t->nrows * t->ncols, sizeof *t->cells)) == NULL)
		goto nomem;
	for (int i = 0; i < t->nrows; i++) {
		char **row = t->cells + (size_t)i * t->ncols;
		int n = split(lines[i + 1], '\t', row, t->ncols);

		for (int j = n; j < t->ncols; j++)
			row[j] = t->buf + len;	/* the terminating "" */
	}
	free(lines);
	return 0;
nomem:
	free(lines);
	ctl_table_free(t);
	return -ENOMEM;
}

int
ctl_table_col(const struct ctl_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return i;
	return -1;
}

const char *
ctl_table_cell(const struct ctl_table *t, int row, int col)
{
	if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols)
		return "";
	return t->cells[(size_t)row * t->ncols + col];
}
