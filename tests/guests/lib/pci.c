/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration space, capabilities, BARs and MSI-X for the test
 * guests (see pci.h).  Included by lib.c.
 */
#include "pci.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_CONFIG_ENABLE 0x80000000u

uintptr_t pci_ecam;
uint8_t pci_ecam_bus_start, pci_ecam_bus_end;

bool pci_init(void)
{
	const struct acpi_header *t = acpi_find_table("MCFG");
	const struct acpi_mcfg_alloc *a;
	uint32_t n;

	pci_ecam = 0;
	/* header, 8 reserved bytes, then 16-byte allocation entries */
	if (!t || t->length < sizeof(*t) + 8 + sizeof(*a))
		return false;
	a = (const void *)((const uint8_t *)t + sizeof(*t) + 8);
	n = (t->length - sizeof(*t) - 8) / sizeof(*a);
	for (uint32_t i = 0; i < n; i++, a++) {
		uint64_t end = a->base + ((uint64_t)(a->end_bus - a->start_bus + 1) << 20);

		if (a->segment || a->end_bus < a->start_bus || end > 0x100000000ull)
			continue;
		pci_ecam = (uintptr_t)a->base;
		pci_ecam_bus_start = a->start_bus;
		pci_ecam_bus_end = a->end_bus;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------- ECAM */
static uintptr_t ecam_addr(uint16_t bdf, uint16_t off)
{
	unsigned bus = PCI_BUS(bdf);

	if (!pci_ecam || bus < pci_ecam_bus_start || bus > pci_ecam_bus_end ||
	    off >= PCIE_CFG_SIZE)
		return 0;
	return pci_ecam + ((uintptr_t)(bus - pci_ecam_bus_start) << 20) +
	       ((uintptr_t)(bdf & 0xff) << 12) + off;
}

uint32_t pci_ecam_read(uint16_t bdf, uint16_t off, unsigned width)
{
	uintptr_t a = ecam_addr(bdf, off);

	if (!a)
		return PCI_NONE;
	switch (width) {
	case 1: return *(volatile uint8_t *)a;
	case 2: return *(volatile uint16_t *)a;
	default: return *(volatile uint32_t *)a;
	}
}

void pci_ecam_write(uint16_t bdf, uint16_t off, unsigned width, uint32_t v)
{
	uintptr_t a = ecam_addr(bdf, off);

	if (!a)
		return;
	switch (width) {
	case 1: *(volatile uint8_t *)a = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)a = (uint16_t)v; break;
	default: *(volatile uint32_t *)a = v; break;
	}
}

/* -------------------------------------------- mechanism #1, 0xcf8 */
static bool cf8_select(uint16_t bdf, uint16_t off)
{
	if (off >= PCI_CFG_SIZE)
		return false;
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | (uint32_t)bdf << 8 | (off & 0xfc));
	return true;
}

uint32_t pci_cf8_read(uint16_t bdf, uint16_t off, unsigned width)
{
	uint16_t port = PCI_CONFIG_DATA + (off & 3);

	if (!cf8_select(bdf, off))
		return PCI_NONE;
	switch (width) {
	case 1: return inb(port);
	case 2: return inw(port);
	default: return inl(port);
	}
}

void pci_cf8_write(uint16_t bdf, uint16_t off, unsigned width, uint32_t v)
{
	uint16_t port = PCI_CONFIG_DATA + (off & 3);

	if (!cf8_select(bdf, off))
		return;
	switch (width) {
	case 1: outb(port, (uint8_t)v); break;
	case 2: outw(port, (uint16_t)v); break;
	default: outl(port, v); break;
	}
}

uint32_t pci_read(uint16_t bdf, uint16_t off, unsigned width)
{
	return pci_ecam ? pci_ecam_read(bdf, off, width) : pci_cf8_read(bdf, off, width);
}

void pci_write(uint16_t bdf, uint16_t off, unsigned width, uint32_t v)
{
	if (pci_ecam)
		pci_ecam_write(bdf, off, width, v);
	else
		pci_cf8_write(bdf, off, width, v);
}

/* ------------------------------------------------------- functions */
int pci_find_device(uint16_t vendor, uint16_t device)
{
	uint32_t want = (uint32_t)device << 16 | vendor;

	for (unsigned dev = 0; dev < 32; dev++) {
		unsigned nfn = 1;

		for (unsigned fn = 0; fn < nfn; fn++) {
			uint16_t bdf = PCI_BDF(0, dev, fn);
			uint32_t id = pci_read32(bdf, PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff)
				continue;
			if (fn == 0 && (pci_read8(bdf, PCI_HEADER_TYPE) & PCI_HEADER_MULTI))
				nfn = 8;
			if (id == want)
				return bdf;
		}
	}
	return -1;
}

uint8_t pci_find_cap(uint16_t bdf, uint8_t id, uint8_t after)
{
	uint8_t p;

	if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	p = after ? pci_read8(bdf, after + 1) : pci_read8(bdf, PCI_CAP_PTR);
	/* at most 48 capabilities fit between 0x40 and 0x100 */
	for (int n = 0; n < 48 && p >= 0x40; n++) {
		p &= 0xfc; /* the low two bits are reserved */
		if (pci_read8(bdf, p) == id)
			return p;
		p = pci_read8(bdf, p + 1);
	}
	return 0;
}

void pci_enable(uint16_t bdf, uint16_t bits)
{
	pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | bits);
}

uint64_t pci_bar_addr(uint16_t bdf, unsigned n)
{
	uint32_t lo = pci_read32(bdf, PCI_BAR0 + 4 * n);

	if (lo & PCI_BAR_IO)
		return lo & ~3u;
	if ((lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM64 && n < 5)
		return (uint64_t)pci_read32(bdf, PCI_BAR0 + 4 * (n + 1)) << 32 | (lo & ~0xfu);
	return lo & ~0xfu;
}

bool pci_bar_probe(uint16_t bdf, unsigned n, struct pci_bar *b)
{
	uint16_t reg = PCI_BAR0 + 4 * n, cmd = pci_read16(bdf, PCI_COMMAND);
	uint32_t lo = pci_read32(bdf, reg), hi = 0, mlo, mhi = 0xffffffffu;
	uint64_t mask;

	memset(b, 0, sizeof(*b));
	b->io = lo & PCI_BAR_IO;
	b->mem64 = !b->io && (lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM64 && n < 5;
	b->prefetch = !b->io && (lo & PCI_BAR_PREFETCH);
	/* no decoding while the register holds the sizing pattern */
	pci_write16(bdf, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	pci_write32(bdf, reg, 0xffffffffu);
	mlo = pci_read32(bdf, reg);
	pci_write32(bdf, reg, lo);
	if (b->mem64) {
		hi = pci_read32(bdf, reg + 4);
		pci_write32(bdf, reg + 4, 0xffffffffu);
		mhi = pci_read32(bdf, reg + 4);
		pci_write32(bdf, reg + 4, hi);
	}
	pci_write16(bdf, PCI_COMMAND, cmd);
	if (b->io) {
		b->addr = lo & ~3u;
		/* the upper 16 bits of an I/O BAR may read as 0 */
		mask = (mlo & ~3u) | 0xffff0000u;
		b->size = (uint32_t)(~mask + 1);
	} else {
		b->addr = (uint64_t)hi << 32 | (lo & ~0xfu);
		mask = (uint64_t)mhi << 32 | (mlo & ~0xfu);
		b->size = mask ? ~mask + 1 : 0;
	}
	if (!(mlo & ~0xfu) && !b->io)
		b->size = 0;
	return b->size != 0;
}

/* ------------------------------------------------------------ MSI-X */
bool pci_msix_probe(uint16_t bdf, struct pci_msix *m)
{
	uint32_t t, p;
	uint64_t tbase, pbase;

	memset(m, 0, sizeof(*m));
	m->bdf = bdf;
	m->cap = pci_find_cap(bdf, PCI_CAP_ID_MSIX, 0);
	if (!m->cap)
		return false;
	m->nvec = (pci_read16(bdf, m->cap + MSIX_CAP_CTRL) & MSIX_CTRL_SIZE) + 1;
	t = pci_read32(bdf, m->cap + MSIX_CAP_TABLE);
	p = pci_read32(bdf, m->cap + MSIX_CAP_PBA);
	if ((t & MSIX_BIR) > 5 || (p & MSIX_BIR) > 5)
		return false;
	tbase = pci_bar_addr(bdf, t & MSIX_BIR);
	pbase = pci_bar_addr(bdf, p & MSIX_BIR);
	if (!tbase || !pbase || tbase >= 0x100000000ull || pbase >= 0x100000000ull)
		return false;
	m->table = (uintptr_t)tbase + (t & ~MSIX_BIR);
	m->pba = (uintptr_t)pbase + (p & ~MSIX_BIR);
	return true;
}

void pci_msix_set(const struct pci_msix *m, unsigned v, uint8_t vector, bool masked)
{
	uintptr_t e = m->table + v * MSIX_ENTRY_SIZE;

	/* masked while the message changes */
	mmio_write32(e + MSIX_ENTRY_CTRL, MSIX_ENTRY_MASKED);
	mmio_write32(e + MSIX_ENTRY_ADDR_LO, MSI_ADDR(lapic_id()));
	mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
	mmio_write32(e + MSIX_ENTRY_DATA, vector); /* fixed, edge */
	if (!masked)
		mmio_write32(e + MSIX_ENTRY_CTRL, 0);
}

void pci_msix_mask(const struct pci_msix *m, unsigned v, bool masked)
{
	mmio_write32(m->table + v * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL,
		     masked ? MSIX_ENTRY_MASKED : 0);
}

bool pci_msix_pending(const struct pci_msix *m, unsigned v)
{
	return mmio_read32(m->pba + (v / 32) * 4) & (1u << (v % 32));
}

void pci_msix_control(const struct pci_msix *m, bool enable, bool maskall)
{
	uint16_t c = pci_read16(m->bdf, m->cap + MSIX_CAP_CTRL);

	c &= (uint16_t)~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	if (enable)
		c |= MSIX_CTRL_ENABLE;
	if (maskall)
		c |= MSIX_CTRL_MASKALL;
	pci_write16(m->bdf, m->cap + MSIX_CAP_CTRL, c);
}
