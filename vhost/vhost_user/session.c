// SPDX-License-Identifier: MIT
/* vhost-user's conversation with a back-end: the handshake, config,
 * memory table, inflight memory, and starting and stopping the rings. */
#include "vhost/vhost_user/vu.h"

void report(struct vhost_user_dev *v, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	if (v->reports >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wisp_err("%s: %s%s", v->name, msg,
		 ++v->reports == MAX_REPORTS ? " (further ones not reported)" : "");
}

static bool reply_ack(const struct vhost_user_dev *v)
{
	return v->protocol_features & (1ULL << VU_PROTOCOL_F_REPLY_ACK);
}

/* A request without a reply of its own; with REPLY_ACK the back-end
 * confirms it, and a non-zero answer is a refusal. */
int vu_set(struct vhost_user_dev *v, uint32_t request, const void *payload,
	   uint32_t size, const int *fds, unsigned nfds, char *err, size_t errlen)
{
	uint64_t ack;

	if (vu_send(v->sock, request, reply_ack(v) ? VU_FLAG_NEED_REPLY : 0, payload, size,
		    fds, nfds, err, errlen))
		return -1;
	if (!reply_ack(v))
		return 0;
	if (vu_recv_reply(v->sock, request, &ack, sizeof(ack), err, errlen))
		return -1;
	if (ack) {
		set_err(err, errlen, "the back-end refused request %u", request);
		v->refused = true;
		return -1;
	}
	return 0;
}

static int vu_set_u64(struct vhost_user_dev *v, uint32_t request, uint64_t value,
		      char *err, size_t errlen)
{
	return vu_set(v, request, &value, sizeof(value), NULL, 0, err, errlen);
}

static int vu_get_u64(struct vhost_user_dev *v, uint32_t request, uint64_t *out,
		      char *err, size_t errlen)
{
	if (vu_send(v->sock, request, 0, NULL, 0, NULL, 0, err, errlen))
		return -1;
	return vu_recv_reply(v->sock, request, out, sizeof(*out), err, errlen);
}

static void set_reply_timeout(int sock, long seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* A connected socket made blocking, with the reply deadline as its
 * timeouts: fd, or -1 (closed) with err set. */
static int blocking_with_timeouts(int fd, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		set_err(err, errlen, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		set_err(err, errlen, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Connects to the socket: -1 with err set, errno kept. */
int connect_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		set_err(err, errlen, "socket path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	/* non-blocking for the connect only: a listener that does not
	 * accept (its backlog full) must not block the event loop */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		set_err(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		saved = errno;
		set_err(err, errlen, "cannot connect: %s%s", strerror(saved),
			saved == ECONNREFUSED ? " (nothing is listening there)" :
			saved == EAGAIN ? " (the back-end accepts no connection)" : "");
		close(fd);
		errno = saved;
		return -1;
	}
	return blocking_with_timeouts(fd, err, errlen);
}

/* vhost_mode=server: the back-end's connection, if one is waiting on
 * the (non-blocking) listening socket: -1 with err set and errno kept
 * (EAGAIN: none yet). */
int accept_socket(int listen_fd, char *err, size_t errlen)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		set_err(err, errlen, "accept: %s", strerror(errno));
		return -1;
	}
	return blocking_with_timeouts(fd, err, errlen);
}

static const char *feature_name(unsigned bit)
{
	switch (bit) {
	case VIRTIO_F_VERSION_1: return "VIRTIO_F_VERSION_1";
	case VIRTIO_F_EVENT_IDX: return "VIRTIO_F_EVENT_IDX";
	case VIRTIO_F_INDIRECT_DESC: return "VIRTIO_F_INDIRECT_DESC";
	default: return NULL;
	}
}

/* Names the lowest bit of `missing`. */
static void describe_missing(uint64_t missing, char *buf, size_t len)
{
	unsigned bit = (unsigned)__builtin_ctzll(missing);
	const char *name = feature_name(bit);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "feature bit %u", bit);
}

/* The messages of a fresh connection: what the back-end can do, and
 * that it is ours.  `needed` are the virtio features it must offer. */
int handshake(struct vhost_user_dev *v, uint64_t needed, char *err, size_t errlen)
{
	const uint64_t wanted_protocol = (1ULL << VU_PROTOCOL_F_MQ) |
					 (1ULL << VU_PROTOCOL_F_REPLY_ACK) |
					 (1ULL << VU_PROTOCOL_F_CONFIG) |
					 (v->want_inflight ? 1ULL << VU_PROTOCOL_F_INFLIGHT_SHMFD : 0);
	uint64_t features, protocol = 0;
	char what[48];

	v->protocol_features = 0;
	v->lacking = false;
	if (vu_get_u64(v, VU_GET_FEATURES, &features, err, errlen))
		return -1;
	if (needed & ~features) {
		v->lacking = true;
		describe_missing(needed & ~features, what, sizeof(what));
		set_err(err, errlen, "the back-end lacks %s, which the device needs", what);
		return -1;
	}
	v->backend_features = features;
	v->protocol = features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
	if (v->protocol) {
		if (vu_get_u64(v, VU_GET_PROTOCOL_FEATURES, &protocol, err, errlen))
			return -1;
		protocol &= wanted_protocol;
		if (vu_send(v->sock, VU_SET_PROTOCOL_FEATURES, 0, &protocol, sizeof(protocol),
			    NULL, 0, err, errlen))
			return -1;
		v->protocol_features = protocol;
	}
	if (v->nqueues > v->queues_without_mq) {
		const char *unit = v->queue_num_unit == 2 ? "queue pairs" : "queues";
		unsigned wanted = v->nqueues / v->queue_num_unit;
		uint64_t n;

		if (!(protocol & (1ULL << VU_PROTOCOL_F_MQ))) {
			set_err(err, errlen, "%u %s but the back-end offers no multiqueue (protocol feature MQ)",
				wanted, unit);
			return -1;
		}
		if (vu_get_u64(v, VU_GET_QUEUE_NUM, &n, err, errlen))
			return -1;
		if (n < wanted) {
			set_err(err, errlen, "%u %s but the back-end serves %llu", wanted, unit,
				(unsigned long long)n);
			return -1;
		}
	}
	if (vu_set(v, VU_SET_OWNER, NULL, 0, NULL, 0, err, errlen))
		return -1;
	return 0;
}

/* GET_CONFIG of the device's whole config space into buf. */
int get_config(struct vhost_user_dev *v, void *buf, unsigned len, char *err,
	       size_t errlen)
{
	struct vu_config c = { .offset = 0, .size = len };
	uint32_t size = (uint32_t)(offsetof(struct vu_config, payload) + len);

	if (!(v->protocol_features & (1ULL << VU_PROTOCOL_F_CONFIG))) {
		set_err(err, errlen, "the back-end does not offer its configuration (protocol feature CONFIG)");
		return -1;
	}
	if (vu_send(v->sock, VU_GET_CONFIG, 0, &c, size, NULL, 0, err, errlen) ||
	    vu_recv_reply(v->sock, VU_GET_CONFIG, &c, size, err, errlen))
		return -1;
	if (c.offset != 0 || c.size != len) {
		set_err(err, errlen, "GET_CONFIG answered offset %u size %u, asked 0 and %u",
			c.offset, c.size, len);
		return -1;
	}
	if (v->check_config) {
		const char *why = v->check_config(v->opaque, c.payload, len);

		if (why) {
			set_err(err, errlen, "unusable configuration from the back-end: %s", why);
			return -1;
		}
	}
	memcpy(buf, c.payload, len);
	return 0;
}

static int send_mem_table(struct vhost_user_dev *v, char *err, size_t errlen)
{
	const struct guest_memory *mem = &v->vm->mem;
	struct vu_mem_table t = { 0 };
	int fds[VU_MAX_MEM_REGIONS];
	int ret;

	/* RAM only: device memory (pmem) is not in the memfd and no
	 * virtqueue buffer may live there */
	for (size_t i = 0; i < mem->nram && t.nregions < VU_MAX_MEM_REGIONS; i++) {
		const struct mem_region *r = &mem->region[i];

		if (r->fd < 0)
			continue;
		t.region[t.nregions] = (struct vu_mem_region){
			.guest_addr = r->gpa,
			.size = r->size,
			.user_addr = (uint64_t)(uintptr_t)r->host,
			.mmap_offset = r->fd_offset,
		};
		fds[t.nregions++] = r->fd;
	}
	/* some back-ends touch all of guest memory before they answer
	 * (DPDK: 1.8 s for 192 MiB here, far more in the nested lab) */
	set_reply_timeout(v->sock, MEM_TABLE_TIMEOUT_S);
	ret = vu_set(v, VU_SET_MEM_TABLE, &t,
		     (uint32_t)(offsetof(struct vu_mem_table, region) +
				t.nregions * sizeof(t.region[0])),
		     fds, t.nregions, err, errlen);
	set_reply_timeout(v->sock, REPLY_TIMEOUT_S);
	return ret;
}

/* The eventfd the back-end signals for queue q: the irqfd of the
 * queue's MSI-X vector, or (no vector, or one the guest never
 * unmasked) wisp's own, relayed by the event loop. */
static int call_fd(struct vhost_user_dev *v, unsigned q)
{
	uint16_t vector = v->vdev.queue[q].msix_vector;
	int fd = vector == NO_VECTOR ? -1 : msix_vector_eventfd(&v->vdev.pci, vector);

	return fd >= 0 ? fd : v->q[q].call_fd;
}

static int vring_fd(struct vhost_user_dev *v, uint32_t request, unsigned q, int fd,
		    char *err, size_t errlen)
{
	uint64_t payload = q & VU_VRING_IDX_MASK;

	return vu_set(v, request, &payload, sizeof(payload), &fd, 1, err, errlen);
}

static int start_queue(struct vhost_user_dev *v, unsigned q, char *err, size_t errlen)
{
	struct virtio_queue *vq = &v->vdev.queue[q];
	/* where the back-end resumes: what the guest has seen used (0 on
	 * fresh rings); after a reconnect, the requests not yet answered
	 * are taken again */
	uint16_t base = __atomic_load_n(&vq->vq.used->idx, __ATOMIC_ACQUIRE);
	struct vu_vring_state num = { .index = q, .num = vq->size };
	struct vu_vring_state state = { .index = q, .num = base };
	struct vu_vring_addr addr = {
		.index = q,
		.desc = (uint64_t)(uintptr_t)vq->vq.desc,
		.used = (uint64_t)(uintptr_t)vq->vq.used,
		.avail = (uint64_t)(uintptr_t)vq->vq.avail,
	};
	struct vu_vring_state enable = { .index = q, .num = q < v->nenabled };

	if (vu_set(v, VU_SET_VRING_NUM, &num, sizeof(num), NULL, 0, err, errlen) ||
	    vu_set(v, VU_SET_VRING_BASE, &state, sizeof(state), NULL, 0, err, errlen) ||
	    vu_set(v, VU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, err, errlen) ||
	    vring_fd(v, VU_SET_VRING_KICK, q, vq->kick_fd, err, errlen) ||
	    vring_fd(v, VU_SET_VRING_CALL, q, call_fd(v, q), err, errlen) ||
	    vring_fd(v, VU_SET_VRING_ERR, q, v->q[q].err_fd, err, errlen))
		return -1;
	/* with protocol features a ring starts disabled; the driver of a
	 * multiqueue net device starts with the first pair only */
	if (v->protocol &&
	    vu_set(v, VU_SET_VRING_ENABLE, &enable, sizeof(enable), NULL, 0, err, errlen))
		return -1;
	v->q[q].started = true;
	v->q[q].enabled = enable.num;
	return 0;
}

/* Inflight tracking, when the back-end offers it: the first start
 * after a device reset asks the back-end for fresh memory to record the
 * requests it takes (GET_INFLIGHT_FD) and wisp keeps it; every start
 * hands it over (SET_INFLIGHT_FD), so a back-end that restarted finds
 * there what its predecessor had taken and not completed, and
 * resubmits it when it gets the queue's kick fd. */
int send_inflight(struct vhost_user_dev *v, char *err, size_t errlen)
{
	if (!(v->protocol_features & (1ULL << VU_PROTOCOL_F_INFLIGHT_SHMFD)))
		return 0;
	if (v->inflight_fd < 0) {
		struct vu_inflight req = {
			.num_queues = (uint16_t)v->nqueues,
			.queue_size = v->max_queue_size,
		};

		if (vu_send(v->sock, VU_GET_INFLIGHT_FD, 0, &req, sizeof(req), NULL, 0, err, errlen) ||
		    vu_recv_reply_fd(v->sock, VU_GET_INFLIGHT_FD, &v->inflight, sizeof(v->inflight),
				     &v->inflight_fd, err, errlen))
			return -1;
		if (!v->inflight.mmap_size) {
			/* the back-end could not make it: go on without */
			close(v->inflight_fd);
			v->inflight_fd = -1;
			report(v, "back-end at '%s' keeps no record of requests in flight", v->socket);
			return 0;
		}
	}
	return vu_set(v, VU_SET_INFLIGHT_FD, &v->inflight, sizeof(v->inflight), &v->inflight_fd, 1,
		      err, errlen);
}

/* The driver starts over: what the back-end recorded is about rings
 * that no longer exist. */
void drop_inflight(struct vhost_user_dev *v)
{
	if (v->inflight_fd >= 0)
		close(v->inflight_fd);
	v->inflight_fd = -1;
}

/* Hands every enabled queue to the back-end. */
int start_rings(struct vhost_user_dev *v, char *err, size_t errlen)
{
	uint64_t features = v->vdev.driver_features & ~v->local_features;

	v->refused = false;
	if (v->protocol)
		features |= 1ULL << VHOST_USER_F_PROTOCOL_FEATURES;
	if (vu_set_u64(v, VU_SET_FEATURES, features, err, errlen) ||
	    send_inflight(v, err, errlen) ||
	    send_mem_table(v, err, errlen))
		return -1;
	for (unsigned q = 0; q < v->nqueues; q++)
		if (v->vdev.queue[q].enabled && start_queue(v, q, err, errlen))
			return -1;
	return 0;
}

/* Takes the rings back: once GET_VRING_BASE is answered the back-end
 * no longer touches them. */
int stop_rings(struct vhost_user_dev *v, char *err, size_t errlen)
{
	for (unsigned q = 0; q < v->nqueues; q++) {
		struct vu_vring_state s = { .index = q, .num = 0 };

		if (!v->q[q].started)
			continue;
		v->q[q].started = false;
		v->q[q].enabled = false;
		if (v->protocol &&
		    vu_set(v, VU_SET_VRING_ENABLE, &s, sizeof(s), NULL, 0, err, errlen))
			return -1;
		if (vu_send(v->sock, VU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0, err, errlen) ||
		    vu_recv_reply(v->sock, VU_GET_VRING_BASE, &s, sizeof(s), err, errlen))
			return -1;
		if (s.index != q) {
			set_err(err, errlen, "GET_VRING_BASE answered for queue %u, asked %u",
				s.index, q);
			return -1;
		}
	}
	return 0;
}
