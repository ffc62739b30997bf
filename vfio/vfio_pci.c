// SPDX-License-Identifier: MIT
/*
 * VFIO PCI passthrough: a host PCI device bound to vfio-pci, given to the
 * guest as a function on wisp's PCI segment.
 *
 * Config space is the device's own, read and written through VFIO, except
 * what wisp must own: the BARs (the guest places them in wisp's PCI
 * window, not where the host has them), the expansion ROM (hidden), the
 * interrupt line and pin (INTx goes through wisp, see setup_intx), the
 * header type's multi-function bit, and the MSI and MSI-X capabilities
 * (MSI-X is core/pci.c's emulation, MSI one route of this file's; both
 * become KVM MSI routes).  The command
 * register is both: core/pci.c uses it to decode the BARs, and the device
 * gets it too (memory decoding, bus mastering).
 *
 * BARs: every part of a region that VFIO lets us mmap is put in the guest
 * as a KVM memory slot, so guest accesses never exit, except the pages
 * holding the MSI-X table and PBA; the rest of the BAR is trapped on the
 * MMIO bus and forwarded with pread/pwrite on the device fd.
 *
 * Interrupts: each MSI-X vector (and the MSI vector) is a KVM irqfd; the
 * eventfd behind it is handed to VFIO_DEVICE_SET_IRQS, so the host
 * kernel signals the guest directly, without a wisp thread in between.
 * Masked MSI-X vectors and INTx go through wisp's VFIO interrupt thread.
 *
 * iommu=on: the device sits behind the virtio-iommu, in a VFIO container
 * of its own, and the guest's mappings for it become the host IOMMU's
 * (vfio_dma.c); otherwise all guest RAM is mapped for it up front.
 *
 * The device is reset when wisp takes it and again at exit.  Its config
 * space writes are filtered by vfio-pci in the host kernel too, so a
 * hostile guest can misprogram its device but not the host.
 */
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
	bool iommu;
	uint64_t pci_segment;
	struct vfio_host_device host;
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

static uint16_t cfg16(const struct vfio_pci *v, unsigned off)
{
	uint16_t x;

	memcpy(&x, &v->fn.cfg[off], 2);
	return x;
}

static uint32_t cfg32(const struct vfio_pci *v, unsigned off)
{
	uint32_t x;

	memcpy(&x, &v->fn.cfg[off], 4);
	return x;
}

/* A failure the guest can cause again and again (misplaced BARs, config
 * writes the host refuses): reported, at most 8 times per device. */
#define MAX_REPORTS 8
__attribute__((format(printf, 2, 3)))
static void guest_report(struct vfio_pci *v, const char *fmt, ...)
{
	unsigned n = atomic_fetch_add(&v->reports, 1);
	char line[256];
	va_list ap;

	if (n >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wisp_err("%s: %s%s", v->name, line,
		 n + 1 == MAX_REPORTS ? " (no more such messages follow)" : "");
}

/* ------------------------------------------------------------ parsing */

static int vfio_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vfio_pci_config *c = config;

	if (kv_str(args, "path", &c->path, err) < 0 ||
	    kv_bool(args, "iommu", &c->iommu, err) < 0 ||
	    kv_u64(args, "pci_segment", 0, PCI_MAX_SEGMENTS - 1, &c->pci_segment, err) < 0)
		return -1;
	if (!c->path) {
		cli_errorf(err, "path=/sys/bus/pci/devices/DDDD:BB:DD.F is required in '%s'",
			   args->source);
		return -1;
	}
	if (c->iommu && !IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		cli_errorf(err, "'iommu=on': this wisp is built without virtio-iommu");
		return -1;
	}
	return vfio_check_host_device(c->path, &c->host, err);
}

/* ---------------------------------------------------- the device's fd */

/* Every ioctl, pread and pwrite on the device fd; tests put a fake
 * device behind them (vfio.h). */
static int dev_ioctl(int fd, unsigned long request, void *arg)
{
#ifdef WISP_UNIT_TEST
	if (vfio_test_backend)
		return vfio_test_backend->ioctl(fd, request, arg);
#endif
	return ioctl(fd, request, arg);
}

static ssize_t dev_pread(int fd, void *buf, size_t len, off_t off)
{
#ifdef WISP_UNIT_TEST
	if (vfio_test_backend)
		return vfio_test_backend->pread(fd, buf, len, off);
#endif
	return pread(fd, buf, len, off);
}

static ssize_t dev_pwrite(int fd, const void *buf, size_t len, off_t off)
{
#ifdef WISP_UNIT_TEST
	if (vfio_test_backend)
		return vfio_test_backend->pwrite(fd, buf, len, off);
#endif
	return pwrite(fd, buf, len, off);
}

/* ------------------------------------------------- config space access */

static bool cfg_read_dev(struct vfio_pci *v, unsigned off, void *buf, unsigned len)
{
	return dev_pread(v->fd, buf, len, (off_t)(v->cfg_offset + off)) == (ssize_t)len;
}

static void cfg_write_dev(struct vfio_pci *v, unsigned off, const void *buf, unsigned len)
{
	if (dev_pwrite(v->fd, buf, len, (off_t)(v->cfg_offset + off)) != (ssize_t)len)
		guest_report(v, "config write at %#x: %s", off, strerror(errno));
}

/* Before the guest reads: the device's bytes are fetched fresh (status
 * bits, capability registers change under us). */
static void vfio_config_read(struct pci_function *fn, unsigned off, unsigned len)
{
	struct vfio_pci *v = fn->owner;
	uint8_t buf[4];

	if (off >= v->cfg_size || len > 4 || off + len > v->cfg_size ||
	    !cfg_read_dev(v, off, buf, len))
		return;
	pthread_mutex_lock(&fn->lock);
	for (unsigned i = 0; i < len; i++)
		if (!v->emulated[off + i])
			fn->cfg[off + i] = buf[i];
	pthread_mutex_unlock(&fn->lock);
}

static void msix_update(struct vfio_pci *v, unsigned first, unsigned count);
static void intx_set(struct vfio_pci *v, bool on);
static void msi_update(struct vfio_pci *v);

/* After the guest wrote (core/pci.c applied the write mask): the device's
 * bytes go to the device, the command register as well, and interrupt
 * capability changes to VFIO. */
static void vfio_config_written(struct pci_function *fn, unsigned off, unsigned len)
{
	struct vfio_pci *v = fn->owner;
	uint8_t buf[4];
	unsigned i = 0;

	if (len > 4 || off + len > PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&fn->lock);
	memcpy(buf, &fn->cfg[off], len);
	pthread_mutex_unlock(&fn->lock);
	while (i < len && off + i < v->cfg_size) {
		unsigned run = 0;

		/* runs of the device's own bytes, written as they came */
		while (i + run < len && !v->emulated[off + i + run])
			run++;
		if (run) {
			cfg_write_dev(v, off + i, buf + i, run);
			i += run;
		} else {
			i++;
		}
	}
	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) {
		uint16_t cmd;

		pthread_mutex_lock(&fn->lock);
		cmd = cfg16(v, PCI_COMMAND);
		pthread_mutex_unlock(&fn->lock);
		cfg_write_dev(v, PCI_COMMAND, &cmd, 2);
	}
	if (fn->msix.nvec)
		msix_update(v, 0, fn->msix.nvec);
	if (v->msi_cap && off < v->msi_cap + 24u && off + len > v->msi_cap)
		msi_update(v);
	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND && v->msi_cap)
		msi_update(v);	/* bus mastering gates MSI */
}

/* -------------------------------------------------------------- MSI-X */

static int set_irqs(struct vfio_pci *v, unsigned index, unsigned start,
		    unsigned count, const int *fds)
{
	size_t size = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *set = calloc(1, size);
	int ret;

	if (!set)
		return -1;
	set->argsz = (uint32_t)size;
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		     (fds ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set->index = index;
	set->start = start;
	set->count = count;
	if (fds)
		memcpy(set->data, fds, count * sizeof(int));
	ret = dev_ioctl(v->fd, VFIO_DEVICE_SET_IRQS, set);
	if (ret)
		guest_report(v, "VFIO_DEVICE_SET_IRQS (%s %u+%u): %s",
			     index == VFIO_PCI_MSIX_IRQ_INDEX ? "MSI-X" :
			     index == VFIO_PCI_MSI_IRQ_INDEX ? "MSI" : "INTx", start, count,
			     strerror(errno));
	free(set);
	return ret;
}

/* A vector the guest masked: VFIO signals this eventfd instead of the
 * irqfd, and the interrupt waits in the PBA (msix_notify) until the
 * guest unmasks it, as the device's own PBA would hold it. */
struct msix_park {
	struct vfio_pci *dev;
	unsigned vector;
	int fd;
};

static void park_fired(void *opaque)
{
	struct msix_park *p = opaque;
	uint64_t n;

	if (read(p->fd, &n, sizeof(n)) == sizeof(n))
		msix_notify(&p->dev->fn, p->vector);
}

/* What VFIO should signal for vector i: its irqfd while unmasked, its
 * parking eventfd while masked, nothing before the guest first set it
 * up. */
static int msix_target(struct vfio_pci *v, unsigned i)
{
	struct msix_park *p = &v->park[i];
	int irqfd = msix_vector_eventfd(&v->fn, i);

	if (irqfd < 0)
		return -1;
	if (!msix_vector_masked(&v->fn, i))
		return irqfd;
	if (p->fd < 0) {
		p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->fd >= 0 && vfio_irq_watch(p->fd, park_fired, p)) {
			close(p->fd);
			p->fd = -1;
		}
		if (p->fd < 0)
			return irqfd;	/* dropped while masked, as before */
	}
	return p->fd;
}

/* Makes VFIO's MSI-X state follow the guest's for vectors [first,
 * first+count): enabled with the capability, each vector signalling
 * msix_target(). */
static void msix_update(struct vfio_pci *v, unsigned first, unsigned count)
{
	struct pci_function *fn = &v->fn;
	unsigned n = fn->msix.nvec;
	bool want;

	pthread_mutex_lock(&v->irq_lock);
	pthread_mutex_lock(&fn->lock);
	want = msix_enabled(fn);
	pthread_mutex_unlock(&fn->lock);
	if (want && !v->msix_on) {
		for (unsigned i = 0; i < n; i++)
			v->msix_fd[i] = msix_target(v, i);
		intx_set(v, false);	/* VFIO has one kind on at a time */
		v->msix_on = !set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, v->msix_fd);
	} else if (!want && v->msix_on) {
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
		v->msix_on = false;
		intx_set(v, !v->msi_on);
	} else if (want) {
		for (unsigned i = first; i < n && i - first < count; i++) {
			int fd = msix_target(v, i);

			if (fd != v->msix_fd[i] &&
			    !set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, i, 1, &fd))
				v->msix_fd[i] = fd;
		}
	}
	pthread_mutex_unlock(&v->irq_lock);
}

/* ---------------------------------------------------------------- MSI */

static void msi_update(struct vfio_pci *v)
{
	struct pci_function *fn = &v->fn;
	uint8_t c = v->msi_cap;
	uint16_t flags;
	uint64_t addr;
	uint32_t data, mask = 0;
	bool is64, want;

	pthread_mutex_lock(&v->irq_lock);
	pthread_mutex_lock(&fn->lock);
	flags = cfg16(v, c + 2);
	is64 = flags & PCI_MSI_FLAGS_64BIT;
	addr = cfg32(v, c + 4);
	if (is64)
		addr |= (uint64_t)cfg32(v, c + 8) << 32;
	data = cfg16(v, c + (is64 ? 12 : 8));
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		mask = cfg32(v, c + (is64 ? 16 : 12)) & 1;
	want = flags & PCI_MSI_FLAGS_ENABLE;
	pthread_mutex_unlock(&fn->lock);

	/* the route and irqfd are made once; if that fails, MSI stays off
	 * (retrying on every enable would use up GSIs) */
	if (want && v->msi_gsi < 0 && !v->msi_failed) {
		int gsi = irq_msi_route_alloc(v->vm);

		v->msi_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (gsi < 0 || v->msi_eventfd < 0 || irq_irqfd(v->vm, gsi, v->msi_eventfd, true)) {
			guest_report(v, "cannot set up the MSI vector");
			v->msi_failed = true;
		} else {
			v->msi_gsi = gsi;
		}
	}
	if (v->msi_gsi < 0)
		want = false;
	if (v->msi_gsi >= 0)
		irq_msi_route_set(v->vm, v->msi_gsi, addr, data,
				  !want || mask || !pci_bus_master(fn));
	if (want && !v->msi_on) {
		intx_set(v, false);
		v->msi_on = !set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &v->msi_eventfd);
	} else if (!want && v->msi_on) {
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL);
		v->msi_on = false;
		intx_set(v, !v->msix_on);
	}
	pthread_mutex_unlock(&v->irq_lock);
}

/* --------------------------------------------------------------- INTx */

/* With the split irqchip KVM cannot resample a level interrupt, so INTx
 * takes the way through wisp: VFIO masks the host's INTx when it fires
 * and signals intx_fd; wisp pulses the guest's line and unmasks a
 * millisecond later, when a device that still asserts INTx (the guest
 * has not serviced it yet) fires again.  Nothing is lost; INTx is slow,
 * which is why drivers use MSI-X. */
#define INTX_UNMASK_NS 1000000

/* irq_lock held.  VFIO has INTx on exactly while MSI and MSI-X are off. */
static void intx_set(struct vfio_pci *v, bool on)
{
	if (v->intx_line < 0 || on == v->intx_on)
		return;
	if (on)
		v->intx_on = !set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &v->intx_fd);
	else {
		set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
		v->intx_on = false;
	}
}

static void intx_fired(void *opaque)
{
	struct vfio_pci *v = opaque;
	struct itimerspec later = { .it_value.tv_nsec = INTX_UNMASK_NS };
	uint64_t n;

	if (read(v->intx_fd, &n, sizeof(n)) != sizeof(n))
		return;
	irq_pulse(v->vm, (unsigned)v->intx_line);
	timerfd_settime(v->intx_timer, 0, &later, NULL);
}

static void intx_unmask(void *opaque)
{
	struct vfio_pci *v = opaque;
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_DATA_NONE,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.count = 1,
	};
	uint64_t n;

	if (read(v->intx_timer, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&v->irq_lock);
	if (v->intx_on)
		dev_ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set);
	pthread_mutex_unlock(&v->irq_lock);
}

/* INTx for a device with an interrupt pin, once pci_add() gave it a
 * slot: the line the host bridge routes that slot's pin to.  Without
 * one (an arch without PCI INTx), or without VFIO INTx, the pin reads 0
 * and the guest uses MSI(-X). */
static void setup_intx(struct vfio_pci *v, uint8_t pin)
{
	struct vfio_irq_info info = { .argsz = sizeof(info),
				      .index = VFIO_PCI_INTX_IRQ_INDEX };
	int line = pci_intx_line(v->fn.slot, pin);

	if (line < 0 || dev_ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) || !info.count)
		return;
	v->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->intx_fd < 0 || v->intx_timer < 0 ||
	    vfio_irq_watch(v->intx_fd, intx_fired, v) ||
	    vfio_irq_watch(v->intx_timer, intx_unmask, v))
		return;
	pthread_mutex_lock(&v->fn.lock);
	v->intx_line = line;
	v->fn.cfg[PCI_INTERRUPT_PIN] = pin;
	v->fn.cfg[PCI_INTERRUPT_LINE] = (uint8_t)line;
	pthread_mutex_unlock(&v->fn.lock);
	pthread_mutex_lock(&v->irq_lock);
	intx_set(v, true);
	pthread_mutex_unlock(&v->irq_lock);
}

/* --------------------------------------------------------------- BARs */

static bool bar_access(struct vfio_bar *b, uint64_t off, void *data, unsigned len,
		       bool write)
{
	struct vfio_pci *v = b->dev;
	ssize_t n;

	if (v->fn.msix.nvec && v->fn.msix.bar == b->index &&
	    msix_table_access(&v->fn, off, data, len, write)) {
		if (write && off >= v->fn.msix.table_offset)
			msix_update(v, (unsigned)((off - v->fn.msix.table_offset) / 16), 1);
		return true;
	}
	/* the guest's BAR is a power of two at least a page; the region
	 * behind it may be smaller */
	if (off >= b->size || len > b->size - off) {
		if (!write)
			memset(data, 0xff, len);
		return true;
	}
	if (write)
		n = dev_pwrite(v->fd, data, len, (off_t)(b->region_offset + off));
	else
		n = dev_pread(v->fd, data, len, (off_t)(b->region_offset + off));
	if (n != (ssize_t)len && !write)
		memset(data, 0xff, len);
	return true;
}

static void bar_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	bar_access(opaque, off, data, len, false);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	bar_access(opaque, off, (void *)data, len, true);
}

static const struct bus_ops vfio_bar_ops = { .read = bar_read, .write = bar_write };

/* The guest moved (or turned off) BAR n: the mmapped pieces follow it as
 * KVM slots.  Function lock held (core/pci.c). */
static void vfio_bar_moved(struct pci_function *fn, unsigned n)
{
	struct vfio_pci *v = fn->owner;
	struct vfio_bar *b = &v->bar[n];
	bool mapped = fn->bar[n].mapped;
	uint64_t base = fn->bar[n].addr;

	for (size_t i = 0; i < b->npieces; i++) {
		struct mmap_piece *p = &b->piece[i];

		/* called on every command register write: most are no move */
		if (p->in_guest && mapped && p->gpa == base + p->offset)
			continue;
		if (p->in_guest) {
			vm_slot_map(v->vm, p->slot, 0, NULL, 0);
			p->in_guest = false;
		}
		if (!mapped)
			continue;
		if (vm_slot_map(v->vm, p->slot, base + p->offset, p->host, p->size)) {
			/* a guest that puts a BAR over RAM or another BAR
			 * gets the trapped path there, nothing worse */
			guest_report(v, "BAR %u at %#llx: cannot map it directly: %s",
				     n, (unsigned long long)base, strerror(errno));
			continue;
		}
		p->in_guest = true;
		p->gpa = base + p->offset;
	}
}

size_t vfio_areas_cut(struct vfio_area *area, size_t n, size_t max,
		      uint64_t start, uint64_t end)
{
	size_t count = n;

	start &= ~(PAGE - 1);
	end = (end + PAGE - 1) & ~(PAGE - 1);
	for (size_t i = 0; i < n; i++) {
		struct vfio_area *p = &area[i];
		uint64_t p_end = p->offset + p->size;

		if (!p->size || end <= p->offset || start >= p_end)
			continue;
		if (start > p->offset && end < p_end && count < max) {
			/* split in two */
			area[count++] = (struct vfio_area){ .offset = end, .size = p_end - end };
			p->size = start - p->offset;
		} else if (start > p->offset) {
			p->size = start - p->offset;	/* (no room to split: tail trapped) */
		} else if (end < p_end) {
			p->size = p_end - end;
			p->offset = end;
		} else {
			p->size = 0;
		}
	}
	return count;
}

/* The parts of region `info` VFIO lets us mmap: its sparse areas, or all
 * of it. */
static void pieces_from_region(struct vfio_bar *b, const struct vfio_region_info *info)
{
	const uint8_t *base = (const uint8_t *)info;
	uint32_t at = (info->flags & VFIO_REGION_INFO_FLAG_CAPS) ? info->cap_offset : 0;

	b->nareas = 0;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return;
	while (at && at + sizeof(struct vfio_info_cap_header) <= info->argsz) {
		const struct vfio_info_cap_header *h = (const void *)(base + at);

		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
		    at + sizeof(struct vfio_region_info_cap_sparse_mmap) <= info->argsz) {
			const struct vfio_region_info_cap_sparse_mmap *s = (const void *)h;

			for (uint32_t i = 0; i < s->nr_areas && b->nareas < MAX_PIECES; i++) {
				if (at + sizeof(*s) + (i + 1) * sizeof(s->areas[0]) > info->argsz)
					break;
				b->area[b->nareas++] = (struct vfio_area){
					.offset = s->areas[i].offset, .size = s->areas[i].size };
			}
			return;
		}
		if (h->next <= at)
			break;
		at = h->next;
	}
	b->area[b->nareas++] = (struct vfio_area){ .offset = 0, .size = info->size };
}

/* Region info with its capability chain (freed by the caller). */
static struct vfio_region_info *region_info(struct vfio_pci *v, unsigned index)
{
	struct vfio_region_info *info = calloc(1, sizeof(*info));
	struct vfio_region_info *bigger;

	if (!info)
		return NULL;
	info->argsz = sizeof(*info);
	info->index = index;
	if (dev_ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, info))
		goto fail;
	if (info->argsz > sizeof(*info)) {
		uint32_t need = info->argsz;

		bigger = realloc(info, need);
		if (!bigger)
			goto fail;
		info = bigger;
		memset(info, 0, need);
		info->argsz = need;
		info->index = index;
		if (dev_ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, info))
			goto fail;
	}
	return info;
fail:
	free(info);
	return NULL;
}

static void map_pieces(struct vfio_pci *v, struct vfio_bar *b)
{
	b->npieces = 0;
	for (size_t i = 0; i < b->nareas; i++) {
		const struct vfio_area *ar = &b->area[i];
		struct mmap_piece p = { .offset = ar->offset, .size = ar->size };

		/* KVM slots are whole pages; an area that is not stays trapped */
		if (!p.size || (p.offset | p.size) & (PAGE - 1) || p.offset > b->size ||
		    p.size > b->size - p.offset)
			continue;
		p.host = mmap(NULL, p.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
			      (off_t)(b->region_offset + p.offset));
		if (p.host == MAP_FAILED)
			continue;	/* trapped instead: slower, still right */
		p.slot = vm_slot_alloc(v->vm);
		b->piece[b->npieces++] = p;
	}
}

/* BAR n from the device: its type from the BAR register, its size from
 * VFIO.  Returns how many BAR registers it takes (1 or 2). */
static unsigned setup_bar(struct vfio_pci *v, unsigned n)
{
	struct vfio_bar *b = &v->bar[n];
	uint32_t reg = v->host_bar[n];
	struct vfio_region_info *info = region_info(v, VFIO_PCI_BAR0_REGION_INDEX + n);
	unsigned flags = 0, used = 1;

	if (reg & 0x1) {
		flags = PCI_BAR_IO;
	} else {
		if ((reg & 0x6) == 0x4) {
			flags |= PCI_BAR_MEM64;
			used = 2;
		}
		if (reg & 0x8)
			flags |= PCI_BAR_PREFETCH;
	}
	if (!info || !info->size) {
		free(info);
		return used;
	}
	*b = (struct vfio_bar){ .dev = v, .index = n, .region_offset = info->offset,
				.size = info->size };
	pci_set_bar(&v->fn, n, info->size, flags, &vfio_bar_ops, b);
	if (!(flags & PCI_BAR_IO))
		pieces_from_region(b, info);
	free(info);
	return used;
}

/* -------------------------------------------------------- capabilities */

static void emulate(struct vfio_pci *v, unsigned off, unsigned len)
{
	memset(&v->emulated[off], 1, len);
}

/* MSI: one vector (multiple messages hidden), emulated whole. */
static void setup_msi(struct vfio_pci *v, uint8_t c)
{
	struct pci_function *fn = &v->fn;
	uint16_t flags = cfg16(v, c + 2);
	bool is64 = flags & PCI_MSI_FLAGS_64BIT;
	unsigned len = 10 + (is64 ? 4 : 0) + ((flags & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);

	flags &= (uint16_t)~(PCI_MSI_FLAGS_QMASK | PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
	memcpy(&fn->cfg[c + 2], &flags, 2);
	emulate(v, c, len);
	pci_cfg_wmask(fn, c, len, 0);
	v->msi_cap = c;
	pci_cfg_wmask(fn, c + 2, 2, PCI_MSI_FLAGS_ENABLE);
	pci_cfg_wmask(fn, c + 4, 4, 0xfffffffc);
	if (is64)
		pci_cfg_wmask(fn, c + 8, 4, 0xffffffff);
	pci_cfg_wmask(fn, c + (is64 ? 12 : 8), 2, 0xffff);
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		pci_cfg_wmask(fn, c + (is64 ? 16 : 12), 4, 0x1);
}

static int setup_msix(struct vfio_pci *v, uint8_t c)
{
	struct pci_function *fn = &v->fn;
	uint16_t ctrl = cfg16(v, c + 2);
	uint32_t table = cfg32(v, c + 4), pba = cfg32(v, c + 8);
	unsigned nvec = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	unsigned bir = table & PCI_MSIX_BIR;
	struct vfio_bar *b;

	ctrl &= PCI_MSIX_FLAGS_QSIZE;
	memcpy(&fn->cfg[c + 2], &ctrl, 2);
	emulate(v, c, 12);
	pci_cfg_wmask(fn, c, 12, 0);
	if ((pba & PCI_MSIX_BIR) != bir || bir >= PCI_NUM_BARS || !v->bar[bir].size) {
		wisp_err("%s: its MSI-X table and PBA are not in one BAR; not supported", v->name);
		return -1;
	}
	v->msix_fd = malloc(nvec * sizeof(int));
	v->park = calloc(nvec, sizeof(*v->park));
	if (!v->msix_fd || !v->park ||
	    pci_adopt_msix(fn, c, nvec, bir, table & ~PCI_MSIX_BIR, pba & ~PCI_MSIX_BIR))
		return -1;
	for (unsigned i = 0; i < nvec; i++) {
		v->msix_fd[i] = -1;
		v->park[i] = (struct msix_park){ .dev = v, .vector = i, .fd = -1 };
	}
	/* the table and PBA stay trapped, whatever VFIO lets us map */
	b = &v->bar[bir];
	b->nareas = vfio_areas_cut(b->area, b->nareas, MAX_PIECES, table & ~PCI_MSIX_BIR,
				   (table & ~PCI_MSIX_BIR) + nvec * 16ULL);
	b->nareas = vfio_areas_cut(b->area, b->nareas, MAX_PIECES, pba & ~PCI_MSIX_BIR,
				   (pba & ~PCI_MSIX_BIR) + (nvec + 63) / 64 * 8ULL);
	return 0;
}

/* Walks the standard capability list; MSI and MSI-X become wisp's. */
static int setup_capabilities(struct vfio_pci *v)
{
	uint8_t at = v->fn.cfg[PCI_CAP_PTR] & ~3u;

	if (!(cfg16(v, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	for (unsigned hops = 0; at >= 0x40 && hops < 48; hops++) {
		uint8_t id = v->fn.cfg[at];

		if (id == PCI_CAP_ID_MSI)
			setup_msi(v, at);
		else if (id == PCI_CAP_ID_MSIX && setup_msix(v, at))
			return -1;
		at = v->fn.cfg[at + 1] & ~3u;
	}
	return 0;
}

/* --------------------------------------------------------------- set-up */

static void reset_device(struct vfio_pci *v)
{
	if (v->can_reset && dev_ioctl(v->fd, VFIO_DEVICE_RESET, NULL))
		wisp_err("%s: VFIO_DEVICE_RESET: %s", v->name, strerror(errno));
}

/* At exit: interrupts off, the device reset and handed back. */
static void vfio_pci_release(void *opaque)
{
	struct vfio_pci *v = opaque;

	if (v->msix_on)
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
	if (v->msi_on)
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL);
	if (v->intx_on)
		set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
	v->msix_on = v->msi_on = v->intx_on = false;
	reset_device(v);
	/* what the guest made the container do, if it used it at all */
	if (v->dma && (v->dma->maps || v->dma->unmaps))
		wisp_err("%s: behind the virtio-iommu: %llu DMA mappings made, %llu unmaps, "
			 "at most %llu KiB mapped", v->name, (unsigned long long)v->dma->maps,
			 (unsigned long long)v->dma->unmaps,
			 (unsigned long long)(v->dma->peak >> 10));
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		for (size_t i = 0; i < v->bar[n].npieces; i++)
			munmap(v->bar[n].piece[i].host, v->bar[n].piece[i].size);
	close(v->fd);
}

/* The same host device twice would be opened twice: refused before
 * anything is opened (the first instance checks them all). */
static int check_duplicates(struct vm *vm, const struct device_desc *desc)
{
	const struct vm_config *cfg = vm->cfg;

	for (size_t i = 0; i < cfg->ndevices; i++) {
		const struct vfio_pci_config *a = cfg->devices[i].config;

		if (cfg->devices[i].desc != desc)
			continue;
		for (size_t j = i + 1; j < cfg->ndevices; j++) {
			const struct vfio_pci_config *b = cfg->devices[j].config;

			if (cfg->devices[j].desc == desc && !strcmp(a->host.bdf, b->host.bdf)) {
				wisp_err("--device: %s is given twice", a->host.bdf);
				return -1;
			}
		}
	}
	return 0;
}

static int read_config(struct vfio_pci *v)
{
	struct vfio_region_info *info = region_info(v, VFIO_PCI_CONFIG_REGION_INDEX);
	uint8_t *image = v->fn.cfg;
	uint16_t vendor, device;

	if (!info) {
		wisp_err("%s: no config space region: %s", v->name, strerror(errno));
		return -1;
	}
	v->cfg_offset = info->offset;
	v->cfg_size = info->size > PCI_CFG_SIZE ? PCI_CFG_SIZE : (unsigned)info->size;
	free(info);
	if (v->cfg_size < PCI_STD_CFG_SIZE || !cfg_read_dev(v, 0, image, v->cfg_size)) {
		wisp_err("%s: cannot read its config space", v->name);
		return -1;
	}
	memcpy(&vendor, &image[PCI_VENDOR_ID], 2);
	memcpy(&device, &image[PCI_DEVICE_ID], 2);
	if (vendor == 0xffff) {
		wisp_err("%s: its config space reads as all ones", v->name);
		return -1;
	}
	return 0;
}

static void vfio_pci_header(struct vfio_pci *v)
{
	struct pci_function *fn = &v->fn;

	/* the device's bytes may be written by the guest, all of them
	 * (vfio-pci filters what reaches the hardware) */
	pci_cfg_wmask(fn, 0, PCI_CFG_SIZE, 0xffffffff);
	memset(v->emulated, 0, sizeof(v->emulated));
	/* wisp's: ids and class (read once, never change), BARs, ROM,
	 * capability pointer, interrupt line and pin, header type */
	emulate(v, 0, 4);
	pci_cfg_wmask(fn, 0, 4, 0);
	emulate(v, PCI_COMMAND, 2);
	pci_cfg_wmask(fn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		      PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	emulate(v, PCI_REVISION, 4);
	pci_cfg_wmask(fn, PCI_REVISION, 4, 0);
	emulate(v, PCI_HEADER_TYPE, 1);
	pci_cfg_wmask(fn, PCI_HEADER_TYPE, 1, 0);
	fn->cfg[PCI_HEADER_TYPE] &= (uint8_t)~PCI_HEADER_MULTIFUNCTION;
	emulate(v, PCI_BAR0, 4 * PCI_NUM_BARS);
	pci_cfg_wmask(fn, PCI_BAR0, 4 * PCI_NUM_BARS, 0);
	memcpy(v->host_bar, &fn->cfg[PCI_BAR0], sizeof(v->host_bar));
	memset(&fn->cfg[PCI_BAR0], 0, sizeof(v->host_bar));
	emulate(v, PCI_ROM_ADDRESS, 4);
	pci_cfg_wmask(fn, PCI_ROM_ADDRESS, 4, 0);
	memset(&fn->cfg[PCI_ROM_ADDRESS], 0, 4);
	emulate(v, PCI_CAP_PTR, 1);
	pci_cfg_wmask(fn, PCI_CAP_PTR, 1, 0);
	emulate(v, PCI_INTERRUPT_LINE, 2);
	pci_cfg_wmask(fn, PCI_INTERRUPT_LINE, 1, 0xff);
	pci_cfg_wmask(fn, PCI_INTERRUPT_PIN, 1, 0);
	fn->cfg[PCI_INTERRUPT_PIN] = 0;
	/* the command register starts off: the guest turns decoding on */
	memset(&fn->cfg[PCI_COMMAND], 0, 2);
	/* past what the device has, nothing */
	if (v->cfg_size < PCI_CFG_SIZE) {
		emulate(v, v->cfg_size, PCI_CFG_SIZE - v->cfg_size);
		pci_cfg_wmask(fn, v->cfg_size, PCI_CFG_SIZE - v->cfg_size, 0);
	}
}

/* What a passed-through device does once the guest runs, all of it on
 * vCPU threads (the guest's config and BAR accesses): MSI/MSI-X/INTx
 * changes (VFIO's and KVM's interrupt set-up, parking eventfds for
 * masked vectors, watched by the VFIO interrupt thread), and BARs the
 * guest moves (KVM memory slots).  Config space and trapped BAR accesses
 * are pread/pwrite on the device's own descriptor (vfio_pci_allow_io).
 * The INTx unmask timer is the interrupt thread's. */
static const struct seccomp_rule vfio_pci_vcpu_seccomp[] = {
	SC_ALLOW(SYS_eventfd2),
	SC_ALLOW(SYS_epoll_ctl),
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_close),
	SC_IOCTL(VFIO_DEVICE_SET_IRQS),
	SC_IOCTL(KVM_SET_USER_MEMORY_REGION),
};

/* The main thread, at exit (vfio_pci_release): interrupts off, the
 * device reset, its BARs unmapped. */
static const struct seccomp_rule vfio_pci_main_seccomp[] = {
	SC_IOCTL(VFIO_DEVICE_SET_IRQS),
	SC_IOCTL(VFIO_DEVICE_RESET),
	SC_ALLOW(SYS_close),
};

/* iommu=on: the guest's virtio-iommu requests (the event loop) map and
 * unmap in the device's container; its reset (a vCPU thread) unmaps. */
static const struct seccomp_rule vfio_dma_main_seccomp[] = {
	SC_IOCTL(VFIO_IOMMU_MAP_DMA),
	SC_IOCTL(VFIO_IOMMU_UNMAP_DMA),
};

static const struct seccomp_rule vfio_dma_vcpu_seccomp[] = {
	SC_IOCTL(VFIO_IOMMU_UNMAP_DMA),
};

static int vfio_pci_allow(bool iommu)
{
	if (seccomp_allow(SECCOMP_VCPU, vfio_pci_vcpu_seccomp, SC_COUNT(vfio_pci_vcpu_seccomp)) ||
	    seccomp_allow(SECCOMP_MAIN, vfio_pci_main_seccomp, SC_COUNT(vfio_pci_main_seccomp)))
		return -1;
	if (!iommu)
		return 0;
	if (seccomp_allow(SECCOMP_MAIN, vfio_dma_main_seccomp, SC_COUNT(vfio_dma_main_seccomp)))
		return -1;
	return seccomp_allow(SECCOMP_VCPU, vfio_dma_vcpu_seccomp, SC_COUNT(vfio_dma_vcpu_seccomp));
}

/* A vCPU thread may read and write this device's regions (config space,
 * trapped BARs) and no other file. */
static int vfio_pci_allow_io(int fd)
{
	const struct seccomp_rule io[] = {
		SC_ARG(SYS_pread64, 0, SC_ALL, (uint32_t)fd),
		SC_ARG(SYS_pwrite64, 0, SC_ALL, (uint32_t)fd),
	};

	return seccomp_allow(SECCOMP_VCPU, io, SC_COUNT(io));
}

/* iommu=on, once the function has its place on the bus: an endpoint of
 * the VM's IOMMU whose mappings drive the device's container. */
static int behind_iommu(struct vfio_pci *v)
{
	struct iommu_endpoint *ep = iommu_add_pci(v->vm, &v->fn);
	struct iommu_mirror m;

	vfio_dma_mirror(v->dma, &m);
	if (!ep || iommu_mirror(v->vm, ep, &m))
		return -1;
	return 0;
}

static int vfio_pci_create(struct vm *vm, const void *config)
{
	const struct vfio_pci_config *c = config;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	static bool checked;
	struct vfio_pci *v;
	uint16_t cmd = 0;
	uint8_t host_pin;

	if (!checked) {
		checked = true;
		if (check_duplicates(vm, device_lookup("device", NULL)))
			return EXIT_USAGE;
	}
	if (!pci_segment_get(vm, (uint16_t)c->pci_segment)) {
		wisp_err("--device: there is no PCI segment %llu",
			 (unsigned long long)c->pci_segment);
		return EXIT_USAGE;
	}
	if (vfio_pci_allow(c->iommu) || vfio_irq_start())
		return -1;
	/* lives as long as the VM, and past it: reset at exit */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	v->conf = c;
	v->vm = vm;
	v->msi_gsi = -1;
	v->msi_eventfd = -1;
	v->intx_line = -1;
	v->intx_fd = v->intx_timer = -1;
	pthread_mutex_init(&v->irq_lock, NULL);
	snprintf(v->name, sizeof(v->name), "vfio %s", c->host.bdf);
	/* a group or device another process holds, or RAM that cannot be
	 * locked for DMA: what the user asked for cannot be done */
	v->fd = vfio_open_device(vm, &c->host, c->iommu ? &v->dma : NULL);
	if (v->fd < 0)
		return EXIT_USAGE;
	if (vfio_pci_allow_io(v->fd)) {
		close(v->fd);
		return -1;
	}
	if (dev_ioctl(v->fd, VFIO_DEVICE_GET_INFO, &info) || !(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		wisp_err("%s: not a VFIO PCI device", v->name);
		close(v->fd);
		return EXIT_USAGE;
	}
	v->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	vfio_at_exit(vfio_pci_release, v);
	reset_device(v);
	pci_init_function(&v->fn, vm, v->name, 0, 0, 0, 0);
	if (read_config(v))
		return -1;
	/* the device does nothing until the guest's driver turns it on */
	cfg_write_dev(v, PCI_COMMAND, &cmd, 2);
	host_pin = v->fn.cfg[PCI_INTERRUPT_PIN];
	vfio_pci_header(v);
	for (unsigned n = 0; n < PCI_NUM_BARS; )
		n += setup_bar(v, n);
	if (setup_capabilities(v))
		return -1;
	/* after the MSI-X table and PBA were cut out of them */
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		map_pieces(v, &v->bar[n]);
	v->fn.owner = v;
	v->fn.bar_moved = vfio_bar_moved;
	v->fn.config_read = vfio_config_read;
	v->fn.config_written = vfio_config_written;
	if (pci_add(vm, &v->fn, (uint16_t)c->pci_segment))
		return -1;
	if (c->iommu && behind_iommu(v))
		return EXIT_USAGE;
	setup_intx(v, host_pin > 4 ? 0 : host_pin);
	return 0;
}

DEVICE_REGISTER(vfio_pci_desc) = {
	.name = "vfio-pci",
	.summary = "host PCI devices bound to vfio-pci, passed through",
	.option = "device",
	.usage = "path=/sys/bus/pci/devices/DDDD:BB:DD.F[,pci_segment=N][,iommu=on]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vfio_pci_config),
	.parse = vfio_parse,
	.create = vfio_pci_create,
};
