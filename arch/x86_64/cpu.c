// SPDX-License-Identifier: MIT
/*
 * x86_64 vCPU set-up: CPUID (what KVM supports, with the topology and
 * APIC ids filled in), MSRs, FPU, local APIC, and the register state of
 * the two boot modes (32-bit flat for PVH, 64-bit for bzImage).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch/x86_64/x86.h"
#include "core/arch.h"
#include "core/kconfig.h"
#include "core/vm.h"

#define MAX_CPUID_ENTRIES 256

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_IA32_TSC		0x10

#define MISC_ENABLE_FAST_STRING	(1u << 0)
#define MTRR_ENABLE		(1u << 11)
#define MTRR_TYPE_WRBACK	6

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		0x4
#define APIC_MODE_EXTINT	0x7

struct cpuid_buf {
	struct kvm_cpuid2 head;
	struct kvm_cpuid_entry2 entry[MAX_CPUID_ENTRIES];
};

/* Asked of KVM once, patched per vCPU. */
static struct cpuid_buf *supported_cpuid(struct vm *vm)
{
	static struct cpuid_buf *cached;

	if (cached)
		return cached;
	cached = calloc(1, sizeof(*cached));
	if (!cached)
		return NULL;
	cached->head.nent = MAX_CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cached->head) < 0) {
		wisp_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(cached);
		cached = NULL;
	}
	return cached;
}

#define CPUID_1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID_1_ECX_HYPERVISOR		(1u << 31)

/* One socket of `ncpus` cores, one thread each; APIC id = vCPU index.
 * KVM never lists the TSC-deadline timer among the supported features
 * (its local APIC emulates it; KVM_CAP_TSC_DEADLINE_TIMER says so), and
 * without it Linux runs its local APIC timer in one-shot mode, which it
 * first calibrates by spinning for a tenth of a second (HZ/10 ticks) in
 * every boot (docs/performance.md, "Where a Linux boot's time went"). */
#define CPUID_1_ECX_VMX		(1u << 5)
#define CPUID_80000001_ECX_SVM		(1u << 2)

/* --cpus nested=off and max_phys_bits=N: what KVM would let the guest
 * see, taken away (never added: a width above the host's stays the
 * host's) */
static void limit_cpuid(struct kvm_cpuid_entry2 *e, const struct vm_config *cfg)
{
	if (!cfg->cpu_nested && e->function == 1)
		e->ecx &= ~CPUID_1_ECX_VMX;
	if (!cfg->cpu_nested && e->function == 0x80000001)
		e->ecx &= ~CPUID_80000001_ECX_SVM;
	if (cfg->cpu_max_phys_bits && e->function == 0x80000008 &&
	    (e->eax & 0xff) > cfg->cpu_max_phys_bits)
		e->eax = (e->eax & ~0xffu) | cfg->cpu_max_phys_bits;
}

static void patch_cpuid(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus,
			bool tsc_deadline)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) |
			 ((ncpus > 255 ? 255 : ncpus) << 16);
		if (ncpus > 1)
			e->edx |= 1u << 28;	/* HTT: the count above is valid */
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (tsc_deadline)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		break;
	case 4:
		e->eax = (e->eax & 0x3fffu) | ((ncpus - 1) << 26);
		break;
	case 0xb:
	case 0x1f:
		/* level 0: SMT (1 thread), level 1: core (ncpus) */
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 1u << 8;
		} else if (e->index == 1) {
			e->eax = x86_order_of(ncpus);
			e->ebx = ncpus;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		e->edx = id;
		break;
	default:
		break;
	}
}

unsigned arch_vcpu_id(const struct vm_config *cfg, unsigned index)
{
	return x86_apic_id(cfg, index);
}

static int set_cpuid(struct vm *vm, struct vcpu *v)
{
	struct cpuid_buf *sup = supported_cpuid(vm);
	unsigned apic = x86_apic_id(vm->cfg, v->index);
	struct cpuid_buf *c;
	bool tsc_deadline;
	int ret;

	if (!sup)
		return -1;
	c = malloc(sizeof(*c));
	if (!c)
		return -1;
	memcpy(c, sup, sizeof(*c));
	tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	for (unsigned i = 0; i < c->head.nent; i++) {
		patch_cpuid(&c->entry[i], apic, vm->cfg->cpus, tsc_deadline);
		limit_cpuid(&c->entry[i], vm->cfg);
	}
	if (IS_ENABLED(CONFIG_CPU_TOPOLOGY) && vm->cfg->cpu_topology.threads) {
		c->head.nent = (uint32_t)x86_cpuid_topology(c->entry, c->head.nent,
							    MAX_CPUID_ENTRIES, vm->cfg, v->index);
		if (!c->head.nent) {
			wisp_err("--cpus topology: too many CPUID entries");
			free(c);
			return -1;
		}
	}
	if (IS_ENABLED(CONFIG_CPU_HYPERV) && vm->cfg->cpu_hyperv) {
		c->head.nent = (uint32_t)x86_hyperv_cpuid(c->entry, c->head.nent, MAX_CPUID_ENTRIES);
		if (!c->head.nent) {
			wisp_err("--cpus kvm_hyperv=on: too many CPUID entries");
			free(c);
			return -1;
		}
	}
	ret = ioctl(v->fd, KVM_SET_CPUID2, &c->head);
	if (ret < 0)
		wisp_err("KVM_SET_CPUID2: %s", strerror(errno));
	free(c);
	return ret < 0 ? -1 : 0;
}

#define ARCH_GET_XCOMP_GUEST_PERM	0x1024
#define ARCH_REQ_XCOMP_GUEST_PERM	0x1025
#define XFEATURE_XTILEDATA		18

/* --cpus features=amx, as cloud-hypervisor does it: the tile data state
 * is one the kernel gives a process's guests only when asked, and KVM
 * lists AMX among the supported CPUID (which every vCPU gets) only once
 * it has been.  So before KVM is asked (the first vCPU): ask, and check
 * the answer.  A host without AMX (or a kernel before 5.17) says no. */
int x86_amx_permit(void)
{
	unsigned long mask = 0;

	if (!IS_ENABLED(CONFIG_CPU_AMX))
		return -1;
	errno = 0;
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) ||
	    syscall(SYS_arch_prctl, ARCH_GET_XCOMP_GUEST_PERM, &mask) ||
	    !(mask & 1ul << XFEATURE_XTILEDATA)) {
		wisp_err("--cpus: features=amx: this host does not give guests AMX (%s)",
			 errno ? strerror(errno) : "no tile data permission");
		return -1;
	}
	return 0;
}

static int set_msrs(struct vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		/* all memory write-back: uncached RAM would crawl */
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK },
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entry[N];
	} msrs = { .head.nmsrs = N };
	int ret;

	for (unsigned i = 0; i < N; i++) {
		msrs.entry[i].index = boot_msrs[i].index;
		msrs.entry[i].data = boot_msrs[i].value;
	}
	ret = ioctl(v->fd, KVM_SET_MSRS, &msrs.head);
	if (ret != N) {
		wisp_err("KVM_SET_MSRS: set %d of %d", ret, N);
		return -1;
	}
	return 0;
}

static int set_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		wisp_err("KVM_SET_FPU: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void lvt_set_mode(struct kvm_lapic_state *l, unsigned reg, unsigned mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

/* LINT0 as ExtINT and LINT1 as NMI, the wiring a PC firmware leaves. */
static int set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state l;

	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0) {
		wisp_err("KVM_GET_LAPIC: %s", strerror(errno));
		return -1;
	}
	lvt_set_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lvt_set_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0) {
		wisp_err("KVM_SET_LAPIC: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	if (set_cpuid(vm, vcpu) ||
	    (IS_ENABLED(CONFIG_CPU_HYPERV) && vm->cfg->cpu_hyperv && x86_hyperv_vcpu(vcpu)) ||
	    set_msrs(vcpu) || set_fpu(vcpu) || set_lapic(vcpu))
		return -1;
	return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type,
				       bool code64)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64,
		.g = 1,
	};
}

/* The boot GDT both modes describe: null, null, code (0x10), data
 * (0x18), as Linux's boot protocol names __BOOT_CS and __BOOT_DS. */
static int write_gdt(struct vm *vm, bool long_mode)
{
	uint64_t gdt[4] = {
		0, 0,
		long_mode ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL,
		0x00cf93000000ffffULL,
	};

	return gpa_write(&vm->mem, X86_GDT, gdt, sizeof(gdt));
}

int x86_set_boot_regs(struct vm *vm, const struct x86_boot *boot)
{
	struct vcpu *v = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rip = boot->entry };
	struct kvm_segment code, data, tr;

	if (write_gdt(vm, boot->long_mode))
		return -1;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		wisp_err("KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	code = flat_segment(0x10, 0xb, boot->long_mode);
	data = flat_segment(0x18, 0x3, false);
	tr = flat_segment(0x20, 0xb, false);
	tr.s = 0;
	tr.limit = 0x67;
	tr.g = 0;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tr;
	sregs.gdt.base = X86_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (boot->long_mode) {
		sregs.cr3 = boot->cr3;
		sregs.cr4 = X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PG;
		sregs.efer = X86_EFER_LME | X86_EFER_LMA;
		regs.rsi = boot->zero_page;
	} else {
		regs.rbx = boot->start_info;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		wisp_err("setting boot registers: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void arch_dump_vcpu(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		wisp_err("vCPU %u: registers unavailable: %s", v->index, strerror(errno));
		return;
	}
	wisp_err("vCPU %u: rip %016llx rsp %016llx rflags %08llx", v->index,
		 (unsigned long long)r.rip, (unsigned long long)r.rsp,
		 (unsigned long long)r.rflags);
	wisp_err("  rax %016llx rbx %016llx rcx %016llx rdx %016llx",
		 (unsigned long long)r.rax, (unsigned long long)r.rbx,
		 (unsigned long long)r.rcx, (unsigned long long)r.rdx);
	wisp_err("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx",
		 (unsigned long long)r.rsi, (unsigned long long)r.rdi,
		 (unsigned long long)r.rbp, (unsigned long long)r.r8);
	wisp_err("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx",
		 (unsigned long long)r.r9, (unsigned long long)r.r10,
		 (unsigned long long)r.r11, (unsigned long long)r.r12);
	wisp_err("  r13 %016llx r14 %016llx r15 %016llx",
		 (unsigned long long)r.r13, (unsigned long long)r.r14,
		 (unsigned long long)r.r15);
	wisp_err("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx",
		 (unsigned long long)s.cr0, (unsigned long long)s.cr2,
		 (unsigned long long)s.cr3, (unsigned long long)s.cr4,
		 (unsigned long long)s.efer);
	wisp_err("  cs %04x base %llx  ss %04x  gdt %llx/%x  idt %llx/%x",
		 s.cs.selector, (unsigned long long)s.cs.base, s.ss.selector,
		 (unsigned long long)s.gdt.base, s.gdt.limit,
		 (unsigned long long)s.idt.base, s.idt.limit);
}
