/* SPDX-License-Identifier: MIT */
/*
 * What the two virtio network devices (virtio/net.c over a TAP,
 * vhost/net.c over a vhost-user back-end) share from the virtio spec,
 * section 5.1: feature bits, status and control-queue encodings, the
 * serving of the control queue (each device decides the answers), and
 * their mac= key.
 */
#ifndef WISP_VIRTIO_VIRTIO_NET_H
#define WISP_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "core/kconfig.h"
#include "core/kv.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

/* feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22

/* config space status (5.1.4) */
#define VIRTIO_NET_S_LINK_UP 1

/* control queue (5.1.6.5) */
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

/* The queue pairs a device may have: VQ_PAIRS_SET_MAX is 0x8000, wisp
 * stops far below (VIRTIO_MAX_QUEUES queues in all). */
#define VIRTIO_NET_MAX_PAIRS 8

/* One control command as the driver wrote it. */
struct virtio_net_ctrl {
	uint8_t class, cmd;
	uint16_t pairs;		/* MQ VQ_PAIRS_SET only, else 0 */
};

static inline bool virtio_net_is_pairs_set(const struct virtio_net_ctrl *cmd)
{
	return cmd->class == VIRTIO_NET_CTRL_MQ && cmd->cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
}

/* Reads the command at the start of the chain's readable part: false
 * when it is too short to hold one. */
static inline bool virtio_net_ctrl_read(const struct virtq_chain *c, struct virtio_net_ctrl *cmd)
{
	uint8_t hdr[2];

	cmd->pairs = 0;
	if (virtq_chain_read(c, 0, hdr, 2) != 2)
		return false;
	cmd->class = hdr[0];
	cmd->cmd = hdr[1];
	if (virtio_net_is_pairs_set(cmd) && virtq_chain_read(c, 2, &cmd->pairs, 2) != 2)
		return false;
	return true;
}

/* Serves control queue q (device lock held): each command is answered
 * with what answer() says, VIRTIO_NET_OK or VIRTIO_NET_ERR (a command
 * too short to read gets ERR), in the chain's last writable byte; a
 * malformed queue puts the device in NEEDS_RESET. */
static inline void virtio_net_control(struct virtio_dev *d, unsigned q,
				      uint8_t (*answer)(void *opaque, const struct virtio_net_ctrl *cmd),
				      void *opaque)
{
	struct virtq *cq = &d->queue[q].vq;
	struct virtq_chain c;
	int got;

	while ((got = virtq_pop(cq, &c)) > 0) {
		struct virtio_net_ctrl cmd;
		uint8_t ack = virtio_net_ctrl_read(&c, &cmd) ? answer(opaque, &cmd) : VIRTIO_NET_ERR;

		virtq_push(cq, &c, (uint32_t)virtq_chain_write(&c, c.in_len ? c.in_len - 1 : 0, &ack, 1));
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed control queue");
	virtio_queue_interrupt(d, q);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: "mac": "52:54:00:12:34:56", as the option spells it */
static inline void virtio_net_mac_info(struct json *j, const uint8_t mac[6])
{
	char text[18];

	snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	json_string(j, "mac", text);
}
#endif

/* The mac= key's text (NULL: not given) into mac[6], *given set when it
 * was: 0, or -1 with err set. */
static inline int virtio_net_parse_mac(const char *text, uint8_t mac[6], bool *given,
				       struct cli_error *err)
{
	if (!text)
		return 0;
	if (parse_mac(text, mac)) {
		cli_errorf(err, "'mac=%s': not a unicast MAC address (like 52:54:00:12:34:56)", text);
		return -1;
	}
	*given = true;
	return 0;
}

#endif
