// SPDX-License-Identifier: MIT
/*
 * vhost-user: message encoding, strict validation of what a back-end
 * answers (over a socketpair standing in for the back-end), and the
 * --disk vhost_user=on command line.
 */
#include "unit.h"

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_VHOST_USER)

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/device.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user/vhost_user_test.h"

static int sv[2];	/* [0] wisp's end, [1] the back-end's */
static char err[256];

static int open_pair(void **state)
{
	struct timeval tv = { .tv_usec = 200000 };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* a missing reply must end in a timeout, not a hung test */
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	err[0] = '\0';
	return 0;
}

static int close_pair(void **state)
{
	(void)state;
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}

/* The back-end's side: raw bytes, optionally with a descriptor. */
static void backend_send(const void *buf, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	char control[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sv[1], &msg, 0), (ssize_t)len);
}

static void backend_reply(uint32_t request, uint32_t flags, const void *payload, uint32_t size)
{
	uint8_t buf[sizeof(struct vu_header) + 64];
	struct vu_header h = { .request = request, .flags = flags, .size = size };

	assert_true(size <= 64);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, size);
	backend_send(buf, sizeof(h) + size, -1);
}

/* A request goes out as header + payload with its descriptors. */
static void test_send_encoding(void **state)
{
	struct vu_vring_state s = { .index = 3, .num = 256 };
	uint8_t buf[64];
	char control[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct vu_header h;
	int fds[2] = { eventfd(0, 0), eventfd(0, 0) };
	struct cmsghdr *cm;
	ssize_t n;

	(void)state;
	assert_int_equal(vu_send(sv[0], VU_SET_VRING_NUM, VU_FLAG_NEED_REPLY, &s, sizeof(s), fds, 2,
				 err, sizeof(err)), 0);
	n = recvmsg(sv[1], &msg, 0);
	assert_int_equal(n, sizeof(h) + sizeof(s));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.request, VU_SET_VRING_NUM);
	assert_int_equal(h.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(h.size, sizeof(s));
	assert_memory_equal(buf + sizeof(h), &s, sizeof(s));
	cm = CMSG_FIRSTHDR(&msg);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	assert_int_equal(cm->cmsg_len, CMSG_LEN(2 * sizeof(int)));
	for (int i = 0; i < 2; i++) {
		int fd;

		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		close(fd);
		close(fds[i]);
	}
	/* more descriptors than a message carries: refused, nothing sent */
	assert_int_equal(vu_send(sv[0], VU_SET_MEM_TABLE, 0, NULL, 0, fds, VU_MAX_FDS + 1, err,
				 sizeof(err)), -1);
}

static void test_good_reply(void **state)
{
	uint64_t features = 1ULL << 32, got = 0;

	(void)state;
	backend_reply(VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, &features, 8);
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), 0);
	assert_true(got == features);
}

/* A reply split over several writes is still one reply. */
static void test_split_reply(void **state)
{
	struct vu_header h = { VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 8 };
	uint64_t features = 7, got = 0;

	(void)state;
	backend_send(&h, 5, -1);
	backend_send((uint8_t *)&h + 5, sizeof(h) - 5, -1);
	backend_send(&features, 8, -1);
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), 0);
	assert_true(got == 7);
}

static void expect_bad(uint32_t request, uint32_t flags, uint32_t size, const char *msg)
{
	uint64_t payload = 0, got;

	backend_reply(request, flags, &payload, size);
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), -1);
	assert_contains(err, msg);
}

static void test_wrong_request(void **state)
{
	(void)state;
	expect_bad(VU_GET_PROTOCOL_FEATURES, VU_VERSION | VU_FLAG_REPLY, 8,
		   "answered request 1 with request 15");
}

static void test_not_a_reply(void **state)
{
	(void)state;
	expect_bad(VU_GET_FEATURES, VU_VERSION, 8, "flags 0x1");
}

static void test_wrong_version(void **state)
{
	(void)state;
	expect_bad(VU_GET_FEATURES, 2 | VU_FLAG_REPLY, 8, "flags 0x6");
}

static void test_wrong_size(void **state)
{
	(void)state;
	expect_bad(VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 4, "has 4 bytes, expected 8");
}

/* A huge announced size is refused without reading (or allocating) it. */
static void test_huge_size(void **state)
{
	struct vu_header h = { VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 0xffffffffu };
	uint64_t got;

	(void)state;
	backend_send(&h, sizeof(h), -1);
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), -1);
	assert_contains(err, "has 4294967295 bytes");
}

static void test_descriptors_refused(void **state)
{
	uint8_t buf[sizeof(struct vu_header) + 8] = { 0 };
	struct vu_header h = { VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 8 };
	int fd = eventfd(0, 0);
	uint64_t got;

	(void)state;
	memcpy(buf, &h, sizeof(h));
	backend_send(buf, sizeof(buf), fd);
	close(fd);
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), -1);
	assert_contains(err, "carried file descriptors");
}

static void test_closed(void **state)
{
	uint64_t got;

	(void)state;
	close(sv[1]);
	sv[1] = -1;
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), -1);
	assert_contains(err, "the back-end closed the connection");
	assert_int_equal(vu_send(sv[0], VU_SET_OWNER, 0, NULL, 0, NULL, 0, err, sizeof(err)), -1);
	assert_contains(err, "the back-end closed the connection");
}

static void test_timeout(void **state)
{
	uint64_t got;

	(void)state;
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), -1);
	assert_contains(err, "no reply within the timeout");
}

/* A back-end that trickles its reply, a byte every 100 ms (each well
 * inside the 200 ms receive timeout): the whole reply must come within
 * the timeout, so this one is refused after about 200 ms, not accepted
 * after 2 s; and the socket's timeout is what it was afterwards. */
static void *trickle(void *opaque)
{
	struct vu_header h = { VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 8 };
	uint8_t msg[sizeof(h) + 8] = { 0 };

	(void)opaque;
	memcpy(msg, &h, sizeof(h));
	for (size_t i = 0; i < sizeof(msg); i++) {
		if (send(sv[1], &msg[i], 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(100000);
	}
	return NULL;
}

static void test_trickled_reply(void **state)
{
	struct timeval tv = { 0 };
	socklen_t len = sizeof(tv);
	struct timespec t0, t1;
	pthread_t thread;
	uint64_t got;
	long ms;

	(void)state;
	assert_int_equal(pthread_create(&thread, NULL, trickle, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vu_recv_reply(sv[0], VU_GET_FEATURES, &got, 8, err, sizeof(err)), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_contains(err, "reply within the timeout");
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_in_range(ms, 150, 900);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 200000);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(thread, NULL);
}

/* ------------------------------------------------------- multiqueue */

/* The back-end's answers to a handshake, queued before wisp asks (the
 * socket buffers them): features, protocol features, and the queue
 * count when `queue_num` is not 0.  SET_PROTOCOL_FEATURES and
 * SET_OWNER need no reply without REPLY_ACK. */
static void backend_handshake(uint64_t features, uint64_t protocol, uint64_t queue_num)
{
	backend_reply(VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, &features, 8);
	backend_reply(VU_GET_PROTOCOL_FEATURES, VU_VERSION | VU_FLAG_REPLY, &protocol, 8);
	if (queue_num)
		backend_reply(VU_GET_QUEUE_NUM, VU_VERSION | VU_FLAG_REPLY, &queue_num, 8);
}

/* The requests wisp sent, in order, up to `max`. */
static unsigned backend_requests(uint32_t *req, unsigned max)
{
	struct timeval tv = { .tv_usec = 100000 };
	unsigned n = 0;

	setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < max) {
		struct vu_header h;
		uint8_t payload[VU_MAX_PAYLOAD];

		if (recv(sv[1], &h, sizeof(h), MSG_WAITALL) != (ssize_t)sizeof(h))
			break;
		assert_true(h.size <= sizeof(payload));
		if (h.size)
			assert_int_equal(recv(sv[1], payload, h.size, MSG_WAITALL), (ssize_t)h.size);
		req[n++] = h.request;
	}
	return n;
}

#define NET_MQ (1ULL << 22)
#define PROTOCOL_FEATURES_BIT (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)

/* vhost-user-net as vhost/net.c describes two pairs: four queues for
 * the back-end, whose GET_QUEUE_NUM counts pairs. */
static const struct vhost_user_params net_two_pairs = {
	.option = "net", .name = "vhost-user-net0", .socket = "-",
	.nqueues = 4, .queues_without_mq = 2, .queue_num_unit = 2, .initially_enabled = 2,
	.local_queues = 1, .required_features = NET_MQ,
};

static void test_mq_pairs_served(void **state)
{
	struct vu_test_result r;
	uint32_t req[8];
	unsigned n;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT | NET_MQ, 1ULL << VU_PROTOCOL_F_MQ, 2);
	assert_int_equal(vu_test_session(sv[0], &net_two_pairs, 0, &r, err, sizeof(err)), 0);
	n = backend_requests(req, 8);
	assert_int_equal(n, 5);
	assert_int_equal(req[3], VU_GET_QUEUE_NUM);
	assert_int_equal(req[4], VU_SET_OWNER);
	assert_true(r.protocol_features == 1ULL << VU_PROTOCOL_F_MQ);
}

/* Two pairs asked, the back-end serves one: refused before anything
 * starts (the device's create turns this into exit status 2). */
static void test_mq_too_many_pairs(void **state)
{
	struct vu_test_result r;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT | NET_MQ, 1ULL << VU_PROTOCOL_F_MQ, 1);
	assert_int_equal(vu_test_session(sv[0], &net_two_pairs, 0, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "2 queue pairs but the back-end serves 1");
}

static void test_mq_no_protocol_mq(void **state)
{
	struct vu_test_result r;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT | NET_MQ, 0, 0);
	assert_int_equal(vu_test_session(sv[0], &net_two_pairs, 0, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "2 queue pairs but the back-end offers no multiqueue (protocol feature MQ)");
}

static void test_mq_no_net_mq_feature(void **state)
{
	struct vu_test_result r;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT, 1ULL << VU_PROTOCOL_F_MQ, 2);
	assert_int_equal(vu_test_session(sv[0], &net_two_pairs, 0, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "the back-end lacks feature bit 22, which the device needs");
}

/* A block back-end counts queues, not pairs. */
static void test_mq_blk_counts_queues(void **state)
{
	const struct vhost_user_params blk = {
		.option = "disk", .name = "vhost-user-blk0", .socket = "-", .nqueues = 4,
	};
	struct vu_test_result r;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT, 1ULL << VU_PROTOCOL_F_MQ, 2);
	assert_int_equal(vu_test_session(sv[0], &blk, 0, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "4 queues but the back-end serves 2");
}

/* ------------------------------------------------------------ inflight */

/* The next request wisp sent: its header, payload and descriptor (-1
 * when none; the caller closes it).  false when there is none. */
static bool backend_next(struct vu_header *h, void *payload, size_t max, int *fd)
{
	char control[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct timeval tv = { .tv_usec = 100000 };
	struct cmsghdr *cm;

	*fd = -1;
	setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recvmsg(sv[1], &msg, MSG_WAITALL) != (ssize_t)sizeof(*h))
		return false;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_type == SCM_RIGHTS) {
		assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(int)));
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	}
	assert_true(h->size <= max);
	if (h->size)
		assert_int_equal(recv(sv[1], payload, h->size, MSG_WAITALL), (ssize_t)h->size);
	return true;
}

static ino_t inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static const struct vhost_user_params blk_inflight = {
	.option = "disk", .name = "vhost-user-blk0", .socket = "-", .nqueues = 2,
	.queue_size = 128, .inflight = true,
};

#define INFLIGHT_BIT (1ULL << VU_PROTOCOL_F_INFLIGHT_SHMFD)
#define MQ_BIT (1ULL << VU_PROTOCOL_F_MQ)

/* The region the back-end makes at the first start is kept by wisp and
 * handed to it again at the next start (a reconnection), the same
 * memory both times. */
static void test_inflight_kept(void **state)
{
	struct vu_inflight given = { .mmap_size = 4096, .num_queues = 2, .queue_size = 128 };
	uint8_t buf[sizeof(struct vu_header) + sizeof(given)];
	struct vu_header h = { VU_GET_INFLIGHT_FD, VU_VERSION | VU_FLAG_REPLY, sizeof(given) };
	int region = memfd_create("inflight", MFD_CLOEXEC), kept = -1, fd;
	uint32_t expect[] = { VU_GET_FEATURES, VU_GET_PROTOCOL_FEATURES, VU_SET_PROTOCOL_FEATURES,
			      VU_GET_QUEUE_NUM, VU_SET_OWNER, VU_GET_INFLIGHT_FD,
			      VU_SET_INFLIGHT_FD, VU_SET_INFLIGHT_FD };
	struct vu_inflight payload;
	uint64_t protocol;

	(void)state;
	assert_true(region >= 0);
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT, INFLIGHT_BIT | MQ_BIT, 2);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &given, sizeof(given));
	backend_send(buf, sizeof(buf), region);
	assert_int_equal(vu_test_inflight(sv[0], &blk_inflight, 2, &kept, err, sizeof(err)), 0);
	assert_true(kept >= 0);
	assert_true(inode_of(kept) == inode_of(region));
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		uint8_t p[VU_MAX_PAYLOAD];

		assert_true(backend_next(&h, p, sizeof(p), &fd));
		assert_int_equal(h.request, expect[i]);
		if (h.request == VU_SET_PROTOCOL_FEATURES) {
			memcpy(&protocol, p, 8);
			assert_true(protocol & INFLIGHT_BIT);
		}
		if (h.request == VU_GET_INFLIGHT_FD) {
			/* what wisp asks for: one region per queue of the
			 * device's largest size */
			assert_int_equal(h.size, sizeof(payload));
			memcpy(&payload, p, sizeof(payload));
			assert_int_equal(payload.num_queues, 2);
			assert_int_equal(payload.queue_size, 128);
			assert_int_equal(fd, -1);
		}
		if (h.request == VU_SET_INFLIGHT_FD) {
			/* the back-end's own answer back, with its memory */
			assert_int_equal(h.size, sizeof(payload));
			assert_memory_equal(p, &given, sizeof(given));
			assert_true(fd >= 0);
			assert_true(inode_of(fd) == inode_of(region));
		}
		if (fd >= 0)
			close(fd);
	}
	assert_false(backend_next(&h, buf, sizeof(buf), &fd));
	close(kept);
	close(region);
}

/* A back-end without the feature: nothing about it is sent. */
static void test_inflight_not_offered(void **state)
{
	struct vu_header h;
	uint8_t p[VU_MAX_PAYLOAD];
	int kept = 0, fd, n = 0;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT, MQ_BIT, 2);
	assert_int_equal(vu_test_inflight(sv[0], &blk_inflight, 2, &kept, err, sizeof(err)), 0);
	assert_int_equal(kept, -1);
	while (backend_next(&h, p, sizeof(p), &fd)) {
		assert_true(h.request != VU_GET_INFLIGHT_FD && h.request != VU_SET_INFLIGHT_FD);
		n++;
	}
	assert_int_equal(n, 5);
}

/* A GET_INFLIGHT_FD reply without its memory is a broken back-end. */
static void test_inflight_reply_without_fd(void **state)
{
	struct vu_inflight given = { .mmap_size = 4096, .num_queues = 2, .queue_size = 128 };
	int kept = 0;

	(void)state;
	backend_handshake((1ULL << 32) | PROTOCOL_FEATURES_BIT, INFLIGHT_BIT | MQ_BIT, 2);
	backend_reply(VU_GET_INFLIGHT_FD, VU_VERSION | VU_FLAG_REPLY, &given, sizeof(given));
	assert_int_equal(vu_test_inflight(sv[0], &blk_inflight, 1, &kept, err, sizeof(err)), -1);
	assert_string_equal(err, "reply to request 31 carried no file descriptor");
	assert_int_equal(kept, -1);
}

/* ------------------------------------------------------------- the CLI */

static struct vm_config cfg;
static struct cli_error cli_err;

/* any readable file will do as the kernel: the CLI only opens it */
static enum cli_action parse(const char *disk)
{
	/* vhost-user needs shared RAM (test_ch_options.c checks the refusal) */
	char *argv[] = { "wisp", "--kernel", "tests/unit/test_vhost_user.c", "--disk", (char *)disk,
			 "--memory", "shared=on", NULL };
	FILE *out = fopen("/dev/null", "w");
	enum cli_action a = cli_parse(7, argv, &cfg, out, &cli_err);

	fclose(out);
	return a;
}

static void expect_cli_error(const char *disk, const char *msg)
{
	assert_int_equal(parse(disk), CLI_ERROR);
	assert_contains(cli_err.msg, msg);
	assert_null(strchr(cli_err.msg, '\n'));
}

static void test_cli_disk(void **state)
{
	(void)state;
	if (!device_lookup("disk", "vhost_user"))
		skip();
	/* the socket is looked at when the device is created, not here */
	assert_int_equal(parse("vhost_user=on,socket=/tmp/s,num_queues=2,queue_size=64"), CLI_RUN);
	{
		bool found = false;

		for (size_t i = 0; i < cfg.ndevices; i++)
			found |= !strcmp(cfg.devices[i].desc->name, "vhost-user-blk");
		assert_true(found);
	}
	cli_free(&cfg);
	expect_cli_error("vhost_user=on", "--disk: socket=PATH is required with vhost_user=on");
	expect_cli_error("vhost_user=on,socket=/tmp/s,queue_size=100",
			 "'queue_size=100': must be a power of two");
	expect_cli_error("vhost_user=on,socket=/tmp/s,num_queues=17", "'num_queues=17'");
	expect_cli_error("vhost_user=on,socket=/tmp/s,path=/img", "path");
	/* vhost_user=off is the plain virtio-blk */
	if (device_lookup("disk", NULL))
		expect_cli_error("vhost_user=off,socket=/tmp/s", "socket");
}

static void test_cli_fs_net(void **state)
{
	char *argv[] = { "wisp", "--kernel", "tests/unit/test_vhost_user.c", NULL, NULL,
			 "--memory", "shared=on", NULL };
	FILE *out;
	const struct {
		const char *opt, *value, *error;	/* error NULL: accepted */
	} cases[] = {
		{ "--fs", "tag=share,socket=/tmp/s", NULL },
		{ "--fs", "tag=share,socket=/tmp/s,num_queues=2,queue_size=512", NULL },
		{ "--fs", "socket=/tmp/s", "tag=TAG and socket=PATH are required" },
		{ "--fs", "tag=share", "tag=TAG and socket=PATH are required" },
		{ "--fs", "tag=,socket=/tmp/s", "'tag' needs a value" },
		{ "--fs", "tag=0123456789012345678901234567890123456,socket=/tmp/s", "1 to 36 bytes" },
		{ "--fs", "tag=share,socket=/tmp/s,queue_size=1000", "must be a power of two" },
		{ "--fs", "tag=share,socket=/tmp/s,num_queues=9", "'num_queues=9'" },
		{ "--net", "vhost_user=on,socket=/tmp/s,mac=52:54:00:00:00:01", NULL },
		{ "--net", "vhost_user=on", "socket=PATH is required with vhost_user=on" },
		{ "--net", "vhost_user=on,socket=/tmp/s,mac=01:00:00:00:00:01", "not a unicast MAC" },
		{ "--net", "vhost_user=on,socket=/tmp/s,num_queues=4", NULL },
		{ "--net", "vhost_user=on,socket=/tmp/s,num_queues=16", NULL },
		{ "--net", "vhost_user=on,socket=/tmp/s,num_queues=3", "'num_queues=3': must be even" },
		{ "--net", "vhost_user=on,socket=/tmp/s,vhost_mode=client", NULL },
		{ "--net", "vhost_user=on,socket=/tmp/wisp-unit-no-such-file.sock,vhost_mode=server", NULL },
		/* server: wisp will listen there, so nothing but a stale socket
		 * may be in the way, in a directory that exists */
		{ "--net", "vhost_user=on,socket=/tmp,vhost_mode=server", "'socket=/tmp': exists and is not a socket" },
		{ "--net", "vhost_user=on,socket=/nonexistent/s,vhost_mode=server",
		  "'socket=/nonexistent/s': directory '/nonexistent' does not exist" },
		{ "--net", "vhost_user=on,socket=/tmp/s,vhost_mode=both", "'vhost_mode=both': client or server" },
		{ "--net", "vhost_user=on,socket=/tmp/s,num_queues=18", "'num_queues=18'" },
		{ "--net", "vhost_user=on,socket=/tmp/s,tap=tap0", "tap" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum cli_action a;

		if (!device_lookup(cases[i].opt + 2, strcmp(cases[i].opt, "--net") ? NULL : "vhost_user"))
			continue;
		argv[3] = (char *)cases[i].opt;
		argv[4] = (char *)cases[i].value;
		out = fopen("/dev/null", "w");
		a = cli_parse(7, argv, &cfg, out, &cli_err);
		fclose(out);
		if (!cases[i].error) {
			assert_int_equal(a, CLI_RUN);
			cli_free(&cfg);
		} else {
			assert_int_equal(a, CLI_ERROR);
			assert_contains(cli_err.msg, cases[i].error);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_fs_net),
		cmocka_unit_test_setup_teardown(test_send_encoding, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_good_reply, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_split_reply, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_wrong_request, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_not_a_reply, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_wrong_version, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_wrong_size, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_huge_size, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_descriptors_refused, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_closed, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_timeout, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_trickled_reply, open_pair, close_pair),
		cmocka_unit_test(test_cli_disk),
		cmocka_unit_test_setup_teardown(test_mq_pairs_served, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_mq_too_many_pairs, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_mq_no_protocol_mq, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_mq_no_net_mq_feature, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_mq_blk_counts_queues, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_inflight_kept, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_inflight_not_offered, open_pair, close_pair),
		cmocka_unit_test_setup_teardown(test_inflight_reply_without_fd, open_pair, close_pair),
	};

	return cmocka_run_group_tests_name("vhost-user", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("vhost-user")

#endif
