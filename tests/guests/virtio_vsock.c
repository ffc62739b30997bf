/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock from the guest side (virtio 1.2, 5.10), with the host
 * side scripted by tests/direct/vsock_host.c:
 *   1. guest_cid from config space;
 *   2. the host program connects (CONNECT 1234): a REQUEST from cid 2
 *      arrives, we answer RESPONSE, receive "ping", send "pong", get
 *      SHUTDOWN when the host closes, send SHUTDOWN and get RST;
 *   3. we connect to host port 5678, send "hello\n", get "world\n",
 *      then the same clean close;
 *   4. host port 5679 has no listener: RST;
 *   5. hostile packets (short, wrong dst_cid) are dropped, data for an
 *      unknown connection gets RST.
 * Only the rx and tx queues are set up (the event queue stays off).
 */
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19
#define VECTOR_BASE 0x50
#define QSIZE 8
#define NRX 6
#define BUFSZ 128
#define TIMEOUT_MS 20000

enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __packed;

static struct virtio_dev dev;
static uint8_t rxbuf[NRX][BUFSZ] __attribute__((aligned(64)));
static uint8_t txbuf[BUFSZ] __attribute__((aligned(64)));
static int rxhead[NRX];
static uint64_t cid;
static uint32_t fwd;	/* bytes we consumed on the current connection */

static void post_rx(unsigned i)
{
	struct vq_buf b = { rxbuf[i], BUFSZ };

	rxhead[i] = vq_add(&dev.vq[0], &b, 0, 1);
	CHECK(rxhead[i] >= 0, "no descriptor for rx buffer %u", i);
}

/* The next packet from the device: header into *h, data into data. */
static void recv_pkt(struct hdr *h, char *data, const char *what)
{
	struct vq *vq = &dev.vq[0];
	uint32_t id, len;
	unsigned i;

	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false), "%s: nothing received in %u ms",
	      what, TIMEOUT_MS);
	CHECK(vq_get_used(vq, &id, &len), "%s: no used entry", what);
	for (i = 0; i < NRX && rxhead[i] != (int)id; i++)
		;
	CHECK(i < NRX, "%s: used id %u is not an rx buffer", what, id);
	CHECK(len >= sizeof(*h), "%s: used len %u", what, len);
	memcpy(h, rxbuf[i], sizeof(*h));
	CHECK(h->len == len - sizeof(*h), "%s: header len %u, used len %u", what, h->len, len);
	CHECK(h->src_cid == 2 && h->dst_cid == cid && h->type == 1,
	      "%s: src_cid %lu dst_cid %lu type %u", what, h->src_cid, h->dst_cid, h->type);
	if (data) {
		memcpy(data, rxbuf[i] + sizeof(*h), h->len);
		data[h->len] = 0;
	}
	fwd += h->len;
	post_rx(i);
	vq_kick(&dev, vq);
}

static void send_raw(const void *p, uint32_t n)
{
	struct vq *vq = &dev.vq[1];
	struct vq_buf b = { txbuf, n };
	uint32_t id, len;

	memcpy(txbuf, p, n);
	CHECK(vq_add(vq, &b, 1, 0) >= 0, "no tx descriptor");
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, false), "tx packet not used");
	vq_get_used(vq, &id, &len);
}

static void send_pkt(uint16_t op, uint32_t sport, uint32_t dport, uint32_t flags,
		     const char *data)
{
	uint8_t p[BUFSZ];
	struct hdr h = { cid, 2, sport, dport, data ? (uint32_t)strlen(data) : 0, 1, op,
			 flags, 4096, fwd };

	memcpy(p, &h, sizeof(h));
	if (data)
		memcpy(p + sizeof(h), data, h.len);
	send_raw(p, sizeof(h) + h.len);
}

static void expect(struct hdr *h, char *data, uint16_t op, uint32_t sport, uint32_t dport,
		   const char *what)
{
	recv_pkt(h, data, what);
	/* credit updates may come in between */
	while (h->op == CREDIT_UPDATE)
		recv_pkt(h, data, what);
	CHECK(h->op == op && h->src_port == sport && h->dst_port == dport,
	      "%s: op %u %u->%u, want op %u %u->%u", what, h->op, h->src_port, h->dst_port, op,
	      sport, dport);
}

/* The host closed its side: SHUTDOWN to us, ours back, then RST. */
static void clean_close(uint32_t gport, uint32_t hport, const char *what)
{
	struct hdr h;

	expect(&h, NULL, SHUTDOWN, hport, gport, what);
	CHECK(h.flags & 2, "%s: SHUTDOWN flags %u without SEND", what, h.flags);
	send_pkt(SHUTDOWN, gport, hport, 3, NULL);
	expect(&h, NULL, RST, hport, gport, what);
}

void guest_main(const struct hvm_start_info *si)
{
	char data[BUFSZ];
	struct hdr h;
	uint32_t hport;

	(void)si;
	virtio_find(&dev, VIRTIO_ID_VSOCK, VECTOR_BASE);
	CHECK(virtio_cc_read16(&dev, VIRTIO_CC_NUMQ) == 3, "num_queues %u, want 3",
	      virtio_cc_read16(&dev, VIRTIO_CC_NUMQ));
	virtio_init(&dev, VIRTIO_F(VIRTIO_F_VERSION_1));
	cid = mmio_read32(dev.device) | (uint64_t)mmio_read32(dev.device + 4) << 32;
	printf("VSOCK guest_cid=%lu features 0x%lx\n", cid, virtio_device_features(&dev));
	virtio_msix_setup(&dev);
	vq_setup(&dev, 0, QSIZE, VIRTIO_NO_VECTOR);
	vq_setup(&dev, 1, QSIZE, VIRTIO_NO_VECTOR);
	virtio_driver_ok(&dev);
	for (unsigned i = 0; i < NRX; i++)
		post_rx(i);
	vq_kick(&dev, &dev.vq[0]);
	printf("VSOCK ready\n");

	/* 2: the host connects to port 1234 */
	recv_pkt(&h, NULL, "host connect");
	hport = h.src_port;
	CHECK(h.op == REQUEST && h.dst_port == 1234, "host connect: op %u to port %u", h.op,
	      h.dst_port);
	fwd = 0;
	send_pkt(RESPONSE, 1234, hport, 0, NULL);
	expect(&h, data, RW, hport, 1234, "ping");
	CHECK(!strcmp(data, "ping"), "received '%s', want 'ping'", data);
	send_pkt(RW, 1234, hport, 0, "pong");
	clean_close(1234, hport, "host close");
	printf("VSOCK accepted host port %u: ping -> pong, closed\n", hport);

	/* 3: we connect to host port 5678 */
	fwd = 0;
	send_pkt(REQUEST, 2000, 5678, 0, NULL);
	expect(&h, NULL, RESPONSE, 5678, 2000, "connect 5678");
	send_pkt(RW, 2000, 5678, 0, "hello\n");
	expect(&h, data, RW, 5678, 2000, "world");
	CHECK(!strcmp(data, "world\n"), "received '%s', want 'world\\n'", data);
	clean_close(2000, 5678, "5678 close");
	printf("VSOCK connected to host port 5678: hello -> world, closed\n");

	/* 4: nobody listens on 5679 */
	send_pkt(REQUEST, 2001, 5679, 0, NULL);
	expect(&h, NULL, RST, 5679, 2001, "connect 5679");
	printf("VSOCK host port 5679 refused: RST\n");

	/* 5: hostile packets, then data for no connection */
	{
		struct hdr bad = { cid, 7, 2002, 4242, 0, 1, RW, 0, 4096, 0 };

		send_raw(&bad, 20);
		send_raw(&bad, sizeof(bad));
		bad.dst_cid = 2;
		bad.len = 1000;
		send_raw(&bad, sizeof(bad));
	}
	send_pkt(RW, 2002, 4243, 0, "x");
	expect(&h, NULL, RST, 4243, 2002, "unknown connection");
	printf("VSOCK hostile packets dropped, unknown connection: RST\n");
	CHECK(!(virtio_status(&dev) & VIRTIO_STATUS_NEEDS_RESET), "NEEDS_RESET set");
	pass();
}
