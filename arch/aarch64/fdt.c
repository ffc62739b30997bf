// SPDX-License-Identifier: MIT
/*
 * The guest's device tree, built with libfdt: the machine's own nodes
 * (memory, cpus, psci, the GIC and its ITS, the architected timer, the
 * APB clock, chosen), then whatever each device describes about itself
 * through the describers it registered (core/vm.h).  docs/aarch64.md
 * shows the result.
 */
#include <libfdt.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/aarch64/aarch64.h"
#include "arch/aarch64/fdt.h"
#include "arch_layout.h"
#include "core/kconfig.h"
#include "core/vm.h"

#define GIC_SPI 0
#define GIC_PPI 1

static void note_err(struct fdt_tree *t, int ret)
{
	if (ret < 0 && !t->err)
		t->err = ret;
}

int fdt_node(struct fdt_tree *t, int parent, const char *name, uint64_t addr)
{
	char full[64];
	int off;

	if (t->err)
		return -1;
	if (addr == ~0ULL)
		snprintf(full, sizeof(full), "%s", name);
	else
		snprintf(full, sizeof(full), "%s@%llx", name, (unsigned long long)addr);
	off = fdt_add_subnode(t->fdt, parent < 0 ? 0 : parent, full);
	note_err(t, off);
	return off < 0 ? -1 : off;
}

int fdt_find(struct fdt_tree *t, const char *path)
{
	int off;

	if (t->err)
		return -1;
	off = fdt_path_offset(t->fdt, path);
	return off < 0 ? -1 : off;
}

uint32_t fdt_new_phandle(struct fdt_tree *t, int node)
{
	uint32_t ph = t->next_phandle++;

	fdt_prop_u32(t, node, "phandle", ph);
	return ph;
}

void fdt_prop(struct fdt_tree *t, int node, const char *name, const void *val, size_t len)
{
	if (t->err)
		return;
	if (node < 0) {
		t->err = -FDT_ERR_NOTFOUND;
		return;
	}
	note_err(t, fdt_setprop(t->fdt, node, name, val, (int)len));
}

void fdt_prop_empty(struct fdt_tree *t, int node, const char *name)
{
	fdt_prop(t, node, name, NULL, 0);
}

void fdt_prop_u32(struct fdt_tree *t, int node, const char *name, uint32_t val)
{
	fdt32_t be = cpu_to_fdt32(val);

	fdt_prop(t, node, name, &be, sizeof(be));
}

void fdt_prop_u64(struct fdt_tree *t, int node, const char *name, uint64_t val)
{
	fdt64_t be = cpu_to_fdt64(val);

	fdt_prop(t, node, name, &be, sizeof(be));
}

void fdt_prop_str(struct fdt_tree *t, int node, const char *name, const char *val)
{
	fdt_prop(t, node, name, val, strlen(val) + 1);
}

void fdt_prop_cells(struct fdt_tree *t, int node, const char *name,
		    const uint32_t *cells, size_t n)
{
	fdt32_t be[16];

	if (n > sizeof(be) / sizeof(be[0])) {
		note_err(t, -FDT_ERR_NOSPACE);
		return;
	}
	for (size_t i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	fdt_prop(t, node, name, be, n * sizeof(be[0]));
}

void fdt_prop_reg(struct fdt_tree *t, int node, uint64_t addr, uint64_t size)
{
	const uint32_t reg[] = { (uint32_t)(addr >> 32), (uint32_t)addr,
				 (uint32_t)(size >> 32), (uint32_t)size };

	fdt_prop_cells(t, node, "reg", reg, 4);
}

void fdt_prop_spi(struct fdt_tree *t, int node, unsigned spi, uint32_t flags)
{
	const uint32_t irq[] = { GIC_SPI, spi, flags };

	fdt_prop_cells(t, node, "interrupts", irq, 3);
}

void fdt_prop_primecell(struct fdt_tree *t, int node, const char *compatible,
			size_t compatible_len)
{
	fdt_prop(t, node, "compatible", compatible, compatible_len);
	fdt_prop_u32(t, node, "clocks", t->clock_phandle);
	fdt_prop_str(t, node, "clock-names", "apb_pclk");
}

/* ------------------------------------------------------- the machine */

/* --cpus topology as the device tree says it: /cpus/cpu-map with a
 * socket per package, one cluster each (one die per package on
 * AArch64), a core per core and, with SMT, a thread per thread, each
 * leaf naming its cpu node.  vCPU i is thread i % threads of its core,
 * as on x86_64. */
static void add_cpu_map(struct fdt_tree *t, int cpus, const struct vm_config *cfg,
			const uint32_t *phandle)
{
	struct cpu_topology topo = cpu_topology_of(cfg);
	int map = fdt_node(t, cpus, "cpu-map", ~0ULL);
	int socket = -1, cluster = -1, core = -1;

	for (unsigned i = 0; i < cfg->cpus; i++) {
		unsigned thread = i % topo.threads, c = i / topo.threads;
		char name[24];
		int leaf;

		if (c % topo.cores == 0 && thread == 0) {
			snprintf(name, sizeof(name), "socket%u", c / topo.cores);
			socket = fdt_node(t, map, name, ~0ULL);
			cluster = fdt_node(t, socket, "cluster0", ~0ULL);
		}
		if (thread == 0) {
			snprintf(name, sizeof(name), "core%u", c % topo.cores);
			core = fdt_node(t, cluster, name, ~0ULL);
		}
		leaf = core;
		if (topo.threads > 1) {
			snprintf(name, sizeof(name), "thread%u", thread);
			leaf = fdt_node(t, core, name, ~0ULL);
		}
		fdt_prop_u32(t, leaf, "cpu", phandle[i]);
	}
}

/* With SMT: a unified level-2 cache per core, which its threads'
 * cpu nodes name as next-level-cache.  Without it Linux sees no cache
 * the threads share, makes each CPU its own last-level-cache group,
 * and the scheduler's MC domain (those groups) no longer holds the SMT
 * one ("BUG: arch topology borken").  Linux adds the level to what
 * CLIDR_EL1 says if CLIDR has none; a phandle per core, 0 without SMT. */
static uint32_t *add_core_caches(struct fdt_tree *t, int cpus, const struct vm_config *cfg)
{
	struct cpu_topology topo = cpu_topology_of(cfg);
	unsigned ncores = cfg->cpus / topo.threads;
	uint32_t *l2;

	if (topo.threads < 2)
		return NULL;
	l2 = calloc(ncores, sizeof(*l2));
	for (unsigned c = 0; l2 && c < ncores; c++) {
		char name[24];
		int node;

		snprintf(name, sizeof(name), "l2-cache-%u", c);
		node = fdt_node(t, cpus, name, ~0ULL);
		fdt_prop_str(t, node, "compatible", "cache");
		fdt_prop_empty(t, node, "cache-unified");
		fdt_prop_u32(t, node, "cache-level", 2);
		l2[c] = fdt_new_phandle(t, node);
	}
	return l2;
}

static void add_cpus(struct fdt_tree *t, struct vm *vm)
{
	bool topology = IS_ENABLED(CONFIG_CPU_TOPOLOGY) && vm->cfg->cpu_topology.threads;
	uint32_t *phandle = topology ? calloc(vm->ncpus, sizeof(*phandle)) : NULL;
	int cpus = fdt_node(t, 0, "cpus", ~0ULL);
	uint32_t *l2 = topology ? add_core_caches(t, cpus, vm->cfg) : NULL;

	fdt_prop_u32(t, cpus, "#address-cells", 2);
	fdt_prop_u32(t, cpus, "#size-cells", 0);
	/* last first: fdt_add_subnode() puts a node before its earlier
	 * siblings, and Linux numbers its CPUs in the tree's order, so
	 * this makes the guest's cpuN vCPU N (as the MADT does on x86_64),
	 * which the cpu-map and --cpus affinity count by */
	for (unsigned i = vm->ncpus; i-- > 0;) {
		uint64_t mpidr = arm_vcpu_mpidr(&vm->vcpus[i]);
		const uint32_t reg[] = { (uint32_t)(mpidr >> 32), (uint32_t)mpidr };
		int cpu = fdt_node(t, cpus, "cpu", mpidr);

		fdt_prop_str(t, cpu, "device_type", "cpu");
		fdt_prop_str(t, cpu, "compatible", "arm,arm-v8");
		fdt_prop_str(t, cpu, "enable-method", "psci");
		fdt_prop_cells(t, cpu, "reg", reg, 2);
		if (phandle)
			phandle[i] = fdt_new_phandle(t, cpu);
		if (l2)
			fdt_prop_u32(t, cpu, "next-level-cache",
				     l2[i / vm->cfg->cpu_topology.threads]);
	}
	if (topology && !phandle && !t->err)
		t->err = -FDT_ERR_NOSPACE;	/* no memory: fail the build */
	if (phandle)
		add_cpu_map(t, cpus, vm->cfg, phandle);
	free(phandle);
	free(l2);
}

/* GICv2 interrupt specifiers of PPIs name the CPUs they go to. */
static uint32_t ppi_flags(const struct vm *vm, uint32_t flags)
{
	if (arm_gic_version() == 2)
		flags |= ((1u << vm->ncpus) - 1) << 8;
	return flags;
}

static void add_gicv2(struct fdt_tree *t, struct vm *vm)
{
	int gic = fdt_node(t, 0, "intc", ARM_GICV2_DIST);
	const uint32_t reg[] = {
		0, (uint32_t)ARM_GICV2_DIST, 0, KVM_VGIC_V2_DIST_SIZE,
		0, (uint32_t)ARM_GICV2_CPU, 0, KVM_VGIC_V2_CPU_SIZE,
	};
	int v2m;

	fdt_prop_str(t, gic, "compatible", "arm,cortex-a15-gic");
	fdt_prop_u32(t, gic, "#interrupt-cells", 3);
	fdt_prop_empty(t, gic, "interrupt-controller");
	fdt_prop_u32(t, gic, "#address-cells", 2);
	fdt_prop_u32(t, gic, "#size-cells", 2);
	fdt_prop_empty(t, gic, "ranges");
	fdt_prop_cells(t, gic, "reg", reg, 8);
	t->gic_phandle = fdt_new_phandle(t, gic);

	v2m = fdt_node(t, gic, "v2m", ARM_GICV2M);
	fdt_prop_str(t, v2m, "compatible", "arm,gic-v2m-frame");
	fdt_prop_empty(t, v2m, "msi-controller");
	fdt_prop_reg(t, v2m, ARM_GICV2M, ARM_GICV2M_SIZE);
	fdt_prop_u32(t, v2m, "arm,msi-base-spi", ARM_GICV2M_INTID_BASE);
	fdt_prop_u32(t, v2m, "arm,msi-num-spis", ARM_GICV2M_INTID_COUNT);
	t->msi_phandle = fdt_new_phandle(t, v2m);
	(void)vm;
}

static void add_gicv3(struct fdt_tree *t, struct vm *vm)
{
	int gic = fdt_node(t, 0, "intc", ARM_GIC_DIST);
	const uint32_t reg[] = {
		0, (uint32_t)ARM_GIC_DIST, 0, (uint32_t)ARM_GIC_DIST_SIZE,
		0, (uint32_t)ARM_GIC_REDIST, 0, (uint32_t)(ARM_GIC_REDIST_SIZE * vm->ncpus),
	};
	/* the GIC's own maintenance interrupt, PPI 9 */
	const uint32_t maint[] = { GIC_PPI, 9, FDT_IRQ_LEVEL_HIGH };

	fdt_prop_str(t, gic, "compatible", "arm,gic-v3");
	fdt_prop_u32(t, gic, "#interrupt-cells", 3);
	fdt_prop_empty(t, gic, "interrupt-controller");
	fdt_prop_u32(t, gic, "#address-cells", 2);
	fdt_prop_u32(t, gic, "#size-cells", 2);
	fdt_prop_empty(t, gic, "ranges");
	fdt_prop_cells(t, gic, "reg", reg, 8);
	fdt_prop_u32(t, gic, "#redistributor-regions", 1);
	fdt_prop_cells(t, gic, "interrupts", maint, 3);
	t->gic_phandle = fdt_new_phandle(t, gic);
	if (arm_gic_has_its()) {
		int its = fdt_node(t, gic, "its", ARM_GIC_ITS);

		fdt_prop_str(t, its, "compatible", "arm,gic-v3-its");
		fdt_prop_empty(t, its, "msi-controller");
		fdt_prop_u32(t, its, "#msi-cells", 1);
		fdt_prop_reg(t, its, ARM_GIC_ITS, ARM_GIC_ITS_SIZE);
		t->msi_phandle = fdt_new_phandle(t, its);
		t->msi_by_requester_id = true;
	}
}

static void add_gic(struct fdt_tree *t, struct vm *vm)
{
	if (arm_gic_version() == 2)
		add_gicv2(t, vm);
	else
		add_gicv3(t, vm);
}

static void add_timer(struct fdt_tree *t, struct vm *vm)
{
	int timer = fdt_node(t, 0, "timer", ~0ULL);
	uint32_t level = ppi_flags(vm, FDT_IRQ_LEVEL_HIGH);
	const uint32_t irqs[] = {
		GIC_PPI, ARM_PPI_TIMER_SECURE, level,
		GIC_PPI, ARM_PPI_TIMER_PHYS, level,
		GIC_PPI, ARM_PPI_TIMER_VIRT, level,
		GIC_PPI, ARM_PPI_TIMER_HYP, level,
	};

	fdt_prop_str(t, timer, "compatible", "arm,armv8-timer");
	fdt_prop_cells(t, timer, "interrupts", irqs, 12);
	fdt_prop_empty(t, timer, "always-on");
}

static void add_chosen(struct fdt_tree *t, const struct arm_boot *boot)
{
	int chosen = fdt_node(t, 0, "chosen", ~0ULL);

	fdt_prop_str(t, chosen, "bootargs", boot->cmdline);
	if (boot->initrd_size) {
		fdt_prop_u64(t, chosen, "linux,initrd-start", boot->initrd);
		fdt_prop_u64(t, chosen, "linux,initrd-end", boot->initrd + boot->initrd_size);
	}
}

int arm_fdt_build(struct vm *vm, const struct arm_boot *boot, void *buf, size_t size)
{
	struct fdt_tree t = { .fdt = buf, .next_phandle = 1 };
	int root, mem, psci, clk;

	note_err(&t, fdt_create_empty_tree(buf, (int)size));
	root = t.err ? -1 : 0;
	fdt_prop_str(&t, root, "compatible", "linux,dummy-virt");
	fdt_prop_str(&t, root, "model", "wisp");
	fdt_prop_u32(&t, root, "#address-cells", 2);
	fdt_prop_u32(&t, root, "#size-cells", 2);

	add_chosen(&t, boot);
	mem = fdt_node(&t, 0, "memory", ARM_RAM_BASE);
	fdt_prop_str(&t, mem, "device_type", "memory");
	fdt_prop_reg(&t, mem, ARM_RAM_BASE, memory_ram_end(&vm->mem) - ARM_RAM_BASE);
	add_cpus(&t, vm);

	psci = fdt_node(&t, 0, "psci", ~0ULL);
	fdt_prop_strs(&t, psci, "compatible", "arm,psci-1.0\0arm,psci-0.2");
	fdt_prop_str(&t, psci, "method", "hvc");

	add_gic(&t, vm);
	fdt_prop_u32(&t, root, "interrupt-parent", t.gic_phandle);
	add_timer(&t, vm);

	clk = fdt_node(&t, 0, "apb-pclk", ~0ULL);
	fdt_prop_str(&t, clk, "compatible", "fixed-clock");
	fdt_prop_u32(&t, clk, "#clock-cells", 0);
	fdt_prop_u32(&t, clk, "clock-frequency", 24000000);
	fdt_prop_str(&t, clk, "clock-output-names", "clk24mhz");
	t.clock_phandle = fdt_new_phandle(&t, clk);

	/* every device that registered a describer adds its nodes */
	for (size_t i = 0; i < vm->ndescribers && !t.err; i++)
		vm->describers[i].fn(vm->describers[i].opaque, vm, &t);

	if (!t.err)
		note_err(&t, fdt_pack(buf));
	if (t.err) {
		wisp_err("building the device tree: %s", fdt_strerror(t.err));
		return -1;
	}
	return 0;
}
