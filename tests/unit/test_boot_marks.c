// SPDX-License-Identifier: MIT
/*
 * The peers' boot-time marks, as a guest writes them: cloud-hypervisor's
 * debug port 0x80 (devices/debug_port.c) and Firecracker's boot timer at
 * 0xd0000000 (devices/fc_boot_timer.c).  With --timeline each logs on
 * stderr in its peer's words, in the shape the peers' own tools parse;
 * only the writes the peers honour count; a flood of debug-port writes
 * is cut short; without --timeline neither says anything.
 */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#if IS_ENABLED(CONFIG_DEBUG_PORT) && IS_ENABLED(CONFIG_FC_BOOT_TIMER)

#include "core/timeline.h"
#include "fake_vm.h"

/* One VM for all the tests (a second one would leak the first one's
 * default devices); the debug port's line limit is per VM, so the tests
 * count the lines it has logged so far. */
static struct fake_vm vms, *vm = &vms;
static unsigned debug_lines_logged;
static char kernel[] = "/tmp/wisp-marks-kernel-XXXXXX";
static char captured[64 * 1024];
static int saved_stderr = -1;
static FILE *capture_file;

/* stderr into a temporary file until capture_end(), which returns what
 * was written */
static void capture_begin(void)
{
	capture_file = tmpfile();
	assert_non_null(capture_file);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

static const char *capture_end(void)
{
	size_t n;

	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	rewind(capture_file);
	n = fread(captured, 1, sizeof(captured) - 1, capture_file);
	captured[n] = '\0';
	fclose(capture_file);
	return captured;
}


static void pio_write(uint16_t port, uint64_t val, unsigned len)
{
	bus_access(&vm->vm.pio, port, &val, len, true);
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* What cloud-hypervisor's performance-metrics does with a log line: the
 * text after the one "--" is eight words, the seventh the time in
 * seconds, the eighth "seconds". */
static double ch_parse_time(const char *line)
{
	const char *after = strstr(line, "--");
	char words[8][32], extra[32];
	char *end;
	double t;

	assert_non_null(after);
	assert_null(strstr(after + 2, "--"));
	assert_int_equal(sscanf(after + 2, "%31s %31s %31s %31s %31s %31s %31s %31s %31s",
				words[0], words[1], words[2], words[3], words[4],
				words[5], words[6], words[7], extra), 8);
	assert_string_equal(words[7], "seconds");
	t = strtod(words[6], &end);
	assert_true(*end == '\0' && t >= 0 && t < 60);
	return t;
}

static int setup(void **state)
{
	const char *const argv[] = { "wisp", "--kernel", kernel, "--timeline", NULL };
	int fd = mkstemp(kernel);

	(void)state;
	/* the CLI wants a kernel file; nothing reads it here */
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	timeline_start();
	fake_vm_create(vm, argv);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(kernel);
	return 0;
}

/* Each range of codes names its part of the guest, as in
 * cloud-hypervisor; the line is what its tooling parses. */
static void test_debug_port_codes(void **state)
{
	static const struct {
		uint8_t code;
		const char *text;
	} cases[] = {
		{ 0x00, "[Debug I/O port: Firmware code 0x0]" },
		{ 0x1f, "[Debug I/O port: Firmware code 0x1f]" },
		{ 0x20, "[Debug I/O port: Bootloader code 0x20]" },
		{ 0x40, "[Debug I/O port: Kernel code 0x40]" },
		{ 0x41, "[Debug I/O port: Kernel code 0x41]" },
		{ 0x60, "[Debug I/O port: Userspace code 0x60]" },
		{ 0x7f, "[Debug I/O port: Userspace code 0x7f]" },
		{ 0x80, "[Debug I/O port: Custom code 0x80]" },
		{ 0xff, "[Debug I/O port: Custom code 0xff]" },
	};
	double last = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *out;
		double t;

		capture_begin();
		pio_write(X86_PORT_DEBUG, cases[i].code, 1);
		out = capture_end();
		assert_contains(out, cases[i].text);
		assert_int_equal(count_lines(out, "\n"), 1);
		assert_true(strncmp(out, "wisp: ", 6) == 0);
		t = ch_parse_time(out);
		assert_true(t >= last);
		last = t;
		debug_lines_logged++;
	}
}

/* Only one-byte writes are codes; reads see a floating bus. */
static void test_debug_port_ignores_other_accesses(void **state)
{
	uint64_t v = 0;

	(void)state;
	capture_begin();
	pio_write(X86_PORT_DEBUG, 0x4040, 2);
	pio_write(X86_PORT_DEBUG, 0x40404040, 4);
	assert_string_equal(capture_end(), "");
	bus_access(&vm->vm.pio, X86_PORT_DEBUG, &v, 1, false);
	assert_int_equal(v, 0xff);
}

/* A guest writing without end (an I/O delay loop) gets 256 lines in
 * all and one note, not a flood. */
static void test_debug_port_flood_cut_short(void **state)
{
	unsigned rest = 256 - debug_lines_logged;
	const char *out;

	(void)state;
	assert_true(debug_lines_logged > 0 && debug_lines_logged < 256);
	capture_begin();
	for (int i = 0; i < 1000; i++)
		pio_write(X86_PORT_DEBUG, 0x40, 1);
	out = capture_end();
	assert_int_equal(count_lines(out, "[Debug I/O port: "), rest);
	assert_int_equal(count_lines(out, "further writes not logged"), 1);
	assert_int_equal(count_lines(out, "\n"), rest + 1);
	/* and nothing more after the note */
	capture_begin();
	pio_write(X86_PORT_DEBUG, 0x41, 1);
	assert_string_equal(capture_end(), "");
}

/* Without --timeline both devices take the writes silently (the
 * devices read the option at each write). */
static void test_quiet_without_timeline(void **state)
{
	(void)state;
	vms.cfg.timeline = false;
	capture_begin();
	pio_write(X86_PORT_DEBUG, 0x40, 1);
	fake_mmio(vm, X86_FC_BOOT_TIMER, 123, 1, true);
	assert_string_equal(capture_end(), "");
}

/* Firecracker counts a byte 123 at offset 0 and nothing else; it logs
 * "Guest-boot-time = W us W/1000 ms, C CPU us C/1000 CPU ms" and marks
 * the guest's boot complete on wisp's timeline. */
static void test_fc_boot_timer(void **state)
{
	unsigned long long wall, wall_ms, cpu, cpu_ms;
	const char *out, *line;

	(void)state;
	capture_begin();
	fake_mmio(vm, X86_FC_BOOT_TIMER, 122, 1, true);
	fake_mmio(vm, X86_FC_BOOT_TIMER + 1, 123, 1, true);
	fake_mmio(vm, X86_FC_BOOT_TIMER, 123, 2, true);
	fake_mmio(vm, X86_FC_BOOT_TIMER, 123, 4, true);
	timeline_print(true);
	out = capture_end();
	assert_null(strstr(out, "Guest-boot-time"));
	assert_non_null(strstr(out, "-  guest boot complete"));
	assert_int_equal(fake_mmio_read(vm, X86_FC_BOOT_TIMER, 1), 0);

	capture_begin();
	fake_mmio(vm, X86_FC_BOOT_TIMER, 123, 1, true);
	timeline_print(true);
	out = capture_end();
	line = strstr(out, "wisp: Guest-boot-time = ");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "wisp: Guest-boot-time = %llu us %llu ms, %llu CPU us %llu CPU ms",
				&wall, &wall_ms, &cpu, &cpu_ms), 4);
	assert_int_equal(wall_ms, wall / 1000);
	assert_int_equal(cpu_ms, cpu / 1000);
	assert_true(cpu > 0);
	/* the timeline's row now has a time, not "-" */
	assert_null(strstr(out, "-  guest boot complete"));
	assert_non_null(strstr(out, "  guest boot complete"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_port_codes),
		cmocka_unit_test(test_debug_port_ignores_other_accesses),
		cmocka_unit_test(test_debug_port_flood_cut_short),
		cmocka_unit_test(test_fc_boot_timer),
		/* last: its write marks the timeline, which test_fc_boot_timer
		 * wants unmarked at its start */
		cmocka_unit_test(test_quiet_without_timeline),
	};

	return cmocka_run_group_tests_name("boot-marks", tests, setup, teardown);
}

#else

UNIT_NOT_BUILT("boot-marks")

#endif
