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

#endif
