// SPDX-License-Identifier: MIT
/* vhost/vhost_user/vhost_user_test.h's hooks: built for the unit tests
 * and fuzzers only (test-y in vhost/Kbuild). */
#include <stdlib.h>

#include "vhost/vhost_user/vu.h"
#include "vhost/vhost_user/vhost_user_test.h"

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
