// SPDX-License-Identifier: MIT
/*
 * ARM PrimeCell PL031 real-time clock at 0x09010000, SPI 2: a 32-bit
 * seconds counter that reads the host's time (CLOCK_REALTIME) plus
 * whatever offset the guest set by loading a value, and a match register
 * that raises the interrupt when the counter reaches it (a timerfd on the
 * event loop waits for that moment).  Linux reads it at boot for its
 * clock (rtc-pl031, hctosys) and can use the match as a wake alarm.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "arch_layout.h"
#ifdef CONFIG_FDT
#include "arch/aarch64/fdt.h"
#endif
#include "core/device.h"
#include "core/event.h"
#include "core/seccomp.h"
#include "core/snapshot.h"
#include "core/vm.h"

#define RTC_DR		0x00	/* data: the counter */
#define RTC_MR		0x04	/* match */
#define RTC_LR		0x08	/* load */
#define RTC_CR		0x0c	/* control: bit 0 starts the counter */
#define RTC_IMSC	0x10
#define RTC_RIS		0x14
#define RTC_MIS		0x18
#define RTC_ICR		0x1c
#define RTC_ID		0xfe0

#define RTC_INT		0x1

static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct pl031 {
	struct vm *vm;
	pthread_mutex_t lock;
	int64_t offset;		/* guest counter = host seconds + offset */
	uint32_t mr, lr, imsc, ris;
	bool irq_level;
	int timer;		/* fires when the counter reaches mr */
};

static struct pl031 rtc;

static uint32_t counter(const struct pl031 *r)
{
	return (uint32_t)((int64_t)time(NULL) + r->offset);
}

static void update_irq(struct pl031 *r)
{
	bool level = (r->ris & r->imsc) != 0;

	if (level != r->irq_level) {
		r->irq_level = level;
		irq_line(r->vm, ARM_SPI_PL031, level);
	}
}

/* Lock held: (re)arms the timer for the moment the counter equals mr.
 * The counter wraps at 2^32 s, so "when" is at most that far ahead. */
static void arm_match(struct pl031 *r)
{
	uint32_t ahead = r->mr - counter(r);
	struct itimerspec when = { 0 };

	if (r->timer < 0)
		return;
	when.it_value.tv_sec = time(NULL) + ahead;
	if (!ahead)
		r->ris |= RTC_INT;	/* already there */
	else
		timerfd_settime(r->timer, TFD_TIMER_ABSTIME, &when, NULL);
}

static void on_match(void *opaque, uint32_t events)
{
	struct pl031 *r = opaque;
	uint64_t n;

	(void)events;
	if (read(r->timer, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&r->lock);
	if (counter(r) == r->mr)
		r->ris |= RTC_INT;
	update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

static uint32_t reg_read(struct pl031 *r, uint64_t off)
{
	switch (off) {
	case RTC_DR:
		return counter(r);
	case RTC_MR:
		return r->mr;
	case RTC_LR:
		return r->lr;
	case RTC_CR:
		return 1;	/* always running */
	case RTC_IMSC:
		return r->imsc;
	case RTC_RIS:
		return r->ris;
	case RTC_MIS:
		return r->ris & r->imsc;
	default:
		if (off >= RTC_ID && off < RTC_ID + 0x20 && !(off & 3))
			return pl031_id[(off - RTC_ID) / 4];
		return 0;
	}
}

static void reg_write(struct pl031 *r, uint64_t off, uint32_t v)
{
	switch (off) {
	case RTC_MR:
		r->mr = v;
		arm_match(r);
		break;
	case RTC_LR:
		r->lr = v;
		r->offset = (int64_t)v - (int64_t)time(NULL);
		arm_match(r);
		break;
	case RTC_IMSC:
		r->imsc = v & RTC_INT;
		break;
	case RTC_ICR:
		r->ris &= ~(v & RTC_INT);
		break;
	default:	/* CR: the counter cannot be stopped; the rest read-only */
		break;
	}
}

static void pl031_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pl031 *r = opaque;
	uint32_t v;

	pthread_mutex_lock(&r->lock);
	v = reg_read(r, off);
	pthread_mutex_unlock(&r->lock);
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void pl031_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pl031 *r = opaque;
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	pthread_mutex_lock(&r->lock);
	reg_write(r, off, v);
	update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_ops pl031_ops = { .read = pl031_read, .write = pl031_write };

/* A guest's register write (on its vCPU thread) arms the timer */
static const struct seccomp_rule timer_seccomp[] = {
	SC_ALLOW(SYS_timerfd_settime),
};

#ifdef CONFIG_FDT
static void pl031_describe(void *opaque, struct vm *vm, void *tables)
{
	struct fdt_tree *t = tables;
	int node = fdt_node(t, 0, "pl031", ARM_PL031);

	(void)opaque;
	(void)vm;
	fdt_prop_primecell(t, node, "arm,pl031\0arm,primecell", sizeof("arm,pl031\0arm,primecell"));
	fdt_prop_reg(t, node, ARM_PL031, ARM_PRIMECELL_SIZE);
	fdt_prop_spi(t, node, ARM_SPI_PL031, FDT_IRQ_LEVEL_HIGH);
}
#endif

static int pl031_create(struct vm *vm, const void *config)
{
	struct pl031 *r = &rtc;

	(void)config;
	memset(r, 0, sizeof(*r));
	snapshot_instance(r);
	r->vm = vm;
	pthread_mutex_init(&r->lock, NULL);
	r->timer = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer < 0 || event_add(vm->loop, r->timer, EPOLLIN, on_match, r)) {
		wisp_err("pl031: timerfd: %s", strerror(errno));
		return -1;
	}
#ifdef CONFIG_FDT
	if (vm_add_describer(vm, pl031_describe, r))
		return -1;
#endif
	if (seccomp_allow(SECCOMP_VCPU, timer_seccomp, SC_COUNT(timer_seccomp)))
		return -1;
	return bus_register(&vm->mmio, ARM_PL031, ARM_PRIMECELL_SIZE, &pl031_ops, r, "pl031");
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the offset from the host's clock, match, load, mask and raw
 * status.  Like a battery-backed clock the counter went on while the VM
 * was saved: it keeps its offset from the host's UTC time, not its
 * value.  The match timer is re-armed from the restored registers.
 */
/* Further than a 32-bit load from any host time since 1970 reaches */
#define PL031_MAX_OFFSET ((int64_t)1 << 34)

static int pl031_save(void *instance, struct snap_writer *w)
{
	struct pl031 *r = instance;

	pthread_mutex_lock(&r->lock);
	snap_u64(w, (uint64_t)r->offset);
	snap_u32(w, r->mr);
	snap_u32(w, r->lr);
	snap_u32(w, r->imsc);
	snap_u32(w, r->ris);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int pl031_load(void *instance, struct snap_reader *rd)
{
	struct pl031 *r = instance;
	int64_t offset = (int64_t)snap_get_u64(rd);
	uint32_t mr = snap_get_u32(rd), lr = snap_get_u32(rd);
	uint32_t imsc = snap_get_u32(rd), ris = snap_get_u32(rd);
	const char *bad = NULL;

	if (offset > PL031_MAX_OFFSET || offset < -PL031_MAX_OFFSET)
		bad = "an offset no load makes";
	else if ((imsc | ris) & ~RTC_INT)
		bad = "interrupt bits the RTC does not have";
	else if (snap_done(rd))
		bad = "its length";
	if (bad) {
		wisp_err("pl031: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	r->offset = offset, r->mr = mr, r->lr = lr, r->imsc = imsc, r->ris = ris;
	arm_match(r);
	update_irq(r);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static const struct snapshot_ops pl031_snapshot = {
	.save = pl031_save,
	.load = pl031_load,
};
#endif

DEVICE_REGISTER(pl031) = {
	.name = "pl031",
	.summary = "PL031 real-time clock at 0x9010000 (SPI 2): the host's time",
	.order = ORDER_PLATFORM,
	.create = pl031_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &pl031_snapshot,
#endif
};
