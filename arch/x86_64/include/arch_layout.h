/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 machine's guest-physical memory map and I/O ports.  One
 * place for every fixed address; docs/x86_64.md shows the same picture.
 *
 *   0x0000_0000  RAM (low)          boot structures below 1 MiB:
 *     0x0000_6000  hvm_start_info / boot_params (zero page)
 *     0x0000_7000  PVH memory map
 *     0x0000_8000  PVH module list
 *     0x0001_0000  initial page tables (bzImage 64-bit entry)
 *     0x0002_0000  kernel command line (up to 64 KiB)
 *     0x000a_0000  legacy hole (reserved in the e820 map)
 *     0x000e_0000  ACPI tables (RSDP first), 64 KiB
 *     0x000f_fff0  reset vector: a stub that resets the machine
 *     0x0010_0000  kernel (PVH ELF paddr, bzImage protected-mode code)
 *   ...          RAM up to 3 GiB at most
 *   0xc000_0000  PCI 32-bit MMIO window (512 MiB)
 *     0xd000_0000  Firecracker's boot timer page (CONFIG_FC_BOOT_TIMER)
 *   0xe000_0000  PCI ECAM (1 MiB: segment 0, bus 0, the only bus),
 *                then 1 MiB for each further segment (num_pci_segments)
 *   0xe800_0000  the 32-bit windows of segments 1-3, 64 MiB each
 *   0xfec0_0000  I/O APIC
 *   0xfee0_0000  local APIC (in KVM)
 *   0x1_0000_0000 RAM above 4 GiB, then the 64-bit PCI window
 */
#ifndef WISP_ARCH_X86_64_LAYOUT_H
#define WISP_ARCH_X86_64_LAYOUT_H

#define X86_START_INFO		0x6000ULL
#define X86_ZERO_PAGE		0x6000ULL
#define X86_PVH_MEMMAP		0x7000ULL
#define X86_PVH_MODLIST		0x8000ULL
#define X86_PAGE_TABLES		0x10000ULL
#define X86_CMDLINE		0x20000ULL
#define X86_CMDLINE_MAX		0x10000ULL
#define X86_LEGACY_HOLE		0xa0000ULL
#define X86_ACPI_TABLES		0xe0000ULL
#define X86_ACPI_TABLES_SIZE	0x10000ULL	/* ends well below the reset vector */
#define X86_RESET_VECTOR	0xffff0ULL	/* f000:fff0, a reset stub */
#define X86_HIGH_MEMORY		0x100000ULL

#define X86_LOW_RAM_MAX		0xc0000000ULL
#define X86_PCI_MMIO32		0xc0000000ULL
#define X86_PCI_MMIO32_SIZE	0x20000000ULL
/* Firecracker's boot-timer address, in the upper half of the window
 * above, which wisp's BARs fill from the bottom */
#define X86_FC_BOOT_TIMER	0xd0000000ULL
#define X86_PCI_ECAM		0xe0000000ULL
/* One bus per segment: wisp has no bridges.  Declaring more buses costs
 * every Linux boot a probe of each (x86's pcibios_fixup_peer_bridges reads
 * the vendor id of 32 slots on every bus up to the MCFG's end bus: 16k
 * port exits for buses 1-255). */
#define X86_PCI_ECAM_SIZE	0x100000ULL
/* Segments 1-3 (--platform num_pci_segments): their ECAM areas follow
 * segment 0's, their 32-bit windows are here; segment 0's addresses
 * are the same whatever the count. */
#define X86_PCI_MMIO32_MORE	0xe8000000ULL
#define X86_PCI_MMIO32_MORE_SIZE 0x4000000ULL
#define X86_IOAPIC		0xfec00000ULL
#define X86_IOAPIC_SIZE		0x1000ULL
#define X86_LAPIC		0xfee00000ULL
#define X86_HIGH_RAM		0x100000000ULL

/* Names shared by every arch, for arch-neutral devices (devices/pci_host/). */
#define ARCH_PCI_ECAM		X86_PCI_ECAM
#define ARCH_PCI_ECAM_SIZE	X86_PCI_ECAM_SIZE
#define ARCH_PCI_MMIO32		X86_PCI_MMIO32
#define ARCH_PCI_MMIO32_SIZE	X86_PCI_MMIO32_SIZE
#define ARCH_PCI_MMIO64_MIN	X86_HIGH_RAM	/* and above all RAM */
/* segment s's ECAM area and 32-bit window */
#define ARCH_PCI_ECAM_OF(s)	(X86_PCI_ECAM + (uint64_t)(s) * X86_PCI_ECAM_SIZE)
#define ARCH_PCI_ECAM_SIZE_OF(s) X86_PCI_ECAM_SIZE
#define ARCH_PCI_MMIO32_OF(s)	((s) ? X86_PCI_MMIO32_MORE + ((s) - 1) * X86_PCI_MMIO32_MORE_SIZE \
				     : X86_PCI_MMIO32)
#define ARCH_PCI_MMIO32_SIZE_OF(s) ((s) ? X86_PCI_MMIO32_MORE_SIZE : X86_PCI_MMIO32_SIZE)

/* I/O ports */
#define X86_PORT_I8042_DATA	0x60
#define X86_PORT_DEBUG		0x80	/* POST codes: cloud-hypervisor's debug port */
#define X86_PORT_I8042_CMD	0x64
#define X86_PORT_CMOS		0x70	/* index 0x70, data 0x71 */
#define X86_CMOS_CENTURY	0x32	/* the CMOS byte of the century (FADT) */
#define X86_IRQ_CMOS_RTC	8
#define X86_PORT_TIMELINE	0x440	/* boot-complete mark */
#define ARCH_TIMELINE_PORT	X86_PORT_TIMELINE
#define X86_PORT_ACPI_PM	0x600	/* sleep control, status, reset, PM timer, GED */
#define X86_PORT_ACPI_SLEEP_CTL	0x600
#define X86_PORT_ACPI_SLEEP_STS	0x601
#define X86_PORT_ACPI_RESET	0x604
#define X86_ACPI_RESET_VALUE	0x01
#define X86_PORT_ACPI_PM_TIMER	0x608	/* PM timer, 4 bytes: where CloudHv OVMF reads it */
#define X86_PORT_ACPI_GED	0x60c	/* GED event register, 4 bytes */
#define X86_PORT_COM1		0x3f8
#define X86_PORT_PCI_CONFIG	0xcf8	/* 0xcf8 address, 0xcfc data */

/* ISA interrupt lines (I/O APIC pins) */
#define X86_IRQ_COM1		4
#define X86_IRQ_ACPI_GED	9
/* PCI INTx: slot s, pin p (1-4) raises I/O APIC pin
 * ARCH_PCI_INTX_GSI + (s + p - 1) % ARCH_PCI_INTX_GSIS, the usual
 * swizzle, as the host bridge's _PRT tells the guest. */
#define ARCH_PCI_INTX_GSI	16
#define ARCH_PCI_INTX_GSIS	8
#define X86_IOAPIC_PINS		24

#endif
