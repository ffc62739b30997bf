// SPDX-License-Identifier: MIT
/*
 * virtio-iommu: request parsing and validation (virtio 1.2, 5.13.6), the
 * translation of endpoints' DMA through their domain's mappings, a
 * split virtqueue whose rings and buffers go through that translation,
 * and the rule that an UNMAP completes only after the DMA holds taken
 * before it are released.
 */
#include "unit.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "core/config.h"
#include "core/iommu.h"
#include "core/memory.h"
#include "virtio/virtqueue.h"

#if IS_ENABLED(CONFIG_VIRTIO_IOMMU)

#include "virtio/iommu/iommu_test.h"

#define RAM_SIZE	0x1000000ull	/* 16 MiB at 0 */
#define EP0		(3 << 3)	/* 00:03.0 */
#define EP1		(4 << 3)

enum { ATTACH = 1, DETACH, MAP, UNMAP, PROBE };
enum { S_OK, S_IOERR, S_UNSUPP, S_DEVERR, S_INVAL, S_RANGE, S_NOENT, S_FAULT, S_NOMEM };
#define RD 1
#define WR 2

struct fx {
	struct guest_memory mem;
	struct viommu *v;
};

static int setup(void **state)
{
	static const uint64_t layout[][2] = { { 0, RAM_SIZE } };
	struct memory_config cfg = { .size = RAM_SIZE };
	static const uint16_t bdf[] = { EP0, EP1 };
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(memory_init(&f->mem, &cfg, layout, 1), 0);
	f->v = viommu_test_new(&f->mem, bdf, 2);
	assert_non_null(f->v);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	viommu_test_free(f->v);
	memory_destroy(&f->mem);
	free(f);
	return 0;
}

/* A request of `len` bytes (head included); the status from its tail. */
static int request(struct fx *f, const void *req, size_t len)
{
	uint8_t tail[4] = { 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(viommu_test_request(f->v, req, len, tail, sizeof(tail)), 4);
	return tail[0];
}

static int attach(struct fx *f, uint32_t domain, uint32_t ep)
{
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain, ep, flags; uint8_t r[4]; }
		req = { { ATTACH }, htole32(domain), htole32(ep), 0, { 0 } };

	return request(f, &req, sizeof(req));
}

static int detach(struct fx *f, uint32_t domain, uint32_t ep)
{
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain, ep; uint8_t r[8]; }
		req = { { DETACH }, htole32(domain), htole32(ep), { 0 } };

	return request(f, &req, sizeof(req));
}

static int map(struct fx *f, uint32_t domain, uint64_t start, uint64_t end, uint64_t gpa,
	       uint32_t flags)
{
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain; uint64_t s, e, p; uint32_t fl; }
		req = { { MAP }, htole32(domain), htole64(start), htole64(end), htole64(gpa),
			htole32(flags) };

	return request(f, &req, sizeof(req));
}

static int unmap(struct fx *f, uint32_t domain, uint64_t start, uint64_t end)
{
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain; uint64_t s, e; uint8_t r[4]; }
		req = { { UNMAP }, htole32(domain), htole64(start), htole64(end), { 0 } };

	return request(f, &req, sizeof(req));
}

/* The endpoint's translation: host pointer and the length it covers. */
static void *xlate(struct fx *f, unsigned ep, uint64_t iova, uint64_t *len, bool write)
{
	struct iommu_endpoint *e = viommu_test_endpoint(f->v, ep);

	return e->map(e, iova, len, write);
}

static void *gpa(struct fx *f, uint64_t a)
{
	return gpa_ptr(&f->mem, a, 1);
}

/* ------------------------------------------------------------ requests */

static void test_attach_detach(void **state)
{
	struct fx *f = *state;
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain, ep, flags; uint8_t r[4]; }
		bad = { { ATTACH }, htole32(1), htole32(EP0), 0, { 0 } };

	assert_int_equal(attach(f, 1, 0x99), S_NOENT);		/* no such endpoint */
	bad.r[2] = 1;						/* reserved not zero */
	assert_int_equal(request(f, &bad, sizeof(bad)), S_INVAL);
	bad.r[2] = 0;
	bad.flags = htole32(1);					/* BYPASS: not offered */
	assert_int_equal(request(f, &bad, sizeof(bad)), S_INVAL);
	/* MAP needs a domain, which the first ATTACH creates */
	assert_int_equal(map(f, 1, 0, 0xfff, 0x1000, RD), S_NOENT);
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(attach(f, 1, EP0), S_OK);		/* again: no change */
	assert_int_equal(map(f, 1, 0, 0xfff, 0x1000, RD), S_OK);
	assert_int_equal(detach(f, 1, EP1), S_INVAL);		/* not attached there */
	assert_int_equal(detach(f, 2, EP0), S_NOENT);		/* no domain 2 */
	assert_int_equal(attach(f, 1, EP1), S_OK);		/* two endpoints share it */
	assert_int_equal(detach(f, 1, EP0), S_OK);
	/* the domain lives on with EP1, mappings and all */
	assert_int_equal(map(f, 1, 0, 0xfff, 0x2000, RD), S_INVAL);
	/* moving EP1 away destroys domain 1 and its mappings */
	assert_int_equal(attach(f, 2, EP1), S_OK);
	assert_int_equal(map(f, 1, 0, 0xfff, 0x1000, RD), S_NOENT);
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(map(f, 1, 0, 0xfff, 0x1000, RD), S_OK);	/* fresh, empty */
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t req[80] = { 0 }, tail[4];

	/* unknown type */
	req[0] = 9;
	assert_int_equal(request(f, req, 24), S_UNSUPP);
	req[0] = 0;
	assert_int_equal(request(f, req, 24), S_UNSUPP);
	/* shorter than the head, or than the body of its type */
	assert_int_equal(request(f, req, 2), S_INVAL);
	assert_int_equal(request(f, req, 0), S_INVAL);
	for (int t = ATTACH; t <= UNMAP; t++) {
		req[0] = (uint8_t)t;
		assert_int_equal(request(f, req, 4 + 11), S_INVAL);
	}
	/* no room for the tail: the request cannot be answered */
	req[0] = ATTACH;
	assert_int_equal(viommu_test_request(f->v, req, 24, tail, 3), -1);
	assert_int_equal(viommu_test_request(f->v, req, 24, NULL, 0), -1);
}

static void test_map_validation(void **state)
{
	struct fx *f = *state;

	assert_int_equal(attach(f, 7, EP0), S_OK);
	assert_int_equal(map(f, 7, 0x10000, 0x1ffff, 0x40000, 8), S_INVAL);	/* unknown flag */
	assert_int_equal(map(f, 7, 0x10000, 0x1ffff, 0x40000, 4), S_INVAL);	/* MMIO */
	assert_int_equal(map(f, 7, 0x20000, 0x1ffff, 0x40000, RD), S_INVAL);	/* end < start */
	assert_int_equal(map(f, 7, 0x10800, 0x1ffff, 0x40000, RD), S_RANGE);	/* misaligned */
	assert_int_equal(map(f, 7, 0x10000, 0x1f7ff, 0x40000, RD), S_RANGE);
	assert_int_equal(map(f, 7, 0x10000, 0x1ffff, 0x40800, RD), S_RANGE);
	/* phys + size past 2^64 */
	assert_int_equal(map(f, 7, 0x10000, 0x1ffff, 0xfffffffffffff000ull, RD), S_INVAL);
	assert_int_equal(map(f, 7, 0x10000, 0x1ffff, 0x40000, RD | WR), S_OK);
	/* overlaps, from either side or inside */
	assert_int_equal(map(f, 7, 0xf000, 0x10fff, 0x80000, RD), S_INVAL);
	assert_int_equal(map(f, 7, 0x1f000, 0x20fff, 0x80000, RD), S_INVAL);
	assert_int_equal(map(f, 7, 0x12000, 0x12fff, 0x80000, RD), S_INVAL);
	assert_int_equal(map(f, 7, 0x0, 0xfffffffffffff000ull - 1, 0, RD), S_INVAL);
	/* neighbours are fine; the very top of the space too */
	assert_int_equal(map(f, 7, 0xf000, 0xffff, 0x80000, RD), S_OK);
	assert_int_equal(map(f, 7, 0x20000, 0x20fff, 0x81000, RD), S_OK);
	assert_int_equal(map(f, 7, 0xfffffffffffff000ull, UINT64_MAX, 0x3000, RD), S_OK);
}

static void test_probe(void **state)
{
	struct fx *f = *state;
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t ep; uint8_t r[64]; }
		req = { { PROBE }, htole32(EP1), { 0 } };
	uint8_t resp[512 + 4];

	memset(resp, 0xaa, sizeof(resp));
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, sizeof(resp)),
			 (int)sizeof(resp));
	assert_int_equal(resp[512], S_OK);
	/* RESV_MEM (1), 20 bytes, MSI (1), 0xfee00000 - 0xfeefffff */
	assert_int_equal(resp[0] | resp[1] << 8, 1);
	assert_int_equal(resp[2] | resp[3] << 8, 20);
	assert_int_equal(resp[4], 1);
	assert_int_equal(le64toh(*(uint64_t *)(void *)&resp[8]), 0xfee00000ull);
	assert_int_equal(le64toh(*(uint64_t *)(void *)&resp[16]), 0xfeefffffull);
	/* then nothing: type NONE and zeroes to the end */
	for (size_t i = 24; i < 512; i++)
		assert_int_equal(resp[i], 0);
	/* a buffer smaller than probe_size, an unknown endpoint */
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, 100), 100);
	assert_int_equal(resp[96], S_INVAL);
	req.ep = htole32(0x1234);
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, sizeof(resp)),
			 (int)sizeof(resp));
	assert_int_equal(resp[512], S_NOENT);
}

/* A writable part larger than the reply: the tail goes right after the
 * request's own layout, used.len counts only what was written, and a
 * part of 2^31 bytes or more (once returned as a negative int, breaking
 * the queue after the request took effect) is no different.  The
 * huge part's descriptor claims more than its buffer holds: only the
 * first bytes may be touched. */
static void test_oversized_reply(void **state)
{
	struct fx *f = *state;
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain, ep, flags; uint8_t r[4]; }
		req = { { ATTACH }, htole32(7), htole32(EP0), 0, { 0 } };
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t ep; uint8_t r[64]; }
		probe = { { PROBE }, htole32(EP1), { 0 } };
	uint8_t resp[1024];

	memset(resp, 0xaa, sizeof(resp));
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, 64), 4);
	assert_int_equal(resp[0], S_OK);
	assert_int_equal(resp[4], 0xaa);
	assert_int_equal(resp[63], 0xaa);
	memset(resp, 0xaa, sizeof(resp));
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, 3ull << 30), 4);
	assert_int_equal(resp[0], S_OK);
	assert_int_equal(resp[4], 0xaa);
	/* PROBE: 512 bytes of properties, then the tail */
	memset(resp, 0xaa, sizeof(resp));
	assert_int_equal(viommu_test_request(f->v, &probe, sizeof(probe), resp, sizeof(resp)), 516);
	assert_int_equal(resp[512], S_OK);
	assert_int_equal(resp[516], 0xaa);
	assert_int_equal(viommu_test_request(f->v, &probe, sizeof(probe), resp, 1ull << 31), 516);
	assert_int_equal(resp[512], S_OK);
}

/* --------------------------------------------------------- translation */

static void test_translate(void **state)
{
	struct fx *f = *state;
	uint64_t len;
	void *p;

	/* not attached: every access refused */
	len = 16;
	assert_null(xlate(f, 0, 0x1000, &len, false));
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(map(f, 1, 0x100000, 0x101fff, 0x40000, RD | WR), S_OK);
	assert_int_equal(map(f, 1, 0x200000, 0x200fff, 0x50000, RD), S_OK);
	assert_int_equal(map(f, 1, 0x300000, 0x300fff, 0x60000, WR), S_OK);

	len = 0x100;
	p = xlate(f, 0, 0x100010, &len, true);
	assert_ptr_equal(p, gpa(f, 0x40010));
	assert_int_equal(len, 0x100);
	/* to the end of the mapping, not beyond */
	len = 0x10000;
	assert_ptr_equal(xlate(f, 0, 0x101ff0, &len, false), gpa(f, 0x41ff0));
	assert_int_equal(len, 0x10);
	len = 1;
	assert_null(xlate(f, 0, 0x102000, &len, false));		/* just past it */
	/* permissions: read-only, write-only */
	len = 8;
	assert_non_null(xlate(f, 0, 0x200000, &len, false));
	assert_null(xlate(f, 0, 0x200000, &len, true));
	assert_non_null(xlate(f, 0, 0x300000, &len, true));
	assert_null(xlate(f, 0, 0x300000, &len, false));
	/* the other endpoint is not attached */
	assert_null(xlate(f, 1, 0x100000, &len, false));
	assert_true(viommu_test_faults(f->v) >= 5);
}

static void test_translate_contiguity(void **state)
{
	struct fx *f = *state;
	uint64_t len;

	assert_int_equal(attach(f, 1, EP0), S_OK);
	/* three IOVA neighbours: the first two adjacent in RAM too */
	assert_int_equal(map(f, 1, 0x10000, 0x10fff, 0x80000, RD | WR), S_OK);
	assert_int_equal(map(f, 1, 0x11000, 0x12fff, 0x81000, RD | WR), S_OK);
	assert_int_equal(map(f, 1, 0x13000, 0x13fff, 0x90000, RD | WR), S_OK);
	len = 0x4000;
	assert_ptr_equal(xlate(f, 0, 0x10000, &len, true), gpa(f, 0x80000));
	assert_int_equal(len, 0x3000);
	len = 0x1000;
	assert_ptr_equal(xlate(f, 0, 0x13000, &len, true), gpa(f, 0x90000));
	assert_int_equal(len, 0x1000);
	/* mapped to where there is no RAM: refused when used */
	assert_int_equal(map(f, 1, 0x20000, 0x20fff, RAM_SIZE, RD), S_OK);
	len = 16;
	assert_null(xlate(f, 0, 0x20000, &len, false));
	/* mapped across the end of RAM: cut at the end */
	assert_int_equal(map(f, 1, 0x30000, 0x31fff, RAM_SIZE - 0x1000, RD), S_OK);
	len = 0x2000;
	assert_ptr_equal(xlate(f, 0, 0x30000, &len, false), gpa(f, RAM_SIZE - 0x1000));
	assert_int_equal(len, 0x1000);
}

static void test_unmap(void **state)
{
	struct fx *f = *state;
	const struct iommu_endpoint *e = viommu_test_endpoint(f->v, 0);
	uint64_t len = 8, before;

	assert_int_equal(unmap(f, 1, 0, 0xfff), S_NOENT);
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(map(f, 1, 0x10000, 0x11fff, 0x80000, RD), S_OK);
	assert_int_equal(map(f, 1, 0x12000, 0x12fff, 0x90000, RD), S_OK);
	assert_int_equal(unmap(f, 1, 0x12000, 0x11000), S_INVAL);
	/* it would split the first mapping: nothing goes */
	before = *e->revoked;
	assert_int_equal(unmap(f, 1, 0x11000, 0x12fff), S_RANGE);
	assert_non_null(xlate(f, 0, 0x12000, &len, false));
	assert_int_equal(*e->revoked, before);
	/* nothing there: fine, nothing revoked */
	assert_int_equal(unmap(f, 1, 0x50000, 0x5ffff), S_OK);
	assert_int_equal(*e->revoked, before);
	/* a range covering both whole and more */
	assert_int_equal(unmap(f, 1, 0x8000, 0x13fff), S_OK);
	assert_true(*e->revoked != before);
	assert_null(xlate(f, 0, 0x10000, &len, false));
	assert_null(xlate(f, 0, 0x12000, &len, false));
	/* the space is free again */
	assert_int_equal(map(f, 1, 0x10000, 0x12fff, 0xa0000, RD), S_OK);
	/* detach and reset block the endpoint */
	assert_int_equal(detach(f, 1, EP0), S_OK);
	assert_null(xlate(f, 0, 0x10000, &len, false));
	assert_int_equal(attach(f, 2, EP0), S_OK);
	assert_int_equal(map(f, 2, 0x10000, 0x10fff, 0xa0000, RD), S_OK);
	assert_non_null(xlate(f, 0, 0x10000, &len, false));
	viommu_test_reset(f->v);
	assert_null(xlate(f, 0, 0x10000, &len, false));
	assert_int_equal(map(f, 2, 0x10000, 0x10fff, 0xa0000, RD), S_NOENT);
}

/* Many mappings in random order stay sorted and findable. */
static void test_many_mappings(void **state)
{
	struct fx *f = *state;
	enum { N = 2000 };
	static unsigned order[N];

	assert_int_equal(attach(f, 1, EP0), S_OK);
	for (unsigned i = 0; i < N; i++)
		order[i] = i;
	srand(7);
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* every other page, so none are neighbours */
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(map(f, 1, order[i] * 0x2000ull, order[i] * 0x2000ull + 0xfff,
				     order[i] * 0x1000ull, RD), S_OK);
	for (unsigned i = 0; i < N; i++) {
		uint64_t len = 0x2000;

		assert_ptr_equal(xlate(f, 0, i * 0x2000ull + 8, &len, false), gpa(f, i * 0x1000ull + 8));
		assert_int_equal(len, 0xff8);
		len = 1;
		assert_null(xlate(f, 0, i * 0x2000ull + 0x1000, &len, false));
	}
	for (unsigned i = 0; i < N; i += 2)
		assert_int_equal(unmap(f, 1, order[i] * 0x2000ull, order[i] * 0x2000ull + 0xfff), S_OK);
	for (unsigned i = 0; i < N; i++) {
		uint64_t len = 1;
		bool gone = false;

		for (unsigned k = 0; k < N; k += 2)
			gone |= order[k] == i;
		assert_true((xlate(f, 0, i * 0x2000ull, &len, false) == NULL) == gone);
	}
}

/* ---------------------------------------------------- holds and UNMAP */

struct unmapper {
	struct fx *f;
	int status;
	volatile bool done;
};

static void *unmap_thread(void *opaque)
{
	struct unmapper *u = opaque;

	u->status = unmap(u->f, 1, 0x10000, 0x10fff);
	u->done = true;
	return NULL;
}

static void test_unmap_waits_for_holds(void **state)
{
	struct fx *f = *state;
	struct iommu_endpoint *e = viommu_test_endpoint(f->v, 0);
	struct unmapper u = { .f = f };
	unsigned before, after;
	pthread_t t;
	uint64_t len = 8;

	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(map(f, 1, 0x10000, 0x10fff, 0x80000, RD), S_OK);
	assert_int_equal(map(f, 1, 0x20000, 0x20fff, 0x81000, RD), S_OK);
	/* an UNMAP of something nobody holds completes at once ... */
	before = e->hold(e);
	e->release(e, before);
	assert_int_equal(unmap(f, 1, 0x20000, 0x20fff), S_OK);
	/* ... one with a hold outstanding waits for its release */
	before = e->hold(e);
	assert_non_null(xlate(f, 0, 0x10000, &len, false));
	assert_int_equal(pthread_create(&t, NULL, unmap_thread, &u), 0);
	usleep(100 * 1000);
	assert_false(u.done);
	/* the mapping is already gone for new translations */
	assert_null(xlate(f, 0, 0x10000, &len, false));
	/* a hold taken now does not delay it */
	after = e->hold(e);
	e->release(e, before);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(u.done);
	assert_int_equal(u.status, S_OK);
	e->release(e, after);
	/* stray releases are ignored */
	e->release(e, 0);
	e->release(e, 5);
}

/* ------------------------------------------ a virtqueue behind it */

#define IOVA_RINGS	0x7000000ull
#define IOVA_BUF	0x9000000ull

static void test_virtqueue_through_iommu(void **state)
{
	struct fx *f = *state;
	struct virtq_dma dma;
	struct virtq q = { 0 };	/* virtq_init frees what a previous one left */
	struct virtq_chain c;
	struct virtq_desc *desc = gpa_ptr(&f->mem, 0x100000, 0x3000);
	struct virtq_avail *avail = (void *)((uint8_t *)desc + 0x1000);
	uint16_t size = 8;

	assert_non_null(desc);
	memset(desc, 0, 0x3000);
	virtq_dma_endpoint(&dma, viommu_test_endpoint(f->v, 0));
	/* rings at IOVA_RINGS: not mapped yet */
	assert_int_equal(virtq_init(&q, &dma, size, IOVA_RINGS, IOVA_RINGS + 0x1000,
				    IOVA_RINGS + 0x2000, 0), -1);
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(map(f, 1, IOVA_RINGS, IOVA_RINGS + 0x1fff, 0x100000, RD), S_OK);
	/* the used ring is mapped read-only: refused */
	assert_int_equal(map(f, 1, IOVA_RINGS + 0x2000, IOVA_RINGS + 0x2fff, 0x102000, RD), S_OK);
	assert_int_equal(virtq_init(&q, &dma, size, IOVA_RINGS, IOVA_RINGS + 0x1000,
				    IOVA_RINGS + 0x2000, 0), -1);
	assert_int_equal(unmap(f, 1, IOVA_RINGS + 0x2000, IOVA_RINGS + 0x2fff), S_OK);
	assert_int_equal(map(f, 1, IOVA_RINGS + 0x2000, IOVA_RINGS + 0x2fff, 0x102000, RD | WR),
			 S_OK);
	assert_int_equal(virtq_init(&q, &dma, size, IOVA_RINGS, IOVA_RINGS + 0x1000,
				    IOVA_RINGS + 0x2000, 0), 0);

	/* a buffer of 0x2000 bytes at IOVA_BUF + 0x800: two pages far
	 * apart in RAM, so two pieces */
	assert_int_equal(map(f, 1, IOVA_BUF, IOVA_BUF + 0xfff, 0x200000, RD | WR), S_OK);
	assert_int_equal(map(f, 1, IOVA_BUF + 0x1000, IOVA_BUF + 0x2fff, 0x300000, RD | WR), S_OK);
	desc[0] = (struct virtq_desc){ htole64(IOVA_BUF + 0x800), htole32(0x2000),
				       htole16(VIRTQ_DESC_F_WRITE), 0 };
	avail->ring[0] = 0;
	avail->idx = htole16(1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.nin, 2);
	assert_ptr_equal(c.in[0].iov_base, gpa(f, 0x200800));
	assert_int_equal(c.in[0].iov_len, 0x800);
	assert_ptr_equal(c.in[1].iov_base, gpa(f, 0x300000));
	assert_int_equal(c.in[1].iov_len, 0x1800);
	virtq_push(&q, &c, 0x2000);

	/* past the mapping: the queue breaks */
	desc[1] = (struct virtq_desc){ htole64(IOVA_BUF + 0x2800), htole32(0x1000),
				       htole16(VIRTQ_DESC_F_WRITE), 0 };
	avail->ring[1] = htole16(1);
	avail->idx = htole16(2);
	assert_int_equal(virtq_pop(&q, &c), -1);
	assert_true(virtq_broken(&q));

	/* again, healthy; the rings unmapped and mapped again (elsewhere
	 * in the IOVA space is the driver's business, the same here)
	 * before the device looks: it maps them afresh and carries on */
	assert_int_equal(virtq_init(&q, &dma, size, IOVA_RINGS, IOVA_RINGS + 0x1000,
				    IOVA_RINGS + 0x2000, 0), 0);
	avail->idx = htole16(2);
	avail->ring[0] = 0;
	avail->ring[1] = 0;
	assert_int_equal(unmap(f, 1, IOVA_RINGS, IOVA_RINGS + 0x1fff), S_OK);
	assert_int_equal(map(f, 1, IOVA_RINGS, IOVA_RINGS + 0x1fff, 0x100000, RD), S_OK);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_false(virtq_broken(&q));
	/* unmapped for good: the next look breaks the queue */
	assert_int_equal(unmap(f, 1, IOVA_RINGS, IOVA_RINGS + 0x1fff), S_OK);
	assert_int_equal(virtq_pop(&q, &c), -1);
	assert_true(virtq_broken(&q));
	virtq_reset(&q);	/* frees the queue's in-flight map */
}

/* ------------------------------------------------------------ mirrors */

/* A mirror that records what it is told (and can be told to refuse):
 * what a VFIO container behind the IOMMU would get. */
#define MAX_OPS 64

struct mirror_op {
	char op;		/* 'm' map, 'u' unmap */
	uint64_t iova, last, gpa;
	unsigned prot;
};

struct fake_mirror {
	struct mirror_op op[MAX_OPS];
	unsigned n;
	unsigned maps;		/* map calls so far */
	unsigned fail_map;	/* 1-based map call that fails, 0: none */
	int fail_err;
};

static int fake_map(void *opaque, uint64_t iova, uint64_t last, uint64_t gpa, unsigned prot)
{
	struct fake_mirror *m = opaque;

	if (++m->maps == m->fail_map)
		return m->fail_err;
	assert_true(m->n < MAX_OPS);
	m->op[m->n++] = (struct mirror_op){ 'm', iova, last, gpa, prot };
	return 0;
}

static int fake_unmap(void *opaque, uint64_t iova, uint64_t last)
{
	struct fake_mirror *m = opaque;

	assert_true(m->n < MAX_OPS);
	m->op[m->n++] = (struct mirror_op){ 'u', iova, last, 0, 0 };
	return 0;
}

static void make_mirror(struct fx *f, unsigned ep, struct fake_mirror *m)
{
	struct iommu_mirror im = {
		.map = fake_map, .unmap = fake_unmap, .opaque = m,
		.page_sizes = 0x40201000,	/* 4K, 2M, 1G: intel-iommu's */
		.input_start = 0, .input_last = UINT64_MAX,
	};

	memset(m, 0, sizeof(*m));
	assert_int_equal(viommu_test_mirror(f->v, ep, &im), 0);
}

static void expect_op(const struct fake_mirror *m, unsigned i, char op, uint64_t iova,
		      uint64_t last, uint64_t gpa, unsigned prot)
{
	assert_true(i < m->n);
	assert_int_equal(m->op[i].op, op);
	assert_int_equal(m->op[i].iova, iova);
	assert_int_equal(m->op[i].last, last);
	if (op == 'm') {
		assert_int_equal(m->op[i].gpa, gpa);
		assert_int_equal(m->op[i].prot, prot);
	}
}

/* A mirror gets its domain's mappings: the earlier ones replayed when it
 * attaches, each MAP and UNMAP while it is there, all of them removed
 * when it leaves (DETACH, ATTACH elsewhere, reset), nothing otherwise. */
static void test_mirror_follows_domain(void **state)
{
	struct fx *f = *state;
	struct fake_mirror m;

	make_mirror(f, 0, &m);
	/* domain 1 made by EP1 (emulated), two mappings before EP0 comes */
	assert_int_equal(attach(f, 1, EP1), S_OK);
	assert_int_equal(map(f, 1, 0x10000, 0x1ffff, 0x40000, RD), S_OK);
	assert_int_equal(map(f, 1, 0x5000, 0x5fff, 0x80000, RD | WR), S_OK);
	assert_int_equal(m.n, 0);
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(m.n, 2);	/* replayed, in address order */
	expect_op(&m, 0, 'm', 0x5000, 0x5fff, 0x80000, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
	expect_op(&m, 1, 'm', 0x10000, 0x1ffff, 0x40000, IOMMU_PROT_READ);
	/* while attached: each MAP, each UNMAP that removes something */
	assert_int_equal(map(f, 1, 0x30000, 0x30fff, 0x90000, WR), S_OK);
	expect_op(&m, 2, 'm', 0x30000, 0x30fff, 0x90000, IOMMU_PROT_WRITE);
	assert_int_equal(unmap(f, 1, 0x10000, 0x17fff), S_RANGE);	/* would split */
	assert_int_equal(unmap(f, 1, 0x100000, 0x1fffff), S_OK);	/* nothing there */
	assert_int_equal(m.n, 3);
	assert_int_equal(unmap(f, 1, 0x10000, 0x1ffff), S_OK);
	expect_op(&m, 3, 'u', 0x10000, 0x1ffff, 0, 0);
	/* the emulated endpoint sees the same domain */
	assert_null(xlate(f, 1, 0x10000, &(uint64_t){ 8 }, false));
	/* leaving: everything the domain holds, in one range */
	assert_int_equal(detach(f, 1, EP0), S_OK);
	expect_op(&m, 4, 'u', 0x5000, 0x30fff, 0, 0);
	assert_int_equal(map(f, 1, 0x40000, 0x40fff, 0x90000, RD), S_OK);
	assert_int_equal(m.n, 5);	/* not there any more */
	/* back, then moved to another domain: replay, then all removed */
	assert_int_equal(attach(f, 1, EP0), S_OK);
	assert_int_equal(m.n, 8);
	assert_int_equal(attach(f, 2, EP0), S_OK);
	expect_op(&m, 8, 'u', 0x5000, 0x40fff, 0, 0);
	assert_int_equal(m.n, 9);	/* domain 2 is empty: nothing to replay */
	assert_int_equal(map(f, 2, 0, 0x1fffff, 0x200000, RD | WR), S_OK);
	expect_op(&m, 9, 'm', 0, 0x1fffff, 0x200000, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
	/* a device reset takes every domain */
	viommu_test_reset(f->v);
	expect_op(&m, 10, 'u', 0, 0x1fffff, 0, 0);
	assert_int_equal(m.n, 11);
}

/* A mirror's refusal is the guest's status, and then no one has the
 * mapping: not the domain, not another mirror. */
static void test_mirror_failures(void **state)
{
	struct fx *f = *state;
	struct fake_mirror a, b;
	static const struct { int err; int status; } cases[] = {
		{ -ENOMEM, S_NOMEM }, { -EINVAL, S_INVAL }, { -ERANGE, S_RANGE },
		{ -EIO, S_DEVERR }, { -EFAULT, S_DEVERR },
	};

	make_mirror(f, 0, &a);
	assert_int_equal(attach(f, 1, EP0), S_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a.fail_map = a.maps + 1;
		a.fail_err = cases[i].err;
		assert_int_equal(map(f, 1, 0x10000, 0x1ffff, 0x40000, RD), cases[i].status);
	}
	/* not in the domain: mapping the range again works */
	assert_int_equal(a.n, 0);
	assert_int_equal(map(f, 1, 0x10000, 0x1ffff, 0x40000, RD), S_OK);
	assert_int_equal(a.n, 1);

	/* two mirrors in one domain: the second refuses, the first lets go */
	make_mirror(f, 1, &b);
	assert_int_equal(attach(f, 1, EP1), S_OK);
	expect_op(&b, 0, 'm', 0x10000, 0x1ffff, 0x40000, IOMMU_PROT_READ);
	b.fail_map = b.maps + 1;
	b.fail_err = -ENOMEM;
	assert_int_equal(map(f, 1, 0x20000, 0x20fff, 0x50000, RD | WR), S_NOMEM);
	expect_op(&a, 1, 'm', 0x20000, 0x20fff, 0x50000, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
	expect_op(&a, 2, 'u', 0x20000, 0x20fff, 0, 0);
	assert_int_equal(b.n, 1);

	/* a replay that fails halfway: ATTACH fails, the endpoint is out
	 * of every domain with nothing left mapped */
	assert_int_equal(detach(f, 1, EP1), S_OK);
	expect_op(&b, 1, 'u', 0x10000, 0x1ffff, 0, 0);
	assert_int_equal(map(f, 1, 0x30000, 0x30fff, 0x60000, RD), S_OK);
	assert_int_equal(map(f, 1, 0x40000, 0x40fff, 0x70000, RD), S_OK);
	b.fail_map = b.maps + 2;
	b.fail_err = -EIO;
	assert_int_equal(attach(f, 1, EP1), S_DEVERR);
	assert_int_equal(b.n, 4);
	expect_op(&b, 2, 'm', 0x10000, 0x1ffff, 0x40000, IOMMU_PROT_READ);
	expect_op(&b, 3, 'u', 0x10000, 0x40fff, 0, 0);
	/* out: the domain's next mapping does not reach it */
	assert_int_equal(map(f, 1, 0x50000, 0x50fff, 0x70000, RD), S_OK);
	assert_int_equal(b.n, 4);
	assert_int_equal(detach(f, 1, EP1), S_INVAL);
}

/* PROBE tells a mirror's holes as reserved memory, after the MSI window
 * (a hole that is that window is not said twice); others get only the
 * MSI window. */
static void test_mirror_probe(void **state)
{
	struct fx *f = *state;
	struct fake_mirror m = { 0 };
	struct iommu_mirror im = {
		.map = fake_map, .unmap = fake_unmap, .opaque = &m,
		.page_sizes = 0x1000, .input_start = 0, .input_last = (1ull << 48) - 1,
		.nholes = 2,
		.hole = { { 0xfee00000, 0xfeefffff }, { 0xfd00000000ull, 0xffffffffffull } },
	};
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t ep; uint8_t r[64]; }
		req = { { PROBE }, htole32(EP0), { 0 } };
	uint8_t resp[512 + 4];

	assert_int_equal(viommu_test_mirror(f->v, 0, &im), 0);
	memset(resp, 0xaa, sizeof(resp));
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, sizeof(resp)),
			 (int)sizeof(resp));
	assert_int_equal(resp[512], S_OK);
	assert_int_equal(resp[4], 1);					/* MSI */
	assert_int_equal(resp[24] | resp[25] << 8, 1);			/* RESV_MEM */
	assert_int_equal(resp[26] | resp[27] << 8, 20);
	assert_int_equal(resp[28], 0);					/* RESERVED */
	assert_int_equal(le64toh(*(uint64_t *)(void *)&resp[32]), 0xfd00000000ull);
	assert_int_equal(le64toh(*(uint64_t *)(void *)&resp[40]), 0xffffffffffull);
	for (size_t i = 48; i < 512; i++)
		assert_int_equal(resp[i], 0);
	/* EP1 is no mirror: the MSI window only */
	req.ep = htole32(EP1);
	assert_int_equal(viommu_test_request(f->v, &req, sizeof(req), resp, sizeof(resp)),
			 (int)sizeof(resp));
	assert_int_equal(resp[512], S_OK);
	for (size_t i = 24; i < 512; i++)
		assert_int_equal(resp[i], 0);
}

/* What the guest is offered follows what mirrors can map: their smallest
 * page becomes the granule, their addresses bound the input range. */
static void test_mirror_config(void **state)
{
	struct fx *f = *state;
	struct fake_mirror m = { 0 };
	struct iommu_mirror im = { .map = fake_map, .unmap = fake_unmap, .opaque = &m };
	uint64_t mask, start, end;

	viommu_test_config(f->v, &mask, &start, &end);
	assert_int_equal(mask, ~0xfffull);
	assert_int_equal(start, 0);
	assert_int_equal(end, UINT64_MAX);
	/* none it could use: refused, nothing changed */
	im.page_sizes = 0;
	im.input_last = UINT64_MAX;
	assert_int_equal(viommu_test_mirror(f->v, 0, &im), -1);
	im.page_sizes = 0x1000;
	im.input_start = 0x1000;
	im.input_last = 0x1fff - 1;
	assert_int_equal(viommu_test_mirror(f->v, 0, &im), -1);
	viommu_test_config(f->v, &mask, &start, &end);
	assert_int_equal(mask, ~0xfffull);
	assert_int_equal(end, UINT64_MAX);
	/* 64 KiB pages and 39 address bits */
	im.page_sizes = 0x10000 | 0x20000000;
	im.input_start = 0;
	im.input_last = (1ull << 39) - 1;
	assert_int_equal(viommu_test_mirror(f->v, 0, &im), 0);
	viommu_test_config(f->v, &mask, &start, &end);
	assert_int_equal(mask, ~0xffffull);
	assert_int_equal(end, (1ull << 39) - 1);
	assert_int_equal(attach(f, 1, EP1), S_OK);
	assert_int_equal(map(f, 1, 0x1000, 0x1fff, 0x1000, RD), S_RANGE);	/* 4 KiB */
	assert_int_equal(map(f, 1, 0x10000, 0x1ffff, 0x11000, RD), S_RANGE);
	assert_int_equal(map(f, 1, 1ull << 39, (1ull << 39) + 0xffff, 0, RD), S_RANGE);
	assert_int_equal(map(f, 1, 0x10000, 0x1ffff, 0x20000, RD), S_OK);
	/* a second, smaller-paged mirror cannot undo the first */
	im.page_sizes = 0x1000;
	im.input_last = UINT64_MAX;
	assert_int_equal(viommu_test_mirror(f->v, 1, &im), 0);
	viommu_test_config(f->v, &mask, &start, &end);
	assert_int_equal(mask, ~0xffffull);
	assert_int_equal(end, (1ull << 39) - 1);
}


/* ------------------------------------ in a VM: fault events, a NIC */
#if IS_ENABLED(CONFIG_VIRTIO_NET)

/*
 * A fake VM (tests/unit/fake_vm.h) with `--net tap=...,iommu=on` (and
 * `--balloon ...,iommu=on` where it is built): the devices behind the
 * virtio-iommu, driven the way the guest's drivers do, through config
 * space, BAR 0 and the rings in guest RAM.  The NIC's TAP is a
 * socketpair (virtio/net_test.h); a page of device memory (as
 * virtio-pmem adds) lies above RAM.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "fake_vm.h"
#include "virtio/net_test.h"

/* libasan's; its header is not installed with gcc */
size_t __sanitizer_get_current_allocated_bytes(void);

/* guest-physical addresses, all in the fake VM's first MiB */
#define EVQ_RINGS	0x20000ull	/* the IOMMU's event queue */
#define REQQ_RINGS	0x24000ull	/* its request queue */
#define REQ_BUF		0x28000ull	/* a request; its tail at +0x800 */
#define EVENTS		0x30000ull	/* event buffers, 64 bytes apart */
#define NET_RINGS	0x60000ull	/* the NIC's rx and tx rings, 0x4000 each */
/* what the NIC is given instead: I/O virtual addresses (past RAM) */
#define NET_IOVA	0x1000000ull
#define EVQ_SIZE	32
#define QSIZE		8
#define EVENT_LEN	24		/* struct virtio_iommu_fault */

static struct fake_vm vmf;
static unsigned s_iommu, s_net, s_balloon;
static bool vmf_made;
static uint64_t device_gpa;	/* the device memory page */

struct __attribute__((packed)) fault_ev {
	uint8_t reason, reserved[3];
	uint32_t flags, endpoint;
	uint8_t reserved2[4];
	uint64_t address;
};

static int vm_setup(void **state)
{
	char dir[] = "/tmp/wisp-iommu-XXXXXX", kernel[64];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M", "--serial",
			       "null", "--net", "tap=iommu0,iommu=on",
#if IS_ENABLED(CONFIG_VIRTIO_BALLOON)
			       "--balloon", "size=0,free_page_reporting=on,iommu=on",
#endif
			       NULL };
	const struct mem_region *dev;
	void *page;
	int fd;

	(void)state;
	if (vmf_made)
		return 0;
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	net_test_fake_tap = true;
	fake_vm_create(&vmf, argv);
	unlink(kernel);
	rmdir(dir);
	s_iommu = fake_find(&vmf, 0x1040 + 23);
	s_net = fake_find(&vmf, 0x1041);
	if (IS_ENABLED(CONFIG_VIRTIO_BALLOON))
		s_balloon = fake_find(&vmf, 0x1040 + 5);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	dev = memory_add_device(&vmf.vm.mem, page, 4096, 4096, false);
	assert_non_null(dev);
	device_gpa = dev->gpa;
	vmf_made = true;
	return 0;
}

static void bar_write(unsigned s, uint64_t off, uint64_t v, unsigned len)
{
	fake_mmio(&vmf, FAKE_BAR(s) + off, v, len, true);
}

/* A driver's start: bus master, ACKNOWLEDGE | DRIVER, every feature
 * offered but those in `declined`, FEATURES_OK. */
static void dev_start_declining(unsigned s, uint64_t declined)
{
	fake_cfg_write(&vmf, s, 0x04, 0x6, 2);
	bar_write(s, FAKE_CC_STATUS, 0, 1);
	bar_write(s, FAKE_CC_STATUS, 0x3, 1);
	for (unsigned sel = 0; sel < 2; sel++) {
		uint32_t offered;

		bar_write(s, FAKE_CC_DFSELECT, sel, 4);
		bar_write(s, FAKE_CC_GFSELECT, sel, 4);
		offered = (uint32_t)fake_mmio_read(&vmf, FAKE_BAR(s) + FAKE_CC_DF, 4);
		bar_write(s, FAKE_CC_GF, offered & ~(uint32_t)(declined >> (32 * sel)), 4);
	}
	bar_write(s, FAKE_CC_STATUS, 0xb, 1);
	assert_int_equal(fake_status(&vmf, s), 0xb);
}

/* ... every feature, ACCESS_PLATFORM among them */
static void dev_start(unsigned s)
{
	dev_start_declining(s, 0);
}

/* Queue q with its rings at `rings` as the device addresses them:
 * descriptors, avail at +4 KiB, used at +8 KiB. */
static void dev_queue(unsigned s, unsigned q, uint16_t size, uint64_t rings)
{
	bar_write(s, FAKE_CC_Q_SELECT, q, 2);
	bar_write(s, FAKE_CC_Q_SIZE, size, 2);
	bar_write(s, FAKE_CC_Q_DESCLO, rings, 4);
	bar_write(s, FAKE_CC_Q_DESCLO + 4, rings >> 32, 4);
	bar_write(s, FAKE_CC_Q_AVAILLO, rings + 0x1000, 4);
	bar_write(s, FAKE_CC_Q_AVAILLO + 4, (rings + 0x1000) >> 32, 4);
	bar_write(s, FAKE_CC_Q_USEDLO, rings + 0x2000, 4);
	bar_write(s, FAKE_CC_Q_USEDLO + 4, (rings + 0x2000) >> 32, 4);
	bar_write(s, FAKE_CC_Q_ENABLE, 1, 2);
}

static void dev_ready(unsigned s)
{
	bar_write(s, FAKE_CC_STATUS, 0xf, 1);
}

/* Rings by their guest-physical address (rings_gpa), as the driver
 * writes them. */
static void offer(uint64_t rings_gpa, uint16_t size, uint16_t head)
{
	struct virtq_avail *a = fake_ram(&vmf, rings_gpa + 0x1000, VIRTQ_AVAIL_BYTES(size));
	uint16_t idx = le16toh(a->idx);

	a->ring[idx % size] = htole16(head);
	a->idx = htole16((uint16_t)(idx + 1));
}

static struct virtq_used *used_ring(uint64_t rings_gpa, uint16_t size)
{
	return fake_ram(&vmf, rings_gpa + 0x2000, VIRTQ_USED_BYTES(size));
}

/* One request through the IOMMU's request queue: its status. */
static uint8_t vm_request(const void *req, uint32_t len)
{
	fake_put_desc(&vmf, REQQ_RINGS, 0, REQ_BUF, len, VIRTQ_DESC_F_NEXT, 1);
	fake_put_desc(&vmf, REQQ_RINGS, 1, REQ_BUF + 0x800, 4, VIRTQ_DESC_F_WRITE, 0);
	memcpy(fake_ram(&vmf, REQ_BUF, len), req, len);
	memset(fake_ram(&vmf, REQ_BUF + 0x800, 4), 0xff, 4);
	offer(REQQ_RINGS, QSIZE, 0);
	fake_notify(&vmf, s_iommu, 0);
	return *(uint8_t *)fake_ram(&vmf, REQ_BUF + 0x800, 1);
}

static uint8_t vm_attach(uint32_t domain, uint32_t ep)
{
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain, ep, flags; uint8_t r[4]; }
		req = { { ATTACH }, htole32(domain), htole32(ep), 0, { 0 } };

	return vm_request(&req, sizeof(req));
}

static uint8_t vm_map(uint32_t domain, uint64_t start, uint64_t end, uint64_t gpa,
		      uint32_t flags)
{
	struct __attribute__((packed)) { uint8_t head[4]; uint32_t domain; uint64_t s, e, p; uint32_t fl; }
		req = { { MAP }, htole32(domain), htole64(start), htole64(end), htole64(gpa),
			htole32(flags) };

	return vm_request(&req, sizeof(req));
}

/* The IOMMU's driver up: request queue, event queue, and `n` event
 * buffers (heads 0..n-1) posted, filled with 0xee. */
static void iommu_up(unsigned n)
{
	fake_vm_reset(&vmf);
	memset(fake_ram(&vmf, EVQ_RINGS, 0x3000), 0, 0x3000);
	memset(fake_ram(&vmf, REQQ_RINGS, 0x3000), 0, 0x3000);
	memset(fake_ram(&vmf, EVENTS, 64 * EVQ_SIZE), 0xee, 64 * EVQ_SIZE);
	dev_start(s_iommu);
	dev_queue(s_iommu, 0, QSIZE, REQQ_RINGS);
	dev_queue(s_iommu, 1, EVQ_SIZE, EVQ_RINGS);
	dev_ready(s_iommu);
	for (unsigned i = 0; i < n; i++) {
		fake_put_desc(&vmf, EVQ_RINGS, i, EVENTS + 64 * i, EVENT_LEN, VIRTQ_DESC_F_WRITE, 0);
		offer(EVQ_RINGS, EVQ_SIZE, (uint16_t)i);
	}
	fake_notify(&vmf, s_iommu, 1);
}

static void poll_loop(void)
{
	for (int i = 0; i < 8; i++)
		event_loop_poll(vmf.vm.loop, 0);
}

/* Used entry i of the event queue: buffer i, a whole event, these fields. */
static void expect_event(unsigned i, uint8_t reason, uint32_t flags, uint64_t address)
{
	struct virtq_used *u = used_ring(EVQ_RINGS, EVQ_SIZE);
	struct fault_ev ev;

	assert_int_equal(le32toh(u->ring[i].id), i);
	assert_int_equal(le32toh(u->ring[i].len), EVENT_LEN);
	memcpy(&ev, fake_ram(&vmf, EVENTS + 64 * i, sizeof(ev)), sizeof(ev));
	assert_int_equal(ev.reason, reason);
	assert_int_equal(ev.reserved[0] | ev.reserved[1] | ev.reserved[2], 0);
	assert_int_equal(le32toh(ev.flags), flags);
	assert_int_equal(le32toh(ev.endpoint), s_net << 3);
	assert_int_equal(le64toh(ev.address), address);
}

#define R_DOMAIN 1
#define R_MAPPING 2
#define F_READ 1
#define F_WRITE 2
#define F_ADDRESS 0x100
#define UNMAPPED_IOVA 0x3000000ull
#define FAULT_LOOPS 1000
#define FAULTS_PENDING 16	/* virtio/iommu.c */

/*
 * DMA the guest did not allow is reported on the event queue, once per
 * refusal, with the reason, the direction, the endpoint and the
 * address; and with no event buffers left, faults are counted and
 * dropped beyond a fixed number waiting, so nothing grows.
 */
static void test_fault_events(void **state)
{
	struct viommu *v = viommu_test_of(vmf.vm.iommu);
	struct viommu_test_fault_events st;
	uint8_t frame[12 + 60];
	uint64_t refused;
	size_t before;

	(void)state;
	/* two event buffers */
	iommu_up(2);
	assert_int_equal(used_ring(EVQ_RINGS, EVQ_SIZE)->idx, 0);
	refused = viommu_test_faults(v);

	/* the NIC enables a queue while attached to no domain: the ring
	 * is refused, one DOMAIN fault at its (descriptor) address */
	dev_start(s_net);
	dev_queue(s_net, 0, QSIZE, NET_IOVA);
	assert_true(fake_status(&vmf, s_net) & 0x40);		/* NEEDS_RESET */
	poll_loop();
	assert_int_equal(le16toh(used_ring(EVQ_RINGS, EVQ_SIZE)->idx), 1);
	expect_event(0, R_DOMAIN, F_READ | F_ADDRESS, NET_IOVA);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, EVENTS + 64 + 5, 1), 0xee);	/* the next one untouched */
	assert_int_equal(viommu_test_faults(v), refused + 1);
	viommu_test_fault_events(v, &st);
	assert_int_equal(st.posted, 1);
	assert_int_equal(st.pending, 0);

	/* attached, its rings mapped, a receive buffer mapped read-only:
	 * a frame from the TAP is a write there, one MAPPING fault */
	bar_write(s_net, FAKE_CC_STATUS, 0, 1);
	assert_int_equal(vm_attach(7, s_net << 3), S_OK);
	assert_int_equal(vm_map(7, NET_IOVA, NET_IOVA + 0x7fff, NET_RINGS, RD | WR), S_OK);
	assert_int_equal(vm_map(7, NET_IOVA + 0x100000, NET_IOVA + 0x100fff, 0x70000, RD), S_OK);
	memset(fake_ram(&vmf, NET_RINGS, 0x8000), 0, 0x8000);
	memset(fake_ram(&vmf, 0x70000, 0x1000), 0x5a, 0x1000);
	dev_start(s_net);
	dev_queue(s_net, 0, QSIZE, NET_IOVA);
	dev_queue(s_net, 1, QSIZE, NET_IOVA + 0x4000);
	dev_ready(s_net);
	assert_int_equal(fake_status(&vmf, s_net), 0xf);
	fake_put_desc(&vmf, NET_RINGS, 0, NET_IOVA + 0x100000, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(NET_RINGS, QSIZE, 0);
	fake_notify(&vmf, s_net, 0);
	memset(frame, 0, sizeof(frame));
	assert_int_equal(send(net_test_peer[0], frame, 12 + 60, 0), 12 + 60);
	poll_loop();
	assert_true(fake_status(&vmf, s_net) & 0x40);
	assert_int_equal(le16toh(used_ring(NET_RINGS, QSIZE)->idx), 0);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, 0x70000, 1), 0x5a);		/* not written */
	assert_int_equal(le16toh(used_ring(EVQ_RINGS, EVQ_SIZE)->idx), 2);
	expect_event(1, R_MAPPING, F_WRITE | F_ADDRESS, NET_IOVA + 0x100000);
	assert_int_equal(viommu_test_faults(v), refused + 2);

	/* no event buffer left: a guest provoking faults in a loop makes
	 * FAULTS_PENDING wait and the rest count as dropped, the heap flat */
	before = __sanitizer_get_current_allocated_bytes();
	for (unsigned i = 0; i < FAULT_LOOPS; i++) {
		dev_start(s_net);
		dev_queue(s_net, 0, QSIZE, UNMAPPED_IOVA);
		poll_loop();
	}
	assert_true(__sanitizer_get_current_allocated_bytes() <= before + 4096);
	assert_int_equal(viommu_test_faults(v), refused + 2 + FAULT_LOOPS);
	viommu_test_fault_events(v, &st);
	assert_int_equal(st.posted, 2);
	assert_int_equal(st.pending, FAULTS_PENDING);
	assert_int_equal(st.dropped, FAULT_LOOPS - FAULTS_PENDING);
	assert_int_equal(le16toh(used_ring(EVQ_RINGS, EVQ_SIZE)->idx), 2);
	print_message("iommu: %u faults with no event buffer: %u waiting, %llu dropped, heap +%zd bytes\n",
		      FAULT_LOOPS, st.pending, (unsigned long long)st.dropped,
		      (ssize_t)(__sanitizer_get_current_allocated_bytes() - before));

	/* buffers again: the waiting ones go out, oldest first, one each */
	for (unsigned i = 2; i < FAULTS_PENDING + 6; i++) {
		fake_put_desc(&vmf, EVQ_RINGS, i, EVENTS + 64 * i, EVENT_LEN, VIRTQ_DESC_F_WRITE, 0);
		offer(EVQ_RINGS, EVQ_SIZE, (uint16_t)i);
	}
	fake_notify(&vmf, s_iommu, 1);
	assert_int_equal(le16toh(used_ring(EVQ_RINGS, EVQ_SIZE)->idx), 2 + FAULTS_PENDING);
	for (unsigned i = 2; i < 2 + FAULTS_PENDING; i++)
		expect_event(i, R_MAPPING, F_READ | F_ADDRESS, UNMAPPED_IOVA);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, EVENTS + 64 * (2 + FAULTS_PENDING), 1), 0xee);
	viommu_test_fault_events(v, &st);
	assert_int_equal(st.posted, 2 + FAULTS_PENDING);
	assert_int_equal(st.pending, 0);
	fake_vm_reset(&vmf);
}

/*
 * The NIC behind the IOMMU moving frames: a frame received into two
 * mergeable buffers, the first over two mappings far apart in RAM (so
 * three host pieces), and a frame sent from a buffer mapped read-only;
 * no fault.
 */
static void test_net_through_iommu(void **state)
{
	struct viommu *v = viommu_test_of(vmf.vm.iommu);
	uint8_t frame[12 + 6000], got[sizeof(frame)];
	struct virtq_used *u;
	uint64_t refused;
	uint16_t nbuf;

	(void)state;
	iommu_up(0);
	refused = viommu_test_faults(v);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + i / 251);
	memset(frame, 0, 12);	/* virtio_net_hdr: no offload */
	assert_int_equal(vm_attach(9, s_net << 3), S_OK);
	assert_int_equal(vm_map(9, NET_IOVA, NET_IOVA + 0x7fff, NET_RINGS, RD | WR), S_OK);
	/* receive: IOVA +1 MiB .. +1 MiB + 8 KiB over three pages of RAM */
	assert_int_equal(vm_map(9, NET_IOVA + 0x100000, NET_IOVA + 0x100fff, 0x71000, RD | WR), S_OK);
	assert_int_equal(vm_map(9, NET_IOVA + 0x101000, NET_IOVA + 0x101fff, 0x74000, RD | WR), S_OK);
	assert_int_equal(vm_map(9, NET_IOVA + 0x102000, NET_IOVA + 0x102fff, 0x75000, WR), S_OK);
	/* transmit: read-only */
	assert_int_equal(vm_map(9, NET_IOVA + 0x200000, NET_IOVA + 0x201fff, 0x78000, RD), S_OK);
	memset(fake_ram(&vmf, NET_RINGS, 0x8000), 0, 0x8000);
	memset(fake_ram(&vmf, 0x71000, 0x5000), 0, 0x5000);
	dev_start(s_net);
	dev_queue(s_net, 0, QSIZE, NET_IOVA);
	dev_queue(s_net, 1, QSIZE, NET_IOVA + 0x4000);
	dev_ready(s_net);
	assert_int_equal(fake_status(&vmf, s_net), 0xf);

	/* two receive buffers of 4 KiB: at +0x800 (two mappings), +0x2000 */
	fake_put_desc(&vmf, NET_RINGS, 0, NET_IOVA + 0x100800, 0x1000, VIRTQ_DESC_F_WRITE, 0);
	fake_put_desc(&vmf, NET_RINGS, 1, NET_IOVA + 0x102000, 0x1000, VIRTQ_DESC_F_WRITE, 0);
	offer(NET_RINGS, QSIZE, 0);
	offer(NET_RINGS, QSIZE, 1);
	fake_notify(&vmf, s_net, 0);
	assert_int_equal(send(net_test_peer[0], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	poll_loop();
	assert_int_equal(fake_status(&vmf, s_net), 0xf);
	u = used_ring(NET_RINGS, QSIZE);
	assert_int_equal(le16toh(u->idx), 2);
	assert_int_equal(le32toh(u->ring[0].id), 0);
	assert_int_equal(le32toh(u->ring[0].len), 0x1000);
	assert_int_equal(le32toh(u->ring[1].id), 1);
	assert_int_equal(le32toh(u->ring[1].len), sizeof(frame) - 0x1000);
	/* where the IOMMU said: 0x71800.., 0x74000.., 0x75000.. */
	memcpy(got, fake_ram(&vmf, 0x71800, 0x800), 0x800);
	memcpy(got + 0x800, fake_ram(&vmf, 0x74000, 0x800), 0x800);
	memcpy(got + 0x1000, fake_ram(&vmf, 0x75000, sizeof(frame) - 0x1000), sizeof(frame) - 0x1000);
	memcpy(&nbuf, got + 10, 2);
	assert_int_equal(le16toh(nbuf), 2);			/* num_buffers */
	memcpy(got + 10, frame + 10, 2);
	assert_memory_equal(got, frame, sizeof(frame));

	/* transmit a frame from read-only memory at IOVA +2 MiB */
	memcpy(fake_ram(&vmf, 0x78000, 12 + 1000), frame, 12 + 1000);
	fake_put_desc(&vmf, NET_RINGS + 0x4000, 0, NET_IOVA + 0x200000, 12 + 1000, 0, 0);
	offer(NET_RINGS + 0x4000, QSIZE, 0);
	fake_notify(&vmf, s_net, 1);
	assert_int_equal(le16toh(used_ring(NET_RINGS + 0x4000, QSIZE)->idx), 1);
	memset(got, 0, sizeof(got));
	assert_int_equal(recv(net_test_peer[0], got, sizeof(got), MSG_DONTWAIT), 12 + 1000);
	assert_memory_equal(got, frame, 12 + 1000);
	assert_int_equal(viommu_test_faults(v), refused);
	fake_vm_reset(&vmf);
}

#if IS_ENABLED(CONFIG_VIRTIO_BALLOON)
#define BALLOON_RINGS	0x80000ull	/* the reporting queue's rings */
#define BALLOON_IOVA	0x2000000ull
#define FREE_PAGE	0x90000ull	/* the RAM page a report names */

/*
 * The balloon behind the IOMMU: a free-page report names an I/O virtual
 * address, and the page the IOMMU maps there is given back (it reads
 * zeroes), not the guest-physical page of that number; a report mapped
 * to device memory is refused by the translation (one fault, the queue
 * broken), and that memory keeps its bytes: nothing but guest RAM is
 * ever discarded.
 */
static void test_balloon_reports_through_iommu(void **state)
{
	struct viommu *v = viommu_test_of(vmf.vm.iommu);
	uint8_t *dev = fake_ram(&vmf, device_gpa, 4096);
	uint64_t refused;

	(void)state;
	iommu_up(0);
	refused = viommu_test_faults(v);
	assert_int_equal(vm_attach(11, s_balloon << 3), S_OK);
	assert_int_equal(vm_map(11, BALLOON_IOVA, BALLOON_IOVA + 0x3fff, BALLOON_RINGS, RD | WR),
			 S_OK);
	/* the report at IOVA +1 MiB is the RAM page FREE_PAGE; the one at
	 * +2 MiB is the device memory page */
	assert_int_equal(vm_map(11, BALLOON_IOVA + 0x100000, BALLOON_IOVA + 0x100fff, FREE_PAGE,
				RD | WR), S_OK);
	assert_int_equal(vm_map(11, BALLOON_IOVA + 0x200000, BALLOON_IOVA + 0x200fff, device_gpa,
				RD | WR), S_OK);
	memset(fake_ram(&vmf, BALLOON_RINGS, 0x3000), 0, 0x3000);
	memset(fake_ram(&vmf, FREE_PAGE, 4096), 0x5a, 4096);
	/* the page of the IOVA's number, were it taken as guest-physical */
	memset(fake_ram(&vmf, 0x100000, 4096), 0x5a, 4096);
	memset(dev, 0x5a, 4096);
	dev_start(s_balloon);
	/* inflate, deflate, and reporting (2: no statistics queue) */
	dev_queue(s_balloon, 2, QSIZE, BALLOON_IOVA);
	dev_ready(s_balloon);
	assert_int_equal(fake_status(&vmf, s_balloon), 0xf);

	fake_put_desc(&vmf, BALLOON_RINGS, 0, BALLOON_IOVA + 0x100000, 4096, VIRTQ_DESC_F_WRITE, 0);
	offer(BALLOON_RINGS, QSIZE, 0);
	fake_notify(&vmf, s_balloon, 2);
	assert_int_equal(le16toh(used_ring(BALLOON_RINGS, QSIZE)->idx), 1);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, FREE_PAGE, 1), 0);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, FREE_PAGE + 4095, 1), 0);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, 0x100000, 1), 0x5a);
	assert_int_equal(viommu_test_faults(v), refused);

	fake_put_desc(&vmf, BALLOON_RINGS, 1, BALLOON_IOVA + 0x200000, 4096, VIRTQ_DESC_F_WRITE, 0);
	offer(BALLOON_RINGS, QSIZE, 1);
	fake_notify(&vmf, s_balloon, 2);
	assert_true(fake_status(&vmf, s_balloon) & 0x40);	/* NEEDS_RESET */
	assert_int_equal(le16toh(used_ring(BALLOON_RINGS, QSIZE)->idx), 1);
	assert_int_equal(viommu_test_faults(v), refused + 1);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(dev[i], 0x5a);
	fake_vm_reset(&vmf);
}

/*
 * Linux's virtio_balloon declines VIRTIO_F_ACCESS_PLATFORM (its page
 * numbers are guest-physical): the device then takes guest-physical
 * addresses, as QEMU lets it, with no IOMMU mapping at all; a report
 * still gives back guest RAM alone (device memory is never DMA's).
 */
static void test_balloon_declining_access_platform(void **state)
{
	uint8_t *dev = fake_ram(&vmf, device_gpa, 4096);

	(void)state;
	iommu_up(0);
	memset(fake_ram(&vmf, BALLOON_RINGS, 0x3000), 0, 0x3000);
	memset(fake_ram(&vmf, FREE_PAGE, 4096), 0x5a, 4096);
	memset(dev, 0x5a, 4096);
	dev_start_declining(s_balloon, 1ULL << 33);	/* VIRTIO_F_ACCESS_PLATFORM */
	dev_queue(s_balloon, 2, QSIZE, BALLOON_RINGS);
	dev_ready(s_balloon);
	assert_int_equal(fake_status(&vmf, s_balloon), 0xf);

	fake_put_desc(&vmf, BALLOON_RINGS, 0, FREE_PAGE, 4096, VIRTQ_DESC_F_WRITE, 0);
	offer(BALLOON_RINGS, QSIZE, 0);
	fake_notify(&vmf, s_balloon, 2);
	assert_int_equal(le16toh(used_ring(BALLOON_RINGS, QSIZE)->idx), 1);
	assert_int_equal(*(uint8_t *)fake_ram(&vmf, FREE_PAGE, 1), 0);

	fake_put_desc(&vmf, BALLOON_RINGS, 1, device_gpa, 4096, VIRTQ_DESC_F_WRITE, 0);
	offer(BALLOON_RINGS, QSIZE, 1);
	fake_notify(&vmf, s_balloon, 2);
	assert_true(fake_status(&vmf, s_balloon) & 0x40);	/* NEEDS_RESET */
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(dev[i], 0x5a);
	fake_vm_reset(&vmf);
}
#endif
#endif

#endif

int main(void)
{
#if IS_ENABLED(CONFIG_VIRTIO_IOMMU)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translate_contiguity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_waits_for_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtqueue_through_iommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_follows_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_probe, setup, teardown),
#if IS_ENABLED(CONFIG_VIRTIO_NET)
		cmocka_unit_test_setup(test_fault_events, vm_setup),
		cmocka_unit_test_setup(test_net_through_iommu, vm_setup),
#if IS_ENABLED(CONFIG_VIRTIO_BALLOON)
		cmocka_unit_test_setup(test_balloon_reports_through_iommu, vm_setup),
		cmocka_unit_test_setup(test_balloon_declining_access_platform, vm_setup),
#endif
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#else
	return 0;
#endif
}
