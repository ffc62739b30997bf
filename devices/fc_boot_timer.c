// SPDX-License-Identifier: MIT
/*
 * Firecracker's boot timer: the byte 123 written to the first byte of the
 * page at 0xd000_0000 (x86_64) marks "guest boot complete".  wisp records
 * it on the boot timeline as the same milestone as its own mark (port
 * 0x440, whose byte 0x7b is the same 123) and, with --timeline, logs it
 * in Firecracker's words, so the tools that read Firecracker's log find it:
 *
 *   wisp: Guest-boot-time =  41234 us 41 ms,  20345 CPU us 20 CPU ms
 *
 * wall time since wisp started, and the CPU time of the whole wisp
 * process.  Only byte writes at offset 0 count, as in Firecracker.
 *
 * 0xd000_0000 lies inside wisp's 32-bit PCI window (0xc000_0000, 512 MiB).
 * wisp hands out BARs from the window's bottom, so only 256 MiB of 32-bit
 * BARs would reach this page; such a BAR, or one a guest moves here, is
 * refused as an overlap with "fc-boot-timer".  On AArch64, Firecracker's
 * address (0x4000_0000) is where wisp's RAM starts: there the nearest
 * equivalent is wisp's own mark at 0x0904_0000, which takes the same byte.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch_layout.h"
#include "core/device.h"
#include "core/timeline.h"
#include "core/vm.h"

#define FC_BOOT_TIMER_MAGIC 123
#define FC_BOOT_TIMER_SIZE 0x1000	/* Firecracker's MMIO slot */

static uint64_t process_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static void fc_boot_timer_write(void *opaque, uint64_t off, const void *data,
				unsigned len)
{
	const struct vm *vm = opaque;
	unsigned long long wall, cpu;

	if (off != 0 || len != 1 || *(const uint8_t *)data != FC_BOOT_TIMER_MAGIC)
		return;
	timeline_mark(TL_GUEST_BOOT_COMPLETE);
	if (!vm->cfg->timeline)
		return;
	wall = timeline_now_us();
	cpu = process_cpu_us();
	dprintf(STDERR_FILENO, "wisp: Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms\n",
		wall, wall / 1000, cpu, cpu / 1000);
}

static void fc_boot_timer_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static const struct bus_ops fc_boot_timer_ops = {
	.read = fc_boot_timer_read,
	.write = fc_boot_timer_write,
};

static int fc_boot_timer_create(struct vm *vm, const void *config)
{
	(void)config;
	return bus_register(&vm->mmio, X86_FC_BOOT_TIMER, FC_BOOT_TIMER_SIZE,
			    &fc_boot_timer_ops, vm, "fc-boot-timer");
}

DEVICE_REGISTER(fc_boot_timer) = {
	.name = "fc-boot-timer",
	.summary = "Firecracker's boot timer at 0xd0000000 (write 123)",
	.order = ORDER_PLATFORM,
	.create = fc_boot_timer_create,
#ifdef CONFIG_SNAPSHOT
	/* Nothing to keep: reads are always 0, and a write only marks and
	 * logs wisp's own boot timeline, which a restored VM starts anew. */
	.snapshot = &snapshot_stateless,
#endif
};
