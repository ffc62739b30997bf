/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables as wisp builds them (hardware-reduced ACPI):
 *  - the RSDP at hvm_start_info.rsdp_paddr: signature, revision >= 2, both
 *    checksums, an XSDT address;
 *  - the XSDT and every table it lists: a signature of four [A-Z0-9_]
 *    characters, a sane length, a zero checksum; FACP, APIC and MCFG
 *    present once each;
 *  - the FADT: HW_REDUCED_ACPI (flags bit 20), a DSDT (X_DSDT, else DSDT)
 *    that checks out, SLEEP_CONTROL_REG and SLEEP_STATUS_REG set, RESET_REG
 *    present when RESET_REG_SUP (bit 10) says so;
 *  - the MADT: enabled local APIC entries, counted ("ACPI cpus=<n>"), at
 *    least one I/O APIC; the MCFG: at least one allocation.
 * Then powers off by writing S5 to the FADT's SLEEP_CONTROL_REG itself.
 */
#include "guest.h"

struct mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint32_t reserved;
} __packed;

static bool sig_ok(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static const char *gas_space(const struct acpi_gas *g)
{
	return g->space_id == ACPI_GAS_IO ? "io" : g->space_id == ACPI_GAS_MEMORY ? "mem" : "?";
}

/* Validate one table at `addr`; `what` names it in messages. */
static const struct acpi_header *table(uint64_t addr, const char *what)
{
	const struct acpi_header *t = (const void *)(uintptr_t)addr;

	CHECK(addr && addr < 0x100000000ull - 36, "%s at 0x%lx is outside the first 4 GiB", what,
	      addr);
	CHECK(sig_ok(t->signature), "%s at 0x%lx has a bad signature %02x %02x %02x %02x", what, addr,
	      (uint8_t)t->signature[0], (uint8_t)t->signature[1], (uint8_t)t->signature[2],
	      (uint8_t)t->signature[3]);
	CHECK(t->length >= sizeof(*t) && t->length < 0x100000, "%.4s at 0x%lx has length %u",
	      t->signature, addr, t->length);
	CHECK(!acpi_checksum(t, t->length), "%.4s at 0x%lx: bad checksum", t->signature, addr);
	printf("ACPI %.4s at 0x%lx len %u rev %u ok\n", t->signature, addr, t->length,
	       t->revision);
	return t;
}

static void check_madt(const struct acpi_madt *madt)
{
	unsigned int cpus = 0, disabled = 0, ioapics = 0, isos = 0;

	CHECK(madt->h.length >= sizeof(*madt), "MADT too short (%u)", madt->h.length);
	for (const uint8_t *e = madt_next(madt, NULL); e; e = madt_next(madt, e)) {
		if (e[0] == MADT_LAPIC || e[0] == MADT_X2APIC) {
			uint32_t flags;
			CHECK(e[1] == (e[0] == MADT_LAPIC ? 8 : 16), "MADT entry type %u has length %u",
			      e[0], e[1]);
			memcpy(&flags, e + (e[0] == MADT_LAPIC ? 4 : 8), 4);
			if (flags & 1)
				cpus++;
			else
				disabled++;
		} else if (e[0] == MADT_IOAPIC) {
			const struct madt_ioapic *io = (const void *)e;
			CHECK(e[1] == sizeof(*io), "MADT I/O APIC entry has length %u", e[1]);
			printf("ACPI ioapic id %u at 0x%x gsi_base %u\n", io->id, io->address,
			       io->gsi_base);
			ioapics++;
		} else if (e[0] == MADT_ISO) {
			CHECK(e[1] == sizeof(struct madt_iso), "MADT override entry has length %u",
			      e[1]);
			isos++;
		}
	}
	printf("ACPI madt lapic_address=0x%x flags=0x%x ioapics=%u overrides=%u disabled_cpus=%u\n",
	       madt->lapic_address, madt->flags, ioapics, isos, disabled);
	printf("ACPI cpus=%u\n", cpus);
	CHECK(cpus >= 1, "no enabled local APIC in the MADT");
	CHECK(ioapics >= 1, "no I/O APIC in the MADT");
}

void guest_main(const struct hvm_start_info *si)
{
	const struct acpi_rsdp *rsdp = (const void *)(uintptr_t)si->rsdp_paddr;
	const struct acpi_header *xsdt, *t, *dsdt;
	const struct acpi_fadt *fadt = NULL;
	const struct acpi_madt *madt = NULL;
	const struct acpi_header *mcfg = NULL;

	CHECK(si->rsdp_paddr, "hvm_start_info.rsdp_paddr is 0");
	CHECK(si->rsdp_paddr < 0x100000000ull, "RSDP at 0x%lx above 4 GiB", si->rsdp_paddr);
	CHECK(!memcmp(rsdp->signature, "RSD PTR ", 8), "no \"RSD PTR \" at 0x%lx", si->rsdp_paddr);
	CHECK(!acpi_checksum(rsdp, 20), "RSDP checksum (first 20 bytes) is wrong");
	CHECK(rsdp->revision >= 2, "RSDP revision %u, want >= 2 (XSDT)", rsdp->revision);
	CHECK(rsdp->length >= sizeof(*rsdp) && rsdp->length < 4096, "RSDP length %u",
	      rsdp->length);
	CHECK(!acpi_checksum(rsdp, rsdp->length), "RSDP extended checksum is wrong");
	printf("ACPI RSDP at 0x%lx rev %u xsdt 0x%lx\n", si->rsdp_paddr, rsdp->revision,
	       rsdp->xsdt_address);

	xsdt = table(rsdp->xsdt_address, "XSDT");
	CHECK(!memcmp(xsdt->signature, "XSDT", 4), "the RSDP's XSDT has signature %.4s",
	      xsdt->signature);
	CHECK((xsdt->length - sizeof(*xsdt)) % 8 == 0, "XSDT length %u is not 36 + 8n",
	      xsdt->length);
	unsigned int n = (xsdt->length - sizeof(*xsdt)) / 8;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t addr;
		memcpy(&addr, (const uint8_t *)(xsdt + 1) + 8 * i, 8);
		t = table(addr, "XSDT entry");
		if (!memcmp(t->signature, "FACP", 4)) {
			CHECK(!fadt, "two FADTs");
			fadt = (const void *)t;
		} else if (!memcmp(t->signature, "APIC", 4)) {
			CHECK(!madt, "two MADTs");
			madt = (const void *)t;
		} else if (!memcmp(t->signature, "MCFG", 4)) {
			CHECK(!mcfg, "two MCFGs");
			mcfg = t;
		}
	}
	CHECK(fadt, "no FADT (FACP) in the XSDT");
	CHECK(madt, "no MADT (APIC) in the XSDT");
	CHECK(mcfg, "no MCFG in the XSDT");

	CHECK(fadt->h.length >= offsetof(struct acpi_fadt, hypervisor_vendor),
	      "FADT length %u, too short for SLEEP_STATUS_REG (ACPI 5.0+)", fadt->h.length);
	printf("ACPI FADT rev %u.%u flags=0x%x\n", fadt->h.revision, fadt->minor_version,
	       fadt->flags);
	CHECK(fadt->flags & ACPI_FADT_HW_REDUCED, "FADT flags 0x%x: HW_REDUCED_ACPI (bit 20) clear",
	      fadt->flags);
	dsdt = table(fadt->x_dsdt ? fadt->x_dsdt : fadt->dsdt, "DSDT");
	CHECK(!memcmp(dsdt->signature, "DSDT", 4), "the FADT's DSDT has signature %.4s",
	      dsdt->signature);
	CHECK(!fadt->x_dsdt || !fadt->dsdt || fadt->dsdt == fadt->x_dsdt,
	      "FADT DSDT 0x%x and X_DSDT 0x%lx differ", fadt->dsdt, fadt->x_dsdt);

	const struct acpi_gas *slp = &fadt->sleep_control, *sts = &fadt->sleep_status;
	printf("ACPI sleep_control=%s:0x%lx sleep_status=%s:0x%lx\n", gas_space(slp), slp->address,
	       gas_space(sts), sts->address);
	CHECK(slp->address && slp->space_id <= ACPI_GAS_IO,
	      "SLEEP_CONTROL_REG: space %u address 0x%lx", slp->space_id, slp->address);
	CHECK(sts->address && sts->space_id <= ACPI_GAS_IO,
	      "SLEEP_STATUS_REG: space %u address 0x%lx", sts->space_id, sts->address);
	if (fadt->flags & ACPI_FADT_RESET_REG_SUP) {
		const struct acpi_gas *rr = &fadt->reset_reg;
		printf("ACPI reset_reg=%s:0x%lx value=0x%x\n", gas_space(rr), rr->address,
		       fadt->reset_value);
		CHECK(rr->address && rr->space_id <= ACPI_GAS_IO,
		      "RESET_REG_SUP set but RESET_REG is space %u address 0x%lx", rr->space_id,
		      rr->address);
	} else {
		printf("ACPI no reset register (RESET_REG_SUP clear)\n");
	}

	check_madt(madt);

	CHECK(mcfg->length >= 44 + sizeof(struct mcfg_alloc) && (mcfg->length - 44) % 16 == 0,
	      "MCFG length %u is not 44 + 16n, n >= 1", mcfg->length);
	const struct mcfg_alloc *ma = (const void *)((const uint8_t *)mcfg + 44);
	printf("ACPI mcfg base=0x%lx segment %u buses %u-%u\n", ma->base, ma->segment,
	       ma->bus_start, ma->bus_end);
	CHECK(ma->base && ma->bus_start <= ma->bus_end, "MCFG allocation base 0x%lx buses %u-%u",
	      ma->base, ma->bus_start, ma->bus_end);

	print_pass();
	acpi_poweroff_via(slp);
}
