// SPDX-License-Identifier: MIT
/*
 * vhost-user replies from a hostile back-end (vhost/vhost_user/): the
 * fuzzer plays the back-end on a socket pair and wisp's front end runs
 * the messages of a connection (vu_test_session: the handshake,
 * GET_CONFIG, GET_INFLIGHT_FD, the GET_VRING_BASE of a reset) against
 * it.
 *
 * Input: one byte of device parameters, one of config length, then the
 * back-end's byte stream as segments -- a 16-bit length, a byte saying
 * how many descriptors ride along (0-3, or 10: more than a message may
 * carry), the bytes -- all sent before the front end starts, then the
 * back-end's side is shut for writing, so a short answer is a closed
 * connection, not a wait.
 *
 * Whatever arrives: no crash, no leaked descriptor, a failure is one
 * line in err, and a success means the back-end offered what the device
 * needs and only the protocol features wisp asked for were taken.
 */
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fuzz.h"
#include "vhost/vhost_user/vhost_user_test.h"

#define REQUIRED_BIT 6	/* a device feature the back-end must offer */
#define WANTED_PROTOCOL ((1ULL << VU_PROTOCOL_F_MQ) | (1ULL << VU_PROTOCOL_F_REPLY_ACK) | \
			 (1ULL << VU_PROTOCOL_F_CONFIG))

static int passed_fd = -1;	/* what the back-end attaches */

/* Like a device's check (vhost/blk.c): reads the config the back-end
 * sent, writes into it, and refuses some. */
static const char *check_config(void *opaque, void *config, unsigned len)
{
	uint8_t *c = config, sum = 0;

	(void)opaque;
	for (unsigned i = 0; i < len; i++)
		sum ^= c[i];
	if (len && c[0] == 0xff)
		return "first byte 0xff";
	if (len >= 2)
		c[len - 1] = sum;
	return NULL;
}

/* How many of the first 256 descriptors are open (one poll(): a
 * closed one answers POLLNVAL).  A descriptor kept by the front end
 * changes the count whichever number it got. */
static unsigned open_fds(void)
{
	struct pollfd pfd[256];
	unsigned n = 0;

	for (int i = 0; i < 256; i++)
		pfd[i] = (struct pollfd){ .fd = i };
	if (poll(pfd, 256, 0) < 0)
		abort();
	for (int i = 0; i < 256; i++)
		n += !(pfd[i].revents & POLLNVAL);
	return n;
}

static void backend_send(int sock, const uint8_t *buf, size_t len, unsigned nfds)
{
	int fds[10];
	char control[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (!len)
		return;		/* descriptors need a byte to ride on */
	if (nfds) {
		struct cmsghdr *cm;

		for (unsigned i = 0; i < nfds; i++)
			fds[i] = passed_fd;
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* non-blocking: a full buffer just ends the stream early */
	(void)sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned sel = (unsigned)fuzz_take(&in, 1);
	struct vhost_user_params p = {
		.option = "disk",
		.name = "vhost-user-fuzz0",
		.nqueues = (sel & 3) + 1,
		.queues_without_mq = (sel & 4) ? 2 : 1,
		.config_from_backend = sel & 8,
		.required_features = (sel & 0x40) ? 1ULL << REQUIRED_BIT : 0,
		.check_config = (sel & 0x80) ? check_config : NULL,
	};
	unsigned started = (sel >> 4) & 3;
	uint64_t wanted_protocol = WANTED_PROTOCOL;
	struct timeval tv = { .tv_sec = 1 };
	struct vu_test_result *r;
	char err[256] = "";
	int sv[2], ret;
	unsigned fds_before;

	if (passed_fd < 0 && (passed_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		abort();
	p.config_len = (unsigned)fuzz_take(&in, 1) + 1;	/* 1..256 */
	/* a session that stops three queues also asks for the inflight
	 * memory: a reply that must carry exactly one descriptor */
	p.inflight = started == 3;
	p.queue_size = 128;
	if (p.inflight)
		wanted_protocol |= 1ULL << VU_PROTOCOL_F_INFLIGHT_SHMFD;
	r = calloc(1, sizeof(*r));
	fds_before = open_fds();
	if (!r || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	/* a front end waiting for bytes that never come is a bug here */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (in.left >= 3) {
		size_t len = (size_t)fuzz_take(&in, 2);
		unsigned nfds = (unsigned)fuzz_take(&in, 1);

		nfds = nfds & 4 ? 10 : nfds & 3;
		if (len > in.left)
			len = in.left;
		backend_send(sv[1], in.p, len, nfds);
		in.p += len;
		in.left -= len;
	}
	shutdown(sv[1], SHUT_WR);

	ret = vu_test_session(sv[0], &p, started, r, err, sizeof(err));
	/* for whoever writes seeds: what the front end made of one */
	if (getenv("WISP_FUZZ_VERBOSE"))
		fprintf(stderr, "session: %s\n", ret ? err : "ok");
	if (ret) {
		/* one line saying what was wrong */
		if (!err[0] || memchr(err, '\n', sizeof(err)) || !memchr(err, 0, sizeof(err)))
			abort();
		if (strstr(err, "no reply within the timeout"))
			abort();
	} else {
		uint64_t needed = p.required_features | (1ULL << VIRTIO_F_VERSION_1);

		if ((r->backend_features & needed) != needed ||
		    (r->protocol_features & ~wanted_protocol))
			abort();
		if (p.config_from_backend && !(r->protocol_features & (1ULL << VU_PROTOCOL_F_CONFIG)))
			abort();
		if (p.nqueues > p.queues_without_mq &&
		    !(r->protocol_features & (1ULL << VU_PROTOCOL_F_MQ)))
			abort();
	}
	close(sv[0]);
	close(sv[1]);
	free(r);
	if (open_fds() != fds_before)
		abort();	/* a descriptor the back-end sent was kept */
	return 0;
}
