// SPDX-License-Identifier: MIT
/*
 * virtio-pmem (virtio spec 5.19): a host file mapped straight into guest
 * physical memory, above RAM and the PCI window, which the guest uses as
 * persistent memory (with DAX, loads and stores reach the file's pages
 * with no exit at all).  The one queue carries FLUSH requests, answered
 * after fdatasync() so the guest's data is on stable storage.
 *
 * discard_writes=on maps the file privately: the guest may write, the
 * file never changes, and FLUSH succeeds without doing anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/device.h"
#include "core/json.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define PMEM_QUEUE_SIZE 64
#define PMEM_ALIGN (2ULL << 20)	/* Linux's nvdimm wants 2 MiB-aligned regions */
#define PCI_CLASS_MEMORY_OTHER 0x058000

#define VIRTIO_PMEM_REQ_TYPE_FLUSH 0
#define VIRTIO_PMEM_RESP_OK 0
#define VIRTIO_PMEM_RESP_FAIL 0xffffffffu	/* "-1" (5.19.6) */

struct pmem_config {
	const char *file;
	uint64_t size;		/* 0: the file's size */
	bool discard_writes;
	bool iommu;		/* the request queue behind the virtio-iommu */
	const char *id;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
};

struct pmem_cfg_space {
	uint64_t start;
	uint64_t size;
} __attribute__((packed));

struct pmem {
	struct virtio_dev vdev;
	struct pmem_cfg_space cfg;
	const struct pmem_config *conf;
	int fd;
	void *map;
};

static int pmem_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct pmem_config *c = config;
	struct stat st;
	int kv_present;

	if (kv_str(args, "file", &c->file, err) < 0 ||
	    (kv_present = kv_size(args, "size", &c->size, err)) < 0 ||
	    kv_bool(args, "discard_writes", &c->discard_writes, err) < 0 ||
	    virtio_parse_iommu(args, &c->iommu, err) < 0 || kv_str(args, "id", &c->id, err) < 0 ||
	    virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0)
		return -1;
	if (!c->file) {
		cli_errorf(err, "file=PATH is required in '%s'", args->source);
		return -1;
	}
	if (stat(c->file, &st)) {
		cli_errorf(err, "cannot open 'file=%s': %s", c->file, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_errorf(err, "'%s' is not a regular file", c->file);
		return -1;
	}
	if (kv_present && !c->size) {
		cli_errorf(err, "'size=0': the size must not be zero");
		return -1;
	}
	if (!c->size)
		c->size = (uint64_t)st.st_size;
	if (!c->size) {
		cli_errorf(err, "'%s' is empty", c->file);
		return -1;
	}
	if ((uint64_t)st.st_size < c->size) {
		cli_errorf(err, "'%s' has %llu bytes, fewer than size=%llu", c->file,
			   (unsigned long long)st.st_size, (unsigned long long)c->size);
		return -1;
	}
	if (c->size % PMEM_ALIGN) {
		cli_errorf(err, "size %llu of '%s' is not a multiple of 2M%s",
			   (unsigned long long)c->size, c->file,
			   kv_present ? "" : " (give size=)");
		return -1;
	}
	if (access(c->file, c->discard_writes ? R_OK : R_OK | W_OK)) {
		cli_errorf(err, "cannot open '%s'%s: %s", c->file,
			   c->discard_writes ? "" : " for writing", strerror(errno));
		return -1;
	}
	return 0;
}

static uint32_t flush(struct pmem *p)
{
	if (p->conf->discard_writes)
		return VIRTIO_PMEM_RESP_OK;
	return fdatasync(p->fd) ? VIRTIO_PMEM_RESP_FAIL : VIRTIO_PMEM_RESP_OK;
}

static void pmem_notify(struct virtio_dev *d, unsigned q)
{
	struct pmem *p = d->priv;
	struct virtq *vq = &d->queue[q].vq;
	struct virtq_chain c;
	int got;

	while ((got = virtq_pop(vq, &c)) > 0) {
		uint32_t type, resp = VIRTIO_PMEM_RESP_FAIL;

		if (virtq_chain_read(&c, 0, &type, sizeof(type)) == sizeof(type) &&
		    type == VIRTIO_PMEM_REQ_TYPE_FLUSH)
			resp = flush(p);
		virtq_push(vq, &c, (uint32_t)virtq_chain_write(&c, 0, &resp, sizeof(resp)));
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed request queue");
	virtio_queue_interrupt(d, q);
}

static const struct virtio_ops pmem_ops = {
	.queue_notify = pmem_notify,
};

/* the event loop: FLUSH */
static const struct seccomp_rule pmem_seccomp[] = {
	SC_ALLOW(SYS_fdatasync),
};

static int pmem_create(struct vm *vm, const void *config)
{
	const struct pmem_config *c = config;
	struct pmem *p;
	struct virtio_dev_info info = {
		.name = "virtio-pmem",
		.device_id = VIRTIO_ID_PMEM,
		.pci_class = PCI_CLASS_MEMORY_OTHER,
		.nqueues = 1,
		.queue_size = PMEM_QUEUE_SIZE,
		.ops = &pmem_ops,
		.id = c->id,
	};
	uint64_t gpa;

	/* lives as long as the VM; the CLI bounds how many there are */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->conf = c;
	p->fd = open(c->file, (c->discard_writes ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (p->fd < 0) {
		wisp_err("--pmem: cannot open '%s': %s", c->file, strerror(errno));
		return -1;
	}
	p->map = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
		      (c->discard_writes ? MAP_PRIVATE : MAP_SHARED) | MAP_NORESERVE, p->fd, 0);
	if (p->map == MAP_FAILED) {
		wisp_err("--pmem: cannot map '%s': %s", c->file, strerror(errno));
		return -1;
	}
	if (vm_add_device_memory(vm, p->map, c->size, PMEM_ALIGN, false, &gpa))
		return -1;
	p->cfg.start = gpa;
	p->cfg.size = c->size;
	info.config = &p->cfg;
	info.config_len = sizeof(p->cfg);
	info.priv = p;
	virtio_pci_place(&info, c->pci_segment, c->pci_slot);
	/* a flush is popped, done and pushed in one call of pmem_notify:
	 * no DMA hold behind the IOMMU (virtqueue.h); the memory window
	 * itself is guest-physical, as in cloud-hypervisor */
	info.iommu = c->iommu;
	if (seccomp_allow(SECCOMP_MAIN, pmem_seccomp, SC_COUNT(pmem_seccomp)))
		return -1;
	snapshot_instance(&p->vdev);
	return virtio_pci_create(vm, &p->vdev, &info);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "pmem" (parse() made size the
 * file's when none was given) */
static void pmem_info(const void *config, struct json *j)
{
	const struct pmem_config *c = config;

	json_string(j, "file", c->file);
	json_u64(j, "size", c->size);
	json_bool(j, "iommu", c->iommu);
	json_bool(j, "discard_writes", c->discard_writes);
	json_u64(j, "pci_segment", c->pci_segment);
}
#endif

DEVICE_REGISTER(virtio_pmem) = {
	.name = "virtio-pmem",
	.summary = "virtio persistent memory backed by a host file",
	.option = "pmem",
	.usage = "file=PATH[,size=SIZE][,discard_writes=on][,iommu=on][,id=NAME]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct pmem_config),
	.parse = pmem_parse,
	.create = pmem_create,
	.snapshot = SNAPSHOT_OPS(&virtio_snapshot_ops),
	DEVICE_INFO("pmem", true, pmem_info)
};
