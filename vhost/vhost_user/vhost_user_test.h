/* SPDX-License-Identifier: MIT */
/*
 * A hook into vhost/vhost_user/ for tests/fuzz/fuzz_vhost_user.c
 * (built only with WISP_UNIT_TEST): the messages of one connection
 * without a VM, on a socket whose other end the caller plays the
 * back-end on -- the handshake (features, protocol features, queue
 * count, SET_OWNER), GET_CONFIG when the parameters ask for the
 * back-end's config, the inflight memory (GET/SET_INFLIGHT_FD) when they
 * ask for that, then the GET_VRING_BASE of a reset for the first
 * `started` queues.  The same functions wisp runs check every reply.
 */
#ifndef WISP_VHOST_VHOST_USER_TEST_H
#define WISP_VHOST_VHOST_USER_TEST_H

#include "vhost/vhost_user.h"

struct vu_test_result {
	uint64_t backend_features;
	uint64_t protocol_features;	/* negotiated */
	uint8_t config[VU_MAX_CONFIG];	/* p->config_len bytes from GET_CONFIG */
};

/* 0, or -1 with err set: what create or a reconnection would report. */
int vu_test_session(int sock, const struct vhost_user_params *p, unsigned started,
		    struct vu_test_result *r, char *err, size_t errlen);

/* Inflight tracking: the handshake, then what `starts` starts of the
 * rings send about it (the first one and reconnections).  The
 * descriptor wisp keeps goes to *fd (-1: none; the caller closes it). */
int vu_test_inflight(int sock, const struct vhost_user_params *p, unsigned starts, int *fd,
		     char *err, size_t errlen);

#endif
