// SPDX-License-Identifier: MIT
/*
 * Guest RAM (core/memory.c): with shared=on it is a memfd that goes to
 * vhost-user back-ends, sealed against shrinking and growing, so a
 * back-end that truncates it cannot make wisp's next guest access die
 * of SIGBUS.  Device memory (virtio-pmem's file) is never a target of
 * the devices' DMA, for the same reason.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/kconfig.h"
#include "core/memory.h"
#include "virtio/virtqueue.h"

#define RAM_SIZE (4ull << 20)

static void test_shared_memfd_sealed(void **state)
{
	static const uint64_t layout[][2] = { { 0, RAM_SIZE } };
	struct memory_config cfg = { .size = RAM_SIZE, .shared = true };
	struct guest_memory mem;
	uint8_t *ram;

	(void)state;
	if (!IS_ENABLED(CONFIG_MEMORY_SHARED))
		skip();
	assert_int_equal(memory_init(&mem, &cfg, layout, 1), 0);
	assert_true(mem.fd >= 0);
	/* what a hostile back-end would do with the fd it was sent */
	errno = 0;
	assert_int_equal(ftruncate(mem.fd, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(mem.fd, (off_t)(RAM_SIZE * 2)), -1);
	/* the RAM is still all there: the last page can be written */
	ram = gpa_ptr(&mem, 0, RAM_SIZE);
	assert_non_null(ram);
	memset(ram + RAM_SIZE - 4096, 0x5a, 4096);
	assert_int_equal(ram[RAM_SIZE - 1], 0x5a);
	memory_destroy(&mem);
}

static void test_device_memory_no_dma(void **state)
{
	static const uint64_t layout[][2] = { { 0, RAM_SIZE } };
	struct memory_config cfg = { .size = RAM_SIZE };
	static uint8_t device[1 << 16];
	const struct mem_region *r;
	struct guest_memory mem;
	struct virtq_dma dma;
	uint64_t len = 64;

	(void)state;
	assert_int_equal(memory_init(&mem, &cfg, layout, 1), 0);
	r = memory_add_device(&mem, device, sizeof(device), 1ull << 21, false);
	assert_non_null(r);
	virtq_dma_guest(&dma, &mem);
	/* RAM: yes, both ways */
	assert_non_null(dma.map(dma.opaque, 0x1000, &len, false));
	assert_non_null(dma.map(dma.opaque, 0x1000, &len, true));
	/* the device region: neither way */
	assert_null(dma.map(dma.opaque, r->gpa, &len, false));
	assert_null(dma.map(dma.opaque, r->gpa + 4096, &len, true));
	memory_destroy(&mem);
}

/* The number in /proc/meminfo's line `name`, or -1. */
static long meminfo(const char *name)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name)) && line[strlen(name)] == ':')
			v = strtol(line + strlen(name) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* reserve=on (cloud-hypervisor's key) maps RAM without MAP_NORESERVE:
 * huge pages are reserved when RAM is mapped, so a host without enough
 * of them refuses at start-up instead of killing the guest with SIGBUS
 * at its first touch of a page that is not there. */
static void test_reserve_huge_pages(void **state)
{
	static const uint64_t layout[][2] = { { 0, RAM_SIZE } };
	struct memory_config lazy = { .size = RAM_SIZE, .hugepages = true };
	struct memory_config reserve = lazy;
	struct guest_memory mem;

	(void)state;
	reserve.reserve = true;
	/* only meaningful where the host's pool cannot hold the RAM */
	if (!IS_ENABLED(CONFIG_MEMORY_HUGEPAGES) ||
	    meminfo("HugePages_Free") < 0 || meminfo("Hugepagesize") <= 0 ||
	    (uint64_t)meminfo("HugePages_Free") * (uint64_t)meminfo("Hugepagesize") * 1024 >= RAM_SIZE)
		skip();
	/* MAP_NORESERVE: the mapping is made, its pages would fault later */
	assert_int_equal(memory_init(&mem, &lazy, layout, 1), 0);
	memory_destroy(&mem);
	assert_int_equal(memory_init(&mem, &reserve, layout, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_memfd_sealed),
		cmocka_unit_test(test_device_memory_no_dma),
		cmocka_unit_test(test_reserve_huge_pages),
	};

	return cmocka_run_group_tests_name("guest memory", tests, NULL, NULL);
}
