// SPDX-License-Identifier: MIT
/* VFIO PCI passthrough's BARs: the mmappable parts of each region as KVM
 * memory slots, placed where the guest puts the BAR; the rest trapped
 * and forwarded to the device fd. */
#include "vfio/vfio_pci.h"

/* --------------------------------------------------------------- BARs */

static bool bar_access(struct vfio_bar *b, uint64_t off, void *data, unsigned len,
		       bool write)
{
	struct vfio_pci *v = b->dev;
	ssize_t n;

	if (v->fn.msix.nvec && v->fn.msix.bar == b->index &&
	    msix_table_access(&v->fn, off, data, len, write)) {
		if (write && off >= v->fn.msix.table_offset)
			msix_update(v, (unsigned)((off - v->fn.msix.table_offset) / 16), 1);
		return true;
	}
	/* the guest's BAR is a power of two at least a page; the region
	 * behind it may be smaller */
	if (off >= b->size || len > b->size - off) {
		if (!write)
			memset(data, 0xff, len);
		return true;
	}
	if (write)
		n = dev_pwrite(v->fd, data, len, (off_t)(b->region_offset + off));
	else
		n = dev_pread(v->fd, data, len, (off_t)(b->region_offset + off));
	if (n != (ssize_t)len && !write)
		memset(data, 0xff, len);
	return true;
}

static void bar_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	bar_access(opaque, off, data, len, false);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	bar_access(opaque, off, (void *)data, len, true);
}

static const struct bus_ops vfio_bar_ops = { .read = bar_read, .write = bar_write };

/* The guest moved (or turned off) BAR n: the mmapped pieces follow it as
 * KVM slots.  Function lock held (core/pci.c). */
void vfio_bar_moved(struct pci_function *fn, unsigned n)
{
	struct vfio_pci *v = fn->owner;
	struct vfio_bar *b = &v->bar[n];
	bool mapped = fn->bar[n].mapped;
	uint64_t base = fn->bar[n].addr;

	for (size_t i = 0; i < b->npieces; i++) {
		struct mmap_piece *p = &b->piece[i];

		/* called on every command register write: most are no move */
		if (p->in_guest && mapped && p->gpa == base + p->offset)
			continue;
		if (p->in_guest) {
			vm_slot_map(v->vm, p->slot, 0, NULL, 0);
			p->in_guest = false;
		}
		if (!mapped)
			continue;
		if (vm_slot_map(v->vm, p->slot, base + p->offset, p->host, p->size)) {
			/* a guest that puts a BAR over RAM or another BAR
			 * gets the trapped path there, nothing worse */
			guest_report(v, "BAR %u at %#llx: cannot map it directly: %s",
				     n, (unsigned long long)base, strerror(errno));
			continue;
		}
		p->in_guest = true;
		p->gpa = base + p->offset;
	}
}

size_t vfio_areas_cut(struct vfio_area *area, size_t n, size_t max,
		      uint64_t start, uint64_t end)
{
	size_t count = n;

	start &= ~(PAGE - 1);
	end = (end + PAGE - 1) & ~(PAGE - 1);
	for (size_t i = 0; i < n; i++) {
		struct vfio_area *p = &area[i];
		uint64_t p_end = p->offset + p->size;

		if (!p->size || end <= p->offset || start >= p_end)
			continue;
		if (start > p->offset && end < p_end && count < max) {
			/* split in two */
			area[count++] = (struct vfio_area){ .offset = end, .size = p_end - end };
			p->size = start - p->offset;
		} else if (start > p->offset) {
			p->size = start - p->offset;	/* (no room to split: tail trapped) */
		} else if (end < p_end) {
			p->size = p_end - end;
			p->offset = end;
		} else {
			p->size = 0;
		}
	}
	return count;
}

/* The parts of region `info` VFIO lets us mmap: its sparse areas, or all
 * of it. */
static void pieces_from_region(struct vfio_bar *b, const struct vfio_region_info *info)
{
	const uint8_t *base = (const uint8_t *)info;
	uint32_t at = (info->flags & VFIO_REGION_INFO_FLAG_CAPS) ? info->cap_offset : 0;

	b->nareas = 0;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return;
	while (at && at + sizeof(struct vfio_info_cap_header) <= info->argsz) {
		const struct vfio_info_cap_header *h = (const void *)(base + at);

		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
		    at + sizeof(struct vfio_region_info_cap_sparse_mmap) <= info->argsz) {
			const struct vfio_region_info_cap_sparse_mmap *s = (const void *)h;

			for (uint32_t i = 0; i < s->nr_areas && b->nareas < MAX_PIECES; i++) {
				if (at + sizeof(*s) + (i + 1) * sizeof(s->areas[0]) > info->argsz)
					break;
				b->area[b->nareas++] = (struct vfio_area){
					.offset = s->areas[i].offset, .size = s->areas[i].size };
			}
			return;
		}
		if (h->next <= at)
			break;
		at = h->next;
	}
	b->area[b->nareas++] = (struct vfio_area){ .offset = 0, .size = info->size };
}

/* Region info with its capability chain (freed by the caller). */
struct vfio_region_info *region_info(struct vfio_pci *v, unsigned index)
{
	struct vfio_region_info query = { .argsz = sizeof(query), .index = index };

	return vfio_get_info(v->fd, VFIO_DEVICE_GET_REGION_INFO, &query, sizeof(query), dev_ioctl);
}

void map_pieces(struct vfio_pci *v, struct vfio_bar *b)
{
	b->npieces = 0;
	for (size_t i = 0; i < b->nareas; i++) {
		const struct vfio_area *ar = &b->area[i];
		struct mmap_piece p = { .offset = ar->offset, .size = ar->size };

		/* KVM slots are whole pages; an area that is not stays trapped */
		if (!p.size || (p.offset | p.size) & (PAGE - 1) || p.offset > b->size ||
		    p.size > b->size - p.offset)
			continue;
		p.host = mmap(NULL, p.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
			      (off_t)(b->region_offset + p.offset));
		if (p.host == MAP_FAILED)
			continue;	/* trapped instead: slower, still right */
		p.slot = vm_slot_alloc(v->vm);
		b->piece[b->npieces++] = p;
	}
}

/* BAR n from the device: its type from the BAR register, its size from
 * VFIO.  Returns how many BAR registers it takes (1 or 2). */
unsigned setup_bar(struct vfio_pci *v, unsigned n)
{
	struct vfio_bar *b = &v->bar[n];
	uint32_t reg = v->host_bar[n];
	struct vfio_region_info *info = region_info(v, VFIO_PCI_BAR0_REGION_INDEX + n);
	unsigned flags = 0, used = 1;

	if (reg & 0x1) {
		flags = PCI_BAR_IO;
	} else {
		if ((reg & 0x6) == 0x4) {
			flags |= PCI_BAR_MEM64;
			used = 2;
		}
		if (reg & 0x8)
			flags |= PCI_BAR_PREFETCH;
	}
	if (!info || !info->size) {
		free(info);
		return used;
	}
	*b = (struct vfio_bar){ .dev = v, .index = n, .region_offset = info->offset,
				.size = info->size };
	pci_set_bar(&v->fn, n, info->size, flags, &vfio_bar_ops, b);
	if (!(flags & PCI_BAR_IO))
		pieces_from_region(b, info);
	free(info);
	return used;
}
