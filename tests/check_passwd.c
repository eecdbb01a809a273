/*
 * check_passwd: server/passwd.c, operator passwords as crypt(3) hashes:
 * a hash made here checks, a wrong or odd password does not, known
 * hashes of each method check, broken hashes never match.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <string.h>

#include "passwd.h"
#include "unit.h"

/* "secret" under fixed salts (libxcrypt 4.4) */
static const char *const known[] = {
	"$y$j9T$saltsaltsaltsaltsalt$N.44bTTVedjKfuW7ar67CoWirFXUzuQT9Fy.bPddci7",
	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
	"$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA",
	"$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW",
};

START_TEST(test_hash_then_check)
{
	char h1[256], h2[256];

	ck_assert_int_eq(passwd_hash("correct horse", h1, sizeof h1), 0);
	/* yescrypt where libcrypt has it (Debian 12 does), sha512-crypt else */
	ck_assert_msg(strncmp(h1, "$y$", 3) == 0 || strncmp(h1, "$6$", 3) == 0, "hash %s", h1);
	ck_assert(passwd_check("correct horse", h1));
	ck_assert(!passwd_check("correct hors", h1));
	ck_assert(!passwd_check("correct horse ", h1));
	ck_assert(!passwd_check("", h1));
	/* a fresh salt each time */
	ck_assert_int_eq(passwd_hash("correct horse", h2, sizeof h2), 0);
	ck_assert_str_ne(h1, h2);
	ck_assert(passwd_check("correct horse", h2));
}
END_TEST

START_TEST(test_hash_small_buffer)
{
	char tiny[8];

	ck_assert_int_eq(passwd_hash("pw", tiny, sizeof tiny), -ERANGE);
}
END_TEST

START_TEST(test_known_hashes)
{
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		ck_assert_msg(passwd_check("secret", known[i]), "%s", known[i]);
		ck_assert_msg(!passwd_check("Secret", known[i]), "%s", known[i]);
	}
}
END_TEST

START_TEST(test_broken_hashes)
{
	static const char *const bad[] = {
		"", "*", "*0", "*1", "secret", "$y$", "$6$", "$y$j9T$", "$9$abc$def",
		/* the right hash, cut short or lengthened: never equal */
		"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8w",
		"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1x",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(!passwd_check("secret", bad[i]), "'%s' matched", bad[i]);
		ck_assert_msg(!passwd_check("", bad[i]), "'%s' matched an empty password", bad[i]);
	}
}
END_TEST

/* as long as an IRC line allows, and longer: an answer, no crash */
START_TEST(test_long_password)
{
	char pw[2048], h[256];

	memset(pw, 'x', sizeof pw - 1);
	pw[sizeof pw - 1] = '\0';
	ck_assert(!passwd_check(pw, known[1]));
	pw[PASSWD_MAX] = '\0';
	ck_assert_int_eq(passwd_hash(pw, h, sizeof h), 0);
	ck_assert(passwd_check(pw, h));
	pw[PASSWD_MAX - 1] = '\0';
	ck_assert(!passwd_check(pw, h));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("passwd");
	TCase *tc = tcase_create("passwd");

	/* yescrypt at its default cost takes tens of milliseconds a hash */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hash_then_check);
	tcase_add_test(tc, test_hash_small_buffer);
	tcase_add_test(tc, test_known_hashes);
	tcase_add_test(tc, test_broken_hashes);
	tcase_add_test(tc, test_long_password);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
