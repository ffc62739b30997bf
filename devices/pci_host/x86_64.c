// SPDX-License-Identifier: MIT
/*
 * The PCI host bridge on x86_64 (pci_host.h): configuration space
 * through the legacy 0xcf8/0xcfc ports beside ECAM (segment 0's only,
 * as on real machines), and, with ACPI, each segment's PNP0A08 root
 * bridge in the DSDT with its bus, I/O and memory windows and INTx
 * routing, so Linux finds every PCI device without command-line hints.
 */
#include "devices/pci_host/pci_host.h"

#include <string.h>

#include "arch_layout.h"
#ifdef CONFIG_ACPI
#include "arch/x86_64/aml.h"
#endif
#include "core/pci.h"
#include "core/snapshot.h"
#include "core/vm.h"

#define CONFIG_ADDRESS_ENABLE 0x80000000u

/* The legacy mechanism: a dword address register at 0xcf8 and the data
 * window at 0xcfc-0xcff.  A byte at 0xcf9 is the PC's reset control
 * register: bit 2 resets the machine (Linux's reboot=pci); other
 * narrow accesses at 0xcf8-0xcfb are ignored. */
#define RESET_CONTROL_OFFSET 1
#define RESET_CONTROL_RESET 0x04

struct cf8_port {
	struct vm *vm;
	struct pci_segment *seg;
	pthread_mutex_t lock;
	uint32_t config_address;	/* the 0xcf8 register */
};

/* pci_host_arch_create() sets it up for each VM; the lock needs no new
 * initialisation then, as every access leaves it unlocked. */
static struct cf8_port cf8 = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void cf8_access(struct cf8_port *c, uint64_t off, void *data, unsigned len,
		       bool write)
{
	uint32_t addr;

	if (off == RESET_CONTROL_OFFSET && len == 1) {
		if (write && (*(uint8_t *)data & RESET_CONTROL_RESET))
			vm_stop(c->vm, VM_STOP_REBOOT);
		else if (!write)
			*(uint8_t *)data = 0;
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (off == 0 && len == 4) {
		if (write)
			memcpy(&c->config_address, data, 4);
		else
			memcpy(data, &c->config_address, 4);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	addr = c->config_address;
	pthread_mutex_unlock(&c->lock);
	if (off < 4 || !(addr & CONFIG_ADDRESS_ENABLE)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	pci_config_access(c->seg, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
			  ((addr & 0xfc) | ((addr >> 16) & 0xf00)) + (unsigned)(off - 4),
			  data, len, write);
}

static void cf8_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	cf8_access(opaque, off, data, len, false);
}

static void cf8_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	cf8_access(opaque, off, (void *)data, len, true);
}

static const struct bus_ops cf8_ops = { .read = cf8_read, .write = cf8_write };

#ifdef CONFIG_ACPI
/* _PRT: INTx of every slot and pin to its I/O APIC pin (pci_intx_line),
 * for functions that use INTx (VFIO devices). */
static void pci_host_describe_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_package_begin(a, PCI_SLOTS * 4);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 1; pin <= 4; pin++) {
			aml_package_begin(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin - 1);
			aml_int(a, 0);	/* no link device: the GSI itself */
			aml_int(a, (uint64_t)pci_intx_line(slot, pin));
			aml_end(a);
		}
	}
	aml_end(a);
}

static void pci_host_describe(void *opaque, struct vm *vm, void *tables)
{
	static const char *const root_bridge[PCI_MAX_SEGMENTS] = { "PCI0", "PCI1", "PCI2", "PCI3" };
	struct pci_segment *seg = opaque;
	struct aml *a = tables;

	aml_device_begin(a, root_bridge[IS_ENABLED(CONFIG_PCI_SEGMENTS) ? seg->id : 0]);
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_int(a, "_SEG", seg->id);
	aml_name_int(a, "_UID", seg->id);
	aml_name_int(a, "_BBN", 0);
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_word_bus(a, 0, (uint16_t)((ARCH_PCI_ECAM_SIZE >> 20) - 1));
	/* the ports, and so the I/O space, are segment 0's */
	if (!IS_ENABLED(CONFIG_PCI_SEGMENTS) || !seg->id) {
		aml_res_io(a, X86_PORT_PCI_CONFIG, X86_PORT_PCI_CONFIG, 1, 8);
		aml_res_word_io(a, 0x0000, X86_PORT_PCI_CONFIG - 1);
		aml_res_word_io(a, X86_PORT_PCI_CONFIG + 8, 0xffff);
	}
	aml_res_dword_memory(a, (uint32_t)seg->mmio32,
			     (uint32_t)(seg->mmio32 + seg->mmio32_size - 1), false);
	aml_res_qword_memory(a, seg->mmio64, seg->mmio64 + seg->mmio64_size - 1, true);
	aml_resources_end(a);
	pci_host_describe_prt(a);
	aml_end(a);
	if (IS_ENABLED(CONFIG_PCI_SEGMENTS) && seg->id)
		return;

	/* the ECAM areas (every segment's, one after the other) are the
	 * motherboard's, so the OS leaves them alone */
	aml_device_begin(a, "MRES");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_memory32_fixed(a, (uint32_t)seg->ecam,
			       (uint32_t)(ARCH_PCI_ECAM_SIZE * pci_segments_of(vm->cfg)), false);
	aml_resources_end(a);
	aml_end(a);
}
#endif

#ifdef CONFIG_SNAPSHOT
/* The 0xcf8 latch: a guest can write any dword there, so any loads. */
void pci_host_arch_save(struct snap_writer *w)
{
	pthread_mutex_lock(&cf8.lock);
	snap_u32(w, cf8.config_address);
	pthread_mutex_unlock(&cf8.lock);
}

void pci_host_arch_load(struct snap_reader *r)
{
	uint32_t addr = snap_get_u32(r);

	pthread_mutex_lock(&cf8.lock);
	cf8.config_address = addr;
	pthread_mutex_unlock(&cf8.lock);
}
#endif

int pci_host_arch_create(struct vm *vm, struct pci_segment *seg)
{
	/* the ports reach segment 0 alone */
	if (!IS_ENABLED(CONFIG_PCI_SEGMENTS) || !seg->id) {
		cf8.vm = vm;
		cf8.seg = seg;
		cf8.config_address = 0;
		if (bus_register(&vm->pio, X86_PORT_PCI_CONFIG, 8, &cf8_ops, &cf8, "pci-cf8"))
			return -1;
	}
#ifdef CONFIG_ACPI
	if (vm_add_describer(vm, pci_host_describe, seg))
		return -1;
#endif
	return 0;
}
