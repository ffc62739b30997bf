// SPDX-License-Identifier: MIT
/*
 * AArch64 state for snapshots (core/arch.h).
 *
 * Each vCPU: its MP state (PSCI on/off) and every register KVM lists
 * for it (KVM_GET_REG_LIST): the core registers, FP/SIMD, the system
 * registers, the timers (KVM_REG_ARM_TIMER_CTL/CNT/CVAL) and the
 * firmware pseudo-registers (PSCI version, SMCCC features), each as
 * its id and its bytes.  The virtual counter comes back through
 * KVM_REG_ARM_TIMER_CNT, which every KVM has (the VM-wide counter
 * offset is newer): the guest's counter goes on from the value it had
 * at the snapshot, so its clocks do not jump across the time the VM
 * was saved.
 *
 * The VM: the in-kernel GICv3 -- its distributor, each vCPU's
 * redistributor and CPU interface registers, the input lines' levels --
 * and the ITS's registers.  KVM writes the ITS's tables and the LPIs'
 * pending bits into guest memory when asked, which happens here,
 * before core copies guest memory; on restore the tables are read back
 * after memory and the redistributors are in place, as KVM's
 * documentation (arm-vgic-v3.rst, arm-vgic-its.rst) orders it.
 *
 * A GICv2 VM cannot be saved (its state is not implemented here):
 * vm.snapshot fails with that reason and the VM keeps running.
 *
 * Every count and length in a state file is checked before use.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/aarch64/aarch64.h"
#include "arch_layout.h"
#include "core/arch.h"
#include "core/seccomp.h"
#include "core/snapshot.h"
#include "core/vm.h"

#define MAX_REGS 1024		/* KVM lists a few hundred */
#define MAX_REG_BYTES 256	/* the largest register: an SVE Z (2048 bits) */

/* ------------------------------------------------------- device attrs */

static int attr(int fd, bool set, uint32_t group, uint64_t a, void *val)
{
	struct kvm_device_attr d = { .group = group, .attr = a, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(fd, set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &d);
}

/* One attribute saved or loaded: 32 or 64 bits; -1 (reported) */
static int move(int fd, bool set, uint32_t group, uint64_t a, bool wide, struct snap_writer *w,
		struct snap_reader *r)
{
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	void *val = wide ? (void *)&v64 : (void *)&v32;

	if (set) {
		if (wide)
			v64 = snap_get_u64(r);
		else
			v32 = snap_get_u32(r);
		if (r->failed)
			return -1;
	}
	if (attr(fd, set, group, a, val)) {
		wisp_err("%s: GIC attribute group %u at %#llx: %s", set ? "restore" : "snapshot", group,
			 (unsigned long long)a, strerror(errno));
		return -1;
	}
	if (!set) {
		if (wide)
			snap_u64(w, v64);
		else
			snap_u32(w, v32);
	}
	return 0;
}

/* ------------------------------------------------------------- GICv3 */

/* A range of 32-bit registers: first offset, how many.  KVM has the
 * 64-bit ones of the (re)distributor accessed as two 32-bit halves. */
struct range {
	uint32_t off, count;
};

#define SPIS (ARM_GIC_NR_IRQS - 32)
/* Distributor registers of the SPIs (the SGIs' and PPIs' are in each
 * redistributor), in restore order: configuration first, then the line
 * levels (below), pending, active and enabled, and GICD_CTLR last. */
static const struct range dist_regs[] = {
	{ 0x0008, 1 },				/* GICD_IIDR: first, it picks the revision */
	{ 0x0080 + 4, SPIS / 32 },		/* IGROUPR */
	{ 0x0d00 + 4, SPIS / 32 },		/* IGRPMODR */
	{ 0x0c00 + 8, SPIS / 16 },		/* ICFGR */
	{ 0x0400 + 32, SPIS / 4 },		/* IPRIORITYR */
	{ 0x6000 + 32 * 8, SPIS * 2 },		/* IROUTER */
};
static const struct range dist_state[] = {
	{ 0x0200 + 4, SPIS / 32 },		/* ISPENDR */
	{ 0x0300 + 4, SPIS / 32 },		/* ISACTIVER */
	{ 0x0100 + 4, SPIS / 32 },		/* ISENABLER */
	{ 0x0000, 1 },				/* GICD_CTLR */
};
/* A redistributor: its RD frame, then the SGI frame at 0x10000.  The
 * LPI tables' bases before GICR_CTLR, which enables LPIs. */
static const struct range redist_regs[] = {
	{ 0x0070, 4 },						/* GICR_PROPBASER, PENDBASER */
	{ 0x10080, 1 },				/* IGROUPR0 */
	{ 0x10d00, 1 },				/* IGRPMODR0 */
	{ 0x10c00, 2 },				/* ICFGR0-1 */
	{ 0x10400, 8 },				/* IPRIORITYR0-7 */
};
static const struct range redist_state[] = {
	{ 0x10200, 1 },				/* ISPENDR0 */
	{ 0x10300, 1 },				/* ISACTIVER0 */
	{ 0x10100, 1 },				/* ISENABLER0 */
	{ 0x0000, 1 },				/* GICR_CTLR */
};

/* The CPU interface's registers (op0, op1, CRn, CRm, op2), ICC_CTLR_EL1
 * first: its PRIbits say which active-priority registers exist. */
#define ICC(op1, crn, crm, op2) ((3u << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))
static const uint16_t icc_regs[] = {
	ICC(0, 12, 12, 4),	/* ICC_CTLR_EL1 */
	ICC(0, 12, 12, 5),	/* ICC_SRE_EL1 */
	ICC(0, 4, 6, 0),	/* ICC_PMR_EL1 */
	ICC(0, 12, 8, 3),	/* ICC_BPR0_EL1 */
	ICC(0, 12, 12, 3),	/* ICC_BPR1_EL1 */
	ICC(0, 12, 8, 4), ICC(0, 12, 8, 5), ICC(0, 12, 8, 6), ICC(0, 12, 8, 7),	/* AP0R0-3 */
	ICC(0, 12, 9, 0), ICC(0, 12, 9, 1), ICC(0, 12, 9, 2), ICC(0, 12, 9, 3),	/* AP1R0-3 */
	ICC(0, 12, 12, 6),	/* ICC_IGRPEN0_EL1 */
	ICC(0, 12, 12, 7),	/* ICC_IGRPEN1_EL1 */
};
#define NR_ICC (sizeof(icc_regs) / sizeof(icc_regs[0]))

/* The vCPU's affinity as the GIC's attributes name it (bits 63:32) */
static int vcpu_affinity(const struct vcpu *v, uint64_t *aff)
{
	uint64_t mpidr;
	struct kvm_one_reg reg = { .id = ARM64_SYS_REG(3, 0, 0, 0, 5), .addr = (uint64_t)(uintptr_t)&mpidr };

	if (ioctl(v->fd, KVM_GET_ONE_REG, &reg)) {
		wisp_err("snapshot: MPIDR_EL1: %s", strerror(errno));
		return -1;
	}
	*aff = ((mpidr >> 8 & 0xff000000) | (mpidr & 0xffffff)) << 32;
	return 0;
}

static int move_ranges(int fd, bool set, uint32_t group, uint64_t base, const struct range *rg,
		       size_t n, struct snap_writer *w, struct snap_reader *r)
{
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < rg[i].count; k++)
			if (move(fd, set, group, base | (rg[i].off + k * 4u), false, w, r))
				return -1;
	return 0;
}

/* The lines' levels, 32 INTIDs an attribute from `first` */
static int move_levels(int fd, bool set, uint64_t aff, unsigned first, unsigned last,
		       struct snap_writer *w, struct snap_reader *r)
{
	for (unsigned id = first; id < last; id += 32) {
		uint64_t a = aff | ((uint64_t)VGIC_LEVEL_INFO_LINE_LEVEL <<
				    KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT) | id;

		if (move(fd, set, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, a, false, w, r))
			return -1;
	}
	return 0;
}

/* A CPU interface: each register with a byte saying whether this host's
 * GIC has it (the active-priority registers beyond PRIbits do not). */
static int move_icc(int fd, bool set, uint64_t aff, struct snap_writer *w, struct snap_reader *r)
{
	for (size_t i = 0; i < NR_ICC; i++) {
		uint64_t v = 0;
		uint64_t a = aff | icc_regs[i];

		if (!set) {
			bool have = !attr(fd, false, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, a, &v);

			snap_u8(w, have);
			snap_u64(w, have ? v : 0);
			continue;
		}
		bool have = snap_get_bool(r);

		v = snap_get_u64(r);
		if (r->failed)
			return -1;
		if (have && attr(fd, true, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, a, &v)) {
			wisp_err("restore: GIC CPU register %#x: %s", icc_regs[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The whole GICv3, in restore order.  Saving runs the same walk. */
static int move_gic(struct vm *vm, bool set, struct snap_writer *w, struct snap_reader *r)
{
	int fd = arm_gic_fd();
	const uint32_t D = KVM_DEV_ARM_VGIC_GRP_DIST_REGS, R = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS;
	uint64_t aff;

	if (move_ranges(fd, set, D, 0, dist_regs, sizeof(dist_regs) / sizeof(dist_regs[0]), w, r) ||
	    move_levels(fd, set, 0, 32, ARM_GIC_NR_IRQS, w, r) ||
	    move_ranges(fd, set, D, 0, dist_state, sizeof(dist_state) / sizeof(dist_state[0]), w, r))
		return -1;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vcpu_affinity(&vm->vcpus[i], &aff) ||
		    move_ranges(fd, set, R, aff, redist_regs,
				sizeof(redist_regs) / sizeof(redist_regs[0]), w, r) ||
		    move_levels(fd, set, aff, 0, 32, w, r) ||
		    move_ranges(fd, set, R, aff, redist_state,
				sizeof(redist_state) / sizeof(redist_state[0]), w, r) ||
		    move_icc(fd, set, aff, w, r))
			return -1;
	}
	return 0;
}

/* --------------------------------------------------------------- ITS */

/* GITS registers (64-bit accesses), in arm-vgic-its.rst's restore
 * order: CBASER first (writing it resets CREADR), then IIDR (the tables'
 * ABI, before they load), the tables' bases, CREADR, CWRITER; then the
 * tables; GITS_CTLR last. */
static const uint32_t its_regs[] = { 0x0080, 0x0004, 0x0100, 0x0108, 0x0110, 0x0118, 0x0120,
				     0x0128, 0x0130, 0x0138, 0x0090, 0x0088 };
#define GITS_CTLR 0x0000

static int its_ctrl(int fd, uint64_t what, const char *name)
{
	if (attr(fd, true, KVM_DEV_ARM_VGIC_GRP_CTRL, what, NULL)) {
		wisp_err("ITS: %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int move_its(bool set, struct snap_writer *w, struct snap_reader *r)
{
	int fd = arm_gic_its_fd();
	bool have = fd >= 0;

	if (!set)
		snap_u8(w, have);
	else if (snap_get_bool(r) != have || r->failed) {
		if (!r->failed)
			wisp_err("restore: the snapshot's VM %s an ITS, this host's KVM %s",
				 have ? "had no" : "had", have ? "has one" : "has none");
		return -1;
	}
	if (!have)
		return 0;
	/* the tables go to guest memory before core copies it */
	if (!set && its_ctrl(fd, KVM_DEV_ARM_ITS_SAVE_TABLES, "saving its tables"))
		return -1;
	for (size_t i = 0; i < sizeof(its_regs) / sizeof(its_regs[0]); i++)
		if (move(fd, set, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, its_regs[i], true, w, r))
			return -1;
	if (set && its_ctrl(fd, KVM_DEV_ARM_ITS_RESTORE_TABLES, "restoring its tables"))
		return -1;
	return move(fd, set, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, GITS_CTLR, true, w, r);
}

/* ------------------------------------------------------------- the VM */

const char *arch_snapshot_blocker(struct vm *vm)
{
	(void)vm;
	if (arm_gic_version() != 3)
		return "this host's KVM gives the guest a GICv2, whose state wisp does not save "
		       "(snapshots need a GICv3 host)";
	return NULL;
}

int arch_vm_save(struct vm *vm, struct snap_writer *w)
{
	if (arm_gic_version() != 3) {
		wisp_err("snapshot: a VM with a GICv2 cannot be saved (only GICv3 state is implemented)");
		return -1;
	}
	snap_u32(w, vm->ncpus);
	snap_u32(w, ARM_GIC_NR_IRQS);
	/* the LPIs' pending bits go to guest memory too */
	if (attr(arm_gic_fd(), true, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
		 NULL) && errno != ENXIO) {
		wisp_err("snapshot: GIC: saving the LPI pending tables: %s", strerror(errno));
		return -1;
	}
	if (move_gic(vm, false, w, NULL) || move_its(false, w, NULL))
		return -1;
	return w->failed ? -1 : 0;
}

int arch_vm_load(struct vm *vm, struct snap_reader *r)
{
	uint32_t ncpus = snap_get_u32(r), nr_irqs = snap_get_u32(r);

	if (r->failed || ncpus != vm->ncpus || nr_irqs != ARM_GIC_NR_IRQS) {
		wisp_err("restore: the snapshot's GIC (%u vCPUs, %u IRQs) is not this VM's (%u, %u)",
			 ncpus, nr_irqs, vm->ncpus, ARM_GIC_NR_IRQS);
		return -1;
	}
	if (arm_gic_version() != 3) {
		wisp_err("restore: the snapshot needs a GICv3, and this host's KVM has none");
		return -1;
	}
	/* arch_load(), which initialises the GIC at boot, does not run on
	 * a restore; KVM refuses the GIC's registers until then (EBUSY) */
	if (arm_gic_finalize(vm) || move_gic(vm, true, NULL, r) || move_its(true, NULL, r))
		return -1;
	return snap_done(r);
}

/* ------------------------------------------------------------ a vCPU */

static size_t reg_bytes(uint64_t id)
{
	return (size_t)1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

/* The registers KVM lists for this vCPU; NULL (reported) on failure */
static struct kvm_reg_list *reg_list(const struct vcpu *v)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;

	if (!ioctl(v->fd, KVM_GET_REG_LIST, &probe) || errno != E2BIG || probe.n > MAX_REGS) {
		wisp_err("KVM_GET_REG_LIST: %s", probe.n > MAX_REGS ? "too many" : strerror(errno));
		return NULL;
	}
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	if (!list)
		return NULL;
	list->n = probe.n;
	if (ioctl(v->fd, KVM_GET_REG_LIST, list)) {
		wisp_err("KVM_GET_REG_LIST: %s", strerror(errno));
		free(list);
		return NULL;
	}
	return list;
}

static bool listed(const struct kvm_reg_list *list, uint64_t id)
{
	for (uint64_t i = 0; i < list->n; i++)
		if (list->reg[i] == id)
			return true;
	return false;
}

int arch_vcpu_save(struct vcpu *v, struct snap_writer *w)
{
	struct kvm_mp_state mp;
	struct kvm_reg_list *list = reg_list(v);
	uint8_t buf[MAX_REG_BYTES];
	int ret = -1;

	if (!list)
		return -1;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp)) {
		wisp_err("snapshot: KVM_GET_MP_STATE: %s", strerror(errno));
		goto out;
	}
	snap_u32(w, mp.mp_state);
	snap_u32(w, (uint32_t)list->n);
	for (uint64_t i = 0; i < list->n; i++) {
		struct kvm_one_reg reg = { .id = list->reg[i], .addr = (uint64_t)(uintptr_t)buf };

		if (reg_bytes(reg.id) > sizeof(buf) || ioctl(v->fd, KVM_GET_ONE_REG, &reg)) {
			wisp_err("snapshot: register %#llx: %s", (unsigned long long)reg.id,
				 reg_bytes(reg.id) > sizeof(buf) ? "too large" : strerror(errno));
			goto out;
		}
		snap_u64(w, reg.id);
		snap_put(w, buf, reg_bytes(reg.id));
	}
	ret = 0;
out:
	free(list);
	return ret;
}

/* MP state first: a vCPU PSCI had off stays off. */
int arch_vcpu_load(struct vcpu *v, struct snap_reader *r)
{
	struct kvm_mp_state mp = { .mp_state = snap_get_u32(r) };
	uint32_t n = snap_get_u32(r);
	struct kvm_reg_list *list;
	uint8_t buf[MAX_REG_BYTES];
	int ret = -1;

	if (r->failed || n > MAX_REGS ||
	    (mp.mp_state != KVM_MP_STATE_RUNNABLE && mp.mp_state != KVM_MP_STATE_STOPPED &&
	     mp.mp_state != KVM_MP_STATE_SUSPENDED)) {
		wisp_err("restore: a vCPU's state is malformed (MP state %u, %u registers)",
			 mp.mp_state, n);
		return -1;
	}
	list = reg_list(v);
	if (!list)
		return -1;
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp)) {
		wisp_err("restore: KVM_SET_MP_STATE: %s", strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_one_reg reg = { .id = snap_get_u64(r), .addr = (uint64_t)(uintptr_t)buf };

		if (r->failed || reg_bytes(reg.id) > sizeof(buf) || !listed(list, reg.id)) {
			wisp_err("restore: vCPU register %#llx: %s", (unsigned long long)reg.id,
				 r->failed ? "cut short" : "this host's KVM has no such register");
			goto out;
		}
		snap_get(r, buf, reg_bytes(reg.id));
		if (r->failed || ioctl(v->fd, KVM_SET_ONE_REG, &reg)) {
			wisp_err("restore: vCPU register %#llx: %s", (unsigned long long)reg.id,
				 r->failed ? "cut short" : strerror(errno));
			goto out;
		}
	}
	ret = snap_done(r);
out:
	free(list);
	return ret;
}

/* -------------------------------------------------------------- seccomp */

static const struct seccomp_rule snapshot_rules[] = {
	SC_IOCTL(KVM_GET_REG_LIST),
	SC_IOCTL(KVM_GET_ONE_REG),
	SC_IOCTL(KVM_GET_MP_STATE),
	SC_IOCTL(KVM_GET_DEVICE_ATTR),
	SC_IOCTL(KVM_SET_DEVICE_ATTR),	/* the ITS's and LPIs' tables to memory */
};

int arch_snapshot_allow(unsigned kinds)
{
	return seccomp_allow(kinds, snapshot_rules, SC_COUNT(snapshot_rules));
}
