// SPDX-License-Identifier: MIT
/* Walking the compile-time device table (see device.h). */
#include "core/device.h"

#include <stdbool.h>
#include <string.h>

/* Provided by the linker for the DEVICE_SECTION section. */
extern const struct device_desc __start_wisp_devices[] __attribute__((weak));
extern const struct device_desc __stop_wisp_devices[] __attribute__((weak));

#define TABLE_MAX 64

static const struct device_desc *sorted[TABLE_MAX];
static size_t nsorted;

static bool before(const struct device_desc *x, const struct device_desc *y)
{
	if (x->order != y->order)
		return x->order < y->order;
	return strcmp(x->name, y->name) < 0;
}

size_t device_table(const struct device_desc *const **out)
{
	if (!nsorted) {
		/* Weak: a build without any device has no section, and
		 * both bounds are then NULL. */
		for (const struct device_desc *d = __start_wisp_devices;
		     d < __stop_wisp_devices && nsorted < TABLE_MAX; d++) {
			/* insertion sort: a few dozen entries at most, and
			 * no qsort linked in for them */
			size_t i = nsorted++;

			for (; i > 0 && before(d, sorted[i - 1]); i--)
				sorted[i] = sorted[i - 1];
			sorted[i] = d;
		}
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
