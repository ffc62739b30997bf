/* SPDX-License-Identifier: MIT */
/*
 * Host disk errors reach the guest as VIRTIO_BLK_S_IOERR and nothing
 * else breaks.  The command line says which kind of disk wisp has:
 *
 *   ioerr=full   a sparse image on a full filesystem: sector 0 reads;
 *                writes into the holes fail (ENOSPC on the host) until
 *                one comes back IOERR; FLUSH answers; sector 0 still
 *                reads afterwards.
 *   ioerr=all    a device whose every access fails (a device-mapper
 *                error target): reads and writes come back IOERR.
 *
 * Either way the queue never needs a reset, and the guest reaching its
 * RESULT line shows wisp kept running.
 */
#include "virtio.h"

#define QSIZE 8
#define TIMEOUT_MS 5000
#define SECTOR 512
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define MAX_WRITES 4096		/* 2 MiB: more than the full filesystem's slack */

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct virtio_dev blk;
static struct blk_hdr hdr;
static uint8_t data[SECTOR * 8] __attribute__((aligned(64)));
static uint8_t status;

static uint8_t request(uint32_t type, uint64_t sector, uint32_t len)
{
	struct vq_buf b[3] = { { &hdr, sizeof(hdr) }, { data, len }, { &status, 1 } };
	bool in = type == BLK_T_IN;
	uint32_t id, used_len;
	int head;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	if (!len) {
		b[1] = b[2];
		head = vq_add(&blk.vq[0], b, 1, 1);
	} else {
		head = vq_add(&blk.vq[0], b, in ? 1 : 2, in ? 2 : 1);
	}
	CHECK(head >= 0, "no free descriptor");
	vq_kick(&blk, &blk.vq[0]);
	CHECK(vq_wait_used(&blk, &blk.vq[0], 1, TIMEOUT_MS, false),
	      "request type %u sector %lu did not complete (status 0x%x)", type, sector,
	      virtio_status(&blk));
	CHECK(vq_get_used(&blk.vq[0], &id, &used_len) && id == (uint32_t)head, "used id %u", id);
	CHECK(!(virtio_status(&blk) & VIRTIO_STATUS_NEEDS_RESET),
	      "a host error broke the queue (status 0x%x)", virtio_status(&blk));
	return status;
}

static void full_filesystem(void)
{
	unsigned n;
	uint8_t s = BLK_S_OK;

	CHECK(request(BLK_T_IN, 0, SECTOR) == BLK_S_OK, "read sector 0: status %u", status);
	memset(data, 'w', sizeof(data));
	for (n = 0; n < MAX_WRITES && s == BLK_S_OK; n++)
		s = request(BLK_T_OUT, 8 + 8ull * n, sizeof(data));
	CHECK(s == BLK_S_IOERR, "%u writes into a full filesystem, last status %u", n, s);
	printf("blk_ioerr: write %u (sector %u) came back IOERR\n", n, 8 + 8 * (n - 1));
	s = request(BLK_T_FLUSH, 0, 0);
	CHECK(s == BLK_S_OK || s == BLK_S_IOERR, "flush: status %u", s);
	CHECK(request(BLK_T_IN, 0, SECTOR) == BLK_S_OK, "read sector 0 afterwards: status %u",
	      status);
	printf("blk_ioerr: flush status %u; sector 0 still reads\n", s);
}

static void failing_device(void)
{
	CHECK(request(BLK_T_IN, 0, SECTOR) == BLK_S_IOERR, "read: status %u, want IOERR", status);
	CHECK(request(BLK_T_OUT, 8, SECTOR) == BLK_S_IOERR, "write: status %u, want IOERR",
	      status);
	CHECK(request(BLK_T_IN, 16, SECTOR) == BLK_S_IOERR, "second read: status %u", status);
	printf("blk_ioerr: reads and writes came back IOERR\n");
}

void guest_main(const struct hvm_start_info *si)
{
	char mode[16];

	CHECK(cmdline_get(si, "ioerr", mode, sizeof(mode)), "no ioerr= on the command line");
	virtio_find(&blk, VIRTIO_ID_BLOCK, 0x60);
	virtio_init(&blk, VIRTIO_F(VIRTIO_F_VERSION_1));
	virtio_msix_setup(&blk);
	vq_setup(&blk, 0, QSIZE, 0);
	virtio_driver_ok(&blk);
	if (!strcmp(mode, "full"))
		full_filesystem();
	else
		failing_device();
	pass();
}
