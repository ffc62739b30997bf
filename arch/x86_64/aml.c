// SPDX-License-Identifier: MIT
/*
 * The AML builder (see aml.h).  Encodings follow the ACPI 6.x
 * specification: section 20.2 for the AML grammar, 6.4 for resource
 * descriptors.
 */
#include "arch/x86_64/aml.h"

#include <stdlib.h>
#include <string.h>

/* AML opcodes and prefixes used below (ACPI 6.x, 20.2) */
#define ZERO_OP			0x00
#define ONE_OP			0x01
#define NAME_OP			0x08
#define BYTE_PREFIX		0x0a
#define WORD_PREFIX		0x0b
#define DWORD_PREFIX		0x0c
#define STRING_PREFIX		0x0d
#define QWORD_PREFIX		0x0e
#define SCOPE_OP		0x10
#define BUFFER_OP		0x11
#define PACKAGE_OP		0x12
#define METHOD_OP		0x14
#define DUAL_NAME_PREFIX	0x2e
#define MULTI_NAME_PREFIX	0x2f
#define EXT_OP_PREFIX		0x5b
#define ROOT_CHAR		0x5c
#define PARENT_PREFIX_CHAR	0x5e
#define LOCAL0_OP		0x60
#define ARG0_OP			0x68
#define IF_OP			0xa0
#define ELSE_OP			0xa1
#define ONES_OP			0xff
/* after EXT_OP_PREFIX */
#define EXT_OP_REGION		0x80
#define EXT_FIELD		0x81
#define EXT_DEVICE		0x82

/* the largest value a PkgLength of n bytes holds: 6, 12, 20, 28 bits */
#define PKGLEN_MAX(n)		((n) == 1 ? 0x3fu : (1u << (4 + 8 * ((n) - 1))) - 1)

static void fail(struct aml *a, const char *why)
{
	if (!a->error) {
		a->error = true;
		a->why = why;
	}
}

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_release(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

bool aml_ok(const struct aml *a)
{
	return !a->error && a->depth == 0;
}

const char *aml_error(const struct aml *a)
{
	if (a->error)
		return a->why;
	return a->depth ? "a scope was not ended" : NULL;
}

static bool reserve(struct aml *a, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (a->error)
		return false;
	if (more <= a->cap - a->len)
		return true;
	cap = a->cap ? a->cap : 256;
	while (cap - a->len < more) {
		if (cap > SIZE_MAX / 2) {
			fail(a, "AML too large");
			return false;
		}
		cap *= 2;
	}
	p = realloc(a->buf, cap);
	if (!p) {
		fail(a, "out of memory");
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!n || !reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

/*
 * PkgLength encoding (20.2.4): one byte holds values below 64 in bits
 * 0-5; otherwise bits 6-7 of the lead byte count the 1-3 bytes that
 * follow, bits 0-3 hold the low nibble and the following bytes the
 * rest.  Returns the number of bytes, or 0 if v needs more than 28 bits.
 */
static unsigned pkglen_encode(uint8_t out[4], size_t v, unsigned n)
{
	if (v > PKGLEN_MAX(n))
		return 0;
	if (n == 1) {
		out[0] = (uint8_t)v;
		return 1;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (v & 0xf));
	for (unsigned i = 1; i < n; i++)
		out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	return n;
}

/* A bare value (a field unit's width): the shortest form that holds it. */
static unsigned pkglen_value(uint8_t out[4], size_t v)
{
	for (unsigned n = 1; n <= 4; n++)
		if (v <= PKGLEN_MAX(n))
			return pkglen_encode(out, v, n);
	return 0;
}

/* The PkgLength in front of `content` bytes counts itself too. */
static unsigned pkglen_package(uint8_t out[4], size_t content)
{
	for (unsigned n = 1; n <= 4; n++)
		if (content <= PKGLEN_MAX(n) - n)
			return pkglen_encode(out, content + n, n);
	return 0;
}

/* Integer data object: its shortest encoding into out (up to 9 bytes). */
static unsigned int_encode(uint8_t out[9], uint64_t v)
{
	unsigned n;

	if (v == 0) {
		out[0] = ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = ONE_OP;
		return 1;
	}
	if (v == UINT64_MAX) {
		/* Ones: all 64 bits in a revision 2 definition block */
		out[0] = ONES_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffff) {
		out[0] = DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = QWORD_PREFIX;
		n = 8;
	}
	for (unsigned i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];

	aml_bytes(a, b, int_encode(b, v));
}

void aml_string(struct aml *a, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			fail(a, "a string is not ASCII");
			return;
		}
	}
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, n + 1);
}

/* A NameSeg: 1-4 characters of [A-Z_][A-Z0-9_]*, padded with '_'. */
static bool nameseg(const char *s, size_t n, uint8_t out[4])
{
	if (n < 1 || n > 4)
		return false;
	for (size_t i = 0; i < 4; i++) {
		char c = i < n ? s[i] : '_';

		if (!((c >= 'A' && c <= 'Z') || c == '_' ||
		      (i > 0 && c >= '0' && c <= '9')))
			return false;
		out[i] = (uint8_t)c;
	}
	return true;
}

void aml_namestring(struct aml *a, const char *path)
{
	uint8_t seg[4];
	const char *p = path, *end;
	size_t nsegs;

	if (*p == '\\') {
		aml_byte(a, ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, PARENT_PREFIX_CHAR);
			p++;
		}
	}
	if (!*p) {
		aml_byte(a, 0x00);	/* NullName */
		return;
	}
	nsegs = 1;
	for (const char *q = p; (q = strchr(q, '.')); q++)
		nsegs++;
	if (nsegs > 255) {
		fail(a, "a name path is too long");
		return;
	}
	if (nsegs == 2)
		aml_byte(a, DUAL_NAME_PREFIX);
	else if (nsegs > 2) {
		aml_byte(a, MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	for (; nsegs; nsegs--, p = end + 1) {
		end = strchr(p, '.');
		if (!end)
			end = p + strlen(p);
		if (!nameseg(p, (size_t)(end - p), seg)) {
			fail(a, "a name is not 1-4 of A-Z, 0-9 and _");
			return;
		}
		aml_bytes(a, seg, 4);
	}
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * EISA id compression (the ASL EISAID macro): three letters of 5 bits
 * each ('A' = 1) in the first two bytes, big-endian, then four hex
 * digits in the next two, stored as a little-endian DWORD.
 */
int aml_eisaid_encode(const char *id, uint32_t *out)
{
	unsigned c[3];
	int h[4];

	if (strlen(id) != 7)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -1;
		c[i] = (unsigned)(id[i] - 'A' + 1);
	}
	for (int i = 0; i < 4; i++)
		if ((h[i] = hexdigit(id[3 + i])) < 0)
			return -1;
	*out = (uint32_t)((c[0] << 2) | (c[1] >> 3)) |
	       (uint32_t)(((c[1] & 7) << 5) | c[2]) << 8 |
	       (uint32_t)((h[0] << 4) | h[1]) << 16 |
	       (uint32_t)((h[2] << 4) | h[3]) << 24;
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (aml_eisaid_encode(id, &v)) {
		fail(a, "an EISA id is not AAA#### (hex)");
		return;
	}
	/* always a DWordConst, as the ASL EISAID macro makes */
	aml_byte(a, DWORD_PREFIX);
	put_le(a, v, 4);
}

void aml_local(struct aml *a, unsigned n)
{
	if (n > 7)
		fail(a, "no such LocalN");
	aml_byte(a, (uint8_t)(LOCAL0_OP + n));
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n > 6)
		fail(a, "no such ArgN");
	aml_byte(a, (uint8_t)(ARG0_OP + n));
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, NAME_OP);
	aml_namestring(a, name);
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_int(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

/* ------------------------------------------------------------ scopes */

/* Marks where the PkgLength of the object being opened goes: it is
 * inserted there by aml_end(), once the contents are known. */
static void open_pkg(struct aml *a, bool buffer)
{
	if (a->error)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, "AML nested too deep");
		return;
	}
	a->open[a->depth].start = a->len;
	a->open[a->depth].buffer = buffer;
	a->depth++;
}

void aml_end(struct aml *a)
{
	uint8_t head[4 + 9];
	size_t start, body;
	unsigned n, nsize = 0;

	if (a->error)
		return;
	if (!a->depth) {
		fail(a, "aml_end() without a begin");
		return;
	}
	a->depth--;
	start = a->open[a->depth].start;
	body = a->len - start;
	if (a->open[a->depth].buffer) {
		uint8_t size[9];

		nsize = int_encode(size, body);
		n = pkglen_package(head, nsize + body);
		memcpy(head + n, size, nsize);
	} else {
		n = pkglen_package(head, body);
	}
	if (!n) {
		fail(a, "an AML object is over 256 MiB");
		return;
	}
	if (!reserve(a, n + nsize))
		return;
	memmove(a->buf + start + n + nsize, a->buf + start, body);
	memcpy(a->buf + start, head, n + nsize);
	a->len += n + nsize;
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, SCOPE_OP);
	open_pkg(a, false);
	aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, EXT_DEVICE);
	open_pkg(a, false);
	aml_namestring(a, name);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs,
		      bool serialized)
{
	if (nargs > 7)
		fail(a, "a method takes at most 7 arguments");
	aml_byte(a, METHOD_OP);
	open_pkg(a, false);
	aml_namestring(a, name);
	/* MethodFlags: ArgCount in bits 0-2, SerializeFlag bit 3, SyncLevel 0 */
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 1u << 3 : 0)));
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	if (nelems > 255)
		fail(a, "a Package holds at most 255 elements");
	aml_byte(a, PACKAGE_OP);
	open_pkg(a, false);
	aml_byte(a, (uint8_t)nelems);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, BUFFER_OP);
	open_pkg(a, true);
}

void aml_if_begin(struct aml *a)
{
	aml_byte(a, IF_OP);
	open_pkg(a, false);
}

void aml_else_begin(struct aml *a)
{
	aml_byte(a, ELSE_OP);
	open_pkg(a, false);
}

/* ------------------------------------------------- operation regions */

void aml_operation_region(struct aml *a, const char *name,
			  enum aml_region_space space, uint64_t offset,
			  uint64_t len)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, EXT_OP_REGION);
	aml_namestring(a, name);
	aml_byte(a, (uint8_t)space);
	aml_int(a, offset);
	aml_int(a, len);
}

void aml_field_begin(struct aml *a, const char *region,
		     enum aml_field_access access, enum aml_field_update update)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, EXT_FIELD);
	open_pkg(a, false);
	aml_namestring(a, region);
	/* FieldFlags: AccessType bits 0-3, LockRule bit 4 (NoLock),
	 * UpdateRule bits 5-6 */
	aml_byte(a, (uint8_t)((access & 0xf) | ((update & 3) << 5)));
}

void aml_field_unit(struct aml *a, const char *name, unsigned bits)
{
	uint8_t seg[4], len[4];
	unsigned n = pkglen_value(len, bits);

	if (!n || !bits) {
		fail(a, "a field unit has a bad width");
		return;
	}
	if (!name) {
		aml_byte(a, 0x00);	/* ReservedField */
	} else if (nameseg(name, strlen(name), seg)) {
		aml_bytes(a, seg, 4);
	} else {
		fail(a, "a field unit name is not one NameSeg");
		return;
	}
	aml_bytes(a, len, n);
}

/* ------------------------------------------------ statements, operators */

void aml_op(struct aml *a, enum aml_op op)
{
	aml_byte(a, (uint8_t)op);
}

void aml_null_target(struct aml *a)
{
	aml_byte(a, 0x00);
}

void aml_notify(struct aml *a, const char *path, uint8_t value)
{
	aml_op(a, AML_OP_NOTIFY);
	aml_namestring(a, path);
	aml_int(a, value);
}

/* ------------------------------------------------ resource descriptors */

/* Small resource items (6.4.2): tag = item name << 3 | length */
#define RES_IRQ(len)		(0x20 | (len))	/* item 0x04, 2 or 3 bytes */
#define RES_IO			0x47		/* item 0x08, 7 bytes */
#define RES_FIXED_IO		0x4b		/* item 0x09, 3 bytes */
#define RES_END_TAG		0x79		/* item 0x0f, 1 byte */
/* Large resource items (6.4.3): tag = 0x80 | item name */
#define RES_MEMORY32_FIXED	0x86
#define RES_DWORD_ADDRESS	0x87
#define RES_WORD_ADDRESS	0x88
#define RES_EXT_IRQ		0x89
#define RES_QWORD_ADDRESS	0x8a

/* Address space resource types and flags (6.4.3.5) */
#define ADDR_MEMORY		0
#define ADDR_IO			1
#define ADDR_BUS		2
#define ADDR_MIN_FIXED		(1u << 2)
#define ADDR_MAX_FIXED		(1u << 3)
#define MEM_RW			(1u << 0)
#define MEM_NONCACHEABLE	(0u << 1)
#define MEM_PREFETCHABLE	(3u << 1)
#define IO_ENTIRE_RANGE		3u

void aml_resources_begin(struct aml *a)
{
	aml_buffer_begin(a);
}

void aml_resources_end(struct aml *a)
{
	/* End Tag; a zero checksum means "treat as correct" */
	static const uint8_t end[] = { RES_END_TAG, 0x00 };

	aml_bytes(a, end, sizeof(end));
	aml_end(a);
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	if (min > max)
		fail(a, "IO: min is above max");
	aml_byte(a, RES_IO);
	aml_byte(a, 0x01);	/* decodes 16 address bits */
	put_le(a, min, 2);
	put_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_fixed_io(struct aml *a, uint16_t base, uint8_t len)
{
	if (base > 0x3ff)
		fail(a, "FixedIO: a base above 0x3ff");
	aml_byte(a, RES_FIXED_IO);
	put_le(a, base, 2);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	if (irq > 15)
		fail(a, "IRQNoFlags: not an ISA IRQ");
	aml_byte(a, RES_IRQ(2));
	put_le(a, 1u << (irq & 15), 2);
}

void aml_res_irq(struct aml *a, unsigned irq, unsigned flags)
{
	uint8_t info = 0;

	if (irq > 15)
		fail(a, "IRQ: not an ISA IRQ");
	/* _HE bit 0, _LL bit 3, _SHR bit 4, _WKC bit 5 */
	if (flags & AML_IRQ_EDGE)
		info |= 1u << 0;
	if (flags & AML_IRQ_ACTIVE_LOW)
		info |= 1u << 3;
	if (flags & AML_IRQ_SHARED)
		info |= 1u << 4;
	if (flags & AML_IRQ_WAKE)
		info |= 1u << 5;
	aml_byte(a, RES_IRQ(3));
	put_le(a, 1u << (irq & 15), 2);
	aml_byte(a, info);
}

void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned flags)
{
	/* consumer bit 0, _HE bit 1, _LL bit 2, _SHR bit 3, _WKC bit 4 */
	uint8_t info = 1u << 0;

	if (flags & AML_IRQ_EDGE)
		info |= 1u << 1;
	if (flags & AML_IRQ_ACTIVE_LOW)
		info |= 1u << 2;
	if (flags & AML_IRQ_SHARED)
		info |= 1u << 3;
	if (flags & AML_IRQ_WAKE)
		info |= 1u << 4;
	aml_byte(a, RES_EXT_IRQ);
	put_le(a, 6, 2);	/* flags, table length, one DWORD */
	aml_byte(a, info);
	aml_byte(a, 1);
	put_le(a, gsi, 4);
}

void aml_res_memory32_fixed(struct aml *a, uint32_t base, uint32_t len,
			    bool writable)
{
	aml_byte(a, RES_MEMORY32_FIXED);
	put_le(a, 9, 2);
	aml_byte(a, writable ? 1 : 0);
	put_le(a, base, 4);
	put_le(a, len, 4);
}

/* Word/DWord/QWord address space descriptors share one layout with
 * fields of `width` bytes: granularity, min, max, translation, length. */
static void res_address(struct aml *a, uint8_t tag, unsigned width,
			uint8_t type, uint8_t type_flags, uint64_t min,
			uint64_t max)
{
	if (min > max) {
		fail(a, "address space: min is above max");
		return;
	}
	aml_byte(a, tag);
	put_le(a, 3 + 5 * width, 2);
	aml_byte(a, type);
	/* producer (bit 0 clear), positive decode, min and max fixed */
	aml_byte(a, ADDR_MIN_FIXED | ADDR_MAX_FIXED);
	aml_byte(a, type_flags);
	put_le(a, 0, width);		/* granularity */
	put_le(a, min, width);
	put_le(a, max, width);
	put_le(a, 0, width);		/* translation offset */
	put_le(a, max - min + 1, width);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	res_address(a, RES_WORD_ADDRESS, 2, ADDR_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	res_address(a, RES_WORD_ADDRESS, 2, ADDR_IO, IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max)
{
	res_address(a, RES_DWORD_ADDRESS, 4, ADDR_IO, IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t max,
			  bool prefetchable)
{
	res_address(a, RES_DWORD_ADDRESS, 4, ADDR_MEMORY,
		    MEM_RW | (prefetchable ? MEM_PREFETCHABLE : MEM_NONCACHEABLE),
		    min, max);
}

void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t max,
			  bool prefetchable)
{
	/* the length of a window covering all 64 bits does not fit */
	if (min == 0 && max == UINT64_MAX) {
		fail(a, "QWordMemory: a window of 2^64 bytes");
		return;
	}
	res_address(a, RES_QWORD_ADDRESS, 8, ADDR_MEMORY,
		    MEM_RW | (prefetchable ? MEM_PREFETCHABLE : MEM_NONCACHEABLE),
		    min, max);
}
