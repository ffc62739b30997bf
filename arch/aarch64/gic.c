// SPDX-License-Identifier: MIT
/*
 * The interrupt controller: KVM's in-kernel GICv3 with, when the host's
 * KVM offers one, an ITS for PCI MSI-X.  On a host whose KVM has no GICv3
 * (a GICv2 machine) it falls back to an in-kernel GICv2 with a GICv2m MSI
 * frame that wisp emulates: an MSI there is a write of an SPI number, so
 * the IRQ router routes such MSIs to that SPI (msi_line below) and irqfds
 * fire it in the kernel.  Everything sits at the addresses of
 * arch_layout.h.  Wired lines (SPIs) reach the GIC through the IRQ router
 * (core/irq.c), which calls set_line below.
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

/* GICv2m frame registers */
#define V2M_MSI_TYPER		0x008
#define V2M_MSI_SETSPI_NS	0x040
#define V2M_MSI_IIDR		0xfcc

static struct {
	struct vm *vm;
	unsigned version;
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

static const struct irqchip_ops gicv3_ops = { .set_line = gic_set_line };

/* GICv2m: a write of an SPI's INTID to MSI_SETSPI_NS raises it. */
static bool v2m_msi_line(void *opaque, uint64_t addr, uint32_t data, unsigned *line)
{
	(void)opaque;
	if (addr != ARM_GICV2M + V2M_MSI_SETSPI_NS || data < ARM_GICV2M_INTID_BASE ||
	    data >= ARM_GICV2M_INTID_BASE + ARM_GICV2M_INTID_COUNT)
		return false;
	*line = data - 32;
	return true;
}

static const struct irqchip_ops gicv2_ops = {
	.set_line = gic_set_line,
	.msi_line = v2m_msi_line,
};

/* The frame itself, for MSIs the guest's CPUs write (devices' MSIs take
 * the route above and never come here). */
static void v2m_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	uint32_t v = 0;

	(void)opaque;
	if (off == V2M_MSI_TYPER)
		v = (uint32_t)ARM_GICV2M_INTID_BASE << 16 | ARM_GICV2M_INTID_COUNT;
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void v2m_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	uint32_t v = 0;
	unsigned line;

	(void)opaque;
	memcpy(&v, data, len < 4 ? len : 4);
	if (v2m_msi_line(NULL, ARM_GICV2M + off, v, &line))
		irq_pulse(gic.vm, line);
}

static const struct bus_ops v2m_ops = { .read = v2m_read, .write = v2m_write };

static int create_gicv2(struct vm *vm)
{
	uint64_t dist = ARM_GICV2_DIST, cpu = ARM_GICV2_CPU;
	uint32_t nr_irqs = ARM_GIC_NR_IRQS;

	if (vm->cfg->cpus > ARM_GICV2_MAX_VCPUS) {
		wisp_err("--cpus: boot=%u is more than a GICv2 holds (%d), and this host's KVM has no GICv3",
			 vm->cfg->cpus, ARM_GICV2_MAX_VCPUS);
		return EXIT_USAGE;
	}
	gic.gic_fd = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
	if (gic.gic_fd < 0) {
		wisp_err("this host's KVM can emulate neither a GICv3 nor a GICv2 (%s)",
			 strerror(errno));
		return EXIT_USAGE;
	}
	gic.version = 2;
	if (set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST,
		     &dist, "distributor address") ||
	    set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU,
		     &cpu, "CPU interface address") ||
	    set_attr(gic.gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs, "number of IRQs") ||
	    bus_register(&vm->mmio, ARM_GICV2M, ARM_GICV2M_SIZE, &v2m_ops, &gic, "gicv2m"))
		return -1;
	irq_register_chip(vm, &gicv2_ops, &gic);
	return 0;
}

int arm_gic_create(struct vm *vm)
{
	uint64_t dist = ARM_GIC_DIST, redist = ARM_GIC_REDIST, its = ARM_GIC_ITS;
	uint32_t nr_irqs = ARM_GIC_NR_IRQS;

	gic.vm = vm;
	gic.gic_fd = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	if (gic.gic_fd < 0)
		return create_gicv2(vm);	/* ENODEV: a GICv2 host */
	gic.version = 3;
	if (vm->cfg->cpus > ARM_GIC_MAX_VCPUS) {
		wisp_err("--cpus: boot=%u is more than this machine's GICv3 holds (%llu)",
			 vm->cfg->cpus, (unsigned long long)ARM_GIC_MAX_VCPUS);
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
	irq_register_chip(vm, &gicv3_ops, &gic);
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

unsigned arm_gic_version(void)
{
	return gic.version;
}

bool arm_gic_has_its(void)
{
	return gic.its_fd >= 0;
}

int arm_gic_fd(void)
{
	return gic.gic_fd;
}

int arm_gic_its_fd(void)
{
	return gic.its_fd;
}
