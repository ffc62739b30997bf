// SPDX-License-Identifier: MIT
/*
 * The CMOS RTC (devices/cmos_rtc.c) through its ports, as a guest drives
 * it: the clock reads the host's UTC time in BCD, binary, 24- and 12-hour
 * modes; a time written under the SET bit is what it reads back after,
 * without moving the host's clock; bad BCD is ignored; an enabled alarm
 * sets its flags in register C on time.
 */
#include "unit.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_CMOS_RTC)

#include "fake_vm.h"

#define REG_B 0x0b
#define REG_C 0x0c
#define B_SET 0x80
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BINARY 0x04
#define B_24H 0x02

static struct fake_vm vm;

static uint8_t rd(uint8_t reg)
{
	uint64_t v = reg;

	bus_access(&vm.vm.pio, X86_PORT_CMOS, &v, 1, true);
	v = 0;
	bus_access(&vm.vm.pio, X86_PORT_CMOS + 1, &v, 1, false);
	return (uint8_t)v;
}

static void wr(uint8_t reg, uint8_t val)
{
	uint64_t v = reg;

	bus_access(&vm.vm.pio, X86_PORT_CMOS, &v, 1, true);
	v = val;
	bus_access(&vm.vm.pio, X86_PORT_CMOS + 1, &v, 1, true);
}

static unsigned bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 0xfu);
}

/* The guest's clock as seconds since the epoch, read in BCD 24-hour mode */
static time_t guest_clock(void)
{
	struct tm tm = { 0 };

	tm.tm_sec = (int)bcd(rd(0));
	tm.tm_min = (int)bcd(rd(2));
	tm.tm_hour = (int)bcd(rd(4));
	tm.tm_mday = (int)bcd(rd(7));
	tm.tm_mon = (int)bcd(rd(8)) - 1;
	tm.tm_year = (int)(bcd(rd(0x32)) * 100 + bcd(rd(9))) - 1900;
	return timegm(&tm);
}

static int setup(void **state)
{
	char kernel[] = "/tmp/wisp-cmos-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, NULL };

	(void)state;
	/* the CLI wants a kernel file; nothing reads it here */
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fake_vm_create(&vm, argv);
	unlink(kernel);
	return 0;
}

static void test_reads_host_time(void **state)
{
	time_t before = time(NULL), t = guest_clock(), after = time(NULL);

	(void)state;
	assert_in_range(t, before, after);
	assert_int_equal(rd(REG_B) & (B_24H | B_BINARY), B_24H);
}

static void set_time_2030(void)
{
	wr(REG_B, B_SET | B_24H);
	wr(0x32, 0x20);
	wr(9, 0x30);
	wr(8, 0x01);
	wr(7, 0x01);
	wr(4, 0x13);
	wr(2, 0x00);
	wr(0, 0x00);
}

static void test_set_and_read_back(void **state)
{
	const time_t want = 1893502800;	/* 2030-01-01 13:00:00 UTC */
	time_t host = time(NULL);

	(void)state;
	set_time_2030();
	/* frozen while SET is on: the staged time reads back */
	assert_int_equal(guest_clock(), want);
	wr(REG_B, B_24H);
	assert_in_range(guest_clock(), want, want + 1);
	/* the host's clock did not move */
	assert_in_range(time(NULL), host, host + 2);
	/* a single field written without SET: the minutes */
	wr(2, 0x42);
	assert_int_equal(bcd(rd(2)), 42);
	assert_int_equal(bcd(rd(4)), 13);
}

static void test_bad_values_ignored(void **state)
{
	(void)state;
	set_time_2030();
	wr(REG_B, B_24H);
	wr(0, 0xfa);		/* not BCD */
	wr(2, 0x61);		/* 61 minutes */
	wr(4, 0x24);		/* hour 24 */
	wr(8, 0x13);		/* month 13 */
	wr(0x32, 0x05);		/* century 5 */
	assert_int_equal(bcd(rd(4)), 13);
	assert_int_equal(bcd(rd(8)), 1);
	assert_int_equal(bcd(rd(0x32)), 20);
	assert_in_range(bcd(rd(2)), 0, 1);
}

static void test_modes(void **state)
{
	(void)state;
	set_time_2030();		/* 13:00 */
	wr(REG_B, B_24H | B_BINARY);
	assert_int_equal(rd(4), 13);
	assert_int_equal(rd(9), 30);
	wr(REG_B, 0);			/* 12-hour BCD: 1 PM */
	assert_int_equal(rd(4), 0x81);
	wr(REG_B, B_BINARY);		/* 12-hour binary */
	assert_int_equal(rd(4), 0x81);
	/* 12 AM is hour 0: written in 12-hour mode, read in 24-hour mode */
	wr(4, 12);
	wr(REG_B, B_24H | B_BINARY);
	assert_int_equal(rd(4), 0);
	wr(REG_B, B_24H);
}

/* An alarm on the next second with AIE on: register C shows AF and IRQF
 * within two seconds, once; reading C clears it */
static void test_alarm(void **state)
{
	uint8_t c = 0;

	(void)state;
	wr(REG_B, B_24H);
	(void)rd(REG_C);
	wr(1, 0xff);			/* any second */
	wr(3, 0xff);			/* any minute */
	wr(5, 0xc0);			/* any hour */
	wr(REG_B, B_24H | B_AIE);
	for (int i = 0; i < 30 && !(c & 0x20); i++) {
		event_loop_poll(vm.vm.loop, 100);
		c = rd(REG_C);
	}
	assert_int_equal(c & 0xa0, 0xa0);
	assert_int_equal(rd(REG_C), 0);
	/* disabled: no more flags */
	wr(REG_B, B_24H);
	for (int i = 0; i < 12; i++)
		event_loop_poll(vm.vm.loop, 100);
	assert_int_equal(rd(REG_C) & 0x80, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_host_time),
		cmocka_unit_test(test_set_and_read_back),
		cmocka_unit_test(test_bad_values_ignored),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_alarm),
	};

	return cmocka_run_group_tests_name("cmos-rtc", tests, setup, NULL);
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

	return cmocka_run_group_tests_name("cmos-rtc (not built)", tests, NULL, NULL);
}

#endif
