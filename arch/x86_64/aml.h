/* SPDX-License-Identifier: MIT */
/*
 * A small AML (ACPI Machine Language) byte-code builder, written from
 * the ACPI 6.x specification, chapter 20 (AML encoding) and section 6.4
 * (resource data types).
 *
 * The DSDT is one growable buffer.  Objects are emitted in the order
 * AML reads them, which is prefix order: an operator, then its operands.
 * Everything that has a PkgLength (Scope, Device, Method, Package,
 * Buffer, If, Else, Field) is opened with an aml_*_begin() call and
 * closed with aml_end(); the length is filled in at the end, in its
 * shortest encoding.  A device describer does, for example:
 *
 *	aml_device_begin(a, "COM1");
 *	aml_name_eisaid(a, "_HID", "PNP0501");
 *	aml_name_int(a, "_UID", 0);
 *	aml_name(a, "_CRS");
 *	aml_resources_begin(a);
 *	aml_res_io(a, 0x3f8, 0x3f8, 8, 8);
 *	aml_res_irq_noflags(a, 4);
 *	aml_resources_end(a);
 *	aml_end(a);
 *
 * Errors (no memory, a malformed name, unbalanced begin/end) are sticky:
 * the calls after one do nothing, and aml_ok() tells the table builder,
 * so describers need no error handling of their own.
 */
#ifndef WISP_ARCH_X86_64_AML_H
#define WISP_ARCH_X86_64_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 32

struct aml {
	uint8_t *buf;
	size_t len, cap;
	unsigned depth;
	struct {
		size_t start;	/* where the PkgLength goes */
		bool buffer;	/* a Buffer: BufferSize follows PkgLength */
	} open[AML_MAX_DEPTH];
	bool error;
	const char *why;	/* the first error, for messages */
};

void aml_init(struct aml *a);
void aml_release(struct aml *a);
/* False once anything failed, or while a begin is not yet ended; why
 * the first failure happened (a static string), or NULL. */
bool aml_ok(const struct aml *a);
const char *aml_error(const struct aml *a);

/* Raw bytes. */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* ------------------------------------------------------------ data */

/* Zero, One, Ones, or the shortest of Byte/Word/DWord/QWordConst. */
void aml_int(struct aml *a, uint64_t v);
/* String: ASCII 0x01-0x7f, NUL-terminated. */
void aml_string(struct aml *a, const char *s);
/* A name path as AML NameString: "\\_SB.PCI0", "^PWRB", "_HID".  Each
 * segment has 1-4 of A-Z, 0-9 and '_' (not starting with a digit) and
 * is padded with '_'; "\\" alone is the root, "" is NullName. */
void aml_namestring(struct aml *a, const char *path);
/* The compressed EISA id ("PNP0501" -> 0x0105d041), or -1 if id is not
 * three capitals and four hex digits. */
int aml_eisaid_encode(const char *id, uint32_t *out);
void aml_eisaid(struct aml *a, const char *id);
void aml_local(struct aml *a, unsigned n);	/* Local0-Local7 */
void aml_arg(struct aml *a, unsigned n);	/* Arg0-Arg6 */

/* ---------------------------------------------------- named objects */

/* Name (name, <the next object emitted>). */
void aml_name(struct aml *a, const char *name);
void aml_name_int(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* ------------------------------------------ scopes (end: aml_end()) */

void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *name);
/* nargs 0-7; serialized methods run one at a time. */
void aml_method_begin(struct aml *a, const char *name, unsigned nargs,
		      bool serialized);
/* Package (nelems) {...}: nelems at most 255, the elements follow. */
void aml_package_begin(struct aml *a, unsigned nelems);
/* Buffer () {bytes}: the size is counted at aml_end(). */
void aml_buffer_begin(struct aml *a);
/* If (predicate) {body}: emit the predicate, then the body. */
void aml_if_begin(struct aml *a);
/* Else {body}, right after an If's aml_end(). */
void aml_else_begin(struct aml *a);
void aml_end(struct aml *a);

/* ------------------------------------------------ operation regions */

enum aml_region_space {
	AML_SYSTEM_MEMORY = 0x00,
	AML_SYSTEM_IO = 0x01,
	AML_PCI_CONFIG = 0x02,
};

enum aml_field_access {
	AML_ACCESS_ANY = 0,
	AML_ACCESS_BYTE = 1,
	AML_ACCESS_WORD = 2,
	AML_ACCESS_DWORD = 3,
	AML_ACCESS_QWORD = 4,
};

enum aml_field_update {
	AML_PRESERVE = 0,
	AML_WRITE_AS_ONES = 1,
	AML_WRITE_AS_ZEROS = 2,
};

void aml_operation_region(struct aml *a, const char *name,
			  enum aml_region_space space, uint64_t offset,
			  uint64_t len);
/* Field (region, access, NoLock, update) {units}, closed by aml_end(). */
void aml_field_begin(struct aml *a, const char *region,
		     enum aml_field_access access, enum aml_field_update update);
/* One named unit of `bits` bits; name NULL skips `bits` bits. */
void aml_field_unit(struct aml *a, const char *name, unsigned bits);

/* ------------------------------------------- statements, operators */

/* Operators are emitted opcode first, then their operands; the comment
 * gives the operands in order.  A Target operand may be a name, a
 * LocalN/ArgN, or aml_null_target() for none. */
enum aml_op {
	AML_OP_STORE = 0x70,		/* source, target */
	AML_OP_ADD = 0x72,		/* a, b, target */
	AML_OP_SUBTRACT = 0x74,		/* a, b, target */
	AML_OP_SHIFT_LEFT = 0x79,	/* a, count, target */
	AML_OP_SHIFT_RIGHT = 0x7a,	/* a, count, target */
	AML_OP_AND = 0x7b,		/* a, b, target */
	AML_OP_OR = 0x7d,		/* a, b, target */
	AML_OP_NOTIFY = 0x86,		/* object, value */
	AML_OP_SIZEOF = 0x87,		/* object */
	AML_OP_INDEX = 0x88,		/* object, index, target */
	AML_OP_CREATE_DWORD_FIELD = 0x8a, /* buffer, byte index, namestring */
	AML_OP_LAND = 0x90,		/* a, b */
	AML_OP_LOR = 0x91,		/* a, b */
	AML_OP_LNOT = 0x92,		/* a */
	AML_OP_LEQUAL = 0x93,		/* a, b */
	AML_OP_LGREATER = 0x94,		/* a, b */
	AML_OP_LLESS = 0x95,		/* a, b */
	AML_OP_RETURN = 0xa4,		/* value */
};

void aml_op(struct aml *a, enum aml_op op);
void aml_null_target(struct aml *a);
/* Notify (path, value). */
void aml_notify(struct aml *a, const char *path, uint8_t value);

/* ---------------------------------------------- resource templates */

/* ResourceTemplate () {...}: a Buffer of resource descriptors, closed by
 * aml_resources_end(), which adds the End Tag. */
void aml_resources_begin(struct aml *a);
void aml_resources_end(struct aml *a);

/* Interrupt flags; 0 is level-triggered, active-high, exclusive. */
enum {
	AML_IRQ_EDGE = 1u << 0,
	AML_IRQ_ACTIVE_LOW = 1u << 1,
	AML_IRQ_SHARED = 1u << 2,
	AML_IRQ_WAKE = 1u << 3,
};

/* IO (Decode16, min, max, align, len). */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);
/* FixedIO (base, len): a 10-bit ISA address. */
void aml_res_fixed_io(struct aml *a, uint16_t base, uint8_t len);
/* IRQNoFlags () {irq}: ISA 0-15, edge, active-high, exclusive. */
void aml_res_irq_noflags(struct aml *a, unsigned irq);
/* IRQ (...) {irq} with AML_IRQ_* flags. */
void aml_res_irq(struct aml *a, unsigned irq, unsigned flags);
/* Interrupt (ResourceConsumer, ...) {gsi}: the extended descriptor. */
void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned flags);
/* Memory32Fixed (ReadWrite or ReadOnly, base, len). */
void aml_res_memory32_fixed(struct aml *a, uint32_t base, uint32_t len,
			    bool writable);
/* The address space descriptors describe what a bridge decodes: they
 * are ResourceProducer, MinFixed, MaxFixed, PosDecode, with granularity
 * and translation 0 and the length max - min + 1. */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max);
/* Read-write memory, NonCacheable or Prefetchable. */
void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t max,
			  bool prefetchable);
void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t max,
			  bool prefetchable);

#endif
