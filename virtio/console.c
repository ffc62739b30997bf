// SPDX-License-Identifier: MIT
/*
 * virtio-console (virtio spec 5.3), one port: the guest's hvc0.  Output
 * goes where --console says (tty, file=PATH, null); with tty, standard
 * input feeds the receive queue.  When the guest has no receive buffers
 * wisp stops reading its input until the guest adds some, so typed
 * bytes wait instead of being dropped.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/chardev.h"
#include "core/device.h"
#include "core/event.h"
#include "core/json.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define RX_QUEUE 0
#define TX_QUEUE 1
#define QUEUE_SIZE 256
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

struct console_cfg_space {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

struct console {
	struct virtio_dev vdev;
	struct console_cfg_space cfg;
	struct chardev io;
	bool in_watched;	/* stdin in the event loop (not a regular file) */
	bool in_paused;
};

static struct console console_state;

/* --console: where hvc0 goes, and the PCI function's keys that
 * cloud-hypervisor's console takes */
struct console_config {
	struct chardev_config io;	/* first: chardev_info() reads it */
	bool iommu;
	const char *id;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
};

static int console_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct console_config *c = config;

	if (virtio_parse_iommu(args, &c->iommu, err) < 0 || kv_str(args, "id", &c->id, err) < 0 ||
	    virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0)
		return -1;
	return chardev_parse(args, &c->io, false, err);
}

/* Moves pending input into the guest's receive buffers.  Device lock
 * held. */
static void pump_input(struct console *c)
{
	struct virtio_dev *d = &c->vdev;
	struct virtio_queue *rxq = &d->queue[RX_QUEUE];
	bool delivered = false;
	int got = 0;

	if (c->io.in_fd < 0 || !rxq->enabled || !(d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	for (;;) {
		struct virtq_chain ch;
		ssize_t n;

		got = virtq_pop(&rxq->vq, &ch);
		if (got <= 0)
			break;
		n = ch.nin ? readv(c->io.in_fd, ch.in, (int)ch.nin) : 0;
		if (n <= 0) {
			/* nothing to read after all: give the buffer back
			 * unused (the guest reposts it) and wait */
			virtq_push(&rxq->vq, &ch, 0);
			delivered = true;
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (c->in_watched)
					event_del(d->vm->loop, c->io.in_fd);
				c->io.in_fd = -1;	/* end of input */
			}
			break;
		}
		virtq_push(&rxq->vq, &ch, (uint32_t)n);
		delivered = true;
		if (c->in_watched)
			break;	/* one read per wake-up; epoll says if more */
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed receive queue");
	if (delivered)
		virtio_queue_interrupt(d, RX_QUEUE);
	/* no buffers: stop watching input until the guest posts some */
	if (got == 0 && !delivered && c->in_watched && !c->in_paused && c->io.in_fd >= 0) {
		c->in_paused = true;
		event_mod(d->vm->loop, c->io.in_fd, 0);
	}
}

static void on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;

	(void)events;
	virtio_lock(&c->vdev);
	pump_input(c);
	virtio_unlock(&c->vdev);
}

static void transmit(struct console *c)
{
	struct virtio_dev *d = &c->vdev;
	struct virtio_queue *txq = &d->queue[TX_QUEUE];
	struct virtq_chain ch;
	int got;

	while ((got = virtq_pop(&txq->vq, &ch)) > 0) {
		for (unsigned i = 0; i < ch.nout; i++)
			chardev_write(&c->io, ch.out[i].iov_base, ch.out[i].iov_len);
		virtq_push(&txq->vq, &ch, 0);
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed transmit queue");
	virtio_queue_interrupt(d, TX_QUEUE);
}

static void console_notify(struct virtio_dev *d, unsigned q)
{
	struct console *c = d->priv;

	if (q == TX_QUEUE) {
		transmit(c);
		return;
	}
	/* new receive buffers: take input again */
	if (c->in_paused && c->io.in_fd >= 0) {
		c->in_paused = false;
		event_mod(d->vm->loop, c->io.in_fd, EPOLLIN);
	}
	if (!c->in_watched)
		pump_input(c);
}

/* Input from a file is read at once; watched input (a tty, a pipe)
 * arrives through the event loop, so a vCPU never waits for it. */
/* vCPU thread (DRIVER_OK): input from a file is read by the event loop,
 * as after any kick of the receive queue, so that vCPU threads need not
 * read it. */
static void console_activate(struct virtio_dev *d)
{
	struct console *c = d->priv;

	if (!c->in_watched)
		virtio_kick(d, RX_QUEUE);
}

static const struct virtio_ops console_ops = {
	.queue_notify = console_notify,
	.activate = console_activate,
};

/* The event loop: input into the guest's buffers; output to the
 * terminal or a file is a write (every thread's rules). */
static const struct seccomp_rule console_seccomp[] = {
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_readv),
};

static int console_create(struct vm *vm, const void *config)
{
	const struct console_config *cc = config;
	const struct chardev_config *conf = &cc->io;
	struct console *c = &console_state;
	struct virtio_dev_info info = {
		.name = "virtio-console",
		.device_id = VIRTIO_ID_CONSOLE,
		.pci_class = PCI_CLASS_COMMUNICATION_OTHER,
		.nqueues = 2,
		.queue_size = QUEUE_SIZE,
		.config = &c->cfg,
		.config_len = sizeof(c->cfg),
		.ops = &console_ops,
		.priv = c,
		.iommu = cc->iommu,
		.id = cc->id,
	};

	if (conf->mode == CHARDEV_OFF) {
		snapshot_instance(NULL);	/* no device, no state */
		return 0;
	}
	virtio_pci_place(&info, cc->pci_segment, cc->pci_slot);
	memset(c, 0, sizeof(*c));
	c->cfg.max_nr_ports = 1;
	if (chardev_open(conf, "console", vm->loop, &c->io))
		return -1;
	if (c->io.in_fd >= 0) {
		/* regular files (and /dev/null) cannot be watched: they are
		 * read whenever the guest has buffers */
		c->in_watched = !event_add(vm->loop, c->io.in_fd, EPOLLIN, on_input, c);
		if (!c->in_watched && errno != EPERM)
			c->io.in_fd = -1;
	}
	if (seccomp_allow(SECCOMP_MAIN, console_seccomp, SC_COUNT(console_seccomp)))
		return -1;
	snapshot_instance(&c->vdev);
	return virtio_pci_create(vm, &c->vdev, &info);
}

#if IS_ENABLED(CONFIG_API)
static void console_info(const void *config, struct json *j)
{
	const struct console_config *c = config;

	chardev_info_iommu(&c->io, c->iommu, j);
	json_u64(j, "pci_segment", c->pci_segment);
}
#endif

DEVICE_REGISTER(virtio_console) = {
	.name = "virtio-console",
	.summary = "virtio console: hvc0",
	.option = "console",
	.usage = "off|null|tty" CHARDEV_USAGE_PTY "|file=PATH[,iommu=on][,id=NAME]",
	.default_args = "tty",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct console_config),
	.parse = console_parse,
	.create = console_create,
	.snapshot = SNAPSHOT_OPS(&virtio_snapshot_ops),
	DEVICE_INFO("console", false, console_info)
};
