// SPDX-License-Identifier: MIT
/*
 * virtio-balloon driven as a guest drives it, on a fake VM (no KVM):
 *   - an inflated page comes back from the host zeroed (it was given
 *     back), and page frame numbers outside guest RAM (past its end, the
 *     top of the 32-bit range, device memory as virtio-pmem adds) are
 *     ignored without harm: the device memory keeps its bytes;
 *   - a free-page report gives back only the whole pages inside the
 *     reported range: a partial page at either end keeps its bytes;
 *   - the guest may write `actual` in the config space, never the target;
 *   - the statistics buffer is held until the timer gives it back, and a
 *     second one gives the first back at once; the first, which Linux
 *     kicks before it sets DRIVER_OK, is read when DRIVER_OK comes, and
 *     one held when a snapshot is saved is held again after its load;
 *   - the VM's reclaim hook (vm.resize, vm.info) sets the target and
 *     reads `actual`, bounded by RAM.
 */
#include "unit.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_vm.h"
#include "snap_device.h"
#include "virtio/virtqueue.h"

#define QSIZE 16
#define PAGE 4096u
#define PATTERN 0x5a

static struct fake_vm fv;
static unsigned slot;
static char dir[64];

static int setup(void **state)
{
	const char *argv[] = { "wisp", "--kernel", NULL, "--memory", "size=16M", "--serial", "null",
			       "--balloon", "size=4M,free_page_reporting=on,stats_polling_interval_s=1", NULL };
	char kernel[96];
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wisp-balloon-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	argv[2] = kernel;
	fake_vm_create(&fv, argv);
	fake_vm_reset(&fv);
	slot = fake_find(&fv, 0x1040 + 5);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static uint16_t next_idx[4];	/* per queue, the next avail entry offer() fills */

/* One chain of one descriptor on queue q, made available and kicked. */
static void offer(unsigned q, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct virtq_desc d = { addr, len, flags, 0 };
	struct virtq_avail *a = fake_ram(&fv, FAKE_RING_GPA(q) + 0x1000, VIRTQ_AVAIL_BYTES(QSIZE));
	uint16_t i = next_idx[q]++;

	memcpy(fake_ram(&fv, FAKE_RING_GPA(q) + 16ull * (i % QSIZE), 16), &d, 16);
	a->ring[i % QSIZE] = i % QSIZE;
	a->idx = (uint16_t)(i + 1);
	fake_notify(&fv, slot, q);
}

static uint16_t used_idx(unsigned q)
{
	return ((struct virtq_used *)fake_ram(&fv, FAKE_RING_GPA(q) + 0x2000, VIRTQ_USED_BYTES(QSIZE)))->idx;
}

static bool page_is(uint64_t gpa, uint8_t byte)
{
	const uint8_t *p = fake_ram(&fv, gpa, PAGE);

	for (unsigned i = 0; i < PAGE; i++)
		if (p[i] != byte)
			return false;
	return true;
}

static void test_inflate(void **state)
{
	const uint64_t kept = 0x300000, given = 0x301000;
	uint32_t pfns[] = { (uint32_t)(given / PAGE), (uint32_t)(FAKE_VM_RAM / PAGE),
			    (uint32_t)(FAKE_VM_RAM / PAGE) + 100, 0xffffffffu, 0 };
	/* private, so a page discarded would read back as zeroes */
	uint8_t *dev = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const struct mem_region *r;

	(void)state;
	assert_true(dev != MAP_FAILED);
	memset(dev, PATTERN, PAGE);
	r = memory_add_device(&fv.vm.mem, dev, PAGE, PAGE, false);
	assert_non_null(r);
	pfns[4] = (uint32_t)(r->gpa / PAGE);

	memset(fake_ram(&fv, FAKE_RING_GPA(0), 0x3000), 0, 0x3000);
	fake_setup_queue(&fv, slot, 0, QSIZE);
	memset(fake_ram(&fv, kept, 2 * PAGE), PATTERN, 2 * PAGE);
	memcpy(fake_ram(&fv, 0x200000, sizeof(pfns)), pfns, sizeof(pfns));
	/* and a length that is no multiple of 4: its last bytes are no PFN */
	offer(0, 0x200000, sizeof(pfns) + 3, 0);
	assert_int_equal(used_idx(0), 1);
	assert_true(page_is(given, 0));
	assert_true(page_is(kept, PATTERN));
	assert_true(page_is(r->gpa, PATTERN));
	assert_false(fake_status(&fv, slot) & 0x40);	/* no NEEDS_RESET */
	fake_vm_reset(&fv);
}

static void test_free_page_report(void **state)
{
	const uint64_t start = 0x400000 + 100, len = 3 * PAGE;	/* pages 0x400..0x403 touched */

	(void)state;
	/* queue 3: the statistics queue, negotiated, is 2 */
	memset(fake_ram(&fv, FAKE_RING_GPA(3), 0x3000), 0, 0x3000);
	fake_setup_queue(&fv, slot, 3, QSIZE);
	memset(fake_ram(&fv, 0x400000, 4 * PAGE), PATTERN, 4 * PAGE);
	offer(3, start, (uint32_t)len, VIRTQ_DESC_F_WRITE);
	assert_int_equal(used_idx(3), 1);
	/* the first and last pages are only partly in the range */
	assert_true(page_is(0x400000, PATTERN));
	assert_true(page_is(0x401000, 0));
	assert_true(page_is(0x402000, 0));
	assert_true(page_is(0x403000, PATTERN));
	fake_vm_reset(&fv);
}

static void test_config_target_read_only(void **state)
{
	/* the device-specific config: BAR 0 + 0x2000 in wisp's layout */
	const uint64_t cfg = FAKE_BAR(slot) + 0x2000;

	(void)state;
	fake_cfg_write(&fv, slot, 0x04, 0x6, 2);
	assert_int_equal(fake_mmio_read(&fv, cfg, 4), (4u << 20) / PAGE);
	fake_mmio(&fv, cfg, 7, 4, true);		/* num_pages: not the guest's */
	fake_mmio(&fv, cfg + 4, 1024, 4, true);		/* actual */
	assert_int_equal(fake_mmio_read(&fv, cfg, 4), (4u << 20) / PAGE);
	assert_int_equal(fake_mmio_read(&fv, cfg + 4, 4), 1024);
	fake_vm_reset(&fv);
}

/* Tag/value pairs as Linux sends them, one with an unknown tag. */
static void put_stats(uint64_t gpa)
{
	uint8_t buf[3 * 10] = { 0 };

	buf[0] = 4;			/* free memory */
	buf[2] = 0x10;
	buf[10] = 5;			/* total memory */
	buf[12] = 0x20;
	buf[20] = 0xff;			/* unknown: read past */
	memcpy(fake_ram(&fv, gpa, sizeof(buf)), buf, sizeof(buf));
}

static void test_stats_held_until_timer(void **state)
{
	(void)state;
	memset(fake_ram(&fv, FAKE_RING_GPA(2), 0x3000), 0, 0x3000);
	fake_setup_queue(&fv, slot, 2, QSIZE);
	put_stats(0x500000);
	offer(2, 0x500000, 3 * 10 + 4, 0);	/* and a partial entry */
	assert_int_equal(used_idx(2), 0);	/* held */
	offer(2, 0x500000, 3 * 10, 0);		/* a second: the first goes back */
	assert_int_equal(used_idx(2), 1);
	/* the timer (1 s) asks for new numbers by giving the buffer back */
	for (int i = 0; i < 30 && used_idx(2) < 2; i++)
		event_loop_poll(fv.vm.loop, 100);
	assert_int_equal(used_idx(2), 2);
	assert_false(fake_status(&fv, slot) & 0x40);
	fake_vm_reset(&fv);
}

/* Linux's order: the first buffer is added and kicked, then DRIVER_OK. */
static void test_stats_kicked_before_driver_ok(void **state)
{
	uint64_t bar = FAKE_BAR(slot);
	uint16_t *avail_idx = fake_ram(&fv, FAKE_RING_GPA(2) + 0x1002, 2);
	struct virtq_desc d = { 0x500000, 3 * 10, 0, 0 };

	(void)state;
	memset(fake_ram(&fv, FAKE_RING_GPA(2), 0x3000), 0, 0x3000);
	put_stats(0x500000);
	fake_negotiate(&fv, slot);
	fake_add_queue(&fv, slot, 2, QSIZE);
	memcpy(fake_ram(&fv, FAKE_RING_GPA(2), 16), &d, 16);
	*avail_idx = 1;
	fake_notify(&fv, slot, 2);
	assert_int_equal(used_idx(2), 0);
	fake_mmio(&fv, bar + FAKE_CC_STATUS, 0xf, 1, true);	/* DRIVER_OK */
	/* read, and held for the timer: it goes back within 1 s */
	for (int i = 0; i < 30 && used_idx(2) < 1; i++)
		event_loop_poll(fv.vm.loop, 100);
	assert_int_equal(used_idx(2), 1);
	assert_false(fake_status(&fv, slot) & 0x40);
	fake_vm_reset(&fv);
}

#ifdef CONFIG_SNAPSHOT
static void test_stats_held_across_snapshot(void **state)
{
	struct snap_writer w;

	(void)state;
	memset(fake_ram(&fv, FAKE_RING_GPA(2), 0x3000), 0, 0x3000);
	next_idx[2] = 0;
	fake_setup_queue(&fv, slot, 2, QSIZE);
	put_stats(0x500000);
	offer(2, 0x500000, 3 * 10, 0);
	assert_int_equal(used_idx(2), 0);	/* held */
	snap_device_save("virtio-balloon", &w);
	fake_vm_reset(&fv);			/* a reset drops it */
	assert_int_equal(snap_device_load("virtio-balloon", w.data, w.len), 0);
	/* held again, so the timer can give it back for new numbers */
	for (int i = 0; i < 30 && used_idx(2) < 1; i++)
		event_loop_poll(fv.vm.loop, 100);
	assert_int_equal(used_idx(2), 1);
	assert_false(fake_status(&fv, slot) & 0x40);
	snap_writer_free(&w);
	fake_vm_reset(&fv);
}
#endif

static void test_reclaim_hook(void **state)
{
	const uint64_t cfg = FAKE_BAR(slot) + 0x2000;
	const struct vm_reclaim *r = fv.vm.reclaim;
	void *o = fv.vm.reclaim_opaque;

	(void)state;
	assert_non_null(r);
	fake_cfg_write(&fv, slot, 0x04, 0x6, 2);
	assert_int_equal(r->target(o, 8u << 20), 0);
	assert_int_equal(fake_mmio_read(&fv, cfg, 4), (8u << 20) / PAGE);
	assert_int_equal(r->target(o, FAKE_VM_RAM + PAGE), -1);
	assert_int_equal(fake_mmio_read(&fv, cfg, 4), (8u << 20) / PAGE);
	fake_mmio(&fv, cfg + 4, 256, 4, true);
	assert_int_equal(r->taken(o), 256 * PAGE);
	/* a guest claiming more than its RAM is held to its RAM */
	fake_mmio(&fv, cfg + 4, 0xffffffffu, 4, true);
	assert_int_equal(r->taken(o), FAKE_VM_RAM);
	assert_int_equal(r->target(o, 4u << 20), 0);
	fake_mmio(&fv, cfg + 4, 0, 4, true);
	fake_vm_reset(&fv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inflate),
		cmocka_unit_test(test_free_page_report),
		cmocka_unit_test(test_config_target_read_only),
		cmocka_unit_test(test_stats_held_until_timer),
		cmocka_unit_test(test_stats_kicked_before_driver_ok),
#ifdef CONFIG_SNAPSHOT
		cmocka_unit_test(test_stats_held_across_snapshot),
#endif
		cmocka_unit_test(test_reclaim_hook),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
