/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng end to end through the modern PCI transport (virtio 1.2,
 * 4.1 and 5.4), MSI-X entry 0 for the request queue, entry 1 for
 * configuration changes:
 *   1. a device reset reads back 0;
 *   2. FEATURES_OK does not stick when the driver accepts a bit the
 *      device did not offer (the "without VERSION_1" answer is printed);
 *   3. out-of-range MSI-X vectors read back NO_VECTOR, queue_size of a
 *      queue that does not exist reads 0;
 *   4. three 64-byte device-writable requests, one kick, completion by
 *      interrupt: used lengths 64, the heads we posted, bytes not all
 *      zero and different between requests;
 *   5. a two-descriptor chain (32 + 32), completion by polling with
 *      VIRTQ_AVAIL_F_NO_INTERRUPT set (whether an interrupt came anyway
 *      is printed: "SHOULD NOT");
 *   6. MSI-X per-vector mask: no interrupt while masked, the PBA bit set,
 *      the interrupt delivered on unmask and the PBA bit cleared; then
 *      what the device does with Bus Master Enable off (printed only: PCI
 *      says no DMA and no MSI-X then), and that the request completes
 *      once it is back on;
 *   7. again with VIRTIO_F_EVENT_IDX: used_event = 1, the second
 *      completion must interrupt ("MUST", used buffer
 *      notification suppression);
 *   8. reset: status and queue_enable read 0.
 */
#include "virtio.h"

#define VECTOR_BASE 0x50
#define QSIZE 8
#define TIMEOUT_MS 2000
#define REQ 64

static struct virtio_dev dev;
static uint8_t buf[4][REQ] __attribute__((aligned(64)));

static bool all_zero(const uint8_t *p, unsigned n)
{
	const uint64_t *q = (const void *)p;

	for (unsigned i = 0; i < n / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* The one used entry we expect next: head and length. */
static void expect_used(struct vq *vq, int head, uint32_t len, const char *what)
{
	uint32_t id, got;

	CHECK(vq_get_used(vq, &id, &got), "%s: no used entry", what);
	CHECK(head < 0 || id == (uint32_t)head, "%s: used id %u, posted head %d", what, id, head);
	CHECK(got == len, "%s: used len %u, want %u", what, got, len);
}

/* Reset, negotiate `features`, MSI-X, queue 0, DRIVER_OK. */
static void bring_up(uint64_t features)
{
	virtio_init(&dev, features);
	virtio_msix_setup(&dev);
	virtio_msix_config(&dev, 1);
	vq_setup(&dev, 0, QSIZE, 0);
	virtio_driver_ok(&dev);
}

static void check_reset(void)
{
	uint8_t s;
	uint16_t en;

	CHECK(virtio_reset(&dev), "device_status reads 0x%x after writing 0", virtio_status(&dev));
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 0);
	en = virtio_cc_read16(&dev, VIRTIO_CC_Q_ENABLE);
	s = virtio_status(&dev);
	CHECK(s == 0 && en == 0, "after reset: status 0x%x, queue_enable %u", s, en);
}

static void check_negotiation(void)
{
	uint64_t offered = virtio_device_features(&dev), bad;
	const uint8_t drv = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	int bit;
	uint8_t s;

	printf("virtio_rng: device features 0x%lx\n", offered);
	CHECK(offered & VIRTIO_F(VIRTIO_F_VERSION_1), "VERSION_1 not offered");
	/* the highest bit not offered */
	for (bit = 63; bit >= 0 && (offered & VIRTIO_F(bit)); bit--)
		;
	CHECK(bit >= 0, "the device offers all 64 feature bits");
	bad = VIRTIO_F(VIRTIO_F_VERSION_1) | VIRTIO_F(bit);

	check_reset();
	virtio_set_status(&dev, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(&dev, drv);
	virtio_set_driver_features(&dev, bad);
	virtio_set_status(&dev, drv | VIRTIO_STATUS_FEATURES_OK);
	s = virtio_status(&dev);
	CHECK(!(s & VIRTIO_STATUS_FEATURES_OK),
	      "FEATURES_OK stuck (status 0x%x) with unoffered feature bit %d accepted", s, bit);
	printf("virtio_rng: unoffered bit %d refused, status 0x%x\n", bit, s);
	virtio_set_status(&dev, s | VIRTIO_STATUS_FAILED);
	check_reset();

	/* a modern device MAY refuse to work without VERSION_1: just say */
	virtio_set_status(&dev, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(&dev, drv);
	virtio_set_driver_features(&dev, 0);
	virtio_set_status(&dev, drv | VIRTIO_STATUS_FEATURES_OK);
	s = virtio_status(&dev);
	printf("virtio_rng: without VERSION_1 FEATURES_OK %s (status 0x%x)\n",
	       s & VIRTIO_STATUS_FEATURES_OK ? "stuck" : "refused", s);
	check_reset();
}

static void check_registers(void)
{
	uint16_t v, numq = virtio_cc_read16(&dev, VIRTIO_CC_NUMQ);

	CHECK(numq == 1, "virtio-rng num_queues %u, want 1", numq);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, numq);
	v = virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE);
	CHECK(v == 0, "queue_size of queue %u (absent) reads %u, want 0", numq, v);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 0);
	v = virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE);
	CHECK(v >= QSIZE && !(v & (v - 1)), "queue 0 maximum size %u", v);
	/* MSI-X vector configuration: a vector the device cannot use
	 * reads back NO_VECTOR */
	virtio_cc_write16(&dev, VIRTIO_CC_Q_MSIX, (uint16_t)dev.msix.nvec);
	v = virtio_cc_read16(&dev, VIRTIO_CC_Q_MSIX);
	CHECK(v == VIRTIO_NO_VECTOR, "queue_msix_vector %u (of %u) reads 0x%x, want 0xffff",
	      dev.msix.nvec, dev.msix.nvec, v);
	virtio_cc_write16(&dev, VIRTIO_CC_MSIX, 0x7ff);
	v = virtio_cc_read16(&dev, VIRTIO_CC_MSIX);
	CHECK(v == VIRTIO_NO_VECTOR, "config_msix_vector 0x7ff reads 0x%x, want 0xffff", v);
}

/* 4: three requests, one kick, interrupts. */
static void three_requests(void)
{
	struct vq *vq = &dev.vq[0];
	uint32_t irqs = virtio_irqs[0];
	int head[3];

	for (int i = 0; i < 3; i++) {
		struct vq_buf b = { buf[i], REQ };

		memset(buf[i], 0, REQ);
		head[i] = vq_add(vq, &b, 0, 1);
		CHECK(head[i] >= 0, "no free descriptor for request %d", i);
	}
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 3, TIMEOUT_MS, true),
	      "3 requests: %u used after %u ms, %u interrupts, status 0x%x", vq_used_pending(vq),
	      TIMEOUT_MS, virtio_irqs[0] - irqs, virtio_status(&dev));
	printf("virtio_rng: 3 requests completed, %u interrupt(s)\n", virtio_irqs[0] - irqs);
	CHECK(virtio_irqs[0] != irqs, "no interrupt");
	CHECK(virtio_irqs[1] == 0, "%u configuration interrupts", virtio_irqs[1]);
	for (int i = 0; i < 3; i++)
		expect_used(vq, head[i], REQ, "request");
	for (int i = 0; i < 3; i++)
		CHECK(!all_zero(buf[i], REQ), "request %d: 64 zero bytes", i);
	CHECK(memcmp(buf[0], buf[1], REQ) && memcmp(buf[1], buf[2], REQ) &&
		      memcmp(buf[0], buf[2], REQ),
	      "two requests returned the same 64 bytes");
	printf("virtio_rng: %02x%02x%02x%02x %02x%02x%02x%02x %02x%02x%02x%02x\n", buf[0][0],
	       buf[0][1], buf[0][2], buf[0][3], buf[1][0], buf[1][1], buf[1][2], buf[1][3],
	       buf[2][0], buf[2][1], buf[2][2], buf[2][3]);
}

/* 5: a two-descriptor chain, polled, interrupts suppressed. */
static void polled_chain(void)
{
	struct vq *vq = &dev.vq[0];
	struct vq_buf b[2] = { { buf[3], REQ / 2 }, { buf[3] + REQ / 2, REQ / 2 } };
	uint32_t irqs = virtio_irqs[0];
	int head;

	memset(buf[3], 0, REQ);
	vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	head = vq_add(vq, b, 0, 2);
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false), "polled chain: not used in %u ms",
	      TIMEOUT_MS);
	expect_used(vq, head, REQ, "2-descriptor chain");
	CHECK(!all_zero(buf[3], REQ / 2) && !all_zero(buf[3] + REQ / 2, REQ / 2),
	      "2-descriptor chain: a zero half");
	msleep(10); /* let a stray interrupt in */
	printf("virtio_rng: chain of 2 polled, NO_INTERRUPT %s\n",
	       virtio_irqs[0] == irqs ? "honoured" : "ignored (an interrupt came)");
	vq->avail->flags = 0;
}

/* 6: a masked vector leaves the interrupt pending. */
static void masked_vector(void)
{
	struct vq *vq = &dev.vq[0];
	struct vq_buf b = { buf[0], REQ };
	uint32_t irqs = virtio_irqs[0];
	int head;

	pci_msix_mask(&dev.msix, 0, true);
	head = vq_add(vq, &b, 0, 1);
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false), "masked: not used in %u ms",
	      TIMEOUT_MS);
	msleep(10);
	CHECK(virtio_irqs[0] == irqs, "an interrupt came through a masked MSI-X vector");
	CHECK(pci_msix_pending(&dev.msix, 0), "masked vector 0: PBA bit not set");
	pci_msix_mask(&dev.msix, 0, false);
	CHECK(wait_count(&virtio_irqs[0], irqs + 1, TIMEOUT_MS),
	      "no interrupt when the pending vector was unmasked");
	CHECK(!pci_msix_pending(&dev.msix, 0), "PBA bit still set after delivery");
	expect_used(vq, head, REQ, "masked request");
	printf("virtio_rng: masked vector pending, delivered on unmask\n");
}

/* 6b: Bus Master Enable off.  PCI: the function must not issue memory
 * requests then, MSI-X messages included.  Observed and printed only;
 * with it back on and a second kick the request must complete. */
static void bus_master_off(void)
{
	struct vq *vq = &dev.vq[0];
	struct vq_buf b = { buf[2], REQ };
	uint16_t cmd = pci_read16(dev.bdf, PCI_COMMAND);
	uint32_t irqs = virtio_irqs[0];
	bool used;
	int head;

	pci_write16(dev.bdf, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
	memset(buf[2], 0, REQ);
	head = vq_add(vq, &b, 0, 1);
	vq_notify(&dev, vq);
	vq_wait_used(&dev, vq, 1, 20, false);
	msleep(5);
	used = vq_used_pending(vq) != 0;
	printf("virtio_rng: bus mastering off: request %s, %u interrupt(s), buffer %s\n",
	       used ? "completed" : "not completed", virtio_irqs[0] - irqs,
	       all_zero(buf[2], REQ) ? "untouched" : "written");
	CHECK(!used && all_zero(buf[2], REQ),
	      "bus mastering off, yet the device wrote guest memory");
	/* turning bus mastering back on replays the kick: no new notify */
	pci_write16(dev.bdf, PCI_COMMAND, cmd);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false),
	      "bus mastering back on: the request did not complete");
	expect_used(vq, head, REQ, "bus master request");
	if (virtio_irqs[0] == irqs)
		wait_count(&virtio_irqs[0], irqs + 1, 50); /* the late one, if any */
}

/* 7: VIRTIO_F_EVENT_IDX. */
static void event_idx(void)
{
	struct vq *vq = &dev.vq[0];
	struct vq_buf b0 = { buf[0], REQ }, b1 = { buf[1], REQ };
	uint32_t irqs;
	int h0, h1;

	bring_up(VIRTIO_F(VIRTIO_F_VERSION_1) | VIRTIO_F(VIRTIO_F_EVENT_IDX));
	CHECK(dev.features & VIRTIO_F(VIRTIO_F_EVENT_IDX), "EVENT_IDX not offered");
	irqs = virtio_irqs[0];
	/* interrupt me when used entry 1 is written, not for entry 0 */
	*vq->used_event = 1;
	h0 = vq_add(vq, &b0, 0, 1);
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false), "event idx: first not used");
	msleep(10);
	printf("virtio_rng: EVENT_IDX entry 0: %u interrupt(s) (want 0, SHOULD NOT), avail_event %u\n",
	       virtio_irqs[0] - irqs, *vq->avail_event);
	h1 = vq_add(vq, &b1, 0, 1);
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 2, TIMEOUT_MS, true),
	      "EVENT_IDX: no interrupt for used entry 1 = used_event (%u used)",
	      vq_used_pending(vq));
	CHECK(virtio_irqs[0] != irqs, "EVENT_IDX: used entry 1 = used_event without interrupt");
	expect_used(vq, h0, REQ, "event idx 0");
	expect_used(vq, h1, REQ, "event idx 1");
	CHECK(memcmp(buf[0], buf[1], REQ), "event idx: same bytes twice");
}

void guest_main(const struct hvm_start_info *si)
{
	uint8_t s;

	(void)si;
	virtio_find(&dev, VIRTIO_ID_RNG, VECTOR_BASE);
	printf("virtio_rng: 00:%02x.%x BAR0 0x%lx, %u MSI-X vectors\n", PCI_DEV(dev.bdf),
	       PCI_FN(dev.bdf), dev.bar[0], dev.msix.nvec);
	CHECK(dev.msix.nvec >= 2, "%u MSI-X vectors, want 2 (queue, config)", dev.msix.nvec);

	virtio_set_status(&dev, VIRTIO_STATUS_ACKNOWLEDGE);
	s = virtio_status(&dev);
	CHECK(s == VIRTIO_STATUS_ACKNOWLEDGE, "status 0x%x after ACKNOWLEDGE", s);
	check_reset();
	check_negotiation();
	check_registers();

	bring_up(VIRTIO_F(VIRTIO_F_VERSION_1));
	three_requests();
	polled_chain();
	masked_vector();
	bus_master_off();
	event_idx();
	check_reset();
	CHECK(virtio_irqs[1] == 0, "%u configuration interrupts", virtio_irqs[1]);
	pass();
}
