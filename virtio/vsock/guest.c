// SPDX-License-Identifier: MIT
/* virtio-vsock's packets from the guest (tx: checked, then acted on)
 * and to it (rx: the next control or data packet owed). */
#include "virtio/vsock/vsock.h"

/* ------------------------------------------------ guest -> host (tx) */

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

static int connect_host_port(struct vsock *v, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->file.path, port) >=
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
void handle_tx(struct vsock *v, const struct virtq_chain *ch)
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

bool rx_next(struct vsock *v, struct next_pkt *p)
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
uint32_t rx_emit(struct vsock *v, struct next_pkt *p, const struct virtq_chain *ch)
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
