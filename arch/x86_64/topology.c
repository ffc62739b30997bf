// SPDX-License-Identifier: MIT
/*
 * --cpus topology=THREADS:CORES:DIES:PACKAGES in CPUID (CONFIG_CPU_TOPOLOGY):
 * the leaves Linux reads to learn which vCPUs are threads of one core,
 * cores of one die and dies of one package.  The APIC ids they report
 * are x86_apic_id()'s (cpu.c), which the MADT lists too.
 */
#include <linux/kvm.h>
#include <stdbool.h>

#include "arch/x86_64/x86.h"
#include "core/config.h"

/* APIC ids as Intel lays them out: thread, core, die and package
 * numbers side by side, each field as wide as its count needs, so a
 * count that is not a power of two leaves ids unused (1:3:1:2: 0-2 and
 * 4-6).  vCPU i is thread i % threads of its core, cores filled first.
 * Without a topology the id is the vCPU index (x86_apic_id). */
unsigned x86_topology_apic_id(const struct vm_config *cfg, unsigned index)
{
	struct cpu_topology t = cpu_topology_of(cfg);
	unsigned tb = x86_order_of(t.threads), cb = x86_order_of(t.cores);
	unsigned db = x86_order_of(t.dies);
	unsigned core = index / t.threads, die = core / t.cores, pkg = die / t.dies;

	return index % t.threads | (core % t.cores) << tb |
	       (die % t.dies) << (tb + cb) | pkg << (tb + cb + db);
}

#define CPUID_TOPO_SMT		1u	/* leaf 0xB/0x1F level types */
#define CPUID_TOPO_CORE		2u
#define CPUID_TOPO_DIE		5u
#define CPUID_AMD_EBX		0x68747541u	/* "Auth" */
#define CPUID_HYGON_EBX		0x6f677948u	/* "Hygo" */
#define CPUID_80000001_ECX_TOPOEXT	(1u << 22)

static unsigned at_most(unsigned v, unsigned max)
{
	return v < max ? v : max;
}

static void add_leaf(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t index,
		     uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	*e = (struct kvm_cpuid_entry2){
		.function = fn, .index = index, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
}

/* One level of leaf 0xB or 0x1F: the shift that takes an APIC id to
 * the next level's number, and the logical CPUs below that level. */
static size_t add_topo_level(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t index,
			     unsigned type, unsigned shift, unsigned count, unsigned apic)
{
	add_leaf(e, fn, index, shift, count, index | type << 8, apic);
	return 1;
}

/* --cpus topology: what Linux reads to learn it, for vCPU `index`,
 * over what the host gave (patch_cpuid ran first).  Leaf 1's logical
 * count, leaf 4's core and cache-sharing counts, leaves 0xB and 0x1F
 * (made anew: the host's describe the host; 0x1F only where the host
 * has it or dies need it), and on AMD TOPOEXT with leaf 0x8000001E,
 * 0x80000008's core count and 0x8000001D's cache sharing, which Linux
 * prefers there.  The leaf limits
 * are raised to reach what was added.  `max` entries fit in e; returns
 * the new count, or 0 if they do not fit. */
size_t x86_cpuid_topology(struct kvm_cpuid_entry2 *e, size_t n, size_t max,
			  const struct vm_config *cfg, unsigned index)
{
	struct cpu_topology t = cpu_topology_of(cfg);
	unsigned tb = x86_order_of(t.threads), cb = x86_order_of(t.cores), db = x86_order_of(t.dies);
	unsigned pkg_shift = tb + cb + db, apic = x86_apic_id(cfg, index);
	unsigned per_pkg = t.threads * t.cores * t.dies;
	bool amd = false, leaf_1f = t.dies > 1;
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (e[i].function == 0)
			amd = e[i].ebx == CPUID_AMD_EBX || e[i].ebx == CPUID_HYGON_EBX;
		if (e[i].function == 0x1f)
			leaf_1f = true;
	}
	for (size_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *x = &e[i];

		if (x->function == 0xb || x->function == 0x1f || x->function == 0x8000001e)
			continue;	/* made anew below */
		switch (x->function) {
		case 0:
			x->eax = x->eax > 0xb ? x->eax : 0xb;
			if (leaf_1f && x->eax < 0x1f)
				x->eax = 0x1f;
			break;
		case 1:
			x->ebx = (x->ebx & 0xffffu) | (apic & 0xffu) << 24 |
				 at_most(1u << pkg_shift, 255) << 16;
			if (pkg_shift)
				x->edx |= 1u << 28;	/* HTT: that count is valid */
			break;
		case 4: {
			/* L1 and L2 belong to a core, L3 to the package */
			unsigned share = ((x->eax >> 5) & 7) >= 3 ? pkg_shift : tb;

			x->eax = (x->eax & 0x3fffu) | at_most((1u << share) - 1, 0xfff) << 14 |
				 at_most((1u << (cb + db)) - 1, 63) << 26;
			break;
		}
		case 0x8000001d: {
			/* AMD's leaf 4, which Linux reads there with TOPOEXT:
			 * the same sharing, no core count */
			unsigned share = ((x->eax >> 5) & 7) >= 3 ? pkg_shift : tb;

			if (amd)
				x->eax = (x->eax & 0x3fffu) |
					 at_most((1u << share) - 1, 0xfff) << 14;
			break;
		}
		case 0x80000000:
			if (amd && x->eax < 0x8000001e)
				x->eax = 0x8000001e;
			break;
		case 0x80000001:
			if (amd)
				x->ecx |= CPUID_80000001_ECX_TOPOEXT;
			break;
		case 0x80000008:
			if (amd)
				x->ecx = (x->ecx & ~0xf0ffu) | at_most(pkg_shift, 15) << 12 |
					 at_most(per_pkg - 1, 255);
			break;
		default:
			break;
		}
		e[kept++] = *x;
	}
	n = kept;
	if (n + 3 + (leaf_1f ? 4 : 0) + amd > max)
		return 0;
	n += add_topo_level(&e[n], 0xb, 0, CPUID_TOPO_SMT, tb, t.threads, apic);
	n += add_topo_level(&e[n], 0xb, 1, CPUID_TOPO_CORE, pkg_shift, per_pkg, apic);
	n += add_topo_level(&e[n], 0xb, 2, 0, 0, 0, apic);
	if (leaf_1f) {
		uint32_t sub = 0;

		n += add_topo_level(&e[n], 0x1f, sub++, CPUID_TOPO_SMT, tb, t.threads, apic);
		n += add_topo_level(&e[n], 0x1f, sub++, CPUID_TOPO_CORE, tb + cb,
				    t.threads * t.cores, apic);
		if (t.dies > 1)
			n += add_topo_level(&e[n], 0x1f, sub++, CPUID_TOPO_DIE, pkg_shift,
					    per_pkg, apic);
		n += add_topo_level(&e[n], 0x1f, sub, 0, 0, 0, apic);
	}
	if (amd) {
		unsigned core = index / t.threads, die = core / t.cores;

		/* extended APIC id; threads per core - 1 and the core's
		 * number in its package; dies per package - 1 and the die */
		add_leaf(&e[n++], 0x8000001e, 0, apic,
			 (t.threads - 1) << 8 | (core % (t.cores * t.dies) & 0xffu),
			 at_most(t.dies - 1, 7) << 8 | (die & 0xffu), 0);
		e[n - 1].flags = 0;
	}
	return n;
}

