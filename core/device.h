/* SPDX-License-Identifier: MIT */
/*
 * The compile-time device table.
 *
 * Every device file registers exactly one `struct device_desc` with
 * DEVICE_REGISTER().  The macro drops it into the "wisp_devices" linker
 * section, so the table holds precisely the devices Kconfig compiled in,
 * and core finds them by walking that section -- it never names one.
 */
#ifndef WISP_CORE_DEVICE_H
#define WISP_CORE_DEVICE_H

#include <stddef.h>
#include <stdbool.h>

#include "core/kconfig.h"
#include "core/kv.h"
#include "core/snapshot.h"

struct vm;
struct json;

/* Creation order classes: platform devices (interrupt controllers
 * first) exist before anything that raises interrupts through them,
 * and buses before the functions that sit on them. */
enum device_order {
	ORDER_IRQCHIP = 10,
	ORDER_PLATFORM = 20,
	ORDER_BUS = 30,
	ORDER_PCI_DEVICE = 40,
};

struct device_desc {
	const char *name;	/* "virtio-blk": for --features and errors */
	const char *summary;	/* one line for --features */
	/* The command-line option this device owns, without the dashes
	 * ("disk"), or NULL for a device that always exists. */
	const char *option;
	/* Several devices can share one option ("--disk" is virtio-blk,
	 * "--disk vhost_user=on,..." is vhost-user-blk).  A device with a
	 * variant takes the option values in which that key is "on". */
	const char *variant;
	/* Arguments used when the option is not given, or NULL when the
	 * device then does not exist. */
	const char *default_args;
	const char *usage;	/* "path=FILE[,readonly=on]" for --help */
	bool repeatable;	/* "--disk a --disk b", "--disk a b" */
	/* Its id= names something other than a device (a rate-limit
	 * group), so it is not held to the devices' unique ids. */
	bool id_apart;
	enum device_order order;
	/* Size of the device's parsed configuration, handed to parse()
	 * zeroed and to create() filled in. */
	size_t config_size;
	/* Check the option's key=value list and fill in the config; on
	 * bad input describe it in err and return -1. */
	int (*parse)(struct kv_list *args, void *config,
		     struct cli_error *err);
	/* Build the device in the VM: register its bus ranges, IRQs and
	 * back-ends.  Returns 0; or, after reporting what failed, 2
	 * (EXIT_USAGE) when the user's input cannot be honoured (a TAP
	 * that cannot be created), 128+N when signal N stopped it while it
	 * waited (for a back-end), else -1. */
	int (*create)(struct vm *vm, const void *config);
	/* How an instance's state is saved and restored (core/snapshot.h):
	 * &snapshot_stateless for a device with none; NULL makes
	 * vm.snapshot refuse while an instance exists. */
	const struct snapshot_ops *snapshot;
	/* The option belongs to this wisp process, not to the VM (the API
	 * socket): a snapshot's configuration leaves it out. */
	bool per_process;
#if IS_ENABLED(CONFIG_API)
	/* vm.info: the member of "config" cloud-hypervisor puts this kind
	 * of device under ("disks"), an array of every instance when
	 * info_many, else one object; info() writes one instance's members
	 * from its parsed configuration.  Set with DEVICE_INFO(). */
	const char *info_key;
	bool info_many;
	void (*info)(const void *config, struct json *j);
#endif
};

/* In a descriptor: `DEVICE_INFO("disks", true, blk_info)`; nothing in
 * a build without the API socket (the function is then not built). */
#if IS_ENABLED(CONFIG_API)
#define DEVICE_INFO(key, many, fn) .info_key = (key), .info_many = (many), .info = (fn),
#else
#define DEVICE_INFO(key, many, fn)
#endif

#define DEVICE_SECTION "wisp_devices"

#define DEVICE_REGISTER(id)                                                   \
	static const struct device_desc device_desc_##id                      \
		__attribute__((used, section(DEVICE_SECTION), aligned(8)))

/* The table, in creation order (then by name, so the order never
 * depends on the linker). */
size_t device_table(const struct device_desc *const **out);

/* The built-in device owning `--option` with that variant key (NULL
 * for the plain device), or NULL when none is compiled in. */
const struct device_desc *device_lookup(const char *option,
					const char *variant);

#endif
