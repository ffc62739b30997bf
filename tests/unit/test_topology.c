// SPDX-License-Identifier: MIT
/*
 * --cpus topology on x86_64 (arch/x86_64/topology.c, cpu.c): the APIC
 * ids vCPUs get, and the CPUID leaves Linux reads to learn the
 * topology, built over a host's list of leaves (an AMD one, as the
 * lab host's emulated CPU is, and an Intel one with leaf 0x1F).  The
 * values are the ones Intel's SDM (CPUID leaves 1, 4, 0xB, 0x1F) and
 * AMD's APM (0x80000008, 0x8000001E) define for that topology.
 */
#include "unit.h"

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_ARCH_X86_64) && IS_ENABLED(CONFIG_CPU_TOPOLOGY)

#include <linux/kvm.h>

#include "arch/x86_64/x86.h"
#include "core/config.h"

#define MAX 64

static struct kvm_cpuid_entry2 host[MAX];
static size_t nhost;

static void leaf(uint32_t fn, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
		 uint32_t edx)
{
	host[nhost++] = (struct kvm_cpuid_entry2){ .function = fn, .index = index,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

/* A host as KVM reports one: leaf 0 up to 0xd, caches L1d/L1i/L2/L3 in
 * leaf 4, the host's own leaf 0xB (2 threads, 16 logical CPUs), and the
 * extended leaves up to 0x80000008 (`vendor` "Auth" or "Genu"). */
static void make_host(uint32_t vendor, uint32_t max_basic)
{
	nhost = 0;
	leaf(0, 0, max_basic, vendor, 0, 0);
	leaf(1, 0, 0x00a50f00, 0x00100800 | 7u << 24, 0, 0);
	leaf(4, 0, 1u << 5 | 1, 0, 0, 0);
	leaf(4, 1, 1u << 5 | 2, 0, 0, 0);
	leaf(4, 2, 2u << 5 | 3, 0, 0, 0);
	leaf(4, 3, 3u << 5 | 3, 0, 0, 0);
	leaf(0xb, 0, 1, 2, 0x100, 7);
	leaf(0xb, 1, 4, 16, 0x201, 7);
	leaf(0xb, 2, 0, 0, 2, 7);
	if (max_basic >= 0x1f) {
		leaf(0x1f, 0, 1, 2, 0x100, 7);
		leaf(0x1f, 1, 4, 16, 0x201, 7);
		leaf(0x1f, 2, 0, 0, 2, 7);
	}
	leaf(0x80000000, 0, 0x80000008, 0, 0, 0);
	leaf(0x80000001, 0, 0, 0, 0, 0);
	leaf(0x80000008, 0, 0x3030, 0, 0x700f, 0);	/* the host's 16 threads */
	leaf(0x8000001d, 0, 7u << 14 | 1u << 5 | 1, 0, 0, 0);	/* L1d: 8 threads */
	leaf(0x8000001d, 3, 15u << 14 | 3u << 5 | 3, 0, 0, 0);	/* L3: all 16 */
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, size_t n,
					   uint32_t fn, uint32_t index)
{
	const struct kvm_cpuid_entry2 *found = NULL;

	for (size_t i = 0; i < n; i++) {
		if (e[i].function != fn || e[i].index != index)
			continue;
		assert_null(found);	/* one entry per leaf and sub-leaf */
		found = &e[i];
	}
	assert_non_null(found);
	return found;
}

static size_t count(const struct kvm_cpuid_entry2 *e, size_t n, uint32_t fn)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += e[i].function == fn;
	return c;
}

/* vCPU `index` of `boot` under threads:cores:dies:packages. */
static size_t build(struct kvm_cpuid_entry2 *e, unsigned boot, unsigned t, unsigned c,
		    unsigned d, unsigned p, unsigned index)
{
	struct vm_config cfg = { .cpus = boot, .cpu_topology = { t, c, d, p } };

	memcpy(e, host, nhost * sizeof(*e));
	return x86_cpuid_topology(e, nhost, MAX, &cfg, index);
}

static void expect(const struct kvm_cpuid_entry2 *x, uint32_t eax, uint32_t ebx,
		   uint32_t ecx, uint32_t edx)
{
	assert_int_equal(x->eax, eax);
	assert_int_equal(x->ebx, ebx);
	assert_int_equal(x->ecx, ecx);
	assert_int_equal(x->edx, edx);
	assert_true(x->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
}

/* APIC ids: fields as wide as their counts need; ids a count that is
 * not a power of two leaves out are skipped. */
static void test_apic_ids(void **state)
{
	struct vm_config cfg = { .cpus = 6, .cpu_topology = { 1, 3, 1, 2 } };
	static const unsigned want[] = { 0, 1, 2, 4, 5, 6 };
	struct vm_config cfg2 = { .cpus = 8, .cpu_topology = { 2, 1, 2, 2 } };
	static const unsigned want2[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	struct vm_config none = { .cpus = 5 };

	(void)state;
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(x86_apic_id(&cfg, i), want[i]);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(x86_apic_id(&cfg2, i), want2[i]);
	cfg2.cpu_topology = (struct cpu_topology){ 3, 1, 1, 2 };	/* 2 bits of thread */
	cfg2.cpus = 6;
	assert_int_equal(x86_apic_id(&cfg2, 2), 2);
	assert_int_equal(x86_apic_id(&cfg2, 3), 4);
	assert_int_equal(x86_apic_id(&cfg2, 5), 6);
	for (unsigned i = 0; i < 5; i++)	/* no topology: the index */
		assert_int_equal(x86_apic_id(&none, i), i);
}

/* 2:2:1:1 (the lab case's), vCPU 3 on an AMD host: the second thread
 * of the second core, APIC id 3. */
static void test_amd_2_2_1_1(void **state)
{
	struct kvm_cpuid_entry2 e[MAX];
	size_t n;

	(void)state;
	make_host(0x68747541, 0xd);
	n = build(e, 4, 2, 2, 1, 1, 3);
	assert_true(n > 0);
	/* leaf 0xB reachable; the host's 0xB replaced, no 0x1F made */
	assert_true(find(e, n, 0, 0)->eax >= 0xb);
	assert_int_equal(count(e, n, 0xb), 3);
	assert_int_equal(count(e, n, 0x1f), 0);
	expect(find(e, n, 0xb, 0), 1, 2, 0x100, 3);	/* SMT: 1 bit, 2 threads */
	expect(find(e, n, 0xb, 1), 2, 4, 0x201, 3);	/* core: 2 bits, 4 per package */
	expect(find(e, n, 0xb, 2), 0, 0, 2, 3);	/* the end */
	/* leaf 1: APIC id 3, 4 addressable ids per package, HTT */
	assert_int_equal(find(e, n, 1, 0)->ebx, 0x00040800u | 3u << 24);
	assert_true(find(e, n, 1, 0)->edx & 1u << 28);
	/* leaf 4: 2 cores per package; L1/L2 shared by a core's 2
	 * threads, L3 by the package's 4 */
	assert_int_equal(find(e, n, 4, 0)->eax, 1u << 26 | 1u << 14 | 1u << 5 | 1);
	assert_int_equal(find(e, n, 4, 2)->eax, 1u << 26 | 1u << 14 | 2u << 5 | 3);
	assert_int_equal(find(e, n, 4, 3)->eax, 1u << 26 | 3u << 14 | 3u << 5 | 3);
	/* AMD: TOPOEXT, 4 threads in 2 bits of APIC id, and 0x8000001E:
	 * 2 threads per core, core 1, die 0 of 1 */
	assert_true(find(e, n, 0x80000001, 0)->ecx & 1u << 22);
	assert_int_equal(find(e, n, 0x80000000, 0)->eax, 0x8000001e);
	assert_int_equal(find(e, n, 0x80000008, 0)->ecx, 2u << 12 | 3);
	assert_int_equal(find(e, n, 0x8000001e, 0)->eax, 3);
	assert_int_equal(find(e, n, 0x8000001e, 0)->ebx, 1u << 8 | 1);
	assert_int_equal(find(e, n, 0x8000001e, 0)->ecx, 0);
	/* AMD's cache leaf: L1 a core's 2 threads, L3 the package's 4 */
	assert_int_equal(find(e, n, 0x8000001d, 0)->eax, 1u << 14 | 1u << 5 | 1);
	assert_int_equal(find(e, n, 0x8000001d, 3)->eax, 3u << 14 | 3u << 5 | 3);
}

/* 1:3:1:2 on an Intel host with leaf 0x1F: vCPU 4 is core 1 of package
 * 1, APIC id 5; three cores take 2 bits; 0x1F has SMT and core levels,
 * and nothing AMD's is added. */
static void test_intel_1_3_1_2(void **state)
{
	struct kvm_cpuid_entry2 e[MAX];
	size_t n;

	(void)state;
	make_host(0x756e6547, 0x1f);
	n = build(e, 6, 1, 3, 1, 2, 4);
	assert_true(n > 0);
	expect(find(e, n, 0xb, 0), 0, 1, 0x100, 5);
	expect(find(e, n, 0xb, 1), 2, 3, 0x201, 5);
	expect(find(e, n, 0x1f, 0), 0, 1, 0x100, 5);
	expect(find(e, n, 0x1f, 1), 2, 3, 0x201, 5);
	expect(find(e, n, 0x1f, 2), 0, 0, 2, 5);
	assert_int_equal(count(e, n, 0x1f), 3);
	assert_int_equal(find(e, n, 1, 0)->ebx >> 16, 5u << 8 | 4);
	assert_int_equal(find(e, n, 4, 3)->eax >> 14, 3u << 12 | 3);	/* 4 ids, 3 sharing */
	assert_int_equal(count(e, n, 0x8000001e), 0);
	assert_int_equal(find(e, n, 0x80000001, 0)->ecx, 0);
	assert_int_equal(find(e, n, 0x80000008, 0)->ecx, 0x700f);	/* left alone */
	assert_int_equal(find(e, n, 0x8000001d, 3)->eax, 15u << 14 | 3u << 5 | 3);
}

/* 2:2:2:1: dies need leaf 0x1F, made (and leaf 0 raised to it) on a
 * host without one; the die level sits between core and package. */
static void test_dies(void **state)
{
	struct kvm_cpuid_entry2 e[MAX];
	size_t n;

	(void)state;
	make_host(0x756e6547, 0xd);
	n = build(e, 8, 2, 2, 2, 1, 6);	/* thread 0, core 1, die 1: id 6 */
	assert_true(n > 0);
	assert_int_equal(find(e, n, 0, 0)->eax, 0x1f);
	expect(find(e, n, 0x1f, 0), 1, 2, 0x100, 6);
	expect(find(e, n, 0x1f, 1), 2, 4, 0x201, 6);
	expect(find(e, n, 0x1f, 2), 3, 8, 0x502, 6);
	expect(find(e, n, 0x1f, 3), 0, 0, 3, 6);
	/* leaf 0xB has no dies: its core level spans the package */
	expect(find(e, n, 0xb, 1), 3, 8, 0x201, 6);
	/* too little room for the leaves: refused, not cut short */
	memcpy(e, host, nhost * sizeof(*e));
	{
		struct vm_config cfg = { .cpus = 8, .cpu_topology = { 2, 2, 2, 1 } };

		assert_int_equal(x86_cpuid_topology(e, nhost, nhost + 2, &cfg, 0), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apic_ids),
		cmocka_unit_test(test_amd_2_2_1_1),
		cmocka_unit_test(test_intel_1_3_1_2),
		cmocka_unit_test(test_dies),
	};

	return cmocka_run_group_tests_name("topology", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("topology")

#endif
