// SPDX-License-Identifier: MIT
/*
 * Snapshot state of the small x86_64 platform devices: the i8042, the
 * ACPI PM registers and the PCI host bridge's 0xcf8 latch.  Each is
 * driven into a state through its ports, saved, and loaded into a fresh
 * instance in a second VM, which must read back the same; a payload cut
 * short, one too long, or holding what no guest could have made is
 * refused.  And every x86_64 platform device says how it is saved
 * (a device without ops would make vm.snapshot refuse every VM).
 */
#include "unit.h"

#include <time.h>
#include <unistd.h>

#include "core/kconfig.h"

#if defined(__x86_64__) && IS_ENABLED(CONFIG_SNAPSHOT)

#include "fake_vm.h"
#include "snap_device.h"

/* every VM made stays reachable: LeakSanitizer watches */
static struct fake_vm vms[8];
static unsigned nvms;
static struct fake_vm *guest;

/* A VM with only the device `name`; rd() and wr() drive it from then on */
static void create_vm(const char *name)
{
	struct fake_vm *f = &vms[nvms++];
	char kernel[] = "/tmp/wisp-platform-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, NULL };

	assert_true(nvms <= sizeof(vms) / sizeof(vms[0]));
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fake_vm_create_only(f, argv, name);
	unlink(kernel);
	guest = f;
}

static uint32_t rd(uint16_t port, unsigned len)
{
	uint64_t v = 0;

	bus_access(&guest->vm.pio, port, &v, len, false);
	return (uint32_t)v;
}

static void wr(uint16_t port, uint32_t val, unsigned len)
{
	uint64_t v = val;

	bus_access(&guest->vm.pio, port, &v, len, true);
}

/* load() refuses each of n payloads, w's with one byte changed */
struct patch {
	size_t at;
	uint8_t value;
};

static void assert_refused(const char *name, const struct snap_writer *w,
			   const struct patch *p, size_t n)
{
	uint8_t buf[64];

	assert_true(w->len < sizeof(buf));
	assert_int_equal(snap_device_load(name, w->data, w->len - 1), -1);
	memcpy(buf, w->data, w->len);
	buf[w->len] = 0;
	assert_int_equal(snap_device_load(name, buf, w->len + 1), -1);
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, w->data, w->len);
		buf[p[i].at] = p[i].value;
		assert_int_equal(snap_device_load(name, buf, w->len), -1);
	}
}

/* ------------------------------------------------------------- i8042 */
#if IS_ENABLED(CONFIG_I8042)
#define KBC_DATA X86_PORT_I8042_DATA
#define KBC_CMD X86_PORT_I8042_CMD

static uint8_t kbc_query(uint8_t cmd)
{
	wr(KBC_CMD, cmd, 1);
	return (uint8_t)rd(KBC_DATA, 1);
}

/* What a guest reads, in an order that keeps the pending command for
 * last: a data byte then completes it (writes the output port) */
struct kbc_view {
	uint8_t status, out, ctr, outport, outport_after_data;
};

static void kbc_view(struct kbc_view *v)
{
	v->status = (uint8_t)rd(KBC_CMD, 1);
	v->out = (uint8_t)rd(KBC_DATA, 1);
	v->ctr = kbc_query(0x20);
	v->outport = kbc_query(0xd0);
	wr(KBC_DATA, 0x03, 1);
	v->outport_after_data = kbc_query(0xd0);
}

static void test_i8042(void **state)
{
	struct kbc_view before, after;
	struct snap_writer w;

	(void)state;
	create_vm("i8042");
	wr(KBC_CMD, 0x60, 1);		/* command byte 0x47 */
	wr(KBC_DATA, 0x47, 1);
	wr(KBC_CMD, 0xd1, 1);		/* output port 0x0b */
	wr(KBC_DATA, 0x0b, 1);
	wr(KBC_CMD, 0xaa, 1);		/* self-test: 0x55 waits in the buffer */
	wr(KBC_CMD, 0xd1, 1);		/* and an output port write waits for its byte */
	snap_device_save("i8042", &w);
	kbc_view(&before);
	assert_int_equal(before.status, 0x0d);	/* SYS | CMD | OBF */
	assert_int_equal(before.out, 0x55);
	assert_int_equal(before.outport_after_data, 0x03);

	create_vm("i8042");
	assert_int_equal(rd(KBC_CMD, 1), 0x04);
	assert_int_equal(snap_device_load("i8042", w.data, w.len), 0);
	kbc_view(&after);
	assert_memory_equal(&after, &before, sizeof(before));

	assert_refused("i8042", &w, (const struct patch[]){
		{ 0, 0x84 },		/* a status bit wisp never sets */
		{ 4, 0xaa },		/* a pending command without data */
	}, 2);
	assert_int_equal(kbc_query(0x20), 0x47);
	snap_writer_free(&w);
}
#endif

/* ----------------------------------------------------------- acpi-pm */
#if IS_ENABLED(CONFIG_ACPI_PM)
#define PM_TIMER X86_PORT_ACPI_PM_TIMER
#define PM_GED X86_PORT_ACPI_GED
#define PM_SLEEP_STS X86_PORT_ACPI_SLEEP_STS
#define PM_TIMER_HZ 3579545u

static void test_acpi_pm(void **state)
{
	const struct timespec pause = { 0, 200 * 1000 * 1000 };
	struct snap_writer w;
	uint32_t saved_count;

	(void)state;
	create_vm("acpi-pm");
	guest->vm.power_button(guest->vm.power_button_opaque);
	nanosleep(&pause, NULL);
	snap_device_save("acpi-pm", &w);
	saved_count = rd(PM_TIMER, 4);
	assert_true(saved_count >= PM_TIMER_HZ / 5);

	create_vm("acpi-pm");
	assert_true(rd(PM_TIMER, 4) < saved_count);
	assert_int_equal(snap_device_load("acpi-pm", w.data, w.len), 0);
	/* the timer goes on from the saved count, not from 0 */
	assert_in_range(rd(PM_TIMER, 4), saved_count - PM_TIMER_HZ / 20,
			saved_count + PM_TIMER_HZ / 2);
	assert_int_equal(rd(PM_SLEEP_STS, 1), 0);
	/* the power button's event is still pending; reading takes it */
	assert_int_equal(rd(PM_GED, 4), 1);
	assert_int_equal(rd(PM_GED, 4), 0);

	assert_refused("acpi-pm", &w, (const struct patch[]){
		{ 0, 0x01 },		/* a sleep status bit other than WAK_STS */
		{ 1, 0x03 },		/* a GED event wisp never raises */
		{ 4, 0x80 },
	}, 3);
	assert_int_equal(rd(PM_GED, 4), 0);
	snap_writer_free(&w);
}
#endif

/* ---------------------------------------------------------- pci-host */
#if IS_ENABLED(CONFIG_PCI_HOST)
#define CF8 X86_PORT_PCI_CONFIG
#define CFC (X86_PORT_PCI_CONFIG + 4)

static void test_pci_host(void **state)
{
	struct snap_writer w;

	(void)state;
	create_vm("pci-host");
	wr(CF8, 0x80000000, 4);		/* 00:00.0, register 0 */
	assert_int_equal(rd(CFC, 4), 0x0d578086);
	snap_device_save("pci-host", &w);

	create_vm("pci-host");
	assert_int_equal(rd(CF8, 4), 0);
	assert_int_equal(rd(CFC, 4), 0xffffffff);	/* latch not enabled */
	assert_int_equal(snap_device_load("pci-host", w.data, w.len), 0);
	assert_int_equal(rd(CF8, 4), 0x80000000);
	assert_int_equal(rd(CFC, 4), 0x0d578086);

	assert_refused("pci-host", &w, NULL, 0);
	assert_int_equal(rd(CF8, 4), 0x80000000);
	snap_writer_free(&w);
}
#endif

/* Every x86_64 platform device built says how it is saved, and those
 * with nothing to keep say so */
static void test_every_platform_device_has_ops(void **state)
{
	static const char *const saved[] = {
		"serial-16550", "ioapic", "cmos-rtc", "i8042", "acpi-pm", "pci-host",
	};
	static const char *const stateless[] = { "boot-mark", "debug-port", "fc-boot-timer" };
	const struct device_desc *const *table;
	size_t n = device_table(&table), found = 0;

	(void)state;
	for (size_t t = 0; t < n; t++) {
		for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++)
			if (!strcmp(table[t]->name, saved[i])) {
				assert_non_null(table[t]->snapshot);
				assert_non_null(table[t]->snapshot->save);
				assert_non_null(table[t]->snapshot->load);
				found++;
			}
		for (size_t i = 0; i < sizeof(stateless) / sizeof(stateless[0]); i++)
			if (!strcmp(table[t]->name, stateless[i])) {
				assert_ptr_equal(table[t]->snapshot, &snapshot_stateless);
				found++;
			}
	}
	assert_int_equal(found, IS_ENABLED(CONFIG_SERIAL_16550) + IS_ENABLED(CONFIG_IOAPIC) +
				IS_ENABLED(CONFIG_CMOS_RTC) + IS_ENABLED(CONFIG_I8042) +
				IS_ENABLED(CONFIG_ACPI_PM) + IS_ENABLED(CONFIG_PCI_HOST) +
				IS_ENABLED(CONFIG_BOOT_MARK) + IS_ENABLED(CONFIG_DEBUG_PORT) +
				IS_ENABLED(CONFIG_FC_BOOT_TIMER));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#if IS_ENABLED(CONFIG_I8042)
		cmocka_unit_test(test_i8042),
#endif
#if IS_ENABLED(CONFIG_ACPI_PM)
		cmocka_unit_test(test_acpi_pm),
#endif
#if IS_ENABLED(CONFIG_PCI_HOST)
		cmocka_unit_test(test_pci_host),
#endif
		cmocka_unit_test(test_every_platform_device_has_ops),
	};

	return cmocka_run_group_tests_name("platform-snapshot", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("platform-snapshot")

#endif
