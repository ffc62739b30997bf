// SPDX-License-Identifier: MIT
/*
 * The arm64 Image loader (Linux's Documentation/arm64/booting.rst): a
 * 64-byte header with the magic "ARM\x64" at offset 56 says how far
 * above a 2 MiB-aligned base the image goes (text_offset) and how much
 * memory it needs from there (image_size, which covers its bss).  wisp
 * puts the base at the start of RAM.  Files of other kinds are refused
 * with a line that says what they are, x86 kernels by name.
 */
#include <stdio.h>
#include <string.h>

#include "arch/aarch64/aarch64.h"
#include "arch_layout.h"
#include "core/cli.h"
#include "core/vm.h"

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

int arm_image_load(struct vm *vm, const char *path, const uint8_t *data,
		   size_t size, struct arm_boot *boot)
{
	struct image_header h;
	uint64_t text_offset, image_size, ram_size;

	if (size < sizeof(h) || (memcpy(&h, data, sizeof(h)), h.magic != IMAGE_MAGIC)) {
		wisp_err("--kernel: '%s' is %s", path, what_else(data, size));
		return EXIT_USAGE;
	}
	if (h.flags & IMAGE_FLAG_BE) {
		wisp_err("--kernel: '%s' is a big-endian arm64 Image; wisp runs little-endian guests",
			 path);
		return EXIT_USAGE;
	}
	text_offset = h.text_offset;
	image_size = h.image_size;
	if (!image_size) {
		text_offset = IMAGE_LEGACY_TEXT_OFFSET;
		image_size = size;
	}
	if (image_size < size)
		image_size = size;
	ram_size = memory_ram_end(&vm->mem) - ARM_RAM_BASE;
	/* the kernel, and the device tree's 2 MiB at the top, must fit */
	if (text_offset >= ram_size || image_size > ram_size - text_offset ||
	    ram_size - text_offset - image_size < ARM_FDT_MAX) {
		wisp_err("--kernel: '%s' needs %llu MiB from the start of RAM; --memory size is too small",
			 path, (unsigned long long)((text_offset + image_size + ARM_FDT_MAX) >> 20) + 1);
		return EXIT_USAGE;
	}
	boot->entry = ARM_RAM_BASE + text_offset;
	boot->kernel_end = boot->entry + image_size;
	if (gpa_write(&vm->mem, boot->entry, data, size)) {
		wisp_err("--kernel: cannot place '%s' in guest memory", path);
		return EXIT_VM_ERROR;
	}
	return 0;
}
