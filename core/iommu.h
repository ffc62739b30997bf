/* SPDX-License-Identifier: MIT */
/*
 * A paravirtual IOMMU in front of some PCI functions.  At most one device
 * provides it (virtio-iommu): its create() registers a struct iommu with
 * iommu_register(), and PCI devices given iommu=on put themselves behind
 * it with iommu_add_pci() from their own create(), after pci_add().  What
 * they get back is their endpoint: the translation of their DMA through
 * the guest's mappings.  A device that does DMA by itself (VFIO) makes
 * its endpoint a mirror with iommu_mirror() and is told of the mappings
 * instead, to program the host's IOMMU.  The arch reads vm->iommu to
 * describe the topology to the guest (ACPI VIOT on x86_64).
 *
 * Core never names the device; a device behind the IOMMU never reaches
 * into it except through its endpoint.
 */
#ifndef WISP_CORE_IOMMU_H
#define WISP_CORE_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/kconfig.h"

struct pci_function;
struct vm;

#define IOMMU_MAX_ENDPOINTS 32

/* One PCI function behind the IOMMU.  The callbacks have the contract
 * of struct virtq_dma (virtio/virtqueue.h), `ep` being this endpoint:
 * map() translates an I/O virtual address to a host pointer (NULL when
 * not mapped with that permission, *len shortened where the mapping
 * stops being contiguous); *revoked moves whenever a translation goes
 * away; UNMAP and DETACH complete only after every hold taken before
 * them is released.  All may be called from any thread. */
struct iommu_endpoint {
	uint16_t segment;
	uint16_t bdf;			/* bus << 8 | device << 3 | function */
	void *(*map)(void *ep, uint64_t iova, uint64_t *len, bool write);
	unsigned (*hold)(void *ep);
	void (*release)(void *ep, unsigned ticket);
	const uint64_t *revoked;
};

/* The id the guest knows it by: its BDF, segment s's moved up by
 * s << 16 (the VIOT's PCI range of each endpoint says so, as Linux's
 * viot.c reads it). */
static inline uint32_t iommu_endpoint_id(const struct iommu_endpoint *ep)
{
	uint32_t segment = IS_ENABLED(CONFIG_PCI_SEGMENTS) ? ep->segment : 0;

	return segment << 16 | ep->bdf;
}

/* Access rights of a mapping, as a mirror gets them. */
#define IOMMU_PROT_READ 1u
#define IOMMU_PROT_WRITE 2u

/*
 * An endpoint whose DMA never goes through map(): a device that does DMA
 * by itself (VFIO, translated by the host's IOMMU) is told of the
 * mappings of the domain it is attached to instead, and mirrors them.
 * map() for each mapping while the endpoint is in its domain (those made
 * before are replayed on ATTACH); unmap() for what goes (UNMAP; all of
 * them on DETACH, on ATTACH to another domain, on a reset).  Ranges are
 * inclusive, [iova, last]; gpa is where iova points in guest-physical
 * space.  Both return 0 or a negative errno, which the guest gets as the
 * request's status: -EINVAL, -ERANGE, -ENOMEM, anything else a device
 * error.  Called on the IOMMU's request path with its lock held: they
 * must not call back into the IOMMU.
 */
struct iommu_mirror {
	int (*map)(void *opaque, uint64_t iova, uint64_t last, uint64_t gpa, unsigned prot);
	int (*unmap)(void *opaque, uint64_t iova, uint64_t last);
	void *opaque;
	/* what the mirror can map: page sizes (bit n: 2^n bytes; any
	 * multiple of the smallest) and the I/O virtual addresses */
	uint64_t page_sizes;
	uint64_t input_start, input_last;
	/* addresses in that range it cannot map either: the guest is told
	 * they are reserved for this endpoint */
#define IOMMU_MIRROR_HOLES 8
	unsigned nholes;
	struct {
		uint64_t start, last;
	} hole[IOMMU_MIRROR_HOLES];
};

struct iommu {
	/* Puts fn behind the IOMMU: its endpoint, or NULL after a message. */
	struct iommu_endpoint *(*add_pci)(struct iommu *iommu, struct pci_function *fn);
	/* Makes ep a mirror (before the guest runs), narrowing what the
	 * IOMMU offers the guest to what the mirror can do: 0, or -1 after
	 * a message.  NULL: the IOMMU has no mirrors. */
	int (*mirror)(struct iommu *iommu, struct iommu_endpoint *ep,
		      const struct iommu_mirror *m);
	/* The IOMMU's own PCI function, valid once it has an endpoint (it
	 * appears with the first one). */
	uint16_t segment;
	uint16_t bdf;
	unsigned nendpoints;
	struct iommu_endpoint *endpoint[IOMMU_MAX_ENDPOINTS];
};

/* The IOMMU device's create(): 0, or -1 if one is registered already. */
int iommu_register(struct vm *vm, struct iommu *iommu);

/* A PCI device's create(), for iommu=on: its endpoint, or NULL after a
 * message (no IOMMU built in, too many endpoints). */
struct iommu_endpoint *iommu_add_pci(struct vm *vm, struct pci_function *fn);

/* After iommu_add_pci(), for a device that DMAs by itself: ep mirrors
 * its domain's mappings through m (copied).  0, or -1 after a message. */
int iommu_mirror(struct vm *vm, struct iommu_endpoint *ep, const struct iommu_mirror *m);

#endif
