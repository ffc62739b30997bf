// SPDX-License-Identifier: MIT
/* vhost-user when the back-end goes away: the socket closed, the
 * connection retried on a timer, the rings given back once it returns;
 * and the eventfds the back-end signals on. */
#include "vhost/vhost_user/vu.h"

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
void disconnect(struct vhost_user_dev *v, const char *why)
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
int watch_socket(struct vhost_user_dev *v)
{
	return event_add(v->vm->loop, v->sock, EPOLLRDHUP, on_socket_hangup, v);
}

/* Starting the rings failed.  A back-end that said no (REPLY_ACK) is
 * still there and will say no again: the device needs a reset.  Any
 * other failure is a broken connection: reconnect. */
void rings_failed(struct vhost_user_dev *v, const char *err)
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
void on_reconnect_timer(void *opaque, uint32_t events)
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
	v->sock = v->listen_fd >= 0 ? accept_socket(v->listen_fd, err, sizeof(err)) :
				       connect_socket(v->socket, err, sizeof(err));
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

int queue_fds(struct vhost_user_dev *v, unsigned q)
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
