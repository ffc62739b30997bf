// SPDX-License-Identifier: MIT
/*
 * --cpus kvm_hyperv=on (arch/x86_64/hyperv.c): the CPUID leaves built
 * over KVM's list (cloud-hypervisor's Hyper-V leaves at 0x40000000, KVM's
 * own two moved to 0x40000100 with their top leaf), the room check, and
 * the SynIC and timer MSRs added to a snapshot's list once each.
 */
#include "unit.h"

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_ARCH_X86_64) && IS_ENABLED(CONFIG_CPU_HYPERV)

#include <linux/kvm.h>
#include <string.h>

#include "arch/x86_64/x86.h"

#define MAX 32

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, size_t n,
					   uint32_t fn)
{
	const struct kvm_cpuid_entry2 *hit = NULL;

	for (size_t i = 0; i < n; i++)
		if (e[i].function == fn) {
			assert_null(hit);	/* each leaf once */
			hit = &e[i];
		}
	return hit;
}

static void test_leaves(void **state)
{
	struct kvm_cpuid_entry2 e[MAX] = {
		{ .function = 0, .eax = 0xd },
		/* KVM's: "KVMKVMKVM\0\0\0", top leaf 0x40000001; its features */
		{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56,
		  .edx = 0x4d },
		{ .function = 0x40000001, .eax = 0x01007afb },
		{ .function = 0x80000000, .eax = 0x80000008 },
	};
	const struct kvm_cpuid_entry2 *l;
	size_t n;

	(void)state;
	n = x86_hyperv_cpuid(e, 4, MAX);
	assert_int_equal(n, 4 + 11);
	l = find(e, n, 0x40000000);
	assert_non_null(l);
	assert_int_equal(l->eax, 0x4000000a);
	assert_memory_equal(&l->ebx, "Linu", 4);
	assert_memory_equal(&l->ecx, "x KV", 4);
	assert_memory_equal(&l->edx, "M Hv", 4);
	assert_memory_equal(&find(e, n, 0x40000001)->eax, "Hv#1", 4);
	assert_int_equal(find(e, n, 0x40000002)->eax, 0x3839);
	assert_int_equal(find(e, n, 0x40000002)->ebx, 0xa0000);
	assert_int_equal(find(e, n, 0x40000003)->eax, 0x20e);
	assert_int_equal(find(e, n, 0x40000003)->edx, 1u << 3);
	assert_int_equal(find(e, n, 0x40000004)->eax, 1u << 5);
	for (uint32_t f = 0x40000005; f <= 0x4000000a; f++) {
		l = find(e, n, f);
		assert_non_null(l);
		assert_int_equal(l->eax | l->ebx | l->ecx | l->edx, 0);
	}
	/* KVM's, one range up, pointing at its own top leaf */
	l = find(e, n, 0x40000100);
	assert_non_null(l);
	assert_int_equal(l->eax, 0x40000101);
	assert_int_equal(l->ebx, 0x4b4d564b);
	assert_int_equal(find(e, n, 0x40000101)->eax, 0x01007afb);
	assert_non_null(find(e, n, 0));
	assert_non_null(find(e, n, 0x80000000));
}

/* no room for the eleven leaves: 0, and nothing written past max */
static void test_no_room(void **state)
{
	struct kvm_cpuid_entry2 e[12] = { { .function = 0 }, { .function = 1 } };

	(void)state;
	assert_int_equal(x86_hyperv_cpuid(e, 2, 12), 0);
	assert_int_equal(x86_hyperv_cpuid(e, 1, 12), 12);
}

static void test_msrs(void **state)
{
	/* as KVM lists them: SCONTROL and timer 0's config among others */
	uint32_t index[64] = { 0x10, 0x40000000, 0x40000080, 0x400000b0 };
	uint32_t n;

	(void)state;
	n = x86_hyperv_msrs(index, 4, 64);
	/* SIEFP, SIMP, 16 SINTs, 8 timer MSRs but timer 0's config */
	assert_int_equal(n, 4 + 2 + 16 + 7);
	for (uint32_t m = 0x40000090; m <= 0x4000009f; m++) {
		unsigned seen = 0;

		for (uint32_t i = 0; i < n; i++)
			seen += index[i] == m;
		assert_int_equal(seen, 1);
	}
	for (uint32_t m = 0x400000b0; m <= 0x400000b7; m++) {
		unsigned seen = 0;

		for (uint32_t i = 0; i < n; i++)
			seen += index[i] == m;
		assert_int_equal(seen, 1);
	}
	/* never past max */
	assert_int_equal(x86_hyperv_msrs(index, 4, 10), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaves),
		cmocka_unit_test(test_no_room),
		cmocka_unit_test(test_msrs),
	};

	return cmocka_run_group_tests_name("hyperv", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("hyperv")

#endif
