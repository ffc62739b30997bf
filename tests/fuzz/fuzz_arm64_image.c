// SPDX-License-Identifier: MIT
/*
 * The arm64 Image header (arch/aarch64/image_header.c) fed hostile
 * files on any host: the first byte picks the RAM size (2 to 64 MiB)
 * and the room kept free above the kernel (none, 4 KiB or 2 MiB, the
 * device tree's); the rest is the kernel file.  An accepted Image must
 * fit: the fuzzer copies the file where image.c would, into RAM that
 * ends where its allocation does (ASan sees any byte beyond), touches
 * the last byte of the bss and of the room, and checks the arithmetic.
 * A refused one must say why.
 */
#include <stdlib.h>

#include "fuzz.h"
/* not part of the x86_64 build: compiled in here */
#include "arch/aarch64/image_header.c"

#define MAX_RAM (64u << 20)

static uint8_t *ram_buf;
static const uint64_t reserves[4] = { 0, 4096, 2u << 20, 2u << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint64_t sel = fuzz_take(&in, 1);
	uint64_t ram_size = ((sel >> 2) % 32 + 1) * (2u << 20);	/* up to MAX_RAM */
	uint64_t reserve = reserves[sel & 3];
	struct arm_image_fit fit;
	uint8_t *file, *ram;

	if (!ram_buf && !(ram_buf = malloc(MAX_RAM)))
		abort();
	/* exactly the file's bytes: ASan sees a read past them */
	file = in.left ? malloc(in.left) : NULL;
	if (in.left && !file)
		return 0;
	if (in.left)
		memcpy(file, in.p, in.left);
	switch (arm_image_parse(file, in.left, ram_size, reserve, &fit)) {
	case ARM_IMAGE_OK:
		if (fit.image_size < in.left || fit.text_offset >= ram_size ||
		    fit.image_size > ram_size - fit.text_offset ||
		    ram_size - fit.text_offset - fit.image_size < reserve ||
		    fit.needed > ram_size)
			abort();
		/* RAM ends where the allocation does: ASan sees a byte past it */
		ram = ram_buf + (MAX_RAM - ram_size);
		memcpy(ram + fit.text_offset, file, in.left);
		/* the last byte of the bss image_size covers, of the room above */
		ram[fit.text_offset + fit.image_size - 1] = 0;
		if (reserve)
			ram[fit.text_offset + fit.image_size + reserve - 1] = 0;
		break;
	case ARM_IMAGE_NOT_IMAGE:
		if (!fit.what || !*fit.what)
			abort();
		break;
	case ARM_IMAGE_BIG_ENDIAN:
		break;
	case ARM_IMAGE_TOO_BIG:
		/* the message's "needs N MiB" must be more than there is */
		if (fit.needed <= ram_size)
			abort();
		break;
	default:
		abort();
	}
	free(file);
	return 0;
}
