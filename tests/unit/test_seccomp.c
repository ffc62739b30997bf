// SPDX-License-Identifier: MIT
/*
 * seccomp (core/seccomp.c): the generated filters, installed for real in
 * a forked child.  A disallowed call ends the child with SIGSYS after one
 * line naming the call; allowed calls, allowed ioctl numbers and allowed
 * argument values pass; one kind's rules do not leak into another's;
 * each of core's kinds refuses what only another kind may do; the
 * argument filters (mmap and mprotect without PROT_EXEC, tkill with
 * wisp's own signals only, futex operations, madvise advice, rules with
 * two conditions) refuse what they should; rt_sigaction kills without
 * any handler, and blocking SIGSYS does not save a refused call; log
 * mode lets everything through.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if IS_ENABLED(CONFIG_SECCOMP)

#include "core/seccomp.h"
#include "core/vcpu.h"

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

/* Killed by the kernel (SECCOMP_RET_KILL_PROCESS, or a trap with SIGSYS
 * blocked): SIGSYS, and no handler ran to print the report. */
static void assert_killed_silently(const struct outcome *o)
{
	assert_sigsys(o);
	if (strstr(o->err, "wisp: seccomp:"))
		fail_msg("a handler ran: %s", o->err);
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
	/* two conditions: this process's priority only */
	SC_ARG2(SYS_getpriority, 0, SC_ALL, PRIO_PROCESS, 1, SC_ALL, 0),
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

/* Runs fn under kind's filter in a child; fn's call must be refused
 * with a report naming the call (want) and the thread kind. */
static void expect_refused(void (*fn)(void), const char *kind, const char *want)
{
	struct outcome o;
	char who[64];

	run_child(fn, &o);
	assert_sigsys(&o);
	snprintf(who, sizeof(who), "a %s thread made", kind);
	assert_contains(o.err, who);
	assert_contains(o.err, want);
}

static void enter_core_kind(unsigned kind)
{
	setup(SECCOMP_ON);
	if (seccomp_enter(kind))
		_exit(11);
}

/* vCPU threads: no sockets at all (devices' socket calls are the main
 * thread's), even AF_UNIX, and not AF_INET in any case. */
static void child_vcpu_socket(void)
{
	enter_core_kind(SECCOMP_VCPU);
	socket(AF_INET, SOCK_STREAM, 0);
	_exit(12);
}

static void test_vcpu_refuses_socket(void **state)
{
	expect_refused(child_vcpu_socket, "vCPU", "(socket");
}

/* vCPU threads may not kick other threads: the kick is the main thread's. */
static void child_vcpu_kick(void)
{
	enter_core_kind(SECCOMP_VCPU);
	syscall(SYS_tkill, syscall(SYS_gettid), VCPU_KICK_SIGNAL);
	_exit(12);
}

static void test_vcpu_refuses_kick(void **state)
{
	expect_refused(child_vcpu_kick, "vCPU", "(tkill");
}

/* The main thread: KVM_RUN is the vCPU threads' alone. */
static void child_main_kvm_run(void)
{
	enter_core_kind(SECCOMP_MAIN);
	ioctl(-1, KVM_RUN, 0);
	_exit(12);
}

static void test_main_refuses_kvm_run(void **state)
{
	char want[64];

	snprintf(want, sizeof(want), "request %#x", (unsigned)KVM_RUN);
	expect_refused(child_main_kvm_run, "main", want);
}

/* The main thread: no unlink anywhere (vsock allows one directory). */
static void child_main_unlinkat(void)
{
	enter_core_kind(SECCOMP_MAIN);
	unlinkat(AT_FDCWD, "/nonexistent-wisp-test", 0);
	_exit(12);
}

static void test_main_refuses_unlink(void **state)
{
	expect_refused(child_main_unlinkat, "main", "(unlinkat");
}

/* A device's kind: nothing of the main thread's event loop. */
static void child_device_epoll(void)
{
	if (seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	epoll_ctl(-1, EPOLL_CTL_ADD, -1, NULL);
	_exit(12);
}

static void test_device_kind_refuses_event_loop(void **state)
{
	expect_refused(child_device_epoll, "test", "(epoll_ctl");
}

/* The main thread may send the kick signal (blocked here, so it stays
 * pending and harmless), not SIGKILL, and tgkill not at all. */
static void child_main_kick_allowed(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	enter_core_kind(SECCOMP_MAIN);
	if (syscall(SYS_tkill, syscall(SYS_gettid), VCPU_KICK_SIGNAL))
		_exit(13);
	/* not _exit(): ASan's interceptor asks for the alternate signal
	 * stack, which no wisp thread uses */
	syscall(SYS_exit_group, 0);
}

static void child_tkill_sigkill(void)
{
	enter_core_kind(SECCOMP_MAIN);
	syscall(SYS_tkill, syscall(SYS_gettid), SIGKILL);
	_exit(12);
}

static void child_tgkill(void)
{
	enter_core_kind(SECCOMP_MAIN);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGKILL);
	_exit(12);
}

static void test_signals_sent(void **state)
{
	struct outcome o;

	run_child(child_main_kick_allowed, &o);
	assert_exit0(&o);
	expect_refused(child_tkill_sigkill, "main", "(tkill");
	expect_refused(child_tgkill, "main", "(tgkill");
}

static void child_mprotect_exec(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	if (mprotect(m, 4096, PROT_READ))
		_exit(13);		/* no PROT_EXEC: allowed */
	mprotect(m, 4096, PROT_READ | PROT_EXEC);
	_exit(12);
}

static void test_mprotect_exec(void **state)
{
	expect_refused(child_mprotect_exec, "test", "(mprotect");
}

static void child_futex_pi(void)
{
	int word = 0;

	if (seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	/* a wake with nobody waiting: allowed, returns 0 */
	if (syscall(SYS_futex, &word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0))
		_exit(13);
	syscall(SYS_futex, &word, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
	_exit(12);
}

static void test_futex_ops(void **state)
{
	expect_refused(child_futex_pi, "test", "(futex");
}

static void child_madvise(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	if (madvise(m, 4096, MADV_DONTNEED))
		_exit(13);
	madvise(m, 4096, MADV_DOFORK);
	_exit(12);
}

static void test_madvise_advice(void **state)
{
	expect_refused(child_madvise, "test", "(madvise");
}

/* Both conditions of a rule must hold: getpriority(PRIO_PROCESS, 0)
 * passes, PRIO_PROCESS for another pid or PRIO_USER for this one do not. */
static void child_two_conditions(int which, int who)
{
	if (seccomp_enter(setup(SECCOMP_ON)))
		_exit(11);
	errno = 0;
	if (syscall(SYS_getpriority, PRIO_PROCESS, 0) < 0 && errno)
		_exit(13);
	syscall(SYS_getpriority, which, who);
	_exit(12);
}

static void child_other_pid(void)
{
	child_two_conditions(PRIO_PROCESS, 1);
}

static void child_other_which(void)
{
	child_two_conditions(PRIO_USER, 0);
}

static void test_two_conditions(void **state)
{
	expect_refused(child_other_pid, "test", "system call");
	expect_refused(child_other_which, "test", "system call");
}

/* rt_sigaction could put another handler in place of the reporter: it
 * kills at once, with no handler run, in every kind. */
static void child_sigaction(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	enter_core_kind(SECCOMP_VCPU);
	syscall(SYS_rt_sigaction, SIGSYS, &sa, NULL, 8);
	_exit(12);
}

static void test_sigaction_kills(void **state)
{
	struct outcome o;

	run_child(child_sigaction, &o);
	assert_killed_silently(&o);
}

/* Blocking SIGSYS does not let a refused call return: the kernel puts
 * the default action back and the process dies. */
static void child_sigsys_blocked(void)
{
	sigset_t set;

	enter_core_kind(SECCOMP_MAIN);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(13);
	syscall(SYS_getppid);
	_exit(12);
}

static void test_blocked_sigsys_still_kills(void **state)
{
	struct outcome o;

	run_child(child_sigsys_blocked, &o);
	assert_killed_silently(&o);
}

static void child_log_mode(void)
{
	if (seccomp_enter(setup(SECCOMP_LOG)))
		_exit(11);
	if (syscall(SYS_getppid) != (long)getppid())
		_exit(13);
	/* the fatal calls are logged and let through too */
	if (syscall(SYS_rt_sigaction, SIGUSR2, NULL, &(char[64]){ 0 }, 8))
		_exit(14);
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
		cmocka_unit_test(test_vcpu_refuses_socket),
		cmocka_unit_test(test_vcpu_refuses_kick),
		cmocka_unit_test(test_main_refuses_kvm_run),
		cmocka_unit_test(test_main_refuses_unlink),
		cmocka_unit_test(test_device_kind_refuses_event_loop),
		cmocka_unit_test(test_signals_sent),
		cmocka_unit_test(test_mprotect_exec),
		cmocka_unit_test(test_futex_ops),
		cmocka_unit_test(test_madvise_advice),
		cmocka_unit_test(test_two_conditions),
		cmocka_unit_test(test_sigaction_kills),
		cmocka_unit_test(test_blocked_sigsys_still_kills),
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
