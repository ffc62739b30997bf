// SPDX-License-Identifier: MIT
/* vhost-user the virtio device: its status changes, the keys every
 * vhost-user device takes, and its creation. */
#include "vhost/vhost_user/vu.h"

/* vCPU thread, device lock held: the driver set DRIVER_OK. */
static void vu_activate(struct virtio_dev *d)
{
	struct vhost_user_dev *v = d->priv;
	char err[256];

	v->active = true;
	if (v->sock < 0)
		return;		/* the rings go over when the back-end is back */
	if (start_rings(v, err, sizeof(err)))
		rings_failed(v, err);
}

/* Device lock held: the driver reset the device (status 0). */
static void vu_reset(struct virtio_dev *d)
{
	struct vhost_user_dev *v = d->priv;
	char err[256];

	if (!v)
		return;		/* the reset inside virtio_pci_create */
	v->active = false;
	v->nenabled = v->initially_enabled;
	if (v->sock >= 0 && stop_rings(v, err, sizeof(err)))
		disconnect(v, err);
	drop_inflight(v);
}

/* Event loop, device lock held: a kick of one of wisp's own queues
 * (the back-end reads the kicks of the others). */
static void vu_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct vhost_user_dev *v = d->priv;

	if (q >= v->nqueues && v->local_notify)
		v->local_notify(v->opaque, d, q);
}

int vhost_user_enable_queues(struct virtio_dev *d, unsigned n)
{
	struct vhost_user_dev *v = d->priv;
	char err[256];

	if (!n || n > v->nqueues || !v->protocol)
		return -1;
	v->nenabled = n;
	if (v->sock < 0)
		return 0;	/* start_rings applies it when the back-end is back */
	for (unsigned q = 0; q < v->nqueues; q++) {
		struct vu_vring_state s = { .index = q, .num = q < n };

		if (!v->q[q].started || v->q[q].enabled == (q < n))
			continue;
		if (vu_set(v, VU_SET_VRING_ENABLE, &s, sizeof(s), NULL, 0, err, sizeof(err))) {
			bool refused = v->refused;

			rings_failed(v, err);
			return refused ? -1 : 0;
		}
		v->q[q].enabled = q < n;
	}
	return 0;
}

static const struct virtio_ops vu_ops = {
	.queue_notify = vu_queue_notify,
	.activate = vu_activate,
	.reset = vu_reset,
};

int vhost_user_parse_keys(struct kv_list *args, struct vhost_user_keys *k, uint64_t min_queues,
			  uint64_t max_queues, uint64_t max_queue_size, struct cli_error *err)
{
	if (kv_str(args, "socket", &k->socket, err) < 0 || kv_str(args, "id", &k->id, err) < 0 ||
	    kv_u64(args, "num_queues", min_queues, max_queues, &k->num_queues, err) < 0 ||
	    kv_u64(args, "queue_size", 2, max_queue_size, &k->queue_size, err) < 0 ||
	    virtio_parse_pci(args, &k->pci_segment, &k->pci_slot, err) < 0)
		return -1;
	if (k->queue_size & (k->queue_size - 1)) {
		cli_errorf(err, "'queue_size=%llu': must be a power of two",
			   (unsigned long long)k->queue_size);
		return -1;
	}
	args->needs.shared_memory = "vhost-user needs guest RAM the back-end can map";
	return 0;
}

/* The parameters' queue counts, their defaults filled in. */
void init_queue_counts(struct vhost_user_dev *v, const struct vhost_user_params *p)
{
	v->nqueues = p->nqueues;
	v->queues_without_mq = p->queues_without_mq ? p->queues_without_mq : 1;
	v->queue_num_unit = p->queue_num_unit ? p->queue_num_unit : 1;
	v->initially_enabled = p->initially_enabled ? p->initially_enabled : p->nqueues;
	v->nenabled = v->initially_enabled;
}

/* Whether path names something a back-end could listen on; the
 * message says what is wrong with it. */
static const char *socket_problem(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st)) {
		snprintf(buf, len, "%s", strerror(errno));
		return buf;
	}
	if (!S_ISSOCK(st.st_mode))
		return "not a Unix socket";
	return NULL;
}

/* What the front end does once the guest runs.  On a vCPU thread and on
 * the main thread: the guest's status writes start and stop the back-end
 * (requests and replies on the connected socket, each reply's deadline
 * as the socket's receive timeout, the inflight descriptor passed on), and a
 * back-end that fails there is dropped (its socket closed and unwatched,
 * the reconnect timer armed).  On the main thread only: reconnecting,
 * which makes a new socket (AF_UNIX), connects it and makes it blocking
 * again.  The eventfds and the timer are made at set-up. */
static const struct seccomp_rule vhost_user_seccomp[] = {
	SC_ALLOW(SYS_sendmsg),
	SC_ALLOW(SYS_recvmsg),
	SC_ARG2(SYS_setsockopt, 1, SC_ALL, SOL_SOCKET, 2, SC_ALL, SO_RCVTIMEO),
	SC_ARG2(SYS_getsockopt, 1, SC_ALL, SOL_SOCKET, 2, SC_ALL, SO_RCVTIMEO),
	SC_ALLOW(SYS_close),
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_timerfd_settime),
	SC_ALLOW(SYS_epoll_ctl),
};

static const struct seccomp_rule vhost_user_connect_seccomp[] = {
	SC_ARG(SYS_socket, 0, SC_ALL, AF_UNIX),
	SC_ALLOW(SYS_connect),
	SC_ALLOW(SYS_accept4),
	SC_ARG2(SYS_setsockopt, 1, SC_ALL, SOL_SOCKET, 2, SC_ALL, SO_SNDTIMEO),
	SC_ARG(SYS_fcntl, 1, SC_ALL, F_GETFL),
	SC_ARG(SYS_fcntl, 1, SC_ALL, F_SETFL),
};

#define VHOST_USER_MAX_SERVERS 64	/* the CLI's device instances (core/config.h) */

/* The listening sockets of server-mode devices, removed at exit (on
 * the main thread, under its filter: socket_file.h). */
static struct socket_file *listening[VHOST_USER_MAX_SERVERS];

static void remove_listening_sockets(void)
{
	for (unsigned i = 0; i < VHOST_USER_MAX_SERVERS && listening[i]; i++)
		socket_file_close(listening[i]);
}

/* Start-up in server mode: listen, then wait for the back-end to
 * connect, as cloud-hypervisor does (the guest cannot start its device
 * without it); a stop signal meanwhile ends the wait.  0, or an exit
 * status after the message. */
static int wait_for_backend(struct vhost_user_dev *v, const struct vhost_user_params *p)
{
	struct pollfd pfd[2] = { { .fd = -1, .events = POLLIN },
				 { .fd = v->vm->stop_eventfd, .events = POLLIN } };
	unsigned slot = 0;
	char err[256];

	while (slot < VHOST_USER_MAX_SERVERS && listening[slot])
		slot++;
	if (slot == VHOST_USER_MAX_SERVERS)
		return -1;	/* the CLI allows no more devices than this */
	v->listen_fd = socket_file_listen(&v->listening, p->option, p->socket, 1);
	if (v->listen_fd < 0)
		return EXIT_USAGE;
	if (!slot)
		atexit(remove_listening_sockets);
	listening[slot] = &v->listening;
	if (socket_file_allow_removal(&v->listening))
		return -1;
	wisp_log(LOG_INFO, "--%s: waiting for the back-end to connect to %s", p->option, p->socket);
	pfd[0].fd = v->listen_fd;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			wisp_err("--%s: socket=%s: poll: %s", p->option, p->socket, strerror(errno));
			return -1;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si = { .ssi_signo = SIGTERM };

			if (read(v->vm->stop_eventfd, &si, sizeof(si)) != sizeof(si))
				si.ssi_signo = SIGTERM;
			wisp_err("--%s: socket=%s: stopped by signal %u while waiting for the back-end",
				 p->option, p->socket, si.ssi_signo);
			return 128 + (int)si.ssi_signo;
		}
		if (!pfd[0].revents)
			continue;
		v->sock = accept_socket(v->listen_fd, err, sizeof(err));
		if (v->sock >= 0)
			return 0;
		if (errno != EAGAIN && errno != ECONNABORTED) {
			wisp_err("--%s: socket=%s: %s", p->option, p->socket, err);
			return -1;
		}
	}
}

int vhost_user_device_create(struct vm *vm, const struct vhost_user_params *p)
{
	struct vhost_user_dev *v;
	struct virtio_dev_info info = {
		.name = p->name,
		.device_id = p->device_id,
		.pci_class = p->pci_class,
		.nqueues = p->nqueues + p->local_queues,
		.queue_size = p->queue_size,
		.features = 0,
		.ops = &vu_ops,
		.pci_segment = p->pci_segment,
		.pci_slot = p->pci_slot,
		.external_queues = true,
		.local_queues = p->local_queues,
	};
	uint64_t offer, needed = p->required_features | (1ULL << VIRTIO_F_VERSION_1);
	char err[256], buf[128];
	const char *problem;

	if (p->config_len > VU_MAX_CONFIG || p->nqueues + p->local_queues > VIRTIO_MAX_QUEUES ||
	    p->initially_enabled > p->nqueues ||
	    seccomp_allow(SECCOMP_BOTH, vhost_user_seccomp, SC_COUNT(vhost_user_seccomp)) ||
	    seccomp_allow(SECCOMP_MAIN, vhost_user_connect_seccomp,
			  SC_COUNT(vhost_user_connect_seccomp)))
		return -1;
	problem = p->server ? NULL : socket_problem(p->socket, buf, sizeof(buf));
	if (problem) {
		wisp_err("--%s: socket=%s: %s", p->option, p->socket, problem);
		return EXIT_USAGE;
	}
	/* lives as long as the VM */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	v->vm = vm;
	v->option = strdup(p->option);
	v->name = strdup(p->name);
	v->socket = strdup(p->socket);
	init_queue_counts(v, p);
	v->local_notify = p->local_notify;
	v->want_inflight = p->inflight;
	v->inflight_fd = -1;
	v->max_queue_size = p->queue_size;
	v->config_from_backend = p->config_from_backend;
	v->check_config = p->check_config;
	v->opaque = p->opaque;
	v->listen_fd = -1;
	if (p->server) {
		int ret = wait_for_backend(v, p);

		if (ret)
			return ret;
	} else {
		v->sock = connect_socket(p->socket, err, sizeof(err));
		if (v->sock < 0) {
			wisp_err("--%s: socket=%s: %s", p->option, p->socket, err);
			return EXIT_USAGE;
		}
	}
	if (handshake(v, needed, err, sizeof(err)) ||
	    (p->config_from_backend && get_config(v, v->config, p->config_len, err, sizeof(err)))) {
		wisp_err("--%s: socket=%s: %s", p->option, p->socket, err);
		close(v->sock);
		return EXIT_USAGE;
	}
	if (!p->config_from_backend && p->config_len)
		memcpy(v->config, p->config, p->config_len);
	info.config = p->config_len ? v->config : NULL;
	info.config_len = p->config_len;
	info.priv = v;
	if (virtio_pci_create(vm, &v->vdev, &info))
		return -1;
	v->vdev.name = v->name;
	/* what both sides can do (the transport's own bits included) */
	offer = (p->features | needed | (1ULL << VIRTIO_F_EVENT_IDX) |
		 (1ULL << VIRTIO_F_INDIRECT_DESC)) & v->backend_features;
	if (p->fit_features)
		offer = p->fit_features(offer);
	v->local_features = p->local_features;
	v->vdev.features = offer | p->local_features;
	for (unsigned q = 0; q < p->nqueues; q++)
		if (queue_fds(v, q))
			return -1;
	v->reconnect_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->reconnect_timer < 0 ||
	    event_add(vm->loop, v->reconnect_timer, EPOLLIN, on_reconnect_timer, v) ||
	    watch_socket(v))
		return -1;
	return 0;
}

#ifdef CONFIG_SNAPSHOT
static const char *vhost_user_blocker(void *instance)
{
	(void)instance;
	return "a vhost-user back-end keeps the device's queue state, which wisp cannot save";
}

const struct snapshot_ops vhost_user_snapshot_ops = { .blocker = vhost_user_blocker };
#endif
