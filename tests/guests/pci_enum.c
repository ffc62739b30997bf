/* SPDX-License-Identifier: MIT */
/*
 * PCI enumeration of bus 0, the way firmware or an OS does it:
 *   - ECAM from the MCFG (reserved in the memory map) and mechanism #1
 *     (0xcf8/0xcfc) see the same devices and the same 256 bytes of each,
 *     also with byte and word reads; absent functions (empty slots,
 *     function 1 of a single-function device, bus 1, the last dword of
 *     the ECAM window) read all ones and ignore writes;
 *   - the host bridge (class 06/00) at 00:00.0 and virtio-rng
 *     (1af4:1044, revision >= 1);
 *   - BAR sizing (all ones, size mask, restore) of every BAR of both,
 *     BAR 0 of virtio-rng a 64-bit memory BAR in a PCI window, unused
 *     BARs and the ROM BAR read 0; memory decoding follows the command
 *     register;
 *   - read-only registers (ids, class, header type, capability pointer,
 *     status, subsystem) ignore writes, interrupt line is writable;
 *   - the capability list is well formed; MSI-X (id 0x11) has its table
 *     and PBA inside BAR 0, starts disabled with every vector masked;
 *     the virtio vendor capabilities are well formed, with common,
 *     notify and ISR present, and the VIRTIO_PCI_CAP_PCI_CFG capability
 *     (virtio 1.2, "PCI configuration access capability") -- checked
 *     last.
 * Prints "PCI <bdf> <vendor>:<device> class <base><sub>" per function.
 */
#include "virtio.h"

#define MAX_FUNCS 16

static uint16_t funcs[MAX_FUNCS];
static unsigned nfuncs;

static void print_bdf(uint16_t bdf)
{
	printf("%02x:%02x.%x", PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
}

/* Every dword of the 256 bytes both ways, and sub-dword reads through
 * the other byte lanes of 0xcfc. */
static void compare_methods(uint16_t bdf)
{
	static const struct { uint8_t off, width; } sub[] = {
		{ 0x00, 2 }, { 0x02, 2 }, { 0x08, 1 }, { 0x09, 1 }, { 0x0a, 1 },
		{ 0x0b, 1 }, { 0x0e, 1 }, { 0x06, 2 }, { 0x2e, 2 }, { 0x34, 1 },
		{ 0x3d, 1 }, { 0x3f, 1 },
	};

	for (uint16_t off = 0; off < PCI_CFG_SIZE; off += 4) {
		uint32_t e = pci_ecam_read(bdf, off, 4), c = pci_cf8_read(bdf, off, 4);

		CHECK(e == c, "bdf 0x%x offset 0x%x: ECAM reads 0x%x, 0xcf8 reads 0x%x", bdf, off,
		      e, c);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(sub); i++) {
		uint32_t e = pci_ecam_read(bdf, sub[i].off, sub[i].width);
		uint32_t c = pci_cf8_read(bdf, sub[i].off, sub[i].width);
		uint32_t d = pci_ecam_read(bdf, sub[i].off & 0xfc, 4) >> (8 * (sub[i].off & 3));

		d &= sub[i].width == 1 ? 0xff : 0xffff;
		CHECK(e == c && e == d,
		      "bdf 0x%x offset 0x%x width %u: ECAM 0x%x, 0xcf8 0x%x, from the dword 0x%x",
		      bdf, sub[i].off, sub[i].width, e, c, d);
	}
}

static void enumerate(void)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		unsigned nfn = 1;

		for (unsigned fn = 0; fn < nfn; fn++) {
			uint16_t bdf = PCI_BDF(0, dev, fn);
			uint32_t e = pci_ecam_read(bdf, PCI_VENDOR_ID, 4);
			uint32_t c = pci_cf8_read(bdf, PCI_VENDOR_ID, 4);
			uint32_t class;

			CHECK(e == c, "00:%02x.%x ids: ECAM 0x%x, 0xcf8 0x%x", dev, fn, e, c);
			if ((e & 0xffff) == 0xffff) {
				CHECK(e == PCI_NONE, "00:%02x.%x: vendor 0xffff but ids 0x%x", dev, fn, e);
				continue;
			}
			if (fn == 0 && (pci_read8(bdf, PCI_HEADER_TYPE) & PCI_HEADER_MULTI))
				nfn = 8;
			compare_methods(bdf);
			class = pci_read32(bdf, PCI_REVISION) >> 8;
			printf("PCI ");
			print_bdf(bdf);
			printf(" %04x:%04x class %04x\n", e & 0xffff, e >> 16, class >> 8);
			CHECK(nfuncs < MAX_FUNCS, "more than %u functions on bus 0", MAX_FUNCS);
			funcs[nfuncs++] = bdf;
		}
	}
}

static void check_absent(uint16_t bdf, uint16_t off, bool cf8_too)
{
	uint32_t e32, e16, e8;

	/* a bus beyond the MCFG's range has no ECAM addresses: 0xcf8 only */
	if (PCI_BUS(bdf) <= pci_ecam_bus_end) {
		e32 = pci_ecam_read(bdf, off, 4);
		e16 = pci_ecam_read(bdf, off + 2, 2);
		e8 = pci_ecam_read(bdf, off + 1, 1);
		CHECK(e32 == PCI_NONE && e16 == 0xffff && e8 == 0xff,
		      "absent bdf 0x%x offset 0x%x via ECAM: 0x%x 0x%x 0x%x, want all ones", bdf,
		      off, e32, e16, e8);
		pci_ecam_write(bdf, off, 4, 0x00000007);
		pci_ecam_write(bdf, off + 2, 2, 0);
		e32 = pci_ecam_read(bdf, off, 4);
		CHECK(e32 == PCI_NONE, "absent bdf 0x%x: reads 0x%x after a write", bdf, e32);
	}
	if (!cf8_too)
		return;
	e32 = pci_cf8_read(bdf, off, 4);
	e16 = pci_cf8_read(bdf, off + 2, 2);
	e8 = pci_cf8_read(bdf, off + 3, 1);
	CHECK(e32 == PCI_NONE && e16 == 0xffff && e8 == 0xff,
	      "absent bdf 0x%x offset 0x%x via 0xcf8: 0x%x 0x%x 0x%x, want all ones", bdf, off,
	      e32, e16, e8);
	pci_cf8_write(bdf, off, 4, 0x00000007);
	e32 = pci_cf8_read(bdf, off, 4);
	CHECK(e32 == PCI_NONE, "absent bdf 0x%x: reads 0x%x via 0xcf8 after a write", bdf, e32);
}

static void check_ecam_reserved(void)
{
	uint32_t n;
	const struct hvm_memmap_entry *m = memmap(&n);

	for (uint32_t i = 0; m && i < n; i++)
		if (m[i].addr <= pci_ecam && pci_ecam < m[i].addr + m[i].size) {
			CHECK(m[i].type == HVM_MEMMAP_RESERVED,
			      "the memory map calls the ECAM at 0x%lx type %u, not reserved",
			      (uint64_t)pci_ecam, m[i].type);
			return;
		}
	/* Not in the map at all is fine too: it is not RAM. */
}

/* Writes to registers that must not change, through both mechanisms. */
static void check_read_only(uint16_t bdf)
{
	static const struct { uint8_t off, width; uint32_t v; bool cf8; } w[] = {
		{ PCI_VENDOR_ID, 2, 0x1234, false },
		{ PCI_DEVICE_ID, 2, 0x5678, true },
		{ PCI_VENDOR_ID, 4, 0xdeadbeef, true },
		{ PCI_REVISION, 4, 0xffffffff, false },
		{ PCI_CLASS_BASE, 1, 0x55, true },
		{ PCI_HEADER_TYPE, 1, 0xff, false },
		{ PCI_STATUS, 2, 0xffff, true },
		{ PCI_SUBSYS_VENDOR, 4, 0x12345678, false },
		{ PCI_CAP_PTR, 1, 0x00, true },
		{ PCI_INTERRUPT_PIN, 1, 0x01, false },
	};
	uint32_t before[16], after;

	for (uint16_t off = 0; off < 0x40; off += 4)
		before[off / 4] = pci_read32(bdf, off);
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		if (w[i].cf8)
			pci_cf8_write(bdf, w[i].off, w[i].width, w[i].v);
		else
			pci_ecam_write(bdf, w[i].off, w[i].width, w[i].v);
		after = pci_read32(bdf, w[i].off & 0xfc);
		CHECK(after == before[w[i].off / 4],
		      "bdf 0x%x: writing 0x%x (%u bytes) to read-only 0x%x changed dword 0x%x to 0x%x",
		      bdf, w[i].v, w[i].width, w[i].off, before[w[i].off / 4], after);
	}
	/* interrupt line: a scratch register for software */
	pci_write8(bdf, PCI_INTERRUPT_LINE, 0x0b);
	after = pci_read8(bdf, PCI_INTERRUPT_LINE);
	CHECK(after == 0x0b, "bdf 0x%x: interrupt line reads 0x%x after writing 0x0b", bdf, after);
	pci_write8(bdf, PCI_INTERRUPT_LINE, (uint8_t)before[PCI_INTERRUPT_LINE / 4]);
}

/* Every BAR of a function: sized, restored, printed.  Returns BAR 0. */
static struct pci_bar check_bars(uint16_t bdf)
{
	struct pci_bar bar0 = { 0 };
	uint32_t regs[6], cmd = pci_read16(bdf, PCI_COMMAND), rom;

	for (unsigned n = 0; n < 6; n++)
		regs[n] = pci_read32(bdf, PCI_BAR0 + 4 * n);
	for (unsigned n = 0; n < 6; n++) {
		struct pci_bar b;

		if (!pci_bar_probe(bdf, n, &b)) {
			CHECK(regs[n] == 0, "bdf 0x%x BAR%u: size 0 but reads 0x%x", bdf, n, regs[n]);
			continue;
		}
		print_bdf(bdf);
		printf(" BAR%u %s%s 0x%lx size 0x%lx\n", n, b.io ? "io" : b.mem64 ? "mem64" : "mem32",
		       b.prefetch ? " prefetchable" : "", b.addr, b.size);
		CHECK(!(b.size & (b.size - 1)), "bdf 0x%x BAR%u: size 0x%lx not a power of two", bdf,
		      n, b.size);
		CHECK(!(b.addr & (b.size - 1)), "bdf 0x%x BAR%u: 0x%lx not aligned to its size", bdf,
		      n, b.addr);
		if (!b.io)
			CHECK(b.size >= 4096, "bdf 0x%x BAR%u: memory BAR of 0x%lx bytes (< 4 KiB)",
			      bdf, n, b.size);
		if (n == 0)
			bar0 = b;
		if (b.mem64)
			n++;
	}
	for (unsigned n = 0; n < 6; n++) {
		uint32_t now = pci_read32(bdf, PCI_BAR0 + 4 * n);

		CHECK(now == regs[n], "bdf 0x%x BAR%u reads 0x%x after sizing, was 0x%x", bdf, n, now,
		      regs[n]);
	}
	CHECK(pci_read16(bdf, PCI_COMMAND) == cmd, "bdf 0x%x: command register not restored", bdf);
	/* no expansion ROM: the register is hardwired to 0 */
	pci_write32(bdf, PCI_ROM_ADDRESS, 0xfffff801);
	rom = pci_read32(bdf, PCI_ROM_ADDRESS);
	CHECK(rom == 0, "bdf 0x%x: ROM BAR reads 0x%x after sizing, want 0 (none)", bdf, rom);
	return bar0;
}

struct caps {
	uint8_t msix;
	unsigned vndr[16];
	unsigned nvndr;
};

static void check_vendor_cap(uint16_t bdf, uint8_t p, const struct pci_bar *bar0, struct caps *c)
{
	uint8_t len = pci_read8(bdf, p + VIRTIO_PCI_CAP_LEN);
	uint8_t type = pci_read8(bdf, p + VIRTIO_PCI_CAP_CFG_TYPE);
	uint8_t bar = pci_read8(bdf, p + VIRTIO_PCI_CAP_BAR);
	uint32_t off = pci_read32(bdf, p + VIRTIO_PCI_CAP_OFFSET);
	uint32_t length = pci_read32(bdf, p + VIRTIO_PCI_CAP_LENGTH);

	print_bdf(bdf);
	printf(" cap 0x%x virtio type %u bar %u offset 0x%x length 0x%x\n", p, type, bar, off,
	       length);
	CHECK(len >= 16 && p + len <= 0x100, "virtio cap at 0x%x: cap_len %u", p, len);
	c->nvndr++;
	if (type < ARRAY_SIZE(c->vndr))
		c->vndr[type]++;
	if (type == VIRTIO_PCI_CAP_PCI_CFG)
		return; /* its window fields are the driver's to write */
	if (type == VIRTIO_PCI_CAP_COMMON_CFG || type == VIRTIO_PCI_CAP_NOTIFY_CFG ||
	    type == VIRTIO_PCI_CAP_ISR_CFG || type == VIRTIO_PCI_CAP_DEVICE_CFG) {
		CHECK(bar == 0, "virtio cap type %u in BAR %u, this test reads BAR 0 only", type, bar);
		CHECK((uint64_t)off + length <= bar0->size,
		      "virtio cap type %u: 0x%x+0x%x is outside BAR 0 (0x%lx bytes)", type, off,
		      length, bar0->size);
	}
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		CHECK(!(off & 3) && length >= VIRTIO_CC_SIZE, "common cfg at 0x%x, 0x%x bytes", off,
		      length);
		break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG: {
		uint32_t mult;

		CHECK(len >= 20, "notify cap of %u bytes, want 20", len);
		mult = pci_read32(bdf, p + VIRTIO_PCI_NOTIFY_MULTIPLIER);
		/* notification structure: 2-byte aligned, the multiplier 0 or an
		 * even power of two */
		CHECK(!(off & 1) && length >= 2, "notify cfg at 0x%x, 0x%x bytes", off, length);
		CHECK(mult == 0 || (mult >= 2 && !(mult & (mult - 1))),
		      "notify_off_multiplier %u is neither 0 nor an even power of 2", mult);
		break;
	}
	case VIRTIO_PCI_CAP_ISR_CFG:
		CHECK(length >= 1, "ISR cfg of 0 bytes");
		break;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		CHECK(!(off & 3), "device cfg at 0x%x not 4-byte aligned", off);
		break;
	default:
		break;
	}
}

static void check_msix_cap(uint16_t bdf, uint8_t p, const struct pci_bar *bar0)
{
	uint16_t ctrl = pci_read16(bdf, p + MSIX_CAP_CTRL);
	uint32_t t = pci_read32(bdf, p + MSIX_CAP_TABLE), pba = pci_read32(bdf, p + MSIX_CAP_PBA);
	uint32_t n = (ctrl & MSIX_CTRL_SIZE) + 1u;
	uint64_t tend = (uint64_t)(t & ~MSIX_BIR) + 16ull * n;
	uint64_t pend = (uint64_t)(pba & ~MSIX_BIR) + 8ull * ((n + 63) / 64);
	uint64_t base = bar0->addr;

	print_bdf(bdf);
	printf(" cap 0x%x MSI-X %u vectors, table BAR%u+0x%x, PBA BAR%u+0x%x\n", p, n,
	       t & MSIX_BIR, t & ~MSIX_BIR, pba & MSIX_BIR, pba & ~MSIX_BIR);
	CHECK((t & MSIX_BIR) == 0 && (pba & MSIX_BIR) == 0, "MSI-X table or PBA not in BAR 0");
	CHECK(tend <= bar0->size && pend <= bar0->size,
	      "MSI-X table (to 0x%lx) or PBA (to 0x%lx) beyond BAR 0 (0x%lx bytes)", tend, pend,
	      bar0->size);
	CHECK(tend <= (pba & ~MSIX_BIR) || pend <= (t & ~MSIX_BIR), "MSI-X table and PBA overlap");
	CHECK(!(ctrl & (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL)),
	      "MSI-X control 0x%x at boot: enable/function mask set", ctrl);
	CHECK(base && base < 0x100000000ull, "BAR 0 at 0x%lx is not below 4 GiB", base);
	/* PCI 3.0 6.8.2.9: every vector's mask bit is 1 after reset */
	for (uint32_t v = 0; v < n && v < 64; v++) {
		uint32_t vc = mmio_read32((uintptr_t)base + (t & ~MSIX_BIR) + 16 * v + MSIX_ENTRY_CTRL);

		CHECK(vc & MSIX_ENTRY_MASKED, "MSI-X vector %u control 0x%x at boot: not masked", v,
		      vc);
	}
	CHECK(mmio_read32((uintptr_t)base + (pba & ~MSIX_BIR)) == 0, "MSI-X PBA not 0 at boot");
}

/* The capability list of a function: well formed, and what it holds. */
static void walk_caps(uint16_t bdf, const struct pci_bar *bar0, struct caps *c)
{
	uint8_t p = pci_read8(bdf, PCI_CAP_PTR);
	uint8_t seen[256 / 8] = { 0 };
	int n;

	memset(c, 0, sizeof(*c));
	CHECK(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST, "bdf 0x%x: no capability list",
	      bdf);
	for (n = 0; p && n < 48; n++) {
		uint8_t id;

		CHECK(p >= 0x40 && !(p & 3), "bdf 0x%x: capability pointer 0x%x", bdf, p);
		CHECK(!(seen[p / 8] & (1 << (p % 8))), "bdf 0x%x: capability list loops at 0x%x",
		      bdf, p);
		seen[p / 8] |= (uint8_t)(1 << (p % 8));
		id = pci_read8(bdf, p);
		if (id == PCI_CAP_ID_MSIX) {
			CHECK(!c->msix, "two MSI-X capabilities");
			c->msix = p;
			check_msix_cap(bdf, p, bar0);
		} else if (id == PCI_CAP_ID_VNDR) {
			check_vendor_cap(bdf, p, bar0, c);
		} else {
			print_bdf(bdf);
			printf(" cap 0x%x id 0x%x\n", p, id);
		}
		p = pci_read8(bdf, p + 1);
	}
	CHECK(!p, "bdf 0x%x: more than 48 capabilities", bdf);
}

void guest_main(const struct hvm_start_info *si)
{
	int host = -1, rng = -1;
	struct pci_bar bar0;
	struct caps caps;
	uint16_t bdf, cmd, numq;
	uint32_t v;
	uintptr_t common = 0;

	(void)si;
	CHECK(pci_init(), "no usable MCFG table (segment 0 ECAM below 4 GiB)");
	printf("PCI ECAM 0x%lx buses %u-%u\n", (uint64_t)pci_ecam, pci_ecam_bus_start,
	       pci_ecam_bus_end);
	check_ecam_reserved();

	/* 0xcf8 holds what is written (bits 1:0 read 0), enable bit clear
	 * means no configuration cycle */
	outl(0xcf8, 0x80000810u);
	v = inl(0xcf8);
	CHECK(v == 0x80000810u, "CONFIG_ADDRESS reads 0x%x after writing 0x80000810", v);
	outl(0xcf8, 0x00000000u);
	v = inl(0xcfc);
	CHECK(v == PCI_NONE, "0xcfc reads 0x%x with the enable bit clear", v);

	enumerate();
	for (unsigned i = 0; i < nfuncs; i++) {
		uint32_t id = pci_read32(funcs[i], PCI_VENDOR_ID);

		if (funcs[i] == PCI_BDF(0, 0, 0))
			host = 0;
		if (id == ((VIRTIO_PCI_DEVICE_MODERN + VIRTIO_ID_RNG) << 16 | VIRTIO_PCI_VENDOR))
			rng = funcs[i];
	}
	CHECK(host == 0, "nothing at 00:00.0");
	v = pci_read32(PCI_BDF(0, 0, 0), PCI_REVISION) >> 16;
	CHECK(v == 0x0600, "00:00.0 has class 0x%x, want 0x0600 (host bridge)", v);
	CHECK((pci_read8(PCI_BDF(0, 0, 0), PCI_HEADER_TYPE) & 0x7f) == 0,
	      "host bridge header type 0x%x", pci_read8(PCI_BDF(0, 0, 0), PCI_HEADER_TYPE));
	CHECK(rng >= 0, "no virtio-rng (1af4:1044) on bus 0");
	bdf = (uint16_t)rng;

	/* absent functions */
	check_absent(PCI_BDF(PCI_BUS(bdf), PCI_DEV(bdf), 1), PCI_VENDOR_ID, true);
	check_absent(PCI_BDF(1, 0, 0), PCI_VENDOR_ID, true);
	check_absent(PCI_BDF(pci_ecam_bus_end, 31, 7), 0xffc, false);
	for (unsigned dev = 0; dev < 32; dev++) {
		bool used = false;

		for (unsigned i = 0; i < nfuncs; i++)
			used |= PCI_DEV(funcs[i]) == dev;
		if (!used) {
			check_absent(PCI_BDF(0, dev, 0), PCI_COMMAND, true);
			break;
		}
	}

	/* virtio-rng's identity (virtio 1.2, "PCI Device Discovery") */
	v = pci_read8(bdf, PCI_REVISION);
	CHECK(v >= 1, "virtio-rng revision %u, want >= 1 (non-transitional)", v);
	v = pci_read16(bdf, PCI_SUBSYS_ID);
	CHECK(v >= 0x40, "virtio-rng subsystem id 0x%x, want >= 0x40", v);
	CHECK((pci_read8(bdf, PCI_HEADER_TYPE) & 0x7f) == 0, "virtio-rng header type 0x%x",
	      pci_read8(bdf, PCI_HEADER_TYPE));

	check_bars(PCI_BDF(0, 0, 0));
	bar0 = check_bars(bdf);
	CHECK(bar0.size && !bar0.io && bar0.mem64, "virtio-rng BAR 0 is not a 64-bit memory BAR");
	CHECK((bar0.addr >= 0xc0000000u && bar0.addr + bar0.size <= 0xe0000000u) ||
		      bar0.addr >= 0x100000000ull,
	      "virtio-rng BAR 0 at 0x%lx: in neither PCI window", bar0.addr);

	check_read_only(PCI_BDF(0, 0, 0));
	check_read_only(bdf);

	/* command register: the decode and master bits are writable */
	cmd = pci_read16(bdf, PCI_COMMAND);
	pci_write16(bdf, PCI_COMMAND, 0xffff);
	v = pci_read16(bdf, PCI_COMMAND);
	printf("virtio-rng command register reads 0x%x after writing 0xffff\n", v);
	CHECK((v & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) == (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
	      "command 0x%x: memory/master bits not writable", v);
	pci_write16(bdf, PCI_COMMAND, PCI_COMMAND_MEMORY);

	walk_caps(bdf, &bar0, &caps);
	CHECK(caps.msix, "virtio-rng has no MSI-X capability");
	CHECK(caps.vndr[VIRTIO_PCI_CAP_COMMON_CFG] && caps.vndr[VIRTIO_PCI_CAP_NOTIFY_CFG] &&
		      caps.vndr[VIRTIO_PCI_CAP_ISR_CFG],
	      "virtio caps: common %u, notify %u, ISR %u: each must be present",
	      caps.vndr[VIRTIO_PCI_CAP_COMMON_CFG], caps.vndr[VIRTIO_PCI_CAP_NOTIFY_CFG],
	      caps.vndr[VIRTIO_PCI_CAP_ISR_CFG]);
	printf("virtio-rng: %u virtio capabilities\n", caps.nvndr);

	/* memory decoding follows the command register: num_queues through
	 * BAR 0 with decoding on, all ones (no one answers) with it off */
	for (uint8_t p = 0; (p = pci_find_cap(bdf, PCI_CAP_ID_VNDR, p));)
		if (pci_read8(bdf, p + VIRTIO_PCI_CAP_CFG_TYPE) == VIRTIO_PCI_CAP_COMMON_CFG) {
			common = (uintptr_t)bar0.addr + pci_read32(bdf, p + VIRTIO_PCI_CAP_OFFSET);
			break;
		}
	CHECK(bar0.addr < 0x100000000ull, "BAR 0 above 4 GiB: this guest maps only 4 GiB");
	numq = *(volatile uint16_t *)(common + VIRTIO_CC_NUMQ);
	CHECK(numq == 1, "virtio-rng num_queues reads %u with decoding on, want 1", numq);
	pci_write16(bdf, PCI_COMMAND, 0);
	numq = *(volatile uint16_t *)(common + VIRTIO_CC_NUMQ);
	CHECK(numq == 0xffff, "num_queues reads 0x%x with memory decoding off, want 0xffff",
	      numq);
	pci_write16(bdf, PCI_COMMAND, PCI_COMMAND_MEMORY);
	numq = *(volatile uint16_t *)(common + VIRTIO_CC_NUMQ);
	CHECK(numq == 1, "num_queues reads %u once decoding is back on", numq);
	pci_write16(bdf, PCI_COMMAND, cmd);

	/* the extended space of a conventional function: nothing there */
	v = pci_ecam_read(bdf, 0x100, 4);
	printf("virtio-rng extended config header 0x%x\n", v);

	/* virtio 1.2, "PCI configuration access capability": "The device
	 * MUST present at least one VIRTIO_PCI_CAP_PCI_CFG capability." */
	CHECK(caps.vndr[VIRTIO_PCI_CAP_PCI_CFG],
	      "virtio-rng has no VIRTIO_PCI_CAP_PCI_CFG capability (virtio 1.2: MUST)");
	pass();
}
