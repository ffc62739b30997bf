// SPDX-License-Identifier: MIT
/*
 * lib/alloc.c (CONFIG_SMALL_MALLOC), the static binary's malloc, called
 * by its wisp_ names: alignment, contents kept across realloc, zeroed
 * calloc, blocks reused after free, no two live blocks overlapping (one
 * thread or several), the overflow and out-of-memory answers, and a stop (SIGILL from the trap)
 * on a double free, a stray pointer and an overwritten header.  The
 * stopping cases run in a child process.
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#if IS_ENABLED(CONFIG_SMALL_MALLOC)

#include "lib/alloc.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static bool filled(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

static void test_sizes_and_alignment(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 496, 497, 1000, 4080,
					4081, 5000, 65536, 1 << 20 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = wisp_malloc(sizes[i]);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		fill(p, sizes[i], (unsigned)i);
		assert_true(filled(p, sizes[i], (unsigned)i));
		wisp_free(p);
	}
	wisp_free(NULL);
}

/* Many live blocks of mixed sizes, freed in a scrambled order and
 * allocated again: each keeps its own contents. */
static void test_no_overlap(void **state)
{
	enum { N = 600 };
	static unsigned char *p[N];
	static size_t len[N];

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			if (p[i])
				continue;
			len[i] = (size_t)(i * 37 + round * 11) % 6000;
			p[i] = wisp_malloc(len[i]);
			assert_non_null(p[i]);
			fill(p[i], len[i], (unsigned)(i + round));
		}
		for (int i = 0; i < N; i++)
			assert_true(filled(p[i], len[i], (unsigned)(i + round)));
		for (int i = 0; i < N; i++) {
			int k = (i * 7 + round) % N;

			if (k % 3 == round % 3) {
				wisp_free(p[k]);
				p[k] = NULL;
			} else {
				/* survivors take the next round's seed */
				fill(p[k], len[k], (unsigned)(k + round + 1));
			}
		}
	}
	for (int i = 0; i < N; i++)
		wisp_free(p[i]);
}

static void test_reuse(void **state)
{
	void *a, *b;

	(void)state;
	a = wisp_malloc(200);
	assert_non_null(a);
	wisp_free(a);
	b = wisp_malloc(180);	/* the same 256-byte class */
	assert_ptr_equal(a, b);
	wisp_free(b);
}

static void test_zeroed(void **state)
{
	unsigned char *p;

	(void)state;
	/* a reused small block had contents: calloc must clear them */
	p = wisp_malloc(300);
	assert_non_null(p);
	memset(p, 0xa5, 300);
	wisp_free(p);
	p = wisp_calloc(3, 100);
	assert_non_null(p);
	for (int i = 0; i < 300; i++)
		assert_int_equal(p[i], 0);
	wisp_free(p);
	p = wisp_calloc(1, 100000);
	assert_non_null(p);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(p[i], 0);
	wisp_free(p);
	errno = 0;
	assert_null(wisp_calloc(SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
}

static void test_resize(void **state)
{
	unsigned char *p, *q;

	(void)state;
	p = wisp_realloc(NULL, 10);
	assert_non_null(p);
	fill(p, 10, 1);
	/* growing within the block's class keeps it */
	q = wisp_realloc(p, 12);
	assert_ptr_equal(p, q);
	/* small to small, small to large, large to larger, and back down */
	for (size_t n = 100; n < 300000; n *= 3) {
		q = wisp_realloc(p, n);
		assert_non_null(q);
		assert_true(filled(q, 10, 1));
		p = q;
	}
	q = wisp_realloc(p, 5);
	assert_ptr_equal(p, q);
	assert_true(filled(q, 5, 1));
	wisp_free(q);
}

/* Threads allocating and freeing at once (the I/O workers, the event
 * loop and the vCPUs do): no block handed out twice, contents kept. */
static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	unsigned char *held[16] = { 0 };
	size_t len[16] = { 0 };

	for (int i = 0; i < 200000; i++) {
		unsigned slot;

		seed = seed * 1103515245u + 12345u;
		slot = (seed >> 8) % 16;
		if (held[slot]) {
			if (!filled(held[slot], len[slot], slot + (unsigned)(uintptr_t)arg))
				return (void *)1;
			wisp_free(held[slot]);
			held[slot] = NULL;
		} else {
			/* mostly small blocks (the locked path), now and
			 * then a mapping of its own */
			len[slot] = (seed >> 12) % 64 ? (seed >> 12) % 600 : 9000;
			held[slot] = wisp_malloc(len[slot]);
			if (!held[slot])
				return (void *)1;
			fill(held[slot], len[slot], slot + (unsigned)(uintptr_t)arg);
		}
	}
	for (int s = 0; s < 16; s++)
		wisp_free(held[s]);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *ret;

	(void)state;
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(i * 40)), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
}

static void test_out_of_memory(void **state)
{
	(void)state;
	errno = 0;
	assert_null(wisp_malloc(SIZE_MAX - 8));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	/* more than any address space: the mapping fails */
	assert_null(wisp_malloc((size_t)1 << 62));
	assert_int_equal(errno, ENOMEM);
}

/* Runs fn in a child; it must die of the trap (SIGILL on x86_64 and
 * AArch64), not return. */
static void assert_stops(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* no core file for the deliberate crash */
		signal(SIGILL, SIG_DFL);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || (WTERMSIG(status) != SIGILL && WTERMSIG(status) != SIGTRAP))
		fail_msg("the allocator went on (status %#x)", status);
}

static void double_free_small(void)
{
	void *p = wisp_malloc(64);

	wisp_free(p);
	wisp_free(p);
}

static void double_free_after_reuse_elsewhere(void)
{
	void *p = wisp_malloc(64), *q = wisp_malloc(64);

	wisp_free(p);
	wisp_free(q);
	wisp_free(p);
}

static void stray_pointer(void)
{
	static _Alignas(16) unsigned char not_ours[64];

	wisp_free(not_ours + 32);
}

static void misaligned_pointer(void)
{
	unsigned char *p = wisp_malloc(64);

	wisp_free(p + 8);
}

/* what an overflow out of the block before q would do to q's header */
static void overwritten_header(void)
{
	unsigned char *q = wisp_malloc(100);

	memset(q - 16, 0x41, 16);
	wisp_free(q);
}

static void overwritten_large_header(void)
{
	unsigned char *q = wisp_malloc(100000);

	memset(q - 16, 0, 8);	/* its size */
	wisp_free(q);
}

/* An overflow into the free block q rewrites its free-list link to an
 * address of the attacker's choosing. */
static void overwritten_free_link(void)
{
	static long target[8];
	unsigned char *q = wisp_malloc(100);
	void *t = target;

	wisp_free(q);
	memcpy(q, &t, sizeof(t));
	wisp_malloc(100);	/* takes q, follows its link ... */
	wisp_malloc(100);	/* ... and must not hand out target */
}

static void test_stops_on_misuse(void **state)
{
	(void)state;
	assert_stops(double_free_small);
	assert_stops(double_free_after_reuse_elsewhere);
	assert_stops(stray_pointer);
	assert_stops(misaligned_pointer);
	assert_stops(overwritten_header);
	assert_stops(overwritten_large_header);
	assert_stops(overwritten_free_link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_alignment),
		cmocka_unit_test(test_no_overlap),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_zeroed),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_stops_on_misuse),
	};

	return cmocka_run_group_tests_name("lib/alloc.c", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("lib/alloc.c")

#endif
