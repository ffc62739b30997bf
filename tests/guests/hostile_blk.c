/* SPDX-License-Identifier: MIT */
/*
 * A hostile driver against virtio-blk, with virtio-rng beside it as the
 * bystander that must keep working.  wisp must stay up throughout (this
 * guest reaching its RESULT line is the proof).
 *
 *   1. A reused head: one read request made available twice while the
 *      device still holds it.  The disk reports NEEDS_RESET; the rng,
 *      asked while the disk is broken, answers; after a reset the disk
 *      reads again.
 *   2. An overflowing length: a data descriptor of 0xffffffff bytes
 *      starting in RAM.  NEEDS_RESET, then reset and a good read.
 *   3. A sector number whose byte offset overflows 64 bits: the request
 *      completes with IOERR (bad input, not a broken queue).
 *   4. A notification flood: 100000 notifications on the disk's and the
 *      rng's queues with nothing posted; then both devices answer.
 */
#include "virtio.h"

#define QSIZE 8
#define TIMEOUT_MS 3000
#define SECTOR 512
#define BLK_T_IN 0
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define FLOOD 100000

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct virtio_dev blk, rng;
static struct blk_hdr hdr;
static uint8_t data[SECTOR] __attribute__((aligned(64)));
static uint8_t status;
static uint8_t rbuf[64] __attribute__((aligned(64)));

static void bring_up(struct virtio_dev *d)
{
	virtio_init(d, VIRTIO_F(VIRTIO_F_VERSION_1));
	virtio_msix_setup(d);
	virtio_msix_config(d, 1);
	vq_setup(d, 0, QSIZE, 0);
	virtio_driver_ok(d);
}

static void reset(struct virtio_dev *d, const char *after)
{
	CHECK(virtio_reset(d), "after %s: device_status reads 0x%x after writing 0", after,
	      virtio_status(d));
	bring_up(d);
}

/* Posts a read of `sector` whose data buffer is `len` bytes at `addr`;
 * returns its head, not yet notified. */
static int post_read(uint64_t sector, void *addr, uint32_t len)
{
	struct vq_buf b[3] = { { &hdr, sizeof(hdr) }, { addr, len }, { &status, 1 } };

	hdr.type = BLK_T_IN;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	return vq_add(&blk.vq[0], b, 1, 2);
}

/* A read that must complete; returns its status byte. */
static uint8_t read_sector(uint64_t sector, const char *what)
{
	uint32_t id, len;
	int head = post_read(sector, data, SECTOR);

	CHECK(head >= 0, "%s: no free descriptor", what);
	vq_kick(&blk, &blk.vq[0]);
	CHECK(vq_wait_used(&blk, &blk.vq[0], 1, TIMEOUT_MS, false),
	      "%s: the read did not complete (status 0x%x)", what, virtio_status(&blk));
	CHECK(vq_get_used(&blk.vq[0], &id, &len) && id == (uint32_t)head, "%s: used id %u", what,
	      id);
	return status;
}

static void good_read(const char *what)
{
	CHECK(read_sector(0, what) == BLK_S_OK, "%s: status %u", what, status);
	CHECK(data[0] == 'i', "%s: sector 0 starts with 0x%x", what, data[0]);
}

static void rng_answers(const char *what)
{
	struct vq_buf b = { rbuf, sizeof(rbuf) };
	uint32_t id, len;
	int head;

	memset(rbuf, 0, sizeof(rbuf));
	head = vq_add(&rng.vq[0], &b, 0, 1);
	CHECK(head >= 0, "%s: rng: no free descriptor", what);
	vq_kick(&rng, &rng.vq[0]);
	CHECK(vq_wait_used(&rng, &rng.vq[0], 1, TIMEOUT_MS, false),
	      "%s: the rng did not answer (status 0x%x)", what, virtio_status(&rng));
	CHECK(vq_get_used(&rng.vq[0], &id, &len) && id == (uint32_t)head && len == sizeof(rbuf),
	      "%s: rng used id %u len %u", what, id, len);
}

static bool wait_needs_reset(struct virtio_dev *d)
{
	for (unsigned ms = 0; ms < TIMEOUT_MS; ms++) {
		if (virtio_status(d) & VIRTIO_STATUS_NEEDS_RESET)
			return true;
		msleep(1);
	}
	return false;
}

static void reused_head(void)
{
	const char *what = "reused head";
	int head = post_read(0, data, SECTOR);

	CHECK(head >= 0, "%s: no free descriptor", what);
	vq_publish(&blk.vq[0], (uint16_t)head);	/* the same head again */
	vq_notify(&blk, &blk.vq[0]);
	CHECK(wait_needs_reset(&blk), "%s: status 0x%x lacks NEEDS_RESET", what,
	      virtio_status(&blk));
	rng_answers(what);
	printf("hostile_blk: %s: NEEDS_RESET, status 0x%x; rng still answers\n", what,
	       virtio_status(&blk));
	reset(&blk, what);
	good_read("after a reused head");
}

static void overflowing_length(void)
{
	const char *what = "length 0xffffffff";
	int head = post_read(0, data, 0xffffffffu);

	CHECK(head >= 0, "%s: no free descriptor", what);
	vq_notify(&blk, &blk.vq[0]);
	CHECK(wait_needs_reset(&blk), "%s: status 0x%x lacks NEEDS_RESET", what,
	      virtio_status(&blk));
	rng_answers(what);
	printf("hostile_blk: %s: NEEDS_RESET, status 0x%x; rng still answers\n", what,
	       virtio_status(&blk));
	reset(&blk, what);
	good_read("after an overflowing length");
}

static void overflowing_sector(void)
{
	uint8_t s = read_sector(0xffffffffffffffffull, "sector 2^64-1");

	CHECK(s == BLK_S_IOERR, "sector 2^64-1: status %u, want IOERR", s);
	s = read_sector(1ull << 55, "sector 2^55");
	CHECK(s == BLK_S_IOERR, "sector 2^55: status %u, want IOERR", s);
	CHECK(!(virtio_status(&blk) & VIRTIO_STATUS_NEEDS_RESET), "bad sectors broke the queue");
	printf("hostile_blk: overflowing sectors: IOERR, queue fine\n");
}

static void flood(void)
{
	for (unsigned i = 0; i < FLOOD; i++) {
		vq_notify(&blk, &blk.vq[0]);
		vq_notify(&rng, &rng.vq[0]);
	}
	good_read("after a notification flood");
	rng_answers("after a notification flood");
	printf("hostile_blk: %u notifications on each queue, both devices answer\n", FLOOD);
}

void guest_main(const struct hvm_start_info *si)
{
	(void)si;
	virtio_find(&blk, VIRTIO_ID_BLOCK, 0x60);
	virtio_find(&rng, VIRTIO_ID_RNG, 0x70);
	bring_up(&blk);
	bring_up(&rng);
	good_read("set-up");
	rng_answers("set-up");
	reused_head();
	overflowing_length();
	overflowing_sector();
	flood();
	pass();
}
