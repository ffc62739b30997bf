// SPDX-License-Identifier: MIT
/*
 * The inputs phase (core/input.c, core/file.c) and the checks that run
 * before /dev/kvm is opened: each bad boot file gets one line naming the
 * option, the file and what is wrong with it, and nothing blocks (a FIFO
 * is refused, not waited on).  On x86_64, the PVH check against the RAM
 * --memory gives (arch_check_boot).
 */
#include "unit.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/file.h"
#include "core/device.h"
#include "core/input.h"
#include "core/kconfig.h"

static char dir[] = "/tmp/wisp-unit-input-XXXXXX";
static char path[256];
static char err_path[256];
static char err_line[512];

static const char *in_dir(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_file(const char *name, const void *data, size_t len)
{
	int fd = open(in_dir(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* wisp_err writes to fd 2: these run `body` with it going to a file and
 * keep what was written, which must be one line. */
static int saved_stderr = -1;

static void capture_start(void)
{
	int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static const char *capture_end(void)
{
	ssize_t n;
	int fd;

	dup2(saved_stderr, 2);
	close(saved_stderr);
	fd = open(err_path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, err_line, sizeof(err_line) - 1);
	close(fd);
	err_line[n > 0 ? n : 0] = '\0';
	/* exactly one line */
	if (n > 0)
		assert_ptr_equal(strchr(err_line, '\n'), err_line + n - 1);
	return err_line;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = { "stderr", "empty", "fifo", "random", "pvh.elf",
					     "initrd", "sub", NULL };

	(void)state;
	for (const char *const *n = names; *n; n++)
		remove(in_dir(*n));
	rmdir(dir);
	return 0;
}

/* file_map() on path: fails with a message containing `want`. */
static void expect_map_error(const char *file, const char *want)
{
	struct mapped_file f;

	capture_start();
	assert_int_equal(file_map("kernel", file, &f), -1);
	assert_contains(capture_end(), want);
	assert_null(f.data);
}

static void test_file_map_refuses(void **state)
{
	char fifo[300];

	(void)state;
	expect_map_error("/nonexistent/vmlinux",
			 "wisp: --kernel: cannot open '/nonexistent/vmlinux': No such file");
	expect_map_error("/tmp", "wisp: --kernel: '/tmp' is a directory, not a regular file");
	expect_map_error("/dev/zero", "wisp: --kernel: '/dev/zero' is a character device, not a regular file");
	write_file("empty", "", 0);
	expect_map_error(in_dir("empty"), "' is empty");
	/* a FIFO without a writer: refused at once, never waited on */
	snprintf(fifo, sizeof(fifo), "%s", in_dir("fifo"));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_map_error(fifo, "' is a FIFO, not a regular file");
}

static void test_file_map_reads(void **state)
{
	struct mapped_file f;

	(void)state;
	write_file("random", "\x01\x02\x03", 3);
	assert_int_equal(file_map("initramfs", in_dir("random"), &f), 0);
	assert_int_equal(f.size, 3);
	assert_memory_equal(f.data, "\x01\x02\x03", 3);
	file_unmap(&f);
	assert_null(f.data);
}

static void test_file_kind_and_dir(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(file_kind(S_IFDIR), "a directory");
	assert_string_equal(file_kind(S_IFIFO), "a FIFO");
	assert_string_equal(file_kind(S_IFSOCK), "a socket");
	assert_string_equal(file_kind(S_IFBLK), "a block device");
	file_dir("a/b/c.sock", buf, sizeof(buf));
	assert_string_equal(buf, "a/b");
	file_dir("c.sock", buf, sizeof(buf));
	assert_string_equal(buf, ".");
	file_dir("/c.sock", buf, sizeof(buf));
	assert_string_equal(buf, "/");
}

/* The serial port's file=PATH is checked without creating anything. */
static void test_output_file(void **state)
{
	struct vm_config cfg;
	struct cli_error err;
	FILE *out = fopen("/dev/null", "w");
	char value[300];
	char *argv[] = { "wisp", "--kernel", "k", "--serial", value, NULL };

	(void)state;
	if (!device_lookup("serial", NULL) && !device_lookup("console", NULL))
		skip();
	argv[3] = device_lookup("serial", NULL) ? "--serial" : "--console";
	snprintf(value, sizeof(value), "file=%s/sub/x.log", dir);
	assert_int_equal(cli_parse(5, argv, &cfg, out, &err), CLI_ERROR);
	assert_contains(err.msg, "/sub' does not exist");
	snprintf(value, sizeof(value), "file=%s", dir);
	assert_int_equal(cli_parse(5, argv, &cfg, out, &err), CLI_ERROR);
	assert_contains(err.msg, "' is a directory");
	snprintf(value, sizeof(value), "file=%s/new.log", dir);
	assert_int_equal(cli_parse(5, argv, &cfg, out, &err), CLI_RUN);
	cli_free(&cfg);
	assert_int_equal(access(value + 5, F_OK), -1);	/* not created */
	fclose(out);
}

#ifdef CONFIG_ARCH_X86_64
/* A minimal PVH ELF: one 4 KiB PT_LOAD at `paddr` and the Xen entry
 * note pointing at its start. */
struct pvh_file {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint32_t note[3];
	char name[4];
	uint32_t entry;
	uint8_t code[4096];
};

static void write_pvh(uint64_t paddr)
{
	static struct pvh_file f;

	memset(&f, 0, sizeof(f));
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_phoff = offsetof(struct pvh_file, ph);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 2;
	f.ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = offsetof(struct pvh_file, note),
				.p_filesz = 20 };
	f.ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof(struct pvh_file, code),
				.p_paddr = paddr, .p_filesz = 4096, .p_memsz = 4096 };
	f.note[0] = 4;		/* name size */
	f.note[1] = 4;		/* desc size */
	f.note[2] = 18;		/* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(f.name, "Xen", 4);
	f.entry = (uint32_t)paddr;
	write_file("pvh.elf", &f, sizeof(f));
}

/* inputs_load() with a kernel (and initramfs) and --memory size. */
static int load(const char *kernel, const char *initrd, uint64_t memory,
		const char *cmdline)
{
	struct vm_config cfg = { .kernel = kernel, .initramfs = initrd, .cmdline = cmdline,
				 .cpus = 1, .memory.size = memory };
	struct vm_inputs in;
	int ret;

	capture_start();
	ret = inputs_load(&cfg, &in);
	capture_end();
	if (!ret)
		inputs_free(&in);
	return ret;
}

static void test_pvh_checked_before_kvm(void **state)
{
	static char kernel[300], initrd[300], random[300];
	static uint8_t big[3 << 20];
	char *cmdline;

	(void)state;
	write_pvh(0x100000);
	snprintf(kernel, sizeof(kernel), "%s", in_dir("pvh.elf"));
	assert_int_equal(load(kernel, NULL, 64 << 20, NULL), 0);
	assert_string_equal(err_line, "");

	/* a segment beyond RAM: known from --memory, no VM needed */
	write_pvh(0x40000000);
	assert_int_equal(load(kernel, NULL, 64 << 20, NULL), EXIT_USAGE);
	assert_contains(err_line, "segment at 0x40000000+0x1000 does not fit in guest RAM");
	/* below 1 MiB: clear of wisp's boot structures, or refused naming
	 * the one it overlaps (CONFIG_PVH_LOW_SEGMENTS); else refused */
	write_pvh(0x1000);
	if (IS_ENABLED(CONFIG_PVH_LOW_SEGMENTS)) {
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL), 0);
		write_pvh(0xff000);	/* ld -Ttext=0x100000's headers */
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL), 0);
		write_pvh(0x5800);
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL), EXIT_USAGE);
		assert_contains(err_line, "segment at 0x5800+0x1000 overlaps the PVH start info that wisp writes there");
		write_pvh(0x1f800);
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL), EXIT_USAGE);
		assert_contains(err_line, "overlaps the kernel command line");
		write_pvh(0xef800);
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL),
				 IS_ENABLED(CONFIG_ACPI) ? EXIT_USAGE : 0);
		if (IS_ENABLED(CONFIG_ACPI))
			assert_contains(err_line, "overlaps the ACPI tables");
		write_pvh(0x0);
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL), EXIT_USAGE);
		assert_contains(err_line, "overlaps the boot GDT");
	} else {
		assert_int_equal(load(kernel, NULL, 64 << 20, NULL), EXIT_USAGE);
		assert_contains(err_line, "does not fit in guest RAM above 1 MiB");
	}

	write_pvh(0x100000);
	write_file("initrd", big, sizeof(big));
	snprintf(initrd, sizeof(initrd), "%s", in_dir("initrd"));
	assert_int_equal(load(kernel, initrd, 2 << 20, NULL), EXIT_USAGE);
	assert_contains(err_line, "wisp: --initramfs: 3145728 bytes do not fit in guest RAM");
	assert_int_equal(load(kernel, initrd, 64 << 20, NULL), 0);

	cmdline = calloc(1, 0x10001);
	assert_non_null(cmdline);
	memset(cmdline, 'a', 0x10000);
	assert_int_equal(load(kernel, NULL, 64 << 20, cmdline), EXIT_USAGE);
	assert_contains(err_line, "wisp: --cmdline: 65536 bytes is longer than");
	free(cmdline);

	for (size_t i = 0; i < 4096; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	write_file("random", big, 4096);
	snprintf(random, sizeof(random), "%s", in_dir("random"));
	assert_int_equal(load(random, NULL, 64 << 20, NULL), EXIT_USAGE);
	assert_contains(err_line, "random' is not a PVH ELF");
	/* more memory than the host has: bad input, known without KVM */
	assert_int_equal(load(kernel, NULL, 1ULL << 50, NULL), EXIT_USAGE);
	assert_contains(err_line, "wisp: --memory: size=");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_map_refuses),
		cmocka_unit_test(test_file_map_reads),
		cmocka_unit_test(test_file_kind_and_dir),
		cmocka_unit_test(test_output_file),
#ifdef CONFIG_ARCH_X86_64
		cmocka_unit_test(test_pvh_checked_before_kvm),
#endif
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
