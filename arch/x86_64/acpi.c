// SPDX-License-Identifier: MIT
/*
 * ACPI tables for the x86_64 machine (see acpi.h).  Layouts follow the
 * ACPI 6.3 specification, chapter 5.2; the tables are built in a host
 * copy of the table area and written to guest memory in one go.
 */
#include "arch/x86_64/acpi.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arch_layout.h"
#include "arch/x86_64/aml.h"
#include "arch/x86_64/x86.h"
#include "core/iommu.h"
#include "core/kconfig.h"
#include "core/pci.h"
#include "core/vm.h"

#define OEM_ID		"WISP  "	/* 6 bytes */
/* One OEM table id for all tables: the FADT's must match the XSDT's. */
#define OEM_TABLE_ID	"WISPVM  "	/* 8 bytes */
#define OEM_REVISION	1
#define CREATOR_ID	"WISP"
#define CREATOR_REVISION 1
#define HYPERVISOR_ID	"WISPVMM"	/* FADT: 8 bytes with the NUL */

/* Tables the XSDT can list; raise it when adding a table. */
#define XSDT_MAX	8

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	uint8_t checksum;		/* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;		/* 2: ACPI 2.0 and later */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure (5.2.3.2) */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;	/* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));

#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE	1

/* FADT, revision 6 (5.2.9) */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

/* FADT fixed feature flags (5.2.9, Table 5.10) */
#define FADT_WBINVD		(1u << 0)
#define FADT_PWR_BUTTON		(1u << 4)	/* power button is a device */
#define FADT_SLP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define FADT_RESET_REG_SUP	(1u << 10)
#define FADT_HW_REDUCED_ACPI	(1u << 20)
/* IA-PC boot architecture flags (5.2.9.3) */
#define BOOT_VGA_NOT_PRESENT	(1u << 2)
#define BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

/* MADT (5.2.12) */
struct acpi_madt {
	struct acpi_header h;
	uint32_t local_apic_address;
	uint32_t flags;			/* bit 0 PCAT_COMPAT: dual 8259s */
} __attribute__((packed));

#define MADT_LOCAL_APIC		0
#define MADT_IO_APIC		1
#define MADT_LOCAL_X2APIC	9
#define MADT_ENABLED		(1u << 0)

struct madt_local_apic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_io_apic {
	uint8_t type;
	uint8_t length;
	uint8_t io_apic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_local_x2apic {
	uint8_t type;
	uint8_t length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __attribute__((packed));

/* MCFG (PCI Firmware Specification 3.0, 4.1.2) */
struct acpi_mcfg {
	struct acpi_header h;
	uint8_t reserved[8];
} __attribute__((packed));

struct mcfg_allocation {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244,
	       "FADT SLEEP_CONTROL_REG");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct madt_local_apic) == 8, "MADT local APIC");
_Static_assert(sizeof(struct madt_io_apic) == 12, "MADT I/O APIC");
_Static_assert(sizeof(struct madt_local_x2apic) == 16, "MADT local x2APIC");
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG");
_Static_assert(sizeof(struct mcfg_allocation) == 16, "MCFG allocation");

/* The table area while it is being built. */
struct acpi_ctx {
	struct vm *vm;
	uint8_t *image;		/* host copy of the table area */
	size_t used;
	uint64_t dsdt;		/* guest address, for the FADT */
	uint64_t xsdt[XSDT_MAX];
	size_t nxsdt;
};

/* The value that makes `len` bytes sum to zero (mod 256). */
static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

/* Carves `len` zeroed bytes, 16-byte aligned, out of the table area. */
static void *acpi_alloc(struct acpi_ctx *c, size_t len, uint64_t *gpa)
{
	size_t off = (c->used + 15) & ~(size_t)15;

	if (off > X86_ACPI_TABLES_SIZE || len > X86_ACPI_TABLES_SIZE - off) {
		wisp_err("ACPI: the tables need more than the %llu KiB at %#llx",
			 (unsigned long long)(X86_ACPI_TABLES_SIZE >> 10),
			 (unsigned long long)X86_ACPI_TABLES);
		return NULL;
	}
	c->used = off + len;
	*gpa = X86_ACPI_TABLES + off;
	return c->image + off;
}

/* Fills in a table's header, checksum last: call it when the table's
 * contents are complete. */
static void acpi_finish(void *table, const char sig[4], size_t len,
			uint8_t revision)
{
	struct acpi_header *h = table;

	memcpy(h->signature, sig, 4);
	h->length = (uint32_t)len;
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = CREATOR_REVISION;
	h->checksum = 0;
	h->checksum = acpi_checksum(table, len);
}

/* Lists a table in the XSDT. */
static int acpi_list(struct acpi_ctx *c, uint64_t gpa)
{
	if (c->nxsdt == XSDT_MAX) {
		wisp_err("ACPI: more tables than the XSDT has room for");
		return -1;
	}
	c->xsdt[c->nxsdt++] = gpa;
	return 0;
}

/* DSDT: \_SB with every device's description, and \_S5. */
static int build_dsdt(struct acpi_ctx *c)
{
	struct vm *vm = c->vm;
	struct acpi_header *t;
	struct aml a;
	size_t len;

	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	for (size_t i = 0; i < vm->ndescribers; i++)
		vm->describers[i].fn(vm->describers[i].opaque, vm, &a);
	aml_end(&a);
	/* Name (_S5, Package () {SLP_TYPa, SLP_TYPb, reserved, reserved}):
	 * hardware-reduced ACPI writes only SLP_TYPa, to the sleep
	 * control register. */
	aml_name(&a, "_S5");
	aml_package_begin(&a, 4);
	aml_int(&a, ACPI_S5_SLP_TYP);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a);
	if (!aml_ok(&a)) {
		wisp_err("ACPI: bad DSDT: %s", aml_error(&a));
		aml_release(&a);
		return -1;
	}
	len = sizeof(*t) + a.len;
	t = acpi_alloc(c, len, &c->dsdt);
	if (t) {
		memcpy(t + 1, a.buf, a.len);
		/* revision 2: integers are 64 bits */
		acpi_finish(t, "DSDT", len, 2);
	}
	aml_release(&a);
	return t ? 0 : -1;
}

static void gas_io8(struct acpi_gas *g, uint16_t port)
{
	*g = (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = GAS_ACCESS_BYTE,
		.address = port,
	};
}

/* FADT: hardware-reduced, no FACS; the sleep and reset registers of
 * devices/acpi_pm.c. */
static int build_fadt(struct acpi_ctx *c)
{
	struct acpi_fadt *f;
	uint64_t gpa;

	f = acpi_alloc(c, sizeof(*f), &gpa);
	if (!f)
		return -1;
	f->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		   FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI;
	/* No 8042 flag even with CONFIG_I8042: wisp's i8042 is a reset line
	 * only, and with the flag Linux probes it for seconds (no keyboard
	 * answers); its reboot path pulses the line without the driver. */
	f->iapc_boot_arch = BOOT_VGA_NOT_PRESENT |
		(IS_ENABLED(CONFIG_CMOS_RTC) ? 0 : BOOT_CMOS_RTC_NOT_PRESENT);
	/* where the RTC keeps the century: Linux reads and sets it there */
	f->century = IS_ENABLED(CONFIG_CMOS_RTC) ? X86_CMOS_CENTURY : 0;
	gas_io8(&f->reset_reg, X86_PORT_ACPI_RESET);
	f->reset_value = X86_ACPI_RESET_VALUE;
	f->minor_version = 3;		/* ACPI 6.3 */
	/* DSDT stays 0: X_DSDT is set, and the spec wants only one */
	f->x_dsdt = c->dsdt;
	gas_io8(&f->sleep_control_reg, X86_PORT_ACPI_SLEEP_CTL);
	gas_io8(&f->sleep_status_reg, X86_PORT_ACPI_SLEEP_STS);
	memcpy(f->hypervisor_vendor_id, HYPERVISOR_ID, 8);
	acpi_finish(f, "FACP", sizeof(*f), 6);
	return acpi_list(c, gpa);
}

/* MADT: a local APIC per vCPU, in vCPU order (the APIC id the --cpus
 * topology gives it, x86_apic_id; x2APIC entries for ids 255 and up,
 * which the xAPIC entry cannot hold) and the one I/O APIC, GSIs 0-23 =
 * ISA IRQs 0-15 identity-mapped.  No dual 8259: hardware-reduced ACPI
 * has no SCI to route either. */
static int build_madt(struct acpi_ctx *c)
{
	unsigned ncpus = c->vm->ncpus;
	size_t len = sizeof(struct acpi_madt) + sizeof(struct madt_io_apic);
	struct acpi_madt *m;
	uint8_t *p;
	uint64_t gpa;

	for (unsigned i = 0; i < ncpus; i++)
		len += x86_apic_id(c->vm->cfg, i) < 255 ? sizeof(struct madt_local_apic) :
			sizeof(struct madt_local_x2apic);
	m = acpi_alloc(c, len, &gpa);
	if (!m)
		return -1;
	m->local_apic_address = (uint32_t)X86_LAPIC;
	m->flags = 0;
	p = (uint8_t *)(m + 1);
	for (unsigned i = 0; i < ncpus; i++) {
		unsigned id = x86_apic_id(c->vm->cfg, i);

		if (id < 255) {
			struct madt_local_apic e = {
				.type = MADT_LOCAL_APIC,
				.length = sizeof(e),
				.processor_uid = (uint8_t)i,
				.apic_id = (uint8_t)id,
				.flags = MADT_ENABLED,
			};

			memcpy(p, &e, sizeof(e));
			p += sizeof(e);
		} else {
			struct madt_local_x2apic e = {
				.type = MADT_LOCAL_X2APIC,
				.length = sizeof(e),
				.x2apic_id = id,
				.flags = MADT_ENABLED,
				.processor_uid = i,
			};

			memcpy(p, &e, sizeof(e));
			p += sizeof(e);
		}
	}
	{
		struct madt_io_apic e = {
			.type = MADT_IO_APIC,
			.length = sizeof(e),
			.io_apic_id = ACPI_IOAPIC_ID,
			.address = (uint32_t)X86_IOAPIC,
			.gsi_base = 0,
		};

		memcpy(p, &e, sizeof(e));
	}
	/* revision 5: ACPI 6.3 */
	acpi_finish(m, "APIC", len, 5);
	return acpi_list(c, gpa);
}

/* MCFG: the ECAM area of each PCI segment. */
static int build_mcfg(struct acpi_ctx *c)
{
	struct acpi_mcfg *m;
	unsigned n = pci_segments_of(c->vm->cfg);
	size_t len = sizeof(*m) + n * sizeof(struct mcfg_allocation);
	uint64_t gpa;

	if (!IS_ENABLED(CONFIG_PCI))
		return 0;
	m = acpi_alloc(c, len, &gpa);
	if (!m)
		return -1;
	for (unsigned s = 0; s < n; s++) {
		struct mcfg_allocation e = {
			.base = ARCH_PCI_ECAM_OF(s),
			.segment = (uint16_t)s,
			.start_bus = 0,
			.end_bus = (uint8_t)((ARCH_PCI_ECAM_SIZE_OF(s) >> 20) - 1),
		};

		memcpy((uint8_t *)(m + 1) + s * sizeof(e), &e, sizeof(e));
	}
	acpi_finish(m, "MCFG", len, 1);
	return acpi_list(c, gpa);
}

/* VIOT (ACPI 6.5, 5.2.32): the header, then nodes. */
struct acpi_viot {
	struct acpi_header h;
	uint16_t node_count;
	uint16_t node_offset;		/* of the first node, from the table start */
	uint8_t reserved[8];
} __attribute__((packed));

#define VIOT_NODE_PCI_RANGE		1
#define VIOT_NODE_VIRTIO_IOMMU_PCI	3

struct viot_pci_range {
	uint8_t type;
	uint8_t reserved0;
	uint16_t length;
	uint32_t endpoint_start;	/* the endpoint id of bdf_start */
	uint16_t segment_start, segment_end;
	uint16_t bdf_start, bdf_end;
	uint16_t output_node;		/* the IOMMU node's offset in the table */
	uint8_t reserved1[6];
} __attribute__((packed));

struct viot_virtio_iommu_pci {
	uint8_t type;
	uint8_t reserved0;
	uint16_t length;
	uint16_t segment;
	uint16_t bdf;
	uint8_t reserved1[8];
} __attribute__((packed));

/* VIOT: the paravirtual IOMMU's PCI function, then one PCI range node per
 * function behind it (a single BDF each, endpoint id = BDF), so every
 * other device keeps plain DMA.  No table without an IOMMU endpoint. */
static int build_viot(struct acpi_ctx *c)
{
	const struct iommu *iommu = c->vm->iommu;
	struct acpi_viot *t;
	struct viot_virtio_iommu_pci node = {
		.type = VIOT_NODE_VIRTIO_IOMMU_PCI,
		.length = sizeof(node),
	};
	size_t len;
	uint64_t gpa;
	uint8_t *p;

	if (!iommu || !iommu->nendpoints)
		return 0;
	len = sizeof(*t) + sizeof(node) + iommu->nendpoints * sizeof(struct viot_pci_range);
	t = acpi_alloc(c, len, &gpa);
	if (!t)
		return -1;
	t->node_count = (uint16_t)(1 + iommu->nendpoints);
	t->node_offset = sizeof(*t);
	node.segment = iommu->segment;
	node.bdf = iommu->bdf;
	p = (uint8_t *)(t + 1);
	memcpy(p, &node, sizeof(node));
	p += sizeof(node);
	for (unsigned i = 0; i < iommu->nendpoints; i++) {
		const struct iommu_endpoint *ep = iommu->endpoint[i];
		struct viot_pci_range r = {
			.type = VIOT_NODE_PCI_RANGE,
			.length = sizeof(r),
			.endpoint_start = iommu_endpoint_id(ep),
			.segment_start = ep->segment,
			.segment_end = ep->segment,
			.bdf_start = ep->bdf,
			.bdf_end = ep->bdf,
			.output_node = sizeof(*t),
		};

		memcpy(p, &r, sizeof(r));
		p += sizeof(r);
	}
	acpi_finish(t, "VIOT", len, 0);
	return acpi_list(c, gpa);
}

/*
 * The tables the XSDT lists, in this order.  Each builder places its
 * table with acpi_alloc(), fills it in, seals it with acpi_finish() and
 * lists it with acpi_list() -- or does nothing when its feature is not
 * built in.  A new table (VIOT for virtio-iommu, SRAT, ...) is one more
 * builder and one more line here.
 */
static int (*const xsdt_builders[])(struct acpi_ctx *c) = {
	build_fadt,
	build_madt,
	build_mcfg,
	build_viot,
};

static int build_xsdt(struct acpi_ctx *c, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_header) + c->nxsdt * sizeof(uint64_t);
	struct acpi_header *x = acpi_alloc(c, len, gpa);

	if (!x)
		return -1;
	memcpy(x + 1, c->xsdt, c->nxsdt * sizeof(uint64_t));
	acpi_finish(x, "XSDT", len, 1);
	return 0;
}

int acpi_build(struct vm *vm, uint64_t *rsdp_gpa)
{
	struct acpi_ctx c = { .vm = vm };
	struct acpi_rsdp *rsdp;
	uint64_t rsdp_at, xsdt_at;
	int ret = -1;

	c.image = calloc(1, X86_ACPI_TABLES_SIZE);
	if (!c.image) {
		wisp_err("ACPI: out of memory");
		return -1;
	}
	/* the RSDP first, at the start of the (16-byte aligned) area */
	rsdp = acpi_alloc(&c, sizeof(*rsdp), &rsdp_at);
	if (!rsdp || build_dsdt(&c))
		goto out;
	for (size_t i = 0; i < sizeof(xsdt_builders) / sizeof(xsdt_builders[0]); i++)
		if (xsdt_builders[i](&c))
			goto out;
	if (build_xsdt(&c, &xsdt_at))
		goto out;

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_at;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	if (gpa_write(&vm->mem, X86_ACPI_TABLES, c.image, c.used)) {
		wisp_err("ACPI: guest RAM does not cover the table area at %#llx",
			 (unsigned long long)X86_ACPI_TABLES);
		goto out;
	}
	*rsdp_gpa = rsdp_at;
	ret = 0;
out:
	free(c.image);
	return ret;
}
