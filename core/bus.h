/* SPDX-License-Identifier: MIT */
/*
 * An address bus: a sorted table of non-overlapping ranges, each owned
 * by one device.  A vCPU exit (port I/O or MMIO) is looked up here by
 * binary search and handed to the owner with the offset into its range;
 * an access nobody owns reads as all ones and is otherwise ignored.
 */
#ifndef WISP_CORE_BUS_H
#define WISP_CORE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* len is 1, 2, 4 or 8; data is little-endian guest bytes. */
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const void *data,
		      unsigned len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *owner;	/* for messages */
};

struct bus {
	const char *name;	/* "pio", "mmio" */
	pthread_rwlock_t lock;	/* ranges move when the guest moves a BAR */
	size_t n, cap;
	struct bus_range *ranges;
	unsigned overlap_reports;	/* messages printed about overlaps */
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* -1 (and a message) if the range overlaps one already registered. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *owner);
/* Removes the range starting at base owned by opaque. */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/* Dispatches an access; false if no device owns addr (reads then get
 * all ones). */
bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned len,
		bool is_write);

#endif
