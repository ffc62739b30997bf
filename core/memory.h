/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM.  This module owns every guest memory region and is the only
 * way the rest of wisp reaches guest memory: gpa_ptr() returns a host
 * pointer only if [gpa, gpa+len) lies wholly inside one RAM region, so a
 * guest-supplied address can never make wisp touch host memory outside
 * the guest's.  Devices never do address arithmetic on their own.
 */
#ifndef WISP_CORE_MEMORY_H
#define WISP_CORE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_REGIONS 8

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	int fd;			/* memfd with shared=on, else -1 */
	uint64_t fd_offset;	/* where this region starts in fd */
	uint32_t slot;		/* KVM memory slot */
	bool readonly;
	bool ram;		/* guest RAM (in the memory map), else device memory */
};

struct guest_memory {
	size_t nregions;
	size_t nram;		/* regions [0, nram) are RAM, in address order */
	struct mem_region region[MEM_MAX_REGIONS];
	int fd;			/* the one memfd all RAM regions share, or -1 */
	uint8_t *base;		/* one mapping holds all RAM regions back to back */
	uint64_t total;
	uint64_t device_next;	/* where the next device region goes */
	/* a device DMAs into RAM through pinned pages (VFIO): discarding a
	 * page would part it from what the device sees */
	bool dma_pinned;
};

/* Device memory (virtio-pmem) lives this far above the 1 GiB-aligned end
 * of RAM, past the 64-bit PCI window that starts there. */
#define DEVICE_MEMORY_OFFSET (64ULL << 30)

struct memory_config;

/* Maps `total` bytes of RAM and splits them over the guest-physical
 * ranges in `layout` (pairs of gpa, size; sizes sum to total). */
int memory_init(struct guest_memory *mem, const struct memory_config *cfg,
		const uint64_t (*layout)[2], size_t nlayout);
void memory_destroy(struct guest_memory *mem);

/* Puts a snapshot's RAM file (fd, as long as RAM) in place of RAM's
 * contents, before any memory slot exists: mapped privately (copied
 * into the memfd with shared=on).  prefault reads it all now.  0 or -1
 * with errno. */
int memory_map_image(struct guest_memory *mem, int fd, bool prefault);

/* Host pointer for [gpa, gpa+len) if it lies in one RAM region, else
 * NULL (len 0 asks only that gpa itself is RAM). */
void *gpa_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Copies between host and guest memory; -1 if the range is not RAM. */
int gpa_write(const struct guest_memory *mem, uint64_t gpa, const void *src,
	      uint64_t len);
int gpa_read(const struct guest_memory *mem, uint64_t gpa, void *dst,
	     uint64_t len);

/* The end of the highest RAM region. */
uint64_t memory_ram_end(const struct guest_memory *mem);

/* Adds `size` bytes at `host` as guest device memory (virtio-pmem) at the
 * next free spot above RAM and the PCI window, aligned to `align`;
 * returns the region (its gpa and slot set), or NULL when full. */
const struct mem_region *memory_add_device(struct guest_memory *mem, void *host,
					   uint64_t size, uint64_t align,
					   bool readonly);

/* The region holding gpa (RAM or device memory), or NULL. */
const struct mem_region *gpa_region(const struct guest_memory *mem,
				    uint64_t gpa);

#endif
