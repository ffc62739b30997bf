// SPDX-License-Identifier: MIT
/*
 * seccomp-bpf filters, generated here (libseccomp does not link with
 * musl).  See core/seccomp.h for the model.
 *
 * Each kind's program:
 *     load arch;  arch != this build's arch        -> kill the process
 *     load nr;    for every listed nr:  nr == it   -> its block
 *     default action (trap, or log)
 * and a block is "allow" for an unconditional rule, else the tests of
 * each rule on the low 32 bits of arguments, falling to the default --
 * or, for a call listed as fatal (SC_KILL), to killing the process.
 */
#include "core/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/term.h"
#include "core/vcpu.h"
#include "core/vm.h"

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#define ARCH_NAME "x86_64"
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define ARCH_NAME "aarch64"
#else
#error "seccomp: unknown architecture"
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif

/* BPF_MAXINSNS is 4096; a kind needing more is a bug worth reporting */
#define MAX_INSNS 4096
#define MAX_RULES 256

struct kind {
	const char *name;
	size_t nrules;
	struct seccomp_rule rules[MAX_RULES];
	struct sock_filter *prog;
	unsigned short len;
};

/* zero-initialised, so in .bss: it costs the binary nothing */
static struct kind kind_table[SECCOMP_MAX_KINDS];

static struct {
	enum seccomp_mode mode;
	unsigned nkinds;
	struct kind *kind;
	bool sealed, failed;
	int starting;		/* threads of seccomp_thread_create() not yet filtered */
	pthread_mutex_t lock;
	pthread_cond_t sealed_cond;
	pthread_cond_t entered_cond;	/* starting went down */
} sc = {
	.mode = SECCOMP_OFF,
	.kind = kind_table,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sealed_cond = PTHREAD_COND_INITIALIZER,
	.entered_cond = PTHREAD_COND_INITIALIZER,
};

/* The filtered thread's kind, for the SIGSYS report. */
static __thread const char *thread_kind;

/* ------------------------------------------------------ core's own needs */

/* futex operations, flags (private, realtime clock) aside: musl's locks,
 * condition variables and joins wait, wake and requeue; nothing uses
 * the PI, robust-list or wake-op forms. */
#define FUTEX_OP_MASK (~(uint32_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define SC_FUTEX(op) SC_ARG(SYS_futex, 1, FUTEX_OP_MASK, (op))
/* a signal wisp sends to one of its own threads */
#define SC_TKILL(sig) SC_ARG(SYS_tkill, 1, SC_ALL, (sig))

/* Every thread: memory (malloc) without executable mappings, locks,
 * writing to stderr (error lines), its signal mask, time, and dying --
 * a crash handler (core/term.c) or abort() raising the signal it dies
 * of on itself.  No rt_sigaction: the SIGSYS reporter and every other
 * handler are in place before the first filter, and a thread that could
 * change them could make a refused call survivable; it kills at once. */
static const struct seccomp_rule common_rules[] = {
	SC_FUTEX(FUTEX_WAIT),
	SC_FUTEX(FUTEX_WAKE),
	SC_FUTEX(FUTEX_REQUEUE),
	SC_FUTEX(FUTEX_CMP_REQUEUE),
	SC_FUTEX(FUTEX_WAIT_BITSET),
	SC_FUTEX(FUTEX_WAKE_BITSET),
	SC_ALLOW(SYS_write),
	SC_ALLOW(SYS_writev),
	SC_ALLOW(SYS_brk),
	SC_ARG(SYS_mmap, 2, PROT_EXEC, 0),
	SC_ARG(SYS_mprotect, 2, PROT_EXEC, 0),
	SC_ALLOW(SYS_munmap),
	SC_ALLOW(SYS_mremap),
	/* what malloc gives back (musl's mallocng when CONFIG_SMALL_MALLOC is off) */
	SC_ARG(SYS_madvise, 2, SC_ALL, MADV_DONTNEED),
	SC_ARG(SYS_madvise, 2, SC_ALL, MADV_FREE),
	SC_ALLOW(SYS_rt_sigprocmask),
	SC_ALLOW(SYS_rt_sigreturn),
	SC_KILL(SYS_rt_sigaction),
	SC_ALLOW(SYS_gettid),
	SC_ALLOW(SYS_getpid),
	SC_TKILL(SIGABRT),
	SC_TKILL(SIGSEGV),
	SC_TKILL(SIGBUS),
	SC_TKILL(SIGFPE),
	SC_TKILL(SIGILL),
	SC_ALLOW(SYS_clock_gettime),
	SC_ALLOW(SYS_clock_nanosleep),
#ifdef SYS_nanosleep
	SC_ALLOW(SYS_nanosleep),
#endif
	/* a sleep or timed wait the kick signal interrupted, resumed */
	SC_ALLOW(SYS_restart_syscall),
	SC_ALLOW(SYS_sched_yield),
	SC_ALLOW(SYS_exit),
	SC_ALLOW(SYS_exit_group),
	/* a dying wisp puts the user's terminal back (core/term.c) */
	SC_IOCTL(TCSETS),
};

/* vCPU threads: KVM_RUN and what exits lead to in core -- interrupts
 * (I/O APIC MSIs, MSI-X routes and their irqfds), kicks of queues and of
 * the event loop (eventfd writes), and event-loop watches that device
 * code changes (event_mod on DRIVER_OK); register dumps are the arch's
 * to add. */
static const struct seccomp_rule vcpu_rules[] = {
	SC_ALLOW(SYS_epoll_ctl),
	SC_IOCTL(KVM_RUN),
	SC_IOCTL(KVM_SIGNAL_MSI),
	SC_IOCTL(KVM_SET_GSI_ROUTING),
	SC_IOCTL(KVM_IRQFD),
	SC_ALLOW(SYS_eventfd2),
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_close),
};

/* The main thread: the event loop, signals, the power-button grace
 * timer, kicking the vCPUs out of KVM_RUN (their signal only), and
 * tearing down. */
static const struct seccomp_rule main_rules[] = {
	SC_ALLOW(SYS_epoll_pwait),
#ifdef SYS_epoll_wait
	SC_ALLOW(SYS_epoll_wait),
#endif
	SC_ALLOW(SYS_epoll_ctl),
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_close),
	SC_ALLOW(SYS_timerfd_create),
	SC_ALLOW(SYS_timerfd_settime),
	/* stop signals that arrived as the guest powered off are dropped
	 * before the signal mask is restored */
	SC_ALLOW(SYS_rt_sigtimedwait),
	SC_TKILL(VCPU_KICK_SIGNAL),
	SC_IOCTL(KVM_SIGNAL_MSI),
	SC_IOCTL(KVM_SET_GSI_ROUTING),
	SC_IOCTL(KVM_IRQFD),
	SC_ALLOW(SYS_eventfd2),
};

/* ------------------------------------------------------------ the lists */

static unsigned add_kind(const char *name)
{
	struct kind *k;

	if (sc.nkinds == SECCOMP_MAX_KINDS)
		return 0;
	k = &sc.kind[sc.nkinds];
	memset(k, 0, sizeof(*k));
	k->name = name;
	return 1u << sc.nkinds++;
}

static bool same_rule(const struct seccomp_rule *a, const struct seccomp_rule *b)
{
	if (a->nr != b->nr || a->nconds != b->nconds || a->kill != b->kill ||
	    a->arg0 != b->arg0 || (a->nconds > 1 && a->arg1 != b->arg1))
		return false;
	for (unsigned c = 0; c < a->nconds; c++)
		if (a->cond[c].mask != b->cond[c].mask || a->cond[c].value != b->cond[c].value)
			return false;
	return true;
}

static bool has_rule(const struct kind *k, const struct seccomp_rule *r)
{
	for (size_t i = 0; i < k->nrules; i++)
		if (same_rule(&k->rules[i], r))
			return true;
	return false;
}

/* Adds the rules to each kind in `kinds`, once each (every disk and
 * every NIC registers the same ones). */
static int allow_locked(unsigned kinds, const struct seccomp_rule *rules, size_t n)
{
	for (unsigned i = 0; i < sc.nkinds; i++) {
		struct kind *k = &sc.kind[i];

		if (!(kinds & (1u << i)))
			continue;
		for (size_t r = 0; r < n; r++) {
			if (has_rule(k, &rules[r]))
				continue;
			if (k->nrules == MAX_RULES) {
				wisp_err("seccomp: more than %d rules for the %s threads", MAX_RULES,
					 k->name);
				return -1;
			}
			k->rules[k->nrules++] = rules[r];
		}
	}
	return 0;
}

void seccomp_init(enum seccomp_mode mode)
{
	pthread_mutex_lock(&sc.lock);
	for (unsigned i = 0; i < sc.nkinds; i++)
		free(sc.kind[i].prog);
	sc.nkinds = 0;
	sc.starting = 0;
	sc.sealed = sc.failed = false;
	sc.mode = mode;
	/* SECCOMP_VCPU and SECCOMP_MAIN are bits 0 and 1, in this order */
	add_kind("vCPU");
	add_kind("main");
	allow_locked(~0u, common_rules, SC_COUNT(common_rules));
	allow_locked(SECCOMP_VCPU, vcpu_rules, SC_COUNT(vcpu_rules));
	allow_locked(SECCOMP_MAIN, main_rules, SC_COUNT(main_rules));
	pthread_mutex_unlock(&sc.lock);
}

unsigned seccomp_kind(const char *name)
{
	unsigned bit;

	pthread_mutex_lock(&sc.lock);
	for (unsigned i = 0; i < sc.nkinds; i++) {
		if (!strcmp(sc.kind[i].name, name)) {
			pthread_mutex_unlock(&sc.lock);
			return 1u << i;
		}
	}
	bit = sc.sealed ? 0 : add_kind(name);
	if (bit)
		allow_locked(bit, common_rules, SC_COUNT(common_rules));
	pthread_mutex_unlock(&sc.lock);
	if (!bit)
		wisp_err("seccomp: no filter for the %s threads: %s", name,
			 sc.sealed ? "the filters are built already" : "too many kinds");
	return bit;
}

int seccomp_allow(unsigned kinds, const struct seccomp_rule *rules, size_t n)
{
	int ret;

	pthread_mutex_lock(&sc.lock);
	if (sc.sealed) {
		pthread_mutex_unlock(&sc.lock);
		wisp_err("seccomp: rules added after the filters were built");
		return -1;
	}
	ret = allow_locked(kinds, rules, n);
	pthread_mutex_unlock(&sc.lock);
	return ret;
}

/* ------------------------------------------------------------ BPF */

struct prog {
	struct sock_filter insn[MAX_INSNS];
	size_t len;
	bool overflow;
};

static void emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->len == MAX_INSNS) {
		p->overflow = true;
		return;
	}
	p->insn[p->len++] = (struct sock_filter){ code, jt, jf, k };
}

#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))

/* Orders the rules by nr, so that each nr's rules form one block.  An
 * insertion sort: a kind has at most MAX_RULES, sorted once at the seal,
 * and musl's qsort would cost the binary 2 KiB. */
static void sort_rules(struct seccomp_rule *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct seccomp_rule x = r[i];
		size_t j = i;

		for (; j > 0 && r[j - 1].nr > x.nr; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
}

static unsigned cond_len(const struct seccomp_cond *c)
{
	return c->mask != SC_ALL ? 3 : 2;	/* load, [and,] compare */
}

/* One rule: each condition falls through when it holds and jumps past
 * the rule's "allow" when it does not. */
static void emit_rule(struct prog *p, const struct seccomp_rule *r)
{
	for (unsigned c = 0; c < r->nconds; c++) {
		const struct seccomp_cond *x = &r->cond[c];
		unsigned skip = 1;	/* the return below */

		for (unsigned d = c + 1; d < r->nconds; d++)
			skip += cond_len(&r->cond[d]);
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(c ? r->arg1 : r->arg0));
		if (x->mask != SC_ALL)
			emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, x->mask);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)skip, x->value);
	}
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
}

/* The block for the rules [first, end), which share one nr: allow when
 * any matches, else the kill action for a call listed as fatal, else
 * the default action. */
static void emit_conditions(struct prog *p, const struct seccomp_rule *first,
			    const struct seccomp_rule *end, uint32_t dflt, uint32_t fatal)
{
	uint32_t otherwise = dflt;

	for (const struct seccomp_rule *r = first; r < end; r++) {
		if (r->kill)
			otherwise = fatal;
		else if (!r->nconds) {
			emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
			return;
		}
	}
	for (const struct seccomp_rule *r = first; r < end; r++)
		if (!r->kill)
			emit_rule(p, r);
	emit(p, BPF_RET | BPF_K, 0, 0, otherwise);
}

static int build(struct kind *k, uint32_t dflt, uint32_t fatal)
{
	struct prog *p = calloc(1, sizeof(*p));
	struct seccomp_rule *r = k->rules;
	size_t n = k->nrules;

	if (!p)
		return -1;
	sort_rules(r, n);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, THIS_AUDIT_ARCH);
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < n;) {
		size_t j = i, ja;

		while (j < n && r[j].nr == r[i].nr)
			j++;
		/* nr == it: step over the jump into the block; else jump
		 * past the block (ja takes a 32-bit offset, jt/jf 8 bits) */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, (uint32_t)r[i].nr);
		ja = p->len;
		emit(p, BPF_JMP | BPF_JA, 0, 0, 0);
		emit_conditions(p, &r[i], &r[j], dflt, fatal);
		if (!p->overflow)
			p->insn[ja].k = (uint32_t)(p->len - ja - 1);
		/* every block ends in a return, so A needs no reloading */
		i = j;
	}
	emit(p, BPF_RET | BPF_K, 0, 0, dflt);
	if (p->overflow) {
		wisp_err("seccomp: the %s threads' filter is longer than %d instructions",
			 k->name, MAX_INSNS);
		free(p);
		return -1;
	}
	k->len = (unsigned short)p->len;
	k->prog = malloc(p->len * sizeof(*k->prog));
	if (k->prog)
		memcpy(k->prog, p->insn, p->len * sizeof(*k->prog));
	free(p);
	return k->prog ? 0 : -1;
}

/* ------------------------------------------------------------ SIGSYS */

/* The names of the calls most likely to show up in a report: one list,
 * expanded twice, into the numbers and into one string of the names
 * separated by NULs (an array of pointers would cost 16 bytes a name). */
#ifdef SYS_open
#define LEGACY_SYSCALLS(N) N(open) N(unlink) N(fork) N(vfork) N(poll) N(epoll_wait) \
	N(stat) N(pipe) N(dup2) N(access)
#else
#define LEGACY_SYSCALLS(N)
#endif
#define KNOWN_SYSCALLS(N)							\
	N(read) N(write) N(close) N(ioctl) N(mmap) N(mprotect) N(munmap)	\
	N(openat) N(socket) N(connect) N(accept4) N(bind) N(listen)		\
	N(sendto) N(recvfrom) N(sendmsg) N(recvmsg) N(clone) N(execve)		\
	N(execveat) N(kill) N(ptrace) N(mount) N(getppid) N(setuid)		\
	N(readv) N(writev) N(preadv) N(pwritev) N(pread64) N(pwrite64)		\
	N(fsync) N(fdatasync) N(fallocate) N(epoll_ctl) N(epoll_pwait)		\
	N(eventfd2) N(timerfd_create) N(timerfd_settime) N(unlinkat)		\
	N(shutdown) N(fcntl) N(prctl) N(seccomp) N(getrandom) N(msync)		\
	N(newfstatat) N(fstat) N(lseek) N(dup3) N(pipe2) N(wait4)		\
	N(clone3) N(memfd_create) N(ftruncate) N(statx) N(faccessat)		\
	N(futex) N(madvise) N(tkill) N(tgkill) N(rt_sigaction) N(setsockopt)	\
	N(getsockopt) N(mremap)							\
	LEGACY_SYSCALLS(N)

#define SYSCALL_NR(x) SYS_##x,
#define SYSCALL_NAME(x) #x "\0"
static const unsigned short known_nrs[] = { KNOWN_SYSCALLS(SYSCALL_NR) };
static const char known_names[] = KNOWN_SYSCALLS(SYSCALL_NAME);

static const char *syscall_name(int nr)
{
	const char *name = known_names;

	for (size_t i = 0; i < SC_COUNT(known_nrs); i++, name += strlen(name) + 1)
		if (known_nrs[i] == nr)
			return name;
	return "?";
}

static void syscall_args(const ucontext_t *uc, unsigned long a[6])
{
#if defined(__x86_64__)
	const greg_t *g = uc->uc_mcontext.gregs;

	a[0] = (unsigned long)g[REG_RDI];
	a[1] = (unsigned long)g[REG_RSI];
	a[2] = (unsigned long)g[REG_RDX];
	a[3] = (unsigned long)g[REG_R10];
	a[4] = (unsigned long)g[REG_R8];
	a[5] = (unsigned long)g[REG_R9];
#else
	for (int i = 0; i < 6; i++)
		a[i] = (unsigned long)uc->uc_mcontext.regs[i];
#endif
}

/* A disallowed call (--seccomp true): say which, then die of SIGSYS by
 * making the same call again -- the handler was reset to the default on
 * entry (SA_RESETHAND), so the second trap ends the process. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	unsigned long a[6];
	char line[200];
	int n;

	(void)sig;
	syscall_args(ctx, a);
	term_restore();
	n = snprintf(line, sizeof(line),
		     "wisp: seccomp: a %s thread made system call %d (%s, " ARCH_NAME ")",
		     thread_kind ? thread_kind : "wisp", si->si_syscall,
		     syscall_name(si->si_syscall));
	if (si->si_syscall == SYS_ioctl && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " request %#lx",
			      a[1] & 0xffffffffUL);
	if (n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      ", which its filter does not allow: stopping\n");
	if (n > 0 && write(STDERR_FILENO, line, strlen(line)) < 0)
		n = 0;
	syscall(si->si_syscall, a[0], a[1], a[2], a[3], a[4], a[5]);
	/* not reached: the call traps again, now fatally */
	_exit(128 + SIGSYS);
}

int seccomp_seal(void)
{
	uint32_t dflt, fatal;
	int ret = 0;

	pthread_mutex_lock(&sc.lock);
	if (sc.mode == SECCOMP_OFF || sc.sealed) {
		pthread_mutex_unlock(&sc.lock);
		return 0;
	}
	dflt = sc.mode == SECCOMP_LOG ? SECCOMP_RET_LOG : SECCOMP_RET_TRAP;
	fatal = sc.mode == SECCOMP_LOG ? SECCOMP_RET_LOG : SECCOMP_RET_KILL_PROCESS;
	for (unsigned i = 0; i < sc.nkinds && !ret; i++)
		ret = build(&sc.kind[i], dflt, fatal);
	if (!ret && sc.mode == SECCOMP_ON) {
		struct sigaction sa = {
			.sa_sigaction = on_sigsys,
			.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER,
		};

		sigemptyset(&sa.sa_mask);
		ret = sigaction(SIGSYS, &sa, NULL);
	}
	sc.sealed = true;
	sc.failed = ret != 0;
	pthread_cond_broadcast(&sc.sealed_cond);
	/* the guest must not run while a device thread is unfiltered */
	while (sc.starting > 0)
		pthread_cond_wait(&sc.entered_cond, &sc.lock);
	pthread_mutex_unlock(&sc.lock);
	return ret;
}

/* With SECCOMP_FILTER_FLAG_LOG the kernel logs the refused calls that
 * trap too (audit / dmesg), not only the one-line report; kernels before
 * 4.14 lack the flag and get the filter without it. */
static int install(struct sock_fprog *fprog, bool log_traps)
{
	if (log_traps && !syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG,
				  fprog))
		return 0;
	if (log_traps && errno != EINVAL)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, fprog);
}

int seccomp_enter(unsigned kind)
{
	struct sock_fprog fprog;
	bool log_traps;
	unsigned i;

	pthread_mutex_lock(&sc.lock);
	while (sc.mode != SECCOMP_OFF && !sc.sealed)
		pthread_cond_wait(&sc.sealed_cond, &sc.lock);
	if (sc.mode == SECCOMP_OFF) {
		pthread_mutex_unlock(&sc.lock);
		return 0;
	}
	for (i = 0; i < sc.nkinds && kind != 1u << i; i++)
		;
	if (sc.failed || i == sc.nkinds || !sc.kind[i].prog) {
		pthread_mutex_unlock(&sc.lock);
		wisp_err("seccomp: no filter for this thread (kind %#x)", kind);
		return -1;
	}
	fprog.len = sc.kind[i].len;
	fprog.filter = sc.kind[i].prog;
	thread_kind = sc.kind[i].name;
	log_traps = sc.mode == SECCOMP_ON;
	pthread_mutex_unlock(&sc.lock);
	/* without no_new_privs an unprivileged process may not filter */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || install(&fprog, log_traps)) {
		wisp_err("seccomp: cannot install the %s threads' filter: %s", thread_kind,
			 strerror(errno));
		return -1;
	}
	return 0;
}

struct thread_start {
	unsigned kind;
	void *(*fn)(void *);
	void *arg;
};

static void *filtered_thread(void *opaque)
{
	struct thread_start ts = *(struct thread_start *)opaque;
	int ret;

	free(opaque);
	ret = seccomp_enter(ts.kind);
	pthread_mutex_lock(&sc.lock);
	sc.starting--;
	pthread_cond_broadcast(&sc.entered_cond);
	pthread_mutex_unlock(&sc.lock);
	/* without its filter the thread must not serve the guest */
	return ret ? NULL : ts.fn(ts.arg);
}

bool seccomp_threads_released(void)
{
	bool released;

	pthread_mutex_lock(&sc.lock);
	released = sc.mode == SECCOMP_OFF || sc.sealed;
	pthread_mutex_unlock(&sc.lock);
	return released;
}

int seccomp_thread_create(pthread_t *thread, unsigned kind, void *(*fn)(void *), void *arg)
{
	struct thread_start *ts = malloc(sizeof(*ts));
	int err;

	if (!ts)
		return ENOMEM;
	*ts = (struct thread_start){ kind, fn, arg };
	pthread_mutex_lock(&sc.lock);
	sc.starting++;
	pthread_mutex_unlock(&sc.lock);
	err = pthread_create(thread, NULL, filtered_thread, ts);
	if (err) {
		free(ts);
		pthread_mutex_lock(&sc.lock);
		sc.starting--;
		pthread_cond_broadcast(&sc.entered_cond);
		pthread_mutex_unlock(&sc.lock);
	}
	return err;
}
