/* SPDX-License-Identifier: MIT */
/*
 * Reboot through the PC reset control register at 0xcf9 (bit 2), one of
 * the ways Linux falls back to (reboot=pci).  wisp then stops with its
 * reboot line.
 */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
	(void)si;
	printf("RESET via port 0xcf9\n");
	outb(0xcf9, 0x02);	/* bit 2 clear: nothing happens */
	msleep(20);
	printf("RESET 0x02 ignored\n");
	outb(0xcf9, 0x06);
	msleep(1000);
	fail("still running 1 s after the reset write");
}
