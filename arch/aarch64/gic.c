// SPDX-License-Identifier: MIT
/*
 * The interrupt controller: KVM's in-kernel GICv3 with, when the host's
 * KVM offers one, an ITS for PCI MSI-X.  Distributor, redistributors and
 * ITS sit at the addresses of arch_layout.h.  Wired lines (SPIs) reach it
 * through the IRQ router (core/irq.c), which calls set_line below.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/aarch64/aarch64.h"
#include "arch_layout.h"
#include "core/cli.h"
#include "core/irq.h"
#include "core/vm.h"

static struct {
	struct vm *vm;
	int gic_fd;
	int its_fd;
} gic = { .gic_fd = -1, .its_fd = -1 };

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val,
		    const char *what)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		wisp_err("GIC: %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int create_device(struct vm *vm, uint32_t type)
{
	struct kvm_create_device cd = { .type = type };

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -1;
	return (int)cd.fd;
}

/* An SPI: the line number is the SPI's, its INTID 32 higher. */
static void gic_set_line(void *opaque, unsigned line, bool level)
{
	struct kvm_irq_level irq = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32 + line),
		.level = level,
	};

	(void)opaque;
	if (32 + line >= ARM_GIC_NR_IRQS)
		return;
	if (ioctl(gic.vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		wisp_err("KVM_IRQ_LINE SPI %u: %s", line, strerror(errno));
}

static const struct irqchip_ops gic_ops = { .set_line = gic_set_line };

int arm_gic_create(struct vm *vm)
{
	uint64_t dist = ARM_GIC_DIST, redist = ARM_GIC_REDIST, its = ARM_GIC_ITS;
	uint32_t nr_irqs = ARM_GIC_NR_IRQS;

	gic.vm = vm;
	if (vm->cfg->cpus > ARM_GIC_MAX_VCPUS) {
		wisp_err("--cpus: boot=%u is more than this machine's GICv3 holds (%llu)",
			 vm->cfg->cpus, (unsigned long long)ARM_GIC_MAX_VCPUS);
		return EXIT_USAGE;
	}
	gic.gic_fd = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	if (gic.gic_fd < 0) {
		/* ENODEV: a GICv2 host, or KVM without a vGIC at all */
		wisp_err("this host's KVM cannot emulate a GICv3 (%s); wisp's AArch64 machine needs one",
			 strerror(errno));
		return EXIT_USAGE;
	}
	if (set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
		     &dist, "distributor address") ||
	    set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
		     &redist, "redistributor address") ||
	    set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs, "number of IRQs"))
		return -1;
	/* Without an ITS there is no MSI: PCI devices then cannot interrupt,
	 * so PCI is left out of the device tree's msi-map. */
	gic.its_fd = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
	if (gic.its_fd >= 0 &&
	    set_attr(gic.its_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &its,
		     "ITS address"))
		return -1;
	irq_register_chip(vm, &gic_ops, &gic);
	return 0;
}

int arm_gic_finalize(struct vm *vm)
{
	(void)vm;
	if (set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		     NULL, "init"))
		return -1;
	if (gic.its_fd >= 0 &&
	    set_attr(gic.its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		     NULL, "ITS init"))
		return -1;
	return 0;
}

bool arm_gic_has_its(void)
{
	return gic.its_fd >= 0;
}
