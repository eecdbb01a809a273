/*
 * check_iplimit: unit tests for server/iplimit.c, the master's count of
 * connections per remote address.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "iplimit.h"
#include "unit.h"

START_TEST(add_count_del)
{
	struct iplimit *p = iplimit_new(8);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(iplimit_count(p, "192.0.2.1"), 0);
	ck_assert_uint_eq(iplimit_add(p, "192.0.2.1"), 1);
	ck_assert_uint_eq(iplimit_add(p, "192.0.2.1"), 2);
	ck_assert_uint_eq(iplimit_add(p, "2001:db8::1"), 1);
	ck_assert_uint_eq(iplimit_count(p, "192.0.2.1"), 2);
	ck_assert_uint_eq(iplimit_count(p, "2001:db8::1"), 1);
	/* the text is the key: no prefix or case folding */
	ck_assert_uint_eq(iplimit_count(p, "192.0.2.10"), 0);
	ck_assert_uint_eq(iplimit_count(p, "192.0.2."), 0);
	ck_assert_uint_eq(iplimit_count(p, "2001:DB8::1"), 0);

	iplimit_del(p, "192.0.2.1");
	ck_assert_uint_eq(iplimit_count(p, "192.0.2.1"), 1);
	iplimit_del(p, "192.0.2.1");
	ck_assert_uint_eq(iplimit_count(p, "192.0.2.1"), 0);
	/* deleting what is not counted changes nothing */
	iplimit_del(p, "192.0.2.1");
	iplimit_del(p, "198.51.100.7");
	ck_assert_uint_eq(iplimit_count(p, "192.0.2.1"), 0);
	ck_assert_uint_eq(iplimit_count(p, "2001:db8::1"), 1);
	/* an address comes back after its last connection went */
	ck_assert_uint_eq(iplimit_add(p, "192.0.2.1"), 1);
	iplimit_del(p, "2001:db8::1");
	iplimit_del(p, "192.0.2.1");
	ck_assert_uint_eq(iplimit_add(p, "2001:db8::1"), 1);
	iplimit_free(p);	/* with an entry left: freed too (valgrind, ASan) */
	iplimit_free(NULL);
}
END_TEST

START_TEST(max_entries)
{
	struct iplimit *p = iplimit_new(3);
	char host[32];

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 3; i++) {
		snprintf(host, sizeof host, "10.0.0.%d", i);
		ck_assert_uint_eq(iplimit_add(p, host), 1);
	}
	/* a fourth address is not counted; those already counted still are */
	ck_assert_uint_eq(iplimit_add(p, "10.0.0.3"), 0);
	ck_assert_uint_eq(iplimit_count(p, "10.0.0.3"), 0);
	ck_assert_uint_eq(iplimit_add(p, "10.0.0.0"), 2);
	/* room again once an address is gone entirely, not before */
	iplimit_del(p, "10.0.0.0");
	ck_assert_uint_eq(iplimit_add(p, "10.0.0.3"), 0);
	iplimit_del(p, "10.0.0.0");
	ck_assert_uint_eq(iplimit_add(p, "10.0.0.3"), 1);
	ck_assert_uint_eq(iplimit_count(p, "10.0.0.0"), 0);
	iplimit_free(p);
}
END_TEST

/* as many addresses as the master has slots, each in and out again */
START_TEST(many_addresses)
{
	enum { N = 10000 };
	struct iplimit *p = iplimit_new(N);
	char host[48];
	int bad = 0;

	ck_assert_ptr_nonnull(p);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(host, sizeof host, "2001:db8::%x:%x", i >> 8, i & 0xff);
			bad += iplimit_add(p, host) != 1;
			bad += iplimit_add(p, host) != 2;
		}
		for (int i = 0; i < N; i++) {
			snprintf(host, sizeof host, "2001:db8::%x:%x", i >> 8, i & 0xff);
			bad += iplimit_count(p, host) != 2;
			iplimit_del(p, host);
			if (i % 2)
				iplimit_del(p, host);
		}
		for (int i = 0; i < N; i++) {
			snprintf(host, sizeof host, "2001:db8::%x:%x", i >> 8, i & 0xff);
			bad += iplimit_count(p, host) != (i % 2 ? 0u : 1u);
			if (i % 2 == 0)
				iplimit_del(p, host);
		}
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_uint_eq(iplimit_add(p, "192.0.2.1"), 1);
	iplimit_free(p);
}
END_TEST

static Suite *
iplimit_suite(void)
{
	Suite *s = suite_create("iplimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, add_count_del);
	tcase_add_test(tc, max_entries);
	tcase_add_test(tc, many_addresses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(iplimit_suite());
}
