/* SPDX-License-Identifier: MIT */
/* The controlling terminal: raw mode while a guest owns it, restored on
 * every way out (normal exit, error, fatal signal). */
#ifndef WISP_CORE_TERM_H
#define WISP_CORE_TERM_H

/* Puts fd (a tty) in raw mode; 0, or -1 if it is not a terminal. */
int term_raw(int fd);
void term_restore(void);

#endif
