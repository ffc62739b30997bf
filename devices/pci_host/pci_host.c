// SPDX-License-Identifier: MIT
/*
 * The PCI host bridge of segment 0: the segment itself, function 00.0
 * and configuration space through ECAM.  What differs by architecture
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

/* the 64-bit window ends where device memory (pmem) begins */
#define MMIO64_SIZE DEVICE_MEMORY_OFFSET

struct pci_host {
	struct pci_segment *seg;
	struct pci_function bridge;
};

static struct pci_host host;

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
	struct pci_host *h = &host;
	uint64_t mmio64 = (memory_ram_end(&vm->mem) + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);

	(void)config;
	memset(h, 0, sizeof(*h));
	snapshot_instance(h);
	if (mmio64 < ARCH_PCI_MMIO64_MIN)
		mmio64 = ARCH_PCI_MMIO64_MIN;
	h->seg = pci_segment_create(vm, 0, ARCH_PCI_ECAM, ARCH_PCI_MMIO32,
				    ARCH_PCI_MMIO32_SIZE, mmio64, MMIO64_SIZE);
	if (!h->seg)
		return -1;
	pci_init_function(&h->bridge, vm, "pci-host", HOST_BRIDGE_VENDOR,
			  HOST_BRIDGE_DEVICE, PCI_CLASS_HOST_BRIDGE, 0);
	if (pci_add(vm, &h->bridge, 0) ||
	    bus_register(&vm->mmio, ARCH_PCI_ECAM, ARCH_PCI_ECAM_SIZE, &ecam_ops, h, "pci-ecam"))
		return -1;
	return pci_host_arch_create(vm, h->seg);
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
	.summary = "PCI segment 0: host bridge, ECAM, MSI-X",
	.order = ORDER_BUS,
	.create = pci_host_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &pci_host_snapshot,
#endif
};
