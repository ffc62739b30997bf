// SPDX-License-Identifier: MIT
/*
 * virtio-vsock: --vsock refuses bad input at parse time, and the packet
 * state machine (virtio/vsock.c, through its WISP_UNIT_TEST hooks)
 * relays connections both ways, keeps to the credit it is given, and
 * survives hostile packets.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cli.h"

#if IS_ENABLED(CONFIG_VIRTIO_VSOCK)

#include "virtio/vsock/vsock_test.h"

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

#define CID 3
#define GPORT 1000

static char dir[64], sock[80], kernel_path[96];
static struct cli_error err;
static struct vm_config cfg;
static struct vsock *v;

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wisp-vsock-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	snprintf(kernel_path, sizeof(kernel_path), "%s/kernel", dir);
	fd = open(kernel_path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "kernel", 6), 6);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ------------------------------------------------------------- CLI */

static enum cli_action parse_vsock(const char *arg)
{
	char *argv[] = { "wisp", "--kernel", kernel_path, "--vsock", (char *)arg, NULL };
	FILE *out = fopen("/dev/null", "w");
	enum cli_action a = cli_parse(5, argv, &cfg, out, &err);

	fclose(out);
	if (a == CLI_RUN)
		cli_free(&cfg);
	return a;
}

static void expect_error(const char *arg, const char *text)
{
	assert_int_equal(parse_vsock(arg), CLI_ERROR);
	assert_contains(err.msg, text);
	assert_null(strchr(err.msg, '\n'));
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void test_cli(void **state)
{
	char arg[256], file[160];
	int fd;

	(void)state;
	for (int cid = 0; cid <= 2; cid++) {
		snprintf(arg, sizeof(arg), "cid=%d,socket=%s", cid, sock);
		expect_error(arg, "reserved");
	}
	expect_error("cid=x,socket=/tmp/s", "not a number");
	expect_error("cid=4294967295,socket=/tmp/s", "cid=4294967295");
	expect_error("cid=3", "socket=PATH is required");
	expect_error("socket=/tmp/s", "cid=N is required");
	expect_error("cid=3,socket=/tmp/s,port=1", "unknown key 'port'");
	snprintf(arg, sizeof(arg), "cid=3,socket=%s/nodir/v.sock", dir);
	expect_error(arg, "does not exist");
	snprintf(arg, sizeof(arg), "cid=3,socket=/tmp/%0120d", 0);
	expect_error(arg, "too long");
	/* a regular file is not replaced */
	snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(arg, sizeof(arg), "cid=3,socket=%s", file);
	expect_error(arg, "exists and is not a socket");
	/* a live listener is not stolen; once it is gone the stale
	 * socket file is fine */
	snprintf(arg, sizeof(arg), "cid=3,socket=%s", sock);
	fd = listen_at(sock);
	expect_error(arg, "in use by a listening process");
	close(fd);
	assert_int_equal(parse_vsock(arg), CLI_RUN);
	unlink(sock);
	assert_int_equal(parse_vsock(arg), CLI_RUN);
	/* behind the virtio-iommu, when it is built in */
	snprintf(arg, sizeof(arg), "cid=3,socket=%s,iommu=maybe", sock);
	expect_error(arg, "'iommu=maybe': expected on or off");
	snprintf(arg, sizeof(arg), "cid=3,socket=%s,iommu=on", sock);
	if (IS_ENABLED(CONFIG_VIRTIO_IOMMU))
		assert_int_equal(parse_vsock(arg), CLI_RUN);
	else
		expect_error(arg, "--vsock: 'iommu=on': this wisp is built without virtio-iommu");
	snprintf(arg, sizeof(arg), "cid=3,socket=%s", sock);
	/* not repeatable */
	{
		char *argv[] = { "wisp", "--kernel", kernel_path, "--vsock", arg,
				 "--vsock", arg, NULL };
		FILE *out = fopen("/dev/null", "w");

		assert_int_equal(cli_parse(7, argv, &cfg, out, &err), CLI_ERROR);
		fclose(out);
	}
}

/* --------------------------------------------------------- packets */

static void tx(uint16_t op, uint32_t sport, uint32_t dport, const void *data, uint32_t len,
	       uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t flags)
{
	uint8_t pkt[sizeof(struct hdr) + 70000];
	struct hdr h = { CID, 2, sport, dport, len, 1, op, flags, buf_alloc, fwd_cnt };

	assert_true(len <= 70000);
	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), data, len);
	vsock_test_tx(v, pkt, sizeof(h) + len);
}

/* The next packet to the guest: its header, data into buf. */
static bool rx(struct hdr *h, void *buf, size_t cap)
{
	static uint8_t pkt[sizeof(struct hdr) + 70000];
	size_t n;

	vsock_test_poll(v);
	n = vsock_test_rx(v, pkt, sizeof(struct hdr) + cap);
	if (!n)
		return false;
	assert_true(n >= sizeof(*h));
	memcpy(h, pkt, sizeof(*h));
	assert_int_equal(h->src_cid, 2);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, 1);
	assert_int_equal(n, sizeof(*h) + h->len);
	if (buf)
		memcpy(buf, pkt + sizeof(*h), h->len);
	return true;
}

static void expect_rx(uint16_t op, uint32_t sport, uint32_t dport, struct hdr *out)
{
	struct hdr h;

	assert_true(rx(&h, NULL, 65536));
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_port, sport);
	assert_int_equal(h.dst_port, dport);
	if (out)
		*out = h;
}

static int port_listener(uint32_t port)
{
	char path[160];

	snprintf(path, sizeof(path), "%s_%u", sock, port);
	unlink(path);
	return listen_at(path);
}

static int open_dev(void **state)
{
	(void)state;
	unlink(sock);
	v = vsock_test_open(CID, sock);
	assert_non_null(v);
	return 0;
}

static int close_dev(void **state)
{
	(void)state;
	vsock_test_close(v);
	v = NULL;
	return 0;
}

/* Guest connects to host port 5000: RESPONSE, data both ways, credit. */
static void test_guest_connect(void **state)
{
	int l = port_listener(5000), fd;
	char buf[64];
	struct hdr h;

	(void)state;
	tx(REQUEST, GPORT, 5000, NULL, 0, 4, 0, 0);
	expect_rx(RESPONSE, 5000, GPORT, &h);
	assert_int_equal(h.buf_alloc, 64 * 1024);
	fd = accept(l, NULL, NULL);
	assert_true(fd >= 0);
	tx(RW, GPORT, 5000, "hello", 5, 4, 0, 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	/* 10 bytes from the host, the guest gave 4 of credit */
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_true(rx(&h, buf, sizeof(buf)));
	assert_int_equal(h.op, RW);
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "0123", 4);
	assert_int_equal(h.fwd_cnt, 5);
	assert_false(rx(&h, buf, sizeof(buf)));	/* no credit: nothing */
	tx(CREDIT_UPDATE, GPORT, 5000, NULL, 0, 4, 4, 0);
	assert_true(rx(&h, buf, sizeof(buf)));
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "4567", 4);
	tx(CREDIT_UPDATE, GPORT, 5000, NULL, 0, 100, 8, 0);
	assert_true(rx(&h, buf, sizeof(buf)));
	assert_int_equal(h.len, 2);
	assert_memory_equal(buf, "89", 2);
	assert_false(rx(&h, buf, sizeof(buf)));

	/* CREDIT_REQUEST gets a CREDIT_UPDATE */
	tx(CREDIT_REQUEST, GPORT, 5000, NULL, 0, 100, 10, 0);
	expect_rx(CREDIT_UPDATE, 5000, GPORT, &h);
	assert_int_equal(h.fwd_cnt, 5);

	/* the host closes: SHUTDOWN(SEND); the guest's SHUTDOWN gets RST */
	close(fd);
	expect_rx(SHUTDOWN, 5000, GPORT, &h);
	assert_int_equal(h.flags & 2, 2);
	tx(SHUTDOWN, GPORT, 5000, NULL, 0, 100, 10, 3);
	expect_rx(RST, 5000, GPORT, NULL);
	assert_int_equal(vsock_test_conns(v), 0);
	close(l);
}

/* Nothing listens on the port: RST.  Guest SHUTDOWN both ways: RST and
 * the host sees EOF. */
static void test_refused_and_shutdown(void **state)
{
	int l, fd;
	char c;

	(void)state;
	tx(REQUEST, GPORT, 5001, NULL, 0, 4096, 0, 0);
	expect_rx(RST, 5001, GPORT, NULL);
	assert_int_equal(vsock_test_conns(v), 0);

	l = port_listener(5002);
	tx(REQUEST, GPORT, 5002, NULL, 0, 4096, 0, 0);
	expect_rx(RESPONSE, 5002, GPORT, NULL);
	fd = accept(l, NULL, NULL);
	tx(SHUTDOWN, GPORT, 5002, NULL, 0, 4096, 0, 3);
	expect_rx(RST, 5002, GPORT, NULL);
	assert_int_equal(read(fd, &c, 1), 0);
	assert_int_equal(vsock_test_conns(v), 0);
	close(fd);
	close(l);
}

static int host_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A host program: CONNECT, REQUEST to the guest, OK on RESPONSE. */
static void test_host_connect(void **state)
{
	int fd = host_connect();
	char buf[64], want[32];
	struct hdr h;
	ssize_t n;

	(void)state;
	/* the line comes in two pieces, data right behind it */
	assert_int_equal(write(fd, "CONNECT 12", 10), 10);
	vsock_test_poll(v);
	assert_false(rx(&h, NULL, 64));
	assert_int_equal(write(fd, "34\nearly", 8), 8);
	assert_true(rx(&h, NULL, 64));
	assert_int_equal(h.op, REQUEST);
	assert_int_equal(h.dst_port, 1234);
	assert_false(rx(&h, NULL, 64));	/* no data before the RESPONSE */
	tx(RESPONSE, 1234, h.src_port, NULL, 0, 4096, 0, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	assert_int_equal(n, strlen(want));
	buf[n] = 0;
	assert_string_equal(buf, want);
	assert_true(rx(&h, buf, sizeof(buf)));
	assert_int_equal(h.op, RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(buf, "early", 5);
	/* the guest resets it: the host sees EOF */
	tx(RST, 1234, h.src_port, NULL, 0, 4096, 5, 0);
	assert_int_equal(read(fd, buf, 1), 0);
	assert_int_equal(vsock_test_conns(v), 0);
	close(fd);

	/* the guest refuses: the host connection is closed */
	fd = host_connect();
	assert_int_equal(write(fd, "CONNECT 99\n", 11), 11);
	expect_rx(REQUEST, h.src_port + 1, 99, &h);
	tx(RST, 99, h.src_port, NULL, 0, 0, 0, 0);
	assert_int_equal(read(fd, buf, 1), 0);
	close(fd);

	/* junk instead of CONNECT: closed, the guest hears nothing */
	for (int i = 0; i < 3; i++) {
		static const char *const junk[] = { "HELLO\n", "CONNECT x\n", "CONNECT 99999999999\n" };

		fd = host_connect();
		assert_int_equal(write(fd, junk[i], strlen(junk[i])), (ssize_t)strlen(junk[i]));
		assert_false(rx(&h, NULL, 64));
		assert_int_equal(read(fd, buf, 1), 0);
		close(fd);
	}
	assert_int_equal(vsock_test_conns(v), 0);
}

/* Hostile packets are dropped and counted; unknown connections get RST. */
static void test_hostile(void **state)
{
	uint8_t pkt[128] = { 0 };
	struct hdr h = { CID, 2, GPORT, 7000, 0, 1, RW, 0, 0, 0 };
	uint64_t bad = vsock_test_malformed(v);

	(void)state;
	vsock_test_tx(v, pkt, 0);
	vsock_test_tx(v, pkt, 10);			/* short header */
	h.len = 100;					/* len beyond the chain */
	memcpy(pkt, &h, sizeof(h));
	vsock_test_tx(v, pkt, sizeof(h) + 10);
	h.len = 0xffffffff;
	memcpy(pkt, &h, sizeof(h));
	vsock_test_tx(v, pkt, sizeof(h));
	h.len = 0;
	h.dst_cid = 5;					/* not the host */
	memcpy(pkt, &h, sizeof(h));
	vsock_test_tx(v, pkt, sizeof(h));
	h.dst_cid = 2;
	h.src_cid = 4;					/* not the guest */
	memcpy(pkt, &h, sizeof(h));
	vsock_test_tx(v, pkt, sizeof(h));
	assert_int_equal(vsock_test_malformed(v), bad + 6);
	assert_false(rx(&h, NULL, 64));

	/* wrong type, unknown op: counted and answered with RST */
	h = (struct hdr){ CID, 2, GPORT, 7000, 0, 2, REQUEST, 0, 0, 0 };
	vsock_test_tx(v, &h, sizeof(h));
	expect_rx(RST, 7000, GPORT, NULL);
	h.type = 1;
	h.op = 99;
	vsock_test_tx(v, &h, sizeof(h));
	expect_rx(RST, 7000, GPORT, NULL);
	assert_int_equal(vsock_test_malformed(v), bad + 8);
	/* packets for no connection: RST, but never for a RST */
	tx(RW, GPORT, 7001, "x", 1, 0, 0, 0);
	expect_rx(RST, 7001, GPORT, NULL);
	tx(RST, GPORT, 7001, NULL, 0, 0, 0, 0);
	tx(RESPONSE, GPORT, 7002, NULL, 0, 0, 0, 0);
	expect_rx(RST, 7002, GPORT, NULL);
	assert_false(rx(&h, NULL, 64));
	/* a receive buffer too small for the header is not written */
	tx(CREDIT_REQUEST, GPORT, 7003, NULL, 0, 0, 0, 0);
	assert_int_equal(vsock_test_rx(v, pkt, 20), 0);
	expect_rx(RST, 7003, GPORT, NULL);
	assert_int_equal(vsock_test_conns(v), 0);
}

/* A guest that ignores our credit is reset; the host is never sent
 * more than it was promised. */
static void test_credit_violation(void **state)
{
	static uint8_t blob[65536];
	int l = port_listener(5003), fd;
	struct hdr h;
	int i;

	(void)state;
	tx(REQUEST, GPORT, 5003, NULL, 0, 4096, 0, 0);
	expect_rx(RESPONSE, 5003, GPORT, NULL);
	fd = accept(l, NULL, NULL);
	for (i = 0; i < 200 && !vsock_test_credit_violations(v); i++)
		tx(RW, GPORT, 5003, blob, sizeof(blob), 4096, 0, 0);
	assert_true(vsock_test_credit_violations(v) == 1);
	assert_int_equal(vsock_test_conns(v), 0);
	/* credit updates on the way, then the RST */
	do
		assert_true(rx(&h, NULL, 64));
	while (h.op == CREDIT_UPDATE);
	assert_int_equal(h.op, RST);
	close(fd);
	close(l);
}

/* 32 connections at once, data both ways on each, kept apart. */
static void test_many(void **state)
{
	int l = port_listener(5010), fds[32];
	char buf[64], want[32];
	bool seen[32] = { false };
	struct hdr h;

	(void)state;
	for (int i = 0; i < 32; i++) {
		tx(REQUEST, GPORT + i, 5010, NULL, 0, 4096, 0, 0);
		expect_rx(RESPONSE, 5010, GPORT + i, NULL);
		fds[i] = accept(l, NULL, NULL);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < 32; i++) {
		snprintf(want, sizeof(want), "to host %02d", i);
		tx(RW, GPORT + i, 5010, want, 10, 4096, 0, 0);
		snprintf(want, sizeof(want), "to guest %02d", i);
		assert_int_equal(write(fds[i], want, 11), 11);
	}
	for (int i = 0; i < 32; i++) {
		assert_int_equal(read(fds[i], buf, sizeof(buf)), 10);
		snprintf(want, sizeof(want), "to host %02d", i);
		assert_memory_equal(buf, want, 10);
	}
	for (int i = 0; i < 32; i++) {
		unsigned g;

		assert_true(rx(&h, buf, sizeof(buf)));
		assert_int_equal(h.op, RW);
		g = h.dst_port - GPORT;
		assert_true(g < 32 && !seen[g]);
		seen[g] = true;
		snprintf(want, sizeof(want), "to guest %02u", g);
		assert_int_equal(h.len, 11);
		assert_memory_equal(buf, want, 11);
	}
	assert_false(rx(&h, buf, sizeof(buf)));
	assert_int_equal(vsock_test_conns(v), 32);
	for (int i = 0; i < 32; i++)
		close(fds[i]);
	close(l);
}

/* At most 1024 connections: the rest are refused. */
static void test_limit(void **state)
{
	struct rlimit rl;
	int fds[1100];
	int i;

	(void)state;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < 2400) {
		skip();
		return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < 1100; i++) {
		fds[i] = host_connect();
		if (i % 64 == 63)
			vsock_test_poll(v);
	}
	for (i = 0; i < 10; i++)
		vsock_test_poll(v);
	assert_int_equal(vsock_test_conns(v), 1024);
	for (i = 0; i < 1100; i++)
		close(fds[i]);
	for (i = 0; i < 40; i++)
		vsock_test_poll(v);
	assert_int_equal(vsock_test_conns(v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
		cmocka_unit_test_setup_teardown(test_guest_connect, open_dev, close_dev),
		cmocka_unit_test_setup_teardown(test_refused_and_shutdown, open_dev, close_dev),
		cmocka_unit_test_setup_teardown(test_host_connect, open_dev, close_dev),
		cmocka_unit_test_setup_teardown(test_hostile, open_dev, close_dev),
		cmocka_unit_test_setup_teardown(test_credit_violation, open_dev, close_dev),
		cmocka_unit_test_setup_teardown(test_many, open_dev, close_dev),
		cmocka_unit_test_setup_teardown(test_limit, open_dev, close_dev),
	};

	return cmocka_run_group_tests_name("virtio-vsock (" CONFIG_ARCH ")", tests, setup,
					   teardown);
}

#else

UNIT_NOT_BUILT("virtio-vsock")

#endif
