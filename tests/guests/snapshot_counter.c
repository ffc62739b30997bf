/* SPDX-License-Identifier: MIT */
/* A counter in guest memory, printed after each step: the direct test
 * tests/direct/snapshot.sh pauses, snapshots and kills the VM, restores
 * it in a new wisp, and checks that the count goes on from where it
 * was (no second boot: the "counting from 0" line comes only once). */
#include "guest.h"

/* in guest RAM (.bss): what the snapshot must carry over */
static volatile uint64_t counter;

void guest_main(const struct hvm_start_info *si)
{
	(void)si;
	timeline_mark();
	printf("snapshot_counter: counting from %llu\n", (unsigned long long)counter);
	for (;;) {
		/* a pause between steps: a few lines a second, even emulated */
		for (volatile uint32_t i = 0; i < 2000000; i++)
			pause();
		counter++;
		printf("COUNT %llu\n", (unsigned long long)counter);
	}
}
