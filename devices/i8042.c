// SPDX-License-Identifier: MIT
/*
 * Just enough of the i8042 keyboard controller (ports 0x60/0x64) for a
 * guest to probe it and to reset the machine: command 0xfe, or a write
 * of the output port with the reset bit low, asks wisp for a reboot.
 * No keyboard or mouse is attached.
 */
#include <pthread.h>
#include <string.h>

#include "arch_layout.h"
#include "core/device.h"
#include "core/vm.h"

#define STATUS_OBF 0x01		/* output buffer full */
#define STATUS_SYS 0x04		/* system flag: self-test passed */
#define STATUS_CMD 0x08		/* last write was a command */

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_RESET 0xfe

#define OUTPORT_RESET_HIGH 0x01	/* bit 0 low pulses CPU reset */

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t status;
	uint8_t ctr;		/* controller command byte */
	uint8_t outport;
	uint8_t out;		/* output buffer */
	uint8_t pending;	/* command waiting for its data byte */
};

static struct i8042 kbc;

static void put_output(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->status |= STATUS_OBF;
}

static void command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		put_output(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
		k->pending = cmd;
		break;
	case CMD_SELF_TEST:
		put_output(k, 0x55);
		break;
	case CMD_KBD_TEST:
		put_output(k, 0x00);
		break;
	case CMD_READ_OUTPORT:
		put_output(k, k->outport);
		break;
	case CMD_RESET:
		vm_stop(k->vm, VM_STOP_REBOOT);
		break;
	default:	/* enable/disable ports and the like: accepted */
		break;
	}
}

static void data(struct i8042 *k, uint8_t v)
{
	switch (k->pending) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTPORT:
		k->outport = v;
		if (!(v & OUTPORT_RESET_HIGH))
			vm_stop(k->vm, VM_STOP_REBOOT);
		break;
	default:	/* a byte for the (absent) keyboard */
		break;
	}
	k->pending = 0;
}

/* Ports 0x60 and 0x64 are registered apart (0x61 is not ours), so each
 * has its own handlers; both land here with is_cmd telling which. */
static uint8_t port_read(struct i8042 *k, bool is_cmd)
{
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	if (is_cmd) {
		v = k->status;
	} else {
		v = k->out;
		k->status &= (uint8_t)~STATUS_OBF;
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void port_write(struct i8042 *k, bool is_cmd, uint8_t v)
{
	pthread_mutex_lock(&k->lock);
	if (is_cmd) {
		k->status |= STATUS_CMD;
		command(k, v);
	} else {
		k->status &= (uint8_t)~STATUS_CMD;
		data(k, v);
	}
	pthread_mutex_unlock(&k->lock);
}

static void data_read(void *opaque, uint64_t off, void *buf, unsigned len)
{
	memset(buf, 0, len);
	*(uint8_t *)buf = port_read(opaque, false);
}

static void data_write(void *opaque, uint64_t off, const void *buf, unsigned len)
{
	port_write(opaque, false, *(const uint8_t *)buf);
}

static void cmd_read(void *opaque, uint64_t off, void *buf, unsigned len)
{
	memset(buf, 0, len);
	*(uint8_t *)buf = port_read(opaque, true);
}

static void cmd_write(void *opaque, uint64_t off, const void *buf, unsigned len)
{
	port_write(opaque, true, *(const uint8_t *)buf);
}

static const struct bus_ops data_ops = { .read = data_read, .write = data_write };
static const struct bus_ops cmd_ops = { .read = cmd_read, .write = cmd_write };

static int i8042_create(struct vm *vm, const void *config)
{
	struct i8042 *k = &kbc;

	(void)config;
	memset(k, 0, sizeof(*k));
	snapshot_instance(k);
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	k->status = STATUS_SYS;
	k->outport = OUTPORT_RESET_HIGH;
	if (bus_register(&vm->pio, X86_PORT_I8042_DATA, 1, &data_ops, k, "i8042"))
		return -1;
	return bus_register(&vm->pio, X86_PORT_I8042_CMD, 1, &cmd_ops, k, "i8042");
}

#ifdef CONFIG_SNAPSHOT
/* State: the registers as they are, a byte still in the output buffer
 * and a command still waiting for its data byte included. */
struct i8042_saved {	/* bytes only: no padding, the same on every host */
	uint8_t status, ctr, outport, out, pending;
};

static int i8042_save(void *instance, struct snap_writer *w)
{
	struct i8042 *k = instance;
	struct i8042_saved v;

	pthread_mutex_lock(&k->lock);
	v = (struct i8042_saved){ k->status, k->ctr, k->outport, k->out, k->pending };
	pthread_mutex_unlock(&k->lock);
	snap_put(w, &v, sizeof(v));
	return 0;
}

static int i8042_load(void *instance, struct snap_reader *r)
{
	struct i8042 *k = instance;
	struct i8042_saved v;
	const char *bad = NULL;

	snap_get(r, &v, sizeof(v));
	if (snap_done(r))
		bad = "its length";
	else if (v.status & ~(STATUS_OBF | STATUS_SYS | STATUS_CMD))
		bad = "a status bit wisp never sets";
	else if (v.pending && v.pending != CMD_WRITE_CTR && v.pending != CMD_WRITE_OUTPORT)
		bad = "a command that takes no data byte";
	if (bad) {
		wisp_err("i8042: snapshot state refused: %s", bad);
		return -1;
	}
	pthread_mutex_lock(&k->lock);
	k->status = v.status, k->ctr = v.ctr, k->outport = v.outport;
	k->out = v.out, k->pending = v.pending;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static const struct snapshot_ops i8042_snapshot = {
	.save = i8042_save,
	.load = i8042_load,
};
#endif

DEVICE_REGISTER(i8042) = {
	.name = "i8042",
	.summary = "i8042 controller at 0x60/0x64: reset line (no keyboard)",
	.order = ORDER_PLATFORM,
	.create = i8042_create,
#ifdef CONFIG_SNAPSHOT
	.snapshot = &i8042_snapshot,
#endif
};
