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

#ifdef CONFIG_LOG_FILE
/* How much wisp_log() says: 0 (the default) errors only, 1 (-v) the
 * VM's life, 2 (-vv) debugging; one step per -v, as in
 * cloud-hypervisor, where -v also goes from warnings to information. */
enum log_level { LOG_INFO = 1, LOG_DEBUG };
extern unsigned log_verbosity;

/* Where wisp_err() and wisp_log() write: stderr, or --log-file. */
extern int log_fd;

/* Sends the log to path (created or truncated) instead of stderr: -1
 * after one line on stderr naming it. */
int log_open(const char *path);

/* "wisp: <level>: <what>", when -v asked for that level. */
void wisp_log(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#else
#define wisp_log(level, ...) ((void)0)
static inline int log_open(const char *path)
{
	(void)path;
	return 0;
}
#endif

/* Whether the terminal is in raw mode, where a line needs "\r\n" to
 * start at the left margin: set by core/term.c, which is above this
 * file (a variable rather than a call up, and smaller than a setter). */
extern bool log_terminal_raw;

/* Makes s safe to print on a terminal in place: control characters (C0,
 * DEL and C1) and bytes that are not valid UTF-8 become '?'. */
void text_printable(char *s);

#endif
