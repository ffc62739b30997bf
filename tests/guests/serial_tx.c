/* SPDX-License-Identifier: MIT */
/*
 * 16550A transmit side and registers: LSR THRE/TEMT set when idle and again
 * after a burst, the scratch register, the divisor latch behind DLAB (and
 * IER untouched by it), LCR read-back, IIR "no interrupt" with IER=0.
 * Prints "PATTERN " followed by every printable ASCII character, 0x20-0x7e,
 * for the harness to compare byte for byte.
 */
#include "guest.h"

#define LSR_IDLE (UART_LSR_THRE | UART_LSR_TEMT)

static uint8_t uart_in(int reg) { return inb(COM1 + reg); }
static void uart_out(int reg, uint8_t v) { outb(COM1 + reg, v); }

static bool wait_idle(void)
{
	for (int i = 0; i < 1000; i++)
		if ((uart_in(UART_LSR) & LSR_IDLE) == LSR_IDLE)
			return true;
	return false;
}

void guest_main(const struct hvm_start_info *si)
{
	static const uint8_t scratch[] = { 0x00, 0x55, 0xaa, 0xff, 0x5a };
	const char *why = NULL;
	uint8_t v, got = 0, want = 0, lsr, iir;

	(void)si;
	lsr = uart_in(UART_LSR);
	CHECK((lsr & LSR_IDLE) == LSR_IDLE, "LSR=0x%x when idle, want THRE|TEMT (0x60) set", lsr);

	serial_puts("PATTERN ");
	for (int c = 0x20; c < 0x7f; c++)
		serial_putc((char)c);
	serial_putc('\n');
	CHECK(wait_idle(), "LSR=0x%x after the pattern, THRE|TEMT never set again",
	      uart_in(UART_LSR));

	for (unsigned int i = 0; i < ARRAY_SIZE(scratch); i++) {
		uart_out(UART_SCR, scratch[i]);
		v = uart_in(UART_SCR);
		CHECK(v == scratch[i], "scratch register wrote 0x%x read 0x%x", scratch[i], v);
	}

	/* No output while DLAB is set or LCR is odd: note the failure, restore
	 * the UART, then report. */
	uart_out(UART_IER, 0);
	uart_out(UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
	uart_out(UART_DLL, 0x34);
	uart_out(UART_DLM, 0x12);
	if ((got = uart_in(UART_DLL)) != (want = 0x34))
		why = "DLL";
	else if ((got = uart_in(UART_DLM)) != (want = 0x12))
		why = "DLM";
	else if ((got = uart_in(UART_LCR)) != (want = UART_LCR_DLAB | UART_LCR_8N1))
		why = "LCR with DLAB";
	uart_out(UART_DLL, 1);
	uart_out(UART_DLM, 0);
	uart_out(UART_LCR, 0x1b); /* 8 bits, even parity */
	if (!why && (got = uart_in(UART_LCR)) != (want = 0x1b))
		why = "LCR";
	uart_out(UART_LCR, UART_LCR_8N1);
	if (!why && (got = uart_in(UART_IER)) != (want = 0))
		why = "IER after DLM write";
	CHECK(!why, "%s read 0x%x, wrote 0x%x", why, got, want);

	iir = uart_in(UART_IIR);
	printf("serial_tx: LSR=0x%x IIR=0x%x\n", lsr, iir);
	CHECK(iir & UART_IIR_NO_INT, "IIR=0x%x with IER=0, want bit 0 (no interrupt) set", iir);
	CHECK(wait_idle(), "LSR=0x%x at the end, THRE|TEMT not set", uart_in(UART_LSR));
	pass();
}
