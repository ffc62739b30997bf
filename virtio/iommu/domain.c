// SPDX-License-Identifier: MIT
/* virtio-iommu's domains: the holds that keep a mapping alive while a
 * device uses it, and the sorted mappings of each domain. */
#include "virtio/iommu/iommu.h"

/* ------------------------------------------------------------ holds */

void holds_init(struct holds *h)
{
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->sync, NULL);
	pthread_cond_init(&h->drained, NULL);
}

unsigned ep_hold(void *opaque)
{
	struct holds *h = &((struct endpoint *)opaque)->v->holds;
	unsigned t;

	pthread_mutex_lock(&h->lock);
	t = h->epoch & 1;
	h->count[t]++;
	pthread_mutex_unlock(&h->lock);
	return t;
}

void ep_release(void *opaque, unsigned ticket)
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
void hold_sync(struct holds *h)
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
void revoke(struct viommu *v)
{
	__atomic_add_fetch(&v->revoked, 1, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------- mappings */

/* Index of the last mapping starting at or before iova, or -1. */
long find_at_or_before(const struct domain *d, uint64_t iova)
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

uint8_t domain_map(struct domain *d, const struct mapping *m)
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
uint8_t domain_unmap(struct domain *d, uint64_t start, uint64_t end, bool *removed)
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

void domain_destroy(struct domain *d)
{
	free(d->map);
	memset(d, 0, sizeof(*d));
}

struct domain *domain_find(struct viommu *v, uint32_t id)
{
	for (unsigned i = 0; i < IOMMU_MAX_ENDPOINTS; i++)
		if (v->domain[i].live && v->domain[i].id == id)
			return &v->domain[i];
	return NULL;
}

struct endpoint *endpoint_find(struct viommu *v, uint32_t id)
{
	for (unsigned i = 0; i < v->nep; i++)
		if (iommu_endpoint_id(&v->ep[i].pub) == id)
			return &v->ep[i];
	return NULL;
}
