// SPDX-License-Identifier: MIT
/*
 * The command line: every bad input gets one line naming the option and
 * the offending token, and good input lands in struct vm_config.  This
 * file is built for every configuration `make test` checks, so the
 * "not built in" cases are exercised against a binary that really lacks
 * the device.
 */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/device.h"

/* A repeatable device that exists only in the test binary, so the
 * repetition syntax can be checked whatever the configuration holds. */
struct test_config {
	const char *path;
	bool readonly;
};

static int test_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct test_config *c = config;

	if (kv_str(args, "path", &c->path, err) < 0 ||
	    kv_bool(args, "readonly", &c->readonly, err) < 0)
		return -1;
	if (!c->path) {
		cli_errorf(err, "path=... is required");
		return -1;
	}
	return 0;
}

DEVICE_REGISTER(unit_test_dev) = {
	.name = "unit-test-dev",
	.summary = "unit test device",
	.option = "unit-test",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct test_config),
	.parse = test_parse,
};

static char kernel_path[64];
static struct vm_config cfg;
static struct cli_error err;

static int make_kernel(void **state)
{
	int fd;

	(void)state;
	snprintf(kernel_path, sizeof(kernel_path), "/tmp/wisp-unit-kernel-XXXXXX");
	fd = mkstemp(kernel_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "kernel", 6), 6);
	close(fd);
	return 0;
}

static int drop_kernel(void **state)
{
	(void)state;
	unlink(kernel_path);
	return 0;
}

/* Parses a NULL-terminated argv (argv[0] and --kernel are added). */
static enum cli_action parse_v(const char *const *args, bool with_kernel)
{
	char *argv[32];
	int argc = 0;
	FILE *out = fopen("/dev/null", "w");
	enum cli_action a;

	argv[argc++] = "wisp";
	if (with_kernel) {
		argv[argc++] = "--kernel";
		argv[argc++] = kernel_path;
	}
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	a = cli_parse(argc, argv, &cfg, out, &err);
	fclose(out);
	return a;
}

#define PARSE(...) parse_v((const char *const[]){ __VA_ARGS__, NULL }, true)

static void expect_error(enum cli_action a, const char *text)
{
	assert_int_equal(a, CLI_ERROR);
	assert_contains(err.msg, text);
	/* one line */
	assert_null(strchr(err.msg, '\n'));
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse_v((const char *const[]){ NULL }, true), CLI_RUN);
	assert_string_equal(cfg.kernel, kernel_path);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.memory.size, 512ULL << 20);
	assert_false(cfg.memory.shared);
	cli_free(&cfg);
}

static void test_good_values(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--cpus", "boot=2", "--memory=size=1G,shared=on",
			       "--cmdline", "console=ttyS0 quiet"), CLI_RUN);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.memory.size, 1ULL << 30);
	assert_int_equal(cfg.memory.shared, IS_ENABLED(CONFIG_MEMORY_SHARED));
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	cli_free(&cfg);
}

static void test_unknown_option(void **state)
{
	(void)state;
	expect_error(PARSE("--frobnicate", "x"), "unknown option '--frobnicate'");
	expect_error(PARSE("stray"), "unexpected argument 'stray'");
}

static void test_malformed_kv(void **state)
{
	(void)state;
	expect_error(PARSE("--memory", "=512M"), "--memory: missing key before '=512M'");
	expect_error(PARSE("--memory", "size=512M,,shared=on"), "--memory: empty item");
	expect_error(PARSE("--memory", "size"), "--memory: 'size' needs a value");
	expect_error(PARSE("--memory", "size=1G,size=2G"), "--memory: 'size' given twice");
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error(PARSE("--memory", "size=1G,colour=blue"), "--memory: unknown key 'colour'");
	expect_error(PARSE("--cpus", "boot=1,sockets=2"), "--cpus: unknown key 'sockets'");
}

static void test_size_units(void **state)
{
	uint64_t v;

	(void)state;
	expect_error(PARSE("--memory", "size=512X"), "--memory: 'size=512X': not a size");
	expect_error(PARSE("--memory", "size=M"), "'size=M': not a size");
	expect_error(PARSE("--memory", "size=99999999999T"), "not a size");
	expect_error(PARSE("--memory", "size=1K"), "too small");
	assert_int_equal(parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("1 G", &v), -1);
	assert_int_equal(parse_size("-1M", &v), -1);
	assert_int_equal(parse_size("0x10M", &v), -1);
}

static void test_cpus(void **state)
{
	(void)state;
	expect_error(PARSE("--cpus", "boot=0"), "--cpus: 'boot=0': must be 1..");
	expect_error(PARSE("--cpus", "boot=two"), "--cpus: 'boot=two': not a number");
	expect_error(PARSE("--cpus", "boot=2,max=4"), "max must equal boot");
	expect_error(PARSE("--cpus"), "--cpus: needs a value");
}

static void test_kernel_file(void **state)
{
	(void)state;
	expect_error(parse_v((const char *const[]){ "--kernel", "/nonexistent/vmlinux", NULL }, false),
		     "--kernel: cannot open '/nonexistent/vmlinux': No such file");
	expect_error(parse_v((const char *const[]){ "--kernel", "/tmp", NULL }, false),
		     "--kernel: '/tmp' is not a regular file");
	expect_error(parse_v((const char *const[]){ "--kernel", "/dev/null", NULL }, false),
		     "--kernel: '/dev/null' is not a regular file");
	expect_error(parse_v((const char *const[]){ "--cpus", "boot=1", NULL }, false),
		     "--kernel: no kernel or firmware");
	expect_error(PARSE("--kernel", kernel_path), "--kernel: given more than once");
	expect_error(PARSE("--firmware", kernel_path), "either --kernel or --firmware");
}

static void test_empty_kernel(void **state)
{
	char path[] = "/tmp/wisp-unit-empty-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	expect_error(parse_v((const char *const[]){ "--kernel", path, NULL }, false), "is empty");
	unlink(path);
}

/* Each device option of cloud-hypervisor's set either reaches its
 * device or says exactly why not. */
static void test_not_built_in(void **state)
{
	(void)state;
	if (!IS_ENABLED(CONFIG_VIRTIO_NET))
		expect_error(PARSE("--net", "tap=tap0"),
			     "wisp: --net: virtio-net is not built into this binary (CONFIG_VIRTIO_NET is off)" + 6);
	else if (!device_lookup("net", NULL))
		expect_error(PARSE("--net", "tap=tap0"),
			     "--net: virtio-net is not implemented yet in this version (CONFIG_VIRTIO_NET is on)");
	if (!IS_ENABLED(CONFIG_VHOST_USER_BLK))
		expect_error(PARSE("--disk", "vhost_user=on,socket=/tmp/s"),
			     "--disk: vhost-user-blk is not built into this binary (CONFIG_VHOST_USER_BLK is off)");
	if (!IS_ENABLED(CONFIG_VFIO))
		expect_error(PARSE("--device", "path=/sys/bus/pci/devices/0000:00:01.0"),
			     "--device: vfio-pci is not built into this binary (CONFIG_VFIO is off)");
	if (!IS_ENABLED(CONFIG_VIRTIO_CONSOLE))
		expect_error(PARSE("--console", "off"),
			     "--console: virtio-console is not built into this binary (CONFIG_VIRTIO_CONSOLE is off)");
	/* and the other way round: an unset variant key must be on/off */
	expect_error(PARSE("--disk", "vhost_user=maybe"), "--disk: 'vhost_user=maybe': expected on or off");
}

static void test_serial(void **state)
{
	(void)state;
	if (!device_lookup("serial", NULL))
		skip();
	assert_int_equal(PARSE("--serial", "tty"), CLI_RUN);
	cli_free(&cfg);
	assert_int_equal(PARSE("--serial", "file=/tmp/x.log"), CLI_RUN);
	cli_free(&cfg);
	expect_error(PARSE("--serial", "loud"), "--serial: expected one of off, null, tty or file=PATH");
	expect_error(PARSE("--serial", "tty,file=/tmp/x"), "--serial: expected one of");
	expect_error(PARSE("--serial", "tty", "--serial", "null"), "--serial: given more than once");
}

/* --disk: every bad image is refused at parse time, before any VM. */
static void test_disk(void **state)
{
	char path[] = "/tmp/wisp-unit-disk-XXXXXX";
	char arg[96];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, holder;

	(void)state;
	if (!device_lookup("disk", NULL))
		skip();
	expect_error(PARSE("--disk", "path=/nonexistent/disk.img"),
		     "--disk: cannot open '/nonexistent/disk.img' for writing: No such file");
	expect_error(PARSE("--disk", "path=/tmp"), "--disk: cannot open '/tmp' for writing: Is a directory");
	expect_error(PARSE("--disk", "path=/tmp,readonly=on"),
		     "--disk: '/tmp' is not a regular file or block device");
	expect_error(PARSE("--disk", "readonly=on"), "--disk: path=FILE is required");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	snprintf(arg, sizeof(arg), "path=%s", path);
	expect_error(PARSE("--disk", arg), "is empty");
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(PARSE("--disk", arg), CLI_RUN);
	cli_free(&cfg);
	snprintf(arg, sizeof(arg), "path=%s,queue_size=100", path);
	expect_error(PARSE("--disk", arg), "--disk: 'queue_size=100': must be a power of two");
	snprintf(arg, sizeof(arg), "path=%s,num_queues=0", path);
	expect_error(PARSE("--disk", arg), "--disk: 'num_queues=0': must be 1..");
	snprintf(arg, sizeof(arg), "path=%s,serial=%s", path, "a-serial-longer-than-twenty");
	expect_error(PARSE("--disk", arg), "at most 20 characters");
	/* iommu=on needs virtio-iommu built in */
	snprintf(arg, sizeof(arg), "path=%s,iommu=perhaps", path);
	expect_error(PARSE("--disk", arg), "--disk: 'iommu=perhaps': expected on or off");
	snprintf(arg, sizeof(arg), "path=%s,iommu=on", path);
	if (IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		assert_int_equal(PARSE("--disk", arg), CLI_RUN);
		cli_free(&cfg);
	} else {
		expect_error(PARSE("--disk", arg),
			     "--disk: 'iommu=on': this wisp is built without virtio-iommu");
	}
	/* another holder's exclusive lock: even a read-only user is refused */
	holder = open(path, O_RDWR);
	assert_true(holder >= 0);
	assert_int_equal(fcntl(holder, F_OFD_SETLK, &fl), 0);
	snprintf(arg, sizeof(arg), "path=%s,readonly=on", path);
	expect_error(PARSE("--disk", arg), "is in use by another process");
	close(holder);
	assert_int_equal(PARSE("--disk", arg), CLI_RUN);
	cli_free(&cfg);
	close(fd);
	unlink(path);
}

/* --pmem: the file must exist and hold the size asked, 2 MiB-aligned. */
static void test_pmem(void **state)
{
	char path[] = "/tmp/wisp-unit-pmem-XXXXXX";
	char arg[96];
	int fd;

	(void)state;
	if (!device_lookup("pmem", NULL))
		skip();
	expect_error(PARSE("--pmem", "file=/nonexistent/pmem.img"),
		     "--pmem: cannot open 'file=/nonexistent/pmem.img': No such file");
	expect_error(PARSE("--pmem", "file=/tmp"), "--pmem: '/tmp' is not a regular file");
	expect_error(PARSE("--pmem", "size=2M"), "--pmem: file=PATH is required");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	snprintf(arg, sizeof(arg), "file=%s,size=4M", path);
	expect_error(PARSE("--pmem", arg), "fewer than size=4194304");
	snprintf(arg, sizeof(arg), "file=%s,size=1M", path);
	expect_error(PARSE("--pmem", arg), "is not a multiple of 2M");
	snprintf(arg, sizeof(arg), "file=%s", path);
	assert_int_equal(PARSE("--pmem", arg), CLI_RUN);
	cli_free(&cfg);
	close(fd);
	unlink(path);
}

/* --net: every bad value is refused before anything is opened. */
static void test_net(void **state)
{
	(void)state;
	if (!device_lookup("net", NULL))
		skip();
	expect_error(PARSE("--net", "tap=t0,mac=52:54:00:12:34"), "--net: 'mac=52:54:00:12:34': not a unicast MAC");
	expect_error(PARSE("--net", "tap=t0,mac=52:54:00:12:34:zz"), "not a unicast MAC");
	expect_error(PARSE("--net", "tap=t0,mac=03:54:00:12:34:56"), "not a unicast MAC");
	expect_error(PARSE("--net", "tap=t0,num_queues=3"), "--net: 'num_queues=3': must be even");
	expect_error(PARSE("--net", "tap=t0,num_queues=64"), "--net: 'num_queues=64': must be 2..16");
	expect_error(PARSE("--net", "tap=t0,ip=10.0.0.1"), "--net: give ip= and mask= together");
	expect_error(PARSE("--net", "tap=t0,ip=10.0.0.300,mask=255.255.255.0"),
		     "--net: '10.0.0.300': not an IPv4 address");
	expect_error(PARSE("--net", "tap=a-name-that-is-far-too-long"), "an interface name has 1 to 15 characters");
	assert_int_equal(PARSE("--net", "tap=t0,mac=52:54:00:12:34:56,num_queues=4",
			       "tap=t1"), CLI_RUN);
	cli_free(&cfg);
}

static size_t count_instances(const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg.ndevices; i++)
		n += !strcmp(cfg.devices[i].desc->name, name);
	return n;
}

static void test_repeatable(void **state)
{
	const struct test_config *c;

	(void)state;
	/* as in cloud-hypervisor: several values after one flag ... */
	assert_int_equal(PARSE("--unit-test", "path=a", "path=b,readonly=on",
			       "--cpus", "boot=1"), CLI_RUN);
	assert_int_equal(count_instances("unit-test-dev"), 2);
	/* ... or the flag again */
	cli_free(&cfg);
	assert_int_equal(PARSE("--unit-test", "path=a", "--unit-test=path=b"), CLI_RUN);
	assert_int_equal(count_instances("unit-test-dev"), 2);
	for (size_t i = 0; i < cfg.ndevices; i++) {
		if (strcmp(cfg.devices[i].desc->name, "unit-test-dev"))
			continue;
		c = cfg.devices[i].config;
		assert_true(!strcmp(c->path, "a") || !strcmp(c->path, "b"));
	}
	cli_free(&cfg);
	expect_error(PARSE("--unit-test", "readonly=on"), "--unit-test: path=... is required");
	expect_error(PARSE("--unit-test", "path=a,bogus=1"), "--unit-test: unknown key 'bogus'");
}

static void test_seccomp(void **state)
{
	(void)state;
	expect_error(PARSE("--seccomp", "sometimes"), "--seccomp: 'sometimes': expected true, false or log");
	assert_int_equal(PARSE("--seccomp", "false"), CLI_RUN);
	assert_int_equal(cfg.seccomp, SECCOMP_OFF);
	cli_free(&cfg);
}

static void test_flags(void **state)
{
	(void)state;
	expect_error(PARSE("--timeline=yes"), "--timeline: takes no value");
	assert_int_equal(parse_v((const char *const[]){ "--version", NULL }, false), CLI_EXIT);
	assert_int_equal(parse_v((const char *const[]){ "--help", NULL }, false), CLI_EXIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_malformed_kv),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_kernel_file),
		cmocka_unit_test(test_empty_kernel),
		cmocka_unit_test(test_not_built_in),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_pmem),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests_name("cli (" CONFIG_ARCH ")", tests,
					   make_kernel, drop_kernel);
}
