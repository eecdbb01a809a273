/* check_linebuf: unit tests for framing a byte stream into lines. */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"
#include "linebuf.h"
#include "unit.h"

/*
 * What linebuf_next() produced, as one flat record: "<len>:<bytes>|" per
 * line and "!|" per overlong one, so a whole run compares with memcmp.
 */
struct events {
	char *p;
	size_t len, cap;
	int lines, toolong;
};

static void
ev_add(struct events *ev, const void *p, size_t n)
{
	if (ev->len + n > ev->cap) {
		ev->cap = (ev->len + n) * 2 + 64;
		ev->p = realloc(ev->p, ev->cap);
		ck_assert_ptr_nonnull(ev->p);
	}
	memcpy(ev->p + ev->len, p, n);
	ev->len += n;
}

static void
ev_line(struct events *ev, const char *line, size_t n)
{
	char hdr[32];
	int h = snprintf(hdr, sizeof hdr, "%zu:", n);

	ev_add(ev, hdr, (size_t)h);
	ev_add(ev, line, n);
	ev_add(ev, "|", 1);
	ev->lines++;
}

static void
ev_toolong(struct events *ev)
{
	ev_add(ev, "!|", 2);
	ev->toolong++;
}

/* take every complete line out of lb */
static void
drain(struct linebuf *lb, struct events *ev)
{
	const char *line;
	size_t n;
	enum linebuf_result r;

	while ((r = linebuf_next(lb, &line, &n)) != LINEBUF_NEED_MORE) {
		if (r == LINEBUF_LINE)
			ev_line(ev, line, n);
		else {
			ck_assert_int_eq(r, LINEBUF_TOOLONG);
			ev_toolong(ev);
		}
	}
}

/* feed data in commits of at most chunk bytes (0: as much as fits) */
static void
feed(struct linebuf *lb, struct events *ev, const char *data, size_t n,
    size_t chunk)
{
	while (n > 0) {
		size_t avail, k;
		char *dst = linebuf_space(lb, &avail);

		ck_assert_uint_gt(avail, 0);
		k = n < avail ? n : avail;
		if (chunk > 0 && k > chunk)
			k = chunk;
		memcpy(dst, data, k);
		linebuf_commit(lb, k);
		data += k;
		n -= k;
		drain(lb, ev);
	}
}

static void
ev_free(struct events *ev)
{
	free(ev->p);
	memset(ev, 0, sizeof *ev);
}

static void
ev_expect(const struct events *ev, const char *want)
{
	size_t n = strlen(want);

	ck_assert_msg(ev->len == n && (n == 0 || memcmp(ev->p, want, n) == 0),
	    "got \"%.*s\", want \"%s\"", (int)ev->len, ev->p, want);
}

/* run data through a fresh linebuf in chunks and compare the events */
static void
run(size_t maxline, const char *data, size_t n, size_t chunk,
    const char *want)
{
	struct linebuf lb;
	struct events ev = { 0 };

	ck_assert_int_eq(linebuf_init(&lb, maxline), 0);
	feed(&lb, &ev, data, n, chunk);
	ev_expect(&ev, want);
	ev_free(&ev);
	linebuf_free(&lb);
}

static void
run_str(size_t maxline, const char *data, size_t chunk, const char *want)
{
	run(maxline, data, strlen(data), chunk, want);
}

START_TEST(one_byte_commits)
{
	run_str(512, "PING x\r\nPONG :y z\n", 1, "6:PING x|9:PONG :y z|");
}
END_TEST

START_TEST(many_lines_one_commit)
{
	struct linebuf lb;
	struct events ev = { 0 };
	static const char data[] = "A\r\nBB\nCCC\r\nDD";

	ck_assert_int_eq(linebuf_init(&lb, 512), 0);
	feed(&lb, &ev, data, sizeof data - 1, 0);
	ev_expect(&ev, "1:A|2:BB|3:CCC|");
	ck_assert_int_eq(ev.lines, 3);
	ck_assert_uint_eq(linebuf_pending(&lb), 2);
	feed(&lb, &ev, "\n", 1, 0);
	ev_expect(&ev, "1:A|2:BB|3:CCC|2:DD|");
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	ev_free(&ev);
	linebuf_free(&lb);
}
END_TEST

START_TEST(crlf_and_lf)
{
	run_str(512, "a\r\nb\nc\r\n", 0, "1:a|1:b|1:c|");
	/* CR only goes when it is right before LF */
	run_str(512, "a\rb\r\n", 0, "3:a\rb|");
	run_str(512, "\rx\n", 0, "2:\rx|");
	run_str(512, "x\r\r\n", 0, "2:x\r|");
	/* the CR and the LF in different commits */
	run_str(512, "x\r\ny\r\n", 1, "1:x|1:y|");
	/* a bare CR does not end a line */
	run_str(512, "x\ry", 0, "");
}
END_TEST

START_TEST(empty_lines)
{
	run_str(512, "\r\n\n\r\nX\n\n", 0, "0:|0:|0:|1:X|0:|");
	run_str(512, "\r\n\n\r\nX\n\n", 1, "0:|0:|0:|1:X|0:|");
}
END_TEST

START_TEST(nul_bytes)
{
	static const char data[] = "a\0b\r\n\0\n";
	static const char want[] = "3:a\0b|1:\0|";
	struct linebuf lb;
	struct events ev = { 0 };
	size_t chunk;

	/* lines are length-delimited: a NUL is just another byte */
	for (chunk = 0; chunk < 2; chunk++) {
		ck_assert_int_eq(linebuf_init(&lb, 512), 0);
		feed(&lb, &ev, data, sizeof data - 1, chunk);
		ck_assert_int_eq(ev.lines, 2);
		ck_assert_uint_eq(ev.len, sizeof want - 1);
		ck_assert_mem_eq(ev.p, want, sizeof want - 1);
		ev_free(&ev);
		linebuf_free(&lb);
	}
}
END_TEST

/* 600 'A's then PING: one TOOLONG, and no byte of the As reaches PING */
START_TEST(overlong_then_ping)
{
	static const size_t chunks[] = { 0, 1, 7, 100, 511, 512 };
	char data[700];
	size_t i;

	memset(data, 'A', 600);
	strcpy(data + 600, "\r\nPING x\r\n");
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		run_str(IRC_MAXLINE, data, chunks[i], "!|6:PING x|");
}
END_TEST

START_TEST(overlong_many_commits)
{
	struct linebuf lb;
	struct events ev = { 0 };
	char block[100];
	int i;

	memset(block, 'B', sizeof block);
	ck_assert_int_eq(linebuf_init(&lb, IRC_MAXLINE), 0);
	for (i = 0; i < 50; i++) {
		feed(&lb, &ev, block, sizeof block, 0);
		/* reported once, as soon as the buffer fills */
		ck_assert_int_eq(ev.toolong, i >= 5 ? 1 : 0);
		ck_assert_int_eq(ev.lines, 0);
	}
	feed(&lb, &ev, "BBB\r", 4, 0);
	feed(&lb, &ev, "\nPING x\n", 8, 0);
	ev_expect(&ev, "!|6:PING x|");
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	ev_free(&ev);
	linebuf_free(&lb);
}
END_TEST

START_TEST(exact_max)
{
	char data[IRC_MAXLINE + 16], want[IRC_MAXLINE + 16];
	size_t chunk;

	for (chunk = 0; chunk < 3; chunk++) {
		/* 510 + CR LF = 512: accepted */
		memset(data, 'x', 510);
		strcpy(data + 510, "\r\nQ\r\n");
		want[0] = '\0';
		strcat(want, "510:");
		memset(want + 4, 'x', 510);
		strcpy(want + 514, "|1:Q|");
		run_str(IRC_MAXLINE, data, chunk, want);

		/* 510 + LF: accepted */
		strcpy(data + 510, "\nQ\n");
		run_str(IRC_MAXLINE, data, chunk, want);

		/* 511 + CR LF: rejected */
		memset(data, 'x', 511);
		strcpy(data + 511, "\r\nQ\r\n");
		run_str(IRC_MAXLINE, data, chunk, "!|1:Q|");

		/* 511 + LF fits the buffer but is still too long */
		strcpy(data + 511, "\nQ\n");
		run_str(IRC_MAXLINE, data, chunk, "!|1:Q|");

		/* 512 + LF: the buffer fills first */
		memset(data, 'x', 512);
		strcpy(data + 512, "\nQ\n");
		run_str(IRC_MAXLINE, data, chunk, "!|1:Q|");
	}
}
END_TEST

START_TEST(small_maxline)
{
	/* maxline 8: at most 6 bytes of content */
	run_str(8, "123456\r\n1234567\r\n1234567\nab\n", 0,
	    "6:123456|!|!|2:ab|");
	run_str(8, "123456\r\n1234567\r\n1234567\nab\n", 1,
	    "6:123456|!|!|2:ab|");
	/* an overlong line right after a kept one */
	run_str(8, "a\n1234567890123456789\nb\n", 3, "1:a|!|1:b|");
}
END_TEST

START_TEST(line_stays_valid)
{
	struct linebuf lb;
	const char *l1, *l2;
	size_t n1, n2, avail;
	char *dst;

	ck_assert_int_eq(linebuf_init(&lb, 16), 0);
	dst = linebuf_space(&lb, &avail);
	ck_assert_uint_eq(avail, 16);
	memcpy(dst, "abcdefgh\nijklmn", 15);
	linebuf_commit(&lb, 15);
	ck_assert_int_eq(linebuf_next(&lb, &l1, &n1), LINEBUF_LINE);
	ck_assert_uint_eq(n1, 8);
	ck_assert_mem_eq(l1, "abcdefgh", 8);
	/* the returned line counts as consumed */
	ck_assert_uint_eq(linebuf_pending(&lb), 6);
	/* still intact: nothing moved before the next call */
	ck_assert_mem_eq(l1, "abcdefgh", 8);
	ck_assert_int_eq(linebuf_next(&lb, &l2, &n2), LINEBUF_NEED_MORE);
	ck_assert_uint_eq(linebuf_pending(&lb), 6);

	/* the consumed line's space is given back */
	dst = linebuf_space(&lb, &avail);
	ck_assert_uint_eq(avail, 10);
	memcpy(dst, "op\nqrstuvwxyz", 10);
	linebuf_commit(&lb, 10);
	ck_assert_uint_eq(linebuf_pending(&lb), 16);
	ck_assert_int_eq(linebuf_next(&lb, &l2, &n2), LINEBUF_LINE);
	ck_assert_uint_eq(n2, 8);
	ck_assert_mem_eq(l2, "ijklmnop", 8);
	ck_assert_int_eq(linebuf_next(&lb, &l2, &n2), LINEBUF_NEED_MORE);
	ck_assert_uint_eq(linebuf_pending(&lb), 7);
	dst = linebuf_space(&lb, &avail);
	ck_assert_uint_eq(avail, 9);
	memcpy(dst, "\n", 1);
	linebuf_commit(&lb, 1);
	ck_assert_int_eq(linebuf_next(&lb, &l2, &n2), LINEBUF_LINE);
	ck_assert_mem_eq(l2, "qrstuvw", 7);
	ck_assert_uint_eq(n2, 7);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	linebuf_free(&lb);
}
END_TEST

START_TEST(pending)
{
	struct linebuf lb;
	struct events ev = { 0 };
	const char *line;
	size_t n;

	ck_assert_int_eq(linebuf_init(&lb, 32), 0);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	memcpy(linebuf_space(&lb, &n), "AB\r\nCD", 6);
	linebuf_commit(&lb, 6);
	ck_assert_uint_eq(linebuf_pending(&lb), 6);
	ck_assert_int_eq(linebuf_next(&lb, &line, &n), LINEBUF_LINE);
	ck_assert_uint_eq(linebuf_pending(&lb), 2);
	ck_assert_int_eq(linebuf_next(&lb, &line, &n), LINEBUF_NEED_MORE);
	ck_assert_uint_eq(linebuf_pending(&lb), 2);
	/* the bytes of an overlong line are dropped as they come */
	feed(&lb, &ev, "0123456789012345678901234567890123", 34, 0);
	ck_assert_int_eq(ev.toolong, 1);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	feed(&lb, &ev, "xyz\nok", 6, 0);
	ck_assert_uint_eq(linebuf_pending(&lb), 2);
	ev_expect(&ev, "!|");
	ev_free(&ev);
	linebuf_free(&lb);
}
END_TEST

START_TEST(reset)
{
	struct linebuf lb;
	struct events ev = { 0 };

	ck_assert_int_eq(linebuf_init(&lb, 16), 0);
	/* a half line, then a reset: it must not prefix the next line */
	feed(&lb, &ev, "HALF LI", 7, 0);
	linebuf_reset(&lb);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	feed(&lb, &ev, "PING x\r\n", 8, 0);
	/* inside an overlong line, then a reset: the next line is whole */
	feed(&lb, &ev, "0123456789012345678", 19, 0);
	linebuf_reset(&lb);
	feed(&lb, &ev, "OK\n", 3, 0);
	ev_expect(&ev, "6:PING x|!|2:OK|");
	ev_free(&ev);
	linebuf_free(&lb);
}
END_TEST

START_TEST(commit_clamped)
{
	struct linebuf lb;
	size_t avail;

	ck_assert_int_eq(linebuf_init(&lb, 8), 0);
	linebuf_space(&lb, &avail);
	linebuf_commit(&lb, 100);
	ck_assert_uint_eq(linebuf_pending(&lb), 8);
	linebuf_free(&lb);
	ck_assert_int_eq(linebuf_init(&lb, 2), -EINVAL);
	linebuf_free(&lb);
}
END_TEST

static uint32_t
rnd(uint32_t *s)
{
	/* xorshift32: deterministic, so a failure reproduces */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * A stream of random lines (some overlong, with stray CRs and NULs) must
 * give the same events however it is chunked, and the events a plain
 * split-at-LF gives.
 */
static void
random_stream(size_t maxline, uint32_t seed)
{
	struct events want = { 0 }, got = { 0 };
	struct linebuf lb;
	char *data = NULL;
	size_t len = 0, cap = 0, i, off;
	uint32_t s = seed;
	int l;

	for (l = 0; l < 300; l++) {
		size_t n = rnd(&s) % (maxline * 5 / 4 + 1), start = len, c;
		bool crlf = rnd(&s) % 2;

		if (len + n + 2 > cap) {
			cap = (len + n + 2) * 2;
			data = realloc(data, cap);
			ck_assert_ptr_nonnull(data);
		}
		for (i = 0; i < n; i++) {
			uint32_t r = rnd(&s) % 64;

			data[len++] = r == 0 ? '\r' : r == 1 ? '\0' :
			    (char)('a' + r % 26);
		}
		if (crlf)
			data[len++] = '\r';
		data[len++] = '\n';
		/* what the line should give */
		c = len - 1 - start;
		if (c > 0 && data[start + c - 1] == '\r')
			c--;
		if (c > maxline - 2)
			ev_toolong(&want);
		else
			ev_line(&want, data + start, c);
	}

	ck_assert_int_eq(linebuf_init(&lb, maxline), 0);
	feed(&lb, &got, data, len, 0);
	ck_assert_msg(got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
	    "maxline %zu seed %u: one big commit differs", maxline, seed);
	linebuf_free(&lb);
	ev_free(&got);

	ck_assert_int_eq(linebuf_init(&lb, maxline), 0);
	for (off = 0; off < len; ) {
		size_t k = rnd(&s) % (maxline + 8) + 1;

		if (k > len - off)
			k = len - off;
		feed(&lb, &got, data + off, k, rnd(&s) % 4 == 0 ? 1 : 0);
		off += k;
	}
	ck_assert_msg(got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
	    "maxline %zu seed %u: random chunks differ", maxline, seed);
	ck_assert_int_gt(want.toolong, 0);
	ck_assert_int_gt(want.lines, 0);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	linebuf_free(&lb);
	ev_free(&got);
	ev_free(&want);
	free(data);
}

START_TEST(randomized)
{
	uint32_t seed;

	for (seed = 1; seed <= 20; seed++) {
		random_stream(IRC_MAXLINE, seed);
		random_stream(16, seed * 7919);
		random_stream(3, seed * 104729);
	}
}
END_TEST

/* caller-owned storage: framing works in it, and free leaves it alone */
START_TEST(borrowed_storage)
{
	char store[16];
	struct linebuf lb;
	struct events ev = { 0 };

	ck_assert_int_eq(linebuf_init_in(&lb, NULL, 16), -EINVAL);
	ck_assert_int_eq(linebuf_init_in(&lb, store, 2), -EINVAL);
	ck_assert_int_eq(linebuf_init_in(&lb, store, sizeof store), 0);
	feed(&lb, &ev, "PING a\r\nthis one is too long\r\nX\n", 32, 5);
	ev_expect(&ev, "6:PING a|!|1:X|");
	ev_free(&ev);
	memcpy(store, "kept", 5);
	linebuf_free(&lb);	/* would crash or be caught by ASan if it freed store */
	ck_assert_str_eq(store, "kept");
	ck_assert_ptr_null(lb.buf);
}
END_TEST

static Suite *
linebuf_suite(void)
{
	Suite *s = suite_create("linebuf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, one_byte_commits);
	tcase_add_test(tc, many_lines_one_commit);
	tcase_add_test(tc, crlf_and_lf);
	tcase_add_test(tc, empty_lines);
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, overlong_then_ping);
	tcase_add_test(tc, overlong_many_commits);
	tcase_add_test(tc, exact_max);
	tcase_add_test(tc, small_maxline);
	tcase_add_test(tc, line_stays_valid);
	tcase_add_test(tc, pending);
	tcase_add_test(tc, commit_clamped);
	tcase_add_test(tc, reset);
	tcase_add_test(tc, randomized);
	tcase_add_test(tc, borrowed_storage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(linebuf_suite());
}
