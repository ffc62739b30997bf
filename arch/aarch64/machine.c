// SPDX-License-Identifier: MIT
/*
 * The AArch64 machine: the in-kernel GICv3 (gic.c), vCPUs KVM resets
 * to its preferred target with PSCI 0.2+ handled in the kernel (CPU_ON
 * brings up secondaries, SYSTEM_OFF and SYSTEM_RESET come back as
 * KVM_EXIT_SYSTEM_EVENT), one RAM range at 1 GiB, and arch_load():
 * the Image (image.c), the initramfs and the device tree (fdt.c) in
 * RAM, then x0 = the device tree and pc = the kernel's entry.
 * arch_layout.h and docs/aarch64.md hold the memory map; cpu.c reads
 * the vCPUs' registers back.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/aarch64/aarch64.h"
#include "arch_layout.h"
#include "core/arch.h"
#include "core/cli.h"
#include "core/input.h"
#include "core/seccomp.h"
#include "core/vm.h"


/* what KVM_ARM_PREFERRED_TARGET says, for every vCPU */
static struct kvm_vcpu_init preferred;

/* What threads do here beyond core's needs once the guest runs: wired
 * interrupts (PL011, PL031, PL061) go to the in-kernel GIC from whichever
 * thread raises them (a register write, or input and timers in the event
 * loop), and vCPUs dump their own registers when the VM fails. */
static const struct seccomp_rule arm_irq_seccomp[] = {
	SC_IOCTL(KVM_IRQ_LINE),
};

static const struct seccomp_rule arm_vcpu_seccomp[] = {
	SC_IOCTL(KVM_GET_ONE_REG),
};

int arch_vm_init(struct vm *vm)
{
	if (seccomp_allow(SECCOMP_BOTH, arm_irq_seccomp, SC_COUNT(arm_irq_seccomp)) ||
	    seccomp_allow(SECCOMP_VCPU, arm_vcpu_seccomp, SC_COUNT(arm_vcpu_seccomp)))
		return -1;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0) {
		wisp_err("this host's KVM has no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2)");
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &preferred) < 0) {
		wisp_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -1;
	}
	return arm_gic_create(vm);
}

size_t arch_memory_layout(uint64_t size, uint64_t (*layout)[2], size_t max)
{
	(void)max;
	layout[0][0] = ARM_RAM_BASE;
	layout[0][1] = size;
	return 1;
}

static int set_reg(struct vcpu *vcpu, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)(uintptr_t)&val };

	if (ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg) < 0) {
		wisp_err("vCPU %u: KVM_SET_ONE_REG %#llx: %s", vcpu->index,
			 (unsigned long long)id, strerror(errno));
		return -1;
	}
	return 0;
}

/* KVM numbers AArch64 vCPUs itself (their MPIDRs follow the id). */
unsigned arch_vcpu_id(const struct vm_config *cfg, unsigned index)
{
	(void)cfg;
	return index;
}

/* Every vCPU but the first starts powered off, until the guest starts
 * it with PSCI CPU_ON. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_vcpu_init init = preferred;

	(void)vm;
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (vcpu->index)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		wisp_err("vCPU %u: KVM_ARM_VCPU_INIT: %s", vcpu->index, strerror(errno));
		return -1;
	}
	return 0;
}

/* Where the device tree goes: its 2 MiB at the top of RAM, 2 MiB
 * aligned. */
static uint64_t fdt_addr(uint64_t ram_size)
{
	return (ARM_RAM_BASE + ram_size - ARM_FDT_MAX) & ~(ARM_FDT_MAX - 1);
}

/* The initramfs goes right below the device tree at the top of RAM,
 * above the kernel; 0 when it does not fit there. */
static uint64_t initrd_addr(const struct arm_boot *boot, uint64_t size)
{
	uint64_t addr;

	if (size > boot->fdt - boot->kernel_end)
		return 0;
	addr = (boot->fdt - size) & ~0xfffULL;
	return addr < boot->kernel_end ? 0 : addr;
}

static int check_initrd(const struct arm_boot *boot, uint64_t size)
{
	if (initrd_addr(boot, size))
		return 0;
	wisp_err("--initramfs: %llu bytes do not fit between the kernel and the top of RAM; raise --memory",
		 (unsigned long long)size);
	return EXIT_USAGE;
}

static int place_initrd(struct vm *vm, const struct mapped_file *f, struct arm_boot *boot)
{
	int ret = check_initrd(boot, f->size);

	if (ret)
		return ret;
	boot->initrd = initrd_addr(boot, f->size);
	boot->initrd_size = f->size;
	return gpa_write(&vm->mem, boot->initrd, f->data, f->size) ? EXIT_VM_ERROR : 0;
}

static int check_firmware(const struct vm_config *cfg)
{
	if (cfg->kernel)
		return 0;
	wisp_err("--firmware: AArch64 boots an arm64 Image with --kernel; firmware is not supported");
	return EXIT_USAGE;
}

/* --cpus keys that only x86_64 applies: refused rather than ignored */
static int check_cpus(const struct vm_config *cfg)
{
	if (cfg->cpu_max_phys_bits || (cfg->cpu_nested_given && cfg->cpu_nested)) {
		wisp_err("--cpus: %s is not built for AArch64 (the guest gets the host's IPA size "
			 "and no EL2)", cfg->cpu_max_phys_bits ? "max_phys_bits" : "nested=on");
		return EXIT_USAGE;
	}
	return 0;
}

int arch_check_boot(const struct vm_config *cfg, const struct vm_inputs *in)
{
	struct arm_boot boot = { .fdt = fdt_addr(cfg->memory.size) };
	struct arm_image_fit fit;
	int ret = check_firmware(cfg);

	if (!ret)
		ret = check_cpus(cfg);

	if (!ret)
		ret = arm_image_check(cfg->kernel, in->kernel.data, in->kernel.size,
				      cfg->memory.size, &fit);
	if (ret || !in->initramfs.size)
		return ret;
	boot.kernel_end = ARM_RAM_BASE + fit.text_offset + fit.image_size;
	return check_initrd(&boot, in->initramfs.size);
}

static int load_fdt(struct vm *vm, struct arm_boot *boot)
{
	void *buf = calloc(1, ARM_FDT_MAX);
	int ret = EXIT_VM_ERROR;

	if (!buf) {
		wisp_err("no memory for the device tree");
		return ret;
	}
	if (!arm_fdt_build(vm, boot, buf, ARM_FDT_MAX) &&
	    !gpa_write(&vm->mem, boot->fdt, buf, ARM_FDT_MAX))
		ret = 0;
	free(buf);
	return ret;
}

int arch_load(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	const struct vm_inputs *in = vm->inputs;
	struct arm_boot boot = { .cmdline = cfg->cmdline ? cfg->cmdline : "" };
	int ret = check_firmware(cfg);

	if (ret)
		return ret;
	if (arm_gic_finalize(vm))
		return EXIT_VM_ERROR;
	boot.fdt = fdt_addr(memory_ram_end(&vm->mem) - ARM_RAM_BASE);
	ret = arm_image_load(vm, cfg->kernel, in->kernel.data, in->kernel.size, &boot);
	if (!ret && in->initramfs.size)
		ret = place_initrd(vm, &in->initramfs, &boot);
	if (ret)
		return ret;
	if (load_fdt(vm, &boot))
		return EXIT_VM_ERROR;
	if (set_reg(&vm->vcpus[0], ARM_CORE_REG(regs.pc), boot.entry) ||
	    set_reg(&vm->vcpus[0], ARM_CORE_REG(regs.regs[0]), boot.fdt))
		return EXIT_VM_ERROR;
	return 0;
}

bool arch_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}
