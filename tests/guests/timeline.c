/* SPDX-License-Identifier: MIT */
/* The boot-timeline mark: byte 0x7b to port 0x440 ("guest boot complete"),
 * written as early as guest code can; the harness reads wisp's timeline. */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
	(void)si;
	timeline_mark();
	printf("TIMELINE mark 0x%x written to port 0x%x\n", TIMELINE_BOOT_COMPLETE,
	       TIMELINE_PORT);
	pass();
}
