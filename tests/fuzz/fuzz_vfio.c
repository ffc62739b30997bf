// SPDX-License-Identifier: MIT
/*
 * VFIO passthrough (vfio/vfio_pci.c, vfio_bar.c, vfio_irq.c) as a hostile
 * guest sees it: three
 * fake host devices behind the VFIO seam of vfio.h, each a memfd holding
 * its regions (config space and BARs, so that wisp's mmap of a BAR works
 * too), given to a KVM-less VM with the real device table and command
 * line (a fake sysfs tree passes vfio_check_host_device()).  KVM's
 * routing and irqfd calls succeed without KVM (irq_test_fake_kvm), so
 * MSI and MSI-X take the paths they take under KVM.
 *
 *   "a"  BAR 0: 16 KiB, mmap, MSI-X table at 0x2000 and PBA at 0x3000
 *        (16 vectors); BAR 2: 64-bit prefetchable 64 KiB, mmap, but
 *        given in x_exclude_mmap_bars= (so all trapped, never a slot);
 *        BAR 4: 32 bytes of I/O; MSI, 64-bit with per-vector masking; a
 *        PCIe capability; 4 KiB config space; INTx pin A
 *   "b"  BAR 0: 4 KiB, not mmappable (all trapped); BAR 1: 256 bytes
 *        of I/O; MSI, 32-bit, no masking; no MSI-X; INTx pin B
 *   "c"  BAR 0: 8 KiB in two sparse mmap areas; BAR 2: 64-bit 8 KiB,
 *        MSI-X table at 0 and PBA at 0x800, one page (64 vectors); no
 *        MSI, no INTx
 *
 * The input is the guest's accesses: config reads and writes (any
 * offset, and aimed at the MSI and MSI-X capabilities), BAR reads and
 * writes wherever the BARs are now (memory and I/O), MSI-X table
 * entries, BARs moved, the command register, MSI and MSI-X turned on
 * and off (together too), and interrupts the device raises (on
 * whatever eventfds wisp gave VFIO).
 *
 * The fake device checks what wisp asks of VFIO, and aborts (a finding)
 * when wisp reads or writes outside a region, lets a guest write reach a
 * config byte wisp emulates (BARs, ROM, ids, header type, capability
 * pointer, interrupt line and pin, the MSI and MSI-X capabilities; the
 * command register is forwarded by design), sends VFIO_DEVICE_SET_IRQS
 * that the kernel would refuse as malformed, hands VFIO a closed or
 * non-eventfd descriptor, disables an interrupt kind VFIO does not have
 * on, or makes another ioctl.  KVM's memory slots are faked too (as
 * KVM checks them: whole pages, no overlap with RAM or another slot),
 * and after each input every slot must show, page by page, the BAR page
 * that the guest has at that address with memory decoding on (each
 * 8-byte word of a BAR names its device, BAR and offset); and wisp's
 * open descriptors must not have grown past what its vectors account
 * for.  VFIO's own
 * refusals that a guest can cause (MSI while MSI-X is on) are returned
 * as the kernel returns them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "fake_vm.h"
#include "core/irq.h"
#include "core/pci.h"

#ifdef CONFIG_VFIO
#include <dirent.h>
#include <ftw.h>
#include <linux/vfio.h>

#include "vfio/vfio.h"

#define NDEV 3
#define NREGIONS (VFIO_PCI_CONFIG_REGION_INDEX + 1)
#define REGION_SHIFT 20			/* region i at i MiB in the memfd */
#define REGION(off) ((unsigned)((uint64_t)(off) >> REGION_SHIFT))
#define NIRQ VFIO_PCI_NUM_IRQS
#define MAX_VEC 64

#define CMD 0x04
#define MSI_FLAGS_64 0x0080
#define MSI_FLAGS_MASK 0x0100

struct fake_region {
	uint64_t size;
	bool mmap;
	uint32_t nsparse;
	struct vfio_region_sparse_mmap_area sparse[2];
};

struct fake_dev {
	const char *bdf;
	uint16_t device;		/* vendor 0x1234 */
	int memfd;			/* the regions' contents */
	int fd;				/* what wisp holds (a dup) */
	unsigned cfg_size;
	uint8_t cfg[4096];		/* config space after a reset */
	bool wisps[4096];		/* bytes the guest must not write through */
	struct fake_region region[NREGIONS];
	unsigned irqs[NIRQ];		/* vectors per interrupt index */
	uint8_t msi_cap, msix_cap, pcie_cap;
	unsigned msix_bar, msix_table, nvec;
	unsigned slot;
	/* VFIO's interrupt state: the index on (-1: none), its eventfds */
	int irq_on;
	unsigned irq_count;
	int irq_fd[MAX_VEC];
};

static struct fake_dev dev[NDEV];
/* each device's x_exclude_mmap_bars=, and the BARs it names */
static const char *const exclude_arg[NDEV] = { ",x_exclude_mmap_bars=[2]", "", "" };
static const uint8_t exclude_mask[NDEV] = { 1u << 2, 0, 0 };
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_vm fv;
static char tree[64];
static long fd_limit;			/* open descriptors allowed after an input */

#define FINDING(...) do { fprintf(stderr, "fuzz_vfio: " __VA_ARGS__); \
			  fputc('\n', stderr); abort(); } while (0)

/* ---------------------------------------------------------- the devices */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void add_cap(struct fake_dev *d, uint8_t at, uint8_t id, uint8_t next)
{
	d->cfg[at] = id;
	d->cfg[at + 1] = next;
}

static void guarded(struct fake_dev *d, unsigned off, unsigned len)
{
	memset(&d->wisps[off], 1, len);
}

static void mem_bar(struct fake_dev *d, unsigned n, uint64_t size, bool is64, bool mmap)
{
	put32(&d->cfg[0x10 + 4 * n], (is64 ? 0x4 : 0) | (is64 ? 0x8 : 0));
	d->region[n] = (struct fake_region){ .size = size, .mmap = mmap };
}

static void io_bar(struct fake_dev *d, unsigned n, uint64_t size)
{
	put32(&d->cfg[0x10 + 4 * n], 0x1);
	d->region[n] = (struct fake_region){ .size = size };
}

static void msi_cap(struct fake_dev *d, uint8_t at, uint8_t next, uint16_t flags)
{
	add_cap(d, at, 0x05, next);
	put16(&d->cfg[at + 2], flags | 0x0002);		/* (2 vectors capable: hidden) */
	d->msi_cap = at;
	d->irqs[VFIO_PCI_MSI_IRQ_INDEX] = 1;
	guarded(d, at, 10 + ((flags & MSI_FLAGS_64) ? 4 : 0) + ((flags & MSI_FLAGS_MASK) ? 10 : 0));
}

static void msix_cap(struct fake_dev *d, uint8_t at, uint8_t next, unsigned bar,
		     unsigned nvec, uint32_t table, uint32_t pba)
{
	add_cap(d, at, 0x11, next);
	put16(&d->cfg[at + 2], (uint16_t)(nvec - 1));
	put32(&d->cfg[at + 4], table | bar);
	put32(&d->cfg[at + 8], pba | bar);
	d->msix_cap = at;
	d->msix_bar = bar;
	d->msix_table = table;
	d->nvec = nvec;
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX] = nvec;
	guarded(d, at, 12);
}

static void make_devices(void)
{
	struct fake_dev *d;

	for (unsigned i = 0; i < NDEV; i++) {
		d = &dev[i];
		d->cfg_size = 256;
		d->irq_on = -1;
		put16(&d->cfg[0x00], 0x1234);
		put16(&d->cfg[0x06], 0x0010);			/* capability list */
		d->cfg[0x08] = 0x01;				/* revision */
		d->cfg[0x0b] = 0x02;				/* network controller */
		/* wisp emulates these: guest writes must never reach them */
		guarded(d, 0x00, 4);
		guarded(d, 0x08, 4);
		guarded(d, 0x0e, 1);
		guarded(d, 0x10, 24);
		guarded(d, 0x30, 5);
		guarded(d, 0x3c, 2);
	}
	d = &dev[0];
	d->bdf = "0000:00:0a.0";
	d->device = 0xa;
	d->cfg_size = 4096;
	mem_bar(d, 0, 0x4000, false, true);
	mem_bar(d, 2, 0x10000, true, true);
	io_bar(d, 4, 32);
	d->cfg[0x34] = 0x50;
	msi_cap(d, 0x50, 0x70, MSI_FLAGS_64 | MSI_FLAGS_MASK);
	msix_cap(d, 0x70, 0x90, 0, 16, 0x2000, 0x3000);
	add_cap(d, 0x90, 0x10, 0);			/* PCI Express */
	d->pcie_cap = 0x90;
	d->cfg[0x3d] = 1;
	d->irqs[VFIO_PCI_INTX_IRQ_INDEX] = 1;

	d = &dev[1];
	d->bdf = "0000:00:0b.0";
	d->device = 0xb;
	mem_bar(d, 0, 0x1000, false, false);
	io_bar(d, 1, 256);
	d->cfg[0x34] = 0x40;
	msi_cap(d, 0x40, 0, 0);
	d->cfg[0x3d] = 2;
	d->irqs[VFIO_PCI_INTX_IRQ_INDEX] = 1;

	d = &dev[2];
	d->bdf = "0000:00:0c.0";
	d->device = 0xc;
	mem_bar(d, 0, 0x2000, false, true);
	d->region[0].nsparse = 2;
	d->region[0].sparse[0] = (struct vfio_region_sparse_mmap_area){ 0, 0x1000 };
	d->region[0].sparse[1] = (struct vfio_region_sparse_mmap_area){ 0x1000, 0x1000 };
	mem_bar(d, 2, 0x2000, true, true);
	d->cfg[0x34] = 0x48;
	msix_cap(d, 0x48, 0, 2, 64, 0, 0x800);

	for (unsigned i = 0; i < NDEV; i++) {
		d = &dev[i];
		put16(&d->cfg[0x02], d->device);
		d->region[VFIO_PCI_CONFIG_REGION_INDEX].size = d->cfg_size;
		d->memfd = memfd_create("fuzz-vfio", MFD_CLOEXEC);
		if (d->memfd < 0 || ftruncate(d->memfd, (off_t)NREGIONS << REGION_SHIFT))
			abort();
	}
}

/* What a BAR holds after a reset: each 8-byte word names the device, the
 * BAR and its offset, so that a memory slot mapping the wrong part of a
 * device shows. */
static uint64_t marker(const struct fake_dev *d, unsigned n, uint64_t off)
{
	return 0xf0000000000000ull | (uint64_t)d->device << 40 | (uint64_t)n << 32 | off;
}

/* The device after a reset: its config space, its BARs marked. */
static void restore_device(struct fake_dev *d)
{
	static uint64_t words[0x10000 / 8];

	for (unsigned n = 0; n < 6; n++) {
		uint64_t size = d->region[n].size;

		if (!size)
			continue;
		for (uint64_t w = 0; w < size / 8; w++)
			words[w] = marker(d, n, 8 * w);
		if (pwrite(d->memfd, words, size, (off_t)n << REGION_SHIFT) != (ssize_t)size)
			abort();
	}
	if (pwrite(d->memfd, d->cfg, d->cfg_size,
		   (off_t)VFIO_PCI_CONFIG_REGION_INDEX << REGION_SHIFT) != (ssize_t)d->cfg_size)
		abort();
}

/* ---------------------------------------------------------- VFIO's side */

static struct fake_dev *dev_of(int fd)
{
	for (unsigned i = 0; i < NDEV; i++)
		if (dev[i].fd == fd && fd >= 0)
			return &dev[i];
	FINDING("a VFIO call on descriptor %d, which is no device", fd);
}

static int open_device(const struct vfio_host_device *h)
{
	for (unsigned i = 0; i < NDEV; i++) {
		if (strcmp(dev[i].bdf, h->bdf))
			continue;
		restore_device(&dev[i]);
		dev[i].fd = dup(dev[i].memfd);
		return dev[i].fd;
	}
	FINDING("wisp opened %s, which was never given", h->bdf);
}

static int refuse(int e)
{
	errno = e;
	return -1;
}

static int region_info(struct fake_dev *d, struct vfio_region_info *info)
{
	const struct fake_region *r;
	uint32_t need = sizeof(*info);

	if (info->argsz < sizeof(*info))
		FINDING("GET_REGION_INFO with argsz %u", info->argsz);
	if (info->index >= NREGIONS)
		return refuse(EINVAL);
	r = &d->region[info->index];
	if (r->nsparse)
		need += sizeof(struct vfio_region_info_cap_sparse_mmap) +
			r->nsparse * sizeof(r->sparse[0]);
	info->flags = r->size ? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE : 0;
	if (r->mmap)
		info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	info->size = r->size;
	info->offset = (uint64_t)info->index << REGION_SHIFT;
	info->cap_offset = 0;
	if (r->nsparse) {
		info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info->argsz >= need) {
			struct vfio_region_info_cap_sparse_mmap *s = (void *)(info + 1);

			s->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
			s->header.version = 1;
			s->header.next = 0;
			s->nr_areas = r->nsparse;
			memcpy(s->areas, r->sparse, r->nsparse * sizeof(r->sparse[0]));
			info->cap_offset = sizeof(*info);
		}
	}
	info->argsz = need;
	return 0;
}

static bool is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

/* VFIO_DEVICE_SET_IRQS, checked as vfio-pci checks it, then applied */
static int set_irqs(struct fake_dev *d, struct vfio_irq_set *s)
{
	uint32_t data = s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	const int *fds = (const int *)s->data;

	if (s->argsz < sizeof(*s) || s->index >= NIRQ || !d->irqs[s->index] ||
	    __builtin_popcount(data) != 1 || __builtin_popcount(action) != 1 ||
	    (s->flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) ||
	    (s->count && s->start + s->count > d->irqs[s->index]) ||
	    (data == VFIO_IRQ_SET_DATA_EVENTFD && s->argsz < sizeof(*s) + s->count * sizeof(int)) ||
	    (data == VFIO_IRQ_SET_DATA_BOOL))
		FINDING("%s: malformed SET_IRQS: argsz %u flags %#x index %u start %u count %u",
			d->bdf, s->argsz, s->flags, s->index, s->start, s->count);
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER) {
		/* INTx unmask, after wisp pulsed the line */
		if (s->index != VFIO_PCI_INTX_IRQ_INDEX || data != VFIO_IRQ_SET_DATA_NONE)
			FINDING("%s: SET_IRQS action %#x on index %u", d->bdf, action, s->index);
		return 0;
	}
	if (data == VFIO_IRQ_SET_DATA_NONE && !s->count) {
		if (d->irq_on != (int)s->index)
			FINDING("%s: wisp disables interrupt index %u, VFIO has %d on", d->bdf,
				s->index, d->irq_on);
		d->irq_on = -1;
		d->irq_count = 0;
		return 0;
	}
	if (data != VFIO_IRQ_SET_DATA_EVENTFD)
		FINDING("%s: SET_IRQS trigger without eventfds (flags %#x)", d->bdf, s->flags);
	for (unsigned i = 0; i < s->count; i++)
		if (fds[i] != -1 && !is_eventfd(fds[i]))
			FINDING("%s: SET_IRQS hands VFIO descriptor %d, which is no eventfd",
				d->bdf, fds[i]);
	/* one kind at a time; a guest that enables MSI and MSI-X gets this */
	if (d->irq_on >= 0 && d->irq_on != (int)s->index)
		return refuse(EINVAL);
	if (d->irq_on < 0) {
		if (s->start)
			return refuse(EINVAL);
		d->irq_on = (int)s->index;
		d->irq_count = s->count;
	} else if (s->start + s->count > d->irq_count) {
		return refuse(EINVAL);
	}
	for (unsigned i = 0; i < s->count && s->start + i < MAX_VEC; i++)
		d->irq_fd[s->start + i] = fds[i];
	return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	struct fake_dev *d;
	int ret = 0;

	pthread_mutex_lock(&fake_lock);
	d = dev_of(fd);
	switch (request) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *info = arg;

		if (info->argsz < sizeof(*info))
			FINDING("GET_INFO with argsz %u", info->argsz);
		info->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		info->num_regions = NREGIONS;
		info->num_irqs = NIRQ;
		break;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		ret = region_info(d, arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *info = arg;

		if (info->argsz < sizeof(*info) || info->index >= NIRQ) {
			ret = refuse(EINVAL);
			break;
		}
		info->flags = VFIO_IRQ_INFO_EVENTFD;
		if (info->index == VFIO_PCI_INTX_IRQ_INDEX)
			info->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
		info->count = d->irqs[info->index];
		break;
	}
	case VFIO_DEVICE_RESET:
		break;
	case VFIO_DEVICE_SET_IRQS:
		ret = set_irqs(d, arg);
		break;
	default:
		FINDING("%s: unexpected ioctl %#lx", d->bdf, request);
	}
	pthread_mutex_unlock(&fake_lock);
	return ret;
}

/* A pread or pwrite must lie inside one region that exists. */
static void check_access(struct fake_dev *d, size_t len, off_t off, bool write,
			 const void *buf)
{
	unsigned r = REGION(off);
	uint64_t rel = (uint64_t)off & ((1ull << REGION_SHIFT) - 1);

	if (off < 0 || r >= NREGIONS || !d->region[r].size || !len ||
	    rel > d->region[r].size || len > d->region[r].size - rel)
		FINDING("%s: %s of %zu bytes at region %u + %#llx, outside the region",
			d->bdf, write ? "write" : "read", len, r, (unsigned long long)rel);
	if (!write || r != VFIO_PCI_CONFIG_REGION_INDEX)
		return;
	for (size_t i = 0; i < len; i++) {
		/* the command register goes through wisp to the device */
		if (rel + i == CMD || rel + i == CMD + 1)
			continue;
		if (d->wisps[rel + i])
			FINDING("%s: config byte %#llx, which wisp emulates, written to the "
				"device (value %#x)", d->bdf, (unsigned long long)(rel + i),
				((const uint8_t *)buf)[i]);
	}
}

static ssize_t fake_pread(int fd, void *buf, size_t len, off_t off)
{
	struct fake_dev *d;

	pthread_mutex_lock(&fake_lock);
	d = dev_of(fd);
	check_access(d, len, off, false, buf);
	pthread_mutex_unlock(&fake_lock);
	return pread(d->memfd, buf, len, off);
}

static ssize_t fake_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct fake_dev *d;

	pthread_mutex_lock(&fake_lock);
	d = dev_of(fd);
	check_access(d, len, off, true, buf);
	pthread_mutex_unlock(&fake_lock);
	return pwrite(d->memfd, buf, len, off);
}

static const struct vfio_test_backend backend = {
	.open_device = open_device,
	.ioctl = fake_ioctl,
	.pread = fake_pread,
	.pwrite = fake_pwrite,
};

/* ------------------------------------------------------ KVM's memory slots */

/* KVM_SET_USER_MEMORY_REGION as KVM checks it: whole pages, no overlap
 * with RAM or another slot (refused with EEXIST, which a guest placing a
 * BAR over RAM causes); wisp must delete only what it mapped and never
 * map a slot twice. */
#define MAX_SLOTS 64

static struct fake_slot {
	bool used;
	uint64_t gpa, size;
	const uint8_t *host;
} kslot[MAX_SLOTS];

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int fake_slot_map(struct vm *vm, int slot, uint64_t gpa, void *host, uint64_t size)
{
	unsigned k = (unsigned)(slot - MEM_MAX_REGIONS);
	int ret = 0;

	if (slot < MEM_MAX_REGIONS || k >= MAX_SLOTS)
		FINDING("memory slot %d is not one of vm_slot_alloc()'s", slot);
	pthread_mutex_lock(&fake_lock);
	if (!size) {
		if (!kslot[k].used)
			FINDING("wisp deletes memory slot %d, which it never mapped", slot);
		kslot[k].used = false;
		goto out;
	}
	if (kslot[k].used)
		FINDING("wisp maps memory slot %d at %#llx while it is at %#llx", slot,
			(unsigned long long)gpa, (unsigned long long)kslot[k].gpa);
	if ((gpa | size | (uintptr_t)host) & 0xfff || gpa + size < gpa)
		FINDING("memory slot %d: gpa %#llx size %#llx host %p, not whole pages", slot,
			(unsigned long long)gpa, (unsigned long long)size, host);
	for (size_t r = 0; r < vm->mem.nregions; r++)
		if (overlaps(gpa, size, vm->mem.region[r].gpa, vm->mem.region[r].size))
			ret = -1;
	for (unsigned j = 0; j < MAX_SLOTS; j++)
		if (kslot[j].used && overlaps(gpa, size, kslot[j].gpa, kslot[j].size))
			ret = -1;
	if (ret) {
		errno = EEXIST;
		goto out;
	}
	kslot[k] = (struct fake_slot){ true, gpa, size, host };
out:
	pthread_mutex_unlock(&fake_lock);
	return ret;
}

/* ------------------------------------------------------ sysfs and the VM */

static void tree_at(char *out, size_t size, const char *rel)
{
	char *s;

	snprintf(out, size, "%s/%s", tree, rel);
	for (s = out + strlen(tree) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(out, 0755);
		*s = '/';
	}
}

static void tree_link(const char *rel, const char *target)
{
	char p[256];

	tree_at(p, sizeof(p), rel);
	if (symlink(target, p))
		abort();
}

/* The device in the fake sysfs, bound to vfio-pci, alone in group 7+i;
 * and its group's node, which wisp checks but (through the seam) never
 * opens. */
static void sysfs_device(unsigned i)
{
	char rel[160], target[160], p[256];
	int fd;

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/x", dev[i].bdf);
	tree_at(p, sizeof(p), rel);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s", dev[i].bdf);
	tree_at(p, sizeof(p), rel);
	mkdir(p, 0755);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/subsystem", dev[i].bdf);
	tree_link(rel, "../../../bus/pci");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", dev[i].bdf);
	tree_link(rel, "../../../bus/pci/drivers/vfio-pci");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/iommu_group", dev[i].bdf);
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%u", 7 + i);
	tree_link(rel, target);
	snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%u/devices/%s", 7 + i, dev[i].bdf);
	snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", dev[i].bdf);
	tree_link(rel, target);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", dev[i].bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", dev[i].bdf);
	tree_link(rel, target);
	snprintf(rel, sizeof(rel), "dev/vfio/%u", 7 + i);
	tree_at(p, sizeof(p), rel);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	close(fd);
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

/* the fake sysfs goes when the fuzzer exits (not when it crashes) */
static void remove_tree(void)
{
	nftw(tree, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_vm(void)
{
	static char paths[NDEV][200], sys[96], devroot[96], kernel[96];
	const char *argv[16] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
				 "--serial", "null", "--console", "null" };
	unsigned argc = 9, vectors = 0;
	char p[256];
	int fd;

	make_devices();
	snprintf(tree, sizeof(tree), "/tmp/wisp-fuzz-vfio-XXXXXX");
	if (!mkdtemp(tree))
		abort();
	atexit(remove_tree);
	for (unsigned i = 0; i < NDEV; i++)
		sysfs_device(i);
	tree_at(p, sizeof(p), "dev/vfio/vfio");
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	close(fd);
	snprintf(kernel, sizeof(kernel), "%s/kernel", tree);
	fd = open(kernel, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "k", 1) != 1 || close(fd))
		abort();
	snprintf(sys, sizeof(sys), "%s/sys", tree);
	snprintf(devroot, sizeof(devroot), "%s/dev", tree);
	vfio_sysfs_root = sys;
	vfio_dev_root = devroot;
	for (unsigned i = 0; i < NDEV; i++) {
		snprintf(paths[i], sizeof(paths[i]), "path=%s/sys/bus/pci/devices/%s%s", tree,
			 dev[i].bdf, exclude_arg[i]);
		argv[argc++] = "--device";
		argv[argc++] = paths[i];
	}
	argv[argc] = NULL;
	vfio_test_backend = &backend;
	irq_test_fake_kvm = true;
	vm_test_slot_map = fake_slot_map;
	fake_vm_create(&fv, argv);
	for (unsigned s = 1; s < FAKE_VM_MAX_FN; s++) {
		uint32_t id = fake_cfg_read(&fv, s, 0);

		for (unsigned i = 0; i < NDEV; i++)
			if (id == (0x1234u | (uint32_t)dev[i].device << 16))
				dev[i].slot = s;
	}
	for (unsigned i = 0; i < NDEV; i++) {
		if (!dev[i].slot)
			FINDING("%s is not on the PCI bus", dev[i].bdf);
		vectors += dev[i].nvec + 1;
		fprintf(stderr, "fuzz_vfio: %s in slot %u\n", dev[i].bdf, dev[i].slot);
	}
	/* each vector may keep an irqfd and a parking eventfd; MSI an
	 * eventfd; INTx an eventfd and a timer */
	fd_limit = open_fds() + 2 * vectors + 4 * NDEV + 8;
}

/* ------------------------------------------------------------ the guest */

/* where the guest's reset puts BAR n of device i (memory: 64 KiB apart
 * per BAR, 1 MiB per device; I/O: 256 bytes apart) */
static uint64_t home(unsigned i, unsigned n)
{
	if (dev[i].region[n].size && (dev[i].cfg[0x10 + 4 * n] & 1))
		return 0xc000 + i * 0x800 + n * 0x100;
	return ARCH_PCI_MMIO32 + 0x1000000 + i * 0x100000 + n * 0x10000;
}

static void cfg_write(unsigned i, unsigned off, uint32_t v, unsigned len)
{
	fake_cfg_write(&fv, dev[i].slot, off, v, len);
}

static uint32_t cfg_read(unsigned i, unsigned off)
{
	return fake_cfg_read(&fv, dev[i].slot, off);
}

/* Where BAR n is now, as the guest programmed it; 0 if not a BAR. */
static uint64_t bar_now(unsigned i, unsigned n, bool *io)
{
	uint32_t lo = cfg_read(i, 0x10 + 4 * n);

	*io = lo & 1;
	if (*io)
		return lo & ~3u;
	if ((lo & 6) == 4 && n < 5)
		return (lo & ~0xfull) | (uint64_t)cfg_read(i, 0x14 + 4 * n) << 32;
	return lo & ~0xfull;
}

static void bar_access(unsigned i, unsigned n, uint64_t off, uint64_t *val, unsigned len,
		       bool write)
{
	bool io;
	uint64_t base = bar_now(i, n, &io);

	bus_access(io ? &fv.vm.pio : &fv.vm.mmio, base + off, val, len, write);
}

/* Every device back to a known state, as a guest's driver would leave it
 * after a reset: decoding off, interrupts off, BARs home, the MSI-X
 * entries masked, and the device's own bytes as after a reset. */
static void guest_reset(void)
{
	for (unsigned i = 0; i < NDEV; i++) {
		struct fake_dev *d = &dev[i];

		cfg_write(i, CMD, 0, 2);
		if (d->msi_cap)
			cfg_write(i, d->msi_cap + 2, 0, 2);
		if (d->msix_cap)
			cfg_write(i, d->msix_cap + 2, 0, 2);
		for (unsigned n = 0; n < 6; n++) {
			cfg_write(i, 0x10 + 4 * n, (uint32_t)home(i, n), 4);
			if (n < 5 && (d->cfg[0x10 + 4 * n] & 7) == 4)
				cfg_write(i, 0x14 + 4 * n++, 0, 4);
		}
		cfg_write(i, CMD, 0x7, 2);
		for (unsigned v = 0; v < d->nvec; v++) {
			uint64_t e = home(i, d->msix_bar) + d->msix_table + 16ull * v;
			uint64_t zero = 0, masked = 1;

			bus_access(&fv.vm.mmio, e, &zero, 8, true);
			bus_access(&fv.vm.mmio, e + 8, &zero, 4, true);
			bus_access(&fv.vm.mmio, e + 12, &masked, 4, true);
		}
		cfg_write(i, CMD, 0, 2);
		pthread_mutex_lock(&fake_lock);
		restore_device(d);
		pthread_mutex_unlock(&fake_lock);
	}
}

/* The device raises vector v of whatever kind VFIO has on: a write to
 * the eventfd wisp gave for it: a parking eventfd or INTx's eventfd,
 * which wisp's VFIO thread serves (waited for, briefly), or an irqfd,
 * which KVM would consume (drained here). */
static void device_interrupt(unsigned i, unsigned v)
{
	struct fake_dev *d = &dev[i];
	uint64_t one = 1;
	int fd = -1;

	pthread_mutex_lock(&fake_lock);
	if (d->irq_on >= 0 && d->irq_count)
		fd = d->irq_fd[v % d->irq_count];
	pthread_mutex_unlock(&fake_lock);
	if (fd < 0 || write(fd, &one, sizeof(one)) != sizeof(one))
		return;
	for (unsigned t = 0; t < 3; t++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0)
			return;
		usleep(100);
	}
	if (read(fd, &one, sizeof(one)) < 0)
		return;		/* (the VFIO thread took it after all) */
}

/* Every memory slot in the guest maps, at each of its pages, the same
 * page of a BAR that the guest has at that address with memory decoding
 * on: no slot left behind by a BAR that moved or was turned off, none
 * showing another part of the device. */
static void check_slots(void)
{
	for (unsigned k = 0; k < MAX_SLOTS; k++) {
		const struct fake_slot *sl = &kslot[k];
		bool found = false;

		if (!sl->used)
			continue;
		for (unsigned i = 0; i < NDEV && !found; i++) {
			if (!(cfg_read(i, CMD) & 0x2))
				continue;
			for (unsigned n = 0; n < 6 && !found; n++) {
				bool io;
				uint64_t base = bar_now(i, n, &io);
				uint64_t rsize = dev[i].region[n].size;

				if (io || !rsize || sl->gpa < base || sl->gpa + sl->size > base + rsize)
					continue;
				found = true;
				for (uint64_t p = 0; p < sl->size && found; p += 0x1000) {
					uint64_t want, got;

					memcpy(&got, sl->host + p, 8);
					if (pread(dev[i].memfd, &want, 8, (off_t)((uint64_t)n << REGION_SHIFT) +
						  (off_t)(sl->gpa - base + p)) != 8)
						abort();
					found = got == want;
				}
				/* (each word names its BAR: a match is that BAR) */
				if (found && (exclude_mask[i] & (1u << n)))
					FINDING("memory slot %u maps BAR %u of %s, which "
						"x_exclude_mmap_bars= keeps out of the guest",
						k + MEM_MAX_REGIONS, n, dev[i].bdf);
			}
		}
		if (!found)
			FINDING("memory slot %u at %#llx+%#llx maps device memory that no BAR with "
				"decoding on has there", k + MEM_MAX_REGIONS,
				(unsigned long long)sl->gpa, (unsigned long long)sl->size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_in in = { data, size };
	unsigned interrupts = 0;

	if (!ready++)
		make_vm();
	guest_reset();
	for (unsigned ops = 0; in.left && ops < 256; ops++) {
		unsigned op = (unsigned)fuzz_take(&in, 1);
		unsigned i = (unsigned)fuzz_take(&in, 1) % NDEV;
		unsigned len = 1u << ((op >> 4) & 3);		/* 1, 2, 4, 8 */
		struct fake_dev *d = &dev[i];
		uint64_t v;

		switch (op % 10) {
		case 0:	/* config write anywhere */
			cfg_write(i, (unsigned)fuzz_take(&in, 2) & 0xfff, (uint32_t)fuzz_take(&in, 4),
				  len > 4 ? 4 : len);
			break;
		case 1:	/* config read anywhere */
			fake_mmio_read(&fv, ARCH_PCI_ECAM + ((uint64_t)d->slot << 15) +
				       ((unsigned)fuzz_take(&in, 2) & 0xfff), len > 4 ? 4 : len);
			break;
		case 2: {	/* a write into the MSI, MSI-X or PCIe capability */
			uint8_t caps[3] = { d->msi_cap, d->msix_cap, d->pcie_cap };
			uint8_t at = caps[fuzz_take(&in, 1) % 3];

			if (at)
				cfg_write(i, at + (unsigned)fuzz_take(&in, 1) % 24,
					  (uint32_t)fuzz_take(&in, 4), len > 4 ? 4 : len);
			break;
		}
		case 3:	/* BAR write, inside the region or past it */
		case 4: {	/* BAR read */
			unsigned n = (unsigned)fuzz_take(&in, 1) % 6;
			uint64_t span = d->region[n].size ? 2 * d->region[n].size : 0x1000;

			v = fuzz_take(&in, 8);
			bar_access(i, n, fuzz_take(&in, 3) % span, &v, len, op % 10 == 3);
			break;
		}
		case 5:	/* an MSI-X table entry: address, data or vector control */
			if (d->nvec) {
				unsigned vec = (unsigned)fuzz_take(&in, 1) % (d->nvec + 1);
				unsigned word = (unsigned)fuzz_take(&in, 1) % 4;

				v = fuzz_take(&in, 4);
				bar_access(i, d->msix_bar, d->msix_table + 16ull * vec + 4 * word,
					   &v, 4, true);
			}
			break;
		case 6: {	/* move a BAR (both halves of a 64-bit one) */
			unsigned n = (unsigned)fuzz_take(&in, 1) % 6;
			uint64_t to = fuzz_take(&in, 2);

			if (d->cfg[0x10 + 4 * n] & 1)
				to = (to << 2) & 0xffff;
			else
				to = ARCH_PCI_MMIO32 + (to << 12);
			cfg_write(i, 0x10 + 4 * n, (uint32_t)to, 4);
			if (n < 5 && (d->cfg[0x10 + 4 * n] & 7) == 4)
				cfg_write(i, 0x14 + 4 * n, (uint32_t)fuzz_take(&in, 1) & 1, 4);
			break;
		}
		case 7:	/* the command register: decoding, bus mastering, INTx off */
			cfg_write(i, CMD, (uint32_t)fuzz_take(&in, 2) & 0x407, 2);
			break;
		case 8:	/* the device raises an interrupt */
			if (interrupts++ < 2)
				device_interrupt(i, (unsigned)fuzz_take(&in, 1));
			break;
		case 9: {	/* interrupts on and off: MSI-X enable and mask-all, MSI
				 * enable, bus mastering (both kinds at once included) */
			unsigned bits = (unsigned)fuzz_take(&in, 1);

			if (d->msix_cap)
				cfg_write(i, d->msix_cap + 3, (bits & 1 ? 0x80 : 0) | (bits & 2 ? 0x40 : 0), 1);
			if (d->msi_cap)
				cfg_write(i, d->msi_cap + 2, bits & 4 ? 1 : 0, 2);
			cfg_write(i, CMD, bits & 8 ? 0x7 : 0x3, 2);
			break;
		}
		}
	}
	check_slots();
	if (open_fds() > fd_limit)
		FINDING("%ld descriptors open, more than the %ld the devices' vectors account for",
			open_fds(), fd_limit);
	return 0;
}

#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
#endif
