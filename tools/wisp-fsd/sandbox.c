// SPDX-License-Identifier: MIT
/*
 * wisp-fsd's seccomp filter (see sandbox.h).  The program:
 *     load arch;  not this build's           -> kill the process
 *     load nr;    nr == an allowed one       -> its rule (allow, or an
 *                                               argument test)
 *     anything else                          -> trap (true) or log (log)
 */
#include "sandbox.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FSD_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FSD_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "wisp-fsd: seccomp: unknown architecture"
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif

/* An allowed call; `noexec`: only without PROT_EXEC in argument 2. */
struct fsd_rule {
	int nr;
	const char *name;
	int noexec;
};

#define ALLOW(x) { SYS_##x, #x, 0 }
#define NOEXEC(x) { SYS_##x, #x, 1 }

/*
 * What serving front ends takes, from reading fsd.c, vring.c and
 * fuse_ops.c and confirmed with `strace -f -c` of a whole session
 * (docs/security.md).  Variants that exist on one architecture only are
 * the calls musl makes there for the same function.
 */
static const struct fsd_rule rules[] = {
	/* front ends: the socket, the kick and call eventfds, guest memory */
	ALLOW(accept4), ALLOW(recvmsg), ALLOW(sendto), ALLOW(read), ALLOW(write),
	ALLOW(close), NOEXEC(mmap), ALLOW(munmap),
#ifdef SYS_poll
	ALLOW(poll),
#else
	ALLOW(ppoll),
#endif
	/* FUSE requests (fuse_ops.c), each beneath the shared directory */
	ALLOW(openat2), ALLOW(newfstatat), ALLOW(fstat), ALLOW(fcntl), ALLOW(ftruncate),
	ALLOW(truncate), ALLOW(fchownat), ALLOW(utimensat), ALLOW(mkdirat), ALLOW(unlinkat),
	ALLOW(renameat2), ALLOW(pread64), ALLOW(pwrite64), ALLOW(fsync), ALLOW(fdatasync),
	ALLOW(getdents64), ALLOW(lseek), ALLOW(fstatfs), ALLOW(readlinkat), ALLOW(faccessat),
#ifdef SYS_open
	ALLOW(open), ALLOW(chmod),
#else
	ALLOW(openat), ALLOW(fchmodat),
#endif
	/* malloc (opendir's buffer; musl's mallocng may give pages back
	 * with madvise), error lines (stdio's writev), exiting */
	ALLOW(brk), ALLOW(madvise), ALLOW(writev), ALLOW(exit_group),
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))
/* per rule at most 5 instructions, plus the head and the default */
#define MAX_PROG (6 + 5 * NRULES)

int fsd_seccomp_parse(const char *s, enum fsd_seccomp *mode)
{
	if (!strcmp(s, "true"))
		*mode = FSD_SECCOMP_TRUE;
	else if (!strcmp(s, "false"))
		*mode = FSD_SECCOMP_FALSE;
	else if (!strcmp(s, "log"))
		*mode = FSD_SECCOMP_LOG;
	else
		return -1;
	return 0;
}

static const char *rule_name(int nr)
{
	static const struct { int nr; const char *name; } others[] = {
		{ SYS_socket, "socket" }, { SYS_connect, "connect" }, { SYS_execve, "execve" },
		{ SYS_clone, "clone" }, { SYS_openat, "openat" }, { SYS_getpid, "getpid" },
		{ SYS_getppid, "getppid" }, { SYS_kill, "kill" }, { SYS_ptrace, "ptrace" },
		{ SYS_mprotect, "mprotect" }, { SYS_ioctl, "ioctl" }, { SYS_bind, "bind" },
	};

	for (size_t i = 0; i < NRULES; i++)
		if (rules[i].nr == nr)
			return rules[i].name;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (others[i].nr == nr)
			return others[i].name;
	return "?";
}

/* A call outside the list (--seccomp true): one line, then the same call
 * again, which traps with the default action now (SA_RESETHAND): the
 * process dies of SIGSYS. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	const ucontext_t *uc = ctx;
	long a[6];
	char line[160];
	int n;

	(void)sig;
#if defined(__x86_64__)
	a[0] = uc->uc_mcontext.gregs[REG_RDI];
	a[1] = uc->uc_mcontext.gregs[REG_RSI];
	a[2] = uc->uc_mcontext.gregs[REG_RDX];
	a[3] = uc->uc_mcontext.gregs[REG_R10];
	a[4] = uc->uc_mcontext.gregs[REG_R8];
	a[5] = uc->uc_mcontext.gregs[REG_R9];
#else
	for (int i = 0; i < 6; i++)
		a[i] = (long)uc->uc_mcontext.regs[i];
#endif
	n = snprintf(line, sizeof(line),
		     "wisp-fsd: seccomp: system call %d (%s) is not allowed: stopping\n",
		     si->si_syscall, rule_name(si->si_syscall));
	if (n > 0 && write(STDERR_FILENO, line, strlen(line)) < 0)
		n = 0;
	syscall(si->si_syscall, a[0], a[1], a[2], a[3], a[4], a[5]);
	_exit(128 + SIGSYS);	/* not reached */
}

static void emit(struct sock_filter *p, size_t *len, uint16_t code, uint8_t jt, uint8_t jf,
		 uint32_t k)
{
	p[(*len)++] = (struct sock_filter){ code, jt, jf, k };
}

/* Each rule: "nr == it" falls into its block, else jumps over it. */
static size_t build(struct sock_filter *p, uint32_t dflt)
{
	size_t len = 0;

	emit(p, &len, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	emit(p, &len, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, FSD_AUDIT_ARCH);
	emit(p, &len, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	emit(p, &len, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < NRULES; i++) {
		if (!rules[i].noexec) {
			emit(p, &len, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)rules[i].nr);
			emit(p, &len, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
			continue;
		}
		/* the low half of argument 2 (prot) must not have PROT_EXEC;
		 * every way out of the block returns, so A still holds nr
		 * for the rules after it */
		emit(p, &len, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)rules[i].nr);
		emit(p, &len, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, args[2]));
		emit(p, &len, BPF_JMP | BPF_JSET | BPF_K, 1, 0, PROT_EXEC);
		emit(p, &len, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
		emit(p, &len, BPF_RET | BPF_K, 0, 0, dflt);
	}
	emit(p, &len, BPF_RET | BPF_K, 0, 0, dflt);
	return len;
}

int fsd_seccomp_install(enum fsd_seccomp mode)
{
	struct sock_filter prog[MAX_PROG];
	struct sock_fprog fprog = { .filter = prog };
	struct sigaction sa = {
		.sa_sigaction = on_sigsys,
		.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER,
	};

	if (mode == FSD_SECCOMP_FALSE)
		return 0;
	fprog.len = (unsigned short)build(prog, mode == FSD_SECCOMP_LOG ? SECCOMP_RET_LOG
								      : SECCOMP_RET_TRAP);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog)) {
		fprintf(stderr, "wisp-fsd: cannot install the seccomp filter: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}
