// SPDX-License-Identifier: MIT
/* virtio/net_test.h's fake TAP: built for the unit tests and fuzzers
 * only (test-y in virtio/Kbuild). */
#include <linux/if.h>
#include <stdio.h>
#include <sys/socket.h>

#include "virtio/net_test.h"

bool net_test_fake_tap;
int net_test_peer[NET_TEST_MAX_PEERS];
unsigned net_test_npeers;

int net_test_tap(char *actual)
{
	int sv[2];

	if (net_test_npeers == NET_TEST_MAX_PEERS ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -1;
	net_test_peer[net_test_npeers++] = sv[1];
	snprintf(actual, IFNAMSIZ, "fake%u", net_test_npeers);
	return sv[0];
}
