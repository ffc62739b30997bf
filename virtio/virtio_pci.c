// SPDX-License-Identifier: MIT
/*
 * virtio 1.x over PCI (virtio spec 4.1).  BAR 0 (64-bit memory) holds:
 *
 *   0x0000  common configuration      0x3000  notify: 4 bytes per queue
 *   0x1000  ISR status                0x4000  MSI-X table
 *   0x2000  device configuration      0x5000  MSI-X PBA
 *
 * Each queue's notify address has an ioeventfd, so a kick costs the
 * vCPU no trip to userspace; the eventfd wakes the event loop, which
 * calls the device.  Interrupts are MSI-X vectors through irqfd.
 */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/snapshot.h"
#include "core/event.h"
#include "core/event_monitor.h"
#include "core/iommu.h"
#include "core/kconfig.h"
#include "core/kv.h"
#include "core/vm.h"

#define BAR_COMMON 0x0000
#define BAR_ISR 0x1000
#define BAR_DEVICE 0x2000
#define BAR_NOTIFY 0x3000
#define BAR_MSIX_TABLE 0x4000
#define BAR_MSIX_PBA 0x5000
#define BAR_SIZE 0x8000
#define NOTIFY_MULTIPLIER 4

#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define CAP_PCI_CFG 5
/* in the PCI_CFG capability: bar, offset, length, then the data window */
#define PCI_CFG_BAR 4
#define PCI_CFG_OFFSET 8
#define PCI_CFG_LENGTH 12
#define PCI_CFG_DATA 16

#define NO_VECTOR 0xffff

#define PCI_VENDOR_REDHAT_VIRTIO 0x1af4
#define PCI_DEVICE_VIRTIO_MODERN 0x1040

/* common configuration offsets (4.1.4.3) */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX 0x10
#define CC_NUMQ 0x12
#define CC_STATUS 0x14
#define CC_CFGGEN 0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESCLO 0x20
#define CC_Q_DESCHI 0x24
#define CC_Q_AVAILLO 0x28
#define CC_Q_AVAILHI 0x2c
#define CC_Q_USEDLO 0x30
#define CC_Q_USEDHI 0x34
#define CC_SIZE 0x38

#define ISR_QUEUE 0x1
#define ISR_CONFIG 0x2

void virtio_lock(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
}

void virtio_unlock(struct virtio_dev *d)
{
	pthread_mutex_unlock(&d->lock);
}

static void set_kick_ioeventfd(struct virtio_dev *d, unsigned q, uint64_t addr)
{
	struct virtio_queue *vq = &d->queue[q];
	struct kvm_ioeventfd io = { .len = 2, .fd = vq->kick_fd };

	if (vq->kick_addr) {
		io.addr = vq->kick_addr;
		io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
		ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io);
		vq->kick_addr = 0;
	}
	if (!addr)
		return;
	io.addr = addr;
	io.flags = 0;
	/* without it, kicks still work through the MMIO exit */
	if (ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io) == 0)
		vq->kick_addr = addr;
}

/* BAR 0 moved: the kick ioeventfds follow it. */
static void bar_moved(struct pci_function *fn, unsigned bar)
{
	struct virtio_dev *d = fn->owner;
	uint64_t base = fn->bar[bar].mapped ? fn->bar[bar].addr : 0;

	if (bar != 0)
		return;
	for (unsigned q = 0; q < d->nqueues; q++)
		set_kick_ioeventfd(d, q, base ? base + BAR_NOTIFY + q * NOTIFY_MULTIPLIER : 0);
}

void virtio_kick(struct virtio_dev *d, unsigned q)
{
	uint64_t one = 1;

	if (write(d->queue[q].kick_fd, &one, sizeof(one)) < 0)
		wisp_err("%s: kick queue %u: %s", d->name, q, strerror(errno));
}

/* Event loop: the driver kicked a queue. */
static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_queue *vq = opaque;
	struct virtio_dev *d = vq->dev;
	unsigned q = vq->index;
	uint64_t n;

	(void)events;
	if (read(vq->kick_fd, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_lock(d);
	/* without bus mastering the device may not touch memory; the kick
	 * is replayed when the driver turns it back on */
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && vq->enabled &&
	    !(d->status & VIRTIO_STATUS_NEEDS_RESET) && pci_bus_master(&d->pci))
		d->ops->queue_notify(d, q);
	virtio_unlock(d);
}

void virtio_queue_interrupt(struct virtio_dev *d, unsigned q)
{
	struct virtio_queue *vq = &d->queue[q];

	if (!virtq_needs_interrupt(&vq->vq))
		return;
	d->isr |= ISR_QUEUE;
	if (vq->msix_vector != NO_VECTOR)
		msix_notify(&d->pci, vq->msix_vector);
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	d->isr |= ISR_CONFIG;
	if (d->msix_config != NO_VECTOR)
		msix_notify(&d->pci, d->msix_config);
}

/* A guest can break and reset a device in a loop: say so a few times,
 * not once per loop. */
#define NEEDS_RESET_REPORTS 8

void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (d->reports < NEEDS_RESET_REPORTS)
		wisp_err("%s: %s; the device needs a reset%s", d->name, why,
			 ++d->reports == NEEDS_RESET_REPORTS ? " (further ones not reported)" : "");
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_config_changed(d);
}

static void device_reset(struct virtio_dev *d)
{
	for (unsigned q = 0; q < d->nqueues; q++) {
		struct virtio_queue *vq = &d->queue[q];

		vq->size = vq->max_size;
		vq->msix_vector = NO_VECTOR;
		vq->enabled = false;
		vq->desc = vq->driver = vq->device = 0;
		virtq_reset(&vq->vq);
	}
	d->driver_features = 0;
	d->dfselect = d->gfselect = 0;
	d->status = 0;
	d->isr = 0;
	d->msix_config = NO_VECTOR;
	d->queue_select = 0;
	if (d->ops->reset)
		d->ops->reset(d);
}

static void queue_enable(struct virtio_dev *d, struct virtio_queue *vq)
{
	if (vq->enabled)
		return;
	if (virtq_init(&vq->vq, &d->dma, vq->size, vq->desc, vq->driver, vq->device,
		       d->driver_features)) {
		virtio_needs_reset(d, "the driver enabled a queue with bad rings");
		return;
	}
	vq->enabled = true;
}

#ifdef CONFIG_EVENT_MONITOR
/* cloud-hypervisor's ids for devices the user did not name: a prefix
 * and a number for the kinds a VM may have several of, a fixed name for
 * the others (its device_manager.rs); the numbers count per kind here,
 * as in vm.counters. */
static void set_event_id(struct virtio_dev *d, const struct virtio_dev_info *info)
{
	static const struct {
		uint16_t device_id;
		bool one;		/* one per VM: no number */
		const char *name;
	} kinds[] = {
		{ VIRTIO_ID_BLOCK, false, "_disk" }, { VIRTIO_ID_NET, false, "_net" },
		{ VIRTIO_ID_PMEM, false, "_pmem" }, { VIRTIO_ID_FS, false, "_fs" },
		{ VIRTIO_ID_VSOCK, false, "_vsock" }, { VIRTIO_ID_RNG, true, "__rng" },
		{ VIRTIO_ID_CONSOLE, true, "__console" }, { 5, true, "__balloon" },
		{ VIRTIO_ID_IOMMU, true, "__iommu" },
	};
	static unsigned count[sizeof(kinds) / sizeof(kinds[0])];

	if (info->id) {
		snprintf(d->event_id, sizeof(d->event_id), "%s", info->id);
		return;
	}
	snprintf(d->event_id, sizeof(d->event_id), "%s", info->name);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].device_id != info->device_id)
			continue;
		if (kinds[i].one)
			snprintf(d->event_id, sizeof(d->event_id), "%s", kinds[i].name);
		else
			snprintf(d->event_id, sizeof(d->event_id), "%s%u", kinds[i].name, count[i]++);
	}
}

/* "virtio-device" "activated" / "reset", as cloud-hypervisor reports
 * a driver starting a device and resetting one it had started */
static void device_event(const struct virtio_dev *d, const char *event)
{
	event_monitor_report("virtio-device", event, "id", d->event_id);
}
#else
#define device_event(d, event) ((void)0)
#endif


/* Behind the virtio-iommu, where the device's addresses point once the
 * features are agreed: I/O virtual addresses when the driver accepted
 * VIRTIO_F_ACCESS_PLATFORM, else guest-physical ones.  A driver may
 * decline it (Linux's virtio_balloon does: the page numbers it gives are
 * guest-physical), as QEMU allows: the guest then gives up its IOMMU's
 * protection from this device, never the host's, as the guest-physical
 * path reaches guest RAM alone. */
static void choose_dma(struct virtio_dev *d)
{
	if (!d->iommu_ep)
		return;
	if (d->driver_features & (1ULL << VIRTIO_F_ACCESS_PLATFORM))
		virtq_dma_endpoint(&d->dma, d->iommu_ep);
	else
		virtq_dma_guest(&d->dma, &d->vm->mem);
}

static void write_status(struct virtio_dev *d, uint8_t status)
{
	uint8_t old = d->status;

	if (!status) {
		device_reset(d);
		if (old & VIRTIO_STATUS_DRIVER_OK)
			device_event(d, "reset");
		return;
	}
	/* FEATURES_OK sticks only for a feature set we offered, with 1.0 */
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~d->features) ||
	     (d->required & ~d->driver_features) ||
	     !(d->driver_features & (1ULL << VIRTIO_F_VERSION_1))))
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	d->status = (uint8_t)(status | (old & VIRTIO_STATUS_NEEDS_RESET));
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK))
		choose_dma(d);
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (d->ops->activate)
			d->ops->activate(d);
		device_event(d, "activated");
	}
}

static uint64_t read_le(const void *p, unsigned len)
{
	uint64_t v = 0;

	memcpy(&v, p, len);
	return v;
}

/* The common configuration structure, one register at a time. */
static uint32_t common_read(struct virtio_dev *d, unsigned off)
{
	struct virtio_queue *vq = d->queue_select < d->nqueues ? &d->queue[d->queue_select] : NULL;

	switch (off) {
	case CC_DFSELECT: return d->dfselect;
	case CC_DF: return d->dfselect < 2 ? (uint32_t)(d->features >> (32 * d->dfselect)) : 0;
	case CC_GFSELECT: return d->gfselect;
	case CC_GF: return d->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfselect)) : 0;
	case CC_MSIX: return d->msix_config;
	case CC_NUMQ: return d->nqueues;
	case CC_STATUS: return d->status;
	case CC_CFGGEN: return d->config_generation;
	case CC_Q_SELECT: return d->queue_select;
	}
	if (!vq)
		return 0;
	switch (off) {
	case CC_Q_SIZE: return vq->size;
	case CC_Q_MSIX: return vq->msix_vector;
	case CC_Q_ENABLE: return vq->enabled;
	case CC_Q_NOFF: return d->queue_select;
	case CC_Q_DESCLO: return (uint32_t)vq->desc;
	case CC_Q_DESCHI: return (uint32_t)(vq->desc >> 32);
	case CC_Q_AVAILLO: return (uint32_t)vq->driver;
	case CC_Q_AVAILHI: return (uint32_t)(vq->driver >> 32);
	case CC_Q_USEDLO: return (uint32_t)vq->device;
	case CC_Q_USEDHI: return (uint32_t)(vq->device >> 32);
	default: return 0;
	}
}

static void set_low(uint64_t *v, uint32_t x)
{
	*v = (*v & ~0xffffffffULL) | x;
}

static void set_high(uint64_t *v, uint32_t x)
{
	*v = (*v & 0xffffffffULL) | ((uint64_t)x << 32);
}

static void common_write(struct virtio_dev *d, unsigned off, uint32_t v)
{
	struct virtio_queue *vq = d->queue_select < d->nqueues ? &d->queue[d->queue_select] : NULL;
	bool features_locked = d->status & VIRTIO_STATUS_FEATURES_OK;

	switch (off) {
	case CC_DFSELECT: d->dfselect = v; return;
	case CC_GFSELECT: d->gfselect = v; return;
	case CC_GF:
		if (d->gfselect < 2 && !features_locked) {
			if (d->gfselect)
				set_high(&d->driver_features, v);
			else
				set_low(&d->driver_features, v);
		}
		return;
	case CC_MSIX: d->msix_config = v < d->pci.msix.nvec ? (uint16_t)v : NO_VECTOR; return;
	case CC_STATUS: write_status(d, (uint8_t)v); return;
	case CC_Q_SELECT: d->queue_select = (uint16_t)v; return;
	}
	/* queue registers only change while the queue is off */
	if (!vq || (vq->enabled && off != CC_Q_MSIX && off != CC_Q_ENABLE))
		return;
	switch (off) {
	case CC_Q_SIZE:
		if (v && v <= vq->max_size && !(v & (v - 1)))
			vq->size = (uint16_t)v;
		break;
	case CC_Q_MSIX: vq->msix_vector = v < d->pci.msix.nvec ? (uint16_t)v : NO_VECTOR; break;
	case CC_Q_ENABLE: if (v == 1) queue_enable(d, vq); break;
	case CC_Q_DESCLO: set_low(&vq->desc, v); break;
	case CC_Q_DESCHI: set_high(&vq->desc, v); break;
	case CC_Q_AVAILLO: set_low(&vq->driver, v); break;
	case CC_Q_AVAILHI: set_high(&vq->driver, v); break;
	case CC_Q_USEDLO: set_low(&vq->device, v); break;
	case CC_Q_USEDHI: set_high(&vq->device, v); break;
	default: break;
	}
}

/* Register widths of the common configuration (0 = not a register). */
static unsigned common_width(unsigned off)
{
	if (off < CC_MSIX || (off >= CC_Q_DESCLO && off < CC_SIZE))
		return 4;
	if (off == CC_STATUS || off == CC_CFGGEN)
		return 1;
	if (off < CC_Q_DESCLO)
		return 2;
	return 0;
}

static void bar_access(struct virtio_dev *d, uint64_t off, void *data, unsigned len,
		       bool write)
{
	if (off >= BAR_MSIX_TABLE && msix_table_access(&d->pci, off, data, len, write))
		return;
	if (!write)
		memset(data, 0, len);
	if (off >= BAR_NOTIFY && off < BAR_NOTIFY + (uint64_t)d->nqueues * NOTIFY_MULTIPLIER) {
		/* a kick that missed the ioeventfd (odd width, no ioeventfd) */
		if (write)
			virtio_kick(d, (unsigned)((off - BAR_NOTIFY) / NOTIFY_MULTIPLIER));
		return;
	}
	virtio_lock(d);
	if (off < BAR_COMMON + CC_SIZE) {
		/* each register is accessed whole, at its own width */
		if (common_width((unsigned)off) == len) {
			if (write)
				common_write(d, (unsigned)off, (uint32_t)read_le(data, len));
			else {
				uint32_t v = common_read(d, (unsigned)off);

				memcpy(data, &v, len);
			}
		}
	} else if (off == BAR_ISR && !write) {
		*(uint8_t *)data = d->isr;
		d->isr = 0;	/* reading acknowledges */
	} else if (off >= BAR_DEVICE && off - BAR_DEVICE < d->config_len &&
		   len <= d->config_len - (off - BAR_DEVICE)) {
		unsigned at = (unsigned)(off - BAR_DEVICE);

		if (!write)
			memcpy(data, d->config + at, len);
		else if (d->ops->config_write) {
			memcpy(d->config + at, data, len);
			d->ops->config_write(d, at, len);
		}
	}
	virtio_unlock(d);
}

static void bar_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	bar_access(opaque, off, data, len, false);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	bar_access(opaque, off, (void *)data, len, true);
}

static const struct bus_ops virtio_bar_ops = { .read = bar_read, .write = bar_write };

static void add_cap(struct virtio_dev *d, uint8_t type, uint32_t offset,
		    uint32_t length, bool notify)
{
	uint8_t cap[20] = { 0 };

	cap[2] = notify ? 20 : 16;	/* cap_len */
	cap[3] = type;
	cap[4] = 0;			/* BAR 0 */
	memcpy(&cap[8], &offset, 4);
	memcpy(&cap[12], &length, 4);
	if (notify) {
		uint32_t mult = NOTIFY_MULTIPLIER;

		memcpy(&cap[16], &mult, 4);
	}
	pci_add_capability(&d->pci, PCI_CAP_ID_VNDR, cap, cap[2]);
}

/* The PCI_CFG capability's window (4.1.4.9): an access to its data
 * bytes is an access of `length` bytes at `offset` in the BAR.  Accepts
 * BAR 0, lengths 1, 2 and 4, naturally aligned, inside the BAR. */
static bool pci_cfg_window(struct virtio_dev *d, unsigned off, unsigned len,
			   uint32_t *bar_off, unsigned *bar_len)
{
	const uint8_t *cap = &d->pci.cfg[d->pci_cfg_cap];
	uint32_t o, l;

	if (!d->pci_cfg_cap || off + len <= d->pci_cfg_cap + (unsigned)PCI_CFG_DATA ||
	    off >= d->pci_cfg_cap + PCI_CFG_DATA + 4u)
		return false;
	memcpy(&o, cap + PCI_CFG_OFFSET, 4);
	memcpy(&l, cap + PCI_CFG_LENGTH, 4);
	if (cap[PCI_CFG_BAR] != 0 || (l != 1 && l != 2 && l != 4) || (o & (l - 1)) ||
	    o >= BAR_SIZE)
		return false;
	*bar_off = o;
	*bar_len = l;
	return true;
}

static void bar_access(struct virtio_dev *d, uint64_t off, void *data, unsigned len,
		       bool write);

static void pci_cfg_read(struct pci_function *fn, unsigned off, unsigned len)
{
	struct virtio_dev *d = fn->owner;
	uint8_t data[4] = { 0 };
	uint32_t bar_off;
	unsigned bar_len;

	if (!pci_cfg_window(d, off, len, &bar_off, &bar_len))
		return;
	bar_access(d, bar_off, data, bar_len, false);
	pthread_mutex_lock(&fn->lock);
	memcpy(&fn->cfg[d->pci_cfg_cap + PCI_CFG_DATA], data, 4);
	pthread_mutex_unlock(&fn->lock);
}

static void pci_cfg_written(struct pci_function *fn, unsigned off, unsigned len)
{
	struct virtio_dev *d = fn->owner;
	uint8_t data[4];
	uint32_t bar_off;
	unsigned bar_len;

	if (off <= PCI_COMMAND + 1 && off + len > PCI_COMMAND && pci_bus_master(fn)) {
		/* bus mastering (back) on: look at the queues again */
		for (unsigned q = 0; q < d->nqueues; q++)
			if (d->queue[q].enabled)
				virtio_kick(d, q);
	}
	if (!pci_cfg_window(d, off, len, &bar_off, &bar_len))
		return;
	pthread_mutex_lock(&fn->lock);
	memcpy(data, &fn->cfg[d->pci_cfg_cap + PCI_CFG_DATA], 4);
	pthread_mutex_unlock(&fn->lock);
	bar_access(d, bar_off, data, bar_len, true);
}

static void add_pci_cfg_cap(struct virtio_dev *d)
{
	uint8_t cap[20] = { 0 };

	cap[2] = sizeof(cap);
	cap[3] = CAP_PCI_CFG;
	d->pci_cfg_cap = pci_add_capability(&d->pci, PCI_CAP_ID_VNDR, cap, sizeof(cap));
	if (!d->pci_cfg_cap)
		return;
	pci_cfg_wmask(&d->pci, d->pci_cfg_cap + PCI_CFG_BAR, 1, 0xff);
	pci_cfg_wmask(&d->pci, d->pci_cfg_cap + PCI_CFG_OFFSET, 8, 0xffffffff);
	pci_cfg_wmask(&d->pci, d->pci_cfg_cap + PCI_CFG_DATA, 4, 0xffffffff);
	d->pci.config_read = pci_cfg_read;
}

/* A BAR move (a config write on a vCPU thread) moves the queues'
 * ioeventfds; a kick that misses them is an eventfd write (core's
 * vCPU rules), served by the event loop like any other. */
static const struct seccomp_rule virtio_pci_seccomp[] = {
	SC_IOCTL(KVM_IOEVENTFD),
};

/* ----------------------------------------------------------- snapshots */

#ifdef CONFIG_SNAPSHOT
static void save_queue(const struct virtio_queue *vq, struct snap_writer *w)
{
	const struct virtq *q = &vq->vq;

	snap_u16(w, vq->size);
	snap_u16(w, vq->msix_vector);
	snap_u8(w, vq->enabled);
	snap_u64(w, vq->desc);
	snap_u64(w, vq->driver);
	snap_u64(w, vq->device);
	/* the device's side of the rings; the driver's is in guest RAM */
	snap_u16(w, q->last_avail_idx);
	snap_u16(w, q->used_idx);
	snap_u16(w, q->signalled_used);
	snap_u32(w, q->unsignalled);
	snap_u8(w, q->notify_disabled);
	snap_u8(w, q->broken);
	snap_blob(w, q->in_flight, virtq_enabled(q) ? (q->size + 7u) / 8 : 0);
}

int virtio_snapshot_save(void *instance, struct snap_writer *w)
{
	struct virtio_dev *d = instance;

	virtio_lock(d);
	pci_save(&d->pci, w);
	snap_u64(w, d->driver_features);
	snap_u32(w, d->dfselect);
	snap_u32(w, d->gfselect);
	snap_u8(w, d->status);
	snap_u8(w, d->isr);
	snap_u8(w, d->config_generation);
	snap_u16(w, d->msix_config);
	snap_u16(w, d->queue_select);
	snap_blob(w, d->config, d->config_len);
	snap_u32(w, d->nqueues);
	for (unsigned q = 0; q < d->nqueues; q++)
		save_queue(&d->queue[q], w);
	virtio_unlock(d);
	return 0;
}

static bool vector_ok(const struct virtio_dev *d, uint16_t v)
{
	return v == NO_VECTOR || v < d->pci.msix.nvec;
}

/* One queue as saved: an enabled one is mapped again through the same
 * checks as the driver's queue_enable, then given its indices. */
static int load_queue(struct virtio_dev *d, struct virtio_queue *vq, struct snap_reader *r)
{
	struct virtq *q = &vq->vq;
	uint16_t last_avail, used, signalled;
	uint32_t unsignalled;
	bool enabled, notify_disabled, broken;

	vq->size = snap_get_u16(r);
	vq->msix_vector = snap_get_u16(r);
	vq->enabled = false;
	enabled = snap_get_bool(r);
	vq->desc = snap_get_u64(r);
	vq->driver = snap_get_u64(r);
	vq->device = snap_get_u64(r);
	last_avail = snap_get_u16(r);
	used = snap_get_u16(r);
	signalled = snap_get_u16(r);
	unsignalled = snap_get_u32(r);
	notify_disabled = snap_get_bool(r);
	broken = snap_get_bool(r);
	if (r->failed || vq->size > vq->max_size || !vector_ok(d, vq->msix_vector))
		return -1;
	if (!enabled)
		return snap_get_u32(r) == 0 && !r->failed ? 0 : -1;
	if (virtq_init(q, &d->dma, vq->size, vq->desc, vq->driver, vq->device, d->driver_features))
		return -1;
	snap_get_blob(r, q->in_flight, (q->size + 7u) / 8);
	q->last_avail_idx = q->shadow_avail_idx = last_avail;
	q->used_idx = q->fill_idx = used;
	q->signalled_used = signalled;
	q->unsignalled = unsignalled;
	q->notify_disabled = notify_disabled;
	q->broken = broken;
	vq->enabled = true;
	return r->failed ? -1 : 0;
}

static int load_transport(struct virtio_dev *d, struct snap_reader *r)
{
	d->driver_features = snap_get_u64(r);
	d->dfselect = snap_get_u32(r);
	d->gfselect = snap_get_u32(r);
	d->status = snap_get_u8(r);
	d->isr = snap_get_u8(r);
	d->config_generation = snap_get_u8(r);
	d->msix_config = snap_get_u16(r);
	d->queue_select = snap_get_u16(r);
	snap_get_blob(r, d->config, d->config_len);
	if (r->failed || (d->driver_features & ~d->features) || !vector_ok(d, d->msix_config) ||
	    snap_get_u32(r) != d->nqueues)
		return -1;
	if (d->status & VIRTIO_STATUS_FEATURES_OK)
		choose_dma(d);
	for (unsigned q = 0; q < d->nqueues; q++)
		if (load_queue(d, &d->queue[q], r))
			return -1;
	return r->failed ? -1 : 0;
}

int virtio_snapshot_load(void *instance, struct snap_reader *r)
{
	struct virtio_dev *d = instance;
	int ret;

	if (pci_load(&d->pci, r))
		return -1;
	virtio_lock(d);
	ret = load_transport(d, r);
	if (ret)
		device_reset(d);	/* nothing half-loaded stays */
	else if ((d->status & VIRTIO_STATUS_DRIVER_OK) && d->ops->activate)
		d->ops->activate(d);
	virtio_unlock(d);
	return ret;
}

const struct snapshot_ops virtio_snapshot_ops = {
	.save = virtio_snapshot_save,
	.load = virtio_snapshot_load,
};
#endif

int virtio_pci_create(struct vm *vm, struct virtio_dev *d,
		      const struct virtio_dev_info *info)
{
	if (info->nqueues > VIRTIO_MAX_QUEUES || info->config_len > BAR_NOTIFY - BAR_DEVICE)
		return -1;
	if (seccomp_allow(SECCOMP_VCPU, virtio_pci_seccomp, SC_COUNT(virtio_pci_seccomp)))
		return -1;
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->name = info->name;
	d->ops = info->ops;
	d->priv = info->priv;
	d->config = info->config;
	d->config_len = info->config_len;
	d->nqueues = info->nqueues;
	d->features = info->features | (1ULL << VIRTIO_F_VERSION_1) |
		      (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC);
#ifdef CONFIG_EVENT_MONITOR
	set_event_id(d, info);
#endif
	pthread_mutex_init(&d->lock, NULL);
	virtq_dma_guest(&d->dma, &vm->mem);
	for (unsigned q = 0; q < d->nqueues; q++) {
		struct virtio_queue *vq = &d->queue[q];

		vq->dev = d;
		vq->index = q;
		vq->max_size = info->queue_size;
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0 ||
		    ((!info->external_queues || q >= info->nqueues - info->local_queues) &&
		     event_add(vm->loop, vq->kick_fd, EPOLLIN, on_kick, vq))) {
			wisp_err("%s: queue %u eventfd: %s", d->name, q, strerror(errno));
			return -1;
		}
	}
	device_reset(d);

	pci_init_function(&d->pci, vm, info->name, PCI_VENDOR_REDHAT_VIRTIO,
			  (uint16_t)(PCI_DEVICE_VIRTIO_MODERN + info->device_id),
			  info->pci_class, 1);
	pci_set_subsystem(&d->pci, PCI_VENDOR_REDHAT_VIRTIO, 0x1100);
	d->pci.owner = d;
	d->pci.bar_moved = bar_moved;
	d->pci.config_written = pci_cfg_written;
	pci_set_bar(&d->pci, 0, BAR_SIZE, PCI_BAR_MEM64, &virtio_bar_ops, d);
	add_cap(d, CAP_COMMON, BAR_COMMON, CC_SIZE, false);
	add_cap(d, CAP_NOTIFY, BAR_NOTIFY, d->nqueues * NOTIFY_MULTIPLIER, true);
	add_cap(d, CAP_ISR, BAR_ISR, 1, false);
	if (d->config_len)
		add_cap(d, CAP_DEVICE, BAR_DEVICE, d->config_len, false);
	add_pci_cfg_cap(d);
	/* one vector per queue and one for config changes */
	if (pci_add_msix(&d->pci, d->nqueues + 1, 0, BAR_MSIX_TABLE, BAR_MSIX_PBA))
		return -1;
	if (IS_ENABLED(CONFIG_PCI_SEGMENTS))
		d->pci.slot = info->pci_slot;
	if (pci_add(vm, &d->pci, info->pci_segment))
		return -1;
	if (info->iommu) {
		/* the endpoint id is the function's BDF, known only now */
		struct iommu_endpoint *ep = iommu_add_pci(vm, &d->pci);

		if (!ep)
			return -1;
		d->iommu_ep = ep;
		virtq_dma_endpoint(&d->dma, ep);
		d->features |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	}
	return 0;
}

int virtio_parse_iommu(struct kv_list *args, bool *iommu, struct cli_error *err)
{
	if (kv_bool(args, "iommu", iommu, err) < 0)
		return -1;
	if (*iommu && !IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		cli_errorf(err, "'iommu=on': this wisp is built without virtio-iommu");
		return -1;
	}
	return 0;
}

#if !IS_ENABLED(CONFIG_PCI_SEGMENTS) && IS_ENABLED(CONFIG_CLI_UNBUILT_KEYS)
int virtio_parse_pci(struct kv_list *args, uint64_t *segment, uint8_t *slot_out,
		     struct cli_error *err)
{
	const char *slot = NULL;

	(void)slot_out;
	if (kv_u64(args, "pci_segment", 0, UINT16_MAX, segment, err) < 0 ||
	    kv_str(args, "pci_device_id", &slot, err) < 0)
		return -1;
	if (*segment) {
		cli_errorf(err, "'pci_segment=%llu': wisp has one PCI segment "
			   "(--platform num_pci_segments is not built)",
			   (unsigned long long)*segment);
		return -1;
	}
	if (slot) {
		cli_errorf(err, "'pci_device_id=%s': choosing a device's PCI slot is not built into wisp",
			   slot);
		return -1;
	}
	return 0;
}
#endif
