// SPDX-License-Identifier: MIT
/*
 * virtio-balloon (virtio/balloon.c) as a hostile guest drives it: a
 * KVM-less VM (tests/unit/fake_vm.h) with a balloon made by the real
 * device table (free page reporting and the statistics queue on, all
 * four queues negotiated and set up at fixed rings).  The input is a
 * list of operations: guest RAM contents, chains of up to four
 * descriptors offered on any queue (addresses in the data window, past
 * the protected range up to and beyond the end of RAM, or anything a
 * 64-bit number can be; any length and flags), arrays of page frame
 * numbers of the same three kinds for the inflate and deflate queues,
 * statistics buffers, config-space writes (`actual`, the target) and
 * the reclaim hook vm.resize uses.  Nothing the guest names may reach
 * outside its RAM (ASan), and the protected range, which no address or
 * page frame number of the input falls in, must keep its bytes: a page
 * discarded there would come back zeroed.  (An input that offers RAM it
 * wrote itself as frame numbers, or writes the transport's registers,
 * may name the range: it is checked by ASan alone.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "fake_vm.h"

#define DATA_WINDOW 0x100000ull		/* input bytes land in [0, 1 MiB) */
#define GUARD_START (4ull << 20)	/* the protected range: [4, 6) MiB */
#define GUARD_END (6ull << 20)
#define PAGE 4096u
#define NQUEUES 4			/* inflate, deflate, stats, reporting */
#define QSIZE 16
#define PATTERN 0xa5

static struct fake_vm fv;
static unsigned slot;
static uint16_t next_avail[NQUEUES];
static bool guard_named;		/* the input may have named the range */
static char dir[64];

static void remove_files(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/kernel", dir);
	unlink(path);
	rmdir(dir);
}

static void make_vm(void)
{
	char kernel[96];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
			       "--serial", "null", "--balloon",
			       "size=4M,free_page_reporting=on,stats_polling_interval_s=1", NULL };
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/wisp-fuzz-balloon-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	fd = open(kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "k", 1) != 1 || close(fd))
		abort();
	atexit(remove_files);
	fake_vm_create(&fv, argv);
	slot = fake_find(&fv, 0x1040 + 5);
	if (!slot || !fv.vm.reclaim)
		abort();
}

/* A guest address of one of three kinds, never in the protected range. */
static uint64_t hostile_gpa(struct fuzz_in *in)
{
	uint8_t kind = (uint8_t)fuzz_take(in, 1);
	uint64_t raw;

	if (kind % 3 == 0)
		return fuzz_take(in, 3) % DATA_WINDOW;
	if (kind % 3 == 1)	/* to the end of RAM and past it */
		return GUARD_END + fuzz_take(in, 4) % (FAKE_VM_RAM + (1u << 20) - GUARD_END);
	raw = fuzz_take(in, 8);
	return raw < GUARD_END ? raw | 1ull << 40 : raw;
}

/* A length that keeps an address below the protected range below it. */
static uint32_t hostile_len(struct fuzz_in *in, uint64_t gpa)
{
	uint32_t len = (uint32_t)fuzz_take(in, 3);

	if (gpa < GUARD_START && gpa + len > GUARD_START)
		len = (uint32_t)(GUARD_START - gpa);
	return len;
}

/* One chain of 1 to 4 descriptors on queue q, offered and kicked. */
static void op_chain(struct fuzz_in *in, unsigned q)
{
	unsigned n = 1 + (unsigned)fuzz_take(in, 1) % 4;
	uint16_t *avail = gpa_ptr(&fv.vm.mem, FAKE_RING_GPA(q) + 0x1000, 4 + 2 * QSIZE);

	for (unsigned i = 0; i < n; i++) {
		uint8_t d[16];
		uint64_t addr = hostile_gpa(in);
		uint32_t len = hostile_len(in, addr);
		uint16_t flags = (uint16_t)(fuzz_take(in, 1) & 2) | (i + 1 < n ? 1 : 0);
		uint16_t next = (uint16_t)(i + 1);

		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		gpa_write(&fv.vm.mem, FAKE_RING_GPA(q) + 16ull * i, d, 16);
	}
	avail[2 + next_avail[q] % QSIZE] = 0;
	avail[1] = ++next_avail[q];
	fake_notify(&fv, slot, q);
}

/* An array of page frame numbers at 0x80000, offered on queue 0 or 1. */
static void op_pfns(struct fuzz_in *in)
{
	unsigned q = (unsigned)fuzz_take(in, 1) & 1, n = (unsigned)fuzz_take(in, 1) % 64;
	uint16_t *avail = gpa_ptr(&fv.vm.mem, FAKE_RING_GPA(q) + 0x1000, 4 + 2 * QSIZE);
	uint32_t len = 4 * n + (uint32_t)(fuzz_take(in, 1) % 4);	/* and a stray tail */
	uint64_t addr = 0x80000;
	uint16_t flags = 0, next = 0;
	uint8_t d[16];

	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = hostile_gpa(in);
		uint32_t pfn = (uint32_t)(gpa / PAGE);

		/* a 64-bit address's frame number can wrap into the range */
		if ((uint64_t)pfn * PAGE >= GUARD_START && (uint64_t)pfn * PAGE < GUARD_END)
			pfn |= 0x80000000u;
		gpa_write(&fv.vm.mem, addr + 4 * i, &pfn, 4);
	}
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	gpa_write(&fv.vm.mem, FAKE_RING_GPA(q), d, 16);
	avail[2 + next_avail[q] % QSIZE] = 0;
	avail[1] = ++next_avail[q];
	fake_notify(&fv, slot, q);
}

static void op_ram(struct fuzz_in *in)
{
	uint64_t gpa = (fuzz_take(in, 2) << 4) % DATA_WINDOW;
	size_t n = (size_t)fuzz_take(in, 1) * 4;

	if (n > in->left)
		n = in->left;
	if (gpa + n > DATA_WINDOW)
		n = (size_t)(DATA_WINDOW - gpa);
	gpa_write(&fv.vm.mem, gpa, in->p, n);
	in->p += n;
	in->left -= n;
}

static void op_reclaim(struct fuzz_in *in)
{
	const struct vm_reclaim *r = fv.vm.reclaim;
	uint64_t bytes = fuzz_take(in, 8) >> (fuzz_take(in, 1) % 64);

	if (r->target(fv.vm.reclaim_opaque, bytes) != (bytes > FAKE_VM_RAM ? -1 : 0))
		abort();
	if (r->taken(fv.vm.reclaim_opaque) > FAKE_VM_RAM)
		abort();
}

static void set_up(void)
{
	uint64_t bar = FAKE_BAR(slot);

	fake_vm_reset(&fv);
	memset(gpa_ptr(&fv.vm.mem, 0, DATA_WINDOW), 0, DATA_WINDOW);
	memset(gpa_ptr(&fv.vm.mem, GUARD_START, GUARD_END - GUARD_START), PATTERN,
	       GUARD_END - GUARD_START);
	fake_negotiate(&fv, slot);
	for (unsigned q = 0; q < NQUEUES; q++) {
		fake_add_queue(&fv, slot, q, QSIZE);
		next_avail[q] = 0;
	}
	fake_mmio(&fv, bar + FAKE_CC_STATUS, 0xf, 1, true);		/* DRIVER_OK */
}

static void check_guard(void)
{
	const uint8_t *p = gpa_ptr(&fv.vm.mem, GUARD_START, GUARD_END - GUARD_START);

	for (uint64_t i = 0; i < GUARD_END - GUARD_START; i += PAGE / 4)
		if (p[i] != PATTERN)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_in in = { data, size };
	unsigned q;

	if (!ready) {
		make_vm();
		ready = true;
	}
	set_up();
	guard_named = false;
	for (unsigned ops = 0; in.left && ops < 128; ops++) {
		unsigned op = (unsigned)fuzz_take(&in, 1);

		switch (op % 6) {
		case 0: op_ram(&in); break;
		case 1:
			q = (unsigned)fuzz_take(&in, 1) % NQUEUES;
			guard_named |= q == 0;
			op_chain(&in, q);
			break;
		case 2: op_pfns(&in); break;
		case 3:
			/* the device config: num_pages, actual, and past them */
			fake_cfg_write(&fv, slot, 0x04, 0x6, 2);
			fake_mmio(&fv, FAKE_BAR(slot) + 0x2000 + (fuzz_take(&in, 1) & 0x1f),
				  fuzz_take(&in, 4), 1u << (op >> 6 & 2), true);
			break;
		case 4: op_reclaim(&in); break;
		default:
			guard_named = true;
			fake_mmio(&fv, FAKE_BAR(slot) + (fuzz_take(&in, 2) & 0x3fff), fuzz_take(&in, 4),
				  4, true);
			break;
		}
	}
	event_loop_poll(fv.vm.loop, 0);
	if (!guard_named)
		check_guard();
	fake_vm_reset(&fv);
	return 0;
}
