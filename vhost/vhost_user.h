/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user front end: the VMM side of the protocol that hands a
 * virtio device's queues to a back-end process over a Unix socket
 * (qemu-storage-daemon, DPDK, wisp-fsd).
 *
 * Two layers:
 *  - messages (vu_send/vu_recv_reply and the typed helpers): encoding,
 *    file descriptors in SCM_RIGHTS, and strict validation of every
 *    reply -- a back-end is another program and may be broken;
 *  - struct vhost_user_dev: a virtio-pci device whose queues live in
 *    the back-end.  The transport's per-queue ioeventfd is the
 *    back-end's kick fd and the queue's MSI-X irqfd eventfd is its call
 *    fd, so no wisp thread is in the data path.  wisp talks to the
 *    back-end only when the driver starts or resets the device, and
 *    when the back-end goes away (it then reconnects, and restores a
 *    running device).
 *
 * The device files (vhost/blk.c, net.c, fs.c) fill in a
 * struct vhost_user_params and call vhost_user_device_create().
 */
#ifndef WISP_VHOST_VHOST_USER_H
#define WISP_VHOST_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio_pci.h"

/* ------------------------------------------------------------ protocol */

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
};

/* header flags */
#define VU_VERSION 0x1
#define VU_VERSION_MASK 0x3
#define VU_FLAG_REPLY 0x4
#define VU_FLAG_NEED_REPLY 0x8

/* the virtio feature bit that says protocol features exist */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* protocol feature bits */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG 9
#define VU_PROTOCOL_F_INFLIGHT_SHMFD 12

/* vring fd messages: the queue index, and "no fd" */
#define VU_VRING_IDX_MASK 0xff
#define VU_VRING_NOFD 0x100

#define VU_MAX_MEM_REGIONS 8
#define VU_MAX_FDS VU_MAX_MEM_REGIONS
#define VU_MAX_CONFIG 256

struct vu_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* of the payload that follows */
} __attribute__((packed));

struct vu_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;	/* where the front end has it mapped */
	uint64_t mmap_offset;	/* where it starts in the fd */
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region region[VU_MAX_MEM_REGIONS];
};

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;		/* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VU_MAX_CONFIG];
};

/* The shared memory where a back-end records the requests it has
 * taken and not yet completed (GET/SET_INFLIGHT_FD). */
struct vu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
};

/* Longest payload wisp sends or accepts. */
#define VU_MAX_PAYLOAD sizeof(struct vu_config)

/* Sends one message with up to VU_MAX_FDS descriptors.  0, or -1 with
 * a description in err. */
int vu_send(int sock, uint32_t request, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned nfds, char *err, size_t errlen);

/* Receives the reply to `request`: exactly `size` payload bytes into
 * payload.  Anything else -- another request, a wrong version or flag,
 * another size, descriptors, a closed socket -- is -1 with err set.
 * `size` is checked strictly because every reply wisp asks for has one
 * fixed size. */
int vu_recv_reply(int sock, uint32_t request, void *payload, uint32_t size,
		  char *err, size_t errlen);
/* The same for a reply that must carry exactly one descriptor, which
 * goes to *fd (the caller's to close); -1 otherwise. */
int vu_recv_reply_fd(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
		     char *err, size_t errlen);

/* --------------------------------------------------------------- device */

struct vhost_user_params {
	const char *option;		/* "disk": for messages */
	const char *name;		/* "vhost-user-blk0" */
	const char *socket;
	/* vhost_mode=server: wisp listens at socket and waits there for the
	 * back-end at start-up (and after it went away); else it connects */
	bool server;
	uint16_t device_id;
	uint32_t pci_class;
	uint16_t pci_segment;
	uint8_t pci_slot;		/* pci_device_id=, 0: any */
	unsigned nqueues;		/* the back-end's, local ones not counted */
	/* how many queues a back-end serves without multiqueue (the
	 * protocol feature MQ): 1 for blk, 2 for a net pair or for fs's
	 * high-priority and request queue; 0 means 1 */
	unsigned queues_without_mq;
	/* what GET_QUEUE_NUM counts, in queues: 2 for net, whose
	 * back-ends answer in queue pairs; 0 means 1 */
	unsigned queue_num_unit;
	/* of the back-end's queues, how many are enabled when the driver
	 * starts the device (the others until vhost_user_enable_queues):
	 * 2 for multiqueue net, whose driver starts on the first pair;
	 * 0 means all */
	unsigned initially_enabled;
	/* queues after the back-end's that wisp serves itself (net's
	 * control queue): their kicks call local_notify, on the event loop
	 * with the device lock held */
	unsigned local_queues;
	void (*local_notify)(void *opaque, struct virtio_dev *d, unsigned q);
	/* Ask the back-end to record the requests it has taken
	 * (INFLIGHT_SHMFD), so that after a restart it resubmits those it
	 * had not completed: wisp keeps the memory between the two. */
	bool inflight;
	uint16_t queue_size;
	/* virtio features the device may offer if the back-end has them,
	 * and those it must have (VERSION_1 is always required) */
	uint64_t features;
	uint64_t required_features;
	/* features wisp provides itself (a MAC address in the config
	 * space): offered whatever the back-end says, never sent to it */
	uint64_t local_features;
	/* Device config: from the back-end (GET_CONFIG; the back-end must
	 * offer the CONFIG protocol feature), else these bytes. */
	bool config_from_backend;
	unsigned config_len;
	const void *config;
	/* Checks a back-end's config and adjusts it for the guest (a
	 * capacity of 0 is refused, num_queues set to the device's own):
	 * a message when unusable, or NULL. */
	const char *(*check_config)(void *opaque, void *config, unsigned len);
	void *opaque;
	/* Trims the features both sides have to a set that makes sense
	 * together (no DISCARD on a read-only disk).  Optional. */
	uint64_t (*fit_features)(uint64_t features);
};

struct vhost_user_dev;
struct kv_list;
struct cli_error;

/* The keys every vhost-user device option has. */
struct vhost_user_keys {
	const char *socket;		/* NULL when not given */
	const char *id;			/* NULL when not given */
	uint64_t num_queues;
	uint64_t queue_size;
	uint64_t pci_segment;
	uint8_t pci_slot;
};

/* Parses socket=PATH, id=NAME, num_queues (min_queues..max_queues), queue_size
 * (2..max_queue_size, a power of two), pci_segment and pci_device_id; k->num_queues
 * and k->queue_size hold the defaults on entry.  0, or -1 with err
 * filled in.  Whether socket is required, and how to say so, is the
 * device's. */
int vhost_user_parse_keys(struct kv_list *args, struct vhost_user_keys *k, uint64_t min_queues,
			  uint64_t max_queues, uint64_t max_queue_size, struct cli_error *err);

/* Connects to the back-end, negotiates, and adds the PCI device.
 * 0; 2 after a message when the user's input cannot work (no socket,
 * a back-end lacking features, --memory without shared=on); -1 on
 * other failures. */
int vhost_user_device_create(struct vm *vm, const struct vhost_user_params *p);

/* From local_notify: the back-end serves queues 0..n-1 from now on, and
 * none after (SET_VRING_ENABLE; kept across reconnections until the
 * driver resets the device).  0 once done or, without a back-end right
 * now, once it is back; -1 when n is out of range or the back-end
 * refused. */
int vhost_user_enable_queues(struct virtio_dev *d, unsigned n);

/* Snapshots refuse a VM with a vhost-user device: the back-end holds
 * the queues' state, and wisp does not ask it for that. */
struct snapshot_ops;
extern const struct snapshot_ops vhost_user_snapshot_ops;

#endif
