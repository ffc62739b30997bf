/* SPDX-License-Identifier: MIT */
/*
 * SMP bring-up: the BSP wakes every enabled local APIC the MADT lists with
 * INIT, SIPI, SIPI through its ICR.  The AP trampoline (start.S) is copied
 * to a free RAM page below 1 MiB, chosen from the PVH memory map; each AP
 * goes from real mode straight to long mode, does a locked increment of
 * ap_started, marks its APIC id in ap_mask and halts.  Prints
 * "SMP online=<n>" and passes if n equals the MADT's CPU count and every
 * listed APIC id checked in.
 */
#include "guest.h"

#define MAX_CPUS 256
#define AP_TIMEOUT_MS 2000

static bool ap_up(uint8_t id)
{
	return ap_mask[id / 64] >> (id % 64) & 1;
}

static bool page_used(const struct hvm_start_info *si, uint64_t page)
{
	uint64_t busy[] = { (uintptr_t)si, si->cmdline_paddr, si->modlist_paddr, si->rsdp_paddr,
			    si->version >= 1 ? si->memmap_paddr : 0 };

	for (unsigned int i = 0; i < ARRAY_SIZE(busy); i++)
		if (busy[i] && (busy[i] >> 12 == page >> 12 || (busy[i] + 4095) >> 12 == page >> 12))
			return true;
	return false;
}

/* A page in [0x8000, 0x9f000) inside a RAM entry of the memory map (any
 * such page without a map) that holds none of the start info's data. */
static uint32_t trampoline_page(const struct hvm_start_info *si)
{
	uint32_t n;
	const struct hvm_memmap_entry *e = memmap(&n);

	for (uint32_t pa = 0x8000; pa < 0x9f000; pa += 0x1000) {
		bool ram = !e;
		for (uint32_t i = 0; i < n; i++)
			if (e[i].type == HVM_MEMMAP_RAM && e[i].addr <= pa &&
			    pa + 0x1000 <= e[i].addr + e[i].size)
				ram = true;
		if (ram && !page_used(si, pa))
			return pa;
	}
	return 0;
}

void guest_main(const struct hvm_start_info *si)
{
	const struct acpi_madt *madt = acpi_find_madt();
	static uint8_t ids[MAX_CPUS];
	unsigned int ncpus = 0, bsp_listed = 0;
	uint8_t bsp = lapic_id();
	uint32_t page;

	CHECK(madt, "no MADT");
	for (const uint8_t *e = madt_next(madt, NULL); e; e = madt_next(madt, e)) {
		const struct madt_lapic *l = (const void *)e;
		if (e[0] == MADT_LAPIC && e[1] >= sizeof(*l) && (l->flags & 1) && ncpus < MAX_CPUS) {
			ids[ncpus++] = l->apic_id;
			bsp_listed += l->apic_id == bsp;
		}
		CHECK(e[0] != MADT_X2APIC || !(e[8] & 1), "x2APIC entries are not handled here");
	}
	printf("SMP madt cpus=%u bsp=%u\n", ncpus, bsp);
	CHECK(bsp_listed == 1, "the BSP's APIC id %u is listed %u times in the MADT", bsp,
	      bsp_listed);
	if (ncpus == 1) {
		printf("SMP online=1\n");
		pass();
	}

	page = trampoline_page(si);
	CHECK(page, "no free RAM page below 1 MiB for the AP trampoline");
	memcpy((void *)(uintptr_t)page, ap_trampoline_start,
	       ap_trampoline_end - ap_trampoline_start);

	/* The MP-spec dance, done for all APs at once so the delays are paid
	 * once: INIT, 10 ms, SIPI, 200 us, SIPI again to those not up yet. */
	lapic_enable();
	lapic_write(LAPIC_ESR, 0);
	for (unsigned int i = 0; i < ncpus; i++)
		if (ids[i] != bsp)
			lapic_send_ipi(ids[i], LAPIC_ICR_INIT | LAPIC_ICR_ASSERT);
	msleep(10);
	for (int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < ncpus; i++)
			if (ids[i] != bsp && !ap_up(ids[i]))
				lapic_send_ipi(ids[i], LAPIC_ICR_STARTUP | page >> 12);
		udelay(200);
	}
	wait_count(&ap_started, ncpus - 1, AP_TIMEOUT_MS);

	unsigned int online = 1 + ap_started;
	printf("SMP online=%u\n", online);
	for (unsigned int i = 0; i < ncpus; i++)
		CHECK(ids[i] == bsp || ap_up(ids[i]),
		      "AP with APIC id %u did not come up (%u of %u online)", ids[i], online, ncpus);
	CHECK(online == ncpus, "%u CPUs online, the MADT lists %u", online, ncpus);
	pass();
}
