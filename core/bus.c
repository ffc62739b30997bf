// SPDX-License-Identifier: MIT
#include "core/bus.h"

#include <stdlib.h>
#include <string.h>

#include "core/vm.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range ending after addr (the only candidate). */
static size_t bus_search(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr - r->base >= r->len && addr >= r->base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define BUS_OVERLAP_REPORTS 8

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *owner)
{
	size_t i;
	int ret = -1;

	if (!len || base + len - 1 < base) {
		wisp_err("%s: bad %s range %#llx+%#llx", owner, bus->name,
			 (unsigned long long)base, (unsigned long long)len);
		return -1;
	}
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_search(bus, base);
	if ((i < bus->n && bus->ranges[i].base <= base + len - 1)) {
		/* at run time only a guest moving BARs over each other gets
		 * here, perhaps in a loop: a few lines, not a flood */
		if (bus->overlap_reports < BUS_OVERLAP_REPORTS)
			wisp_err("%s: %s range %#llx+%#llx overlaps %s%s", owner, bus->name,
				 (unsigned long long)base, (unsigned long long)len,
				 bus->ranges[i].owner,
				 ++bus->overlap_reports == BUS_OVERLAP_REPORTS ?
				 " (further ones not reported)" : "");
		goto out;
	}
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r)
			goto out;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->n - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque, owner };
	bus->n++;
	ret = 0;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	int ret = -1;

	pthread_rwlock_wrlock(&bus->lock);
	for (size_t i = 0; i < bus->n; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->n - i - 1) * sizeof(bus->ranges[0]));
			bus->n--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned len,
		bool is_write)
{
	struct bus_range hit = { 0 };
	size_t i;

	/* Devices live as long as the VM, so the owner can be called after
	 * the lock is dropped -- which lets a handler move its own range
	 * (a BAR write) without deadlocking. */
	pthread_rwlock_rdlock(&bus->lock);
	i = bus_search(bus, addr);
	if (i < bus->n && addr >= bus->ranges[i].base &&
	    addr - bus->ranges[i].base < bus->ranges[i].len)
		hit = bus->ranges[i];
	pthread_rwlock_unlock(&bus->lock);

	if (!hit.ops) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	if (is_write) {
		if (hit.ops->write)
			hit.ops->write(hit.opaque, addr - hit.base, data, len);
	} else if (hit.ops->read) {
		hit.ops->read(hit.opaque, addr - hit.base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	return true;
}
