// SPDX-License-Identifier: MIT
/*
 * ACPI: the AML encodings against byte sequences worked out from the
 * ACPI 6.x specification, the table chain acpi_build() writes into a
 * fake VM's memory, and the acpi-pm registers.
 */
#include "unit.h"

#include <stdbool.h>
#include <time.h>

#include "arch_layout.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/aml.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/device.h"
#include "core/event.h"
#include "core/iommu.h"
#include "core/irq.h"
#include "core/kconfig.h"
#include "core/memory.h"
#include "core/pci.h"
#include "core/vm.h"

/* ------------------------------------------------------------ helpers */

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void expect_aml(const struct aml *a, const uint8_t *want, size_t n)
{
	assert_true(aml_ok(a));
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, want, n);
}

/* One integer, alone in a fresh builder. */
static void check_int(uint64_t v, const uint8_t *want, size_t n)
{
	struct aml a;

	aml_init(&a);
	aml_int(&a, v);
	expect_aml(&a, want, n);
	aml_release(&a);
}

/* An If whose body is `body` raw bytes: returns the PkgLength bytes. */
static size_t pkglen_of(size_t body, uint8_t out[4])
{
	struct aml a;
	uint8_t *junk = calloc(1, body + 1);
	size_t n;

	assert_non_null(junk);
	aml_init(&a);
	aml_if_begin(&a);
	aml_bytes(&a, junk, body);
	aml_end(&a);
	assert_true(aml_ok(&a));
	assert_int_equal(a.buf[0], 0xa0);
	n = a.len - 1 - body;
	assert_in_range(n, 1, 4);
	memcpy(out, a.buf + 1, n);
	aml_release(&a);
	free(junk);
	return n;
}

static uint8_t sum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool contains(const uint8_t *hay, size_t n, const void *needle,
		     size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return true;
	return false;
}

/* --------------------------------------------------------------- AML */

static void test_pkglength(void **state)
{
	uint8_t p[4];

	(void)state;
	/* one byte up to a total (itself included) of 63 */
	assert_int_equal(pkglen_of(0, p), 1);
	assert_int_equal(p[0], 0x01);
	assert_int_equal(pkglen_of(62, p), 1);
	assert_int_equal(p[0], 0x3f);
	/* 63 bytes of body: total 65 = 0x041 in two bytes */
	assert_int_equal(pkglen_of(63, p), 2);
	assert_memory_equal(p, ((uint8_t[]){ 0x41, 0x04 }), 2);
	/* two bytes up to 0xfff */
	assert_int_equal(pkglen_of(4093, p), 2);
	assert_memory_equal(p, ((uint8_t[]){ 0x4f, 0xff }), 2);
	/* 4094: total 0x1001 in three bytes */
	assert_int_equal(pkglen_of(4094, p), 3);
	assert_memory_equal(p, ((uint8_t[]){ 0x81, 0x00, 0x01 }), 3);
	/* three bytes up to 0xfffff, then four */
	assert_int_equal(pkglen_of(0xfffff - 3, p), 3);
	assert_memory_equal(p, ((uint8_t[]){ 0x8f, 0xff, 0xff }), 3);
	assert_int_equal(pkglen_of(0xfffff - 2, p), 4);
	assert_memory_equal(p, ((uint8_t[]){ 0xc1, 0x00, 0x00, 0x01 }), 4);
}

static void test_integers(void **state)
{
	(void)state;
	check_int(0, BYTES(0x00));
	check_int(1, BYTES(0x01));
	check_int(2, BYTES(0x0a, 0x02));
	check_int(0xff, BYTES(0x0a, 0xff));
	check_int(0x100, BYTES(0x0b, 0x00, 0x01));
	check_int(0xffff, BYTES(0x0b, 0xff, 0xff));
	check_int(0x10000, BYTES(0x0c, 0x00, 0x00, 0x01, 0x00));
	check_int(0xfec00000, BYTES(0x0c, 0x00, 0x00, 0xc0, 0xfe));
	check_int(0x100000000ULL,
		  BYTES(0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00));
	check_int(0x123456789abcdef0ULL,
		  BYTES(0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12));
	check_int(UINT64_MAX, BYTES(0xff));
}

static void test_eisaid(void **state)
{
	uint32_t v;
	struct aml a;

	(void)state;
	assert_int_equal(aml_eisaid_encode("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041);
	assert_int_equal(aml_eisaid_encode("PNP0C0C", &v), 0);
	assert_int_equal(v, 0x0c0cd041);
	assert_int_equal(aml_eisaid_encode("PNP0A08", &v), 0);
	assert_int_equal(v, 0x080ad041);
	assert_int_equal(aml_eisaid_encode("pnp0501", &v), -1);
	assert_int_equal(aml_eisaid_encode("PNP050", &v), -1);
	assert_int_equal(aml_eisaid_encode("PNP05G1", &v), -1);
	assert_int_equal(aml_eisaid_encode("PNP05011", &v), -1);

	/* Name (_HID, EisaId ("PNP0501")): always a DWordConst */
	aml_init(&a);
	aml_name_eisaid(&a, "_HID", "PNP0501");
	expect_aml(&a, BYTES(0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01));
	aml_release(&a);

	aml_init(&a);
	aml_eisaid(&a, "bad");
	assert_false(aml_ok(&a));
	aml_release(&a);
}

static void test_names(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_namestring(&a, "_SB");
	aml_namestring(&a, "\\_SB.PCI0");
	aml_namestring(&a, "\\_SB.PCI0.S08");
	aml_namestring(&a, "^PWRB");
	aml_namestring(&a, "\\");
	expect_aml(&a, BYTES('_', 'S', 'B', '_',
			     0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
			     0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
			     'S', '0', '8', '_',
			     0x5e, 'P', 'W', 'R', 'B',
			     0x5c, 0x00));
	aml_release(&a);

	static const char *const bad[] = { "com1", "TOOLONG", "1ABC", "A..B",
					   "\\_SB.", "A-B" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a);
		aml_namestring(&a, bad[i]);
		assert_false(aml_ok(&a));
		assert_non_null(aml_error(&a));
		aml_release(&a);
	}
}

static void test_strings_and_names(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_name_string(&a, "_HID", "ACPI0013");
	aml_name_int(&a, "_UID", 0);
	expect_aml(&a, BYTES(0x08, '_', 'H', 'I', 'D',
			     0x0d, 'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00,
			     0x08, '_', 'U', 'I', 'D', 0x00));
	aml_release(&a);
}

static void test_scopes(void **state)
{
	struct aml a;

	(void)state;
	/* Scope (\_SB) { Device (COM1) { Name (_UID, One) } } */
	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "COM1");
	aml_name_int(&a, "_UID", 1);
	aml_end(&a);
	aml_end(&a);
	expect_aml(&a, BYTES(0x10, 0x13, 0x5c, '_', 'S', 'B', '_',
			     0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1',
			     0x08, '_', 'U', 'I', 'D', 0x01));
	aml_release(&a);

	/* Method (_EVT, 1, Serialized) { Return (Arg0) }; Name (_S5,
	 * Package (2) { 5, Zero }) */
	aml_init(&a);
	aml_method_begin(&a, "_EVT", 1, true);
	aml_op(&a, AML_OP_RETURN);
	aml_arg(&a, 0);
	aml_end(&a);
	aml_name(&a, "_S5");
	aml_package_begin(&a, 2);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_end(&a);
	expect_aml(&a, BYTES(0x14, 0x08, '_', 'E', 'V', 'T', 0x09, 0xa4, 0x68,
			     0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05,
			     0x00));
	aml_release(&a);

	/* If (LEqual (Local0, One)) { Notify (^PWRB, 0x80) } Else { } */
	aml_init(&a);
	aml_if_begin(&a);
	aml_op(&a, AML_OP_LEQUAL);
	aml_local(&a, 0);
	aml_int(&a, 1);
	aml_notify(&a, "^PWRB", 0x80);
	aml_end(&a);
	aml_else_begin(&a);
	aml_end(&a);
	expect_aml(&a, BYTES(0xa0, 0x0c, 0x93, 0x60, 0x01,
			     0x86, 0x5e, 'P', 'W', 'R', 'B', 0x0a, 0x80,
			     0xa1, 0x01));
	aml_release(&a);

	/* OperationRegion (GDST, SystemIO, 0x608, 4)
	 * Field (GDST, DWordAcc, NoLock, Preserve) { GDAT, 32, , 64, WIDE, 64 } */
	aml_init(&a);
	aml_operation_region(&a, "GDST", AML_SYSTEM_IO, 0x608, 4);
	aml_field_begin(&a, "GDST", AML_ACCESS_DWORD, AML_PRESERVE);
	aml_field_unit(&a, "GDAT", 32);
	aml_field_unit(&a, NULL, 64);
	aml_field_unit(&a, "WIDE", 64);
	aml_end(&a);
	expect_aml(&a, BYTES(0x5b, 0x80, 'G', 'D', 'S', 'T', 0x01, 0x0b, 0x08,
			     0x06, 0x0a, 0x04,
			     0x5b, 0x81, 0x14, 'G', 'D', 'S', 'T', 0x03,
			     'G', 'D', 'A', 'T', 0x20,
			     0x00, 0x40, 0x04,
			     'W', 'I', 'D', 'E', 0x40, 0x04));
	aml_release(&a);
}

static void test_errors(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_end(&a);		/* nothing to end */
	assert_false(aml_ok(&a));
	aml_release(&a);

	aml_init(&a);
	aml_device_begin(&a, "DEV0");	/* never ended */
	assert_false(aml_ok(&a));
	assert_non_null(aml_error(&a));
	aml_release(&a);

	aml_init(&a);
	aml_package_begin(&a, 256);
	aml_end(&a);
	assert_false(aml_ok(&a));
	aml_release(&a);

	aml_init(&a);
	aml_method_begin(&a, "MTHD", 8, false);
	aml_end(&a);
	assert_false(aml_ok(&a));
	aml_release(&a);

	aml_init(&a);
	for (int i = 0; i < AML_MAX_DEPTH + 1; i++)
		aml_if_begin(&a);
	assert_false(aml_ok(&a));
	aml_release(&a);

	aml_init(&a);
	aml_resources_begin(&a);
	aml_res_irq_noflags(&a, 16);
	aml_resources_end(&a);
	assert_false(aml_ok(&a));
	aml_release(&a);

	/* after an error, nothing more is emitted */
	aml_init(&a);
	aml_local(&a, 8);
	aml_int(&a, 0x1234);
	assert_false(aml_ok(&a));
	assert_int_equal(a.len, 0);
	aml_release(&a);
}

static void test_resources(void **state)
{
	struct aml a;

	(void)state;
	/* Name (_CRS, ResourceTemplate () {
	 *	IO (Decode16, 0x3f8, 0x3f8, 8, 8)
	 *	IRQNoFlags () {4}
	 * }) -- 13 bytes of descriptors, BufferSize 0x0d, PkgLength 16 */
	aml_init(&a);
	aml_name(&a, "_CRS");
	aml_resources_begin(&a);
	aml_res_io(&a, 0x3f8, 0x3f8, 8, 8);
	aml_res_irq_noflags(&a, 4);
	aml_resources_end(&a);
	expect_aml(&a, BYTES(0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
			     0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x08, 0x08,
			     0x22, 0x10, 0x00,
			     0x79, 0x00));
	aml_release(&a);

	/* the other descriptors, one by one, outside any buffer */
	aml_init(&a);
	aml_res_fixed_io(&a, 0x60, 1);
	expect_aml(&a, BYTES(0x4b, 0x60, 0x00, 0x01));
	aml_release(&a);

	aml_init(&a);
	aml_res_irq(&a, 9, AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
	expect_aml(&a, BYTES(0x23, 0x00, 0x02, 0x18));
	aml_release(&a);

	aml_init(&a);
	aml_res_interrupt(&a, 9, 0);
	aml_res_interrupt(&a, 33, AML_IRQ_EDGE);
	expect_aml(&a, BYTES(0x89, 0x06, 0x00, 0x01, 0x01, 0x09, 0x00, 0x00, 0x00,
			     0x89, 0x06, 0x00, 0x03, 0x01, 0x21, 0x00, 0x00, 0x00));
	aml_release(&a);

	aml_init(&a);
	aml_res_memory32_fixed(&a, 0xfec00000, 0x1000, true);
	expect_aml(&a, BYTES(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xc0, 0xfe,
			     0x00, 0x10, 0x00, 0x00));
	aml_release(&a);

	/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
	 *	0, 0, 255, 0, 256) */
	aml_init(&a);
	aml_res_word_bus(&a, 0, 255);
	expect_aml(&a, BYTES(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,
			     0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
			     0x00, 0x01));
	aml_release(&a);

	/* WordIO (..., EntireRange, 0, 0x1000, 0xffff, 0, 0xf000) */
	aml_init(&a);
	aml_res_word_io(&a, 0x1000, 0xffff);
	expect_aml(&a, BYTES(0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,
			     0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0x00, 0x00,
			     0x00, 0xf0));
	aml_release(&a);

	aml_init(&a);
	aml_res_dword_io(&a, 0x1000, 0xffff);
	expect_aml(&a, BYTES(0x87, 0x17, 0x00, 0x01, 0x0c, 0x03,
			     0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
			     0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			     0x00, 0xf0, 0x00, 0x00));
	aml_release(&a);

	/* DWordMemory (..., NonCacheable, ReadWrite, 0, 0xc0000000,
	 *	0xdfffffff, 0, 0x20000000) */
	aml_init(&a);
	aml_res_dword_memory(&a, 0xc0000000, 0xdfffffff, false);
	expect_aml(&a, BYTES(0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
			     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
			     0xff, 0xff, 0xff, 0xdf, 0x00, 0x00, 0x00, 0x00,
			     0x00, 0x00, 0x00, 0x20));
	aml_release(&a);

	/* QWordMemory (..., Prefetchable, ReadWrite, 0, 1 << 36,
	 *	(1 << 37) - 1, 0, 1 << 36) */
	aml_init(&a);
	aml_res_qword_memory(&a, 1ULL << 36, (1ULL << 37) - 1, true);
	assert_true(aml_ok(&a));
	assert_int_equal(a.len, 46);
	assert_memory_equal(a.buf, ((uint8_t[]){ 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07 }), 6);
	assert_int_equal(le64(a.buf + 6), 0);
	assert_int_equal(le64(a.buf + 14), 1ULL << 36);
	assert_int_equal(le64(a.buf + 22), (1ULL << 37) - 1);
	assert_int_equal(le64(a.buf + 30), 0);
	assert_int_equal(le64(a.buf + 38), 1ULL << 36);
	aml_release(&a);
}

/* A big buffer: its BufferSize is a WordConst and the PkgLength takes
 * two bytes. */
static void test_buffer_sizes(void **state)
{
	struct aml a;
	uint8_t blob[300] = { 0 };

	(void)state;
	aml_init(&a);
	aml_buffer_begin(&a);
	aml_bytes(&a, blob, sizeof(blob));
	aml_end(&a);
	assert_true(aml_ok(&a));
	/* 0x11, PkgLength (2 + 3 + 300 = 305 = 0x131), WordConst 300 */
	assert_int_equal(a.len, 1 + 2 + 3 + 300);
	assert_memory_equal(a.buf, ((uint8_t[]){ 0x11, 0x41, 0x13, 0x0b, 0x2c, 0x01 }), 6);
	aml_release(&a);
}

/* ---------------------------------------------------------- acpi_build */

#define TEST_RAM (2ULL << 20)

static void test_describer(void *opaque, struct vm *vm, void *tables)
{
	struct aml *a = tables;

	(void)vm;
	(*(int *)opaque)++;
	aml_device_begin(a, "TDEV");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_int(a, "_UID", 0);
	aml_end(a);
}

static void huge_describer(void *opaque, struct vm *vm, void *tables)
{
	static uint8_t blob[X86_ACPI_TABLES_SIZE];

	(void)opaque;
	(void)vm;
	aml_name(tables, "HUGE");
	aml_buffer_begin(tables);
	aml_bytes(tables, blob, sizeof(blob));
	aml_end(tables);
}

static void broken_describer(void *opaque, struct vm *vm, void *tables)
{
	(void)opaque;
	(void)vm;
	aml_device_begin(tables, "OPEN");	/* and never ended */
}

static struct vm_config fake_cfg;

static void fake_vm(struct vm *vm, unsigned ncpus, uint64_t ram_at)
{
	static const struct memory_config mc = { .size = TEST_RAM };
	const uint64_t layout[1][2] = { { ram_at, TEST_RAM } };

	memset(vm, 0, sizeof(*vm));
	fake_cfg = (struct vm_config){ .cpus = ncpus };
	vm->cfg = &fake_cfg;
	vm->ncpus = ncpus;
	assert_int_equal(memory_init(&vm->mem, &mc, layout, 1), 0);
}

/* A table at gpa: its header checks out; returns it. */
static const uint8_t *table_at(struct vm *vm, uint64_t gpa, const char *sig)
{
	const uint8_t *t = gpa_ptr(&vm->mem, gpa, 36);
	uint32_t len;

	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	len = le32(t + 4);
	assert_true(len >= 36);
	assert_true(gpa >= X86_ACPI_TABLES &&
		    gpa + len <= X86_ACPI_TABLES + X86_ACPI_TABLES_SIZE);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "WISP  ", 6);
	return t;
}

/* Finds the XSDT entry with that signature, or 0. */
static uint64_t xsdt_find(struct vm *vm, const uint8_t *xsdt, const char *sig)
{
	uint32_t n = (le32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = le64(xsdt + 36 + 8 * i);
		const uint8_t *t = gpa_ptr(&vm->mem, gpa, 4);

		assert_non_null(t);
		if (!memcmp(t, sig, 4))
			return gpa;
	}
	return 0;
}

static void test_build_tables(void **state)
{
	struct vm vm;
	uint64_t rsdp_gpa = 0, xsdt_gpa, gpa;
	const uint8_t *rsdp, *xsdt, *fadt, *dsdt, *madt, *e;
	int calls = 0;

	(void)state;
	fake_vm(&vm, 2, 0);
	assert_int_equal(vm_add_describer(&vm, test_describer, &calls), 0);
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	assert_int_equal(calls, 1);

	/* RSDP: first, 16-byte aligned, both checksums */
	assert_int_equal(rsdp_gpa, X86_ACPI_TABLES);
	rsdp = gpa_ptr(&vm.mem, rsdp_gpa, 36);
	assert_non_null(rsdp);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum8(rsdp, 20), 0);
	assert_int_equal(sum8(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);			/* revision */
	assert_int_equal(le32(rsdp + 16), 0);		/* no RSDT */
	assert_int_equal(le32(rsdp + 20), 36);		/* length */
	xsdt_gpa = le64(rsdp + 24);

	xsdt = table_at(&vm, xsdt_gpa, "XSDT");
	assert_int_equal(xsdt[8], 1);
	assert_int_equal((le32(xsdt + 4) - 36) % 8, 0);

	/* FADT: revision 6, hardware-reduced, the PM registers */
	gpa = xsdt_find(&vm, xsdt, "FACP");
	assert_true(gpa != 0);
	fadt = table_at(&vm, gpa, "FACP");
	assert_int_equal(le32(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);
	assert_memory_equal(fadt + 16, xsdt + 16, 8);	/* OEM table id */
	assert_true(le32(fadt + 112) & (1u << 20));	/* HW_REDUCED_ACPI */
	assert_true(le32(fadt + 112) & (1u << 10));	/* RESET_REG_SUP */
	/* RESET_REG: SystemIO, 8 bits, offset 0, byte access, 0x604 */
	assert_memory_equal(fadt + 116, ((uint8_t[]){ 1, 8, 0, 1 }), 4);
	assert_int_equal(le64(fadt + 120), X86_PORT_ACPI_RESET);
	assert_int_equal(fadt[128], X86_ACPI_RESET_VALUE);
	assert_memory_equal(fadt + 244, ((uint8_t[]){ 1, 8, 0, 1 }), 4);
	assert_int_equal(le64(fadt + 248), X86_PORT_ACPI_SLEEP_CTL);
	assert_memory_equal(fadt + 256, ((uint8_t[]){ 1, 8, 0, 1 }), 4);
	assert_int_equal(le64(fadt + 260), X86_PORT_ACPI_SLEEP_STS);
	assert_memory_equal(fadt + 268, "WISPVMM", 8);
	assert_int_equal(le32(fadt + 36), 0);		/* no FACS */
	assert_int_equal(le64(fadt + 132), 0);

	/* DSDT through X_DSDT: the describer's device and \_S5 */
	dsdt = table_at(&vm, le64(fadt + 140), "DSDT");
	assert_int_equal(dsdt[8], 2);
	assert_true(contains(dsdt, le32(dsdt + 4), "TDEV", 4));
	assert_true(contains(dsdt, le32(dsdt + 4),
			     ((uint8_t[]){ 0x08, '_', 'S', '5', '_', 0x12 }), 6));
	/* the AML starts with Scope (\_SB) */
	assert_int_equal(dsdt[36], 0x10);

	/* MADT: LAPIC at 0xfee00000, no 8259, 2 local APICs, 1 I/O APIC */
	gpa = xsdt_find(&vm, xsdt, "APIC");
	assert_true(gpa != 0);
	madt = table_at(&vm, gpa, "APIC");
	assert_int_equal(le32(madt + 4), 44 + 2 * 8 + 12);
	assert_int_equal(le32(madt + 36), X86_LAPIC);
	assert_int_equal(le32(madt + 40), 0);
	e = madt + 44;
	for (unsigned i = 0; i < 2; i++, e += 8) {
		assert_int_equal(e[0], 0);		/* Processor Local APIC */
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], i);		/* ACPI processor UID */
		assert_int_equal(e[3], i);		/* APIC id */
		assert_int_equal(le32(e + 4), 1);	/* enabled */
	}
	assert_int_equal(e[0], 1);			/* I/O APIC */
	assert_int_equal(e[1], 12);
	assert_int_equal(e[2], ACPI_IOAPIC_ID);
	assert_int_equal(le32(e + 4), X86_IOAPIC);
	assert_int_equal(le32(e + 8), 0);		/* GSI base */

	/* MCFG only with PCI */
	gpa = xsdt_find(&vm, xsdt, "MCFG");
	if (IS_ENABLED(CONFIG_PCI)) {
		const uint8_t *mcfg;

		assert_true(gpa != 0);
		mcfg = table_at(&vm, gpa, "MCFG");
		assert_int_equal(le32(mcfg + 4), 44 + 16);
		assert_int_equal(le64(mcfg + 44), X86_PCI_ECAM);
		assert_int_equal(mcfg[44 + 8] | mcfg[44 + 9] << 8, 0);
		assert_int_equal(mcfg[44 + 10], 0);
		/* bus 0 only: wisp has no bridges */
		assert_int_equal(mcfg[44 + 11], (X86_PCI_ECAM_SIZE >> 20) - 1);
		assert_int_equal(mcfg[44 + 11], 0);
	} else {
		assert_int_equal(gpa, 0);
	}
	memory_destroy(&vm.mem);
}

/* VIOT: none without an IOMMU endpoint; with two, the virtio-iommu PCI
 * node and one single-BDF PCI range per endpoint pointing at it (with
 * PCI_SEGMENTS the second on segment 1, its endpoint id 1 << 16 | BDF). */
static void test_build_viot(void **state)
{
	struct vm vm;
	struct iommu iommu = { .segment = 0, .bdf = 5 << 3 };
	struct iommu_endpoint ep[2] = {
		{ .bdf = 2 << 3 }, { .segment = IS_ENABLED(CONFIG_PCI_SEGMENTS), .bdf = 7 << 3 },
	};
	uint64_t rsdp_gpa, gpa;
	const uint8_t *xsdt, *viot, *n;

	(void)state;
	fake_vm(&vm, 1, 0);
	vm.iommu = &iommu;
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	xsdt = table_at(&vm, le64((const uint8_t *)gpa_ptr(&vm.mem, rsdp_gpa, 36) + 24), "XSDT");
	assert_int_equal(xsdt_find(&vm, xsdt, "VIOT"), 0);

	iommu.endpoint[0] = &ep[0];
	iommu.endpoint[1] = &ep[1];
	iommu.nendpoints = 2;
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	xsdt = table_at(&vm, le64((const uint8_t *)gpa_ptr(&vm.mem, rsdp_gpa, 36) + 24), "XSDT");
	gpa = xsdt_find(&vm, xsdt, "VIOT");
	assert_true(gpa != 0);
	viot = table_at(&vm, gpa, "VIOT");
	assert_int_equal(le32(viot + 4), 48 + 16 + 2 * 24);
	assert_int_equal(viot[36] | viot[37] << 8, 3);		/* node count */
	assert_int_equal(viot[38] | viot[39] << 8, 48);		/* first node */
	n = viot + 48;						/* virtio-iommu PCI */
	assert_int_equal(n[0], 3);
	assert_int_equal(n[2] | n[3] << 8, 16);
	assert_int_equal(n[4] | n[5] << 8, 0);			/* segment */
	assert_int_equal(n[6] | n[7] << 8, 5 << 3);		/* BDF 00:05.0 */
	for (unsigned i = 0; i < 2; i++) {
		n = viot + 64 + 24 * i;				/* PCI range */
		assert_int_equal(n[0], 1);
		assert_int_equal(n[2] | n[3] << 8, 24);
		assert_int_equal(le32(n + 4), (uint32_t)ep[i].segment << 16 | ep[i].bdf);
		assert_int_equal(n[8] | n[9] << 8, ep[i].segment);	/* segments */
		assert_int_equal(n[10] | n[11] << 8, ep[i].segment);
		assert_int_equal(n[12] | n[13] << 8, ep[i].bdf);	/* BDF range */
		assert_int_equal(n[14] | n[15] << 8, ep[i].bdf);
		assert_int_equal(n[16] | n[17] << 8, 48);	/* output: the IOMMU */
	}
	memory_destroy(&vm.mem);
}

#if IS_ENABLED(CONFIG_PCI_SEGMENTS)
/* --platform num_pci_segments=3: an MCFG allocation per segment, each
 * ECAM area after the one before (segment 0's where it always is). */
static void test_build_mcfg_segments(void **state)
{
	struct vm vm;
	uint64_t rsdp_gpa;
	const uint8_t *xsdt, *mcfg;

	(void)state;
	fake_vm(&vm, 1, 0);
	fake_cfg.pci_segments = 3;
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	xsdt = table_at(&vm, le64((const uint8_t *)gpa_ptr(&vm.mem, rsdp_gpa, 36) + 24), "XSDT");
	mcfg = table_at(&vm, xsdt_find(&vm, xsdt, "MCFG"), "MCFG");
	assert_int_equal(le32(mcfg + 4), 44 + 3 * 16);
	for (unsigned s = 0; s < 3; s++) {
		const uint8_t *e = mcfg + 44 + 16 * s;

		assert_int_equal(le64(e), X86_PCI_ECAM + s * X86_PCI_ECAM_SIZE);
		assert_int_equal(e[8] | e[9] << 8, s);
		assert_int_equal(e[10], 0);
		assert_int_equal(e[11], 0);
	}
	memory_destroy(&vm.mem);
}
#endif

#if IS_ENABLED(CONFIG_CPU_TOPOLOGY)
/* --cpus boot=6,topology=1:3:1:2: the MADT lists the vCPUs in order
 * with the APIC ids the topology gives them (three cores take two bits,
 * so package 1 starts at 4), UIDs still 0-5; and 2 x 128 cores put the
 * last ones past 255, in x2APIC entries. */
static void test_build_topology(void **state)
{
	static const uint8_t want[] = { 0, 1, 2, 4, 5, 6 };
	struct vm vm;
	uint64_t rsdp_gpa;
	const uint8_t *rsdp, *xsdt, *madt, *e;

	(void)state;
	fake_vm(&vm, 6, 0);
	fake_cfg.cpu_topology = (struct cpu_topology){ 1, 3, 1, 2 };
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	rsdp = gpa_ptr(&vm.mem, rsdp_gpa, 36);
	xsdt = table_at(&vm, le64(rsdp + 24), "XSDT");
	madt = table_at(&vm, xsdt_find(&vm, xsdt, "APIC"), "APIC");
	assert_int_equal(le32(madt + 4), 44 + 6 * 8 + 12);
	e = madt + 44;
	for (unsigned i = 0; i < 6; i++, e += 8) {
		assert_int_equal(e[0], 0);
		assert_int_equal(e[2], i);		/* UID */
		assert_int_equal(e[3], want[i]);	/* APIC id */
	}
	memory_destroy(&vm.mem);

	/* 1:129:1:2: 8 bits of core, so package 1 is at 256 and up */
	fake_vm(&vm, 258, 0);
	fake_cfg.cpu_topology = (struct cpu_topology){ 1, 129, 1, 2 };
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	rsdp = gpa_ptr(&vm.mem, rsdp_gpa, 36);
	xsdt = table_at(&vm, le64(rsdp + 24), "XSDT");
	madt = table_at(&vm, xsdt_find(&vm, xsdt, "APIC"), "APIC");
	assert_int_equal(le32(madt + 4), 44 + 129 * 8 + 129 * 16 + 12);
	e = madt + 44 + 128 * 8;
	assert_int_equal(e[3], 128);
	e += 8;
	assert_int_equal(e[0], 9);			/* Local x2APIC */
	assert_int_equal(le32(e + 4), 256);		/* x2APIC id */
	assert_int_equal(le32(e + 12), 129);		/* UID */
	memory_destroy(&vm.mem);
}
#endif

/* Past 254 vCPUs the APIC ids need x2APIC entries. */
static void test_build_many_cpus(void **state)
{
	struct vm vm;
	uint64_t rsdp_gpa;
	const uint8_t *rsdp, *xsdt, *madt, *e;

	(void)state;
	fake_vm(&vm, 300, 0);
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), 0);
	rsdp = gpa_ptr(&vm.mem, rsdp_gpa, 36);
	xsdt = table_at(&vm, le64(rsdp + 24), "XSDT");
	madt = table_at(&vm, xsdt_find(&vm, xsdt, "APIC"), "APIC");
	assert_int_equal(le32(madt + 4), 44 + 255 * 8 + 45 * 16 + 12);
	e = madt + 44 + 254 * 8;
	assert_int_equal(e[0], 0);
	assert_int_equal(e[3], 254);
	e += 8;
	assert_int_equal(e[0], 9);			/* Local x2APIC */
	assert_int_equal(e[1], 16);
	assert_int_equal(le32(e + 4), 255);		/* x2APIC id */
	assert_int_equal(le32(e + 8), 1);
	assert_int_equal(le32(e + 12), 255);		/* UID */
	memory_destroy(&vm.mem);
}

static void test_build_failures(void **state)
{
	struct vm vm;
	uint64_t rsdp_gpa = 0x1234;

	(void)state;
	/* the describers' AML is more than the table area holds */
	fake_vm(&vm, 1, 0);
	assert_int_equal(vm_add_describer(&vm, huge_describer, NULL), 0);
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), -1);
	assert_int_equal(rsdp_gpa, 0x1234);
	memory_destroy(&vm.mem);

	/* a describer leaves a Device open */
	fake_vm(&vm, 1, 0);
	assert_int_equal(vm_add_describer(&vm, broken_describer, NULL), 0);
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), -1);
	memory_destroy(&vm.mem);

	/* no RAM under the table area */
	fake_vm(&vm, 1, X86_HIGH_MEMORY);
	assert_int_equal(acpi_build(&vm, &rsdp_gpa), -1);
	assert_int_equal(rsdp_gpa, 0x1234);
	memory_destroy(&vm.mem);
}

/* ------------------------------------------------------------ acpi-pm */

struct fake_chip {
	bool level[X86_IOAPIC_PINS];
	unsigned changes;
};

static void fake_set_line(void *opaque, unsigned line, bool level)
{
	struct fake_chip *c = opaque;

	assert_true(line < X86_IOAPIC_PINS);
	c->level[line] = level;
	c->changes++;
}

static const struct irqchip_ops fake_chip_ops = { .set_line = fake_set_line };

struct pm_fixture {
	struct vm vm;
	struct fake_chip chip;
};

static const struct device_desc *find_device(const char *name)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

static int pm_setup(void **state)
{
	struct pm_fixture *f = calloc(1, sizeof(*f));
	const struct device_desc *d = find_device("acpi-pm");

	assert_non_null(f);
	assert_non_null(d);
	assert_null(d->option);
	assert_int_equal(d->order, ORDER_PLATFORM);
	bus_init(&f->vm.pio, "pio");
	bus_init(&f->vm.mmio, "mmio");
	f->vm.loop = event_loop_create();
	assert_non_null(f->vm.loop);
	irq_register_chip(&f->vm, &fake_chip_ops, &f->chip);
	assert_int_equal(d->create(&f->vm, NULL), 0);
	assert_non_null(f->vm.power_button);
	assert_int_equal(f->vm.ndescribers, 1);
	*state = f;
	return 0;
}

static int pm_teardown(void **state)
{
	struct pm_fixture *f = *state;

	event_loop_destroy(f->vm.loop);
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f);
	return 0;
}

static void pio_write8(struct vm *vm, uint64_t port, uint8_t v)
{
	assert_true(bus_access(&vm->pio, port, &v, 1, true));
}

static uint32_t pio_read(struct vm *vm, uint64_t port, unsigned len)
{
	uint8_t b[8];
	uint32_t v = 0;

	assert_true(bus_access(&vm->pio, port, b, len, false));
	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void test_pm_poweroff(void **state)
{
	struct pm_fixture *f = *state;
	struct vm *vm = &f->vm;

	/* not S5, or no SLP_EN: ignored */
	pio_write8(vm, X86_PORT_ACPI_SLEEP_CTL, ACPI_S5_SLP_TYP << 2);
	pio_write8(vm, X86_PORT_ACPI_SLEEP_CTL, ACPI_SLP_EN | (3 << 2));
	pio_write8(vm, X86_PORT_ACPI_SLEEP_CTL, ACPI_SLP_EN);
	pio_write8(vm, X86_PORT_ACPI_SLEEP_CTL, 0xff & ~ACPI_SLP_EN);
	assert_true(vm_running(vm));
	/* Linux: clear WAK_STS, then SLP_TYP 5 | SLP_EN = 0x34 */
	pio_write8(vm, X86_PORT_ACPI_SLEEP_STS, ACPI_WAK_STS);
	assert_int_equal(pio_read(vm, X86_PORT_ACPI_SLEEP_STS, 1), 0);
	assert_true(vm_running(vm));
	pio_write8(vm, X86_PORT_ACPI_SLEEP_CTL, 0x34);
	assert_false(vm_running(vm));
	assert_int_equal(atomic_load(&vm->stop), VM_STOP_POWEROFF);
	/* a later reset does not change the reason */
	pio_write8(vm, X86_PORT_ACPI_RESET, X86_ACPI_RESET_VALUE);
	assert_int_equal(atomic_load(&vm->stop), VM_STOP_POWEROFF);
}

static void test_pm_poweroff_wide(void **state)
{
	struct pm_fixture *f = *state;
	uint16_t v = 0x0034;

	/* a 16-bit write covers the control and status bytes */
	assert_true(bus_access(&f->vm.pio, X86_PORT_ACPI_SLEEP_CTL, &v, 2, true));
	assert_int_equal(atomic_load(&f->vm.stop), VM_STOP_POWEROFF);
}

static void test_pm_reset(void **state)
{
	struct pm_fixture *f = *state;
	struct vm *vm = &f->vm;

	pio_write8(vm, X86_PORT_ACPI_RESET, 0x00);
	pio_write8(vm, X86_PORT_ACPI_RESET, 0x02);
	pio_write8(vm, X86_PORT_ACPI_RESET, 0xff);
	assert_true(vm_running(vm));
	assert_int_equal(pio_read(vm, X86_PORT_ACPI_RESET, 1), 0);
	pio_write8(vm, X86_PORT_ACPI_RESET, X86_ACPI_RESET_VALUE);
	assert_int_equal(atomic_load(&vm->stop), VM_STOP_REBOOT);
}

static void test_pm_junk(void **state)
{
	struct pm_fixture *f = *state;
	struct vm *vm = &f->vm;
	uint8_t buf[8];

	/* every port of the range, every size, reads and junk writes */
	for (uint64_t port = X86_PORT_ACPI_PM; port < X86_PORT_ACPI_GED + 4; port++) {
		for (unsigned len = 1; len <= 8; len *= 2) {
			memset(buf, 0xa5, sizeof(buf));
			bus_access(&vm->pio, port, buf, len, false);
			/* 0xff: SLP_TYP 7 with SLP_EN, not the reset value */
			memset(buf, 0xff, sizeof(buf));
			bus_access(&vm->pio, port, buf, len, true);
		}
	}
	assert_true(vm_running(vm));
	/* bytes past the range read as all ones */
	memset(buf, 0, sizeof(buf));
	assert_true(bus_access(&vm->pio, X86_PORT_ACPI_GED + 2, buf, 8, false));
	assert_memory_equal(buf + 2, ((uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }), 6);
	/* nothing pending, and the GED line never went up */
	assert_int_equal(pio_read(vm, X86_PORT_ACPI_GED, 4), 0);
	assert_int_equal(f->chip.changes, 0);
	/* the handlers do not trust the bus: offsets and sizes from hell */
	{
		const struct bus_range *r = &vm->pio.ranges[0];

		assert_int_equal(r->base, X86_PORT_ACPI_PM);
		r->ops->read(r->opaque, r->len - 1, buf, 8);
		r->ops->write(r->opaque, r->len - 1, buf, 8);
		r->ops->read(r->opaque, 1000, buf, 3);
		/* an offset that would wrap around onto the control byte */
		memset(buf, 0x34, sizeof(buf));
		r->ops->write(r->opaque, UINT64_MAX - 1, buf, 4);
		memset(buf, X86_ACPI_RESET_VALUE, sizeof(buf));
		r->ops->write(r->opaque, UINT64_MAX - 3, buf, 8);
	}
	assert_true(vm_running(vm));
}

static void test_pm_power_button(void **state)
{
	struct pm_fixture *f = *state;
	struct vm *vm = &f->vm;

	vm->power_button(vm->power_button_opaque);
	/* level: IRQ 9 is up until the guest reads the event */
	assert_true(f->chip.level[X86_IRQ_ACPI_GED]);
	assert_int_equal(f->chip.changes, 1);
	vm->power_button(vm->power_button_opaque);
	assert_int_equal(f->chip.changes, 1);
	/* a read of another byte consumes nothing */
	assert_int_equal(pio_read(vm, X86_PORT_ACPI_GED + 1, 1), 0);
	assert_true(f->chip.level[X86_IRQ_ACPI_GED]);
	assert_int_equal(pio_read(vm, X86_PORT_ACPI_GED, 4), 1);
	assert_false(f->chip.level[X86_IRQ_ACPI_GED]);
	assert_int_equal(pio_read(vm, X86_PORT_ACPI_GED, 4), 0);
	assert_int_equal(f->chip.changes, 2);
	/* pressing does not stop the VM: the guest decides */
	assert_true(vm_running(vm));
}

/* The PM timer at 0x608 (where CloudHv OVMF reads it): 3.579545 MHz,
 * read-only, one reading per access. */
static void test_pm_timer(void **state)
{
	struct pm_fixture *f = *state;
	struct vm *vm = &f->vm;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	uint32_t t0, t1, ticks;
	uint8_t b[4] = { 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(X86_PORT_ACPI_PM_TIMER, 0x608);
	t0 = pio_read(vm, X86_PORT_ACPI_PM_TIMER, 4);
	nanosleep(&pause, NULL);
	/* writes are ignored and do not stop or reset it */
	assert_true(bus_access(&vm->pio, X86_PORT_ACPI_PM_TIMER, b, 4, true));
	t1 = pio_read(vm, X86_PORT_ACPI_PM_TIMER, 4);
	ticks = t1 - t0;
	/* 20 ms is 71591 ticks; allow a slow, loaded machine */
	assert_true(ticks >= 71000);
	assert_true(ticks < 71591 * 50);
	assert_true(vm_running(vm));
	/* the GED next to it is untouched by timer reads */
	assert_int_equal(f->chip.changes, 0);
}

static void test_pm_describe(void **state)
{
	struct pm_fixture *f = *state;
	struct vm *vm = &f->vm;
	struct aml a;

	aml_init(&a);
	vm->describers[0].fn(vm->describers[0].opaque, vm, &a);
	assert_true(aml_ok(&a));
	assert_true(contains(a.buf, a.len, "ACPI0013", 9));
	/* Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {9} */
	assert_true(contains(a.buf, a.len,
			     ((uint8_t[]){ 0x89, 0x06, 0x00, 0x01, 0x01, 9, 0, 0, 0 }), 9));
	/* OperationRegion (GDST, SystemIO, 0x60c, 4) */
	assert_true(contains(a.buf, a.len,
			     ((uint8_t[]){ 0x5b, 0x80, 'G', 'D', 'S', 'T', 0x01,
					   0x0b, 0x0c, 0x06, 0x0a, 0x04 }), 12));
	/* Name (_HID, EisaId ("PNP0C0C")) */
	assert_true(contains(a.buf, a.len,
			     ((uint8_t[]){ 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0,
					   0x0c, 0x0c }), 10));
	/* Notify (\_SB.PWRB, 0x80) */
	assert_true(contains(a.buf, a.len,
			     ((uint8_t[]){ 0x86, 0x5c, 0x2e, '_', 'S', 'B', '_',
					   'P', 'W', 'R', 'B', 0x0a, 0x80 }), 13));
	aml_release(&a);
}

/* The host bridge's _PRT routes every slot's INTx as pci_intx_line()
 * says (the swizzle VFIO devices raise their INTx on). */
/* A VM of 512 MiB with the pci-host device created in it (the test is
 * skipped in a build without it). */
static struct vm *pci_host_vm(const struct vm_config *cfg)
{
	const struct device_desc *d = find_device("pci-host");
	struct vm *vm;

	if (!d)
		skip();
	vm = calloc(1, sizeof(*vm));
	assert_non_null(vm);
	vm->cfg = cfg;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->mem.nram = vm->mem.nregions = 1;
	vm->mem.region[0] = (struct mem_region){ .gpa = 0, .size = 512 << 20, .ram = true };
	assert_int_equal(d->create(vm, NULL), 0);
	return vm;
}

static void test_pci_host_prt(void **state)
{
	struct vm *vm;
	struct aml a;

	(void)state;
	assert_int_equal(pci_intx_line(0, 1), 16);
	assert_int_equal(pci_intx_line(1, 1), 17);
	assert_int_equal(pci_intx_line(7, 2), 16);
	assert_int_equal(pci_intx_line(31, 4), 18);
	assert_int_equal(pci_intx_line(1, 0), -1);
	assert_int_equal(pci_intx_line(1, 5), -1);
	assert_int_equal(pci_intx_line(32, 1), -1);
	vm = pci_host_vm(NULL);
	assert_int_equal(vm->ndescribers, 1);
	aml_init(&a);
	vm->describers[0].fn(vm->describers[0].opaque, vm, &a);
	assert_true(aml_ok(&a));
	/* Name (_PRT, Package (128) {... */
	assert_true(contains(a.buf, a.len, ((uint8_t[]){ 0x08, '_', 'P', 'R', 'T', 0x12 }), 6));
	/* Package () { 0x1ffff, 0, 0, 17 }: slot 1, INTA, GSI 17 */
	assert_true(contains(a.buf, a.len,
			     ((uint8_t[]){ 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00,
					   0x00, 0x00, 0x0a, 0x11 }), 12));
	/* slot 31, INTD: GSI 18 */
	assert_true(contains(a.buf, a.len,
			     ((uint8_t[]){ 0x12, 0x0c, 0x04, 0x0c, 0xff, 0xff, 0x1f, 0x00,
					   0x0a, 0x03, 0x00, 0x0a, 0x12 }), 13));
	aml_release(&a);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(vm->pci[0]);
	free(vm);
}

#if IS_ENABLED(CONFIG_PCI_SEGMENTS)
/* --platform num_pci_segments=2: a second root bridge, PCI1, with
 * _SEG 1, its own windows and no I/O ports; the ports' bus range and
 * the motherboard's ECAM reservation stay segment 0's (MRES covering
 * both ECAM areas). */
static void test_pci_host_segments(void **state)
{
	static const struct vm_config cfg = { .cpus = 1, .pci_segments = 2 };
	struct vm *vm = pci_host_vm(&cfg);
	struct aml a;

	(void)state;
	assert_int_equal(vm->ndescribers, 2);
	assert_non_null(vm->pci[1]);
	assert_int_equal(vm->pci[1]->ecam, X86_PCI_ECAM + X86_PCI_ECAM_SIZE);
	assert_int_equal(vm->pci[1]->mmio32, X86_PCI_MMIO32_MORE);
	assert_int_equal(vm->pci[1]->mmio64, vm->pci[0]->mmio64 + vm->pci[0]->mmio64_size);
	/* the host bridge of segment 1 answers at 0001:00:00.0 */
	{
		uint32_t id = 0;

		assert_true(bus_access(&vm->mmio, X86_PCI_ECAM + X86_PCI_ECAM_SIZE, &id, 4, false));
		assert_int_equal(id, 0x0d578086);
	}
	aml_init(&a);
	vm->describers[1].fn(vm->describers[1].opaque, vm, &a);
	assert_true(aml_ok(&a));
	assert_true(contains(a.buf, a.len, ((const uint8_t *)"PCI1"), 4));
	/* Name (_SEG, One) */
	assert_true(contains(a.buf, a.len, ((uint8_t[]){ 0x08, '_', 'S', 'E', 'G', 0x01 }), 6));
	/* no I/O port descriptor (0x47) for 0xcf8 */
	assert_false(contains(a.buf, a.len, ((uint8_t[]){ 0x47, 0x01, 0xf8, 0x0c }), 4));
	assert_false(contains(a.buf, a.len, ((const uint8_t *)"MRES"), 4));
	aml_release(&a);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(vm->pci[0]);
	free(vm->pci[1]);
	free(vm);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglength),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_strings_and_names),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_buffer_sizes),
		cmocka_unit_test(test_build_tables),
		cmocka_unit_test(test_build_many_cpus),
#if IS_ENABLED(CONFIG_CPU_TOPOLOGY)
		cmocka_unit_test(test_build_topology),
#endif
		cmocka_unit_test(test_build_viot),
#if IS_ENABLED(CONFIG_PCI_SEGMENTS)
		cmocka_unit_test(test_build_mcfg_segments),
		cmocka_unit_test(test_pci_host_segments),
#endif
		cmocka_unit_test(test_build_failures),
		cmocka_unit_test_setup_teardown(test_pm_poweroff, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff_wide, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_reset, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_junk, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_power_button, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_describe, pm_setup, pm_teardown),
		cmocka_unit_test(test_pci_host_prt),
	};

	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
