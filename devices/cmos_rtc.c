// SPDX-License-Identifier: MIT
/*
 * MC146818-style CMOS RTC and NVRAM at ports 0x70 (index) / 0x71 (data),
 * IRQ 8.  The clock is the host's UTC time plus an offset of whole
 * seconds that the guest changes by setting its clock: the guest moves
 * its own idea of time, never the host's.  The SET bit of register B
 * freezes the clock while the guest writes a new time, which takes
 * effect when SET is cleared, as on the chip.  The alarm (AIE) and the
 * update-ended interrupt (UIE) are served by a timerfd that ticks on
 * each second boundary while either is enabled; the periodic interrupt
 * (PIE) is not emulated (Linux's RTC core makes its periodic events
 * with its own timers).  Described in the DSDT as PNP0B00, so Linux's
 * rtc_cmos driver finds it; the memory-size bytes firmware reads are
 * filled in.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "arch_layout.h"
#ifdef CONFIG_ACPI
#include "arch/x86_64/aml.h"
#endif
#include "core/coalesced_io.h"
#include "core/device.h"
#include "core/event.h"
#include "core/seccomp.h"
#include "core/irq.h"
#include "core/vm.h"

#define CMOS_SIZE 128

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
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
#define RTC_CENTURY X86_CMOS_CENTURY	/* named in the FADT */
#define CMOS_MEM_16M_LO 0x34	/* 64 KiB units above 16 MiB, capped */
#define CMOS_MEM_16M_HI 0x35
#define CMOS_MEM_4G_LO 0x5b	/* 64 KiB units above 4 GiB, 3 bytes */

#define REG_A_DIVIDER 0x26	/* 32.768 kHz time base, 1024 Hz rate */
#define REG_B_SET 0x80		/* clock frozen while the guest sets it */
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_SQWE 0x08
#define REG_B_BINARY 0x04
#define REG_B_24H 0x02
#define REG_C_IRQF 0x80		/* an enabled flag below is set */
#define REG_C_AF 0x20		/* alarm */
#define REG_C_UF 0x10		/* update ended (one per second) */
#define REG_D_VRT 0x80		/* battery good */
#define ALARM_DONT_CARE 0xc0	/* alarm byte 0xc0-0xff: any value matches */

struct cmos {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
	int64_t offset;		/* guest clock = host UTC seconds + offset */
	struct tm staged;	/* the time being written while SET is on */
	int timer;		/* ticks each second while AIE or UIE is on */
};

static struct cmos cmos;

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* A byte the guest wrote, in its current mode; -1 for a BCD byte with a
 * digit above 9 */
static int from_guest(const struct cmos *c, uint8_t v)
{
	if (c->ram[RTC_REG_B] & REG_B_BINARY)
		return v;
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t to_guest(const struct cmos *c, unsigned v)
{
	return c->ram[RTC_REG_B] & REG_B_BINARY ? (uint8_t)v : to_bcd(v);
}

/* The guest's clock now, broken down; the staged time while SET is on */
static struct tm guest_time(const struct cmos *c)
{
	time_t now = time(NULL) + c->offset;
	struct tm tm;

	if (c->ram[RTC_REG_B] & REG_B_SET)
		return c->staged;
	gmtime_r(&now, &tm);
	return tm;
}

static uint8_t hours_to_guest(const struct cmos *c, unsigned h)
{
	bool pm = h >= 12;

	if (c->ram[RTC_REG_B] & REG_B_24H)
		return to_guest(c, h);
	h = h % 12 ? h % 12 : 12;
	return (uint8_t)(to_guest(c, h) | (pm ? 0x80 : 0));
}

/* -1 when the byte is no hour of the current mode */
static int hours_from_guest(const struct cmos *c, uint8_t v)
{
	bool pm = v & 0x80;
	int h;

	if (c->ram[RTC_REG_B] & REG_B_24H)
		return from_guest(c, v);
	h = from_guest(c, v & 0x7f);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + (pm ? 12 : 0);
}

static uint8_t clock_value(const struct cmos *c, unsigned reg)
{
	struct tm tm = guest_time(c);
	int year = tm.tm_year + 1900;

	switch (reg) {
	case RTC_SECONDS: return to_guest(c, (unsigned)tm.tm_sec);
	case RTC_MINUTES: return to_guest(c, (unsigned)tm.tm_min);
	case RTC_HOURS: return hours_to_guest(c, (unsigned)tm.tm_hour);
	case RTC_DAY_OF_WEEK: return to_guest(c, (unsigned)tm.tm_wday + 1);
	case RTC_DAY: return to_guest(c, (unsigned)tm.tm_mday);
	case RTC_MONTH: return to_guest(c, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR: return to_guest(c, (unsigned)(year % 100));
	default: return to_guest(c, (unsigned)(year / 100));	/* century */
	}
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

/* One clock field of tm set from a guest byte; false when the byte is
 * out of range (the write is then ignored: the guest's clock stays
 * meaningful, and timegm() never sees a wild year) */
static bool set_field(const struct cmos *c, struct tm *tm, unsigned reg, uint8_t v)
{
	int n = reg == RTC_HOURS ? hours_from_guest(c, v) : from_guest(c, v);
	int year = tm->tm_year + 1900;

	switch (reg) {
	case RTC_SECONDS: if (n < 0 || n > 59) return false; tm->tm_sec = n; break;
	case RTC_MINUTES: if (n < 0 || n > 59) return false; tm->tm_min = n; break;
	case RTC_HOURS: if (n < 0 || n > 23) return false; tm->tm_hour = n; break;
	case RTC_DAY_OF_WEEK: break;	/* follows from the date */
	case RTC_DAY: if (n < 1 || n > 31) return false; tm->tm_mday = n; break;
	case RTC_MONTH: if (n < 1 || n > 12) return false; tm->tm_mon = n - 1; break;
	case RTC_YEAR:
		if (n < 0 || n > 99) return false;
		tm->tm_year = year / 100 * 100 + n - 1900;
		break;
	default:	/* century */
		if (n < 19 || n > 99) return false;
		tm->tm_year = n * 100 + year % 100 - 1900;
		break;
	}
	return true;
}

/* Lock held: the guest's clock becomes tm from now on */
static void set_clock(struct cmos *c, struct tm *tm)
{
	c->offset = (int64_t)timegm(tm) - (int64_t)time(NULL);
}

/* Lock held: the second-boundary tick runs exactly while an interrupt
 * that needs it is enabled and the clock runs */
static void arm_tick(struct cmos *c)
{
	struct itimerspec when = { 0 };
	uint8_t b = c->ram[RTC_REG_B];

	if (c->timer < 0)
		return;
	if ((b & (REG_B_AIE | REG_B_UIE)) && !(b & REG_B_SET)) {
		when.it_value.tv_sec = time(NULL) + 1;
		when.it_interval.tv_sec = 1;
	}
	timerfd_settime(c->timer, TFD_TIMER_ABSTIME, &when, NULL);
}

static bool alarm_matches(const struct cmos *c, const struct tm *tm)
{
	static const struct { uint8_t reg; bool hours; } alarm[] = {
		{ RTC_SECONDS_ALARM, false }, { RTC_MINUTES_ALARM, false },
		{ RTC_HOURS_ALARM, true },
	};
	const int now[] = { tm->tm_sec, tm->tm_min, tm->tm_hour };

	for (unsigned i = 0; i < 3; i++) {
		uint8_t v = c->ram[alarm[i].reg];

		if ((v & ALARM_DONT_CARE) == ALARM_DONT_CARE)
			continue;
		if ((alarm[i].hours ? hours_from_guest(c, v) : from_guest(c, v)) != now[i])
			return false;
	}
	return true;
}

/* Lock held: raise flags in register C, and IRQ 8 when one of them is
 * enabled and none was pending (the line is an edge: one per event) */
static void raise_flags(struct cmos *c, uint8_t flags)
{
	uint8_t enabled = c->ram[RTC_REG_B] & (REG_B_AIE | REG_B_UIE | REG_B_PIE);
	bool was_pending = c->ram[RTC_REG_C] & REG_C_IRQF;

	c->ram[RTC_REG_C] |= flags;
	if (c->ram[RTC_REG_C] & enabled) {
		c->ram[RTC_REG_C] |= REG_C_IRQF;
		if (!was_pending)
			irq_pulse(c->vm, X86_IRQ_CMOS_RTC);
	}
}

static void on_tick(void *opaque, uint32_t events)
{
	struct cmos *c = opaque;
	uint64_t ticks;
	struct tm tm;
	uint8_t flags = REG_C_UF;

	(void)events;
	if (read(c->timer, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	pthread_mutex_lock(&c->lock);
	if (!(c->ram[RTC_REG_B] & REG_B_SET)) {
		tm = guest_time(c);
		if (alarm_matches(c, &tm))
			flags |= REG_C_AF;
		raise_flags(c, flags);
	}
	pthread_mutex_unlock(&c->lock);
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
		c->ram[RTC_REG_C] = 0;	/* read to clear */
	} else {
		v = c->ram[c->index];
	}
	pthread_mutex_unlock(&c->lock);
	*(uint8_t *)data = v;
}

/* Lock held: register B; SET on freezes the clock, SET off starts it
 * at the time written meanwhile */
static void write_reg_b(struct cmos *c, uint8_t v)
{
	uint8_t old = c->ram[RTC_REG_B];

	if ((v & REG_B_SET) && !(old & REG_B_SET))
		c->staged = guest_time(c);
	c->ram[RTC_REG_B] = v & (REG_B_SET | REG_B_PIE | REG_B_AIE | REG_B_UIE |
				 REG_B_SQWE | REG_B_BINARY | REG_B_24H);
	if (!(v & REG_B_SET) && (old & REG_B_SET))
		set_clock(c, &c->staged);
	arm_tick(c);
	/* enabling an interrupt whose flag is already up raises it */
	raise_flags(c, 0);
}

static void write_clock(struct cmos *c, unsigned reg, uint8_t v)
{
	struct tm tm;

	if (c->ram[RTC_REG_B] & REG_B_SET) {
		set_field(c, &c->staged, reg, v);
		return;
	}
	tm = guest_time(c);
	if (set_field(c, &tm, reg, v))
		set_clock(c, &tm);
}

static void cmos_write(void *opaque, uint64_t off, const void *data,
		       unsigned len)
{
	struct cmos *c = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	pthread_mutex_lock(&c->lock);
	if (off == 0)
		c->index = v & 0x7f;	/* bit 7 is the NMI mask */
	else if (c->index == RTC_REG_B)
		write_reg_b(c, v);
	else if (c->index == RTC_REG_A)
		c->ram[RTC_REG_A] = v & 0x7f;	/* UIP is read-only */
	else if (is_clock(c->index))
		write_clock(c, c->index, v);
	else if (c->index != RTC_REG_C && c->index != RTC_REG_D)
		c->ram[c->index] = v;
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_ops cmos_ops = {
	.read = cmos_read,
	.write = cmos_write,
};

/* A guest's register write (on its vCPU thread) arms the timer */
static const struct seccomp_rule timer_seccomp[] = {
	SC_ALLOW(SYS_timerfd_settime),
};

#ifdef CONFIG_ACPI
/* PNP0B00 in the DSDT: with a hardware-reduced FADT Linux probes no
 * legacy port on its own, and its rtc_cmos driver binds to this. */
static void cmos_describe(void *opaque, struct vm *vm, void *tables)
{
	struct aml *a = tables;

	(void)opaque;
	(void)vm;
	aml_device_begin(a, "RTC");
	aml_name_eisaid(a, "_HID", "PNP0B00");
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_io(a, X86_PORT_CMOS, X86_PORT_CMOS, 1, 2);
	aml_res_irq_noflags(a, X86_IRQ_CMOS_RTC);
	aml_resources_end(a);
	aml_end(a);
}
#endif

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
	snapshot_instance(c);
	pthread_mutex_init(&c->lock, NULL);
	c->vm = vm;
	c->ram[RTC_REG_A] = REG_A_DIVIDER;
	c->ram[RTC_REG_B] = REG_B_24H;
	c->ram[RTC_REG_D] = REG_D_VRT;
	set_memory_bytes(c, &vm->mem);
	c->timer = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->timer < 0 || event_add(vm->loop, c->timer, EPOLLIN, on_tick, c)) {
		wisp_err("cmos-rtc: timerfd: %s", strerror(errno));
		return -1;
	}
#ifdef CONFIG_ACPI
	if (vm_add_describer(vm, cmos_describe, c))
		return -1;
#endif
	if (seccomp_allow(SECCOMP_VCPU, timer_seccomp, SC_COUNT(timer_seccomp)))
		return -1;
	if (bus_register(&vm->pio, X86_PORT_CMOS, 2, &cmos_ops, c, "cmos-rtc"))
		return -1;
	/* the index port only selects what port 0x71 reads or writes next
	 * (its bit 7, the NMI mask, is kept by nothing here) */
	coalesced_io_add(vm, true, X86_PORT_CMOS, 1);
	return 0;
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the index, all 128 bytes (NVRAM, alarms, registers A-D; the
 * clock's own bytes are unused, its time is the offset), the offset,
 * and the time being set while SET is on.  The guest's clock keeps its
 * offset from the host's UTC clock: like a battery-backed RTC it went
 * on while the VM was saved.  The tick is re-armed for AIE and UIE.
 */
/* Further than any time set_field() can reach (the years 1900-9999),
 * and well inside what time_t and gmtime_r() handle */
#define CMOS_MAX_OFFSET ((int64_t)10000 * 366 * 86400)

static void save_tm(struct snap_writer *w, const struct tm *tm)
{
	const int f[] = { tm->tm_sec, tm->tm_min, tm->tm_hour, tm->tm_mday, tm->tm_mon,
			  tm->tm_year, tm->tm_wday };

	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		snap_u32(w, (uint32_t)f[i]);
}

/* Reads a staged time; false when set_field() could not have left it */
static bool load_tm(struct snap_reader *r, struct tm *tm)
{
	/* second, minute, hour, day of the month, month, year, weekday */
	static const int min[] = { 0, 0, 0, 1, 0, 0, 0 };
	static const int max[] = { 59, 59, 23, 31, 11, 9999 - 1900, 6 };
	bool ok = true;
	int f[7];

	for (unsigned i = 0; i < 7; i++) {
		f[i] = (int)snap_get_u32(r);
		ok = ok && f[i] >= min[i] && f[i] <= max[i];
	}
	if (!ok)
		return false;
	*tm = (struct tm){ .tm_sec = f[0], .tm_min = f[1], .tm_hour = f[2], .tm_mday = f[3],
			   .tm_mon = f[4], .tm_year = f[5], .tm_wday = f[6] };
	return true;
}

static int cmos_save(void *instance, struct snap_writer *w)
{
	struct cmos *c = instance;

	pthread_mutex_lock(&c->lock);
	snap_u8(w, c->index);
	snap_put(w, c->ram, CMOS_SIZE);
	snap_u64(w, (uint64_t)c->offset);
	save_tm(w, &c->staged);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* What in the registers no guest write could have left, or NULL */
static const char *cmos_regs_error(uint8_t index, const uint8_t *ram, int64_t offset)
{
	if (index >= CMOS_SIZE)
		return "an index above 127";
	if (ram[RTC_REG_A] & 0x80)
		return "register A with UIP";
	if (ram[RTC_REG_B] & 0x01)
		return "register B with DSE";
	if (ram[RTC_REG_C] & ~(REG_C_IRQF | REG_C_AF | REG_C_UF))
		return "a flag in register C wisp never raises";
	if (ram[RTC_REG_D] != REG_D_VRT)
		return "register D";
	if (offset > CMOS_MAX_OFFSET || offset < -CMOS_MAX_OFFSET)
		return "a clock offset beyond the year 9999";
	return NULL;
}

static int cmos_load(void *instance, struct snap_reader *r)
{
	struct cmos *c = instance;
	uint8_t index = snap_get_u8(r), ram[CMOS_SIZE];
	int64_t offset;
	struct tm staged;
	bool staged_ok;
	const char *bad;

	snap_get(r, ram, CMOS_SIZE);
	offset = (int64_t)snap_get_u64(r);
	staged_ok = load_tm(r, &staged);
	bad = snap_done(r) ? "its length" : cmos_regs_error(index, ram, offset);
	/* the staged time matters (and is set) only while SET is on */
	if (!bad && (ram[RTC_REG_B] & REG_B_SET) && !staged_ok)
		bad = "a staged time out of range";
	if (bad) {
		wisp_err("cmos-rtc: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	c->index = index;
	memcpy(c->ram, ram, CMOS_SIZE);
	c->offset = offset;
	c->staged = staged_ok ? staged : (struct tm){ 0 };
	arm_tick(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static const struct snapshot_ops cmos_snapshot = {
	.save = cmos_save,
	.load = cmos_load,
};
#endif

DEVICE_REGISTER(cmos_rtc) = {
	.name = "cmos-rtc",
	.summary = "CMOS RTC and NVRAM at 0x70/0x71 (IRQ 8): host UTC, guest-settable offset",
	.order = ORDER_PLATFORM,
	.create = cmos_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &cmos_snapshot,
#endif
};
