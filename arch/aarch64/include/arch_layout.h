/* SPDX-License-Identifier: MIT */
/*
 * The AArch64 machine's guest-physical memory map and interrupt numbers.
 * One place for every fixed address; docs/aarch64.md shows the same
 * picture.  Below 1 GiB it follows QEMU's "virt" board where it can, so
 * addresses look familiar in guest logs.
 *
 *   0x0800_0000  GICv3 distributor (64 KiB)
 *   0x0808_0000  GICv3 ITS (128 KiB)
 *   0x080a_0000  GICv3 redistributors, 128 KiB per vCPU (up to 123 vCPUs)
 *   or, on a host without GICv3:
 *   0x0800_0000  GICv2 distributor (4 KiB)
 *   0x0801_0000  GICv2 CPU interface (8 KiB)
 *   0x0802_0000  GICv2m MSI frame (4 KiB, emulated by wisp)
 *   0x0900_0000  PL011 UART (4 KiB)
 *   0x0901_0000  PL031 RTC (4 KiB)
 *   0x0903_0000  PL061 GPIO (4 KiB)
 *   0x0904_0000  boot-complete mark (boot timeline), 1 byte
 *   0x0910_0000  PCI ECAM of segments 1-3 (num_pci_segments), 1 MiB each:
 *                bus 0 only
 *   0x0a00_0000  the 32-bit windows of segments 1-3, 32 MiB each
 *   0x1000_0000  PCI 32-bit MMIO window (512 MiB)
 *   0x3000_0000  PCI ECAM (256 MiB: segment 0, buses 0-255)
 *   0x4000_0000  RAM: the kernel at its text_offset from here (2 MiB
 *                aligned); the initramfs and then the device tree at the
 *                top of RAM
 *   RAM end, 1 GiB aligned, + 64 GiB: device memory (virtio-pmem)
 *   0x80_0000_0000  the 64-bit PCI window (64 GiB; higher if RAM is)
 */
#ifndef WISP_ARCH_AARCH64_LAYOUT_H
#define WISP_ARCH_AARCH64_LAYOUT_H

#define ARM_GIC_DIST		0x08000000ULL
#define ARM_GIC_DIST_SIZE	0x10000ULL
#define ARM_GIC_ITS		0x08080000ULL
#define ARM_GIC_ITS_SIZE	0x20000ULL
#define ARM_GIC_REDIST		0x080a0000ULL
#define ARM_GIC_REDIST_SIZE	0x20000ULL	/* per vCPU */
#define ARM_GIC_REDIST_END	0x09000000ULL
#define ARM_GIC_MAX_VCPUS	((ARM_GIC_REDIST_END - ARM_GIC_REDIST) / ARM_GIC_REDIST_SIZE)

#define ARM_GICV2_DIST		0x08000000ULL
#define ARM_GICV2_CPU		0x08010000ULL
#define ARM_GICV2M		0x08020000ULL
#define ARM_GICV2M_SIZE		0x1000ULL
#define ARM_GICV2_MAX_VCPUS	8
/* GICv2m: MSIs become these SPIs (INTIDs), edge-triggered */
#define ARM_GICV2M_INTID_BASE	64
#define ARM_GICV2M_INTID_COUNT	64

#define ARM_PL011		0x09000000ULL
#define ARM_PL031		0x09010000ULL
#define ARM_PL061		0x09030000ULL
#define ARM_PRIMECELL_SIZE	0x1000ULL
#define ARCH_TIMELINE_MMIO	0x09040000ULL

#define ARM_RAM_BASE		0x40000000ULL
/* Linux's arm64 boot protocol: the kernel's 2 MiB-aligned base. */
#define ARM_KERNEL_ALIGN	0x200000ULL
/* The device tree may be at most 2 MiB (Documentation/arm64/booting). */
#define ARM_FDT_MAX		0x200000ULL

#define ARCH_PCI_MMIO32		0x10000000ULL
#define ARCH_PCI_MMIO32_SIZE	0x20000000ULL
#define ARCH_PCI_ECAM		0x30000000ULL
#define ARCH_PCI_ECAM_SIZE	0x10000000ULL
#define ARCH_PCI_MMIO64_MIN	0x8000000000ULL
/* segment s's ECAM area and 32-bit window; segment 0's are the same
 * whatever the count */
#define ARM_PCI_ECAM_MORE	0x09100000ULL
#define ARM_PCI_ECAM_MORE_SIZE	0x100000ULL
#define ARM_PCI_MMIO32_MORE	0x0a000000ULL
#define ARM_PCI_MMIO32_MORE_SIZE 0x2000000ULL
#define ARCH_PCI_ECAM_OF(s)	((s) ? ARM_PCI_ECAM_MORE + ((s) - 1) * ARM_PCI_ECAM_MORE_SIZE \
				     : ARCH_PCI_ECAM)
#define ARCH_PCI_ECAM_SIZE_OF(s) ((s) ? ARM_PCI_ECAM_MORE_SIZE : ARCH_PCI_ECAM_SIZE)
#define ARCH_PCI_MMIO32_OF(s)	((s) ? ARM_PCI_MMIO32_MORE + ((s) - 1) * ARM_PCI_MMIO32_MORE_SIZE \
				     : ARCH_PCI_MMIO32)
#define ARCH_PCI_MMIO32_SIZE_OF(s) ((s) ? ARM_PCI_MMIO32_MORE_SIZE : ARCH_PCI_MMIO32_SIZE)

/* Shared peripheral interrupts (SPI numbers; the GIC's INTID is 32 + n).
 * irq_line() takes these numbers. */
#define ARM_SPI_PL011		1
#define ARM_SPI_PL031		2
#define ARM_SPI_PL061		7
#define ARM_GIC_NR_IRQS		128	/* INTIDs 0-127: 96 SPIs */

/* Private peripheral interrupts of the architected timer (PPI numbers). */
#define ARM_PPI_TIMER_SECURE	13
#define ARM_PPI_TIMER_PHYS	14
#define ARM_PPI_TIMER_VIRT	11
#define ARM_PPI_TIMER_HYP	10

#endif
