// SPDX-License-Identifier: MIT
/*
 * wisp-fsd's FUSE server (tools/wisp-fsd/fuse_ops.c, compiled into this
 * test) fed requests a hostile guest could send: names with "/", "." and
 * "..", symlinks pointing out of the share, unterminated names, bad node
 * ids and handles, writes claiming more data than they carry.  Nothing
 * may reach outside the shared directory; ordinary requests work.
 * Its virtqueue code (tools/wisp-fsd/vring.c) gets hostile rings:
 * loops, indices and addresses out of range, indirect descriptors it
 * never offered, readable after writable; each stops the queue.
 * Its seccomp filter (tools/wisp-fsd/sandbox.c), installed in a forked
 * child: a call outside its list ends the child with SIGSYS after one
 * line naming the call, an mmap with PROT_EXEC too; listed calls pass;
 * log lets everything through; false installs nothing.
 */
#include "unit.h"

#include "../../tools/wisp-fsd/fuse_ops.c"
#include "../../tools/wisp-fsd/vring.c"
#include "../../tools/wisp-fsd/sandbox.c"

#include <sys/wait.h>

static char top[64], share[96], secret[128];
static uint8_t req[FSD_MAX_MSG], rep[FSD_MAX_MSG];
static uint64_t unique;

/* Sends opcode on node with `arg` (len bytes); returns the reply's
 * error and copies its payload to out. */
static int call(uint32_t opcode, uint64_t node, const void *arg, size_t len, void *out,
		size_t outlen)
{
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len), .opcode = opcode,
				    .unique = ++unique, .nodeid = node };
	struct fuse_out_header *oh = (void *)rep;
	size_t n;

	memcpy(req, &h, sizeof(h));
	if (len)
		memcpy(req + sizeof(h), arg, len);
	n = fs_handle(req, sizeof(h) + len, rep);
	assert_true(n >= sizeof(*oh));
	assert_int_equal(oh->unique, h.unique);
	assert_int_equal(oh->len, n);
	if (out && !oh->error)
		memcpy(out, rep + sizeof(*oh), outlen < n - sizeof(*oh) ? outlen : n - sizeof(*oh));
	return oh->error;
}

static int lookup_name(uint64_t parent, const char *name, struct fuse_entry_out *e)
{
	return call(FUSE_LOOKUP, parent, name, strlen(name) + 1, e, sizeof(*e));
}

static int setup(void **state)
{
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION, .minor = 31,
				   .max_readahead = 65536 };
	struct fuse_init_out out;
	char path[256];
	FILE *f;

	(void)state;
	snprintf(top, sizeof(top), "/tmp/wisp-fsd-XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(secret, sizeof(secret), "%s/secret", top);
	assert_int_equal(mkdir(share, 0755), 0);
	f = fopen(secret, "w");
	assert_non_null(f);
	fputs("secret", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/hello.txt", share);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/out", share);
	assert_int_equal(symlink(top, path), 0);	/* a directory outside */
	snprintf(path, sizeof(path), "%s/secret-link", share);
	assert_int_equal(symlink("../secret", path), 0);
	assert_int_equal(fs_open_root(share), 0);
	assert_int_equal(call(FUSE_INIT, 0, &in, sizeof(in), &out, sizeof(out)), 0);
	assert_int_equal(out.major, FUSE_KERNEL_VERSION);
	assert_int_equal(out.minor, 31);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	fs_reset();
	close(nodes[0].fd);
	free(nodes);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_bad_names(void **state)
{
	struct fuse_entry_out e;
	struct fuse_mkdir_in mk = { .mode = 0755 };
	uint8_t buf[64];

	(void)state;
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "..", &e), -EINVAL);
	assert_int_equal(lookup_name(FUSE_ROOT_ID, ".", &e), -EINVAL);
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "", &e), -EINVAL);
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "../secret", &e), -EINVAL);
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "/etc", &e), -EINVAL);
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "out/secret", &e), -EINVAL);
	/* a name without its NUL: the request ends inside it */
	assert_int_equal(call(FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 9, &e, sizeof(e)), -EINVAL);
	/* mkdir of "..", and of a name with a slash */
	memcpy(buf, &mk, sizeof(mk));
	memcpy(buf + sizeof(mk), "..", 3);
	assert_int_equal(call(FUSE_MKDIR, FUSE_ROOT_ID, buf, sizeof(mk) + 3, &e, sizeof(e)), -EINVAL);
	memcpy(buf + sizeof(mk), "a/b", 4);
	assert_int_equal(call(FUSE_MKDIR, FUSE_ROOT_ID, buf, sizeof(mk) + 4, &e, sizeof(e)), -EINVAL);
}

/* Symlinks are looked up as themselves, readable, never followed. */
static void test_symlinks_not_followed(void **state)
{
	struct fuse_entry_out link, e;
	struct fuse_open_in open_in = { .flags = O_RDONLY };
	struct fuse_open_out o;
	char target[64] = { 0 };

	(void)state;
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "secret-link", &link), 0);
	assert_true(S_ISLNK(link.attr.mode));
	assert_int_equal(call(FUSE_READLINK, link.nodeid, NULL, 0, target, sizeof(target) - 1), 0);
	assert_string_equal(target, "../secret");
	assert_int_equal(call(FUSE_OPEN, link.nodeid, &open_in, sizeof(open_in), &o, sizeof(o)),
			 -ELOOP);
	/* a symlink to a directory outside: nothing beneath it */
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "out", &link), 0);
	assert_int_not_equal(lookup_name(link.nodeid, "secret", &e), 0);
	assert_int_equal(call(FUSE_OPENDIR, link.nodeid, &open_in, sizeof(open_in), &o, sizeof(o)),
			 -ELOOP);
}

static void test_bad_ids(void **state)
{
	struct fuse_entry_out e;
	struct fuse_read_in rd = { .fh = 12345, .size = 10 };
	struct fuse_write_in wr = { .fh = 0, .size = 1000 };
	uint8_t buf[sizeof(wr) + 10];

	(void)state;
	assert_int_equal(lookup_name(999999, "hello.txt", &e), -ENOENT);
	assert_int_equal(lookup_name(0, "hello.txt", &e), -ENOENT);
	assert_int_equal(call(FUSE_READ, FUSE_ROOT_ID, &rd, sizeof(rd), NULL, 0), -EBADF);
	/* a write claiming 1000 bytes and carrying 10 */
	memcpy(buf, &wr, sizeof(wr));
	assert_int_equal(call(FUSE_WRITE, FUSE_ROOT_ID, buf, sizeof(buf), NULL, 0), -EINVAL);
	/* a truncated argument */
	assert_int_equal(call(FUSE_READ, FUSE_ROOT_ID, &rd, 4, NULL, 0), -EINVAL);
	assert_int_equal(call(12345, FUSE_ROOT_ID, NULL, 0, NULL, 0), -ENOSYS);
	/* a hard link and a symlink are refused */
	assert_int_equal(call(FUSE_SYMLINK, FUSE_ROOT_ID, "x\0/etc", 7, NULL, 0), -EPERM);
}

/* create, write, read, rename, readdir, unlink: the ordinary path. */
static void test_ordinary(void **state)
{
	struct {
		struct fuse_create_in in;
		char name[8];
	} cr = { .in = { .flags = O_RDWR, .mode = 0644 }, .name = "new" };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} created;
	struct {
		struct fuse_write_in in;
		char data[5];
	} wr;
	struct fuse_read_in rd = { 0 };
	struct {
		struct fuse_rename_in in;
		char names[12];
	} rn;
	struct fuse_open_in od = { 0 };
	struct fuse_open_out o;
	struct fuse_entry_out e;
	char data[16] = { 0 }, path[160];
	uint8_t dir[4096];
	struct fuse_release_in rel = { 0 };

	(void)state;
	assert_int_equal(call(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 4, &created,
			      sizeof(created)), 0);
	wr.in = (struct fuse_write_in){ .fh = created.o.fh, .size = 5 };
	memcpy(wr.data, "world", 5);
	assert_int_equal(call(FUSE_WRITE, created.e.nodeid, &wr, sizeof(wr), NULL, 0), 0);
	rd.fh = created.o.fh;
	rd.size = 16;
	assert_int_equal(call(FUSE_READ, created.e.nodeid, &rd, sizeof(rd), data, 5), 0);
	assert_memory_equal(data, "world", 5);
	rel.fh = created.o.fh;
	assert_int_equal(call(FUSE_RELEASE, created.e.nodeid, &rel, sizeof(rel), NULL, 0), 0);
	/* rename new -> renamed, then "renamed" -> ".." refused */
	rn.in.newdir = FUSE_ROOT_ID;
	memcpy(rn.names, "new\0renamed", 12);
	assert_int_equal(call(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn.in) + 12, NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/renamed", share);
	assert_int_equal(access(path, F_OK), 0);
	memcpy(rn.names, "renamed\0..\0", 11);
	assert_int_equal(call(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn.in) + 11, NULL, 0), -EINVAL);
	/* readdir sees it */
	assert_int_equal(call(FUSE_OPENDIR, FUSE_ROOT_ID, &od, sizeof(od), &o, sizeof(o)), 0);
	rd.fh = o.fh;
	rd.size = sizeof(dir);
	rd.offset = 0;
	memset(dir, 0, sizeof(dir));
	assert_int_equal(call(FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), dir, sizeof(dir)), 0);
	assert_non_null(memmem(dir, sizeof(dir), "renamed", 7));
	assert_non_null(memmem(dir, sizeof(dir), "hello.txt", 9));
	rel.fh = o.fh;
	assert_int_equal(call(FUSE_RELEASEDIR, FUSE_ROOT_ID, &rel, sizeof(rel), NULL, 0), 0);
	assert_int_equal(call(FUSE_UNLINK, FUSE_ROOT_ID, "renamed", 8, NULL, 0), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(lookup_name(FUSE_ROOT_ID, "hello.txt", &e), 0);
	assert_int_equal(e.attr.size, 5);
}

static int fuse_main(void);

/* ----------------------------------------------- wisp-fsd's virtqueue */

#define RING_SIZE 8
#define RAM_SIZE 65536
#define RAM_GPA 0x100000ULL
#define RAM_QVA 0x7f0000000000ULL

static uint8_t *ram;
static struct fsd_mem mem;
static struct fsd_vring vq;
static struct fsd_chain chain;

/* guest layout: descriptors at 0, avail at 0x1000, used at 0x2000 */
static struct vring_desc *ring_desc(void) { return (void *)ram; }
static uint16_t *ring_avail(void) { return (void *)(ram + 0x1000); }

static int ring_setup(void **state)
{
	(void)state;
	ram = aligned_alloc(4096, RAM_SIZE);
	assert_non_null(ram);
	memset(ram, 0, RAM_SIZE);
	mem = (struct fsd_mem){ .n = 1 };
	mem.r[0] = (struct fsd_region){ .gpa = RAM_GPA, .size = RAM_SIZE, .qva = RAM_QVA,
					.host = ram };
	vq = (struct fsd_vring){ .num = RING_SIZE, .desc_qva = RAM_QVA, .avail_qva = RAM_QVA + 0x1000,
				 .used_qva = RAM_QVA + 0x2000, .kick = -1, .call = -1, .err = -1 };
	assert_int_equal(vring_map(&vq, &mem), 0);
	return 0;
}

static int ring_teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void post(uint16_t head)
{
	uint16_t *avail = ring_avail();

	avail[2 + avail[1] % RING_SIZE] = head;
	avail[1]++;
}

static void test_ring_good_chain(void **state)
{
	struct vring_desc *d = ring_desc();

	(void)state;
	d[0] = (struct vring_desc){ RAM_GPA + 0x4000, 40, 1, 1 };
	d[1] = (struct vring_desc){ RAM_GPA + 0x5000, 100, 2, 0 };
	post(0);
	assert_int_equal(vring_pop(&vq, &mem, &chain), 1);
	assert_int_equal(chain.nin, 1);
	assert_int_equal(chain.nout, 1);
	assert_ptr_equal(chain.out[0].iov_base, ram + 0x5000);
	vring_push(&vq, chain.head, 16);
	assert_int_equal(vring_pop(&vq, &mem, &chain), 0);
}

static void expect_broken(void)
{
	assert_int_equal(vring_pop(&vq, &mem, &chain), -1);
	assert_true(vq.broken);
	/* and stays broken: nothing more is taken */
	assert_int_equal(vring_pop(&vq, &mem, &chain), -1);
}

static void test_ring_loop(void **state)
{
	struct vring_desc *d = ring_desc();

	(void)state;
	d[0] = (struct vring_desc){ RAM_GPA, 16, 1, 1 };
	d[1] = (struct vring_desc){ RAM_GPA, 16, 1, 0 };
	post(0);
	expect_broken();
}

static void test_ring_head_out_of_range(void **state)
{
	(void)state;
	post(RING_SIZE);
	expect_broken();
}

static void test_ring_next_out_of_range(void **state)
{
	(void)state;
	ring_desc()[0] = (struct vring_desc){ RAM_GPA, 16, 1, 200 };
	post(0);
	expect_broken();
}

static void test_ring_outside_memory(void **state)
{
	(void)state;
	/* a buffer running past the end of guest memory, and one before it */
	ring_desc()[0] = (struct vring_desc){ RAM_GPA + RAM_SIZE - 8, 16, 0, 0 };
	post(0);
	expect_broken();
}

static void test_ring_wraps_address(void **state)
{
	(void)state;
	ring_desc()[0] = (struct vring_desc){ UINT64_MAX - 4, 16, 2, 0 };
	post(0);
	expect_broken();
}

static void test_ring_indirect_refused(void **state)
{
	(void)state;
	ring_desc()[0] = (struct vring_desc){ RAM_GPA + 0x3000, 32, 4, 0 };
	post(0);
	expect_broken();
}

static void test_ring_readable_after_writable(void **state)
{
	struct vring_desc *d = ring_desc();

	(void)state;
	d[0] = (struct vring_desc){ RAM_GPA + 0x4000, 16, 2 | 1, 1 };
	d[1] = (struct vring_desc){ RAM_GPA + 0x5000, 16, 0, 0 };
	post(0);
	expect_broken();
}

static void test_ring_avail_far_ahead(void **state)
{
	(void)state;
	ring_avail()[1] = RING_SIZE + 1;
	expect_broken();
}

/* rings the front end placed outside the memory table never map */
static void test_ring_map_outside(void **state)
{
	struct fsd_vring bad = vq;

	(void)state;
	bad.used_qva = RAM_QVA + RAM_SIZE - 16;
	assert_int_equal(vring_map(&bad, &mem), -1);
	bad = vq;
	bad.desc_qva = RAM_QVA + 8;	/* misaligned */
	assert_int_equal(vring_map(&bad, &mem), -1);
}

/* ----------------------------------------------------------- seccomp */

struct child {
	int status;		/* from waitpid */
	char err[256];		/* its stderr */
};

enum { ONLY_LISTED, THEN_GETPPID, THEN_EXEC_MMAP };

/* Forks; the child installs the filter in `mode`, makes listed calls
 * (write, read and close on a pipe, an mmap without PROT_EXEC), then
 * what `step` says, and exits 0 by exit_group itself: the sanitizers'
 * _exit() makes calls (sigaltstack) wisp-fsd's list rightly lacks. */
static void run_filtered(enum fsd_seccomp mode, int step, struct child *c)
{
	int pipefd[2], own[2];
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pipe(own), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char b = 0;
		void *p;

		close(pipefd[0]);
		dup2(pipefd[1], STDERR_FILENO);
		if (fsd_seccomp_install(mode))
			syscall(SYS_exit_group, 3);
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (write(own[1], "x", 1) != 1 || read(own[0], &b, 1) != 1 || b != 'x' ||
		    close(own[0]) || p == MAP_FAILED || munmap(p, 4096))
			syscall(SYS_exit_group, 4);
		if (step == THEN_GETPPID)
			syscall(SYS_getppid);
		if (step == THEN_EXEC_MMAP)
			mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		syscall(SYS_exit_group, 0);
	}
	close(pipefd[1]);
	close(own[0]);
	close(own[1]);
	while ((n = read(pipefd[0], c->err + got, sizeof(c->err) - 1 - (size_t)got)) > 0)
		got += n;
	c->err[got] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &c->status, 0), pid);
}

static void assert_killed(const struct child *c, const char *line)
{
	if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != SIGSYS)
		fail_msg("child did not die of SIGSYS (status %#x), stderr: %s", c->status, c->err);
	assert_string_equal(c->err, line);
}

static void assert_exited(const struct child *c)
{
	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
		fail_msg("child did not exit 0 (status %#x), stderr: %s", c->status, c->err);
	assert_string_equal(c->err, "");
}

static void test_seccomp_modes(void **state)
{
	enum fsd_seccomp mode;
	struct child c;
	char line[128];

	(void)state;
	assert_int_equal(fsd_seccomp_parse("true", &mode), 0);
	assert_int_equal(mode, FSD_SECCOMP_TRUE);
	assert_int_equal(fsd_seccomp_parse("log", &mode), 0);
	assert_int_equal(mode, FSD_SECCOMP_LOG);
	assert_int_equal(fsd_seccomp_parse("false", &mode), 0);
	assert_int_equal(mode, FSD_SECCOMP_FALSE);
	assert_int_equal(fsd_seccomp_parse("on", &mode), -1);

	/* listed calls pass */
	run_filtered(FSD_SECCOMP_TRUE, ONLY_LISTED, &c);
	assert_exited(&c);
	/* a call outside the list: one line, SIGSYS */
	run_filtered(FSD_SECCOMP_TRUE, THEN_GETPPID, &c);
	snprintf(line, sizeof(line),
		 "wisp-fsd: seccomp: system call %d (getppid) is not allowed: stopping\n",
		 SYS_getppid);
	assert_killed(&c, line);
	/* mmap is listed, but never executable */
	run_filtered(FSD_SECCOMP_TRUE, THEN_EXEC_MMAP, &c);
	snprintf(line, sizeof(line),
		 "wisp-fsd: seccomp: system call %d (mmap) is not allowed: stopping\n", SYS_mmap);
	assert_killed(&c, line);
	/* log: the kernel logs, the calls go through */
	run_filtered(FSD_SECCOMP_LOG, THEN_GETPPID, &c);
	assert_exited(&c);
	run_filtered(FSD_SECCOMP_LOG, THEN_EXEC_MMAP, &c);
	assert_exited(&c);
	/* false: no filter at all */
	run_filtered(FSD_SECCOMP_FALSE, THEN_GETPPID, &c);
	assert_exited(&c);
}

int main(void)
{
	const struct CMUnitTest ring_tests[] = {
		cmocka_unit_test_setup_teardown(test_ring_good_chain, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_loop, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_head_out_of_range, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_next_out_of_range, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_outside_memory, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_wraps_address, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_indirect_refused, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_readable_after_writable, ring_setup,
						ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_avail_far_ahead, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_map_outside, ring_setup, ring_teardown),
	};

	const struct CMUnitTest seccomp_tests[] = {
		cmocka_unit_test(test_seccomp_modes),
	};

	if (cmocka_run_group_tests_name("wisp-fsd virtqueue", ring_tests, NULL, NULL) ||
	    cmocka_run_group_tests_name("wisp-fsd seccomp", seccomp_tests, NULL, NULL))
		return 1;
	return fuse_main();
}

static int fuse_main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_symlinks_not_followed),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_ordinary),
	};

	return cmocka_run_group_tests_name("wisp-fsd FUSE server", tests, setup, teardown);
}
