/* SPDX-License-Identifier: MIT */
/*
 * seccomp-bpf: each wisp thread runs under a filter made for its kind,
 * allowing only the system calls (and ioctl numbers) that kind needs.
 *
 * Kinds: the vCPU threads, the main thread (the event loop), and any
 * kind a device adds for its own threads (virtio-blk's I/O workers).
 * Core knows what its own code needs; every device adds what its code
 * needs at create() time with seccomp_allow(), naming the kinds that
 * make each call -- a device's bus handlers run on vCPU threads, its
 * queue and back-end handlers on the main thread's event loop (a kick
 * that misses its ioeventfd is passed to the loop through the queue's
 * eventfd, so queue handlers never run on a vCPU thread).  Nothing here
 * names a device.
 *
 * The filters go on after set-up, before the guest runs: vm_main() seals
 * the lists once every device exists, then every thread installs its own
 * filter with seccomp_enter().  A device starts its threads with
 * seccomp_thread_create(), whose threads wait for the seal, install
 * their kind's filter and only then run; the seal returns once all of
 * them have, so no device thread is unfiltered when the guest starts.
 * A thread started after the seal inherits its creator's filter as well
 * as its own.
 *
 * --seccomp true: a disallowed call prints one line naming the thread
 * kind, the system call number and name (and the ioctl number) and the
 * process dies of SIGSYS; the kernel logs it too.  rt_sigaction, which
 * could replace the handler that prints the line, kills the process at
 * once (SECCOMP_RET_KILL_PROCESS).  --seccomp log: the kernel logs the
 * call (dmesg / audit log) and lets it through.  See docs/security.md.
 */
#ifndef WISP_CORE_SECCOMP_H
#define WISP_CORE_SECCOMP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "core/config.h"

/* Thread kinds are bits, so one call can allow a rule for several.  A
 * device allows each call only on the kinds that make it: its bus
 * handlers (register accesses, status writes, resets) run on vCPU
 * threads, its queue and back-end handlers on the main thread. */
#define SECCOMP_VCPU (1u << 0)
#define SECCOMP_MAIN (1u << 1)
#define SECCOMP_BOTH (SECCOMP_VCPU | SECCOMP_MAIN)
#define SECCOMP_MAX_KINDS 16

/* One rule for system call nr: allowed when every condition holds, a
 * condition being "the low 32 bits of argument `arg`, masked, equal
 * `value`" (no conditions: any arguments).  Rules for one nr are tried
 * in turn.  A `kill` rule instead names a call that must never be made
 * once the filter is on: the process dies at once, no handler runs. */
struct seccomp_cond {
	uint32_t mask;
	uint32_t value;
};

/* 20 bytes: every device's rules are tables in the binary, and the tiny
 * one counts its bytes */
struct seccomp_rule {
	uint16_t nr;
	uint8_t nconds;
	uint8_t kill : 1;
	uint8_t arg0 : 3;	/* the argument cond[0] tests */
	uint8_t arg1 : 3;	/* the argument cond[1] tests */
	struct seccomp_cond cond[2];
};

#define SC_ALL 0xffffffffu
#define SC_ALLOW(n) { .nr = (n) }
#define SC_ARG(n, i, m, v) { .nr = (n), .nconds = 1, .arg0 = (i), .cond = { { (m), (v) } } }
/* both conditions: argument i masked is v, and argument j masked is w */
#define SC_ARG2(n, i, m, v, j, mj, w)						\
	{ .nr = (n), .nconds = 2, .arg0 = (i), .arg1 = (j), .cond = { { (m), (v) }, { (mj), (w) } } }
#define SC_KILL(n) { .nr = (n), .kill = true }
/* ioctl(fd, req, ...): the kernel reads req as 32 bits, and so do we */
#define SC_IOCTL(req) SC_ARG(SYS_ioctl, 1, SC_ALL, (uint32_t)(req))

#define SC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#ifdef CONFIG_SECCOMP
/* Chooses the mode (from --seccomp) before anything registers.  Also
 * forgets earlier lists (unit tests run several in one process). */
void seccomp_init(enum seccomp_mode mode);
/* A new thread kind for a device's own threads; the name appears in
 * the violation report.  Returns its bit, or 0 when all are taken. */
unsigned seccomp_kind(const char *name);
/* Allows rules for every kind in `kinds`.  0, or -1 when the lists are
 * full (reported). */
int seccomp_allow(unsigned kinds, const struct seccomp_rule *rules, size_t n);
/* Builds every kind's filter and installs the SIGSYS reporter; the
 * lists are closed from then on.  0 or -1 (reported). */
int seccomp_seal(void);
/* Puts the calling thread under its kind's filter (waiting for the
 * seal first).  0 or -1 (reported); 0 at once when seccomp is off. */
int seccomp_enter(unsigned kind);
/* pthread_create() for a device's thread of that kind: the thread runs
 * fn(arg) under its filter, or ends at once (reported) if the filter
 * cannot be installed.  Returns pthread_create()'s result. */
int seccomp_thread_create(pthread_t *thread, unsigned kind, void *(*fn)(void *), void *arg);
/* Whether a thread from seccomp_thread_create() is past its wait for
 * the seal (the filters are built, or seccomp is off): only then may
 * one wait for it to end. */
bool seccomp_threads_released(void);
#else
static inline void seccomp_init(enum seccomp_mode mode) { (void)mode; }
static inline unsigned seccomp_kind(const char *name) { (void)name; return 1u << 2; }
static inline int seccomp_allow(unsigned kinds, const struct seccomp_rule *rules, size_t n)
{
	(void)kinds; (void)rules; (void)n;
	return 0;
}
static inline int seccomp_seal(void) { return 0; }
static inline int seccomp_enter(unsigned kind) { (void)kind; return 0; }
static inline int seccomp_thread_create(pthread_t *thread, unsigned kind,
					void *(*fn)(void *), void *arg)
{
	(void)kind;
	return pthread_create(thread, NULL, fn, arg);
}
static inline bool seccomp_threads_released(void) { return true; }
#endif

#endif
