// SPDX-License-Identifier: MIT
/*
 * vhost-user-net: a virtio network device (virtio spec 5.1) whose
 * queues are served by a vhost-user back-end such as DPDK's net_vhost
 * (dpdk-testpmd --vdev net_vhost0,iface=PATH).
 *
 *   --net vhost_user=on,socket=PATH[,mac=MAC][,num_queues=2N][,queue_size=N]
 *
 * N receive/transmit pairs, all served by the back-end.  With more than
 * one (VIRTIO_NET_F_MQ) the device also has a control queue, which wisp
 * serves itself: the driver's VQ_PAIRS_SET becomes SET_VRING_ENABLE for
 * the pairs in use (the back-end never sees the control queue).  The
 * MAC address and link status are wisp's too; offloads and mergeable
 * receive buffers are offered when the back-end has them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "core/json.h"
#include "core/socket_file.h"
#include "core/vm.h"
#include "vhost/vhost_user.h"
#include "virtio/virtio_net.h"

#define DEFAULT_QUEUE_SIZE 256
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

struct vu_net_config {
	struct vhost_user_keys k;
	uint8_t mac[6];
	bool have_mac;
	bool server;		/* vhost_mode=server */
};

/* the configuration space up to max_virtqueue_pairs (5.1.4) */
struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
} __attribute__((packed));

/* What the control queue needs to know, for the device's lifetime. */
struct vu_net {
	unsigned pairs;
	struct virtio_dev *vdev;	/* while serving the control queue */
};

static unsigned nnets;

static int vu_net_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vu_net_config *c = config;
	const char *mac = NULL, *mode = NULL, *host_mac = NULL;
	uint8_t host_addr[6];

	c->k.num_queues = 2;
	c->k.queue_size = DEFAULT_QUEUE_SIZE;
	/* vhost_user=on itself was consumed in choosing this device */
	if (vhost_user_parse_keys(args, &c->k, 2, 2 * VIRTIO_NET_MAX_PAIRS, 1024, err) ||
	    kv_str(args, "mac", &mac, err) < 0 || kv_str(args, "vhost_mode", &mode, err) < 0 ||
	    kv_str(args, "host_mac", &host_mac, err) < 0)
		return -1;
	/* cloud-hypervisor takes it and has no use for it either: the
	 * back-end, not a TAP of wisp's, is the host's side of the link */
	if (host_mac && parse_mac(host_mac, host_addr)) {
		cli_errorf(err, "'host_mac=%s': not a unicast MAC", host_mac);
		return -1;
	}
	if (host_mac)
		wisp_err("warning: --net: 'host_mac=%s' sets nothing with vhost_user=on: "
			 "the back-end is the host's side", host_mac);
	/* client (the default): wisp connects to the back-end's socket;
	 * server: wisp listens there and the back-end connects */
	if (mode && strcmp(mode, "client") && strcmp(mode, "server")) {
		cli_errorf(err, "'vhost_mode=%s': client or server", mode);
		return -1;
	}
	c->server = mode && !strcmp(mode, "server");
	if (!c->k.socket) {
		cli_errorf(err, "socket=PATH is required with vhost_user=on in '%s'", args->source);
		return -1;
	}
	if (c->server && socket_file_check(c->k.socket, 0, err))
		return -1;
	if (c->k.num_queues & 1) {
		cli_errorf(err, "'num_queues=%llu': must be even (a receive and a transmit queue per pair)",
			   (unsigned long long)c->k.num_queues);
		return -1;
	}
	if (virtio_net_parse_mac(mac, c->mac, &c->have_mac, err))
		return -1;
	return 0;
}

/* The driver's commands on the control queue.  Only VQ_PAIRS_SET is
 * known (no other control feature is offered): the back-end serves the
 * pairs asked for from now on. */
static uint8_t vu_net_answer(void *opaque, const struct virtio_net_ctrl *cmd)
{
	const struct vu_net *n = opaque;

	if (!virtio_net_is_pairs_set(cmd) || cmd->pairs < 1 || cmd->pairs > n->pairs)
		return VIRTIO_NET_ERR;
	return vhost_user_enable_queues(n->vdev, 2u * cmd->pairs) ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
}

/* Event loop, device lock held: a kick of the control queue. */
static void vu_net_control(void *opaque, struct virtio_dev *d, unsigned q)
{
	struct vu_net *n = opaque;

	n->vdev = d;
	virtio_net_control(d, q, vu_net_answer, n);
}

static int vu_net_create(struct vm *vm, const void *config)
{
	const struct vu_net_config *c = config;
	unsigned pairs = (unsigned)c->k.num_queues / 2;
	struct virtio_net_config cfg = {
		/* locally administered, one per device */
		.mac = { 0x52, 0x54, 0x00, 0x76, 0x75, (uint8_t)(0x10 + nnets) },
		.status = VIRTIO_NET_S_LINK_UP,
		.max_virtqueue_pairs = (uint16_t)pairs,
	};
	struct vu_net *n = calloc(1, sizeof(*n));	/* lives as long as the VM */
	char name[32];
	struct vhost_user_params p = {
		.option = "net",
		.name = name,
		.socket = c->k.socket,
		.server = c->server,
		.device_id = VIRTIO_ID_NET,
		.pci_class = PCI_CLASS_NETWORK_ETHERNET,
		.pci_segment = (uint16_t)c->k.pci_segment,
		.pci_slot = c->k.pci_slot,
		.nqueues = (unsigned)c->k.num_queues,
		.queues_without_mq = 2,
		.queue_size = (uint16_t)c->k.queue_size,
		.features = (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			    (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO) |
			    (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
			    (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO) |
			    (1ULL << VIRTIO_NET_F_MRG_RXBUF),
		.local_features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS),
		.config_len = sizeof(cfg),
		.config = &cfg,
	};

	if (!n)
		return -1;
	n->pairs = pairs;
	if (pairs > 1) {
		/* the back-end must know about several pairs (DPDK drops all
		 * but the first at SET_FEATURES without MQ); the control
		 * queue is wisp's */
		p.features |= p.required_features = 1ULL << VIRTIO_NET_F_MQ;
		p.local_features |= 1ULL << VIRTIO_NET_F_CTRL_VQ;
		p.local_queues = 1;
		p.local_notify = vu_net_control;
		p.opaque = n;
		p.queue_num_unit = 2;
		p.initially_enabled = 2;
	}
	if (c->have_mac)
		memcpy(cfg.mac, c->mac, sizeof(cfg.mac));
	snprintf(name, sizeof(name), "vhost-user-net%u", nnets++);
	return vhost_user_device_create(vm, &p);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "net", a vhost-user one */
static void vu_net_info(const void *config, struct json *j)
{
	const struct vu_net_config *c = config;

	if (c->have_mac)
		virtio_net_mac_info(j, c->mac);
	json_u64(j, "num_queues", c->k.num_queues);
	json_u64(j, "queue_size", c->k.queue_size);
	json_bool(j, "vhost_user", true);
	json_string(j, "vhost_socket", c->k.socket);
	json_string(j, "vhost_mode", c->server ? "Server" : "Client");
	json_u64(j, "pci_segment", c->k.pci_segment);
}
#endif

DEVICE_REGISTER(vhost_user_net) = {
	.name = "vhost-user-net",
	.summary = "virtio network device served by a vhost-user back-end",
	.option = "net",
	.variant = "vhost_user",
	.usage = "vhost_user=on,socket=PATH[,vhost_mode=client|server][,mac=MAC][,num_queues=2N]"
		 "[,queue_size=N][,id=NAME]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vu_net_config),
	.parse = vu_net_parse,
	.create = vu_net_create,
	.snapshot = SNAPSHOT_OPS(&vhost_user_snapshot_ops),
	DEVICE_INFO("net", true, vu_net_info)
};
