/* SPDX-License-Identifier: MIT */
/*
 * A minimal modern virtio-pci driver with split virtqueues for the test
 * guests (see virtio.h).  Included by lib.c.
 */
#include "virtio.h"

/* The rings of each queue: descriptors at 0, the available ring right
 * after them, the used ring at the next 4-byte boundary.  16 entries
 * take 256 + 38 + 2 + 134 bytes. */
/* ring memory, handed out per (device, queue) on first use, so that a
 * guest may drive two devices at once */
#define VQ_MEM_BLOCKS (2 * VIRTIO_MAX_VQ)
static uint8_t vq_mem[VQ_MEM_BLOCKS][VQ_MEM_BYTES] __attribute__((aligned(4096)));
static unsigned vq_mem_taken;

volatile uint32_t virtio_irqs[VIRTIO_MAX_VECTORS];
static uint8_t virtio_irq_base;

static void virtio_isr(struct irq_frame *f)
{
	unsigned entry = (uint8_t)f->vector - virtio_irq_base;

	if (entry < VIRTIO_MAX_VECTORS)
		virtio_irqs[entry]++;
}

/* ---------------------------------------------------------- discovery */
void virtio_probe(struct virtio_dev *d)
{
	uint8_t p = 0;

	for (unsigned n = 0; n < 6; n++) {
		uint32_t lo = pci_read32(d->bdf, PCI_BAR0 + 4 * n);

		d->bar[n] = pci_bar_addr(d->bdf, n);
		if (!(lo & PCI_BAR_IO) && (lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM64 && n < 5)
			d->bar[++n] = 0;
	}
	d->common = d->isr = d->device = d->notify = 0;
	d->common_len = d->isr_len = d->device_len = d->notify_len = 0;
	d->notify_mult = 0;
	while ((p = pci_find_cap(d->bdf, PCI_CAP_ID_VNDR, p))) {
		uint8_t len = pci_read8(d->bdf, p + VIRTIO_PCI_CAP_LEN);
		uint8_t type = pci_read8(d->bdf, p + VIRTIO_PCI_CAP_CFG_TYPE);
		uint8_t bar = pci_read8(d->bdf, p + VIRTIO_PCI_CAP_BAR);
		uint32_t off = pci_read32(d->bdf, p + VIRTIO_PCI_CAP_OFFSET);
		uint32_t length = pci_read32(d->bdf, p + VIRTIO_PCI_CAP_LENGTH);
		uintptr_t *addr;
		uint32_t *alen;

		/* the driver ignores capabilities it does not understand */
		if (len < 16 || bar > 5)
			continue;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG: addr = &d->common; alen = &d->common_len; break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG: addr = &d->notify; alen = &d->notify_len; break;
		case VIRTIO_PCI_CAP_ISR_CFG: addr = &d->isr; alen = &d->isr_len; break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: addr = &d->device; alen = &d->device_len; break;
		default: continue;
		}
		if (*addr)
			continue; /* the first of each type is the preferred one */
		CHECK(d->bar[bar] && d->bar[bar] + off + length <= 0x100000000ull,
		      "virtio cap type %u at 0x%x: BAR %u at 0x%lx offset 0x%x is not below 4 GiB",
		      type, p, bar, d->bar[bar], off);
		*addr = (uintptr_t)d->bar[bar] + off;
		*alen = length;
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			CHECK(len >= 20, "virtio notify cap at 0x%x is %u bytes, want 20", p, len);
			d->notify_mult = pci_read32(d->bdf, p + VIRTIO_PCI_NOTIFY_MULTIPLIER);
		}
	}
	CHECK(d->common && d->notify && d->isr,
	      "virtio %04x at bdf 0x%x lacks a capability: common 0x%lx notify 0x%lx isr 0x%lx",
	      d->id, d->bdf, d->common, d->notify, d->isr);
	CHECK(d->common_len >= VIRTIO_CC_SIZE, "common cfg length 0x%x < 0x38", d->common_len);
	CHECK(pci_msix_probe(d->bdf, &d->msix), "virtio %04x: no usable MSI-X capability", d->id);
}

void virtio_find(struct virtio_dev *d, uint16_t id, uint8_t vector_base)
{
	int bdf;

	memset(d, 0, sizeof(*d));
	d->id = id;
	CHECK(pci_ecam || pci_init(), "no MCFG table: no ECAM");
	bdf = pci_find_device(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_MODERN + id);
	CHECK(bdf >= 0, "no virtio device %u (PCI 1af4:%04x) on bus 0", id,
	      VIRTIO_PCI_DEVICE_MODERN + id);
	d->bdf = (uint16_t)bdf;
	pci_enable(d->bdf, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	virtio_probe(d);
	d->vector_base = virtio_irq_base = vector_base;
	for (unsigned i = 0; i < d->msix.nvec && i < VIRTIO_MAX_VECTORS; i++)
		irq_set_handler((uint8_t)(vector_base + i), virtio_isr);
	lapic_enable();
}

/* ------------------------------------------------------------ registers */
uint8_t virtio_cc_read8(const struct virtio_dev *d, unsigned off)
{
	return *(volatile uint8_t *)(d->common + off);
}
uint16_t virtio_cc_read16(const struct virtio_dev *d, unsigned off)
{
	return *(volatile uint16_t *)(d->common + off);
}
uint32_t virtio_cc_read32(const struct virtio_dev *d, unsigned off)
{
	return *(volatile uint32_t *)(d->common + off);
}
uint64_t virtio_cfg64(const struct virtio_dev *d, unsigned off)
{
	for (int i = 0; i < 10; i++) {
		uint8_t gen = virtio_cc_read8(d, VIRTIO_CC_CFGGEN);
		uint64_t v = *(volatile uint32_t *)(d->device + off) |
			     (uint64_t)*(volatile uint32_t *)(d->device + off + 4) << 32;

		if (virtio_cc_read8(d, VIRTIO_CC_CFGGEN) == gen)
			return v;
	}
	fail("config_generation never settles");
}

void virtio_cc_write8(const struct virtio_dev *d, unsigned off, uint8_t v)
{
	*(volatile uint8_t *)(d->common + off) = v;
}
void virtio_cc_write16(const struct virtio_dev *d, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(d->common + off) = v;
}
void virtio_cc_write32(const struct virtio_dev *d, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(d->common + off) = v;
}

uint8_t virtio_status(const struct virtio_dev *d)
{
	return virtio_cc_read8(d, VIRTIO_CC_STATUS);
}

void virtio_set_status(const struct virtio_dev *d, uint8_t s)
{
	virtio_cc_write8(d, VIRTIO_CC_STATUS, s);
}

bool virtio_reset(struct virtio_dev *d)
{
	virtio_set_status(d, 0);
	d->features = 0;
	memset(d->vq, 0, sizeof(d->vq));
	/* the driver waits for device_status to read 0 after a reset */
	for (int i = 0; i < 1000; i++)
		if (virtio_status(d) == 0)
			return true;
	return false;
}

uint64_t virtio_device_features(const struct virtio_dev *d)
{
	uint64_t f;

	virtio_cc_write32(d, VIRTIO_CC_DFSELECT, 0);
	f = virtio_cc_read32(d, VIRTIO_CC_DF);
	virtio_cc_write32(d, VIRTIO_CC_DFSELECT, 1);
	return f | (uint64_t)virtio_cc_read32(d, VIRTIO_CC_DF) << 32;
}

void virtio_set_driver_features(const struct virtio_dev *d, uint64_t f)
{
	virtio_cc_write32(d, VIRTIO_CC_GFSELECT, 0);
	virtio_cc_write32(d, VIRTIO_CC_GF, (uint32_t)f);
	virtio_cc_write32(d, VIRTIO_CC_GFSELECT, 1);
	virtio_cc_write32(d, VIRTIO_CC_GF, (uint32_t)(f >> 32));
}

void virtio_init(struct virtio_dev *d, uint64_t want)
{
	uint64_t offered, accept;
	uint8_t s;

	CHECK(virtio_reset(d), "device_status reads 0x%x after a reset", virtio_status(d));
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	offered = virtio_device_features(d);
	CHECK(offered & VIRTIO_F(VIRTIO_F_VERSION_1),
	      "device features 0x%lx lack VIRTIO_F_VERSION_1", offered);
	accept = (offered & want) | VIRTIO_F(VIRTIO_F_VERSION_1);
	virtio_set_driver_features(d, accept);
	virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				     VIRTIO_STATUS_FEATURES_OK);
	s = virtio_status(d);
	CHECK(s & VIRTIO_STATUS_FEATURES_OK,
	      "FEATURES_OK did not stick for features 0x%lx (offered 0x%lx): status 0x%x",
	      accept, offered, s);
	d->features = accept;
}

void virtio_msix_setup(struct virtio_dev *d)
{
	pci_msix_control(&d->msix, true, true);
	for (unsigned i = 0; i < d->msix.nvec && i < VIRTIO_MAX_VECTORS; i++)
		pci_msix_set(&d->msix, i, (uint8_t)(d->vector_base + i), false);
	pci_msix_control(&d->msix, true, false);
}

void virtio_msix_config(struct virtio_dev *d, uint16_t entry)
{
	uint16_t got;

	virtio_cc_write16(d, VIRTIO_CC_MSIX, entry);
	got = virtio_cc_read16(d, VIRTIO_CC_MSIX);
	CHECK(got == entry, "config_msix_vector reads 0x%x after writing 0x%x", got, entry);
}

/* ------------------------------------------------------------- queues */
static void vq_write64(const struct virtio_dev *d, unsigned off, uintptr_t a)
{
	virtio_cc_write32(d, off, (uint32_t)a);
	virtio_cc_write32(d, off + 4, (uint32_t)((uint64_t)a >> 32));
}

void vq_setup(struct virtio_dev *d, uint16_t q, uint16_t size, uint16_t msix)
{
	CHECK(q < VIRTIO_MAX_VQ, "queue %u: the library handles %u", q, VIRTIO_MAX_VQ);
	if (!d->vq_mem[q]) {
		CHECK(vq_mem_taken < VQ_MEM_BLOCKS, "more than %u queues set up", VQ_MEM_BLOCKS);
		d->vq_mem[q] = vq_mem[vq_mem_taken++];
	}
	vq_setup_mem(d, q, size, msix, d->vq_mem[q]);
}

void vq_setup_mem(struct virtio_dev *d, uint16_t q, uint16_t size, uint16_t msix, void *ring_mem)
{
	struct vq *vq = &d->vq[q];
	uint8_t *mem = ring_mem;
	uint16_t max, got, noff;
	uintptr_t used;

	CHECK(q < VIRTIO_MAX_VQ, "queue %u: the library handles %u", q, VIRTIO_MAX_VQ);
	virtio_cc_write16(d, VIRTIO_CC_Q_SELECT, q);
	max = virtio_cc_read16(d, VIRTIO_CC_Q_SIZE);
	CHECK(max, "queue %u: queue_size reads 0 (no such queue)", q);
	CHECK(size && size <= max && size <= VQ_MAX_SIZE && !(size & (size - 1)),
	      "queue %u: size %u (device max %u, library max %u)", q, size, max, VQ_MAX_SIZE);
	virtio_cc_write16(d, VIRTIO_CC_Q_SIZE, size);
	got = virtio_cc_read16(d, VIRTIO_CC_Q_SIZE);
	CHECK(got == size, "queue %u: queue_size reads %u after writing %u", q, got, size);

	for (unsigned i = 0; i < VQ_MEM_BYTES / 8; i++)
		((volatile uint64_t *)mem)[i] = 0;
	memset(vq, 0, sizeof(*vq));
	vq->index = q;
	vq->size = size;
	vq->desc = (volatile struct virtq_desc *)mem;
	vq->avail = (volatile struct virtq_avail *)(mem + 16 * size);
	used = ((uintptr_t)&vq->avail->ring[size + 1] + 3) & ~(uintptr_t)3;
	vq->used = (volatile struct virtq_used *)used;
	vq->used_event = &vq->avail->ring[size];
	vq->avail_event = (volatile uint16_t *)&vq->used->ring[size];
	for (uint16_t i = 0; i < size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->num_free = size;
	vq->msix = msix;

	virtio_cc_write16(d, VIRTIO_CC_Q_MSIX, msix);
	got = virtio_cc_read16(d, VIRTIO_CC_Q_MSIX);
	CHECK(got == msix, "queue %u: queue_msix_vector reads 0x%x after writing 0x%x", q, got,
	      msix);
	vq_write64(d, VIRTIO_CC_Q_DESC, (uintptr_t)vq->desc);
	vq_write64(d, VIRTIO_CC_Q_DRIVER, (uintptr_t)vq->avail);
	vq_write64(d, VIRTIO_CC_Q_DEVICE, (uintptr_t)vq->used);
	noff = virtio_cc_read16(d, VIRTIO_CC_Q_NOFF);
	/* the notify cap covers queue_notify_off * multiplier + 2 bytes */
	CHECK((uint64_t)noff * d->notify_mult + 2 <= d->notify_len,
	      "queue %u: notify offset %u * %u is outside the notify cap (0x%x bytes)", q, noff,
	      d->notify_mult, d->notify_len);
	vq->notify = d->notify + (uintptr_t)noff * d->notify_mult;
	virtio_cc_write16(d, VIRTIO_CC_Q_ENABLE, 1);
	got = virtio_cc_read16(d, VIRTIO_CC_Q_ENABLE);
	CHECK(got == 1, "queue %u: queue_enable reads %u after writing 1 (status 0x%x)", q, got,
	      virtio_status(d));
}

void virtio_driver_ok(struct virtio_dev *d)
{
	uint8_t s = virtio_status(d);

	virtio_set_status(d, s | VIRTIO_STATUS_DRIVER_OK);
	s = virtio_status(d);
	CHECK((s & VIRTIO_STATUS_DRIVER_OK) && !(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)),
	      "device_status 0x%x after DRIVER_OK", s);
}

int vq_add(struct vq *vq, const struct vq_buf *bufs, unsigned nout, unsigned nin)
{
	unsigned n = nout + nin;
	uint16_t head = vq->free_head, i = head;

	if (!n || n > vq->num_free)
		return -1;
	for (unsigned k = 0; k < n; k++) {
		volatile struct virtq_desc *e = &vq->desc[i];

		e->addr = (uintptr_t)bufs[k].addr;
		e->len = bufs[k].len;
		/* e->next already links the free list: keep it in the chain */
		e->flags = (uint16_t)((k >= nout ? VIRTQ_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		if (k + 1 < n)
			i = e->next;
	}
	vq->free_head = vq->desc[i].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[head] = (uint8_t)n;
	vq_publish(vq, head);
	return head;
}

void vq_publish(struct vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	/* the entry before the index (x86 keeps stores in order) */
	__asm__ volatile("" : : : "memory");
	vq->avail->idx = ++vq->avail_idx;
}

void vq_notify(const struct virtio_dev *d, const struct vq *vq)
{
	(void)d;
	*(volatile uint16_t *)vq->notify = vq->index;
}

void vq_kick(const struct virtio_dev *d, struct vq *vq)
{
	uint16_t old = vq->kicked_idx, now = vq->avail_idx;
	bool need;

	/* the idx store before the suppression loads ("Notifying the Device") */
	virtio_mb();
	if (d->features & VIRTIO_F(VIRTIO_F_EVENT_IDX))
		need = vring_need_event(*vq->avail_event, now, old);
	else
		need = !(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	vq->kicked_idx = now;
	if (need)
		vq_notify(d, vq);
}

uint16_t vq_used_pending(const struct vq *vq)
{
	return (uint16_t)(vq->used->idx - vq->last_used);
}

bool vq_get_used(struct vq *vq, uint32_t *id, uint32_t *len)
{
	volatile struct virtq_used_elem *e;
	uint16_t i, n;

	if (!vq_used_pending(vq))
		return false;
	e = &vq->used->ring[vq->last_used & (vq->size - 1)];
	*id = e->id;
	*len = e->len;
	vq->last_used++;
	CHECK(*id < vq->size && vq->chain_len[*id],
	      "queue %u: used id %u is not an outstanding head", vq->index, *id);
	/* back to the free list */
	n = vq->chain_len[*id];
	vq->chain_len[*id] = 0;
	vq->num_free = (uint16_t)(vq->num_free + n);
	for (i = (uint16_t)*id; --n; i = vq->desc[i].next)
		;
	vq->desc[i].next = vq->free_head;
	vq->free_head = (uint16_t)*id;
	return true;
}

bool vq_wait_used(const struct virtio_dev *d, const struct vq *vq, uint16_t n,
		  uint32_t ms, bool by_irq)
{
	(void)d;
	if (by_irq) {
		volatile uint32_t *cnt;
		uint32_t c0;

		if (vq->msix >= VIRTIO_MAX_VECTORS)
			return false;
		cnt = &virtio_irqs[vq->msix];
		c0 = *cnt;
		/* IF=0 outside wait_count(): an interrupt that came before is
		 * pending in the LAPIC and counted at the first sti there, and
		 * none is lost between reading the count and sleeping */
		for (int i = 0; i < 64 && (vq_used_pending(vq) < n || *cnt == c0); i++)
			if (!wait_count(cnt, *cnt + 1, ms))
				break;
		return vq_used_pending(vq) >= n && *cnt != c0;
	}
	deadline_start(ms);
	while (vq_used_pending(vq) < n && !deadline_passed())
		pause();
	return vq_used_pending(vq) >= n;
}

/* ------------------------------------------------ several devices */
bool virtio_find_nth(struct virtio_dev *d, uint16_t id, unsigned nth, uint8_t vector_base)
{
	uint32_t want = (uint32_t)(VIRTIO_PCI_DEVICE_MODERN + id) << 16 | VIRTIO_PCI_VENDOR;
	unsigned seen = 0;

	CHECK(pci_ecam || pci_init(), "no MCFG table: no ECAM");
	for (unsigned slot = 0; slot < 32; slot++) {
		unsigned nfn = 1;

		for (unsigned fn = 0; fn < nfn; fn++) {
			uint16_t bdf = PCI_BDF(0, slot, fn);
			uint32_t ids = pci_read32(bdf, PCI_VENDOR_ID);

			if ((ids & 0xffff) == 0xffff)
				continue;
			if (fn == 0 && (pci_read8(bdf, PCI_HEADER_TYPE) & PCI_HEADER_MULTI))
				nfn = 8;
			if (ids != want || seen++ != nth)
				continue;
			memset(d, 0, sizeof(*d));
			d->id = id;
			d->bdf = bdf;
			pci_enable(bdf, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
			virtio_probe(d);
			d->vector_base = virtio_irq_base = vector_base;
			for (unsigned i = 0; i < d->msix.nvec && i < VIRTIO_MAX_VECTORS; i++)
				irq_set_handler((uint8_t)(vector_base + i), virtio_isr);
			lapic_enable();
			return true;
		}
	}
	return false;
}
