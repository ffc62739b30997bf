// SPDX-License-Identifier: MIT
/*
 * wisp_err() and what it needs, kept below everything else in core so
 * that reporting an error never calls up a layer (docs/architecture.md).
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool log_terminal_raw;

/* The length of the valid UTF-8 sequence at p (1-4), or 0 when it is
 * not one (a stray continuation byte, an overlong form, a surrogate,
 * beyond U+10FFFF, or cut short). */
static unsigned utf8_length(const unsigned char *p)
{
	unsigned n, lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;	/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;	/* beyond U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (unsigned i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

void text_printable(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		unsigned n = utf8_length(p);

		/* C0 controls and DEL; C1 controls (U+0080-U+009F, 0xc2
		 * 0x80-0x9f: 0x9b alone is an 8-bit CSI to some terminals);
		 * a byte that starts no valid sequence.  Replacing a lead
		 * byte leaves its continuation bytes invalid: each goes too. */
		if (!n || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f)) {
			*p = '?';
			n = 1;
		}
		p += n;
	}
}

#ifndef CONFIG_LOG_FILE
void wisp_err(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* lines quote the user's paths and values: nothing in them may
	 * reach the terminal as a control sequence */
	text_printable(line);
	/* one write, so lines from several threads do not interleave, and
	 * "\r\n" because the terminal may be in raw mode */
	dprintf(STDERR_FILENO, "wisp: %s%s", line, log_terminal_raw ? "\r\n" : "\n");
}
#else
unsigned log_verbosity;
int log_fd = STDERR_FILENO;

/* One line of the log, as wisp_err() always wrote it, with a level
 * after "wisp: " and to the log file when there is one. */
static void log_line(const char *level, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	text_printable(line);	/* no control sequence reaches a terminal */
	/* one write, so lines of several threads do not interleave */
	dprintf(log_fd, "wisp: %s%s%s", level, line,
		log_terminal_raw && log_fd == STDERR_FILENO ? "\r\n" : "\n");
}

void wisp_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

int log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0) {
		wisp_err("--log-file: cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	log_fd = fd;
	return 0;
}

void wisp_log(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "", "info: ", "debug: " };
	va_list ap;

	if (level > log_verbosity)
		return;
	va_start(ap, fmt);
	log_line(names[level], fmt, ap);
	va_end(ap);
}
#endif
