/* SPDX-License-Identifier: MIT */
/*
 * struct vm: one virtual machine and the handful of services core gives
 * every device -- guest memory, the PIO and MMIO buses, the interrupt
 * router, the event loop, and the way to stop the VM.
 */
#ifndef WISP_CORE_VM_H
#define WISP_CORE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/irq.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/stop.h"

struct event_loop;
struct iommu;
struct kvm_run;
struct pci_segment;
struct vm_inputs;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* What the thread is doing, for the report on a stop signal: in
	 * KVM_RUN or handling an exit, and the last exit seen. */
	atomic_bool in_guest;
	atomic_uint last_exit;
	atomic_ullong last_addr;	/* port or MMIO address of that exit */
	atomic_bool dump_requested;	/* print registers at the next exit */
};

/* A device's contribution to the firmware tables: x86_64 hands it the
 * DSDT builder, AArch64 the device tree.  Devices register one in their
 * create(); the arch calls them all when it builds the tables. */
typedef void (*describe_fn)(void *opaque, struct vm *vm, void *tables);

#define VM_MAX_DESCRIBERS 32
#define VM_MAX_VCPUS 1024

struct vm {
	const struct vm_config *cfg;
	const struct vm_inputs *inputs;	/* the files read and checked for cfg */
	int kvm_fd;
	int vm_fd;
	int run_size;		/* mmap size of struct kvm_run */
	struct guest_memory mem;
	struct bus pio;
	struct bus mmio;
	struct event_loop *loop;

	/* interrupt router state (irq.c) */
	const struct irqchip_ops *irqchip;
	void *irqchip_opaque;
	pthread_mutex_t gsi_lock;
	uint32_t next_gsi;
	void *gsi_routes;	/* struct kvm_irq_routing, owned by irq.c */

	struct pci_segment *pci[4];	/* PCI_MAX_SEGMENTS, core/pci.c */
	atomic_int next_slot;		/* vm_slot_alloc(), above guest_memory's */
	struct iommu *iommu;		/* core/iommu.h, if a device provides one */

	unsigned ncpus;
	struct vcpu *vcpus;

	size_t ndescribers;
	struct {
		describe_fn fn;
		void *opaque;
	} describers[VM_MAX_DESCRIBERS];

	/* The guest's power button, if a device provides one (ACPI GED on
	 * x86_64, PL061 on AArch64): pressed on SIGTERM/SIGINT. */
	void (*power_button)(void *opaque);
	void *power_button_opaque;

	/* Set by a device that pauses the VM (core/api.c), else NULL: each
	 * vCPU calls vcpu_hold before every KVM_RUN (a paused VM's vCPUs
	 * wait there), and on_teardown runs once the vCPUs have stopped for
	 * good, before the VM goes away. */
	void (*vcpu_hold)(struct vcpu *v);
	void (*on_teardown)(void);

	/* Set by a device that takes guest memory back at run time (a
	 * balloon), else NULL: the API's vm.info and vm.resize use it. */
	const struct vm_reclaim *reclaim;
	void *reclaim_opaque;

	atomic_int stop;	/* enum vm_stop; first writer wins */
	int stop_eventfd;	/* signalfd for SIGTERM, SIGINT, SIGHUP */
	int stop_signal;	/* the signal behind VM_STOP_SIGNAL */
	int grace_timer;	/* timerfd after the power button, or -1 */
};

/* A device's way to give guest memory back to the host at run time. */
struct vm_reclaim {
	/* bytes the guest has given back now (any thread) */
	uint64_t (*taken)(void *opaque);
	/* asks the guest to give back `bytes` in all (API thread): 0, or
	 * -1 when that is more than its RAM */
	int (*target)(void *opaque, uint64_t bytes);
};

int vm_add_describer(struct vm *vm, describe_fn fn, void *opaque);

/* Maps host memory (a pmem file) into the guest as device memory above
 * RAM and the PCI window; *gpa says where.  0 or -1. */
int vm_add_device_memory(struct vm *vm, void *host, uint64_t size, uint64_t align,
			 bool readonly, uint64_t *gpa);

/* KVM memory slots for device memory that the guest moves (a VFIO BAR's
 * mmap): a free slot number, then (re)placing it; size 0 removes it.
 * Slots from vm_slot_alloc() are never guest RAM (gpa_ptr ignores them). */
int vm_slot_alloc(struct vm *vm);
int vm_slot_map(struct vm *vm, int slot, uint64_t gpa, void *host, uint64_t size);
#ifdef WISP_UNIT_TEST
/* Fuzzers without KVM stand in for KVM's memory slots here (the BARs'
 * slots, and device memory such as virtio-pmem's). */
extern int (*vm_test_slot_map)(struct vm *vm, int slot, uint64_t gpa, void *host,
			       uint64_t size);
#endif

/* Runs a whole VM from a parsed config and the files the inputs phase
 * read for it (core/input.h); returns wisp's exit status. */
int vm_main(const struct vm_config *cfg, const struct vm_inputs *inputs);

#endif
