// SPDX-License-Identifier: MIT
/*
 * CONFIG_SMALL_CLOCK: clock_gettime() as a plain system call, instead of
 * musl's, which first finds the kernel's vDSO and parses its ELF symbol
 * table (about 0.9 KiB of the static binary).  wisp reads the clock at
 * set-up, for the boot timeline and for timers -- never on a path where
 * the system call's extra fraction of a microsecond shows.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* musl's own timed waits (condition variables, timed locks) call its
 * internal name, __clock_gettime; defining it here too keeps musl's
 * vDSO version (its only definer) out of the link. */
int __clock_gettime(clockid_t clk, struct timespec *ts);

int __clock_gettime(clockid_t clk, struct timespec *ts)
{
	return (int)syscall(SYS_clock_gettime, clk, ts);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	return __clock_gettime(clk, ts);
}
