/* SPDX-License-Identifier: MIT */
/*
 * Reboot through the FADT's reset register, as Linux does by default:
 * RESET_REG_SUP must be set and RESET_REG must be an 8-bit register the
 * guest can write RESET_VALUE to.  wisp then stops with its reboot line.
 */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
	const struct acpi_fadt *f = acpi_find_fadt();

	(void)si;
	CHECK(f, "no FADT");
	CHECK(f->flags & ACPI_FADT_RESET_REG_SUP, "FADT flags 0x%x lack RESET_REG_SUP", f->flags);
	CHECK(f->reset_reg.space_id == ACPI_GAS_IO && f->reset_reg.bit_width == 8,
	      "reset register space %u width %u", f->reset_reg.space_id, f->reset_reg.bit_width);
	printf("RESET via port 0x%x value 0x%x\n", (unsigned)f->reset_reg.address, f->reset_value);
	outb((uint16_t)f->reset_reg.address, f->reset_value);
	msleep(1000);
	fail("still running 1 s after the reset write");
}
