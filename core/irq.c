// SPDX-License-Identifier: MIT
#include "core/irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"

/* GSIs below this are left to wired lines (an in-kernel irqchip's pins). */
#define FIRST_MSI_GSI 32
#define MAX_GSI 1024

void irq_register_chip(struct vm *vm, const struct irqchip_ops *ops,
		       void *opaque)
{
	vm->irqchip = ops;
	vm->irqchip_opaque = opaque;
}

void irq_line(struct vm *vm, unsigned line, bool level)
{
	if (vm->irqchip)
		vm->irqchip->set_line(vm->irqchip_opaque, line, level);
}

void irq_pulse(struct vm *vm, unsigned line)
{
	irq_line(vm, line, true);
	irq_line(vm, line, false);
}

void irq_eoi(struct vm *vm, unsigned vector)
{
	if (vm->irqchip && vm->irqchip->eoi)
		vm->irqchip->eoi(vm->irqchip_opaque, vector);
}

/* An MSI the interrupt controller delivers as one of its lines. */
static bool msi_as_line(struct vm *vm, uint64_t addr, uint32_t data, unsigned *line)
{
	return vm->irqchip && vm->irqchip->msi_line &&
	       vm->irqchip->msi_line(vm->irqchip_opaque, addr, data, line);
}

int irq_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	unsigned line;

	if (msi_as_line(vm, addr, data, &line)) {
		irq_pulse(vm, line);
		return 0;
	}
	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}

/* The routing table KVM holds is replaced whole on every change; this
 * is its copy.  Entries are kept one per GSI, in GSI order. */
struct routes {
	/* KVM says whether MSIs must name their device (an ITS on AArch64:
	 * the device id picks the guest's interrupt translation table).
	 * Asked once by irq_init(): the vCPU threads that later change
	 * routes may not ask KVM (seccomp). */
	bool needs_devid;
	struct kvm_irq_routing head;
	struct kvm_irq_routing_entry entry[MAX_GSI];
};

int irq_init(struct vm *vm)
{
	struct routes *r = calloc(1, sizeof(struct routes));

	if (!r) {
		wisp_err("out of memory for the interrupt routes");
		return -1;
	}
	r->needs_devid = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MSI_DEVID) > 0;
	vm->gsi_routes = r;
	vm->next_gsi = FIRST_MSI_GSI;
	return 0;
}

/* NULL only when memory ran out; vm_main() has called irq_init() before
 * any device exists, so only test harnesses get here without it. */
static struct routes *routes_of(struct vm *vm)
{
	if (!vm->gsi_routes)
		irq_init(vm);
	return vm->gsi_routes;
}

#ifdef WISP_UNIT_TEST
bool irq_test_fake_kvm;

const struct kvm_irq_routing *irq_test_routes(struct vm *vm)
{
	return vm->gsi_routes ? &((struct routes *)vm->gsi_routes)->head : NULL;
}
#endif

static int routes_commit(struct vm *vm, struct routes *r)
{
#ifdef WISP_UNIT_TEST
	if (irq_test_fake_kvm)
		return 0;
#endif
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &r->head) < 0) {
		wisp_err("KVM_SET_GSI_ROUTING: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int irq_msi_route_alloc(struct vm *vm)
{
	struct routes *r;
	int gsi = -1;

	pthread_mutex_lock(&vm->gsi_lock);
	r = routes_of(vm);
	if (r && vm->next_gsi < MAX_GSI)
		gsi = (int)vm->next_gsi++;
	pthread_mutex_unlock(&vm->gsi_lock);
	return gsi;
}

int irq_msi_route_set(struct vm *vm, int gsi, uint64_t addr, uint32_t data,
		      bool masked)
{
	return irq_msi_route_set_dev(vm, gsi, addr, data, 0, masked);
}

int irq_msi_route_set_dev(struct vm *vm, int gsi, uint64_t addr, uint32_t data,
			  uint32_t devid, bool masked)
{
	struct routes *r;
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&vm->gsi_lock);
	r = routes_of(vm);
	/* GSIs below FIRST_MSI_GSI belong to the wired-line controller,
	 * which mirrors its pins there (the I/O APIC does, so that KVM
	 * knows which vectors need an EOI exit). */
	if (!r || gsi < 0 || (gsi >= FIRST_MSI_GSI && (uint32_t)gsi >= vm->next_gsi)) {
		pthread_mutex_unlock(&vm->gsi_lock);
		return -1;
	}
	for (i = 0; i < r->head.nr; i++)
		if (r->entry[i].gsi == (uint32_t)gsi)
			break;
	if (masked || !addr) {
		/* drop the entry: an irqfd on an unrouted GSI does nothing */
		if (i < r->head.nr) {
			memmove(&r->entry[i], &r->entry[i + 1],
				(r->head.nr - i - 1) * sizeof(r->entry[0]));
			r->head.nr--;
			ret = routes_commit(vm, r);
		}
	} else {
		struct kvm_irq_routing_entry e = {
			.gsi = (uint32_t)gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi.address_lo = (uint32_t)addr,
			.u.msi.address_hi = (uint32_t)(addr >> 32),
			.u.msi.data = data,
		};

		unsigned line;

		if (msi_as_line(vm, addr, data, &line)) {
			e.type = KVM_IRQ_ROUTING_IRQCHIP;
			memset(&e.u, 0, sizeof(e.u));
			e.u.irqchip.irqchip = 0;
			e.u.irqchip.pin = line;
		} else if (r->needs_devid) {
			e.flags = KVM_MSI_VALID_DEVID;
			e.u.msi.devid = devid;
		}

		if (i == r->head.nr)
			r->head.nr++;
		r->entry[i] = e;
		ret = routes_commit(vm, r);
	}
	pthread_mutex_unlock(&vm->gsi_lock);
	return ret;
}

int irq_irqfd(struct vm *vm, int gsi, int eventfd, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)eventfd,
		.gsi = (uint32_t)gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

#ifdef WISP_UNIT_TEST
	if (irq_test_fake_kvm)
		return 0;
#endif
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		wisp_err("KVM_IRQFD gsi %d: %s", gsi, strerror(errno));
		return -1;
	}
	return 0;
}
