// SPDX-License-Identifier: MIT
/*
 * CONFIG_SMALL_PRINTF: the printf family wisp calls, defined here on top
 * of lib/format.c, so the static link takes these instead of musl's
 * vfprintf (its floating point, wide-character and locale support being
 * about 10 KiB wisp never uses).  Only in the static binary: the unit
 * tests run on the host's libc and test wisp_vformat() itself.
 *
 * Output longer than a stack buffer is formatted a second time into the
 * heap rather than cut; a failed allocation cuts it.
 */
#include "lib/format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SHORT_OUTPUT 512

/* Formats into `stack` or, when that is too small, a malloc'd buffer;
 * *heap is what to free.  Returns the text and its length in *len. */
static const char *render(char *stack, char **heap, int *len, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = wisp_vformat(stack, SHORT_OUTPUT, fmt, ap);
	*heap = NULL;
	*len = n < 0 ? 0 : n;
	if (n >= SHORT_OUTPUT) {
		*heap = malloc((size_t)n + 1);
		if (*heap)
			wisp_vformat(*heap, (size_t)n + 1, fmt, again);
		else
			*len = SHORT_OUTPUT - 1;
	}
	va_end(again);
	return *heap ? *heap : stack;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
	return wisp_vformat(buf, size, fmt, ap);
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = wisp_vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	char stack[SHORT_OUTPUT], *heap;
	int len;
	const char *s = render(stack, &heap, &len, fmt, ap);
	size_t done = fwrite(s, 1, (size_t)len, f);

	free(heap);
	return done == (size_t)len ? len : -1;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}

int vdprintf(int fd, const char *restrict fmt, va_list ap)
{
	char stack[SHORT_OUTPUT], *heap;
	int len, done = 0;
	const char *s = render(stack, &heap, &len, fmt, ap);

	while (done < len) {
		ssize_t w = write(fd, s + done, (size_t)(len - done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (int)w;
	}
	free(heap);
	return done == len ? len : -1;
}

int dprintf(int fd, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}
