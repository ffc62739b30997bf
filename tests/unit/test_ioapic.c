// SPDX-License-Identifier: MIT
/*
 * The I/O APIC's snapshot state (devices/ioapic.c): a fresh I/O APIC
 * loaded with it reads back every register a guest can read, programs
 * the same routes into KVM's table (with the fake KVM of irq.c, which
 * keeps the table but makes no ioctl), and still holds a level pin's
 * remote IRR and input level, so an EOI re-delivers a line that is
 * still asserted.  A payload cut short, one too long, or holding what
 * no guest could have written is refused, the I/O APIC unchanged.
 */
#include "unit.h"

#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_IOAPIC) && IS_ENABLED(CONFIG_SNAPSHOT)

#include <linux/kvm.h>

#include "core/irq.h"
#include "fake_vm.h"
#include "snap_device.h"

#define PINS X86_IOAPIC_PINS
#define SELECT 0x00
#define WINDOW 0x10
#define EOI 0x40
#define IDX_ID 0x00
#define IDX_VERSION 0x01
#define IDX_REDIR 0x10
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
/* the saved payload: select, id, then each pin's entry and level */
#define PAYLOAD_PIN(pin) (8 + (pin) * 9)

static struct fake_vm first, second, third;
static struct fake_vm *guest;

static void create_vm(struct fake_vm *f)
{
	char kernel[] = "/tmp/wisp-ioapic-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, NULL };

	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fake_vm_create_only(f, argv, "ioapic");
	unlink(kernel);
	guest = f;
}

static uint32_t rd(unsigned reg)
{
	return (uint32_t)fake_mmio_read(guest, X86_IOAPIC + reg, 4);
}

static void wr(unsigned reg, uint32_t v)
{
	fake_mmio(guest, X86_IOAPIC + reg, v, 4, true);
}

static uint32_t rd_indirect(unsigned idx)
{
	wr(SELECT, idx);
	return rd(WINDOW);
}

static void wr_indirect(unsigned idx, uint32_t v)
{
	wr(SELECT, idx);
	wr(WINDOW, v);
}

static void set_rte(unsigned pin, uint32_t low, uint32_t high)
{
	wr_indirect(IDX_REDIR + 2 * pin + 1, high);
	wr_indirect(IDX_REDIR + 2 * pin, low);
}

/* Everything a guest reads: the select first (reading the rest moves it) */
struct ioapic_view {
	uint32_t select, id, version, rte[2 * PINS];
};

static void view(struct ioapic_view *v)
{
	v->select = rd(SELECT);
	v->id = rd_indirect(IDX_ID);
	v->version = rd_indirect(IDX_VERSION);
	for (unsigned i = 0; i < 2 * PINS; i++)
		v->rte[i] = rd_indirect(IDX_REDIR + i);
	wr(SELECT, v->select);
}

/* The routes KVM was handed for the I/O APIC's pins, in a fixed order */
struct route_view {
	uint32_t nr;
	struct kvm_irq_routing_entry e[PINS];
};

static void routes(struct route_view *v)
{
	const struct kvm_irq_routing *r = irq_test_routes(&guest->vm);

	memset(v, 0, sizeof(*v));
	assert_non_null(r);
	for (uint32_t i = 0; i < r->nr; i++)
		if (r->entries[i].gsi < PINS)
			v->e[v->nr++] = r->entries[i];
}

/* id 5; pin 3 level-triggered, asserted and delivered (remote IRR set),
 * pin 4 edge, pin 9 level but masked, pin 20 edge in logical mode; the
 * select left on pin 4's high half */
static void program(void)
{
	wr_indirect(IDX_ID, 5u << 24);
	set_rte(3, RTE_LEVEL | 0x33, 2u << 24);
	set_rte(4, 0x44, 0);
	set_rte(9, RTE_MASKED | RTE_LEVEL | 0x59, 0);
	set_rte(20, (1u << 11) | (1u << 8) | 0x60, 0x0fu << 24);
	irq_line(&guest->vm, 3, true);
	irq_line(&guest->vm, 9, true);
	wr(SELECT, IDX_REDIR + 2 * 4 + 1);
}

static void test_round_trip(void **state)
{
	struct ioapic_view before, after;
	struct route_view routes_before, routes_after;
	struct snap_writer w;

	(void)state;
	irq_test_fake_kvm = true;
	create_vm(&first);
	program();
	view(&before);
	routes(&routes_before);
	assert_true(before.rte[6] & RTE_REMOTE_IRR);
	assert_int_equal(routes_before.nr, 4);	/* pins 3, 4, 9 (masked, level) and 20 */
	snap_device_save("ioapic", &w);

	create_vm(&second);
	assert_null(irq_test_routes(&second.vm));
	assert_int_equal(snap_device_load("ioapic", w.data, w.len), 0);
	view(&after);
	routes(&routes_after);
	assert_memory_equal(&after, &before, sizeof(before));
	assert_memory_equal(&routes_after, &routes_before, sizeof(routes_before));

	/* pin 3's line is still up: its EOI delivers it again */
	wr(EOI, 0x33);
	assert_true(rd_indirect(IDX_REDIR + 6) & RTE_REMOTE_IRR);
	/* lowered, the next EOI leaves it idle */
	irq_line(&guest->vm, 3, false);
	wr(EOI, 0x33);
	assert_false(rd_indirect(IDX_REDIR + 6) & RTE_REMOTE_IRR);
	snap_writer_free(&w);
}

/*
 * What Linux does with a level interrupt whose handler is a thread
 * (the ACPI GED's): it masks the pin, ends the interrupt at the local
 * APIC, and unmasks once the thread has run.  The route, which makes
 * KVM pass that EOI on, must outlive the mask, or remote IRR sticks and
 * the pin never fires again.  A masked edge pin has no route.
 */
static void test_masked_level_pin_keeps_route(void **state)
{
	struct route_view v;

	(void)state;
	irq_test_fake_kvm = true;
	create_vm(&third);
	set_rte(9, RTE_LEVEL | 0x59, 0);
	set_rte(4, RTE_MASKED | 0x44, 0);
	irq_line(&guest->vm, 9, true);
	assert_true(rd_indirect(IDX_REDIR + 18) & RTE_REMOTE_IRR);
	set_rte(9, RTE_MASKED | RTE_LEVEL | 0x59, 0);
	routes(&v);
	assert_int_equal(v.nr, 1);
	assert_int_equal(v.e[0].gsi, 9);
	assert_int_equal(v.e[0].u.msi.data & 0xff, 0x59);
	assert_true(v.e[0].u.msi.data & (1u << 15));	/* level: KVM exits on its EOI */
	wr(EOI, 0x59);
	assert_false(rd_indirect(IDX_REDIR + 18) & RTE_REMOTE_IRR);
	/* the handler lowered the line; unmasked, the pin is idle and ready */
	irq_line(&guest->vm, 9, false);
	set_rte(9, RTE_LEVEL | 0x59, 0);
	assert_false(rd_indirect(IDX_REDIR + 18) & RTE_REMOTE_IRR);
	irq_line(&guest->vm, 9, true);
	assert_true(rd_indirect(IDX_REDIR + 18) & RTE_REMOTE_IRR);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void test_refused(void **state)
{
	struct ioapic_view before, after;
	struct snap_writer w;
	uint8_t bad[512];

	(void)state;
	program();
	snap_device_save("ioapic", &w);
	assert_int_equal(w.len, PAYLOAD_PIN(PINS));
	wr_indirect(IDX_ID, 7u << 24);
	view(&before);

	assert_int_equal(snap_device_load("ioapic", w.data, w.len - 1), -1);
	memcpy(bad, w.data, w.len);
	bad[w.len] = 0;
	assert_int_equal(snap_device_load("ioapic", bad, w.len + 1), -1);
	bad[0] = 0, bad[1] = 1;		/* select 0x100 */
	assert_int_equal(snap_device_load("ioapic", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	bad[4] = 0x10;			/* id 16 */
	assert_int_equal(snap_device_load("ioapic", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	bad[PAYLOAD_PIN(5) + 8] = 2;	/* a line level neither 0 nor 1 */
	assert_int_equal(snap_device_load("ioapic", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	put_u64(bad + PAYLOAD_PIN(4), RTE_REMOTE_IRR | 0x44);	/* on an edge pin */
	assert_int_equal(snap_device_load("ioapic", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	put_u64(bad + PAYLOAD_PIN(4), (1u << 12) | 0x44);	/* delivery pending */
	assert_int_equal(snap_device_load("ioapic", bad, w.len), -1);

	view(&after);
	assert_memory_equal(&after, &before, sizeof(before));
	snap_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_masked_level_pin_keeps_route),
	};

	return cmocka_run_group_tests_name("ioapic", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("ioapic")

#endif
