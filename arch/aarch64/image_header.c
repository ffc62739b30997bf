// SPDX-License-Identifier: MIT
/*
 * The arm64 Image header (Linux's Documentation/arm64/booting.rst): a
 * 64-byte header with the magic "ARM\x64" at offset 56 says how far
 * above a 2 MiB-aligned base the image goes (text_offset) and how much
 * memory it needs from there (image_size, which covers its bss).
 *
 * Pure: no VM, no memory map, nothing from KVM, so that the libFuzzer
 * target (tests/fuzz/fuzz_arm64_image.c) builds it on an x86_64 host.
 * image.c turns the verdict into messages and copies the kernel.
 */
#include <string.h>

#include "arch/aarch64/aarch64.h"

struct image_header {
	uint32_t code0, code1;
	uint64_t text_offset;	/* little-endian, as all fields */
	uint64_t image_size;	/* 0 before Linux 3.17 */
	uint64_t flags;
	uint64_t res2, res3, res4;
	uint32_t magic;
	uint32_t res5;
};

#define IMAGE_MAGIC 0x644d5241u		/* "ARM\x64" */
#define IMAGE_FLAG_BE 0x1ULL
/* before image_size existed the offset was fixed */
#define IMAGE_LEGACY_TEXT_OFFSET 0x80000ULL

#define EM_386 3
#define EM_X86_64 62
#define EM_AARCH64 183

/* What the file is, when it is not an Image: for the error message. */
static const char *what_else(const uint8_t *d, size_t size)
{
	if (size >= 0x206 && !memcmp(d + 0x202, "HdrS", 4))
		return "an x86 bzImage, not an arm64 Image";
	if (size >= 20 && !memcmp(d, "\177ELF", 4)) {
		unsigned machine = d[18] | d[19] << 8;

		if (machine == EM_X86_64 || machine == EM_386)
			return "an x86 ELF kernel (PVH), not an arm64 Image";
		if (machine == EM_AARCH64)
			return "an AArch64 ELF (vmlinux), not an arm64 Image: boot arch/arm64/boot/Image";
		return "an ELF file, not an arm64 Image";
	}
	if (size >= 2 && d[0] == 0x1f && d[1] == 0x8b)
		return "gzip-compressed: decompress it to the arm64 Image first";
	if (size < sizeof(struct image_header))
		return "too short to be an arm64 Image";
	return "not an arm64 Image (no \"ARM\\x64\" magic at offset 56)";
}

/* a + b, or UINT64_MAX where that overflows: a size for a message */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

enum arm_image_verdict arm_image_parse(const uint8_t *data, size_t size, uint64_t ram_size,
				       uint64_t reserve, struct arm_image_fit *fit)
{
	struct image_header h;
	uint64_t text_offset, image_size;

	memset(fit, 0, sizeof(*fit));
	if (size < sizeof(h) || (memcpy(&h, data, sizeof(h)), h.magic != IMAGE_MAGIC)) {
		fit->what = what_else(data, size);
		return ARM_IMAGE_NOT_IMAGE;
	}
	if (h.flags & IMAGE_FLAG_BE)
		return ARM_IMAGE_BIG_ENDIAN;
	text_offset = h.text_offset;
	image_size = h.image_size;
	if (!image_size) {
		text_offset = IMAGE_LEGACY_TEXT_OFFSET;
		image_size = size;
	}
	if (image_size < size)
		image_size = size;
	fit->text_offset = text_offset;
	fit->image_size = image_size;
	fit->needed = add_sat(add_sat(text_offset, image_size), reserve);
	/* the kernel, and `reserve` bytes above it, must fit */
	if (text_offset >= ram_size || image_size > ram_size - text_offset ||
	    ram_size - text_offset - image_size < reserve)
		return ARM_IMAGE_TOO_BIG;
	return ARM_IMAGE_OK;
}
