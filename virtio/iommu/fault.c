// SPDX-License-Identifier: MIT
/* virtio-iommu's translation for the devices behind it, and the fault
 * events it reports to the guest. */
#include "virtio/iommu/iommu.h"

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
		.endpoint = htole32(iommu_endpoint_id(&e->pub)),
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
void *ep_map(void *opaque, uint64_t iova, uint64_t *len, bool write)
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

/* ------------------------------------------------------- fault events */

/* Writes the queued fault events into the driver's event buffers, oldest
 * first, as far as there are buffers; the rest wait (at most
 * FAULTS_PENDING).  Event loop or vCPU thread, device lock held. */
void post_faults(struct viommu *v)
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
void on_fault(void *opaque, uint32_t events)
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
