/* SPDX-License-Identifier: MIT */
/*
 * PCI for the test guests: configuration space through ECAM (its base
 * from the ACPI MCFG table) and through configuration mechanism #1
 * (ports 0xcf8/0xcfc), capability walking, BAR sizing, MSI-X.
 *
 * A function is named by its bus/device/function number, PCI_BDF(b, d, f).
 * The plain pci_read*()/pci_write*() go through ECAM once pci_init() has
 * found it, else through 0xcf8.  Only segment 0 is handled.
 *
 * The code is in pci.c, which lib.c includes (the guest Makefile links
 * start.o and lib.o only); --gc-sections drops it from guests that do
 * not use it.
 */
#ifndef WISP_GUEST_PCI_H
#define WISP_GUEST_PCI_H

#include "guest.h"

/* ----------------------------------------------- configuration space */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_SUB 0x0a
#define PCI_CLASS_BASE 0x0b
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CFG_SIZE 0x100	/* what 0xcf8 reaches */
#define PCIE_CFG_SIZE 0x1000	/* what ECAM reaches */

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_HEADER_MULTI 0x80

#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM_TYPE 0x6	/* 0: 32-bit, 2 (0x4): 64-bit */
#define PCI_BAR_MEM64 0x4
#define PCI_BAR_PREFETCH 0x8

#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

/* MSI-X: capability fields, table entries (PCI 3.0, 6.8.2) */
#define MSIX_CAP_CTRL 2		/* le16: N-1 in 10:0, function mask 14, enable 15 */
#define MSIX_CAP_TABLE 4	/* le32: offset | BIR */
#define MSIX_CAP_PBA 8
#define MSIX_CTRL_SIZE 0x07ff
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_BIR 0x7
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CTRL 12
#define MSIX_ENTRY_MASKED 0x1
/* Message address for fixed delivery to one APIC id, physical mode. */
#define MSI_ADDR(apic_id) (0xfee00000u | ((uint32_t)(apic_id) << 12))

#define PCI_BDF(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCI_BUS(bdf) ((unsigned)(bdf) >> 8)
#define PCI_DEV(bdf) (((unsigned)(bdf) >> 3) & 0x1f)
#define PCI_FN(bdf) ((unsigned)(bdf) & 7)
#define PCI_NONE 0xffffffffu	/* what an absent function reads */

/* ACPI MCFG (PCI Firmware 3.0, 4.1.2) */
struct acpi_mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __packed;

/* Finds segment 0's ECAM in the MCFG; false (and 0xcf8 from then on) if
 * there is none or it lies above 4 GiB. */
bool pci_init(void);
/* What pci_init() found: base (0 if none) and the bus range. */
extern uintptr_t pci_ecam;
extern uint8_t pci_ecam_bus_start, pci_ecam_bus_end;

/* Accesses of `width` bytes (1, 2, 4) at `off`, naturally aligned. */
uint32_t pci_ecam_read(uint16_t bdf, uint16_t off, unsigned width);
void pci_ecam_write(uint16_t bdf, uint16_t off, unsigned width, uint32_t v);
uint32_t pci_cf8_read(uint16_t bdf, uint16_t off, unsigned width);
void pci_cf8_write(uint16_t bdf, uint16_t off, unsigned width, uint32_t v);
uint32_t pci_read(uint16_t bdf, uint16_t off, unsigned width);
void pci_write(uint16_t bdf, uint16_t off, unsigned width, uint32_t v);

static inline uint8_t pci_read8(uint16_t bdf, uint16_t off)
{
	return (uint8_t)pci_read(bdf, off, 1);
}
static inline uint16_t pci_read16(uint16_t bdf, uint16_t off)
{
	return (uint16_t)pci_read(bdf, off, 2);
}
static inline uint32_t pci_read32(uint16_t bdf, uint16_t off)
{
	return pci_read(bdf, off, 4);
}
static inline void pci_write8(uint16_t bdf, uint16_t off, uint8_t v)
{
	pci_write(bdf, off, 1, v);
}
static inline void pci_write16(uint16_t bdf, uint16_t off, uint16_t v)
{
	pci_write(bdf, off, 2, v);
}
static inline void pci_write32(uint16_t bdf, uint16_t off, uint32_t v)
{
	pci_write(bdf, off, 4, v);
}

/* The first function on bus 0 with these ids (function 0 of each slot,
 * and the others of multi-function devices), or -1. */
int pci_find_device(uint16_t vendor, uint16_t device);

/* Capability list: the offset of the first capability `id` after offset
 * `after` (0: from the start), or 0.  A malformed list (pointer below
 * 0x40, a loop) ends the walk. */
uint8_t pci_find_cap(uint16_t bdf, uint8_t id, uint8_t after);

struct pci_bar {
	uint64_t addr;		/* as programmed */
	uint64_t size;		/* 0: not implemented */
	bool io, mem64, prefetch;
};
/* Reads and sizes BAR n (writing all ones with decoding off, then
 * restoring the register(s) and the command register); false for an
 * unimplemented BAR (size 0).  After a 64-bit BAR the caller skips n+1,
 * its upper half. */
bool pci_bar_probe(uint16_t bdf, unsigned n, struct pci_bar *b);
/* The address BAR n is programmed with (64-bit aware). */
uint64_t pci_bar_addr(uint16_t bdf, unsigned n);
/* Sets bits in the command register. */
void pci_enable(uint16_t bdf, uint16_t bits);

/* MSI-X of one function, with its table in a memory BAR below 4 GiB. */
struct pci_msix {
	uint16_t bdf;
	uint8_t cap;
	uint16_t nvec;
	uintptr_t table, pba;
};
/* Finds the capability and the table/PBA addresses; false if absent or
 * unreachable. */
bool pci_msix_probe(uint16_t bdf, struct pci_msix *m);
/* Entry v: message address/data for IDT `vector` on this CPU, unmasked
 * (or masked). */
void pci_msix_set(const struct pci_msix *m, unsigned v, uint8_t vector, bool masked);
void pci_msix_mask(const struct pci_msix *m, unsigned v, bool masked);
bool pci_msix_pending(const struct pci_msix *m, unsigned v);
/* Function-level enable and mask-all in the capability's control word. */
void pci_msix_control(const struct pci_msix *m, bool enable, bool maskall);

#endif
