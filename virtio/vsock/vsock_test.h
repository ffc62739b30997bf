/* SPDX-License-Identifier: MIT */
/* Packet-level hooks into virtio/vsock/ for tests/unit/test_vsock.c
 * (built only with WISP_UNIT_TEST): the connection state machine without
 * a VM, with chains made of the caller's buffers. */
#ifndef WISP_VIRTIO_VSOCK_TEST_H
#define WISP_VIRTIO_VSOCK_TEST_H

#include <stddef.h>
#include <stdint.h>

struct vsock;

struct vsock *vsock_test_open(uint64_t cid, const char *path);
void vsock_test_close(struct vsock *v);
void vsock_test_tx(struct vsock *v, const void *pkt, size_t len);
size_t vsock_test_rx(struct vsock *v, void *buf, size_t len);
void vsock_test_poll(struct vsock *v);
unsigned vsock_test_conns(const struct vsock *v);
uint64_t vsock_test_malformed(const struct vsock *v);
uint64_t vsock_test_credit_violations(const struct vsock *v);

#endif
