// SPDX-License-Identifier: MIT
/*
 * virtio-blk direct=on (virtio/blk/direct.c), driven as a guest drives
 * it on a fake VM, against an image on this machine's disk:
 *   - the image is open with O_DIRECT (its file status flags say so);
 *   - a read into a page-aligned buffer and one into a buffer at an odd
 *     address (O_DIRECT refuses that memory, so it goes through the I/O
 *     thread's aligned buffer) both bring the image's bytes;
 *   - a write from an odd address lands in the image, its neighbours
 *     untouched.
 * Skipped where the file system of /var/tmp takes no O_DIRECT.
 */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "fake_vm.h"
#include "virtio/blk/blk.h"
#include "virtio/virtqueue.h"

#if IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT)

#define QSIZE 16
#define SECTOR 512u
#define SECTORS 64u
#define HDR_GPA 0x200000ull
#define STATUS_GPA 0x201000ull

static struct fake_vm fv;
static unsigned slot;
static char dir[64], image[96];
static bool usable;

struct hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off / SECTOR * 7 + off % 251);
}

static int setup(void **state)
{
	char kernel[96], disk_arg[128];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M", "--serial", "null",
			       "--disk", disk_arg, NULL };
	uint8_t buf[SECTORS * SECTOR];
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/var/tmp/wisp-direct-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(image, sizeof(image), "%s/disk.img", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	fd = open(image, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) && !close(fd));
	fd = open(image, O_RDONLY | O_DIRECT);
	usable = fd >= 0;
	if (!usable)
		return 0;
	close(fd);
	snprintf(disk_arg, sizeof(disk_arg), "path=%s,direct=on", image);
	fake_vm_create(&fv, argv);
	fake_vm_reset(&fv);
	slot = fake_find(&fv, 0x1042);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* One request of three descriptors (header, data, status), made
 * available and kicked; its status once the I/O thread pushed it. */
static uint16_t idx;	/* the next avail index; 0 when the queue is set up */

static uint8_t request(uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
	struct hdr h = { type, 0, sector };
	struct virtq_avail *a = fake_ram(&fv, FAKE_RING_GPA(0) + 0x1000, VIRTQ_AVAIL_BYTES(QSIZE));
	volatile struct virtq_used *u = fake_ram(&fv, FAKE_RING_GPA(0) + 0x2000, VIRTQ_USED_BYTES(QSIZE));
	uint16_t head = (uint16_t)(3 * (idx % 4));

	memcpy(fake_ram(&fv, HDR_GPA, sizeof(h)), &h, sizeof(h));
	*(uint8_t *)fake_ram(&fv, STATUS_GPA, 1) = 0xff;
	fake_put_desc(&fv, FAKE_RING_GPA(0), head, HDR_GPA, sizeof(h), VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	fake_put_desc(&fv, FAKE_RING_GPA(0), head + 1u, data, len, VIRTQ_DESC_F_NEXT | (type ? 0 : VIRTQ_DESC_F_WRITE),
		 (uint16_t)(head + 2));
	fake_put_desc(&fv, FAKE_RING_GPA(0), head + 2u, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	a->ring[idx % QSIZE] = head;
	a->idx = ++idx;
	fake_notify(&fv, slot, 0);
	for (int i = 0; i < 500 && u->idx != idx; i++)
		usleep(2000);
	assert_int_equal(u->idx, idx);
	return *(uint8_t *)fake_ram(&fv, STATUS_GPA, 1);
}

static bool image_opened_direct(void)
{
	char path[64], target[128], line[128];
	bool direct = false;

	for (int fd = 3; fd < 1024 && !direct; fd++) {
		ssize_t n;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, image))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags:", 6))
				direct |= (strtoul(line + 6, NULL, 8) & O_DIRECT) != 0;
		fclose(f);
	}
	return direct;
}

static void expect_image_bytes(const uint8_t *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(off + i))
			fail_msg("byte %zu of the image: 0x%x, want 0x%x", (size_t)(off + i), p[i],
				 pattern(off + i));
}

static void test_opened_direct(void **state)
{
	(void)state;
	if (!usable)
		skip();
	assert_true(image_opened_direct());
}

static void test_reads(void **state)
{
	(void)state;
	if (!usable)
		skip();
	memset(fake_ram(&fv, FAKE_RING_GPA(0), 0x3000), 0, 0x3000);
	fake_setup_queue(&fv, slot, 0, QSIZE);
	idx = 0;
	/* aligned: straight into guest memory */
	blk_direct_bounces = 0;
	assert_int_equal(request(0, 3, 0x300000, 2 * SECTOR), 0);
	expect_image_bytes(fake_ram(&fv, 0x300000, 2 * SECTOR), 3 * SECTOR, 2 * SECTOR);
	assert_int_equal(blk_direct_bounces, 0);
	/* an odd address: through the bounce buffer */
	assert_int_equal(request(0, 5, 0x310001, 3 * SECTOR), 0);
	expect_image_bytes(fake_ram(&fv, 0x310001, 3 * SECTOR), 5 * SECTOR, 3 * SECTOR);
	assert_int_equal(blk_direct_bounces, 1);
	fake_vm_reset(&fv);
}

static void test_unaligned_write(void **state)
{
	uint8_t back[3 * SECTOR];
	int fd;

	(void)state;
	if (!usable)
		skip();
	memset(fake_ram(&fv, FAKE_RING_GPA(0), 0x3000), 0, 0x3000);
	fake_setup_queue(&fv, slot, 0, QSIZE);
	idx = 0;
	memset(fake_ram(&fv, 0x320003, SECTOR), 0xa5, SECTOR);
	blk_direct_bounces = 0;
	assert_int_equal(request(1, 10, 0x320003, SECTOR), 0);
	assert_int_equal(blk_direct_bounces, 1);
	fake_vm_reset(&fv);
	fd = open(image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 9 * SECTOR), (ssize_t)sizeof(back));
	close(fd);
	expect_image_bytes(back, 9 * SECTOR, SECTOR);
	for (unsigned i = 0; i < SECTOR; i++)
		assert_int_equal(back[SECTOR + i], 0xa5);
	expect_image_bytes(back + 2 * SECTOR, 11 * SECTOR, SECTOR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opened_direct),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_unaligned_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void)
{
	return 0;	/* direct=on is not built */
}
#endif
