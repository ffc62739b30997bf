// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio spec 5.1) over a host TAP device.
 *
 * The TAP is opened with IFF_VNET_HDR, so the 12-byte virtio-net header
 * passes between guest and TAP untouched and checksum/segmentation
 * offloads work end to end once negotiated (TUNSETOFFLOAD follows the
 * guest's features).  Each queue pair has its own TAP queue
 * (IFF_MULTI_QUEUE).  Transmit writes a chain straight from guest memory
 * with writev; receive reads one frame into a per-queue buffer and
 * spreads it over as many mergeable receive buffers as it needs.  When
 * the guest has no receive buffers wisp stops reading the TAP (the frame
 * in hand waits) until the guest posts some: back-pressure, no busy loop
 * and no silent drop inside wisp.
 *
 * A TAP named on the command line is used if it exists; otherwise wisp
 * creates it, gives it ip/mask when asked, brings it up, and it vanishes
 * when wisp exits (it is not persistent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/cli.h"
#include "core/counters.h"
#include "core/device.h"
#include "core/json.h"
#include "core/event.h"
#include "core/vm.h"
#include "virtio/throttle.h"
#include "virtio/virtio_net.h"
#include "virtio/net_test.h"
#include "virtio/virtio_pci.h"

#define NET_HDR_LEN 12		/* virtio_net_hdr_mrg_rxbuf (VERSION_1) */
#define NUM_BUFFERS_OFFSET 10
/* the largest GSO frame, or an mtu=65535 frame with its Ethernet and
 * VLAN headers, whichever is bigger */
#define MAX_FRAME (65536 + 64 + NET_HDR_LEN)
#define MIN_MTU 1280		/* IPv6's minimum; cloud-hypervisor's bound */
#define MAX_MTU 65535
#define MAX_PAIRS VIRTIO_NET_MAX_PAIRS
#define DEFAULT_QUEUE_SIZE 256
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

struct net_config {
	const char *tap;	/* NULL: the kernel names a new TAP */
	const char *ip, *mask;
	const char *id;		/* vm.counters' name for this device */
	uint8_t mac[6], host_mac[6];
	bool have_mac, have_host_mac;
	uint64_t mtu;		/* 0: the TAP's own, not offered to the guest */
	uint64_t fds[MAX_PAIRS];	/* fd=: TAP queues the caller opened */
	size_t nfds;
	uint64_t num_queues;	/* rx + tx queues, even */
	uint64_t queue_size;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
	bool iommu;
	/* cloud-hypervisor's offload_csum and offload_tso (both on by
	 * default): off, the matching features are not offered */
	bool offload_csum, offload_tso;
	bool limited;
	struct rate_limit_config limits;	/* each direction gets its own */
};

struct net_cfg_space {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct net;

struct net_pair {
	struct net *net;
	unsigned index;
	int tap;
	bool paused;		/* TAP unwatched: no receive buffers */
	uint8_t *frame;		/* a received frame waiting for buffers */
	size_t frame_len;	/* 0: none */
	bool frame_admitted;	/* the receive limiter let it through */
};

struct net {
	struct virtio_dev vdev;
	struct net_cfg_space cfg;
	const struct net_config *conf;
	unsigned pairs;
	char ifname[IFNAMSIZ];
	struct net_pair pair[MAX_PAIRS];
	uint64_t dropped;	/* malformed frames from the guest */
	struct throttle rx_throttle, tx_throttle;
	atomic_ullong stats[4];	/* net_counter_names, for vm.counters */
};

/* cloud-hypervisor's names for a NIC's counters: frames and their bytes
 * without the virtio-net header */
static const char *const net_counter_names[] = { "rx_bytes", "rx_frames", "tx_bytes", "tx_frames" };

static unsigned nnets;

static bool interface_exists(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return access(path, F_OK) == 0;
}

/* Why an existing interface refused TUNSETIFF with EINVAL, from the
 * flags sysfs shows for it: not a TUN/TAP device, a TUN, or made with a
 * different multi_queue setting than num_queues asks for. */
static const char *tap_mismatch(const char *name, bool multiqueue)
{
	char path[64], buf[32];
	unsigned long flags;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "it exists and is not a TAP";
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return NULL;
	buf[len] = '\0';
	flags = strtoul(buf, NULL, 16);
	if (!(flags & IFF_TAP))
		return "it is a TUN device, not a TAP";
	if (!(flags & IFF_MULTI_QUEUE) && multiqueue)
		return "it was made without multi_queue, which num_queues above 2 needs";
	if ((flags & IFF_MULTI_QUEUE) && !multiqueue)
		return "it was made with multi_queue: give num_queues=4 or more, or make it without";
	return NULL;
}

/* An existing interface named by tap= must be a TAP made the way
 * num_queues needs; known from sysfs without opening it, so before any
 * VM exists.  A name that does not exist is a TAP wisp will create. */
static int check_existing_tap(const struct net_config *c, struct cli_error *err)
{
	const char *why;

	if (!c->tap || !interface_exists(c->tap))
		return 0;
	why = tap_mismatch(c->tap, c->num_queues > 2);
	if (!why)
		return 0;
	cli_errorf(err, "cannot open TAP '%s': %s", c->tap, why);
	return -1;
}

/* fd=N or fd=[a,b]: one TAP (or macvtap) queue per pair, inherited
 * from the caller, checked to be one with TUNGETIFF before any VM
 * exists.  num_queues, when given too, must agree. */
static int parse_fds(struct net_config *c, bool has_queues, struct cli_error *err)
{
	char first[IFNAMSIZ] = "";

	if (c->tap) {
		cli_errorf(err, "give tap= or fd=, not both");
		return -1;
	}
	if (has_queues && c->num_queues != 2 * c->nfds) {
		cli_errorf(err, "'num_queues=%llu': fd= gives %zu queue pairs, so %zu queues",
			   (unsigned long long)c->num_queues, c->nfds, 2 * c->nfds);
		return -1;
	}
	c->num_queues = 2 * c->nfds;
	for (size_t i = 0; i < c->nfds; i++) {
		struct ifreq ifr = { 0 };
		int fd = (int)c->fds[i];

		for (size_t k = 0; k < i; k++) {
			if (c->fds[k] == c->fds[i]) {
				cli_errorf(err, "'fd=%d' is given twice", fd);
				return -1;
			}
		}
		if (ioctl(fd, TUNGETIFF, &ifr)) {
			cli_errorf(err, "'fd=%d': not a TAP file descriptor (%s)", fd,
				   errno == EBADF ? "not open" : strerror(errno));
			return -1;
		}
		if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR) ||
		    !(ifr.ifr_flags & IFF_NO_PI)) {
			cli_errorf(err, "'fd=%d': a TAP opened with IFF_TAP, IFF_NO_PI and IFF_VNET_HDR is needed",
				   fd);
			return -1;
		}
		if (c->nfds > 1 && !(ifr.ifr_flags & IFF_MULTI_QUEUE)) {
			cli_errorf(err, "'fd=%d': several fds need a TAP made with multi_queue", fd);
			return -1;
		}
		if (i && strncmp(first, ifr.ifr_name, IFNAMSIZ)) {
			cli_errorf(err, "'fd=%d': queue of '%.*s', not of '%s' as the first fd",
				   fd, IFNAMSIZ, ifr.ifr_name, first);
			return -1;
		}
		memcpy(first, ifr.ifr_name, IFNAMSIZ);
		first[IFNAMSIZ - 1] = '\0';
	}
	return 0;
}

/* A key whose empty value means "not given", as in cloud-hypervisor,
 * whose option parser drops empty values: its README's
 * --net "tap=,mac=,ip=,mask=" asks for a new TAP with a random MAC and
 * no address.  *out stays NULL for an empty or absent key. */
static void optional_str(struct kv_list *args, const char *key, const char **out)
{
	if (kv_str_or_empty(args, key, out) > 0 && !**out)
		*out = NULL;
}

static int net_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct net_config *c = config;
	const char *mac = NULL, *host_mac = NULL;
	struct in_addr a;
	int has_queues;
	bool ufo;

	c->num_queues = 2;
	c->queue_size = DEFAULT_QUEUE_SIZE;
	c->offload_csum = c->offload_tso = true;
	/* tap= empty: a new TAP, as with no tap= */
	optional_str(args, "tap", &c->tap);
	optional_str(args, "mac", &mac);
	optional_str(args, "host_mac", &host_mac);
	optional_str(args, "ip", &c->ip);
	optional_str(args, "mask", &c->mask);
	if (kv_str(args, "id", &c->id, err) < 0 ||
	    kv_u64(args, "mtu", MIN_MTU, MAX_MTU, &c->mtu, err) < 0 ||
	    kv_u64_list(args, "fd", 0, INT32_MAX, c->fds, MAX_PAIRS, &c->nfds, err) < 0 ||
	    (has_queues = kv_u64(args, "num_queues", 2, 2 * MAX_PAIRS, &c->num_queues, err)) < 0 ||
	    kv_u64(args, "queue_size", 2, 1024, &c->queue_size, err) < 0 ||
	    virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0 ||
	    virtio_parse_iommu(args, &c->iommu, err) < 0 ||
	    kv_bool(args, "offload_csum", &c->offload_csum, err) < 0 ||
	    kv_bool(args, "offload_tso", &c->offload_tso, err) < 0 ||
	    /* UDP fragmentation offload is never offered: TAP lost it in
	     * Linux 4.14, so the key's value changes nothing either way */
	    kv_bool(args, "offload_ufo", &ufo, err) < 0 ||
	    throttle_parse(args, &c->limits, &c->limited, err) < 0)
		return -1;
	if (c->tap && strlen(c->tap) >= IFNAMSIZ) {
		cli_errorf(err, "'tap=%s': an interface name has 1 to %d characters",
			   c->tap, IFNAMSIZ - 1);
		return -1;
	}
	if (virtio_net_parse_mac(mac, c->mac, &c->have_mac, err))
		return -1;
	if (host_mac && parse_mac(host_mac, c->host_mac)) {
		cli_errorf(err, "'host_mac=%s': not a unicast MAC", host_mac);
		return -1;
	}
	c->have_host_mac = host_mac != NULL;
	if (c->nfds && parse_fds(c, has_queues > 0, err))
		return -1;
	if (c->num_queues & 1) {
		cli_errorf(err, "'num_queues=%llu': must be even (receive and transmit queues in pairs)",
			   (unsigned long long)c->num_queues);
		return -1;
	}
	if (c->queue_size & (c->queue_size - 1)) {
		cli_errorf(err, "'queue_size=%llu': must be a power of two",
			   (unsigned long long)c->queue_size);
		return -1;
	}
	/* as cloud-hypervisor: ip= alone takes the kernel's mask for the
	 * address, and a mask with no address has nothing to apply to */
	if (c->mask && !c->ip)
		wisp_err("warning: --net: 'mask=%s' without ip= sets nothing on the TAP", c->mask);
	for (const char *const *addr = (const char *const[]){ c->ip, c->mask, NULL };
	     *addr; addr++) {
		if (inet_pton(AF_INET, *addr, &a) != 1) {
			cli_errorf(err, "'%s': not an IPv4 address", *addr);
			return -1;
		}
	}
	/* as cloud-hypervisor: a queue pair per vCPU at most */
	args->needs.key = "num_queues";
	args->needs.value = (unsigned)c->num_queues;
	args->needs.per_vcpu = 2;
	return check_existing_tap(c, err);
}

/* --------------------------------------------------------------- TAP */


static int tap_open_queue(const char *name, bool multiqueue, char *actual)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = NET_HDR_LEN;
	int fd;

	if (net_test_fake_tap)
		return net_test_tap(actual);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (multiqueue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (name)
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	snprintf(actual, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/* One SIOCSIF* request on the interface; false if it failed. */
static bool if_request(int s, const char *name, unsigned long req, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	return ioctl(s, req, ifr) == 0;
}

/* What the command line asks of the TAP: ip/mask, host_mac, mtu, and
 * IFF_UP when wisp made it or gave it an address.  NULL, or the step
 * that failed (errno says why). */
static const char *tap_configure(const char *name, const struct net_config *c, bool up)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	const char *failed = NULL;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return "socket";
	if (c->ip) {
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, c->ip, &sin->sin_addr);
		if (!if_request(s, name, SIOCSIFADDR, &ifr))
			failed = "ip=";
		if (!failed && c->mask && inet_pton(AF_INET, c->mask, &sin->sin_addr) == 1 &&
		    !if_request(s, name, SIOCSIFNETMASK, &ifr))
			failed = "mask=";
		up = true;
	}
	if (!failed && c->have_host_mac) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, c->host_mac, 6);
		if (!if_request(s, name, SIOCSIFHWADDR, &ifr))
			failed = "host_mac=";
	}
	if (!failed && c->mtu) {
		ifr.ifr_mtu = (int)c->mtu;
		if (!if_request(s, name, SIOCSIFMTU, &ifr))
			failed = "mtu=";
	}
	if (!failed && up) {
		if (!if_request(s, name, SIOCGIFFLAGS, &ifr))
			failed = "IFF_UP";
		ifr.ifr_flags |= IFF_UP;
		if (!failed && !if_request(s, name, SIOCSIFFLAGS, &ifr))
			failed = "IFF_UP";
	}
	if (failed) {
		int e = errno;

		close(s);
		errno = e;
		return failed;
	}
	close(s);
	return NULL;
}

/* Offloads the guest accepted are what the TAP may hand it. */
static void tap_set_offload(struct net *n)
{
	struct virtio_dev *d = &n->vdev;
	unsigned off = 0;

	if (virtio_has(d, VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (virtio_has(d, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_has(d, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if (virtio_has(d, VIRTIO_NET_F_GUEST_ECN))
			off |= TUN_F_TSO_ECN;
		if (virtio_has(d, VIRTIO_NET_F_GUEST_UFO))
			off |= TUN_F_UFO;
	}
	for (unsigned i = 0; i < n->pairs; i++)
		if (ioctl(n->pair[i].tap, TUNSETOFFLOAD, off))
			wisp_err("%s: TUNSETOFFLOAD %#x: %s", n->ifname, off, strerror(errno));
}

/* ------------------------------------------------------------ receive */

static void watch_tap(struct net_pair *p, bool on)
{
	if (p->paused == !on)
		return;
	p->paused = !on;
	event_mod(p->net->vdev.vm->loop, p->tap, on ? EPOLLIN : 0);
}

/* Spreads the frame in hand over receive buffers; false if the guest
 * has not posted enough of them (the frame stays).  Device lock held. */
static bool deliver_frame(struct net_pair *p)
{
	struct virtio_dev *d = &p->net->vdev;
	struct virtq *rxq = &d->queue[2 * p->index].vq;
	struct virtq_chain c, first;
	size_t done = 0;
	uint16_t used = 0;
	bool mergeable = virtio_has(d, VIRTIO_NET_F_MRG_RXBUF);
	int got = 0;

	while (done < p->frame_len) {
		size_t n;

		got = virtq_pop(rxq, &c);
		if (got <= 0)
			break;
		n = virtq_chain_write(&c, 0, p->frame + done, p->frame_len - done);
		if (!mergeable && n < p->frame_len) {
			/* a buffer too small for the frame: the frame is lost,
			 * as on a NIC, and the buffer returned empty */
			virtq_push(rxq, &c, 0);
			p->frame_len = 0;
			virtio_queue_interrupt(d, 2 * p->index);
			return true;
		}
		if (!used)
			first = c;
		virtq_fill(rxq, &c, (uint32_t)n);
		done += n;
		used++;
	}
	if (got < 0) {
		virtio_needs_reset(d, "malformed receive queue");
		p->frame_len = 0;
		return true;
	}
	if (done < p->frame_len) {
		/* not enough buffers yet: give back what was taken, unpublished,
		 * and keep the frame until the guest posts more */
		virtq_unpop(rxq, used);
		return false;
	}
	/* the first buffer's header says how many buffers the frame took */
	if (mergeable)
		virtq_chain_write(&first, NUM_BUFFERS_OFFSET, &used, sizeof(used));
	virtq_flush(rxq);
	counter_add(&p->net->stats[0], p->frame_len - NET_HDR_LEN);
	counter_add(&p->net->stats[1], 1);
	p->frame_len = 0;
	virtio_queue_interrupt(d, 2 * p->index);
	return true;
}

/* The frame in hand may go to the guest now: the receive limiter (if
 * any) has let it through, at most once per frame. */
static bool frame_admitted(struct net_pair *p)
{
	if (!IS_ENABLED(CONFIG_RATE_LIMITER) || p->frame_admitted)
		return true;
	p->frame_admitted = throttle_admit(&p->net->rx_throttle, p->frame_len - NET_HDR_LEN);
	return p->frame_admitted;
}

static void receive(struct net_pair *p)
{
	for (;;) {
		ssize_t len;

		/* the frame stays in hand, the TAP unwatched, until buffers
		 * come (a kick) or the limiter's timer fires (a kick too) */
		if (p->frame_len && (!frame_admitted(p) || !deliver_frame(p))) {
			watch_tap(p, false);
			return;
		}
		p->frame_admitted = false;
		len = read(p->tap, p->frame, MAX_FRAME);
		if (len < NET_HDR_LEN)
			return;		/* EAGAIN: the TAP is empty */
		p->frame_len = (size_t)len;
	}
}

static void on_tap(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;

	(void)events;
	virtio_lock(&p->net->vdev);
	if (p->net->vdev.status & VIRTIO_STATUS_DRIVER_OK)
		receive(p);
	else
		watch_tap(p, false);
	virtio_unlock(&p->net->vdev);
}

/* ----------------------------------------------------------- transmit */

/* A frame from the guest that cannot go out (no header, too long, the
 * TAP refused it): dropped, counted, and the first few said on stderr. */
#define DROP_REPORTS 8

static void frame_dropped(struct net *n)
{
	if (++n->dropped <= DROP_REPORTS)
		wisp_err("%s: guest frame dropped, %llu so far%s", n->vdev.name,
			 (unsigned long long)n->dropped,
			 n->dropped == DROP_REPORTS ? "; further ones not reported" : "");
}

static void transmit(struct net_pair *p)
{
	struct virtio_dev *d = &p->net->vdev;
	struct virtq *txq = &d->queue[2 * p->index + 1].vq;
	struct virtq_chain c;
	int got = 0;

	while (!throttle_waiting(&p->net->tx_throttle) && (got = virtq_pop(txq, &c)) > 0) {
		if (IS_ENABLED(CONFIG_RATE_LIMITER) && c.out_len >= NET_HDR_LEN &&
		    !throttle_admit(&p->net->tx_throttle, c.out_len - NET_HDR_LEN)) {
			/* sent first when the limiter's timer kicks the queue */
			virtq_give_back(txq, &c);
			break;
		}
		/* header then frame, device-readable only; anything else is
		 * the guest's mistake: dropped and counted */
		if (c.nin || c.out_len < NET_HDR_LEN || c.out_len > MAX_FRAME ||
		    writev(p->tap, c.out, (int)c.nout) < 0) {
			frame_dropped(p->net);
		} else {
			counter_add(&p->net->stats[2], c.out_len - NET_HDR_LEN);
			counter_add(&p->net->stats[3], 1);
		}
		virtq_push(txq, &c, 0);
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed transmit queue");
	virtio_queue_interrupt(d, 2 * p->index + 1);
}

/* ------------------------------------------------------------ control */

/* All TAP queues stay open whatever the driver uses, and the TAP
 * passes every frame: VQ_PAIRS_SET and the RX modes are simply OK. */
static uint8_t control_answer(void *opaque, const struct virtio_net_ctrl *cmd)
{
	struct net *n = opaque;

	if (virtio_net_is_pairs_set(cmd))
		return cmd->pairs >= 1 && cmd->pairs <= n->pairs ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	return cmd->class == VIRTIO_NET_CTRL_RX ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
}

static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct net *n = d->priv;

	if (q == 2 * n->pairs) {
		virtio_net_control(d, q, control_answer, n);
	} else if (q & 1) {
		transmit(&n->pair[q / 2]);
	} else {
		/* new receive buffers: the frame in hand, then the TAP */
		struct net_pair *p = &n->pair[q / 2];

		receive(p);
		if (!p->frame_len)
			watch_tap(p, true);
	}
}

static void net_activate(struct virtio_dev *d)
{
	struct net *n = d->priv;

	tap_set_offload(n);
	for (unsigned i = 0; i < n->pairs; i++)
		watch_tap(&n->pair[i], true);
}

static void net_reset(struct virtio_dev *d)
{
	struct net *n = d->priv;

	for (unsigned i = 0; i < n->pairs; i++) {
		n->pair[i].frame_len = 0;
		n->pair[i].frame_admitted = false;
		watch_tap(&n->pair[i], false);
	}
	throttle_reset(&n->rx_throttle);
	throttle_reset(&n->tx_throttle);
}

static const struct virtio_ops net_ops = {
	.queue_notify = net_notify,
	.activate = net_activate,
	.reset = net_reset,
};

/* fd=: the caller's TAP queues, made ready as wisp's own would be. */
static int adopt_fds(struct net *n, const struct net_config *c)
{
	for (unsigned i = 0; i < n->pairs; i++) {
		struct ifreq ifr = { 0 };
		int fd = (int)c->fds[i], hdr = NET_HDR_LEN;
		int fl = fcntl(fd, F_GETFL);

		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
		    ioctl(fd, TUNGETIFF, &ifr)) {
			wisp_err("--net: cannot use fd=%d: %s", fd, strerror(errno));
			return EXIT_USAGE;
		}
		n->pair[i].tap = fd;
		snprintf(n->ifname, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	}
	return 0;
}

static int open_taps(struct net *n, const struct net_config *c)
{
	bool created = !c->tap || !interface_exists(c->tap);
	const char *failed;

	if (net_test_fake_tap)
		created = false;	/* nothing to configure */
	if (c->nfds) {
		int ret = adopt_fds(n, c);

		if (ret)
			return ret;
		created = false;
	}
	for (unsigned i = 0; i < n->pairs && !c->nfds; i++) {
		struct net_pair *p = &n->pair[i];
		/* no name: the kernel picks one ("tap0"), as for
		 * cloud-hypervisor's tap= left out */
		const char *wanted = i ? n->ifname : c->tap;

		p->tap = tap_open_queue(wanted, n->pairs > 1, n->ifname);
		if (p->tap < 0) {
			const char *why = !created && errno == EINVAL ?
					  tap_mismatch(wanted, n->pairs > 1) : NULL;

			wisp_err("--net: cannot %s TAP '%s': %s", created ? "create" : "open",
				 wanted ? wanted : "", why ? why : strerror(errno));
			return EXIT_USAGE;
		}
	}
	if (net_test_fake_tap)
		return 0;
	failed = tap_configure(n->ifname, c, created);
	if (failed) {
		wisp_err("--net: cannot configure TAP '%s' (%s): %s", n->ifname, failed,
			 strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

/* The event loop: frames to and from the TAP queues.  A vCPU thread:
 * the offloads follow the guest's features when it sets DRIVER_OK.  The
 * AF_INET socket that configures a TAP wisp created is set-up only. */
static const struct seccomp_rule net_main_seccomp[] = {
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_writev),
};

static const struct seccomp_rule net_vcpu_seccomp[] = {
	SC_IOCTL(TUNSETOFFLOAD),
};

static int net_create(struct vm *vm, const void *config)
{
	const struct net_config *c = config;
	struct net *n = calloc(1, sizeof(*n));
	struct virtio_dev_info info = {
		.name = "virtio-net",
		.device_id = VIRTIO_ID_NET,
		.pci_class = PCI_CLASS_NETWORK_ETHERNET,
		.ops = &net_ops,
		.id = c->id,
	};
	int ret;

	if (!n)
		return -1;
	n->conf = c;
	n->pairs = (unsigned)(c->num_queues / 2);
	ret = open_taps(n, c);
	if (ret)
		return ret;
	for (unsigned i = 0; i < n->pairs; i++) {
		struct net_pair *p = &n->pair[i];

		p->net = n;
		p->index = i;
		p->paused = true;
		p->frame = malloc(MAX_FRAME);
		if (!p->frame || event_add(vm->loop, p->tap, 0, on_tap, p))
			return -1;
	}
	if (c->have_mac) {
		memcpy(n->cfg.mac, c->mac, 6);
	} else {
		/* locally administered, distinct per device */
		uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x77, 0x69, (uint8_t)(0x10 + nnets) };

		memcpy(n->cfg.mac, mac, 6);
	}
	nnets++;
	counters_register(c->id ? c->id : "_net", net_counter_names, n->stats, SC_COUNT(net_counter_names));
	n->cfg.status = VIRTIO_NET_S_LINK_UP;
	n->cfg.max_virtqueue_pairs = (uint16_t)n->pairs;
	n->cfg.mtu = c->mtu ? (uint16_t)c->mtu : 1500;
	info.nqueues = 2 * n->pairs + 1;	/* and the control queue */
	info.queue_size = (uint16_t)c->queue_size;
	info.features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
			(1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CTRL_VQ) |
			(n->pairs > 1 ? 1ULL << VIRTIO_NET_F_MQ : 0) |
			(c->mtu ? 1ULL << VIRTIO_NET_F_MTU : 0);
	/* segmentation needs the checksum offload under it (5.1.3.1) */
	if (c->offload_csum)
		info.features |= (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM);
	if (c->offload_csum && c->offload_tso)
		info.features |= (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
				 (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
				 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN);
	info.config = &n->cfg;
	info.config_len = sizeof(n->cfg);
	info.priv = n;
	virtio_pci_place(&info, c->pci_segment, c->pci_slot);
	if (seccomp_allow(SECCOMP_MAIN, net_main_seccomp, SC_COUNT(net_main_seccomp)) ||
	    seccomp_allow(SECCOMP_VCPU, net_vcpu_seccomp, SC_COUNT(net_vcpu_seccomp)))
		return -1;
	/* every chain is popped, used and pushed within one event-loop
	 * callback, so DMA behind the IOMMU needs no hold (virtqueue.h) */
	info.iommu = c->iommu;
	snapshot_instance(&n->vdev);
	if (virtio_pci_create(vm, &n->vdev, &info))
		return -1;
	/* cloud-hypervisor's semantics: one set of limits, applied to
	 * each direction on its own */
	return throttle_init(&n->rx_throttle, vm, &n->vdev, &c->limits, c->limited) ||
	       throttle_init(&n->tx_throttle, vm, &n->vdev, &c->limits, c->limited) ? -1 : 0;
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "net" */
static void net_info(const void *config, struct json *j)
{
	const struct net_config *c = config;

	json_string(j, "tap", c->tap);
	json_string(j, "ip", c->ip);
	json_string(j, "mask", c->mask);
	if (c->have_mac)
		virtio_net_mac_info(j, c->mac);
	json_bool(j, "iommu", c->iommu);
	json_bool(j, "offload_tso", c->offload_tso);
	json_bool(j, "offload_ufo", false);
	json_bool(j, "offload_csum", c->offload_csum);
	json_u64(j, "num_queues", c->num_queues);
	json_u64(j, "queue_size", c->queue_size);
	json_bool(j, "vhost_user", false);
	json_u64(j, "pci_segment", c->pci_segment);
}
#endif

DEVICE_REGISTER(virtio_net) = {
	.name = "virtio-net",
	.summary = "virtio network device over a host TAP",
	.option = "net",
	.usage = "[tap=NAME|fd=N|fd=[N,N..]][,mac=MAC][,host_mac=MAC][,ip=IP,mask=MASK][,mtu=N]"
		 "[,id=NAME][,num_queues=N][,queue_size=N][,iommu=on][,offload_csum=off][,offload_tso=off]"
		 THROTTLE_USAGE,
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct net_config),
	.parse = net_parse,
	.create = net_create,
	.snapshot = SNAPSHOT_OPS(&virtio_snapshot_ops),
	DEVICE_INFO("net", true, net_info)
};
