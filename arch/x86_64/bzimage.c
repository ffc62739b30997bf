// SPDX-License-Identifier: MIT
/*
 * The Linux x86 boot protocol, 64-bit entry: the protected-mode part of
 * a bzImage goes to 1 MiB, the zero page (boot_params) carries the setup
 * header, e820 map, command line, initrd and RSDP, and the vCPU starts
 * in long mode at load address + 0x200 with %rsi = zero page.
 * (Documentation/arch/x86/boot.rst in the kernel tree.)
 */
#include <string.h>

#include "arch/x86_64/x86.h"
#include "core/cli.h"
#include "core/vm.h"

/* zero page (struct boot_params) offsets */
#define BP_ACPI_RSDP	0x070
#define BP_E820_ENTRIES	0x1e8
#define BP_SETUP_HDR	0x1f1
#define BP_E820_TABLE	0x2d0
#define BP_E820_MAX	128
#define ZERO_PAGE_SIZE	0x1000

/* setup header offsets, from the start of the image / zero page */
#define HDR_SETUP_SECTS	0x1f1
#define HDR_BOOT_FLAG	0x1fe
#define HDR_MAGIC	0x202
#define HDR_VERSION	0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS	0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS	0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE	0x260

#define LOADED_HIGH	0x01
#define CAN_USE_HEAP	0x80
#define XLF_KERNEL_64	0x01
#define LOADER_UNDEFINED 0xff

#define KERNEL_LOAD	X86_HIGH_MEMORY
#define ENTRY_64_OFFSET	0x200
#define MIN_VERSION	0x020c	/* xloadflags, 64-bit entry */

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

bool bzimage_probe(const struct x86_image *img)
{
	return img->size > HDR_MAGIC + 4 && !memcmp(img->data + HDR_MAGIC, "HdrS", 4);
}

static int bad(const struct x86_image *img, const char *why)
{
	wisp_err("--%s: '%s': %s", img->option, img->path, why);
	return EXIT_USAGE;
}

/* Identity map of the first 4 GiB with 2 MiB pages: PML4, one PDPT and
 * four page directories, enough for the kernel's own set-up. */
static int write_page_tables(struct vm *vm)
{
	uint8_t *pt = gpa_ptr(&vm->mem, X86_PAGE_TABLES, 6 * 4096);
	uint64_t *pml4, *pdpt, *pd;

	if (!pt)
		return -1;
	memset(pt, 0, 6 * 4096);
	pml4 = (uint64_t *)pt;
	pdpt = (uint64_t *)(pt + 4096);
	pd = (uint64_t *)(pt + 2 * 4096);
	pml4[0] = (X86_PAGE_TABLES + 4096) | 0x3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (X86_PAGE_TABLES + (2 + i) * 4096ULL) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, RW, 2 MiB */
	return 0;
}

static int fill_zero_page(struct vm *vm, uint8_t *zp,
			  const struct x86_boot_params *bp, uint64_t initrd_addr)
{
	struct e820_entry e820[E820_MAX];
	size_t n = x86_e820_map(vm, e820);

	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	/* the heap ends just below the command line */
	put32(zp, HDR_HEAP_END_PTR, (uint32_t)(0xfe00));
	put32(zp, HDR_CMD_LINE_PTR, (uint32_t)X86_CMDLINE);
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)bp->initrd_size);
	memcpy(zp + BP_ACPI_RSDP, &bp->rsdp, 8);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + BP_E820_TABLE, e820, n * sizeof(e820[0]));
	return 0;
}

/* Where the image goes, worked out from its setup header and the RAM. */
struct bz_plan {
	size_t setup_size;	/* the real-mode part, not loaded */
	size_t kernel_size;	/* the protected-mode part, loaded at 1 MiB */
	size_t hdr_end;		/* end of the setup header copied to the zero page */
	uint64_t initrd_addr;	/* 0 without an initramfs */
};

static int check_header(const struct x86_image *img, struct bz_plan *plan)
{
	const uint8_t *d = img->data;
	unsigned setup_sects;

	if (img->size < 0x264)
		return bad(img, "truncated bzImage header");
	if (get16(d, HDR_BOOT_FLAG) != 0xaa55)
		return bad(img, "bzImage boot flag is not 0xaa55");
	if (get16(d, HDR_VERSION) < MIN_VERSION ||
	    !(d[HDR_XLOADFLAGS] & XLF_KERNEL_64))
		return bad(img, "bzImage has no 64-bit entry point (boot protocol 2.12 or later needed)");
	setup_sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
	plan->setup_size = (setup_sects + 1) * 512;
	if (plan->setup_size >= img->size)
		return bad(img, "truncated bzImage (no protected-mode kernel)");
	plan->kernel_size = img->size - plan->setup_size;
	/* the setup header runs from 0x1f1 to 0x202 + the byte at 0x201 */
	plan->hdr_end = 0x202 + d[0x201];
	if (plan->hdr_end > img->size || plan->hdr_end > ZERO_PAGE_SIZE)
		return bad(img, "bzImage setup header runs past the file");
	return 0;
}

static int make_plan(const struct x86_image *img, const struct x86_ram *ram,
		     const struct x86_boot_params *bp, struct bz_plan *plan)
{
	const uint8_t *d = img->data;
	uint32_t init_size, cmdline_max, initrd_max;
	size_t cmdlen = strlen(bp->cmdline);
	int ret = check_header(img, plan);

	if (ret)
		return ret;
	init_size = get32(d, HDR_INIT_SIZE);
	if (init_size < plan->kernel_size)
		init_size = (uint32_t)plan->kernel_size;
	if (!x86_ram_holds(ram, KERNEL_LOAD, init_size)) {
		wisp_err("--kernel: '%s' needs %u bytes of RAM from 1 MiB; give more --memory",
			 img->path, init_size);
		return EXIT_USAGE;
	}
	cmdline_max = get32(d, HDR_CMDLINE_SIZE);
	if (cmdlen > cmdline_max || cmdlen >= X86_CMDLINE_MAX) {
		wisp_err("--cmdline: %zu bytes is longer than this kernel accepts (%u)",
			 cmdlen, cmdline_max);
		return EXIT_USAGE;
	}
	initrd_max = get32(d, HDR_INITRD_ADDR_MAX);
	return x86_place_initrd(ram, bp->initrd_size, KERNEL_LOAD + init_size,
				initrd_max ? initrd_max : 0x37ffffff, &plan->initrd_addr);
}

int bzimage_check(const struct x86_image *img, const struct x86_ram *ram,
		  const struct x86_boot_params *bp)
{
	struct bz_plan plan;

	return make_plan(img, ram, bp, &plan);
}

int bzimage_load(struct vm *vm, const struct x86_image *img,
		 const struct x86_boot_params *bp, struct x86_boot *boot)
{
	struct x86_ram ram = x86_ram_of(vm->cfg->memory.size);
	struct bz_plan plan;
	uint8_t *zp;
	int ret = make_plan(img, &ram, bp, &plan);

	if (ret)
		return ret;
	zp = gpa_ptr(&vm->mem, X86_ZERO_PAGE, ZERO_PAGE_SIZE);
	if (!zp || write_page_tables(vm) ||
	    gpa_write(&vm->mem, KERNEL_LOAD, img->data + plan.setup_size, plan.kernel_size) ||
	    gpa_write(&vm->mem, X86_CMDLINE, bp->cmdline, strlen(bp->cmdline) + 1) ||
	    (plan.initrd_addr &&
	     gpa_write(&vm->mem, plan.initrd_addr, bp->initrd, bp->initrd_size)))
		return EXIT_VM_ERROR;
	memset(zp, 0, ZERO_PAGE_SIZE);
	memcpy(zp + BP_SETUP_HDR, img->data + BP_SETUP_HDR, plan.hdr_end - BP_SETUP_HDR);
	fill_zero_page(vm, zp, bp, plan.initrd_addr);

	*boot = (struct x86_boot){
		.entry = KERNEL_LOAD + ENTRY_64_OFFSET,
		.long_mode = true,
		.zero_page = X86_ZERO_PAGE,
		.cr3 = X86_PAGE_TABLES,
	};
	return 0;
}
