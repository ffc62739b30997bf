/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 machine's ACPI tables, written from the ACPI 6.x
 * specification (chapter 5): a hardware-reduced platform with
 *
 *   RSDP (revision 2) -> XSDT -> FADT -> DSDT
 *                             -> MADT (local APICs, one I/O APIC)
 *                             -> MCFG (with CONFIG_PCI)
 *                             -> VIOT (with devices behind an IOMMU)
 *
 * all in guest memory at X86_ACPI_TABLES, the RSDP first (so a guest
 * that scans 0xe0000-0xfffff finds it too).
 *
 * The DSDT holds a \_SB scope into which every describer registered
 * with vm_add_describer() appends its Device () objects: on x86_64 the
 * describer's `tables` argument is a `struct aml *` (arch/x86_64/aml.h)
 * positioned inside \_SB.  The root scope gets \_S5.
 */
#ifndef WISP_ARCH_X86_64_ACPI_H
#define WISP_ARCH_X86_64_ACPI_H

#include <stdint.h>

struct vm;

/* SLP_TYP of \_S5 (soft off): what the guest writes, with SLP_EN, to
 * the sleep control register to power off. */
#define ACPI_S5_SLP_TYP		5

/* Sleep control register bits (ACPI 6.x, 4.8.3.7) and sleep status. */
#define ACPI_SLP_TYP_SHIFT	2
#define ACPI_SLP_TYP_MASK	(7u << ACPI_SLP_TYP_SHIFT)
#define ACPI_SLP_EN		(1u << 5)
#define ACPI_WAK_STS		(1u << 7)

/* The MADT's I/O APIC id: 0, the ID register's reset value, so the
 * guest never has to renumber the I/O APIC.  (APIC ids of CPUs and I/O
 * APICs are separate name spaces since the xAPIC.) */
#define ACPI_IOAPIC_ID		0

/* Builds all tables into guest memory and returns the RSDP's address
 * for the boot protocol.  0, or -1 after reporting what failed (the
 * tables do not fit in X86_ACPI_TABLES_SIZE, a describer's AML is
 * malformed, the area is not guest RAM). */
int acpi_build(struct vm *vm, uint64_t *rsdp_gpa);

#endif
