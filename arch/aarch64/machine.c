// SPDX-License-Identifier: MIT
/*
 * The AArch64 machine is not written yet (GIC, PSCI, FDT, Image loader:
 * see the AArch64 issue).  This file lets the cross build link and
 * makes an AArch64 wisp say so plainly instead of misbehaving.
 */
#include "arch_layout.h"
#include "core/arch.h"
#include "core/vm.h"

int arch_vm_init(struct vm *vm)
{
	(void)vm;
	wisp_err("the AArch64 machine is not implemented yet in this version");
	return -1;
}

size_t arch_memory_layout(uint64_t size, uint64_t (*layout)[2], size_t max)
{
	(void)max;
	layout[0][0] = ARM_RAM_BASE;	/* RAM base of the planned memory map */
	layout[0][1] = size;
	return 1;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	(void)vm;
	(void)vcpu;
	return -1;
}

int arch_load(struct vm *vm)
{
	(void)vm;
	return 1;
}

bool arch_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

void arch_dump_vcpu(struct vcpu *vcpu)
{
	(void)vcpu;
}
