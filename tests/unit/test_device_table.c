// SPDX-License-Identifier: MIT
/*
 * The compile-time device table holds exactly the devices whose Kconfig
 * symbols are on in this build (checked against the generated list of
 * every device and its symbol), in creation order, and --features lists
 * them.
 */
#include "unit.h"

#include "core/cli.h"
#include "core/device.h"

struct known_device {
	const char *name;
	const char *symbol;
	bool enabled;		/* its Kconfig symbol is on in this build */
};

/* Every device the sources define, on or off here, with the symbol its
 * Kbuild line builds it by: generated from the Kbuild files and the
 * descriptors (scripts/build/device-list), so it never goes stale. */
static const struct known_device devices[] = {
#define DEVICE(name, symbol) { name, #symbol, IS_ENABLED(CONFIG_##symbol) },
#define DEVICE_OPTION(option, variant, device, symbol)
#include "generated/device_list.h"
#undef DEVICE_OPTION
#undef DEVICE
};

struct known_option {
	const char *option, *variant, *device;
};

/* What core/cli.c knows of device options, built in or not. */
static const struct known_option options[] = {
#define DEVICE(name, symbol)
#define DEVICE_OPTION(option, variant, device, symbol) { option, variant, device },
#include "generated/device_list.h"
#undef DEVICE_OPTION
#undef DEVICE
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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
	for (size_t i = 0; i < COUNT(devices); i++) {
		const struct device_desc *d = find(devices[i].name);

		if (devices[i].enabled && !d)
			fail_msg("%s: CONFIG_%s is on but it is not in the table",
				 devices[i].name, devices[i].symbol);
		if (!devices[i].enabled && d)
			fail_msg("%s: CONFIG_%s is off but it is in the table",
				 devices[i].name, devices[i].symbol);
	}
}

static void test_table_known_devices_only(void **state)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (size_t j = 0; j < COUNT(devices); j++)
			known |= !strcmp(devices[j].name, table[i]->name);
		if (!known)
			fail_msg("device %s is in the table but not in the generated device list",
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

static bool same_variant(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Every option a built-in device owns is one the CLI knows of, with the
 * same device and variant, so its "not built into this binary" message
 * (when it is left out) names the right device and symbol. */
static void test_options_match_descriptors(void **state)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		bool listed = false;

		if (!table[i]->option)
			continue;
		for (size_t j = 0; j < COUNT(options); j++)
			listed |= !strcmp(options[j].option, table[i]->option) &&
				  same_variant(options[j].variant, table[i]->variant) &&
				  !strcmp(options[j].device, table[i]->name);
		if (!listed)
			fail_msg("--%s of %s is not in the generated option list",
				 table[i]->option, table[i]->name);
	}
	for (size_t j = 0; j < COUNT(options); j++) {
		const struct device_desc *d = find(options[j].device);

		if (d)
			assert_ptr_equal(device_lookup(options[j].option, options[j].variant), d);
	}
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
	for (size_t j = 0; j < COUNT(devices); j++) {
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
		cmocka_unit_test(test_options_match_descriptors),
		cmocka_unit_test(test_features_lists_table),
	};

	return cmocka_run_group_tests_name("device table (" CONFIG_ARCH ")", tests,
					   NULL, NULL);
}
