// SPDX-License-Identifier: MIT
/*
 * VFIO helpers that need no device: how the MSI-X table and PBA are cut
 * out of the parts of a BAR that get mmapped into the guest (whatever is
 * cut stays trapped, so the guest's table writes always reach wisp).
 */
#include "unit.h"

#ifdef CONFIG_VFIO
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_middle_splits),
		cmocka_unit_test(test_cut_ends_and_all),
		cmocka_unit_test(test_cut_outside_and_sparse),
		cmocka_unit_test(test_cut_without_room),
	};

	return cmocka_run_group_tests_name("vfio", tests, NULL, NULL);
}
#else
static void test_not_built_in(void **state)
{
	(void)state;
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_built_in),
	};

	return cmocka_run_group_tests_name("vfio (not built in)", tests, NULL, NULL);
}
#endif
