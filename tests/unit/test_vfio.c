// SPDX-License-Identifier: MIT
/*
 * VFIO helpers that need no device: how the MSI-X table and PBA are cut
 * out of the parts of a BAR that get mmapped into the guest (whatever is
 * cut stays trapped, so the guest's table writes always reach wisp); and
 * for iommu=on, how the guest's mappings become a container's DMA
 * mappings (vfio_dma.c), against a fake container.
 */
#include "unit.h"

#ifdef CONFIG_VFIO
#include <errno.h>
#include <linux/vfio.h>
#include <string.h>

#include "core/config.h"
#include "core/iommu.h"
#include "core/memory.h"
#include "vfio/vfio.h"

#define K4 4096ULL

static void test_cut_middle_splits(void **state)
{
	struct vfio_area a[4] = { { 0, 16 * K4 } };
	size_t n;

	(void)state;
	/* a 16-byte table at 0x2010 takes its whole page */
	n = vfio_areas_cut(a, 1, 4, 0x2010, 0x2020);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].offset, 0);
	assert_int_equal(a[0].size, 2 * K4);
	assert_int_equal(a[1].offset, 3 * K4);
	assert_int_equal(a[1].size, 13 * K4);
}

static void test_cut_ends_and_all(void **state)
{
	struct vfio_area a[4] = { { 0, 4 * K4 } };
	size_t n;

	(void)state;
	n = vfio_areas_cut(a, 1, 4, 0, 1);		/* head page */
	assert_int_equal(n, 1);
	assert_int_equal(a[0].offset, K4);
	assert_int_equal(a[0].size, 3 * K4);
	n = vfio_areas_cut(a, n, 4, 3 * K4 + 8, 3 * K4 + 16);	/* tail page */
	assert_int_equal(n, 1);
	assert_int_equal(a[0].offset, K4);
	assert_int_equal(a[0].size, 2 * K4);
	n = vfio_areas_cut(a, n, 4, 0, 8 * K4);	/* all of it */
	assert_int_equal(n, 1);
	assert_int_equal(a[0].size, 0);
	/* an empty area stays empty, nothing else appears */
	n = vfio_areas_cut(a, n, 4, K4, 2 * K4);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].size, 0);
}

static void test_cut_outside_and_sparse(void **state)
{
	/* sparse areas, as VFIO's sparse-mmap capability lists them */
	struct vfio_area a[4] = { { 0, 2 * K4 }, { 8 * K4, 4 * K4 } };
	size_t n;

	(void)state;
	n = vfio_areas_cut(a, 2, 4, 4 * K4, 5 * K4);	/* in the gap */
	assert_int_equal(n, 2);
	assert_int_equal(a[0].size, 2 * K4);
	assert_int_equal(a[1].size, 4 * K4);
	n = vfio_areas_cut(a, n, 4, 9 * K4, 9 * K4 + 1);
	assert_int_equal(n, 3);
	assert_int_equal(a[1].offset, 8 * K4);
	assert_int_equal(a[1].size, K4);
	assert_int_equal(a[2].offset, 10 * K4);
	assert_int_equal(a[2].size, 2 * K4);
}

static void test_cut_without_room(void **state)
{
	struct vfio_area a[1] = { { 0, 4 * K4 } };
	size_t n;

	(void)state;
	/* no room to split: the tail is dropped (trapped), never the cut
	 * range kept */
	n = vfio_areas_cut(a, 1, 1, K4, 2 * K4);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].offset, 0);
	assert_int_equal(a[0].size, K4);
}


/* ------------------------------------------- iommu=on: the DMA mappings */

#define FAKE_FD 77
#define MAX_CALLS 16
#define M2 (2ull << 20)
#define TOP39 ((1ull << 39) - 1)

/* A fake type1 container: what GET_INFO says, and the MAP_DMA and
 * UNMAP_DMA calls it got. */
static struct {
	bool no_pgsizes, no_caps;
	uint64_t pgsizes;
	unsigned nranges;
	struct vfio_iova_range range[4];
	unsigned fail_map;	/* 1-based MAP_DMA call that fails */
	int fail_errno;
	unsigned maps;
	unsigned n;
	struct {
		char op;
		uint64_t iova, size, vaddr;
		uint32_t flags;
	} call[MAX_CALLS];
} fc;

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	assert_int_equal(fd, FAKE_FD);
	if (request == VFIO_IOMMU_GET_INFO) {
		struct vfio_iommu_type1_info *info = arg;
		struct vfio_iommu_type1_info_cap_iova_range *cap;
		uint32_t need = sizeof(*info) + sizeof(*cap) + fc.nranges * sizeof(fc.range[0]);

		info->flags = (fc.no_pgsizes ? 0 : VFIO_IOMMU_INFO_PGSIZES) |
			      (fc.no_caps ? 0 : VFIO_IOMMU_INFO_CAPS);
		info->iova_pgsizes = fc.pgsizes;
		if (fc.no_caps)
			return 0;
		if (info->argsz < need) {	/* as the kernel: asks for more room */
			info->argsz = need;
			info->cap_offset = 0;
			return 0;
		}
		info->cap_offset = sizeof(*info);
		cap = (void *)((uint8_t *)info + sizeof(*info));
		cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		cap->header.version = 1;
		cap->header.next = 0;
		cap->nr_iovas = fc.nranges;
		memcpy(cap->iova_ranges, fc.range, fc.nranges * sizeof(fc.range[0]));
		return 0;
	}
	assert_true(fc.n < MAX_CALLS);
	if (request == VFIO_IOMMU_MAP_DMA) {
		struct vfio_iommu_type1_dma_map *m = arg;

		assert_int_equal(m->argsz, sizeof(*m));
		if (++fc.maps == fc.fail_map) {
			errno = fc.fail_errno;
			return -1;
		}
		fc.call[fc.n].op = 'm';
		fc.call[fc.n].iova = m->iova;
		fc.call[fc.n].size = m->size;
		fc.call[fc.n].vaddr = m->vaddr;
		fc.call[fc.n].flags = m->flags;
		fc.n++;
		return 0;
	}
	if (request == VFIO_IOMMU_UNMAP_DMA) {
		struct vfio_iommu_type1_dma_unmap *u = arg;

		assert_int_equal(u->argsz, sizeof(*u));
		assert_int_equal(u->flags, 0);
		fc.call[fc.n].op = 'u';
		fc.call[fc.n].iova = u->iova;
		fc.call[fc.n].size = u->size;
		fc.n++;
		return 0;
	}
	fail_msg("unexpected ioctl %#lx", request);
	return -1;
}

struct dma_fx {
	struct guest_memory mem;
	struct vfio_dma_space s;
};

/* Guest RAM at [0, 2M) and [4M, 6M); the container of intel-iommu in
 * QEMU: 4K/2M/1G pages, 39 bits, the MSI window a hole. */
static int dma_setup(void **state)
{
	static const uint64_t layout[][2] = { { 0, M2 }, { 2 * M2, M2 } };
	struct memory_config cfg = { .size = 2 * M2 };
	struct dma_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(memory_init(&f->mem, &cfg, layout, 2), 0);
	memset(&fc, 0, sizeof(fc));
	fc.pgsizes = 0x40201000;
	fc.nranges = 2;
	/* out of order on purpose: wisp sorts them */
	fc.range[0] = (struct vfio_iova_range){ 0xfef00000, TOP39 };
	fc.range[1] = (struct vfio_iova_range){ 0, 0xfedfffff };
	vfio_dma_ioctl = fake_ioctl;
	assert_int_equal(vfio_dma_space_init(&f->s, FAKE_FD, &f->mem), 0);
	*state = f;
	return 0;
}

static int dma_teardown(void **state)
{
	struct dma_fx *f = *state;

	memory_destroy(&f->mem);
	free(f);
	return 0;
}

static uint64_t host_of(struct dma_fx *f, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)gpa_ptr(&f->mem, gpa, 1);
}

static void test_dma_space_info(void **state)
{
	struct dma_fx *f = *state;
	struct vfio_dma_space s;

	assert_int_equal(f->s.page_sizes, 0x40201000);
	assert_int_equal(f->s.nranges, 2);
	assert_int_equal(f->s.range[0].start, 0);
	assert_int_equal(f->s.range[0].last, 0xfedfffff);
	assert_int_equal(f->s.range[1].start, 0xfef00000);
	assert_int_equal(f->s.range[1].last, TOP39);
	/* no range capability: the whole space */
	fc.no_caps = true;
	assert_int_equal(vfio_dma_space_init(&s, FAKE_FD, &f->mem), 0);
	assert_int_equal(s.nranges, 1);
	assert_int_equal(s.range[0].start, 0);
	assert_int_equal(s.range[0].last, UINT64_MAX);
	/* no page sizes: refused */
	fc.no_pgsizes = true;
	assert_int_equal(vfio_dma_space_init(&s, FAKE_FD, &f->mem), -1);
}

static void test_dma_map_checks(void **state)
{
	struct dma_fx *f = *state;
	const unsigned rw = IOMMU_PROT_READ | IOMMU_PROT_WRITE;

	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x10fff, 0, 4), -EINVAL);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0xffff, 0, rw), -EINVAL);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x11fff, UINT64_MAX - 0xfff, rw), -EINVAL);
	/* the host's 4 KiB granule */
	assert_int_equal(vfio_dma_map(&f->s, 0x10800, 0x117ff, 0, rw), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x107ff, 0, rw), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x10fff, 0x800, rw), -ERANGE);
	/* across the host's MSI hole, or past its 39 bits */
	assert_int_equal(vfio_dma_map(&f->s, 0xfed00000, 0xfef0ffff, 0, rw), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, 0xfee00000, 0xfee00fff, 0, rw), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, TOP39 - 0xfff, TOP39 + 0x1000, 0, rw), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, 0, UINT64_MAX, 0, rw), -ERANGE);
	assert_int_equal(fc.n, 0);
	/* no permission: nothing the host could translate, nothing asked */
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x10fff, 0, 0), 0);
	assert_int_equal(fc.n, 0);
	/* the top page of the host's space is fine */
	assert_int_equal(vfio_dma_map(&f->s, TOP39 - 0xfff, TOP39, 0x1000, IOMMU_PROT_READ), 0);
	assert_int_equal(fc.n, 1);
	assert_int_equal(fc.call[0].iova, TOP39 - 0xfff);
	assert_int_equal(fc.call[0].size, 0x1000);
	assert_int_equal(fc.call[0].vaddr, host_of(f, 0x1000));
	assert_int_equal(fc.call[0].flags, VFIO_DMA_MAP_FLAG_READ);
}

/* Only guest RAM reaches the host, each piece at its own IOVA. */
static void test_dma_map_ram_only(void **state)
{
	struct dma_fx *f = *state;

	/* 8 MiB from gpa 0: RAM at [0, 2M) and [4M, 6M), a hole between */
	assert_int_equal(vfio_dma_map(&f->s, 0x40000000, 0x407fffff, 0, IOMMU_PROT_WRITE), 0);
	assert_int_equal(fc.n, 2);
	assert_int_equal(fc.call[0].iova, 0x40000000);
	assert_int_equal(fc.call[0].size, M2);
	assert_int_equal(fc.call[0].vaddr, host_of(f, 0));
	assert_int_equal(fc.call[0].flags, VFIO_DMA_MAP_FLAG_WRITE);
	assert_int_equal(fc.call[1].iova, 0x40000000 + 2 * M2);
	assert_int_equal(fc.call[1].size, M2);
	assert_int_equal(fc.call[1].vaddr, host_of(f, 2 * M2));
	assert_int_equal(f->s.mapped, 2 * M2);
	/* not RAM at all: nothing */
	assert_int_equal(vfio_dma_map(&f->s, 0x50000000, 0x5000ffff, 0xc0000000,
				      IOMMU_PROT_READ), 0);
	assert_int_equal(fc.n, 2);
	/* a page at the end of the first region */
	assert_int_equal(vfio_dma_map(&f->s, 0x60000000, 0x60001fff, M2 - 0x1000,
				      IOMMU_PROT_READ | IOMMU_PROT_WRITE), 0);
	assert_int_equal(fc.n, 3);
	assert_int_equal(fc.call[2].iova, 0x60000000);
	assert_int_equal(fc.call[2].size, 0x1000);
	assert_int_equal(fc.call[2].flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	assert_int_equal(f->s.maps, 3);
}

/* A host failure: the guest's status, and the pieces mapped go again. */
static void test_dma_map_failure(void **state)
{
	struct dma_fx *f = *state;
	static const struct { int err, ret; } cases[] = {
		{ ENOMEM, -ENOMEM }, { ENOSPC, -ENOMEM }, { EEXIST, -EINVAL },
		{ EINVAL, -EIO }, { EFAULT, -EIO },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fc.n = 0;
		fc.fail_map = fc.maps + 2;	/* the second piece */
		fc.fail_errno = cases[i].err;
		assert_int_equal(vfio_dma_map(&f->s, 0x40000000, 0x407fffff, 0,
					      IOMMU_PROT_READ), cases[i].ret);
		assert_int_equal(fc.n, 2);
		assert_int_equal(fc.call[0].op, 'm');
		assert_int_equal(fc.call[1].op, 'u');
		assert_int_equal(fc.call[1].iova, 0x40000000);
		assert_int_equal(fc.call[1].size, 0x800000);
	}
}

static void test_dma_unmap(void **state)
{
	struct dma_fx *f = *state;
	struct vfio_dma_space whole;

	/* everything: the host's addresses, no more */
	assert_int_equal(vfio_dma_unmap(&f->s, 0, UINT64_MAX), 0);
	assert_int_equal(fc.n, 1);
	assert_int_equal(fc.call[0].iova, 0);
	assert_int_equal(fc.call[0].size, TOP39 + 1);
	/* shrunk to whole host pages, which is all a mapping can be */
	assert_int_equal(vfio_dma_unmap(&f->s, 0x800, 0x2fff), 0);
	assert_int_equal(fc.call[1].iova, 0x1000);
	assert_int_equal(fc.call[1].size, 0x2000);
	assert_int_equal(vfio_dma_unmap(&f->s, 0x800, 0xbff), 0);
	assert_int_equal(vfio_dma_unmap(&f->s, TOP39 + 1, UINT64_MAX), 0);
	assert_int_equal(fc.n, 2);
	assert_int_equal(vfio_dma_unmap(&f->s, 0x2000, 0x1fff), -EINVAL);
	/* a host without a range capability: 2^64 bytes take two calls */
	fc.no_caps = true;
	assert_int_equal(vfio_dma_space_init(&whole, FAKE_FD, &f->mem), 0);
	assert_int_equal(vfio_dma_unmap(&whole, 0, UINT64_MAX), 0);
	assert_int_equal(fc.n, 4);
	assert_int_equal(fc.call[2].iova, 0);
	assert_int_equal(fc.call[2].size, 1ull << 63);
	assert_int_equal(fc.call[3].iova, 1ull << 63);
	assert_int_equal(fc.call[3].size, 1ull << 63);
}

/* The container as a mirror: the span of its addresses, and the holes
 * between its ranges. */
static void test_dma_mirror(void **state)
{
	struct dma_fx *f = *state;
	struct iommu_mirror m;

	vfio_dma_mirror(&f->s, &m);
	assert_ptr_equal(m.opaque, &f->s);
	assert_true(m.map == vfio_dma_map && m.unmap == vfio_dma_unmap);
	assert_int_equal(m.page_sizes, 0x40201000);
	assert_int_equal(m.input_start, 0);
	assert_int_equal(m.input_last, TOP39);
	assert_int_equal(m.nholes, 1);
	assert_int_equal(m.hole[0].start, 0xfee00000);
	assert_int_equal(m.hole[0].last, 0xfeefffff);
	/* AMD's: the HyperTransport window too; touching ranges leave none */
	fc.nranges = 4;
	fc.range[0] = (struct vfio_iova_range){ 0, 0xfedfffff };
	fc.range[1] = (struct vfio_iova_range){ 0xfef00000, 0xfcffffffffull };
	fc.range[2] = (struct vfio_iova_range){ 0x10000000000ull, 0x1ffffffffffull };
	fc.range[3] = (struct vfio_iova_range){ 0x20000000000ull, 0xffffffffffffull };
	assert_int_equal(vfio_dma_space_init(&f->s, FAKE_FD, &f->mem), 0);
	vfio_dma_mirror(&f->s, &m);
	assert_int_equal(m.input_last, 0xffffffffffffull);
	assert_int_equal(m.nholes, 2);
	assert_int_equal(m.hole[1].start, 0xfd00000000ull);
	assert_int_equal(m.hole[1].last, 0xffffffffffull);
}

/* 64 KiB host pages: the guest-physical side must be aligned too, and
 * RAM pieces are whole host pages. */
static void test_dma_big_pages(void **state)
{
	struct dma_fx *f = *state;

	fc.pgsizes = 0x10000 | 0x20000000;
	assert_int_equal(vfio_dma_space_init(&f->s, FAKE_FD, &f->mem), 0);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x1ffff, 0x1000, IOMMU_PROT_READ), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x1efff, 0x0, IOMMU_PROT_READ), -ERANGE);
	assert_int_equal(vfio_dma_map(&f->s, 0x10000, 0x1ffff, 0x10000, IOMMU_PROT_READ), 0);
	assert_int_equal(fc.n, 1);
	assert_int_equal(fc.call[0].size, 0x10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_middle_splits),
		cmocka_unit_test(test_cut_ends_and_all),
		cmocka_unit_test(test_cut_outside_and_sparse),
		cmocka_unit_test(test_cut_without_room),
		cmocka_unit_test_setup_teardown(test_dma_space_info, dma_setup, dma_teardown),
		cmocka_unit_test_setup_teardown(test_dma_map_checks, dma_setup, dma_teardown),
		cmocka_unit_test_setup_teardown(test_dma_map_ram_only, dma_setup, dma_teardown),
		cmocka_unit_test_setup_teardown(test_dma_map_failure, dma_setup, dma_teardown),
		cmocka_unit_test_setup_teardown(test_dma_unmap, dma_setup, dma_teardown),
		cmocka_unit_test_setup_teardown(test_dma_mirror, dma_setup, dma_teardown),
		cmocka_unit_test_setup_teardown(test_dma_big_pages, dma_setup, dma_teardown),
	};

	return cmocka_run_group_tests_name("vfio", tests, NULL, NULL);
}
#else
UNIT_NOT_BUILT("vfio")
#endif
