// SPDX-License-Identifier: MIT
/*
 * --cpus kvm_hyperv=on (Kconfig CPU_HYPERV), as cloud-hypervisor applies
 * it for Windows guests: KVM emulates a subset of Hyper-V once a vCPU's
 * CPUID leaf 0x40000001 says "Hv#1", so the guest is given the Hyper-V
 * leaves 0x40000000..0x4000000A in place of KVM's own two (a guest
 * compliant with "Hv#1" reads up to 0x4000000A), with the privileges
 * cloud-hypervisor grants: the partition reference counter, the SynIC,
 * the synthetic timers and the reference TSC page.  The SynIC is
 * KVM's per vCPU, enabled with KVM_CAP_HYPERV_SYNIC (it needs the local
 * APIC in the kernel, which the split irqchip keeps there).
 *
 * The vendor string is cloud-hypervisor's "Linux KVM Hv", not Hyper-V's
 * "Microsoft Hv": Windows looks at the interface signature, while Linux
 * takes only "Microsoft Hv" (with hypercall and VP index MSRs, which are
 * not granted) for Hyper-V.
 *
 * One difference from cloud-hypervisor, which drops KVM's two leaves:
 * wisp moves them to 0x40000100, where QEMU puts them beside its Hyper-V
 * leaves and where both KVM (for the paravirtual features it grants)
 * and Linux (for kvmclock) look for "KVMKVMKVM" too.  Without them a
 * Linux guest finds no clock to calibrate its TSC against (wisp has no
 * PIT or HPET, and Linux leaves the PM timer of a hardware-reduced ACPI
 * machine alone) and hangs early in its boot.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/x86.h"
#include "core/cli.h"
#include "core/vm.h"

#define HV_LEAF_FIRST		0x40000000u
#define HV_LEAF_LAST		0x4000000au

/* "Linux KVM Hv" and "Hv#1", as CPUID returns them (little-endian) */
#define HV_VENDOR_EBX		0x756e694cu
#define HV_VENDOR_ECX		0x564b2078u
#define HV_VENDOR_EDX		0x7648204du
#define HV_INTERFACE_HV1	0x31237648u

/* 0x40000002: the build number and version cloud-hypervisor reports */
#define HV_BUILD		0x3839u
#define HV_VERSION		0xa0000u

/* 0x40000003 EAX: the partition privileges granted */
#define HV_ACCESS_REF_COUNTER	(1u << 1)
#define HV_ACCESS_SYNIC		(1u << 2)
#define HV_ACCESS_STIMER	(1u << 3)
#define HV_ACCESS_REF_TSC	(1u << 9)
/* 0x40000003 EDX: CPU dynamic partitioning */
#define HV_CPU_DYNAMIC_PART	(1u << 3)
/* 0x40000004 EAX: relaxed timing recommended (no watchdogs on timeouts) */
#define HV_RELAXED_TIMING	(1u << 5)

/* What the granted privileges need of the host's KVM, by name. */
static const struct {
	int cap;
	const char *what;
} needed[] = {
	{ KVM_CAP_HYPERV, "Hyper-V emulation (KVM_CAP_HYPERV)" },
	{ KVM_CAP_HYPERV_TIME, "the Hyper-V reference TSC page (KVM_CAP_HYPERV_TIME)" },
	{ KVM_CAP_HYPERV_SYNIC, "the Hyper-V SynIC (KVM_CAP_HYPERV_SYNIC)" },
};

int x86_hyperv_check(struct vm *vm)
{
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			wisp_err("--cpus: kvm_hyperv=on: this host's KVM lacks %s", needed[i].what);
			return EXIT_USAGE;
		}
	return 0;
}

/* KVM's own leaves (0x40000000 and 0x40000001) moved up by KVM_BASE_MOVE,
 * their top leaf (in EAX of the first) with them; the Hyper-V leaves in
 * their place: the new count, or 0 when they do not fit in max. */
#define KVM_BASE_MOVE		0x100u

size_t x86_hyperv_cpuid(struct kvm_cpuid_entry2 *e, size_t n, size_t max)
{
	size_t kept = n;

	for (size_t i = 0; i < n; i++) {
		if (e[i].function < HV_LEAF_FIRST || e[i].function >= HV_LEAF_FIRST + KVM_BASE_MOVE)
			continue;
		if (e[i].function == HV_LEAF_FIRST && e[i].eax >= HV_LEAF_FIRST &&
		    e[i].eax < HV_LEAF_FIRST + KVM_BASE_MOVE)
			e[i].eax += KVM_BASE_MOVE;
		e[i].function += KVM_BASE_MOVE;
	}
	if (max - kept < HV_LEAF_LAST - HV_LEAF_FIRST + 1)
		return 0;
	for (uint32_t f = HV_LEAF_FIRST; f <= HV_LEAF_LAST; f++) {
		struct kvm_cpuid_entry2 *l = &e[kept++];

		memset(l, 0, sizeof(*l));
		l->function = f;
		switch (f) {
		case HV_LEAF_FIRST:
			l->eax = HV_LEAF_LAST;
			l->ebx = HV_VENDOR_EBX;
			l->ecx = HV_VENDOR_ECX;
			l->edx = HV_VENDOR_EDX;
			break;
		case HV_LEAF_FIRST + 1:
			l->eax = HV_INTERFACE_HV1;
			break;
		case HV_LEAF_FIRST + 2:
			l->eax = HV_BUILD;
			l->ebx = HV_VERSION;
			break;
		case HV_LEAF_FIRST + 3:
			l->eax = HV_ACCESS_REF_COUNTER | HV_ACCESS_SYNIC | HV_ACCESS_STIMER |
				 HV_ACCESS_REF_TSC;
			l->edx = HV_CPU_DYNAMIC_PART;
			break;
		case HV_LEAF_FIRST + 4:
			l->eax = HV_RELAXED_TIMING;
			break;
		default:	/* 0x40000005..0x4000000A: present, all zero */
			break;
		}
	}
	return kept;
}

int x86_hyperv_vcpu(struct vcpu *v)
{
	struct kvm_enable_cap synic = { .cap = KVM_CAP_HYPERV_SYNIC };

	if (ioctl(v->fd, KVM_ENABLE_CAP, &synic) < 0) {
		wisp_err("vCPU %u: KVM_CAP_HYPERV_SYNIC: %s", v->index, strerror(errno));
		return -1;
	}
	return 0;
}

/* The SynIC's and the synthetic timers' MSRs, which KVM's index list
 * leaves out (it names only SCONTROL and the first timer's config):
 * the guest's message and event pages, its 16 interrupt sources and
 * its 4 timers (KVM takes a host's writes of these in any order).
 * SVERSION is a constant and EOM only written: no state to keep. */
#define HV_MSR_SCONTROL		0x40000080u
#define HV_MSR_SIEFP		0x40000082u
#define HV_MSR_SIMP		0x40000083u
#define HV_MSR_SINT0		0x40000090u
#define HV_MSR_STIMER0_CONFIG	0x400000b0u

static bool listed(const uint32_t *index, uint32_t n, uint32_t msr)
{
	for (uint32_t i = 0; i < n; i++)
		if (index[i] == msr)
			return true;
	return false;
}

uint32_t x86_hyperv_msrs(uint32_t *index, uint32_t n, uint32_t max)
{
	uint32_t msrs[3 + 16 + 8], k = 0;

	msrs[k++] = HV_MSR_SCONTROL;
	msrs[k++] = HV_MSR_SIEFP;
	msrs[k++] = HV_MSR_SIMP;
	for (uint32_t s = 0; s < 16; s++)
		msrs[k++] = HV_MSR_SINT0 + s;
	for (uint32_t t = 0; t < 4; t++) {
		msrs[k++] = HV_MSR_STIMER0_CONFIG + 2 * t + 1;	/* count */
		msrs[k++] = HV_MSR_STIMER0_CONFIG + 2 * t;	/* config */
	}
	for (uint32_t i = 0; i < k && n < max; i++)
		if (!listed(index, n, msrs[i]))
			index[n++] = msrs[i];
	return n;
}
