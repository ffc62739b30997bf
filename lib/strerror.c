// SPDX-License-Identifier: MIT
/*
 * CONFIG_SMALL_STRERROR: strerror() for the errors wisp meets, instead of
 * musl's table of every error the C library knows (about 1.9 KiB of the
 * static binary).  The texts are the usual ones, word for word, so a
 * message reads the same whichever strerror a build links; an error not
 * listed reads "error N", which still names it exactly.
 *
 * The table is one string: each entry is the error number as a byte,
 * then its text, then a NUL.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* the numbers are octal escapes (what a string can hold a byte in),
 * checked against <errno.h> by tests/unit/test_strerror.c; the texts are
 * those of musl, which the other builds link */
static const char table[] =
	"\001" "Operation not permitted\0"
	"\002" "No such file or directory\0"
	"\003" "No such process\0"
	"\004" "Interrupted system call\0"
	"\005" "I/O error\0"
	"\006" "No such device or address\0"
	"\007" "Argument list too long\0"
	"\011" "Bad file descriptor\0"
	"\013" "Resource temporarily unavailable\0"
	"\014" "Out of memory\0"
	"\015" "Permission denied\0"
	"\016" "Bad address\0"
	"\020" "Resource busy\0"
	"\021" "File exists\0"
	"\023" "No such device\0"
	"\024" "Not a directory\0"
	"\025" "Is a directory\0"
	"\026" "Invalid argument\0"
	"\027" "Too many open files in system\0"
	"\030" "No file descriptors available\0"
	"\031" "Not a tty\0"
	"\033" "File too large\0"
	"\034" "No space left on device\0"
	"\036" "Read-only file system\0"
	"\040" "Broken pipe\0"
	"\042" "Result not representable\0"
	"\044" "Filename too long\0"
	"\046" "Function not implemented\0"
	"\050" "Symbolic link loop\0"
	"\113" "Value too large for data type\0"
	"\130" "Not a socket\0"
	"\137" "Not supported\0"
	"\142" "Address in use\0"
	"\150" "Connection reset by peer\0"
	"\151" "No buffer space available\0"
	"\153" "Socket not connected\0"
	"\156" "Operation timed out\0"
	"\157" "Connection refused\0"
	"\172" "Quota exceeded\0";

/* The unit tests link the host's C library, whose strerror stays; they
 * call this one by its own name. */
#ifdef WISP_UNIT_TEST
char *wisp_strerror_for_test(int err);
#define strerror wisp_strerror_for_test
#endif

char *strerror(int err)
{
	static char unknown[24];

	/* a byte equal to err (256 + ENOENT is not ENOENT) */
	if (err > 0 && err < 256) {
		for (const char *p = table; *p; p += strlen(p) + 1)
			if ((unsigned char)*p == err)
				return (char *)p + 1;
	}
	snprintf(unknown, sizeof(unknown), "error %d", err);
	return unknown;
}
