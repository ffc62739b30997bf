// SPDX-License-Identifier: MIT
/*
 * --event-monitor's writer (core/event_monitor.c): each event exactly
 * as cloud-hypervisor writes it (serde_json's pretty printer over its
 * event_monitor crate's Event, then an empty line), the file or fd it
 * goes to, and a reader that does not keep up never holding up the
 * writer.
 */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/event_monitor.h"
#include "fake_vm.h"

static void test_format(void **state)
{
	char buf[512];
	size_t n;

	(void)state;
	n = event_monitor_format(buf, sizeof(buf), 2053422, "vm", "booted", NULL, NULL);
	assert_string_equal(buf,
			    "{\n"
			    "  \"timestamp\": {\n"
			    "    \"secs\": 0,\n"
			    "    \"nanos\": 2053422\n"
			    "  },\n"
			    "  \"source\": \"vm\",\n"
			    "  \"event\": \"booted\",\n"
			    "  \"properties\": null\n"
			    "}\n\n");
	assert_int_equal(n, strlen(buf));
	/* a property, its value escaped as JSON */
	n = event_monitor_format(buf, sizeof(buf), 3000000001ull, "virtio-device", "activated",
				 "id", "my\"disk\\1");
	assert_string_equal(buf,
			    "{\n"
			    "  \"timestamp\": {\n"
			    "    \"secs\": 3,\n"
			    "    \"nanos\": 1\n"
			    "  },\n"
			    "  \"source\": \"virtio-device\",\n"
			    "  \"event\": \"activated\",\n"
			    "  \"properties\": {\n"
			    "    \"id\": \"my\\\"disk\\\\1\"\n"
			    "  }\n"
			    "}\n\n");
	assert_int_equal(n, strlen(buf));
	/* too small: nothing, rather than half an event */
	assert_int_equal(event_monitor_format(buf, 64, 0, "vm", "booted", NULL, NULL), 0);
}

/* Reads the whole file. */
static size_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* What the event at *p says, *p moved past it: "source/event". */
static void next_event(const char **p, char *out, size_t size)
{
	char source[32], event[32];
	unsigned long long secs;
	unsigned nanos;
	int used = 0;

	assert_int_equal(sscanf(*p,
				"{\n  \"timestamp\": {\n    \"secs\": %llu,\n    \"nanos\": %u\n  },\n"
				"  \"source\": \"%31[^\"]\",\n  \"event\": \"%31[^\"]\",\n"
				"  \"properties\": null\n}\n\n%n",
				&secs, &nanos, source, event, &used), 4);
	assert_true(used > 0);
	assert_true(nanos < 1000000000u);
	*p += used;
	snprintf(out, size, "%s/%s", source, event);
}

static void test_file(void **state)
{
	char path[] = "/tmp/wisp-events-XXXXXX", buf[4096], ev[64];
	const char *p = buf;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old contents", 12), 12);	/* truncated */
	close(fd);
	assert_int_equal(event_monitor_open(path, -1), 0);
	vm_event("booting");
	vm_event("booted");
	slurp(path, buf, sizeof(buf));
	next_event(&p, ev, sizeof(ev));
	assert_string_equal(ev, "vmm/starting");
	next_event(&p, ev, sizeof(ev));
	assert_string_equal(ev, "vm/booting");
	next_event(&p, ev, sizeof(ev));
	assert_string_equal(ev, "vm/booted");
	assert_string_equal(p, "");
	unlink(path);
}

/* fd=N: a pipe, as libvirt gives it; one whose reader is asleep loses
 * events instead of stopping the thread that reports them. */
static void test_fd(void **state)
{
	static char big[70000];
	char buf[8192], ev[64];
	const char *p = buf;
	size_t total, count = 0;
	int pipefd[2];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(event_monitor_open(NULL, pipefd[1]), 0);
	vm_event("paused");
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	next_event(&p, ev, sizeof(ev));
	assert_string_equal(ev, "vmm/starting");
	next_event(&p, ev, sizeof(ev));
	assert_string_equal(ev, "vm/paused");
	/* 64 KiB of pipe filled and more: returns every time */
	for (int i = 0; i < 2000; i++)
		vm_event("resumed");
	/* what the pipe took is whole events only, though it filled */
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	total = 0;
	while ((n = read(pipefd[0], big + total, sizeof(big) - 1 - total)) > 0)
		total += (size_t)n;
	big[total] = '\0';
	assert_true(total > 60000);
	for (p = big; *p; count++) {
		next_event(&p, ev, sizeof(ev));
		assert_string_equal(ev, "vm/resumed");
	}
	assert_true(count > 300 && count < 2000);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* fd= that is not open, or open for reading only: one line, -1. */
static void test_bad_fd(void **state)
{
	int pipefd[2];

	(void)state;
	assert_int_equal(event_monitor_open(NULL, 987), -1);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(event_monitor_open(NULL, pipefd[0]), -1);
	assert_int_equal(event_monitor_open("/nonexistent-dir/events.json", -1), -1);
	close(pipefd[0]);
	close(pipefd[1]);
}

#if IS_ENABLED(CONFIG_VIRTIO_RNG)
/* A driver starting a device and resetting it (cloud-hypervisor's
 * "virtio-device" events, its id as cloud-hypervisor names the
 * one-per-VM rng), and a reset of a device never started: nothing. */
static void test_device_events(void **state)
{
	const char *argv[] = { "wisp", "--kernel", "/dev/null", "--memory", "size=16M",
			       "--serial", "null", "--rng", "src=/dev/urandom", NULL };
	static struct fake_vm fv;
	char buf[4096];
	int pipefd[2];
	unsigned slot;
	ssize_t n;

	(void)state;
	fake_vm_create(&fv, argv);
	fake_vm_reset(&fv);
	slot = fake_find(&fv, 0x1040 + 4);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(event_monitor_open(NULL, pipefd[1]), 0);
	fake_setup_queue(&fv, slot, 0, 8);	/* DRIVER_OK */
	fake_vm_reset(&fv);			/* status 0 */
	fake_vm_reset(&fv);			/* again, not started: no event */
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"event\": \"starting\""));
	assert_non_null(strstr(buf, "  \"source\": \"virtio-device\",\n"
				    "  \"event\": \"activated\",\n"
				    "  \"properties\": {\n"
				    "    \"id\": \"__rng\"\n"
				    "  }\n}\n\n"));
	assert_non_null(strstr(buf, "  \"source\": \"virtio-device\",\n"
				    "  \"event\": \"reset\",\n"
				    "  \"properties\": {\n"
				    "    \"id\": \"__rng\"\n"
				    "  }\n}\n\n"));
	assert_true(strstr(buf, "\"activated\"") < strstr(buf, "\"reset\""));
	assert_null(strstr(strstr(buf, "\"reset\"") + 1, "\"reset\""));
	close(pipefd[0]);
	close(pipefd[1]);
}
#else
static void test_device_events(void **state)
{
	(void)state;
	skip();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_bad_fd),
		cmocka_unit_test(test_device_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
