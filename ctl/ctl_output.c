/* ctl_output: tables, "key: value" lines and JSON for shmchatctl (see ctl_output.h) */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_output.h"
#include "ctl_reply.h"
#include "irc.h"
#include "json.h"

/* ---------------------------------------------------------- human forms */

void
ctl_fmt_bytes(char *buf, size_t cap, unsigned long long n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, cap, "%llu B", n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* 1023.96 KiB would round to "1024.0 KiB": say 1.0 MiB */
	if (v >= 1023.95 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void
ctl_fmt_duration(char *buf, size_t cap, unsigned long long secs)
{
	unsigned long long d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60,
	    s = secs % 60;

	if (secs < 60)
		snprintf(buf, cap, "%llus", s);
	else if (secs < 3600)
		snprintf(buf, cap, "%llum %02llus", m, s);
	else if (secs < 86400)
		snprintf(buf, cap, "%lluh %02llum %02llus", h, m, s);
	else
		snprintf(buf, cap, "%llud %02lluh %02llum", d, h, m);
}

void
ctl_fmt_time(char *buf, size_t cap, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "%lld", t);
}

/* ------------------------------------------------------------ printable */

/* the n bytes of valid UTF-8 at s are a C0 or C1 control character or DEL */
static bool
is_control(const unsigned char *s, size_t n)
{
	/* U+0080..U+009F are C2 80..C2 9F */
	if (n == 1)
		return s[0] < 0x20 || s[0] == 0x7f;
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

char *
ctl_sanitize(const char *s, size_t *width)
{
	size_t len = strlen(s), i = 0, w = 0, o = 0;
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t n = irc_utf8_seqlen(s + i, len - i);

		if (n == 0 || is_control((const unsigned char *)s + i, n)) {
			out[o++] = '?';
			i += n ? n : 1;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
		w++;
	}
	out[o] = '\0';
	if (width)
		*width = w;
	return out;
}

/* value as an unsigned number (all digits, fits) */
static bool
parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end == '\0' && errno == 0;
}

char *
ctl_format(enum ctl_fmt fmt, const char *value)
{
	unsigned long long v;
	char buf[64];

	switch (fmt) {
	case CTL_BYTES:
	case CTL_DURATION:
	case CTL_TIME:
		if (!parse_u64(value, &v))
			break;	/* not a number after all: show it as it is */
		if (fmt == CTL_BYTES)
			ctl_fmt_bytes(buf, sizeof buf, v);
		else if (fmt == CTL_DURATION)
			ctl_fmt_duration(buf, sizeof buf, v);
		else if (v <= (unsigned long long)INT64_MAX)
			ctl_fmt_time(buf, sizeof buf, (long long)v);
		else
			break;
		return strdup(buf);
	case CTL_LIST:
		if (value[0] == '\0')
			return strdup("-");
		break;
	case CTL_TEXT:
	case CTL_NUM:
	case CTL_ID:
		break;
	}
	return ctl_sanitize(value, NULL);
}

/* ----------------------------------------------------------------- JSON */

bool
ctl_json_is_number(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 15 && s[n] == '\0' && (s[0] != '0' || n == 1);
}

void
ctl_json_string(FILE *f, const char *s)
{
	size_t len = strlen(s), done, w;
	char chunk[512];

	putc('"', f);
	for (; len > 0; s += done, len -= done) {
		done = json_escape(chunk, sizeof chunk, &w, s, len);
		fwrite(chunk, 1, w, f);
	}
	putc('"', f);
}

void
ctl_json_value(FILE *f, enum ctl_fmt fmt, const char *value)
{
	if (fmt != CTL_TEXT && fmt != CTL_LIST && ctl_json_is_number(value))
		fputs(value, f);
	else
		ctl_json_string(f, value);
}

static const struct ctl_col *
find_col(const struct ctl_col *cols, int ncols, const char *name)
{
	for (int i = 0; i < ncols; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

static enum ctl_fmt
fmt_of(const struct ctl_col *cols, int ncols, const char *name)
{
	const struct ctl_col *c = find_col(cols, ncols, name);

	return c ? c->fmt : CTL_NUM;
}

void
ctl_print_json_rows(FILE *f, const struct ctl_table *t, const struct ctl_col *cols, int ncols)
{
	if (t->nrows == 0) {
		fputs("[]\n", f);
		return;
	}
	fputs("[\n", f);
	for (int r = 0; r < t->nrows; r++) {
		fputs("  {", f);
		for (int c = 0; c < t->ncols; c++) {
			if (c > 0)
				fputs(", ", f);
			ctl_json_string(f, t->cols[c]);
			fputs(": ", f);
			ctl_json_value(f, fmt_of(cols, ncols, t->cols[c]), ctl_table_cell(t, r, c));
		}
		fputs(r + 1 < t->nrows ? "},\n" : "}\n", f);
	}
	fputs("]\n", f);
}

int
ctl_print_json_object(FILE *f, const struct ctl_table *t, const struct ctl_col *keys, int nkeys)
{
	int kc = ctl_table_col(t, "key"), vc = ctl_table_col(t, "value");

	if (kc < 0 || vc < 0)
		return -EBADMSG;
	if (t->nrows == 0) {
		fputs("{}\n", f);
		return 0;
	}
	fputs("{\n", f);
	for (int r = 0; r < t->nrows; r++) {
		const char *k = ctl_table_cell(t, r, kc);

		fputs("  ", f);
		ctl_json_string(f, k);
		fputs(": ", f);
		ctl_json_value(f, fmt_of(keys, nkeys, k), ctl_table_cell(t, r, vc));
		fputs(r + 1 < t->nrows ? ",\n" : "\n", f);
	}
	fputs("}\n", f);
	return 0;
}

/* ---------------------------------------------------------------- table */

static bool
right_aligned(enum ctl_fmt fmt)
{
	return fmt == CTL_NUM || fmt == CTL_BYTES || fmt == CTL_DURATION;
}

/* characters in a valid UTF-8 string (wide characters count as one) */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void
pad(FILE *f, size_t n)
{
	while (n-- > 0)
		putc(' ', f);
}

int
ctl_print_table(FILE *f, const struct ctl_table *t, const struct ctl_col *cols, int ncols)
{
	int shown = 0, *src = calloc(ncols > 0 ? ncols : 1, sizeof *src);
	const struct ctl_col **col = calloc(ncols > 0 ? ncols : 1, sizeof *col);
	size_t *width = calloc(ncols > 0 ? ncols : 1, sizeof *width);
	size_t ncells = (size_t)t->nrows * (ncols > 0 ? ncols : 1);
	char **cell = calloc(ncells ? ncells : 1, sizeof *cell);
	size_t *cw = calloc(ncells ? ncells : 1, sizeof *cw);
	int rc = -ENOMEM;

	if (!src || !col || !width || !cell || !cw)
		goto out;
	/* the known columns this answer has */
	for (int i = 0; i < ncols; i++) {
		int s = ctl_table_col(t, cols[i].name);

		if (s < 0)
			continue;
		src[shown] = s;
		col[shown] = &cols[i];
		width[shown] = strlen(cols[i].label);
		shown++;
	}
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < shown; c++) {
			size_t k = (size_t)r * shown + c;
			char *h = ctl_format(col[c]->fmt, ctl_table_cell(t, r, src[c]));

			if (h == NULL)
				goto out;
			cell[k] = h;
			cw[k] = text_width(h);
			if (cw[k] > width[c])
				width[c] = cw[k];
		}
	for (int r = -1; r < t->nrows; r++) {
		int end = shown;

		/* no blanks at the end of a line whose last fields are empty */
		while (r >= 0 && end > 0 && cell[(size_t)r * shown + end - 1][0] == '\0')
			end--;
		for (int c = 0; c < end; c++) {
			const char *text = r < 0 ? col[c]->label : cell[(size_t)r * shown + c];
			size_t w = r < 0 ? strlen(text) : cw[(size_t)r * shown + c];

			if (c > 0)
				pad(f, 2);
			if (right_aligned(col[c]->fmt))
				pad(f, width[c] - w);
			fputs(text, f);
			if (!right_aligned(col[c]->fmt) && c + 1 < end)
				pad(f, width[c] - w);
		}
		putc('\n', f);
	}
	rc = 0;
out:
	if (cell)
		for (size_t k = 0; k < ncells; k++)
			free(cell[k]);
	free(cell);
	free(cw);
	free(width);
	free(col);
	free(src);
	return rc;
}
