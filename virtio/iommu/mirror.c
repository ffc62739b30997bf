// SPDX-License-Identifier: MIT
/* virtio-iommu's mirrors: domains copied into a host IOMMU for the
 * VFIO devices behind it. */
#include "virtio/iommu/iommu.h"

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
int mirror_unmap_one(struct endpoint *e, uint64_t start, uint64_t end)
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
uint8_t mirrors_map(struct viommu *v, const struct domain *d, const struct mapping *m)
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

uint8_t mirrors_unmap(struct viommu *v, const struct domain *d, uint64_t start,
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
uint8_t mirror_replay(struct endpoint *e, const struct domain *d)
{
	for (size_t i = 0; i < d->n; i++) {
		int err = mirror_map_one(e, &d->map[i]);

		if (err)
			return mirror_status(err);
	}
	return S_OK;
}
