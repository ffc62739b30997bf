// SPDX-License-Identifier: MIT
/* Guest memory and split virtqueues for wisp-fsd (see vring.h). */
#include "vring.h"

#include <string.h>
#include <sys/mman.h>

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4

static void *region_ptr(const struct fsd_region *r, uint64_t base, uint64_t addr,
			uint64_t len)
{
	if (addr < base || addr - base > r->size || len > r->size - (addr - base))
		return NULL;
	return r->host + (addr - base);
}

void *mem_gpa(const struct fsd_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		void *p = region_ptr(&m->r[i], m->r[i].gpa, gpa, len);

		if (p)
			return p;
	}
	return NULL;
}

void *mem_qva(const struct fsd_mem *m, uint64_t qva, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		void *p = region_ptr(&m->r[i], m->r[i].qva, qva, len);

		if (p)
			return p;
	}
	return NULL;
}

void mem_unmap(struct fsd_mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		munmap(m->r[i].map, m->r[i].map_len);
	m->n = 0;
}

int vring_map(struct fsd_vring *q, const struct fsd_mem *m)
{
	q->desc = mem_qva(m, q->desc_qva, 16ULL * q->num);
	q->avail = mem_qva(m, q->avail_qva, 6 + 2ULL * q->num);
	q->used = mem_qva(m, q->used_qva, 6 + 8ULL * q->num);
	/* alignment the split ring requires (2.7): 16, 2 and 4 bytes */
	if (!q->desc || !q->avail || !q->used || ((uintptr_t)q->desc & 15) ||
	    ((uintptr_t)q->avail & 1) || ((uintptr_t)q->used & 3))
		return -1;
	return 0;
}

static uint16_t avail_idx(const struct fsd_vring *q)
{
	return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
}

int vring_pop(struct fsd_vring *q, const struct fsd_mem *m, struct fsd_chain *c)
{
	uint16_t idx, head, i;
	struct vring_desc d;
	unsigned seen = 0;

	/* a broken ring's pointers may be stale or misaligned (a refused
	 * vring_map()): not even its index is read */
	if (q->broken)
		return -1;
	idx = avail_idx(q);
	if (idx == q->last_avail)
		return 0;
	/* more entries than the ring holds: the driver is confused */
	if ((uint16_t)(idx - q->last_avail) > q->num) {
		q->broken = true;
		return -1;
	}
	/* read once: the check below must hold for the value used */
	head = __atomic_load_n(&q->avail[2 + q->last_avail % q->num], __ATOMIC_RELAXED);
	if (head >= q->num) {
		q->broken = true;
		return -1;
	}
	memset(c, 0, offsetof(struct fsd_chain, in));
	c->head = head;
	for (i = head;; i = d.next) {
		void *p;

		if (i >= q->num || ++seen > q->num || seen > FSD_MAX_SEGS) {
			q->broken = true;	/* out of range, a loop, or too long */
			return -1;
		}
		/* one read of the guest's descriptor: flags, address, length
		 * and next all come from this copy, never from guest memory
		 * again (the guest may change it meanwhile) */
		memcpy(&d, &q->desc[i], sizeof(d));
		/* never offered INDIRECT_DESC, so never accepted */
		if (d.flags & DESC_F_INDIRECT) {
			q->broken = true;
			return -1;
		}
		p = d.len ? mem_gpa(m, d.addr, d.len) : NULL;
		if (d.len && !p) {
			q->broken = true;
			return -1;
		}
		if (d.flags & DESC_F_WRITE) {
			if (d.len) {
				c->out[c->nout++] = (struct iovec){ p, d.len };
				c->out_len += d.len;
			}
		} else {
			/* readable after writable: not a valid request */
			if (c->nout) {
				q->broken = true;
				return -1;
			}
			if (d.len) {
				c->in[c->nin++] = (struct iovec){ p, d.len };
				c->in_len += d.len;
			}
		}
		if (!(d.flags & DESC_F_NEXT))
			break;
	}
	q->last_avail++;
	return 1;
}

void vring_push(struct fsd_vring *q, uint16_t head, uint32_t len)
{
	uint16_t *used_idx = (uint16_t *)(q->used + 2);
	uint16_t idx = *used_idx;
	uint8_t *elem = q->used + 4 + 8 * (idx % q->num);
	uint32_t id = head;

	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	__atomic_store_n(used_idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}
