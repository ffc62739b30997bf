/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk's parts (virtio/blk/): device.c takes requests off the
 * queues and owns the disk; request.c runs one request against the image.
 */
#ifndef WISP_VIRTIO_BLK_BLK_H
#define WISP_VIRTIO_BLK_BLK_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/cli.h"
#include "core/counters.h"
#include "core/device.h"
#include "core/file.h"
#include "core/vm.h"
#include "virtio/throttle.h"
#include "virtio/virtio_pci.h"

/* from <linux/falloc.h>, which clashes with libc's <fcntl.h> */
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SHIFT 9
/* I/O threads per disk: requests in flight at once */
#define IO_THREADS 4
/* cloud-hypervisor's default (its DEFAULT_DISK_QUEUE_SIZE), as vm.info shows */
#define DEFAULT_QUEUE_SIZE 128
#define MAX_QUEUES 16
/* I/O threads of each queue given in queue_affinity= */
#define QUEUE_IO_THREADS 2
#if IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY)
#define BLK_LANES (1 + MAX_QUEUES)
#define MAX_IO_THREADS (IO_THREADS + MAX_QUEUES * QUEUE_IO_THREADS)
#else
#define BLK_LANES 1
#define MAX_IO_THREADS IO_THREADS
#endif
#define SEG_MAX (VIRTQ_MAX_SEGS - 2)
#define MAX_DISCARD_SECTORS (1u << 22)	/* 2 GiB per range */
#define MAX_DISCARD_SEG 1
#define PCI_CLASS_STORAGE_OTHER 0x018000

struct blk_config {
	const char *path;
	const char *serial;
	const char *id;		/* the name in messages, else virtio-blkN */
	bool readonly;
	bool direct;		/* O_DIRECT (CONFIG_VIRTIO_BLK_DIRECT) */
	bool sparse;		/* offer DISCARD and unmapping WRITE_ZEROES */
	bool lock_byte_range;	/* lock the disk's bytes, not the whole file */
	uint64_t num_queues;
	uint64_t queue_size;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
	bool iommu;
	bool limited;
	struct rate_limit_config limits;
	const char *rate_limit_group;	/* --rate-limit-group id, or NULL */
	/* queue_affinity= (CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) */
	struct cpu_affinity queue_affinity[MAX_QUEUES];
	size_t nqueue_affinity;
};

/* struct virtio_blk_config, the fields wisp fills in (little-endian) */
struct blk_cfg_space {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct { uint16_t cylinders; uint8_t heads, sectors; } geometry;
	uint32_t blk_size;
	struct { uint8_t physical_block_exp, alignment_offset;
		 uint16_t min_io_size; uint32_t opt_io_size; } topology;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

struct blk_request {
	unsigned queue;
	unsigned dma_hold;	/* behind an IOMMU: held from pop to push */
	struct virtq_chain chain;
};

struct blk;

/* Waiting requests and the I/O threads that take them: lane 0 for the
 * queues without queue_affinity=, a lane of its own, with threads pinned
 * to its host CPUs, for each queue with it. */
struct blk_lane {
	struct blk *b;
	pthread_cond_t qcond;		/* requests are waiting */
	struct blk_request *pending;	/* a ring as large as its queues together, */
	unsigned pending_max;		/* so it can never overflow */
	unsigned head, count;
};

struct blk {
	struct virtio_dev vdev;
	struct blk_cfg_space cfg;
	const struct blk_config *conf;
	int fd;
	uint64_t size;		/* bytes, a multiple of 512 */
	char id[VIRTIO_BLK_ID_BYTES];

	/* requests waiting for the I/O threads, under qlock */
	pthread_t thread[MAX_IO_THREADS];
	unsigned nthreads;
	struct blk_lane lane[BLK_LANES];
	uint8_t lane_of[MAX_QUEUES];	/* each queue's lane */
	pthread_mutex_t qlock;
	pthread_cond_t idle;	/* no request is running */
	unsigned running;	/* requests taken by I/O threads, not done */
	/* requests taken by I/O threads and not yet pushed to the guest:
	 * a snapshot waits for none (a reset cannot, it holds the device
	 * lock the push needs) */
	unsigned unpushed;
	uint64_t generation;	/* bumped by reset: completions of older requests are dropped */
	bool stopping;
	/* direct=on: the memory alignment O_DIRECT wants, and one aligned
	 * buffer of BLK_BOUNCE_BYTES per I/O thread for requests whose
	 * buffers lack it (handed out in thread start order) */
	size_t dio_mem_align;
	void *bounce[MAX_IO_THREADS];
	unsigned bounce_next;
	struct throttle throttle;	/* bw_size=, ops_size=, ... */
	atomic_ullong stats[4];	/* blk_counter_names, for vm.counters */
};


/* ------------------------------------------------------------ requests */

struct blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_discard {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

#define DISCARD_FLAG_UNMAP 1
#define DISCARD_FLAGS_KNOWN DISCARD_FLAG_UNMAP

/* Runs one well-formed request (header, data, status byte) against the
 * image: its status, and in *written the bytes it wrote to the guest.
 * bounce: the calling I/O thread's aligned buffer (direct=on), or NULL. */
uint8_t blk_execute(struct blk *b, const struct virtq_chain *c, uint32_t *written, void *bounce);

#define BLK_BOUNCE_BYTES (256u * 1024)

#if IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT)
/* direct=on at create time: b->fd reopened with O_DIRECT, the alignment
 * found and the bounce buffers made.  0, or an exit status after the
 * message. */
int blk_direct_open(struct blk *b);
/* Whether O_DIRECT takes these segments as they are. */
bool blk_direct_aligned(const struct blk *b, const struct iovec *iov, unsigned n);
/* The request's data through the bounce buffer: 0, or -1. */
int blk_direct_bounced(struct blk *b, const struct virtq_chain *c, bool is_read,
		       uint64_t off, uint64_t len, void *bounce);
#ifdef WISP_UNIT_TEST
/* requests that went through a bounce buffer, for the unit test */
extern unsigned blk_direct_bounces;
#endif
#endif
/* What a request costs the rate limiter: the data it moves (reads and
 * writes; the others move none), beside the one operation it is. */
uint64_t blk_request_bytes(const struct virtq_chain *c);

#endif
