/* SPDX-License-Identifier: MIT */
/*
 * The interrupt router: the one place that knows how a device's
 * interrupt reaches a vCPU.
 *
 * - Wired lines (ISA IRQs, SPIs): a device calls irq_line(); the router
 *   hands it to the interrupt controller that registered itself with
 *   irq_register_chip() (the userspace I/O APIC on x86_64, the in-kernel
 *   GIC on AArch64).  Devices never talk to a controller directly.
 * - MSI: the router owns KVM GSI numbers and the routing table; irqfds
 *   let a back-end thread (or another process) interrupt the guest
 *   without a wisp thread in between.
 */
#ifndef WISP_CORE_IRQ_H
#define WISP_CORE_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

struct irqchip_ops {
	void (*set_line)(void *opaque, unsigned line, bool level);
	/* KVM_EXIT_IOAPIC_EOI: the guest ended a level interrupt. */
	void (*eoi)(void *opaque, unsigned vector);
	/* Optional: true, with *line set, for an MSI this controller turns
	 * into one of its wired lines (a GICv2m frame); the router then
	 * routes and delivers it as that line. */
	bool (*msi_line)(void *opaque, uint64_t addr, uint32_t data, unsigned *line);
};

/* The routing table's set-up, once the VM exists and before any device:
 * 0, or -1 (reported). */
int irq_init(struct vm *vm);

void irq_register_chip(struct vm *vm, const struct irqchip_ops *ops,
		       void *opaque);

/* Raise (level true) or lower a wired interrupt line.  Edge-triggered
 * users raise then lower. */
void irq_line(struct vm *vm, unsigned line, bool level);
void irq_pulse(struct vm *vm, unsigned line);
void irq_eoi(struct vm *vm, unsigned vector);

/* Delivers an MSI message now. */
int irq_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* MSI routes: a GSI whose message can be changed, and an eventfd that
 * fires it.  irq_msi_route_set() with addr 0 disables the route. */
int irq_msi_route_alloc(struct vm *vm);		/* -> gsi, or -1 */
int irq_msi_route_set(struct vm *vm, int gsi, uint64_t addr, uint32_t data,
		      bool masked);
/* The same for a message from a PCI function: devid is its requester
 * id (bus << 8 | devfn), which an ITS needs to translate it. */
int irq_msi_route_set_dev(struct vm *vm, int gsi, uint64_t addr, uint32_t data,
			  uint32_t devid, bool masked);
int irq_irqfd(struct vm *vm, int gsi, int eventfd, bool assign);

#ifdef WISP_UNIT_TEST
/* Fuzzers without KVM: routing changes and irqfds succeed (doing
 * nothing), so that devices take the paths they take under KVM. */
extern bool irq_test_fake_kvm;
/* The routing table as KVM was last handed it (NULL before any route):
 * what a test checks a device's routes against. */
struct kvm_irq_routing;
const struct kvm_irq_routing *irq_test_routes(struct vm *vm);
#endif

#endif
