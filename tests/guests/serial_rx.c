/* SPDX-License-Identifier: MIT */
/*
 * 16550A receive by polling: prints "RX ready", reads one line (LSR data
 * ready, then RBR) until '\n' or '\r', echoes it as "RX <line>" and passes
 * if it is "ping".  The harness feeds "ping\n" on wisp's stdin, before or
 * after "RX ready"; the guest gives up after 10 s.
 */
#include "guest.h"

#define TIMEOUT_MS 10000

void guest_main(const struct hvm_start_info *si)
{
	char line[64];
	unsigned int n = 0;

	(void)si;
	printf("RX ready\n");
	deadline_start(TIMEOUT_MS);
	for (;;) {
		if (!(inb(COM1 + UART_LSR) & UART_LSR_DR)) {
			CHECK(!deadline_passed(), "no complete line within %u ms (got %u bytes)",
			      TIMEOUT_MS, n);
			pause();
			continue;
		}
		char c = (char)inb(COM1 + UART_RBR);
		if (c == '\n' || c == '\r') {
			if (n)
				break;
			continue; /* an empty line, or the '\n' of "\r\n" */
		}
		if (n < sizeof(line) - 1)
			line[n++] = c;
	}
	line[n] = '\0';
	printf("RX %s\n", line);
	CHECK(!strcmp(line, "ping"), "received \"%s\", want \"ping\"", line);
	pass();
}
