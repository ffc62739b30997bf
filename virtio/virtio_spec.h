/* SPDX-License-Identifier: MIT */
/*
 * What the virtio 1.2 specification fixes for every device: the reserved
 * feature bits (6), the device status bits (2.1), the device IDs (5) and
 * the split virtqueue's ring layout (2.7), all little-endian.
 *
 * Freestanding (stdint.h only): the devices (virtio/) and the test
 * guests' driver (tests/guests/lib/virtio.h) take them from here, so the
 * two sides of the rings cannot disagree about their shape.
 */
#ifndef WISP_VIRTIO_VIRTIO_SPEC_H
#define WISP_VIRTIO_VIRTIO_SPEC_H

#include <stdint.h>

/* reserved feature bits */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

/* device status */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* device IDs */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_IOMMU 23
#define VIRTIO_ID_FS 26
#define VIRTIO_ID_PMEM 27

/* split virtqueue */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];	/* queue size entries, then le16 used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];	/* queue size entries, then le16 avail_event */
};

#endif
