// SPDX-License-Identifier: MIT
/* Walking the compile-time device table (see device.h). */
#include "core/device.h"

#include <stdlib.h>
#include <string.h>

/* Provided by the linker for the DEVICE_SECTION section. */
extern const struct device_desc __start_wisp_devices[] __attribute__((weak));
extern const struct device_desc __stop_wisp_devices[] __attribute__((weak));

#define TABLE_MAX 64

static const struct device_desc *sorted[TABLE_MAX];
static size_t nsorted;

static int by_order_then_name(const void *a, const void *b)
{
	const struct device_desc *x = *(const struct device_desc *const *)a;
	const struct device_desc *y = *(const struct device_desc *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t device_table(const struct device_desc *const **out)
{
	if (!nsorted) {
		/* Weak: a build without any device has no section, and
		 * both bounds are then NULL. */
		for (const struct device_desc *d = __start_wisp_devices;
		     d < __stop_wisp_devices && nsorted < TABLE_MAX; d++)
			sorted[nsorted++] = d;
		qsort(sorted, nsorted, sizeof(sorted[0]), by_order_then_name);
	}
	*out = sorted;
	return nsorted;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

const struct device_desc *device_lookup(const char *option, const char *variant)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	for (size_t i = 0; i < n; i++)
		if (same(table[i]->option, option) && same(table[i]->variant, variant))
			return table[i];
	return NULL;
}
