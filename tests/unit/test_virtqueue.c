// SPDX-License-Identifier: MIT
/*
 * Split virtqueues: a fake driver lays the rings out in guest memory and
 * posts chains the way the virtio 1.2 specification says a driver does
 * (and, for the hostile cases, every way it says a driver must not).
 * Guest RAM is three regions: 1 MiB at 0, 64 MiB at 256 MiB (mapped
 * lazily, for the 4 GiB chain) and 64 KiB ending at 2^64 (for addr + len
 * overflowing).  Last, a driver thread and a device thread run 20000
 * requests against each other to check that no notification is lost.
 */
#include "unit.h"

#include <endian.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "core/memory.h"
#include "virtio/virtqueue.h"

#define RAM0_SIZE	0x100000ull
#define RAM1_GPA	0x10000000ull
#define RAM1_SIZE	0x4000000ull
#define RAM2_GPA	0xffffffffffff0000ull
#define RAM2_SIZE	0x10000ull

#define DESC_GPA	0x10000ull
#define AVAIL_GPA	0x20000ull
#define USED_GPA	0x30000ull
#define BUF_GPA		0x40000ull
#define BUF(i)		(BUF_GPA + (uint64_t)(i) * 0x100)	/* 0x100 apart: never adjacent */
#define ITAB_GPA	0x80000ull
#define HOLE_GPA	0x200000ull	/* between RAM0 and RAM1: not RAM */

#define F_INDIRECT	(1ull << VIRTQ_FEATURE_INDIRECT_DESC)
#define F_EVENT		(1ull << VIRTQ_FEATURE_EVENT_IDX)

#define R		0
#define W		VIRTQ_DESC_F_WRITE
#define N		VIRTQ_DESC_F_NEXT
#define I		VIRTQ_DESC_F_INDIRECT

struct fake {
	struct guest_memory mem;
	struct virtq_dma dma;
	struct virtq q;
	uint16_t size;
	uint16_t avail_idx;	/* the driver's next avail idx */
};

/* ------------------------------------------------------- fake driver */

static int setup(void **state)
{
	static const uint64_t layout[][2] = {
		{ 0, RAM0_SIZE }, { RAM1_GPA, RAM1_SIZE }, { RAM2_GPA, RAM2_SIZE },
	};
	struct memory_config cfg = { .size = RAM0_SIZE + RAM1_SIZE + RAM2_SIZE };
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(memory_init(&f->mem, &cfg, layout, 3), 0);
	virtq_dma_guest(&f->dma, &f->mem);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	virtq_reset(&f->q);
	memory_destroy(&f->mem);
	free(f);
	return 0;
}

static void *hp(struct fake *f, uint64_t gpa, uint64_t len)
{
	void *p = gpa_ptr(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static struct virtq_avail *avail(struct fake *f)
{
	return hp(f, AVAIL_GPA, VIRTQ_AVAIL_BYTES(f->size));
}

static struct virtq_used *used(struct fake *f)
{
	return hp(f, USED_GPA, VIRTQ_USED_BYTES(f->size));
}

static uint16_t *used_event(struct fake *f)
{
	return &avail(f)->ring[f->size];
}

static uint16_t *avail_event(struct fake *f)
{
	return (uint16_t *)(void *)&used(f)->ring[f->size];
}

/* Zeroed rings of `size` at the usual places, and the queue enabled. */
static void start(struct fake *f, uint16_t size, uint64_t features)
{
	f->size = size;
	f->avail_idx = 0;
	memset(hp(f, DESC_GPA, VIRTQ_DESC_BYTES(size)), 0, VIRTQ_DESC_BYTES(size));
	memset(avail(f), 0, VIRTQ_AVAIL_BYTES(size));
	memset(used(f), 0, VIRTQ_USED_BYTES(size));
	assert_int_equal(virtq_init(&f->q, &f->dma, size, DESC_GPA, AVAIL_GPA,
				    USED_GPA, features), 0);
	assert_true(virtq_enabled(&f->q));
}

static void put_desc(struct fake *f, uint64_t table, uint32_t i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {
		.addr = htole64(addr), .len = htole32(len),
		.flags = htole16(flags), .next = htole16(next),
	};

	memcpy(hp(f, table + 16ull * i, 16), &d, 16);
}

#define DESC(i, addr, len, flags, next) put_desc(f, DESC_GPA, i, addr, len, flags, next)
#define IDESC(t, i, addr, len, flags, next) put_desc(f, t, i, addr, len, flags, next)

/* Makes `n` more ring entries visible (their heads already written). */
static void publish(struct fake *f, uint16_t n)
{
	f->avail_idx = (uint16_t)(f->avail_idx + n);
	__atomic_store_n(&avail(f)->idx, htole16(f->avail_idx), __ATOMIC_RELEASE);
}

static void post(struct fake *f, uint16_t head)
{
	avail(f)->ring[f->avail_idx & (f->size - 1)] = htole16(head);
	publish(f, 1);
}

static uint16_t used_idx(struct fake *f)
{
	return le16toh(__atomic_load_n(&used(f)->idx, __ATOMIC_ACQUIRE));
}

static void expect_used(struct fake *f, uint16_t at, uint32_t id, uint32_t len)
{
	struct virtq_used_elem *e = &used(f)->ring[at & (f->size - 1)];

	assert_int_equal(le32toh(e->id), id);
	assert_int_equal(le32toh(e->len), len);
}

static void expect_pop(struct fake *f, struct virtq_chain *c, unsigned nout,
		       unsigned nin)
{
	assert_int_equal(virtq_pop(&f->q, c), 1);
	assert_int_equal(c->nout, nout);
	assert_int_equal(c->nin, nin);
	assert_false(virtq_broken(&f->q));
}

static void expect_seg(struct fake *f, const struct iovec *v, uint64_t gpa,
		       size_t len)
{
	assert_ptr_equal(v->iov_base, hp(f, gpa, len));
	assert_int_equal(v->iov_len, len);
}

static void expect_empty(struct fake *f)
{
	struct virtq_chain c;

	assert_int_equal(virtq_pop(&f->q, &c), 0);
	assert_false(virtq_broken(&f->q));
}

static void expect_malformed(struct fake *f)
{
	struct virtq_chain c;

	assert_int_equal(virtq_pop(&f->q, &c), -1);
	assert_true(virtq_broken(&f->q));
	assert_int_equal(c.nout + c.nin, 0);
	assert_int_equal(virtq_pop(&f->q, &c), -1);
}

/* A one-descriptor chain at desc[0], posted and expected to break the queue. */
static void expect_single_malformed(struct fake *f, uint64_t features,
				    uint64_t addr, uint32_t len, uint16_t flags)
{
	start(f, 16, features);
	DESC(0, addr, len, flags, 0);
	post(f, 0);
	expect_malformed(f);
}

/* ------------------------------------------------------------- init */

static void test_init_sizes(void **state)
{
	struct fake *f = *state;
	static const uint16_t good[] = { 1, 2, 4, 256, 4096 };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		start(f, good[i], 0);
	/* the largest: 512 KiB of descriptors and the rings after them */
	assert_int_equal(virtq_init(&f->q, &f->dma, 32768, 0, 0x80000, 0xa0000, 0), 0);
	assert_int_equal(f->q.size, 32768);
}

static void test_init_bad_size(void **state)
{
	struct fake *f = *state;
	static const uint16_t bad[] = { 0, 3, 6, 100, 32769, 49152, 65535 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtq_chain c;

		assert_int_equal(virtq_init(&f->q, &f->dma, bad[i], DESC_GPA,
					    AVAIL_GPA, USED_GPA, 0), -1);
		assert_false(virtq_enabled(&f->q));
		assert_false(virtq_broken(&f->q));
		assert_int_equal(virtq_pop(&f->q, &c), 0);
	}
}

static void test_init_misaligned(void **state)
{
	struct fake *f = *state;

	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA + 8, AVAIL_GPA, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, AVAIL_GPA + 1, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, AVAIL_GPA, USED_GPA + 2, 0), -1);
	assert_false(virtq_enabled(&f->q));
	/* the smallest alignments are enough */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA + 16, AVAIL_GPA + 2,
				    USED_GPA + 4, 0), 0);
}

/* A DMA map that moves the addresses of one ring by `by`, so that the
 * address and the host pointer differ in alignment. */
struct skew {
	const struct guest_memory *mem;
	uint64_t from;
	int64_t by;
};

static void *skew_map(void *opaque, uint64_t addr, uint64_t *len, bool write)
{
	const struct skew *s = opaque;

	if (addr >= s->from && addr - s->from < 0x10000)
		addr += (uint64_t)s->by;
	return gpa_ptr(s->mem, addr, *len);
}

static void test_init_alignment_both_sides(void **state)
{
	struct fake *f = *state;
	static const struct { uint64_t gpa, align; } ring[] = {
		{ DESC_GPA, 16 }, { AVAIL_GPA, 2 }, { USED_GPA, 4 },
	};

	for (int r = 0; r < 3; r++) {
		struct skew s = { &f->mem, ring[r].gpa, 0 };
		struct virtq_dma dma = { .map = skew_map, .opaque = &s };
		uint64_t addr[3] = { DESC_GPA, AVAIL_GPA, USED_GPA };
		const uint64_t half = ring[r].align / 2;

		/* a misaligned address, though it maps to an aligned pointer */
		s.by = -(int64_t)half;
		addr[r] = ring[r].gpa + half;
		assert_int_equal(virtq_init(&f->q, &dma, 16, addr[0], addr[1], addr[2], 0), -1);
		/* an aligned address mapping to a misaligned pointer */
		s.by = (int64_t)half;
		addr[r] = ring[r].gpa;
		assert_int_equal(virtq_init(&f->q, &dma, 16, addr[0], addr[1], addr[2], 0), -1);
		/* both aligned */
		s.by = (int64_t)ring[r].align;
		assert_int_equal(virtq_init(&f->q, &dma, 16, addr[0], addr[1], addr[2], 0), 0);
	}
}

static void test_init_outside_ram(void **state)
{
	struct fake *f = *state;
	const uint64_t end0 = RAM0_SIZE, end1 = RAM1_GPA + RAM1_SIZE;

	/* in the hole */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, HOLE_GPA, AVAIL_GPA, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, HOLE_GPA, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, AVAIL_GPA, HOLE_GPA, 0), -1);
	/* crossing the end of a region by a little */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, end0 - 240, AVAIL_GPA, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, end0 - 36, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, AVAIL_GPA, end1 - 132, 0), -1);
	/* ...or into the next region, which follows in host memory */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, end1 - 16 * 8, AVAIL_GPA, USED_GPA, 0), -1);
	/* wrapping past 2^64 */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, AVAIL_GPA,
				    0xfffffffffffffff8ull, 0), -1);
	assert_false(virtq_enabled(&f->q));
	/* exactly at the end is fine */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, end0 - 256, end0 - 512 - 38,
				    end1 - 136, 0), 0);
}

static void test_init_readonly_used(void **state)
{
	struct fake *f = *state;

	f->mem.region[1].readonly = true;
	/* the device reads desc and avail, but writes used */
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, RAM1_GPA, RAM1_GPA + 0x1000,
				    USED_GPA, 0), 0);
	assert_int_equal(virtq_init(&f->q, &f->dma, 16, DESC_GPA, AVAIL_GPA,
				    RAM1_GPA, 0), -1);
}

/* ------------------------------------------------------ good chains */

static void test_single(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 16, 0);
	expect_empty(f);
	DESC(3, BUF(0), 100, R, 0);
	post(f, 3);
	expect_pop(f, &c, 1, 0);
	assert_int_equal(c.head, 3);
	expect_seg(f, &c.out[0], BUF(0), 100);
	assert_int_equal(c.out_len, 100);
	assert_int_equal(c.in_len, 0);
	expect_empty(f);

	virtq_push(&f->q, &c, 0);
	assert_int_equal(used_idx(f), 1);
	expect_used(f, 0, 3, 0);
}

static void test_chain_several(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 16, 0);
	DESC(5, BUF(0), 10, R | N, 2);
	DESC(2, BUF(1), 20, R | N, 15);
	DESC(15, BUF(2), 30, R, 7);	/* next ignored without NEXT */
	post(f, 5);
	expect_pop(f, &c, 3, 0);
	assert_int_equal(c.head, 5);
	expect_seg(f, &c.out[0], BUF(0), 10);
	expect_seg(f, &c.out[1], BUF(1), 20);
	expect_seg(f, &c.out[2], BUF(2), 30);
	assert_int_equal(c.out_len, 60);
}

static void test_read_then_write(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	char got[16] = { 0 };

	start(f, 16, 0);
	memcpy(hp(f, BUF(0), 4), "abcd", 4);
	memcpy(hp(f, BUF(1), 6), "efghij", 6);
	DESC(0, BUF(0), 4, R | N, 1);
	DESC(1, BUF(1), 6, R | N, 2);
	DESC(2, BUF(2), 3, W | N, 3);
	DESC(3, BUF(3), 5, W, 0);
	post(f, 0);
	expect_pop(f, &c, 2, 2);
	assert_int_equal(c.out_len, 10);
	assert_int_equal(c.in_len, 8);
	expect_seg(f, &c.in[0], BUF(2), 3);
	expect_seg(f, &c.in[1], BUF(3), 5);

	assert_int_equal(virtq_chain_read(&c, 0, got, sizeof(got)), 10);
	assert_memory_equal(got, "abcdefghij", 10);
	assert_int_equal(virtq_chain_read(&c, 3, got, 3), 3);
	assert_memory_equal(got, "def", 3);
	assert_int_equal(virtq_chain_write(&c, 1, "0123456789", 10), 7);
	assert_memory_equal(hp(f, BUF(2), 3) + 1, "01", 2);
	assert_memory_equal(hp(f, BUF(3), 5), "23456", 5);

	virtq_push(&f->q, &c, 8);
	expect_used(f, 0, 0, 8);
	assert_int_equal(used_idx(f), 1);
}

static void test_chain_copy_bounds(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	char got[8];

	start(f, 16, 0);
	memcpy(hp(f, BUF(0), 4), "wxyz", 4);
	DESC(0, BUF(0), 4, R | N, 1);
	DESC(1, BUF(1), 4, W, 0);
	post(f, 0);
	expect_pop(f, &c, 1, 1);
	assert_int_equal(virtq_chain_read(&c, 4, got, 8), 0);
	assert_int_equal(virtq_chain_read(&c, 1000, got, 8), 0);
	assert_int_equal(virtq_chain_read(&c, 2, got, 8), 2);
	assert_memory_equal(got, "yz", 2);
	assert_int_equal(virtq_chain_read(&c, 0, got, 0), 0);
	assert_int_equal(virtq_chain_write(&c, 4, "!", 1), 0);
	assert_int_equal(virtq_chain_write(&c, 3, "!!", 2), 1);
	assert_int_equal(*(char *)hp(f, BUF(1) + 3, 1), '!');
	assert_int_equal(*(char *)hp(f, BUF(1) + 4, 1), 0);	/* not past the end */

	/* the used length never claims more than the writable part */
	virtq_push(&f->q, &c, 1000);
	expect_used(f, 0, 0, 4);
}

static void test_zero_length(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 16, 0);
	/* zero-length buffers are skipped, whatever their address */
	DESC(0, HOLE_GPA, 0, R | N, 1);
	DESC(1, BUF(0), 8, R | N, 2);
	DESC(2, 0xfffffffffffffff0ull, 0, W | N, 3);
	DESC(3, BUF(1), 4, W, 0);
	post(f, 0);
	expect_pop(f, &c, 1, 1);
	expect_seg(f, &c.out[0], BUF(0), 8);
	expect_seg(f, &c.in[0], BUF(1), 4);

	/* a chain of nothing at all is still a chain */
	DESC(4, BUF(0), 0, R, 0);
	post(f, 4);
	expect_pop(f, &c, 0, 0);
	assert_int_equal(c.head, 4);
}

static void test_merge_adjacent(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 16, 0);
	DESC(0, BUF(0), 16, R | N, 1);
	DESC(1, BUF(0) + 16, 16, R | N, 2);	/* continues the first */
	DESC(2, BUF(0) + 32, 16, W | N, 3);	/* adjacent, other direction */
	DESC(3, BUF(0) + 48, 16, W | N, 4);
	DESC(4, BUF(0), 8, W, 0);		/* not adjacent */
	post(f, 0);
	expect_pop(f, &c, 1, 2);
	expect_seg(f, &c.out[0], BUF(0), 32);
	expect_seg(f, &c.in[0], BUF(0) + 32, 32);
	expect_seg(f, &c.in[1], BUF(0), 8);
	assert_int_equal(c.in_len, 40);

	/* merging is by host address: RAM0's end and RAM1's start are
	 * neighbours in the one mapping, each checked on its own */
	DESC(5, RAM0_SIZE - 16, 16, R | N, 6);
	DESC(6, RAM1_GPA, 16, R, 0);
	post(f, 5);
	expect_pop(f, &c, 1, 0);
	assert_ptr_equal(c.out[0].iov_base, hp(f, RAM0_SIZE - 16, 16));
	assert_int_equal(c.out[0].iov_len, 32);
}

static void test_indirect(void **state)
{
	struct fake *f = *state;
	const uint64_t t = ITAB_GPA + 3;	/* tables need no alignment */
	struct virtq_chain c;

	start(f, 16, F_INDIRECT);
	IDESC(t, 0, BUF(0), 10, R | N, 2);
	IDESC(t, 2, BUF(1), 20, W | N, 1);
	IDESC(t, 1, BUF(2), 30, W, 0);
	/* WRITE on the descriptor naming the table is ignored */
	DESC(7, t, 3 * 16, I | W, 0);
	post(f, 7);
	expect_pop(f, &c, 1, 2);
	assert_int_equal(c.head, 7);
	expect_seg(f, &c.out[0], BUF(0), 10);
	expect_seg(f, &c.in[0], BUF(1), 20);
	expect_seg(f, &c.in[1], BUF(2), 30);
	virtq_push(&f->q, &c, 50);
	expect_used(f, 0, 7, 50);
}

static void test_direct_then_indirect(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 16, F_INDIRECT);
	DESC(0, BUF(0), 8, R | N, 1);
	DESC(1, ITAB_GPA, 2 * 16, I, 0);
	IDESC(ITAB_GPA, 0, BUF(1), 8, R | N, 1);
	IDESC(ITAB_GPA, 1, BUF(2), 8, W, 0);
	post(f, 0);
	expect_pop(f, &c, 2, 1);
	expect_seg(f, &c.out[0], BUF(0), 8);
	expect_seg(f, &c.out[1], BUF(1), 8);
	expect_seg(f, &c.in[0], BUF(2), 8);
}

static void test_indirect_queue_size_entries(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 8, F_INDIRECT);
	for (uint16_t i = 0; i < 8; i++)
		IDESC(ITAB_GPA, i, BUF(i), 8, R | (i < 7 ? N : 0), (uint16_t)(i + 1));
	DESC(0, ITAB_GPA, 8 * 16, I, 0);
	post(f, 0);
	expect_pop(f, &c, 8, 0);
	assert_int_equal(c.out_len, 64);
}

static void test_max_segments(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	const unsigned n = VIRTQ_MAX_SEGS;

	start(f, 256, 0);
	for (unsigned i = 0; i < 2 * n; i++)
		DESC(i, BUF(i), 8, (i < n ? R : W) | (i + 1 < 2 * n ? N : 0), (uint16_t)(i + 1));
	post(f, 0);
	expect_pop(f, &c, n, n);
	expect_seg(f, &c.out[n - 1], BUF(n - 1), 8);
	expect_seg(f, &c.in[n - 1], BUF(2 * n - 1), 8);
}

static void test_4gib_chain(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	const uint32_t len = 64u << 20;	/* 64 chains of all of RAM1: 2^32 */

	start(f, 128, 0);
	for (unsigned i = 0; i < 64; i++)
		DESC(i, RAM1_GPA, len, R | (i < 63 ? N : 0), (uint16_t)(i + 1));
	post(f, 0);
	expect_pop(f, &c, 64, 0);
	assert_int_equal(c.out_len, 1ull << 32);

	/* one byte more is longer than a driver may make a chain */
	DESC(63, RAM1_GPA, len, R | N, 64);
	DESC(64, BUF(0), 1, W, 0);
	post(f, 0);
	expect_malformed(f);
}

static void test_ring_full(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c[8];

	start(f, 8, 0);
	for (int round = 0; round < 3; round++) {
		for (uint16_t i = 0; i < 8; i++) {
			DESC(i, BUF(i), 8, W, 0);
			avail(f)->ring[(f->avail_idx + i) & 7] = htole16(i);
		}
		publish(f, 8);	/* exactly a ring ahead: allowed */
		for (int i = 0; i < 8; i++) {
			expect_pop(f, &c[i], 0, 1);
			assert_int_equal(c[i].head, i);
		}
		expect_empty(f);

		/* filled elements stay invisible until the flush */
		for (int i = 7; i >= 0; i--)
			virtq_fill(&f->q, &c[i], (uint32_t)i);
		assert_int_equal(used_idx(f), 8 * round);
		virtq_flush(&f->q);
		assert_int_equal(used_idx(f), 8 * (round + 1));
		for (int i = 0; i < 8; i++)
			expect_used(f, (uint16_t)i, 7 - i, 7 - i);
		virtq_flush(&f->q);	/* nothing more */
		assert_int_equal(used_idx(f), 8 * (round + 1));
	}
}

static void test_wraparound(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c[2];

	start(f, 4, F_EVENT);
	DESC(0, BUF(0), 4, W, 0);
	DESC(1, BUF(1), 4, W, 0);
	/* 70000 requests, two at a time: both indices wrap at 65536 */
	for (uint32_t i = 0; i < 35000; i++) {
		uint16_t u = used_idx(f);

		/* interrupt for the second of the two */
		*used_event(f) = htole16((uint16_t)(u + 1));
		post(f, 0);
		post(f, 1);
		expect_pop(f, &c[0], 0, 1);
		expect_pop(f, &c[1], 0, 1);
		expect_empty(f);
		virtq_push(&f->q, &c[1], 1);
		if (virtq_needs_interrupt(&f->q))
			fail_msg("interrupt before used_event, at %u", i);
		virtq_push(&f->q, &c[0], 2);
		if (!virtq_needs_interrupt(&f->q))
			fail_msg("no interrupt at %u", i);
		if (used_idx(f) != (uint16_t)(u + 2))
			fail_msg("used idx %u at %u", used_idx(f), i);
		expect_used(f, u, 1, 1);
		expect_used(f, (uint16_t)(u + 1), 0, 2);
		assert_int_equal(le16toh(*avail_event(f)), f->avail_idx);
	}
	assert_int_equal(f->avail_idx, (uint16_t)70000);
	assert_int_equal(used_idx(f), (uint16_t)70000);
}

/* ------------------------------------------------- notifications */

static void push_one(struct fake *f, uint16_t head)
{
	struct virtq_chain c;

	DESC(head, BUF(head), 4, W, 0);
	post(f, head);
	expect_pop(f, &c, 0, 1);
	virtq_push(&f->q, &c, 4);
}

static void test_event_idx_interrupt(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c[3];

	start(f, 16, F_EVENT);
	assert_false(virtq_needs_interrupt(&f->q));	/* nothing used yet */
	*used_event(f) = htole16(0);
	push_one(f, 0);				/* entry 0 */
	assert_true(virtq_needs_interrupt(&f->q));
	assert_false(virtq_needs_interrupt(&f->q));	/* nothing new */
	push_one(f, 1);				/* entry 1: past used_event */
	assert_false(virtq_needs_interrupt(&f->q));

	*used_event(f) = htole16(3);
	push_one(f, 2);				/* entry 2 */
	assert_false(virtq_needs_interrupt(&f->q));
	push_one(f, 3);				/* entry 3 */
	assert_true(virtq_needs_interrupt(&f->q));

	/* a batch crossing used_event in its middle interrupts once */
	*used_event(f) = htole16(5);
	for (uint16_t i = 0; i < 3; i++) {
		DESC(4 + i, BUF(4 + i), 4, W, 0);
		post(f, (uint16_t)(4 + i));
		expect_pop(f, &c[i], 0, 1);
	}
	for (int i = 0; i < 3; i++)
		virtq_fill(&f->q, &c[i], 4);
	assert_false(virtq_needs_interrupt(&f->q));	/* not flushed */
	virtq_flush(&f->q);			/* entries 4, 5, 6 */
	assert_true(virtq_needs_interrupt(&f->q));

	/* the driver asks for an entry behind: no interrupt until it wraps */
	*used_event(f) = htole16(2);
	push_one(f, 7);
	assert_false(virtq_needs_interrupt(&f->q));

	/* EVENT_IDX: the NO_INTERRUPT flag is ignored */
	avail(f)->flags = htole16(VIRTQ_AVAIL_F_NO_INTERRUPT);
	*used_event(f) = htole16(8);
	push_one(f, 8);
	assert_true(virtq_needs_interrupt(&f->q));
}

static void test_no_interrupt_flag(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	*used_event(f) = htole16(100);	/* ignored without EVENT_IDX */
	push_one(f, 0);
	assert_true(virtq_needs_interrupt(&f->q));
	assert_false(virtq_needs_interrupt(&f->q));
	avail(f)->flags = htole16(VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_one(f, 1);
	assert_false(virtq_needs_interrupt(&f->q));
	avail(f)->flags = 0;
	push_one(f, 2);
	assert_true(virtq_needs_interrupt(&f->q));
}

static void test_notify_flags(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	assert_int_equal(used(f)->flags, 0);
	virtq_notify_disable(&f->q);
	assert_int_equal(le16toh(used(f)->flags), VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_notify_enable(&f->q));
	assert_int_equal(used(f)->flags, 0);

	virtq_notify_disable(&f->q);
	DESC(0, BUF(0), 4, R, 0);
	post(f, 0);
	assert_true(virtq_notify_enable(&f->q));	/* look again */
	assert_int_equal(used(f)->flags, 0);
	expect_pop(f, &(struct virtq_chain){ 0 }, 1, 0);
	assert_false(virtq_notify_enable(&f->q));
	*avail_event(f) = htole16(0x1234);		/* never written */
	expect_empty(f);
	assert_int_equal(le16toh(*avail_event(f)), 0x1234);
}

static void test_notify_event_idx(void **state)
{
	struct fake *f = *state;

	start(f, 16, F_EVENT);
	*avail_event(f) = htole16(0xbeef);
	/* an empty pop asks for the next entry */
	expect_empty(f);
	assert_int_equal(le16toh(*avail_event(f)), 0);
	push_one(f, 0);
	push_one(f, 1);
	expect_empty(f);
	assert_int_equal(le16toh(*avail_event(f)), 2);

	/* disabled: flags stay 0 and avail_event stays put */
	virtq_notify_disable(&f->q);
	assert_int_equal(used(f)->flags, 0);
	push_one(f, 2);
	expect_empty(f);
	assert_int_equal(le16toh(*avail_event(f)), 2);
	assert_false(virtq_notify_enable(&f->q));
	assert_int_equal(le16toh(*avail_event(f)), 3);

	virtq_notify_disable(&f->q);
	DESC(3, BUF(3), 4, R, 0);
	post(f, 3);
	assert_true(virtq_notify_enable(&f->q));
	assert_int_equal(le16toh(*avail_event(f)), 3);
	assert_int_equal(used(f)->flags, 0);
}

/* -------------------------------------------------- hostile chains */

static void test_loop_two(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	DESC(4, BUF(0), 0, R | N, 9);	/* zero lengths: no segment bound */
	DESC(9, BUF(1), 0, R | N, 4);
	post(f, 4);
	expect_malformed(f);
}

static void test_loop_self(void **state)
{
	struct fake *f = *state;

	start(f, 1, 0);
	DESC(0, BUF(0), 0, W | N, 0);
	post(f, 0);
	expect_malformed(f);
}

static void test_chain_longer_than_queue(void **state)
{
	struct fake *f = *state;

	start(f, 4, 0);
	for (uint16_t i = 0; i < 4; i++)
		DESC(i, BUF(i), 8, R | N, (uint16_t)((i + 1) & 3));
	post(f, 0);
	expect_malformed(f);
}

static void test_head_out_of_range(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	DESC(0, BUF(0), 8, R, 0);
	post(f, 16);
	expect_malformed(f);
	start(f, 16, 0);
	post(f, 0xffff);
	expect_malformed(f);
}

static void test_next_out_of_range(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	DESC(0, BUF(0), 8, R | N, 16);
	post(f, 0);
	expect_malformed(f);
}

static void test_addr_outside_ram(void **state)
{
	struct fake *f = *state;

	expect_single_malformed(f, 0, HOLE_GPA, 8, R);
	expect_single_malformed(f, 0, HOLE_GPA, 8, W);
	expect_single_malformed(f, 0, RAM1_GPA + RAM1_SIZE, 1, R);
	expect_single_malformed(f, 0, RAM1_GPA - 1, 2, R);
}

static void test_addr_crossing_region_end(void **state)
{
	struct fake *f = *state;

	/* RAM1 follows RAM0 in host memory: still refused */
	expect_single_malformed(f, 0, RAM0_SIZE - 16, 17, R);
	expect_single_malformed(f, 0, RAM1_GPA + RAM1_SIZE - 16, 32, W);
	/* the last byte is fine */
	start(f, 16, 0);
	DESC(0, RAM0_SIZE - 1, 1, R, 0);
	post(f, 0);
	expect_pop(f, &(struct virtq_chain){ 0 }, 1, 0);
}

static void test_addr_len_overflow(void **state)
{
	struct fake *f = *state;

	/* in RAM2, the region ending at 2^64 */
	expect_single_malformed(f, 0, 0xffffffffffffff00ull, 0x200, R);
	expect_single_malformed(f, 0, 0xffffffffffffffffull, 0xffffffffu, W);
	start(f, 16, 0);
	DESC(0, 0xffffffffffffff00ull, 0x100, R, 0);
	post(f, 0);
	expect_pop(f, &(struct virtq_chain){ 0 }, 1, 0);
}

static void test_readable_after_writable(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	DESC(0, BUF(0), 8, R | N, 1);
	DESC(1, BUF(1), 8, W | N, 2);
	DESC(2, BUF(2), 8, R, 0);
	post(f, 0);
	expect_malformed(f);

	/* even an empty one */
	start(f, 16, 0);
	DESC(0, BUF(1), 8, W | N, 1);
	DESC(1, BUF(2), 0, R, 0);
	post(f, 0);
	expect_malformed(f);

	/* across the step into an indirect table */
	start(f, 16, F_INDIRECT);
	DESC(0, BUF(0), 8, W | N, 1);
	DESC(1, ITAB_GPA, 16, I, 0);
	IDESC(ITAB_GPA, 0, BUF(1), 8, R, 0);
	post(f, 0);
	expect_malformed(f);
}

static void test_too_many_segments(void **state)
{
	struct fake *f = *state;
	const unsigned n = VIRTQ_MAX_SEGS + 1;

	start(f, 256, 0);
	for (unsigned i = 0; i < n; i++)
		DESC(i, BUF(i), 8, W | (i + 1 < n ? N : 0), (uint16_t)(i + 1));
	post(f, 0);
	expect_malformed(f);
}

static void test_write_to_readonly(void **state)
{
	struct fake *f = *state;

	f->mem.region[1].readonly = true;
	expect_single_malformed(f, 0, RAM1_GPA, 8, W);
	start(f, 16, 0);
	DESC(0, RAM1_GPA, 8, R, 0);
	post(f, 0);
	expect_pop(f, &(struct virtq_chain){ 0 }, 1, 0);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fake *f = *state;

	IDESC(ITAB_GPA, 0, BUF(0), 8, R, 0);
	expect_single_malformed(f, F_EVENT, ITAB_GPA, 16, I);
}

static void test_indirect_nested(void **state)
{
	struct fake *f = *state;

	IDESC(ITAB_GPA, 0, BUF(0), 8, R | N, 1);
	IDESC(ITAB_GPA, 1, ITAB_GPA + 0x100, 16, I, 0);
	IDESC(ITAB_GPA + 0x100, 0, BUF(1), 8, R, 0);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 32, I);
}

static void test_indirect_with_next(void **state)
{
	struct fake *f = *state;

	start(f, 16, F_INDIRECT);
	IDESC(ITAB_GPA, 0, BUF(0), 8, R, 0);
	DESC(0, ITAB_GPA, 16, I | N, 1);
	DESC(1, BUF(1), 8, W, 0);
	post(f, 0);
	expect_malformed(f);
}

static void test_indirect_bad_len(void **state)
{
	struct fake *f = *state;

	/* the first entry alone is a good chain: only the length is wrong */
	IDESC(ITAB_GPA, 0, BUF(0), 8, R, 0);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 24, I);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 17, I);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 15, I);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 0, I);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 17 * 16, I);	/* > queue size */
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 0xfffffff0u, I);
	/* 17 entries chained, for a queue of 16 */
	for (uint16_t i = 0; i < 17; i++)
		IDESC(ITAB_GPA, i, BUF(i), 8, R | (i < 16 ? N : 0), (uint16_t)(i + 1));
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 17 * 16, I);
}

static void test_indirect_outside_ram(void **state)
{
	struct fake *f = *state;

	expect_single_malformed(f, F_INDIRECT, HOLE_GPA, 16, I);
	expect_single_malformed(f, F_INDIRECT, RAM0_SIZE - 16, 32, I);
	expect_single_malformed(f, F_INDIRECT, 0xfffffffffffffff0ull, 32, I);
}

static void test_indirect_bad_chain(void **state)
{
	struct fake *f = *state;

	/* a loop inside the table */
	IDESC(ITAB_GPA, 0, BUF(0), 0, R | N, 1);
	IDESC(ITAB_GPA, 1, BUF(1), 0, R | N, 0);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 32, I);
	/* next past the table (but inside the queue size) */
	IDESC(ITAB_GPA, 1, BUF(1), 8, R | N, 2);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 32, I);
	/* a bad buffer inside */
	IDESC(ITAB_GPA, 1, HOLE_GPA, 8, R, 0);
	expect_single_malformed(f, F_INDIRECT, ITAB_GPA, 32, I);
}

static void test_avail_idx_jump(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	DESC(0, BUF(0), 8, R, 0);
	post(f, 0);
	expect_pop(f, &(struct virtq_chain){ 0 }, 1, 0);
	publish(f, 17);			/* 17 ahead of the one taken */
	expect_malformed(f);

	/* or going backwards */
	start(f, 16, F_EVENT);
	publish(f, 0xffff);
	expect_malformed(f);
}

static void test_broken_stays_off_the_ring(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	start(f, 16, F_EVENT);
	DESC(0, BUF(0), 8, W, 0);
	post(f, 0);
	expect_pop(f, &c, 0, 1);
	post(f, 16);
	expect_malformed(f);

	/* no access to guest memory at all from here */
	assert_int_equal(mprotect(f->mem.base, f->mem.total, PROT_NONE), 0);
	assert_int_equal(virtq_pop(&f->q, &c), -1);
	virtq_push(&f->q, &c, 8);
	virtq_fill(&f->q, &c, 8);
	virtq_flush(&f->q);
	assert_false(virtq_needs_interrupt(&f->q));
	virtq_notify_disable(&f->q);
	assert_false(virtq_notify_enable(&f->q));
	assert_int_equal(mprotect(f->mem.base, f->mem.total, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(used_idx(f), 0);

	/* repairing the ring does not help: only a reset does */
	post(f, 0);
	assert_int_equal(virtq_pop(&f->q, &c), -1);
	virtq_reset(&f->q);
	assert_false(virtq_broken(&f->q));
	assert_false(virtq_enabled(&f->q));
	assert_int_equal(virtq_pop(&f->q, &c), 0);
	start(f, 16, 0);
	DESC(0, BUF(0), 8, W, 0);
	post(f, 0);
	expect_pop(f, &c, 0, 1);
}

static void test_mark_broken(void **state)
{
	struct fake *f = *state;

	start(f, 16, 0);
	DESC(0, BUF(0), 8, W, 0);
	post(f, 0);
	virtq_mark_broken(&f->q);
	assert_true(virtq_broken(&f->q));
	assert_int_equal(virtq_pop(&f->q, &(struct virtq_chain){ 0 }), -1);
}

/* A descriptor is read once: a driver rewriting the table while the
 * device walks it can change what the device sees, never make it use a
 * value it did not check.  A map() that rewrites descriptor 0 each time
 * it is called plays that driver. */
struct racy_dma {
	struct virtq_dma inner;
	struct fake *f;
	unsigned calls;
};

static void *racy_map(void *opaque, uint64_t addr, uint64_t *len, bool write)
{
	struct racy_dma *r = opaque;
	struct fake *f = r->f;

	/* the moment the device has read descriptor 0: make it hostile */
	r->calls++;
	put_desc(f, DESC_GPA, 0, HOLE_GPA, 0xffffffffu, I | N, 0xffff);
	return r->inner.map(r->inner.opaque, addr, len, write);
}

static void test_descriptor_read_once(void **state)
{
	struct fake *f = *state;
	struct racy_dma r = { .inner = f->dma, .f = f };
	struct virtq_dma dma = { .map = racy_map, .opaque = &r };
	struct virtq_chain c;

	f->size = 16;
	memset(avail(f), 0, VIRTQ_AVAIL_BYTES(16));
	memset(used(f), 0, VIRTQ_USED_BYTES(16));
	assert_int_equal(virtq_init(&f->q, &dma, 16, DESC_GPA, AVAIL_GPA, USED_GPA, 0), 0);
	r.calls = 0;
	f->avail_idx = 0;
	DESC(0, BUF(0), 8, R, 0);
	post(f, 0);
	expect_pop(f, &c, 1, 0);		/* the copy taken before map() */
	expect_seg(f, &c.out[0], BUF(0), 8);
	assert_int_equal(r.calls, 1);
}

/* Addresses that are IOVAs: a DMA map other than guest-physical. */
#define IOVA_BASE 0x7000000000000000ull

static void *iova_map(void *opaque, uint64_t addr, uint64_t *len, bool write)
{
	(void)write;
	if (addr < IOVA_BASE)
		return NULL;
	return gpa_ptr(opaque, addr - IOVA_BASE, *len);
}

static void test_translating_dma(void **state)
{
	struct fake *f = *state;
	struct virtq_dma dma = { .map = iova_map, .opaque = &f->mem };
	struct virtq_chain c;

	f->size = 16;
	memset(avail(f), 0, VIRTQ_AVAIL_BYTES(16));
	memset(used(f), 0, VIRTQ_USED_BYTES(16));
	assert_int_equal(virtq_init(&f->q, &dma, 16, DESC_GPA, AVAIL_GPA, USED_GPA, 0), -1);
	assert_int_equal(virtq_init(&f->q, &dma, 16, IOVA_BASE + DESC_GPA,
				    IOVA_BASE + AVAIL_GPA, IOVA_BASE + USED_GPA, 0), 0);
	f->avail_idx = 0;
	DESC(0, IOVA_BASE + BUF(0), 8, R | N, 1);
	DESC(1, BUF(1), 8, W, 0);	/* a GPA, not an IOVA */
	post(f, 0);
	expect_malformed(f);

	assert_int_equal(virtq_init(&f->q, &dma, 16, IOVA_BASE + DESC_GPA,
				    IOVA_BASE + AVAIL_GPA, IOVA_BASE + USED_GPA, 0), 0);
	f->avail_idx = 0;
	memset(avail(f), 0, VIRTQ_AVAIL_BYTES(16));
	DESC(1, IOVA_BASE + BUF(1), 8, W, 0);
	post(f, 0);
	expect_pop(f, &c, 1, 1);
	expect_seg(f, &c.in[0], BUF(1), 8);
}

/* ------------------------------------------ driver against device */

#define STRESS_REQUESTS 20000
#define STRESS_SIZE	64
#define STRESS_SLOTS	(STRESS_SIZE / 2)
#define STRESS_WAIT_MS	2000

struct stress {
	struct fake *f;
	bool event_idx;
	bool device_disables;	/* the device polls: notify_disable/enable */
	int kick, irq;		/* eventfds */
	int stop;
	unsigned processed, errors, device_waits;
};

static void efd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* Waits for an eventfd: false on timeout. */
static bool efd_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, STRESS_WAIT_MS) != 1)
		return false;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		abort();
	return true;
}

static void device_serve(struct stress *s)
{
	struct virtq *q = &s->f->q;
	struct virtq_chain c;
	int r;

	while ((r = virtq_pop(q, &c)) > 0) {
		uint64_t v = 0;

		if (virtq_chain_read(&c, 0, &v, 8) != 8 || c.in_len != 8)
			s->errors++;
		v = v * 3 + 1;
		virtq_chain_write(&c, 0, &v, 8);
		virtq_push(q, &c, 8);
		s->processed++;
	}
	if (r < 0)
		s->errors++;
	if (virtq_needs_interrupt(q))
		efd_signal(s->irq);
}

static void *device_thread(void *arg)
{
	struct stress *s = arg;
	struct virtq *q = &s->f->q;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && !s->errors) {
		if (s->device_disables) {
			virtq_notify_disable(q);
			do {
				device_serve(s);
			} while (virtq_notify_enable(q) && !s->errors &&
				 (virtq_notify_disable(q), true));
		} else {
			device_serve(s);
		}
		if (!efd_wait(s->kick))
			s->device_waits++;
	}
	return NULL;
}

static void stress(struct fake *f, bool event_idx, bool device_disables)
{
	struct stress s = {
		.f = f, .event_idx = event_idx, .device_disables = device_disables,
	};
	uint16_t free_slot[STRESS_SLOTS], used_seen = 0;
	uint64_t slot_seq[STRESS_SLOTS];
	unsigned nfree = STRESS_SLOTS, sent = 0, done = 0, lost = 0;
	struct virtq_avail *a;
	struct virtq_used *u;
	pthread_t t;

	start(f, STRESS_SIZE, event_idx ? F_EVENT : 0);
	a = avail(f);
	u = used(f);
	for (unsigned k = 0; k < STRESS_SLOTS; k++) {
		free_slot[k] = (uint16_t)k;
		DESC(2 * k, BUF(2 * k), 8, R | N, (uint16_t)(2 * k + 1));
		DESC(2 * k + 1, BUF(2 * k + 1), 8, W, 0);
	}
	if (!event_idx)		/* no interrupts while busy */
		a->flags = htole16(VIRTQ_AVAIL_F_NO_INTERRUPT);
	s.kick = eventfd(0, EFD_CLOEXEC);
	s.irq = eventfd(0, EFD_CLOEXEC);
	assert_true(s.kick >= 0 && s.irq >= 0);
	assert_int_equal(pthread_create(&t, NULL, device_thread, &s), 0);

	while (done < STRESS_REQUESTS && lost < 3) {
		uint16_t old = f->avail_idx, uidx;
		bool progress = false;

		while (sent < STRESS_REQUESTS && nfree) {
			uint16_t k = free_slot[--nfree];
			uint64_t seq = sent++;

			memcpy(hp(f, BUF(2 * k), 8), &seq, 8);
			slot_seq[k] = seq;
			__atomic_store_n(&a->ring[f->avail_idx & (STRESS_SIZE - 1)],
					 htole16((uint16_t)(2 * k)), __ATOMIC_RELAXED);
			f->avail_idx++;
		}
		if (f->avail_idx != old) {
			bool kick;

			__atomic_store_n(&a->idx, htole16(f->avail_idx), __ATOMIC_RELEASE);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (event_idx) {
				uint16_t ev = le16toh(__atomic_load_n(avail_event(f), __ATOMIC_RELAXED));

				kick = (uint16_t)(ev - old) < (uint16_t)(f->avail_idx - old);
			} else {
				kick = !(le16toh(__atomic_load_n(&u->flags, __ATOMIC_RELAXED)) &
					 VIRTQ_USED_F_NO_NOTIFY);
			}
			if (kick)
				efd_signal(s.kick);
			progress = true;
		}

		uidx = le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
		while (used_seen != uidx) {
			struct virtq_used_elem *e = &u->ring[used_seen & (STRESS_SIZE - 1)];
			uint32_t id = le32toh(e->id), k = id / 2;
			uint64_t v;

			if ((id & 1) || k >= STRESS_SLOTS || le32toh(e->len) != 8)
				fail_msg("bad used element %u/%u", id, le32toh(e->len));
			memcpy(&v, hp(f, BUF(id + 1), 8), 8);
			if (v != slot_seq[k] * 3 + 1)
				fail_msg("request %llu answered %llu",
					 (unsigned long long)slot_seq[k], (unsigned long long)v);
			free_slot[nfree++] = (uint16_t)k;
			used_seen++;
			done++;
			progress = true;
		}
		if (progress)
			continue;

		/* Nothing to do: ask for an interrupt, look again, sleep. */
		if (event_idx)
			__atomic_store_n(used_event(f), htole16(used_seen), __ATOMIC_RELAXED);
		else
			__atomic_store_n(&a->flags, 0, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) == used_seen &&
		    !efd_wait(s.irq))
			lost++;
		if (!event_idx)
			__atomic_store_n(&a->flags, htole16(VIRTQ_AVAIL_F_NO_INTERRUPT),
					 __ATOMIC_RELAXED);
	}

	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	efd_signal(s.kick);
	pthread_join(t, NULL);
	close(s.kick);
	close(s.irq);
	assert_int_equal(s.errors, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(s.device_waits, 0);
	assert_int_equal(done, STRESS_REQUESTS);
	assert_int_equal(s.processed, STRESS_REQUESTS);
	assert_false(virtq_broken(&f->q));
}

static void test_stress_event_idx(void **state)
{
	stress(*state, true, false);
}

static void test_stress_event_idx_polling(void **state)
{
	stress(*state, true, true);
}

static void test_stress_flags(void **state)
{
	stress(*state, false, false);
}

static void test_stress_flags_polling(void **state)
{
	stress(*state, false, true);
}

/* A head made available again while the device still holds it (popped,
 * not yet filled) breaks the queue; once filled it may come back. */
static void test_reused_head(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c, c2;

	start(f, 16, 0);
	DESC(3, BUF(0), 64, VIRTQ_DESC_F_WRITE, 0);
	post(f, 3);
	expect_pop(f, &c, 0, 1);
	virtq_push(&f->q, &c, 0);
	post(f, 3);		/* returned: legal to post again */
	expect_pop(f, &c, 0, 1);
	DESC(4, BUF(1), 64, VIRTQ_DESC_F_WRITE, 0);
	post(f, 4);
	expect_pop(f, &c2, 0, 1);
	post(f, 3);		/* still held by the device */
	expect_malformed(f);
}

/* ------------------------------------------------------------------ */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_sizes),
		T(test_reused_head),
		T(test_init_bad_size),
		T(test_init_misaligned),
		T(test_init_alignment_both_sides),
		T(test_init_outside_ram),
		T(test_init_readonly_used),
		T(test_single),
		T(test_chain_several),
		T(test_read_then_write),
		T(test_chain_copy_bounds),
		T(test_zero_length),
		T(test_merge_adjacent),
		T(test_indirect),
		T(test_direct_then_indirect),
		T(test_indirect_queue_size_entries),
		T(test_max_segments),
		T(test_4gib_chain),
		T(test_ring_full),
		T(test_wraparound),
		T(test_event_idx_interrupt),
		T(test_no_interrupt_flag),
		T(test_notify_flags),
		T(test_notify_event_idx),
		T(test_loop_two),
		T(test_loop_self),
		T(test_chain_longer_than_queue),
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_addr_outside_ram),
		T(test_addr_crossing_region_end),
		T(test_addr_len_overflow),
		T(test_readable_after_writable),
		T(test_too_many_segments),
		T(test_write_to_readonly),
		T(test_indirect_not_negotiated),
		T(test_indirect_nested),
		T(test_indirect_with_next),
		T(test_indirect_bad_len),
		T(test_indirect_outside_ram),
		T(test_indirect_bad_chain),
		T(test_avail_idx_jump),
		T(test_broken_stays_off_the_ring),
		T(test_mark_broken),
		T(test_descriptor_read_once),
		T(test_translating_dma),
		T(test_stress_event_idx),
		T(test_stress_event_idx_polling),
		T(test_stress_flags),
		T(test_stress_flags_polling),
	};

	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
