/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2, 5.10 "Socket Device"), stream sockets only,
 * relayed to host Unix sockets in the "hybrid" model Firecracker and
 * cloud-hypervisor document:
 *
 *  - wisp listens on socket=PATH.  A host program connects there and
 *    writes "CONNECT <port>\n"; wisp sends the guest a REQUEST from
 *    (cid 2, a local port it allocates) to that port and, once the
 *    guest answers RESPONSE, writes "OK <local port>\n" to the program
 *    and relays bytes both ways.  A RST instead closes the connection.
 *  - A guest connecting to host port P (REQUEST to cid 2) is connected
 *    to the Unix socket PATH_P; when nothing listens there it gets RST.
 *
 * Flow control is the spec's credit scheme: each side advertises
 * buf_alloc and fwd_cnt in every header.  wisp sends the guest no more
 * than its credit allows, and only reads a host socket while the guest
 * has credit and the connection has no packet already waiting for a
 * receive buffer (the socket then leaves the epoll set, so data waits
 * in the host kernel instead of being dropped).  Guest data the host
 * socket cannot take at once waits in a per-connection buffer of
 * CONN_BUF bytes, which is the buf_alloc wisp advertises; fwd_cnt grows
 * as the host side consumes it.
 *
 * The guest is hostile: every header field is checked, packets that
 * make no sense (short header, len beyond the chain, wrong type or
 * CIDs, unknown op) are dropped and counted, a guest overrunning the
 * credit it was given has its connection reset, and at most MAX_CONNS
 * connections exist at once.
 *
 * Threads: kicks and the host sockets are served on the event loop
 * thread; device reset comes from a vCPU thread.  All of it runs under
 * the device lock.  Connection sockets live in the device's own epoll
 * set (one watch in the main loop), tagged by slot and generation, and
 * events are fetched under the lock, so a connection freed by a reset
 * can never be reached through a stale event.
 *
 * The device is split along its seams: the connection table (conn.c),
 * the guest's packets both ways (guest.c), the host sockets (host.c),
 * the virtio device and its creation (device.c).  This header is theirs
 * alone.
 */
#ifndef WISP_VIRTIO_VSOCK_VSOCK_H
#define WISP_VIRTIO_VSOCK_VSOCK_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/socket_file.h"
#include "core/seccomp.h"
#include "core/device.h"
#include "core/file.h"
#include "core/event.h"
#include "core/kv.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define RX_QUEUE 0
#define TX_QUEUE 1
#define EVENT_QUEUE 2
#define QUEUE_SIZE 256
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

#define VSOCK_F_STREAM 0

#define HOST_CID 2
#define TYPE_STREAM 1

#define OP_INVALID 0
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7

#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2

#define MAX_CONNS 1024
#define CONN_BUF (64 * 1024)	/* our buf_alloc, per connection */
#define MAX_PKT (64 * 1024)	/* payload per packet to the guest */
#define NBUCKETS 256
#define RSTQ_SIZE (2 * MAX_CONNS)
#define CMD_MAX 32		/* "CONNECT 4294967295\r\n" fits */
#define LOCAL_PORT_BASE (1u << 30)
#define PORT_SUFFIX 11		/* "_4294967295" */
#define LISTENER_TAG UINT64_MAX

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes");

struct vsock_config {
	uint64_t cid;
	const char *socket;
	bool iommu;
	const char *id;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
};

enum conn_state {
	C_HANDSHAKE,	/* host connected, waiting for "CONNECT <port>\n" */
	C_CONNECTING,	/* REQUEST to the guest sent or queued */
	C_ESTABLISHED,
};

struct conn {
	struct conn *hnext;		/* hash chain */
	struct conn *pnext;		/* pending list (has a packet for the guest) */
	bool pending;
	unsigned slot;
	uint32_t gport, hport;		/* guest's and host side's ports */
	int fd;
	enum conn_state state;
	uint32_t events;		/* epoll interest, 0: not in the set */
	/* packets owed to the guest */
	bool send_request, send_response, send_credit, send_shutdown;
	bool want_data;			/* the host socket was readable */
	bool host_eof;			/* read 0 from the host socket */
	bool shut_wr_done;
	unsigned guest_shutdown;	/* SHUTDOWN flags the guest sent */
	/* guest's credit */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* our receive side */
	uint32_t fwd_cnt, last_fwd_sent;
	uint8_t *buf;			/* CONN_BUF ring, allocated on demand */
	uint32_t head, used;
	unsigned linelen;		/* C_HANDSHAKE: the line so far */
	char line[CMD_MAX + 1];
};

struct vsock_stats {
	uint64_t malformed;		/* dropped guest packets */
	uint64_t bad_rx_buffers;	/* rx chains too small for a header */
	uint64_t credit_violations;
	uint64_t refused;		/* over MAX_CONNS, or no listener */
	uint64_t rst_dropped;		/* RST queue full */
};

struct vsock {
	struct virtio_dev vdev;
	uint64_t cfg_cid;		/* config space: le64 guest_cid */
	uint64_t cid;
	struct socket_file file;	/* the host side's listening socket */
	int listen_fd, epfd;
	unsigned nconns;
	struct conn *slots[MAX_CONNS];
	uint32_t gen[MAX_CONNS];
	struct conn *buckets[NBUCKETS];
	struct conn *phead, *ptail;
	struct { uint32_t gport, hport; } rstq[RSTQ_SIZE];
	unsigned rst_head, rst_n;
	uint32_t next_port;
	/* restored from a snapshot: the guest's connections are gone, and
	 * a TRANSPORT_RESET event on the event queue tells it so */
	bool reset_event_owed;
	struct vsock_stats stats;
};

/* The next packet owed to the guest (rx). */
enum pkt_kind { PKT_NONE, PKT_RST, PKT_CTRL, PKT_DATA };

struct next_pkt {
	enum pkt_kind kind;
	struct conn *c;
	uint16_t op;
	uint32_t flags;
	uint32_t len;		/* PKT_DATA: bytes readable, capped by credit */
	uint32_t gport, hport;	/* PKT_RST */
};

/* Shared between the files of virtio/vsock/. */
struct conn *conn_find(struct vsock *v, uint32_t gport, uint32_t hport);
void hash_insert(struct vsock *v, struct conn *c);
void pend(struct vsock *v, struct conn *c);
void unpend(struct vsock *v, struct conn *c);
void update_interest(struct vsock *v, struct conn *c);
struct conn *conn_new(struct vsock *v, int fd, uint32_t gport, uint32_t hport,
		      enum conn_state state);
void conn_free(struct vsock *v, struct conn *c);
void queue_rst(struct vsock *v, uint32_t gport, uint32_t hport);
void conn_reset(struct vsock *v, struct conn *c);
bool conn_check_done(struct vsock *v, struct conn *c);
void handle_tx(struct vsock *v, const struct virtq_chain *ch);
bool rx_next(struct vsock *v, struct next_pkt *p);
uint32_t rx_emit(struct vsock *v, struct next_pkt *p, const struct virtq_chain *ch);
void host_poll(struct vsock *v);
int vsock_open(struct vsock *v, uint64_t cid, const char *path);
void vsock_close(struct vsock *v);

/* Small enough to be worth a copy in each caller's file. */
/* Credit the guest has given us: bytes we may still send it. */
static inline uint32_t peer_credit(const struct conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

static inline void maybe_credit_update(struct vsock *v, struct conn *c)
{
	if (c->fwd_cnt - c->last_fwd_sent >= CONN_BUF / 4) {
		c->send_credit = true;
		pend(v, c);
	}
}

#endif
