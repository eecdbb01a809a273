/*
 * check_whowas: unit tests for server/whowas.c, the master's bounded
 * history of gone nicks (WHOWAS).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dirsvc.h"
#include "whowas.h"
#include "unit.h"

static void
add(struct whowas *w, const char *nick, const char *user, time_t at)
{
	whowas_add(w, nick, user, "192.0.2.1", "Real Name", "irc.example", at);
}

/* how many entries nick has, newest first, their times in at[] */
static int
entries(const struct whowas *w, const char *nick, time_t *at, int max)
{
	const struct whowas_entry *e = NULL;
	int n = 0;

	while ((e = whowas_find(w, nick, e)) != NULL) {
		if (n < max)
			at[n] = e->at;
		n++;
	}
	return n;
}

START_TEST(add_find_fields)
{
	struct whowas w;
	const struct whowas_entry *e;

	ck_assert_int_eq(whowas_init(&w, 8), 0);
	ck_assert_ptr_null(whowas_find(&w, "alice", NULL));
	whowas_add(&w, "Alice", "al", "198.51.100.7", "Alice Liddell", "irc.example", 1000);
	e = whowas_find(&w, "Alice", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->nick, "Alice");
	ck_assert_str_eq(e->user, "al");
	ck_assert_str_eq(e->host, "198.51.100.7");
	ck_assert_str_eq(e->realname, "Alice Liddell");
	ck_assert_str_eq(e->server, "irc.example");
	ck_assert_int_eq(e->at, 1000);
	ck_assert_ptr_null(whowas_find(&w, "Alice", e));
	ck_assert_ptr_null(whowas_find(&w, "Alic", NULL));
	ck_assert_ptr_null(whowas_find(&w, "Alicee", NULL));
	ck_assert_ptr_null(whowas_find(&w, "", NULL));
	whowas_free(&w);
	whowas_free(&w);	/* twice: harmless */
}
END_TEST

/* rfc1459 case mapping: [ ] \ ~ are the capitals of { } | ^ */
START_TEST(case_mapped)
{
	struct whowas w;
	const struct whowas_entry *e;

	ck_assert_int_eq(whowas_init(&w, 8), 0);
	add(&w, "Ab[c]\\~", "u", 1);
	e = whowas_find(&w, "aB{C}|^", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->nick, "Ab[c]\\~");	/* kept as it was spelt */
	ck_assert_ptr_nonnull(whowas_find(&w, "AB[C]\\~", NULL));
	whowas_free(&w);
}
END_TEST

/* one nick's entries come newest first, others' in between do not count */
START_TEST(newest_first)
{
	struct whowas w;
	time_t at[8];

	ck_assert_int_eq(whowas_init(&w, 16), 0);
	add(&w, "bob", "u", 1);
	add(&w, "carol", "u", 2);
	add(&w, "BOB", "u", 3);
	add(&w, "dave", "u", 4);
	add(&w, "bob", "u", 5);
	ck_assert_int_eq(entries(&w, "Bob", at, 8), 3);
	ck_assert_int_eq(at[0], 5);
	ck_assert_int_eq(at[1], 3);
	ck_assert_int_eq(at[2], 1);
	ck_assert_int_eq(entries(&w, "carol", at, 8), 1);
	ck_assert_int_eq(entries(&w, "erin", at, 8), 0);
	whowas_free(&w);
}
END_TEST

/* the ring never holds more than cap entries: the oldest are forgotten */
START_TEST(bounded_overwrites_oldest)
{
	struct whowas w;
	char nick[32];
	time_t at[8];

	ck_assert_int_eq(whowas_init(&w, 4), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(nick, sizeof nick, "n%d", i);
		add(&w, nick, "u", i);
		ck_assert_uint_le(w.n, 4);
	}
	ck_assert_uint_eq(w.n, 4);
	for (int i = 0; i < 6; i++) {
		snprintf(nick, sizeof nick, "n%d", i);
		ck_assert_msg(whowas_find(&w, nick, NULL) == NULL, "%s still there", nick);
	}
	for (int i = 6; i < 10; i++) {
		snprintf(nick, sizeof nick, "N%d", i);
		ck_assert_msg(whowas_find(&w, nick, NULL) != NULL, "%s forgotten", nick);
	}
	/* one nick filling the ring: its newest cap entries, newest first */
	for (int i = 100; i < 110; i++)
		add(&w, "same", "u", i);
	ck_assert_int_eq(entries(&w, "same", at, 8), 4);
	ck_assert_int_eq(at[0], 109);
	ck_assert_int_eq(at[3], 106);
	ck_assert_ptr_null(whowas_find(&w, "n9", NULL));
	whowas_free(&w);
}
END_TEST

/* many nicks through a small ring: the index stays consistent */
START_TEST(churn)
{
	struct whowas w;
	char nick[32];
	time_t at[64];

	ck_assert_int_eq(whowas_init(&w, 37), 0);
	for (int i = 0; i < 5000; i++) {
		snprintf(nick, sizeof nick, "c%d", i % 50);
		add(&w, nick, "u", i);
	}
	/* the last 37 additions: c13..c49 once each (4963..4999) */
	for (int k = 0; k < 50; k++) {
		snprintf(nick, sizeof nick, "C%d", k);
		int n = entries(&w, nick, at, 64);
		ck_assert_int_eq(n, k >= 13 ? 1 : 0);
		if (n == 1)
			ck_assert_int_eq(at[0], 4950 + k);
	}
	whowas_free(&w);
}
END_TEST

START_TEST(disabled)
{
	struct whowas w;

	ck_assert_int_eq(whowas_init(&w, 0), 0);
	add(&w, "alice", "u", 1);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_ptr_null(whowas_find(&w, "alice", NULL));
	whowas_free(&w);
	ck_assert_int_eq(whowas_init(&w, WHOWAS_MAX + 1), -EINVAL);
}
END_TEST

/* a nick longer than the directory allows is not kept (nor found) */
START_TEST(too_long)
{
	struct whowas w;
	char nick[IRC_NICK_MAX + 2];

	memset(nick, 'x', sizeof nick - 1);
	nick[sizeof nick - 1] = '\0';
	ck_assert_int_eq(whowas_init(&w, 4), 0);
	add(&w, nick, "u", 1);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_ptr_null(whowas_find(&w, nick, NULL));
	whowas_free(&w);
}
END_TEST

/* a new capacity keeps the newest entries in their order */
START_TEST(resize)
{
	struct whowas w;
	char nick[32];
	time_t at[8];

	ck_assert_int_eq(whowas_init(&w, 6), 0);
	for (int i = 0; i < 9; i++) {
		snprintf(nick, sizeof nick, "r%d", i % 3);
		add(&w, nick, "u", i);
	}
	ck_assert_int_eq(whowas_resize(&w, 4), 0);
	ck_assert_uint_eq(w.cap, 4);
	ck_assert_uint_eq(w.n, 4);
	/* kept: 5 (r2), 6 (r0), 7 (r1), 8 (r2) */
	ck_assert_int_eq(entries(&w, "r2", at, 8), 2);
	ck_assert_int_eq(at[0], 8);
	ck_assert_int_eq(at[1], 5);
	ck_assert_int_eq(entries(&w, "r0", at, 8), 1);
	/* and goes on as a ring of 4 */
	add(&w, "r9", "u", 9);
	ck_assert_int_eq(entries(&w, "r2", at, 8), 1);
	ck_assert_int_eq(whowas_resize(&w, 100), 0);
	ck_assert_uint_eq(w.n, 4);
	ck_assert_int_eq(entries(&w, "r9", at, 8), 1);
	ck_assert_int_eq(whowas_resize(&w, 0), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_ptr_null(whowas_find(&w, "r9", NULL));
	ck_assert_int_eq(whowas_resize(&w, 2), 0);
	add(&w, "back", "u", 10);
	ck_assert_int_eq(entries(&w, "back", at, 8), 1);
	whowas_free(&w);
}
END_TEST

/* the directory tells of every registered nick it lets go of, once */
START_TEST(fed_by_directory)
{
	struct dirsvc ds;
	struct conf cfg;
	const struct whowas_entry *e;
	uint32_t gen;
	time_t at[8];

	memset(&ds, 0, sizeof ds);
	conf_init_defaults(&cfg);
	ds.cfg = &cfg;
	ck_assert_int_eq(dir_init(&ds.dir, 4, 0), 0);
	ck_assert_int_eq(dirsvc_whowas_setup(&ds), 0);
	ck_assert_uint_eq(ds.whowas.cap, 500);

	/* slot 0 registers as alice, renames to bob, quits */
	ck_assert_int_eq(dir_user_alloc(&ds.dir, &gen), 0);
	snprintf(ds.dir.users[0].host, sizeof ds.dir.users[0].host, "192.0.2.9");
	snprintf(ds.dir.users[0].user, sizeof ds.dir.users[0].user, "al");
	snprintf(ds.dir.users[0].realname, sizeof ds.dir.users[0].realname, "Alice");
	ck_assert_int_eq(dir_nick_set(&ds.dir, 0, "nobody"), 0);	/* not yet registered */
	ck_assert_int_eq(dir_nick_set(&ds.dir, 0, "alice"), 0);
	dir_set_state(&ds.dir, 0, DIR_REGISTERED);
	ck_assert_uint_eq(ds.whowas.n, 0);
	ck_assert_int_eq(dir_nick_set(&ds.dir, 0, "ALICE"), 0);	/* the case only */
	ck_assert_uint_eq(ds.whowas.n, 0);
	ck_assert_int_eq(dir_nick_set(&ds.dir, 0, "bob"), 0);
	e = whowas_find(&ds.whowas, "alice", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->nick, "ALICE");	/* the old nick, as it was last spelt */
	ck_assert_str_eq(e->user, "al");
	ck_assert_str_eq(e->host, "192.0.2.9");
	ck_assert_str_eq(e->realname, "Alice");
	ck_assert_str_eq(e->server, "shmchat.localhost");
	ck_assert_ptr_null(whowas_find(&ds.whowas, "bob", NULL));
	/* QUIT: the nick is cleared, then the slot released: one entry */
	dir_nick_clear(&ds.dir, 0);
	dir_set_state(&ds.dir, 0, DIR_QUITTING);
	dir_user_release(&ds.dir, 0);
	ck_assert_int_eq(entries(&ds.whowas, "bob", at, 8), 1);
	ck_assert_uint_eq(ds.whowas.n, 2);

	/* a registered slot released at once (no QUIT first) counts too */
	ck_assert_int_eq(dir_user_alloc(&ds.dir, &gen), 0);
	ck_assert_int_eq(dir_nick_set(&ds.dir, 0, "carol"), 0);
	dir_set_state(&ds.dir, 0, DIR_REGISTERED);
	dir_user_release(&ds.dir, 0);
	ck_assert_int_eq(entries(&ds.whowas, "carol", at, 8), 1);
	ck_assert_uint_eq(ds.dir.max_registered, 1);

	/* a reload with another size */
	cfg.whowas_history = 1;
	ck_assert_int_eq(dirsvc_whowas_setup(&ds), 0);
	ck_assert_uint_eq(ds.whowas.n, 1);
	ck_assert_ptr_nonnull(whowas_find(&ds.whowas, "carol", NULL));
	dir_free(&ds.dir);
	whowas_free(&ds.whowas);
	conf_free(&cfg);
}
END_TEST

static Suite *
whowas_suite(void)
{
	Suite *s = suite_create("whowas");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, add_find_fields);
	tcase_add_test(tc, case_mapped);
	tcase_add_test(tc, newest_first);
	tcase_add_test(tc, bounded_overwrites_oldest);
	tcase_add_test(tc, churn);
	tcase_add_test(tc, disabled);
	tcase_add_test(tc, too_long);
	tcase_add_test(tc, resize);
	suite_add_tcase(s, tc);
	tc = tcase_create("directory");
	tcase_add_test(tc, fed_by_directory);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(whowas_suite());
}
