// SPDX-License-Identifier: MIT
/*
 * x86_64 state for snapshots (core/arch.h): what KVM keeps of a VM (the
 * kvmclock, the TSC frequency) and of each vCPU (registers, FPU/XSAVE,
 * XCRs, debug registers, the local APIC, MSRs, pending events, MP
 * state).  The I/O APIC is wisp's own device and saves itself; with
 * the split irqchip KVM has no PIC or PIT to save.
 *
 * A vCPU is saved only after it completed its last exit (core/vcpu.h,
 * vcpu_complete_exit), and restored in the order KVM's documentation
 * and its users follow: MP state, registers, special registers (they
 * carry the APIC base), XSAVE, XCRs, debug registers, the local APIC,
 * MSRs (TSC deadline needs the APIC's timer mode first), and the
 * pending events last.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/x86.h"
#include "core/arch.h"
#include "core/kconfig.h"
#include "core/seccomp.h"
#include "core/snapshot.h"
#include "core/vm.h"

#define MAX_MSRS 512

/* ------------------------------------------------------------- the VM */

int arch_vm_save(struct vm *vm, struct snap_writer *w)
{
	struct kvm_clock_data clock = { 0 };
	int khz;

	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock)) {
		wisp_err("snapshot: KVM_GET_CLOCK: %s", strerror(errno));
		return -1;
	}
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	snap_u64(w, clock.clock);
	snap_u32(w, khz > 0 ? (uint32_t)khz : 0);
	return 0;
}

/* The guest's TSC frequency: the same as when it was saved, or the
 * guest's clocks would run at another speed.  Needs TSC scaling when
 * the host differs. */
static int load_tsc_khz(struct vm *vm, uint32_t khz)
{
	int now = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);

	if (!khz || now == (int)khz)
		return 0;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_SET_TSC_KHZ, (unsigned long)khz)) {
			wisp_err("restore: the snapshot's TSC runs at %u kHz, this host's at %d kHz, "
				 "and KVM cannot scale it: %s", khz, now, strerror(errno));
			return -1;
		}
	return 0;
}

int arch_vm_load(struct vm *vm, struct snap_reader *r)
{
	struct kvm_clock_data clock = { 0 };
	uint32_t khz;

	clock.clock = snap_get_u64(r);
	khz = snap_get_u32(r);
	if (snap_done(r))
		return -1;
	if (load_tsc_khz(vm, khz))
		return -1;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock)) {
		wisp_err("restore: KVM_SET_CLOCK: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- the MSRs */

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[MAX_MSRS];
};

/* Every MSR KVM saves and restores for its users (its index list), and
 * with kvm_hyperv=on the SynIC's and the synthetic timers' (hyperv.c). */
static int msr_list(struct vm *vm, struct msr_buf *b)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t index[MAX_MSRS];
	} list = { .hdr.nmsrs = MAX_MSRS };

	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list)) {
		wisp_err("snapshot: KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return -1;
	}
	if (IS_ENABLED(CONFIG_CPU_HYPERV) && vm->cfg->cpu_hyperv)
		list.hdr.nmsrs = x86_hyperv_msrs(list.index, list.hdr.nmsrs, MAX_MSRS);
	memset(b, 0, sizeof(*b));
	b->hdr.nmsrs = list.hdr.nmsrs;
	for (uint32_t i = 0; i < list.hdr.nmsrs; i++)
		b->e[i].index = list.index[i];
	return 0;
}

/* KVM_GET_MSRS/KVM_SET_MSRS stop at the first MSR they refuse: go on
 * past it.  Returns how many were done; the refused ones drop out of
 * b (on a get, an MSR this CPU does not have). */
static uint32_t msrs_transfer(int fd, unsigned long req, struct msr_buf *b, bool report)
{
	uint32_t done = 0, total = b->hdr.nmsrs;
	struct msr_buf *part = malloc(sizeof(*part));

	if (!part)
		return 0;
	for (uint32_t at = 0; at < total;) {
		int n;

		part->hdr.nmsrs = total - at;
		memcpy(part->e, &b->e[at], sizeof(part->e[0]) * (total - at));
		n = ioctl(fd, req, part);
		if (n < 0)
			break;
		memcpy(&b->e[done], part->e, sizeof(part->e[0]) * (size_t)n);
		done += (uint32_t)n;
		at += (uint32_t)n;
		if (at < total && report)
			wisp_err("restore: KVM refused MSR %#x, left as it is", b->e[at].index);
		at++;	/* the refused one */
	}
	free(part);
	b->hdr.nmsrs = done;
	return done;
}

/* ------------------------------------------------------------ a vCPU */

static int xsave_size(struct vm *vm)
{
	int size = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return size > (int)sizeof(struct kvm_xsave) ? size : (int)sizeof(struct kvm_xsave);
}

static int get(struct vcpu *v, unsigned long req, const char *name, void *out)
{
	if (ioctl(v->fd, req, out) == 0)
		return 0;
	wisp_err("snapshot: vCPU %u: %s: %s", v->index, name, strerror(errno));
	return -1;
}

int arch_vcpu_save(struct vcpu *v, struct snap_writer *w)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs = { 0 };
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	int xsize = xsave_size(v->vm);
	struct kvm_xsave *xsave = calloc(1, (size_t)xsize);
	struct msr_buf *msrs = malloc(sizeof(*msrs));
	int ret = -1;

	if (!xsave || !msrs)
		goto out;
	if (get(v, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", &mp) ||
	    get(v, KVM_GET_REGS, "KVM_GET_REGS", &regs) ||
	    get(v, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs) ||
	    get(v, xsize > (int)sizeof(*xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, "KVM_GET_XSAVE",
		xsave) ||
	    get(v, KVM_GET_XCRS, "KVM_GET_XCRS", &xcrs) ||
	    get(v, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS", &dregs) ||
	    get(v, KVM_GET_LAPIC, "KVM_GET_LAPIC", &lapic) ||
	    get(v, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", &events) ||
	    msr_list(v->vm, msrs))
		goto out;
	msrs_transfer(v->fd, KVM_GET_MSRS, msrs, false);
	snap_blob(w, &mp, sizeof(mp));
	snap_blob(w, &regs, sizeof(regs));
	snap_blob(w, &sregs, sizeof(sregs));
	snap_blob(w, xsave, (uint32_t)xsize);
	snap_blob(w, &xcrs, sizeof(xcrs));
	snap_blob(w, &dregs, sizeof(dregs));
	snap_blob(w, &lapic, sizeof(lapic));
	snap_u32(w, msrs->hdr.nmsrs);
	for (uint32_t i = 0; i < msrs->hdr.nmsrs; i++) {
		snap_u32(w, msrs->e[i].index);
		snap_u64(w, msrs->e[i].data);
	}
	snap_blob(w, &events, sizeof(events));
	ret = 0;
out:
	free(xsave);
	free(msrs);
	return ret;
}

static int set(struct vcpu *v, unsigned long req, const char *name, void *in)
{
	if (ioctl(v->fd, req, in) == 0)
		return 0;
	wisp_err("restore: vCPU %u: %s: %s", v->index, name, strerror(errno));
	return -1;
}

/* The XSAVE area as saved; one larger than this host's is refused
 * (state this CPU cannot hold), a smaller one is padded with zeros. */
static struct kvm_xsave *read_xsave(struct vcpu *v, struct snap_reader *r)
{
	int xsize = xsave_size(v->vm);
	uint32_t n = snap_get_u32(r);
	struct kvm_xsave *x;

	if (n > (uint32_t)xsize || n < sizeof(struct kvm_xsave)) {
		wisp_err("restore: vCPU %u: an XSAVE area of %u bytes, this host's holds %d",
			 v->index, n, xsize);
		r->failed = true;
		return NULL;
	}
	x = calloc(1, (size_t)xsize);
	if (x)
		snap_get(r, x, n);
	return x;
}

static struct msr_buf *read_msrs(struct snap_reader *r)
{
	uint32_t n = snap_get_u32(r);
	struct msr_buf *b;

	if (n > MAX_MSRS) {
		r->failed = true;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->hdr.nmsrs = n;
	for (uint32_t i = 0; i < n; i++) {
		b->e[i].index = snap_get_u32(r);
		b->e[i].data = snap_get_u64(r);
	}
	return b;
}

int arch_vcpu_load(struct vcpu *v, struct snap_reader *r)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_xsave *xsave = NULL;
	struct msr_buf *msrs = NULL;
	int ret = -1;

	snap_get_blob(r, &mp, sizeof(mp));
	snap_get_blob(r, &regs, sizeof(regs));
	snap_get_blob(r, &sregs, sizeof(sregs));
	xsave = read_xsave(v, r);
	snap_get_blob(r, &xcrs, sizeof(xcrs));
	snap_get_blob(r, &dregs, sizeof(dregs));
	snap_get_blob(r, &lapic, sizeof(lapic));
	msrs = read_msrs(r);
	snap_get_blob(r, &events, sizeof(events));
	if (snap_done(r) || !xsave || !msrs) {
		wisp_err("restore: vCPU %u: its saved state is malformed", v->index);
		goto out;
	}
	if (set(v, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", &mp) ||
	    set(v, KVM_SET_REGS, "KVM_SET_REGS", &regs) ||
	    set(v, KVM_SET_SREGS, "KVM_SET_SREGS", &sregs) ||
	    set(v, KVM_SET_XSAVE, "KVM_SET_XSAVE", xsave) ||
	    set(v, KVM_SET_XCRS, "KVM_SET_XCRS", &xcrs) ||
	    set(v, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", &dregs) ||
	    set(v, KVM_SET_LAPIC, "KVM_SET_LAPIC", &lapic))
		goto out;
	msrs_transfer(v->fd, KVM_SET_MSRS, msrs, true);
	ret = set(v, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", &events);
out:
	free(xsave);
	free(msrs);
	return ret;
}

/* What the saving thread (the API's) calls here. */
static const struct seccomp_rule snapshot_rules[] = {
	SC_IOCTL(KVM_GET_CLOCK),
	SC_IOCTL(KVM_GET_TSC_KHZ),
	SC_IOCTL(KVM_CHECK_EXTENSION),
	SC_IOCTL(KVM_GET_MSR_INDEX_LIST),
	SC_IOCTL(KVM_GET_MP_STATE),
	SC_IOCTL(KVM_GET_REGS),
	SC_IOCTL(KVM_GET_SREGS),
	SC_IOCTL(KVM_GET_XSAVE),
	SC_IOCTL(KVM_GET_XSAVE2),
	SC_IOCTL(KVM_GET_XCRS),
	SC_IOCTL(KVM_GET_DEBUGREGS),
	SC_IOCTL(KVM_GET_LAPIC),
	SC_IOCTL(KVM_GET_VCPU_EVENTS),
	SC_IOCTL(KVM_GET_MSRS),
};

/* wisp's I/O APIC and KVM's LAPICs are all saved */
const char *arch_snapshot_blocker(struct vm *vm)
{
	(void)vm;
	return NULL;
}

int arch_snapshot_allow(unsigned kinds)
{
	return seccomp_allow(kinds, snapshot_rules, SC_COUNT(snapshot_rules));
}
