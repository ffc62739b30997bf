// SPDX-License-Identifier: MIT
/*
 * wisp-fsd: a small vhost-user-fs back-end.  It serves one host
 * directory to a virtio-fs device (wisp --fs tag=TAG,socket=PATH):
 *
 *   wisp-fsd --socket PATH --dir DIR [--seccomp true|false|log]
 *
 * It listens on PATH, serves one front end at a time, and after a
 * front end goes away waits for the next (so a restarted wisp, or a
 * reconnecting one, finds it).  One thread: the Unix socket and every
 * queue's kick eventfd in one poll(); each FUSE request is answered
 * before the next is read.  The file server itself is fuse_ops.c; once
 * the directory is open and the socket listens, a seccomp filter
 * (sandbox.c) holds it to the calls serving takes.
 *
 * Built with WISP_FSD_NO_MAIN (tests/fuzz/fuzz_fsd.c includes this
 * file), everything from serve() on is left out.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuse_ops.h"
#include "sandbox.h"
#include "vring.h"

/* vhost-user requests (QEMU's docs/interop/vhost-user.rst) */
enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, RESET_OWNER = 4,
	SET_MEM_TABLE = 5, SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10,
	GET_VRING_BASE = 11, SET_VRING_KICK = 12, SET_VRING_CALL = 13, SET_VRING_ERR = 14,
	GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17,
	SET_VRING_ENABLE = 18,
};

#define FLAG_VERSION 0x1
#define FLAG_REPLY 0x4
#define FLAG_NEED_REPLY 0x8
#define F_VERSION_1 (1ULL << 32)
#define F_PROTOCOL_FEATURES (1ULL << 30)
#define PROTOCOL_MQ (1ULL << 0)
#define PROTOCOL_REPLY_ACK (1ULL << 3)
#define VRING_NOFD 0x100
#define MAX_PAYLOAD 512
#define MAX_FDS 8

struct msg {
	uint32_t request, flags, size;
	union {
		uint64_t u64;
		struct { uint32_t index, num; } state;
		struct { uint32_t index, flags; uint64_t desc, used, avail, log; } addr;
		struct {
			uint32_t nregions, padding;
			struct { uint64_t gpa, size, qva, offset; } region[FSD_MAX_REGIONS];
		} mem;
		uint8_t raw[MAX_PAYLOAD];
	} u;
	int fds[MAX_FDS];
	unsigned nfds;
};

struct backend {
	int sock;
	uint64_t features, protocol;
	struct fsd_mem mem;
	struct fsd_vring q[FSD_MAX_QUEUES];
};

static uint8_t request_buf[FSD_MAX_MSG];
static uint8_t reply_buf[FSD_MAX_MSG];

static void close_fds(struct msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (uint8_t *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One message from the front end; -1 when it went away or sent
 * something that is not a message. */
static int recv_msg(int sock, struct msg *m)
{
	char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { .iov_base = m, .iov_len = 12 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	ssize_t n;

	m->nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && m->nfds < MAX_FDS; i++)
			memcpy(&m->fds[m->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if ((n < 12 && read_full(sock, (uint8_t *)m + n, 12 - (size_t)n)) ||
	    (m->flags & 3) != FLAG_VERSION || m->size > MAX_PAYLOAD ||
	    (m->size && read_full(sock, &m->u, m->size))) {
		close_fds(m);
		return -1;
	}
	return 0;
}

static int send_reply(int sock, const struct msg *req, const void *payload, uint32_t size)
{
	uint8_t buf[12 + MAX_PAYLOAD];
	uint32_t hdr[3] = { req->request, FLAG_VERSION | FLAG_REPLY, size };

	memcpy(buf, hdr, 12);
	memcpy(buf + 12, payload, size);
	return send(sock, buf, 12 + size, MSG_NOSIGNAL) == (ssize_t)(12 + size) ? 0 : -1;
}

static void stop_queue(struct fsd_vring *q)
{
	if (q->kick >= 0)
		close(q->kick);
	q->kick = -1;
	q->started = false;
}

static void reset_backend(struct backend *b)
{
	for (unsigned i = 0; i < FSD_MAX_QUEUES; i++) {
		struct fsd_vring *q = &b->q[i];

		stop_queue(q);
		if (q->call >= 0)
			close(q->call);
		if (q->err >= 0)
			close(q->err);
		*q = (struct fsd_vring){ .kick = -1, .call = -1, .err = -1 };
	}
	mem_unmap(&b->mem);
	b->features = b->protocol = 0;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		perror("wisp-fsd: eventfd");
}

/* Copies the reply into the chain's writable buffers. */
static uint32_t scatter(const struct fsd_chain *c, const uint8_t *src, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < c->nout && done < len; i++) {
		size_t n = c->out[i].iov_len < len - done ? c->out[i].iov_len : len - done;

		memcpy(c->out[i].iov_base, src + done, n);
		done += n;
	}
	return (uint32_t)done;
}

static size_t gather(const struct fsd_chain *c, uint8_t *dst, size_t max)
{
	size_t done = 0;

	for (unsigned i = 0; i < c->nin && done < max; i++) {
		size_t n = c->in[i].iov_len < max - done ? c->in[i].iov_len : max - done;

		memcpy(dst + done, c->in[i].iov_base, n);
		done += n;
	}
	return done;
}

static void process_queue(struct backend *b, unsigned index)
{
	struct fsd_vring *q = &b->q[index];
	static struct fsd_chain c;
	unsigned done = 0;
	int got = 0;

	if (!q->started || !q->enabled || q->broken)
		return;
	/* At most a ring's worth per call: a guest whose reply buffers lie
	 * over its own avail ring (each reply moving avail->idx on) or that
	 * keeps adding requests must not keep this one thread from the
	 * socket and the other queues for ever (found by fuzz_fsd).  What
	 * is left is served after them: a kick to ourselves. */
	while (done < q->num && (got = vring_pop(q, &b->mem, &c)) > 0) {
		size_t len = gather(&c, request_buf, sizeof(request_buf));
		size_t rlen = fs_handle(request_buf, len, reply_buf);

		vring_push(q, c.head, rlen ? scatter(&c, reply_buf, rlen) : 0);
		done++;
	}
	if (done && done == q->num) {
		got = 0;
		signal_fd(q->kick);
	}
	if (got < 0) {
		fprintf(stderr, "wisp-fsd: queue %u is malformed; stopped\n", index);
		signal_fd(q->err);
	}
	if (done)
		signal_fd(q->call);
}

static int set_mem_table(struct backend *b, struct msg *m)
{
	struct fsd_mem mem = { 0 };
	uint32_t n = m->u.mem.nregions;

	if (n == 0 || n > FSD_MAX_REGIONS || m->nfds != n ||
	    m->size < 8 + n * sizeof(m->u.mem.region[0]))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct fsd_region *r = &mem.r[i];
		uint64_t size = m->u.mem.region[i].size, off = m->u.mem.region[i].offset;

		if (!size || off + size < off) {
			mem_unmap(&mem);
			return -1;
		}
		r->map_len = (size_t)(off + size);
		r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[i], 0);
		if (r->map == MAP_FAILED) {
			perror("wisp-fsd: mmap of guest memory");
			mem_unmap(&mem);
			return -1;
		}
		r->host = r->map + off;
		r->gpa = m->u.mem.region[i].gpa;
		r->size = size;
		r->qva = m->u.mem.region[i].qva;
		mem.n = i + 1;
	}
	mem_unmap(&b->mem);
	b->mem = mem;
	/* started rings move to the new mapping */
	for (unsigned i = 0; i < FSD_MAX_QUEUES; i++)
		if (b->q[i].started && vring_map(&b->q[i], &b->mem))
			b->q[i].broken = true;
	return 0;
}

/* A vring fd message: the queue it names, and its descriptor (-1 for
 * "no fd"); NULL for a bad index. */
static struct fsd_vring *vring_fd(struct backend *b, struct msg *m, int *fd)
{
	unsigned index = (unsigned)(m->u.u64 & 0xff);

	if (m->size != 8 || index >= FSD_MAX_QUEUES)
		return NULL;
	if (m->u.u64 & VRING_NOFD) {
		*fd = -1;
		return &b->q[index];
	}
	if (m->nfds != 1)
		return NULL;
	*fd = m->fds[0];
	m->nfds = 0;
	return &b->q[index];
}

/* Handles one message; -1 drops the connection. */
static int handle_msg(struct backend *b, struct msg *m)
{
	struct fsd_vring *q = NULL;
	uint64_t v;
	int fd, ret = 0;
	bool replied = false;

	switch (m->request) {
	case GET_FEATURES:
		v = F_VERSION_1 | F_PROTOCOL_FEATURES;
		return send_reply(b->sock, m, &v, 8);
	case GET_PROTOCOL_FEATURES:
		v = PROTOCOL_MQ | PROTOCOL_REPLY_ACK;
		return send_reply(b->sock, m, &v, 8);
	case GET_QUEUE_NUM:
		v = FSD_MAX_QUEUES;
		return send_reply(b->sock, m, &v, 8);
	case SET_FEATURES:
		if (m->size != 8 || (m->u.u64 & ~(F_VERSION_1 | F_PROTOCOL_FEATURES)))
			return -1;
		b->features = m->u.u64;
		break;
	case SET_PROTOCOL_FEATURES:
		if (m->size != 8)
			return -1;
		b->protocol = m->u.u64 & (PROTOCOL_MQ | PROTOCOL_REPLY_ACK);
		break;
	case SET_OWNER:
		break;
	case RESET_OWNER:
		reset_backend(b);
		break;
	case SET_MEM_TABLE:
		ret = set_mem_table(b, m);
		break;
	case SET_VRING_NUM:
		if (m->size != 8 || m->u.state.index >= FSD_MAX_QUEUES || !m->u.state.num ||
		    m->u.state.num > 32768 || (m->u.state.num & (m->u.state.num - 1)))
			return -1;
		b->q[m->u.state.index].num = m->u.state.num;
		break;
	case SET_VRING_BASE:
		if (m->size != 8 || m->u.state.index >= FSD_MAX_QUEUES)
			return -1;
		b->q[m->u.state.index].last_avail = (uint16_t)m->u.state.num;
		break;
	case SET_VRING_ADDR:
		if (m->size != sizeof(m->u.addr) || m->u.addr.index >= FSD_MAX_QUEUES)
			return -1;
		q = &b->q[m->u.addr.index];
		q->desc_qva = m->u.addr.desc;
		q->avail_qva = m->u.addr.avail;
		q->used_qva = m->u.addr.used;
		break;
	case SET_VRING_ENABLE:
		if (m->size != 8 || m->u.state.index >= FSD_MAX_QUEUES)
			return -1;
		q = &b->q[m->u.state.index];
		q->enabled = m->u.state.num != 0;
		break;
	case SET_VRING_KICK:
		q = vring_fd(b, m, &fd);
		if (!q)
			return -1;
		stop_queue(q);
		q->kick = fd;
		q->broken = false;
		if (!q->num || vring_map(q, &b->mem)) {
			fprintf(stderr, "wisp-fsd: queue %u: rings outside guest memory\n",
				(unsigned)(m->u.u64 & 0xff));
			q->broken = true;
			ret = -1;
		}
		q->started = true;
		/* without protocol features a ring runs once it has its kick */
		if (!(b->features & F_PROTOCOL_FEATURES))
			q->enabled = true;
		break;
	case SET_VRING_CALL:
	case SET_VRING_ERR:
		q = vring_fd(b, m, &fd);
		if (!q)
			return -1;
		{
			int *slot = m->request == SET_VRING_CALL ? &q->call : &q->err;

			if (*slot >= 0)
				close(*slot);
			*slot = fd;
		}
		break;
	case GET_VRING_BASE:
		if (m->size != 8 || m->u.state.index >= FSD_MAX_QUEUES)
			return -1;
		q = &b->q[m->u.state.index];
		stop_queue(q);
		m->u.state.num = q->last_avail;
		send_reply(b->sock, m, &m->u.state, 8);
		replied = true;
		break;
	default:
		fprintf(stderr, "wisp-fsd: request %u not supported\n", m->request);
		ret = -1;
		break;
	}
	close_fds(m);
	/* a ring that just started may have requests waiting (a front end
	 * that reconnected) */
	if (q && (m->request == SET_VRING_KICK || m->request == SET_VRING_ENABLE))
		process_queue(b, (unsigned)(q - b->q));
	if (!replied && (m->flags & FLAG_NEED_REPLY) && (b->protocol & PROTOCOL_REPLY_ACK)) {
		v = ret ? 1 : 0;
		if (send_reply(b->sock, m, &v, 8))
			return -1;
		return 0;	/* refused, and told so */
	}
	return ret;
}

#ifndef WISP_FSD_NO_MAIN
/* Serves one front end until it goes away. */
static void serve(int sock)
{
	static struct backend b;
	static struct msg m;

	b.sock = sock;
	for (unsigned i = 0; i < FSD_MAX_QUEUES; i++)
		b.q[i] = (struct fsd_vring){ .kick = -1, .call = -1, .err = -1 };
	for (;;) {
		struct pollfd pfd[1 + FSD_MAX_QUEUES];
		unsigned qidx[1 + FSD_MAX_QUEUES];
		nfds_t n = 1;

		pfd[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
		for (unsigned i = 0; i < FSD_MAX_QUEUES; i++) {
			if (b.q[i].started && b.q[i].kick >= 0) {
				pfd[n] = (struct pollfd){ .fd = b.q[i].kick, .events = POLLIN };
				qidx[n++] = i;
			}
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents) {
			if (recv_msg(sock, &m) || handle_msg(&b, &m))
				break;
			continue;	/* the queue set may have changed */
		}
		for (nfds_t i = 1; i < n; i++) {
			uint64_t kicks;

			if (!pfd[i].revents)
				continue;
			if (read(pfd[i].fd, &kicks, sizeof(kicks)) < 0 && errno != EAGAIN)
				continue;
			process_queue(&b, qidx[i]);
		}
	}
	reset_backend(&b);
	fs_reset();
	close(sock);
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "wisp-fsd: --socket %s: path too long\n", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "wisp-fsd: --socket %s: exists and is not a socket\n", path);
			return -1;
		}
		unlink(path);	/* a stale socket of an earlier run */
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1)) {
		fprintf(stderr, "wisp-fsd: --socket %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: wisp-fsd --socket PATH --dir DIR [--seccomp true|false|log]\n"
		   "  serves DIR to a vhost-user-fs front end (wisp --fs tag=TAG,socket=PATH)\n"
		   "  --seccomp: a system call outside wisp-fsd's list stops it (true, the\n"
		   "  default), is only logged by the kernel (log), or no filter (false)\n");
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL, *dir = NULL;
	enum fsd_seccomp seccomp = FSD_SECCOMP_TRUE;
	int lfd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 < argc && !strcmp(argv[i], "--socket"))
			socket_path = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--dir"))
			dir = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--seccomp")) {
			if (fsd_seccomp_parse(argv[++i], &seccomp)) {
				fprintf(stderr, "wisp-fsd: --seccomp %s: expected true, false or log\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "wisp-fsd: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!socket_path || !dir) {
		usage(stderr);
		return 2;
	}
	if (fs_open_root(dir))
		return 2;
	lfd = listen_on(socket_path);
	if (lfd < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* from here on only what serving takes (sandbox.c) */
	if (fsd_seccomp_install(seccomp))
		return 2;
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("wisp-fsd: accept");
			return 1;
		}
		serve(c);
	}
}
#endif
