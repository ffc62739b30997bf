// SPDX-License-Identifier: MIT
/* virtio-vsock the device: its option, queues, reset and creation. */
#include "virtio/vsock/vsock.h"
#include "core/json.h"

#include "core/kconfig.h"

static struct vsock vsock_state;

/* ----------------------------------------------------------- parsing */

/* Whether something is listening on the Unix socket at path. */
static int socket_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r == 0;
}

static int vsock_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vsock_config *c = config;
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	int got;

	got = kv_u64(args, "cid", 0, UINT32_MAX - 1, &c->cid, err);
	if (got < 0 || kv_str(args, "socket", &c->socket, err) < 0 ||
	    virtio_parse_iommu(args, &c->iommu, err) < 0 || kv_str(args, "id", &c->id, err) < 0 ||
	    kv_u64(args, "pci_segment", 0, 0, &c->pci_segment, err) < 0)
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
	if (strlen(c->socket) + PORT_SUFFIX >= sizeof(sa.sun_path)) {
		cli_errorf(err, "'socket=%s': too long for a Unix socket (at most %zu bytes)",
			   c->socket, sizeof(sa.sun_path) - PORT_SUFFIX - 1);
		return -1;
	}
	file_dir(c->socket, dir, sizeof(dir));
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		cli_errorf(err, "'socket=%s': directory '%s' does not exist", c->socket, dir);
		return -1;
	}
	if (lstat(c->socket, &st)) {
		if (errno == ENOENT)
			return 0;
		cli_errorf(err, "'socket=%s': %s", c->socket, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		cli_errorf(err, "'socket=%s': exists and is not a socket", c->socket);
		return -1;
	}
	if (socket_live(c->socket) == 1) {
		cli_errorf(err, "'socket=%s': in use by a listening process", c->socket);
		return -1;
	}
	return 0;	/* a stale socket file: replaced at create time */
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

/* The socket file is removed at exit by the main thread, under its
 * filter: unlinkat() in the directory held open here, the only one that
 * filter lets it unlink in (no unlink on any path). */
static int open_socket_dir(struct vsock *v, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(v->path)];

	/* "." for a bare name, "/" for a file in the root */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
		 slash ? path : ".");
	snprintf(v->name, sizeof(v->name), "%s", slash ? slash + 1 : path);
	v->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v->dirfd < 0) {
		wisp_err("--vsock: cannot open the directory of '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void remove_socket(struct vsock *v)
{
	if (v->bound)
		unlinkat(v->dirfd, v->name, 0);
	v->bound = false;
}

int vsock_open(struct vsock *v, uint64_t cid, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTENER_TAG };
	struct stat st;

	v->cid = cid;
	v->cfg_cid = cid;	/* little-endian hosts only */
	v->next_port = LOCAL_PORT_BASE;
	v->listen_fd = v->epfd = v->dirfd = -1;
	snprintf(v->path, sizeof(v->path), "%s", path);
	if (open_socket_dir(v, path))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);	/* stale: checked at parse time */
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (v->bound = true, listen(v->listen_fd, 128))) {
		wisp_err("--vsock: cannot listen on '%s': %s", path, strerror(errno));
		return -1;
	}
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
	remove_socket(v);
	if (v->dirfd >= 0)
		close(v->dirfd);
	if (v->epfd >= 0)
		close(v->epfd);
	v->listen_fd = v->epfd = v->dirfd = -1;
}

/* exit() runs on the main thread, under its filter */
static void vsock_atexit(void)
{
	remove_socket(&vsock_state);
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
	const struct seccomp_rule unlink_socket[] = {
		SC_ARG2(SYS_unlinkat, 0, SC_ALL, (uint32_t)v->dirfd, 2, SC_ALL, 0),
	};

	if (seccomp_allow(SECCOMP_MAIN, vsock_seccomp, SC_COUNT(vsock_seccomp)))
		return -1;
	return seccomp_allow(SECCOMP_MAIN, unlink_socket, SC_COUNT(unlink_socket));
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
	if (c->id)
		json_string(j, "id", c->id);
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
