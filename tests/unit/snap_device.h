/* SPDX-License-Identifier: MIT */
/*
 * Snapshot round trips of one device in a fake VM (fake_vm.h): save the
 * instance a device's create() registered, and load a payload into the
 * instance of a freshly created VM, through the descriptor's own ops as
 * core/vm_snapshot.c calls them.
 *
 * Functions are static inline: include this from one file per program,
 * after fake_vm.h.
 */
#ifndef WISP_TESTS_SNAP_DEVICE_H
#define WISP_TESTS_SNAP_DEVICE_H

#include <string.h>

#include "core/snapshot.h"

#ifdef CONFIG_SNAPSHOT

/* The first instance of the device with that name; aborts if none. */
static inline const struct snapshot_instance *snap_device(const char *name)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(in[i].desc->name, name) && in[i].desc->snapshot &&
		    in[i].desc->snapshot->save && in[i].instance)
			return &in[i];
	fprintf(stderr, "snap_device: no saving instance of %s\n", name);
	abort();
}

/* The device's state as save() writes it; the caller frees w. */
static inline void snap_device_save(const char *name, struct snap_writer *w)
{
	const struct snapshot_instance *in = snap_device(name);

	memset(w, 0, sizeof(*w));
	if (in->desc->snapshot->save(in->instance, w) || w->failed)
		abort();
}

/* load() on len bytes of a payload: its result (0 or -1). */
static inline int snap_device_load(const char *name, const uint8_t *data, size_t len)
{
	const struct snapshot_instance *in = snap_device(name);
	struct snap_reader r = { .data = data, .len = len };

	return in->desc->snapshot->load(in->instance, &r);
}

#endif /* CONFIG_SNAPSHOT */

#endif
