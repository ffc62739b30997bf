// SPDX-License-Identifier: MIT
/*
 * I/O APIC (82093AA-style, 24 pins) emulated in wisp while KVM keeps the
 * local APICs (split irqchip).  It is the interrupt controller for wired
 * lines: devices raise ISA IRQs through the core irq router, and this
 * turns a pin's redirection entry into an MSI to the local APICs.
 *
 * Each pin's entry is mirrored into KVM's routing table at GSI = pin, so
 * that KVM knows which vectors are level-triggered and exits to us
 * (KVM_EXIT_IOAPIC_EOI) when the guest ends one.
 */
#include <pthread.h>
#include <string.h>

#include "arch_layout.h"
#include "core/coalesced_io.h"
#include "core/device.h"
#include "core/irq.h"
#include "core/vm.h"

#define IOAPIC_PINS X86_IOAPIC_PINS
#define IOAPIC_VERSION 0x11

#define REG_SELECT 0x00
#define REG_WINDOW 0x10
#define REG_EOI 0x40

#define IDX_ID 0x00
#define IDX_VERSION 0x01
#define IDX_ARB 0x02
#define IDX_REDIR 0x10

#define RTE_VECTOR 0xffULL
#define RTE_DELIVERY_SHIFT 8
#define RTE_DEST_LOGICAL (1ULL << 11)
#define RTE_PENDING (1ULL << 12)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL (1ULL << 15)
#define RTE_MASKED (1ULL << 16)
#define RTE_DEST_SHIFT 56
/* bits the guest may write; delivery status and remote IRR are ours */
#define RTE_WRITABLE (~(RTE_PENDING | RTE_REMOTE_IRR))

struct ioapic {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t select;
	uint32_t id;
	uint64_t rte[IOAPIC_PINS];
	bool level[IOAPIC_PINS];	/* current input line state */
};

static struct ioapic ioapic_state;

static uint64_t msi_addr(uint64_t rte)
{
	return 0xfee00000ULL | (((rte >> RTE_DEST_SHIFT) & 0xff) << 12) |
	       ((rte & RTE_DEST_LOGICAL) ? 1u << 2 : 0);
}

static uint32_t msi_data(uint64_t rte)
{
	return (uint32_t)((rte & RTE_VECTOR) |
			  (((rte >> RTE_DELIVERY_SHIFT) & 7) << 8) |
			  ((rte & RTE_LEVEL) ? 1u << 15 | 1u << 14 : 0));
}

/*
 * A pin's KVM route only tells KVM which vectors need an EOI exit (to
 * ioapic_eoi()); nothing is injected through it, service() sends each
 * interrupt itself after looking at the mask bit.  So a masked level
 * pin keeps its route: Linux masks a level pin whose handler runs in a
 * thread (the ACPI GED's) before it ends the interrupt at the local
 * APIC, and without the route that EOI never reached us, remote IRR
 * stayed set and the pin never fired again.  An edge pin needs no EOI;
 * its route goes while it is masked, as it never existed at reset.
 */
static void sync_route(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];

	irq_msi_route_set(io->vm, (int)pin, msi_addr(rte), msi_data(rte),
			  (rte & RTE_MASKED) && !(rte & RTE_LEVEL));
}

/* Called with the lock held. */
static void service(struct ioapic *io, unsigned pin)
{
	uint64_t *rte = &io->rte[pin];

	if (*rte & RTE_MASKED)
		return;
	if (*rte & RTE_LEVEL) {
		if (!io->level[pin] || (*rte & RTE_REMOTE_IRR))
			return;
		*rte |= RTE_REMOTE_IRR;
	}
	irq_msi(io->vm, msi_addr(*rte), msi_data(*rte));
}

static void ioapic_set_line(void *opaque, unsigned pin, bool level)
{
	struct ioapic *io = opaque;
	bool rising;

	if (pin >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	rising = level && !io->level[pin];
	io->level[pin] = level;
	if ((io->rte[pin] & RTE_LEVEL) ? level : rising)
		service(io, pin);
	pthread_mutex_unlock(&io->lock);
}

static void ioapic_eoi(void *opaque, unsigned vector)
{
	struct ioapic *io = opaque;

	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *rte = &io->rte[pin];

		if ((*rte & RTE_VECTOR) != vector || !(*rte & RTE_REMOTE_IRR))
			continue;
		*rte &= ~RTE_REMOTE_IRR;
		/* still asserted: the device wants service again */
		service(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

static uint32_t read_indirect(struct ioapic *io)
{
	uint32_t idx = io->select;

	switch (idx) {
	case IDX_ID:
	case IDX_ARB:
		return io->id << 24;
	case IDX_VERSION:
		return IOAPIC_VERSION | ((IOAPIC_PINS - 1) << 16);
	default:
		if (idx >= IDX_REDIR && idx < IDX_REDIR + 2 * IOAPIC_PINS) {
			uint64_t rte = io->rte[(idx - IDX_REDIR) / 2];

			return (uint32_t)(idx & 1 ? rte >> 32 : rte);
		}
		return 0;
	}
}

static void write_indirect(struct ioapic *io, uint32_t value)
{
	uint32_t idx = io->select;
	unsigned pin;
	uint64_t rte;

	if (idx == IDX_ID) {
		io->id = (value >> 24) & 0xf;
		return;
	}
	if (idx < IDX_REDIR || idx >= IDX_REDIR + 2 * IOAPIC_PINS)
		return;
	pin = (idx - IDX_REDIR) / 2;
	rte = io->rte[pin];
	if (idx & 1)
		rte = (rte & 0xffffffffULL) | ((uint64_t)value << 32);
	else
		rte = (rte & ~0xffffffffULL) | value;
	io->rte[pin] = (rte & RTE_WRITABLE) | (io->rte[pin] & ~RTE_WRITABLE);
	/* an edge entry never holds remote IRR */
	if (!(io->rte[pin] & RTE_LEVEL))
		io->rte[pin] &= ~RTE_REMOTE_IRR;
	sync_route(io, pin);
	/* unmasking a level line that is still asserted delivers it */
	if (io->rte[pin] & RTE_LEVEL)
		service(io, pin);
}

static void ioapic_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct ioapic *io = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&io->lock);
	if (off == REG_SELECT)
		v = io->select;
	else if (off == REG_WINDOW)
		v = read_indirect(io);
	pthread_mutex_unlock(&io->lock);
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void ioapic_write(void *opaque, uint64_t off, const void *data,
			 unsigned len)
{
	struct ioapic *io = opaque;
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	pthread_mutex_lock(&io->lock);
	if (off == REG_SELECT)
		io->select = v & 0xff;
	else if (off == REG_WINDOW)
		write_indirect(io, v);
	pthread_mutex_unlock(&io->lock);
	if (off == REG_EOI)
		ioapic_eoi(io, v & 0xff);
}

static const struct bus_ops ioapic_ops = {
	.read = ioapic_read,
	.write = ioapic_write,
};

static const struct irqchip_ops ioapic_chip = {
	.set_line = ioapic_set_line,
	.eoi = ioapic_eoi,
};

static int ioapic_create(struct vm *vm, const void *config)
{
	struct ioapic *io = &ioapic_state;

	(void)config;
	memset(io, 0, sizeof(*io));
	io->vm = vm;
	pthread_mutex_init(&io->lock, NULL);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		io->rte[pin] = RTE_MASKED;
	if (bus_register(&vm->mmio, X86_IOAPIC, X86_IOAPIC_SIZE, &ioapic_ops, io,
			 "ioapic"))
		return -1;
	/* IOREGSEL only selects what the window reads or writes next */
	coalesced_io_add(vm, false, X86_IOAPIC + REG_SELECT, 4);
	irq_register_chip(vm, &ioapic_chip, io);
	snapshot_instance(io);
	return 0;
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the register select, the id, and each pin's redirection entry
 * (remote IRR included) and input level.  The level is the wired
 * device's view too: a device that re-asserts its line after a restore
 * then makes no new edge, and a level pin still asserted at an EOI is
 * delivered again, as before the snapshot.
 */
static int ioapic_save(void *instance, struct snap_writer *w)
{
	struct ioapic *io = instance;

	pthread_mutex_lock(&io->lock);
	snap_u32(w, io->select);
	snap_u32(w, io->id);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		snap_u64(w, io->rte[pin]);
		snap_u8(w, io->level[pin]);
	}
	pthread_mutex_unlock(&io->lock);
	return 0;
}

/* What the guest's writes could not have made of an entry, or NULL */
static const char *rte_error(uint64_t rte)
{
	if (rte & RTE_PENDING)
		return "an entry with a delivery pending";
	if ((rte & RTE_REMOTE_IRR) && !(rte & RTE_LEVEL))
		return "remote IRR on an edge-triggered pin";
	return NULL;
}

static int ioapic_load(void *instance, struct snap_reader *r)
{
	struct ioapic *io = instance;
	uint32_t select = snap_get_u32(r), id = snap_get_u32(r);
	uint64_t rte[IOAPIC_PINS];
	bool level[IOAPIC_PINS];
	const char *bad = NULL;

	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		rte[pin] = snap_get_u64(r);
		level[pin] = snap_get_bool(r);
		if (!bad)
			bad = rte_error(rte[pin]);
	}
	if (snap_done(r))
		bad = "its length, or a line level neither 0 nor 1";
	else if (select > 0xff)
		bad = "a register select above 0xff";
	else if (id > 0xf)
		bad = "an id above 15";
	if (bad) {
		wisp_err("ioapic: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&io->lock);
	io->select = select;
	io->id = id;
	memcpy(io->rte, rte, sizeof(rte));
	memcpy(io->level, level, sizeof(level));
	/* KVM's routes as write_indirect() leaves them.  Nothing is
	 * delivered here: an asserted level pin was delivered before the
	 * snapshot (its remote IRR says so), and the local APICs that hold
	 * it are restored after the devices. */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		sync_route(io, pin);
	pthread_mutex_unlock(&io->lock);
	return 0;
}

static const struct snapshot_ops ioapic_snapshot = {
	.save = ioapic_save,
	.load = ioapic_load,
};
#endif

DEVICE_REGISTER(ioapic) = {
	.name = "ioapic",
	.summary = "I/O APIC at 0xfec00000, 24 pins (split irqchip)",
	.order = ORDER_IRQCHIP,
	.create = ioapic_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &ioapic_snapshot,
#endif
};
