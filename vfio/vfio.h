/* SPDX-License-Identifier: MIT */
/*
 * VFIO plumbing shared by the VFIO devices: what sysfs says about a host
 * PCI device (checked while the command line is parsed, so bad input
 * stops wisp before anything starts), and the one type1 container per VM
 * that holds every group and DMA-maps all of guest RAM.
 */
#ifndef WISP_VFIO_VFIO_H
#define WISP_VFIO_VFIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/kv.h"

struct vm;

/* Where sysfs and /dev are ("/sys", "/dev"); unit tests point these at
 * a fake tree. */
extern const char *vfio_sysfs_root;
extern const char *vfio_dev_root;

#define VFIO_BDF_LEN 16		/* "0000:00:01.0" and its NUL */

struct vfio_host_device {
	char bdf[VFIO_BDF_LEN];	/* the device's name in sysfs */
	unsigned group;		/* its IOMMU group */
};

/* Checks that `path` names a PCI device bound to vfio-pci whose IOMMU
 * group is viable (every other device in it bound to vfio-pci, a bridge
 * driver, or no driver) and can be opened; fills in *dev.  On failure
 * one line in err says what is wrong and -1 is returned. */
int vfio_check_host_device(const char *path, struct vfio_host_device *dev,
			   struct cli_error *err);

/* The VM's container (created with the first group): the group is added
 * to it, the type1 IOMMU set and guest RAM mapped on first use.  Returns
 * the device's fd from VFIO_GROUP_GET_DEVICE_FD, or -1 after a message.
 * Devices of one group share the group's fd. */
int vfio_open_device(struct vm *vm, const struct vfio_host_device *dev);

/* A part [offset, offset+size) of a BAR that VFIO lets wisp mmap. */
struct vfio_area {
	uint64_t offset;
	uint64_t size;
};

/* Takes [start, end), widened to whole pages, out of the n areas in
 * `area` (room for max): an area it falls inside is split in two while
 * there is room (else its tail is dropped, which only means trapped),
 * one it covers gets size 0.  Returns the new number of areas.  How the
 * MSI-X table and PBA stay trapped in an mmapped BAR (vfio_pci.c). */
size_t vfio_areas_cut(struct vfio_area *area, size_t n, size_t max,
		      uint64_t start, uint64_t end);

/* Calls fn(opaque) on VFIO's interrupt thread whenever fd (an eventfd)
 * is readable; fn reads it.  Any thread.  The watch lasts as long as
 * wisp.  0, or -1 after a message. */
/* Starts the interrupt thread (during set-up, so that it runs under its
 * own seccomp filter from the start): 0, or -1 (reported). */
int vfio_irq_start(void);
int vfio_irq_watch(int fd, void (*fn)(void *opaque), void *opaque);

#ifdef WISP_UNIT_TEST
#include <sys/types.h>

/* Tests and fuzzers stand in for the host's VFIO (tests/fuzz/fuzz_vfio.c):
 * while this is set, vfio_open_device() returns open_device(dev) without
 * any container or group, and every ioctl, pread and pwrite on a VFIO
 * device's fd goes through it (mmap still uses the fd itself). */
struct vfio_test_backend {
	int (*open_device)(const struct vfio_host_device *dev);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
};
extern const struct vfio_test_backend *vfio_test_backend;
#endif

/* Runs fn at exit (after the VM is gone), last registered first: the
 * devices reset themselves there.  At most a few per device. */
void vfio_at_exit(void (*fn)(void *opaque), void *opaque);

#endif
