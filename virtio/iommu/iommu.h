/* SPDX-License-Identifier: MIT */
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
 *
 * The device is split along its seams: domains and their mappings
 * (domain.c), translation and fault events (fault.c), mirrors into
 * host IOMMUs (mirror.c), the guest's requests (request.c), the virtio
 * device and its creation on PCI (device.c).  This header is theirs
 * alone.
 */
#ifndef WISP_VIRTIO_IOMMU_IOMMU_H
#define WISP_VIRTIO_IOMMU_IOMMU_H

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

/* Shared between the files of virtio/iommu/. */
void holds_init(struct holds *h);
unsigned ep_hold(void *opaque);
void ep_release(void *opaque, unsigned ticket);
void hold_sync(struct holds *h);
void revoke(struct viommu *v);
long find_at_or_before(const struct domain *d, uint64_t iova);
uint8_t domain_map(struct domain *d, const struct mapping *m);
uint8_t domain_unmap(struct domain *d, uint64_t start, uint64_t end, bool *removed);
void domain_destroy(struct domain *d);
struct domain *domain_find(struct viommu *v, uint32_t id);
struct endpoint *endpoint_find(struct viommu *v, uint32_t id);
void *ep_map(void *opaque, uint64_t iova, uint64_t *len, bool write);
void post_faults(struct viommu *v);
void on_fault(void *opaque, uint32_t events);
int mirror_unmap_one(struct endpoint *e, uint64_t start, uint64_t end);
uint8_t mirrors_map(struct viommu *v, const struct domain *d, const struct mapping *m);
uint8_t mirrors_unmap(struct viommu *v, const struct domain *d, uint64_t start,
		      uint64_t end);
uint8_t mirror_replay(struct endpoint *e, const struct domain *d);
bool detach(struct endpoint *e);
int handle_request(struct viommu *v, const struct virtq_chain *c);
void viommu_reset(struct virtio_dev *d);
void viommu_init(struct viommu *v, const struct guest_memory *mem);
struct endpoint *endpoint_new(struct viommu *v, uint16_t segment, uint16_t bdf);
int viommu_mirror(struct iommu *iommu, struct iommu_endpoint *pub,
		  const struct iommu_mirror *m);

#endif
