/* SPDX-License-Identifier: MIT */
/*
 * The ACPI power button: the Generic Event Device raises ISA IRQ 9
 * (level, active high) while an event is pending, and its event register
 * at port 0x60c returns and clears the pending bits (bit 0: power
 * button).  The harness sends wisp SIGTERM after "POWER waiting"; wisp
 * presses the button, this guest sees the interrupt and powers off,
 * and wisp must then exit 0.
 */
#include "guest.h"

#define GED_VECTOR 0x39
#define GED_IRQ 9
#define GED_EVENT_PORT 0x60c
#define GED_POWER_BUTTON 0x1
#define WAIT_MS 15000

static volatile uint32_t presses, spurious;

static void ged_isr(struct irq_frame *f)
{
	uint32_t events = inl(GED_EVENT_PORT);

	(void)f;
	if (events & GED_POWER_BUTTON)
		presses++;
	else
		spurious++;
	/* the dispatcher ends the interrupt (lapic_eoi) after this returns */
}

void guest_main(const struct hvm_start_info *si)
{
	struct ioapic_route r;
	uint32_t events;

	(void)si;
	events = inl(GED_EVENT_PORT);
	CHECK(events == 0, "GED events 0x%x before any press", events);
	irq_set_handler(GED_VECTOR, ged_isr);
	lapic_enable();
	CHECK(ioapic_route_isa(GED_IRQ, GED_VECTOR, lapic_id(), &r),
	      "no I/O APIC serves ISA IRQ 9");
	/* the GED's _CRS says level-triggered, active high */
	r.low |= 1u << 15;
	ioapic_write(r.ioapic, (uint8_t)(0x10 + 2 * r.pin), r.low);
	printf("POWER waiting\n");
	CHECK(wait_count(&presses, 1, WAIT_MS), "no power button interrupt within %u ms",
	      WAIT_MS);
	/* The line dropped when the register was read: no storm, no second
	 * press.  One spurious interrupt is allowed: the paravirtual KVM of
	 * the development machines was seen (about 1 run in 15, under load)
	 * to end the GED's interrupt before its handler ran, so that wisp's
	 * I/O APIC, seeing the line still high at that EOI, rightly sent it
	 * again; Linux's GED driver takes such an interrupt as "no event". */
	msleep(20);
	CHECK(presses == 1 && spurious <= 1, "presses=%u spurious=%u", presses, spurious);
	printf("POWER button pressed\n");
	pass();
}
