/* SPDX-License-Identifier: MIT */
/* Shared by the libFuzzer targets: taking typed values off the input. */
#ifndef WISP_TESTS_FUZZ_H
#define WISP_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

/* The next n bytes as a little-endian number; zeros once input runs out. */
static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n && in->left; i++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
