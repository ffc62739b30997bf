/* SPDX-License-Identifier: MIT */
/*
 * What each architecture (arch/<arch>/) provides to core.  Core calls
 * these in this order: arch_check_boot (before any VM exists),
 * arch_vm_init, arch_memory_layout, arch_vcpu_init for each vCPU,
 * (devices are created), arch_load, then runs the vCPUs.
 */
#ifndef WISP_CORE_ARCH_H
#define WISP_CORE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct vm_config;
struct vm_inputs;

/* Checks the kernel or firmware and the initramfs the inputs phase read
 * (core/input.h) against the command line: the file's format, its
 * headers against its size, and that it fits in the RAM --memory gives
 * with the initramfs and the command line.  Needs no VM, and runs
 * before /dev/kvm is opened.  0, or 2 (EXIT_USAGE) after one line. */
int arch_check_boot(const struct vm_config *cfg, const struct vm_inputs *in);

/* Interrupt controller mode and other VM-wide KVM set-up.  0, -1, or
 * 2 (EXIT_USAGE) when the host cannot give what the user asked for. */
int arch_vm_init(struct vm *vm);

/* Splits `size` bytes of RAM into guest-physical ranges around the
 * arch's holes; returns the number of ranges (at most `max`). */
size_t arch_memory_layout(uint64_t size, uint64_t (*layout)[2], size_t max);

/* KVM's id for vCPU `index` (KVM_CREATE_VCPU): on x86_64 its APIC id,
 * which the --cpus topology spreads out; on AArch64 the index. */
unsigned arch_vcpu_id(const struct vm_config *cfg, unsigned index);

/* CPUID, MSRs, FPU and the like for one vCPU. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu);

/* Loads the kernel or firmware and the initramfs (vm->inputs, checked by
 * arch_check_boot), builds the firmware tables (ACPI or FDT, asking the
 * devices to describe themselves) and sets the boot vCPU's registers.
 * Returns 0, 1 on a VM error, or 2 when the user's input is bad: the
 * exit status. */
int arch_load(struct vm *vm);

/* Exits only this arch knows; false if the exit is not handled. */
bool arch_handle_exit(struct vcpu *vcpu);

/* Register dump on stderr after a fatal exit. */
void arch_dump_vcpu(struct vcpu *vcpu);

/* Snapshots (core/snapshot.h), with CONFIG_SNAPSHOT.  The VM is paused
 * and every vCPU has completed its last exit.  save: 0 or -1 (reported).
 * load, after the devices exist and before any vCPU runs: 0, or -1
 * (reported) when the state is malformed or this host cannot take it. */
struct snap_writer;
struct snap_reader;
int arch_vm_save(struct vm *vm, struct snap_writer *w);
int arch_vm_load(struct vm *vm, struct snap_reader *r);
int arch_vcpu_save(struct vcpu *vcpu, struct snap_writer *w);
int arch_vcpu_load(struct vcpu *vcpu, struct snap_reader *r);
/* Allows what the save functions call to the threads of `kinds`. */
int arch_snapshot_allow(unsigned kinds);
/* Why this VM's arch state cannot be saved at all (an interrupt
 * controller wisp does not save), or NULL.  Asked before anything is
 * drained or written, so vm.snapshot answers with the reason and the
 * VM keeps running. */
const char *arch_snapshot_blocker(struct vm *vm);

#endif
