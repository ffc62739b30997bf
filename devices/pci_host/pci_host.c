// SPDX-License-Identifier: MIT
/*
 * The PCI host bridges: for each segment (segment 0, and the others
 * --platform num_pci_segments asks for) the segment itself, function
 * 00.0 and configuration space through its ECAM area.  What differs by architecture
 * (the 0xcf8/0xcfc ports and the ACPI description on x86_64, the
 * device-tree node on AArch64) is in the file named after it, behind
 * pci_host_arch_create() (pci_host.h).
 */
#include "devices/pci_host/pci_host.h"

#include <string.h>

#include "arch_layout.h"
#include "core/device.h"
#include "core/pci.h"
#include "core/vm.h"

/* Ids as cloud-hypervisor's host bridge uses them. */
#define HOST_BRIDGE_VENDOR 0x8086
#define HOST_BRIDGE_DEVICE 0x0d57
#define PCI_CLASS_HOST_BRIDGE 0x060000

/* the 64-bit window ends where device memory (pmem) begins; several
 * segments share it, in equal parts */
#define MMIO64_SIZE DEVICE_MEMORY_OFFSET
#define MAX_SEGMENTS (IS_ENABLED(CONFIG_PCI_SEGMENTS) ? PCI_MAX_SEGMENTS : 1)

struct pci_host {
	struct pci_segment *seg;
	struct pci_function bridge;
};

static struct pci_host hosts[MAX_SEGMENTS];

/* ECAM: bus << 20 | devfn << 12 | register */
static void ecam_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pci_host *h = opaque;

	pci_config_access(h->seg, (unsigned)(off >> 20), (unsigned)(off >> 12) & 0xff,
			  (unsigned)off & 0xfff, data, len, false);
}

static void ecam_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pci_host *h = opaque;

	pci_config_access(h->seg, (unsigned)(off >> 20), (unsigned)(off >> 12) & 0xff,
			  (unsigned)off & 0xfff, (void *)data, len, true);
}

static const struct bus_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

static int pci_host_create(struct vm *vm, const void *config)
{
	unsigned n = pci_segments_of(vm->cfg);
	uint64_t mmio64 = (memory_ram_end(&vm->mem) + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);

	(void)config;
	if (n > MAX_SEGMENTS) {
		wisp_err("pci-host: %u PCI segments: this wisp builds %d", n, MAX_SEGMENTS);
		return -1;
	}
	snapshot_instance(hosts);
	if (mmio64 < ARCH_PCI_MMIO64_MIN)
		mmio64 = ARCH_PCI_MMIO64_MIN;
	for (unsigned id = 0; id < n; id++) {
		struct pci_host *h = &hosts[id];

		memset(h, 0, sizeof(*h));
		h->seg = pci_segment_create(vm, (uint16_t)id, ARCH_PCI_ECAM_OF(id),
					    ARCH_PCI_MMIO32_OF(id), ARCH_PCI_MMIO32_SIZE_OF(id),
					    mmio64 + id * (MMIO64_SIZE / n), MMIO64_SIZE / n);
		if (!h->seg)
			return -1;
		pci_init_function(&h->bridge, vm, "pci-host", HOST_BRIDGE_VENDOR,
				  HOST_BRIDGE_DEVICE, PCI_CLASS_HOST_BRIDGE, 0);
		if (pci_add(vm, &h->bridge, (uint16_t)id) ||
		    bus_register(&vm->mmio, h->seg->ecam, ARCH_PCI_ECAM_SIZE_OF(id), &ecam_ops, h,
				 "pci-ecam") ||
		    pci_host_arch_create(vm, h->seg))
			return -1;
	}
	return 0;
}

#ifdef CONFIG_SNAPSHOT
/* State: what the architecture's part holds (pci_host.h).  The bridge
 * function's configuration space is core/pci.c's. */
static int pci_host_save(void *instance, struct snap_writer *w)
{
	(void)instance;
	pci_host_arch_save(w);
	return 0;
}

static int pci_host_load(void *instance, struct snap_reader *r)
{
	(void)instance;
	pci_host_arch_load(r);
	if (snap_done(r)) {
		wisp_err("pci-host: snapshot state refused: its length");
		return -1;
	}
	return 0;
}

static const struct snapshot_ops pci_host_snapshot = {
	.save = pci_host_save,
	.load = pci_host_load,
};
#endif

DEVICE_REGISTER(pci_host) = {
	.name = "pci-host",
	.summary = "PCI segments: host bridges, ECAM, MSI-X",
	.order = ORDER_BUS,
	.create = pci_host_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &pci_host_snapshot,
#endif
};
