/* SPDX-License-Identifier: MIT */
/* Common includes for the cmocka unit tests (built for the host with
 * ASan+UBSan against the same objects as wisp, see the Makefile). */
#ifndef WISP_TESTS_UNIT_H
#define WISP_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/kconfig.h"

/* Asserts that haystack contains needle, printing both if not. */
#define assert_contains(haystack, needle)                                     \
	do {                                                                  \
		const char *h_ = (haystack), *n_ = (needle);                  \
		if (!strstr(h_, n_))                                          \
			fail_msg("\"%s\" does not contain \"%s\"", h_, n_);   \
	} while (0)

/* The whole program of a test whose subject this build leaves out
 * (its Kconfig symbol off): one test, skipped, named after it. */
#define UNIT_NOT_BUILT(name)                                                  \
	static void test_not_built(void **state)                              \
	{                                                                     \
		(void)state;                                                  \
		skip();                                                       \
	}                                                                     \
	int main(void)                                                        \
	{                                                                     \
		const struct CMUnitTest tests[] = {                           \
			cmocka_unit_test(test_not_built)                      \
		};                                                            \
		return cmocka_run_group_tests_name(name " (not built)", tests, \
						   NULL, NULL);               \
	}

#endif
