/* SPDX-License-Identifier: MIT */
/*
 * virtio-pmem end to end (virtio 1.2, 5.19 "PMEM Device") through the
 * modern PCI transport, against files the harness made
 * (tests/direct/virtio.sh).  The file of each device holds two 32-byte
 * records, each a line padded with spaces to 31 bytes plus "\n":
 *     "initial TAG 0"       at offset 0
 *     "initial TAG OFF"     at offset OFF = size - 32 (the region's end)
 * where TAG names the device.
 *
 * The command line (--cmdline) says what to expect:
 *   pmem.devs=N           N --pmem devices (default 1, at most 4)
 *   pmem.tagI=TAG         device I's file carries TAG (I = 0 .. N-1)
 *   pmem.sizeI=BYTES      and its region is BYTES long
 * The devices are told apart by the tag their region starts with, not
 * by their order on the bus.
 *
 * For every device, one after the other:
 *   1. features (VERSION_1; SHMEM_REGION not accepted, so start and
 *      size are the region's); the configuration: start and size read as
 *      32-bit halves under config_generation; size as the command line
 *      says, start 2 MiB-aligned, above every RAM byte of the PVH memory
 *      map, clear of all of its entries, of the device's BARs, of the
 *      other devices' regions, and within the CPU's physical address
 *      width; prints "PMEM 00:DD.F start=0x.. size=N ...";
 *   2. the region's 2 MiB pages that the test touches are mapped into
 *      the guest's page tables (start.S maps only 0-4 GiB); the initial
 *      records at both ends read as the harness wrote them;
 *   3. one request queue (num_queues 1, no queue 1), MSI-X;
 *   4. "guest TAG OFF" records written at 32, size / 2 and size - 64,
 *      read back, the initial records intact;
 *   5. FLUSH: ret 0, used length 4, completed by the queue's interrupt;
 *      two FLUSHes behind one notification: both ret 0;
 *   6. unknown request types 1 and 0xffffffff: a non-zero ret; then a
 *      FLUSH still succeeds and the device does not want a reset;
 *   7. a device reset and a second bring-up: the same start and size,
 *      the flushed records still there ("Writes that have been flushed
 *      are preserved across device reset"), FLUSH ret 0; then a reset
 *      to quiet the device (the library's rings are shared).
 * Then: no more pmem devices than the command line names.
 *
 * The harness checks the files afterwards: exactly the guest's records
 * changed them, or (discard_writes=on) nothing did.
 */
#include "virtio.h"

#define VIRTIO_ID_PMEM 27
#define VIRTIO_PMEM_F_SHMEM_REGION 0
#define VIRTIO_PMEM_REQ_TYPE_FLUSH 0

#define VECTOR_BASE 0x50
#define TIMEOUT_MS 2000
#define MAX_DEVS 4
#define REC 32			/* bytes per record */
#define TAG_MAX 15
#define PAGE_2M (2ull << 20)
#define RET_UNTOUCHED 0xeeeeeeeeu

/* struct virtio_pmem_config (5.19.4) */
#define CFG_START 0
#define CFG_SIZE 8
#define CFG_LEN 16

/* page table entry bits */
#define PTE_P 0x001ull
#define PTE_RW 0x002ull
#define PTE_PS 0x080ull
#define PTE_ADDR 0x000ffffffffff000ull

struct want {
	char tag[TAG_MAX + 1];
	uint64_t size;
	bool seen;
};

/* What a request in flight needs: the device-readable type and the
 * device-writable ret, in separate descriptors (as Linux sends them). */
struct slot {
	uint32_t type;
	uint32_t ret;
};

struct region {
	uint64_t start, size;
};

static struct want want[MAX_DEVS];
static unsigned ndevs = 1;
static struct region regions[MAX_DEVS];
static unsigned nregions;

static struct virtio_dev dev;
static const char *tag;		/* the current device's */
static uint64_t start, size;	/* its region */
static struct slot slots[2] __attribute__((aligned(64)));
/* page tables for the regions above 4 GiB, zeroed with .bss */
static uint64_t pt_pool[4][512] __attribute__((aligned(4096)));
static unsigned pt_used;

/* ------------------------------------------------------ command line */
static void read_cmdline(const struct hvm_start_info *si)
{
	char key[16] = "pmem.tagN", v[24];

	if (cmdline_get(si, "pmem.devs", v, sizeof(v)))
		ndevs = (unsigned)parse_u64(v);
	CHECK(ndevs >= 1 && ndevs <= MAX_DEVS, "pmem.devs=%u: 1 to %u", ndevs, MAX_DEVS);
	for (unsigned i = 0; i < ndevs; i++) {
		memcpy(key, "pmem.tag", 8);
		key[8] = (char)('0' + i);
		key[9] = 0;
		CHECK(cmdline_get(si, key, want[i].tag, sizeof(want[i].tag)) && want[i].tag[0],
		      "no %s= on the command line", key);
		memcpy(key, "pmem.size", 9);
		key[9] = (char)('0' + i);
		key[10] = 0;
		CHECK(cmdline_get(si, key, v, sizeof(v)), "no %s= on the command line", key);
		want[i].size = parse_u64(v);
	}
}

/* ---------------------------------------------------------- records */
/* "WORD TAG OFF", spaces to 31 bytes, "\n": what the harness writes
 * with printf '%-31s\n'. */
static void record(char *out, const char *word, const char *t, uint64_t off)
{
	char digits[21];
	size_t n, w = strlen(word), tl = strlen(t);
	int d = 0;

	memset(out, ' ', REC - 1);
	out[REC - 1] = '\n';
	do {
		digits[d++] = (char)('0' + off % 10);
		off /= 10;
	} while (off);
	memcpy(out, word, w);
	n = w;
	out[n++] = ' ';
	memcpy(out + n, t, tl);
	n += tl;
	out[n++] = ' ';
	while (d)
		out[n++] = digits[--d];
}

/* ------------------------------------------------------- page tables */
static uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static uint64_t *next_table(uint64_t *entry)
{
	if (!(*entry & PTE_P)) {
		CHECK(pt_used < ARRAY_SIZE(pt_pool), "out of page tables for the pmem regions");
		*entry = (uintptr_t)pt_pool[pt_used++] | PTE_P | PTE_RW;
	}
	CHECK(!(*entry & PTE_PS), "a large page is already mapped where a table should be");
	return (uint64_t *)(uintptr_t)(*entry & PTE_ADDR);
}

/* Identity-maps the 2 MiB page holding gpa (write-back); returns gpa as
 * a pointer. */
static void *map_2m(uint64_t gpa)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	uint64_t *pdpt, *pd, *e;

	CHECK(gpa < (1ull << 47), "0x%lx is beyond 4-level paging", gpa);
	pdpt = next_table(&pml4[gpa >> 39 & 511]);
	pd = next_table(&pdpt[gpa >> 30 & 511]);
	e = &pd[gpa >> 21 & 511];
	if (!(*e & PTE_P)) {
		*e = (gpa & ~(PAGE_2M - 1)) | PTE_P | PTE_RW | PTE_PS;
		__asm__ volatile("invlpg (%0)" : : "r"((uintptr_t)gpa) : "memory");
	}
	return (void *)(uintptr_t)gpa;
}

/* len bytes at offset off of the current region, mapped. */
static uint8_t *at(uint64_t off, uint64_t len)
{
	for (uint64_t p = (start + off) & ~(PAGE_2M - 1); p < start + off + len; p += PAGE_2M)
		map_2m(p);
	return (uint8_t *)(uintptr_t)(start + off);
}

static unsigned phys_bits(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u));
	if (a < 0x80000008u)
		return 36;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008u));
	return a & 0xff;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Negotiation and the region's placement (step 1). */
static void features_and_config(void)
{
	uint64_t f = virtio_device_features(&dev), ram_end = 0;
	const struct hvm_memmap_entry *map;
	unsigned bits = phys_bits();
	uint32_t n;

	printf("PMEM features=0x%lx\n", f);
	virtio_init(&dev, VIRTIO_F(VIRTIO_F_VERSION_1));
	CHECK(!(dev.features & VIRTIO_F(VIRTIO_PMEM_F_SHMEM_REGION)), "SHMEM_REGION accepted");
	CHECK(dev.device, "no device configuration capability");
	CHECK(dev.device_len >= CFG_LEN, "device configuration is %u bytes, want %u",
	      dev.device_len, CFG_LEN);
	start = virtio_cfg64(&dev, CFG_START);
	size = virtio_cfg64(&dev, CFG_SIZE);

	map = memmap(&n);
	CHECK(map && n, "no PVH memory map");
	for (uint32_t i = 0; i < n; i++) {
		if (map[i].type == HVM_MEMMAP_RAM && map[i].addr + map[i].size > ram_end)
			ram_end = map[i].addr + map[i].size;
		CHECK(!overlaps(start, size, map[i].addr, map[i].size),
		      "region 0x%lx+0x%lx overlaps memory map entry 0x%lx+0x%lx type %u", start,
		      size, map[i].addr, map[i].size, map[i].type);
	}
	CHECK(size && size % PAGE_2M == 0, "size 0x%lx is not a non-zero multiple of 2 MiB", size);
	CHECK(start % PAGE_2M == 0, "start 0x%lx is not 2 MiB-aligned", start);
	CHECK(start >= ram_end, "start 0x%lx is below the end of RAM 0x%lx", start, ram_end);
	CHECK(start + size > start && start + size <= 1ull << bits,
	      "region 0x%lx+0x%lx is beyond the CPU's %u physical address bits", start, size, bits);
	for (unsigned b = 0; b < 6; b++)	/* (their bases: they are not sized here) */
		CHECK(!dev.bar[b] || !overlaps(start, size, dev.bar[b], 1),
		      "region 0x%lx+0x%lx holds BAR %u at 0x%lx", start, size, b, dev.bar[b]);
	for (unsigned r = 0; r < nregions; r++)
		CHECK(!overlaps(start, size, regions[r].start, regions[r].size),
		      "region 0x%lx+0x%lx overlaps another device's 0x%lx+0x%lx", start, size,
		      regions[r].start, regions[r].size);
	regions[nregions++] = (struct region){ start, size };
	printf("PMEM 00:%02x.%x start=0x%lx size=%lu (RAM ends at 0x%lx, %u physical bits)\n",
	       PCI_DEV(dev.bdf), PCI_FN(dev.bdf), start, size, ram_end, bits);
}

/* The tag at the region's start names the device; both initial records
 * must read as the harness wrote them (step 2). */
static void identify(void)
{
	char expect[REC];
	const char *p = (const char *)at(0, REC);
	struct want *w = NULL;
	size_t n = 0;

	CHECK(!memcmp(p, "initial ", 8), "region start reads '%.31s', not an initial record", p);
	while (n < TAG_MAX && p[8 + n] != ' ' && p[8 + n] != '\n')
		n++;
	for (unsigned i = 0; i < ndevs; i++)
		if (strlen(want[i].tag) == n && !memcmp(want[i].tag, p + 8, n))
			w = &want[i];
	CHECK(w, "region start reads '%.31s': no such tag on the command line", p);
	CHECK(!w->seen, "two regions start with tag '%s'", w->tag);
	w->seen = true;
	tag = w->tag;
	CHECK(size == w->size, "%s: config size %lu, the harness gave %lu", tag, size, w->size);
	record(expect, "initial", tag, 0);
	CHECK(!memcmp(p, expect, REC), "%s: offset 0 reads '%.31s'", tag, p);
	record(expect, "initial", tag, size - REC);
	p = (const char *)at(size - REC, REC);
	CHECK(!memcmp(p, expect, REC), "%s: offset %lu (the end) reads '%.31s', want '%.31s'", tag,
	      size - REC, p, expect);
	printf("PMEM %s: initial records at 0 and %lu\n", tag, size - REC);
}

/* ----------------------------------------------------------- queue */
static void bring_up(void)
{
	uint16_t max;

	CHECK(dev.msix.nvec >= 2 && dev.msix.nvec <= VIRTIO_MAX_VECTORS,
	      "%u MSI-X vectors for one queue and config", dev.msix.nvec);
	virtio_msix_setup(&dev);
	virtio_msix_config(&dev, 1);
	CHECK(virtio_cc_read16(&dev, VIRTIO_CC_NUMQ) == 1, "num_queues %u, want 1 (req_vq)",
	      virtio_cc_read16(&dev, VIRTIO_CC_NUMQ));
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 1);
	CHECK(virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE) == 0, "queue 1 exists (size %u)",
	      virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE));
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 0);
	max = virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE);
	vq_setup(&dev, 0, max < 8 ? max : 8, 0);
	virtio_driver_ok(&dev);
}

static int post(unsigned s, uint32_t type)
{
	struct vq_buf b[2] = { { &slots[s].type, 4 }, { &slots[s].ret, 4 } };
	int head;

	slots[s].type = type;
	slots[s].ret = RET_UNTOUCHED;
	head = vq_add(&dev.vq[0], b, 1, 1);
	CHECK(head >= 0, "no free descriptors");
	return head;
}

/* Takes the next used entry, which must be `head`; returns its ret. */
static uint32_t take(unsigned s, int head, const char *what)
{
	uint32_t id, len;

	CHECK(vq_get_used(&dev.vq[0], &id, &len), "%s: no used entry", what);
	CHECK(id == (uint32_t)head, "%s: used id %u, posted head %d", what, id, head);
	CHECK(slots[s].ret != RET_UNTOUCHED, "%s: ret not written (used len %u)", what, len);
	CHECK(len == 4, "%s: used len %u, want 4 (ret)", what, len);
	return slots[s].ret;
}

static void wait_irq(uint16_t n, const char *what)
{
	CHECK(vq_wait_used(&dev, &dev.vq[0], n, TIMEOUT_MS, true),
	      "%s: no completion by interrupt in %u ms (%u used, %u irqs, status 0x%x)", what,
	      TIMEOUT_MS, vq_used_pending(&dev.vq[0]), virtio_irqs[0], virtio_status(&dev));
}

static uint32_t request(uint32_t type, const char *what)
{
	int head = post(0, type);

	vq_kick(&dev, &dev.vq[0]);
	wait_irq(1, what);
	return take(0, head, what);
}

static void flush(const char *what)
{
	uint32_t ret = request(VIRTIO_PMEM_REQ_TYPE_FLUSH, what);

	CHECK(ret == 0, "%s: ret 0x%x, want 0", what, ret);
}

/* ---------------------------------------------------------- the steps */
static const uint64_t *write_offsets(void)
{
	static uint64_t off[3];

	off[0] = REC;
	off[1] = size / 2;
	off[2] = size - 2 * REC;
	return off;
}

/* The guest's records (and the initial ones) read as they should. */
static void check_records(const char *when)
{
	const uint64_t *off = write_offsets();
	char expect[REC];

	for (unsigned i = 0; i < 3; i++) {
		const char *p = (const char *)at(off[i], REC);

		record(expect, "guest", tag, off[i]);
		CHECK(!memcmp(p, expect, REC), "%s: %s: offset %lu reads '%.31s', want '%.31s'",
		      tag, when, off[i], p, expect);
	}
	record(expect, "initial", tag, 0);
	CHECK(!memcmp(at(0, REC), expect, REC), "%s: %s: the initial record at 0 changed", tag,
	      when);
	record(expect, "initial", tag, size - REC);
	CHECK(!memcmp(at(size - REC, REC), expect, REC),
	      "%s: %s: the initial record at %lu changed", tag, when, size - REC);
}

static void writes(void)
{
	const uint64_t *off = write_offsets();

	for (unsigned i = 0; i < 3; i++)
		record((char *)at(off[i], REC), "guest", tag, off[i]);
	check_records("after writing");
	printf("PMEM %s: wrote records at %lu, %lu and %lu, read back\n", tag, off[0], off[1],
	       off[2]);
}

static void flushes(void)
{
	uint32_t irqs = virtio_irqs[0];
	int h0, h1;

	flush("FLUSH");
	CHECK(virtio_irqs[0] != irqs, "FLUSH completed without an interrupt");
	/* two requests behind one notification */
	h0 = post(0, VIRTIO_PMEM_REQ_TYPE_FLUSH);
	h1 = post(1, VIRTIO_PMEM_REQ_TYPE_FLUSH);
	vq_kick(&dev, &dev.vq[0]);
	wait_irq(2, "two FLUSHes");
	CHECK(take(0, h0, "first of two FLUSHes") == 0, "first of two FLUSHes: ret 0x%x",
	      slots[0].ret);
	CHECK(take(1, h1, "second of two FLUSHes") == 0, "second of two FLUSHes: ret 0x%x",
	      slots[1].ret);
	printf("PMEM %s: FLUSH ret 0, used len 4, by interrupt; two FLUSHes in one kick\n", tag);
}

static void unknown_types(void)
{
	uint32_t r1 = request(1, "request type 1");
	uint32_t r2 = request(0xffffffffu, "request type 0xffffffff");
	uint8_t s;

	printf("PMEM %s: unknown request types 1 and 0xffffffff: ret 0x%x and 0x%x\n", tag, r1, r2);
	/* 5.19.6: "The device MUST return 0 for success and -1 for failure" */
	CHECK(r1 == 0xffffffffu, "request type 1: ret 0x%x, want -1", r1);
	CHECK(r2 == 0xffffffffu, "request type 0xffffffff: ret 0x%x, want -1", r2);
	s = virtio_status(&dev);
	CHECK(!(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)),
	      "after unknown requests: device_status 0x%x", s);
	flush("FLUSH after unknown requests");
}

static void after_reset(void)
{
	uint64_t s0 = start, z0 = size;

	CHECK(virtio_reset(&dev), "device_status reads 0x%x after a reset", virtio_status(&dev));
	virtio_init(&dev, VIRTIO_F(VIRTIO_F_VERSION_1));
	start = virtio_cfg64(&dev, CFG_START);
	size = virtio_cfg64(&dev, CFG_SIZE);
	CHECK(start == s0 && size == z0, "after a reset: region 0x%lx+0x%lx, was 0x%lx+0x%lx",
	      start, size, s0, z0);
	bring_up();
	check_records("after a device reset");
	flush("FLUSH after a device reset");
	printf("PMEM %s: after a device reset: same region, records intact, FLUSH ret 0\n", tag);
	CHECK(virtio_reset(&dev), "device_status reads 0x%x after the last reset",
	      virtio_status(&dev));
}

void guest_main(const struct hvm_start_info *si)
{
	read_cmdline(si);
	for (unsigned i = 0; i < ndevs; i++) {
		CHECK(virtio_find_nth(&dev, VIRTIO_ID_PMEM, i, VECTOR_BASE),
		      "virtio-pmem device %u of %u (PCI 1af4:%04x) not found", i + 1, ndevs,
		      VIRTIO_PCI_DEVICE_MODERN + VIRTIO_ID_PMEM);
		features_and_config();
		identify();
		bring_up();
		writes();
		flushes();
		unknown_types();
		after_reset();
	}
	CHECK(!virtio_find_nth(&dev, VIRTIO_ID_PMEM, ndevs, VECTOR_BASE),
	      "more than the %u virtio-pmem devices the command line names", ndevs);
	printf("PMEM %u device(s), disjoint regions above RAM\n", ndevs);
	pass();
}
