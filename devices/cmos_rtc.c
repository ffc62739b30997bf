// SPDX-License-Identifier: MIT
/*
 * MC146818-style CMOS RTC and NVRAM at ports 0x70 (index) / 0x71 (data).
 * The clock registers show the host's current UTC time, read afresh on
 * every access (BCD or binary, 12- or 24-hour, as status register B
 * asks); writes to them are ignored, so the guest cannot move the host's
 * idea of time.  The memory-size bytes firmware reads are filled in.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "arch_layout.h"
#include "core/device.h"
#include "core/vm.h"

#define CMOS_SIZE 128

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define CMOS_EXT_MEM_LO 0x30	/* KiB above 1 MiB, capped */
#define CMOS_EXT_MEM_HI 0x31
#define RTC_CENTURY 0x32
#define CMOS_MEM_16M_LO 0x34	/* 64 KiB units above 16 MiB, capped */
#define CMOS_MEM_16M_HI 0x35
#define CMOS_MEM_4G_LO 0x5b	/* 64 KiB units above 4 GiB, 3 bytes */

#define REG_A_DIVIDER 0x26	/* 32.768 kHz time base, 1024 Hz rate */
#define REG_B_24H 0x02
#define REG_B_BINARY 0x04
#define REG_D_VRT 0x80		/* battery good */

struct cmos {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
};

static struct cmos cmos;

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t clock_value(const struct cmos *c, unsigned reg)
{
	bool binary = c->ram[RTC_REG_B] & REG_B_BINARY;
	time_t now = time(NULL);
	struct tm tm;
	unsigned v;

	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS: v = (unsigned)tm.tm_sec; break;
	case RTC_MINUTES: v = (unsigned)tm.tm_min; break;
	case RTC_HOURS:
		v = (unsigned)tm.tm_hour;
		if (!(c->ram[RTC_REG_B] & REG_B_24H)) {
			bool pm = v >= 12;

			v = v % 12 ? v % 12 : 12;
			return (uint8_t)((binary ? v : to_bcd(v)) | (pm ? 0x80 : 0));
		}
		break;
	case RTC_DAY_OF_WEEK: v = (unsigned)tm.tm_wday + 1; break;
	case RTC_DAY: v = (unsigned)tm.tm_mday; break;
	case RTC_MONTH: v = (unsigned)tm.tm_mon + 1; break;
	case RTC_YEAR: v = (unsigned)(tm.tm_year % 100); break;
	default: v = (unsigned)(tm.tm_year + 1900) / 100; break;	/* century */
	}
	return binary ? (uint8_t)v : to_bcd(v);
}

static bool is_clock(unsigned reg)
{
	switch (reg) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static void cmos_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct cmos *c = opaque;
	uint8_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&c->lock);
	if (off == 0) {
		v = c->index;
	} else if (is_clock(c->index)) {
		v = clock_value(c, c->index);
	} else if (c->index == RTC_REG_C) {
		v = c->ram[RTC_REG_C];
		c->ram[RTC_REG_C] = 0;	/* read to clear, no alarms raised */
	} else {
		v = c->ram[c->index];
	}
	pthread_mutex_unlock(&c->lock);
	*(uint8_t *)data = v;
}

static void cmos_write(void *opaque, uint64_t off, const void *data,
		       unsigned len)
{
	struct cmos *c = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	pthread_mutex_lock(&c->lock);
	if (off == 0) {
		c->index = v & 0x7f;	/* bit 7 is the NMI mask */
	} else if (c->index == RTC_REG_B) {
		c->ram[RTC_REG_B] = v & (REG_B_24H | REG_B_BINARY | 0x78);
	} else if (c->index == RTC_REG_A) {
		c->ram[RTC_REG_A] = v & 0x7f;	/* UIP is read-only */
	} else if (!is_clock(c->index) && c->index != RTC_REG_C &&
		   c->index != RTC_REG_D) {
		c->ram[c->index] = v;
	}
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_ops cmos_ops = {
	.read = cmos_read,
	.write = cmos_write,
};

static void set_memory_bytes(struct cmos *c, const struct guest_memory *mem)
{
	uint64_t low = mem->region[0].size;
	uint64_t high = mem->nram > 1 ? mem->region[1].size : 0;
	uint64_t ext_kib = low > (1 << 20) ? (low - (1 << 20)) >> 10 : 0;
	uint64_t above16 = low > (16 << 20) ? (low - (16 << 20)) >> 16 : 0;
	uint64_t above4g = high >> 16;

	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	if (above16 > 0xffff)
		above16 = 0xffff;
	c->ram[CMOS_EXT_MEM_LO] = (uint8_t)ext_kib;
	c->ram[CMOS_EXT_MEM_HI] = (uint8_t)(ext_kib >> 8);
	c->ram[CMOS_MEM_16M_LO] = (uint8_t)above16;
	c->ram[CMOS_MEM_16M_HI] = (uint8_t)(above16 >> 8);
	c->ram[CMOS_MEM_4G_LO] = (uint8_t)above4g;
	c->ram[CMOS_MEM_4G_LO + 1] = (uint8_t)(above4g >> 8);
	c->ram[CMOS_MEM_4G_LO + 2] = (uint8_t)(above4g >> 16);
}

static int cmos_create(struct vm *vm, const void *config)
{
	struct cmos *c = &cmos;

	(void)config;
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->ram[RTC_REG_A] = REG_A_DIVIDER;
	c->ram[RTC_REG_B] = REG_B_24H;
	c->ram[RTC_REG_D] = REG_D_VRT;
	set_memory_bytes(c, &vm->mem);
	return bus_register(&vm->pio, X86_PORT_CMOS, 2, &cmos_ops, c, "cmos-rtc");
}

DEVICE_REGISTER(cmos_rtc) = {
	.name = "cmos-rtc",
	.summary = "CMOS RTC and NVRAM at 0x70/0x71 (host time, UTC)",
	.order = ORDER_PLATFORM,
	.create = cmos_create,
};
