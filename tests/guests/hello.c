/* SPDX-License-Identifier: MIT */
/* The demo guest (make run): a greeting, the boot-complete mark, PASS. */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
	(void)si;
	printf("Hello from a wisp guest\n");
	timeline_mark();
	pass();
}
