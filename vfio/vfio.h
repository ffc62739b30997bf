/* SPDX-License-Identifier: MIT */
/*
 * VFIO plumbing shared by the VFIO devices: what sysfs says about a host
 * PCI device (checked while the command line is parsed, so bad input
 * stops wisp before anything starts), the one type1 container per VM
 * that holds every group and DMA-maps all of guest RAM, and, for devices
 * given iommu=on, a container per device whose mappings follow the
 * guest's virtio-iommu domain (vfio_dma.c).
 */
#ifndef WISP_VFIO_VFIO_H
#define WISP_VFIO_VFIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/kv.h"

struct guest_memory;
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

/* What one container's host IOMMU can map, and what it maps now: the
 * DMA side of iommu=on.  vfio_dma_map() and vfio_dma_unmap() are the
 * container's struct iommu_mirror callbacks (core/iommu.h), `opaque`
 * being the space. */
#define VFIO_DMA_MAX_RANGES 16

struct vfio_dma_space {
	int fd;				/* the container */
	const struct guest_memory *mem;
	uint64_t page_sizes;		/* iova_pgsizes */
	size_t nranges;			/* usable I/O virtual addresses, sorted */
	struct {
		uint64_t start, last;
	} range[VFIO_DMA_MAX_RANGES];
	/* what the guest made it do, reported at exit */
	uint64_t maps, unmaps, mapped, peak;	/* calls; bytes now, at most */
	unsigned reports;		/* unexpected host errors reported */
};

/* Fills s from VFIO_IOMMU_GET_INFO on the container fd (type1 set). 0, or
 * -1 after a message. */
int vfio_dma_space_init(struct vfio_dma_space *s, int fd, const struct guest_memory *mem);
/* struct iommu_mirror's map(): [iova, last] -> guest-physical gpa with
 * prot.  Only guest RAM is mapped (each RAM piece of the range at its own
 * IOVA); the rest stays unmapped, so the device's DMA there faults in the
 * host IOMMU, as an emulated device's is refused.  Checked: prot, the
 * range and gpa not wrapping (-EINVAL), alignment to the host's smallest
 * page and the host's usable addresses (-ERANGE).  Host failures:
 * -ENOMEM (no memory, the mapping limit), else -EIO; whatever was mapped
 * of the range is unmapped again. */
int vfio_dma_map(void *space, uint64_t iova, uint64_t last, uint64_t gpa, unsigned prot);
/* struct iommu_mirror's unmap(): every mapping inside [iova, last]. */
int vfio_dma_unmap(void *space, uint64_t iova, uint64_t last);
/* The container as the IOMMU's mirror (struct iommu_mirror): the two
 * above, and what the host can map: its page sizes, the span of its
 * usable addresses and the holes between them (at most
 * IOMMU_MIRROR_HOLES; the guest is told they are reserved). */
struct iommu_mirror;
void vfio_dma_mirror(struct vfio_dma_space *s, struct iommu_mirror *m);
/* The ioctl() the two above and vfio_dma_space_init() use; unit tests
 * put a fake container here. */
extern int (*vfio_dma_ioctl)(int fd, unsigned long request, void *arg);

/* The device's fd from VFIO_GROUP_GET_DEVICE_FD, or -1 after a message;
 * devices of one group share the group's fd.  space NULL: the group joins
 * the VM's container (created with the first group, the type1 IOMMU set
 * and guest RAM mapped on first use).  Otherwise (iommu=on) the group gets
 * a container of its own with nothing mapped, and *space is its DMA
 * space; its group may hold no other device given to wisp. */
int vfio_open_device(struct vm *vm, const struct vfio_host_device *dev,
		     struct vfio_dma_space **space);

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

/* Tests and fuzzers stand in for the host's VFIO (tests/fuzz/fuzz_vfio.c):
 * while vfio_test_backend is set, vfio_open_device() returns
 * open_device(dev) without any container or group, and every ioctl,
 * pread and pwrite on a VFIO device's fd goes through it (mmap still
 * uses the fd itself).  The seam: vfio_fake() is that backend in the
 * unit tests and fuzzers, and NULL (code that folds away) in wisp. */
struct vfio_test_backend {
	int (*open_device)(const struct vfio_host_device *dev);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
};
#ifdef WISP_UNIT_TEST
extern const struct vfio_test_backend *vfio_test_backend;	/* vfio/test_hooks.c */
#endif

static inline const struct vfio_test_backend *vfio_fake(void)
{
#ifdef WISP_UNIT_TEST
	return vfio_test_backend;
#else
	return NULL;
#endif
}

/* A VFIO GET_INFO answer with its capability chain: `query` (len bytes,
 * argsz first, as every VFIO info struct has it) is sent, then, when the
 * answer's argsz says the chain needs more room, sent again in a buffer
 * that big.  call is the ioctl (a test's fake, or the real one).  The
 * returned buffer (the caller frees it) is never shorter than the argsz
 * it holds, which is what the chain walkers bound their reads by.
 * NULL with errno set when a call fails. */
void *vfio_get_info(int fd, unsigned long request, const void *query, uint32_t len,
		    int (*call)(int fd, unsigned long request, void *arg));

/* Runs fn at exit (after the VM is gone), last registered first: the
 * devices reset themselves there.  At most a few per device. */
void vfio_at_exit(void (*fn)(void *opaque), void *opaque);

#endif
