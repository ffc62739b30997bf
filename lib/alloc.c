// SPDX-License-Identifier: MIT
/*
 * CONFIG_SMALL_MALLOC: wisp's memory allocator, linked instead of musl's
 * (mallocng, about 8 KiB of the static binary; see lib/alloc.h).
 *
 * wisp allocates little and seldom: device state and tables at set-up,
 * then a few buffers (a vsock connection's ring, a seccomp program).  So:
 *   - a request that fits in 4 KiB with its header gets a block of the
 *     next power of two from 32 to 4096 bytes, carved from 64 KiB
 *     mappings; a freed block goes on its size's free list and serves the
 *     next request of that size.  These blocks never go back to the
 *     kernel, and a mapping's pages become resident only when used.
 *   - a bigger request gets a mapping of its own, unmapped by free().
 *
 * Every block starts with a 16-byte header (which keeps the payload at
 * the 16-byte alignment malloc promises): its size and a check word,
 * the header's own address mixed with a random key and the block's
 * state.  free() of a block that is not in use (a double free), of a
 * pointer malloc never returned, or of a block whose header was
 * overwritten, stops wisp at once, as musl's allocator does.  The links
 * of the free lists, kept in the free blocks, are mixed with the key
 * too and checked when followed, so an overflow into a free block cannot
 * steer the allocator to an address of its choosing.
 */
#include "lib/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#define HEAD 16u
#define MIN_SHIFT 5			/* 32-byte blocks */
#define CLASSES 8			/* ... to 4096-byte blocks */
#define MAX_SMALL (1u << (MIN_SHIFT + CLASSES - 1))
#define AREA (64u * 1024)		/* what small blocks are carved from */
#define PAGE 4096u

/* the state part of a check word */
enum { SMALL_USED = 1, SMALL_FREE = 2, LARGE_USED = 3 };

struct head {
	size_t size;		/* block size: a class's, or the whole mapping's */
	uintptr_t check;	/* (address ^ key) + state */
};

static struct {
	pthread_mutex_t lock;
	uintptr_t key;
	char *next, *end;		/* the unused rest of the current area */
	uintptr_t free_list[CLASSES];	/* first free block ^ key, 0: none */
} heap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void corrupt(void)
{
	/* the heap cannot be trusted any more: stop before using it */
	__builtin_trap();
}

static uintptr_t check_word(const struct head *h, unsigned state)
{
	return ((uintptr_t)h ^ heap.key) + state;
}

_Static_assert(sizeof(struct head) == HEAD, "the header keeps payloads 16-byte aligned");

static struct head *head_of(void *p)
{
	return (struct head *)((char *)p - HEAD);
}

/* Called with the lock held, before the first block. */
static void init_key(void)
{
	const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
	uintptr_t k = (uintptr_t)&heap;

	if (random) {
		uintptr_t r;

		memcpy(&r, random + 8, sizeof(r));
		k ^= r;
	}
	heap.key = k | 1;	/* never 0, so an empty list reads as empty */
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void *alloc_large(size_t n)
{
	size_t len;
	struct head *h;

	if (n > SIZE_MAX - HEAD - PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	len = (n + HEAD + PAGE - 1) & ~(size_t)(PAGE - 1);
	h = map(len);
	if (!h)
		return NULL;
	h->size = len;
	h->check = check_word(h, LARGE_USED);
	return (char *)h + HEAD;
}

static unsigned class_of(size_t need)
{
	unsigned c = 0;

	while ((size_t)1 << (MIN_SHIFT + c) < need)
		c++;
	return c;
}

/* A block of class c: the first on its free list, else a new one carved
 * from the current area.  With the lock held. */
static struct head *take_small(unsigned c)
{
	size_t size = (size_t)1 << (MIN_SHIFT + c);
	struct head *h;

	if (heap.free_list[c]) {
		h = (struct head *)(heap.free_list[c] ^ heap.key);
		if (((uintptr_t)h & (HEAD - 1)) || h->size != size ||
		    h->check != check_word(h, SMALL_FREE))
			corrupt();
		memcpy(&heap.free_list[c], (char *)h + HEAD, sizeof(uintptr_t));
		return h;
	}
	if ((size_t)(heap.end - heap.next) < size) {
		char *area = map(AREA);

		if (!area)
			return NULL;
		heap.next = area;
		heap.end = area + AREA;
	}
	h = (struct head *)heap.next;
	heap.next += size;
	h->size = size;
	return h;
}

void *wisp_malloc(size_t n)
{
	struct head *h;

	pthread_mutex_lock(&heap.lock);
	if (!heap.key)
		init_key();
	if (n > MAX_SMALL - HEAD) {
		pthread_mutex_unlock(&heap.lock);
		return alloc_large(n);
	}
	h = take_small(class_of(n + HEAD));
	if (h)
		h->check = check_word(h, SMALL_USED);
	pthread_mutex_unlock(&heap.lock);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	return (char *)h + HEAD;
}

static bool is_large(const struct head *h)
{
	if (h->check != check_word(h, LARGE_USED))
		return false;
	if (h->size < PAGE || h->size % PAGE)
		corrupt();
	return true;
}

static bool is_small_in_use(const struct head *h)
{
	return h->check == check_word(h, SMALL_USED) && h->size >= HEAD * 2 &&
	       h->size <= MAX_SMALL && !(h->size & (h->size - 1));
}

void wisp_free(void *p)
{
	struct head *h;
	unsigned c;

	if (!p)
		return;
	h = head_of(p);
	if (((uintptr_t)p & (HEAD - 1)) || !heap.key)
		corrupt();
	if (is_large(h)) {
		munmap(h, h->size);
		return;
	}
	pthread_mutex_lock(&heap.lock);
	if (!is_small_in_use(h))
		corrupt();
	c = class_of(h->size);
	h->check = check_word(h, SMALL_FREE);
	memcpy(p, &heap.free_list[c], sizeof(uintptr_t));
	heap.free_list[c] = (uintptr_t)h ^ heap.key;
	pthread_mutex_unlock(&heap.lock);
}

void *wisp_calloc(size_t count, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	p = wisp_malloc(n);
	/* a large block is a fresh mapping, zero already: leaving its
	 * pages untouched keeps them out of the RSS until used */
	if (p && !is_large(head_of(p)))
		memset(p, 0, n);
	return p;
}

void *wisp_realloc(void *p, size_t n)
{
	size_t have;
	void *q;

	if (!p)
		return wisp_malloc(n);
	if (((uintptr_t)p & (HEAD - 1)) ||
	    (!is_large(head_of(p)) && !is_small_in_use(head_of(p))))
		corrupt();
	have = head_of(p)->size - HEAD;
	if (n <= have)
		return p;
	q = wisp_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	wisp_free(p);
	return q;
}

#ifndef WISP_UNIT_TEST
/* The C library's names, in the static binary only: the unit tests run
 * on the host's allocator (with ASan) and test the wisp_ functions. */
void *malloc(size_t n)
{
	return wisp_malloc(n);
}

void free(void *p)
{
	wisp_free(p);
}

void *calloc(size_t count, size_t size)
{
	return wisp_calloc(count, size);
}

void *realloc(void *p, size_t n)
{
	return wisp_realloc(p, n);
}

/* atexit() too: musl's keeps its first 32 handlers in place but links
 * its own small allocator for the 33rd (through calloc), about 1 KiB
 * that would sit beside this one unused.  wisp registers a handful, so
 * a fixed table does; exit() runs them through the destructor below, in
 * reverse order of registration as C requires, before musl's own exit
 * work (which this table does not need). */
#define AT_EXIT_MAX 32

static struct {
	void (*fn[AT_EXIT_MAX])(void);
	unsigned n;
} at_exit;

int atexit(void (*fn)(void))
{
	int ret = -1;

	pthread_mutex_lock(&heap.lock);
	if (at_exit.n < AT_EXIT_MAX) {
		at_exit.fn[at_exit.n++] = fn;
		ret = 0;
	}
	pthread_mutex_unlock(&heap.lock);
	return ret;
}

__attribute__((destructor)) static void run_at_exit(void)
{
	/* a handler that calls exit() again lands here with the rest */
	while (at_exit.n)
		at_exit.fn[--at_exit.n]();
}
#endif
