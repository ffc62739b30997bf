// SPDX-License-Identifier: MIT
/*
 * The PCI host bridge on AArch64 (pci_host.h): configuration space is
 * ECAM only, so all this part adds is the segment's generic ECAM host
 * node in the device tree, its MSIs going to the GIC's ITS (by
 * requester id) or GICv2m frame, so Linux finds every PCI device
 * without command-line hints.
 */
#include "devices/pci_host/pci_host.h"

#include "arch_layout.h"
#include "arch/aarch64/fdt.h"
#include "core/pci.h"
#include "core/vm.h"

/* PCI address space codes of the ranges property (first cell) */
#define FDT_PCI_MMIO32 0x02000000u
#define FDT_PCI_MMIO64 0x43000000u	/* 64-bit, prefetchable */

static void pci_host_fdt(void *opaque, struct vm *vm, void *tables)
{
	struct pci_segment *seg = opaque;
	struct fdt_tree *t = tables;
	int node = fdt_node(t, 0, "pcie", seg->ecam);
	const uint32_t bus_range[] = { 0, (uint32_t)(ARCH_PCI_ECAM_SIZE_OF(seg->id) >> 20) - 1 };
	const uint32_t ranges[] = {
		FDT_PCI_MMIO32, (uint32_t)(seg->mmio32 >> 32), (uint32_t)seg->mmio32,
		(uint32_t)(seg->mmio32 >> 32), (uint32_t)seg->mmio32,
		(uint32_t)(seg->mmio32_size >> 32), (uint32_t)seg->mmio32_size,
		FDT_PCI_MMIO64, (uint32_t)(seg->mmio64 >> 32), (uint32_t)seg->mmio64,
		(uint32_t)(seg->mmio64 >> 32), (uint32_t)seg->mmio64,
		(uint32_t)(seg->mmio64_size >> 32), (uint32_t)seg->mmio64_size,
	};
	/* requester ids go to the ITS as device ids: segment 0's unchanged,
	 * those of another segment's one bus moved up by 256 for each
	 * segment before it (core/pci.c, msi_devid: KVM's ITS has 16-bit
	 * device ids) */
	const uint32_t msi_map[] = { 0, t->msi_phandle, (uint32_t)seg->id << 8,
				     seg->id ? 0x100 : 0x10000 };

	(void)vm;
	fdt_prop_str(t, node, "compatible", "pci-host-ecam-generic");
	fdt_prop_str(t, node, "device_type", "pci");
	fdt_prop_u32(t, node, "#address-cells", 3);
	fdt_prop_u32(t, node, "#size-cells", 2);
	fdt_prop_u32(t, node, "#interrupt-cells", 1);
	fdt_prop_u32(t, node, "linux,pci-domain", seg->id);
	fdt_prop_cells(t, node, "bus-range", bus_range, 2);
	fdt_prop_reg(t, node, seg->ecam, ARCH_PCI_ECAM_SIZE_OF(seg->id));
	fdt_prop_cells(t, node, "ranges", ranges, 14);
	fdt_prop_empty(t, node, "dma-coherent");
	/* MSI-X is the only interrupt wisp's PCI functions have */
	if (t->msi_phandle && t->msi_by_requester_id)
		fdt_prop_cells(t, node, "msi-map", msi_map, 4);
	else if (t->msi_phandle)
		fdt_prop_u32(t, node, "msi-parent", t->msi_phandle);
}

#ifdef CONFIG_SNAPSHOT
/* Configuration space is ECAM only: no latch, nothing of this part's to keep. */
void pci_host_arch_save(struct snap_writer *w)
{
	(void)w;
}

void pci_host_arch_load(struct snap_reader *r)
{
	(void)r;
}
#endif

int pci_host_arch_create(struct vm *vm, struct pci_segment *seg)
{
	return vm_add_describer(vm, pci_host_fdt, seg);
}
