// SPDX-License-Identifier: MIT
/*
 * ARM PrimeCell PL011 UART at 0x09000000, SPI 1: the guest's ttyAMA0.
 *
 * Transmission is instant, so the transmit FIFO always reads empty and
 * its interrupt (TXRIS) is asserted whenever the guest unmasks it; Linux
 * masks it again once it has nothing left to send.  Received bytes come
 * from standard input through the event loop into a 16-byte FIFO; while
 * it is full wisp stops reading stdin, so nothing typed is dropped.  The
 * receive interrupt follows the FIFO level against the trigger level the
 * guest chose, and the receive-timeout interrupt follows "not empty" (the
 * timeout counts as elapsed at once).  The SPI is level-triggered and
 * follows RIS & IMSC.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "arch_layout.h"
#ifdef CONFIG_FDT
#include "arch/aarch64/fdt.h"
#endif
#include "core/chardev.h"
#include "core/device.h"
#include "core/event.h"
#include "core/snapshot.h"
#include "core/timeline.h"
#include "core/vm.h"

#define UART_FIFO 16	/* the receive FIFO's depth, for uart_input.h */
#include "devices/uart_input.h"

#define UART_DR		0x000
#define UART_RSR	0x004	/* receive status / error clear */
#define UART_FR		0x018
#define UART_ILPR	0x020
#define UART_IBRD	0x024
#define UART_FBRD	0x028
#define UART_LCR_H	0x02c
#define UART_CR		0x030
#define UART_IFLS	0x034
#define UART_IMSC	0x038
#define UART_RIS	0x03c
#define UART_MIS	0x040
#define UART_ICR	0x044
#define UART_DMACR	0x048
#define UART_ID		0xfe0	/* 8 id registers up to 0xffc */

#define FR_RXFE		0x10
#define FR_TXFF		0x20
#define FR_RXFF		0x40
#define FR_TXFE		0x80

#define LCR_H_FEN	0x10

#define INT_RX		0x10
#define INT_TX		0x20
#define INT_RT		0x40
#define INT_ALL		0x7ff

/* PL011 r1p4 (Linux then assumes a 16-byte FIFO), PrimeCell ids */
static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct pl011 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
	bool irq_level;
	struct uart_input in;	/* stdin and the receive FIFO: last, being large */
};

static struct pl011 uart;

static int pl011_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	return chardev_parse(args, config, true, err);
}

/* The receive trigger level: IFLS bits 5:3 give 1/8 .. 7/8 of the FIFO. */
static unsigned rx_trigger(const struct pl011 *u)
{
	static const unsigned eighths[8] = { 1, 2, 4, 6, 7, 7, 7, 7 };

	if (!(u->lcr_h & LCR_H_FEN))
		return 1;	/* FIFO off: a one-character holding register */
	return eighths[(u->ifls >> 3) & 7] * UART_FIFO / 8;
}

static uint32_t raw_status(const struct pl011 *u)
{
	uint32_t ris = INT_TX;	/* the transmit FIFO is always empty */

	if (u->in.count >= rx_trigger(u))
		ris |= INT_RX;
	if (u->in.count)
		ris |= INT_RT;
	return ris;
}

/* Lock held, after any change. */
static void update_irq(struct pl011 *u)
{
	bool level = (raw_status(u) & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line(u->vm, ARM_SPI_PL011, level);
	}
}

static uint32_t reg_read(struct pl011 *u, uint64_t off)
{
	switch (off) {
	case UART_DR:
		return uart_fifo_pop(&u->in);
	case UART_RSR:
		return 0;	/* no framing, parity, break or overrun errors */
	case UART_FR:
		return FR_TXFE | (u->in.count ? 0 : FR_RXFE) |
		       (uart_fifo_full(&u->in) ? FR_RXFF : 0);
	case UART_ILPR:
		return u->ilpr;
	case UART_IBRD:
		return u->ibrd;
	case UART_FBRD:
		return u->fbrd;
	case UART_LCR_H:
		return u->lcr_h;
	case UART_CR:
		return u->cr;
	case UART_IFLS:
		return u->ifls;
	case UART_IMSC:
		return u->imsc;
	case UART_RIS:
		return raw_status(u);
	case UART_MIS:
		return raw_status(u) & u->imsc;
	case UART_DMACR:
		return u->dmacr;
	default:
		if (off >= UART_ID && off < UART_ID + 0x20 && !(off & 3))
			return pl011_id[(off - UART_ID) / 4];
		return 0;
	}
}

static void reg_write(struct pl011 *u, uint64_t off, uint32_t v)
{
	uint8_t c;

	switch (off) {
	case UART_DR:
		c = (uint8_t)v;
		timeline_mark(TL_FIRST_SERIAL_BYTE);
		chardev_write(&u->in.io, &c, 1);
		break;
	case UART_ILPR:
		u->ilpr = v & 0xff;
		break;
	case UART_IBRD:
		u->ibrd = v & 0xffff;
		break;
	case UART_FBRD:
		u->fbrd = v & 0x3f;
		break;
	case UART_LCR_H:
		/* turning the FIFO off flushes it, as on the chip */
		if ((u->lcr_h & LCR_H_FEN) && !(v & LCR_H_FEN))
			uart_fifo_clear(&u->in);
		u->lcr_h = v & 0xff;
		break;
	case UART_CR:
		u->cr = v & 0xffff;
		break;
	case UART_IFLS:
		u->ifls = v & 0x3f;
		break;
	case UART_IMSC:
		u->imsc = v & INT_ALL;
		break;
	case UART_DMACR:
		u->dmacr = v & 0x7;
		break;
	default:
		/* ICR: every cause here is a level, nothing to latch; RSR
		 * (error clear) has no errors to clear; the rest read-only */
		break;
	}
}

static void pl011_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pl011 *u = opaque;
	uint32_t v;

	pthread_mutex_lock(&u->lock);
	uart_input_refill(&u->in);
	v = reg_read(u, off);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void pl011_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pl011 *u = opaque;
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	pthread_mutex_lock(&u->lock);
	uart_input_refill(&u->in);
	reg_write(u, off, v);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void on_input(void *opaque, uint32_t events)
{
	struct pl011 *u = opaque;

	(void)events;
	pthread_mutex_lock(&u->lock);
	uart_input_ready(&u->in);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct bus_ops pl011_ops = { .read = pl011_read, .write = pl011_write };

#ifdef CONFIG_FDT
static void pl011_describe(void *opaque, struct vm *vm, void *tables)
{
	struct fdt_tree *t = tables;
	const uint32_t clocks[] = { t->clock_phandle, t->clock_phandle };
	int node = fdt_node(t, 0, "pl011", ARM_PL011);
	char path[32];

	(void)opaque;
	(void)vm;
	fdt_prop_primecell(t, node, "arm,pl011\0arm,primecell", sizeof("arm,pl011\0arm,primecell"));
	fdt_prop_reg(t, node, ARM_PL011, ARM_PRIMECELL_SIZE);
	fdt_prop_spi(t, node, ARM_SPI_PL011, FDT_IRQ_LEVEL_HIGH);
	fdt_prop_cells(t, node, "clocks", clocks, 2);
	fdt_prop_strs(t, node, "clock-names", "uartclk\0apb_pclk");
	/* the console, for earlycon and for a kernel without console= */
	snprintf(path, sizeof(path), "/pl011@%llx", (unsigned long long)ARM_PL011);
	fdt_prop_str(t, fdt_find(t, "/chosen"), "stdout-path", path);
}
#endif

static int pl011_create(struct vm *vm, const void *config)
{
	const struct chardev_config *c = config;
	struct pl011 *u = &uart;

	if (c->mode == CHARDEV_OFF) {
		snapshot_instance(NULL);	/* nothing to keep */
		return 0;
	}
	memset(u, 0, sizeof(*u));
	snapshot_instance(u);
	u->vm = vm;
	/* reset values: UART, TX and RX enabled; trigger levels at 1/2 */
	u->cr = 0x300;
	u->ifls = 0x12;
	pthread_mutex_init(&u->lock, NULL);
	if (uart_input_open(&u->in, vm, c, on_input, u))
		return -1;
#ifdef CONFIG_FDT
	if (vm_add_describer(vm, pl011_describe, u))
		return -1;
#endif
	return bus_register(&vm->mmio, ARM_PL011, ARM_PRIMECELL_SIZE, &pl011_ops, u, "pl011");
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the registers the guest wrote, and the receive FIFO's bytes
 * oldest first (a byte typed before the snapshot is read after the
 * restore).  RIS follows from the FIFO, and the SPI's level from RIS &
 * IMSC: both are recomputed, and the GIC keeps the line's own state.
 */
static int pl011_save(void *instance, struct snap_writer *w)
{
	struct pl011 *u = instance;

	pthread_mutex_lock(&u->lock);
	const uint32_t regs[] = { u->ilpr, u->ibrd, u->fbrd, u->lcr_h, u->cr, u->ifls, u->imsc,
				  u->dmacr };
	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		snap_u32(w, regs[i]);
	snap_u8(w, (uint8_t)u->in.count);
	for (unsigned i = 0; i < u->in.count; i++)
		snap_u8(w, u->in.fifo[(u->in.head + i) % UART_FIFO]);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* The bits reg_write() keeps of each register, in save order */
static const uint32_t pl011_masks[] = { 0xff, 0xffff, 0x3f, 0xff, 0xffff, 0x3f, INT_ALL, 0x7 };
#define PL011_REGS (sizeof(pl011_masks) / sizeof(pl011_masks[0]))

static int pl011_load(void *instance, struct snap_reader *r)
{
	struct pl011 *u = instance;
	uint32_t regs[PL011_REGS];
	uint8_t fifo[UART_FIFO], count;
	const char *bad = NULL;

	for (unsigned i = 0; i < PL011_REGS; i++) {
		regs[i] = snap_get_u32(r);
		if (regs[i] & ~pl011_masks[i])
			bad = "a register with bits no write sets";
	}
	count = snap_get_u8(r);
	if (count > UART_FIFO)
		bad = "more receive bytes than the FIFO holds";
	else
		snap_get(r, fifo, count);
	if (!bad && snap_done(r))
		bad = "its length";
	if (bad) {
		wisp_err("pl011: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&u->lock);
	u->ilpr = regs[0], u->ibrd = regs[1], u->fbrd = regs[2], u->lcr_h = regs[3];
	u->cr = regs[4], u->ifls = regs[5], u->imsc = regs[6], u->dmacr = regs[7];
	uart_fifo_clear(&u->in);
	for (unsigned i = 0; i < count; i++)
		uart_fifo_push(&u->in, fifo[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static const struct snapshot_ops pl011_snapshot = {
	.save = pl011_save,
	.load = pl011_load,
};
#endif

DEVICE_REGISTER(pl011) = {
	.name = "pl011",
	.summary = "PL011 UART at 0x9000000 (SPI 1): ttyAMA0",
	.option = "serial",
	.usage = "off|null|tty" CHARDEV_USAGE_PTY "|file=PATH" CHARDEV_USAGE_SOCKET,
	.default_args = CONFIG_SERIAL_DEFAULT,
	.order = ORDER_PLATFORM,
	.config_size = sizeof(struct chardev_config),
	.parse = pl011_parse,
	.create = pl011_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &pl011_snapshot,
#endif
	DEVICE_INFO("serial", false, chardev_info)
};
