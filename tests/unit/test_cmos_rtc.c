// SPDX-License-Identifier: MIT
/*
 * The CMOS RTC (devices/cmos_rtc.c) through its ports, as a guest drives
 * it: the clock reads the host's UTC time in BCD, binary, 24- and 12-hour
 * modes; a time written under the SET bit is what it reads back after,
 * without moving the host's clock; bad BCD is ignored; an enabled alarm
 * sets its flags in register C on time.  Its snapshot state brings back,
 * in a fresh RTC, every byte, the guest's clock, a time being set, and
 * the once-a-second tick; a payload no RTC could hold is refused.
 */
#include "unit.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_CMOS_RTC)

#include "fake_vm.h"
#include "snap_device.h"

#define REG_B 0x0b
#define REG_C 0x0c
#define B_SET 0x80
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BINARY 0x04
#define B_24H 0x02

static struct fake_vm vm;
#if IS_ENABLED(CONFIG_SNAPSHOT)
static struct fake_vm restored;	/* the VM a snapshot is loaded into */
#endif
static struct fake_vm *guest = &vm;	/* the VM rd() and wr() drive */

static uint8_t rd(uint8_t reg)
{
	uint64_t v = reg;

	bus_access(&guest->vm.pio, X86_PORT_CMOS, &v, 1, true);
	v = 0;
	bus_access(&guest->vm.pio, X86_PORT_CMOS + 1, &v, 1, false);
	return (uint8_t)v;
}

static void wr(uint8_t reg, uint8_t val)
{
	uint64_t v = reg;

	bus_access(&guest->vm.pio, X86_PORT_CMOS, &v, 1, true);
	v = val;
	bus_access(&guest->vm.pio, X86_PORT_CMOS + 1, &v, 1, true);
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

/* A VM with every default device, or only the RTC */
static void create_vm(struct fake_vm *f, const char *only)
{
	char kernel[] = "/tmp/wisp-cmos-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, NULL };

	/* the CLI wants a kernel file; nothing reads it here */
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fake_vm_create_only(f, argv, only);
	unlink(kernel);
}

static int setup(void **state)
{
	(void)state;
	create_vm(&vm, NULL);
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
		event_loop_poll(guest->vm.loop, 100);
		c = rd(REG_C);
	}
	assert_int_equal(c & 0xa0, 0xa0);
	assert_int_equal(rd(REG_C), 0);
	/* disabled: no more flags */
	wr(REG_B, B_24H);
	for (int i = 0; i < 12; i++)
		event_loop_poll(guest->vm.loop, 100);
	assert_int_equal(rd(REG_C) & 0x80, 0);
}

#if IS_ENABLED(CONFIG_SNAPSHOT)
#define REG_A 0x0a
#define REG_D 0x0d
#define NVRAM 0x0e		/* the first byte that is only memory */
#define PORT_INDEX X86_PORT_CMOS
/* the payload: index, the 128 bytes, the offset, the staged time */
#define AT_RAM 1
#define AT_OFFSET (AT_RAM + 128)
#define AT_STAGED (AT_OFFSET + 8)
#define PAYLOAD (AT_STAGED + 7 * 4)

static bool is_clock_byte(unsigned reg)
{
	return reg == 0 || reg == 2 || reg == 4 || (reg >= 6 && reg <= 9) || reg == 0x32;
}

/* Every byte a guest reads that does not tick, the index first (reading
 * moves it) and register C last (reading clears it) */
struct cmos_view {
	uint8_t index, ram[128];
};

static void view(struct cmos_view *v)
{
	uint64_t index = 0;

	memset(v, 0, sizeof(*v));
	bus_access(&guest->vm.pio, PORT_INDEX, &index, 1, false);
	v->index = (uint8_t)index;
	for (unsigned reg = 0; reg < 128; reg++)
		if (!is_clock_byte(reg) && reg != REG_C)
			v->ram[reg] = rd((uint8_t)reg);
	v->ram[REG_C] = rd(REG_C);
	index = v->index;
	bus_access(&guest->vm.pio, PORT_INDEX, &index, 1, true);
}

/* Runs the VM's event loop up to 2.5 s for register C's update flag */
static uint8_t wait_update(void)
{
	uint8_t c = 0;

	for (int i = 0; i < 25 && !(c & 0x10); i++) {
		event_loop_poll(guest->vm.loop, 100);
		c = rd(REG_C);
	}
	return c;
}

/* The clock running at 2030, alarms, NVRAM, register A, and UIE on with
 * its first tick's flags up in register C */
static void program_rtc(void)
{
	set_time_2030();
	wr(REG_B, B_24H | B_UIE);
	wr(REG_A, 0x27);
	wr(1, 0x30);
	wr(3, 0x15);
	wr(5, 0x07);
	for (uint8_t reg = NVRAM; reg < 0x30; reg++)
		wr(reg, (uint8_t)(reg * 7));
	(void)rd(REG_C);
	for (int i = 0; i < 25; i++)
		event_loop_poll(guest->vm.loop, 100);	/* C is not read: it keeps UF */
	bus_access(&guest->vm.pio, PORT_INDEX, &(uint64_t){ 0x45 }, 1, true);
}

static void test_snapshot_round_trip(void **state)
{
	struct cmos_view before, after;
	struct snap_writer w;
	time_t clock_before;

	(void)state;
	program_rtc();
	snap_device_save("cmos-rtc", &w);
	view(&before);
	clock_before = guest_clock();
	assert_int_equal(before.index, 0x45);
	assert_int_equal(before.ram[REG_C], 0x90);	/* IRQF | UF */

	create_vm(&restored, "cmos-rtc");
	guest = &restored;
	/* a fresh RTC: the host's time, blank NVRAM, no tick */
	assert_int_not_equal(rd(NVRAM + 1), before.ram[NVRAM + 1]);
	assert_int_equal(wait_update() & 0x10, 0);
	assert_int_equal(snap_device_load("cmos-rtc", w.data, w.len), 0);
	view(&after);
	assert_memory_equal(&after, &before, sizeof(before));
	/* it went on meanwhile, as a battery-backed clock does: about the
	 * 2.5 s the fresh RTC was watched */
	assert_in_range(guest_clock(), clock_before + 2, clock_before + 6);
	/* the tick was re-armed: update flags come again */
	assert_int_equal(wait_update() & 0x90, 0x90);
	snap_writer_free(&w);
}

static void put(uint8_t *p, const struct snap_writer *w, unsigned at, const void *v, size_t n)
{
	memcpy(p, w->data, w->len);
	memcpy(p + at, v, n);
}

/* A time being set (SET on) comes back frozen; payloads no RTC holds
 * are refused, the RTC unchanged */
static void test_snapshot_staged_and_refused(void **state)
{
	const int64_t far = (int64_t)10001 * 366 * 86400;
	struct snap_writer w;
	uint8_t bad[PAYLOAD + 1];

	(void)state;
	set_time_2030();		/* SET on: 2030-01-01 13:00:00 staged */
	snap_device_save("cmos-rtc", &w);
	assert_int_equal(w.len, PAYLOAD);
	wr(REG_B, B_24H);		/* runs; then a minute later */
	wr(2, 0x01);
	assert_int_equal(snap_device_load("cmos-rtc", w.data, w.len), 0);
	assert_int_equal(rd(REG_B), B_SET | B_24H);
	assert_int_equal(guest_clock(), 1893502800);
	wr(NVRAM, 0x99);

	assert_int_equal(snap_device_load("cmos-rtc", w.data, w.len - 1), -1);
	put(bad, &w, PAYLOAD, "", 1);
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len + 1), -1);
	put(bad, &w, 0, "\x80", 1);				/* index 128 */
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	put(bad, &w, AT_RAM + REG_A, "\xa6", 1);		/* UIP */
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	put(bad, &w, AT_RAM + REG_C, "\x40", 1);		/* PF: never raised */
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	put(bad, &w, AT_RAM + REG_D, "\x00", 1);		/* battery dead */
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	put(bad, &w, AT_OFFSET, &far, 8);
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	put(bad, &w, AT_STAGED + 3 * 4, "\0\0\0\0", 4);	/* day 0, SET on */
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	put(bad, &w, AT_STAGED + 2 * 4, "\x18\0\0\0", 4);	/* hour 24 */
	assert_int_equal(snap_device_load("cmos-rtc", bad, w.len), -1);
	assert_int_equal(rd(NVRAM), 0x99);
	wr(REG_B, B_24H);
	snap_writer_free(&w);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_host_time),
		cmocka_unit_test(test_set_and_read_back),
		cmocka_unit_test(test_bad_values_ignored),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_alarm),
#if IS_ENABLED(CONFIG_SNAPSHOT)
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_snapshot_staged_and_refused),
#endif
	};

	return cmocka_run_group_tests_name("cmos-rtc", tests, setup, NULL);
}

#else

UNIT_NOT_BUILT("cmos-rtc")

#endif
