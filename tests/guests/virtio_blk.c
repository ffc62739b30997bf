/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk end to end (virtio 1.2, 5.2 "Block Device") through the
 * modern PCI transport, against an image the harness made
 * (tests/direct/virtio.sh): every 512-byte sector holds 32 lines of 16
 * bytes, "initial NNNNNNN\n" with NNNNNNN its sector number.
 *
 * The command line (--cmdline) says what to expect:
 *   blk.mode=rw|ro      the disk is writable / readonly=on
 *   blk.mq=N            num_queues=N was given (N > 1: MQ offered)
 *   blk.qsize=N         queue_size=N was given (the queues' maximum size)
 *   blk.serial=ID       serial=ID was given (absent: the ID is empty)
 *   blk.backend=vhost   a vhost-user back-end (qemu-storage-daemon)
 *                       serves the disk: the ID must start with the
 *                       serial but its padding is the back-end's, and
 *                       step 8 (wisp's own choices on flags) is skipped
 *
 * Every run:
 *   1. features: VERSION_1, SEG_MAX, BLK_SIZE, FLUSH offered; RO offered
 *      exactly when read-only, DISCARD and WRITE_ZEROES exactly when
 *      writable, MQ exactly when num_queues > 1; the configuration
 *      space (capacity read as two halves under config_generation,
 *      seg_max, blk_size, num_queues, the discard/write-zeroes limits,
 *      zero padding); prints "BLK capacity=N seg_max=N blk_size=N";
 *   2. reads by interrupt: sector 0, the last sector, 4 sectors into 3
 *      data descriptors (700 + 900 + 448 bytes), and a request framed
 *      differently (header in two descriptors, data and status in one);
 *      the pattern checked, used lengths = data + 1;
 *   3. beyond capacity: a read of sector `capacity`, of 2 sectors from
 *      the last one, of sector 2^55 (its byte offset wraps to 0) and of
 *      sector 2^64-1: IOERR (1), nothing written to the buffer; then a
 *      good read (wisp kept running, no NEEDS_RESET);
 *   4. unknown request types (3, GET_LIFETIME 10 and SECURE_ERASE 14
 *      not offered, ZONE_REPORT 16 without ZONED, 0xff): UNSUPP (2);
 *   5. GET_ID: the serial, NUL-padded to 20 bytes (no NUL at 20);
 *   6. read-write: a 3-descriptor write of sectors 100-103 (100 + 1500 +
 *      448 bytes), a 2-sector write of 200-201, a write of 100 bytes (not
 *      a sector multiple: IOERR) at 150, a write of 2 sectors at the last
 *      one (IOERR), FLUSH (OK, used length 1), then both written ranges
 *      read back as "written NNNNNNN\n"; WRITE_ZEROES of 300-301 and (unmap)
 *      302-305 and DISCARD of 312-319: OK and read back as zeros (the
 *      discarded range only printed: the spec promises nothing there);
 *      WRITE_ZEROES past the end: IOERR;
 *      read-only: the writes, FLUSH, WRITE_ZEROES and DISCARD: a write
 *      gets IOERR (MUST), the others anything but OK except FLUSH (OK);
 *      sector 0 still reads "initial";
 *   7. num_queues=2: both queues set up (maximum size = queue_size), a
 *      read posted on each before one kick each, each completed through
 *      its own MSI-X vector; sectors 400-401 written through queue 1
 *      and read back through queue 0;
 *   8. read-write: the MUSTs on flags (5.2.6.2): DISCARD with unmap set
 *      (sectors 320-327) and WRITE_ZEROES with a reserved flag bit
 *      (330-331) get UNSUPP;
 *   9. masking: queue 0's vector masked (its mask bit, then the
 *      function mask), a read completes by polling with no interrupt,
 *      the PBA shows it pending, and unmasking delivers it (with a
 *      vhost-user back-end the interrupt comes from its call fd, which
 *      wisp must catch while masked).
 * The harness then checks the image on the host: exactly the sectors
 * written and zeroed above changed (or none, read-only).
 */
#include "virtio.h"

#define VECTOR_BASE 0x50
#define TIMEOUT_MS 2000
#define SECTOR 512
#define LINE 16

/* feature bits (5.2.3) */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* request types and status (5.2.6) */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14
#define VIRTIO_BLK_T_ZONE_REPORT 16
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define STATUS_UNTOUCHED 0xee
#define RANGE_F_UNMAP 1u
#define ID_BYTES 20

/* struct virtio_blk_config offsets (5.2.4) */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_UNUSED0 33
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_UNUSED1 57
#define CFG_LEN 60	/* through unused1 */

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* What one request in flight needs besides its data; two can be. */
struct slot {
	struct blk_hdr hdr;
	struct blk_range range;
	uint8_t status;
	uint8_t id[ID_BYTES + 1];
};

static struct virtio_dev dev;
/* the first device-writable data byte of each slot's request */
static const volatile uint8_t *first_in[2];
static struct slot slots[2] __attribute__((aligned(64)));
static uint8_t rbuf[2048 + 1] __attribute__((aligned(512)));
static uint8_t rbuf2[SECTOR] __attribute__((aligned(512)));
static uint8_t wbuf[2048] __attribute__((aligned(512)));
static uint8_t expect[2048] __attribute__((aligned(512)));

static uint64_t capacity;
static bool readonly;
static unsigned nqueues = 1, qsize;
static char serial[ID_BYTES + 2];
static bool vhost_backend;

/* -------------------------------------------------------- the pattern */
/* nsec sectors from `sector`: 32 lines "TAG NNNNNNN\n" each (TAG 7 bytes). */
static void pattern(uint8_t *p, const char *tag, uint64_t sector, unsigned nsec)
{
	for (unsigned s = 0; s < nsec; s++) {
		uint8_t line[LINE];
		uint32_t v = (uint32_t)(sector + s);

		memcpy(line, tag, 7);
		line[7] = ' ';
		for (int i = 14; i >= 8; i--, v /= 10)
			line[i] = (uint8_t)('0' + v % 10);
		line[15] = '\n';
		for (unsigned l = 0; l < SECTOR / LINE; l++, p += LINE)
			memcpy(p, line, LINE);
	}
}

/* len bytes at p hold the pattern from byte `at` of sector `sector`
 * on (at: a multiple of LINE). */
static void check_pattern(const uint8_t *p, unsigned len, const char *tag, uint64_t sector,
			  unsigned at, const char *what)
{
	unsigned nsec = (at + len + SECTOR - 1) / SECTOR;

	pattern(expect, tag, sector, nsec);
	for (unsigned i = 0; i < len; i += LINE) {
		unsigned n = len - i < LINE ? len - i : LINE;

		if (memcmp(p + i, expect + at + i, n))
			fail("%s: byte %u of sector %lu reads '%.15s', want '%.15s'", what,
			     (at + i) % SECTOR, sector + (at + i) / SECTOR, (const char *)p + i,
			     (const char *)expect + at + i);
	}
}

static bool all_zero(const uint8_t *p, unsigned n)
{
	const uint64_t *q = (const void *)p;

	for (unsigned i = 0; i < n / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* ---------------------------------------------------- configuration */
static uint8_t cfg8(unsigned off) { return *(volatile uint8_t *)(dev.device + off); }
static uint16_t cfg16(unsigned off) { return *(volatile uint16_t *)(dev.device + off); }
static uint32_t cfg32(unsigned off) { return *(volatile uint32_t *)(dev.device + off); }

/* ----------------------------------------------------------- requests */
/* Posts a request on queue q: the header, `ndata` data buffers (device
 * readable, or writable with data_in), the status byte.  The range of a
 * DISCARD/WRITE_ZEROES is passed as data (readable).  Returns the head. */
static int post(unsigned slot, unsigned q, uint32_t type, uint64_t sector,
		const struct vq_buf *data, unsigned ndata, bool data_in)
{
	struct slot *s = &slots[slot];
	struct vq_buf b[8];
	unsigned n = 0, nout;
	int head;

	s->hdr.type = type;
	s->hdr.reserved = 0;
	s->hdr.sector = sector;
	s->status = STATUS_UNTOUCHED;
	b[n++] = (struct vq_buf){ &s->hdr, sizeof(s->hdr) };
	for (unsigned i = 0; !data_in && i < ndata; i++)
		b[n++] = data[i];
	nout = n;
	for (unsigned i = 0; data_in && i < ndata; i++)
		b[n++] = data[i];
	b[n++] = (struct vq_buf){ &s->status, 1 };
	first_in[slot] = data_in && ndata ? data[0].addr : NULL;
	head = vq_add(&dev.vq[q], b, nout, n - nout);
	CHECK(head >= 0, "queue %u: no free descriptors for %u", q, n);
	return head;
}

/* Waits for a used entry on queue q and its interrupt. */
static void wait_irq(unsigned q, const char *what)
{
	struct vq *vq = &dev.vq[q];

	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, true),
	      "%s: no completion by interrupt in %u ms (queue %u, %u used, %u irqs, status 0x%x)",
	      what, TIMEOUT_MS, q, vq_used_pending(vq), virtio_irqs[vq->msix],
	      virtio_status(&dev));
}

/* Takes the used entry of `head`, the next one on queue q (no waiting);
 * returns the status byte, *len the used length. */
static uint8_t take(unsigned slot, unsigned q, int head, uint32_t *len, const char *what)
{
	struct vq *vq = &dev.vq[q];
	uint32_t id;

	CHECK(vq_get_used(vq, &id, len), "%s: no used entry", what);
	CHECK(id == (uint32_t)head, "%s: used id %u, posted head %d", what, id, head);
	/* the status is the last byte of the chain (5.2.6) */
	if (slots[slot].status == STATUS_UNTOUCHED && first_in[slot])
		fail("%s: status byte (the chain's last byte) untouched, used len %u; the first data byte is now 0x%x",
		     what, *len, *first_in[slot]);
	CHECK(slots[slot].status != STATUS_UNTOUCHED, "%s: status byte not written (used len %u)",
	      what, *len);
	return slots[slot].status;
}

static uint8_t complete(unsigned slot, unsigned q, int head, uint32_t *len, const char *what)
{
	wait_irq(q, what);
	return take(slot, q, head, len, what);
}

static uint8_t request(unsigned q, uint32_t type, uint64_t sector, const struct vq_buf *data,
		       unsigned ndata, bool data_in, uint32_t *len, const char *what)
{
	int head = post(0, q, type, sector, data, ndata, data_in);

	vq_kick(&dev, &dev.vq[q]);
	return complete(0, q, head, len, what);
}

static void expect_status(uint8_t got, uint8_t want, const char *what)
{
	CHECK(got == want, "%s: status %u, want %u", what, got, want);
}

/* A read of nsec sectors into buf (one descriptor): must succeed. */
static void read_sectors(unsigned q, uint64_t sector, uint8_t *buf, unsigned nsec,
			 const char *what)
{
	struct vq_buf d = { buf, nsec * SECTOR };
	uint32_t len;

	memset(buf, 0xa5, nsec * SECTOR);
	expect_status(request(q, VIRTIO_BLK_T_IN, sector, &d, 1, true, &len, what),
		      VIRTIO_BLK_S_OK, what);
	CHECK(len == nsec * SECTOR + 1, "%s: used len %u, want %u", what, len,
	      nsec * SECTOR + 1);
}

static uint8_t write_sectors(unsigned q, uint64_t sector, const uint8_t *buf, unsigned bytes,
			     const char *what)
{
	struct vq_buf d = { (void *)buf, bytes };
	uint32_t len;
	uint8_t s = request(q, VIRTIO_BLK_T_OUT, sector, &d, 1, false, &len, what);

	CHECK(len == 1, "%s: used len %u, want 1 (only the status byte)", what, len);
	return s;
}

static uint8_t range_cmd(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags,
			 const char *what)
{
	struct vq_buf d = { &slots[0].range, sizeof(slots[0].range) };
	uint32_t len;

	slots[0].range.sector = sector;
	slots[0].range.num_sectors = num;
	slots[0].range.flags = flags;
	return request(0, type, 0, &d, 1, false, &len, what);
}

static void check_running(const char *after)
{
	uint8_t s = virtio_status(&dev);

	CHECK(!(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)),
	      "after %s: device_status 0x%x", after, s);
	read_sectors(0, 1, rbuf, 1, after);
	check_pattern(rbuf, SECTOR, "initial", 1, 0, after);
}

/* --------------------------------------------------------------- steps */
static void features_and_config(void)
{
	uint64_t f = virtio_device_features(&dev);
	uint64_t want = VIRTIO_F(VIRTIO_F_VERSION_1) | VIRTIO_F(VIRTIO_BLK_F_SEG_MAX) |
			VIRTIO_F(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_F(VIRTIO_BLK_F_FLUSH) |
			VIRTIO_F(VIRTIO_BLK_F_RO) | VIRTIO_F(VIRTIO_BLK_F_MQ) |
			VIRTIO_F(VIRTIO_BLK_F_DISCARD) | VIRTIO_F(VIRTIO_BLK_F_WRITE_ZEROES);
	bool ro = f & VIRTIO_F(VIRTIO_BLK_F_RO), mq = f & VIRTIO_F(VIRTIO_BLK_F_MQ);
	bool dis = f & VIRTIO_F(VIRTIO_BLK_F_DISCARD), wz = f & VIRTIO_F(VIRTIO_BLK_F_WRITE_ZEROES);
	uint32_t seg_max, blk_size;
	uint16_t numq;

	printf("BLK features=0x%lx\n", f);
	CHECK(f & VIRTIO_F(VIRTIO_BLK_F_SEG_MAX), "SEG_MAX not offered");
	CHECK(f & VIRTIO_F(VIRTIO_BLK_F_BLK_SIZE), "BLK_SIZE not offered");
	CHECK(f & VIRTIO_F(VIRTIO_BLK_F_FLUSH), "FLUSH not offered (a SHOULD wisp claims)");
	CHECK(ro == readonly, "RO %s, but the disk is %s", ro ? "offered" : "not offered",
	      readonly ? "read-only" : "writable");
	CHECK(dis == !readonly && wz == !readonly, "DISCARD %u WRITE_ZEROES %u on a %s disk",
	      dis, wz, readonly ? "read-only" : "writable");
	CHECK(mq == (nqueues > 1), "MQ %s with num_queues=%u", mq ? "offered" : "not offered",
	      nqueues);

	virtio_init(&dev, want);
	CHECK(dev.device, "no device configuration capability");
	CHECK(dev.device_len >= CFG_LEN, "device configuration is %u bytes, want %u",
	      dev.device_len, CFG_LEN);
	capacity = virtio_cfg64(&dev, CFG_CAPACITY);
	seg_max = cfg32(CFG_SEG_MAX);
	blk_size = cfg32(CFG_BLK_SIZE);
	printf("BLK capacity=%lu seg_max=%u blk_size=%u\n", capacity, seg_max, blk_size);
	CHECK(capacity > 512, "capacity %lu: the harness made a bigger image", capacity);
	CHECK(seg_max >= 3, "seg_max %u: the test sends 3 data segments", seg_max);
	CHECK(blk_size >= SECTOR && !(blk_size & (blk_size - 1)), "blk_size %u", blk_size);
	CHECK(cfg8(CFG_UNUSED0) == 0 && cfg8(CFG_UNUSED1) == 0 && cfg8(CFG_UNUSED1 + 1) == 0 &&
		      cfg8(CFG_UNUSED1 + 2) == 0,
	      "padding unused0/unused1 not zero (MUST)");
	numq = virtio_cc_read16(&dev, VIRTIO_CC_NUMQ);
	CHECK(numq == nqueues, "common num_queues %u, want %u", numq, nqueues);
	if (mq) {
		uint16_t n = cfg16(CFG_NUM_QUEUES);

		CHECK(n == nqueues, "config num_queues %u, want %u", n, nqueues);
	}
	if (!readonly) {
		uint32_t mds = cfg32(CFG_MAX_DISCARD_SECTORS), mdg = cfg32(CFG_MAX_DISCARD_SEG);
		uint32_t al = cfg32(CFG_DISCARD_ALIGN), mws = cfg32(CFG_MAX_WZ_SECTORS);
		uint32_t mwg = cfg32(CFG_MAX_WZ_SEG);

		printf("BLK discard max=%u seg=%u align=%u write_zeroes max=%u seg=%u may_unmap=%u\n",
		       mds, mdg, al, mws, mwg, cfg8(CFG_WZ_MAY_UNMAP));
		CHECK(mds >= 8 && mdg >= 1 && mws >= 8 && mwg >= 1,
		      "discard/write-zeroes limits too small for the test");
		CHECK(al && 312 % al == 0 && 320 % al == 0, "discard_sector_alignment %u", al);
	}
}

static void bring_up(void)
{
	unsigned nvec = dev.msix.nvec;

	CHECK(nvec >= nqueues + 1 && nvec <= VIRTIO_MAX_VECTORS, "%u MSI-X vectors for %u queues",
	      nvec, nqueues);
	virtio_msix_setup(&dev);
	virtio_msix_config(&dev, (uint16_t)nqueues);
	for (unsigned q = 0; q < nqueues; q++) {
		uint16_t max;

		virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, (uint16_t)q);
		max = virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE);
		CHECK(!qsize || max == qsize, "queue %u: maximum size %u, queue_size=%u given", q,
		      max, qsize);
		vq_setup(&dev, (uint16_t)q, max < 8 ? max : 8, (uint16_t)q);
	}
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, (uint16_t)nqueues);
	CHECK(virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE) == 0, "queue %u exists (size %u)", nqueues,
	      virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE));
	virtio_driver_ok(&dev);
}

static void reads(void)
{
	struct vq_buf seg[3] = { { rbuf, 700 }, { rbuf + 700, 900 }, { rbuf + 1600, 448 } };
	struct vq_buf framed[3] = { { &slots[0].hdr, 4 }, { (uint8_t *)&slots[0].hdr + 4, 12 },
				    { rbuf, SECTOR + 1 } };
	uint32_t len, id;
	int head;

	read_sectors(0, 0, rbuf, 1, "read sector 0");
	check_pattern(rbuf, SECTOR, "initial", 0, 0, "sector 0");
	read_sectors(0, capacity - 1, rbuf, 1, "read the last sector");
	check_pattern(rbuf, SECTOR, "initial", capacity - 1, 0, "the last sector");
	printf("BLK read sector 0 and sector %lu\n", capacity - 1);

	/* 4 sectors into 3 data descriptors, none a whole sector */
	memset(rbuf, 0xa5, 2048);
	expect_status(request(0, VIRTIO_BLK_T_IN, 8, seg, 3, true, &len, "3-segment read"),
		      VIRTIO_BLK_S_OK, "3-segment read");
	CHECK(len == 2048 + 1, "3-segment read: used len %u, want 2049", len);
	check_pattern(rbuf, 700, "initial", 8, 0, "3-segment read, segment 1");
	check_pattern(rbuf + 700, 900, "initial", 8, 700, "3-segment read, segment 2");
	check_pattern(rbuf + 1600, 448, "initial", 8, 1600, "3-segment read, segment 3");

	/* framing is not the device's business (2.6.4): header in 4 + 12
	 * bytes, the data and the status in one 513-byte descriptor */
	memset(rbuf, 0xa5, SECTOR + 1);
	slots[0].hdr.type = VIRTIO_BLK_T_IN;
	slots[0].hdr.reserved = 0;
	slots[0].hdr.sector = 20;
	head = vq_add(&dev.vq[0], framed, 2, 1);
	CHECK(head >= 0, "framed read: no descriptors");
	vq_kick(&dev, &dev.vq[0]);
	CHECK(vq_wait_used(&dev, &dev.vq[0], 1, TIMEOUT_MS, true), "framed read: no completion");
	CHECK(vq_get_used(&dev.vq[0], &id, &len) && id == (uint32_t)head,
	      "framed read: used id %u, head %d", id, head);
	CHECK(rbuf[SECTOR] == VIRTIO_BLK_S_OK && len == SECTOR + 1,
	      "framed read: status %u used len %u, want 0 and 513", rbuf[SECTOR], len);
	check_pattern(rbuf, SECTOR, "initial", 20, 0, "framed read");
	printf("BLK 3-segment and re-framed reads\n");
}

static void beyond_capacity(void)
{
	static const struct { uint64_t sector; unsigned nsec; const char *what; } bad[] = {
		{ 0, 1, "read at capacity" },
		{ 0, 2, "2-sector read from the last sector" },
		{ 1ull << 55, 1, "read of sector 2^55 (byte offset wraps to 0)" },
		{ ~0ull, 1, "read of sector 2^64-1" },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t sector = i == 0 ? capacity : i == 1 ? capacity - 1 : bad[i].sector;
		struct vq_buf d = { rbuf, bad[i].nsec * SECTOR };
		uint32_t len;
		uint8_t s;

		memset(rbuf, 0xa5, 2 * SECTOR);
		s = request(0, VIRTIO_BLK_T_IN, sector, &d, 1, true, &len, bad[i].what);
		expect_status(s, VIRTIO_BLK_S_IOERR, bad[i].what);
		CHECK(rbuf[0] == 0xa5 && rbuf[SECTOR - 1] == 0xa5,
		      "%s: IOERR but the buffer was written", bad[i].what);
		printf("BLK %s: IOERR, used len %u\n", bad[i].what, len);
	}
	check_running("reads beyond capacity");
}

static void unknown_types(void)
{
	static const uint32_t types[] = { 3, VIRTIO_BLK_T_GET_LIFETIME, VIRTIO_BLK_T_SECURE_ERASE,
					  VIRTIO_BLK_T_ZONE_REPORT, 0xff };

	for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
		struct vq_buf d = { rbuf, SECTOR };
		uint32_t len;
		uint8_t s = request(0, types[i], 0, &d, 1, true, &len, "unknown type");

		CHECK(s == VIRTIO_BLK_S_UNSUPP, "request type %u: status %u, want UNSUPP (2)",
		      types[i], s);
	}
	printf("BLK unknown request types: UNSUPP\n");
	check_running("unknown request types");
}

static void get_id(void)
{
	uint8_t *id = slots[0].id;
	struct vq_buf d = { id, ID_BYTES };
	uint8_t want[ID_BYTES];
	size_t n = strlen(serial);
	uint32_t len;

	memset(want, 0, sizeof(want));
	memcpy(want, serial, n);
	memset(id, 0xa5, ID_BYTES + 1);
	expect_status(request(0, VIRTIO_BLK_T_GET_ID, 0, &d, 1, true, &len, "GET_ID"),
		      VIRTIO_BLK_S_OK, "GET_ID");
	CHECK(id[ID_BYTES] == 0xa5, "GET_ID wrote past its 20 bytes");
	id[ID_BYTES] = 0;
	printf("BLK id='%s' used len %u\n", (const char *)id, len);
	/* another implementation: the serial, then whatever it pads with */
	for (unsigned i = 0; i < (vhost_backend ? n : ID_BYTES); i++)
		CHECK(id[i] == want[i],
		      "GET_ID byte %u is 0x%x, want 0x%x (serial '%s', %zu bytes, NUL-padded to 20)",
		      i, id[i], want[i], serial, n);
	CHECK(len == ID_BYTES + 1, "GET_ID: used len %u, want 21", len);
}

static void writes(void)
{
	struct vq_buf seg[3] = { { wbuf, 100 }, { wbuf + 100, 1500 }, { wbuf + 1600, 448 } };
	uint32_t len;

	/* 3 data descriptors: sectors 100-103 */
	pattern(wbuf, "written", 100, 4);
	expect_status(request(0, VIRTIO_BLK_T_OUT, 100, seg, 3, false, &len, "3-segment write"),
		      VIRTIO_BLK_S_OK, "3-segment write");
	CHECK(len == 1, "3-segment write: used len %u, want 1", len);
	/* one descriptor: sectors 200-201 */
	pattern(wbuf, "written", 200, 2);
	expect_status(write_sectors(0, 200, wbuf, 2 * SECTOR, "write 200-201"), VIRTIO_BLK_S_OK,
		      "write 200-201");
	/* not a sector multiple; past the end */
	pattern(wbuf, "written", 150, 1);
	expect_status(write_sectors(0, 150, wbuf, 100, "100-byte write"), VIRTIO_BLK_S_IOERR,
		      "100-byte write");
	pattern(wbuf, "written", capacity - 1, 2);
	expect_status(write_sectors(0, capacity - 1, wbuf, 2 * SECTOR, "write past the end"),
		      VIRTIO_BLK_S_IOERR, "write past the end");
	expect_status(request(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, &len, "FLUSH"),
		      VIRTIO_BLK_S_OK, "FLUSH");
	CHECK(len == 1, "FLUSH: used len %u, want 1", len);

	read_sectors(0, 100, rbuf, 4, "read back 100-103");
	check_pattern(rbuf, 4 * SECTOR, "written", 100, 0, "read back 100-103");
	read_sectors(0, 200, rbuf, 2, "read back 200-201");
	check_pattern(rbuf, 2 * SECTOR, "written", 200, 0, "read back 200-201");
	read_sectors(0, 150, rbuf, 1, "read 150");
	check_pattern(rbuf, SECTOR, "initial", 150, 0, "sector 150 after a 100-byte write");
	read_sectors(0, capacity - 1, rbuf, 1, "read the last sector");
	check_pattern(rbuf, SECTOR, "initial", capacity - 1, 0, "last sector after IOERR write");
	printf("BLK wrote 100-103 (3 segments) and 200-201, FLUSH, read back\n");
}

static void zeroes(void)
{
	expect_status(range_cmd(VIRTIO_BLK_T_WRITE_ZEROES, 300, 2, 0, "WRITE_ZEROES 300-301"),
		      VIRTIO_BLK_S_OK, "WRITE_ZEROES 300-301");
	expect_status(range_cmd(VIRTIO_BLK_T_WRITE_ZEROES, 302, 4, RANGE_F_UNMAP,
				"WRITE_ZEROES unmap 302-305"),
		      VIRTIO_BLK_S_OK, "WRITE_ZEROES unmap 302-305");
	expect_status(range_cmd(VIRTIO_BLK_T_DISCARD, 312, 8, 0, "DISCARD 312-319"),
		      VIRTIO_BLK_S_OK, "DISCARD 312-319");
	expect_status(range_cmd(VIRTIO_BLK_T_WRITE_ZEROES, capacity - 1, 2, 0,
				"WRITE_ZEROES past the end"),
		      VIRTIO_BLK_S_IOERR, "WRITE_ZEROES past the end");
	read_sectors(0, 299, rbuf, 4, "read 299-302");
	check_pattern(rbuf, SECTOR, "initial", 299, 0, "sector 299");
	CHECK(all_zero(rbuf + SECTOR, 3 * SECTOR), "WRITE_ZEROES: 300-302 do not read zeros");
	read_sectors(0, 303, rbuf, 4, "read 303-306");
	CHECK(all_zero(rbuf, 3 * SECTOR), "WRITE_ZEROES: 303-305 do not read zeros");
	check_pattern(rbuf + 3 * SECTOR, SECTOR, "initial", 306, 0, "sector 306");
	read_sectors(0, 312, rbuf, 4, "read 312-315");
	read_sectors(0, 316, rbuf2, 1, "read 316");
	printf("BLK WRITE_ZEROES 300-305 read zeros; DISCARD 312-319 reads %s\n",
	       all_zero(rbuf, 4 * SECTOR) && all_zero(rbuf2, SECTOR) ? "zeros" : "data");
	read_sectors(0, capacity - 1, rbuf, 1, "read the last sector");
	check_pattern(rbuf, SECTOR, "initial", capacity - 1, 0, "last sector after WRITE_ZEROES");
}

static void readonly_writes(void)
{
	struct vq_buf seg[3] = { { wbuf, 100 }, { wbuf + 100, 1500 }, { wbuf + 1600, 448 } };
	uint32_t len;
	uint8_t s;

	pattern(wbuf, "written", 0, 4);
	expect_status(write_sectors(0, 0, wbuf, SECTOR, "write on a read-only disk"),
		      VIRTIO_BLK_S_IOERR, "write on a read-only disk (MUST)");
	expect_status(request(0, VIRTIO_BLK_T_OUT, 100, seg, 3, false, &len,
			      "3-segment write, read-only"),
		      VIRTIO_BLK_S_IOERR, "3-segment write on a read-only disk (MUST)");
	s = request(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, &len, "FLUSH, read-only");
	printf("BLK read-only: writes IOERR, FLUSH status %u\n", s);
	expect_status(s, VIRTIO_BLK_S_OK, "FLUSH on a read-only disk");
	s = range_cmd(VIRTIO_BLK_T_WRITE_ZEROES, 300, 2, 0, "WRITE_ZEROES, read-only");
	CHECK(s != VIRTIO_BLK_S_OK, "WRITE_ZEROES on a read-only disk: OK");
	s = range_cmd(VIRTIO_BLK_T_DISCARD, 312, 8, 0, "DISCARD, read-only");
	CHECK(s != VIRTIO_BLK_S_OK, "DISCARD on a read-only disk: OK");
	read_sectors(0, 0, rbuf, 1, "read sector 0 again");
	check_pattern(rbuf, SECTOR, "initial", 0, 0, "sector 0 after writes to a read-only disk");
	read_sectors(0, 100, rbuf, 4, "read 100-103 again");
	check_pattern(rbuf, 4 * SECTOR, "initial", 100, 0, "100-103 on a read-only disk");
	check_running("writes to a read-only disk");
}

static void two_queues(void)
{
	struct vq_buf d0 = { rbuf, SECTOR }, d1 = { rbuf2, SECTOR };
	uint32_t i0 = virtio_irqs[0], i1 = virtio_irqs[1], len0, len1;
	int h0, h1;

	memset(rbuf, 0xa5, SECTOR);
	memset(rbuf2, 0xa5, SECTOR);
	h0 = post(0, 0, VIRTIO_BLK_T_IN, 5, &d0, 1, true);
	h1 = post(1, 1, VIRTIO_BLK_T_IN, 6, &d1, 1, true);
	vq_kick(&dev, &dev.vq[0]);
	vq_kick(&dev, &dev.vq[1]);
	/* sleeping for one lets the other's interrupt in too: wait for the
	 * second only if it has not come yet */
	wait_irq(1, "read on queue 1");
	if (!vq_used_pending(&dev.vq[0]) || virtio_irqs[0] == i0)
		wait_irq(0, "read on queue 0");
	expect_status(take(1, 1, h1, &len1, "read on queue 1"), VIRTIO_BLK_S_OK,
		      "read on queue 1");
	expect_status(take(0, 0, h0, &len0, "read on queue 0"), VIRTIO_BLK_S_OK,
		      "read on queue 0");
	CHECK(len0 == SECTOR + 1 && len1 == SECTOR + 1, "used lens %u and %u", len0, len1);
	check_pattern(rbuf, SECTOR, "initial", 5, 0, "queue 0 read of sector 5");
	check_pattern(rbuf2, SECTOR, "initial", 6, 0, "queue 1 read of sector 6");
	CHECK(virtio_irqs[0] != i0 && virtio_irqs[1] != i1,
	      "interrupts: queue 0 %u, queue 1 %u", virtio_irqs[0] - i0, virtio_irqs[1] - i1);

	pattern(wbuf, "written", 400, 2);
	expect_status(write_sectors(1, 400, wbuf, 2 * SECTOR, "write 400-401 on queue 1"),
		      VIRTIO_BLK_S_OK, "write 400-401 on queue 1");
	read_sectors(0, 400, rbuf, 2, "read 400-401 on queue 0");
	check_pattern(rbuf, 2 * SECTOR, "written", 400, 0, "400-401 written on 1, read on 0");
	printf("BLK queues 0 and 1: reads, interrupts %u and %u, write on 1 read on 0\n",
	       virtio_irqs[0] - i0, virtio_irqs[1] - i1);
}

/* 9: an interrupt the device raises while its vector is masked waits in
 * the PBA and arrives on unmask (PCI MSI-X; whole function or one
 * vector). */
static void masked_read(bool function_mask, const char *what)
{
	struct vq *vq = &dev.vq[0];
	struct vq_buf d = { rbuf, SECTOR };
	uint32_t irqs = virtio_irqs[vq->msix], len;
	int head;

	if (function_mask)
		pci_msix_control(&dev.msix, true, true);
	else
		pci_msix_mask(&dev.msix, vq->msix, true);
	memset(rbuf, 0xa5, SECTOR);
	head = post(0, 0, VIRTIO_BLK_T_IN, 7, &d, 1, true);
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false), "%s: read not used in %u ms", what,
	      TIMEOUT_MS);
	msleep(20);	/* an interrupt that got through would be counted by now */
	CHECK(virtio_irqs[vq->msix] == irqs, "%s: an interrupt came through the masked vector",
	      what);
	CHECK(pci_msix_pending(&dev.msix, vq->msix), "%s: PBA bit of vector %u not set", what,
	      vq->msix);
	if (function_mask)
		pci_msix_control(&dev.msix, true, false);
	else
		pci_msix_mask(&dev.msix, vq->msix, false);
	CHECK(wait_count(&virtio_irqs[vq->msix], irqs + 1, TIMEOUT_MS),
	      "%s: no interrupt when the vector was unmasked", what);
	CHECK(!pci_msix_pending(&dev.msix, vq->msix), "%s: PBA bit still set after delivery",
	      what);
	expect_status(take(0, 0, head, &len, what), VIRTIO_BLK_S_OK, what);
	check_pattern(rbuf, SECTOR, "initial", 7, 0, what);
}

static void masking(void)
{
	masked_read(false, "read with the vector masked");
	masked_read(true, "read with the function masked");
	printf("BLK masked vector and function: pending in the PBA, delivered on unmask\n");
	check_running("masking");
}

/* 5.2.6.2 device MUSTs on the flags of DISCARD and WRITE_ZEROES. */
static void range_flags(void)
{
	uint8_t s;

	s = range_cmd(VIRTIO_BLK_T_DISCARD, 320, 8, RANGE_F_UNMAP, "DISCARD with unmap");
	CHECK(s == VIRTIO_BLK_S_UNSUPP,
	      "DISCARD with the unmap flag: status %u, want UNSUPP (2) (5.2.6.2 MUST)", s);
	s = range_cmd(VIRTIO_BLK_T_WRITE_ZEROES, 330, 2, 2, "WRITE_ZEROES reserved flag");
	CHECK(s == VIRTIO_BLK_S_UNSUPP,
	      "WRITE_ZEROES with reserved flag bit 1: status %u, want UNSUPP (2) (5.2.6.2 MUST)",
	      s);
	printf("BLK unknown range flags: UNSUPP\n");
	check_running("range flags");
}

void guest_main(const struct hvm_start_info *si)
{
	char v[16];

	if (cmdline_get(si, "blk.mode", v, sizeof(v)))
		readonly = !strcmp(v, "ro");
	if (cmdline_get(si, "blk.mq", v, sizeof(v)))
		nqueues = (unsigned)parse_u64(v);
	if (cmdline_get(si, "blk.qsize", v, sizeof(v)))
		qsize = (unsigned)parse_u64(v);
	cmdline_get(si, "blk.serial", serial, sizeof(serial));
	if (cmdline_get(si, "blk.backend", v, sizeof(v)))
		vhost_backend = !strcmp(v, "vhost");
	CHECK(nqueues >= 1 && nqueues <= VIRTIO_MAX_VQ, "blk.mq=%u: the library does 1 or 2",
	      nqueues);

	virtio_find(&dev, VIRTIO_ID_BLOCK, VECTOR_BASE);
	printf("virtio_blk: 00:%02x.%x, %u MSI-X vectors, %s, %u queue(s)\n", PCI_DEV(dev.bdf),
	       PCI_FN(dev.bdf), dev.msix.nvec, readonly ? "read-only" : "read-write", nqueues);
	features_and_config();
	bring_up();
	reads();
	beyond_capacity();
	unknown_types();
	get_id();
	if (readonly) {
		readonly_writes();
	} else {
		writes();
		zeroes();
	}
	if (nqueues > 1)
		two_queues();
	if (!readonly && !vhost_backend)
		range_flags();
	masking();
	pass();
}
