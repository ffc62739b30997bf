/* SPDX-License-Identifier: MIT */
/* A hook into virtio/net.c for the fuzzers and unit tests (built only
 * with WISP_UNIT_TEST): with net_test_fake_tap set before create(), each
 * TAP queue is one end of a SOCK_SEQPACKET pair instead (frames keep
 * their boundaries, as on a TAP), and the other end is handed to the
 * test in net_test_peer[] -- no privileges, no interface. */
#ifndef WISP_VIRTIO_NET_TEST_H
#define WISP_VIRTIO_NET_TEST_H

#include <stdbool.h>

#define NET_TEST_MAX_PEERS 16

#ifdef WISP_UNIT_TEST
/* virtio/net_test_hooks.c */
extern bool net_test_fake_tap;
extern int net_test_peer[NET_TEST_MAX_PEERS];
extern unsigned net_test_npeers;
/* A new fake TAP queue: one end of a fresh pair (the other goes to
 * net_test_peer[]), its name in actual (IFNAMSIZ); -1 when out of room. */
int net_test_tap(char *actual);
#else
/* in wisp, the code that uses them folds away */
#define net_test_fake_tap false
static inline int net_test_tap(char *actual)
{
	return -1;
}
#endif

#endif
