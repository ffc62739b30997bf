/* SPDX-License-Identifier: MIT */
/* Private to arch/aarch64: the GIC, the Image loader, the device tree. */
#ifndef WISP_ARCH_AARCH64_H
#define WISP_ARCH_AARCH64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;

/* KVM_{GET,SET}_ONE_REG's id of a field of struct kvm_regs (<linux/kvm.h>) */
#define ARM_CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			     (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

/* Where things went in guest memory, and what the device tree says. */
struct arm_boot {
	uint64_t entry;		/* the kernel's first instruction */
	uint64_t kernel_end;	/* first byte after its image_size */
	uint64_t initrd;
	uint64_t initrd_size;
	uint64_t fdt;
	const char *cmdline;
};

/* gic.c: the in-kernel GICv3 (and its ITS when KVM has one), or on a
 * host without one a GICv2 with a GICv2m frame.  arm_gic_create()
 * before the vCPUs; 0, -1, or 2 when the host cannot give the guest a
 * GIC for this many vCPUs (bad input: the exit status).
 * arm_gic_finalize() once they all exist. */
int arm_gic_create(struct vm *vm);
int arm_gic_finalize(struct vm *vm);
unsigned arm_gic_version(void);	/* 2 or 3 */
bool arm_gic_has_its(void);
/* The KVM device fds, for snapshots (snapshot.c); -1 when absent */
int arm_gic_fd(void);
int arm_gic_its_fd(void);

/* image_header.c: what an arm64 Image's header asks for, checked
 * against ram_size bytes of RAM of which `reserve` must stay free above
 * the kernel.  Pure (it builds on any host, for the fuzzer). */
enum arm_image_verdict {
	ARM_IMAGE_OK,
	ARM_IMAGE_NOT_IMAGE,	/* fit->what says what the file is instead */
	ARM_IMAGE_BIG_ENDIAN,
	ARM_IMAGE_TOO_BIG,	/* fit->needed bytes of RAM would do */
};

struct arm_image_fit {
	uint64_t text_offset;	/* from the start of RAM */
	uint64_t image_size;	/* at least the file's size */
	uint64_t needed;	/* text_offset + image_size + reserve, saturated */
	const char *what;
};

enum arm_image_verdict arm_image_parse(const uint8_t *data, size_t size, uint64_t ram_size,
				       uint64_t reserve, struct arm_image_fit *fit);

/* image.c: the arm64 Image in the kernel file.  arm_image_check()
 * checks it against ram_size bytes of RAM, without a VM; 0, or 2 after
 * reporting a file that is not one (x86 formats are named as such) or
 * does not fit.  arm_image_load() checks it again and loads it: 0, 2,
 * or 1 on other failures.  Fills in entry and kernel_end. */
int arm_image_check(const char *path, const uint8_t *data, size_t size, uint64_t ram_size,
		    struct arm_image_fit *fit);
int arm_image_load(struct vm *vm, const char *path, const uint8_t *data,
		   size_t size, struct arm_boot *boot);

/* fdt.c: the whole device tree into buf (size bytes). */
int arm_fdt_build(struct vm *vm, const struct arm_boot *boot, void *buf, size_t size);

/* cpu.c: a vCPU's MPIDR affinity (its number when KVM cannot say). */
uint64_t arm_vcpu_mpidr(struct vcpu *vcpu);

#endif
