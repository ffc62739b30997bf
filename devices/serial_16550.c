// SPDX-License-Identifier: MIT
/*
 * 16550A UART on COM1 (0x3f8, IRQ 4): the guest's ttyS0.
 *
 * Transmission is instant (THR is always empty again when the guest
 * looks), so LSR always shows THRE|TEMT.  Receive bytes come from
 * standard input through the event loop into a FIFO; when the FIFO is
 * full wisp stops reading stdin until the guest drains it, so nothing
 * typed is dropped.  The IRQ line follows "an interrupt is pending":
 * the I/O APIC sees an edge whenever a new cause appears.
 */
#include <pthread.h>
#include <string.h>

#include "arch_layout.h"
#ifdef CONFIG_ACPI
#include "arch/x86_64/aml.h"
#endif
#include "core/seccomp.h"
#include "core/chardev.h"
#include "core/device.h"
#include "core/event.h"
#include "core/timeline.h"
#include "core/vm.h"

#define UART_FIFO 64	/* the receive FIFO's depth, for uart_input.h */
#include "devices/uart_input.h"

#define UART_RBR 0	/* read, DLAB 0 */
#define UART_THR 0	/* write, DLAB 0 */
#define UART_DLL 0	/* DLAB 1 */
#define UART_IER 1
#define UART_DLM 1	/* DLAB 1 */
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01	/* receive data available */
#define IER_THRI 0x02	/* transmitter holding register empty */
#define IER_RLSI 0x04
#define IER_MSI 0x08

#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;	/* THR-empty cause not yet acknowledged */
	bool irq_level;
	struct uart_input in;	/* stdin and the receive FIFO: last, being large */
};

static struct serial com1;

static int serial_parse(struct kv_list *args, void *config,
			struct cli_error *err)
{
	return chardev_parse(args, config, true, err);
}

/* IIR value for the highest-priority pending cause. */
static uint8_t pending_iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->in.count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	return IIR_NONE;
}

/* Called with the lock held after any state change. */
static void update_irq(struct serial *s)
{
	bool level = pending_iir(s) != IIR_NONE;

	/* OUT2 gates the interrupt on PC hardware, as Linux expects */
	if (!(s->mcr & MCR_OUT2) && !(s->mcr & MCR_LOOP))
		level = false;
	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line(s->vm, X86_IRQ_COM1, level);
	}
}

static void transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		uart_fifo_push(&s->in, c);
		return;
	}
	timeline_mark(TL_FIRST_SERIAL_BYTE);
	chardev_write(&s->in.io, &c, 1);
}

static uint8_t modem_status(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (uint8_t)(((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
			 ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
			 ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
			 ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
}

static uint8_t reg_read(struct serial *s, unsigned reg)
{
	uint8_t v = 0;

	switch (reg) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return uart_fifo_pop(&s->in);
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = pending_iir(s);
		/* reading IIR acknowledges a THR-empty cause */
		if (v == IIR_THRI)
			s->thri_pending = false;
		return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->in.count ? LSR_DR : 0);
	case UART_MSR:
		return modem_status(s);
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

static void reg_write(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		transmit(s, v);
		s->thri_pending = true;	/* sent at once: THR empty again */
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* enabling THRI with THR empty raises it, as on the chip */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v & FCR_ENABLE ? (v & 0xc1) : 0;
		if (v & FCR_CLEAR_RX)
			uart_fifo_clear(&s->in);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:	/* LSR and MSR are read-only */
		break;
	}
}

static void serial_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct serial *s = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	uart_input_refill(&s->in);
	*(uint8_t *)data = reg_read(s, (unsigned)off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t off, const void *data,
			 unsigned len)
{
	struct serial *s = opaque;

	(void)len;	/* a wider access writes its low byte, as on ISA */
	pthread_mutex_lock(&s->lock);
	uart_input_refill(&s->in);
	reg_write(s, (unsigned)off, *(const uint8_t *)data);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* Event loop: stdin has bytes (or hung up). */
static void on_input(void *opaque, uint32_t events)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	uart_input_ready(&s->in);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	(void)events;
}

static const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

#ifdef CONFIG_ACPI
/* COM1 in the DSDT, so the guest's ACPI knows the port and its IRQ. */
static void serial_describe(void *opaque, struct vm *vm, void *tables)
{
	struct aml *a = tables;

	(void)opaque;
	(void)vm;
	aml_device_begin(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	aml_res_io(a, X86_PORT_COM1, X86_PORT_COM1, 8, 8);
	aml_res_irq_noflags(a, X86_IRQ_COM1);
	aml_resources_end(a);
	aml_end(a);
}
#endif

/* stdin and the output (a terminal or a file): read from the event loop,
 * and on register reads (a vCPU thread) when stdin is a regular file;
 * written on vCPU threads.  Core's rules hold these already; listed so
 * that the port does not depend on it. */
static const struct seccomp_rule serial_vcpu_seccomp[] = {
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_write),
};

static const struct seccomp_rule serial_main_seccomp[] = {
	SC_ALLOW(SYS_read),
};

static int serial_create(struct vm *vm, const void *config)
{
	const struct chardev_config *c = config;
	struct serial *s = &com1;

	/* cleared first: an `off` port saves nothing, seen by its NULL vm */
	memset(s, 0, sizeof(*s));
	snapshot_instance(s);
	if (c->mode == CHARDEV_OFF)
		return 0;
	s->vm = vm;
	pthread_mutex_init(&s->lock, NULL);
	if (uart_input_open(&s->in, vm, c, on_input, s))
		return -1;
#ifdef CONFIG_ACPI
	if (vm_add_describer(vm, serial_describe, s))
		return -1;
#endif
	if (seccomp_allow(SECCOMP_VCPU, serial_vcpu_seccomp, SC_COUNT(serial_vcpu_seccomp)) ||
	    seccomp_allow(SECCOMP_MAIN, serial_main_seccomp, SC_COUNT(serial_main_seccomp)))
		return -1;
	return bus_register(&vm->pio, X86_PORT_COM1, 8, &serial_ops, s, "serial");
}

#ifdef CONFIG_SNAPSHOT
/*
 * State: the registers, the THR-empty cause not yet acknowledged, and
 * the receive FIFO's bytes oldest first (a byte typed before the
 * snapshot is read after the restore).  The IRQ line is not stored: it
 * follows from the rest, and the I/O APIC keeps its pin's state.  A
 * port that is `off` has no state at all.
 */
struct serial_saved {	/* bytes only: no padding, the same on every host */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, thri_pending, fifo_count;
};

static int serial_save(void *instance, struct snap_writer *w)
{
	struct serial *s = instance;
	struct serial_saved v;

	if (!s->vm)
		return 0;
	pthread_mutex_lock(&s->lock);
	v = (struct serial_saved){ s->ier, s->lcr, s->mcr, s->scr, s->fcr, s->dll, s->dlm,
				   s->thri_pending, (uint8_t)s->in.count };
	snap_put(w, &v, sizeof(v));
	for (unsigned i = 0; i < s->in.count; i++)
		snap_u8(w, s->in.fifo[(s->in.head + i) % UART_FIFO]);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* What is wrong in saved registers that no guest could have written, or NULL */
static const char *serial_saved_error(const struct serial_saved *v)
{
	if (v->ier & ~(IER_RDI | IER_THRI | IER_RLSI | IER_MSI))
		return "reserved IER bits";
	if (v->mcr & ~(MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2 | MCR_LOOP))
		return "reserved MCR bits";
	/* reg_write() keeps FCR at 0, or enabled with its trigger level */
	if (v->fcr && (!(v->fcr & FCR_ENABLE) || (v->fcr & ~(FCR_ENABLE | 0xc0))))
		return "an FCR value no write leaves";
	if (v->thri_pending > 1)
		return "a THR-empty flag neither 0 nor 1";
	if (v->fifo_count > UART_FIFO)
		return "more receive bytes than the FIFO holds";
	return NULL;
}

static int serial_load(void *instance, struct snap_reader *r)
{
	struct serial *s = instance;
	struct serial_saved v = { 0 };
	uint8_t fifo[UART_FIFO];
	const char *bad = NULL;

	if (s->vm) {
		snap_get(r, &v, sizeof(v));
		bad = serial_saved_error(&v);
		if (!bad)
			snap_get(r, fifo, v.fifo_count);
	}
	if (!bad && snap_done(r))
		bad = "its length";
	if (bad) {
		wisp_err("serial-16550: snapshot state refused: %s", bad);
		return -1;
	}
	if (!s->vm)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->ier = v.ier, s->lcr = v.lcr, s->mcr = v.mcr, s->scr = v.scr;
	s->fcr = v.fcr, s->dll = v.dll, s->dlm = v.dlm, s->thri_pending = v.thri_pending;
	uart_fifo_clear(&s->in);
	for (unsigned i = 0; i < v.fifo_count; i++)
		uart_fifo_push(&s->in, fifo[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct snapshot_ops serial_snapshot = {
	.save = serial_save,
	.load = serial_load,
};
#endif

DEVICE_REGISTER(serial_16550) = {
	.name = "serial-16550",
	.summary = "16550A UART on COM1 (0x3f8, IRQ 4): ttyS0",
	.option = "serial",
	.usage = "off|null|tty" CHARDEV_USAGE_PTY "|file=PATH" CHARDEV_USAGE_SOCKET,
	.default_args = CONFIG_SERIAL_DEFAULT,
	.order = ORDER_PLATFORM,
	.config_size = sizeof(struct chardev_config),
	.parse = serial_parse,
	.create = serial_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &serial_snapshot,
#endif
	DEVICE_INFO("serial", false, chardev_info)
};
