/* SPDX-License-Identifier: MIT */
/*
 * Asking the VM to stop, and whether it has been asked: below both
 * core/vcpu.c (a vCPU stops the VM on a guest power-off or an error) and
 * core/vm.c (which runs the vCPUs until then), so neither calls up into
 * the other.  The state is struct vm's stop field.
 */
#ifndef WISP_CORE_STOP_H
#define WISP_CORE_STOP_H

#include <stdbool.h>

struct vm;

/* Why the VM stopped; decides wisp's exit status (README, Exit status). */
enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,	/* guest powered off: exit 0 */
	VM_STOP_REBOOT,		/* guest asked for a reset: exit 0 */
	VM_STOP_SIGNAL,		/* SIGTERM/SIGINT and the guest stopped */
	VM_STOP_ERROR,		/* KVM error, triple fault: exit 1 */
};

/* Asks the VM to stop; the first reason given wins.  Any thread. */
void vm_stop(struct vm *vm, enum vm_stop why);
bool vm_running(const struct vm *vm);

#endif
