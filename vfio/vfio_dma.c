// SPDX-License-Identifier: MIT
/*
 * iommu=on: a VFIO container whose DMA mappings are the guest's (vfio.h).
 *
 * A device given iommu=on has a type1 container of its own (one host
 * IOMMU domain) with nothing mapped up front.  The virtio-iommu tells it
 * what the guest maps in the domain the device is attached to (struct
 * iommu_mirror, core/iommu.h), and each mapping becomes a
 * VFIO_IOMMU_MAP_DMA: IOVA = the guest's I/O virtual address, vaddr =
 * wisp's host address of the guest-physical range.  The device then
 * reaches exactly what the guest's driver mapped for it, with the
 * permissions it gave, checked by the host's IOMMU at every access.
 *
 * Everything here comes from the guest and is checked before the host
 * sees it: the range (no wrap), the permissions, alignment to the host's
 * smallest IOMMU page, the host's usable I/O virtual addresses, and the
 * guest-physical side, of which only guest RAM is ever mapped.
 */
#include "vfio/vfio.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/iommu.h"
#include "core/memory.h"
#include "core/vm.h"

static int real_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

int (*vfio_dma_ioctl)(int fd, unsigned long request, void *arg) = real_ioctl;

/* Host errors the guest may cause (the host's mapping limit, memory)
 * or that say something is wrong in wisp: a few are reported. */
#define MAX_REPORTS 8

/* ------------------------------------------------------------- set-up */

/* The usable ranges from the IOVA-range capability, sorted; none: the
 * whole 64-bit space. */
static void ranges_from_info(struct vfio_dma_space *s, const struct vfio_iommu_type1_info *info)
{
	const uint8_t *base = (const uint8_t *)info;
	uint32_t at = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;

	s->nranges = 0;
	for (unsigned hops = 0; at && hops < 64; hops++) {
		const struct vfio_info_cap_header *h = (const void *)(base + at);

		if (at + sizeof(*h) > info->argsz)
			break;
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    at + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= info->argsz) {
			const struct vfio_iommu_type1_info_cap_iova_range *c = (const void *)h;
			size_t room = (info->argsz - at - sizeof(*c)) / sizeof(c->iova_ranges[0]);

			for (uint32_t i = 0; i < c->nr_iovas && i < room; i++) {
				const struct vfio_iova_range *r = &c->iova_ranges[i];
				size_t j = s->nranges;

				if (r->end < r->start || s->nranges == VFIO_DMA_MAX_RANGES)
					continue;	/* beyond: refused, never misused */
				while (j && s->range[j - 1].start > r->start) {
					s->range[j] = s->range[j - 1];
					j--;
				}
				s->range[j].start = r->start;
				s->range[j].last = r->end;
				s->nranges++;
			}
			if (s->nranges)
				return;
		}
		if (h->next <= at)
			break;
		at = h->next;
	}
	s->nranges = 1;
	s->range[0].start = 0;
	s->range[0].last = UINT64_MAX;
}

int vfio_dma_space_init(struct vfio_dma_space *s, int fd, const struct guest_memory *mem)
{
	struct vfio_iommu_type1_info query = { .argsz = sizeof(query) }, *info;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->mem = mem;
	info = vfio_get_info(fd, VFIO_IOMMU_GET_INFO, &query, sizeof(query), vfio_dma_ioctl);
	if (!info)
		goto fail;
	if (!(info->flags & VFIO_IOMMU_INFO_PGSIZES) || !info->iova_pgsizes) {
		wisp_err("--device: iommu=on: the host's VFIO does not say which page sizes "
			 "its IOMMU maps");
		free(info);
		return -1;
	}
	s->page_sizes = info->iova_pgsizes;
	ranges_from_info(s, info);
	ret = 0;
fail:
	if (ret)
		wisp_err("--device: iommu=on: VFIO_IOMMU_GET_INFO: %s", strerror(errno));
	free(info);
	return ret;
}

/* ------------------------------------------------------------ mapping */

static uint64_t granule(const struct vfio_dma_space *s)
{
	return s->page_sizes & -s->page_sizes;
}

/* [iova, last] inside one usable range. */
static bool usable(const struct vfio_dma_space *s, uint64_t iova, uint64_t last)
{
	for (size_t i = 0; i < s->nranges; i++)
		if (iova >= s->range[i].start && last <= s->range[i].last)
			return true;
	return false;
}

static int host_error(struct vfio_dma_space *s, const char *what, int err)
{
	if (err == ENOMEM || err == ENOSPC || err == EDQUOT)
		return -ENOMEM;	/* memory, locked-memory limit, mapping limit */
	if (s->reports < MAX_REPORTS) {
		s->reports++;
		wisp_err("vfio: iommu=on: %s: %s", what, strerror(err));
	}
	return err == EEXIST ? -EINVAL : -EIO;
}

int vfio_dma_unmap(void *opaque, uint64_t iova, uint64_t last)
{
	struct vfio_dma_space *s = opaque;
	uint64_t g = granule(s);

	if (last < iova || !s->nranges)
		return -EINVAL;
	/* nothing was mapped outside the usable ranges or off the granule,
	 * so the range can shrink to them without cutting a mapping */
	if (iova < s->range[0].start)
		iova = s->range[0].start;
	if (last > s->range[s->nranges - 1].last)
		last = s->range[s->nranges - 1].last;
	if (iova > last || iova > UINT64_MAX - (g - 1))
		return 0;
	iova = (iova + g - 1) & ~(g - 1);
	if (last != UINT64_MAX) {
		if (((last + 1) & ~(g - 1)) == 0)
			return 0;
		last = ((last + 1) & ~(g - 1)) - 1;
	}
	while (iova <= last) {
		/* a size field cannot hold the whole 64-bit space: halves */
		uint64_t size = last - iova >= (1ULL << 63) ? 1ULL << 63 : last - iova + 1;
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .iova = iova, .size = size,
		};

		if (vfio_dma_ioctl(s->fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
			return host_error(s, "VFIO_IOMMU_UNMAP_DMA", errno);
		s->unmaps++;
		/* the host says how much it unmapped */
		s->mapped -= unmap.size < s->mapped ? unmap.size : s->mapped;
		if (last - iova == size - 1)
			break;
		iova += size;
	}
	return 0;
}

int vfio_dma_map(void *opaque, uint64_t iova, uint64_t last, uint64_t gpa, unsigned prot)
{
	struct vfio_dma_space *s = opaque;
	const struct guest_memory *mem = s->mem;
	uint64_t g = granule(s), gpa_last;

	if (prot & ~(IOMMU_PROT_READ | IOMMU_PROT_WRITE))
		return -EINVAL;
	if (last < iova || gpa + (last - iova) < gpa)
		return -EINVAL;
	gpa_last = gpa + (last - iova);
	if (!g || ((iova | gpa | (last + 1)) & (g - 1)) || !usable(s, iova, last))
		return -ERANGE;
	/* no access at all: nothing for the host to translate */
	if (!prot)
		return 0;
	for (size_t i = 0; i < mem->nram; i++) {
		const struct mem_region *r = &mem->region[i];
		uint64_t lo = gpa > r->gpa ? gpa : r->gpa;
		uint64_t hi = gpa_last < r->gpa + r->size - 1 ? gpa_last : r->gpa + r->size - 1;
		struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };

		if (!r->ram || !r->size || lo > hi)
			continue;
		/* whole host pages of the region only */
		lo = (lo + g - 1) & ~(g - 1);
		hi = ((hi + 1) & ~(g - 1)) - 1;
		if (lo > hi || hi + 1 == 0)
			continue;
		map.flags = ((prot & IOMMU_PROT_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
			    ((prot & IOMMU_PROT_WRITE) && !r->readonly ? VFIO_DMA_MAP_FLAG_WRITE : 0);
		if (!map.flags)
			continue;
		map.vaddr = (uint64_t)(uintptr_t)(r->host + (lo - r->gpa));
		map.iova = iova + (lo - gpa);
		map.size = hi - lo + 1;
		if (vfio_dma_ioctl(s->fd, VFIO_IOMMU_MAP_DMA, &map)) {
			int err = host_error(s, "VFIO_IOMMU_MAP_DMA", errno);

			/* the pieces before this one go again */
			vfio_dma_unmap(s, iova, last);
			return err;
		}
		s->maps++;
		s->mapped += map.size;
		if (s->mapped > s->peak)
			s->peak = s->mapped;
	}
	return 0;
}

/* ------------------------------------------------------------- mirror */

void vfio_dma_mirror(struct vfio_dma_space *s, struct iommu_mirror *m)
{
	memset(m, 0, sizeof(*m));
	m->map = vfio_dma_map;
	m->unmap = vfio_dma_unmap;
	m->opaque = s;
	m->page_sizes = s->page_sizes;
	m->input_start = s->range[0].start;
	m->input_last = s->range[s->nranges - 1].last;
	for (size_t i = 1; i < s->nranges && m->nholes < IOMMU_MIRROR_HOLES; i++) {
		uint64_t start = s->range[i - 1].last + 1, last = s->range[i].start - 1;

		/* (ranges that touch or overlap leave no hole) */
		if (s->range[i].start > s->range[i - 1].last + 1 && start <= last) {
			m->hole[m->nholes].start = start;
			m->hole[m->nholes].last = last;
			m->nholes++;
		}
	}
}
