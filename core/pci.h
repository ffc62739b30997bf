/* SPDX-License-Identifier: MIT */
/*
 * PCI: segments of up to 32 single-function devices on bus 0, each with
 * a 4 KiB configuration space that wisp emulates (BARs, command
 * register, capability list, MSI-X), reached through ECAM and, on
 * x86_64, the 0xcf8/0xcfc ports.  A PCI device (virtio, VFIO) fills in
 * a struct pci_function and calls pci_add(); BARs are placed in the
 * segment's windows and follow the guest when it moves them.
 */
#ifndef WISP_CORE_PCI_H
#define WISP_CORE_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/kconfig.h"

struct vm;

#define PCI_CFG_SIZE 4096
#define PCI_SLOTS 32
#define PCI_MAX_SEGMENTS 4
#define PCI_NUM_BARS 6

/* configuration space registers */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST 0x10

#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

/* BAR flags */
#define PCI_BAR_MEM64 0x1
#define PCI_BAR_PREFETCH 0x2
#define PCI_BAR_IO 0x4

struct pci_function;

struct pci_bar {
	uint64_t size;		/* power of two, 0 = unused */
	unsigned flags;
	const struct bus_ops *ops;	/* accesses, offset from the BAR start */
	void *opaque;
	uint64_t addr;		/* where the guest put it */
	bool mapped;		/* on the bus now */
};

struct msix_vector {
	uint32_t addr_lo, addr_hi, data, ctrl;
	int gsi;		/* KVM route, -1 until first used */
	int eventfd;		/* irqfd on gsi */
	/* KVM injects what eventfd gets; not while the vector is masked,
	 * when the eventfd counts the signals for the PBA instead */
	bool irqfd_on;
	bool failed;		/* KVM refused it: never tried again */
};

struct msix {
	unsigned nvec;
	unsigned bar;
	uint32_t table_offset;	/* in the BAR */
	uint32_t pba_offset;
	uint8_t cap;		/* offset of the capability in config space */
	struct msix_vector *vec;
	uint64_t *pba;
};

struct pci_function {
	struct vm *vm;
	const char *name;
	uint16_t segment;
	uint8_t slot;
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	uint8_t cap_next;		/* where the next capability goes */
	struct pci_bar bar[PCI_NUM_BARS];
	struct msix msix;
	void *owner;
	/* A BAR was mapped at a new address (or unmapped: addr 0), so the
	 * owner can move what it attached there (ioeventfds).  Optional. */
	void (*bar_moved)(struct pci_function *fn, unsigned bar);
	/* The guest wrote config space at off (after wisp applied it).
	 * Optional; called without the function lock. */
	void (*config_written)(struct pci_function *fn, unsigned off, unsigned len);
	/* The guest is about to read config space at off: a chance to
	 * refresh bytes that are not static.  Optional; called without the
	 * function lock. */
	void (*config_read)(struct pci_function *fn, unsigned off, unsigned len);
};

/* Header fields. */
void pci_init_function(struct pci_function *fn, struct vm *vm, const char *name,
		       uint16_t vendor, uint16_t device, uint32_t class_code,
		       uint8_t revision);
void pci_set_subsystem(struct pci_function *fn, uint16_t vendor, uint16_t id);
/* Declares BAR n (size rounded up to a power of two, at least 4 KiB for
 * memory).  A 64-bit BAR uses n and n+1. */
void pci_set_bar(struct pci_function *fn, unsigned n, uint64_t size,
		 unsigned flags, const struct bus_ops *ops, void *opaque);
/* Appends a capability of `len` bytes (id and next filled in) and returns
 * its offset; the body's writable bits are set with pci_cfg_wmask. */
uint8_t pci_add_capability(struct pci_function *fn, uint8_t id,
			   const void *body, unsigned len);
void pci_cfg_wmask(struct pci_function *fn, unsigned off, unsigned len,
		   uint32_t mask);

/* MSI-X with nvec vectors, its table and PBA in BAR `bar` at the given
 * offsets; the owner forwards accesses there to msix_table_access(). */
int pci_add_msix(struct pci_function *fn, unsigned nvec, unsigned bar,
		 uint32_t table_offset, uint32_t pba_offset);
/* The same for a capability already in config space at `cap` (a VFIO
 * device's own, whose place the guest's driver may rely on). */
int pci_adopt_msix(struct pci_function *fn, uint8_t cap, unsigned nvec,
		   unsigned bar, uint32_t table_offset, uint32_t pba_offset);
bool msix_table_access(struct pci_function *fn, uint64_t off, void *data,
		       unsigned len, bool write);
/* Signals a vector (from any thread): delivered, or left pending while
 * masked.  -1 for a vector number the guest never set up. */
int msix_notify(struct pci_function *fn, unsigned vector);
/* The eventfd that fires the vector (for vhost-user back-ends), or -1.
 * Signalled while the vector is masked, it leaves the interrupt pending
 * (the PBA shows it; unmasking delivers it). */
int msix_vector_eventfd(struct pci_function *fn, unsigned vector);
bool msix_enabled(const struct pci_function *fn);
/* Whether the guest has vector v masked (or MSI-X off, or bus mastering
 * off): an interrupt for it now waits in the PBA.  Takes the lock. */
bool msix_vector_masked(struct pci_function *fn, unsigned vector);
/* Bus mastering on: the function may touch memory and interrupt. */
bool pci_bus_master(const struct pci_function *fn);

/* The interrupt line INTx pin `pin` (1-4) of the function in `slot`
 * raises (the host bridge describes the same routing), or -1 when the
 * arch has no INTx lines for PCI. */
int pci_intx_line(unsigned slot, unsigned pin);

/* Places the function in segment `segment`, in fn->slot when the
 * caller set it (pci_device_id=), else in the first slot free and not
 * asked for by another device; assigns its BARs in the segment's
 * windows.  -1 with a message when full or taken. */
int pci_add(struct vm *vm, struct pci_function *fn, uint16_t segment);

/* The segments the VM has: --platform num_pci_segments, or 1 (also
 * for a VM without a config: the unit tests' machines). */
static inline unsigned pci_segments_of(const struct vm_config *config)
{
#ifdef CONFIG_PCI_SEGMENTS
	return config && config->pci_segments ? config->pci_segments : 1;
#else
	(void)config;
	return 1;
#endif
}

#ifdef CONFIG_PCI_SEGMENTS
struct kv_list;
struct cli_error;
/* pci_segment= and pci_device_id= of a PCI device's option, as
 * cloud-hypervisor spells them: the segment (below PCI_MAX_SEGMENTS
 * here) and the slot on the segment's bus (1-31, slot 0 being the host
 * bridge; 0 when not given).  That the segment is below
 * num_pci_segments and that no other device asks for the slot are
 * core's checks of the device's kv_needs, once the whole command line
 * is read: --platform may come later, and beside --restore a device
 * given again replaces the snapshot's.  0, or -1 with err set. */
int pci_parse_place(struct kv_list *args, uint64_t *segment, uint8_t *slot,
		    struct cli_error *err);
/* The command line's slot requests forgotten (a new parse). */
void pci_plan_reset(void);
/* Keeps the slot for the device that asked for it; -1 if another did. */
int pci_plan_reserve(unsigned segment, unsigned slot);
#endif

/* A segment: created by the host bridge device (devices/pci_host/). */
struct pci_segment {
	uint16_t id;
	uint64_t ecam;			/* base of its ECAM area */
	uint64_t mmio32, mmio32_size, mmio32_next;
	uint64_t mmio64, mmio64_size, mmio64_next;
	struct pci_function *fn[PCI_SLOTS];
	pthread_mutex_t lock;
};

struct pci_segment *pci_segment_create(struct vm *vm, uint16_t id, uint64_t ecam,
				       uint64_t mmio32, uint64_t mmio32_size,
				       uint64_t mmio64, uint64_t mmio64_size);
struct pci_segment *pci_segment_get(struct vm *vm, uint16_t id);

/* A function's guest-visible state for snapshots (config space, the
 * MSI-X table and PBA): pci_load puts it back after pci_add, before any
 * vCPU runs, BARs and MSI-X routes following; 0, or -1 when the state
 * does not fit the function. */
struct snap_writer;
struct snap_reader;
void pci_save(struct pci_function *fn, struct snap_writer *w);
int pci_load(struct pci_function *fn, struct snap_reader *r);

/* Config space access for bus 0 of a segment; devfn = slot << 3 | fn. */
void pci_config_access(struct pci_segment *seg, unsigned bus, unsigned devfn,
		       unsigned off, void *data, unsigned len, bool write);

#endif
