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
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <stdlib.h>

#include "core/chardev.h"
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

/* Error lines quote the user's input: controls (C0, DEL, C1 in UTF-8
 * and as raw bytes) and invalid UTF-8 never reach the terminal, valid
 * UTF-8 text does. */
static void test_printable_errors(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain /path", "plain /path" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "a\x1b[2Jb\nc\x7f", "a?[2Jb?c?" },
		{ "csi\x9b" "31m", "csi?31m" },			/* raw 8-bit CSI */
		{ "c1\xc2\x9b" "31m", "c1??31m" },		/* U+009B in UTF-8 */
		{ "bad\xff\xfe", "bad??" },
		{ "overlong\xc0\xaf \xe0\x80\xaf", "overlong?? ???" },
		{ "surrogate\xed\xa0\x80", "surrogate???" },
		{ "cut\xe2\x82", "cut??" },
		{ "big\xf4\x90\x80\x80", "big????" },
	};
	struct cli_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_errorf(&e, "%s", cases[i].in);
		assert_string_equal(e.msg, cases[i].out);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse_v((const char *const[]){ NULL }, true), CLI_RUN);
	assert_string_equal(cfg.kernel, kernel_path);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.memory.size, 512ULL << 20);
	assert_false(cfg.memory.shared);
	assert_true(cfg.memory.thp);	/* cloud-hypervisor's default */
	cli_free(&cfg);
}

static void test_good_values(void **state)
{
	(void)state;
	/* shared=on: refused where no vhost-user device needs it (tiny) */
	if (!IS_ENABLED(CONFIG_MEMORY_SHARED))
		expect_error(PARSE("--memory=size=1G,shared=on"),
			     "shared=on is not built into this binary (CONFIG_MEMORY_SHARED is off)");
	assert_int_equal(PARSE("--cpus", "boot=2",
			       IS_ENABLED(CONFIG_MEMORY_SHARED) ? "--memory=size=1G,shared=on" : "--memory=size=1G",
			       "--cmdline", "console=ttyS0 quiet"), CLI_RUN);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.memory.size, 1ULL << 30);
	assert_int_equal(cfg.memory.shared, IS_ENABLED(CONFIG_MEMORY_SHARED));
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	cli_free(&cfg);
	assert_int_equal(PARSE("--memory", "size=64M,thp=off"), CLI_RUN);
	assert_false(cfg.memory.thp);
	cli_free(&cfg);
}

static void test_unknown_option(void **state)
{
	(void)state;
	expect_error(PARSE("--frobnicate", "x"), "unknown option '--frobnicate'");
	expect_error(PARSE("stray"), "unexpected argument 'stray'");
	/* found by the CLI fuzzer: quoted input kept its newline */
	expect_error(PARSE("two\nlines\033[2J"), "unexpected argument 'two?lines?[2J'");
	expect_error(PARSE("--disk", "path=/nonexistent/a\nb"), "'/nonexistent/a?b'");
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
	expect_error(PARSE("--memory", "size=1G,thp=maybe"), "--memory: 'thp=maybe': expected on or off");
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
	expect_error(PARSE("--cpus", "boot=-1"), "'boot=-1': not a number");
	expect_error(PARSE("--cpus", "boot=+2"), "'boot=+2': not a number");
	expect_error(PARSE("--cpus", "boot= 2"), "'boot= 2': not a number");
	expect_error(PARSE("--cpus", "boot=2x"), "'boot=2x': not a number");
	expect_error(PARSE("--cpus", "boot=18446744073709551616"), "not a number");
	expect_error(PARSE("--memory", "size=18446744073709551615K"), "not a size");
	expect_error(PARSE("--cpus", "boot=2,max=4"), "max must equal boot");
	expect_error(PARSE("--cpus"), "--cpus: needs a value");
}

/* --cpus topology=, affinity=, core_scheduling=, features= as
 * cloud-hypervisor parses and validates them.  Sources, in its
 * repository: vmm/src/config.rs, test_cpu_parsing() (the strings marked
 * "CH test") and test_config_validation() (the topology 2:8:1:2 against
 * 16 vCPUs), VmConfig::validate() (CpuTopologyZeroPart, CpuTopologyCount,
 * CpuTopologyDiesPerPackage on AArch64), CpusConfig::parse() (features:
 * amx only, on x86_64 only); option_parser/src/lib.rs: Tuple (the outer
 * brackets required, one '@' per item) and IntegerList ("A-B" needs
 * A < B); docs/cpu.md (the "example" strings). */
static void test_cpus_topology(void **state)
{
	(void)state;
#if IS_ENABLED(CONFIG_CPU_TOPOLOGY)
	/* CH test: boot=8,topology=2:2:1:2 */
	assert_int_equal(PARSE("--cpus", "boot=8,topology=2:2:1:2"), CLI_RUN);
	assert_int_equal(cfg.cpus, 8);
	assert_int_equal(cfg.cpu_topology.threads, 2);
	assert_int_equal(cfg.cpu_topology.cores, 2);
	assert_int_equal(cfg.cpu_topology.dies, 1);
	assert_int_equal(cfg.cpu_topology.packages, 2);
	cli_free(&cfg);
	/* CH test: three parts, and a part that is no number */
	expect_error(PARSE("--cpus", "boot=8,topology=2:2:1"), "want THREADS:CORES:DIES:PACKAGES");
	expect_error(PARSE("--cpus", "boot=8,topology=2:2:1:x"), "want THREADS:CORES:DIES:PACKAGES");
	expect_error(PARSE("--cpus", "boot=8,topology=2:2:1:2:1"), "want THREADS");
	expect_error(PARSE("--cpus", "boot=8,topology=2:2::2"), "want THREADS");
	expect_error(PARSE("--cpus", "boot=8,topology=2:2:1:65536"), "four numbers 1..65535");
	/* CH validation: a zero part; the product not the vCPU count
	 * (test_config_validation: 2:8:1:2 with 16 vCPUs) */
	expect_error(PARSE("--cpus", "boot=1,topology=0:1:1:1"), "no part of the CPU topology can be 0");
	expect_error(PARSE("--cpus", "boot=16,topology=2:8:1:2"),
		     "'topology=2:8:1:2': 32 vCPUs, but boot=16");
	/* the product in 64 bits: 65535^4 does not wrap to a match */
	expect_error(PARSE("--cpus", "boot=1,topology=65535:65535:65535:65535"), "but boot=1");
	/* docs/cpu.md example: boot=2,topology=1:1:2:1 (dies: x86_64 only) */
	if (IS_ENABLED(CONFIG_ARCH_AARCH64)) {
		expect_error(PARSE("--cpus", "boot=2,topology=1:1:2:1"),
			     "dies per package must be 1 on AArch64");
	} else {
		assert_int_equal(PARSE("--cpus", "boot=2,topology=1:1:2:1"), CLI_RUN);
		assert_int_equal(cfg.cpu_topology.dies, 2);
		cli_free(&cfg);
	}
#else
	expect_error(PARSE("--cpus", "boot=8,topology=2:2:1:2"), "not built into this binary");
#endif
}

static void test_cpus_affinity(void **state)
{
	(void)state;
#if IS_ENABLED(CONFIG_VCPU_PLACEMENT)
	/* CH test: boot=2,affinity=[0@[0,2],1@[1,3]] */
	assert_int_equal(PARSE("--cpus", "boot=2,affinity=[0@[0,2],1@[1,3]]"), CLI_RUN);
	assert_int_equal(cfg.cpu_naffinity, 2);
	assert_int_equal(cfg.cpu_affinity[0].index, 0);
	assert_int_equal(CPU_COUNT(&cfg.cpu_affinity[0].host_cpus), 2);
	assert_true(CPU_ISSET(0, &cfg.cpu_affinity[0].host_cpus));
	assert_true(CPU_ISSET(2, &cfg.cpu_affinity[0].host_cpus));
	assert_int_equal(cfg.cpu_affinity[1].index, 1);
	assert_true(CPU_ISSET(1, &cfg.cpu_affinity[1].host_cpus));
	assert_true(CPU_ISSET(3, &cfg.cpu_affinity[1].host_cpus));
	assert_int_equal(CPU_COUNT(&cfg.cpu_affinity[1].host_cpus), 2);
	cli_free(&cfg);
	/* docs/cpu.md examples: ranges, a range and a single CPU, and a
	 * vCPU left out (it runs anywhere) */
	assert_int_equal(PARSE("--cpus", "boot=3,affinity=[0@[2,3],1@[0,1]]"), CLI_RUN);
	assert_int_equal(cfg.cpu_naffinity, 2);
	cli_free(&cfg);
	assert_int_equal(PARSE("--cpus", "boot=1,affinity=[0@[0-99,255]]"), CLI_RUN);
	assert_int_equal(CPU_COUNT(&cfg.cpu_affinity[0].host_cpus), 101);
	assert_true(CPU_ISSET(255, &cfg.cpu_affinity[0].host_cpus));
	assert_false(CPU_ISSET(100, &cfg.cpu_affinity[0].host_cpus));
	cli_free(&cfg);
	/* IntegerList: brackets optional around one CPU */
	assert_int_equal(PARSE("--cpus", "boot=2,affinity=[1@3]"), CLI_RUN);
	assert_int_equal(cfg.cpu_affinity[0].index, 1);
	assert_true(CPU_ISSET(3, &cfg.cpu_affinity[0].host_cpus));
	cli_free(&cfg);
	/* Tuple: outer brackets required, one '@', numbers */
	expect_error(PARSE("--cpus", "boot=1,affinity=0@[0-4]"), "want [VCPU@[HOST CPUS],...]");
	expect_error(PARSE("--cpus", "boot=1,affinity=[]"), "want VCPU@[HOST CPUS]");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@1@2]"), "'0@1@2': want VCPU@[HOST CPUS]");
	expect_error(PARSE("--cpus", "boot=1,affinity=[x@[1]]"), "want VCPU@[HOST CPUS]");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[1]"), "unbalanced brackets");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[]]"), "host CPUs '': want N or A-B");
	/* IntegerList: A-B needs A < B */
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[3-1]]"), "host CPUs '3-1'");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[2-2]]"), "host CPUs '2-2'");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[1-2-3]]"), "host CPUs '1-2-3'");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[-1]]"), "host CPUs '-1'");
	/* wisp's checks: a vCPU that does not exist, one given twice, a
	 * CPU beyond what sched_setaffinity can name */
	expect_error(PARSE("--cpus", "boot=2,affinity=[2@[0]]"), "vCPU 2 does not exist (boot=2)");
	expect_error(PARSE("--cpus", "boot=2,affinity=[0@[0],0@[1]]"), "vCPU 0: affinity given twice");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[1024]]"), "host CPU 1024: at most 1023");
	expect_error(PARSE("--cpus", "boot=1,affinity=[0@[0-5000]]"), "host CPU 5000");
#else
	expect_error(PARSE("--cpus", "boot=2,affinity=[0@[0,2],1@[1,3]]"), "not built into this binary");
#endif
}

static void test_cpus_scheduling(void **state)
{
	(void)state;
	/* default: CH test "Default (no core_scheduling specified) should be Vm" */
	assert_int_equal(PARSE("--cpus", "boot=1"), CLI_RUN);
	assert_int_equal(cfg.core_scheduling, CORE_SCHED_VM);
	assert_true(cfg.cpu_nested);	/* CH's default, also without --cpus */
	cli_free(&cfg);
	assert_int_equal(PARSE("--memory", "size=1G"), CLI_RUN);
	assert_true(cfg.cpu_nested);
	cli_free(&cfg);
	/* CH test: boot=1,core_scheduling=off; and =invalid refused */
	assert_int_equal(PARSE("--cpus", "boot=1,core_scheduling=off"), CLI_RUN);
	assert_int_equal(cfg.core_scheduling, CORE_SCHED_OFF);
	cli_free(&cfg);
#if IS_ENABLED(CONFIG_VCPU_PLACEMENT)
	/* CH tests: vm, vcpu (CH lower-cases the value) */
	assert_int_equal(PARSE("--cpus", "boot=1,core_scheduling=vm"), CLI_RUN);
	assert_int_equal(cfg.core_scheduling, CORE_SCHED_VM);
	cli_free(&cfg);
	assert_int_equal(PARSE("--cpus", "boot=1,core_scheduling=VCPU"), CLI_RUN);
	assert_int_equal(cfg.core_scheduling, CORE_SCHED_VCPU);
	cli_free(&cfg);
	expect_error(PARSE("--cpus", "boot=1,core_scheduling=invalid"), "want vm, vcpu or off");
	/* features: amx on x86_64 (built or named as not), nothing else */
	if (IS_ENABLED(CONFIG_CPU_AMX)) {
		assert_int_equal(PARSE("--cpus", "boot=1,features=amx"), CLI_RUN);
		assert_true(cfg.cpu_amx);
		cli_free(&cfg);
		assert_int_equal(PARSE("--cpus", "boot=1,features=[amx]"), CLI_RUN);
		assert_true(cfg.cpu_amx);
		cli_free(&cfg);
	} else if (IS_ENABLED(CONFIG_ARCH_X86_64)) {
		expect_error(PARSE("--cpus", "boot=1,features=amx"), "CONFIG_CPU_AMX is off");
	} else {
		expect_error(PARSE("--cpus", "boot=1,features=amx"), "unknown CPU feature 'amx'");
	}
	expect_error(PARSE("--cpus", "boot=1,features=sgx"), "unknown CPU feature 'sgx'");
#else
	expect_error(PARSE("--cpus", "boot=1,core_scheduling=vcpu"), "not built into this binary");
	expect_error(PARSE("--cpus", "boot=1,topology=off"), "'topology=off': not built");
	expect_error(PARSE("--cpus", "boot=1,features=amx"), "not built into this binary");
#endif
}

/* The CLI records the paths; the inputs phase opens them (test_input.c). */
static void test_kernel_file(void **state)
{
	(void)state;
	expect_error(parse_v((const char *const[]){ "--cpus", "boot=1", NULL }, false),
		     "--kernel: no kernel or firmware");
	expect_error(PARSE("--kernel", kernel_path), "--kernel: given more than once");
	expect_error(PARSE("--firmware", kernel_path), "either --kernel or --firmware");
	/* as cloud-hypervisor: with firmware, --cmdline and --initramfs are
	 * warned about and dropped, not refused */
	assert_int_equal(parse_v((const char *const[]){ "--firmware", kernel_path, "--cmdline", "x",
						  "--initramfs", kernel_path, NULL },
				 false),
			 CLI_RUN);
	assert_null(cfg.cmdline);
	assert_null(cfg.initramfs);
	assert_string_equal(cfg.firmware, kernel_path);
	cli_free(&cfg);
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
	expect_error(PARSE("--serial", "loud"),
		     IS_ENABLED(CONFIG_CHARDEV_SOCKET)
		     ? "--serial: expected one of off, null, tty, pty, file=PATH or socket=PATH"
		     : IS_ENABLED(CONFIG_CHARDEV_PTY)
		     ? "--serial: expected one of off, null, tty, pty or file=PATH"
		     : "--serial: expected one of off, null, tty or file=PATH");
	expect_error(PARSE("--serial", "tty,file=/tmp/x"), "--serial: expected one of");
	expect_error(PARSE("--serial", "tty", "--serial", "null"), "--serial: given more than once");
}

/* --disk: every bad image is refused at parse time, before any VM. */
static void test_disk(void **state)
{
	char path[] = "/tmp/wisp-unit-disk-XXXXXX";
	char arg[128];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, holder;

	(void)state;
	if (!device_lookup("disk", NULL))
		skip();
	expect_error(PARSE("--disk", "path=/nonexistent/disk.img"),
		     "--disk: cannot open '/nonexistent/disk.img' for writing: No such file");
	expect_error(PARSE("--disk", "path=/tmp"), "--disk: cannot open '/tmp' for writing: Is a directory");
	expect_error(PARSE("--disk", "path=/tmp,readonly=on"),
		     "--disk: '/tmp' is a directory, not a regular file or block device");
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
	/* queue_affinity=: the --cpus affinity= syntax, its indices queues */
	snprintf(arg, sizeof(arg), "path=%s,num_queues=2,queue_affinity=[0@[0],1@[1-3]]", path);
	if (IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY)) {
		assert_int_equal(PARSE("--cpus", "boot=2", "--disk", arg), CLI_RUN);
		cli_free(&cfg);
		snprintf(arg, sizeof(arg), "path=%s,queue_affinity=[1@[0]]", path);
		expect_error(PARSE("--disk", arg), "'1@[0]': queue 1 does not exist (num_queues=1)");
		snprintf(arg, sizeof(arg), "path=%s,num_queues=2,queue_affinity=[1@[0],1@[1]]", path);
		expect_error(PARSE("--disk", arg), "--disk: queue 1: affinity given twice");
		snprintf(arg, sizeof(arg), "path=%s,queue_affinity=0@[0]", path);
		expect_error(PARSE("--disk", arg), "want [QUEUE@[HOST CPUS],...]");
		snprintf(arg, sizeof(arg), "path=%s,queue_affinity=[0@[2-1]]", path);
		expect_error(PARSE("--disk", arg), "host CPUs '2-1': want N or A-B");
		snprintf(arg, sizeof(arg), "path=%s,queue_affinity=[0@[0]", path);
		expect_error(PARSE("--disk", arg), "unbalanced brackets");
	} else {
		expect_error(PARSE("--disk", arg), IS_ENABLED(CONFIG_CLI_UNBUILT_KEYS)
			     ? "not built into this binary" : "queue_affinity");
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

static const char *id_of(const char *option)
{
	for (size_t i = 0; i < cfg.ndevices; i++)
		if (!strcmp(cfg.devices[i].desc->option, option))
			return cfg.devices[i].id;
	return NULL;
}

/* id= on every device that takes it in cloud-hypervisor (vmm/src/
 * config.rs: VsockConfig, PmemConfig, FsConfig, DeviceConfig and
 * NetConfig all parse "id"), unique across devices as CH's
 * VmConfig::validate requires; a rate-limit group's id is a name of
 * another kind.  --rng and --pmem take iommu= as CH's RngConfig and
 * PmemConfig do. */
static void test_device_ids(void **state)
{
	(void)state;
	if (device_lookup("vsock", NULL)) {
		assert_int_equal(PARSE("--vsock", "cid=3,socket=/tmp/wisp-unit-v.sock,id=v0,pci_segment=0"),
				 CLI_RUN);
		assert_string_equal(id_of("vsock"), "v0");
		cli_free(&cfg);
		expect_error(PARSE("--vsock", "cid=3,socket=/tmp/wisp-unit-v.sock,pci_segment=1"),
			     "pci_segment");
	}
	/* checked where something names devices by id (core/cli.c) */
	bool ids_checked = IS_ENABLED(CONFIG_API) || IS_ENABLED(CONFIG_EVENT_MONITOR);

	if (device_lookup("net", NULL) && ids_checked) {
		expect_error(PARSE("--net", "tap=,id=a", "tap=,id=a"),
			     "id=a is already the id of a --net device: ids must be unique");
		assert_int_equal(PARSE("--net", "tap=,id=a", "tap=,id=b"), CLI_RUN);
		cli_free(&cfg);
	}
	if (device_lookup("net", NULL) && device_lookup("vsock", NULL) && ids_checked)
		expect_error(PARSE("--net", "tap=,id=dev", "--vsock",
				   "cid=3,socket=/tmp/wisp-unit-v.sock,id=dev"),
			     "id=dev is already the id of a --net device");
	if (device_lookup("net", NULL) && device_lookup("rate-limit-group", NULL)) {
		assert_int_equal(PARSE("--rate-limit-group", "id=g,bw_size=1000,bw_refill_time=100",
				       "--net", "tap=,id=g"),
				 CLI_RUN);
		cli_free(&cfg);
	}
	if (device_lookup("fs", NULL)) {
		assert_int_equal(PARSE("--memory", "size=64M,shared=on", "--fs",
				       "tag=t,socket=/tmp/wisp-unit-fs.sock,id=fs0"),
				 CLI_RUN);
		assert_string_equal(id_of("fs"), "fs0");
		cli_free(&cfg);
	}
	if (device_lookup("rng", NULL) && IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		assert_int_equal(PARSE("--rng", "src=/dev/urandom,iommu=on"), CLI_RUN);
		cli_free(&cfg);
	}
	if (device_lookup("rng", NULL) && !IS_ENABLED(CONFIG_VIRTIO_IOMMU))
		expect_error(PARSE("--rng", "src=/dev/urandom,iommu=on"), "iommu");
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
	/* ip= alone: the kernel's mask for the address, as cloud-hypervisor */
	assert_int_equal(PARSE("--net", "tap=t0,ip=10.0.0.1"), CLI_RUN);
	cli_free(&cfg);
	expect_error(PARSE("--net", "tap=t0,ip=10.0.0.300,mask=255.255.255.0"),
		     "--net: '10.0.0.300': not an IPv4 address");
	expect_error(PARSE("--net", "tap=a-name-that-is-far-too-long"), "an interface name has 1 to 15 characters");
	/* a queue pair per vCPU at most, checked once --cpus is read */
	expect_error(PARSE("--net", "tap=t0,num_queues=4"),
		     "--net: 'num_queues=4': at most 2 per vCPU (1 vCPUs)");
	assert_int_equal(PARSE("--net", "tap=t0,mac=52:54:00:12:34:56,num_queues=4",
			       "tap=t1", "--cpus", "boot=2"), CLI_RUN);
	cli_free(&cfg);
}

/* A TAP queue as a caller hands one to fd= (NULL name: the kernel
 * picks), or -1 where this machine cannot make TAPs. */
static int open_tap_queue(char *name, short extra)
{
	struct ifreq ifr = { .ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | extra) };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		return -1;
	}
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/* --net's cloud-hypervisor keys beyond tap=/mac=: host_mac=, mtu=, id=,
 * fd= (one or a [list]), tap= empty. */
static void test_net_keys(void **state)
{
	char arg[128], name[IFNAMSIZ] = "";
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int tap, q1, q2;

	(void)state;
	if (!device_lookup("net", NULL))
		skip();
	assert_true(null_fd >= 0);
	assert_int_equal(PARSE("--net", "tap=,host_mac=52:54:00:aa:bb:cc,mtu=9000,id=net7"), CLI_RUN);
	cli_free(&cfg);
	assert_int_equal(PARSE("--net", "mtu=1280", "mtu=65535"), CLI_RUN);
	cli_free(&cfg);
	expect_error(PARSE("--net", "host_mac=52:54:00:aa:bb"), "--net: 'host_mac=52:54:00:aa:bb': not a unicast MAC");
	expect_error(PARSE("--net", "host_mac=01:54:00:aa:bb:cc"), "not a unicast MAC");
	expect_error(PARSE("--net", "mtu=1279"), "--net: 'mtu=1279': must be 1280..65535");
	expect_error(PARSE("--net", "mtu=65536"), "'mtu=65536': must be 1280..65535");
	expect_error(PARSE("--net", "mtu=big"), "'mtu=big': not a number");
	expect_error(PARSE("--net", "id="), "--net: 'id' needs a value (id=...)");
	snprintf(arg, sizeof(arg), "fd=%d", null_fd);
	expect_error(PARSE("--net", arg), "not a TAP file descriptor");
	expect_error(PARSE("--net", "fd=1000000"), "'fd=1000000': not a TAP file descriptor (not open)");
	expect_error(PARSE("--net", "fd=[3,]"), "'fd=[3,]': '' is not a number");
	expect_error(PARSE("--net", "fd=[3,4"), "'fd=[3,4': a list is [a,b,...]");
	expect_error(PARSE("--net", "fd=[]"), "is not a number");
	expect_error(PARSE("--net", "fd=-1"), "'-1' is not a number");
	expect_error(PARSE("--net", "fd=[1,2,3,4,5,6,7,8,9]"), "at most 8 values");
	expect_error(PARSE("--net", "tap=t0,fd=3"), "give tap= or fd=, not both");
	snprintf(arg, sizeof(arg), "fd=%d,num_queues=4", null_fd);
	expect_error(PARSE("--net", arg), "'num_queues=4': fd= gives 1 queue pairs, so 2 queues");
	close(null_fd);

	tap = open_tap_queue(name, 0);
	if (tap < 0)
		return;		/* no TAPs here: the refusals above are the test */
	snprintf(arg, sizeof(arg), "fd=%d,mac=52:54:00:12:34:56", tap);
	assert_int_equal(PARSE("--net", arg), CLI_RUN);
	cli_free(&cfg);
	snprintf(arg, sizeof(arg), "fd=[%d]", tap);
	assert_int_equal(PARSE("--net", arg), CLI_RUN);
	cli_free(&cfg);
	snprintf(arg, sizeof(arg), "fd=[%d,%d]", tap, tap);
	expect_error(PARSE("--net", arg), "several fds need a TAP made with multi_queue");
	close(tap);
	name[0] = '\0';
	q1 = open_tap_queue(name, IFF_MULTI_QUEUE);
	q2 = open_tap_queue(name, IFF_MULTI_QUEUE);
	assert_true(q1 >= 0 && q2 >= 0);
	snprintf(arg, sizeof(arg), "fd=[%d,%d],num_queues=4", q1, q2);
	assert_int_equal(PARSE("--cpus", "boot=2", "--net", arg), CLI_RUN);
	cli_free(&cfg);
	snprintf(arg, sizeof(arg), "fd=[%d,%d]", q1, q1);
	expect_error(PARSE("--net", arg), "is given twice");
	close(q1);
	close(q2);
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

/* cloud-hypervisor's logging options, from its src/main.rs, create_app():
 * Arg "v" (short 'v', ArgAction::Count) and Arg "log-file" (one value). */
static void test_logging(void **state)
{
	(void)state;
#ifdef CONFIG_LOG_FILE
	/* -v: counted, each 'v' one level (field: verbosity) */
	assert_int_equal(PARSE("-v"), CLI_RUN);
	assert_int_equal(cfg.verbosity, 1);
	cli_free(&cfg);
	assert_int_equal(PARSE("-v", "-vv"), CLI_RUN);
	assert_int_equal(cfg.verbosity, 3);
	cli_free(&cfg);
	/* --log-file PATH (field: log_file); opened by main, not here */
	assert_int_equal(PARSE("--log-file", "/tmp/ch.log"), CLI_RUN);
	assert_string_equal(cfg.log_file, "/tmp/ch.log");
	assert_int_equal(cfg.verbosity, 0);
	cli_free(&cfg);
	expect_error(PARSE("--log-file", "a", "--log-file", "b"), "--log-file: given twice");
	expect_error(PARSE("--log-file="), "--log-file: needs a path");
	expect_error(PARSE("-vx"), "unexpected argument '-vx'");
#else
	/* not built: neither is known, one line */
	expect_error(PARSE("-v"), "unexpected argument '-v'");
	expect_error(PARSE("--log-file", "/tmp/ch.log"), "unknown option '--log-file'");
#endif
}

/* --event-monitor (cloud-hypervisor's main.rs: path= or fd=, nothing
 * bare): parsed here, opened by main() */
static void test_event_monitor_option(void **state)
{
	(void)state;
#ifdef CONFIG_EVENT_MONITOR
	assert_int_equal(PARSE("--event-monitor", "path=/tmp/events.json"), CLI_RUN);
	assert_true(cfg.event_monitor);
	assert_string_equal(cfg.event_monitor_path, "/tmp/events.json");
	cli_free(&cfg);
	assert_int_equal(PARSE("--event-monitor=fd=7"), CLI_RUN);
	assert_null(cfg.event_monitor_path);
	assert_int_equal(cfg.event_monitor_fd, 7);
	cli_free(&cfg);
	expect_error(PARSE("--event-monitor", "path=/tmp/e.json,fd=3"),
		     "--event-monitor: give path= or fd=, not both");
	expect_error(PARSE("--event-monitor", "/tmp/e.json"),
		     "--event-monitor: expected path=PATH or fd=N");
	expect_error(PARSE("--event-monitor", "path="), "--event-monitor: 'path' needs a value");
	expect_error(PARSE("--event-monitor", "fd=x"), "--event-monitor: ");
	expect_error(PARSE("--event-monitor", "fd=1", "--event-monitor", "fd=2"),
		     "--event-monitor: given more than once");
#else
	expect_error(PARSE("--event-monitor", "fd=1"), "unknown option '--event-monitor'");
#endif
}

/* --serial pty / --console pty (CH's create_app() help of "serial" and
 * "console": off|null|pty|tty|file=): a pseudo-terminal whose other side
 * sees the guest's bytes as they are and sends bytes back. */
static void test_chardev_pty(void **state)
{
	struct chardev_config c = { 0 };
	struct chardev cd;
	struct kv_list kv;
	char buf[8];
	int tty;

	(void)state;
	assert_int_equal(kv_parse(&kv, "pty", &err), 0);
#ifdef CONFIG_CHARDEV_PTY
	assert_int_equal(chardev_parse(&kv, &c, true, &err), 0);
	kv_free(&kv);
	assert_int_equal(c.mode, CHARDEV_PTY);
	assert_int_equal(chardev_open(&c, "serial", NULL, &cd), 0);
	assert_true(cd.out_fd >= 0 && cd.in_fd == cd.out_fd);
	tty = open(ptsname(cd.out_fd), O_RDWR | O_NOCTTY);
	assert_true(tty >= 0);
	assert_true(chardev_write(&cd, "a\nb", 3));	/* raw: no \r added */
	assert_int_equal(read(tty, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "a\nb", 3);
	assert_int_equal(write(tty, "k\r", 2), 2);
	usleep(10000);
	assert_int_equal(read(cd.in_fd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "k\r", 2);
	/* nobody reading: output is dropped, the writer never blocks */
	for (int i = 0; i < 20000; i++)
		chardev_write(&cd, "0123456789abcdef", 16);
	close(tty);
	close(cd.out_fd);
#else
	(void)cd; (void)buf; (void)tty;
	assert_int_equal(chardev_parse(&kv, &c, false, &err), -1);
	kv_free(&kv);
	assert_contains(err.msg, "expected one of off, null, tty or file=PATH");
#endif
}

#ifdef CONFIG_CHARDEV_SOCKET
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "core/event.h"

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Serves the loop until fd has `want` bytes to read (or 2 s pass);
 * returns what it read. */
static ssize_t read_served(struct event_loop *loop, int fd, char *buf, size_t want)
{
	size_t got = 0;

	for (int i = 0; i < 200 && got < want; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		event_loop_poll(loop, 10);
		if (poll(&p, 1, 0) != 1)
			continue;
		n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Serves the loop until the chardev's output reaches a client (its
 * accept is the loop's to do); then what the client reads. */
static ssize_t write_served(struct event_loop *loop, struct chardev *cd, int client,
			    const char *text, char *buf, size_t want)
{
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = client, .events = POLLIN };

		event_loop_poll(loop, 10);
		chardev_write(cd, text, strlen(text));
		if (poll(&p, 1, 10) == 1)
			return read_served(loop, client, buf, want);
	}
	return -1;
}

/* --serial socket=PATH (cloud-hypervisor's config.rs ConsoleConfig:
 * socket= for both options, refused for the virtio console when the VM
 * is created): parse refusals, and a client that sees the guest's
 * output and feeds its input, leaves, and a next one that does too. */
static void test_chardev_socket(void **state)
{
	char dir[] = "/tmp/wisp-chardev-XXXXXX", path[64], arg[80], buf[64];
	struct chardev_config c = { 0 };
	struct event_loop *loop;
	struct chardev cd;
	struct kv_list kv;
	struct stat st;
	int client, other;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/serial.sock", dir);
	snprintf(arg, sizeof(arg), "socket=%s", path);

	/* the console: refused, whatever the path */
	assert_int_equal(kv_parse(&kv, arg, &err), 0);
	assert_int_equal(chardev_parse(&kv, &c, false, &err), -1);
	kv_free(&kv);
	assert_contains(err.msg, "only --serial has a socket mode");
	/* a directory that does not exist */
	assert_int_equal(kv_parse(&kv, "socket=/nonexistent-dir/s.sock", &err), 0);
	assert_int_equal(chardev_parse(&kv, &c, true, &err), -1);
	kv_free(&kv);
	assert_contains(err.msg, "directory '/nonexistent-dir' does not exist");
	/* with another mode */
	assert_int_equal(kv_parse(&kv, "tty,socket=/tmp/x.sock", &err), 0);
	assert_int_equal(chardev_parse(&kv, &c, true, &err), -1);
	kv_free(&kv);
	assert_contains(err.msg, "expected one of off, null, tty");

	assert_int_equal(kv_parse(&kv, arg, &err), 0);
	assert_int_equal(chardev_parse(&kv, &c, true, &err), 0);
	assert_int_equal(c.mode, CHARDEV_SOCKET);
	assert_string_equal(c.path, path);
	loop = event_loop_create();
	assert_non_null(loop);
	assert_int_equal(chardev_open(&c, "serial", loop, &cd), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_true(cd.in_fd >= 0);
	/* nobody connected: output goes nowhere, and does not block */
	for (int i = 0; i < 20000; i++)
		assert_true(chardev_write(&cd, "0123456789abcdef", 16));

	/* a client: the guest's output, then its input to the guest */
	client = connect_unix(path);
	assert_int_equal(write_served(loop, &cd, client, "hello\n", buf, 6), 6);
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(write(client, "ls\r", 3), 3);
	assert_int_equal(read_served(loop, cd.in_fd, buf, 3), 3);
	assert_memory_equal(buf, "ls\r", 3);
	/* a client that reads nothing: its socket fills, output is dropped */
	for (int i = 0; i < 20000; i++)
		assert_true(chardev_write(&cd, "0123456789abcdef", 16));
	close(client);

	/* gone: wisp goes on, and the next client is served the same way */
	event_loop_poll(loop, 10);
	client = connect_unix(path);
	assert_int_equal(write_served(loop, &cd, client, "again", buf, 5), 5);
	assert_memory_equal(buf, "again", 5);
	assert_int_equal(write(client, "x", 1), 1);
	assert_int_equal(read_served(loop, cd.in_fd, buf, 1), 1);
	assert_int_equal(buf[0], 'x');

	/* a third while the second is there: it takes over, the second is
	 * closed (it reads its end) */
	other = connect_unix(path);
	assert_int_equal(write_served(loop, &cd, other, "third", buf, 5), 5);
	assert_memory_equal(buf, "third", 5);
	for (;;) {	/* what it had not read yet, then its end */
		struct pollfd p = { .fd = client, .events = POLLIN };
		ssize_t n;

		assert_int_equal(poll(&p, 1, 1000), 1);
		n = read(client, buf, sizeof(buf));
		assert_true(n >= 0);
		if (!n)
			break;
	}
	close(client);
	close(other);

	kv_free(&kv);
	chardev_test_socket_reset();
	close(cd.in_fd);
	assert_int_equal(lstat(path, &st), -1);	/* the file is gone */
	event_loop_destroy(loop);
	rmdir(dir);
}
#else
static void test_chardev_socket(void **state)
{
	struct chardev_config c = { 0 };
	struct kv_list kv;

	(void)state;
	assert_int_equal(kv_parse(&kv, "socket=/tmp/x.sock", &err), 0);
	assert_int_equal(chardev_parse(&kv, &c, true, &err), -1);
	kv_free(&kv);
	assert_contains(err.msg, "expected one of off, null, tty");
}
#endif

#ifdef CONFIG_VFIO
#include <sys/stat.h>

#include "vfio/vfio.h"
#include "vfio/vfio_pci.h"
#if IS_ENABLED(CONFIG_API)
#include "core/api.h"
#include "core/vm.h"
#endif

/* A fake sysfs and /dev for --device: vfio_check_host_device() reads
 * only links and directory listings, which a temporary tree can hold. */
static char vfio_tree[64];

static void tree_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", vfio_tree, rel);
}

static void tree_mkdir(const char *rel)
{
	char p[256], *s;

	tree_path(p, sizeof(p), rel);
	for (s = p + strlen(vfio_tree) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void tree_link(const char *rel, const char *target)
{
	char p[256];

	tree_path(p, sizeof(p), rel);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

static void tree_unlink(const char *rel)
{
	char p[256];

	tree_path(p, sizeof(p), rel);
	unlink(p);
}

static void tree_file(const char *rel)
{
	char p[256];
	int fd;

	tree_path(p, sizeof(p), rel);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
}

/* A PCI device in the fake sysfs, bound to `driver` (NULL: none), in
 * IOMMU group `group` (-1: none). */
static void fake_device(const char *bdf, const char *driver, int group)
{
	char rel[128], target[128];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s", bdf);
	tree_mkdir(rel);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/subsystem", bdf);
	tree_link(rel, "../../../bus/pci");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", bdf);
	tree_unlink(rel);
	if (driver) {
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		tree_link(rel, target);
	}
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/iommu_group", bdf);
	tree_unlink(rel);
	if (group >= 0) {
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
		tree_link(rel, target);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices", group);
		tree_mkdir(rel);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
		snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", bdf);
		tree_link(rel, target);
	}
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	tree_link(rel, target);
}

static enum cli_action parse_device(const char *bdf, const char *extra)
{
	char arg[256];

	snprintf(arg, sizeof(arg), "path=%s/sys/bus/pci/devices/%s%s", vfio_tree, bdf,
		 extra ? extra : "");
	return PARSE("--device", arg);
}

static void test_vfio_device(void **state)
{
	char sys[96], dev[96];
	enum cli_action a;

	(void)state;
	if (!device_lookup("device", NULL))
		skip();
	snprintf(vfio_tree, sizeof(vfio_tree), "/tmp/wisp-unit-vfio-XXXXXX");
	assert_non_null(mkdtemp(vfio_tree));
	tree_mkdir("sys/bus/pci/devices");
	tree_mkdir("sys/bus/pci/drivers/vfio-pci");
	tree_mkdir("dev/vfio");
	tree_file("dev/vfio/vfio");
	tree_file("dev/vfio/7");
	tree_path(sys, sizeof(sys), "sys");
	tree_path(dev, sizeof(dev), "dev");
	vfio_sysfs_root = sys;
	vfio_dev_root = dev;

	expect_error(PARSE("--device", "pci_segment=0"), "--device: path=/sys/bus/pci/devices/DDDD:BB:DD.F is required");
	expect_error(parse_device("0000:00:09.0", NULL), "--device: cannot open 'path=");
	expect_error(PARSE("--device", "path=/tmp"), "--device: '/tmp' is not a PCI device");

	fake_device("0000:00:05.0", "virtio-pci", 7);
	expect_error(parse_device("0000:00:05.0", NULL),
		     "--device: 0000:00:05.0 is bound to virtio-pci, not vfio-pci");
	fake_device("0000:00:05.0", NULL, 7);
	expect_error(parse_device("0000:00:05.0", NULL),
		     "--device: 0000:00:05.0 is bound to no driver, not vfio-pci");
	fake_device("0000:00:05.0", "vfio-pci", -1);
	expect_error(parse_device("0000:00:05.0", NULL),
		     "--device: 0000:00:05.0 has no IOMMU group: the host has no IOMMU on");

	fake_device("0000:00:05.0", "vfio-pci", 7);
	a = parse_device("0000:00:05.0", NULL);
	if (a != CLI_RUN)
		fail_msg("%s", err.msg);
	cli_free(&cfg);
	/* iommu=on needs virtio-iommu built in */
	expect_error(parse_device("0000:00:05.0", ",iommu=perhaps"),
		     "--device: 'iommu=perhaps': expected on or off");
	if (IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		assert_int_equal(parse_device("0000:00:05.0", ",iommu=on"), CLI_RUN);
		cli_free(&cfg);
	} else {
		expect_error(parse_device("0000:00:05.0", ",iommu=on"),
			     "--device: 'iommu=on': this wisp is built without virtio-iommu");
	}
	expect_error(parse_device("0000:00:05.0", ",pci_segment=9"), "--device: ");
	/* x_exclude_mmap_bars=: BARs 0..5, each once, kept out of KVM's slots */
	assert_int_equal(parse_device("0000:00:05.0", ",x_exclude_mmap_bars=[0,2,5]"), CLI_RUN);
	assert_int_equal(((const struct vfio_pci_config *)cfg.devices[0].config)->exclude_mmap_bars,
			 0x25);
#if IS_ENABLED(CONFIG_API)
	{
		/* vm.info: cloud-hypervisor's list of BAR indices */
		static char answer[8192];
		struct vm vm = { .cfg = &cfg };
		unsigned long n = api_test_answer(&vm, "GET /api/v1/vm.info HTTP/1.1\r\n\r\n", 33,
						  answer, sizeof(answer) - 1);

		answer[n] = '\0';
		assert_non_null(strstr(answer, "\"x_exclude_mmap_bars\":[0,2,5]"));
	}
#endif
	cli_free(&cfg);
	assert_int_equal(parse_device("0000:00:05.0", ",x_exclude_mmap_bars=4"), CLI_RUN);
	assert_int_equal(((const struct vfio_pci_config *)cfg.devices[0].config)->exclude_mmap_bars,
			 0x10);
	cli_free(&cfg);
	expect_error(parse_device("0000:00:05.0", ",x_exclude_mmap_bars=[6]"),
		     "--device: 'x_exclude_mmap_bars=[6]': '6' is not a number in 0..5");
	expect_error(parse_device("0000:00:05.0", ",x_exclude_mmap_bars=[2,0,2]"),
		     "--device: 'x_exclude_mmap_bars=': BAR 2 given twice");
	expect_error(parse_device("0000:00:05.0", ",x_exclude_mmap_bars=[1,x]"), "'x' is not a number");
	if (IS_ENABLED(CONFIG_PCI_SEGMENTS))
		expect_error(parse_device("0000:00:05.0", ",pci_segment=1"),
			     "--device: 'pci_segment=1': invalid PCI segment id: --platform num_pci_segments is 1");

	/* one group: the other device's driver decides */
	fake_device("0000:00:06.0", "virtio-pci", 7);
	expect_error(parse_device("0000:00:05.0", NULL),
		     "--device: IOMMU group 7 of 0000:00:05.0 is not viable: 0000:00:06.0 is bound to virtio-pci");
	fake_device("0000:00:06.0", "pcieport", 7);
	assert_int_equal(parse_device("0000:00:05.0", NULL), CLI_RUN);
	cli_free(&cfg);
	fake_device("0000:00:06.0", NULL, 7);
	assert_int_equal(parse_device("0000:00:05.0", NULL), CLI_RUN);
	cli_free(&cfg);

	/* the group's node missing (vfio-pci not loaded, or no permission) */
	tree_unlink("dev/vfio/7");
	expect_error(parse_device("0000:00:05.0", NULL), "/dev/vfio/7: No such file");
	tree_file("dev/vfio/7");
	tree_unlink("dev/vfio/vfio");
	expect_error(parse_device("0000:00:05.0", NULL), "/dev/vfio/vfio: No such file");

	vfio_sysfs_root = "/sys";
	vfio_dev_root = "/dev";
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vfio_tree);
		assert_int_equal(system(cmd), 0);
	}
}
#else
static void test_vfio_device(void **state)
{
	(void)state;
	expect_error(PARSE("--device", "path=/sys/bus/pci/devices/0000:00:01.0"),
		     "--device: vfio-pci is not built into this binary (CONFIG_VFIO is off)");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_errors),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_malformed_kv),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_cpus_topology),
		cmocka_unit_test(test_cpus_affinity),
		cmocka_unit_test(test_cpus_scheduling),
		cmocka_unit_test(test_kernel_file),
		cmocka_unit_test(test_not_built_in),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_pmem),
		cmocka_unit_test(test_device_ids),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_net_keys),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_logging),
		cmocka_unit_test(test_event_monitor_option),
		cmocka_unit_test(test_chardev_pty),
		cmocka_unit_test(test_chardev_socket),
		cmocka_unit_test(test_vfio_device),
	};

	return cmocka_run_group_tests_name("cli (" CONFIG_ARCH ")", tests,
					   make_kernel, drop_kernel);
}
