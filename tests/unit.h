/* unit: how a unit-test program runs its suite (integration tests: harness.h) */
#ifndef SHMCHAT_TEST_UNIT_H
#define SHMCHAT_TEST_UNIT_H

#include <check.h>
#include <stdlib.h>

/* run every test of s (CK_FORK and the like from the environment); the exit status */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
