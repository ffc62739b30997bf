// SPDX-License-Identifier: MIT
/*
 * virtio-balloon (virtio spec 5.5): the host asks the guest to give back
 * memory, in cloud-hypervisor's spelling (--balloon size=BYTES
 * [,deflate_on_oom=on][,free_page_reporting=on]).
 *
 * The target (num_pages in the config space, 4 KiB pages whatever the
 * guest's page size) is `size`.  Pages the guest puts in the inflate
 * queue are returned to the host: MADV_DONTNEED for private RAM, and
 * MADV_REMOVE (a hole in the memfd) for shared=on RAM, whose pages the
 * memfd would otherwise keep.  Deflating needs nothing: a page the guest
 * touches again comes back zeroed on first touch, from the kernel.  With
 * free_page_reporting=on the guest also reports ranges it has freed, and
 * they are returned the same way.
 *
 * Every page frame number and every reported range is a guest value:
 * only ranges wholly inside guest RAM are discarded (gpa_ptr), one page
 * or one reported buffer at a time, so a guest can discard nothing but
 * its own memory.  Memory is never discarded where it cannot be: under
 * hugepages=on a 4 KiB page cannot be taken out of a huge one, and while
 * a VFIO device has guest RAM pinned for DMA a discarded page would part
 * from what the device writes (QEMU inhibits its balloon then too); the
 * pages are then only counted, and one line says so.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/device.h"
#include "core/seccomp.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_ID_BALLOON 5
#define BALLOON_F_DEFLATE_ON_OOM 2
#define BALLOON_F_REPORTING 5
#define BALLOON_PAGE_SHIFT 12
#define BALLOON_PAGE (1ULL << BALLOON_PAGE_SHIFT)
#define QUEUE_SIZE 128
#define PCI_CLASS_OTHER 0xff0000

enum { INFLATE_QUEUE, DEFLATE_QUEUE, REPORTING_QUEUE };

struct balloon_config {
	uint64_t size;
	bool deflate_on_oom;
	bool free_page_reporting;
};

/* struct virtio_balloon_config (little-endian) */
struct balloon_cfg_space {
	uint32_t num_pages;	/* the target, set by wisp */
	uint32_t actual;	/* what the guest has given, set by it */
	uint32_t free_page_hint_cmd_id;
	uint32_t poison_val;
} __attribute__((packed));

struct balloon {
	struct virtio_dev vdev;
	struct balloon_cfg_space cfg;
	const struct guest_memory *mem;
	bool shared;		/* RAM is a memfd: discard with MADV_REMOVE */
	bool hugepages;
	/* counters (vm.counters once the API has them) */
	uint64_t inflated, deflated;	/* pages */
	uint64_t reported;		/* bytes of free-page reports */
	uint64_t discarded;		/* bytes returned to the host */
	uint64_t refused;		/* guest values outside RAM */
	uint32_t target_pages;
	bool kept_said;
};

static struct balloon balloon_state;

static int balloon_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct balloon_config *c = config;

	if (kv_size(args, "size", &c->size, err) < 0 ||
	    kv_bool(args, "deflate_on_oom", &c->deflate_on_oom, err) < 0 ||
	    kv_bool(args, "free_page_reporting", &c->free_page_reporting, err) < 0)
		return -1;
	/* the balloon counts 4 KiB pages; cloud-hypervisor takes any size
	 * and so does wisp, a partial page not counting */
	c->size &= ~(BALLOON_PAGE - 1);
	return 0;
}

/* Returns [host, host+len) to the host, if it may be.  Page-aligned. */
static void discard(struct balloon *b, void *host, uint64_t len)
{
	if (b->hugepages || b->mem->dma_pinned) {
		if (!b->kept_said) {
			b->kept_said = true;
			wisp_err("%s: the guest's pages stay with it: %s", b->vdev.name,
				 b->hugepages ? "hugepages=on cannot give back 4 KiB pages"
					      : "a VFIO device has guest RAM pinned for DMA");
		}
		return;
	}
	if (!madvise(host, len, b->shared ? MADV_REMOVE : MADV_DONTNEED))
		b->discarded += len;
}

/* The inflate queue: arrays of 32-bit page frame numbers. */
static void inflate(struct balloon *b, const struct virtq_chain *c)
{
	for (size_t off = 0; off + 4 <= c->out_len; off += 4) {
		uint32_t pfn;
		void *host;

		if (virtq_chain_read(c, off, &pfn, sizeof(pfn)) != sizeof(pfn))
			break;
		host = gpa_ptr(b->mem, (uint64_t)le32toh(pfn) << BALLOON_PAGE_SHIFT, BALLOON_PAGE);
		if (!host) {
			b->refused++;
			continue;
		}
		b->inflated++;
		discard(b, host, BALLOON_PAGE);
	}
}

/* A free-page report: the buffers are the free pages themselves (the
 * virtqueue layer has checked they are guest RAM); their whole pages
 * are given back. */
static void report(struct balloon *b, const struct virtq_chain *c)
{
	for (unsigned i = 0; i < c->nin; i++) {
		uintptr_t start = (uintptr_t)c->in[i].iov_base;
		uintptr_t end = start + c->in[i].iov_len;
		uintptr_t first = (start + BALLOON_PAGE - 1) & ~(uintptr_t)(BALLOON_PAGE - 1);
		uintptr_t last = end & ~(uintptr_t)(BALLOON_PAGE - 1);

		b->reported += c->in[i].iov_len;
		if (last > first)
			discard(b, (void *)first, last - first);
	}
}

static void balloon_notify(struct virtio_dev *d, unsigned q)
{
	struct balloon *b = d->priv;
	struct virtq *vq = &d->queue[q].vq;
	struct virtq_chain c;
	int got;

	while ((got = virtq_pop(vq, &c)) > 0) {
		if (q == INFLATE_QUEUE)
			inflate(b, &c);
		else if (q == DEFLATE_QUEUE)
			b->deflated += c.out_len / 4;
		else
			report(b, &c);
		virtq_push(vq, &c, 0);
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed queue");
	virtio_queue_interrupt(d, q);
}

/* The guest says how many pages it holds: `actual` is the only field
 * that is its to write; whatever else it wrote is put back. */
static void balloon_config_write(struct virtio_dev *d, unsigned off, unsigned len)
{
	struct balloon *b = d->priv;
	uint32_t actual = b->cfg.actual;

	(void)off;
	(void)len;
	memset(&b->cfg, 0, sizeof(b->cfg));
	b->cfg.num_pages = htole32(b->target_pages);
	b->cfg.actual = actual;
}

static const struct virtio_ops balloon_ops = {
	.queue_notify = balloon_notify,
	.config_write = balloon_config_write,
};

/* the event loop: giving pages back (MADV_DONTNEED is allowed to every
 * thread already, for malloc) */
static const struct seccomp_rule balloon_seccomp[] = {
	SC_ARG(SYS_madvise, 2, SC_ALL, MADV_REMOVE),
};

static int balloon_create(struct vm *vm, const void *config)
{
	const struct balloon_config *c = config;
	struct balloon *b = &balloon_state;
	struct virtio_dev_info info = {
		.name = "virtio-balloon",
		.device_id = VIRTIO_ID_BALLOON,
		.pci_class = PCI_CLASS_OTHER,
		.nqueues = c->free_page_reporting ? 3 : 2,
		.queue_size = QUEUE_SIZE,
		.features = (c->deflate_on_oom ? 1ULL << BALLOON_F_DEFLATE_ON_OOM : 0) |
			    (c->free_page_reporting ? 1ULL << BALLOON_F_REPORTING : 0),
		.config = &b->cfg,
		.config_len = sizeof(b->cfg),
		.ops = &balloon_ops,
		.priv = b,
	};

	if (c->size > vm->cfg->memory.size) {
		wisp_err("--balloon: size=%lluM is more than the guest's memory (%lluM)",
			 (unsigned long long)(c->size >> 20),
			 (unsigned long long)(vm->cfg->memory.size >> 20));
		return EXIT_USAGE;
	}
	b->mem = &vm->mem;
	b->shared = vm->cfg->memory.shared;
	b->hugepages = vm->cfg->memory.hugepages;
	b->target_pages = (uint32_t)(c->size >> BALLOON_PAGE_SHIFT);
	b->cfg.num_pages = htole32(b->target_pages);
	if (b->shared && seccomp_allow(SECCOMP_MAIN, balloon_seccomp, SC_COUNT(balloon_seccomp)))
		return -1;
	snapshot_instance(&b->vdev);
	return virtio_pci_create(vm, &b->vdev, &info);
}

DEVICE_REGISTER(virtio_balloon) = {
	.name = "virtio-balloon",
	.summary = "virtio memory balloon: the guest gives memory back",
	.option = "balloon",
	.usage = "size=SIZE[,deflate_on_oom=on][,free_page_reporting=on]",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct balloon_config),
	.parse = balloon_parse,
	.create = balloon_create,
	.snapshot = SNAPSHOT_OPS(&virtio_snapshot_ops),
};
