/* SPDX-License-Identifier: MIT */
/*
 * The boot timeline (CONFIG_BOOT_TIMELINE): the first time each
 * milestone is reached, in microseconds since wisp started, printed on
 * stderr at exit with --timeline.  Marking is one atomic store, cheap
 * enough for the paths it sits on; compiled out, it costs nothing.
 */
#ifndef WISP_CORE_TIMELINE_H
#define WISP_CORE_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

enum timeline_mark {
	TL_CONFIG_PARSED,
	TL_VM_CREATED,
	TL_GUEST_LOADED,
	TL_FIRST_VCPU_ENTRY,
	TL_FIRST_SERIAL_BYTE,
	TL_GUEST_BOOT_COMPLETE,
	TL_EXIT,
	TL_COUNT
};

/* The guest's boot-complete mark: this byte written to this I/O port
 * (x86_64) or MMIO address (AArch64).  Documented in README.md. */
#define TIMELINE_MAGIC 0x7b

#ifdef CONFIG_BOOT_TIMELINE
void timeline_start(void);
void timeline_mark(enum timeline_mark m);
void timeline_print(bool enabled);
/* Microseconds since wisp started: the time base of the peers' timing
 * marks (devices/debug_port.c, devices/fc_boot_timer.c). */
uint64_t timeline_now_us(void);
#else
static inline void timeline_start(void) {}
static inline void timeline_mark(enum timeline_mark m) { (void)m; }
static inline void timeline_print(bool enabled) { (void)enabled; }
#endif

#endif
