// SPDX-License-Identifier: MIT
/*
 * virtio-blk queue_affinity= (CONFIG_VIRTIO_BLK_QUEUE_AFFINITY), on a
 * fake VM with a disk of two queues, queue 1 pinned to the first host
 * CPU this process may use:
 *   - queue 1's I/O threads are named blk0-q1, and the kernel has them
 *     on that CPU alone (their Cpus_allowed_list); queue 0 has no
 *     threads of its own, the disk's shared ones keep every CPU;
 *   - a write through queue 1 and one through queue 0 both land in the
 *     image (each queue's requests reach the threads that serve it);
 *   - vm.info-shaped parsing refusals live in test_cli.c.
 */
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "fake_vm.h"
#include "virtio/blk/blk.h"
#include "virtio/virtqueue.h"

#if IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY)

#define QSIZE 16
#define SECTOR 512u
#define HDR_GPA(q) (0x200000ull + (q) * 0x2000ull)
#define STATUS_GPA(q) (HDR_GPA(q) + 0x1000)
#define DATA_GPA(q) (0x300000ull + (q) * 0x1000ull)

static struct fake_vm fv;
static unsigned slot;
static char dir[64], image[96];
static int pinned_cpu;
static uint16_t idx[2];	/* each queue's next avail index */

struct hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static int setup(void **state)
{
	char kernel[96], disk_arg[160];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M", "--serial", "null",
			       "--cpus", "boot=2", "--disk", disk_arg, NULL };
	cpu_set_t own;
	int fd;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(own), &own), 0);
	for (pinned_cpu = 0; !CPU_ISSET(pinned_cpu, &own); pinned_cpu++)
		;
	snprintf(dir, sizeof(dir), "/tmp/wisp-blk-affinity-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(image, sizeof(image), "%s/disk.img", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fd = open(image, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && !ftruncate(fd, 64 * SECTOR) && !close(fd));
	snprintf(disk_arg, sizeof(disk_arg), "path=%s,num_queues=2,queue_affinity=[1@[%d]]", image,
		 pinned_cpu);
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

/* A one-sector write of `fill` through queue q; its status once pushed. */
static uint8_t write_sector(unsigned q, uint64_t sector, uint8_t fill)
{
	struct hdr h = { 1, 0, sector };
	struct virtq_avail *a = fake_ram(&fv, FAKE_RING_GPA(q) + 0x1000, VIRTQ_AVAIL_BYTES(QSIZE));
	volatile struct virtq_used *u = fake_ram(&fv, FAKE_RING_GPA(q) + 0x2000, VIRTQ_USED_BYTES(QSIZE));
	uint16_t head = (uint16_t)(3 * (idx[q] % 4));

	memcpy(fake_ram(&fv, HDR_GPA(q), sizeof(h)), &h, sizeof(h));
	memset(fake_ram(&fv, DATA_GPA(q), SECTOR), fill, SECTOR);
	*(uint8_t *)fake_ram(&fv, STATUS_GPA(q), 1) = 0xff;
	fake_put_desc(&fv, FAKE_RING_GPA(q), head, HDR_GPA(q), sizeof(h), VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	fake_put_desc(&fv, FAKE_RING_GPA(q), head + 1u, DATA_GPA(q), SECTOR, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 2));
	fake_put_desc(&fv, FAKE_RING_GPA(q), head + 2u, STATUS_GPA(q), 1, VIRTQ_DESC_F_WRITE, 0);
	a->ring[idx[q] % QSIZE] = head;
	a->idx = ++idx[q];
	fake_notify(&fv, slot, q);
	for (int i = 0; i < 500 && u->idx != idx[q]; i++)
		usleep(2000);
	assert_int_equal(u->idx, idx[q]);
	return *(uint8_t *)fake_ram(&fv, STATUS_GPA(q), 1);
}

/* This process's threads named `name`, and whether each one's
 * Cpus_allowed_list is exactly `cpus`. */
static unsigned threads_named(const char *name, const char *cpus, bool *all_match)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	*all_match = true;
	while ((e = readdir(d))) {
		char path[300], line[256];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, name))
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "Cpus_allowed_list:", 18))
				continue;
			line[strcspn(line, "\n")] = '\0';
			*all_match &= !strcmp(line + 18 + strspn(line + 18, " \t"), cpus);
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static void test_threads_pinned(void **state)
{
	char cpu[16];
	bool match;

	(void)state;
	snprintf(cpu, sizeof(cpu), "%d", pinned_cpu);
	assert_int_equal(threads_named("blk0-q1", cpu, &match), QUEUE_IO_THREADS);
	assert_true(match);
	/* queue 0 has no entry: it shares the disk's unnamed threads */
	assert_int_equal(threads_named("blk0-q0", cpu, &match), 0);
}

static void test_both_queues_write(void **state)
{
	uint8_t back[2 * SECTOR];
	int fd;

	(void)state;
	memset(fake_ram(&fv, FAKE_RING_GPA(0), 0x8000), 0, 0x8000);
	fake_setup_queue(&fv, slot, 0, QSIZE);
	fake_setup_queue(&fv, slot, 1, QSIZE);
	assert_int_equal(write_sector(1, 4, 0x11), 0);
	assert_int_equal(write_sector(0, 5, 0x22), 0);
	assert_int_equal(write_sector(1, 5, 0x33), 0);
	fake_vm_reset(&fv);
	fd = open(image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 4 * SECTOR), (ssize_t)sizeof(back));
	close(fd);
	assert_int_equal(back[0], 0x11);
	assert_int_equal(back[SECTOR - 1], 0x11);
	assert_int_equal(back[SECTOR], 0x33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_pinned),
		cmocka_unit_test(test_both_queues_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void)
{
	return 0;	/* queue_affinity= is not built */
}
#endif
