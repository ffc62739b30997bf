/* SPDX-License-Identifier: MIT */
/*
 * Per-device statistics for the API's vm.counters (core/api.c): a device
 * registers an array of named counters at create() and bumps them as it
 * works, from whatever thread does the work.  Without CONFIG_API both
 * calls compile to nothing, so the devices of the tiny builds pay no
 * byte for them.
 */
#ifndef WISP_CORE_COUNTERS_H
#define WISP_CORE_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/kconfig.h"

#define COUNTERS_MAX_DEVICES 32

#ifdef CONFIG_API
/* Lists n counters under the id "<kind><k>" (k counts the devices of
 * that kind: "_disk0", "_net1", as cloud-hypervisor names them), or under
 * kind itself when it does not start with '_' (a device's id=); names
 * and values live as long as the VM.  Set-up only, before the guest runs. */
void counters_register(const char *kind, const char *const *names, atomic_ullong *values,
		       unsigned n);
#else
static inline void counters_register(const char *kind, const char *const *names,
				     atomic_ullong *values, unsigned n)
{
	(void)kind; (void)names; (void)values; (void)n;
}
#endif

static inline void counter_add(atomic_ullong *counter, uint64_t v)
{
	if (IS_ENABLED(CONFIG_API))
		atomic_fetch_add_explicit(counter, v, memory_order_relaxed);
}

#endif
