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
	return s;
}

int
main(void)
{
	return unit_run(history_suite());
}
