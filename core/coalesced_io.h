/* SPDX-License-Identifier: MIT */
/*
 * Coalesced I/O: writes to an index register reach wisp later, batched.
 *
 * Some registers only latch a number that the next access to another
 * register uses: the CMOS index at 0x70, the I/O APIC's IOREGSEL.  A
 * guest writes them before nearly every data access, and each write is
 * a VM exit of its own.  KVM can instead append such writes to a ring
 * shared with wisp (KVM_REGISTER_COALESCED_MMIO, KVM_CAP_COALESCED_PIO)
 * and go on running the guest; wisp applies them, in order, when the
 * vCPU next returns from KVM_RUN for any reason -- before it handles
 * that exit, so the data access that follows an index write always sees
 * it.  Only registers whose writes have no effect of their own may be
 * coalesced: a write there takes effect at the next exit, not at once.
 */
#ifndef WISP_CORE_COALESCED_IO_H
#define WISP_CORE_COALESCED_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/kconfig.h"

struct kvm_coalesced_mmio_ring;
struct vm;
struct vcpu;

#ifdef CONFIG_COALESCED_IO
/* Asks KVM to coalesce guest writes within [addr, addr+len) of the port
 * (pio) or MMIO space.  A KVM without the capability keeps them exits:
 * nothing is lost but the saving, so that is not an error. */
void coalesced_io_add(struct vm *vm, bool pio, uint64_t addr, uint32_t len);
/* Applies the writes KVM has queued; every vCPU calls it each time
 * KVM_RUN returns. */
void coalesced_io_drain(struct vcpu *v);
/* The drain itself, on a ring of `entries` slots (the unit test's). */
void coalesced_io_apply(struct vm *vm, struct kvm_coalesced_mmio_ring *ring, uint32_t entries);
#else
static inline void coalesced_io_add(struct vm *vm, bool pio, uint64_t addr, uint32_t len)
{
	(void)vm;
	(void)pio;
	(void)addr;
	(void)len;
}

static inline void coalesced_io_drain(struct vcpu *v)
{
	(void)v;
}
#endif

#endif
