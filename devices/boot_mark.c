// SPDX-License-Identifier: MIT
/*
 * The guest's boot-complete mark for the boot timeline: writing the byte
 * TIMELINE_MAGIC (0x7b) to this port (x86_64: 0x440) records "guest boot
 * complete".  A guest's init can do it with
 *     printf '\173' | dd of=/dev/port bs=1 seek=1088
 * Any other value is ignored.
 */
#include <string.h>

#include "arch_layout.h"
#include "core/device.h"
#include "core/timeline.h"
#include "core/vm.h"

static void mark_write(void *opaque, uint64_t off, const void *data,
		       unsigned len)
{
	(void)opaque;
	(void)len;
	if (off == 0 && *(const uint8_t *)data == TIMELINE_MAGIC)
		timeline_mark(TL_GUEST_BOOT_COMPLETE);
}

static void mark_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static const struct bus_ops mark_ops = { .read = mark_read, .write = mark_write };

static int boot_mark_create(struct vm *vm, const void *config)
{
	(void)config;
#ifdef ARCH_TIMELINE_MMIO
	return bus_register(&vm->mmio, ARCH_TIMELINE_MMIO, 1, &mark_ops, NULL, "boot-mark");
#else
	return bus_register(&vm->pio, ARCH_TIMELINE_PORT, 1, &mark_ops, NULL, "boot-mark");
#endif
}

DEVICE_REGISTER(boot_mark) = {
	.name = "boot-mark",
	.summary = "boot-complete mark for --timeline (write 0x7b)",
	.order = ORDER_PLATFORM,
	.create = boot_mark_create,
#ifdef CONFIG_SNAPSHOT
	/* Nothing to keep: reads are always 0, and a write only marks
	 * wisp's own boot timeline, which a restored VM starts anew. */
	.snapshot = &snapshot_stateless,
#endif
};
