// SPDX-License-Identifier: MIT
#include "core/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/arch.h"
#include "core/coalesced_io.h"
#include "core/kconfig.h"
#include "core/seccomp.h"
#include "core/timeline.h"
#include "core/vm.h"

static void kick_handler(int sig)
{
	(void)sig;	/* only here to make KVM_RUN return EINTR */
}

int vcpus_create(struct vm *vm)
{
	unsigned n = vm->cfg->cpus;

	vm->vcpus = calloc(n, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->index = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU,
			      (unsigned long)arch_vcpu_id(vm->cfg, i));
		if (v->fd < 0) {
			wisp_err("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			return -1;
		}
		vm->ncpus++;
		v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			wisp_err("mmap vCPU %u: %s", i, strerror(errno));
			return -1;
		}
		if (arch_vcpu_init(vm, v))
			return -1;
	}
	return 0;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	/* KVM put data_offset and count*size inside the run page */
	if (run->io.data_offset + (uint64_t)run->io.count * run->io.size >
	    (uint64_t)v->vm->run_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_access(&v->vm->pio, run->io.port, data, run->io.size, out);
}

static void fatal_exit(struct vcpu *v, const char *what)
{
	if (vm_running(v->vm)) {
		wisp_err("vCPU %u: %s", v->index, what);
		arch_dump_vcpu(v);
	}
	vm_stop(v->vm, VM_STOP_ERROR);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(v->vm, VM_STOP_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(v->vm, VM_STOP_REBOOT);
		break;
	default:
		fatal_exit(v, "guest crashed (KVM system event)");
		break;
	}
}

static void handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[96];

	atomic_store_explicit(&v->last_exit, run->exit_reason, memory_order_relaxed);
	if (run->exit_reason == KVM_EXIT_IO)
		atomic_store_explicit(&v->last_addr, run->io.port, memory_order_relaxed);
	else if (run->exit_reason == KVM_EXIT_MMIO)
		atomic_store_explicit(&v->last_addr, run->mmio.phys_addr, memory_order_relaxed);

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			   run->mmio.len > 8 ? 8 : run->mmio.len, run->mmio.is_write);
		break;
	case KVM_EXIT_IOAPIC_EOI:
		irq_eoi(v->vm, run->eoi.vector);
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		break;
	case KVM_EXIT_SHUTDOWN:
		fatal_exit(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error, suberror %u",
			 run->internal.suberror);
		fatal_exit(v, what);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, reason %#llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fatal_exit(v, what);
		break;
	default:
		if (!arch_handle_exit(v)) {
			snprintf(what, sizeof(what), "unhandled KVM exit %u", run->exit_reason);
			fatal_exit(v, what);
		}
		break;
	}
}

#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE 62
#endif
#define SCHED_CORE_CREATE 1	/* a new cookie for the task */
#define SCHED_CORE_SHARE_FROM 3	/* take the task's cookie */
#define SCHED_CORE_THREAD 0	/* PIDTYPE_PID: this one thread */

/* --cpus core_scheduling=vm: the first vCPU thread here makes the
 * cookie, the others take it from that thread (alive as long as the
 * VM runs).  One VM per wisp process. */
static pthread_mutex_t cookie_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t cookie_owner;

/* The vCPU thread's PR_SCHED_CORE cookie: its own (vcpu), the VM's
 * (vm) or none (off).  A kernel without core scheduling (before 5.14,
 * or CONFIG_SCHED_CORE off: EINVAL) or a host without SMT (ENODEV) has
 * nothing to isolate: silently no cookie, as in cloud-hypervisor. */
static void vcpu_core_scheduling(struct vcpu *v)
{
	enum core_scheduling mode = v->vm->cfg->core_scheduling;
	int ret;

	if (mode == CORE_SCHED_OFF)
		return;
	pthread_mutex_lock(&cookie_lock);
	if (mode == CORE_SCHED_VM && cookie_owner) {
		ret = prctl(PR_SCHED_CORE, SCHED_CORE_SHARE_FROM, cookie_owner, SCHED_CORE_THREAD, 0);
	} else {
		ret = prctl(PR_SCHED_CORE, SCHED_CORE_CREATE, 0, SCHED_CORE_THREAD, 0);
		if (!ret && mode == CORE_SCHED_VM)
			cookie_owner = (pid_t)syscall(SYS_gettid);
	}
	pthread_mutex_unlock(&cookie_lock);
	if (ret && errno != EINVAL && errno != ENODEV)
		wisp_err("vCPU %u: core scheduling: %s (the vCPU runs without a cookie)",
			 v->index, strerror(errno));
}

int vcpu_place(struct vcpu *v)
{
	const struct vm_config *cfg = v->vm->cfg;
	char name[16];

	if (!IS_ENABLED(CONFIG_VCPU_PLACEMENT))
		return 0;
	snprintf(name, sizeof(name), "vcpu%u", v->index);
	prctl(PR_SET_NAME, name);
	for (size_t i = 0; i < cfg->cpu_naffinity; i++) {
		if (cfg->cpu_affinity[i].index == v->index &&
		    sched_setaffinity(0, sizeof(cpu_set_t), &cfg->cpu_affinity[i].host_cpus)) {
			wisp_err("vCPU %u: --cpus affinity: %s", v->index, strerror(errno));
			return -1;
		}
	}
	vcpu_core_scheduling(v);
	return 0;
}

int vcpus_check_affinity(const struct vm_config *cfg)
{
	cpu_set_t own;
	int ret = 0;

	if (!IS_ENABLED(CONFIG_VCPU_PLACEMENT) || !cfg->cpu_naffinity)
		return 0;
	if (sched_getaffinity(0, sizeof(own), &own))
		return 0;	/* the vCPU threads will say it */
	/* the kernel's own answer: try each set on this thread */
	for (size_t i = 0; i < cfg->cpu_naffinity && !ret; i++) {
		if (sched_setaffinity(0, sizeof(cpu_set_t), &cfg->cpu_affinity[i].host_cpus)) {
			wisp_err("--cpus: affinity: vCPU %u: %s (no host CPU of its list is online and allowed to wisp)",
				 cfg->cpu_affinity[i].index, strerror(errno));
			ret = -1;
		}
	}
	sched_setaffinity(0, sizeof(own), &own);
	return ret;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;
	int ret;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* before the filter, which allows neither */
	if (IS_ENABLED(CONFIG_VCPU_PLACEMENT) && vcpu_place(v))
		vm_stop(v->vm, VM_STOP_ERROR);
	if (seccomp_enter(SECCOMP_VCPU))
		vm_stop(v->vm, VM_STOP_ERROR);
	while (vm_running(v->vm)) {
		if (v->vm->vcpu_hold)
			v->vm->vcpu_hold(v);	/* a paused VM's vCPUs wait here */
		if (v->index == 0)
			timeline_mark(TL_FIRST_VCPU_ENTRY);
		atomic_store_explicit(&v->in_guest, true, memory_order_relaxed);
		ret = ioctl(v->fd, KVM_RUN, 0);
		atomic_store_explicit(&v->in_guest, false, memory_order_relaxed);
		/* before anything else sees the devices: a pause, a snapshot
		 * or the exit below may read what those writes latched */
		coalesced_io_drain(v);
		if (atomic_exchange(&v->dump_requested, false))
			arch_dump_vcpu(v);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			/* EFAULT: KVM could not reach the memory behind a guest
			 * access, such as a --pmem file truncated by another
			 * process or a hole in it on a full disk */
			fatal_exit(v, errno == EFAULT ?
				   "KVM_RUN: Bad address (guest memory no longer backed: a --pmem file truncated, or its disk full?)" :
				   strerror(errno));
			break;
		}
		handle_exit(v);
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int err = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread,
					 &vm->vcpus[i]);

		if (err) {
			wisp_err("cannot start vCPU %u: %s", i, strerror(err));
			vm_stop(vm, VM_STOP_ERROR);
			vcpus_stop(vm);
			return -1;
		}
		vm->vcpus[i].started = true;
	}
	return 0;
}

void vcpus_kick(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		/* one not started yet sees the reason at its first loop */
		if (!v->started)
			continue;
		/* immediate_exit covers a vCPU between checks and KVM_RUN */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

#ifdef CONFIG_API
void vcpu_complete_exit(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) && errno != EINTR && errno != EAGAIN)
		wisp_err("vCPU %u: completing its last exit: %s", v->index, strerror(errno));
	v->run->immediate_exit = 0;
}
#endif

void vcpus_stop(struct vm *vm)
{
	vcpus_kick(vm);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = false;
	}
}

void vcpus_report(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		wisp_err("vCPU %u: %s, last exit %u at %#llx", i,
			 atomic_load(&v->in_guest) ? "running the guest" : "in wisp",
			 atomic_load(&v->last_exit),
			 (unsigned long long)atomic_load(&v->last_addr));
		/* its registers, from its own thread once it leaves KVM_RUN */
		if (v->started) {
			atomic_store(&v->dump_requested, true);
			pthread_kill(v->thread, VCPU_KICK_SIGNAL);
		}
	}
}

void vcpus_destroy(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, (size_t)vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->ncpus = 0;
}

