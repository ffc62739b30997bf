// SPDX-License-Identifier: MIT
/*
 * The PCI host bridge of segment 0: function 00.0, configuration space
 * through ECAM and (x86_64) the 0xcf8/0xcfc ports, and the guest's
 * description of the segment (a PNP0A08 root bridge in the DSDT with its
 * bus, I/O and memory windows on x86_64, a generic ECAM host bridge in
 * the device tree with its MSIs going to the GIC's ITS or GICv2m frame on
 * AArch64), so
 * Linux finds every PCI device without command-line hints.
 */
#include <string.h>

#include "arch_layout.h"
#ifdef CONFIG_ACPI
#include "arch/x86_64/aml.h"
#endif
#ifdef CONFIG_FDT
#include "arch/aarch64/fdt.h"
#endif
#include "core/device.h"
#include "core/pci.h"
#include "core/vm.h"

/* Ids as cloud-hypervisor's host bridge uses them. */
#define HOST_BRIDGE_VENDOR 0x8086
#define HOST_BRIDGE_DEVICE 0x0d57
#define PCI_CLASS_HOST_BRIDGE 0x060000

#define CONFIG_ADDRESS_ENABLE 0x80000000u
/* the 64-bit window ends where device memory (pmem) begins */
#define MMIO64_SIZE DEVICE_MEMORY_OFFSET

struct pci_host {
	struct vm *vm;
	struct pci_segment *seg;
	struct pci_function bridge;
	pthread_mutex_t lock;
	uint32_t config_address;	/* the 0xcf8 register */
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

#ifdef X86_PORT_PCI_CONFIG
/* The legacy mechanism: a dword address register at 0xcf8 and the data
 * window at 0xcfc-0xcff.  A byte at 0xcf9 is the PC's reset control
 * register: bit 2 resets the machine (Linux's reboot=pci); other
 * narrow accesses at 0xcf8-0xcfb are ignored. */
#define RESET_CONTROL_OFFSET 1
#define RESET_CONTROL_RESET 0x04
static void cf8_access(struct pci_host *h, uint64_t off, void *data, unsigned len,
		       bool write)
{
	uint32_t addr;

	if (off == RESET_CONTROL_OFFSET && len == 1) {
		if (write && (*(uint8_t *)data & RESET_CONTROL_RESET))
			vm_stop(h->vm, VM_STOP_REBOOT);
		else if (!write)
			*(uint8_t *)data = 0;
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (off == 0 && len == 4) {
		if (write)
			memcpy(&h->config_address, data, 4);
		else
			memcpy(data, &h->config_address, 4);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	addr = h->config_address;
	pthread_mutex_unlock(&h->lock);
	if (off < 4 || !(addr & CONFIG_ADDRESS_ENABLE)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	pci_config_access(h->seg, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
			  ((addr & 0xfc) | ((addr >> 16) & 0xf00)) + (unsigned)(off - 4),
			  data, len, write);
}

static void cf8_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	cf8_access(opaque, off, data, len, false);
}

static void cf8_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	cf8_access(opaque, off, (void *)data, len, true);
}

static const struct bus_ops cf8_ops = { .read = cf8_read, .write = cf8_write };
#endif

#ifdef CONFIG_ACPI
/* _PRT: INTx of every slot and pin to its I/O APIC pin (pci_intx_line),
 * for functions that use INTx (VFIO devices). */
static void pci_host_describe_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_package_begin(a, PCI_SLOTS * 4);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 1; pin <= 4; pin++) {
			aml_package_begin(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin - 1);
			aml_int(a, 0);	/* no link device: the GSI itself */
			aml_int(a, (uint64_t)pci_intx_line(slot, pin));
			aml_end(a);
		}
	}
	aml_end(a);
}

static void pci_host_describe(void *opaque, struct vm *vm, void *tables)
{
	struct pci_host *h = opaque;
	struct pci_segment *seg = h->seg;
	struct aml *a = tables;

	(void)vm;
	aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_int(a, "_SEG", seg->id);
	aml_name_int(a, "_UID", seg->id);
	aml_name_int(a, "_BBN", 0);
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_word_bus(a, 0, (uint16_t)((ARCH_PCI_ECAM_SIZE >> 20) - 1));
	aml_res_io(a, X86_PORT_PCI_CONFIG, X86_PORT_PCI_CONFIG, 1, 8);
	aml_res_word_io(a, 0x0000, X86_PORT_PCI_CONFIG - 1);
	aml_res_word_io(a, X86_PORT_PCI_CONFIG + 8, 0xffff);
	aml_res_dword_memory(a, (uint32_t)seg->mmio32,
			     (uint32_t)(seg->mmio32 + seg->mmio32_size - 1), false);
	aml_res_qword_memory(a, seg->mmio64, seg->mmio64 + seg->mmio64_size - 1, true);
	aml_resources_end(a);
	pci_host_describe_prt(a);
	aml_end(a);

	/* the ECAM area is the motherboard's, so the OS leaves it alone */
	aml_device_begin(a, "MRES");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_memory32_fixed(a, (uint32_t)seg->ecam, (uint32_t)ARCH_PCI_ECAM_SIZE, false);
	aml_resources_end(a);
	aml_end(a);
}
#endif

#ifdef CONFIG_FDT
/* PCI address space codes of the ranges property (first cell) */
#define FDT_PCI_MMIO32 0x02000000u
#define FDT_PCI_MMIO64 0x43000000u	/* 64-bit, prefetchable */

static void pci_host_fdt(void *opaque, struct vm *vm, void *tables)
{
	struct pci_host *h = opaque;
	struct pci_segment *seg = h->seg;
	struct fdt_tree *t = tables;
	int node = fdt_node(t, 0, "pcie", seg->ecam);
	const uint32_t bus_range[] = { 0, 0xff };
	const uint32_t ranges[] = {
		FDT_PCI_MMIO32, (uint32_t)(seg->mmio32 >> 32), (uint32_t)seg->mmio32,
		(uint32_t)(seg->mmio32 >> 32), (uint32_t)seg->mmio32,
		(uint32_t)(seg->mmio32_size >> 32), (uint32_t)seg->mmio32_size,
		FDT_PCI_MMIO64, (uint32_t)(seg->mmio64 >> 32), (uint32_t)seg->mmio64,
		(uint32_t)(seg->mmio64 >> 32), (uint32_t)seg->mmio64,
		(uint32_t)(seg->mmio64_size >> 32), (uint32_t)seg->mmio64_size,
	};
	/* requester ids 0-0xffff go to the ITS as device ids, unchanged */
	const uint32_t msi_map[] = { 0, t->msi_phandle, 0, 0x10000 };

	(void)vm;
	fdt_prop_str(t, node, "compatible", "pci-host-ecam-generic");
	fdt_prop_str(t, node, "device_type", "pci");
	fdt_prop_u32(t, node, "#address-cells", 3);
	fdt_prop_u32(t, node, "#size-cells", 2);
	fdt_prop_u32(t, node, "#interrupt-cells", 1);
	fdt_prop_u32(t, node, "linux,pci-domain", seg->id);
	fdt_prop_cells(t, node, "bus-range", bus_range, 2);
	fdt_prop_reg(t, node, seg->ecam, ARCH_PCI_ECAM_SIZE);
	fdt_prop_cells(t, node, "ranges", ranges, 14);
	fdt_prop_empty(t, node, "dma-coherent");
	/* MSI-X is the only interrupt wisp's PCI functions have */
	if (t->msi_phandle && t->msi_by_requester_id)
		fdt_prop_cells(t, node, "msi-map", msi_map, 4);
	else if (t->msi_phandle)
		fdt_prop_u32(t, node, "msi-parent", t->msi_phandle);
}
#endif

static int pci_host_create(struct vm *vm, const void *config)
{
	struct pci_host *h = &host;
	uint64_t mmio64 = (memory_ram_end(&vm->mem) + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);

	(void)config;
	memset(h, 0, sizeof(*h));
	h->vm = vm;
	pthread_mutex_init(&h->lock, NULL);
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
#ifdef X86_PORT_PCI_CONFIG
	if (bus_register(&vm->pio, X86_PORT_PCI_CONFIG, 8, &cf8_ops, h, "pci-cf8"))
		return -1;
#endif
#ifdef CONFIG_ACPI
	if (vm_add_describer(vm, pci_host_describe, h))
		return -1;
#endif
#ifdef CONFIG_FDT
	if (vm_add_describer(vm, pci_host_fdt, h))
		return -1;
#endif
	return 0;
}

DEVICE_REGISTER(pci_host) = {
	.name = "pci-host",
	.summary = "PCI segment 0: host bridge, ECAM, MSI-X",
	.order = ORDER_BUS,
	.create = pci_host_create,
};
