/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, "Split Virtqueues"), device side.
 *
 * The driver is hostile.  Everything it controls (ring addresses, queue
 * size, avail idx, heads, descriptors, indirect tables, used_event) is
 * read from guest memory exactly once into a local and validated before
 * use; every guest address goes through the queue's virtq_dma, whose
 * default is gpa_ptr().  A malformed ring marks the queue broken: from
 * then on virtq_pop() returns -1 and no function here touches the rings
 * again, and the transport sets DEVICE_NEEDS_RESET.
 *
 * Threads: one thread at a time services a queue (the device sees to
 * it); the driver runs concurrently on other CPUs, so the shared fields
 * are accessed with the barriers the specification asks for.
 *
 * The usual device loop:
 *
 *	struct virtq_chain c;
 *	int r;
 *
 *	while ((r = virtq_pop(q, &c)) > 0) {
 *		... virtq_chain_read(&c, ...) / virtq_chain_write(&c, ...) ...
 *		virtq_push(q, &c, written);
 *	}
 *	if (r < 0)
 *		... set DEVICE_NEEDS_RESET, send a configuration change ...
 *	if (virtq_needs_interrupt(q))
 *		... send the queue's interrupt ...
 *
 * When virtq_pop() returns 0 the device may sleep until the next
 * notification: with notifications enabled no buffer can be missed.
 */
#ifndef WISP_VIRTIO_VIRTQUEUE_H
#define WISP_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_memory;

/* ------------------------------------------------ ring layout (all little-endian) */

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	1

/* The feature bits this file implements, as bit numbers in the 64-bit
 * feature words (VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX). */
#define VIRTQ_FEATURE_INDIRECT_DESC 28
#define VIRTQ_FEATURE_EVENT_IDX	29

#define VIRTQ_MAX_SIZE		32768

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

/* Bytes each part occupies for a queue of `size` (alignment 16, 2, 4). */
#define VIRTQ_DESC_BYTES(size)	(16u * (uint64_t)(size))
#define VIRTQ_AVAIL_BYTES(size)	(6u + 2u * (uint64_t)(size))
#define VIRTQ_USED_BYTES(size)	(6u + 8u * (uint64_t)(size))

/* ------------------------------------------------------------ DMA */

/* How a queue turns the addresses the driver writes into host pointers.
 *
 * map() returns a pointer to the first *len bytes at addr (*len > 0 on
 * entry) that the device may read, and also write if `write`; it may
 * shorten *len when the bytes that follow are not host-contiguous (an
 * IOMMU mapping ends there, say), and returns NULL when the access is
 * not allowed at all.  The default (virtq_dma_guest) never shortens.
 *
 * DMA translated by an IOMMU (virtq_dma_endpoint) has three more:
 *  - revoked: a counter that moves whenever a translation may have gone
 *    away (UNMAP, DETACH, IOMMU reset).  A queue maps its rings once and
 *    keeps the pointers, so it maps them again when the counter moved.
 *  - hold()/release(): the rule that makes concurrent UNMAP safe.  A
 *    device that keeps using a chain after the event-loop callback that
 *    popped it returns (virtio-blk's I/O threads) takes a hold when it
 *    pops the chain, on the event loop, and releases it after pushing
 *    it.  The IOMMU completes an UNMAP or DETACH only after every hold
 *    taken before it removed the mapping has been released, so once the
 *    driver sees the UNMAP complete, no device touches that memory any
 *    more.  Devices that pop, use and push a chain within one event-loop
 *    callback need no hold: the IOMMU's requests run on that same loop.
 *  For the guest default all three are NULL. */
struct virtq_dma {
	void *(*map)(void *opaque, uint64_t addr, uint64_t *len, bool write);
	void *opaque;
	const uint64_t *revoked;
	unsigned (*hold)(void *opaque);
	void (*release)(void *opaque, unsigned ticket);
};

/* The default: guest-physical addresses through gpa_ptr(); write
 * mappings of read-only regions are refused. */
void virtq_dma_guest(struct virtq_dma *dma, const struct guest_memory *mem);

struct iommu_endpoint;

/* A device behind an IOMMU: addresses are the guest's I/O virtual
 * addresses, translated through the endpoint's domain (core/iommu.h). */
void virtq_dma_endpoint(struct virtq_dma *dma, struct iommu_endpoint *ep);

/* Holds and releases (see struct virtq_dma); no-ops without an IOMMU. */
static inline unsigned virtq_dma_hold(const struct virtq_dma *dma)
{
	return dma->hold ? dma->hold(dma->opaque) : 0;
}

static inline void virtq_dma_release(const struct virtq_dma *dma, unsigned ticket)
{
	if (dma->release)
		dma->release(dma->opaque, ticket);
}

/* ---------------------------------------------------------- queue */

struct virtq {
	struct virtq_dma dma;
	/* host pointers into the rings, valid while size != 0 */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t *used_event;		/* after avail->ring[size] */
	uint16_t *avail_event;		/* after used->ring[size] */
	uint64_t desc_addr, avail_addr, used_addr;	/* as the driver gave them */
	uint64_t revoked;		/* *dma.revoked when the rings were mapped */
	uint16_t size;			/* 0: disabled */
	uint16_t last_avail_idx;	/* next avail entry to take */
	uint16_t shadow_avail_idx;	/* avail->idx as last read and checked */
	uint16_t fill_idx;		/* next used entry to fill */
	uint16_t used_idx;		/* used->idx as last published */
	uint16_t signalled_used;	/* used_idx at the last needs_interrupt() */
	uint32_t unsignalled;		/* used entries published since (saturates) */
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool notify_disabled;
	bool broken;
	/* a bit per head taken by virtq_pop and not yet given back by
	 * virtq_fill: a head the driver makes available again while the
	 * device still holds it breaks the queue (virtio 1.2 2.7.13) */
	uint8_t *in_flight;
};

/*
 * When the driver enables the queue (queue_enable = 1): `features` are the
 * negotiated feature bits (only INDIRECT_DESC and EVENT_IDX matter here).
 * Checks the size (a power of two, 1..32768), the alignments (desc 16,
 * avail 2, used 4) and that each ring maps whole through `dma` (desc and
 * avail readable, used writable), and caches the pointers.  Returns -1 if
 * anything is wrong; the queue then stays disabled (and is not broken).
 * Writes nothing to guest memory.
 */
int virtq_init(struct virtq *q, const struct virtq_dma *dma, uint16_t size,
	       uint64_t desc, uint64_t avail, uint64_t used, uint64_t features);
/* Device reset: the queue is disabled and forgets everything. */
void virtq_reset(struct virtq *q);

static inline bool virtq_enabled(const struct virtq *q)
{
	return q->size != 0;
}

static inline bool virtq_broken(const struct virtq *q)
{
	return q->broken;
}

/* For a device that finds a chain it cannot even answer (say a block
 * request with no room for its status byte): the queue stops. */
void virtq_mark_broken(struct virtq *q);

/* ---------------------------------------------------------- chains */

/* Non-empty segments per direction.  virtio-blk advertises
 * seg_max = VIRTQ_MAX_SEGS - 2 (request header and status byte). */
#define VIRTQ_MAX_SEGS		128

/* One descriptor chain, its buffers already mapped: the device-readable
 * segments in out[], then the device-writable ones in in[], as iovecs so
 * that readv()/preadv()/writev()/sendmsg() take them as they are.
 * Zero-length descriptors are left out and host-contiguous neighbours of
 * the same direction are merged (the device must not assume any framing,
 * spec "Message Framing"). */
struct virtq_chain {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;	/* totals, out_len + in_len <= 2^32 */
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
};

/*
 * Takes the next available chain into *c: 1 if one was taken, 0 if the
 * ring is empty (or the queue is disabled), -1 if the queue is broken,
 * now or before.  Malformed, and so breaking the queue:
 *  - avail idx more than the queue size ahead of the last taken entry;
 *  - a head or next >= the size of its table;
 *  - more descriptors in the chain than the table holds (loops);
 *  - a buffer the DMA map refuses (outside RAM, crossing the end of a
 *    RAM region, addr + len past 2^64, writable in a read-only region;
 *    behind an IOMMU: not mapped, or mapped without the permission);
 *  - behind an IOMMU, rings that no longer map whole (after an UNMAP);
 *  - a device-readable descriptor after a device-writable one;
 *  - INDIRECT when not negotiated, INDIRECT with NEXT, INDIRECT inside
 *    an indirect table, a table whose len is 0, not a multiple of 16, or
 *    more than queue size entries, or which does not map;
 *  - more than VIRTQ_MAX_SEGS segments in one direction;
 *  - more than 2^32 bytes in total.
 * Zero-length descriptors are allowed (their addr is not used) but still
 * count for the order and length rules.  Unknown flag bits are ignored.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/* Returns a chain, `written` bytes having been written to the start of
 * its device-writable part (clamped to in_len): fill() writes the used
 * element, flush() publishes every filled element with one used->idx
 * update (mergeable receive buffers), push() does both.  No-ops on a
 * broken or disabled queue. */
void virtq_fill(struct virtq *q, const struct virtq_chain *c, uint32_t written);
void virtq_flush(struct virtq *q);
/* Gives back the last n chains popped and filled but not yet flushed:
 * they will be popped again (virtio-net when a frame needs more
 * receive buffers than the guest has posted). */
void virtq_unpop(struct virtq *q, uint16_t n);
/* Gives back the chain just popped, before anything else was popped or
 * pushed: the next pop takes the same avail entry again (and reads the
 * chain anew).  A rate-limited queue that must wait. */
void virtq_give_back(struct virtq *q, const struct virtq_chain *c);
void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t written);

/* After pushing: whether the driver wants an interrupt for what was
 * published since the last call (EVENT_IDX's used_event, else the
 * avail NO_INTERRUPT flag).  false if nothing was published since. */
bool virtq_needs_interrupt(struct virtq *q);

/*
 * Available buffer notification suppression, for devices that poll.
 * disable(): the driver need not notify (NO_NOTIFY, or with EVENT_IDX
 * avail_event simply stops moving).  enable(): notifications again;
 * returns true if buffers are available, which the caller must take
 * before it sleeps.  With notifications enabled (the default) an empty
 * virtq_pop() itself publishes avail_event and looks again, so 0 from it
 * is always safe to sleep on.
 */
void virtq_notify_disable(struct virtq *q);
bool virtq_notify_enable(struct virtq *q);

/* Copies between a chain and host memory, starting `offset` bytes into
 * the chain's readable (read) or writable (write) part; return the
 * bytes copied, short at the end of that part. */
size_t virtq_chain_read(const struct virtq_chain *c, size_t offset, void *dst,
			size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t offset,
			 const void *src, size_t len);

#endif
