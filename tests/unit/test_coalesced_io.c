// SPDX-License-Identifier: MIT
/*
 * Coalesced I/O (core/coalesced_io.c): the writes KVM queued in its ring
 * reach the devices in the guest's order when a vCPU drains it, so the
 * data access that follows sees the index they selected: the CMOS index
 * port and the I/O APIC's IOREGSEL, as a guest drives them.  The ring's
 * `first` follows what was applied; an entry of no valid length is
 * skipped, and a ring whose `first` lies outside it is left alone.
 */
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_COALESCED_IO) && IS_ENABLED(CONFIG_CMOS_RTC) && IS_ENABLED(CONFIG_IOAPIC)

#include <linux/kvm.h>

#include "core/coalesced_io.h"
#include "fake_vm.h"

#define ENTRIES 8
#define NVRAM_A 0x40	/* two bytes of NVRAM the test fills */
#define NVRAM_B 0x41
#define IOAPIC_WINDOW 0x10
#define IOAPIC_VERSION 0x01

static struct fake_vm vm;
static struct {
	struct kvm_coalesced_mmio_ring head;
	struct kvm_coalesced_mmio entry[ENTRIES];
} ring;

/* An index write and a data write, both exits (as without coalescing) */
static void cmos_poke(uint8_t index, uint8_t val)
{
	uint64_t v = index;

	bus_access(&vm.vm.pio, X86_PORT_CMOS, &v, 1, true);
	v = val;
	bus_access(&vm.vm.pio, X86_PORT_CMOS + 1, &v, 1, true);
}

static int setup(void **state)
{
	char kernel[] = "/tmp/wisp-coalesced-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, NULL };

	(void)state;
	if (fd < 0 || write(fd, "k", 1) != 1 || close(fd))
		return -1;
	fake_vm_create(&vm, argv);
	unlink(kernel);
	cmos_poke(NVRAM_A, 0x5a);
	cmos_poke(NVRAM_B, 0xa5);
	return 0;
}

/* What KVM does for a guest write inside a zone */
static void queue(bool pio, uint64_t addr, uint32_t val, uint32_t len)
{
	struct kvm_coalesced_mmio *e = &ring.entry[ring.head.last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = len;
	e->pio = pio;
	memcpy(e->data, &val, len < 4 ? len : 4);
	ring.head.last = (ring.head.last + 1) % ENTRIES;
}

static uint32_t cmos_data(void)
{
	uint64_t v = 0;

	bus_access(&vm.vm.pio, X86_PORT_CMOS + 1, &v, 1, false);
	return (uint32_t)v;
}

static void test_applied_in_order(void **state)
{
	(void)state;
	ring.head.first = ring.head.last = ENTRIES - 1;	/* wraps */
	/* two index writes: the later one is what the data port reads */
	queue(true, X86_PORT_CMOS, NVRAM_A, 1);
	queue(true, X86_PORT_CMOS, NVRAM_B, 1);
	queue(false, X86_IOAPIC, IOAPIC_VERSION, 4);
	coalesced_io_apply(&vm.vm, &ring.head, ENTRIES);
	assert_int_equal(ring.head.first, ring.head.last);
	assert_int_equal(ring.head.first, 2);
	assert_int_equal(cmos_data(), 0xa5);
	/* the I/O APIC's version register: version 0x11, 24 entries */
	assert_int_equal(fake_mmio_read(&vm, X86_IOAPIC + IOAPIC_WINDOW, 4) & 0xff00ff,
			 0x170011);
}

static void test_bad_entries(void **state)
{
	(void)state;
	ring.head.first = ring.head.last = 0;
	queue(true, X86_PORT_CMOS, NVRAM_A, 1);
	coalesced_io_apply(&vm.vm, &ring.head, ENTRIES);
	/* a length KVM never writes: skipped, the index stays NVRAM_A */
	queue(true, X86_PORT_CMOS, NVRAM_B, 0);
	queue(true, X86_PORT_CMOS, NVRAM_B, 9);
	coalesced_io_apply(&vm.vm, &ring.head, ENTRIES);
	assert_int_equal(ring.head.first, 3);
	assert_int_equal(cmos_data(), 0x5a);
	/* `first` outside the ring: nothing applied, nothing moved */
	queue(true, X86_PORT_CMOS, NVRAM_B, 1);
	ring.head.first = ENTRIES + 5;
	coalesced_io_apply(&vm.vm, &ring.head, ENTRIES);
	assert_int_equal(ring.head.first, ENTRIES + 5);
	assert_int_equal(cmos_data(), 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_applied_in_order),
		cmocka_unit_test(test_bad_entries),
	};

	return cmocka_run_group_tests_name("coalesced-io", tests, setup, NULL);
}

#else

UNIT_NOT_BUILT("coalesced-io")

#endif
