/* SPDX-License-Identifier: MIT */
/*
 * i8042 CPU reset: prints "RESET requested", then writes command 0xfe
 * (pulse the reset line) to port 0x64.  wisp treats that as a guest reboot
 * request, so on success this guest prints no RESULT line: the harness
 * checks wisp's reboot behaviour.  Still running two seconds later means
 * the request was ignored: FAIL.
 */
#include "guest.h"

#define I8042_STATUS 0x64
#define I8042_COMMAND 0x64
#define I8042_STATUS_IBF 0x02 /* input buffer full: not ready for a command */
#define I8042_CMD_RESET 0xfe

void guest_main(const struct hvm_start_info *si)
{
	(void)si;
	printf("RESET requested\n");
	/* Like Linux: wait (bounded) for the controller to take a command. */
	for (int i = 0; i < 1000 && (inb(I8042_STATUS) & I8042_STATUS_IBF); i++)
		pause();
	outb(I8042_COMMAND, I8042_CMD_RESET);
	msleep(2000);
	fail("still running 2 s after i8042 command 0xfe (status 0x%x)", inb(I8042_STATUS));
}
