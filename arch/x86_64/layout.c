// SPDX-License-Identifier: MIT
/*
 * The guest's physical memory map (arch_layout.h) and the questions the
 * loaders ask of it: the e820 table, whether RAM holds a range, where
 * the initramfs goes.  Below machine.c and the loaders (pvh.c,
 * bzimage.c), which both use it, so that no loader calls up into the
 * machine that picks it.
 */
#include "arch/x86_64/x86.h"
#include "core/arch.h"
#include "core/cli.h"
#include "core/kconfig.h"
#include "core/pci.h"
#include "core/vm.h"

size_t arch_memory_layout(uint64_t size, uint64_t (*layout)[2], size_t max)
{
	uint64_t low = size < X86_LOW_RAM_MAX ? size : X86_LOW_RAM_MAX;
	size_t n = 0;

	(void)max;	/* two ranges at most */
	layout[n][0] = 0;
	layout[n++][1] = low;
	if (size > low) {
		layout[n][0] = X86_HIGH_RAM;
		layout[n++][1] = size - low;
	}
	return n;
}

size_t x86_e820_map(const struct vm *vm, struct e820_entry *map)
{
	const struct guest_memory *mem = &vm->mem;
	uint64_t low_end = mem->region[0].size;
	size_t n = 0;

	map[n++] = (struct e820_entry){ 0, X86_LEGACY_HOLE, E820_RAM };
	map[n++] = (struct e820_entry){ X86_LEGACY_HOLE,
					X86_HIGH_MEMORY - X86_LEGACY_HOLE,
					E820_RESERVED };
	if (low_end > X86_HIGH_MEMORY)
		map[n++] = (struct e820_entry){ X86_HIGH_MEMORY,
						low_end - X86_HIGH_MEMORY, E820_RAM };
	if (IS_ENABLED(CONFIG_PCI))
		map[n++] = (struct e820_entry){ X86_PCI_ECAM,
						X86_PCI_ECAM_SIZE * pci_segments_of(vm->cfg),
						E820_RESERVED };
	if (mem->nram > 1)
		map[n++] = (struct e820_entry){ mem->region[1].gpa,
						mem->region[1].size, E820_RAM };
	return n;
}

struct x86_ram x86_ram_of(uint64_t size)
{
	uint64_t layout[MEM_MAX_REGIONS][2];
	size_t n = arch_memory_layout(size, layout, MEM_MAX_REGIONS);

	return (struct x86_ram){ layout[0][1], n > 1 ? layout[1][1] : 0 };
}

bool x86_ram_holds(const struct x86_ram *ram, uint64_t gpa, uint64_t len)
{
	/* written so that no sum can overflow */
	if (gpa < ram->low_end)
		return len <= ram->low_end - gpa;
	return gpa >= X86_HIGH_RAM && gpa - X86_HIGH_RAM < ram->high_size &&
	       len <= ram->high_size - (gpa - X86_HIGH_RAM);
}

/* What wisp writes below 1 MiB before a PVH guest starts, and so what a
 * guest's segment must leave alone.  The reset-vector stub is not here:
 * it is written before the kernel, so a segment over it simply wins. */
static const struct {
	uint64_t gpa, len;
	const char *what;
} boot_areas[] = {
	{ X86_GDT, 32, "the boot GDT" },
	{ X86_START_INFO, 0x1000, "the PVH start info" },
	{ X86_PVH_MEMMAP, 0x1000, "the PVH memory map" },
	{ X86_PVH_MODLIST, 0x1000, "the PVH module list" },
	{ X86_CMDLINE, X86_CMDLINE_MAX, "the kernel command line" },
	{ X86_ACPI_TABLES, X86_ACPI_TABLES_SIZE, "the ACPI tables" },
};

const char *x86_boot_area_at(uint64_t gpa, uint64_t len)
{
	for (size_t i = 0; i < sizeof(boot_areas) / sizeof(boot_areas[0]); i++) {
		if (!IS_ENABLED(CONFIG_ACPI) && boot_areas[i].gpa == X86_ACPI_TABLES)
			continue;
		/* [gpa, gpa+len) against the area, with no sum of the
		 * ELF's values that could overflow */
		if (gpa < boot_areas[i].gpa + boot_areas[i].len &&
		    (gpa >= boot_areas[i].gpa || boot_areas[i].gpa - gpa < len))
			return boot_areas[i].what;
	}
	return NULL;
}

int x86_place_initrd(const struct x86_ram *ram, size_t size, uint64_t kernel_end,
		     uint64_t limit, uint64_t *addr)
{
	uint64_t top = ram->low_end;
	uint64_t floor = (kernel_end + 0xfff) & ~0xfffULL;

	*addr = 0;
	if (!size)
		return 0;
	if (limit && top > limit + 1)
		top = limit + 1;
	if (size <= top && ((top - size) & ~0xfffULL) >= floor) {
		*addr = (top - size) & ~0xfffULL;
		return 0;
	}
	wisp_err("--initramfs: %zu bytes do not fit in guest RAM after the kernel; give more --memory",
		 size);
	return EXIT_USAGE;
}
