// SPDX-License-Identifier: MIT
/*
 * Reading AArch64 vCPU registers back: each vCPU's MPIDR for the device
 * tree (fdt.c), and the dump when the VM fails (arch_dump_vcpu).  Below
 * both fdt.c and machine.c, so the device tree never calls up into the
 * machine that builds it.
 */
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "arch/aarch64/aarch64.h"
#include "core/arch.h"
#include "core/vm.h"

#define REG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define MPIDR_AFFINITY 0xff00ffffffULL

static int get_reg(struct vcpu *vcpu, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg);
}

uint64_t arm_vcpu_mpidr(struct vcpu *vcpu)
{
	uint64_t mpidr = 0;

	if (get_reg(vcpu, REG_MPIDR_EL1, &mpidr) < 0)
		return vcpu->index;	/* KVM's own numbering, Aff0 first */
	return mpidr & MPIDR_AFFINITY;
}

void arch_dump_vcpu(struct vcpu *vcpu)
{
	static const struct {
		const char *name;
		uint64_t id;
	} regs[] = {
		{ "pc", ARM_CORE_REG(regs.pc) },
		{ "pstate", ARM_CORE_REG(regs.pstate) },
		{ "sp_el1", ARM_CORE_REG(sp_el1) },
		{ "elr_el1", ARM_CORE_REG(elr_el1) },
		{ "x0", ARM_CORE_REG(regs.regs[0]) },
		{ "x1", ARM_CORE_REG(regs.regs[1]) },
		{ "x2", ARM_CORE_REG(regs.regs[2]) },
		{ "x30", ARM_CORE_REG(regs.regs[30]) },
		{ "esr_el1", ARM64_SYS_REG(3, 0, 5, 2, 0) },
		{ "far_el1", ARM64_SYS_REG(3, 0, 6, 0, 0) },
	};
	char line[512];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]) && n < sizeof(line); i++) {
		uint64_t v = 0;

		if (get_reg(vcpu, regs[i].id, &v) < 0)
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%#llx", regs[i].name,
				      (unsigned long long)v);
	}
	wisp_err("vCPU %u:%s", vcpu->index, line);
}
