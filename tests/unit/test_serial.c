// SPDX-License-Identifier: MIT
/*
 * The 16550A (devices/serial_16550.c) as a guest drives it, its input a
 * pipe in place of stdin: bytes written on the host reach RBR, and a
 * FIFO the guest filled itself in loopback mode does not cut host input
 * off for good (a read of 0 bytes once looked like the end of input).
 */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_SERIAL_16550)

#include "fake_vm.h"

#define RBR 0
#define MCR 4
#define LSR 5
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define RX_FIFO 64

static struct fake_vm vm;
static int host_in = -1;	/* the host's end of the serial's stdin */

static uint8_t rd(unsigned reg)
{
	uint64_t v = 0;

	bus_access(&vm.vm.pio, X86_PORT_COM1 + reg, &v, 1, false);
	return (uint8_t)v;
}

static void wr(unsigned reg, uint8_t val)
{
	uint64_t v = val;

	bus_access(&vm.vm.pio, X86_PORT_COM1 + reg, &v, 1, true);
}

static int setup(void **state)
{
	char kernel[] = "/tmp/wisp-serial-kernel-XXXXXX";
	int fd = mkstemp(kernel), p[2];
	const char *const argv[] = { "wisp", "--kernel", kernel, "--serial", "tty", NULL };

	(void)state;
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	/* the serial's input: a pipe on fd 0 */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	host_in = p[1];
	fake_vm_create(&vm, argv);
	unlink(kernel);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_input),
		cmocka_unit_test(test_loopback_full_keeps_input),
	};

	return cmocka_run_group_tests_name("serial-16550", tests, setup, NULL);
}

#else

static void test_not_built(void **state)
{
	(void)state;
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_not_built) };

	return cmocka_run_group_tests_name("serial-16550 (not built)", tests, NULL, NULL);
}

#endif
