// SPDX-License-Identifier: MIT
/*
 * The compile-time device table holds exactly the devices the
 * configuration enabled, in creation order, and --features lists them.
 */
#include "unit.h"

#include "core/cli.h"
#include "core/device.h"

struct expected {
	const char *name;
	bool enabled;
};

/* Every device file written so far and the symbol that builds it. */
static const struct expected devices[] = {
	{ "serial-16550", IS_ENABLED(CONFIG_SERIAL_16550) },
	{ "cmos-rtc", IS_ENABLED(CONFIG_CMOS_RTC) },
	{ "ioapic", IS_ENABLED(CONFIG_IOAPIC) },
	{ "i8042", IS_ENABLED(CONFIG_I8042) },
	{ "acpi-pm", IS_ENABLED(CONFIG_ACPI) },
	{ "boot-mark", IS_ENABLED(CONFIG_BOOT_TIMELINE) },
	{ "pci-host", IS_ENABLED(CONFIG_PCI) },
	{ "virtio-rng", IS_ENABLED(CONFIG_VIRTIO_RNG) },
	{ "virtio-blk", IS_ENABLED(CONFIG_VIRTIO_BLK) },
	{ "virtio-console", IS_ENABLED(CONFIG_VIRTIO_CONSOLE) },
	{ "virtio-pmem", IS_ENABLED(CONFIG_VIRTIO_PMEM) },
	{ "virtio-vsock", IS_ENABLED(CONFIG_VIRTIO_VSOCK) },
	{ "virtio-net", IS_ENABLED(CONFIG_VIRTIO_NET) },
	{ "vhost-user-blk", IS_ENABLED(CONFIG_VHOST_USER_BLK) },
	{ "vhost-user-fs", IS_ENABLED(CONFIG_VHOST_USER_FS) },
	{ "vhost-user-net", IS_ENABLED(CONFIG_VHOST_USER_NET) },
	{ "vfio-pci", IS_ENABLED(CONFIG_VFIO) },
	{ "virtio-iommu", IS_ENABLED(CONFIG_VIRTIO_IOMMU) },
	{ "api", IS_ENABLED(CONFIG_API) },
};

static const struct device_desc *find(const char *name)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

static void test_table_matches_config(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		const struct device_desc *d = find(devices[i].name);

		if (devices[i].enabled && !d)
			fail_msg("%s is enabled but not in the table", devices[i].name);
		if (!devices[i].enabled && d)
			fail_msg("%s is disabled but in the table", devices[i].name);
	}
}

static void test_table_known_devices_only(void **state)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (size_t j = 0; j < sizeof(devices) / sizeof(devices[0]); j++)
			known |= !strcmp(devices[j].name, table[i]->name);
		if (!known)
			fail_msg("device %s is in the table but not in this test's list",
				 table[i]->name);
		assert_non_null(table[i]->summary);
	}
}

static void test_table_order(void **state)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	(void)state;
	for (size_t i = 1; i < n; i++) {
		assert_true(table[i - 1]->order <= table[i]->order);
		if (table[i - 1]->order == table[i]->order)
			assert_true(strcmp(table[i - 1]->name, table[i]->name) < 0);
	}
	/* the interrupt controller comes before anything raising IRQs */
	if (IS_ENABLED(CONFIG_IOAPIC))
		assert_string_equal(table[0]->name, "ioapic");
}

static void test_lookup(void **state)
{
	(void)state;
	assert_int_equal(device_lookup("serial", NULL) != NULL,
			 IS_ENABLED(CONFIG_SERIAL_16550));
	assert_null(device_lookup("serial", "vhost_user"));
	assert_null(device_lookup("no-such-option", NULL));
}

static void test_features_lists_table(void **state)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	struct vm_config cfg;
	struct cli_error err;
	char *argv[] = { "wisp", "--features", NULL };

	(void)state;
	assert_int_equal(cli_parse(2, argv, &cfg, out, &err), CLI_EXIT);
	fclose(out);
	for (size_t i = 0; i < n; i++)
		assert_contains(text, table[i]->name);
	for (size_t j = 0; j < sizeof(devices) / sizeof(devices[0]); j++) {
		char line[64];

		snprintf(line, sizeof(line), "  %s ", devices[j].name);
		if (!devices[j].enabled && strstr(text, line))
			fail_msg("--features lists disabled %s", devices[j].name);
	}
	assert_int_equal(strstr(text, "boot-timeline") != NULL,
			 IS_ENABLED(CONFIG_BOOT_TIMELINE));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_config),
		cmocka_unit_test(test_table_known_devices_only),
		cmocka_unit_test(test_table_order),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_features_lists_table),
	};

	return cmocka_run_group_tests_name("device table (" CONFIG_ARCH ")", tests,
					   NULL, NULL);
}
