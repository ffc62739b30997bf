// SPDX-License-Identifier: MIT
/*
 * LD_PRELOAD shim for the lab's QEMU (Debian's 7.2) when an L2 guest is
 * UEFI firmware: works around a QEMU bug, not a wisp one.
 *
 * The bug: with nested SVM under TCG, an L2 guest that writes CR8 while
 * its hypervisor (the lab host's KVM) has an interrupt window open
 * (V_IRQ set in the VMCB) makes helper_write_crN() call cpu_interrupt()
 * on its own vCPU without holding the big QEMU lock, and
 * tcg_handle_interrupt() asserts that the lock is held:
 *
 *   ERROR:../../accel/tcg/tcg-accel-ops.c:81:tcg_handle_interrupt:
 *   assertion failed: (qemu_mutex_iothread_locked())
 *
 * Linux never writes CR8, so the other lab cases never meet it; edk2's
 * interrupt and exception epilogue restores CR8 after a `cli`
 * (UefiCpuPkg CpuExceptionHandlerLib, X64/ExceptionHandlerAsm.nasm), and
 * a timer tick arriving in that window kills the lab host within seconds.
 *
 * In QEMU 7.2's tcg_handle_interrupt() the failed assertion is followed
 * by the function's normal path (set the request bit; for the calling
 * vCPU itself, make it leave its translation block), which is what a
 * vCPU raising an interrupt on itself needs.  So for that one assertion
 * this shim reports it once on stderr and returns instead of aborting;
 * every other assertion goes to glib's own handler and aborts as usual.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef void assert_fn(const char *domain, const char *file, int line,
		       const char *func, const char *expr);

void g_assertion_message_expr(const char *domain, const char *file, int line,
			      const char *func, const char *expr)
{
	static int reported;

	if (func && expr && !strcmp(func, "tcg_handle_interrupt") &&
	    strstr(expr, "iothread_locked")) {
		if (!reported++)
			fprintf(stderr, "qemu-cr8-shim: %s:%d %s: '%s' ignored (QEMU 7.2 CR8/V_IRQ locking bug)\n",
				file ? file : "?", line, func, expr);
		return;
	}
	((assert_fn *)dlsym(RTLD_NEXT, "g_assertion_message_expr"))(domain, file,
								    line, func, expr);
}
