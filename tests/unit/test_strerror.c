// SPDX-License-Identifier: MIT
/*
 * lib/strerror.c (CONFIG_SMALL_STRERROR): each listed error has its text
 * under the number <errno.h> gives it (the table spells the numbers in
 * octal, so a slip would name the wrong error), and any other number
 * reads "error N".
 */
#include "unit.h"

#include <errno.h>

char *wisp_strerror_for_test(int err);

static const struct {
	int err;
	const char *text;
} known[] = {
	{ EPERM, "Operation not permitted" },
	{ ENOENT, "No such file or directory" },
	{ ESRCH, "No such process" },
	{ EINTR, "Interrupted system call" },
	{ EIO, "I/O error" },
	{ ENXIO, "No such device or address" },
	{ E2BIG, "Argument list too long" },
	{ EBADF, "Bad file descriptor" },
	{ EAGAIN, "Resource temporarily unavailable" },
	{ ENOMEM, "Out of memory" },
	{ EACCES, "Permission denied" },
	{ EFAULT, "Bad address" },
	{ EBUSY, "Resource busy" },
	{ EEXIST, "File exists" },
	{ ENODEV, "No such device" },
	{ ENOTDIR, "Not a directory" },
	{ EISDIR, "Is a directory" },
	{ EINVAL, "Invalid argument" },
	{ ENFILE, "Too many open files in system" },
	{ EMFILE, "No file descriptors available" },
	{ ENOTTY, "Not a tty" },
	{ EFBIG, "File too large" },
	{ ENOSPC, "No space left on device" },
	{ EROFS, "Read-only file system" },
	{ EPIPE, "Broken pipe" },
	{ ERANGE, "Result not representable" },
	{ ENAMETOOLONG, "Filename too long" },
	{ ENOSYS, "Function not implemented" },
	{ ELOOP, "Symbolic link loop" },
	{ EOVERFLOW, "Value too large for data type" },
	{ ENOTSOCK, "Not a socket" },
	{ EOPNOTSUPP, "Not supported" },
	{ EADDRINUSE, "Address in use" },
	{ ECONNRESET, "Connection reset by peer" },
	{ ENOBUFS, "No buffer space available" },
	{ ENOTCONN, "Socket not connected" },
	{ ETIMEDOUT, "Operation timed out" },
	{ ECONNREFUSED, "Connection refused" },
	{ EDQUOT, "Quota exceeded" },
};

static void test_known_errors(void **state)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_string_equal(wisp_strerror_for_test(known[i].err), known[i].text);
}

static void test_other_numbers(void **state)
{
	assert_string_equal(wisp_strerror_for_test(0), "error 0");
	assert_string_equal(wisp_strerror_for_test(EHWPOISON), "error 133");
	assert_string_equal(wisp_strerror_for_test(-5), "error -5");
	assert_string_equal(wisp_strerror_for_test(256 + ENOENT), "error 258");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_errors),
		cmocka_unit_test(test_other_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
