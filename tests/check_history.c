/*
 * check_history: unit tests for server/history.c, the master's recent
 * lines per channel and per private conversation (CHATHISTORY).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "fields.h"
#include "history.h"
#include "unit.h"

#define BIG	(UINT64_C(1) << 40)	/* a byte bound that never bites */

static struct history *
mk(uint32_t lines, uint32_t age_s, uint64_t max_bytes)
{
	struct history_limits lim = { .lines = lines, .age_s = age_s, .max_bytes = max_bytes };
	struct history *h = history_new(&lim);

	ck_assert_ptr_nonnull(h);
	return h;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* a line as the server stores it; its text is the msgid, to check it comes back whole */
static size_t
fmt(char *buf, size_t cap, const char *msgid, const char *target)
{
	int n = snprintf(buf, cap, "@time=2026-12-06T10:00:00.000Z;msgid=%s :n!u@h PRIVMSG %s :%s\r\n",
	    msgid, target, msgid);

	ck_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static int
addc(struct history *h, const char *chan, int64_t ms, const char *msgid)
{
	char line[256];
	size_t len = fmt(line, sizeof line, msgid, chan);

	return history_add_chan(h, chan, ms, msgid, line, len);
}

static int
addp(struct history *h, uint64_t from, const char *fnick, uint64_t to, const char *tnick,
    int64_t ms, const char *msgid)
{
	char line[256];
	size_t len = fmt(line, sizeof line, msgid, tnick);

	return history_add_private(h, from, fnick, to, tnick, ms, msgid, line, len);
}

static struct history_ref
tref(int64_t ms)
{
	return (struct history_ref){ .kind = HISTORY_REF_TIME, .ms = ms };
}

static struct history_ref
mref(const char *msgid)
{
	struct history_ref r = { .kind = HISTORY_REF_MSGID };

	snprintf(r.msgid, sizeof r.msgid, "%s", msgid);
	return r;
}

static const struct history_ref NONE = { .kind = HISTORY_REF_NONE };

/*
 * A selection's msgids, comma separated, oldest first ("" for none);
 * also checks each line is whole and in time order.
 */
static const char *
sel(struct history *h, struct history_target *t, enum history_sel s, struct history_ref a,
    struct history_ref b, size_t limit)
{
	static char buf[4096];
	struct history_line out[64];
	char want[256];
	size_t n, pos = 0;

	ck_assert_uint_le(limit, 64);
	n = history_select(h, t, s, &a, &b, limit, out);
	ck_assert_uint_le(n, limit);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(strstr(out[i].line, out[i].msgid));
		ck_assert_uint_eq(out[i].len, strlen(out[i].line));
		ck_assert(out[i].len > 2 && memcmp(out[i].line + out[i].len - 2, "\r\n", 2) == 0);
		snprintf(want, sizeof want, ":%s\r\n", out[i].msgid);
		ck_assert_ptr_nonnull(strstr(out[i].line, want));
		if (i > 0)
			ck_assert(out[i - 1].ms <= out[i].ms);
		pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s%s", i ? "," : "",
		    out[i].msgid);
	}
	return buf;
}

/* #c: m1..m10 at 1000..10000 */
static struct history *
ten(void)
{
	struct history *h = mk(100, 0, BIG);
	char id[16];

	for (int i = 1; i <= 10; i++) {
		snprintf(id, sizeof id, "m%d", i);
		ck_assert_int_eq(addc(h, "#c", i * 1000, id), 0);
	}
	return h;
}

START_TEST(latest)
{
	struct history *h = ten();
	struct history_target *t = history_chan(h, "#c");
	struct history_line out[4];
	struct history_ref r = NONE;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(history_chan(h, "#d"));
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, NONE, NONE, 3), "m8,m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, NONE, NONE, 64),
	    "m1,m2,m3,m4,m5,m6,m7,m8,m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, mref("m7"), NONE, 10), "m8,m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, mref("m7"), NONE, 2), "m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, tref(7000), NONE, 10), "m8,m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, tref(6500), NONE, 10), "m7,m8,m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, mref("m10"), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, mref("nope"), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, NONE, NONE, 0), "");
	/* the fields of a line */
	ck_assert_uint_eq(history_select(h, t, HISTORY_LATEST, &r, NULL, 1, out), 1);
	ck_assert_int_eq(out[0].ms, 10000);
	ck_assert_str_eq(out[0].msgid, "m10");
	ck_assert_str_eq(out[0].line,
	    "@time=2026-12-06T10:00:00.000Z;msgid=m10 :n!u@h PRIVMSG #c :m10\r\n");
	ck_assert_int_eq(history_chan_latest(h, "#c"), 10000);
	ck_assert_int_eq(history_chan_latest(h, "#d"), 0);
	history_free(h);
}
END_TEST

START_TEST(before)
{
	struct history *h = ten();
	struct history_target *t = history_chan(h, "#c");

	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, mref("m5"), NONE, 2), "m3,m4");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, mref("m5"), NONE, 10), "m1,m2,m3,m4");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, tref(5000), NONE, 10), "m1,m2,m3,m4");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, tref(5001), NONE, 2), "m4,m5");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, mref("m1"), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, tref(1000), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, mref("m55"), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, NONE, NONE, 2), "m9,m10");
	history_free(h);
}
END_TEST

START_TEST(after)
{
	struct history *h = ten();
	struct history_target *t = history_chan(h, "#c");

	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("m5"), NONE, 2), "m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, tref(5000), NONE, 3), "m6,m7,m8");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, tref(4999), NONE, 3), "m5,m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("m9"), NONE, 10), "m10");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("m10"), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, tref(10000), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("x"), NONE, 10), "");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, NONE, NONE, 2), "m1,m2");
	history_free(h);
}
END_TEST

START_TEST(around)
{
	struct history *h = ten();
	struct history_target *t = history_chan(h, "#c");

	/* limit/2 before, the rest from the reference on (a msgid's line included) */
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("m5"), NONE, 4), "m3,m4,m5,m6");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("m5"), NONE, 5), "m3,m4,m5,m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("m5"), NONE, 1), "m5");
	/* a timestamp: before is < ts, from is >= ts */
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, tref(5000), NONE, 4), "m3,m4,m5,m6");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, tref(4500), NONE, 4), "m3,m4,m5,m6");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, tref(5001), NONE, 4), "m4,m5,m6,m7");
	/* short on one side: the other side gives the rest (after) or what it has */
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("m2"), NONE, 6), "m1,m2,m3,m4,m5,m6");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("m10"), NONE, 4), "m8,m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, tref(99999), NONE, 4), "m9,m10");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("zz"), NONE, 4), "");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, NONE, NONE, 4), "");
	history_free(h);
}
END_TEST

START_TEST(between)
{
	struct history *h = ten();
	struct history_target *t = history_chan(h, "#c");

	/* a before b: the oldest after a; a after b: the newest before a */
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m2"), mref("m8"), 3), "m3,m4,m5");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m8"), mref("m2"), 3), "m5,m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m2"), mref("m8"), 64),
	    "m3,m4,m5,m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m8"), mref("m2"), 64),
	    "m3,m4,m5,m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, tref(2000), tref(8000), 64), "m3,m4,m5,m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, tref(8000), tref(2000), 2), "m6,m7");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, tref(1500), tref(8500), 2), "m2,m3");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m2"), tref(6000), 64), "m3,m4,m5");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, tref(6000), mref("m2"), 64), "m3,m4,m5");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m2"), mref("m3"), 64), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m3"), mref("m3"), 64), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, tref(3000), tref(3000), 64), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("m2"), mref("no"), 64), "");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("no"), mref("m8"), 64), "");
	history_free(h);
}
END_TEST

/* equal times: a time bound excludes them all, a msgid bound is by position */
START_TEST(equal_times_and_monotonic)
{
	struct history *h = mk(100, 0, BIG);
	struct history_target *t;
	struct history_line out[8];

	ck_assert_int_eq(addc(h, "#c", 1000, "a"), 0);
	ck_assert_int_eq(addc(h, "#c", 2000, "b"), 0);
	ck_assert_int_eq(addc(h, "#c", 1500, "c"), 0);	/* older than b: b's time */
	ck_assert_int_eq(addc(h, "#c", 2000, "d"), 0);
	ck_assert_int_eq(addc(h, "#c", 3000, "e"), 0);
	ck_assert_int_eq(addc(h, "#x", 500, "f"), 0);	/* another target: its own times */
	t = history_chan(h, "#c");
	ck_assert_uint_eq(history_select(h, t, HISTORY_LATEST, &NONE, NULL, 8, out), 5);
	ck_assert_int_eq(out[2].ms, 2000);
	ck_assert_str_eq(out[2].msgid, "c");
	ck_assert_uint_eq(history_select(h, history_chan(h, "#x"), HISTORY_LATEST, &NONE, NULL, 8,
	    out), 1);
	ck_assert_int_eq(out[0].ms, 500);
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, tref(2000), NONE, 8), "e");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, tref(1200), NONE, 8), "b,c,d,e");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("b"), NONE, 8), "c,d,e");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, mref("d"), NONE, 8), "a,b,c");
	ck_assert_str_eq(sel(h, t, HISTORY_BEFORE, tref(2000), NONE, 8), "a");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("b"), mref("e"), 8), "c,d");
	ck_assert_str_eq(sel(h, t, HISTORY_BETWEEN, mref("e"), mref("b"), 8), "c,d");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, tref(2000), NONE, 4), "a,b,c,d");
	ck_assert_str_eq(sel(h, t, HISTORY_AROUND, mref("c"), NONE, 4), "a,b,c,d");
	/* no msgid: kept, shown, not found by an empty reference */
	ck_assert_int_eq(history_add_chan(h, "#c", 4000, NULL, "x\r\n", 3), 0);
	ck_assert_uint_eq(history_select(h, t, HISTORY_LATEST, &NONE, NULL, 1, out), 1);
	ck_assert_str_eq(out[0].msgid, "");
	ck_assert_str_eq(out[0].line, "x\r\n");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref(""), NONE, 8), "");
	history_free(h);
}
END_TEST

START_TEST(line_bound)
{
	struct history *h = mk(5, 0, BIG);
	struct history_target *t;
	uint64_t lines, bytes;
	char id[16];

	for (int i = 1; i <= 8; i++) {
		snprintf(id, sizeof id, "m%d", i);
		ck_assert_int_eq(addc(h, "#c", i * 1000, id), 0);
	}
	ck_assert_int_eq(addc(h, "#d", 1, "d1"), 0);
	t = history_chan(h, "#c");
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, NONE, NONE, 64), "m4,m5,m6,m7,m8");
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("m3"), NONE, 64), "");	/* gone */
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("m4"), NONE, 64), "m5,m6,m7,m8");
	ck_assert_str_eq(sel(h, history_chan(h, "#d"), HISTORY_LATEST, NONE, NONE, 64), "d1");
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 6);
	/* a line per target of 1 */
	history_free(h);
	h = mk(1, 0, BIG);
	ck_assert_int_eq(addc(h, "#c", 1, "a"), 0);
	ck_assert_int_eq(addc(h, "#c", 2, "b"), 0);
	ck_assert_str_eq(sel(h, history_chan(h, "#c"), HISTORY_LATEST, NONE, NONE, 64), "b");
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 1);
	history_free(h);
}
END_TEST

START_TEST(age)
{
	struct history *h = mk(100, 30, BIG);
	int64_t now = now_ms();
	uint64_t lines, bytes;

	/* selections hide what is too old before expire takes it */
	ck_assert_int_eq(addc(h, "#c", now - 100000, "old1"), 0);
	ck_assert_int_eq(addc(h, "#d", now - 60000, "d-old"), 0);
	ck_assert_int_eq(addc(h, "#c", now - 50000, "old2"), 0);
	ck_assert_int_eq(addc(h, "#c", now - 1000, "new"), 0);
	ck_assert_int_eq(addc(h, "#d", now - 500, "d-new"), 0);
	ck_assert_str_eq(sel(h, history_chan(h, "#c"), HISTORY_LATEST, NONE, NONE, 64), "new");
	ck_assert_str_eq(sel(h, history_chan(h, "#c"), HISTORY_AFTER, NONE, NONE, 64), "new");
	ck_assert_str_eq(sel(h, history_chan(h, "#c"), HISTORY_BEFORE, mref("new"), NONE, 64), "");
	ck_assert_str_eq(sel(h, history_chan(h, "#c"), HISTORY_AROUND, mref("old2"), NONE, 64),
	    "new");
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 5);
	history_expire(h, now);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 2);
	ck_assert_str_eq(sel(h, history_chan(h, "#d"), HISTORY_LATEST, NONE, NONE, 64), "d-new");
	/* a line from a slow clock, behind newer ones: never shown either */
	ck_assert_int_eq(addc(h, "#e", now - 40000, "late"), 0);
	ck_assert_str_eq(sel(h, history_chan(h, "#e"), HISTORY_LATEST, NONE, NONE, 64), "");
	history_expire(h, now + 3600 * 1000);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_ptr_null(history_chan(h, "#c"));
	history_free(h);

	/* expire goes by the time it is given: cutoff 1500 */
	h = mk(100, 1, BIG);
	ck_assert_int_eq(addc(h, "#c", 1000, "a"), 0);
	ck_assert_int_eq(addc(h, "#c", 2000, "b"), 0);
	ck_assert_int_eq(addc(h, "#c", 3000, "c"), 0);
	history_expire(h, 2500);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 2);
	history_free(h);

	/* age 0: nothing expires */
	h = mk(100, 0, BIG);
	ck_assert_int_eq(addc(h, "#c", 1, "a"), 0);
	history_expire(h, now);
	ck_assert_str_eq(sel(h, history_chan(h, "#c"), HISTORY_LATEST, NONE, NONE, 64), "a");
	history_free(h);
}
END_TEST

/* 100,000 lines through 1 MB: the oldest anywhere go, the bound holds */
START_TEST(byte_bound_flood)
{
	const uint64_t max = 1 << 20;
	struct history *h = mk(1000, 0, max);
	uint64_t lines, bytes, top = 0;
	char chan[16], id[16], nick[16];
	struct history_line out[64];
	struct history_target *t;

	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "e%d", i);
		ck_assert_int_eq(addc(h, "#early", i, id), 0);
	}
	ck_assert_int_eq(addp(h, 1, "a", 2, "b", 5, "p0"), 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof id, "f%d", i);
		if (i % 10 == 9) {
			snprintf(nick, sizeof nick, "n%d", i % 50);
			ck_assert_int_eq(addp(h, 100 + i % 50, nick, 1000, "z", 100 + i, id), 0);
		} else {
			snprintf(chan, sizeof chan, "#c%d", i % 37);
			ck_assert_int_eq(addc(h, chan, 100 + i, id), 0);
		}
		history_usage(h, &lines, &bytes);
		ck_assert_uint_le(bytes, max);
		if (bytes > top)
			top = bytes;
	}
	history_usage(h, &lines, &bytes);
	ck_assert_uint_gt(lines, 1000);
	ck_assert_uint_lt(lines, 100000);
	ck_assert_uint_gt(top, max - 4096);	/* it filled up */
	ck_assert_uint_gt(bytes, lines * 64);	/* lines counted with their overhead */
	/* the first targets went whole; the newest line of the busiest remains */
	ck_assert_ptr_null(history_chan(h, "#early"));
	ck_assert_ptr_null(history_private(h, 1, 2, NULL));
	snprintf(chan, sizeof chan, "#c%d", 99998 % 37);	/* the last channel line's */
	t = history_chan(h, chan);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(history_select(h, t, HISTORY_LATEST, &NONE, NULL, 1, out), 1);
	ck_assert_str_eq(out[0].msgid, "f99998");
	/* what remains of a target is its newest lines, none missing between */
	ck_assert_uint_eq(history_select(h, t, HISTORY_AFTER, &NONE, NULL, 64, out), 64);
	for (int i = 1; i < 64; i++) {
		int64_t d = out[i].ms - out[i - 1].ms;

		/* a channel gets every 37th line but those every 10th that are private */
		ck_assert(d == 37 || (d == 74 && (out[i - 1].ms - 100 + 37) % 10 == 9));
	}
	ck_assert_ptr_nonnull(history_private(h, 1000, 0, "n49"));
	history_free(h);
}
END_TEST

/* one line too big for the byte bound on its own: refused, nothing kept */
START_TEST(byte_bound_tiny)
{
	struct history *h = mk(10, 0, 64);
	uint64_t lines, bytes;

	ck_assert_int_eq(addc(h, "#c", 1, "a"), -ENOMEM);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_ptr_null(history_chan(h, "#c"));
	history_free(h);
}
END_TEST

START_TEST(private_lookup)
{
	struct history *h = mk(100, 0, BIG);
	struct history_target *t, *t3;

	ck_assert_ptr_null(history_private(h, 1, 2, "bob"));
	ck_assert_int_eq(addp(h, 1, "Alice", 2, "Bo[b]", 1000, "p1"), 0);
	ck_assert_int_eq(addp(h, 2, "Bo[b]", 1, "Alice", 2000, "p2"), 0);
	t = history_private(h, 1, 2, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_eq(history_private(h, 2, 1, NULL), t);	/* one conversation, both ways */
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, NONE, NONE, 10), "p1,p2");
	/* by the other's nick, folded (rfc1459: [ is the capital of {) */
	ck_assert_ptr_eq(history_private(h, 1, 0, "bo{b}"), t);
	ck_assert_ptr_eq(history_private(h, 2, 0, "alice"), t);
	ck_assert_ptr_null(history_private(h, 1, 0, "alice"));	/* one's own nick: no */
	ck_assert_ptr_null(history_private(h, 1, 0, "carol"));
	ck_assert_ptr_null(history_private(h, 1, 0, NULL));
	/* the uid wins over the nick; an unknown uid falls back on the nick */
	ck_assert_ptr_eq(history_private(h, 1, 99, "bo{b}"), t);
	/* a new nick, as of the last line */
	ck_assert_int_eq(addp(h, 2, "Robert", 1, "Alice", 3000, "p3"), 0);
	ck_assert_ptr_eq(history_private(h, 1, 0, "robert"), t);
	ck_assert_ptr_null(history_private(h, 1, 0, "bo{b}"));
	/* another uid with the same nick: the most recent conversation */
	ck_assert_int_eq(addp(h, 3, "robert", 1, "Alice", 4000, "q1"), 0);
	t3 = history_private(h, 1, 3, NULL);
	ck_assert_ptr_nonnull(t3);
	ck_assert_ptr_ne(t3, t);
	ck_assert_ptr_eq(history_private(h, 1, 0, "ROBERT"), t3);
	ck_assert_int_eq(addp(h, 1, "Alice", 2, "Robert", 5000, "p4"), 0);
	ck_assert_ptr_eq(history_private(h, 1, 0, "ROBERT"), t);
	ck_assert_str_eq(sel(h, t3, HISTORY_LATEST, NONE, NONE, 10), "q1");
	/* a msgid of another conversation is not in this one */
	ck_assert_str_eq(sel(h, t, HISTORY_AFTER, mref("q1"), NONE, 10), "");
	/* a conversation with oneself */
	ck_assert_int_eq(addp(h, 4, "Me", 4, "Me", 1000, "s1"), 0);
	ck_assert_ptr_nonnull(history_private(h, 4, 4, NULL));
	ck_assert_ptr_eq(history_private(h, 4, 0, "me"), history_private(h, 4, 4, NULL));
	history_user_gone(h, 4);
	ck_assert_ptr_null(history_private(h, 4, 4, NULL));
	history_free(h);
}
END_TEST

/* a third uid never gets a conversation it was not in, whatever its nick */
START_TEST(privacy)
{
	struct history *h = mk(100, 0, BIG);
	struct history_target *t, *own;
	struct history_target_info info[8];

	ck_assert_int_eq(addp(h, 1, "Alice", 2, "Bob", 1000, "p1"), 0);
	t = history_private(h, 1, 2, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(history_private(h, 3, 0, "alice"));
	ck_assert_ptr_null(history_private(h, 3, 0, "bob"));
	ck_assert_ptr_null(history_private(h, 3, 1, "alice"));
	ck_assert_ptr_null(history_private(h, 3, 2, "bob"));
	ck_assert_uint_eq(history_private_targets(h, 3, 0, 10000, 8, info), 0);
	/* uid 3 takes the nick Bob and talks with someone named Alice (uid 4) */
	ck_assert_int_eq(addp(h, 3, "Bob", 4, "Alice", 2000, "q1"), 0);
	own = history_private(h, 3, 0, "alice");
	ck_assert_ptr_nonnull(own);
	ck_assert_ptr_ne(own, t);
	ck_assert_ptr_eq(history_private(h, 3, 1, "alice"), own);
	ck_assert_uint_eq(history_private_targets(h, 3, 0, 10000, 8, info), 1);
	ck_assert_str_eq(info[0].name, "Alice");
	ck_assert_int_eq(info[0].latest_ms, 2000);
	/* and 1 still gets its own */
	ck_assert_ptr_eq(history_private(h, 1, 0, "bob"), t);
	history_free(h);
}
END_TEST

START_TEST(user_gone)
{
	struct history *h = mk(100, 0, BIG);
	struct history_target *t;
	uint64_t lines, bytes;

	ck_assert_int_eq(addc(h, "#c", 1, "c1"), 0);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 1);
	ck_assert_int_eq(addp(h, 1, "Alice", 2, "Bob", 1000, "p1"), 0);
	ck_assert_int_eq(addp(h, 2, "Bob", 1, "Alice", 2000, "p2"), 0);
	ck_assert_int_eq(addp(h, 1, "Alice", 3, "Carol", 2500, "q1"), 0);
	history_user_gone(h, 1);
	/* Bob still reads it, by uid or by nick; Alice (gone) does not */
	t = history_private(h, 2, 1, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_eq(history_private(h, 2, 0, "alice"), t);
	ck_assert_str_eq(sel(h, t, HISTORY_LATEST, NONE, NONE, 10), "p1,p2");
	ck_assert_ptr_null(history_private(h, 1, 2, "bob"));
	ck_assert_ptr_null(history_private(h, 1, 0, "bob"));
	ck_assert_ptr_nonnull(history_private(h, 3, 0, "alice"));
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 4);
	/* both gone: freed */
	history_user_gone(h, 2);
	ck_assert_ptr_null(history_private(h, 2, 1, NULL));
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 2);
	history_user_gone(h, 3);
	history_user_gone(h, 3);	/* twice, and unknown: harmless */
	history_user_gone(h, 77);
	ck_assert_ptr_null(history_private(h, 3, 1, NULL));
	/* only the channel's line and its target are left */
	history_forget_chan(h, "#c");
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(bytes, 0);
	history_free(h);
}
END_TEST

START_TEST(forget_chan)
{
	struct history *h = mk(100, 0, BIG);
	uint64_t lines, bytes, b1;

	ck_assert_int_eq(addc(h, "#a", 1, "a1"), 0);
	history_usage(h, &lines, &b1);
	ck_assert_int_eq(addc(h, "#b", 2, "b1"), 0);
	ck_assert_int_eq(addc(h, "#b", 3, "b2"), 0);
	history_forget_chan(h, "#b");
	history_forget_chan(h, "#nope");
	ck_assert_ptr_null(history_chan(h, "#b"));
	ck_assert_ptr_nonnull(history_chan(h, "#a"));
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 1);
	ck_assert_uint_eq(bytes, b1);
	ck_assert_int_eq(addc(h, "#b", 4, "b3"), 0);	/* a new history */
	ck_assert_str_eq(sel(h, history_chan(h, "#b"), HISTORY_LATEST, NONE, NONE, 10), "b3");
	history_free(h);
}
END_TEST

START_TEST(set_limits)
{
	struct history *h = mk(10, 0, BIG);
	struct history_limits lim = { .lines = 3, .age_s = 0, .max_bytes = BIG };
	uint64_t lines, bytes, b;
	char id[16];

	for (int i = 1; i <= 10; i++) {
		snprintf(id, sizeof id, "a%d", i);
		ck_assert_int_eq(addc(h, "#a", i, id), 0);
		snprintf(id, sizeof id, "b%d", i);
		ck_assert_int_eq(addp(h, 1, "x", 2, "y", i, id), 0);
	}
	history_set_limits(h, &lim);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 6);
	ck_assert_str_eq(sel(h, history_chan(h, "#a"), HISTORY_LATEST, NONE, NONE, 10), "a8,a9,a10");
	ck_assert_str_eq(sel(h, history_private(h, 1, 2, NULL), HISTORY_LATEST, NONE, NONE, 10),
	    "b8,b9,b10");
	/* the byte bound shrinks: the oldest lines go (#a's first) */
	lim.max_bytes = bytes - 1;
	history_set_limits(h, &lim);
	history_usage(h, &lines, &b);
	ck_assert_uint_le(b, bytes - 1);
	ck_assert_uint_eq(lines, 5);
	ck_assert_str_eq(sel(h, history_chan(h, "#a"), HISTORY_LATEST, NONE, NONE, 10), "a9,a10");
	/* an age limit applies at once (those times are in 1970) */
	lim.age_s = 3600;
	history_set_limits(h, &lim);
	history_usage(h, &lines, &b);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(b, 0);
	/* lines 0: history off, all of it goes */
	lim.age_s = 0;
	history_set_limits(h, &lim);
	ck_assert_int_eq(addc(h, "#a", 1, "z"), 0);
	lim.lines = 0;
	history_set_limits(h, &lim);
	history_usage(h, &lines, &b);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(b, 0);
	ck_assert_int_eq(addc(h, "#a", 2, "z2"), 0);
	ck_assert_ptr_null(history_chan(h, "#a"));
	/* and back on */
	lim.lines = 2;
	history_set_limits(h, &lim);
	ck_assert_int_eq(addc(h, "#a", 3, "z3"), 0);
	ck_assert_str_eq(sel(h, history_chan(h, "#a"), HISTORY_LATEST, NONE, NONE, 10), "z3");
	history_free(h);
}
END_TEST

START_TEST(disabled)
{
	struct history *h = mk(0, 0, BIG);
	uint64_t lines, bytes;
	struct history_target_info info[4];

	ck_assert_int_eq(addc(h, "#c", 1, "a"), 0);
	ck_assert_int_eq(addp(h, 1, "a", 2, "b", 1, "p"), 0);
	ck_assert_ptr_null(history_chan(h, "#c"));
	ck_assert_ptr_null(history_private(h, 1, 2, "b"));
	ck_assert_uint_eq(history_private_targets(h, 1, 0, 100, 4, info), 0);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(bytes, 0);
	history_free(h);
	history_free(NULL);
}
END_TEST

START_TEST(too_long)
{
	struct history *h = mk(10, 0, BIG);
	size_t max = HISTORY_LINE_MAX;
	char *line = malloc(max + 1);
	struct history_line out[1];
	uint64_t lines, bytes;

	ck_assert_ptr_nonnull(line);
	memset(line, 'x', max + 1);
	ck_assert_uint_eq(max, 4094 + 2 + 512 + 63);
	ck_assert_int_eq(history_add_chan(h, "#c", 1, "a", line, max + 1), -E2BIG);
	ck_assert_int_eq(history_add_private(h, 1, "a", 2, "b", 1, "a", line, max + 1), -E2BIG);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 0);
	ck_assert_ptr_null(history_chan(h, "#c"));
	ck_assert_ptr_null(history_private(h, 1, 2, NULL));
	ck_assert_int_eq(history_add_chan(h, "#c", 1, "a", line, max), 0);
	ck_assert_uint_eq(history_select(h, history_chan(h, "#c"), HISTORY_LATEST, &NONE, NULL, 1,
	    out), 1);
	ck_assert_uint_eq(out[0].len, max);
	/* a msgid or a nick longer than they can be */
	ck_assert_int_eq(history_add_chan(h, "#c", 1, "123456789012345678901234567", "x\r\n", 3),
	    -EINVAL);
	memset(line, 'n', 65);
	line[65] = '\0';
	ck_assert_int_eq(history_add_private(h, 1, line, 2, "b", 1, "a", "x\r\n", 3), -EINVAL);
	history_usage(h, &lines, &bytes);
	ck_assert_uint_eq(lines, 1);
	free(line);
	history_free(h);
}
END_TEST

START_TEST(targets)
{
	struct history *h = mk(100, 0, BIG);
	struct history_target_info info[8];
	size_t n;

	ck_assert_int_eq(addp(h, 1, "A", 2, "Bob", 3000, "b"), 0);
	ck_assert_int_eq(addp(h, 3, "Carol", 1, "A", 1000, "c"), 0);
	ck_assert_int_eq(addp(h, 1, "A", 4, "Dave", 2000, "d"), 0);
	ck_assert_int_eq(addp(h, 2, "Bob", 5, "Eve", 2500, "e"), 0);	/* not 1's */
	n = history_private_targets(h, 1, 0, 10000, 8, info);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(info[0].name, "Carol");
	ck_assert_int_eq(info[0].latest_ms, 1000);
	ck_assert_str_eq(info[1].name, "Dave");
	ck_assert_str_eq(info[2].name, "Bob");
	ck_assert_int_eq(info[2].latest_ms, 3000);
	/* an open interval, either order */
	n = history_private_targets(h, 1, 1000, 3000, 8, info);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(info[0].name, "Dave");
	ck_assert_uint_eq(history_private_targets(h, 1, 3000, 1000, 8, info), 1);
	/* limited: from's side (the oldest after it, or the newest before it) */
	ck_assert_uint_eq(history_private_targets(h, 1, 0, 10000, 2, info), 2);
	ck_assert_str_eq(info[0].name, "Carol");
	ck_assert_str_eq(info[1].name, "Dave");
	ck_assert_uint_eq(history_private_targets(h, 1, 10000, 0, 2, info), 2);
	ck_assert_str_eq(info[0].name, "Dave");
	ck_assert_str_eq(info[1].name, "Bob");
	ck_assert_uint_eq(history_private_targets(h, 1, 10000, 0, 1, info), 1);
	ck_assert_str_eq(info[0].name, "Bob");
	ck_assert_uint_eq(history_private_targets(h, 1, 0, 10000, 0, info), 0);
	ck_assert_uint_eq(history_private_targets(h, 9, 0, 10000, 8, info), 0);
	/* a newer line moves a conversation later */
	ck_assert_int_eq(addp(h, 3, "Carol", 1, "A", 4000, "c2"), 0);
	ck_assert_uint_eq(history_private_targets(h, 1, 0, 10000, 8, info), 3);
	ck_assert_str_eq(info[2].name, "Carol");
	ck_assert_int_eq(info[2].latest_ms, 4000);
	history_free(h);
}
END_TEST

/* ---------------------------------------------------------------- handover */

/* a selection's msgids, comma separated ("" for a line without one) */
static const char *
ids(struct history *h, struct history_target *t, enum history_sel s, struct history_ref a,
    size_t limit)
{
	static char buf[4096];
	struct history_line out[64];
	size_t n = history_select(h, t, s, &a, &a, limit, out), pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s%s", i ? "," : "",
		    out[i].msgid);
	return buf;
}

static void
wr(const struct history *h, struct buf *out)
{
	buf_init(out);
	ck_assert_int_eq(history_write(h, out), 0);
}

/* a blob read into a fresh history of these limits; NULL: refused (*why) */
static struct history *
rd(uint32_t lines, uint64_t max_bytes, const void *p, size_t len, const char **why)
{
	struct history *h = mk(lines, 0, max_bytes);
	int rc;

	*why = NULL;
	rc = history_read(h, p, len, why);
	ck_assert(rc == 0 || rc == -EPROTO);
	if (rc < 0) {
		ck_assert_ptr_nonnull(*why);
		history_free(h);
		return NULL;
	}
	ck_assert_ptr_null(*why);
	return h;
}

static void
same_blob(const struct history *a, const struct history *b)
{
	struct buf x, y;

	wr(a, &x);
	wr(b, &y);
	ck_assert_uint_eq(x.len, y.len);
	ck_assert(memcmp(x.data, y.data, x.len) == 0);
	buf_free(&x);
	buf_free(&y);
}

static void
same_sel(struct history *a, struct history_target *ta, struct history *b,
    struct history_target *tb, enum history_sel s, struct history_ref r)
{
	struct history_line x[64], y[64];
	size_t n = history_select(a, ta, s, &r, &r, 64, x);

	ck_assert_uint_eq(history_select(b, tb, s, &r, &r, 64, y), n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(x[i].ms, y[i].ms);
		ck_assert_str_eq(x[i].msgid, y[i].msgid);
		ck_assert_uint_eq(x[i].len, y[i].len);
		ck_assert(memcmp(x[i].line, y[i].line, x[i].len) == 0);
	}
}

/* one target's answers, by every reference its lines give */
static void
same_target(struct history *a, struct history_target *ta, struct history *b,
    struct history_target *tb)
{
	struct history_line x[64];
	size_t n;

	ck_assert((ta == NULL) == (tb == NULL));
	if (ta == NULL)
		return;
	same_sel(a, ta, b, tb, HISTORY_LATEST, NONE);
	n = history_select(a, ta, HISTORY_LATEST, &NONE, NULL, 64, x);
	ck_assert_uint_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		struct history_ref m = x[i].msgid[0] != '\0' ? mref(x[i].msgid) : NONE;

		same_sel(a, ta, b, tb, HISTORY_LATEST, m);
		same_sel(a, ta, b, tb, HISTORY_BEFORE, m);
		same_sel(a, ta, b, tb, HISTORY_AFTER, m);
		same_sel(a, ta, b, tb, HISTORY_AROUND, m);
		same_sel(a, ta, b, tb, HISTORY_BEFORE, tref(x[i].ms));
		same_sel(a, ta, b, tb, HISTORY_AFTER, tref(x[i].ms));
	}
}

/* what clients can ask of a and of b: the same answers */
static void
same(struct history *a, struct history *b)
{
	static const char *chans[] = { "#early", "#keep", "#main", "#side", "#none" };
	static const uint64_t convs[][2] = { { 1, 2 }, { 2, 1 }, { 1, 3 }, { 3, 1 }, { 1, 4 },
		{ 5, 6 }, { 9, 9 }, { 7, 8 }, { 1, 10 }, { 4, 1 } };
	static const struct { uint64_t uid; const char *nick; } by_nick[] = { { 1, "robert" },
		{ 1, "bob" }, { 2, "alice" }, { 3, "alice" }, { 1, "carol" }, { 4, "alice" },
		{ 9, "me" }, { 10, "alice" }, { 7, "hank" } };
	struct history_target_info x[16], y[16];
	uint64_t la, ba, lb, bb;
	size_t n;

	history_usage(a, &la, &ba);
	history_usage(b, &lb, &bb);
	ck_assert_uint_eq(la, lb);
	ck_assert_uint_eq(ba, bb);
	for (size_t i = 0; i < sizeof chans / sizeof *chans; i++) {
		ck_assert_int_eq(history_chan_latest(a, chans[i]),
		    history_chan_latest(b, chans[i]));
		same_target(a, history_chan(a, chans[i]), b, history_chan(b, chans[i]));
	}
	for (size_t i = 0; i < sizeof convs / sizeof *convs; i++)
		same_target(a, history_private(a, convs[i][0], convs[i][1], NULL),
		    b, history_private(b, convs[i][0], convs[i][1], NULL));
	for (size_t i = 0; i < sizeof by_nick / sizeof *by_nick; i++)
		same_target(a, history_private(a, by_nick[i].uid, 0, by_nick[i].nick),
		    b, history_private(b, by_nick[i].uid, 0, by_nick[i].nick));
	for (uint64_t uid = 1; uid <= 10; uid++) {
		n = history_private_targets(a, uid, 0, INT64_MAX, 16, x);
		ck_assert_uint_eq(history_private_targets(b, uid, 0, INT64_MAX, 16, y), n);
		for (size_t i = 0; i < n; i++) {
			ck_assert_str_eq(x[i].name, y[i].name);
			ck_assert_int_eq(x[i].latest_ms, y[i].latest_ms);
		}
		/* the newest only: ties go by the order of uid's list */
		n = history_private_targets(a, uid, INT64_MAX, 0, 1, x);
		ck_assert_uint_eq(history_private_targets(b, uid, INT64_MAX, 0, 1, y), n);
		if (n > 0)
			ck_assert_str_eq(x[0].name, y[0].name);
	}
}

/* the oldest lines: what the byte bound takes first (#keep's ring stays
 * as large as five lines made it, with one line in it) */
static void
early(struct history *h)
{
	char id[16];

	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "k%d", i);
		ck_assert_int_eq(addc(h, "#keep", 50 + i, id), 0);
	}
	ck_assert_int_eq(addc(h, "#early", 100, "e1"), 0);
	ck_assert_int_eq(addp(h, 7, "Gina", 8, "Hank", 200, "g1"), 0);
	ck_assert_int_eq(addc(h, "#early", 300, "e2"), 0);
	ck_assert_int_eq(addp(h, 8, "Hank", 7, "Gina", 400, "g2"), 0);
}

/* something of everything: lines without a msgid, a time clamped, a nick
 * changed, a party gone, both parties gone, oneself, the lines bound */
static void
rest(struct history *h)
{
	char id[16], line[64];

	for (int i = 1; i <= 10; i++) {
		snprintf(id, sizeof id, "m%d", i);
		if (i % 3 == 0) {
			snprintf(line, sizeof line, ":n!u@h PRIVMSG #main :no id %d\r\n", i);
			ck_assert_int_eq(history_add_chan(h, "#main", 1000 + i * 100, NULL, line,
			    strlen(line)), 0);
		} else {
			ck_assert_int_eq(addc(h, "#main", 1000 + i * 100, id), 0);
		}
		if (i % 2 == 0) {
			snprintf(id, sizeof id, "s%d", i);
			ck_assert_int_eq(addc(h, "#side", 1000 + i * 100, id), 0);
		}
	}
	ck_assert_int_eq(addp(h, 1, "Alice", 2, "Bob", 2000, "p1"), 0);
	ck_assert_int_eq(addp(h, 2, "Bob", 1, "Alice", 2100, "p2"), 0);
	ck_assert_int_eq(addp(h, 1, "Alice", 3, "Carol", 2200, "q1"), 0);
	ck_assert_int_eq(addp(h, 3, "Carol", 1, "Alice", 2300, "q2"), 0);
	ck_assert_int_eq(addp(h, 2, "Robert", 1, "Alice", 2050, "p3"), 0);	/* at 2100 */
	ck_assert_int_eq(addp(h, 5, "Eve", 6, "Finn", 2400, "r1"), 0);
	ck_assert_int_eq(addp(h, 9, "Me", 9, "Me", 2500, "o1"), 0);
	ck_assert_int_eq(addp(h, 1, "Alice", 4, "Dave", 2600, "d1"), 0);
	history_user_gone(h, 3);	/* 1 still reads it */
	history_user_gone(h, 5);
	history_user_gone(h, 6);	/* both: gone */
	ck_assert_int_eq(addc(h, "#main", 2700, "m11"), 0);
	ck_assert_int_eq(addp(h, 2, "Robert", 1, "Alice", 2800, "p4"), 0);
	ck_assert_int_eq(addc(h, "#side", 1500, "s12"), 0);	/* clamped */
	ck_assert_int_eq(addp(h, 10, "Bob", 1, "Alice", 2900, "b1"), 0);
	ck_assert_int_eq(addp(h, 4, NULL, 1, NULL, 2900, "d2"), 0);	/* nicks as they were */
	ck_assert_int_eq(addc(h, "#keep", 3000, "k5"), 0);
}

#define RT_LINES	6

/* early then rest, in a byte bound that takes about what early holds */
static struct history *
build(uint64_t *max_bytes)
{
	struct history *h = mk(RT_LINES, 0, BIG);
	uint64_t lines, b_early, b_all;

	early(h);
	history_usage(h, &lines, &b_early);
	rest(h);
	history_usage(h, &lines, &b_all);
	history_free(h);
	*max_bytes = b_all - b_early;
	h = mk(RT_LINES, 0, *max_bytes);
	early(h);
	rest(h);
	return h;
}

START_TEST(handover_round_trip)
{
	uint64_t max;
	struct history *a = build(&max), *b;
	struct history_target *t;
	struct buf one;
	const char *why;

	/* the bound took the oldest, the lines bound #main's first */
	ck_assert_ptr_null(history_chan(a, "#early"));
	ck_assert_ptr_null(history_private(a, 7, 8, NULL));
	ck_assert_ptr_nonnull(history_chan(a, "#side"));
	ck_assert_str_eq(sel(a, history_chan(a, "#keep"), HISTORY_LATEST, NONE, NONE, 64), "k5");
	ck_assert_str_eq(ids(a, history_chan(a, "#main"), HISTORY_LATEST, NONE, 64),
	    ",m7,m8,,m10,m11");	/* 6 and 9 have none */
	wr(a, &one);
	b = rd(RT_LINES, max, one.data, one.len, &why);
	ck_assert_msg(b != NULL, "refused: %s", why);
	/* written again, the same bytes; the same answers */
	same_blob(a, b);
	same(a, b);
	/* what the state means, on the copy */
	t = history_private(b, 1, 3, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_eq(history_private(b, 1, 0, "carol"), t);
	ck_assert_ptr_null(history_private(b, 3, 1, NULL));	/* gone */
	ck_assert_ptr_null(history_private(b, 5, 6, NULL));
	ck_assert_ptr_eq(history_private(b, 1, 0, "bob"), history_private(b, 1, 10, NULL));
	ck_assert_ptr_eq(history_private(b, 1, 0, "robert"), history_private(b, 2, 1, NULL));
	ck_assert_ptr_eq(history_private(b, 9, 0, "me"), history_private(b, 9, 9, NULL));
	ck_assert_str_eq(sel(b, history_private(b, 1, 2, NULL), HISTORY_AFTER, mref("p1"), NONE,
	    64), "p2,p3,p4");
	ck_assert_str_eq(ids(b, history_chan(b, "#main"), HISTORY_BEFORE, mref("m10"), 2), "m8,");
	ck_assert_int_eq(history_chan_latest(b, "#side"), 2000);
	/* and they go on the same: more lines through the bound, parties leaving */
	for (int i = 0; i < 40; i++) {
		char id[16];

		snprintf(id, sizeof id, "n%d", i);
		ck_assert_int_eq(addc(a, i % 2 ? "#main" : "#new", 3000 + i, id), 0);
		ck_assert_int_eq(addc(b, i % 2 ? "#main" : "#new", 3000 + i, id), 0);
		if (i % 10 == 0) {
			ck_assert_int_eq(addp(a, 2, "Robert", 1, "Alice", 3000 + i, id), 0);
			ck_assert_int_eq(addp(b, 2, "Robert", 1, "Alice", 3000 + i, id), 0);
		}
		same_blob(a, b);
	}
	history_user_gone(a, 1);
	history_user_gone(b, 1);
	same_blob(a, b);
	same(a, b);
	buf_free(&one);
	history_free(a);
	history_free(b);
}
END_TEST

/* every prefix of a blob is refused, and nothing crashes or leaks */
START_TEST(handover_cut_short)
{
	uint64_t max;
	struct history *a = build(&max), *b;
	struct buf one;
	const char *why;

	wr(a, &one);
	for (size_t len = 0; len < one.len; len++) {
		b = rd(RT_LINES, max, one.data, len, &why);
		ck_assert_msg(b == NULL, "a blob cut to %zu of %zu bytes was taken", len, one.len);
	}
	/* and one byte more */
	ck_assert_int_eq(buf_append(&one, "0", 1), 0);
	ck_assert_ptr_null(rd(RT_LINES, max, one.data, one.len, &why));
	ck_assert_str_eq(why, "bytes after the end");
	buf_free(&one);
	history_free(a);
}
END_TEST

/* any byte changed: taken or refused, never a crash (valgrind checks the
 * memory); what is taken is a history that writes and reads back whole */
START_TEST(handover_altered)
{
	static const char repl[] = "0123456789:HCPcpUE#!@ \r\xff";
	uint64_t max, seed = 0x9e3779b97f4a7c15ULL;
	struct history *a = build(&max), *b, *c;
	struct buf one, two;
	int refused = 0, taken = 0;
	const char *why;

	wr(a, &one);
	for (int i = 0; i < 4000; i++) {
		char *copy = malloc(one.len);
		size_t at;

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, one.data, one.len);
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		at = (size_t)(seed % one.len);
		copy[at] = repl[(seed >> 32) % (sizeof repl - 1)];
		b = rd(RT_LINES, max, copy, one.len, &why);
		if (b == NULL) {
			refused++;
		} else {
			uint64_t lines, bytes;

			taken++;
			history_usage(b, &lines, &bytes);
			ck_assert_uint_le(bytes, max);
			wr(b, &two);
			c = rd(RT_LINES, max, two.data, two.len, &why);
			ck_assert_msg(c != NULL, "a copy of what was taken is refused: %s", why);
			same_blob(b, c);
			buf_free(&two);
			history_free(b);
			history_free(c);
		}
		free(copy);
	}
	ck_assert_int_gt(refused, 0);
	ck_assert_int_gt(taken, 0);
	buf_free(&one);
	history_free(a);
}
END_TEST

/* lines in turn over channels and conversations, nicks that stay */
static void
plain(struct history *h)
{
	char id[16], chan[16];

	for (int i = 0; i < 60; i++) {
		snprintf(id, sizeof id, "x%d", i);
		if (i % 4 == 3) {
			ck_assert_int_eq(addp(h, (uint64_t)(i % 3 + 1), i % 3 ? "A" : "B",
			    (uint64_t)(i % 5 + 10), "C", i * 10, id), 0);
		} else {
			snprintf(chan, sizeof chan, "#c%d", i % 7);
			ck_assert_int_eq(addc(h, chan, i * 10, id), 0);
		}
	}
}

/* read with smaller limits, the lines go as adding them there would */
START_TEST(handover_smaller_limits)
{
	struct history *a = mk(100, 0, BIG), *b, *c;
	uint64_t lines, bytes, max;
	struct buf one;
	const char *why;

	plain(a);
	wr(a, &one);
	/* the lines bound: each target's newest */
	b = mk(3, 0, BIG);
	plain(b);
	c = rd(3, BIG, one.data, one.len, &why);
	ck_assert_msg(c != NULL, "refused: %s", why);
	same_blob(b, c);
	ck_assert_str_eq(sel(c, history_chan(c, "#c0"), HISTORY_LATEST, NONE, NONE, 64),
	    "x42,x49,x56");
	history_free(b);
	history_free(c);
	/* and a byte bound: the oldest anywhere, targets whole */
	history_usage(a, &lines, &bytes);
	max = bytes / 3;
	b = mk(3, 0, max);
	plain(b);
	c = rd(3, max, one.data, one.len, &why);
	ck_assert_msg(c != NULL, "refused: %s", why);
	same_blob(b, c);
	history_usage(c, &lines, &bytes);
	ck_assert_uint_le(bytes, max);
	ck_assert_uint_lt(lines, 21);
	ck_assert_str_eq(sel(c, history_chan(c, "#c1"), HISTORY_LATEST, NONE, NONE, 64),
	    "x50,x57");	/* x43 went with the bytes */
	history_free(b);
	history_free(c);
	/* no history at all: taken, nothing kept */
	c = rd(0, BIG, one.data, one.len, &why);
	ck_assert_msg(c != NULL, "refused: %s", why);
	history_usage(c, &lines, &bytes);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(bytes, 0);
	history_free(c);
	buf_free(&one);
	history_free(a);
}
END_TEST

/* hand-made blobs: a channel and a conversation declared, their lines */
static void
chan_decl(struct buf *b, const char *name, int cap)
{
	fields_str(b, "C");
	fields_str(b, name);
	fields_num(b, cap);
}

static void
conv_decl(struct buf *b, int u0, int s0, int u1, int s1, int cap)
{
	fields_str(b, "P");
	fields_num(b, u0);
	fields_str(b, "n0");
	fields_num(b, s0);
	fields_num(b, u1);
	fields_str(b, "n1");
	fields_num(b, s1);
	fields_num(b, cap);
}

static void
chan_line(struct buf *b, const char *name, int ms)
{
	fields_str(b, "c");
	fields_str(b, name);
	fields_num(b, ms);
	fields_str(b, "");
	fields_str(b, "x\r\n");
}

static void
conv_line(struct buf *b, int u0, int u1, int ms)
{
	fields_str(b, "p");
	fields_num(b, u0);
	fields_num(b, u1);
	fields_num(b, ms);
	fields_str(b, "");
	fields_str(b, "x\r\n");
}

static void
list(struct buf *b, int uid, int n, const int *other)
{
	fields_str(b, "U");
	fields_num(b, uid);
	fields_num(b, n);
	for (int i = 0; i < n; i++)
		fields_num(b, other[i]);
}

static void
end(struct buf *b, int targets, int lines, int lists)
{
	fields_str(b, "E");
	fields_num(b, targets);
	fields_num(b, lines);
	fields_num(b, lists);
}

/* b read and freed: NULL taken, else why */
static const char *
try(struct buf *b)
{
	const char *why;
	struct history *h = rd(10, BIG, b->data, b->len, &why);

	buf_free(b);
	history_free(h);
	return h == NULL ? why : NULL;
}

static struct buf
head(void)
{
	struct buf b;

	buf_init(&b);
	fields_str(&b, "H");
	return b;
}

/* h written is b, byte for byte; both freed */
static void
written_as(struct history *h, struct buf *b)
{
	struct buf again;

	wr(h, &again);
	ck_assert_uint_eq(again.len, b->len);
	ck_assert(memcmp(again.data, b->data, b->len) == 0);
	buf_free(&again);
	buf_free(b);
	history_free(h);
}

START_TEST(handover_contradictions)
{
	static const int two[] = { 2 }, one[] = { 1 }, twice[] = { 2, 2 };
	struct buf b;
	struct history *h;
	const char *why;

	/* what the cases alter is taken as it is */
	b = head();
	end(&b, 0, 0, 0);
	ck_assert_ptr_null(try(&b));
	b = head();
	chan_decl(&b, "#c", 4);
	chan_line(&b, "#c", 1);
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	list(&b, 1, 1, two);
	list(&b, 2, 1, one);
	end(&b, 2, 2, 2);
	ck_assert_ptr_null(try(&b));
	/* the start, the records, the end */
	buf_init(&b);
	end(&b, 0, 0, 0);
	ck_assert_str_eq(try(&b), "not a history");
	b = head();
	fields_str(&b, "Z");
	ck_assert_str_eq(try(&b), "an unknown record");
	b = head();
	end(&b, 1, 0, 0);
	ck_assert_str_eq(try(&b), "the counts at the end disagree");
	/* targets and their lines */
	b = head();
	chan_line(&b, "#c", 1);
	ck_assert_str_eq(try(&b), "a line's target is not declared");
	b = head();
	chan_decl(&b, "#c", 4);
	chan_line(&b, "#c", 1);
	chan_decl(&b, "#c", 4);
	ck_assert_str_eq(try(&b), "a target is declared twice");
	b = head();
	chan_decl(&b, "#c", 4);
	chan_decl(&b, "#d", 4);
	ck_assert_str_eq(try(&b), "a target is declared without a line");
	b = head();
	chan_decl(&b, "#c", 4);
	end(&b, 1, 0, 0);
	ck_assert_str_eq(try(&b), "a target is declared without a line");
	b = head();
	chan_decl(&b, "#c", 4);
	chan_line(&b, "#c", 2);
	chan_line(&b, "#c", 1);
	ck_assert_str_eq(try(&b), "a target's times go backwards");
	b = head();
	chan_decl(&b, "#c", 6);
	ck_assert_str_eq(try(&b), "a ring's size is no power of two");
	b = head();
	chan_decl(&b, "#c", 4);
	for (int i = 0; i < 5; i++)
		chan_line(&b, "#c", i);
	end(&b, 1, 5, 0);
	ck_assert_str_eq(try(&b), "a ring is smaller than its lines");
	b = head();
	conv_decl(&b, 2, 0, 1, 0, 4);
	ck_assert_str_eq(try(&b), "a conversation's parties are out of order");
	b = head();
	conv_decl(&b, 1, 1, 2, 1, 4);
	ck_assert_str_eq(try(&b), "a conversation whose parties are both gone");
	b = head();
	conv_decl(&b, 1, 0, 1, 0, 4);
	ck_assert_str_eq(try(&b), "a conversation with oneself has two parties");
	/* the lists */
	b = head();
	conv_decl(&b, 1, 0, 2, 1, 4);	/* 2 is gone */
	conv_line(&b, 1, 2, 1);
	list(&b, 1, 1, two);
	list(&b, 2, 1, one);
	ck_assert_str_eq(try(&b), "a list holds a conversation not on it");
	b = head();
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	list(&b, 1, 1, two);
	end(&b, 1, 1, 1);
	ck_assert_str_eq(try(&b), "a list is missing");
	b = head();
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	list(&b, 2, 1, one);
	list(&b, 1, 1, two);
	ck_assert_str_eq(try(&b), "the lists are out of order");
	b = head();
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	list(&b, 1, 0, NULL);
	ck_assert_str_eq(try(&b), "a list and its conversations disagree");
	b = head();
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	conv_line(&b, 1, 2, 2);
	list(&b, 1, 2, twice);
	ck_assert_str_eq(try(&b), "a list and its conversations disagree");
	b = head();
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	list(&b, 1, 1, two);
	chan_decl(&b, "#c", 4);
	ck_assert_str_eq(try(&b), "a line after the lists");
	/* a party off its list (a failed link): found by uid, not by nick */
	b = head();
	conv_decl(&b, 1, 0, 2, 2, 4);
	conv_line(&b, 1, 2, 1);
	list(&b, 1, 1, two);
	end(&b, 1, 1, 1);
	h = rd(10, BIG, b.data, b.len, &why);
	ck_assert_msg(h != NULL, "refused: %s", why);
	ck_assert_ptr_nonnull(history_private(h, 2, 1, NULL));
	ck_assert_ptr_null(history_private(h, 2, 0, "n0"));
	ck_assert_ptr_nonnull(history_private(h, 1, 0, "n1"));
	ck_assert_uint_eq(history_private_targets(h, 2, 0, 10, 4,
	    (struct history_target_info[4]){ { 0 } }), 0);
	written_as(h, &b);
	/* a list's order as given, not as the lines came: 1 talked with 3
	 * last, yet its list has 2 first (both named "n1" by 1) */
	b = head();
	conv_decl(&b, 1, 0, 2, 0, 4);
	conv_line(&b, 1, 2, 1);
	conv_decl(&b, 1, 0, 3, 0, 4);
	conv_line(&b, 1, 3, 2);
	list(&b, 1, 2, (const int[]){ 3, 2 });
	list(&b, 2, 1, one);
	list(&b, 3, 1, one);
	end(&b, 2, 2, 3);
	h = rd(10, BIG, b.data, b.len, &why);
	ck_assert_msg(h != NULL, "refused: %s", why);
	ck_assert_ptr_eq(history_private(h, 1, 0, "n1"), history_private(h, 1, 2, NULL));
	written_as(h, &b);
}
END_TEST

static Suite *
history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("select");

	tcase_add_test(tc, latest);
	tcase_add_test(tc, before);
	tcase_add_test(tc, after);
	tcase_add_test(tc, around);
	tcase_add_test(tc, between);
	tcase_add_test(tc, equal_times_and_monotonic);
	suite_add_tcase(s, tc);
	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 60);	/* the flood, under valgrind */
	tcase_add_test(tc, line_bound);
	tcase_add_test(tc, age);
	tcase_add_test(tc, byte_bound_flood);
	tcase_add_test(tc, byte_bound_tiny);
	tcase_add_test(tc, forget_chan);
	tcase_add_test(tc, set_limits);
	tcase_add_test(tc, disabled);
	tcase_add_test(tc, too_long);
	suite_add_tcase(s, tc);
	tc = tcase_create("private");
	tcase_add_test(tc, private_lookup);
	tcase_add_test(tc, privacy);
	tcase_add_test(tc, user_gone);
	tcase_add_test(tc, targets);
	suite_add_tcase(s, tc);
	tc = tcase_create("handover");
	tcase_set_timeout(tc, 120);	/* a bound for valgrind */
	tcase_add_test(tc, handover_round_trip);
	tcase_add_test(tc, handover_cut_short);
	tcase_add_test(tc, handover_altered);
	tcase_add_test(tc, handover_smaller_limits);
	tcase_add_test(tc, handover_contradictions);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(history_suite());
}
