/* SPDX-License-Identifier: MIT */
/*
 * CONFIG_SMALL_MALLOC: a small malloc for the static binary
 * (lib/alloc.c), which defines malloc, calloc, realloc and free on top
 * of these.  The unit tests call these names directly; everything else
 * just calls malloc.  There is no aligned_alloc or posix_memalign: wisp
 * uses neither, and musl's would not pair with this free (which would
 * stop wisp at the first such free, not corrupt anything).
 */
#ifndef WISP_LIB_ALLOC_H
#define WISP_LIB_ALLOC_H

#include <stddef.h>

void *wisp_malloc(size_t n);
void *wisp_calloc(size_t count, size_t size);
void *wisp_realloc(void *p, size_t n);
void wisp_free(void *p);

#endif
