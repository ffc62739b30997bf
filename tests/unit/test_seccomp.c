// SPDX-License-Identifier: MIT
/*
 * seccomp (core/seccomp.c): the generated filters, installed for real in
 * a forked child.  A disallowed call ends the child with SIGSYS after one
 * line naming the call; allowed calls, allowed ioctl numbers and allowed
 * argument values pass; one kind's rules do not leak into another's;
 * log mode lets everything through.
 */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if IS_ENABLED(CONFIG_SECCOMP)

#include "core/seccomp.h"

struct outcome {
	int status;		/* from waitpid */
	char err[512];		/* the child's stderr */
};

/* Runs fn in a child whose stderr is captured. */
static void run_child(void (*fn)(void), struct outcome *o)
{
	int pipefd[2];
	pid_t pid;
	ssize_t n, got = 0;

	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], o->err + got, sizeof(o->err) - 1 - (size_t)got)) > 0)
		got += n;
	o->err[got] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static void assert_sigsys(const struct outcome *o)
{
	if (!WIFSIGNALED(o->status) || WTERMSIG(o->status) != SIGSYS)
		fail_msg("child did not die of SIGSYS (status %#x), stderr: %s", o->status,
			 o->err);
}

static void assert_exit0(const struct outcome *o)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != 0)
		fail_msg("child did not exit 0 (status %#x), stderr: %s", o->status, o->err);
}

static const struct seccomp_rule test_rules[] = {
	SC_ALLOW(SYS_getuid),
	SC_ALLOW(SYS_close),
	SC_IOCTL(FIONREAD),
	SC_ALLOW(SYS_pipe2),
};

/* A "test" kind on top of core's, in the given mode; the child enters it. */
static unsigned setup(enum seccomp_mode mode)
{
	unsigned kind;

	seccomp_init(mode);
	kind = seccomp_kind("test");
	if (!kind || seccomp_allow(kind, test_rules, SC_COUNT(test_rules)) || seccomp_seal())
		_exit(10);
	return kind;
}

static void child_disallowed(void)
{
	if (seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	syscall(SYS_getuid);		/* allowed */
	syscall(SYS_getppid);		/* not */
	_exit(12);
}

static void test_disallowed_call_is_sigsys(void **state)
{
	struct outcome o;
	char want[64];

	run_child(child_disallowed, &o);
	assert_sigsys(&o);
	snprintf(want, sizeof(want), "system call %d (getppid", (int)SYS_getppid);
	assert_contains(o.err, "wisp: seccomp: a test thread made");
	assert_contains(o.err, want);
}

static void child_ioctls(void)
{
	int p[2], avail = -1;

	if (seccomp_enter(setup(SECCOMP_ON)) || pipe(p))
		_exit(11);
	if (ioctl(p[0], FIONREAD, &avail) || avail != 0)
		_exit(13);		/* an allowed number must work */
	ioctl(p[0], FIONBIO, &avail);	/* a number not on the list */
	_exit(12);
}

static void test_ioctl_numbers(void **state)
{
	struct outcome o;
	char want[64];

	run_child(child_ioctls, &o);
	assert_sigsys(&o);
	snprintf(want, sizeof(want), "request %#x", (unsigned)FIONBIO);
	assert_contains(o.err, want);
}

/* 200 ioctl numbers for one call: a block far longer than BPF's 8-bit
 * conditional jumps reach.  The last one listed works; one past it
 * does not. */
#define MANY 200
static void child_many_rules(void)
{
	struct seccomp_rule many[MANY];
	unsigned kind;
	int p[2];

	seccomp_init(SECCOMP_ON);
	kind = seccomp_kind("many");
	for (unsigned i = 0; i < MANY; i++)
		many[i] = (struct seccomp_rule)SC_IOCTL(0x7000 + i);
	many[MANY - 1] = (struct seccomp_rule)SC_IOCTL(FIONREAD);
	if (!kind || seccomp_allow(kind, many, MANY) ||
	    seccomp_allow(kind, test_rules, SC_COUNT(test_rules)) || seccomp_seal() ||
	    seccomp_enter(kind) || pipe(p))
		_exit(11);
	if (ioctl(p[0], FIONREAD, &(int){ 0 }))
		_exit(13);
	syscall(SYS_getuid);		/* a rule after the long block */
	ioctl(p[0], 0x7000 + MANY, 0);
	_exit(12);
}

static void test_long_blocks(void **state)
{
	struct outcome o;

	run_child(child_many_rules, &o);
	assert_sigsys(&o);
	assert_contains(o.err, "request 0x70c8");
}

static void child_exec_mapping(void)
{
	void *m;

	if (seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(13);		/* a data mapping is allowed */
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(12);
}

static void test_argument_rule(void **state)
{
	struct outcome o;

	run_child(child_exec_mapping, &o);
	assert_sigsys(&o);
	assert_contains(o.err, "(mmap");
}

/* The rule for "test" must not reach the vCPU kind. */
static void child_other_kind(void)
{
	setup(SECCOMP_ON);
	if (seccomp_enter(SECCOMP_VCPU))
		_exit(11);
	syscall(SYS_getuid);
	_exit(12);
}

static void test_kinds_are_separate(void **state)
{
	struct outcome o;

	run_child(child_other_kind, &o);
	assert_sigsys(&o);
	assert_contains(o.err, "a vCPU thread made");
}

static void child_log_mode(void)
{
	if (seccomp_enter(setup(SECCOMP_LOG)))
		_exit(11);
	if (syscall(SYS_getppid) != (long)getppid())
		_exit(13);
	_exit(0);
}

static void test_log_mode_lets_calls_through(void **state)
{
	struct outcome o;

	run_child(child_log_mode, &o);
	assert_exit0(&o);
}

static bool filtered(void)
{
	char line[128];
	bool on = false;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8))
			on = atoi(line + 8) != 0;
	if (f)
		fclose(f);
	return on;
}

static void child_off(void)
{
	if (seccomp_enter(setup(SECCOMP_OFF)) || filtered())
		_exit(11);
	syscall(SYS_getppid);
	_exit(0);
}

static void test_off_installs_nothing(void **state)
{
	struct outcome o;

	run_child(child_off, &o);
	assert_exit0(&o);
}

static void test_no_rules_after_seal(void **state)
{
	seccomp_init(SECCOMP_ON);
	assert_int_equal(seccomp_seal(), 0);
	assert_int_equal(seccomp_allow(SECCOMP_MAIN, test_rules, 1), -1);
	assert_int_equal(seccomp_kind("late"), 0);
	seccomp_init(SECCOMP_OFF);
	signal(SIGSYS, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disallowed_call_is_sigsys),
		cmocka_unit_test(test_ioctl_numbers),
		cmocka_unit_test(test_argument_rule),
		cmocka_unit_test(test_long_blocks),
		cmocka_unit_test(test_kinds_are_separate),
		cmocka_unit_test(test_log_mode_lets_calls_through),
		cmocka_unit_test(test_off_installs_nothing),
		cmocka_unit_test(test_no_rules_after_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	return 0;	/* seccomp is not built into this configuration */
}

#endif
