/* SPDX-License-Identifier: MIT */
/*
 * A VM without KVM, for tests and fuzzers that drive devices the way a
 * guest does: guest RAM, the buses, the event loop, and the devices the
 * real device table builds from a real command line.  There is no vm
 * fd, so ioeventfds fail and a queue notification goes through the
 * kick eventfd to the event loop, which the caller runs with
 * event_loop_poll().  Interrupts are counted nowhere (the KVM ioctls
 * fail quietly enough).
 *
 * Functions are static inline: include this from one file per program.
 */
#ifndef WISP_TESTS_FAKE_VM_H
#define WISP_TESTS_FAKE_VM_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch_layout.h"
#include "core/arch.h"
#include "core/cli.h"
#include "core/device.h"
#include "core/event.h"
#include "core/vm.h"
#include "virtio/virtio_spec.h"

#define FAKE_VM_RAM (16ull << 20)
#define FAKE_VM_MAX_FN 32
/* where fake_vm_reset() puts each function's BAR 0 */
#define FAKE_BAR(slot) (ARCH_PCI_MMIO32 + (uint64_t)(slot) * 0x10000)
/* wisp's virtio BAR 0 layout (virtio/virtio_pci.c), as the capabilities
 * in config space describe it */
#define FAKE_CC_DFSELECT 0x00
#define FAKE_CC_DF 0x04
#define FAKE_CC_GFSELECT 0x08
#define FAKE_CC_GF 0x0c
#define FAKE_CC_STATUS 0x14
#define FAKE_CC_Q_SELECT 0x16
#define FAKE_CC_Q_SIZE 0x18
#define FAKE_CC_Q_ENABLE 0x1c
#define FAKE_CC_Q_DESCLO 0x20
#define FAKE_CC_Q_AVAILLO 0x28
#define FAKE_CC_Q_USEDLO 0x30
#define FAKE_BAR_NOTIFY 0x3000
#define FAKE_NOTIFY_MULTIPLIER 4
/* the rings fake_setup_queue() uses, per queue, in the first 1 MiB */
#define FAKE_RING_GPA(q) (0x10000ull + (uint64_t)(q) * 0x4000)

struct fake_vm {
	struct vm vm;
	struct vm_config cfg;
	unsigned slots[FAKE_VM_MAX_FN], nslots;	/* virtio functions, bus order */
};

static inline void fake_mmio(struct fake_vm *f, uint64_t addr, uint64_t val, unsigned len, bool write)
{
	bus_access(&f->vm.mmio, addr, &val, len, write);
}

static inline uint64_t fake_mmio_read(struct fake_vm *f, uint64_t addr, unsigned len)
{
	uint64_t v = 0;

	bus_access(&f->vm.mmio, addr, &v, len, false);
	return v;
}

/* Guest RAM at gpa as a pointer; a test (or fuzzer) that asks for
 * anything but RAM is broken, so it stops there. */
static inline void *fake_ram(struct fake_vm *f, uint64_t gpa, uint64_t len)
{
	void *p = gpa_ptr(&f->vm.mem, gpa, len);

	if (!p) {
		fprintf(stderr, "fake_vm: %#llx+%llu is not guest RAM\n",
			(unsigned long long)gpa, (unsigned long long)len);
		abort();
	}
	return p;
}

/* Descriptor i of the split ring at rings_gpa (FAKE_RING_GPA(q) for the
 * queues fake_setup_queue() made), as a driver writes it. */
static inline void fake_put_desc(struct fake_vm *f, uint64_t rings_gpa, unsigned i, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { htole64(addr), htole32(len), htole16(flags), htole16(next) };

	memcpy(fake_ram(f, rings_gpa + sizeof(d) * i, sizeof(d)), &d, sizeof(d));
}

static inline void fake_cfg_write(struct fake_vm *f, unsigned slot, unsigned off, uint32_t v,
			   unsigned len)
{
	fake_mmio(f, ARCH_PCI_ECAM + ((uint64_t)slot << 15) + off, v, len, true);
}

static inline uint32_t fake_cfg_read(struct fake_vm *f, unsigned slot, unsigned off)
{
	return (uint32_t)fake_mmio_read(f, ARCH_PCI_ECAM + ((uint64_t)slot << 15) + off, 4);
}

/* Parses argv (argv[0] included, NULL-terminated) and builds the VM
 * with only the device named `only` (all of them when NULL): a second
 * VM in one process, for a device's snapshot round trip, then leaves
 * the other devices, whose state is static, alone.  Aborts on any
 * failure -- the caller's set-up is wrong. */
static inline void fake_vm_create_only(struct fake_vm *f, const char *const *argv,
				       const char *only)
{
	const struct device_desc *const *table;
	struct cli_error err;
	uint64_t layout[MEM_MAX_REGIONS][2];
	struct vm *vm = &f->vm;
	int argc = 0;
	size_t n;

	while (argv[argc])
		argc++;
	if (cli_parse(argc, (char *const *)argv, &f->cfg, stdout, &err) != CLI_RUN) {
		fprintf(stderr, "fake_vm: %s\n", err.msg);
		abort();
	}
	vm->cfg = &f->cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_eventfd = vm->grace_timer = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->gsi_lock, NULL);
	vm->loop = event_loop_create();
	n = arch_memory_layout(FAKE_VM_RAM, layout, MEM_MAX_REGIONS);
	if (!vm->loop || memory_init(&vm->mem, &f->cfg.memory, (const uint64_t(*)[2])layout, n))
		abort();
	n = device_table(&table);
	/* instances registered as core/vm.c does, for snapshot tests */
	snapshot_reset();
	for (size_t t = 0; t < n; t++)
		for (size_t i = 0; i < f->cfg.ndevices; i++) {
			if (f->cfg.devices[i].desc != table[t] || !table[t]->create ||
			    (only && strcmp(table[t]->name, only)))
				continue;
			snapshot_device_begin(table[t]);
			if (table[t]->create(vm, f->cfg.devices[i].config) || snapshot_device_end())
				abort();
		}
	for (unsigned s = 1; s < FAKE_VM_MAX_FN; s++)
		if ((fake_cfg_read(f, s, 0) & 0xffff) == 0x1af4)
			f->slots[f->nslots++] = s;
}

static inline void fake_vm_create(struct fake_vm *f, const char *const *argv)
{
	fake_vm_create_only(f, argv, NULL);
}

/* The virtio function with that PCI device id (0x1040 + virtio id). */
static inline unsigned fake_find(struct fake_vm *f, uint16_t device_id)
{
	for (unsigned i = 0; i < f->nslots; i++)
		if (fake_cfg_read(f, f->slots[i], 0) >> 16 == device_id)
			return f->slots[i];
	abort();
}

/* Every function back to a known state: BAR 0 where we want it, the
 * virtio device reset (blk also waits for its running requests), then
 * decoding and bus mastering off. */
static inline void fake_vm_reset(struct fake_vm *f)
{
	for (unsigned i = 0; i < f->nslots; i++) {
		unsigned s = f->slots[i];

		fake_cfg_write(f, s, 0x04, 0, 2);
		fake_cfg_write(f, s, 0x10, (uint32_t)FAKE_BAR(s), 4);
		fake_cfg_write(f, s, 0x14, 0, 4);
		fake_cfg_write(f, s, 0x04, 0x6, 2);
		fake_mmio(f, FAKE_BAR(s) + FAKE_CC_STATUS, 0, 1, true);
		fake_cfg_write(f, s, 0x04, 0, 2);
	}
}

/* ACKNOWLEDGE, DRIVER, every offered feature, FEATURES_OK; decoding and
 * bus mastering on. */
static inline void fake_negotiate(struct fake_vm *f, unsigned s)
{
	uint64_t bar = FAKE_BAR(s);

	fake_cfg_write(f, s, 0x04, 0x6, 2);
	fake_mmio(f, bar + FAKE_CC_STATUS, 0x3, 1, true);		/* ACK | DRIVER */
	for (unsigned sel = 0; sel < 2; sel++) {
		fake_mmio(f, bar + FAKE_CC_DFSELECT, sel, 4, true);
		fake_mmio(f, bar + FAKE_CC_GFSELECT, sel, 4, true);
		fake_mmio(f, bar + FAKE_CC_GF, fake_mmio_read(f, bar + FAKE_CC_DF, 4), 4, true);
	}
	fake_mmio(f, bar + FAKE_CC_STATUS, 0xb, 1, true);		/* FEATURES_OK */
}

/* Queue q with `size` entries at FAKE_RING_GPA(q): descriptors, then
 * avail at +4 KiB, used at +8 KiB; before DRIVER_OK. */
static inline void fake_add_queue(struct fake_vm *f, unsigned s, unsigned q, uint32_t size)
{
	uint64_t bar = FAKE_BAR(s);

	fake_mmio(f, bar + FAKE_CC_Q_SELECT, q, 2, true);
	fake_mmio(f, bar + FAKE_CC_Q_SIZE, size, 2, true);
	fake_mmio(f, bar + FAKE_CC_Q_DESCLO, FAKE_RING_GPA(q), 4, true);
	fake_mmio(f, bar + FAKE_CC_Q_AVAILLO, FAKE_RING_GPA(q) + 0x1000, 4, true);
	fake_mmio(f, bar + FAKE_CC_Q_USEDLO, FAKE_RING_GPA(q) + 0x2000, 4, true);
	fake_mmio(f, bar + FAKE_CC_Q_ENABLE, 1, 2, true);
}

/* Negotiates every offered feature and enables queue q (above); then
 * DRIVER_OK.  Leaves decoding and bus mastering on. */
static inline void fake_setup_queue(struct fake_vm *f, unsigned s, unsigned q, uint32_t size)
{
	fake_negotiate(f, s);
	fake_add_queue(f, s, q, size);
	fake_mmio(f, FAKE_BAR(s) + FAKE_CC_STATUS, 0xf, 1, true);	/* DRIVER_OK */
}

static inline void fake_notify(struct fake_vm *f, unsigned s, unsigned q)
{
	fake_mmio(f, FAKE_BAR(s) + FAKE_BAR_NOTIFY + q * FAKE_NOTIFY_MULTIPLIER, q, 2, true);
	event_loop_poll(f->vm.loop, 0);
}

static inline uint8_t fake_status(struct fake_vm *f, unsigned s)
{
	return (uint8_t)fake_mmio_read(f, FAKE_BAR(s) + FAKE_CC_STATUS, 1);
}

#endif
