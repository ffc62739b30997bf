// SPDX-License-Identifier: MIT
/* virtio-vsock's connection table: lookup by port pair, the list of
 * connections owing the guest a packet, credit, and teardown. */
#include "virtio/vsock/vsock.h"

/* ------------------------------------------------------- connections */

static unsigned hash(uint32_t gport, uint32_t hport)
{
	return (gport * 2654435761u ^ hport * 40503u) % NBUCKETS;
}

struct conn *conn_find(struct vsock *v, uint32_t gport, uint32_t hport)
{
	for (struct conn *c = v->buckets[hash(gport, hport)]; c; c = c->hnext)
		if (c->gport == gport && c->hport == hport)
			return c;
	return NULL;
}

void hash_insert(struct vsock *v, struct conn *c)
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

void pend(struct vsock *v, struct conn *c)
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

void unpend(struct vsock *v, struct conn *c)
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

static uint64_t conn_tag(const struct vsock *v, const struct conn *c)
{
	return (uint64_t)v->gen[c->slot] << 32 | c->slot;
}

/* Puts the host socket in the epoll set with the events the state
 * calls for (or takes it out). */
void update_interest(struct vsock *v, struct conn *c)
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

struct conn *conn_new(struct vsock *v, int fd, uint32_t gport, uint32_t hport,
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

void conn_free(struct vsock *v, struct conn *c)
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
void queue_rst(struct vsock *v, uint32_t gport, uint32_t hport)
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
void conn_reset(struct vsock *v, struct conn *c)
{
	if (c->state != C_HANDSHAKE)
		queue_rst(v, c->gport, c->hport);
	conn_free(v, c);
}

/* After the guest's data or shutdown moved: half-close the host side,
 * or finish the connection.  Returns false if c was freed. */
bool conn_check_done(struct vsock *v, struct conn *c)
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

