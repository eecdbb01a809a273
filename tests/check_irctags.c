/*
 * check_irctags: unit tests for common/irctags.c, the IRCv3 message tags
 * (ircv3.net/specs/extensions/message-tags): parsing, escaping, the
 * client-only filter, server-time, msgids and the server's stamp.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irctags.h"
#include "unit.h"

/* --------------------------------------------------------------- parse */

START_TEST(test_next)
{
	static const char sec[] = ";;a=1;b;;+c/d=x\\sy;e=";
	const char *p = sec, *end = sec + strlen(sec);
	struct irctag t;

	ck_assert(irctags_next(&p, end, &t));
	ck_assert_uint_eq(t.key_len, 1);
	ck_assert(!memcmp(t.key, "a", 1));
	ck_assert_uint_eq(t.val_len, 1);
	ck_assert(!memcmp(t.val, "1", 1));
	ck_assert(irctags_next(&p, end, &t));
	ck_assert_uint_eq(t.key_len, 1);
	ck_assert(!memcmp(t.key, "b", 1));
	ck_assert_uint_eq(t.val_len, 0);
	ck_assert(irctags_next(&p, end, &t));
	ck_assert_uint_eq(t.key_len, 4);
	ck_assert(!memcmp(t.key, "+c/d", 4));
	ck_assert_uint_eq(t.val_len, 4);
	ck_assert(!memcmp(t.val, "x\\sy", 4));
	ck_assert(irctags_next(&p, end, &t));
	ck_assert_uint_eq(t.key_len, 1);
	ck_assert(!memcmp(t.key, "e", 1));
	ck_assert_uint_eq(t.val_len, 0);
	ck_assert(!irctags_next(&p, end, &t));
	ck_assert_ptr_eq(p, end);

	/* empty sections */
	p = sec;
	ck_assert(!irctags_next(&p, sec, &t));
	p = ";;;";
	ck_assert(!irctags_next(&p, p + 3, &t));
	/* the end bounds the section: nothing is read past it */
	p = "a=12;b=3";
	ck_assert(irctags_next(&p, p + 3, &t));
	ck_assert_uint_eq(t.val_len, 1);
	ck_assert(!irctags_next(&p, p, &t));
	/* '=' inside a value belongs to the value */
	p = "k=a=b";
	ck_assert(irctags_next(&p, p + 5, &t));
	ck_assert_uint_eq(t.key_len, 1);
	ck_assert_uint_eq(t.val_len, 3);
	ck_assert(!memcmp(t.val, "a=b", 3));
}
END_TEST

START_TEST(test_get)
{
	static const char sec[] = "time=x;msgid=abc;+draft/reply=m1;label=L;timex=no";
	struct irctag t;

	ck_assert(irctags_get(sec, strlen(sec), "msgid", &t));
	ck_assert_uint_eq(t.val_len, 3);
	ck_assert(!memcmp(t.val, "abc", 3));
	ck_assert(irctags_get(sec, strlen(sec), "+draft/reply", &t));
	ck_assert(!memcmp(t.val, "m1", 2));
	ck_assert(irctags_get(sec, strlen(sec), "time", &t));
	ck_assert_uint_eq(t.val_len, 1);
	ck_assert(irctags_get(sec, strlen(sec), "timex", &t));
	ck_assert(!memcmp(t.val, "no", 2));
	/* a prefix of a key is not the key, nor a key a prefix of another */
	ck_assert(!irctags_get(sec, strlen(sec), "tim", &t));
	ck_assert(!irctags_get(sec, strlen(sec), "draft/reply", &t));
	ck_assert(!irctags_get(sec, strlen(sec), "label2", &t));
	/* only within len */
	ck_assert(!irctags_get(sec, 6, "msgid", &t));
	ck_assert(!irctags_get("", 0, "a", &t));
}
END_TEST

START_TEST(test_key_valid)
{
	static const char *const ok[] = {
		"a", "time", "msgid", "+typing", "+draft/reply", "example.com/foo-bar",
		"+example.com/x.y-z", "A9", "batch", "a.b-c",
	};
	static const char *const bad[] = {
		"", "+", "/", "+/", "a/", "+a/", "/a", "+/a", "a b", "a;b", "a=b", "a_b",
		"ex ample.com/x", "a\\b", "++a", "é",
	};

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		ck_assert_msg(irctags_key_valid(ok[i], strlen(ok[i])), "'%s' refused", ok[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(!irctags_key_valid(bad[i], strlen(bad[i])), "'%s' accepted", bad[i]);
	/* the length bounds the key */
	ck_assert(irctags_key_valid("ab;c", 2));
	ck_assert(!irctags_key_valid("ab", 0));
}
END_TEST

/* ---------------------------------------------------------- escaping */

START_TEST(test_escape)
{
	char out[64];

	ck_assert_int_eq(irctags_escape(out, sizeof out, "a; b\\c\r\nd", 9), 14);
	ck_assert_str_eq(out, "a\\:\\sb\\\\c\\r\\nd");
	ck_assert_int_eq(irctags_escape(out, sizeof out, "", 0), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(irctags_escape(out, sizeof out, "plain=text", 10), 10);
	ck_assert_str_eq(out, "plain=text");
	/* the NUL counts: cap 4 holds 3 bytes */
	ck_assert_int_eq(irctags_escape(out, 4, "abc", 3), 3);
	ck_assert_int_eq(irctags_escape(out, 3, "abc", 3), -1);
	/* an escape never half fits */
	ck_assert_int_eq(irctags_escape(out, 3, "a;", 2), -1);
	ck_assert_int_eq(irctags_escape(out, 4, "a;", 2), 3);
	ck_assert_str_eq(out, "a\\:");
	ck_assert_int_eq(irctags_escape(out, 0, "", 0), -1);
}
END_TEST

START_TEST(test_unescape)
{
	char out[64];

	ck_assert_int_eq(irctags_unescape(out, sizeof out, "a\\:\\sb\\\\c\\r\\nd", 14), 9);
	ck_assert_str_eq(out, "a; b\\c\r\nd");
	/* the spec's edge cases: an unknown escape is the character itself,
	 * a trailing lone backslash is dropped */
	ck_assert_int_eq(irctags_unescape(out, sizeof out, "\\x", 2), 1);
	ck_assert_str_eq(out, "x");
	ck_assert_int_eq(irctags_unescape(out, sizeof out, "ab\\", 3), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_int_eq(irctags_unescape(out, sizeof out, "\\", 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(irctags_unescape(out, sizeof out, "\\\\\\", 3), 1);
	ck_assert_str_eq(out, "\\");
	ck_assert_int_eq(irctags_unescape(out, sizeof out, "\\b\\0", 4), 2);
	ck_assert_str_eq(out, "b0");
	ck_assert_int_eq(irctags_unescape(out, sizeof out, "", 0), 0);
	/* too small */
	ck_assert_int_eq(irctags_unescape(out, 3, "abc", 3), -1);
	ck_assert_int_eq(irctags_unescape(out, 4, "abc", 3), 3);
	ck_assert_int_eq(irctags_unescape(out, 2, "\\s\\s", 4), -1);
}
END_TEST

START_TEST(test_escape_roundtrip)
{
	char val[256], esc[600], back[256];
	unsigned seed = 12345;

	/* every byte value but NUL, and random mixes heavy in specials */
	for (int i = 0; i < 255; i++)
		val[i] = (char)(i + 1);
	ck_assert_int_gt(irctags_escape(esc, sizeof esc, val, 255), 255);
	ck_assert(strpbrk(esc, "; \r\n") == NULL);
	ck_assert_int_eq(irctags_unescape(back, sizeof back, esc, strlen(esc)), 255);
	ck_assert(!memcmp(back, val, 255));
	for (int round = 0; round < 2000; round++) {
		static const char pool[] = "; \\\r\nab:sn=";
		int len = (int)((seed = seed * 1103515245 + 12345) >> 16) % 64;
		int e, u;

		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			val[i] = pool[(seed >> 16) % (sizeof pool - 1)];
		}
		e = irctags_escape(esc, sizeof esc, val, (size_t)len);
		ck_assert_int_ge(e, len);
		ck_assert(strpbrk(esc, "; \r\n") == NULL);
		u = irctags_unescape(back, sizeof back, esc, (size_t)e);
		ck_assert_int_eq(u, len);
		ck_assert(!memcmp(back, val, (size_t)len));
	}
}
END_TEST

/* ---------------------------------------------------------- client-only */

START_TEST(test_client_only)
{
	char out[128];
	const char *in;

	in = "time=x;+a=1;label=L;+example.com/b;msgid=z;+c=v\\sw;batch=q";
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, strlen(in)), 27);
	ck_assert_str_eq(out, "+a=1;+example.com/b;+c=v\\sw");
	/* none: empty */
	in = "label=x;time=y";
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, strlen(in)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(irctags_client_only(out, sizeof out, "", 0), 0);
	/* an invalid client-only key refuses the whole section */
	in = "+good=1;+bad_key=2";
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, strlen(in)), -1);
	in = "+=1";
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, strlen(in)), -1);
	in = "+a/=1";
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, strlen(in)), -1);
	/* an invalid server key is not ours to judge: left out */
	in = "bad_key=1;+ok";
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, strlen(in)), 3);
	ck_assert_str_eq(out, "+ok");
	/* the cap, NUL included */
	in = "+abc=1;+d";
	ck_assert_int_eq(irctags_client_only(out, 10, in, strlen(in)), 9);
	ck_assert_str_eq(out, "+abc=1;+d");
	ck_assert_int_eq(irctags_client_only(out, 9, in, strlen(in)), -1);
	ck_assert_int_eq(irctags_client_only(out, 7, in, strlen(in)), -1);
	ck_assert_int_eq(irctags_client_only(out, 0, in, strlen(in)), -1);
	/* within len only */
	ck_assert_int_eq(irctags_client_only(out, sizeof out, in, 6), 6);
	ck_assert_str_eq(out, "+abc=1");
}
END_TEST

/* --------------------------------------------------------------- time */

START_TEST(test_time)
{
	char out[IRCTAGS_TIME_LEN + 1];
	int64_t ms;
	/* 2026-12-06T10:00:00.123Z */
	const int64_t t0 = INT64_C(1796551200123);

	irctags_time_fmt(out, t0);
	ck_assert_str_eq(out, "2026-12-06T10:00:00.123Z");
	ck_assert_uint_eq(strlen(out), IRCTAGS_TIME_LEN);
	irctags_time_fmt(out, 0);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
	irctags_time_fmt(out, 5);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.005Z");
	irctags_time_fmt(out, INT64_C(951782400000) + 999);	/* a leap day */
	ck_assert_str_eq(out, "2000-02-29T00:00:00.999Z");

	ck_assert(irctags_time_parse("2026-12-06T10:00:00.123Z", 24, &ms));
	ck_assert(ms == t0);
	ck_assert(irctags_time_parse("2026-12-06T10:00:00Z", 20, &ms));
	ck_assert(ms == t0 - 123);
	ck_assert(irctags_time_parse("2026-12-06T10:00:00.1Z", 22, &ms));
	ck_assert(ms == t0 - 23);
	ck_assert(irctags_time_parse("2026-12-06T10:00:00.12Z", 23, &ms));
	ck_assert(ms == t0 - 3);
	ck_assert(irctags_time_parse("2026-12-06T10:00:00.123456789Z", 30, &ms));
	ck_assert(ms == t0);
	/* round trips */
	for (int64_t t = t0; t < t0 + 100000000; t += 9876543) {
		irctags_time_fmt(out, t);
		ck_assert(irctags_time_parse(out, strlen(out), &ms));
		ck_assert(ms == t);
	}

	static const char *const bad[] = {
		"", "2026-12-06", "2026-12-06T10:00:00", "2026-12-06T10:00:00.Z",
		"2026-12-06T10:00:00.123", "2026-12-06 10:00:00.123Z", "2026-13-06T10:00:00Z",
		"2026-00-06T10:00:00Z", "2026-12-00T10:00:00Z", "2026-12-06T24:00:00Z",
		"2026-12-06T10:60:00Z", "2026-12-06T10:00:00.123ZZ", "2026-12-06T10:00:00.12aZ",
		"20a6-12-06T10:00:00Z", "2026/12/06T10:00:00Z", "2026-12-06T10:00:00+01:00",
		"2026-12-06t10:00:00Z", "-026-12-06T10:00:00Z", "2026-12-06T10:00:00.123z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(!irctags_time_parse(bad[i], strlen(bad[i]), &ms), "'%s' parsed",
			      bad[i]);
	/* the length bounds the text */
	ck_assert(!irctags_time_parse("2026-12-06T10:00:00.123Z", 23, &ms));
}
END_TEST

/* -------------------------------------------------------------- msgid */

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, IRCTAGS_MSGID_LEN);
}

START_TEST(test_msgid_format)
{
	struct irctags_msgid g = { .salt = 0xdeadbeef, .slot = 7, .gen = 3 };
	char id[IRCTAGS_MSGID_LEN + 1];
	int64_t ms;
	const int64_t t0 = INT64_C(1796551200123);

	irctags_msgid_next(&g, t0, id);
	ck_assert_uint_eq(strlen(id), IRCTAGS_MSGID_LEN);
	ck_assert_uint_eq(strspn(id, "0123456789abcdefghijklmnopqrstuv"), IRCTAGS_MSGID_LEN);
	/* a valid tag value as it is: nothing to escape */
	ck_assert(strpbrk(id, "; \\\r\n") == NULL);
	ck_assert(irctags_msgid_ms(id, strlen(id), &ms));
	ck_assert(ms == t0);
	/* round trips over a wide range of times */
	for (int64_t t = 1; t < (INT64_C(1) << 47); t = t * 3 + 7) {
		struct irctags_msgid h = { .salt = 1 };
		irctags_msgid_next(&h, t, id);
		ck_assert(irctags_msgid_ms(id, IRCTAGS_MSGID_LEN, &ms));
		ck_assert_msg(ms == t, "%s: %lld, made at %lld", id, (long long)ms, (long long)t);
	}
	/* not ids */
	ck_assert(!irctags_msgid_ms(id, IRCTAGS_MSGID_LEN - 1, &ms));
	ck_assert(!irctags_msgid_ms("0123456789abcdefghijklmnopq", 27, &ms));
	ck_assert(!irctags_msgid_ms("0123456789ABCDEFGHIJKLMNOP", 26, &ms));
	ck_assert(!irctags_msgid_ms("0123456789abcdefghijklmnow", 26, &ms));
	ck_assert(!irctags_msgid_ms("0123456789abcdefghijklm\0op", 26, &ms));
	ck_assert(!irctags_msgid_ms("", 0, &ms));
}
END_TEST

START_TEST(test_msgid_sorted)
{
	struct irctags_msgid g = { .salt = 99, .slot = 1 };
	char prev[IRCTAGS_MSGID_LEN + 1], id[IRCTAGS_MSGID_LEN + 1];
	int64_t t = INT64_C(1796551200000);

	irctags_msgid_next(&g, t, prev);
	/* later ids sort after earlier ones, whatever the time step */
	for (int i = 0; i < 5000; i++) {
		t += i % 7 == 0 ? 0 : (i % 3) * 1000 + 1;
		irctags_msgid_next(&g, t, id);
		ck_assert_msg(strcmp(prev, id) < 0, "%s then %s", prev, id);
		memcpy(prev, id, sizeof id);
	}
	/* across generators: a later millisecond sorts later, whoever made it */
	struct irctags_msgid a = { .salt = 0xffffffff, .slot = 0xffffff, .gen = 0xff };
	struct irctags_msgid b = { .salt = 0, .slot = 0, .gen = 0 };
	irctags_msgid_next(&a, t, prev);
	irctags_msgid_next(&b, t + 1, id);
	ck_assert_msg(strcmp(prev, id) < 0, "%s then %s", prev, id);
}
END_TEST

START_TEST(test_msgid_unique)
{
	enum { N = 100000 };
	struct irctags_msgid g = { .salt = 42, .slot = 5, .gen = 1 };
	char (*ids)[IRCTAGS_MSGID_LEN + 1] = malloc(N * sizeof *ids);
	const int64_t t = INT64_C(1796551200000);
	int64_t ms;

	ck_assert_ptr_nonnull(ids);
	/* 100k ids in one millisecond */
	for (int i = 0; i < N; i++) {
		irctags_msgid_next(&g, t, ids[i]);
		if (i > 0)
			ck_assert_msg(strcmp(ids[i - 1], ids[i]) < 0, "%d: %s then %s", i,
				      ids[i - 1], ids[i]);
	}
	qsort(ids, N, sizeof *ids, cmp_id);
	for (int i = 1; i < N; i++)
		ck_assert_msg(memcmp(ids[i - 1], ids[i], IRCTAGS_MSGID_LEN) != 0, "%s twice",
			      ids[i]);
	/* the ones past 65,536 borrow the next milliseconds, never a past one */
	ck_assert(irctags_msgid_ms(ids[N - 1], IRCTAGS_MSGID_LEN, &ms));
	ck_assert(ms >= t && ms <= t + 2);
	/* a clock going back does not repeat an id */
	char a[IRCTAGS_MSGID_LEN + 1], b[IRCTAGS_MSGID_LEN + 1];
	irctags_msgid_next(&g, t + 10, a);
	irctags_msgid_next(&g, t + 5, b);
	ck_assert(strcmp(a, b) < 0);
	free(ids);
}
END_TEST

START_TEST(test_msgid_sources)
{
	const int64_t t = INT64_C(1796551200000);
	struct irctags_msgid base = { .salt = 1, .slot = 2, .gen = 3 };
	struct irctags_msgid v[] = {
		{ .salt = 2, .slot = 2, .gen = 3 },	/* another server run */
		{ .salt = 1, .slot = 3, .gen = 3 },	/* another publisher */
		{ .salt = 1, .slot = 2, .gen = 4 },	/* the slot's next client */
		{ .salt = 1, .slot = 2 | 0x100000, .gen = 3 },
	};
	char a[IRCTAGS_MSGID_LEN + 1], b[IRCTAGS_MSGID_LEN + 1];

	irctags_msgid_next(&base, t, a);
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		irctags_msgid_next(&v[i], t, b);
		ck_assert_msg(strcmp(a, b) != 0, "source %zu: %s for both", i, a);
	}
	/* same source, same time, same sequence: the same id (deterministic) */
	struct irctags_msgid c = { .salt = 1, .slot = 2, .gen = 3 };
	irctags_msgid_next(&c, t, b);
	ck_assert_str_eq(a, b);
}
END_TEST

/* -------------------------------------------------------------- stamp */

START_TEST(test_stamp)
{
	char out[IRCTAGS_STAMP_LEN + 1], id[IRCTAGS_MSGID_LEN + 1];
	struct irctags_msgid g = { .salt = 7 };
	const int64_t t0 = INT64_C(1796551200123);
	struct irctag t;
	int64_t ms;

	ck_assert_int_eq(IRCTAGS_STAMP_TIME_END, 30);
	ck_assert_int_eq(IRCTAGS_STAMP_LEN, 63);
	irctags_msgid_next(&g, t0, id);
	memset(out, 'X', sizeof out);
	irctags_stamp(out, t0, id);
	ck_assert_uint_eq(strlen(out), IRCTAGS_STAMP_LEN);
	ck_assert(!memcmp(out, "@time=2026-12-06T10:00:00.123Z;msgid=", 37));
	ck_assert(!memcmp(out + IRCTAGS_STAMP_TIME_END, ";msgid=", 7));
	ck_assert(!memcmp(out + IRCTAGS_STAMP_TIME_END + 7, id, IRCTAGS_MSGID_LEN));
	/* what a worker slices: "@time=..." alone, and "msgid=..." alone */
	ck_assert(irctags_time_parse(out + 6, IRCTAGS_TIME_LEN, &ms));
	ck_assert(ms == t0);
	ck_assert(irctags_get(out + 1, IRCTAGS_STAMP_LEN - 1, "msgid", &t));
	ck_assert_uint_eq(t.val_len, IRCTAGS_MSGID_LEN);
	ck_assert(!memcmp(t.val, id, IRCTAGS_MSGID_LEN));
	ck_assert(irctags_get(out + 1, IRCTAGS_STAMP_TIME_END - 1, "time", &t));
	ck_assert_uint_eq(t.val_len, IRCTAGS_TIME_LEN);
	ck_assert(!irctags_get(out + 1, IRCTAGS_STAMP_TIME_END - 1, "msgid", &t));
}
END_TEST

static Suite *
irctags_suite(void)
{
	Suite *s = suite_create("irctags");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_next);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_key_valid);
	suite_add_tcase(s, tc);
	tc = tcase_create("escape");
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_escape_roundtrip);
	tcase_add_test(tc, test_client_only);
	suite_add_tcase(s, tc);
	tc = tcase_create("time");
	tcase_add_test(tc, test_time);
	suite_add_tcase(s, tc);
	tc = tcase_create("msgid");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_msgid_format);
	tcase_add_test(tc, test_msgid_sorted);
	tcase_add_test(tc, test_msgid_unique);
	tcase_add_test(tc, test_msgid_sources);
	tcase_add_test(tc, test_stamp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(irctags_suite());
}
