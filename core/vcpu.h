/* SPDX-License-Identifier: MIT */
/* vCPU threads: one per vCPU, each looping on KVM_RUN and dispatching
 * exits through the buses. */
#ifndef WISP_CORE_VCPU_H
#define WISP_CORE_VCPU_H

#include <signal.h>

struct vm;

/* Kicks a vCPU thread out of KVM_RUN; the only signal the main thread
 * may send once filtered (core/seccomp.c). */
#define VCPU_KICK_SIGNAL SIGUSR1

int vcpus_create(struct vm *vm);	/* KVM vCPUs, arch_vcpu_init */
/* --cpus affinity: each vCPU's host CPU list against what the kernel
 * lets wisp run on (tried on the calling thread, then put back); -1
 * after one line when a list holds no usable CPU.  Before any VM. */
struct vm_config;
int vcpus_check_affinity(const struct vm_config *cfg);
int vcpus_start(struct vm *vm);		/* one thread each */
/* Every started vCPU out of KVM_RUN (to look at why: a stop, a pause) */
void vcpus_kick(struct vm *vm);
/* On the vCPU's own thread, out of KVM_RUN: has KVM finish the exit it
 * last handled (an IN's value into RAX, an MMIO read's into its
 * register) without entering the guest, so the registers read now are
 * the whole state.  Before saving it (KVM's documentation asks this). */
struct vcpu;
void vcpu_complete_exit(struct vcpu *v);
/* On the vCPU's thread, before it runs the guest (CONFIG_VCPU_PLACEMENT):
 * names it vcpuN, pins it to its --cpus affinity and gives it its core
 * scheduling cookie.  -1 after one line when the pinning fails. */
int vcpu_place(struct vcpu *v);
void vcpus_stop(struct vm *vm);		/* kick out of KVM_RUN and join */
void vcpus_destroy(struct vm *vm);
/* One line per vCPU on stderr: in the guest or in wisp, last exit. */
void vcpus_report(struct vm *vm);

#endif
