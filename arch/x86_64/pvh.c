// SPDX-License-Identifier: MIT
/*
 * The PVH boot path: an ELF (32- or 64-bit) carrying the Xen note
 * XEN_ELFNOTE_PHYS32_ENTRY is loaded by its program headers and entered
 * in 32-bit flat protected mode with %ebx pointing at hvm_start_info.
 * This is how Linux's vmlinux and the CloudHv firmware start.
 *
 * The file is the user's input: every offset and size in it is checked
 * before use, and any inconsistency is a clear error, not a crash.
 */
#include <elf.h>
#include <string.h>

#include "arch/x86_64/x86.h"
#include "core/kconfig.h"
#include "core/cli.h"
#include "core/vm.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

/* Xen's public arch-x86/hvm/start_info.h layout, version 1. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* One program header, whichever the ELF class. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf {
	const struct x86_image *img;
	bool is64;
	uint64_t phoff;
	unsigned phnum, phentsize;
};

bool pvh_probe(const struct x86_image *img)
{
	return img->size >= EI_NIDENT && !memcmp(img->data, ELFMAG, SELFMAG);
}

static int bad(const struct x86_image *img, const char *why)
{
	wisp_err("--%s: '%s': %s", img->option, img->path, why);
	return EXIT_USAGE;
}

static bool in_file(const struct x86_image *img, uint64_t off, uint64_t len)
{
	return off <= img->size && len <= img->size - off;
}

static int elf_open(const struct x86_image *img, struct elf *e)
{
	const uint8_t *d = img->data;

	e->img = img;
	if (d[EI_CLASS] != ELFCLASS32 && d[EI_CLASS] != ELFCLASS64)
		return bad(img, "ELF of unknown class");
	if (d[EI_DATA] != ELFDATA2LSB)
		return bad(img, "ELF is not little-endian");
	e->is64 = d[EI_CLASS] == ELFCLASS64;
	if (e->is64) {
		Elf64_Ehdr h;

		if (!in_file(img, 0, sizeof(h)))
			return bad(img, "truncated ELF header");
		memcpy(&h, d, sizeof(h));
		if (h.e_machine != EM_X86_64 && h.e_machine != EM_386)
			return bad(img, "ELF is not for x86");
		e->phoff = h.e_phoff;
		e->phnum = h.e_phnum;
		e->phentsize = h.e_phentsize;
		if (e->phentsize < sizeof(Elf64_Phdr))
			return bad(img, "bad ELF program header size");
	} else {
		Elf32_Ehdr h;

		if (!in_file(img, 0, sizeof(h)))
			return bad(img, "truncated ELF header");
		memcpy(&h, d, sizeof(h));
		if (h.e_machine != EM_386 && h.e_machine != EM_X86_64)
			return bad(img, "ELF is not for x86");
		e->phoff = h.e_phoff;
		e->phnum = h.e_phnum;
		e->phentsize = h.e_phentsize;
		if (e->phentsize < sizeof(Elf32_Phdr))
			return bad(img, "bad ELF program header size");
	}
	if (!e->phnum || !in_file(img, e->phoff, (uint64_t)e->phnum * e->phentsize))
		return bad(img, "ELF program headers missing or truncated");
	return 0;
}

static struct phdr elf_phdr(const struct elf *e, unsigned i)
{
	const uint8_t *p = e->img->data + e->phoff + (uint64_t)i * e->phentsize;
	struct phdr ph;

	if (e->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		ph = (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		ph = (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	}
	return ph;
}

/* Walks the notes of one PT_NOTE segment for the PVH entry. */
static bool find_entry_in(const struct x86_image *img, const struct phdr *ph,
			  uint64_t *entry)
{
	uint64_t off = ph->offset, end = ph->offset + ph->filesz;

	while (end - off >= 12) {
		uint32_t nhdr[3];
		uint64_t name_at, desc_at, next;

		memcpy(nhdr, img->data + off, sizeof(nhdr));
		name_at = off + 12;
		desc_at = name_at + (((uint64_t)nhdr[0] + 3) & ~3ULL);
		next = desc_at + (((uint64_t)nhdr[1] + 3) & ~3ULL);
		if (next > end || next <= off)
			return false;
		if (nhdr[2] == XEN_ELFNOTE_PHYS32_ENTRY && nhdr[0] == 4 &&
		    !memcmp(img->data + name_at, "Xen", 4) &&
		    (nhdr[1] == 4 || nhdr[1] == 8)) {
			uint64_t v = 0;

			memcpy(&v, img->data + desc_at, nhdr[1]);
			*entry = nhdr[1] == 4 ? (uint32_t)v : v;
			return true;
		}
		off = next;
	}
	return false;
}

/* Where the image goes, worked out from its headers and the RAM alone. */
struct pvh_plan {
	uint64_t entry;
	uint64_t kernel_end;	/* first byte after the last segment */
	uint64_t initrd_addr;	/* 0 without an initramfs */
};

/* Every loadable segment inside the file and in RAM above 1 MiB, and
 * the PVH entry note: what load_segments() then copies blindly. */
static int check_segments(const struct elf *e, const struct x86_ram *ram,
			  struct pvh_plan *plan)
{
	const struct x86_image *img = e->img;
	bool have_entry = false;

	plan->kernel_end = 0;
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr ph = elf_phdr(e, i);

		if (ph.type == PT_NOTE && !have_entry) {
			if (!in_file(img, ph.offset, ph.filesz))
				return bad(img, "ELF note segment outside the file");
			have_entry = find_entry_in(img, &ph, &plan->entry);
		}
		if (ph.type != PT_LOAD || !ph.memsz)
			continue;
		if (ph.filesz > ph.memsz || !in_file(img, ph.offset, ph.filesz))
			return bad(img, "ELF segment outside the file (truncated?)");
		if (IS_ENABLED(CONFIG_PVH_LOW_SEGMENTS) && ph.paddr < X86_HIGH_MEMORY &&
		    x86_ram_holds(ram, ph.paddr, ph.memsz) &&
		    x86_boot_area_at(ph.paddr, ph.memsz)) {
			wisp_err("--%s: '%s': segment at %#llx+%#llx overlaps %s that wisp writes there",
				 img->option, img->path, (unsigned long long)ph.paddr,
				 (unsigned long long)ph.memsz, x86_boot_area_at(ph.paddr, ph.memsz));
			return EXIT_USAGE;
		}
		if (!x86_ram_holds(ram, ph.paddr, ph.memsz) ||
		    (!IS_ENABLED(CONFIG_PVH_LOW_SEGMENTS) && ph.paddr < X86_HIGH_MEMORY)) {
			wisp_err("--%s: '%s': segment at %#llx+%#llx does not fit in guest RAM%s (give more --memory?)",
				 img->option, img->path, (unsigned long long)ph.paddr,
				 (unsigned long long)ph.memsz,
				 IS_ENABLED(CONFIG_PVH_LOW_SEGMENTS) ? "" : " above 1 MiB");
			return EXIT_USAGE;
		}
		if (ph.paddr + ph.memsz > plan->kernel_end)
			plan->kernel_end = ph.paddr + ph.memsz;
	}
	if (!have_entry)
		return bad(img, img->firmware ?
			   "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): not a PVH firmware such as CLOUDHV.fd" :
			   "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build the kernel with CONFIG_PVH=y");
	if (!plan->kernel_end)
		return bad(img, "ELF has nothing to load");
	return 0;
}

static int make_plan(const struct x86_image *img, const struct x86_ram *ram,
		     const struct x86_boot_params *bp, struct elf *e, struct pvh_plan *plan)
{
	size_t cmdlen = strlen(bp->cmdline) + 1;
	int ret;

	*plan = (struct pvh_plan){ 0 };
	ret = elf_open(img, e);
	if (!ret)
		ret = check_segments(e, ram, plan);
	if (ret)
		return ret;
	if (!x86_ram_holds(ram, plan->entry, 1))
		return bad(img, "PVH entry point is outside guest RAM");
	if (cmdlen > X86_CMDLINE_MAX) {
		wisp_err("--cmdline: %zu bytes is longer than the %llu the guest can get",
			 cmdlen - 1, X86_CMDLINE_MAX - 1);
		return EXIT_USAGE;
	}
	return x86_place_initrd(ram, bp->initrd_size, plan->kernel_end, 0, &plan->initrd_addr);
}

int pvh_check(const struct x86_image *img, const struct x86_ram *ram,
	      const struct x86_boot_params *bp)
{
	struct pvh_plan plan;
	struct elf e = { 0 };

	return make_plan(img, ram, bp, &e, &plan);
}

/* Copies the segments make_plan() checked. */
static int load_segments(struct vm *vm, const struct elf *e)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr ph = elf_phdr(e, i);
		uint8_t *dst;

		if (ph.type != PT_LOAD || !ph.memsz)
			continue;
		dst = gpa_ptr(&vm->mem, ph.paddr, ph.memsz);
		if (!dst)
			return EXIT_VM_ERROR;
		memcpy(dst, e->img->data + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
	}
	return 0;
}

static int write_start_info(struct vm *vm, const struct x86_boot_params *bp,
			    uint64_t initrd_addr)
{
	struct e820_entry e820[E820_MAX];
	struct hvm_memmap_entry map[E820_MAX];
	size_t n = x86_e820_map(vm, e820);
	size_t cmdlen = strlen(bp->cmdline) + 1;
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = X86_CMDLINE,
		.rsdp_paddr = bp->rsdp,
		.memmap_paddr = X86_PVH_MEMMAP,
		.memmap_entries = (uint32_t)n,
	};

	for (size_t i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size,
						    e820[i].type, 0 };
	if (initrd_addr) {
		struct hvm_modlist_entry mod = { initrd_addr, bp->initrd_size, 0, 0 };

		si.nr_modules = 1;
		si.modlist_paddr = X86_PVH_MODLIST;
		if (gpa_write(&vm->mem, X86_PVH_MODLIST, &mod, sizeof(mod)))
			return EXIT_VM_ERROR;
	}
	if (gpa_write(&vm->mem, X86_CMDLINE, bp->cmdline, cmdlen) ||
	    gpa_write(&vm->mem, X86_PVH_MEMMAP, map, n * sizeof(map[0])) ||
	    gpa_write(&vm->mem, X86_START_INFO, &si, sizeof(si)))
		return EXIT_VM_ERROR;
	return 0;
}

int pvh_load(struct vm *vm, const struct x86_image *img,
	     const struct x86_boot_params *bp, struct x86_boot *boot)
{
	struct x86_ram ram = x86_ram_of(vm->cfg->memory.size);
	struct pvh_plan plan;
	struct elf e = { 0 };
	int ret;

	ret = make_plan(img, &ram, bp, &e, &plan);
	if (!ret)
		ret = load_segments(vm, &e);
	if (!ret && plan.initrd_addr &&
	    gpa_write(&vm->mem, plan.initrd_addr, bp->initrd, bp->initrd_size))
		ret = EXIT_VM_ERROR;
	if (!ret)
		ret = write_start_info(vm, bp, plan.initrd_addr);
	if (ret)
		return ret;
	*boot = (struct x86_boot){ .entry = plan.entry, .start_info = X86_START_INFO };
	return 0;
}
