// SPDX-License-Identifier: MIT
/*
 * virtio-iommu (virtio 1.2, 5.13) for the PCI devices given iommu=on.
 *
 * The device exists only when some device asks for it: its create()
 * registers the VM's IOMMU (core/iommu.h), and its PCI function appears
 * with the first endpoint.  Endpoint ids are PCI BDFs (segment 0), which
 * is what the ACPI VIOT table tells the guest.
 *
 * State: domains (created by the first ATTACH, gone with their last
 * endpoint, with their mappings, as the Linux driver expects), each a
 * sorted array of non-overlapping mappings.  An endpoint attached to no
 * domain has its DMA blocked (F_BYPASS is not offered).
 *
 * Mirrors: an endpoint that does its own DMA (VFIO; struct iommu_mirror
 * in core/iommu.h) is told of its domain's mappings instead of
 * translating through map(); see "mirrors" below.
 *
 * Threads.  Requests run on the event loop (queue_notify) or, for a
 * reset, on a vCPU thread, under the device lock.  Translations (map())
 * come from any thread: vCPU threads enabling queues, the event loop,
 * virtio-blk's I/O threads; they take `lock` for reading only and never
 * the device lock.  A translation's host pointer is used after the lock
 * is dropped, so removing a mapping follows the rule of virtqueue.h:
 * the mapping goes under the write lock, `revoked` moves (queues map
 * their rings again), and the request completes only once every DMA
 * hold taken before that has been released (hold_sync()).
 *
 * A refused translation is reported to the driver as a fault event on
 * the event queue: queued from the translating thread, posted from the
 * event loop, at most FAULTS_PENDING waiting for buffers (docs/iommu.md).
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "core/device.h"
#include "core/event.h"
#include "core/iommu.h"
#include "core/memory.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

/* feature bits (5.13.3) */
#define F_INPUT_RANGE 0
#define F_DOMAIN_RANGE 1
#define F_MAP_UNMAP 2
#define F_PROBE 4

/* request types and status values (5.13.6) */
#define T_ATTACH 1
#define T_DETACH 2
#define T_MAP 3
#define T_UNMAP 4
#define T_PROBE 5

#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define S_DEVERR 3
#define S_INVAL 4
#define S_RANGE 5
#define S_NOENT 6
#define S_FAULT 7
#define S_NOMEM 8

#define MAP_F_READ 1
#define MAP_F_WRITE 2
#define MAP_F_MMIO 4

#define PROBE_T_RESV_MEM 1
#define RESV_MEM_T_RESERVED 0
#define RESV_MEM_T_MSI 1

/* The granule: 4 KiB pages, and every larger power of two. */
#define PAGE_SIZE 4096ULL
#define PAGE_SIZE_MASK (~(PAGE_SIZE - 1))
#define PROBE_SIZE 512
#define QUEUE_SIZE 256
#define NQUEUES 2		/* requestq, eventq */
#define REQUEST_QUEUE 0
#define EVENT_QUEUE 1
/* mappings per domain: enough for Linux's DMA mappings of busy disks,
 * and a bound on what a guest can make wisp allocate */
#define MAX_MAPPINGS 65536
#define FAULT_REPORTS 8
/* fault events waiting for event buffers: a fixed ring; a fault that
 * finds it full is counted and dropped, so a guest that posts no event
 * buffers (or provokes faults in a loop) cannot make wisp's memory grow */
#define FAULTS_PENDING 16
/* x86's MSI doorbells: not translated (the guest must not map there) */
#define MSI_START 0xfee00000ULL
#define MSI_END 0xfeefffffULL
#define PCI_CLASS_SYSTEM_OTHER 0x088000

/* struct virtio_iommu_config */
struct viommu_cfg {
	uint64_t page_size_mask;
	uint64_t input_start, input_end;
	uint32_t domain_start, domain_end;
	uint32_t probe_size;
	uint8_t bypass;
	uint8_t reserved[3];
} __attribute__((packed));

/* request bodies after the 4-byte head, as the driver writes them */
struct req_attach {
	uint32_t domain, endpoint, flags;
	uint8_t reserved[4];
} __attribute__((packed));

struct req_detach {
	uint32_t domain, endpoint;
	uint8_t reserved[8];
} __attribute__((packed));

struct req_map {
	uint32_t domain;
	uint64_t virt_start, virt_end, phys_start;
	uint32_t flags;
} __attribute__((packed));

struct req_unmap {
	uint32_t domain;
	uint64_t virt_start, virt_end;
	uint8_t reserved[4];
} __attribute__((packed));

struct req_probe {
	uint32_t endpoint;
	uint8_t reserved[64];
} __attribute__((packed));

struct probe_resv_mem {
	uint16_t type, length;	/* length of what follows */
	uint8_t subtype;
	uint8_t reserved[3];
	uint64_t start, end;
} __attribute__((packed));

#define HEAD_SIZE 4
#define TAIL_SIZE 4

/* struct virtio_iommu_fault (5.13.6.9), one per event buffer */
struct fault_event {
	uint8_t reason;
	uint8_t reserved[3];
	uint32_t flags;
	uint32_t endpoint;
	uint8_t reserved2[4];
	uint64_t address;
} __attribute__((packed));

#define FAULT_R_DOMAIN 1	/* the endpoint is attached to no domain */
#define FAULT_R_MAPPING 2	/* not mapped, or not with that permission */
#define FAULT_F_READ 1
#define FAULT_F_WRITE 2
#define FAULT_F_ADDRESS 0x100

struct mapping {
	uint64_t start, end;	/* I/O virtual, inclusive */
	uint64_t gpa;
	uint32_t flags;		/* MAP_F_READ | MAP_F_WRITE */
};

struct domain {
	bool live;
	uint32_t id;
	unsigned nendpoints;
	struct mapping *map;	/* sorted by start, no overlaps */
	size_t n, cap;
};

struct viommu;

struct endpoint {
	struct iommu_endpoint pub;	/* first: map() gets a pointer to it */
	struct viommu *v;
	struct domain *domain;		/* NULL: not attached, DMA blocked */
	bool mirrored;			/* DMAs by itself: told of mappings */
	struct iommu_mirror mirror;
};

/* DMA holds in two generations: hold_sync() moves new holds to the
 * other counter and waits for the old one to drain. */
struct holds {
	pthread_mutex_t lock;
	pthread_cond_t drained;
	pthread_mutex_t sync;	/* one hold_sync() at a time */
	unsigned epoch;
	unsigned count[2];
};

struct viommu {
	struct virtio_dev vdev;
	struct iommu iommu;
	struct vm *vm;
	const struct guest_memory *mem;
	struct viommu_cfg cfg;
	bool has_pci;			/* the PCI function exists */

	pthread_rwlock_t lock;		/* domains, mappings, attachments */
	struct domain domain[IOMMU_MAX_ENDPOINTS];
	struct endpoint ep[IOMMU_MAX_ENDPOINTS];
	unsigned nep;
	uint64_t revoked;		/* atomic; see virtqueue.h */
	struct holds holds;

	uint64_t faults;		/* atomic: DMA refused */
	unsigned fault_reports;		/* atomic */

	/* fault events for the event queue: queued by report_fault() on
	 * whichever thread translated, under fault_lock (a leaf lock: the
	 * translating thread may hold another device's lock), and posted on
	 * the event loop under the device lock (post_faults()) */
	pthread_mutex_t fault_lock;
	struct fault_event pending[FAULTS_PENDING];
	unsigned pending_head, npending;
	uint64_t faults_posted, faults_dropped;
	int fault_fd;			/* eventfd waking the event loop, or -1 */
};

/* ------------------------------------------------------------ holds */

static void holds_init(struct holds *h)
{
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->sync, NULL);
	pthread_cond_init(&h->drained, NULL);
}

static unsigned ep_hold(void *opaque)
{
	struct holds *h = &((struct endpoint *)opaque)->v->holds;
	unsigned t;

	pthread_mutex_lock(&h->lock);
	t = h->epoch & 1;
	h->count[t]++;
	pthread_mutex_unlock(&h->lock);
	return t;
}

static void ep_release(void *opaque, unsigned ticket)
{
	struct holds *h = &((struct endpoint *)opaque)->v->holds;

	pthread_mutex_lock(&h->lock);
	if (ticket < 2 && h->count[ticket] && !--h->count[ticket])
		pthread_cond_broadcast(&h->drained);
	pthread_mutex_unlock(&h->lock);
}

/* Returns once every hold taken before the call is released.  Holds
 * taken meanwhile count in the other generation, so a device that keeps
 * taking holds cannot starve it; the previous sync drained that one. */
static void hold_sync(struct holds *h)
{
	unsigned old;

	pthread_mutex_lock(&h->sync);
	pthread_mutex_lock(&h->lock);
	old = h->epoch & 1;
	h->epoch++;
	while (h->count[old])
		pthread_cond_wait(&h->drained, &h->lock);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_unlock(&h->sync);
}

/* A translation went away (write lock held): queues look again. */
static void revoke(struct viommu *v)
{
	__atomic_add_fetch(&v->revoked, 1, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------- mappings */

/* Index of the last mapping starting at or before iova, or -1. */
static long find_at_or_before(const struct domain *d, uint64_t iova)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->map[mid].start <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

static uint8_t domain_map(struct domain *d, const struct mapping *m)
{
	long i = find_at_or_before(d, m->end);

	/* the one that could overlap starts at or before m->end */
	if (i >= 0 && d->map[i].end >= m->start)
		return S_INVAL;
	if (d->n == MAX_MAPPINGS)
		return S_NOMEM;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct mapping *p = realloc(d->map, cap * sizeof(*p));

		if (!p)
			return S_NOMEM;
		d->map = p;
		d->cap = cap;
	}
	memmove(&d->map[i + 1 + 1], &d->map[i + 1], (d->n - (size_t)(i + 1)) * sizeof(*m));
	d->map[i + 1] = *m;
	d->n++;
	return S_OK;
}

/* Removes every mapping inside [start, end]; none if one would have to
 * be split (S_RANGE).  *removed: whether anything went. */
static uint8_t domain_unmap(struct domain *d, uint64_t start, uint64_t end, bool *removed)
{
	size_t first = 0, last;

	*removed = false;
	while (first < d->n && d->map[first].end < start)
		first++;
	/* binary search would do; the common case unmaps few at the end */
	for (last = first; last < d->n && d->map[last].start <= end; last++)
		if (d->map[last].start < start || d->map[last].end > end)
			return S_RANGE;
	if (last == first)
		return S_OK;
	memmove(&d->map[first], &d->map[last], (d->n - last) * sizeof(*d->map));
	d->n -= last - first;
	*removed = true;
	return S_OK;
}

static void domain_destroy(struct domain *d)
{
	free(d->map);
	memset(d, 0, sizeof(*d));
}

static struct domain *domain_find(struct viommu *v, uint32_t id)
{
	for (unsigned i = 0; i < IOMMU_MAX_ENDPOINTS; i++)
		if (v->domain[i].live && v->domain[i].id == id)
			return &v->domain[i];
	return NULL;
}

static struct endpoint *endpoint_find(struct viommu *v, uint32_t id)
{
	for (unsigned i = 0; i < v->nep; i++)
		if (v->ep[i].pub.bdf == id && v->ep[i].pub.segment == 0)
			return &v->ep[i];
	return NULL;
}

/* ------------------------------------------------------- translation */

/* Queues a fault event for the driver (post_faults() writes it into an
 * event buffer) and wakes the event loop; any thread. */
static void queue_fault(struct viommu *v, const struct fault_event *ev)
{
	bool wake = false;

	pthread_mutex_lock(&v->fault_lock);
	if (v->npending == FAULTS_PENDING) {
		v->faults_dropped++;
	} else {
		v->pending[(v->pending_head + v->npending++) % FAULTS_PENDING] = *ev;
		wake = v->npending == 1;
	}
	pthread_mutex_unlock(&v->fault_lock);
	if (wake && v->fault_fd >= 0 && eventfd_write(v->fault_fd, 1))
		wisp_err("virtio-iommu: fault event: %s", strerror(errno));
}

static void report_fault(struct endpoint *e, uint64_t iova, bool write, uint8_t reason,
			 const char *why)
{
	struct viommu *v = e->v;
	struct fault_event ev = {
		.reason = reason,
		.flags = htole32((write ? FAULT_F_WRITE : FAULT_F_READ) | FAULT_F_ADDRESS),
		.endpoint = htole32(e->pub.bdf),
		.address = htole64(iova),
	};
	unsigned n;

	queue_fault(v, &ev);
	__atomic_add_fetch(&v->faults, 1, __ATOMIC_RELAXED);
	n = __atomic_fetch_add(&v->fault_reports, 1, __ATOMIC_RELAXED);
	if (n < FAULT_REPORTS)
		wisp_err("virtio-iommu: endpoint %02x:%02x.%x: %s of iova %#llx refused: %s%s",
			 e->pub.bdf >> 8, (e->pub.bdf >> 3) & 31, e->pub.bdf & 7,
			 write ? "write" : "read", (unsigned long long)iova, why,
			 n + 1 == FAULT_REPORTS ? " (further ones not reported)" : "");
}

/* iova -> gpa and how many bytes from there stay contiguous in both
 * spaces with the permission, following adjacent mappings.  Read lock
 * held.  false if iova is not mapped so. */
static bool translate(const struct domain *d, uint64_t iova, uint32_t need,
		      uint64_t *gpa, uint64_t *contig)
{
	long i = find_at_or_before(d, iova);
	const struct mapping *m;
	uint64_t n;

	if (i < 0 || d->map[i].end < iova || (d->map[i].flags & need) != need)
		return false;
	m = &d->map[i];
	*gpa = m->gpa + (iova - m->start);
	n = m->end - iova;	/* one less than the bytes left: no overflow */
	while ((size_t)i + 1 < d->n && n < UINT64_MAX) {
		const struct mapping *next = &d->map[i + 1];

		if (next->start != m->end + 1 || next->gpa != m->gpa + (m->end - m->start) + 1 ||
		    (next->flags & need) != need)
			break;
		n += next->end - next->start + 1;
		m = next;
		i++;
	}
	*contig = n == UINT64_MAX ? UINT64_MAX : n + 1;
	return true;
}

/* struct iommu_endpoint's map(): I/O virtual address to host pointer. */
static void *ep_map(void *opaque, uint64_t iova, uint64_t *len, bool write)
{
	struct endpoint *e = opaque;
	struct viommu *v = e->v;
	const struct mem_region *r;
	uint64_t gpa, contig, n;
	const char *why = NULL;
	uint8_t reason = FAULT_R_MAPPING;
	bool ok;

	pthread_rwlock_rdlock(&v->lock);
	if (!e->domain) {
		ok = false;
		why = "the endpoint is not attached to a domain";
		reason = FAULT_R_DOMAIN;
	} else {
		ok = translate(e->domain, iova, write ? MAP_F_WRITE : MAP_F_READ, &gpa, &contig);
		if (!ok)
			why = write ? "not mapped for writing" : "not mapped for reading";
	}
	pthread_rwlock_unlock(&v->lock);
	if (!ok) {
		report_fault(e, iova, write, reason, why);
		return NULL;
	}
	n = *len < contig ? *len : contig;
	/* guest RAM only, and not past the end of the region holding gpa */
	r = gpa_region(v->mem, gpa);
	if (!r || !r->ram || (write && r->readonly)) {
		report_fault(e, iova, write, FAULT_R_MAPPING,
			     "mapped to something that is not guest RAM");
		return NULL;
	}
	if (n > r->gpa + r->size - gpa)
		n = r->gpa + r->size - gpa;
	*len = n;
	return gpa_ptr(v->mem, gpa, n);
}

/* ----------------------------------------------------------- mirrors */

/* An endpoint that does its own DMA (core/iommu.h, struct iommu_mirror)
 * holds a copy of its domain's mappings elsewhere (the host IOMMU); these
 * keep the copy in step.  Write lock held. */

static uint8_t mirror_status(int err)
{
	switch (err) {
	case 0: return S_OK;
	case -EINVAL: return S_INVAL;
	case -ERANGE: return S_RANGE;
	case -ENOMEM: return S_NOMEM;
	default: return S_DEVERR;
	}
}

static int mirror_map_one(struct endpoint *e, const struct mapping *m)
{
	unsigned prot = ((m->flags & MAP_F_READ) ? IOMMU_PROT_READ : 0) |
			((m->flags & MAP_F_WRITE) ? IOMMU_PROT_WRITE : 0);

	return e->mirror.map(e->mirror.opaque, m->start, m->end, m->gpa, prot);
}

/* A failed unmap leaves the device a way into guest memory the guest
 * took back: not wisp's memory, but said. */
static int mirror_unmap_one(struct endpoint *e, uint64_t start, uint64_t end)
{
	int err = e->mirror.unmap(e->mirror.opaque, start, end);

	if (err)
		wisp_err("virtio-iommu: endpoint %02x:%02x.%x: cannot unmap %#llx-%#llx: %s",
			 e->pub.bdf >> 8, (e->pub.bdf >> 3) & 31, e->pub.bdf & 7,
			 (unsigned long long)start, (unsigned long long)end, strerror(-err));
	return err;
}

/* A new mapping of d into every mirror attached to d; if one refuses,
 * none keeps it. */
static uint8_t mirrors_map(struct viommu *v, const struct domain *d, const struct mapping *m)
{
	for (unsigned i = 0; i < v->nep; i++) {
		struct endpoint *e = &v->ep[i];
		int err;

		if (e->domain != d || !e->mirrored)
			continue;
		err = mirror_map_one(e, m);
		if (!err)
			continue;
		while (i--)
			if (v->ep[i].domain == d && v->ep[i].mirrored)
				mirror_unmap_one(&v->ep[i], m->start, m->end);
		return mirror_status(err);
	}
	return S_OK;
}

static uint8_t mirrors_unmap(struct viommu *v, const struct domain *d, uint64_t start,
			     uint64_t end)
{
	uint8_t status = S_OK;

	for (unsigned i = 0; i < v->nep; i++)
		if (v->ep[i].domain == d && v->ep[i].mirrored &&
		    mirror_unmap_one(&v->ep[i], start, end))
			status = S_DEVERR;
	return status;
}

/* e just joined d: d's mappings so far, into e's mirror. */
static uint8_t mirror_replay(struct endpoint *e, const struct domain *d)
{
	for (size_t i = 0; i < d->n; i++) {
		int err = mirror_map_one(e, &d->map[i]);

		if (err)
			return mirror_status(err);
	}
	return S_OK;
}

/* ---------------------------------------------------------- requests */

/* Moves e out of its domain; the domain goes when it was the last.
 * Write lock held.  Whether any translation went away. */
static bool detach(struct endpoint *e)
{
	struct domain *d = e->domain;

	if (!d)
		return false;
	/* a mirror holds only this domain's mappings: all of them go */
	if (e->mirrored && d->n)
		mirror_unmap_one(e, d->map[0].start, d->map[d->n - 1].end);
	e->domain = NULL;
	if (!--d->nendpoints)
		domain_destroy(d);
	return true;
}

static uint8_t do_attach(struct viommu *v, const struct req_attach *r, bool *revoked)
{
	uint32_t dom = le32toh(r->domain);
	struct endpoint *e;
	struct domain *d;

	for (size_t i = 0; i < sizeof(r->reserved); i++)
		if (r->reserved[i])
			return S_INVAL;
	/* ATTACH_F_BYPASS needs F_BYPASS_CONFIG, which is not offered */
	if (le32toh(r->flags))
		return S_INVAL;
	if (dom < v->cfg.domain_start || dom > v->cfg.domain_end)
		return S_RANGE;
	e = endpoint_find(v, le32toh(r->endpoint));
	if (!e)
		return S_NOENT;
	if (e->domain && e->domain->id == dom)
		return S_OK;
	*revoked = detach(e);
	d = domain_find(v, dom);
	if (!d) {
		/* a free slot exists: live domains <= endpoints, and e left its own */
		for (unsigned i = 0; i < IOMMU_MAX_ENDPOINTS && !d; i++)
			if (!v->domain[i].live)
				d = &v->domain[i];
		if (!d)
			return S_NOMEM;
		d->live = true;
		d->id = dom;
	}
	d->nendpoints++;
	e->domain = d;
	if (e->mirrored) {
		uint8_t status = mirror_replay(e, d);

		/* what did get mapped goes again; e stays detached */
		if (status != S_OK) {
			*revoked |= detach(e);
			return status;
		}
	}
	return S_OK;
}

static uint8_t do_detach(struct viommu *v, const struct req_detach *r, bool *revoked)
{
	struct endpoint *e;
	struct domain *d;

	for (size_t i = 0; i < sizeof(r->reserved); i++)
		if (r->reserved[i])
			return S_INVAL;
	d = domain_find(v, le32toh(r->domain));
	e = endpoint_find(v, le32toh(r->endpoint));
	if (!d || !e)
		return S_NOENT;
	if (e->domain != d)
		return S_INVAL;
	*revoked = detach(e);
	return S_OK;
}

static uint8_t do_map(struct viommu *v, const struct req_map *r)
{
	struct mapping m = {
		.start = le64toh(r->virt_start),
		.end = le64toh(r->virt_end),
		.gpa = le64toh(r->phys_start),
		.flags = le32toh(r->flags),
	};
	struct domain *d = domain_find(v, le32toh(r->domain));
	uint64_t granule = le64toh(v->cfg.page_size_mask) & -le64toh(v->cfg.page_size_mask);
	uint8_t status;
	bool removed;

	if (!d)
		return S_NOENT;
	/* MMIO mappings need F_MMIO, not offered */
	if (m.flags & ~(uint32_t)(MAP_F_READ | MAP_F_WRITE))
		return S_INVAL;
	if (m.end < m.start || m.gpa + (m.end - m.start) < m.gpa)
		return S_INVAL;
	if (m.start < le64toh(v->cfg.input_start) || m.end > le64toh(v->cfg.input_end))
		return S_RANGE;
	if ((m.start | m.gpa | (m.end + 1)) & (granule - 1))
		return S_RANGE;
	status = domain_map(d, &m);
	if (status == S_OK) {
		status = mirrors_map(v, d, &m);
		if (status != S_OK)
			domain_unmap(d, m.start, m.end, &removed);
	}
	return status;
}

static uint8_t do_unmap(struct viommu *v, const struct req_unmap *r, bool *revoked)
{
	uint64_t start = le64toh(r->virt_start), end = le64toh(r->virt_end);
	struct domain *d = domain_find(v, le32toh(r->domain));
	uint8_t status;

	if (!d)
		return S_NOENT;
	if (end < start)
		return S_INVAL;
	status = domain_unmap(d, start, end, revoked);
	if (status == S_OK && *revoked)
		status = mirrors_unmap(v, d, start, end);
	return status;
}

/* PROBE: the endpoint's properties, into the buffer of `room` bytes the
 * driver gave (at least probe_size), the rest zero. */
static uint8_t do_probe(struct viommu *v, const struct req_probe *r, uint8_t *props,
			size_t room)
{
	struct probe_resv_mem msi = {
		.type = htole16(PROBE_T_RESV_MEM),
		.length = htole16(sizeof(msi) - 4),
		.subtype = RESV_MEM_T_MSI,
		.start = htole64(MSI_START),
		.end = htole64(MSI_END),
	};
	const struct endpoint *e;
	size_t at = sizeof(msi);

	for (size_t i = 0; i < sizeof(r->reserved); i++)
		if (r->reserved[i])
			return S_INVAL;
	e = endpoint_find(v, le32toh(r->endpoint));
	if (!e)
		return S_NOENT;
	if (room < v->cfg.probe_size)
		return S_INVAL;
	memset(props, 0, room);
	memcpy(props, &msi, sizeof(msi));
	/* a mirror's holes (its host IOMMU cannot map there), but for the
	 * MSI window, said already; probe_size has room for them all */
	for (unsigned i = 0; e->mirrored && i < e->mirror.nholes && i < IOMMU_MIRROR_HOLES; i++) {
		struct probe_resv_mem hole = msi;

		if (e->mirror.hole[i].start >= MSI_START && e->mirror.hole[i].last <= MSI_END)
			continue;
		if (at + sizeof(hole) > room)
			break;
		hole.subtype = RESV_MEM_T_RESERVED;
		hole.start = htole64(e->mirror.hole[i].start);
		hole.end = htole64(e->mirror.hole[i].last);
		memcpy(props + at, &hole, sizeof(hole));
		at += sizeof(hole);
	}
	return S_OK;
}

/* Largest request: head + PROBE body. */
#define REQ_MAX (HEAD_SIZE + sizeof(struct req_probe))

/*
 * One request chain: the head and body in its readable part, the tail
 * (and for PROBE the property buffer before it) in its writable part.
 * Returns the bytes written, or -1 when there is no room even for the
 * tail (the queue breaks).  Device lock held.
 */
static int handle_request(struct viommu *v, const struct virtq_chain *c)
{
	uint8_t req[REQ_MAX] = { 0 }, tail[TAIL_SIZE] = { 0 };
	uint8_t props[PROBE_SIZE];
	size_t body, need, reply_len;
	size_t got = virtq_chain_read(c, 0, req, sizeof(req));
	size_t room;
	bool revoked = false;
	uint8_t status;

	if (c->in_len < TAIL_SIZE)
		return -1;
	switch (got >= HEAD_SIZE ? req[0] : 0) {
	case T_ATTACH: need = sizeof(struct req_attach); break;
	case T_DETACH: need = sizeof(struct req_detach); break;
	case T_MAP: need = sizeof(struct req_map); break;
	case T_UNMAP: need = sizeof(struct req_unmap); break;
	case T_PROBE: need = sizeof(struct req_probe); break;
	default: need = 0; break;
	}
	/* The reply ends where the request's layout does (the properties
	 * then the tail for PROBE, the tail alone otherwise): in a larger
	 * writable part the rest is left alone, so used.len counts only
	 * bytes written and always fits in an int. */
	reply_len = TAIL_SIZE + (got >= HEAD_SIZE && req[0] == T_PROBE ? sizeof(props) : 0);
	if (reply_len > c->in_len)
		reply_len = c->in_len;
	room = reply_len - TAIL_SIZE;
	body = got >= HEAD_SIZE ? got - HEAD_SIZE : 0;
	if (got < HEAD_SIZE) {
		status = S_INVAL;
	} else if (!need) {
		status = S_UNSUPP;
	} else if (body < need) {
		status = S_INVAL;
	} else if (req[0] == T_PROBE) {
		if (room > sizeof(props))
			room = sizeof(props);
		status = do_probe(v, (const void *)(req + HEAD_SIZE), props, room);
		if (status == S_OK)
			virtq_chain_write(c, 0, props, room);
	} else {
		pthread_rwlock_wrlock(&v->lock);
		switch (req[0]) {
		case T_ATTACH: status = do_attach(v, (const void *)(req + HEAD_SIZE), &revoked); break;
		case T_DETACH: status = do_detach(v, (const void *)(req + HEAD_SIZE), &revoked); break;
		case T_MAP: status = do_map(v, (const void *)(req + HEAD_SIZE)); break;
		default: status = do_unmap(v, (const void *)(req + HEAD_SIZE), &revoked); break;
		}
		if (revoked)
			revoke(v);
		pthread_rwlock_unlock(&v->lock);
		/* the driver may reuse the memory once it sees the reply */
		if (revoked)
			hold_sync(&v->holds);
	}
	tail[0] = status;
	virtq_chain_write(c, reply_len - TAIL_SIZE, tail, TAIL_SIZE);
	return (int)reply_len;
}

/* ------------------------------------------------------- fault events */

/* Writes the queued fault events into the driver's event buffers, oldest
 * first, as far as there are buffers; the rest wait (at most
 * FAULTS_PENDING).  Event loop or vCPU thread, device lock held. */
static void post_faults(struct viommu *v)
{
	struct virtio_dev *d = &v->vdev;
	struct virtq *eq = &d->queue[EVENT_QUEUE].vq;
	bool pushed = false;

	if (!v->has_pci || !(d->status & VIRTIO_STATUS_DRIVER_OK) ||
	    !d->queue[EVENT_QUEUE].enabled || (d->status & VIRTIO_STATUS_NEEDS_RESET) ||
	    !pci_bus_master(&d->pci))
		return;
	for (;;) {
		struct fault_event ev;
		struct virtq_chain c;
		int r;

		pthread_mutex_lock(&v->fault_lock);
		r = v->npending;
		if (r)
			ev = v->pending[v->pending_head];
		pthread_mutex_unlock(&v->fault_lock);
		if (!r)
			break;
		r = virtq_pop(eq, &c);
		if (r < 0)
			virtio_needs_reset(d, "malformed event queue");
		if (r <= 0)
			break;	/* no buffer: the driver's next kick posts it */
		pushed = true;
		if (c.in_len < sizeof(ev)) {
			/* too small for an event: returned unused, the event
			 * waits for the next buffer */
			virtq_push(eq, &c, 0);
			continue;
		}
		virtq_push(eq, &c, (uint32_t)virtq_chain_write(&c, 0, &ev, sizeof(ev)));
		pthread_mutex_lock(&v->fault_lock);
		v->pending_head = (v->pending_head + 1) % FAULTS_PENDING;
		v->npending--;
		v->faults_posted++;
		pthread_mutex_unlock(&v->fault_lock);
	}
	if (pushed)
		virtio_queue_interrupt(d, EVENT_QUEUE);
}

/* Event loop: report_fault() queued an event. */
static void on_fault(void *opaque, uint32_t events)
{
	struct viommu *v = opaque;
	eventfd_t n;

	(void)events;
	if (eventfd_read(v->fault_fd, &n))
		return;
	virtio_lock(&v->vdev);
	post_faults(v);
	virtio_unlock(&v->vdev);
}

static void viommu_notify(struct virtio_dev *d, unsigned q)
{
	struct viommu *v = d->priv;
	struct virtq *vq = &d->queue[q].vq;
	struct virtq_chain c;
	int r;

	/* new event buffers: faults waiting for them go out */
	if (q == EVENT_QUEUE) {
		post_faults(v);
		return;
	}
	if (q != REQUEST_QUEUE)
		return;
	while ((r = virtq_pop(vq, &c)) > 0) {
		int written = handle_request(v, &c);

		if (written < 0) {
			virtq_mark_broken(vq);
			r = -1;
			break;
		}
		virtq_push(vq, &c, (uint32_t)written);
	}
	if (r < 0)
		virtio_needs_reset(d, "malformed request");
	virtio_queue_interrupt(d, q);
}

/* DRIVER_OK: faults that came before it go out now. */
static void viommu_activate(struct virtio_dev *d)
{
	post_faults(d->priv);
}

/* Device reset: every domain and mapping goes; endpoints are blocked;
 * fault events not yet posted are forgotten. */
static void viommu_reset(struct virtio_dev *d)
{
	struct viommu *v = d->priv;
	bool revoked = false;

	pthread_mutex_lock(&v->fault_lock);
	v->npending = 0;
	pthread_mutex_unlock(&v->fault_lock);

	pthread_rwlock_wrlock(&v->lock);
	for (unsigned i = 0; i < v->nep; i++)
		revoked |= detach(&v->ep[i]);
	if (revoked)
		revoke(v);
	pthread_rwlock_unlock(&v->lock);
	if (revoked)
		hold_sync(&v->holds);
}

static const struct virtio_ops viommu_ops = {
	.queue_notify = viommu_notify,
	.activate = viommu_activate,
	.reset = viommu_reset,
};

/* ------------------------------------------------------------ set-up */

static void viommu_init(struct viommu *v, const struct guest_memory *mem)
{
	v->mem = mem;
	v->cfg.page_size_mask = htole64(PAGE_SIZE_MASK);
	v->cfg.input_start = 0;
	v->cfg.input_end = htole64(UINT64_MAX);
	v->cfg.domain_start = 0;
	v->cfg.domain_end = htole32(UINT32_MAX);
	v->cfg.probe_size = htole32(PROBE_SIZE);
	pthread_rwlock_init(&v->lock, NULL);
	holds_init(&v->holds);
	pthread_mutex_init(&v->fault_lock, NULL);
	v->fault_fd = -1;
}

static struct endpoint *endpoint_new(struct viommu *v, uint16_t segment, uint16_t bdf)
{
	struct endpoint *e = &v->ep[v->nep++];

	e->v = v;
	e->pub.segment = segment;
	e->pub.bdf = bdf;
	e->pub.map = ep_map;
	e->pub.hold = ep_hold;
	e->pub.release = ep_release;
	e->pub.revoked = &v->revoked;
	return e;
}

/* The IOMMU's own PCI function, made with the first endpoint. */
static int viommu_pci_create(struct viommu *v)
{
	struct virtio_dev_info info = {
		.name = "virtio-iommu",
		.device_id = VIRTIO_ID_IOMMU,
		.pci_class = PCI_CLASS_SYSTEM_OTHER,
		.nqueues = NQUEUES,
		.queue_size = QUEUE_SIZE,
		.features = (1ULL << F_INPUT_RANGE) | (1ULL << F_DOMAIN_RANGE) |
			    (1ULL << F_MAP_UNMAP) | (1ULL << F_PROBE),
		.config = &v->cfg,
		.config_len = sizeof(v->cfg),
		.ops = &viommu_ops,
		.priv = v,
	};

	if (virtio_pci_create(v->vm, &v->vdev, &info))
		return -1;
	v->fault_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->fault_fd < 0 || event_add(v->vm->loop, v->fault_fd, EPOLLIN, on_fault, v)) {
		wisp_err("virtio-iommu: fault eventfd: %s", strerror(errno));
		return -1;
	}
	v->iommu.segment = v->vdev.pci.segment;
	v->iommu.bdf = (uint16_t)(v->vdev.pci.slot << 3);
	v->has_pci = true;
	return 0;
}

/* struct iommu's mirror(): what the guest is offered shrinks to what
 * the mirror can map -- its smallest page becomes the granule (larger
 * multiples of it stay offered: the host maps any), and the input range
 * the intersection -- so a guest that follows the config never asks a
 * mirror for what it cannot do.  Before the guest runs. */
static int viommu_mirror(struct iommu *iommu, struct iommu_endpoint *pub,
			 const struct iommu_mirror *m)
{
	struct viommu *v = (struct viommu *)((char *)iommu - offsetof(struct viommu, iommu));
	struct endpoint *e = (struct endpoint *)pub;
	uint64_t mask = le64toh(v->cfg.page_size_mask);
	uint64_t granule = m->page_sizes & -m->page_sizes;
	uint64_t start = le64toh(v->cfg.input_start), last = le64toh(v->cfg.input_end);

	if (e < v->ep || e >= v->ep + v->nep || !m->map || !m->unmap)
		return -1;
	if (granule > (mask & -mask))
		mask &= ~(granule - 1);
	if (m->input_start > start)
		start = m->input_start;
	if (m->input_last < last)
		last = m->input_last;
	if (!granule || !mask || start > last || last - start < granule - 1) {
		wisp_err("virtio-iommu: endpoint %02x:%02x.%x: cannot offer what its host IOMMU "
			 "can map (page sizes %#llx, addresses %#llx-%#llx)",
			 pub->bdf >> 8, (pub->bdf >> 3) & 31, pub->bdf & 7,
			 (unsigned long long)m->page_sizes, (unsigned long long)m->input_start,
			 (unsigned long long)m->input_last);
		return -1;
	}
	v->cfg.page_size_mask = htole64(mask);
	v->cfg.input_start = htole64(start);
	v->cfg.input_end = htole64(last);
	e->mirror = *m;
	e->mirrored = true;
	return 0;
}

static struct iommu_endpoint *viommu_add_pci(struct iommu *iommu, struct pci_function *fn)
{
	struct viommu *v = (struct viommu *)((char *)iommu - offsetof(struct viommu, iommu));

	if (fn->segment != 0) {
		wisp_err("%s: iommu=on: only devices on PCI segment 0 can be behind the IOMMU",
			 fn->name);
		return NULL;
	}
	if (v->nep == IOMMU_MAX_ENDPOINTS)
		return NULL;
	if (!v->has_pci && viommu_pci_create(v))
		return NULL;
	return &endpoint_new(v, fn->segment, (uint16_t)(fn->slot << 3))->pub;
}

static int viommu_create(struct vm *vm, const void *config)
{
	/* lives as long as the VM */
	struct viommu *v = calloc(1, sizeof(*v));

	(void)config;
	if (!v)
		return -1;
	v->vm = vm;
	viommu_init(v, &vm->mem);
	v->iommu.add_pci = viommu_add_pci;
	v->iommu.mirror = viommu_mirror;
	return iommu_register(vm, &v->iommu);
}

/* Before the PCI devices that may sit behind it (ORDER_PCI_DEVICE). */
DEVICE_REGISTER(virtio_iommu) = {
	.name = "virtio-iommu",
	.summary = "paravirtual IOMMU for devices given iommu=on (ACPI VIOT)",
	.order = ORDER_BUS,
	.create = viommu_create,
};

#ifdef WISP_UNIT_TEST
#include "virtio/iommu_test.h"

struct viommu *viommu_test_new(const struct guest_memory *mem, const uint16_t *bdf,
			       unsigned n)
{
	struct viommu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	viommu_init(v, mem);
	for (unsigned i = 0; i < n && i < IOMMU_MAX_ENDPOINTS; i++)
		endpoint_new(v, 0, bdf[i]);
	return v;
}

void viommu_test_free(struct viommu *v)
{
	for (unsigned i = 0; i < IOMMU_MAX_ENDPOINTS; i++)
		if (v->domain[i].live)
			domain_destroy(&v->domain[i]);
	free(v);
}

int viommu_test_request(struct viommu *v, const void *req, size_t len, void *resp,
			size_t resp_len)
{
	struct virtq_chain c = { .nout = len ? 1 : 0, .out_len = len,
				 .nin = resp_len ? 1 : 0, .in_len = resp_len };

	c.out[0].iov_base = (void *)req;
	c.out[0].iov_len = len;
	c.in[0].iov_base = resp;
	c.in[0].iov_len = resp_len;
	return handle_request(v, &c);
}

struct iommu_endpoint *viommu_test_endpoint(struct viommu *v, unsigned i)
{
	return i < v->nep ? &v->ep[i].pub : NULL;
}

uint64_t viommu_test_faults(const struct viommu *v)
{
	return v->faults;
}

struct viommu *viommu_test_of(struct iommu *iommu)
{
	return (struct viommu *)((char *)iommu - offsetof(struct viommu, iommu));
}

void viommu_test_fault_events(struct viommu *v, struct viommu_test_fault_events *out)
{
	pthread_mutex_lock(&v->fault_lock);
	out->pending = v->npending;
	out->posted = v->faults_posted;
	out->dropped = v->faults_dropped;
	pthread_mutex_unlock(&v->fault_lock);
}

void viommu_test_reset(struct viommu *v)
{
	struct virtio_dev d = { .priv = v };

	viommu_reset(&d);
}

int viommu_test_mirror(struct viommu *v, unsigned i, const struct iommu_mirror *m)
{
	return viommu_mirror(&v->iommu, viommu_test_endpoint(v, i), m);
}

void viommu_test_config(const struct viommu *v, uint64_t *page_size_mask,
			uint64_t *input_start, uint64_t *input_end)
{
	*page_size_mask = le64toh(v->cfg.page_size_mask);
	*input_start = le64toh(v->cfg.input_start);
	*input_end = le64toh(v->cfg.input_end);
}
#endif
