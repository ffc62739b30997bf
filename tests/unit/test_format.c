// SPDX-License-Identifier: MIT
/* wisp_vformat (lib/format.c) against the host C library's vsnprintf:
 * the same output and return value for every directive wisp supports,
 * and vsnprintf's truncation contract. */
#include "unit.h"

#include <limits.h>

#include "lib/format.h"

/* Formats with both and compares output and return value. */
#define SAME(fmt, ...)                                                        \
	do {                                                                  \
		char want_[256], got_[256];                                   \
		int wn_ = snprintf(want_, sizeof(want_), fmt, __VA_ARGS__);   \
		int gn_ = wisp_format(got_, sizeof(got_), fmt, __VA_ARGS__);  \
		if (wn_ != gn_ || strcmp(want_, got_))                        \
			fail_msg("format \"%s\": libc \"%s\" (%d), wisp \"%s\" (%d)", \
				 fmt, want_, wn_, got_, gn_);                 \
	} while (0)

/* flag combinations C defines but GCC warns about are tested too */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
static void test_integers(void **state)
{
	(void)state;
	SAME("%d %i %u", 0, -1, 0u);
	SAME("%d|%d", INT_MIN, INT_MAX);
	SAME("%u %x %X %o", UINT_MAX, 0xdeadbeefu, 0xabcu, 0777u);
	SAME("%lld %llu %llx", LLONG_MIN, ULLONG_MAX, 0x0123456789abcdefULL);
	SAME("%ld %lu", LONG_MIN, ULONG_MAX);
	SAME("%zu %zd %jd %ju %td", (size_t)12345, (ssize_t)-7, (intmax_t)INTMAX_MIN,
	     (uintmax_t)UINTMAX_MAX, (ptrdiff_t)-3);
	SAME("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
	SAME("%016llx %08llx %04x %2x", 0x1234ULL, 0xabcdef12345ULL, 0x7u, 0x1abu);
	SAME("%#llx %#x %#X %#o %#o", 0x10ULL, 0u, 0xffu, 8u, 0u);
	SAME("%+d %+d % d % d %+u", 5, -5, 5, -5, 5u);
	SAME("%5d|%-5d|%05d|%-05d|%5u", 42, 42, -42, 42, 7u);
	SAME("%.3d|%.0d|%.0d|%8.3d|%-8.3x|%08.3d", 7, 0, 1, -7, 0xau, 5);
	SAME("%10llu %-10llu|", 123ULL, 456ULL);
	SAME("%*d|%-*d|%*d|%.*d", 6, 1, 6, 2, -6, 3, 4, 9);
}
#pragma GCC diagnostic pop

static void test_strings_and_chars(void **state)
{
	(void)state;
	SAME("%s|%10s|%-10s|%.2s|%.*s|%-16s|%-22s|", "abc", "right", "left", "cut", 3,
	     "precision", "", "x");
	SAME("%c%c%c|%3c|%-3c|", 'a', 'b', 'c', 'd', 'e');
	SAME("100%% %s", "done");
	SAME("%p %p", (void *)0x1000, (void *)&state);
	SAME("%s", "");
}

static const char *volatile no_string;

static void test_truncation(void **state)
{
	char buf[8];
	int n;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	n = wisp_format(buf, sizeof(buf), "%s-%d", "abcdef", 12345);
	assert_int_equal(n, 12);
	assert_string_equal(buf, "abcdef-");
	/* size 0 writes nothing, still reports the length */
	buf[0] = 'q';
	assert_int_equal(wisp_format(buf, 0, "%d", 123456), 6);
	assert_int_equal(buf[0], 'q');
	assert_int_equal(wisp_format(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
	/* NULL is no string, but not a crash either */
	assert_int_equal(wisp_format(buf, sizeof(buf), "%s", no_string), 6);
	assert_string_equal(buf, "(null)");
}

static void test_unsupported_kept(void **state)
{
	char buf[64];

	(void)state;
	/* no floating point: the directive stays as written and takes no
	 * argument, so the ones after it are still right */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
	assert_int_equal(wisp_format(buf, sizeof(buf), "a%5.2fb%d", 7), 8);
#pragma GCC diagnostic pop
	assert_string_equal(buf, "a%5.2fb7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings_and_chars),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_unsupported_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
