/* SPDX-License-Identifier: MIT */
/*
 * The bottom of core: how wisp reports a failure.  Every other file may
 * call down to here; this one calls nothing of wisp's but lib/.
 */
#ifndef WISP_CORE_LOG_H
#define WISP_CORE_LOG_H

#include <stdbool.h>

/* Reports a failure: "wisp: <what>" on stderr. */
void wisp_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether the terminal is in raw mode, where a line needs "\r\n" to
 * start at the left margin: set by core/term.c, which is above this
 * file (a variable rather than a call up, and smaller than a setter). */
extern bool log_terminal_raw;

/* Makes s safe to print on a terminal in place: control characters (C0,
 * DEL and C1) and bytes that are not valid UTF-8 become '?'. */
void text_printable(char *s);

#endif
