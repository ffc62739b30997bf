// SPDX-License-Identifier: MIT
/*
 * vhost-user-blk: a virtio block device (virtio spec 5.2) whose
 * requests are served by a vhost-user back-end such as
 * qemu-storage-daemon --export type=vhost-user-blk.
 *
 *   --disk vhost_user=on,socket=PATH[,num_queues=N][,queue_size=N]
 *
 * The back-end owns the image: its capacity, block size and limits come
 * from the back-end's configuration space (GET_CONFIG); wisp offers the
 * guest the block features both sides know.
 */
#include <stdio.h>
#include <string.h>

#include "core/device.h"
#include "core/json.h"
#include "core/vm.h"
#include "vhost/vhost_user.h"

#define DEFAULT_QUEUE_SIZE 128
#define MAX_QUEUES 16
#define PCI_CLASS_STORAGE_OTHER 0x018000

/* block feature bits (5.2.3) the guest may get when the back-end has them */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* The configuration space up to the write-zeroes fields (60 bytes):
 * what every back-end of virtio 1.1 or later knows. */
#define BLK_CONFIG_LEN 60
#define BLK_CONFIG_CAPACITY 0
#define BLK_CONFIG_BLK_SIZE 20
#define BLK_CONFIG_NUM_QUEUES 34

struct vu_blk_config {
	struct vhost_user_keys k;
};

static unsigned ndisks;

static int vu_blk_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vu_blk_config *c = config;

	c->k.num_queues = 1;
	c->k.queue_size = DEFAULT_QUEUE_SIZE;
	/* vhost_user=on itself was consumed in choosing this device */
	if (vhost_user_parse_keys(args, &c->k, 1, MAX_QUEUES, 1024, err))
		return -1;
	if (!c->k.socket) {
		cli_errorf(err, "socket=PATH is required with vhost_user=on in '%s'", args->source);
		return -1;
	}
	return 0;
}

/* The back-end's config, checked and fitted to this device. */
static const char *vu_blk_check_config(void *opaque, void *config, unsigned len)
{
	const struct vu_blk_config *c = opaque;
	uint8_t *cfg = config;
	uint16_t nq = (uint16_t)c->k.num_queues;
	uint64_t capacity;
	uint32_t blk_size;

	(void)len;
	memcpy(&capacity, cfg + BLK_CONFIG_CAPACITY, sizeof(capacity));
	memcpy(&blk_size, cfg + BLK_CONFIG_BLK_SIZE, sizeof(blk_size));
	if (!capacity)
		return "capacity 0";
	if (capacity > (UINT64_MAX >> 9))
		return "capacity beyond 2^64 bytes";
	if (blk_size && (blk_size < 512 || blk_size > 65536 || (blk_size & (blk_size - 1))))
		return "block size not a power of two between 512 and 64 KiB";
	/* the guest sees the queues this device has */
	memcpy(cfg + BLK_CONFIG_NUM_QUEUES, &nq, sizeof(nq));
	return NULL;
}

/* A read-only export may still claim DISCARD and WRITE_ZEROES
 * (qemu-storage-daemon does); the guest should not try them. */
static uint64_t vu_blk_fit_features(uint64_t features)
{
	if (features & (1ULL << VIRTIO_BLK_F_RO))
		features &= ~((1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	return features;
}

static int vu_blk_create(struct vm *vm, const void *config)
{
	const struct vu_blk_config *c = config;
	char name[32];
	struct vhost_user_params p = {
		.option = "disk",
		.name = name,
		.socket = c->k.socket,
		.device_id = VIRTIO_ID_BLOCK,
		.pci_class = PCI_CLASS_STORAGE_OTHER,
		.pci_segment = (uint16_t)c->k.pci_segment,
		.pci_slot = c->k.pci_slot,
		.nqueues = (unsigned)c->k.num_queues,
		.queue_size = (uint16_t)c->k.queue_size,
		.features = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			    (1ULL << VIRTIO_BLK_F_GEOMETRY) | (1ULL << VIRTIO_BLK_F_RO) |
			    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
			    (1ULL << VIRTIO_BLK_F_TOPOLOGY) | (1ULL << VIRTIO_BLK_F_DISCARD) |
			    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
		.config_from_backend = true,
		.config_len = BLK_CONFIG_LEN,
		.check_config = vu_blk_check_config,
		.opaque = (void *)c,
		.fit_features = vu_blk_fit_features,
		/* requests a restarted back-end had taken are resubmitted */
		.inflight = true,
	};

	/* several queues need MQ from the back-end (the handshake checks
	 * that it serves that many) */
	if (c->k.num_queues > 1)
		p.features |= p.required_features = 1ULL << VIRTIO_BLK_F_MQ;
	snprintf(name, sizeof(name), "vhost-user-blk%u", ndisks++);
	return vhost_user_device_create(vm, &p);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "disks", a vhost-user one */
static void vu_blk_info(const void *config, struct json *j)
{
	const struct vu_blk_config *c = config;

	json_u64(j, "num_queues", c->k.num_queues);
	json_u64(j, "queue_size", c->k.queue_size);
	json_bool(j, "vhost_user", true);
	json_string(j, "vhost_socket", c->k.socket);
	json_u64(j, "pci_segment", c->k.pci_segment);
}
#endif

DEVICE_REGISTER(vhost_user_blk) = {
	.name = "vhost-user-blk",
	.summary = "virtio block device served by a vhost-user back-end",
	.option = "disk",
	.variant = "vhost_user",
	.usage = "vhost_user=on,socket=PATH[,num_queues=N][,queue_size=N][,id=NAME]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vu_blk_config),
	.parse = vu_blk_parse,
	.create = vu_blk_create,
	.snapshot = SNAPSHOT_OPS(&vhost_user_snapshot_ops),
	DEVICE_INFO("disks", true, vu_blk_info)
};
