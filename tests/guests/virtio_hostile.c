/* SPDX-License-Identifier: MIT */
/*
 * A hostile driver against virtio-rng.  wisp must stay up throughout
 * (this guest reaching its RESULT line and powering off is the proof),
 * and the device must recover after a reset.
 *
 *   1. Malformed request queues, each after a good request on a fresh
 *      set-up: a descriptor outside RAM (past the end of RAM, straddling
 *      it, at the LAPIC, wrapping 2^64), a descriptor loop, a head >=
 *      queue size, an avail idx far ahead, a next >= queue size, a
 *      device-readable descriptor after a writable one, INDIRECT not
 *      negotiated.  Each time: a configuration-change interrupt (virtio
 *      1.2 "Device Status Field": MUST, since DRIVER_OK is set), NEEDS_RESET (0x40) in
 *      device_status, nothing in the used ring, further kicks ignored;
 *      then reset (status reads 0) and a good request works again.
 *   2. A device-writable buffer over the queue's own rings (any outcome;
 *      then reset and a good request); rings outside RAM at
 *      queue_enable: the queue does not come up (queue_enable 0 or
 *      NEEDS_RESET); reset, good request.
 *   3. Junk in the MSI-X table (every width, unaligned, the PBA, past
 *      the PBA), a queue interrupt through a junk message (to an APIC
 *      id nobody has), then the table restored and interrupts work.
 *   4. Junk writes to configuration space (0x40-0xfff, unused BARs, the
 *      ROM BAR, odd widths through 0xcf8) and to BAR 0 (common config
 *      gaps and wrong widths, ISR, device config, notify past the
 *      queues, the unused tail), queue registers of an absent and of an
 *      enabled queue: read-only registers and the capability chain
 *      unchanged; reset, good request.
 *   5. BAR 0 moved with decoding on: onto the ECAM (refused: ECAM still
 *      works), onto guest RAM, sized with decoding on, and finally to a
 *      free spot in the 32-bit window, where the device works (kicks and
 *      MSI-X at the new place) and the old place is empty.
 */
#include "virtio.h"

#define VECTOR_BASE 0x60
#define QSIZE 8
#define TIMEOUT_MS 2000
#define REQ 64
#define CFG_ENTRY 1

static struct virtio_dev dev;
static uint8_t buf[REQ] __attribute__((aligned(64)));
static uint64_t ram_end;	/* of all RAM */
static uint64_t low_ram_end;	/* of the RAM below 4 GiB */
extern const char _end[];	/* the linker script: the end of this guest */

static struct vq *vq0(void) { return &dev.vq[0]; }

static void bring_up(void)
{
	virtio_init(&dev, VIRTIO_F(VIRTIO_F_VERSION_1));
	virtio_msix_setup(&dev);
	virtio_msix_config(&dev, CFG_ENTRY);
	vq_setup(&dev, 0, QSIZE, 0);
	virtio_driver_ok(&dev);
}

static void good_request(const char *after)
{
	struct vq_buf b = { buf, REQ };
	uint32_t id, len;
	int head;

	memset(buf, 0, REQ);
	head = vq_add(vq0(), &b, 0, 1);
	CHECK(head >= 0, "after %s: no free descriptor", after);
	vq_kick(&dev, vq0());
	CHECK(vq_wait_used(&dev, vq0(), 1, TIMEOUT_MS, true),
	      "after %s: a good request did not complete by interrupt (status 0x%x, used %u)",
	      after, virtio_status(&dev), vq_used_pending(vq0()));
	CHECK(vq_get_used(vq0(), &id, &len) && id == (uint32_t)head && len == REQ,
	      "after %s: used id %u len %u, want %d and %u", after, id, len, head, REQ);
	CHECK(((uint64_t *)buf)[0] | ((uint64_t *)buf)[1] | ((uint64_t *)buf)[7],
	      "after %s: zero bytes returned", after);
}

static void reset_device(const char *after)
{
	CHECK(virtio_reset(&dev), "after %s: device_status reads 0x%x after writing 0", after,
	      virtio_status(&dev));
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct virtq_desc *d = &vq0()->desc[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* ----------------------------------------------- malformed queues */
enum bad {
	BAD_PAST_RAM, BAD_STRADDLE_RAM, BAD_LAPIC, BAD_WRAP, BAD_LOOP, BAD_HEAD,
	BAD_AVAIL_AHEAD, BAD_NEXT, BAD_ORDER, BAD_INDIRECT, NBAD
};

static const char *const bad_name[NBAD] = {
	"descriptor past the end of RAM", "descriptor straddling the end of RAM",
	"descriptor at the LAPIC", "descriptor wrapping 2^64", "descriptor loop",
	"head >= queue size", "avail idx far ahead", "next >= queue size",
	"readable after writable", "INDIRECT not negotiated",
};

/* Writes the malformed chain at descriptor 2 onwards (0 and 1 may still
 * be on their way back from the good request) and publishes it. */
static void post_bad(enum bad b)
{
	const uint16_t W = VIRTQ_DESC_F_WRITE, N = VIRTQ_DESC_F_NEXT;
	uintptr_t ok = (uintptr_t)buf;
	struct vq *vq = vq0();

	switch (b) {
	case BAD_PAST_RAM: set_desc(2, ram_end, REQ, W, 0); break;
	case BAD_STRADDLE_RAM: set_desc(2, ram_end - REQ / 2, REQ, W, 0); break;
	case BAD_LAPIC: set_desc(2, LAPIC_BASE, REQ, W, 0); break;
	case BAD_WRAP: set_desc(2, 0xffffffffffffffc0ull, 0x80, W, 0); break;
	case BAD_LOOP:
		set_desc(2, ok, 16, W | N, 3);
		set_desc(3, ok + 16, 16, W | N, 2);
		break;
	case BAD_HEAD: vq_publish(vq, QSIZE); return;
	case BAD_AVAIL_AHEAD:
		set_desc(2, ok, REQ, W, 0);
		vq->avail->ring[vq->avail_idx & (QSIZE - 1)] = 2;
		vq->avail_idx = (uint16_t)(vq->avail_idx + 0x100);
		vq->avail->idx = vq->avail_idx;
		return;
	case BAD_NEXT: set_desc(2, ok, 32, W | N, QSIZE + 3); break;
	case BAD_ORDER:
		set_desc(2, ok, 32, W | N, 3);
		set_desc(3, ok + 32, 32, 0, 0);
		break;
	case BAD_INDIRECT: set_desc(2, ok, 16, VIRTQ_DESC_F_INDIRECT, 0); break;
	default: break;
	}
	vq_publish(vq, 2);
}

static void malformed(enum bad b)
{
	const char *name = bad_name[b];
	uint32_t cfg = virtio_irqs[CFG_ENTRY];
	uint16_t used;
	uint8_t s;

	bring_up();
	good_request("set-up");
	used = vq0()->used->idx;
	post_bad(b);
	vq_notify(&dev, vq0());
	CHECK(wait_count(&virtio_irqs[CFG_ENTRY], cfg + 1, TIMEOUT_MS),
	      "%s: no configuration change interrupt in %u ms (status 0x%x)", name, TIMEOUT_MS,
	      virtio_status(&dev));
	s = virtio_status(&dev);
	CHECK(s & VIRTIO_STATUS_NEEDS_RESET, "%s: status 0x%x lacks NEEDS_RESET", name, s);
	CHECK(vq0()->used->idx == used, "%s: the device used %u more entries", name,
	      (uint16_t)(vq0()->used->idx - used));
	/* kicking a broken queue does nothing */
	vq_publish(vq0(), 0);
	vq_notify(&dev, vq0());
	msleep(2);
	CHECK(vq0()->used->idx == used && (virtio_status(&dev) & VIRTIO_STATUS_NEEDS_RESET),
	      "%s: a kick after NEEDS_RESET moved the used ring or cleared the bit", name);
	printf("virtio_hostile: %s: NEEDS_RESET, status 0x%x\n", name, s);
	reset_device(name);
}

/* A device-writable buffer over the queue's own descriptor table and
 * available ring: the device overwrites what it reads.  Whatever the
 * outcome (completed, or NEEDS_RESET), wisp stays up and a reset
 * brings the device back. */
static void self_overwrite(void)
{
	struct vq *vq = vq0();
	uintptr_t rings = (uintptr_t)vq->desc;
	uint32_t len = (uint32_t)((uintptr_t)vq->used - rings);
	uint16_t used;
	uint8_t s;

	bring_up();
	good_request("set-up");
	used = vq->used->idx;
	set_desc(2, rings, len, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(vq, 2);
	vq_notify(&dev, vq);
	deadline_start(TIMEOUT_MS);
	while (vq->used->idx == used && !(virtio_status(&dev) & VIRTIO_STATUS_NEEDS_RESET) &&
	       !deadline_passed())
		pause();
	s = virtio_status(&dev);
	printf("virtio_hostile: buffer over its own rings: used +%u, status 0x%x\n",
	       (uint16_t)(vq->used->idx - used), s);
	reset_device("buffer over its own rings");
	bring_up();
	good_request("buffer over its own rings");
	reset_device("buffer over its own rings");
}

/* Rings outside RAM when the queue is enabled. */
static void bad_rings(void)
{
	uint16_t en;
	uint8_t s;

	virtio_init(&dev, VIRTIO_F(VIRTIO_F_VERSION_1));
	virtio_msix_setup(&dev);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 0);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SIZE, QSIZE);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DESC, (uint32_t)ram_end);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DESC + 4, (uint32_t)(ram_end >> 32));
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DRIVER, (uint32_t)(uintptr_t)buf);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DRIVER + 4, 0);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DEVICE, 0xfee00000u);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DEVICE + 4, 0);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_ENABLE, 1);
	en = virtio_cc_read16(&dev, VIRTIO_CC_Q_ENABLE);
	s = virtio_status(&dev);
	CHECK(en == 0 || (s & VIRTIO_STATUS_NEEDS_RESET),
	      "rings outside RAM: queue_enable %u, status 0x%x", en, s);
	printf("virtio_hostile: rings outside RAM: queue_enable %u, status 0x%x\n", en, s);
	/* DRIVER_OK on top must not bring a broken queue to life */
	virtio_set_status(&dev, s | VIRTIO_STATUS_DRIVER_OK);
	vq_notify(&dev, &(struct vq){ .index = 0, .notify = dev.notify });
	msleep(2);
	reset_device("rings outside RAM");
	bring_up();
	good_request("rings outside RAM");
}

/* -------------------------------------------------------- MSI-X junk */
static void msix_junk(void)
{
	uintptr_t t = dev.msix.table, p = dev.msix.pba;
	uint32_t irqs, pba;
	uint16_t ctrl = pci_read16(dev.bdf, dev.msix.cap + MSIX_CAP_CTRL), c2;

	bring_up();
	for (unsigned v = 0; v < dev.msix.nvec; v++) {
		uintptr_t e = t + MSIX_ENTRY_SIZE * v;

		*(volatile uint64_t *)e = 0xdeadbeefcafef00dull;
		*(volatile uint64_t *)(e + 8) = 0xfffffffe00000000ull | 0x12345678u;
		*(volatile uint8_t *)(e + 1) = 0xa5;
		*(volatile uint16_t *)(e + 6) = 0x5a5a;
		*(volatile uint32_t *)(e + 2) = 0x01020304; /* unaligned */
		*(volatile uint8_t *)(e + 12) = 0x00;
		(void)*(volatile uint64_t *)(e + 4);	/* unaligned qword read */
		(void)*(volatile uint16_t *)(e + 10);
	}
	/* past the table, the PBA (read-only) and past it */
	for (uintptr_t a = t + MSIX_ENTRY_SIZE * dev.msix.nvec; a < p; a += 0x3f0)
		*(volatile uint32_t *)a = 0xffffffffu;
	*(volatile uint64_t *)p = ~0ull;
	*(volatile uint32_t *)(p + 4) = ~0u;
	*(volatile uint8_t *)(p + 1) = 0xff;
	for (uintptr_t a = p + 8; a < p + 0x1000; a += 0x7f8)
		*(volatile uint64_t *)a = ~0ull;
	/* an undefined (PCI 3.0 6.8.2) word read of the table, after a
	 * write that left a pattern in the vCPU's MMIO data */
	*(volatile uint32_t *)((uintptr_t)dev.bar[0] + 0x7ffc) = 0xa1b2c3d4u;
	pba = *(volatile uint16_t *)(t + 2);
	printf("virtio_hostile: MSI-X word read at table+2 returns 0x%x%s\n", pba,
	       pba == 0xc3d4 ? " (stale MMIO data)" : "");
	pba = mmio_read32(p);
	CHECK(!(pba & ~3u), "MSI-X PBA reads 0x%x after junk writes (read-only)", pba);
	/* table size is read-only, enable/mask are not */
	pci_write16(dev.bdf, dev.msix.cap + MSIX_CAP_CTRL, 0xffff);
	c2 = pci_read16(dev.bdf, dev.msix.cap + MSIX_CAP_CTRL);
	CHECK((c2 & MSIX_CTRL_SIZE) == (ctrl & MSIX_CTRL_SIZE),
	      "MSI-X table size changed: control 0x%x -> 0x%x", ctrl, c2);
	pci_msix_control(&dev.msix, true, false);

	/* a well-formed message to an APIC id no CPU has: the interrupt of
	 * a completed request goes nowhere */
	mmio_write32(t + MSIX_ENTRY_ADDR_LO, 0xfee00000u | (0xd0u << 12));
	mmio_write32(t + MSIX_ENTRY_ADDR_HI, 0);
	mmio_write32(t + MSIX_ENTRY_DATA, VECTOR_BASE);
	mmio_write32(t + MSIX_ENTRY_CTRL, 0);
	irqs = virtio_irqs[0];
	{
		struct vq_buf b = { buf, REQ };
		uint32_t id, len;

		vq_add(vq0(), &b, 0, 1);
		vq_kick(&dev, vq0());
		CHECK(vq_wait_used(&dev, vq0(), 1, TIMEOUT_MS, false),
		      "with junk MSI-X: request not used (status 0x%x)", virtio_status(&dev));
		vq_get_used(vq0(), &id, &len);
	}
	/* and pure junk: address and data made up, unmasked */
	mmio_write32(t + MSIX_ENTRY_ADDR_LO, 0xdead0000u);
	mmio_write32(t + MSIX_ENTRY_ADDR_HI, 0xffffffffu);
	mmio_write32(t + MSIX_ENTRY_DATA, 0x000000ef);
	msleep(10);
	printf("virtio_hostile: MSI-X junk: %u interrupt(s) on our vector (want 0)\n",
	       virtio_irqs[0] - irqs);
	CHECK(virtio_irqs[0] == irqs, "an interrupt for APIC id 0xd0 reached APIC id %u",
	      lapic_id());

	virtio_msix_setup(&dev);
	good_request("MSI-X junk");
	reset_device("MSI-X junk");
}

/* ------------------------------------------------ config space junk */
static void config_junk(void)
{
	uint32_t snap[64], now;
	uint16_t bdf = dev.bdf;
	uint8_t ctrl_dword = dev.msix.cap & 0xfc;
	uintptr_t b = (uintptr_t)dev.bar[0];
	uint8_t cfg_cap = 0;

	bring_up();
	good_request("set-up");
	for (unsigned i = 0; i < 64; i++)
		snap[i] = pci_read32(bdf, (uint16_t)(4 * i));
	/* the PCI_CFG capability's bar/offset/length/data are writable */
	for (uint8_t c = pci_find_cap(bdf, PCI_CAP_ID_VNDR, 0); c;
	     c = pci_find_cap(bdf, PCI_CAP_ID_VNDR, c))
		if (pci_read8(bdf, (uint16_t)(c + 3)) == VIRTIO_PCI_CAP_PCI_CFG)
			cfg_cap = c;

	for (uint16_t off = 0x40; off < 0x100; off += 4)
		pci_ecam_write(bdf, off, 4, 0xffffffffu);
	for (uint16_t off = 0x100; off < 0x1000; off += 0x1fc)
		pci_ecam_write(bdf, off, 4, 0x5a5a5a5au);
	pci_ecam_write(bdf, 0xffe, 2, 0xffff);
	for (uint16_t off = 0x41; off < 0x80; off += 7)
		pci_cf8_write(bdf, off, 1, 0xff);
	for (uint16_t off = 0x42; off < 0x100; off += 0x1a)
		pci_cf8_write(bdf, off, 2, 0xffff);
	for (uint16_t off = PCI_BAR0 + 8; off < PCI_BAR0 + 24; off += 4)
		pci_write32(bdf, off, 0xffffffffu);
	pci_write32(bdf, PCI_ROM_ADDRESS, 0xffffffffu);
	pci_write32(bdf, 0x0c, 0xffffffffu);	/* cache line, latency, header, BIST */
	pci_write32(bdf, 0x3c, 0xffff00ffu);	/* line, pin, min_gnt, max_lat */
	pci_write16(bdf, PCI_BAR0 + 2, 0xffff);	/* half a BAR */
	pci_write8(bdf, PCI_BAR0 + 4, 0x12);
	/* 0xcf8 with reserved bits, other widths at 0xcf8/0xcfa */
	outl(0xcf8, 0xff000000u | (uint32_t)bdf << 8 | 0x40);
	(void)inl(0xcfc);
	outl(0xcfc, 0xffffffffu);
	outw(0xcfa, 0xffff);
	outb(0xcf8, 0x00);
	(void)inw(0xcfe);
	outl(0xcf8, 0x80000000u | 0xff << 16 | 0xfc);
	outl(0xcfc, 0xffffffffu);

	for (unsigned i = 0; i < 64; i++) {
		uint16_t off = (uint16_t)(4 * i);

		now = pci_read32(bdf, off);
		if (off == PCI_COMMAND || off == PCI_INTERRUPT_LINE || off == ctrl_dword)
			continue;
		if (cfg_cap && off >= cfg_cap + 4 && off < cfg_cap + 20)
			continue;
		CHECK(now == snap[i], "config dword 0x%x: 0x%x -> 0x%x after junk writes", off,
		      snap[i], now);
	}
	now = pci_read16(bdf, PCI_COMMAND);
	printf("virtio_hostile: config junk: command 0x%x, MSI-X control 0x%x\n", now,
	       pci_read16(bdf, dev.msix.cap + MSIX_CAP_CTRL));
	pci_write16(bdf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_write8(bdf, PCI_INTERRUPT_LINE, (uint8_t)snap[PCI_INTERRUPT_LINE / 4]);

	/* BAR 0: gaps and wrong widths in the common config */
	*(volatile uint16_t *)(b + 0x38) = 0xffff;
	*(volatile uint16_t *)(b + 0x3a) = 0x0001;
	*(volatile uint32_t *)(b + 0x40) = 0xffffffffu;
	*(volatile uint32_t *)(b + 0xffc) = 0xffffffffu;
	*(volatile uint8_t *)(b + VIRTIO_CC_Q_DESC + 1) = 0x55;
	*(volatile uint32_t *)(b + VIRTIO_CC_STATUS) = 0x00ff00ffu;
	*(volatile uint64_t *)(b + VIRTIO_CC_DFSELECT) = ~0ull;
	*(volatile uint64_t *)(b + VIRTIO_CC_Q_DESC) = 0x1000;
	(void)*(volatile uint64_t *)(b + VIRTIO_CC_Q_SELECT - 6);
	(void)*(volatile uint8_t *)(b + VIRTIO_CC_MSIX + 1);
	/* ISR is read-only; device config (none for rng); notify past the
	 * queue; the unused tail of the BAR */
	*(volatile uint8_t *)(b + 0x1000) = 0xff;
	*(volatile uint32_t *)(b + 0x1ffc) = 0xffffffffu;
	(void)*(volatile uint8_t *)(b + 0x1000);
	*(volatile uint32_t *)(b + 0x2000) = 0xffffffffu;
	(void)*(volatile uint64_t *)(b + 0x2ff8);
	*(volatile uint16_t *)(b + 0x3000 + 4 * 1) = 1;
	*(volatile uint16_t *)(b + 0x3ffe) = 0xffff;
	for (uintptr_t a = b + 0x6000; a < b + dev.bar_size[0] && a < b + 0x8000; a += 0x7fc)
		*(volatile uint32_t *)a = 0xffffffffu;
	*(volatile uint32_t *)(b + 0x7ffc) = 0xffffffffu;
	(void)*(volatile uint32_t *)(b + 0x7ffc);

	/* queue registers: an absent queue, then the enabled one */
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 0xffff);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SIZE, 4);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DESC, 0x1000);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_MSIX, 0);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_ENABLE, 1);
	now = virtio_cc_read16(&dev, VIRTIO_CC_Q_ENABLE);
	CHECK(now == 0, "absent queue 0xffff: queue_enable reads %u", now);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 0);
	virtio_cc_write32(&dev, VIRTIO_CC_Q_DESC, 0xfee00000u);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SIZE, 2);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_ENABLE, 0);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_ENABLE, 1);
	/* reserved status bits */
	virtio_set_status(&dev, virtio_status(&dev) | 0x30);
	printf("virtio_hostile: BAR junk: status 0x%x\n", virtio_status(&dev));

	reset_device("config space junk");
	virtio_probe(&dev);
	bring_up();
	good_request("config space junk");
}

/* ------------------------------------------------------ moving BAR 0 */
static void move_bar0(uint64_t to)
{
	pci_write32(dev.bdf, PCI_BAR0, (uint32_t)to | PCI_BAR_MEM64);
	pci_write32(dev.bdf, PCI_BAR0 + 4, (uint32_t)(to >> 32));
}

static void bar_moves(void)
{
	uint64_t home = dev.bar[0], spot = 0xdff00000u;
	uint32_t id = pci_read32(dev.bdf, PCI_VENDOR_ID), v;
	volatile uint32_t *ram = (volatile uint32_t *)(uintptr_t)((low_ram_end / 2) & ~0x7fffull);

	reset_device("set-up");
	/* onto the ECAM: refused, the ECAM keeps answering */
	move_bar0(pci_ecam);
	v = pci_ecam_read(dev.bdf, PCI_VENDOR_ID, 4);
	CHECK(v == id, "BAR 0 over the ECAM: ECAM reads 0x%x for ids 0x%x", v, id);
	/* onto RAM (half way up, above this guest): RAM stays RAM */
	if ((uintptr_t)ram >= (uintptr_t)_end) {
		*ram = 0x600dcafe;
		move_bar0((uintptr_t)ram);
		ram[1] = 0x12345678;
		v = *ram;
		CHECK(v == 0x600dcafe && ram[1] == 0x12345678,
		      "BAR 0 over RAM at %p: RAM reads 0x%x", (void *)ram, v);
	}
	/* sized with decoding on: all ones, low half then high half */
	pci_write32(dev.bdf, PCI_BAR0, 0xffffffffu);
	(void)pci_read32(dev.bdf, PCI_BAR0);
	pci_write32(dev.bdf, PCI_BAR0 + 4, 0xffffffffu);
	(void)pci_read32(dev.bdf, PCI_BAR0 + 4);

	/* somewhere free in the 32-bit window */
	move_bar0(home);
	v = mmio_read32((uintptr_t)spot);
	if (v != PCI_NONE) {
		printf("virtio_hostile: 0x%lx is taken (0x%x): BAR 0 stays home\n", spot, v);
		spot = home;
	}
	move_bar0(spot);
	virtio_probe(&dev);
	CHECK(dev.bar[0] == spot, "BAR 0 reads 0x%lx after moving it to 0x%lx", dev.bar[0], spot);
	if (spot != home) {
		v = mmio_read32((uintptr_t)home + VIRTIO_CC_DF);
		CHECK(v == PCI_NONE, "the old BAR 0 place 0x%lx still answers 0x%x", home, v);
	}
	bring_up();
	good_request("moving BAR 0");
	printf("virtio_hostile: BAR 0 moved 0x%lx -> 0x%lx, device works there\n", home, spot);
}

void guest_main(const struct hvm_start_info *si)
{
	uint32_t n;
	const struct hvm_memmap_entry *m = memmap(&n);

	(void)si;
	for (uint32_t i = 0; m && i < n; i++)
		if (m[i].type == HVM_MEMMAP_RAM) {
			uint64_t end = m[i].addr + m[i].size;

			if (end > ram_end)
				ram_end = end;
			if (end <= 0x100000000ull && end > low_ram_end)
				low_ram_end = end;
		}
	CHECK(ram_end, "no RAM in the memory map");
	virtio_find(&dev, VIRTIO_ID_RNG, VECTOR_BASE);
	{
		struct pci_bar b;

		pci_bar_probe(dev.bdf, 0, &b);
		dev.bar_size[0] = (uint32_t)b.size;
	}
	printf("virtio_hostile: virtio-rng at 00:%02x.%x, BAR0 0x%lx, RAM ends at 0x%lx\n",
	       PCI_DEV(dev.bdf), PCI_FN(dev.bdf), dev.bar[0], ram_end);

	for (int b = 0; b < NBAD; b++)
		malformed((enum bad)b);
	self_overwrite();
	bad_rings();
	msix_junk();
	config_junk();
	bar_moves();
	pass();
}
