// SPDX-License-Identifier: MIT
/*
 * vhost-user-fs: virtio-fs (virtio spec 5.11), the FUSE server living in
 * a vhost-user back-end such as wisp-fsd (tools/wisp-fsd).
 *
 *   --fs tag=TAG,socket=PATH[,num_queues=N][,queue_size=N]
 *
 * The guest mounts it with `mount -t virtiofs TAG /mnt`.  Queue 0 is the
 * high-priority queue, then num_queues request queues.
 */
#include <stdio.h>
#include <string.h>

#include "core/device.h"
#include "core/vm.h"
#include "vhost/vhost_user.h"

#define DEFAULT_QUEUE_SIZE 1024
#define MAX_REQUEST_QUEUES 8
#define TAG_BYTES 36
#define PCI_CLASS_STORAGE_OTHER 0x018000

struct vu_fs_config {
	const char *tag;
	const char *socket;
	uint64_t num_queues;
	uint64_t queue_size;
	uint64_t pci_segment;
};

/* the device configuration space (5.11.4) */
struct virtio_fs_config {
	uint8_t tag[TAG_BYTES];		/* UTF-8, NUL-padded, no NUL when full */
	uint32_t num_request_queues;
} __attribute__((packed));

static unsigned nshares;

static int vu_fs_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vu_fs_config *c = config;

	c->num_queues = 1;
	c->queue_size = DEFAULT_QUEUE_SIZE;
	if (kv_str(args, "tag", &c->tag, err) < 0 ||
	    kv_str(args, "socket", &c->socket, err) < 0 ||
	    kv_u64(args, "num_queues", 1, MAX_REQUEST_QUEUES, &c->num_queues, err) < 0 ||
	    kv_u64(args, "queue_size", 2, 32768, &c->queue_size, err) < 0 ||
	    kv_u64(args, "pci_segment", 0, 0, &c->pci_segment, err) < 0)
		return -1;
	if (!c->tag || !c->socket) {
		cli_errorf(err, "tag=TAG and socket=PATH are required in '%s'", args->source);
		return -1;
	}
	if (!*c->tag || strlen(c->tag) > TAG_BYTES) {
		cli_errorf(err, "'tag=%s': 1 to %d bytes", c->tag, TAG_BYTES);
		return -1;
	}
	if (c->queue_size & (c->queue_size - 1)) {
		cli_errorf(err, "'queue_size=%llu': must be a power of two",
			   (unsigned long long)c->queue_size);
		return -1;
	}
	return 0;
}

static int vu_fs_create(struct vm *vm, const void *config)
{
	const struct vu_fs_config *c = config;
	struct virtio_fs_config cfg = { .num_request_queues = (uint32_t)c->num_queues };
	char name[32];
	struct vhost_user_params p = {
		.option = "fs",
		.name = name,
		.socket = c->socket,
		.device_id = VIRTIO_ID_FS,
		.pci_class = PCI_CLASS_STORAGE_OTHER,
		.pci_segment = (uint16_t)c->pci_segment,
		.nqueues = 1 + (unsigned)c->num_queues,
		.queues_without_mq = 2,
		.queue_size = (uint16_t)(c->queue_size > 32768 ? 32768 : c->queue_size),
		.config_len = sizeof(cfg),
		.config = &cfg,
	};

	memcpy(cfg.tag, c->tag, strlen(c->tag));
	snprintf(name, sizeof(name), "vhost-user-fs%u", nshares++);
	return vhost_user_device_create(vm, &p);
}

DEVICE_REGISTER(vhost_user_fs) = {
	.name = "vhost-user-fs",
	.summary = "virtio-fs: a host directory served by a vhost-user back-end (wisp-fsd)",
	.option = "fs",
	.usage = "tag=TAG,socket=PATH[,num_queues=N][,queue_size=N]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vu_fs_config),
	.parse = vu_fs_parse,
	.create = vu_fs_create,
};
