// SPDX-License-Identifier: MIT
/* virtio-vsock the device: its option, queues, reset and creation. */
#include "virtio/vsock/vsock.h"
#include "core/json.h"

#include "core/kconfig.h"

static struct vsock vsock_state;

/* ----------------------------------------------------------- parsing */

static int vsock_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vsock_config *c = config;
	int got;

	got = kv_u64(args, "cid", 0, UINT32_MAX - 1, &c->cid, err);
	if (got < 0 || kv_str(args, "socket", &c->socket, err) < 0 ||
	    virtio_parse_iommu(args, &c->iommu, err) < 0 || kv_str(args, "id", &c->id, err) < 0 ||
	    virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0)
		return -1;
	if (!got) {
		cli_errorf(err, "cid=N is required (3 or more)");
		return -1;
	}
	if (c->cid < 3) {
		cli_errorf(err, "'cid=%llu': CIDs 0-2 are reserved, use 3 or more",
			   (unsigned long long)c->cid);
		return -1;
	}
	if (!c->socket || !*c->socket) {
		cli_errorf(err, "socket=PATH is required");
		return -1;
	}
	/* a stale socket file is replaced at create time */
	return socket_file_check(c->socket, PORT_SUFFIX, err);
}

/* ------------------------------------------------------------ device */

static bool rx_ready(struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && d->queue[RX_QUEUE].enabled &&
	       !(d->status & VIRTIO_STATUS_NEEDS_RESET) && pci_bus_master(&d->pci);
}

/* Fills receive buffers with what is owed to the guest. */
static void rx_pump(struct vsock *v)
{
	struct virtio_dev *d = &v->vdev;
	struct virtq *q = &d->queue[RX_QUEUE].vq;
	struct next_pkt p;
	bool pushed = false;

	if (!rx_ready(d))
		return;
	while (rx_next(v, &p)) {
		struct virtq_chain ch;
		int got = virtq_pop(q, &ch);

		if (got < 0) {
			virtio_needs_reset(d, "malformed receive queue");
			break;
		}
		if (!got)
			break;	/* no buffers: the kick on the rx queue resumes */
		pushed = true;
		if (ch.in_len < sizeof(struct vsock_hdr)) {
			v->stats.bad_rx_buffers++;
			virtq_push(q, &ch, 0);
			continue;
		}
		virtq_push(q, &ch, rx_emit(v, &p, &ch));
	}
	if (pushed)
		virtio_queue_interrupt(d, RX_QUEUE);
}

static void on_events(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;

	(void)events;
	virtio_lock(&v->vdev);
	host_poll(v);
	rx_pump(v);
	virtio_unlock(&v->vdev);
}

#ifdef CONFIG_SNAPSHOT
#define VSOCK_EVENT_TRANSPORT_RESET 0

/* The event owed after a restore, once the driver has posted a buffer
 * for it (lock held). */
static void send_reset_event(struct vsock *v)
{
	struct virtq *q = &v->vdev.queue[EVENT_QUEUE].vq;
	uint32_t id = VSOCK_EVENT_TRANSPORT_RESET;	/* little-endian hosts only */
	struct virtq_chain ch;
	int got = virtq_pop(q, &ch);

	if (got < 0)
		virtio_needs_reset(&v->vdev, "malformed event queue");
	if (got <= 0)
		return;
	virtq_push(q, &ch, (uint32_t)virtq_chain_write(&ch, 0, &id, sizeof(id)));
	virtio_queue_interrupt(&v->vdev, EVENT_QUEUE);
	v->reset_event_owed = false;
}
#else
static void send_reset_event(struct vsock *v)
{
	(void)v;
}
#endif

static void vsock_notify(struct virtio_dev *d, unsigned qi)
{
	struct vsock *v = d->priv;

	if (IS_ENABLED(CONFIG_SNAPSHOT) && v->reset_event_owed)
		send_reset_event(v);

	if (qi == TX_QUEUE) {
		struct virtq *q = &d->queue[TX_QUEUE].vq;
		struct virtq_chain ch;
		int got;

		while ((got = virtq_pop(q, &ch)) > 0) {
			handle_tx(v, &ch);
			virtq_push(q, &ch, 0);
		}
		if (got < 0)
			virtio_needs_reset(d, "malformed transmit queue");
		virtio_queue_interrupt(d, TX_QUEUE);
	}
	/* rx buffers, or replies the tx packets asked for; the event
	 * queue's buffers are kept for later (no events are sent) */
	rx_pump(v);
}

/* vCPU thread (DRIVER_OK): what is owed to the guest already (host
 * connections made before the driver was ready) is sent by the event
 * loop, as after a kick of the receive queue, so that vCPU threads need
 * none of the socket calls. */
static void vsock_activate(struct virtio_dev *d)
{
	virtio_kick(d, RX_QUEUE);
}

static void drop_all(struct vsock *v)
{
	for (unsigned s = 0; s < MAX_CONNS; s++)
		if (v->slots[s])
			conn_free(v, v->slots[s]);
	v->rst_n = 0;
	v->rst_head = 0;
}

/* Device reset: every connection is gone; host programs see EOF. */
static void vsock_reset(struct virtio_dev *d)
{
	drop_all(d->priv);
}

static const struct virtio_ops vsock_ops = {
	.queue_notify = vsock_notify,
	.activate = vsock_activate,
	.reset = vsock_reset,
};

int vsock_open(struct vsock *v, uint64_t cid, const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTENER_TAG };

	v->cid = cid;
	v->cfg_cid = cid;	/* little-endian hosts only */
	v->next_port = LOCAL_PORT_BASE;
	v->epfd = -1;
	v->listen_fd = socket_file_listen(&v->file, "vsock", path, 128);
	if (v->listen_fd < 0)
		return -1;
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (v->epfd < 0 || epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &ev)) {
		wisp_err("--vsock: epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void vsock_close(struct vsock *v)
{
	drop_all(v);
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	socket_file_close(&v->file);
	if (v->epfd >= 0)
		close(v->epfd);
	v->listen_fd = v->epfd = -1;
}

/* exit() runs on the main thread, under its filter */
static void vsock_atexit(void)
{
	socket_file_close(&vsock_state.file);
}

/* The event loop: host connections come in on the listening socket;
 * guest connections go out to Unix sockets (AF_UNIX only); data moves
 * with send, sendmsg, recv and readv.  A reset (a vCPU thread) closes
 * every connection: epoll_ctl and close, core's vCPU rules.  The socket
 * file is removed at exit (unlinkat, allowed below for its directory). */
static const struct seccomp_rule vsock_seccomp[] = {
	SC_ALLOW(SYS_accept4),
	SC_ARG(SYS_socket, 0, 0xffffffffu, AF_UNIX),
	SC_ALLOW(SYS_connect),
	SC_ALLOW(SYS_sendto),
	SC_ALLOW(SYS_sendmsg),
	SC_ALLOW(SYS_recvfrom),
	SC_ALLOW(SYS_readv),
	SC_ALLOW(SYS_shutdown),
	SC_ALLOW(SYS_close),
	SC_IOCTL(FIONREAD),
	SC_ALLOW(SYS_epoll_ctl),
	SC_ALLOW(SYS_epoll_pwait),
#ifdef SYS_epoll_wait
	SC_ALLOW(SYS_epoll_wait),
#endif
};

static int vsock_allow(const struct vsock *v)
{
	if (seccomp_allow(SECCOMP_MAIN, vsock_seccomp, SC_COUNT(vsock_seccomp)))
		return -1;
	return socket_file_allow_removal(&v->file);
}

#ifdef CONFIG_SNAPSHOT
/* No connection outlives a snapshot (host programs reconnect, as under
 * Firecracker): the transport is restored and the guest told, through
 * the event queue, that its connections are gone.  The guest's CID is
 * this command line's (it may differ from the snapshot's), which the
 * driver reads again after the event. */
static int vsock_load(void *instance, struct snap_reader *r)
{
	struct virtio_dev *d = instance;
	struct vsock *v = d->priv;

	if (virtio_snapshot_load(d, r))
		return -1;
	virtio_lock(d);
	v->cfg_cid = v->cid;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		v->reset_event_owed = true;
		virtio_kick(d, EVENT_QUEUE);
	}
	virtio_unlock(d);
	return 0;
}

static const struct snapshot_ops vsock_snapshot_ops = {
	.save = virtio_snapshot_save,
	.load = vsock_load,
};
#endif

static int vsock_create(struct vm *vm, const void *config)
{
	const struct vsock_config *c = config;
	struct vsock *v = &vsock_state;
	struct virtio_dev_info info = {
		.name = "virtio-vsock",
		.device_id = VIRTIO_ID_VSOCK,
		.pci_class = PCI_CLASS_COMMUNICATION_OTHER,
		.nqueues = 3,
		.queue_size = QUEUE_SIZE,
		.features = 1ULL << VSOCK_F_STREAM,
		.config = &v->cfg_cid,
		.config_len = sizeof(v->cfg_cid),
		.ops = &vsock_ops,
		.priv = v,
		.id = c->id,
	};

	memset(v, 0, sizeof(*v));
	if (vsock_open(v, c->cid, c->socket)) {
		vsock_close(v);
		return -1;
	}
	if (vsock_allow(v))
		return -1;
	atexit(vsock_atexit);
	if (event_add(vm->loop, v->epfd, EPOLLIN, on_events, v)) {
		wisp_err("--vsock: event loop: %s", strerror(errno));
		return -1;
	}
	/* every chain is popped, used and pushed within one event-loop
	 * callback, so DMA behind the IOMMU needs no hold (virtqueue.h) */
	info.iommu = c->iommu;
	virtio_pci_place(&info, c->pci_segment, c->pci_slot);
	snapshot_instance(&v->vdev);
	return virtio_pci_create(vm, &v->vdev, &info);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: cloud-hypervisor's "vsock" */
static void vsock_info(const void *config, struct json *j)
{
	const struct vsock_config *c = config;

	json_u64(j, "cid", c->cid);
	json_string(j, "socket", c->socket);
	json_bool(j, "iommu", c->iommu);
	json_u64(j, "pci_segment", c->pci_segment);
}
#endif

DEVICE_REGISTER(virtio_vsock) = {
	.name = "virtio-vsock",
	.summary = "virtio socket device relayed to host Unix sockets",
	.option = "vsock",
	.usage = "cid=N,socket=PATH[,iommu=on][,id=NAME]",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vsock_config),
	.parse = vsock_parse,
	.create = vsock_create,
	.snapshot = SNAPSHOT_OPS(&vsock_snapshot_ops),
	DEVICE_INFO("vsock", false, vsock_info)
};
