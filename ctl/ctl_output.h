/*
 * ctl_output: how shmchatctl shows an answer (a struct ctl_table): aligned
 * tables and "key: value" lines for people, JSON for scripts.
 *
 * What the server sends is not trusted to be printable: nicks and topics
 * come from IRC clients. Human output replaces control characters (C0, DEL,
 * C1) and invalid UTF-8 with '?', so nothing reaches the terminal as an
 * escape sequence; JSON output escapes them, and turns invalid UTF-8 into
 * U+FFFD.
 */
#ifndef SHMCHAT_CTL_OUTPUT_H
#define SHMCHAT_CTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ctl_reply.h"

/* what a field holds, for its human form and its JSON type */
enum ctl_fmt {
	CTL_TEXT,	/* free text: shown as is, always a JSON string */
	CTL_NUM,	/* a count: right-aligned, JSON number when all digits */
	CTL_ID,		/* a pid, fd or name: left-aligned, JSON number when all digits */
	CTL_BYTES,	/* bytes: "8.0 MiB" */
	CTL_DURATION,	/* seconds: "2h 03m 10s" */
	CTL_TIME,	/* unix time: local "2024-05-01 12:00:03" */
	CTL_LIST,	/* space-separated words, "-" when empty; a JSON string */
};

/* one column (or, for key/value answers, one key) as shown */
struct ctl_col {
	const char *name;	/* the column's name on the wire */
	const char *label;	/* the table heading */
	enum ctl_fmt fmt;
};

/* "512 B", "1.5 KiB", "8.0 MiB" */
void ctl_fmt_bytes(char *buf, size_t cap, unsigned long long n);
/* "42s", "3m 05s", "2h 03m 10s", "4d 02h 03m" */
void ctl_fmt_duration(char *buf, size_t cap, unsigned long long secs);
/* local time "2024-05-01 12:00:03" */
void ctl_fmt_time(char *buf, size_t cap, long long t);

/*
 * A printable copy of s (malloc'd; NULL when out of memory): control
 * characters and invalid UTF-8 bytes become '?'. *width (if not NULL) gets
 * its length in characters.
 */
char *ctl_sanitize(const char *s, size_t *width);
/* the human form of value under fmt (malloc'd, sanitized; NULL: no memory) */
char *ctl_format(enum ctl_fmt fmt, const char *value);

/* digits only, no leading zero, at most 15 of them: a safe JSON number */
bool ctl_json_is_number(const char *s);
/* s as a JSON string, quotes included */
void ctl_json_string(FILE *f, const char *s);
/* value as a number when fmt allows and it is all digits, else as a string */
void ctl_json_value(FILE *f, enum ctl_fmt fmt, const char *value);

/*
 * An aligned table of the columns in cols that the answer has (in cols'
 * order), headed by their labels; numeric columns right-aligned. Returns 0
 * or -ENOMEM.
 */
int ctl_print_table(FILE *f, const struct ctl_table *t, const struct ctl_col *cols, int ncols);
/*
 * A JSON array with one object per row, keys = every column the answer
 * has; values typed by the matching entry of cols (CTL_NUM when unknown).
 */
void ctl_print_json_rows(FILE *f, const struct ctl_table *t, const struct ctl_col *cols,
    int ncols);
/*
 * For "key\tvalue" answers: one JSON object {key: value, ...}; values typed
 * by the entry of keys of that name. Returns -EBADMSG when the answer does
 * not have both columns.
 */
int ctl_print_json_object(FILE *f, const struct ctl_table *t, const struct ctl_col *keys,
    int nkeys);

#endif
