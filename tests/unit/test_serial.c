// SPDX-License-Identifier: MIT
/*
 * The 16550A (devices/serial_16550.c) as a guest drives it, its input a
 * pipe in place of stdin: bytes written on the host reach RBR, and a
 * FIFO the guest filled itself in loopback mode does not cut host input
 * off for good (a read of 0 bytes once looked like the end of input);
 * its snapshot state brings every register and the receive FIFO back in
 * a fresh port, and a payload that is cut short or that no 16550 could
 * hold is refused.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_SERIAL_16550)

#include "fake_vm.h"
#include "snap_device.h"

#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define RX_FIFO 64

static struct fake_vm vm;
#if IS_ENABLED(CONFIG_SNAPSHOT)
static struct fake_vm restored;	/* the VM a snapshot is loaded into */
#endif
static struct fake_vm *guest = &vm;	/* the VM rd() and wr() drive */
static int host_in = -1;	/* the host's end of the serial's stdin */

static uint8_t rd(unsigned reg)
{
	uint64_t v = 0;

	bus_access(&guest->vm.pio, X86_PORT_COM1 + reg, &v, 1, false);
	return (uint8_t)v;
}

static void wr(unsigned reg, uint8_t val)
{
	uint64_t v = val;

	bus_access(&guest->vm.pio, X86_PORT_COM1 + reg, &v, 1, true);
}

/* A VM with the serial port on stdin; only the serial port when `only` */
static void create_vm(struct fake_vm *f, const char *only)
{
	char kernel[] = "/tmp/wisp-serial-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, "--serial", "tty", NULL };

	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fake_vm_create_only(f, argv, only);
	unlink(kernel);
}

static int setup(void **state)
{
	int p[2];

	(void)state;
	/* the serial's input: a pipe on fd 0 */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	host_in = p[1];
	create_vm(&vm, NULL);
	return 0;
}

/* Runs the event loop until RBR has data or a second passed */
static bool wait_data(void)
{
	for (int i = 0; i < 10; i++) {
		if (rd(LSR) & LSR_DR)
			return true;
		event_loop_poll(vm.vm.loop, 100);
	}
	return rd(LSR) & LSR_DR;
}

static void drain(void)
{
	while (rd(LSR) & LSR_DR)
		(void)rd(RBR);
}

static void test_host_input(void **state)
{
	(void)state;
	assert_int_equal(write(host_in, "a", 1), 1);
	assert_true(wait_data());
	assert_int_equal(rd(RBR), 'a');
}

static void test_loopback_full_keeps_input(void **state)
{
	(void)state;
	drain();
	wr(MCR, MCR_LOOP);
	for (int i = 0; i < RX_FIFO + 8; i++)
		wr(RBR, (uint8_t)('0' + i % 10));
	/* a keystroke while the FIFO is full: it must wait, not end input */
	assert_int_equal(write(host_in, "k", 1), 1);
	for (int i = 0; i < 5; i++)
		event_loop_poll(vm.vm.loop, 50);
	wr(MCR, 0);
	drain();
	assert_true(wait_data());
	assert_int_equal(rd(RBR), 'k');
	/* and input goes on after that */
	assert_int_equal(write(host_in, "z", 1), 1);
	assert_true(wait_data());
	assert_int_equal(rd(RBR), 'z');
}

#if IS_ENABLED(CONFIG_SNAPSHOT)
/* Everything a guest can read, IIR and the FIFO last (reading them
 * acknowledges and consumes) */
struct uart_view {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, iir, fifo_len;
	uint8_t fifo[RX_FIFO];
};

static void view(struct uart_view *v)
{
	memset(v, 0, sizeof(*v));
	v->lcr = rd(LCR);
	wr(LCR, v->lcr | LCR_DLAB);
	v->dll = rd(DLL);
	v->dlm = rd(DLM);
	wr(LCR, v->lcr & ~LCR_DLAB);
	v->ier = rd(IER);
	wr(LCR, v->lcr);
	v->mcr = rd(MCR);
	v->lsr = rd(LSR);
	v->msr = rd(MSR);
	v->scr = rd(SCR);
	v->iir = rd(IIR);
	while (v->fifo_len < RX_FIFO && (rd(LSR) & LSR_DR))
		v->fifo[v->fifo_len++] = rd(RBR);
}

/* Divisor 0x010c, 7O2, FIFO on, receive and THR-empty interrupts, and
 * in loopback three bytes sent to itself, waiting in the FIFO */
static void program_uart(void)
{
	drain();
	wr(LCR, LCR_DLAB);
	wr(DLL, 0x0c);
	wr(DLM, 0x01);
	wr(LCR, 0x0e);
	wr(FCR, 0x81);
	wr(IER, 0x03);
	wr(MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR);
	wr(SCR, 0x5a);
	wr(RBR, 'h');
	wr(RBR, 'i');
	wr(RBR, '!');
}

static void test_snapshot_round_trip(void **state)
{
	struct uart_view before, after;
	struct snap_writer w;

	(void)state;
	program_uart();
	snap_device_save("serial-16550", &w);
	view(&before);
	assert_int_equal(before.fifo_len, 3);
	assert_int_equal(before.iir, 0xc4);	/* FIFO on, data available */

	create_vm(&restored, "serial-16550");
	guest = &restored;
	/* a fresh port: what the round trip must bring back is not there */
	assert_int_equal(rd(SCR), 0);
	assert_int_equal(rd(LSR) & LSR_DR, 0);
	assert_int_equal(snap_device_load("serial-16550", w.data, w.len), 0);
	view(&after);
	assert_memory_equal(&after, &before, sizeof(before));
	/* the THR-empty cause, behind the data, was kept too */
	assert_int_equal(rd(IIR), 0xc2);
	assert_int_equal(rd(IIR), 0xc1);
	snap_writer_free(&w);
}

/* A payload cut short, one too long, or with a value no 16550 holds is
 * refused, and the port keeps what it had */
static void test_snapshot_refused(void **state)
{
	struct snap_writer w;
	uint8_t bad[128];

	(void)state;
	program_uart();
	snap_device_save("serial-16550", &w);
	assert_true(w.len <= sizeof(bad) - 1);
	wr(SCR, 0x11);
	assert_int_equal(snap_device_load("serial-16550", w.data, w.len - 1), -1);
	memcpy(bad, w.data, w.len);
	bad[w.len] = 0;
	assert_int_equal(snap_device_load("serial-16550", bad, w.len + 1), -1);
	bad[0] = 0xff;		/* IER with reserved bits */
	assert_int_equal(snap_device_load("serial-16550", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	bad[8] = RX_FIFO + 1;	/* more bytes than the FIFO holds */
	assert_int_equal(snap_device_load("serial-16550", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	bad[4] = 0x02;		/* FCR not enabled, yet not 0 */
	assert_int_equal(snap_device_load("serial-16550", bad, w.len), -1);
	assert_int_equal(rd(SCR), 0x11);
	/* and the payload itself loads */
	assert_int_equal(snap_device_load("serial-16550", w.data, w.len), 0);
	assert_int_equal(rd(SCR), 0x5a);
	snap_writer_free(&w);
	drain();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_input),
		cmocka_unit_test(test_loopback_full_keeps_input),
#if IS_ENABLED(CONFIG_SNAPSHOT)
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_snapshot_refused),
#endif
	};

	return cmocka_run_group_tests_name("serial-16550", tests, setup, NULL);
}

#else

UNIT_NOT_BUILT("serial-16550")

#endif
