/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.x PCI transport (modern only).  A virtio device embeds a
 * struct virtio_dev, describes its queues, features and config space,
 * and supplies a few callbacks; the transport does the PCI function,
 * capabilities, feature negotiation, status, queues, ioeventfd kicks and
 * MSI-X interrupts.
 *
 * Threads: kicks arrive on the main event loop and the device's
 * queue_notify runs there with the device lock held; config-space and
 * common-config accesses come from vCPU threads under the same lock.
 * A back-end thread that completes requests takes the lock too
 * (virtio_lock) before pushing used buffers.
 */
#ifndef WISP_VIRTIO_PCI_H
#define WISP_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/kconfig.h"
#include "core/kv.h"
#include "core/pci.h"
#include "virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES 64

struct virtio_dev;

struct virtio_ops {
	/* The driver kicked queue q (event loop, device lock held). */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/* The driver set DRIVER_OK: queues are live.  Optional. */
	void (*activate)(struct virtio_dev *d);
	/* The driver reset the device; drop in-flight state.  Optional. */
	void (*reset)(struct virtio_dev *d);
	/* The driver wrote device config; the bytes are already in
	 * d->config.  Optional: without it, config is read-only. */
	void (*config_write)(struct virtio_dev *d, unsigned off, unsigned len);
};

struct virtio_queue {
	struct virtio_dev *dev;
	unsigned index;
	uint16_t max_size;
	uint16_t size;		/* what the driver chose */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
	struct virtq vq;
	int kick_fd;		/* eventfd behind the notify address */
	uint64_t kick_addr;	/* where its ioeventfd is attached, or 0 */
};

struct virtio_dev {
	struct pci_function pci;
	struct vm *vm;
	const char *name;
	const struct virtio_ops *ops;
	void *priv;
	pthread_mutex_t lock;

	uint64_t features;		/* offered */
	uint64_t required;		/* FEATURES_OK only with these accepted */
	uint64_t driver_features;	/* accepted (valid after FEATURES_OK) */
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint8_t isr;
	uint8_t config_generation;
	uint16_t msix_config;
	uint16_t queue_select;
	unsigned nqueues;
	struct virtio_queue queue[VIRTIO_MAX_QUEUES];
	uint8_t *config;		/* device-specific config space */
	unsigned config_len;
	struct virtq_dma dma;		/* how queues reach memory */
	/* iommu=on: its endpoint on the virtio-iommu, which dma goes
	 * through when the driver accepts VIRTIO_F_ACCESS_PLATFORM */
	struct iommu_endpoint *iommu_ep;
	uint8_t pci_cfg_cap;		/* offset of the PCI_CFG capability */
	unsigned reports;		/* NEEDS_RESET messages printed */
#ifdef CONFIG_EVENT_MONITOR
	char event_id[32];		/* its "id" in --event-monitor's events */
#endif
};

struct virtio_dev_info {
	const char *name;
	uint16_t device_id;
	uint32_t pci_class;
	unsigned nqueues;
	uint16_t queue_size;		/* maximum per queue */
	uint64_t features;		/* device features (transport adds its own) */
	void *config;
	unsigned config_len;
	const struct virtio_ops *ops;
	void *priv;
	uint16_t pci_segment;
	uint8_t pci_slot;		/* pci_device_id=, or 0: pci_add picks */
	/* The queues are served by another process (vhost-user): each
	 * queue's kick eventfd is for it to read, not the event loop, and
	 * queue_notify is never called for it. */
	bool external_queues;
	/* With external_queues: the last local_queues queues are the
	 * device's own after all (vhost-user-net's control queue): their
	 * kicks reach queue_notify as usual. */
	unsigned local_queues;
	/* Behind the VM's IOMMU (iommu=on): the queues' addresses are I/O
	 * virtual addresses and VIRTIO_F_ACCESS_PLATFORM is required. */
	bool iommu;
	/* The user's id= for it, or NULL: the device's id in events is then
	 * cloud-hypervisor's for its kind ("_disk0", "__rng"). */
	const char *id;
};

/* Snapshots (core/snapshot.h): the transport's state -- the PCI
 * function, feature negotiation, status, every queue's addresses and
 * indices, and the device config space.  For a device whose state is
 * all there, `virtio_snapshot_ops` is its descriptor's ops and its
 * create() calls snapshot_instance(&its virtio_dev); others wrap these
 * two with what they keep besides (d->priv reaches their state).  A
 * device whose DRIVER_OK is restored is activated again, as when the
 * driver set it. */
struct snap_writer;
struct snap_reader;
struct snapshot_ops;
int virtio_snapshot_save(void *virtio_dev, struct snap_writer *w);
int virtio_snapshot_load(void *virtio_dev, struct snap_reader *r);
extern const struct snapshot_ops virtio_snapshot_ops;

/* Builds the PCI function and puts it on its segment.  0 or -1. */
int virtio_pci_create(struct vm *vm, struct virtio_dev *d,
		      const struct virtio_dev_info *info);

struct kv_list;
struct cli_error;

/* The iommu=on|off key of a device option, for devices that can sit
 * behind the IOMMU; refuses "on" when wisp has no IOMMU built in.  -1
 * with err filled in on bad input, else 0. */
int virtio_parse_iommu(struct kv_list *args, bool *iommu, struct cli_error *err);

/* pci_segment= and pci_device_id=, as cloud-hypervisor spells them:
 * with CONFIG_PCI_SEGMENTS the segment and slot (pci_parse_place,
 * core/pci.h; *slot 0 when not given).  Without it wisp has one PCI
 * segment and picks each function's slot itself, so pci_segment=0 is
 * taken and anything else is refused, naming what is not built when
 * CONFIG_CLI_UNBUILT_KEYS.  0, or -1 with err set. */
#if IS_ENABLED(CONFIG_PCI_SEGMENTS)
static inline int virtio_parse_pci(struct kv_list *args, uint64_t *segment, uint8_t *slot,
				   struct cli_error *err)
{
	return pci_parse_place(args, segment, slot, err);
}
#elif IS_ENABLED(CONFIG_CLI_UNBUILT_KEYS)
int virtio_parse_pci(struct kv_list *args, uint64_t *segment, uint8_t *slot,
		     struct cli_error *err);
#else
/* segment 0 only, anything else refused by the range; pci_device_id=
 * is an unknown key */
static inline int virtio_parse_pci(struct kv_list *args, uint64_t *segment, uint8_t *slot,
				   struct cli_error *err)
{
	(void)slot;
	return kv_u64(args, "pci_segment", 0, 0, segment, err) < 0 ? -1 : 0;
}
#endif

/* A device's parsed pci_segment= and pci_device_id= into its info:
 * nothing to copy without CONFIG_PCI_SEGMENTS (segment 0, any slot). */
static inline void virtio_pci_place(struct virtio_dev_info *info, uint64_t segment,
				    uint8_t slot)
{
	if (IS_ENABLED(CONFIG_PCI_SEGMENTS)) {
		info->pci_segment = (uint16_t)segment;
		info->pci_slot = slot;
	}
}

static inline bool virtio_has(const struct virtio_dev *d, unsigned feature)
{
	return d->driver_features & (1ULL << feature);
}

void virtio_lock(struct virtio_dev *d);
void virtio_unlock(struct virtio_dev *d);

/* After pushing used buffers on queue q (lock held): interrupts the
 * driver if it wants one. */
void virtio_queue_interrupt(struct virtio_dev *d, unsigned q);
/* Has the event loop call queue_notify() for queue q, as a kick from the
 * driver does: work a vCPU thread should not do itself (its filter does
 * not allow the device's I/O calls) is handed over this way. */
void virtio_kick(struct virtio_dev *d, unsigned q);
/* Device config changed (lock held). */
void virtio_config_changed(struct virtio_dev *d);
/* The guest broke a queue (lock held): NEEDS_RESET and tell it. */
void virtio_needs_reset(struct virtio_dev *d, const char *why);

#endif
