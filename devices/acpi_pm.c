// SPDX-License-Identifier: MIT
/*
 * The hardware-reduced ACPI registers (ACPI 6.x, 4.8.3.7 and 5.6.9) at
 * I/O ports 0x600-0x60f, which the FADT and the DSDT (arch/x86_64/acpi.c)
 * point the guest at, laid out as on Cloud Hypervisor so that its OVMF
 * firmware (CloudHv) finds what it hard-codes:
 *
 *   0x600     sleep control: SLP_EN with SLP_TYP 5 (\_S5) powers off;
 *             other sleep types are ignored (wisp has no S1-S4)
 *   0x601     sleep status: WAK_STS, write 1 to clear (never set: the
 *             guest never wakes from anything)
 *   0x604     reset register: 0x01 reboots
 *   0x608     ACPI PM timer, 32 bits, read-only: 3.579545 MHz since the
 *             VM was created.  The firmware times every delay with it
 *             (OvmfPkg's AcpiTimerLib, CLOUDHV_ACPI_TIMER_IO_ADDRESS);
 *             without it the firmware's first stall never ends
 *   0x60c     Generic Event Device event register, 32 bits: the pending
 *             events; reading returns and clears them
 *
 * The GED (ACPI0013) raises ISA IRQ 9, level-triggered and active-high,
 * while an event is pending; its _EVT reads the event register and
 * notifies the power button device (PNP0C0C) with 0x80.  Level rather
 * than edge so that a press the guest cannot take yet (its GED driver
 * has not bound, the I/O APIC pin is masked) is not lost: the line stays
 * up until _EVT reads the register, and the I/O APIC delivers it when
 * the pin is unmasked.
 *
 * Registers are bytes; a wider access is taken byte by byte, and bytes
 * outside 0x600-0x60f read as 0xff, so any access a guest makes is safe.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "arch_layout.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/aml.h"
#include "core/device.h"
#include "core/irq.h"
#include "core/vm.h"

/* offsets from X86_PORT_ACPI_PM */
#define PM_SLEEP_CTL	(X86_PORT_ACPI_SLEEP_CTL - X86_PORT_ACPI_PM)
#define PM_SLEEP_STS	(X86_PORT_ACPI_SLEEP_STS - X86_PORT_ACPI_PM)
#define PM_RESET	(X86_PORT_ACPI_RESET - X86_PORT_ACPI_PM)
#define PM_TIMER	(X86_PORT_ACPI_PM_TIMER - X86_PORT_ACPI_PM)
#define PM_TIMER_LEN	4
#define PM_GED		(X86_PORT_ACPI_GED - X86_PORT_ACPI_PM)
#define PM_GED_LEN	4
#define PM_LEN		(PM_GED + PM_GED_LEN)
_Static_assert(PM_TIMER + PM_TIMER_LEN <= PM_GED, "PM timer and GED overlap");

/* The PM timer's frequency (ACPI 6.3, 4.8.3.3) */
#define PM_TIMER_HZ	3579545ULL
#define NSEC_PER_SEC	1000000000ULL

/* GED event bits */
#define GED_POWER_BUTTON	(1u << 0)

/* Notify value for a power button: "button pressed" (5.6.6). */
#define NOTIFY_BUTTON_PRESSED	0x80

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t sleep_sts;
	uint32_t ged_events;	/* pending, not yet read by the guest */
	bool ged_line;		/* what IRQ 9 was last set to */
	uint64_t timer_start_ns;	/* CLOCK_MONOTONIC at creation */
};

/* One instance per VM, and one VM per wisp: no allocation to leak. */
static struct acpi_pm acpi_pm_state;

/* The register byte `i` bytes into an access at `offset`; PM_LEN (no
 * register) for an offset that is not ours, so nothing can wrap. */
static uint64_t reg_at(uint64_t offset, unsigned i)
{
	return offset < PM_LEN ? offset + i : PM_LEN;
}

/* Lock held: the GED line follows "an event is pending". */
static void ged_update_line(struct acpi_pm *pm)
{
	bool level = pm->ged_events != 0;

	if (level != pm->ged_line) {
		pm->ged_line = level;
		irq_line(pm->vm, X86_IRQ_ACPI_GED, level);
	}
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* The timer's count now; it wraps at 32 bits as the hardware's does. */
static uint32_t pm_timer_count(const struct acpi_pm *pm)
{
	uint64_t ns = monotonic_ns() - pm->timer_start_ns;

	/* split so that the product cannot overflow for centuries */
	return (uint32_t)(ns / NSEC_PER_SEC * PM_TIMER_HZ +
			  ns % NSEC_PER_SEC * PM_TIMER_HZ / NSEC_PER_SEC);
}

static void acpi_pm_read(void *opaque, uint64_t offset, void *data,
			 unsigned len)
{
	struct acpi_pm *pm = opaque;
	uint8_t *out = data;
	uint32_t events = 0, timer = 0;
	bool ged = false;

	/* one reading for every byte of this access */
	if (offset < PM_TIMER + PM_TIMER_LEN && offset + len > PM_TIMER)
		timer = pm_timer_count(pm);

	pthread_mutex_lock(&pm->lock);
	/* the event bytes read are consumed, all of them at once */
	for (unsigned i = 0; i < len; i++) {
		uint64_t r = reg_at(offset, i);

		if (r >= PM_GED && r < PM_GED + PM_GED_LEN) {
			uint32_t mask = 0xffu << (8 * (r - PM_GED));

			events |= pm->ged_events & mask;
			pm->ged_events &= ~mask;
			ged = true;
		}
	}
	if (ged)
		ged_update_line(pm);
	for (unsigned i = 0; i < len; i++) {
		uint64_t r = reg_at(offset, i);

		if (r == PM_SLEEP_STS)
			out[i] = pm->sleep_sts;
		else if (r >= PM_TIMER && r < PM_TIMER + PM_TIMER_LEN)
			out[i] = (uint8_t)(timer >> (8 * (r - PM_TIMER)));
		else if (r >= PM_GED && r < PM_GED + PM_GED_LEN)
			out[i] = (uint8_t)(events >> (8 * (r - PM_GED)));
		else if (r < PM_LEN)
			out[i] = 0;	/* write-only and reserved bytes */
		else
			out[i] = 0xff;	/* past the range: nobody's */
	}
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_write(void *opaque, uint64_t offset, const void *data,
			  unsigned len)
{
	struct acpi_pm *pm = opaque;
	const uint8_t *in = data;

	for (unsigned i = 0; i < len; i++) {
		uint64_t r = reg_at(offset, i);
		uint8_t v = in[i];

		if (r == PM_SLEEP_CTL) {
			unsigned slp_typ = (v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT;

			if ((v & ACPI_SLP_EN) && slp_typ == ACPI_S5_SLP_TYP)
				vm_stop(pm->vm, VM_STOP_POWEROFF);
		} else if (r == PM_SLEEP_STS) {
			pthread_mutex_lock(&pm->lock);
			pm->sleep_sts &= (uint8_t)~(v & ACPI_WAK_STS);
			pthread_mutex_unlock(&pm->lock);
		} else if (r == PM_RESET) {
			if (v == X86_ACPI_RESET_VALUE)
				vm_stop(pm->vm, VM_STOP_REBOOT);
		}
		/* the timer, the event register and reserved bytes ignore writes */
	}
}

static const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

static void acpi_pm_power_button(void *opaque)
{
	struct acpi_pm *pm = opaque;

	pthread_mutex_lock(&pm->lock);
	pm->ged_events |= GED_POWER_BUTTON;
	ged_update_line(pm);
	pthread_mutex_unlock(&pm->lock);
}

/*
 * In \_SB:
 *
 *	Device (GED0) {
 *		Name (_HID, "ACPI0013")
 *		Name (_UID, Zero)
 *		Name (_CRS, ResourceTemplate () {
 *			Interrupt (ResourceConsumer, Level, ActiveHigh,
 *				   Exclusive) { 9 }
 *		})
 *		OperationRegion (GDST, SystemIO, 0x60c, 4)
 *		Field (GDST, DWordAcc, NoLock, Preserve) { GDAT, 32 }
 *		Method (_EVT, 1, Serialized) {
 *			Local0 = GDAT
 *			If (Local0 & 1) { Notify (\_SB.PWRB, 0x80) }
 *		}
 *	}
 *	Device (PWRB) {
 *		Name (_HID, EisaId ("PNP0C0C"))
 *		Name (_UID, Zero)
 *	}
 *
 * The GED's _CRS must hold interrupts only: Linux's GED driver refuses
 * any other resource in it.
 */
static void acpi_pm_describe(void *opaque, struct vm *vm, void *tables)
{
	struct aml *a = tables;

	(void)opaque;
	(void)vm;
	aml_device_begin(a, "GED0");
	aml_name_string(a, "_HID", "ACPI0013");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_interrupt(a, X86_IRQ_ACPI_GED, 0);	/* level, high */
	aml_resources_end(a);
	aml_operation_region(a, "GDST", AML_SYSTEM_IO, X86_PORT_ACPI_GED,
			     PM_GED_LEN);
	aml_field_begin(a, "GDST", AML_ACCESS_DWORD, AML_PRESERVE);
	aml_field_unit(a, "GDAT", 32);
	aml_end(a);
	aml_method_begin(a, "_EVT", 1, true);
	aml_op(a, AML_OP_STORE);
	aml_namestring(a, "GDAT");
	aml_local(a, 0);
	aml_if_begin(a);
	aml_op(a, AML_OP_AND);
	aml_local(a, 0);
	aml_int(a, GED_POWER_BUTTON);
	aml_null_target(a);
	aml_notify(a, "\\_SB.PWRB", NOTIFY_BUTTON_PRESSED);
	aml_end(a);	/* If */
	aml_end(a);	/* Method */
	aml_end(a);	/* GED0 */

	aml_device_begin(a, "PWRB");
	aml_name_eisaid(a, "_HID", "PNP0C0C");
	aml_name_int(a, "_UID", 0);
	aml_end(a);
}

static int acpi_pm_create(struct vm *vm, const void *config)
{
	struct acpi_pm *pm = &acpi_pm_state;

	(void)config;
	memset(pm, 0, sizeof(*pm));
	snapshot_instance(pm);
	pm->vm = vm;
	pm->timer_start_ns = monotonic_ns();
	pthread_mutex_init(&pm->lock, NULL);
	if (bus_register(&vm->pio, X86_PORT_ACPI_PM, PM_LEN, &acpi_pm_ops, pm,
			 "acpi-pm"))
		return -1;
	if (vm_add_describer(vm, acpi_pm_describe, pm))
		return -1;
	vm->power_button = acpi_pm_power_button;
	vm->power_button_opaque = pm;
	return 0;
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the sleep status, the GED's pending events, and the PM
 * timer's count as nanoseconds since its start.  The timer goes on from
 * that count after a restore, as the vCPUs' clocks do, rather than from
 * 0: a guest that reads it across the snapshot never sees it jump back.
 * Any count is safe (pm_timer_count() wraps as the hardware does).  The
 * GED's line is raised again if an event is pending.
 */
static int acpi_pm_save(void *instance, struct snap_writer *w)
{
	struct acpi_pm *pm = instance;

	pthread_mutex_lock(&pm->lock);
	snap_u8(w, pm->sleep_sts);
	snap_u32(w, pm->ged_events);
	pthread_mutex_unlock(&pm->lock);
	snap_u64(w, monotonic_ns() - pm->timer_start_ns);
	return 0;
}

static int acpi_pm_load(void *instance, struct snap_reader *r)
{
	struct acpi_pm *pm = instance;
	uint8_t sleep_sts = snap_get_u8(r);
	uint32_t events = snap_get_u32(r);
	uint64_t timer_ns = snap_get_u64(r);
	const char *bad = NULL;

	if (snap_done(r))
		bad = "its length";
	else if (sleep_sts & ~ACPI_WAK_STS)
		bad = "a sleep status bit wisp never sets";
	else if (events & ~GED_POWER_BUTTON)
		bad = "a GED event wisp never raises";
	if (bad) {
		wisp_err("acpi-pm: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&pm->lock);
	pm->sleep_sts = sleep_sts;
	pm->ged_events = events;
	pm->timer_start_ns = monotonic_ns() - timer_ns;
	ged_update_line(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static const struct snapshot_ops acpi_pm_snapshot = {
	.save = acpi_pm_save,
	.load = acpi_pm_load,
};
#endif

DEVICE_REGISTER(acpi_pm) = {
	.name = "acpi-pm",
	.summary = "ACPI sleep/reset registers and PM timer (0x600) and power button (GED, IRQ 9)",
	.order = ORDER_PLATFORM,
	.create = acpi_pm_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &acpi_pm_snapshot,
#endif
};
