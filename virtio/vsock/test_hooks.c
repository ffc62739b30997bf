// SPDX-License-Identifier: MIT
/* virtio/vsock/vsock_test.h's hooks: built for the unit tests and
 * fuzzers only (test-y in virtio/Kbuild). */
#include <stdlib.h>

#include "virtio/vsock/vsock.h"
#include "virtio/vsock/vsock_test.h"

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
