/* SPDX-License-Identifier: MIT */
/*
 * A minimal modern (virtio 1.x) PCI driver for the test guests, written
 * from the virtio 1.2 specification: "Virtio Over PCI Bus" (4.1) and
 * "Split Virtqueues" (2.7).
 *
 *	struct virtio_dev d;
 *	virtio_find(&d, VIRTIO_ID_RNG, 0x50);	// PCI, caps, MSI-X vectors 0x50..
 *	virtio_init(&d, VIRTIO_F(VIRTIO_F_VERSION_1));	// reset .. FEATURES_OK
 *	virtio_msix_setup(&d);			// every entry to this CPU, enabled
 *	virtio_msix_config(&d, 1);		// config changes: MSI-X entry 1
 *	vq_setup(&d, 0, 8, 0);			// queue 0, 8 entries, MSI-X entry 0
 *	virtio_driver_ok(&d);
 *	vq_add(&d.vq[0], bufs, nout, nin);
 *	vq_kick(&d, &d.vq[0]);
 *	vq_wait_used(&d, &d.vq[0], 1, 1000, true);
 *
 * MSI-X entry i of the device raises IDT vector (base + i) on this CPU;
 * virtio_irqs[i] counts them.  The rings live in a static pool here
 * (VIRTIO_MAX_VQ queues of at most VQ_MAX_SIZE entries); the guest's
 * memory is identity-mapped, so pointers are guest-physical addresses.
 *
 * The helpers named virtio_*() and vq_*() call fail() when the device
 * misbehaves in a way no test wants to survive (no capability, a
 * register that does not stick); the ones returning bool leave the
 * verdict to the caller.  Included by lib.c, like pci.c.
 */
#ifndef WISP_GUEST_VIRTIO_H
#define WISP_GUEST_VIRTIO_H

#include "pci.h"
#include "virtio/virtio_spec.h"	/* feature and status bits, device IDs, rings */

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_MODERN 0x1040	/* + virtio device id */

#define VIRTIO_F(bit) (1ull << (bit))

/* struct virtio_pci_cap ("Virtio Structure PCI Capabilities") */
#define VIRTIO_PCI_CAP_LEN 2
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_ID 5
#define VIRTIO_PCI_CAP_OFFSET 8
#define VIRTIO_PCI_CAP_LENGTH 12
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 16	/* virtio_pci_notify_cap only */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5
#define VIRTIO_PCI_CAP_SHARED_MEMORY_CFG 8
#define VIRTIO_PCI_CAP_VENDOR_CFG 9

/* struct virtio_pci_common_cfg ("Common configuration structure layout") */
#define VIRTIO_CC_DFSELECT 0x00		/* le32 device_feature_select */
#define VIRTIO_CC_DF 0x04		/* le32 device_feature, RO */
#define VIRTIO_CC_GFSELECT 0x08		/* le32 driver_feature_select */
#define VIRTIO_CC_GF 0x0c		/* le32 driver_feature */
#define VIRTIO_CC_MSIX 0x10		/* le16 config_msix_vector */
#define VIRTIO_CC_NUMQ 0x12		/* le16 num_queues, RO */
#define VIRTIO_CC_STATUS 0x14		/* u8 device_status */
#define VIRTIO_CC_CFGGEN 0x15		/* u8 config_generation, RO */
#define VIRTIO_CC_Q_SELECT 0x16		/* le16 */
#define VIRTIO_CC_Q_SIZE 0x18		/* le16 */
#define VIRTIO_CC_Q_MSIX 0x1a		/* le16 */
#define VIRTIO_CC_Q_ENABLE 0x1c		/* le16 */
#define VIRTIO_CC_Q_NOFF 0x1e		/* le16 queue_notify_off, RO */
#define VIRTIO_CC_Q_DESC 0x20		/* le64 */
#define VIRTIO_CC_Q_DRIVER 0x28		/* le64 */
#define VIRTIO_CC_Q_DEVICE 0x30		/* le64 */
#define VIRTIO_CC_SIZE 0x38		/* the 1.0 structure */
#define VIRTIO_NO_VECTOR 0xffff

#define VIRTIO_MAX_VQ 2
#define VQ_MAX_SIZE 16
#define VIRTIO_MAX_VECTORS 8

struct vq {
	uint16_t index, size;
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile uint16_t *used_event;	/* &avail->ring[size] */
	volatile uint16_t *avail_event;	/* &used->ring[size] */
	uintptr_t notify;		/* its notification address */
	uint16_t msix;			/* MSI-X entry, or VIRTIO_NO_VECTOR */
	uint16_t avail_idx;		/* next avail->idx we publish */
	uint16_t kicked_idx;		/* avail_idx at the last kick */
	uint16_t last_used;		/* used entries consumed */
	uint16_t free_head, num_free;	/* free descriptors, chained by next */
	uint8_t chain_len[VQ_MAX_SIZE];	/* per head, for freeing */
};

struct virtio_dev {
	uint16_t bdf;
	uint16_t id;			/* virtio device id */
	uint64_t bar[6];		/* BAR addresses (memory BARs below 4 GiB) */
	uint32_t bar_size[6];
	uintptr_t common, isr, device, notify;
	uint32_t common_len, isr_len, device_len, notify_len;
	uint32_t notify_mult;
	struct pci_msix msix;
	uint8_t vector_base;		/* IDT vector of MSI-X entry 0 */
	uint64_t features;		/* negotiated */
	struct vq vq[VIRTIO_MAX_VQ];
	uint8_t *vq_mem[VIRTIO_MAX_VQ];	/* each queue's ring memory */
};

struct vq_buf {
	void *addr;
	uint32_t len;
};

/* MSI-X interrupts per device entry, counted by the library's handler. */
extern volatile uint32_t virtio_irqs[VIRTIO_MAX_VECTORS];

/* Finds the PCI function of virtio device `id`, turns on memory decoding
 * and bus mastering, reads the virtio capabilities (common, notify and
 * ISR must be there) and MSI-X, and installs interrupt handlers for IDT
 * vectors vector_base .. + MSI-X entries.  Fails the test if absent. */
void virtio_find(struct virtio_dev *d, uint16_t id, uint8_t vector_base);
/* The same for the nth (from 0) function of virtio device `id` on bus 0,
 * in slot/function order: false if there are not that many.  The
 * interrupt counters are shared: drive one device at a time (all use
 * vector_base), or reset one before bringing up the next. */
bool virtio_find_nth(struct virtio_dev *d, uint16_t id, unsigned nth, uint8_t vector_base);
/* Re-reads the BARs and capabilities (after the guest moved a BAR). */
void virtio_probe(struct virtio_dev *d);

/* Common configuration registers, at their natural widths. */
uint8_t virtio_cc_read8(const struct virtio_dev *d, unsigned off);
/* A 64-bit device-config field as two 32-bit reads, retried while
 * config_generation moves (4.1.4.3.1, 2.5.1); fails the test if it
 * never settles. */
uint64_t virtio_cfg64(const struct virtio_dev *d, unsigned off);
uint16_t virtio_cc_read16(const struct virtio_dev *d, unsigned off);
uint32_t virtio_cc_read32(const struct virtio_dev *d, unsigned off);
void virtio_cc_write8(const struct virtio_dev *d, unsigned off, uint8_t v);
void virtio_cc_write16(const struct virtio_dev *d, unsigned off, uint16_t v);
void virtio_cc_write32(const struct virtio_dev *d, unsigned off, uint32_t v);

uint8_t virtio_status(const struct virtio_dev *d);
void virtio_set_status(const struct virtio_dev *d, uint8_t s);
/* Writes 0 and waits (bounded) for device_status to read 0. */
bool virtio_reset(struct virtio_dev *d);
uint64_t virtio_device_features(const struct virtio_dev *d);
void virtio_set_driver_features(const struct virtio_dev *d, uint64_t f);
/* Reset, ACKNOWLEDGE, DRIVER, accept `want` (VERSION_1 must be offered;
 * the other wanted bits only if offered), FEATURES_OK and check it
 * stuck.  Fails the test otherwise.  d->features: what was accepted. */
void virtio_init(struct virtio_dev *d, uint64_t want);
/* MSI-X on: every entry programmed for this CPU and unmasked; then
 * config_msix_vector = entry (or VIRTIO_NO_VECTOR), checked. */
void virtio_msix_setup(struct virtio_dev *d);
void virtio_msix_config(struct virtio_dev *d, uint16_t entry);
/* Queue q: `size` entries (<= device max and VQ_MAX_SIZE), MSI-X entry
 * (or VIRTIO_NO_VECTOR), rings zeroed, addresses written, enabled. */
void vq_setup(struct virtio_dev *d, uint16_t q, uint16_t size, uint16_t msix);
/* The same with the rings in `mem` (VQ_MEM_BYTES, 4 KiB-aligned), for a
 * second device whose queue numbers clash with the first's. */
#define VQ_MEM_BYTES 512
void vq_setup_mem(struct virtio_dev *d, uint16_t q, uint16_t size, uint16_t msix, void *mem);
void virtio_driver_ok(struct virtio_dev *d);

/* Posts a chain: nout device-readable then nin device-writable buffers.
 * Returns the head, or -1 if there are not enough free descriptors. */
int vq_add(struct vq *vq, const struct vq_buf *bufs, unsigned nout, unsigned nin);
/* Makes head `head` available (no descriptor bookkeeping): for hostile
 * drivers writing their own descriptors. */
void vq_publish(struct vq *vq, uint16_t head);
/* Notifies the device if it wants it (used->flags / avail_event);
 * vq_notify() always does.  Both write the queue index, 16 bits. */
void vq_kick(const struct virtio_dev *d, struct vq *vq);
void vq_notify(const struct virtio_dev *d, const struct vq *vq);
/* Used entries not consumed yet. */
uint16_t vq_used_pending(const struct vq *vq);
/* Consumes one used entry (frees its chain): false if there is none.
 * used_event is the caller's (with EVENT_IDX it stays where it was put). */
bool vq_get_used(struct vq *vq, uint32_t *id, uint32_t *len);
/* Waits until `n` used entries are pending: by interrupts of the queue's
 * MSI-X entry (sti;hlt; also until at least one interrupt came, which
 * may have been pending before the call) or by polling (interrupts stay
 * off); false on timeout. */
bool vq_wait_used(const struct virtio_dev *d, const struct vq *vq, uint16_t n,
		  uint32_t ms, bool by_irq);

/* The split ring's event index test (notification suppression):
 * whether moving the index from old to new_idx crosses event. */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* A full barrier: stores before it are visible before loads after it. */
static inline void virtio_mb(void)
{
	__asm__ volatile("lock; orl $0, (%%rsp)" : : : "memory", "cc");
}

#endif
