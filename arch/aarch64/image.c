// SPDX-License-Identifier: MIT
/*
 * The arm64 Image loader: image_header.c reads the header (where the
 * kernel goes above a 2 MiB-aligned base, and how much memory it needs
 * from there); wisp puts the base at the start of RAM.  Files of other
 * kinds are refused with a line that says what they are, x86 kernels by
 * name.
 */
#include <stdio.h>
#include <string.h>

#include "arch/aarch64/aarch64.h"
#include "arch_layout.h"
#include "core/cli.h"
#include "core/vm.h"

int arm_image_check(const char *path, const uint8_t *data, size_t size, uint64_t ram_size,
		    struct arm_image_fit *fit)
{
	/* the device tree's 2 MiB go at the top of RAM, above the kernel */
	switch (arm_image_parse(data, size, ram_size, ARM_FDT_MAX, fit)) {
	case ARM_IMAGE_OK:
		return 0;
	case ARM_IMAGE_NOT_IMAGE:
		wisp_err("--kernel: '%s' is %s", path, fit->what);
		break;
	case ARM_IMAGE_BIG_ENDIAN:
		wisp_err("--kernel: '%s' is a big-endian arm64 Image; wisp runs little-endian guests",
			 path);
		break;
	case ARM_IMAGE_TOO_BIG:
		wisp_err("--kernel: '%s' needs %llu MiB from the start of RAM; --memory size is too small",
			 path, (unsigned long long)(fit->needed >> 20) + 1);
		break;
	}
	return EXIT_USAGE;
}

int arm_image_load(struct vm *vm, const char *path, const uint8_t *data,
		   size_t size, struct arm_boot *boot)
{
	uint64_t ram_size = memory_ram_end(&vm->mem) - ARM_RAM_BASE;
	struct arm_image_fit fit;
	int ret = arm_image_check(path, data, size, ram_size, &fit);

	if (ret)
		return ret;
	boot->entry = ARM_RAM_BASE + fit.text_offset;
	boot->kernel_end = boot->entry + fit.image_size;
	if (gpa_write(&vm->mem, boot->entry, data, size)) {
		wisp_err("--kernel: cannot place '%s' in guest memory", path);
		return EXIT_VM_ERROR;
	}
	return 0;
}
