// SPDX-License-Identifier: MIT
#include "core/term.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/log.h"

static struct termios saved;
static int raw_fd = -1;

void term_restore(void)
{
	if (raw_fd < 0)
		return;
	tcsetattr(raw_fd, TCSANOW, &saved);
	raw_fd = -1;
	log_terminal_raw = false;
}

/* A crash must not leave the user's shell in raw mode.  SA_RESETHAND
 * has put the default action back already (a filtered thread may not
 * call rt_sigaction), and the signal raised again here is delivered with
 * it once the handler returns. */
static void restore_and_reraise(int sig)
{
	term_restore();
	raise(sig);
}

int term_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct termios raw;

	if (!isatty(fd) || tcgetattr(fd, &saved))
		return -1;
	raw = saved;
	cfmakeraw(&raw);
	/* keep output post-processing so that wisp's own messages stay
	 * readable; the guest's bytes are written unchanged anyway */
	raw.c_oflag |= OPOST;
	if (tcsetattr(fd, TCSANOW, &raw))
		return -1;
	raw_fd = fd;
	log_terminal_raw = true;
	atexit(term_restore);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa = { .sa_handler = restore_and_reraise,
					.sa_flags = SA_RESETHAND | SA_RESTART };

		sigemptyset(&sa.sa_mask);
		sigaction(fatal[i], &sa, NULL);
	}
	return 0;
}
