// SPDX-License-Identifier: MIT
/*
 * vhost_fake: a misbehaving vhost-user back-end for the direct tests'
 * bad-input cases (tests/direct/vhost.sh).  It listens on SOCKET, serves
 * one connection the way MODE says, and exits.  A static C program (built
 * by tests/guests/Makefile into GUEST_DIR/host/) so that a host with KVM
 * and the nested lab's host, which has no Python, run the same back-end.
 *
 *   vhost_fake SOCKET MODE
 * MODE:
 *   close       closes the connection at the first request
 *   garbage     answers GET_FEATURES with a message that is no reply
 *   short       answers GET_FEATURES with 3 payload bytes
 *   old         offers no VIRTIO_F_VERSION_1
 *   noconfig    a block back-end that does not offer GET_CONFIG
 *   zero        a block back-end whose capacity is 0
 *   fds         answers GET_FEATURES with a file descriptor attached
 *   silent      never answers
 *   owner       closes the connection at SET_OWNER (mid-negotiation)
 *   runtime     negotiates properly, then closes the connection when the
 *               driver starts the device (SET_FEATURES)
 *   onepair     a net back-end with multiqueue (protocol feature MQ,
 *               VIRTIO_NET_F_MQ) that serves one queue pair
 *   inflight    a block back-end with INFLIGHT_SHMFD that "dies" once the
 *               driver starts the device (after SET_MEM_TABLE), leaving
 *               a marker in the inflight memory it gave wisp; its
 *               successor (the next connection) checks that wisp hands
 *               that same memory back with SET_INFLIGHT_FD and asks for
 *               no new one.  It prints its findings, "INFLIGHT ...".
 *   dead        binds SOCKET and exits without listening: a socket file
 *               nobody answers on (connect gets ECONNREFUSED)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5,
	GET_VRING_BASE = 11, GET_PROTOCOL_FEATURES = 15, GET_QUEUE_NUM = 17,
	GET_CONFIG = 24, GET_INFLIGHT_FD = 31, SET_INFLIGHT_FD = 32,
};
#define VERSION_1 (1ull << 32)
#define PROTOCOL_FEATURES (1ull << 30)
#define NET_F_MQ (1ull << 22)
#define F_MQ (1ull << 0)
#define F_CONFIG (1ull << 9)
#define F_INFLIGHT (1ull << 12)
/* a read-only disk: SEG_MAX, RO, BLK_SIZE, FLUSH */
#define BLK_FEATURES ((1ull << 2) | (1ull << 5) | (1ull << 6) | (1ull << 9))
/* flags of every reply: version 1, the reply bit */
#define REPLY_FLAGS 0x5u
#define HDR_SIZE 12
#define MAX_FDS 8
#define MAX_PAYLOAD 4096
/* VhostUserInflight: mmap_size, mmap_offset (u64), num_queues, queue_size
 * (u16), then 4 bytes of padding */
#define INFLIGHT_SIZE 24

static void die(const char *what)
{
	fprintf(stderr, "vhost_fake: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* little-endian fields: the protocol's byte order, whatever the host's */
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

struct msg {
	uint32_t req, size;
	uint8_t payload[MAX_PAYLOAD];
	int fds[MAX_FDS];
	int nfds;
};

/*
 * One request, with the file descriptors that came with it: 1, or 0 at
 * the end of the connection.  The descriptors ride on the header's bytes
 * (wisp sends each message in one sendmsg).
 */
static int recv_msg(int conn, struct msg *m)
{
	uint8_t hdr[HDR_SIZE];
	size_t got = 0;

	m->nfds = 0;
	while (got < HDR_SIZE) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		} ctl;
		struct iovec iov = { hdr + got, HDR_SIZE - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				if (m->nfds < MAX_FDS)
					m->fds[m->nfds++] = fd;
				else
					close(fd);
			}
		}
		got += (size_t)n;
	}
	m->req = get32(hdr);
	m->size = get32(hdr + 8);
	if (m->size > MAX_PAYLOAD) {
		fprintf(stderr, "vhost_fake: request %u with %u payload bytes\n", m->req, m->size);
		exit(1);
	}
	for (got = 0; got < m->size;) {
		ssize_t n = recv(conn, m->payload + got, m->size - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

static void close_fds(struct msg *m)
{
	for (int i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

/* a reply to REQ with LEN payload bytes; FD (>= 0) attached */
static void reply_fd(int conn, uint32_t req, const void *payload, uint32_t len, int fd)
{
	uint8_t buf[HDR_SIZE + MAX_PAYLOAD];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, HDR_SIZE + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	put32(buf, req);
	put32(buf + 4, REPLY_FLAGS);
	put32(buf + 8, len);
	memcpy(buf + HDR_SIZE, payload, len);
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	/* wisp may have gone already (it refused us): that is no error here */
	if (sendmsg(conn, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		die("sendmsg");
}

static void reply(int conn, uint32_t req, const void *payload, uint32_t len)
{
	reply_fd(conn, req, payload, len, -1);
}

static void reply_u64(int conn, uint32_t req, uint64_t v)
{
	uint8_t p[8];

	put64(p, v);
	reply(conn, req, p, sizeof(p));
}

/* GET_CONFIG: the request's offset, size and flags, then the block
 * configuration (capacity, seg_max 126, blk_size 512) cut to that size */
static void reply_blk_config(int conn, const struct msg *m, uint64_t capacity)
{
	uint8_t cfg[256] = { 0 }, out[12 + sizeof(cfg)];
	uint32_t len;

	if (m->size < 12) {
		fprintf(stderr, "vhost_fake: GET_CONFIG with %u bytes\n", m->size);
		exit(1);
	}
	len = get32(m->payload + 4);
	if (len > sizeof(cfg)) {
		fprintf(stderr, "vhost_fake: GET_CONFIG for %u bytes\n", len);
		exit(1);
	}
	put64(cfg, capacity);
	put32(cfg + 12, 126);
	put32(cfg + 20, 512);
	memcpy(out, m->payload, 12);
	memcpy(out + 12, cfg, len);
	reply(conn, GET_CONFIG, out, 12 + len);
}

static int listen_on(const char *path, int do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vhost_fake: socket path too long: %s\n", path);
		exit(1);
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die(path);
	if (do_listen && listen(fd, 1))
		die("listen");
	return fd;
}

static int accept_one(int srv)
{
	int fd;

	do
		fd = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die("accept");
	return fd;
}

static void inflight(int srv)
{
	static struct msg m;
	char marker[64];
	size_t mlen = (size_t)snprintf(marker, sizeof(marker), "WISP-INFLIGHT-%d", (int)getpid());

	for (int n = 1; n <= 2; n++) {
		int conn = accept_one(srv), open = 1;

		while (open && recv_msg(conn, &m)) {
			switch (m.req) {
			case GET_FEATURES:
				reply_u64(conn, m.req, VERSION_1 | PROTOCOL_FEATURES | BLK_FEATURES);
				break;
			case GET_PROTOCOL_FEATURES:
				reply_u64(conn, m.req, F_CONFIG | F_INFLIGHT);
				break;
			case GET_CONFIG:
				reply_blk_config(conn, &m, 8192);
				break;
			case GET_VRING_BASE: {
				/* the queue's index as asked, its next avail index 0 */
				uint8_t p[8] = { 0 };

				memcpy(p, m.payload, m.size < 4 ? m.size : 4);
				reply(conn, m.req, p, sizeof(p));
				break;
			}
			case GET_INFLIGHT_FD: {
				uint8_t p[INFLIGHT_SIZE] = { 0 }, page[4096] = { 0 };
				int region;

				if (m.size < INFLIGHT_SIZE) {
					fprintf(stderr, "vhost_fake: GET_INFLIGHT_FD with %u bytes\n", m.size);
					exit(1);
				}
				printf("INFLIGHT connection %d: GET_INFLIGHT_FD for %u queue(s) of %u\n",
				       n, get16(m.payload + 16), get16(m.payload + 18));
				fflush(stdout);
				region = memfd_create("inflight", MFD_CLOEXEC);
				if (region < 0)
					die("memfd_create");
				memcpy(page, marker, mlen);
				if (write(region, page, sizeof(page)) != (ssize_t)sizeof(page))
					die("writing the inflight region");
				put64(p, sizeof(page));
				memcpy(p + 16, m.payload + 16, 4);	/* queues, queue size */
				reply_fd(conn, m.req, p, sizeof(p), region);
				close(region);
				break;
			}
			case SET_INFLIGHT_FD: {
				char got[64] = "";
				ssize_t r = -1;

				if (m.size < INFLIGHT_SIZE) {
					fprintf(stderr, "vhost_fake: SET_INFLIGHT_FD with %u bytes\n", m.size);
					exit(1);
				}
				if (m.nfds == 1)
					r = pread(m.fds[0], got, mlen, (off_t)get64(m.payload + 8));
				printf("INFLIGHT connection %d: SET_INFLIGHT_FD with %d fd(s), %llu bytes, ",
				       n, m.nfds, (unsigned long long)get64(m.payload));
				if (r == (ssize_t)mlen && !memcmp(got, marker, mlen))
					printf("the region holding our marker\n");
				else
					printf("another region '%.*s'\n", r > 0 ? (int)r : 0, got);
				fflush(stdout);
				break;
			}
			case SET_MEM_TABLE:
				/* the first back-end dies with the driver's
				 * requests "in flight" */
				if (n == 1)
					open = 0;
				break;
			}
			close_fds(&m);
		}
		close(conn);
		printf("INFLIGHT connection %d: closed\n", n);
		fflush(stdout);
	}
	close(srv);
}

/* a typo in tests/direct/vhost.sh must not pass as a well-behaved back-end */
static int known_mode(const char *mode)
{
	static const char *const modes[] = {
		"close", "garbage", "short", "old", "noconfig", "zero", "fds", "silent",
		"owner", "runtime", "onepair", "inflight", "dead",
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(mode, modes[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct msg m;
	const char *path, *mode;
	uint64_t protocol;
	int srv, conn;

	if (argc != 3) {
		fprintf(stderr, "usage: vhost_fake SOCKET MODE\n");
		return 2;
	}
	path = argv[1];
	mode = argv[2];
	if (!known_mode(mode)) {
		fprintf(stderr, "vhost_fake: unknown mode '%s'\n", mode);
		return 2;
	}
	if (!strcmp(mode, "dead")) {
		listen_on(path, 0);
		return 0;
	}
	srv = listen_on(path, 1);
	if (!strcmp(mode, "inflight")) {
		inflight(srv);
		return 0;
	}
	conn = accept_one(srv);
	close(srv);
	protocol = F_CONFIG | (!strcmp(mode, "onepair") ? F_MQ : 0);
	while (recv_msg(conn, &m)) {
		close_fds(&m);
		if (!strcmp(mode, "close") || (!strcmp(mode, "owner") && m.req == SET_OWNER) ||
		    (!strcmp(mode, "runtime") && m.req == SET_FEATURES)) {
			close(conn);
			/* runtime: stay away, so that wisp keeps retrying */
			if (!strcmp(mode, "runtime"))
				sleep(30);
			return 0;
		}
		if (!strcmp(mode, "silent")) {
			sleep(30);
			return 0;
		}
		switch (m.req) {
		case GET_FEATURES:
			if (!strcmp(mode, "garbage")) {
				uint8_t junk[32];

				for (size_t i = 0; i < sizeof(junk); i += 4)
					memcpy(junk + i, "\xde\xad\xbe\xef", 4);
				if (send(conn, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
					die("send");
			} else if (!strcmp(mode, "short")) {
				reply(conn, m.req, "abc", 3);
			} else if (!strcmp(mode, "fds")) {
				uint8_t p[8];

				put64(p, VERSION_1);
				reply_fd(conn, m.req, p, sizeof(p), STDIN_FILENO);
			} else if (!strcmp(mode, "old")) {
				reply_u64(conn, m.req, PROTOCOL_FEATURES);
			} else if (!strcmp(mode, "onepair")) {
				reply_u64(conn, m.req, VERSION_1 | PROTOCOL_FEATURES | NET_F_MQ);
			} else {
				reply_u64(conn, m.req, VERSION_1 | PROTOCOL_FEATURES | BLK_FEATURES);
			}
			break;
		case GET_PROTOCOL_FEATURES:
			reply_u64(conn, m.req, !strcmp(mode, "noconfig") ? 0 : protocol);
			break;
		case GET_QUEUE_NUM:
			reply_u64(conn, m.req, 1);
			break;
		case GET_CONFIG:
			reply_blk_config(conn, &m, !strcmp(mode, "zero") ? 0 : 8192);
			break;
		}
		/* other requests (SET_OWNER, SET_PROTOCOL_FEATURES) need no reply */
	}
	return 0;
}
