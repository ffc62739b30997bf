// SPDX-License-Identifier: MIT
/*
 * The vhost-user front end (see vhost_user.h, and the vhost-user
 * protocol specification in QEMU's docs/interop/vhost-user.rst).
 *
 * Life of a device:
 *   create   connect, GET_FEATURES, protocol features, GET_QUEUE_NUM,
 *            SET_OWNER, GET_CONFIG; the guest is offered what both the
 *            device and the back-end support.
 *   DRIVER_OK  SET_FEATURES, SET_MEM_TABLE (the guest RAM memfd), then
 *            per enabled queue SET_VRING_NUM/BASE/ADDR/KICK/CALL/ERR and
 *            SET_VRING_ENABLE.
 *   reset    SET_VRING_ENABLE 0 and GET_VRING_BASE per started queue:
 *            the back-end stops touching the rings before the driver
 *            reuses their memory.
 *   back-end gone  (the socket hangs up, or a reply is missing or
 *            malformed) the socket is closed and wisp retries the
 *            connection twice a second; once it is back, a running
 *            device gets its rings again, each resuming at the used
 *            index the guest sees, and a kick so the back-end looks at
 *            the requests not yet completed.  A back-end that comes
 *            back unable to serve the running device (fewer features)
 *            puts the device in NEEDS_RESET.
 *
 * All messages are sent by the thread that holds the device lock: a
 * vCPU (status writes) or the event loop (reconnection).  Replies are
 * awaited with a timeout, so a stuck back-end costs a few seconds, not
 * a hung VM.
 */
#include "vhost/vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/event.h"
#include "core/kv.h"
#include "core/seccomp.h"
#include "core/vm.h"

/* How long a back-end gets to answer one request (DPDK mapping guest
 * memory in the nested lab took more than 5 s). */
#define REPLY_TIMEOUT_S 10
#define MEM_TABLE_TIMEOUT_S 120
/* How often wisp tries to reach a back-end that went away. */
#define RECONNECT_INTERVAL_MS 500
/* Messages about one back-end going away and coming back, at most. */
#define MAX_REPORTS 8

#define NO_VECTOR 0xffff

/* ------------------------------------------------------------ messages */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int vu_send(int sock, uint32_t request, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned nfds, char *err, size_t errlen)
{
	struct vu_header hdr = { .request = request, .flags = flags | VU_VERSION, .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	char control[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	size_t total = sizeof(hdr) + size;
	ssize_t n;

	if (nfds > VU_MAX_FDS || size > VU_MAX_PAYLOAD) {
		set_err(err, errlen, "request %u too large", request);
		return -1;
	}
	if (nfds) {
		struct cmsghdr *cm;

		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		set_err(err, errlen, "the back-end closed the connection");
		return -1;
	}
	if (n < 0) {
		set_err(err, errlen, "sending request %u: %s", request, strerror(errno));
		return -1;
	}
	/* messages are small: a short send means the socket is wedged */
	if ((size_t)n != total) {
		set_err(err, errlen, "sending request %u: short write", request);
		return -1;
	}
	return 0;
}

/* The socket's receive timeout bounds a whole reply, not each recvmsg:
 * a back-end trickling its reply a byte at a time, each within the
 * timeout, would otherwise hold the device lock (and a vCPU or the
 * event loop) for minutes.  A zero timeout means none. */
struct reply_deadline {
	struct timeval limit;		/* the socket's SO_RCVTIMEO */
	struct timespec end;		/* CLOCK_MONOTONIC */
};

static void deadline_start(int sock, struct reply_deadline *d)
{
	socklen_t len = sizeof(d->limit);

	if (getsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &d->limit, &len))
		d->limit = (struct timeval){ .tv_sec = REPLY_TIMEOUT_S };
	clock_gettime(CLOCK_MONOTONIC, &d->end);
	d->end.tv_sec += d->limit.tv_sec;
	d->end.tv_nsec += d->limit.tv_usec * 1000;
	if (d->end.tv_nsec >= 1000000000) {
		d->end.tv_sec++;
		d->end.tv_nsec -= 1000000000;
	}
}

/* Before each recvmsg: the socket's timeout becomes what is left of the
 * reply's; false when nothing is left */
static bool deadline_arm(int sock, const struct reply_deadline *d)
{
	struct timespec now;
	struct timeval left;
	int64_t us;

	if (!d->limit.tv_sec && !d->limit.tv_usec)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(d->end.tv_sec - now.tv_sec) * 1000000 +
	     (d->end.tv_nsec - now.tv_nsec) / 1000;
	if (us <= 0)
		return false;
	left.tv_sec = (time_t)(us / 1000000);
	left.tv_usec = (suseconds_t)(us % 1000000);
	return !setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &left, sizeof(left));
}

static void deadline_end(int sock, const struct reply_deadline *d)
{
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &d->limit, sizeof(d->limit));
}

/* Reads exactly len bytes before the deadline.  The first descriptor
 * riding along goes to *keep when keep is not NULL and still -1; any
 * other is closed and counted in *nfds. */
static int read_exact(int sock, void *buf, size_t len, int *keep, unsigned *nfds,
		      const struct reply_deadline *d, char *err, size_t errlen)
{
	size_t got = 0;

	while (got < len) {
		char control[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct iovec iov = { .iov_base = (uint8_t *)buf + got, .iov_len = len - got };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control, .msg_controllen = sizeof(control),
		};
		ssize_t n;

		if (!deadline_arm(sock, d)) {
			set_err(err, errlen, "no complete reply within the timeout");
			return -1;
		}
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			n = 0;	/* closed with our request unread */
		if (n < 0) {
			set_err(err, errlen, "%s", errno == EAGAIN || errno == EWOULDBLOCK ?
				"no reply within the timeout" : strerror(errno));
			return -1;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (keep && *keep < 0) {
					*keep = fd;
					continue;
				}
				close(fd);
				(*nfds)++;
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			(*nfds)++;
		if (n == 0) {
			set_err(err, errlen, "the back-end closed the connection");
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* A reply, with exactly one descriptor when fd is not NULL (it goes to
 * *fd), else none. */
static int recv_reply_within(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
			     const struct reply_deadline *d, char *err, size_t errlen)
{
	struct vu_header hdr;
	unsigned nfds = 0;

	if (fd)
		*fd = -1;
	if (read_exact(sock, &hdr, sizeof(hdr), fd, &nfds, d, err, errlen)) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (request %u)", request);
		goto fail;
	}
	if (hdr.request != request) {
		set_err(err, errlen, "answered request %u with request %u", request, hdr.request);
		goto fail;
	}
	if ((hdr.flags & VU_VERSION_MASK) != VU_VERSION || !(hdr.flags & VU_FLAG_REPLY)) {
		set_err(err, errlen, "reply to request %u has flags 0x%x (version 1 and reply expected)",
			request, hdr.flags);
		goto fail;
	}
	if (hdr.size != size) {
		/* the payload is not read: the connection is dropped anyway */
		set_err(err, errlen, "reply to request %u has %u bytes, expected %u", request,
			hdr.size, size);
		goto fail;
	}
	if (size && read_exact(sock, payload, size, fd, &nfds, d, err, errlen))
		goto fail;
	if (nfds) {
		set_err(err, errlen, "reply to request %u carried %sfile descriptors", request,
			fd ? "more than one " : "");
		goto fail;
	}
	if (fd && *fd < 0) {
		set_err(err, errlen, "reply to request %u carried no file descriptor", request);
		return -1;
	}
	return 0;
fail:
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return -1;
}

static int recv_reply(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
		      char *err, size_t errlen)
{
	struct reply_deadline d;
	int ret;

	deadline_start(sock, &d);
	ret = recv_reply_within(sock, request, payload, size, fd, &d, err, errlen);
	deadline_end(sock, &d);
	return ret;
}

int vu_recv_reply(int sock, uint32_t request, void *payload, uint32_t size,
		  char *err, size_t errlen)
{
	return recv_reply(sock, request, payload, size, NULL, err, errlen);
}

int vu_recv_reply_fd(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
		     char *err, size_t errlen)
{
	return recv_reply(sock, request, payload, size, fd, err, errlen);
}

/* -------------------------------------------------------------- device */

struct vu_queue {
	struct vhost_user_dev *dev;
	unsigned index;
	bool started;		/* the back-end has the rings */
	bool enabled;		/* and serves them (SET_VRING_ENABLE 1) */
	int err_fd;		/* SET_VRING_ERR: the back-end reports a broken queue */
	int call_fd;		/* used only when the queue has no MSI-X irqfd */
};

struct vhost_user_dev {
	struct virtio_dev vdev;
	struct vm *vm;
	char *option, *name, *socket;
	int sock;			/* -1 while the back-end is away */
	uint64_t backend_features;
	uint64_t protocol_features;	/* negotiated */
	bool protocol;			/* VHOST_USER_F_PROTOCOL_FEATURES */
	bool active;			/* DRIVER_OK: the rings belong to the back-end */
	bool config_from_backend;
	const char *(*check_config)(void *opaque, void *config, unsigned len);
	void *opaque;
	int reconnect_timer;
	bool reconnecting;
	bool refused;			/* the last failure was a refusal, not a broken link */
	uint64_t local_features;	/* offered by wisp itself, not the back-end */
	unsigned queues_without_mq;
	unsigned queue_num_unit;
	unsigned initially_enabled;	/* back-end queues enabled at DRIVER_OK */
	unsigned nenabled;		/* and now (vhost_user_enable_queues) */
	void (*local_notify)(void *opaque, struct virtio_dev *d, unsigned q);
	bool want_inflight;		/* the device asks for INFLIGHT_SHMFD */
	int inflight_fd;		/* the back-end's record of taken requests, or -1 */
	struct vu_inflight inflight;	/* its size and place in inflight_fd */
	uint16_t max_queue_size;
	bool lacking;			/* the handshake found features missing */
	unsigned reports;
	unsigned nqueues;		/* the back-end's (local ones follow) */
	uint8_t config[VU_MAX_CONFIG];
	struct vu_queue q[VIRTIO_MAX_QUEUES];
};

/* Bounded messages about the back-end coming and going. */
static void report(struct vhost_user_dev *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct vhost_user_dev *v, const char *fmt, ...)
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
static int vu_set(struct vhost_user_dev *v, uint32_t request, const void *payload,
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

/* Connects to the socket: -1 with err set, errno kept. */
static int connect_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
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
static int handshake(struct vhost_user_dev *v, uint64_t needed, char *err, size_t errlen)
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
static int get_config(struct vhost_user_dev *v, void *buf, unsigned len, char *err,
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
static int send_inflight(struct vhost_user_dev *v, char *err, size_t errlen)
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
static void drop_inflight(struct vhost_user_dev *v)
{
	if (v->inflight_fd >= 0)
		close(v->inflight_fd);
	v->inflight_fd = -1;
}

/* Hands every enabled queue to the back-end. */
static int start_rings(struct vhost_user_dev *v, char *err, size_t errlen)
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
static int stop_rings(struct vhost_user_dev *v, char *err, size_t errlen)
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

static void arm_reconnect(struct vhost_user_dev *v, bool on)
{
	long ns = RECONNECT_INTERVAL_MS * 1000000L;
	struct itimerspec its = {
		.it_value = { .tv_sec = on ? ns / 1000000000L : 0, .tv_nsec = on ? ns % 1000000000L : 0 },
		.it_interval = { .tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L },
	};

	timerfd_settime(v->reconnect_timer, 0, &its, NULL);
	v->reconnecting = on;
}

/* The back-end went away, or spoke nonsense: drop the connection and
 * try again later.  Device lock held. */
static void disconnect(struct vhost_user_dev *v, const char *why)
{
	if (v->sock < 0)
		return;
	report(v, "back-end at '%s': %s; reconnecting", v->socket, why);
	event_del(v->vm->loop, v->sock);
	close(v->sock);
	v->sock = -1;
	for (unsigned q = 0; q < v->nqueues; q++)
		v->q[q].started = false;
	arm_reconnect(v, true);
}

static void on_socket_hangup(void *opaque, uint32_t events)
{
	struct vhost_user_dev *v = opaque;

	(void)events;
	virtio_lock(&v->vdev);
	/* a vCPU may have noticed first and dropped the connection */
	if (v->sock >= 0)
		disconnect(v, "the back-end closed the connection");
	virtio_unlock(&v->vdev);
}

/* A back-end never speaks first on this socket: the loop only watches
 * for the hang-up, never for readable data (the replies are read by
 * whoever sent the request). */
static int watch_socket(struct vhost_user_dev *v)
{
	return event_add(v->vm->loop, v->sock, EPOLLRDHUP, on_socket_hangup, v);
}

/* Starting the rings failed.  A back-end that said no (REPLY_ACK) is
 * still there and will say no again: the device needs a reset.  Any
 * other failure is a broken connection: reconnect. */
static void rings_failed(struct vhost_user_dev *v, const char *err)
{
	char why[300];

	if (!v->refused) {
		disconnect(v, err);
		return;
	}
	v->refused = false;
	snprintf(why, sizeof(why), "back-end at '%s': %s", v->socket, err);
	virtio_needs_reset(&v->vdev, why);
}

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

/* After a reconnection: requests the guest queued while the back-end
 * was away still count in the kick eventfds, but those its predecessor
 * had taken (their kicks read) and not completed wait for nobody -- the
 * guest will not kick again for them.  One kick per queue makes the new
 * back-end look at its ring, from the used index on. */
static void kick_started_queues(struct vhost_user_dev *v)
{
	uint64_t one = 1;

	for (unsigned q = 0; q < v->nqueues; q++)
		if (v->q[q].started && write(v->vdev.queue[q].kick_fd, &one, sizeof(one)) < 0)
			report(v, "kick of queue %u after the reconnection: %s", q, strerror(errno));
}

/* Event loop: the back-end came back?  Device lock taken here. */
static void on_reconnect_timer(void *opaque, uint32_t events)
{
	struct vhost_user_dev *v = opaque;
	uint64_t ticks;
	uint8_t config[VU_MAX_CONFIG];
	char err[256];

	(void)events;
	if (read(v->reconnect_timer, &ticks, sizeof(ticks)) < 0)
		return;
	virtio_lock(&v->vdev);
	if (v->sock >= 0 || !v->reconnecting)
		goto out;
	v->sock = connect_socket(v->socket, err, sizeof(err));
	if (v->sock < 0)
		goto out;	/* not back yet: quietly try again */
	/* the back-end must still serve what the guest was offered */
	if (handshake(v, (v->vdev.features & ~v->local_features) | (1ULL << VIRTIO_F_VERSION_1),
		      err, sizeof(err)) ||
	    (v->config_from_backend &&
	     get_config(v, config, v->vdev.config_len, err, sizeof(err)))) {
		report(v, "back-end at '%s' is back but unusable: %s", v->socket, err);
		close(v->sock);
		v->sock = -1;
		/* it cannot serve the driver's rings; a slow or confused one
		 * gets another try */
		if (v->active && v->lacking)
			virtio_needs_reset(&v->vdev, "the back-end came back without what the device needs");
		goto out;
	}
	if (v->config_from_backend && memcmp(config, v->config, v->vdev.config_len)) {
		memcpy(v->config, config, v->vdev.config_len);
		virtio_config_changed(&v->vdev);
	}
	if (watch_socket(v)) {
		close(v->sock);
		v->sock = -1;
		goto out;
	}
	arm_reconnect(v, false);
	if (v->active && start_rings(v, err, sizeof(err))) {
		rings_failed(v, err);
		goto out;
	}
	if (v->active)
		kick_started_queues(v);
	report(v, "back-end at '%s' reconnected%s", v->socket,
	       v->active ? "; queues restored" : "");
out:
	virtio_unlock(&v->vdev);
}

/* Event loop: the back-end reports a broken queue. */
static void on_vring_err(void *opaque, uint32_t events)
{
	struct vu_queue *q = opaque;
	uint64_t n;
	char why[64];

	(void)events;
	if (read(q->err_fd, &n, sizeof(n)) != sizeof(n))
		return;
	snprintf(why, sizeof(why), "the back-end reported an error on queue %u", q->index);
	virtio_lock(&q->dev->vdev);
	virtio_needs_reset(&q->dev->vdev, why);
	virtio_unlock(&q->dev->vdev);
}

/* Event loop: an interrupt for a queue without an irqfd of its own. */
static void on_vring_call(void *opaque, uint32_t events)
{
	struct vu_queue *q = opaque;
	struct virtio_dev *d = &q->dev->vdev;
	uint16_t vector;
	uint64_t n;

	(void)events;
	if (read(q->call_fd, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_lock(d);
	d->isr |= 1;
	vector = d->queue[q->index].msix_vector;
	virtio_unlock(d);
	if (vector != NO_VECTOR)
		msix_notify(&d->pci, vector);
}

static int queue_fds(struct vhost_user_dev *v, unsigned q)
{
	struct vu_queue *vq = &v->q[q];

	vq->dev = v;
	vq->index = q;
	vq->err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->err_fd < 0 || vq->call_fd < 0 ||
	    event_add(v->vm->loop, vq->err_fd, EPOLLIN, on_vring_err, vq) ||
	    event_add(v->vm->loop, vq->call_fd, EPOLLIN, on_vring_call, vq))
		return -1;
	return 0;
}

int vhost_user_parse_keys(struct kv_list *args, struct vhost_user_keys *k, uint64_t min_queues,
			  uint64_t max_queues, uint64_t max_queue_size, struct cli_error *err)
{
	if (kv_str(args, "socket", &k->socket, err) < 0 ||
	    kv_u64(args, "num_queues", min_queues, max_queues, &k->num_queues, err) < 0 ||
	    kv_u64(args, "queue_size", 2, max_queue_size, &k->queue_size, err) < 0 ||
	    kv_u64(args, "pci_segment", 0, 0, &k->pci_segment, err) < 0)
		return -1;
	if (k->queue_size & (k->queue_size - 1)) {
		cli_errorf(err, "'queue_size=%llu': must be a power of two",
			   (unsigned long long)k->queue_size);
		return -1;
	}
	return 0;
}

/* The parameters' queue counts, their defaults filled in. */
static void init_queue_counts(struct vhost_user_dev *v, const struct vhost_user_params *p)
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
	SC_ARG2(SYS_setsockopt, 1, SC_ALL, SOL_SOCKET, 2, SC_ALL, SO_SNDTIMEO),
	SC_ARG(SYS_fcntl, 1, SC_ALL, F_GETFL),
	SC_ARG(SYS_fcntl, 1, SC_ALL, F_SETFL),
};

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
		.external_queues = true,
		.local_queues = p->local_queues,
	};
	uint64_t offer, needed = p->required_features | (1ULL << VIRTIO_F_VERSION_1);
	char err[256], buf[128];
	const char *problem;

	if (vm->mem.fd < 0) {
		wisp_err("--%s: socket=%s: vhost-user needs guest RAM the back-end can map: add --memory shared=on",
			 p->option, p->socket);
		return EXIT_USAGE;
	}
	if (p->config_len > VU_MAX_CONFIG || p->nqueues + p->local_queues > VIRTIO_MAX_QUEUES ||
	    p->initially_enabled > p->nqueues ||
	    seccomp_allow(SECCOMP_BOTH, vhost_user_seccomp, SC_COUNT(vhost_user_seccomp)) ||
	    seccomp_allow(SECCOMP_MAIN, vhost_user_connect_seccomp,
			  SC_COUNT(vhost_user_connect_seccomp)))
		return -1;
	problem = socket_problem(p->socket, buf, sizeof(buf));
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
	v->sock = connect_socket(p->socket, err, sizeof(err));
	if (v->sock < 0) {
		wisp_err("--%s: socket=%s: %s", p->option, p->socket, err);
		return EXIT_USAGE;
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

#ifdef WISP_UNIT_TEST
#include "vhost/vhost_user_test.h"

int vu_test_session(int sock, const struct vhost_user_params *p, unsigned started,
		    struct vu_test_result *r, char *err, size_t errlen)
{
	uint64_t needed = p->required_features | (1ULL << VIRTIO_F_VERSION_1);
	struct vhost_user_dev *v;
	int ret;

	if (p->nqueues > VIRTIO_MAX_QUEUES || p->config_len > VU_MAX_CONFIG)
		return -1;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	v->sock = sock;
	v->name = (char *)p->name;
	v->socket = (char *)"-";
	init_queue_counts(v, p);
	v->check_config = p->check_config;
	v->opaque = p->opaque;
	v->want_inflight = p->inflight;
	v->inflight_fd = -1;
	v->max_queue_size = p->queue_size;
	ret = handshake(v, needed, err, errlen);
	if (!ret && p->config_from_backend)
		ret = get_config(v, r->config, p->config_len, err, errlen);
	if (!ret && p->inflight)
		ret = send_inflight(v, err, errlen);
	if (!ret) {
		for (unsigned q = 0; q < started && q < v->nqueues; q++)
			v->q[q].started = true;
		ret = stop_rings(v, err, errlen);
	}
	r->backend_features = v->backend_features;
	r->protocol_features = v->protocol_features;
	drop_inflight(v);
	free(v);
	return ret;
}

int vu_test_inflight(int sock, const struct vhost_user_params *p, unsigned starts, int *fd,
		     char *err, size_t errlen)
{
	struct vhost_user_dev *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -1;
	v->sock = sock;
	init_queue_counts(v, p);
	v->want_inflight = p->inflight;
	v->inflight_fd = -1;
	v->max_queue_size = p->queue_size;
	v->name = (char *)p->name;
	v->socket = (char *)"-";
	ret = handshake(v, 1ULL << VIRTIO_F_VERSION_1, err, errlen);
	for (unsigned i = 0; !ret && i < starts; i++)
		ret = send_inflight(v, err, errlen);
	*fd = v->inflight_fd;
	free(v);
	return ret;
}
#endif
