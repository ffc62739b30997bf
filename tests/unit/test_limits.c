// SPDX-License-Identifier: MIT
/*
 * Nothing a guest does makes wisp's memory grow without bound.  Each
 * test drives one device the way a guest would, far past the device's
 * bound, and measures wisp's heap (ASan's count of allocated bytes):
 *
 *   - vsock: 3000 guest connections to a host listener.  1024 are
 *     accepted; the rest are refused with RST (a fixed-size queue), and
 *     the heap grows by less than 1024 connections' worth, and not at
 *     all after the 1024th.
 *   - net receive: 100000 frames offered by the host with no receive
 *     buffer posted.  wisp holds one frame per queue and stops reading,
 *     so the sender meets back-pressure (EAGAIN) and the heap stays
 *     flat; posted buffers then fill at once.
 *   - blk: a queue full of requests, then the same heads made available
 *     again and the avail index pushed 10000 ahead.  Requests in flight
 *     never outnumber the queue (a reused head breaks it), the heap
 *     stays flat, and the disk reports NEEDS_RESET.
 */
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_vm.h"
#include "virtio/virtqueue.h"

#if IS_ENABLED(CONFIG_VIRTIO_VSOCK)
#include "virtio/vsock/vsock_test.h"
#endif
#if IS_ENABLED(CONFIG_VIRTIO_NET)
#include "virtio/net_test.h"
#endif

/* libasan's; its header is not installed with gcc */
size_t __sanitizer_get_current_allocated_bytes(void);

static size_t heap(void)
{
	return __sanitizer_get_current_allocated_bytes();
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wisp-limits-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static bool raise_nofile(rlim_t want)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < want)
		return false;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* ------------------------------------------------------------ vsock */
#if IS_ENABLED(CONFIG_VIRTIO_VSOCK)

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define VSOCK_CONNS 3000
#define VSOCK_BOUND 1024

static void test_vsock_connections(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char sock[96];
	int listener, fd;
	struct vsock *v;
	size_t before, at_bound = 0;

	(void)state;
	if (!raise_nofile(3 * VSOCK_BOUND + 256)) {
		skip();
		return;
	}
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1000", sock);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(listener >= 0);
	assert_int_equal(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(listener, 4096), 0);
	v = vsock_test_open(3, sock);
	assert_non_null(v);
	before = heap();
	for (uint32_t i = 0; i < VSOCK_CONNS; i++) {
		struct vsock_hdr h = { 3, 2, 10000 + i, 1000, 0, 1, 1 /* REQUEST */, 0, 65536, 0 };

		vsock_test_tx(v, &h, sizeof(h));
		/* the host side takes every connection wisp makes */
		while ((fd = accept(listener, NULL, NULL)) >= 0)
			;
		if (i == VSOCK_BOUND + 10)
			at_bound = heap();
	}
	vsock_test_poll(v);
	assert_int_equal(vsock_test_conns(v), VSOCK_BOUND);
	/* 1024 connections' state, no payload buffers yet (the guest sent
	 * no data): a few hundred bytes each */
	assert_true(at_bound - before < VSOCK_BOUND * 1024);
	/* and not a byte more for the next 2000 attempts */
	assert_true(heap() <= at_bound + 4096);
	print_message("vsock: %u guest connections -> %u kept, heap +%zu bytes (+%zd after the bound)\n",
		      VSOCK_CONNS, vsock_test_conns(v), heap() - before,
		      (ssize_t)(heap() - at_bound));
	vsock_test_close(v);
	close(listener);
	/* the accepted fds stay open until the test process ends */
}
#endif

/* ---------------------------------------------------- net and blk VM */

static struct fake_vm fv;
static bool fv_made;

static void make_vm(void)
{
	char kernel[96], disk[96], disk_arg[128];
	const char *argv[24] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
				 "--serial", "null", "--disk", disk_arg };
	int argc = 9, fd;

	if (fv_made)
		return;
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(disk, sizeof(disk), "%s/disk", dir);
	snprintf(disk_arg, sizeof(disk_arg), "path=%s", disk);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	fd = open(disk, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && !ftruncate(fd, 4 << 20) && !close(fd));
#if IS_ENABLED(CONFIG_VIRTIO_NET)
	argv[argc++] = "--net";
	argv[argc++] = "tap=limits0";
	net_test_fake_tap = true;
#endif
	argv[argc] = NULL;
	fake_vm_create(&fv, argv);
	fake_vm_reset(&fv);
	fv_made = true;
}

static struct virtq_avail *avail(unsigned q, unsigned size)
{
	return fake_ram(&fv, FAKE_RING_GPA(q) + 0x1000, VIRTQ_AVAIL_BYTES(size));
}

#if IS_ENABLED(CONFIG_VIRTIO_NET)
static struct virtq_used *used(unsigned q, unsigned size)
{
	return fake_ram(&fv, FAKE_RING_GPA(q) + 0x2000, VIRTQ_USED_BYTES(size));
}

#define NET_FRAMES 100000
#define RXQ_SIZE 16

static void test_net_receive(void **state)
{
	unsigned s, sent = 0;
	uint8_t frame[1514] = { 0 };
	size_t before;
	bool pushed_back = false;

	(void)state;
	make_vm();
	s = fake_find(&fv, 0x1041);
	memset(fake_ram(&fv, FAKE_RING_GPA(0), 0x3000), 0, 0x3000);
	fake_setup_queue(&fv, s, 0, RXQ_SIZE);	/* no buffer posted */
	assert_true(net_test_npeers >= 1);
	before = heap();
	for (unsigned i = 0; i < NET_FRAMES; i++) {
		if (send(net_test_peer[0], frame, sizeof(frame), MSG_DONTWAIT) < 0) {
			pushed_back = true;
			break;
		}
		sent++;
		if (i % 16 == 0)
			event_loop_poll(fv.vm.loop, 0);
	}
	for (int i = 0; i < 10; i++)
		event_loop_poll(fv.vm.loop, 0);
	assert_true(pushed_back);
	assert_true(heap() <= before + 4096);
	print_message("net: host offered %u frames before EAGAIN, heap +%zd bytes\n", sent,
		      (ssize_t)(heap() - before));
	/* buffers posted: frames flow at once */
	for (unsigned i = 0; i < RXQ_SIZE; i++) {
		fake_put_desc(&fv, FAKE_RING_GPA(0), i, 0x40000 + 2048ull * i, 2048, VIRTQ_DESC_F_WRITE, 0);
		avail(0, RXQ_SIZE)->ring[i] = (uint16_t)i;
	}
	avail(0, RXQ_SIZE)->idx = RXQ_SIZE;
	fake_notify(&fv, s, 0);
	for (int i = 0; i < 10; i++)
		event_loop_poll(fv.vm.loop, 0);
	assert_int_equal(used(0, RXQ_SIZE)->idx, RXQ_SIZE);
	fake_vm_reset(&fv);
}
#endif

#define BLK_QSIZE 256
#define BLK_REQS (BLK_QSIZE / 2)	/* two descriptors each */

static void test_blk_pending(void **state)
{
	unsigned s;
	size_t before;
	struct virtq_avail *a;
	struct { uint32_t type, reserved; uint64_t sector; } hdr = { 0, 0, 0 };

	(void)state;
	make_vm();
	s = fake_find(&fv, 0x1042);
	memset(fake_ram(&fv, FAKE_RING_GPA(0), 0x4000), 0, 0x4000);
	fake_setup_queue(&fv, s, 0, BLK_QSIZE);
	a = avail(0, BLK_QSIZE);
	/* GET_ID-free reads: header, then one writable status byte (a
	 * zero-length read of sector 0) */
	memcpy(fake_ram(&fv, 0x40000, sizeof(hdr)), &hdr, sizeof(hdr));
	for (unsigned i = 0; i < BLK_REQS; i++) {
		fake_put_desc(&fv, FAKE_RING_GPA(0), 2 * i, 0x40000, sizeof(hdr), VIRTQ_DESC_F_NEXT, (uint16_t)(2 * i + 1));
		fake_put_desc(&fv, FAKE_RING_GPA(0), 2 * i + 1, 0x50000 + i, 1, VIRTQ_DESC_F_WRITE, 0);
		a->ring[i] = (uint16_t)(2 * i);
	}
	before = heap();
	a->idx = BLK_REQS;
	fake_notify(&fv, s, 0);
	/* the same heads again, while some are surely still in flight, and
	 * then an index 10000 ahead */
	for (unsigned i = 0; i < BLK_REQS; i++)
		a->ring[(BLK_REQS + i) % BLK_QSIZE] = (uint16_t)(2 * i);
	a->idx = 2 * BLK_REQS;
	fake_notify(&fv, s, 0);
	a->idx = (uint16_t)(2 * BLK_REQS + 10000);
	fake_notify(&fv, s, 0);
	assert_true(fake_status(&fv, s) & 0x40);	/* NEEDS_RESET */
	fake_vm_reset(&fv);				/* waits for running requests */
	assert_true(heap() <= before + 4096);
	print_message("blk: %u requests, their heads reused, avail 10000 ahead: NEEDS_RESET, heap +%zd bytes\n",
		      BLK_REQS, (ssize_t)(heap() - before));
}

/* Open descriptors of this process. */
static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#define MSIX_REWRITES 2000

/* An MSI-X vector KVM refuses (here: no KVM at all, so every irqfd
 * fails; on a host, GSIs running out): the guest rewriting the entry
 * again and again must not make wisp take an eventfd (and a GSI) each
 * time, and the one it took stays open (issue 16, item 6). */
static void test_msix_refused(void **state)
{
	unsigned s, cap, before;
	uint64_t table;

	(void)state;
	make_vm();
	s = fake_find(&fv, 0x1042);
	for (cap = fake_cfg_read(&fv, s, 0x34) & 0xfc; cap >= 0x40;
	     cap = (fake_cfg_read(&fv, s, cap) >> 8) & 0xfc)
		if ((fake_cfg_read(&fv, s, cap) & 0xff) == 0x11)
			break;
	assert_true(cap >= 0x40);
	assert_int_equal(fake_cfg_read(&fv, s, cap + 4) & 7, 0);	/* in BAR 0 */
	table = FAKE_BAR(s) + (fake_cfg_read(&fv, s, cap + 4) & ~7u);
	fake_cfg_write(&fv, s, 0x04, 0x6, 2);
	fake_cfg_write(&fv, s, cap + 2, 0x8000, 2);		/* MSI-X on */
	before = open_fds();
	for (unsigned i = 0; i < MSIX_REWRITES; i++) {
		fake_mmio(&fv, table, 0xfee00000, 4, true);
		fake_mmio(&fv, table + 8, i, 4, true);
		fake_mmio(&fv, table + 12, 0, 4, true);		/* unmasked */
		fake_mmio(&fv, table + 12, 1, 4, true);		/* masked */
	}
	/* at most the one eventfd it keeps for its life (core/pci.c:
	 * never closed while an msix_notify may hold its number) */
	assert_true(open_fds() <= before + 1);
	print_message("msix: a refused vector rewritten %u times: %d descriptors more\n",
		      MSIX_REWRITES, (int)open_fds() - (int)before);
	fake_cfg_write(&fv, s, cap + 2, 0, 2);
	fake_vm_reset(&fv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#if IS_ENABLED(CONFIG_VIRTIO_VSOCK)
		cmocka_unit_test(test_vsock_connections),
#endif
#if IS_ENABLED(CONFIG_VIRTIO_NET)
		cmocka_unit_test(test_net_receive),
#endif
		cmocka_unit_test(test_blk_pending),
		cmocka_unit_test(test_msix_refused),
	};

	if (!IS_ENABLED(CONFIG_VIRTIO_BLK) || !IS_ENABLED(CONFIG_PCI))
		return 0;
	return cmocka_run_group_tests_name("limits", tests, setup, teardown);
}
