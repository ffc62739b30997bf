// SPDX-License-Identifier: MIT
/* virtio-iommu the device: its queues, reset, and creation on PCI with
 * the endpoints behind it. */
#include "virtio/iommu/iommu.h"

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
void viommu_reset(struct virtio_dev *d)
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

void viommu_init(struct viommu *v, const struct guest_memory *mem)
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

struct endpoint *endpoint_new(struct viommu *v, uint16_t segment, uint16_t bdf)
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
int viommu_mirror(struct iommu *iommu, struct iommu_endpoint *pub,
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

	/* (there is no other segment without CONFIG_PCI_SEGMENTS) */
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
	snapshot_instance(v);
	return iommu_register(vm, &v->iommu);
}

#ifdef CONFIG_SNAPSHOT
/* Its domains and mappings are not saved yet: a VM with a device
 * behind the IOMMU cannot be snapshotted; one without (the IOMMU then
 * has no PCI function, the guest never saw it) can. */
static const char *viommu_blocker(void *instance)
{
	const struct viommu *v = instance;

	return v && v->has_pci ? "its domains and mappings cannot be saved yet (iommu=on)" : NULL;
}

static const struct snapshot_ops viommu_snapshot_ops = { .blocker = viommu_blocker };
#endif

/* Before the PCI devices that may sit behind it (ORDER_PCI_DEVICE). */
DEVICE_REGISTER(virtio_iommu) = {
	.name = "virtio-iommu",
	.summary = "paravirtual IOMMU for devices given iommu=on (ACPI VIOT)",
	.order = ORDER_BUS,
	.create = viommu_create,
	.snapshot = SNAPSHOT_OPS(&viommu_snapshot_ops),
};
