// SPDX-License-Identifier: MIT
/*
 * The life of one VM: create it, build the devices from the table, load
 * the guest, run one thread per vCPU and the event loop on the main
 * thread, and tear it all down into an exit status.
 */
#include "core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/arch.h"
#include "core/chardev.h"
#include "core/cli.h"
#include "core/device.h"
#include "core/event.h"
#include "core/event_monitor.h"
#include "core/file.h"
#include "core/input.h"
#include "core/irq.h"
#include "core/seccomp.h"
#include "core/term.h"
#include "core/timeline.h"
#include "core/vcpu.h"
#include "core/vm_snapshot.h"

int vm_add_describer(struct vm *vm, describe_fn fn, void *opaque)
{
	if (vm->ndescribers == VM_MAX_DESCRIBERS) {
		wisp_err("too many devices to describe to the guest");
		return -1;
	}
	vm->describers[vm->ndescribers].fn = fn;
	vm->describers[vm->ndescribers].opaque = opaque;
	vm->ndescribers++;
	return 0;
}

/* What makes /dev/kvm appear on a host without it. */
#if defined(__aarch64__)
#define KVM_MISSING_HINT "boot the host kernel at EL2 with KVM built in (CONFIG_KVM)"
#else
#define KVM_MISSING_HINT "load the KVM module (modprobe kvm_intel or kvm_amd) or enable virtualization in the firmware"
#endif

/* One line for /dev/kvm failing with errno `e`: what is wrong and what
 * would fix it. */
static void report_kvm_open(int e)
{
	if (e == ENOENT)
		wisp_err("/dev/kvm does not exist: %s", KVM_MISSING_HINT);
	else if (e == EACCES || e == EPERM)
		wisp_err("cannot open /dev/kvm: %s: add the user to its group (kvm) or fix its permissions",
			 strerror(e));
	else
		wisp_err("cannot open /dev/kvm: %s: %s", strerror(e), KVM_MISSING_HINT);
}

/* /dev/kvm, checked to be a character device before it is opened: a
 * regular file or a FIFO left in its place is named as such (and a
 * FIFO is never opened, which could block). */
static int open_kvm_device(void)
{
	struct stat st;
	int fd;

	if (stat("/dev/kvm", &st)) {
		report_kvm_open(errno);
		return -1;
	}
	if (!S_ISCHR(st.st_mode)) {
		wisp_err("/dev/kvm is %s, not the KVM character device: remove it, then %s",
			 file_kind(st.st_mode), KVM_MISSING_HINT);
		return -1;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		report_kvm_open(errno);
	return fd;
}

/* Every failure here means KVM is missing or unusable on this host:
 * the caller exits with EXIT_NO_KVM. */
static int kvm_open(struct vm *vm)
{
	int version;

	vm->kvm_fd = open_kvm_device();
	if (vm->kvm_fd < 0)
		return -1;
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		wisp_err("/dev/kvm is not the KVM device (KVM_GET_API_VERSION: %s): %s",
			 strerror(errno), KVM_MISSING_HINT);
		return -1;
	}
	if (version != KVM_API_VERSION) {
		wisp_err("/dev/kvm speaks KVM API %d, wisp needs %d: this host kernel's KVM is not one wisp can use",
			 version, KVM_API_VERSION);
		return -1;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run)) {
		wisp_err("/dev/kvm refused KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		wisp_err("/dev/kvm refused KVM_CREATE_VM: %s: another hypervisor may hold the CPU's virtualization extensions, or %s",
			 strerror(errno), KVM_MISSING_HINT);
		return -1;
	}
	return 0;
}

/* The user's vCPU count against what this host's KVM can run: bad input
 * (exit 2), not a VM failure.  Memory against the host was checked
 * before KVM was opened (check_host_memory). */
static int check_kvm_vcpus(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	if (cfg->cpus > (unsigned)max) {
		wisp_err("--cpus: boot=%u is more than KVM supports here (%d)", cfg->cpus, max);
		return -1;
	}
	return 0;
}

#ifdef WISP_UNIT_TEST
int (*vm_test_slot_map)(struct vm *vm, int slot, uint64_t gpa, void *host, uint64_t size);
#endif

static int set_slot(struct vm *vm, const struct mem_region *r)
{
#ifdef WISP_UNIT_TEST
	/* a fuzzer without KVM (device memory: virtio-pmem) */
	if (vm_test_slot_map)
		return vm_test_slot_map(vm, (int)r->slot, r->gpa, r->host, r->size);
#endif
	struct kvm_userspace_memory_region kr = {
		.slot = r->slot,
		.flags = r->readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)r->host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
		wisp_err("KVM_SET_USER_MEMORY_REGION %#llx+%#llx: %s",
			 (unsigned long long)r->gpa, (unsigned long long)r->size,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int memory_setup(struct vm *vm)
{
	uint64_t layout[MEM_MAX_REGIONS][2];
	size_t n = arch_memory_layout(vm->cfg->memory.size, layout, MEM_MAX_REGIONS);

	if (memory_init(&vm->mem, &vm->cfg->memory, (const uint64_t(*)[2])layout, n))
		return -1;
#ifdef CONFIG_SNAPSHOT
	if (vm->cfg->restore.dir) {
		if (vm_snapshot_check_memory(&vm->cfg->restore.state, &vm->mem))
			return -1;
		if (memory_map_image(&vm->mem, vm->inputs->snapshot_memory,
				     vm->cfg->restore.prefault)) {
			wisp_err("--restore: cannot map the snapshot's memory: %s", strerror(errno));
			return -1;
		}
	}
#endif
	for (size_t i = 0; i < vm->mem.nregions; i++)
		if (set_slot(vm, &vm->mem.region[i]))
			return -1;
	return 0;
}

int vm_add_device_memory(struct vm *vm, void *host, uint64_t size, uint64_t align,
			 bool readonly, uint64_t *gpa)
{
	const struct mem_region *r = memory_add_device(&vm->mem, host, size, align, readonly);

	if (!r) {
		wisp_err("no room for more device memory regions (at most %d regions)",
			 MEM_MAX_REGIONS);
		return -1;
	}
	*gpa = r->gpa;
	return set_slot(vm, r);
}

int vm_slot_alloc(struct vm *vm)
{
	return MEM_MAX_REGIONS + atomic_fetch_add(&vm->next_slot, 1);
}

int vm_slot_map(struct vm *vm, int slot, uint64_t gpa, void *host, uint64_t size)
{
#ifdef WISP_UNIT_TEST
	if (vm_test_slot_map)
		return vm_test_slot_map(vm, slot, gpa, host, size);
#endif
	struct kvm_userspace_memory_region kr = {
		.slot = (uint32_t)slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0 ? -1 : 0;
}

static int create_devices(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	const struct device_desc *const *table;
	size_t n = device_table(&table);
	int ret;

	/* Table order is creation order; instances follow it.  Returns 0, or
 * the exit status. */
	for (size_t t = 0; t < n; t++) {
		for (size_t i = 0; i < cfg->ndevices; i++) {
			const struct device_instance *inst = &cfg->devices[i];

			if (inst->desc != table[t] || !inst->desc->create)
				continue;
			wisp_log(LOG_DEBUG, "creating device %s", inst->desc->name);
			snapshot_device_begin(inst->desc);
			ret = inst->desc->create(vm, inst->config);
			/* 128+N: a stop signal came while it waited */
			if (ret)
				return ret == EXIT_USAGE || ret > 128 ? ret : EXIT_VM_ERROR;
			if (snapshot_device_end())
				return EXIT_VM_ERROR;
		}
	}
	return 0;
}

/* How long a guest gets to power off after its power button is pressed
 * (SIGTERM/SIGINT) before wisp stops it anyway.  README, "Stopping". */
#define POWER_BUTTON_GRACE_S 20

static void on_grace_expired(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	(void)events;
	wisp_err("the guest did not power off within %d s, stopping it", POWER_BUTTON_GRACE_S);
	vcpus_report(vm);
	vm_stop(vm, VM_STOP_SIGNAL);
}

/* The names strsignal() gives the stop signals (musl's strsignal would
 * bring its whole table of names). */
static const char *stop_signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "Interrupt";
	case SIGHUP:
		return "Hangup";
	case SIGTERM:
		return "Terminated";
	}
	return "a signal";
}

/* Signals reach the main thread through a signalfd; vCPU threads keep
 * SIGUSR1 only, which kicks them out of KVM_RUN.  The first SIGTERM or
 * SIGINT presses the guest's power button when it has one; SIGHUP, a
 * second signal, or the grace period running out stops the VM. */
static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;
	struct itimerspec grace = { .it_value.tv_sec = POWER_BUTTON_GRACE_S };
	int sig;

	(void)events;
	if (read(vm->stop_eventfd, &si, sizeof(si)) != sizeof(si))
		return;
	sig = (int)si.ssi_signo;
	vm->stop_signal = sig;
	if (sig != SIGHUP && vm->power_button && vm->grace_timer < 0) {
		vm->grace_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (vm->grace_timer >= 0 &&
		    !timerfd_settime(vm->grace_timer, 0, &grace, NULL) &&
		    !event_add(vm->loop, vm->grace_timer, EPOLLIN, on_grace_expired, vm)) {
			wisp_err("got %s, pressing the guest's power button", stop_signal_name(sig));
			vm->power_button(vm->power_button_opaque);
			return;
		}
	}
	wisp_err("got %s, stopping the VM", stop_signal_name(sig));
	/* where the vCPUs are: the first thing to know about a guest that
	 * has to be stopped from outside.  Not on a power button press: a
	 * guest asked to power off needs no register dump, and the report
	 * kicks every vCPU out of KVM_RUN. */
	vcpus_report(vm);
	vm_stop(vm, VM_STOP_SIGNAL);
}

static int signals_setup(struct vm *vm, sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, old);
	sigdelset(&set, SIGUSR1);
	vm->stop_eventfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->stop_eventfd < 0 ||
	    event_add(vm->loop, vm->stop_eventfd, EPOLLIN, on_signal, vm)) {
		wisp_err("signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A SIGTERM that arrives while the VM is already stopping (the guest
 * powered off as the signal came) stays pending; unblocked, it would
 * kill wisp and turn the exit status that is already decided into 143. */
static void drop_pending_stop_signals(void)
{
	const struct timespec now = { 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	while (sigtimedwait(&set, NULL, &now) > 0)
		;
}

static int exit_status(struct vm *vm)
{
	switch (atomic_load(&vm->stop)) {
	case VM_STOP_POWEROFF:
		return EXIT_GUEST_OK;
	case VM_STOP_REBOOT:
		wisp_err("the guest asked for a reboot; wisp does not restart it");
		return EXIT_GUEST_OK;
	case VM_STOP_SIGNAL:
		/* stopped by a signal before the guest powered off, as a
		 * shell reports a process killed by that signal */
		return 128 + vm->stop_signal;
	default:
		return EXIT_VM_ERROR;
	}
}

static void vm_teardown(struct vm *vm)
{
	vcpus_destroy(vm);
	if (vm->loop)
		event_loop_destroy(vm->loop);
	memory_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(vm->gsi_routes);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	if (vm->grace_timer >= 0)
		close(vm->grace_timer);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

/* The vCPUs run: booted, or restored (and resumed with resume=on, as
 * cloud-hypervisor reports it; else the API's vm.resume does). */
static void report_started(const struct vm_config *cfg)
{
	if (!cfg->restore.dir) {
		vm_event("booted");
		return;
	}
	vm_event("restored");
	if (cfg->restore.resume) {
		vm_event("resuming");
		vm_event("resumed");
	}
}

/* The VM is gone: cloud-hypervisor's shutdown and deleted (its VMM's
 * own shutdown follows as wisp exits).  A guest's reboot is reported
 * as cloud-hypervisor begins it, but wisp then shuts the VM down
 * instead of booting it again. */
static void report_stopped(struct vm *vm)
{
	if (atomic_load(&vm->stop) == VM_STOP_REBOOT)
		vm_event("rebooting");
	vm_event("shutdown");
	vm_event("deleted");
}

/* The kernel or firmware, or the state of a snapshot: the exit status. */
static int load_guest(struct vm *vm)
{
#ifdef CONFIG_SNAPSHOT
	if (vm->cfg->restore.dir)
		return vm_snapshot_restore(vm, &vm->cfg->restore.state);
#endif
	return arch_load(vm);
}

int vm_main(const struct vm_config *cfg, const struct vm_inputs *inputs)
{
	struct vm vm = { .cfg = cfg, .inputs = inputs, .kvm_fd = -1, .vm_fd = -1, .stop_eventfd = -1,
			 .grace_timer = -1 };
	int status = EXIT_VM_ERROR;
	bool ran = false;	/* the guest got its vCPUs */
	sigset_t old;
	int ret;

	/* cloud-hypervisor's events: "booting" before the VM is made, or
	 * "restoring" before a snapshot is loaded into it */
	if (!cfg->restore.dir)
		vm_event("booting");
	/* before anything registers what its threads will need */
	seccomp_init(cfg->seccomp);
	snapshot_reset();
	bus_init(&vm.pio, "pio");
	bus_init(&vm.mmio, "mmio");
	pthread_mutex_init(&vm.gsi_lock, NULL);
	vm.loop = event_loop_create();
	if (!vm.loop || signals_setup(&vm, &old))
		goto out;
	wisp_log(LOG_INFO, "creating the VM: %u vCPUs, %llu MiB", cfg->cpus,
		 (unsigned long long)(cfg->memory.size >> 20));
	if (vcpus_check_affinity(cfg)) {
		status = EXIT_USAGE;
		goto out;
	}
	if (kvm_open(&vm)) {
		status = EXIT_NO_KVM;
		goto out;
	}
	if (check_kvm_vcpus(&vm)) {
		status = EXIT_USAGE;
		goto out;
	}
	ret = arch_vm_init(&vm);
	if (ret) {
		status = ret == EXIT_USAGE ? EXIT_USAGE : EXIT_VM_ERROR;
		goto out;
	}
	if (irq_init(&vm) || memory_setup(&vm) || vcpus_create(&vm))
		goto out;
	timeline_mark(TL_VM_CREATED);
	ret = create_devices(&vm);
	if (ret) {
		status = ret;
		goto out;
	}
	if (cfg->restore.dir)
		vm_event("restoring");
	ret = load_guest(&vm);
	if (ret) {
		status = ret;
		goto out;
	}
	timeline_mark(TL_GUEST_LOADED);
	/* set-up is over: every device has said what its threads need */
	if (seccomp_seal() || vcpus_start(&vm))
		goto out;
	ran = true;
	report_started(cfg);
	wisp_log(LOG_INFO, "VM booted: %u vCPUs, %zu devices", cfg->cpus, cfg->ndevices);
	if (seccomp_enter(SECCOMP_MAIN))
		vm_stop(&vm, VM_STOP_ERROR);
	if (event_loop_run(vm.loop))
		wisp_err("event loop: %s", strerror(errno));
	vm_stop(&vm, VM_STOP_ERROR);	/* no-op unless the loop failed */
	vcpus_stop(&vm);
	status = exit_status(&vm);
	report_stopped(&vm);
	wisp_log(LOG_INFO, "VM stopped: exit status %d", status);
out:
	if (vm.on_teardown)
		vm.on_teardown();	/* e.g. the API thread, which then leaves the VM alone */
	term_restore();
	if (!ran)
		chardev_remove_created();
	timeline_mark(TL_EXIT);
	vm_teardown(&vm);
	drop_pending_stop_signals();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
