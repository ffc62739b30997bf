// SPDX-License-Identifier: MIT
#include "core/coalesced_io.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"

/* The ring is the VM's, one page at this offset (bytes) into every
 * vCPU's mapping of its kvm_run; 0 while nothing is coalesced. */
static long ring_offset;
static uint32_t ring_entries;
/* Several vCPUs may return at once; the writes must still be applied
 * once each and in the guest's order. */
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;

static bool ring_usable(struct vm *vm, bool pio)
{
	if (!ring_offset) {
		long page = getpagesize();
		int off = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

		/* the ring must lie inside the run mapping wisp makes */
		if (off <= 0 || page <= 0 || (long)(off + 1) * page > (long)vm->run_size)
			return false;
		ring_entries = (uint32_t)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) /
					  sizeof(struct kvm_coalesced_mmio));
		ring_offset = off * page;
	}
	return !pio || ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0;
}

void coalesced_io_add(struct vm *vm, bool pio, uint64_t addr, uint32_t len)
{
	struct kvm_coalesced_mmio_zone zone = {
		.addr = addr,
		.size = len,
		.pio = pio,
	};

	/* refused, the writes there just keep exiting */
	if (ring_usable(vm, pio))
		(void)ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone);
}

void coalesced_io_apply(struct vm *vm, struct kvm_coalesced_mmio_ring *ring, uint32_t entries)
{
	uint32_t first;

	/* KVM moves `last` (after filling the entry), wisp moves `first` */
	if (__atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
	    __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&drain_lock);
	while ((first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED)) !=
	       __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		const struct kvm_coalesced_mmio *e;
		uint8_t data[8];

		if (first >= entries)
			break;	/* not a ring KVM wrote: leave it */
		e = &ring->coalesced_mmio[first];
		/* KVM took the write as the guest made it: 1, 2, 4 or 8 bytes */
		if (e->len && e->len <= sizeof(data)) {
			memcpy(data, e->data, e->len);
			bus_access(e->pio ? &vm->pio : &vm->mmio, e->phys_addr, data, e->len, true);
		}
		__atomic_store_n(&ring->first, (first + 1) % entries, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&drain_lock);
}

void coalesced_io_drain(struct vcpu *v)
{
	if (ring_offset)
		coalesced_io_apply(v->vm, (void *)((char *)v->run + ring_offset), ring_entries);
}
