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
#include "core/json.h"
#include "core/vm.h"
#include "vhost/vhost_user.h"

#define DEFAULT_QUEUE_SIZE 1024
#define MAX_REQUEST_QUEUES 8
#define TAG_BYTES 36
#define PCI_CLASS_STORAGE_OTHER 0x018000

struct vu_fs_config {
	const char *tag;
	struct vhost_user_keys k;
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

	c->k.num_queues = 1;
	c->k.queue_size = DEFAULT_QUEUE_SIZE;
	if (kv_str(args, "tag", &c->tag, err) < 0 ||
	    vhost_user_parse_keys(args, &c->k, 1, MAX_REQUEST_QUEUES, 32768, err))
		return -1;
	if (!c->tag || !c->k.socket) {
		cli_errorf(err, "tag=TAG and socket=PATH are required in '%s'", args->source);
		return -1;
	}
	if (!*c->tag || strlen(c->tag) > TAG_BYTES) {
		cli_errorf(err, "'tag=%s': 1 to %d bytes", c->tag, TAG_BYTES);
		return -1;
	}
	return 0;
}

static int vu_fs_create(struct vm *vm, const void *config)
{
	const struct vu_fs_config *c = config;
	struct virtio_fs_config cfg = { .num_request_queues = (uint32_t)c->k.num_queues };
	char name[32];
	struct vhost_user_params p = {
		.option = "fs",
		.name = name,
		.socket = c->k.socket,
		.device_id = VIRTIO_ID_FS,
		.pci_class = PCI_CLASS_STORAGE_OTHER,
		.pci_segment = (uint16_t)c->k.pci_segment,
		.pci_slot = c->k.pci_slot,
		.nqueues = 1 + (unsigned)c->k.num_queues,
		.queues_without_mq = 2,
		.queue_size = (uint16_t)c->k.queue_size,
		.config_len = sizeof(cfg),
		.config = &cfg,
	};

	memcpy(cfg.tag, c->tag, strlen(c->tag));
	snprintf(name, sizeof(name), "vhost-user-fs%u", nshares++);
	return vhost_user_device_create(vm, &p);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "fs" */
static void vu_fs_info(const void *config, struct json *j)
{
	const struct vu_fs_config *c = config;

	json_string(j, "tag", c->tag);
	json_string(j, "socket", c->k.socket);
	json_u64(j, "num_queues", c->k.num_queues);
	json_u64(j, "queue_size", c->k.queue_size);
	json_u64(j, "pci_segment", c->k.pci_segment);
}
#endif

DEVICE_REGISTER(vhost_user_fs) = {
	.name = "vhost-user-fs",
	.summary = "virtio-fs: a host directory served by a vhost-user back-end (wisp-fsd)",
	.option = "fs",
	.usage = "tag=TAG,socket=PATH[,num_queues=N][,queue_size=N][,id=NAME]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vu_fs_config),
	.parse = vu_fs_parse,
	.create = vu_fs_create,
	.snapshot = SNAPSHOT_OPS(&vhost_user_snapshot_ops),
	DEVICE_INFO("fs", true, vu_fs_info)
};
