// SPDX-License-Identifier: MIT
/* virtio-vsock's host side: the listening socket, the "CONNECT <port>"
 * handshake and the events of the connection sockets. */
#include "virtio/vsock/vsock.h"

/* ------------------------------------------------------- host events */

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

void host_poll(struct vsock *v)
{
	struct epoll_event evs[64];
	int n = epoll_wait(v->epfd, evs, 64, 0);

	for (int i = 0; i < n; i++)
		host_event(v, evs[i].data.u64, evs[i].events);
}
