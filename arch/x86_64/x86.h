/* SPDX-License-Identifier: MIT */
/* Private to arch/x86_64: the boot loaders and the vCPU set-up. */
#ifndef WISP_ARCH_X86_64_X86_H
#define WISP_ARCH_X86_64_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch_layout.h"
#include "core/kconfig.h"

struct vm;

#define X86_GDT		0x500ULL

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_EFER_LME	(1ULL << 8)
#define X86_EFER_LMA	(1ULL << 10)

/* e820 / PVH memory map types */
#define E820_RAM	1
#define E820_RESERVED	2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

#define E820_MAX 8

/* How the boot vCPU starts. */
struct x86_boot {
	uint64_t entry;
	bool long_mode;		/* bzImage 64-bit entry, else PVH 32-bit */
	uint64_t start_info;	/* PVH: %ebx */
	uint64_t zero_page;	/* bzImage: %rsi */
	uint64_t cr3;
};

/* A kernel or firmware file read into memory. */
struct x86_image {
	const char *option;	/* "kernel" or "firmware", for messages */
	bool firmware;		/* given with --firmware: a PVH ELF only */
	const char *path;
	const uint8_t *data;
	size_t size;
};

/* What a loader needs besides the kernel. */
struct x86_boot_params {
	const uint8_t *initrd;
	size_t initrd_size;
	const char *cmdline;
	uint64_t rsdp;		/* 0 without ACPI */
};

/* layout.c: the VM's e820 map into map (E820_MAX entries); how many. */
size_t x86_e820_map(const struct vm *vm, struct e820_entry *map);

/* Guest RAM as arch_memory_layout() lays out --memory size, known
 * before any VM exists: what the loaders check an image against. */
struct x86_ram {
	uint64_t low_end;	/* RAM from 0 to here (at most 3 GiB) */
	uint64_t high_size;	/* and this much from 4 GiB */
};

struct x86_ram x86_ram_of(uint64_t size);
/* Whether [gpa, gpa + len) is all guest RAM. */
bool x86_ram_holds(const struct x86_ram *ram, uint64_t gpa, uint64_t len);
/* The name of the boot structure wisp writes below 1 MiB that
 * [gpa, gpa+len) overlaps, or NULL. */
const char *x86_boot_area_at(uint64_t gpa, uint64_t len);

/* Loaders.  *_probe says whether the image is of that format.  *_check
 * checks it against the RAM it will get, and the initramfs and command
 * line in bp (whose initrd may be NULL: only its size counts), without
 * a VM; *_load checks it again and loads it.  0, or 2 (EXIT_USAGE) after
 * reporting bad input, 1 on other failures. */
bool pvh_probe(const struct x86_image *img);
int pvh_check(const struct x86_image *img, const struct x86_ram *ram,
	      const struct x86_boot_params *bp);
int pvh_load(struct vm *vm, const struct x86_image *img,
	     const struct x86_boot_params *bp, struct x86_boot *boot);
bool bzimage_probe(const struct x86_image *img);
int bzimage_check(const struct x86_image *img, const struct x86_ram *ram,
		  const struct x86_boot_params *bp);
int bzimage_load(struct vm *vm, const struct x86_image *img,
		 const struct x86_boot_params *bp, struct x86_boot *boot);

/* Where an initrd of `size` bytes goes: the highest page-aligned spot
 * in low RAM below `limit` (0: none) and above the kernel, in *addr (0
 * for size 0).  0, or 2 (EXIT_USAGE) after saying it does not fit. */
int x86_place_initrd(const struct x86_ram *ram, size_t size, uint64_t kernel_end,
		     uint64_t limit, uint64_t *addr);

int x86_set_boot_regs(struct vm *vm, const struct x86_boot *boot);

/* cpu.c: vCPU `index`'s APIC id under the --cpus topology (the MADT
 * lists them; KVM's vCPU id is the same), and the CPUID entries that
 * describe the topology to it (exported for the unit tests). */
struct vm_config;
struct kvm_cpuid_entry2;
unsigned x86_topology_apic_id(const struct vm_config *cfg, unsigned index);
static inline unsigned x86_apic_id(const struct vm_config *cfg, unsigned index)
{
	return IS_ENABLED(CONFIG_CPU_TOPOLOGY) ? x86_topology_apic_id(cfg, index) : index;
}

/* The bits it takes to number n things. */
static inline unsigned x86_order_of(unsigned n)
{
	unsigned shift = 0;

	while ((1u << shift) < n)
		shift++;
	return shift;
}
/* --cpus features=amx: the AMX tile state permitted to this process's
 * guests (before KVM_GET_SUPPORTED_CPUID); -1 after one line if not. */
int x86_amx_permit(void);
/* hyperv.c, --cpus kvm_hyperv=on: what the host's KVM must have
 * (EXIT_USAGE after one line naming what it lacks), the Hyper-V CPUID
 * leaves at 0x40000000 and KVM's moved to 0x40000100 (the new count, 0
 * if more than max), the
 * SynIC of one vCPU, and the SynIC and timer MSRs added to a snapshot's
 * list of n (the new count, at most max). */
struct vm;
struct vcpu;
int x86_hyperv_check(struct vm *vm);
size_t x86_hyperv_cpuid(struct kvm_cpuid_entry2 *e, size_t n, size_t max);
int x86_hyperv_vcpu(struct vcpu *v);
uint32_t x86_hyperv_msrs(uint32_t *index, uint32_t n, uint32_t max);
size_t x86_cpuid_topology(struct kvm_cpuid_entry2 *e, size_t n, size_t max,
			  const struct vm_config *cfg, unsigned index);

#endif
