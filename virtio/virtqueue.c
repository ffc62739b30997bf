// SPDX-License-Identifier: MIT
/*
 * Split virtqueues, device side, from the virtio 1.2 specification
 * ("Split Virtqueues").  See virtqueue.h for the contract.
 *
 * Memory ordering, against a driver on another CPU:
 *  - avail->idx is loaded with acquire before the ring entries and the
 *    descriptors it publishes are read;
 *  - used elements are written before used->idx, which is stored with
 *    release;
 *  - a full fence separates our store of used->idx from the load of
 *    used_event / avail->flags (needs_interrupt), and our store of
 *    avail_event / used->flags from the load of avail->idx (an empty pop,
 *    notify_enable): the driver does the mirror image, and without the
 *    fences both sides could read the other's old value and a
 *    notification would be lost.
 */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "core/iommu.h"
#include "core/memory.h"

#define load_relaxed(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_relaxed(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define full_fence()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

/* ------------------------------------------------------------ DMA */

/* Devices reach guest RAM only, as through the virtio-iommu: device
 * memory (a virtio-pmem file) is never a DMA target, because another
 * process may truncate that file, or the host disk fill under its
 * holes, and wisp's own copies through the mapping would then die of
 * SIGBUS.  (The guest's accesses go through KVM, which fails the vCPU
 * cleanly instead.) */
static void *guest_map(void *opaque, uint64_t addr, uint64_t *len, bool write)
{
	const struct guest_memory *mem = opaque;
	const struct mem_region *r = gpa_region(mem, addr);

	if (!r || !r->ram || (write && r->readonly))
		return NULL;
	return gpa_ptr(mem, addr, *len);
}

void virtq_dma_guest(struct virtq_dma *dma, const struct guest_memory *mem)
{
	*dma = (struct virtq_dma){ .map = guest_map, .opaque = (void *)mem };
}

void virtq_dma_endpoint(struct virtq_dma *dma, struct iommu_endpoint *ep)
{
	*dma = (struct virtq_dma){
		.map = ep->map,
		.opaque = ep,
		.revoked = ep->revoked,
		.hold = ep->hold,
		.release = ep->release,
	};
}

/* A pointer to all len bytes at addr in one piece, or NULL: rings and
 * indirect tables are read through one pointer. */
static void *map_whole(const struct virtq_dma *dma, uint64_t addr, uint64_t len,
		       bool write)
{
	uint64_t got = len;
	void *p = dma->map(dma->opaque, addr, &got, write);

	return p && got == len ? p : NULL;
}

static uint64_t revoked_now(const struct virtq_dma *dma)
{
	return dma->revoked ? __atomic_load_n(dma->revoked, __ATOMIC_ACQUIRE) : 0;
}

/* ---------------------------------------------------------- queue */

void virtq_reset(struct virtq *q)
{
	free(q->in_flight);
	memset(q, 0, sizeof(*q));
}

int virtq_init(struct virtq *q, const struct virtq_dma *dma, uint16_t size,
	       uint64_t desc, uint64_t avail, uint64_t used, uint64_t features)
{
	void *d, *a, *u;
	uint64_t revoked;

	virtq_reset(q);
	if (!dma || !dma->map)
		return -1;
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -1;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -1;
	/* read before mapping: a translation revoked meanwhile moves it */
	revoked = revoked_now(dma);
	/* stop at the first refusal: behind an IOMMU each one is a fault
	 * reported to the guest */
	if (!(d = map_whole(dma, desc, VIRTQ_DESC_BYTES(size), false)) ||
	    !(a = map_whole(dma, avail, VIRTQ_AVAIL_BYTES(size), false)) ||
	    !(u = map_whole(dma, used, VIRTQ_USED_BYTES(size), true)))
		return -1;
	/* The atomic accesses need the host side aligned as well. */
	if (((uintptr_t)d & 15) || ((uintptr_t)a & 1) || ((uintptr_t)u & 3))
		return -1;

	q->dma = *dma;
	q->revoked = revoked;
	q->desc_addr = desc;
	q->avail_addr = avail;
	q->used_addr = used;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->used_event = &q->avail->ring[size];
	q->avail_event = (uint16_t *)(void *)&q->used->ring[size];
	q->event_idx = (features >> VIRTQ_FEATURE_EVENT_IDX) & 1;
	q->indirect = (features >> VIRTQ_FEATURE_INDIRECT_DESC) & 1;
	q->in_flight = calloc((size + 7u) / 8, 1);
	if (!q->in_flight)
		return -1;
	q->size = size;
	return 0;
}

/* Behind an IOMMU, after a translation went away: the rings again, as
 * the driver's addresses now translate (they may have moved).  -1 if
 * they no longer map whole and aligned. */
static int remap_rings(struct virtq *q)
{
	uint64_t revoked = revoked_now(&q->dma);
	void *d, *a, *u;

	if (!(d = map_whole(&q->dma, q->desc_addr, VIRTQ_DESC_BYTES(q->size), false)) ||
	    !(a = map_whole(&q->dma, q->avail_addr, VIRTQ_AVAIL_BYTES(q->size), false)) ||
	    !(u = map_whole(&q->dma, q->used_addr, VIRTQ_USED_BYTES(q->size), true)))
		return -1;
	if (((uintptr_t)d & 15) || ((uintptr_t)a & 1) || ((uintptr_t)u & 3))
		return -1;
	q->revoked = revoked;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->used_event = &q->avail->ring[q->size];
	q->avail_event = (uint16_t *)(void *)&q->used->ring[q->size];
	return 0;
}

void virtq_mark_broken(struct virtq *q)
{
	q->broken = true;
}

/* ---------------------------------------------------------- chains */

/*
 * One descriptor from a table (the queue's, or an indirect one with no
 * alignment promised), copied once.  The driver may rewrite it at any
 * moment: the compiler barrier makes sure every later use reads this
 * copy and none goes back to guest memory.
 */
static void read_desc(struct virtq_desc *d, const unsigned char *table,
		      uint32_t i)
{
	memcpy(d, table + (size_t)i * sizeof(*d), sizeof(*d));
	__asm__ __volatile__("" : : "r"(d) : "memory");
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Adds one (non-indirect) descriptor's buffer to the chain. */
static bool add_buf(const struct virtq *q, struct virtq_chain *c,
		    const struct virtq_desc *d, bool *seen_write)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	struct iovec *v = write ? c->in : c->out;
	unsigned *n = write ? &c->nin : &c->nout;
	uint64_t *total = write ? &c->in_len : &c->out_len;
	void *p;

	/* "The driver MUST place any device-writable descriptor elements
	 * after any device-readable descriptor elements." */
	if (!write && *seen_write)
		return false;
	*seen_write |= write;
	if (d->len == 0)
		return true;
	/* "Drivers MUST NOT add a descriptor chain longer than 2^32 bytes". */
	if (c->out_len + c->in_len + d->len > (UINT64_C(1) << 32))
		return false;
	/* behind an IOMMU one buffer may be several host pieces */
	for (uint64_t done = 0; done < d->len;) {
		uint64_t got = d->len - done;

		if (d->addr + done < d->addr)
			return false;	/* wraps past 2^64 */
		p = q->dma.map(q->dma.opaque, d->addr + done, &got, write);
		if (!p || !got || got > d->len - done)
			return false;
		if (*n && (unsigned char *)v[*n - 1].iov_base + v[*n - 1].iov_len == p) {
			v[*n - 1].iov_len += got;
		} else {
			if (*n == VIRTQ_MAX_SEGS)
				return false;
			v[*n].iov_base = p;
			v[*n].iov_len = got;
			(*n)++;
		}
		done += got;
	}
	*total += d->len;
	return true;
}

/* Walks the chain starting at `head`: 0, or -1 if it is malformed. */
static int walk_chain(const struct virtq *q, struct virtq_chain *c,
		      uint16_t head)
{
	const unsigned char *table = (const unsigned char *)q->desc;
	uint32_t entries = q->size, seen = 0, i = head;
	bool indirect = false, seen_write = false;
	struct virtq_desc d;

	c->head = head;
	for (;;) {
		/* A chain longer than its table repeats a descriptor. */
		if (i >= entries || ++seen > entries)
			return -1;
		read_desc(&d, table, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Only when negotiated, one level, never with NEXT,
			 * and no longer than the queue; its WRITE is ignored. */
			if (!q->indirect || indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -1;
			if (d.len == 0 || d.len % sizeof(d) ||
			    d.len / sizeof(d) > q->size)
				return -1;
			table = map_whole(&q->dma, d.addr, d.len, false);
			if (!table)
				return -1;
			entries = d.len / (uint32_t)sizeof(d);
			seen = 0;
			i = 0;
			indirect = true;
			continue;
		}
		if (!add_buf(q, c, &d, &seen_write))
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

/* How many entries avail->idx says are ready, or -1 (and broken) if it
 * claims more than the ring holds. */
static int avail_ready(struct virtq *q)
{
	uint16_t idx = le16toh(load_acquire(&q->avail->idx));
	uint16_t n = (uint16_t)(idx - q->last_avail_idx);

	if (n > q->size) {
		q->broken = true;
		return -1;
	}
	q->shadow_avail_idx = idx;
	return n;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t slot, head;

	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	if (q->broken)
		return -1;
	if (!q->size)
		return 0;
	if (q->dma.revoked && revoked_now(&q->dma) != q->revoked && remap_rings(q)) {
		q->broken = true;
		return -1;
	}
	if (q->last_avail_idx == q->shadow_avail_idx) {
		int n = avail_ready(q);

		if (n == 0 && q->event_idx && !q->notify_disabled) {
			/* Ask to be notified of the next entry, then look
			 * once more in case it came before the request was
			 * visible. */
			store_relaxed(q->avail_event, htole16(q->last_avail_idx));
			full_fence();
			n = avail_ready(q);
		}
		if (n <= 0)
			return n;
	}
	slot = q->last_avail_idx & (uint16_t)(q->size - 1);
	head = le16toh(load_relaxed(&q->avail->ring[slot]));
	if (walk_chain(q, c, head) || (q->in_flight[head / 8] & (1u << (head % 8)))) {
		q->broken = true;
		c->nout = c->nin = 0;
		c->out_len = c->in_len = 0;
		return -1;
	}
	q->in_flight[head / 8] |= (uint8_t)(1u << (head % 8));
	q->last_avail_idx++;
	return 1;
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	uint16_t filled = (uint16_t)(q->fill_idx - q->used_idx);

	if (q->broken || !q->size || n > filled)
		return;
	q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
	q->fill_idx = (uint16_t)(q->fill_idx - n);
}

void virtq_give_back(struct virtq *q, const struct virtq_chain *c)
{
	if (q->broken || !q->size || c->head >= q->size)
		return;
	q->in_flight[c->head / 8] &= (uint8_t)~(1u << (c->head % 8));
	q->last_avail_idx--;
}

void virtq_fill(struct virtq *q, const struct virtq_chain *c, uint32_t written)
{
	struct virtq_used_elem *e;

	if (q->broken || !q->size)
		return;
	if (written > c->in_len)
		written = (uint32_t)c->in_len;
	if (c->head < q->size)
		q->in_flight[c->head / 8] &= (uint8_t)~(1u << (c->head % 8));
	e = &q->used->ring[q->fill_idx & (uint16_t)(q->size - 1)];
	store_relaxed(&e->id, htole32(c->head));
	store_relaxed(&e->len, htole32(written));
	q->fill_idx++;
}

void virtq_flush(struct virtq *q)
{
	uint16_t n;

	if (q->broken || !q->size)
		return;
	n = (uint16_t)(q->fill_idx - q->used_idx);
	if (!n)
		return;
	/* "The device MUST set len prior to updating the used idx." */
	store_release(&q->used->idx, htole16(q->fill_idx));
	q->used_idx = q->fill_idx;
	q->unsignalled += n;
	if (q->unsignalled > 0x10000)
		q->unsignalled = 0x10000;
}

void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t written)
{
	virtq_fill(q, c, written);
	virtq_flush(q);
}

bool virtq_needs_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, event;
	uint32_t n = q->unsignalled;

	if (q->broken || !q->size || !n)
		return false;
	q->signalled_used = q->used_idx;
	q->unsignalled = 0;
	full_fence();
	if (!q->event_idx)
		return !(le16toh(load_relaxed(&q->avail->flags)) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	/* The entries published since the last call sit at old .. old+n-1;
	 * the driver wants to hear once the one at used_event is written.
	 * (n saturates at 65536, where every used_event is among them.) */
	event = le16toh(load_relaxed(q->used_event));
	return (uint16_t)(event - old) < n;
}

void virtq_notify_disable(struct virtq *q)
{
	if (q->broken || !q->size || q->notify_disabled)
		return;
	q->notify_disabled = true;
	/* With EVENT_IDX the device MUST keep flags at 0: avail_event just
	 * stays where it is, so at most one more notification comes. */
	if (!q->event_idx)
		store_relaxed(&q->used->flags, htole16(VIRTQ_USED_F_NO_NOTIFY));
}

bool virtq_notify_enable(struct virtq *q)
{
	uint16_t idx;

	if (q->broken || !q->size)
		return false;
	q->notify_disabled = false;
	if (q->event_idx)
		store_relaxed(q->avail_event, htole16(q->last_avail_idx));
	else
		store_relaxed(&q->used->flags, 0);
	full_fence();
	idx = le16toh(load_acquire(&q->avail->idx));
	return idx != q->last_avail_idx;
}

/* ------------------------------------------------------- copying */

static size_t copy_segs(const struct iovec *v, unsigned n, size_t offset,
			void *buf, size_t len, bool to_chain)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = v[i].iov_len, k;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		k = seg - offset;
		if (k > len - done)
			k = len - done;
		if (to_chain)
			memcpy((unsigned char *)v[i].iov_base + offset,
			       (const unsigned char *)buf + done, k);
		else
			memcpy((unsigned char *)buf + done,
			       (const unsigned char *)v[i].iov_base + offset, k);
		done += k;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t offset, void *dst,
			size_t len)
{
	return copy_segs(c->out, c->nout, offset, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t offset,
			 const void *src, size_t len)
{
	return copy_segs(c->in, c->nin, offset, (void *)src, len, true);
}
