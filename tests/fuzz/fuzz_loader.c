// SPDX-License-Identifier: MIT
/*
 * The x86_64 kernel loaders (arch/x86_64/pvh.c, bzimage.c) fed hostile
 * files: the input is the kernel image; the first byte picks an initrd
 * size and a command line length.  Each loader either loads the image
 * into a 32 MiB guest or refuses it with one line -- never reading past
 * the file or writing outside guest RAM.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "arch/x86_64/x86.h"
#include "core/arch.h"
#include "core/config.h"
#include "core/vm.h"

#define GUEST_RAM (32ull << 20)

static struct vm vm;
static struct vm_config cfg;
static uint8_t initrd[1 << 20];
static char cmdline[4096];

static void setup_once(void)
{
	uint64_t layout[MEM_MAX_REGIONS][2];
	size_t n;

	cfg.memory.size = GUEST_RAM;
	cfg.cpus = 1;
	vm.cfg = &cfg;
	n = arch_memory_layout(GUEST_RAM, layout, MEM_MAX_REGIONS);
	if (memory_init(&vm.mem, &cfg.memory, (const uint64_t(*)[2])layout, n))
		abort();
	memset(cmdline, 'a', sizeof(cmdline) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_in in = { data, size };
	uint64_t sel = fuzz_take(&in, 1);
	struct x86_image img = { .path = "fuzz", .data = in.p, .size = in.left };
	struct x86_boot_params bp = { .initrd = initrd, .rsdp = 0xe0000 };
	struct x86_boot boot;
	char saved;
	size_t cmdlen = (sel >> 2) * 64;

	if (!ready++)
		setup_once();
	bp.initrd_size = (sel & 3) ? (size_t)1 << (8 + 4 * (sel & 3)) : 0;
	if (cmdlen >= sizeof(cmdline))
		cmdlen = sizeof(cmdline) - 1;
	saved = cmdline[cmdlen];
	cmdline[cmdlen] = 0;
	bp.cmdline = cmdline;
	/* exactly the file's bytes: ASan sees a read past them */
	img.data = in.left ? malloc(in.left) : NULL;
	if (in.left && !img.data)
		return 0;
	if (in.left)
		memcpy((void *)img.data, in.p, in.left);
	if (pvh_probe(&img))
		pvh_load(&vm, &img, &bp, &boot);
#ifdef CONFIG_BOOT_BZIMAGE
	else if (bzimage_probe(&img))
		bzimage_load(&vm, &img, &bp, &boot);
#endif
	cmdline[cmdlen] = saved;
	free((void *)img.data);
	return 0;
}
