// SPDX-License-Identifier: MIT
#include "core/timeline.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *const names[TL_COUNT] = {
	[TL_CONFIG_PARSED] = "config parsed",
	[TL_VM_CREATED] = "VM created",
	[TL_GUEST_LOADED] = "guest loaded",
	[TL_FIRST_VCPU_ENTRY] = "first vCPU entry",
	[TL_FIRST_SERIAL_BYTE] = "first serial byte",
	[TL_GUEST_BOOT_COMPLETE] = "guest boot complete",
	[TL_EXIT] = "exit",
};

static uint64_t start_ns;
static _Atomic uint64_t at_ns[TL_COUNT];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void timeline_start(void)
{
	start_ns = now_ns();
}

uint64_t timeline_now_us(void)
{
	return (now_ns() - start_ns) / 1000;
}

void timeline_mark(enum timeline_mark m)
{
	uint64_t unset = 0;

	/* +1 so that a mark in the very first nanosecond is not "unset" */
	if (!atomic_load_explicit(&at_ns[m], memory_order_relaxed))
		atomic_compare_exchange_strong(&at_ns[m], &unset, now_ns() - start_ns + 1);
}

void timeline_print(bool enabled)
{
	if (!enabled)
		return;
	dprintf(STDERR_FILENO, "wisp: boot timeline (us since start)\n");
	for (int m = 0; m < TL_COUNT; m++) {
		uint64_t t = atomic_load(&at_ns[m]);

		if (t)
			dprintf(STDERR_FILENO, "wisp: %10llu  %s\n",
				(unsigned long long)((t - 1) / 1000), names[m]);
		else
			dprintf(STDERR_FILENO, "wisp: %10s  %s\n", "-", names[m]);
	}
}
