/* SPDX-License-Identifier: MIT */
/*
 * CMOS RTC and NVRAM (index 0x70, data 0x71).
 *  - Reads the time, waiting out update-in-progress (status A bit 7) and
 *    re-reading until two reads agree, honouring status B (bit 2 binary,
 *    bit 1 24-hour) and the century byte 0x32.  Prints
 *    "CMOS epoch=<unix seconds>" (UTC) for the harness to compare.
 *  - NVRAM write/read round trip on 0x40, restored afterwards.
 *  - Prints the memory-size bytes ("CMOS mem_above_16m_64k=<n>" and friends)
 *    and checks them against the PVH memory map: the top of RAM (types RAM,
 *    ACPI, NVS, PMEM) below 4 GiB gives 0x30/0x31 (KiB above 1 MiB) and
 *    0x34/0x35 (64 KiB above 16 MiB), both capped at 0xffff; the top above
 *    4 GiB gives 0x5b-0x5d (64 KiB above 4 GiB).
 */
#include "guest.h"

#define RTC_SEC 0x00
#define RTC_MIN 0x02
#define RTC_HOUR 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define RTC_CENTURY 0x32
#define RTC_UIP 0x80
#define RTC_BINARY 0x04
#define RTC_24H 0x02
#define NVRAM_TEST 0x40

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

struct rtc {
	uint8_t sec, min, hour, day, month, year, century;
};

static void rtc_read(struct rtc *t)
{
	deadline_start(1500);
	while ((cmos_read(RTC_STATUS_A) & RTC_UIP) && !deadline_passed())
		pause();
	t->sec = cmos_read(RTC_SEC);
	t->min = cmos_read(RTC_MIN);
	t->hour = cmos_read(RTC_HOUR);
	t->day = cmos_read(RTC_DAY);
	t->month = cmos_read(RTC_MONTH);
	t->year = cmos_read(RTC_YEAR);
	t->century = cmos_read(RTC_CENTURY);
}

static unsigned int from_bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0x0f);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970). */
static uint64_t days_from_civil(unsigned int y, unsigned int m, unsigned int d)
{
	y -= m <= 2;
	unsigned int era = y / 400, yoe = y - era * 400;
	unsigned int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468;
}

static void check_memory(void)
{
	uint32_t n;
	const struct hvm_memmap_entry *e = memmap(&n);
	uint64_t top_low = 0, top_high = 0;
	unsigned int ext = cmos_read(0x30) | cmos_read(0x31) << 8;
	unsigned int m16 = cmos_read(0x34) | cmos_read(0x35) << 8;
	unsigned int m4g = cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16;

	printf("CMOS ext_mem_kb=%u\n", ext);
	printf("CMOS mem_above_16m_64k=%u\n", m16);
	printf("CMOS mem_above_4g_64k=%u\n", m4g);
	if (!e) {
		printf("CMOS no PVH memory map: sizes not cross-checked\n");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = e[i].addr + e[i].size;
		if (e[i].type != HVM_MEMMAP_RAM && e[i].type != HVM_MEMMAP_ACPI &&
		    e[i].type != HVM_MEMMAP_NVS && e[i].type != HVM_MEMMAP_PMEM)
			continue;
		if (end <= 0x100000000ull) {
			if (end > top_low)
				top_low = end;
		} else if (end > top_high) {
			top_high = end;
		}
	}
	uint64_t want_ext = top_low > 0x100000 ? (top_low - 0x100000) >> 10 : 0;
	uint64_t want_m16 = top_low > 0x1000000 ? (top_low - 0x1000000) >> 16 : 0;
	uint64_t want_m4g = top_high ? (top_high - 0x100000000ull) >> 16 : 0;
	if (want_ext > 0xffff)
		want_ext = 0xffff;
	if (want_m16 > 0xffff)
		want_m16 = 0xffff;
	printf("CMOS memmap top_below_4g=0x%lx top_above_4g=0x%lx\n", top_low, top_high);
	CHECK(ext == want_ext, "CMOS 0x30/0x31 = %u KiB, the memory map says %lu", ext, want_ext);
	CHECK(m16 == want_m16, "CMOS 0x34/0x35 = %u x 64 KiB, the memory map says %lu", m16,
	      want_m16);
	CHECK(m4g == want_m4g, "CMOS 0x5b-0x5d = %u x 64 KiB, the memory map says %lu", m4g,
	      want_m4g);
}

void guest_main(const struct hvm_start_info *si)
{
	struct rtc a, b;
	uint8_t status_b, orig, v;
	int tries = 0;

	(void)si;
	rtc_read(&a);
	do {
		b = a;
		rtc_read(&a);
	} while (memcmp(&a, &b, sizeof(a)) && ++tries < 5);
	CHECK(tries < 5, "the RTC never read the same twice");

	status_b = cmos_read(RTC_STATUS_B);
	bool bin = status_b & RTC_BINARY;
	unsigned int sec = from_bcd(a.sec, bin), min = from_bcd(a.min, bin);
	unsigned int hour = from_bcd(a.hour & 0x7f, bin), day = from_bcd(a.day, bin);
	unsigned int month = from_bcd(a.month, bin), year = from_bcd(a.year, bin);
	unsigned int century = from_bcd(a.century, bin);
	if (!(status_b & RTC_24H)) {
		hour %= 12;
		if (a.hour & 0x80)
			hour += 12;
	}
	if (century < 19 || century > 99)
		century = 20; /* no usable century byte */
	year += century * 100;
	printf("CMOS status_a=0x%x status_b=0x%x time=%u-%02u-%02u %02u:%02u:%02u\n",
	       cmos_read(RTC_STATUS_A), status_b, year, month, day, hour, min, sec);
	CHECK(sec < 60 && min < 60 && hour < 24 && day >= 1 && day <= 31 && month >= 1 &&
		      month <= 12 && year >= 1970,
	      "RTC date/time out of range (raw %x %x %x %x %x %x %x, status B 0x%x)", a.century,
	      a.year, a.month, a.day, a.hour, a.min, a.sec, status_b);
	uint64_t epoch = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
	printf("CMOS epoch=%lu\n", epoch);

	orig = cmos_read(NVRAM_TEST);
	cmos_write(NVRAM_TEST, 0x5a);
	v = cmos_read(NVRAM_TEST);
	CHECK(v == 0x5a, "NVRAM 0x%x wrote 0x5a read 0x%x", NVRAM_TEST, v);
	cmos_write(NVRAM_TEST, 0xa5);
	v = cmos_read(NVRAM_TEST);
	CHECK(v == 0xa5, "NVRAM 0x%x wrote 0xa5 read 0x%x", NVRAM_TEST, v);
	cmos_write(NVRAM_TEST, orig);

	check_memory();
	pass();
}
