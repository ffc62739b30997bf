// SPDX-License-Identifier: MIT
/*
 * ARM PrimeCell PL061 GPIO controller at 0x09030000, SPI 7, whose input
 * line 3 is the guest's power button: the device tree declares a
 * gpio-keys device with KEY_POWER on it.  wisp presses the button on
 * SIGTERM/SIGINT (vm->power_button) and releases it half a second later,
 * long enough for gpio-keys' debounce to see it held.
 *
 * Eight lines; the guest picks direction, edge/level sensitivity and
 * polarity per line, as on the chip.  Lines the guest drives as outputs
 * read back what it wrote; inputs read the button's state (0 for the
 * lines nothing is wired to).  The SPI is level-triggered and follows
 * RIS & IE.
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
#include "core/snapshot.h"
#include "core/event.h"
#include "core/vm.h"

#define GPIO_DATA	0x000	/* 0x000-0x3fc: address bits 9:2 mask the access */
#define GPIO_DIR	0x400
#define GPIO_IS		0x404	/* 1: level-sensitive */
#define GPIO_IBE	0x408	/* 1: both edges */
#define GPIO_IEV	0x40c	/* 1: rising edge / high level */
#define GPIO_IE		0x410
#define GPIO_RIS	0x414
#define GPIO_MIS	0x418
#define GPIO_IC		0x41c
#define GPIO_AFSEL	0x420
#define GPIO_ID		0xfe0

#define POWER_LINE	3
#define KEY_POWER	116	/* linux/input-event-codes.h */
#define PRESS_MS	500

static const uint8_t pl061_id[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct pl061 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t out, dir, is, ibe, iev, ie, ris, afsel;
	uint8_t in;		/* what drives the input lines */
	bool irq_level;
	int release_timer;
};

static struct pl061 gpio;

/* The level every line shows: outputs what the guest drives. */
static uint8_t lines(const struct pl061 *g)
{
	return (uint8_t)((g->out & g->dir) | (g->in & ~g->dir));
}

/* Lock held: level-sensitive lines follow their level in RIS. */
static void update_irq(struct pl061 *g)
{
	uint8_t now = lines(g);
	uint8_t active = (uint8_t)((now & g->iev) | (~now & ~g->iev));
	bool level;

	g->ris = (uint8_t)((g->ris & ~g->is) | (active & g->is));
	level = (g->ris & g->ie) != 0;
	if (level != g->irq_level) {
		g->irq_level = level;
		irq_line(g->vm, ARM_SPI_PL061, level);
	}
}

/* Lock held: edges between the old and new line levels latch in RIS. */
static void lines_changed(struct pl061 *g, uint8_t before)
{
	uint8_t after = lines(g);
	uint8_t changed = before ^ after;
	uint8_t rising = changed & after, falling = changed & before;
	uint8_t edge = (uint8_t)((changed & g->ibe) |
				 (rising & g->iev & ~g->ibe) |
				 (falling & ~g->iev & ~g->ibe));

	g->ris |= edge & ~g->is;
	update_irq(g);
}

static void set_input(struct pl061 *g, unsigned line, bool high)
{
	uint8_t before;

	pthread_mutex_lock(&g->lock);
	before = lines(g);
	if (high)
		g->in |= (uint8_t)(1u << line);
	else
		g->in &= (uint8_t)~(1u << line);
	lines_changed(g, before);
	pthread_mutex_unlock(&g->lock);
}

static void on_release(void *opaque, uint32_t events)
{
	struct pl061 *g = opaque;
	uint64_t n;

	(void)events;
	if (read(g->release_timer, &n, sizeof(n)) == sizeof(n))
		set_input(g, POWER_LINE, false);
}

/* vm->power_button: main thread, on SIGTERM/SIGINT. */
static void press_power_button(void *opaque)
{
	struct pl061 *g = opaque;
	struct itimerspec hold = { .it_value.tv_nsec = PRESS_MS * 1000000L };

	set_input(g, POWER_LINE, true);
	if (timerfd_settime(g->release_timer, 0, &hold, NULL))
		set_input(g, POWER_LINE, false);
}

static uint32_t reg_read(struct pl061 *g, uint64_t off)
{
	if (off <= 0x3fc)
		return lines(g) & (uint8_t)(off >> 2);
	switch (off) {
	case GPIO_DIR:
		return g->dir;
	case GPIO_IS:
		return g->is;
	case GPIO_IBE:
		return g->ibe;
	case GPIO_IEV:
		return g->iev;
	case GPIO_IE:
		return g->ie;
	case GPIO_RIS:
		return g->ris;
	case GPIO_MIS:
		return g->ris & g->ie;
	case GPIO_AFSEL:
		return g->afsel;
	default:
		if (off >= GPIO_ID && off < GPIO_ID + 0x20 && !(off & 3))
			return pl061_id[(off - GPIO_ID) / 4];
		return 0;
	}
}

static void reg_write(struct pl061 *g, uint64_t off, uint8_t v)
{
	uint8_t before = lines(g);

	if (off <= 0x3fc) {
		uint8_t mask = (uint8_t)(off >> 2);

		g->out = (uint8_t)((g->out & ~mask) | (v & mask));
		lines_changed(g, before);
		return;
	}
	switch (off) {
	case GPIO_DIR:
		g->dir = v;
		lines_changed(g, before);
		break;
	case GPIO_IS:
		g->is = v;
		break;
	case GPIO_IBE:
		g->ibe = v;
		break;
	case GPIO_IEV:
		g->iev = v;
		break;
	case GPIO_IE:
		g->ie = v;
		break;
	case GPIO_IC:
		g->ris &= (uint8_t)~v;
		break;
	case GPIO_AFSEL:
		g->afsel = v;
		break;
	default:	/* RIS, MIS and the ids are read-only */
		break;
	}
	update_irq(g);
}

static void pl061_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pl061 *g = opaque;
	uint32_t v;

	pthread_mutex_lock(&g->lock);
	v = reg_read(g, off);
	pthread_mutex_unlock(&g->lock);
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void pl061_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pl061 *g = opaque;

	(void)len;	/* the registers are 8 bits wide */
	pthread_mutex_lock(&g->lock);
	reg_write(g, off, *(const uint8_t *)data);
	pthread_mutex_unlock(&g->lock);
}

static const struct bus_ops pl061_ops = { .read = pl061_read, .write = pl061_write };

#ifdef CONFIG_FDT
static void pl061_describe(void *opaque, struct vm *vm, void *tables)
{
	struct fdt_tree *t = tables;
	int node = fdt_node(t, 0, "pl061", ARM_PL061);
	int keys, key;
	uint32_t phandle;

	(void)opaque;
	(void)vm;
	fdt_prop_primecell(t, node, "arm,pl061\0arm,primecell", sizeof("arm,pl061\0arm,primecell"));
	fdt_prop_reg(t, node, ARM_PL061, ARM_PRIMECELL_SIZE);
	fdt_prop_spi(t, node, ARM_SPI_PL061, FDT_IRQ_LEVEL_HIGH);
	fdt_prop_empty(t, node, "gpio-controller");
	fdt_prop_u32(t, node, "#gpio-cells", 2);
	phandle = fdt_new_phandle(t, node);

	keys = fdt_node(t, 0, "gpio-keys", ~0ULL);
	fdt_prop_str(t, keys, "compatible", "gpio-keys");
	key = fdt_node(t, keys, "poweroff", ~0ULL);
	{
		const uint32_t gpios[] = { phandle, POWER_LINE, 0 /* active high */ };

		fdt_prop_str(t, key, "label", "GPIO Key Poweroff");
		fdt_prop_u32(t, key, "linux,code", KEY_POWER);
		fdt_prop_cells(t, key, "gpios", gpios, 3);
	}
}
#endif

static int pl061_create(struct vm *vm, const void *config)
{
	struct pl061 *g = &gpio;

	(void)config;
	memset(g, 0, sizeof(*g));
	snapshot_instance(g);
	g->vm = vm;
	pthread_mutex_init(&g->lock, NULL);
	g->release_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (g->release_timer < 0 ||
	    event_add(vm->loop, g->release_timer, EPOLLIN, on_release, g)) {
		wisp_err("pl061: timerfd: %s", strerror(errno));
		return -1;
	}
#ifdef CONFIG_FDT
	if (vm_add_describer(vm, pl061_describe, g))
		return -1;
#endif
	vm->power_button = press_power_button;
	vm->power_button_opaque = g;
	return bus_register(&vm->mmio, ARM_PL061, ARM_PRIMECELL_SIZE, &pl061_ops, g, "pl061");
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the eight 8-bit registers and the input lines.  A power button
 * held at the snapshot is released half a second after the restore, as
 * it would have been.  The SPI's level follows from RIS & IE.
 */
static int pl061_save(void *instance, struct snap_writer *w)
{
	struct pl061 *g = instance;

	pthread_mutex_lock(&g->lock);
	const uint8_t regs[] = { g->out, g->dir, g->is, g->ibe, g->iev, g->ie, g->ris, g->afsel,
				 g->in };
	snap_put(w, regs, sizeof(regs));
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static int pl061_load(void *instance, struct snap_reader *r)
{
	struct pl061 *g = instance;
	uint8_t v[9];
	const char *bad = NULL;

	snap_get(r, v, sizeof(v));
	if (snap_done(r))
		bad = "its length";
	else if (v[8] & (uint8_t)~(1u << POWER_LINE))
		bad = "an input line nothing drives";
	if (bad) {
		wisp_err("pl061: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&g->lock);
	g->out = v[0], g->dir = v[1], g->is = v[2], g->ibe = v[3];
	g->iev = v[4], g->ie = v[5], g->ris = v[6], g->afsel = v[7], g->in = v[8];
	update_irq(g);
	pthread_mutex_unlock(&g->lock);
	if (g->in) {
		struct itimerspec hold = { .it_value.tv_nsec = PRESS_MS * 1000000L };

		if (timerfd_settime(g->release_timer, 0, &hold, NULL))
			set_input(g, POWER_LINE, false);
	}
	return 0;
}

static const struct snapshot_ops pl061_snapshot = {
	.save = pl061_save,
	.load = pl061_load,
};
#endif

DEVICE_REGISTER(pl061) = {
	.name = "pl061",
	.summary = "PL061 GPIO at 0x9030000 (SPI 7); line 3 is the power button",
	.order = ORDER_PLATFORM,
	.create = pl061_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &pl061_snapshot,
#endif
};
