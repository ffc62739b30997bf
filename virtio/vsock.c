// SPDX-License-Identifier: MIT
/*
 * virtio-vsock (virtio 1.2, 5.10 "Socket Device"), stream sockets only,
 * relayed to host Unix sockets in the "hybrid" model Firecracker and
 * cloud-hypervisor document:
 *
 *  - wisp listens on socket=PATH.  A host program connects there and
 *    writes "CONNECT <port>\n"; wisp sends the guest a REQUEST from
 *    (cid 2, a local port it allocates) to that port and, once the
 *    guest answers RESPONSE, writes "OK <local port>\n" to the program
 *    and relays bytes both ways.  A RST instead closes the connection.
 *  - A guest connecting to host port P (REQUEST to cid 2) is connected
 *    to the Unix socket PATH_P; when nothing listens there it gets RST.
 *
 * Flow control is the spec's credit scheme: each side advertises
 * buf_alloc and fwd_cnt in every header.  wisp sends the guest no more
 * than its credit allows, and only reads a host socket while the guest
 * has credit and the connection has no packet already waiting for a
 * receive buffer (the socket then leaves the epoll set, so data waits
 * in the host kernel instead of being dropped).  Guest data the host
 * socket cannot take at once waits in a per-connection buffer of
 * CONN_BUF bytes, which is the buf_alloc wisp advertises; fwd_cnt grows
 * as the host side consumes it.
 *
 * The guest is hostile: every header field is checked, packets that
 * make no sense (short header, len beyond the chain, wrong type or
 * CIDs, unknown op) are dropped and counted, a guest overrunning the
 * credit it was given has its connection reset, and at most MAX_CONNS
 * connections exist at once.
 *
 * Threads: kicks and the host sockets are served on the event loop
 * thread; device reset comes from a vCPU thread.  All of it runs under
 * the device lock.  Connection sockets live in the device's own epoll
 * set (one watch in the main loop), tagged by slot and generation, and
 * events are fetched under the lock, so a connection freed by a reset
 * can never be reached through a stale event.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/device.h"
#include "core/file.h"
#include "core/event.h"
#include "core/kv.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define RX_QUEUE 0
#define TX_QUEUE 1
#define EVENT_QUEUE 2
#define QUEUE_SIZE 256
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

#define VSOCK_F_STREAM 0

#define HOST_CID 2
#define TYPE_STREAM 1

#define OP_INVALID 0
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7

#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2

#define MAX_CONNS 1024
#define CONN_BUF (64 * 1024)	/* our buf_alloc, per connection */
#define MAX_PKT (64 * 1024)	/* payload per packet to the guest */
#define NBUCKETS 256
#define RSTQ_SIZE (2 * MAX_CONNS)
#define CMD_MAX 32		/* "CONNECT 4294967295\r\n" fits */
#define LOCAL_PORT_BASE (1u << 30)
#define PORT_SUFFIX 11		/* "_4294967295" */
#define LISTENER_TAG UINT64_MAX

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes");

struct vsock_config {
	uint64_t cid;
	const char *socket;
	bool iommu;
};

enum conn_state {
	C_HANDSHAKE,	/* host connected, waiting for "CONNECT <port>\n" */
	C_CONNECTING,	/* REQUEST to the guest sent or queued */
	C_ESTABLISHED,
};

struct conn {
	struct conn *hnext;		/* hash chain */
	struct conn *pnext;		/* pending list (has a packet for the guest) */
	bool pending;
	unsigned slot;
	uint32_t gport, hport;		/* guest's and host side's ports */
	int fd;
	enum conn_state state;
	uint32_t events;		/* epoll interest, 0: not in the set */
	/* packets owed to the guest */
	bool send_request, send_response, send_credit, send_shutdown;
	bool want_data;			/* the host socket was readable */
	bool host_eof;			/* read 0 from the host socket */
	bool shut_wr_done;
	unsigned guest_shutdown;	/* SHUTDOWN flags the guest sent */
	/* guest's credit */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* our receive side */
	uint32_t fwd_cnt, last_fwd_sent;
	uint8_t *buf;			/* CONN_BUF ring, allocated on demand */
	uint32_t head, used;
	unsigned linelen;		/* C_HANDSHAKE: the line so far */
	char line[CMD_MAX + 1];
};

struct vsock_stats {
	uint64_t malformed;		/* dropped guest packets */
	uint64_t bad_rx_buffers;	/* rx chains too small for a header */
	uint64_t credit_violations;
	uint64_t refused;		/* over MAX_CONNS, or no listener */
	uint64_t rst_dropped;		/* RST queue full */
};

struct vsock {
	struct virtio_dev vdev;
	uint64_t cfg_cid;		/* config space: le64 guest_cid */
	uint64_t cid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* its last component */
	int dirfd;			/* its directory, O_PATH */
	int listen_fd, epfd;
	bool bound;			/* path is ours to unlink */
	unsigned nconns;
	struct conn *slots[MAX_CONNS];
	uint32_t gen[MAX_CONNS];
	struct conn *buckets[NBUCKETS];
	struct conn *phead, *ptail;
	struct { uint32_t gport, hport; } rstq[RSTQ_SIZE];
	unsigned rst_head, rst_n;
	uint32_t next_port;
	struct vsock_stats stats;
};

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
	    virtio_parse_iommu(args, &c->iommu, err) < 0)
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

/* ------------------------------------------------------- connections */

static unsigned hash(uint32_t gport, uint32_t hport)
{
	return (gport * 2654435761u ^ hport * 40503u) % NBUCKETS;
}

static struct conn *conn_find(struct vsock *v, uint32_t gport, uint32_t hport)
{
	for (struct conn *c = v->buckets[hash(gport, hport)]; c; c = c->hnext)
		if (c->gport == gport && c->hport == hport)
			return c;
	return NULL;
}

static void hash_insert(struct vsock *v, struct conn *c)
{
	unsigned b = hash(c->gport, c->hport);

	c->hnext = v->buckets[b];
	v->buckets[b] = c;
}

static void hash_remove(struct vsock *v, struct conn *c)
{
	for (struct conn **p = &v->buckets[hash(c->gport, c->hport)]; *p; p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			return;
		}
}

static void pend(struct vsock *v, struct conn *c)
{
	if (c->pending)
		return;
	c->pending = true;
	c->pnext = NULL;
	if (v->ptail)
		v->ptail->pnext = c;
	else
		v->phead = c;
	v->ptail = c;
}

static void unpend(struct vsock *v, struct conn *c)
{
	struct conn **p;

	if (!c->pending)
		return;
	for (p = &v->phead; *p != c; p = &(*p)->pnext)
		;
	*p = c->pnext;
	if (v->ptail == c) {
		v->ptail = NULL;
		for (struct conn *q = v->phead; q; q = q->pnext)
			v->ptail = q;
	}
	c->pending = false;
}

/* Credit the guest has given us: bytes we may still send it. */
static uint32_t peer_credit(const struct conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

static uint64_t conn_tag(const struct vsock *v, const struct conn *c)
{
	return (uint64_t)v->gen[c->slot] << 32 | c->slot;
}

/* Puts the host socket in the epoll set with the events the state
 * calls for (or takes it out). */
static void update_interest(struct vsock *v, struct conn *c)
{
	struct epoll_event ev = { .data.u64 = conn_tag(v, c) };
	uint32_t want = 0;
	int op;

	if (c->fd < 0)
		return;
	if (c->state == C_HANDSHAKE)
		want = EPOLLIN;
	else if (c->state == C_ESTABLISHED) {
		if (!c->host_eof && !(c->guest_shutdown & SHUTDOWN_RCV) && !c->want_data &&
		    peer_credit(c))
			want |= EPOLLIN;
		if (c->used)
			want |= EPOLLOUT;
	}
	if (want == c->events)
		return;
	op = !want ? EPOLL_CTL_DEL : !c->events ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	ev.events = want;
	if (epoll_ctl(v->epfd, op, c->fd, op == EPOLL_CTL_DEL ? NULL : &ev) && op != EPOLL_CTL_DEL) {
		wisp_err("virtio-vsock: epoll: %s", strerror(errno));
		return;
	}
	c->events = want;
}

static struct conn *conn_new(struct vsock *v, int fd, uint32_t gport, uint32_t hport,
			     enum conn_state state)
{
	struct conn *c;
	unsigned s;

	if (v->nconns >= MAX_CONNS)
		return NULL;
	for (s = 0; s < MAX_CONNS && v->slots[s]; s++)
		;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->slot = s;
	c->fd = fd;
	c->gport = gport;
	c->hport = hport;
	c->state = state;
	v->slots[s] = c;
	v->nconns++;
	if (state != C_HANDSHAKE)
		hash_insert(v, c);
	return c;
}

static void conn_free(struct vsock *v, struct conn *c)
{
	unpend(v, c);
	if (c->state != C_HANDSHAKE)
		hash_remove(v, c);
	if (c->fd >= 0) {
		if (c->events)
			epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	v->slots[c->slot] = NULL;
	v->gen[c->slot]++;
	v->nconns--;
	free(c->buf);
	free(c);
}

/* A RST to the guest for (gport, hport), queued: it needs no connection. */
static void queue_rst(struct vsock *v, uint32_t gport, uint32_t hport)
{
	unsigned i;

	if (v->rst_n == RSTQ_SIZE) {
		v->stats.rst_dropped++;
		return;
	}
	i = (v->rst_head + v->rst_n++) % RSTQ_SIZE;
	v->rstq[i].gport = gport;
	v->rstq[i].hport = hport;
}

/* Ends a connection: RST to the guest if it knows of it, host socket closed. */
static void conn_reset(struct vsock *v, struct conn *c)
{
	if (c->state != C_HANDSHAKE)
		queue_rst(v, c->gport, c->hport);
	conn_free(v, c);
}

static void maybe_credit_update(struct vsock *v, struct conn *c)
{
	if (c->fwd_cnt - c->last_fwd_sent >= CONN_BUF / 4) {
		c->send_credit = true;
		pend(v, c);
	}
}

/* After the guest's data or shutdown moved: half-close the host side,
 * or finish the connection.  Returns false if c was freed. */
static bool conn_check_done(struct vsock *v, struct conn *c)
{
	if (c->state != C_ESTABLISHED || c->used)
		return true;
	if ((c->guest_shutdown & SHUTDOWN_SEND) && !c->shut_wr_done) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_done = true;
	}
	/* both directions over: the guest expects our RST (spec: clean
	 * disconnect is SHUTDOWN followed by RST from the peer) */
	if (c->guest_shutdown == (SHUTDOWN_SEND | SHUTDOWN_RCV) ||
	    (c->host_eof && !c->send_shutdown && (c->guest_shutdown & SHUTDOWN_SEND))) {
		conn_reset(v, c);
		return false;
	}
	return true;
}

/* Writes the buffered guest data to the host socket.  false if c was freed. */
static bool conn_flush(struct vsock *v, struct conn *c)
{
	while (c->used) {
		uint32_t chunk = c->used;
		ssize_t n;

		if (c->head + chunk > CONN_BUF)
			chunk = CONN_BUF - c->head;
		n = send(c->fd, c->buf + c->head, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_reset(v, c);
			return false;
		}
		c->head = (c->head + (uint32_t)n) % CONN_BUF;
		c->used -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	maybe_credit_update(v, c);
	if (!conn_check_done(v, c))
		return false;
	update_interest(v, c);
	return true;
}

/* Picks an iovec window [off, off + len) out of iov[0..n). */
static unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
			  struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = l - off < len ? l - off : len;
		len -= out[k].iov_len;
		off = 0;
		k++;
	}
	return k;
}

/* ------------------------------------------------ guest -> host (tx) */

static int connect_host_port(struct vsock *v, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, port) >=
	    (int)sizeof(sa.sun_path) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A guest packet that breaks the protocol: dropped, counted, and the
 * first few said on stderr (a hostile guest must not flood it). */
#define MALFORMED_REPORTS 8

static void malformed(struct vsock *v, const char *why)
{
	uint64_t n = ++v->stats.malformed;

	if (n <= MALFORMED_REPORTS)
		wisp_err("virtio-vsock: guest packet dropped (%s), %llu so far%s", why,
			 (unsigned long long)n,
			 n == MALFORMED_REPORTS ? "; further ones not reported" : "");
}

static void guest_request(struct vsock *v, const struct vsock_hdr *h, struct conn *c)
{
	int fd;

	if (c) {
		/* a second REQUEST on a live connection: both are over */
		malformed(v, "REQUEST on a live connection");
		conn_reset(v, c);
		return;
	}
	if (v->nconns >= MAX_CONNS || (fd = connect_host_port(v, h->dst_port)) < 0) {
		v->stats.refused++;
		queue_rst(v, h->src_port, h->dst_port);
		return;
	}
	c = conn_new(v, fd, h->src_port, h->dst_port, C_ESTABLISHED);
	if (!c) {
		close(fd);
		queue_rst(v, h->src_port, h->dst_port);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->send_response = true;
	pend(v, c);
	update_interest(v, c);
}

static void guest_response(struct vsock *v, struct conn *c)
{
	char line[24];
	int n;

	if (c->state != C_CONNECTING) {
		malformed(v, "RESPONSE to no request");
		conn_reset(v, c);
		return;
	}
	c->state = C_ESTABLISHED;
	c->send_request = false;
	n = snprintf(line, sizeof(line), "OK %u\n", c->hport);
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn_reset(v, c);
		return;
	}
	update_interest(v, c);
}

static void guest_data(struct vsock *v, const struct virtq_chain *ch, uint32_t len,
		       struct conn *c)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	unsigned n;
	size_t done = 0;

	if (c->state != C_ESTABLISHED || (c->guest_shutdown & SHUTDOWN_SEND)) {
		malformed(v, "data outside an open stream");
		conn_reset(v, c);
		return;
	}
	if (!len)
		return;
	if (c->used + (uint64_t)len > CONN_BUF) {
		/* more than the credit we gave */
		v->stats.credit_violations++;
		conn_reset(v, c);
		return;
	}
	n = iov_slice(ch->out, ch->nout, sizeof(struct vsock_hdr), len, iov);
	if (!c->used) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			conn_reset(v, c);
			return;
		}
		if (w > 0) {
			done = (size_t)w;
			c->fwd_cnt += (uint32_t)w;
		}
	}
	if (done < len) {
		size_t left = len - done;

		if (!c->buf && !(c->buf = malloc(CONN_BUF))) {
			conn_reset(v, c);
			return;
		}
		/* copy the rest into the ring, after what is there */
		while (left) {
			uint32_t tail = (c->head + c->used) % CONN_BUF;
			size_t room = CONN_BUF - tail, k;

			if (room > left)
				room = left;
			k = virtq_chain_read(ch, sizeof(struct vsock_hdr) + len - left,
					     c->buf + tail, room);
			c->used += (uint32_t)k;
			left -= k;
			if (k < room)
				break;	/* cannot happen: len was checked */
		}
	}
	maybe_credit_update(v, c);
	update_interest(v, c);
}

static void guest_shutdown(struct vsock *v, struct conn *c, uint32_t flags)
{
	if (c->state != C_ESTABLISHED) {
		conn_reset(v, c);
		return;
	}
	c->guest_shutdown |= flags & (SHUTDOWN_SEND | SHUTDOWN_RCV);
	if (c->guest_shutdown & SHUTDOWN_RCV)
		c->want_data = false;
	if (conn_check_done(v, c))
		update_interest(v, c);
}

/* One packet from the transmit queue. */
static void handle_tx(struct vsock *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	struct conn *c;

	if (virtq_chain_read(ch, 0, &h, sizeof(h)) != sizeof(h) ||
	    h.len > ch->out_len - sizeof(h) || h.src_cid != v->cid || h.dst_cid != HOST_CID) {
		malformed(v, "bad header, length or CIDs");
		return;
	}
	c = conn_find(v, h.src_port, h.dst_port);
	if (h.type != TYPE_STREAM || h.op == OP_INVALID || h.op > OP_CREDIT_REQUEST) {
		malformed(v, "bad type or op");
		if (h.op != OP_RST) {
			if (c)
				conn_reset(v, c);
			else
				queue_rst(v, h.src_port, h.dst_port);
		}
		return;
	}
	if (h.op == OP_REQUEST) {
		guest_request(v, &h, c);
		return;
	}
	if (!c) {
		/* nothing known: answer RST, but never a RST with a RST */
		if (h.op != OP_RST)
			queue_rst(v, h.src_port, h.dst_port);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case OP_RESPONSE:
		guest_response(v, c);
		return;
	case OP_RST:
		conn_free(v, c);
		return;
	case OP_SHUTDOWN:
		guest_shutdown(v, c, h.flags);
		return;
	case OP_RW:
		guest_data(v, ch, h.len, c);
		return;
	case OP_CREDIT_REQUEST:
		c->send_credit = true;
		pend(v, c);
		break;
	}
	/* CREDIT_UPDATE (and any header): the credit may have grown */
	update_interest(v, c);
}

/* ------------------------------------------------ host -> guest (rx) */

enum pkt_kind { PKT_NONE, PKT_RST, PKT_CTRL, PKT_DATA };

struct next_pkt {
	enum pkt_kind kind;
	struct conn *c;
	uint16_t op;
	uint32_t flags;
	uint32_t len;		/* PKT_DATA: bytes readable, capped by credit */
	uint32_t gport, hport;	/* PKT_RST */
};

/* What the connection at the head of the pending list sends next;
 * PKT_NONE takes it off the list (or frees it). */
static enum pkt_kind conn_next(struct vsock *v, struct conn *c, struct next_pkt *p)
{
	p->c = c;
	p->flags = 0;
	p->len = 0;
	if (c->send_request && c->state == C_CONNECTING) {
		p->op = OP_REQUEST;
		return PKT_CTRL;
	}
	if (c->send_response) {
		p->op = OP_RESPONSE;
		return PKT_CTRL;
	}
	if (c->send_credit) {
		p->op = OP_CREDIT_UPDATE;
		return PKT_CTRL;
	}
	if (c->want_data && c->state == C_ESTABLISHED && !(c->guest_shutdown & SHUTDOWN_RCV)) {
		uint32_t credit = peer_credit(c);
		int avail = 0;
		char b;

		if (credit && ioctl(c->fd, FIONREAD, &avail) == 0 && avail > 0) {
			p->op = OP_RW;
			p->len = (uint32_t)avail < credit ? (uint32_t)avail : credit;
			if (p->len > MAX_PKT)
				p->len = MAX_PKT;
			return PKT_DATA;
		}
		if (credit) {
			ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

			if (r == 0) {
				c->host_eof = true;
				c->send_shutdown = true;
			} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
				conn_reset(v, c);
				return PKT_NONE;
			}
		}
		c->want_data = false;
	}
	if (c->send_shutdown) {
		p->op = OP_SHUTDOWN;
		p->flags = SHUTDOWN_SEND;
		return PKT_CTRL;
	}
	unpend(v, c);
	update_interest(v, c);
	return PKT_NONE;
}

static bool rx_next(struct vsock *v, struct next_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (v->rst_n) {
		p->kind = PKT_RST;
		p->c = NULL;
		p->op = OP_RST;
		p->gport = v->rstq[v->rst_head].gport;
		p->hport = v->rstq[v->rst_head].hport;
		return true;
	}
	while (v->phead) {
		p->kind = conn_next(v, v->phead, p);
		if (p->kind != PKT_NONE)
			return true;
	}
	return false;
}

/* Writes packet p into the rx chain; returns the bytes written. */
static uint32_t rx_emit(struct vsock *v, struct next_pkt *p, const struct virtq_chain *ch)
{
	struct vsock_hdr h = {
		.src_cid = HOST_CID,
		.dst_cid = v->cid,
		.type = TYPE_STREAM,
		.op = p->op,
		.flags = p->flags,
		.buf_alloc = CONN_BUF,
	};
	struct conn *c = p->c;
	uint32_t len = 0;

	if (p->kind == PKT_RST) {
		v->rst_head = (v->rst_head + 1) % RSTQ_SIZE;
		v->rst_n--;
		h.src_port = p->hport;
		h.dst_port = p->gport;
		virtq_chain_write(ch, 0, &h, sizeof(h));
		return sizeof(h);
	}
	h.src_port = c->hport;
	h.dst_port = c->gport;
	if (p->kind == PKT_DATA) {
		struct iovec iov[VIRTQ_MAX_SEGS];
		uint32_t room = (uint32_t)(ch->in_len - sizeof(h));
		unsigned n;
		ssize_t r;

		if (p->len > room)
			p->len = room;
		n = iov_slice(ch->in, ch->nin, sizeof(h), p->len, iov);
		r = readv(c->fd, iov, (int)n);
		if (r > 0) {
			len = (uint32_t)r;
			c->tx_cnt += len;
		} else {
			/* nothing after all: the chain carries a credit update */
			h.op = OP_CREDIT_UPDATE;
			c->want_data = false;
		}
		/* round robin between the connections with data */
		unpend(v, c);
		if (c->want_data)
			pend(v, c);
	} else if (p->op == OP_REQUEST) {
		c->send_request = false;
	} else if (p->op == OP_RESPONSE) {
		c->send_response = false;
	} else if (p->op == OP_SHUTDOWN) {
		c->send_shutdown = false;
	}
	c->send_credit = false;
	h.len = len;
	h.fwd_cnt = c->fwd_cnt;
	c->last_fwd_sent = c->fwd_cnt;
	virtq_chain_write(ch, 0, &h, sizeof(h));
	if (p->op == OP_SHUTDOWN && !conn_check_done(v, c))
		return sizeof(h) + len;
	update_interest(v, c);
	return sizeof(h) + len;
}

/* ------------------------------------------------------- host events */

static uint32_t alloc_local_port(struct vsock *v, uint32_t gport)
{
	for (;;) {
		uint32_t p = v->next_port++;

		if (v->next_port == 0)
			v->next_port = LOCAL_PORT_BASE;
		if (!conn_find(v, gport, p))
			return p;
	}
}

/* "CONNECT <port>\n" from a host program.  Read a byte at a time (the
 * line is short) so that nothing after it is consumed, and kept in the
 * connection so a partial line does not keep the socket readable. */
static void host_handshake(struct vsock *v, struct conn *c)
{
	char *line = c->line;
	uint64_t port;

	for (;;) {
		ssize_t n = recv(c->fd, line + c->linelen, 1, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(v, c);
			return;
		}
		if (line[c->linelen] == '\n')
			break;
		if (++c->linelen == CMD_MAX) {
			conn_free(v, c);	/* no sane command is that long */
			return;
		}
	}
	line[c->linelen] = 0;
	if (c->linelen && line[c->linelen - 1] == '\r')
		line[c->linelen - 1] = 0;
	if (strncmp(line, "CONNECT ", 8) || parse_u64(line + 8, &port) || port > UINT32_MAX) {
		conn_free(v, c);
		return;
	}
	c->gport = (uint32_t)port;
	c->hport = alloc_local_port(v, c->gport);
	c->state = C_CONNECTING;
	hash_insert(v, c);
	c->peer_buf_alloc = 0;
	c->send_request = true;
	pend(v, c);
	update_interest(v, c);
}

static void host_accept(struct vsock *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		c = conn_new(v, fd, 0, 0, C_HANDSHAKE);
		if (!c) {
			v->stats.refused++;
			close(fd);
			continue;
		}
		update_interest(v, c);
		host_handshake(v, c);	/* the line may be there already */
	}
}

static void host_event(struct vsock *v, uint64_t tag, uint32_t events)
{
	unsigned slot = (unsigned)(tag & 0xffffffffu);
	struct conn *c;

	if (tag == LISTENER_TAG) {
		host_accept(v);
		return;
	}
	if (slot >= MAX_CONNS || !(c = v->slots[slot]) || v->gen[slot] != tag >> 32)
		return;		/* stale */
	if (c->state == C_HANDSHAKE) {
		host_handshake(v, c);
		return;
	}
	if (c->state != C_ESTABLISHED)
		return;
	if ((events & EPOLLOUT) || ((events & (EPOLLHUP | EPOLLERR)) && c->used)) {
		if (!conn_flush(v, c))
			return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		c->want_data = true;
		pend(v, c);
		update_interest(v, c);
	}
}

static void host_poll(struct vsock *v)
{
	struct epoll_event evs[64];
	int n = epoll_wait(v->epfd, evs, 64, 0);

	for (int i = 0; i < n; i++)
		host_event(v, evs[i].data.u64, evs[i].events);
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

static void vsock_notify(struct virtio_dev *d, unsigned qi)
{
	struct vsock *v = d->priv;

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

static int vsock_open(struct vsock *v, uint64_t cid, const char *path)
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

static void vsock_close(struct vsock *v)
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
	return virtio_pci_create(vm, &v->vdev, &info);
}

DEVICE_REGISTER(virtio_vsock) = {
	.name = "virtio-vsock",
	.summary = "virtio socket device relayed to host Unix sockets",
	.option = "vsock",
	.usage = "cid=N,socket=PATH[,iommu=on]",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vsock_config),
	.parse = vsock_parse,
	.create = vsock_create,
};

#ifdef WISP_UNIT_TEST
#include "virtio/vsock_test.h"

struct vsock *vsock_test_open(uint64_t cid, const char *path)
{
	struct vsock *v = calloc(1, sizeof(*v));

	if (v && vsock_open(v, cid, path)) {
		vsock_close(v);
		free(v);
		return NULL;
	}
	return v;
}

void vsock_test_close(struct vsock *v)
{
	vsock_close(v);
	free(v);
}

void vsock_test_tx(struct vsock *v, const void *pkt, size_t len)
{
	struct virtq_chain ch = { .nout = len ? 1 : 0, .out_len = len };

	ch.out[0].iov_base = (void *)pkt;
	ch.out[0].iov_len = len;
	handle_tx(v, &ch);
}

size_t vsock_test_rx(struct vsock *v, void *buf, size_t len)
{
	struct virtq_chain ch = { .nin = 1, .in_len = len };
	struct next_pkt p;

	ch.in[0].iov_base = buf;
	ch.in[0].iov_len = len;
	if (len < sizeof(struct vsock_hdr) || !rx_next(v, &p))
		return 0;
	return rx_emit(v, &p, &ch);
}

void vsock_test_poll(struct vsock *v)
{
	host_poll(v);
}

unsigned vsock_test_conns(const struct vsock *v)
{
	return v->nconns;
}

uint64_t vsock_test_malformed(const struct vsock *v)
{
	return v->stats.malformed;
}

uint64_t vsock_test_credit_violations(const struct vsock *v)
{
	return v->stats.credit_violations;
}
#endif
