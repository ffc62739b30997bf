/* SPDX-License-Identifier: MIT */
/* What the files of VFIO PCI passthrough share (vfio_pci.c: config
 * space and set-up; vfio_bar.c: the BARs; vfio_irq.c: MSI, MSI-X and
 * INTx).  Theirs alone. */
#ifndef WISP_VFIO_VFIO_PCI_H
#define WISP_VFIO_VFIO_PCI_H

#include <errno.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/device.h"
#include "core/iommu.h"
#include "core/kconfig.h"
#include "core/pci.h"
#include "core/seccomp.h"
#include "core/vm.h"
#include "vfio/vfio.h"

#define PCI_ROM_ADDRESS 0x30
#define PCI_CAP_ID_MSI 0x05
#define PCI_MSI_FLAGS_ENABLE 0x0001
#define PCI_MSI_FLAGS_QMASK 0x000e	/* multiple messages capable */
#define PCI_MSI_FLAGS_QSIZE 0x0070	/* multiple messages enabled */
#define PCI_MSI_FLAGS_64BIT 0x0080
#define PCI_MSI_FLAGS_MASKBIT 0x0100
#define PCI_MSIX_FLAGS_QSIZE 0x07ff
#define PCI_MSIX_BIR 0x7
#define PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_STD_CFG_SIZE 256
#define PAGE 4096ULL
#define MAX_PIECES 8			/* mmapped parts of one BAR */

struct vfio_pci_config {
	const char *path;
	const char *id;		/* NULL when not given */
	bool iommu;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
	struct vfio_host_device host;
	uint8_t exclude_mmap_bars;	/* x_exclude_mmap_bars=: a bit per BAR, trapped */
};

struct vfio_pci;

struct mmap_piece {
	uint64_t offset;	/* in the BAR */
	uint64_t size;
	void *host;
	int slot;		/* KVM slot, or -1 */
	bool in_guest;		/* the slot is mapped now */
	uint64_t gpa;		/* where, while in_guest */
};

struct vfio_bar {
	struct vfio_pci *dev;
	unsigned index;
	uint64_t region_offset;	/* of the region in the device fd */
	uint64_t size;		/* the region's real size */
	size_t nareas;		/* what may be mmapped, before mapping */
	struct vfio_area area[MAX_PIECES];
	size_t npieces;		/* what is mmapped */
	struct mmap_piece piece[MAX_PIECES];
};

struct vfio_pci {
	struct pci_function fn;
	const struct vfio_pci_config *conf;
	struct vm *vm;
	char name[32];
	int fd;
	struct vfio_dma_space *dma;	/* iommu=on: its container's mappings */
	uint64_t cfg_offset;	/* the config region in the device fd */
	unsigned cfg_size;
	bool can_reset;
	/* bytes of config space wisp emulates; the rest is the device's */
	uint8_t emulated[PCI_CFG_SIZE];
	struct vfio_bar bar[PCI_NUM_BARS];
	uint32_t host_bar[PCI_NUM_BARS];	/* the BAR registers as the host had them */

	pthread_mutex_t irq_lock;
	/* MSI-X as VFIO has it: on, and the eventfd of each vector */
	bool msix_on;
	int *msix_fd;
	struct msix_park *park;
	/* MSI: the capability, one vector (multiple messages are hidden) */
	uint8_t msi_cap;
	bool msi_on, msi_failed;
	int msi_gsi, msi_eventfd;
	/* INTx: the wired line, VFIO's trigger eventfd, the unmask timer */
	int intx_line;		/* -1: the guest sees no INTx pin */
	bool intx_on;
	int intx_fd, intx_timer;
	atomic_uint reports;	/* guest-triggered messages so far (at most 8) */
};

static inline uint16_t cfg16(const struct vfio_pci *v, unsigned off)
{
	uint16_t x;

	memcpy(&x, &v->fn.cfg[off], 2);
	return x;
}

/* Every ioctl, pread and pwrite on the device fd: a test's fake device
 * stands behind them when there is one (vfio.h). */
static inline int dev_ioctl(int fd, unsigned long request, void *arg)
{
	return vfio_fake() ? vfio_fake()->ioctl(fd, request, arg) : ioctl(fd, request, arg);
}

static inline ssize_t dev_pread(int fd, void *buf, size_t len, off_t off)
{
	return vfio_fake() ? vfio_fake()->pread(fd, buf, len, off) : pread(fd, buf, len, off);
}

static inline ssize_t dev_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return vfio_fake() ? vfio_fake()->pwrite(fd, buf, len, off) : pwrite(fd, buf, len, off);
}

/* The bytes [off, off + len) of config space are wisp's, not the device's. */
static inline void emulate(struct vfio_pci *v, unsigned off, unsigned len)
{
	memset(&v->emulated[off], 1, len);
}

static inline uint32_t cfg32(const struct vfio_pci *v, unsigned off)
{
	uint32_t x;

	memcpy(&x, &v->fn.cfg[off], 4);
	return x;
}

/* Shared between vfio_pci.c, vfio_bar.c and vfio_irq.c. */
/* A failure the guest can cause again and again (misplaced BARs, config
 * writes the host refuses): reported, at most 8 times per device. */
void guest_report(struct vfio_pci *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vfio_bar_moved(struct pci_function *fn, unsigned n);
struct vfio_region_info *region_info(struct vfio_pci *v, unsigned index);
void map_pieces(struct vfio_pci *v, struct vfio_bar *b);
unsigned setup_bar(struct vfio_pci *v, unsigned n);
int set_irqs(struct vfio_pci *v, unsigned index, unsigned start,
	     unsigned count, const int *fds);
void msix_update(struct vfio_pci *v, unsigned first, unsigned count);
void msi_update(struct vfio_pci *v);
void setup_intx(struct vfio_pci *v, uint8_t pin);
void setup_msi(struct vfio_pci *v, uint8_t c);
int setup_msix(struct vfio_pci *v, uint8_t c);

#endif
