/* SPDX-License-Identifier: MIT */
/*
 * wisp's formatter (lib/format.c): vsnprintf's contract for the
 * conversions wisp uses (no floating point).  With CONFIG_SMALL_PRINTF
 * the static binary's snprintf/fprintf/dprintf family is this.
 */
#ifndef WISP_LIB_FORMAT_H
#define WISP_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Writes at most size-1 characters and a NUL (nothing when size is 0);
 * returns the length the whole output has, or -1 past INT_MAX. */
int wisp_vformat(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int wisp_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
