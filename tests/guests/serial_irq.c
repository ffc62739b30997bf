/* SPDX-License-Identifier: MIT */
/*
 * 16550A interrupts through the I/O APIC: ISA IRQ 4 (GSI and IOAPIC from
 * the MADT, default pin 4 of 0xfec00000) is routed edge/fixed/physical to
 * this CPU's LAPIC.  Checks, each with a timeout:
 *   1. enabling IER "THR empty" raises an interrupt, IIR reports 0x2;
 *   2. after transmitting a line, THR empty interrupts again;
 *   3. with IER "data available", the line the harness feeds ("ping\n",
 *      before or after "serial_irq: waiting for input") arrives by
 *      interrupts, IIR 0x4 (or 0xc, character timeout).
 */
#include "guest.h"

#define UART_VECTOR 0x34
#define TIMEOUT_MS 2000
#define RX_TIMEOUT_MS 10000

static volatile uint32_t irqs, thre_irqs, rx_irqs, rx_lines, other_iir;
static volatile uint8_t first_iir;
static char line[64];
static volatile uint32_t line_len;

static void uart_isr(struct irq_frame *f)
{
	(void)f;
	irqs++;
	for (int i = 0; i < 16; i++) {
		uint8_t iir = inb(COM1 + UART_IIR);
		if (iir & UART_IIR_NO_INT)
			break;
		if (!first_iir)
			first_iir = iir;
		switch (iir & UART_IIR_ID) {
		case UART_IIR_THRI: /* reading IIR cleared it */
			thre_irqs++;
			break;
		case UART_IIR_RDI:
		case UART_IIR_TIMEOUT:
			rx_irqs++;
			while (inb(COM1 + UART_LSR) & UART_LSR_DR) {
				char c = (char)inb(COM1 + UART_RBR);
				if (rx_lines)
					continue;
				if (c == '\n' || c == '\r') {
					if (line_len)
						rx_lines++;
				} else if (line_len < sizeof(line) - 1) {
					line[line_len++] = c;
				}
			}
			break;
		case UART_IIR_RLSI:
			other_iir = iir;
			inb(COM1 + UART_LSR);
			break;
		default:
			other_iir = iir;
			inb(COM1 + UART_MSR);
			break;
		}
	}
}

void guest_main(const struct hvm_start_info *si)
{
	struct ioapic_route r;
	uint8_t iir;

	(void)si;
	/* Nothing enabled yet: no interrupt may be pending. */
	outb(COM1 + UART_IER, 0);
	iir = inb(COM1 + UART_IIR);
	CHECK(iir & UART_IIR_NO_INT, "IIR=0x%x with IER=0, want no interrupt pending", iir);

	irq_set_handler(UART_VECTOR, uart_isr);
	lapic_enable();
	CHECK(ioapic_route_isa(4, UART_VECTOR, lapic_id(), &r),
	      "no I/O APIC in the MADT serves ISA IRQ 4");
	printf("serial_irq: IRQ 4 -> GSI %u, IOAPIC 0x%x pin %u, vector 0x%x, LAPIC %u\n",
	       r.gsi, r.ioapic, r.pin, UART_VECTOR, lapic_id());

	/* 1: enabling THRI with an empty THR raises an interrupt at once. */
	outb(COM1 + UART_IER, UART_IER_THRI);
	CHECK(wait_count(&thre_irqs, 1, TIMEOUT_MS),
	      "no THR-empty interrupt within %u ms of IER=0x2 (irqs=%u, IIR now 0x%x)",
	      TIMEOUT_MS, irqs, inb(COM1 + UART_IIR));
	CHECK((first_iir & 0x0f) == UART_IIR_THRI, "first IIR in the handler was 0x%x, want 0x2",
	      first_iir);

	/* 2: transmitting makes THR empty again; IF=0 keeps the handler out
	 * until wait_count(). */
	printf("serial_irq: THR empty interrupt, IIR=0x%x\n", first_iir);
	CHECK(wait_count(&thre_irqs, 2, TIMEOUT_MS),
	      "no THR-empty interrupt after transmitting (irqs=%u)", irqs);
	outb(COM1 + UART_IER, 0);

	/* 3: receive interrupts. */
	printf("serial_irq: waiting for input\n");
	outb(COM1 + UART_IER, UART_IER_RDI);
	bool got = wait_count(&rx_lines, 1, RX_TIMEOUT_MS);
	outb(COM1 + UART_IER, 0);
	ioapic_mask(&r);
	line[line_len] = '\0';
	CHECK(got, "no complete line by receive interrupts within %u ms (rx irqs=%u, %u bytes)",
	      RX_TIMEOUT_MS, rx_irqs, line_len);
	printf("RX %s\n", line);
	CHECK(!strcmp(line, "ping"), "received \"%s\", want \"ping\"", line);
	CHECK(!other_iir, "unexpected IIR 0x%x in the handler", other_iir);
	printf("serial_irq: %u interrupts, %u THR empty, %u receive\n", irqs, thre_irqs, rx_irqs);
	pass();
}
