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
 * With stats_polling_interval_s=N (wisp's key: cloud-hypervisor's
 * balloon has no statistics queue; the name is Firecracker's) the
 * statistics queue is offered too: the guest leaves one buffer of
 * tag/value pairs there, and every N seconds a timer on the event loop
 * hands it back, which asks the guest for fresh numbers.  They are
 * shown in vm.counters; vm.info's memory_actual_size is the RAM less
 * what the guest has given (`actual`), and vm.resize sets the target,
 * through the VM's reclaim hook (core never names the balloon).
 *
 * Every page frame number and every reported range is a guest value:
 * only ranges wholly inside guest RAM are discarded, one page or one
 * reported buffer at a time, so a guest can discard nothing but its own
 * memory: never device memory (a virtio-pmem file, where MADV_REMOVE
 * would punch a hole in the user's file), nor anything else of wisp's.
 * Memory is never discarded where it cannot be: under hugepages=on a
 * 4 KiB page cannot be taken out of a huge one, and while a VFIO device
 * has guest RAM pinned for DMA a discarded page would part from what the
 * device writes (QEMU inhibits its balloon then too); the pages are then
 * only counted, and one line says so.
 *
 * With iommu=on the balloon sits behind the virtio-iommu, as every
 * virtio device can: the queues' descriptors then hold I/O virtual
 * addresses, which the virtqueue layer translates through the guest's
 * mappings, refusing any that lead to device memory.  So the free-page
 * reports and the statistics buffer (ordinary DMA buffers to the guest's
 * driver) arrive translated.  The page frame numbers inside the inflate
 * and deflate buffers are not addresses the device accesses but the
 * guest's own page numbers, which Linux writes untranslated
 * (page_to_pfn): they stay guest-physical, behind the IOMMU or not.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/counters.h"
#include "core/device.h"
#include "core/event.h"
#include "core/json.h"
#include "core/seccomp.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_ID_BALLOON 5
#define BALLOON_F_STATS_VQ 1
#define BALLOON_F_DEFLATE_ON_OOM 2
#define BALLOON_F_REPORTING 5
#define BALLOON_PAGE_SHIFT 12
#define BALLOON_PAGE (1ULL << BALLOON_PAGE_SHIFT)
#define QUEUE_SIZE 128
#define PCI_CLASS_OTHER 0xff0000

/* What a queue is for: the statistics queue, when negotiated, comes
 * before the reporting one, which otherwise takes its index. */
enum { INFLATE_QUEUE, DEFLATE_QUEUE, STATS_QUEUE, REPORTING_QUEUE };

/* the guest's statistics (virtio spec 5.5.6.3): tags 0 to 9 are shown,
 * later ones (Linux sends some) are read past; a buffer is read up to
 * STATS_MAX entries, whatever length the guest claims */
#define STATS_TAGS 10
#define STATS_MAX 32
#define STATS_ENTRY 10		/* le16 tag, le64 value, packed */
#define STATS_INTERVAL_MAX 3600

/* vm.counters: "_balloon0" */
enum {
	C_INFLATED, C_DEFLATED, C_REPORTED, C_DISCARDED, C_REFUSED, C_STATS_UPDATES,
	C_STATS,		/* the STATS_TAGS statistics, in tag order */
	C_COUNT = C_STATS + STATS_TAGS
};

static const char *const counter_names[C_COUNT] = {
	"inflated_pages", "deflated_pages", "reported_bytes", "discarded_bytes",
	"refused_pfns", "stats_updates",
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures",
};

struct balloon_config {
	uint64_t size;
	uint64_t stats_interval;	/* seconds, 0: no statistics queue */
	bool deflate_on_oom;
	bool free_page_reporting;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
	bool iommu;
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
	uint64_t ram_size;
	atomic_ullong counters[C_COUNT];
	uint32_t target_pages;
	bool kept_said;
	/* the statistics buffer the guest left, held until the timer asks
	 * for new numbers by giving it back */
	bool stats_held;
	struct virtq_chain stats_chain;
	int stats_timer;
};

static struct balloon balloon_state;

static int balloon_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct balloon_config *c = config;
	bool iommu = false;

	if (kv_size(args, "size", &c->size, err) < 0 ||
	    kv_bool(args, "deflate_on_oom", &c->deflate_on_oom, err) < 0 ||
	    kv_bool(args, "free_page_reporting", &c->free_page_reporting, err) < 0 ||
	    kv_u64(args, "stats_polling_interval_s", 0, STATS_INTERVAL_MAX, &c->stats_interval,
		   err) < 0 ||
	    kv_bool(args, "iommu", &iommu, err) < 0 || virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0)
		return -1;
	/* iommu= is read above, with the PCI keys: behind the virtio-iommu
	 * where it is built in */
	if (iommu && !IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		cli_errorf(err, "'iommu=on': this wisp is built without virtio-iommu");
		return -1;
	}
	c->iommu = iommu;
	/* the balloon counts 4 KiB pages; cloud-hypervisor takes any size
	 * and so does wisp, a partial page not counting */
	c->size &= ~(BALLOON_PAGE - 1);
	return 0;
}

/* Whether [host, host+len) is guest RAM: all of it is one mapping
 * (core/memory.h); device memory and the rest of wisp lie outside. */
static bool in_ram(const struct balloon *b, const void *host, uint64_t len)
{
	uintptr_t base = (uintptr_t)b->mem->base, p = (uintptr_t)host;

	/* written so that no sum can overflow */
	return p >= base && len <= b->mem->total && p - base <= b->mem->total - len;
}

/* Returns [host, host+len) to the host, if it may be.  Page-aligned.
 * Every madvise passes here, so here is the last check that the guest
 * named its own RAM, whatever translated the address. */
static void discard(struct balloon *b, void *host, uint64_t len)
{
	if (!in_ram(b, host, len))
		return;
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
		atomic_fetch_add(&b->counters[C_DISCARDED], len);
}

/* The inflate queue: arrays of 32-bit page frame numbers, guest-physical
 * even behind the IOMMU (the buffer holding them is translated, they
 * are not).  A number outside guest RAM is counted and ignored. */
static void inflate(struct balloon *b, const struct virtq_chain *c)
{
	for (size_t off = 0; off + 4 <= c->out_len; off += 4) {
		uint32_t pfn;
		void *host;

		if (virtq_chain_read(c, off, &pfn, sizeof(pfn)) != sizeof(pfn))
			break;
		host = gpa_ptr(b->mem, (uint64_t)le32toh(pfn) << BALLOON_PAGE_SHIFT, BALLOON_PAGE);
		if (!host || !in_ram(b, host, BALLOON_PAGE)) {
			atomic_fetch_add(&b->counters[C_REFUSED], 1);
			continue;
		}
		atomic_fetch_add(&b->counters[C_INFLATED], 1);
		discard(b, host, BALLOON_PAGE);
	}
}

/* A free-page report: the buffers are the free pages themselves, DMA
 * buffers like any other (behind the IOMMU, translated from I/O virtual
 * addresses by the virtqueue layer, which has refused any not in guest
 * RAM; discard() checks again); their whole pages are given back.  Each
 * piece is rounded by itself: an IOMMU mapping may end inside a page. */
static void report(struct balloon *b, const struct virtq_chain *c)
{
	for (unsigned i = 0; i < c->nin; i++) {
		uintptr_t start = (uintptr_t)c->in[i].iov_base;
		uintptr_t end = start + c->in[i].iov_len;
		uintptr_t first = (start + BALLOON_PAGE - 1) & ~(uintptr_t)(BALLOON_PAGE - 1);
		uintptr_t last = end & ~(uintptr_t)(BALLOON_PAGE - 1);

		atomic_fetch_add(&b->counters[C_REPORTED], c->in[i].iov_len);
		if (last > first)
			discard(b, (void *)first, last - first);
	}
}

/* A statistics buffer: up to STATS_MAX tag/value pairs, each value
 * shown as the guest gave it (they are numbers to read, wisp acts on
 * none); unknown tags and a trailing partial entry are read past. */
static void read_stats(struct balloon *b, const struct virtq_chain *c)
{
	uint64_t n = c->out_len / STATS_ENTRY;

	if (n > STATS_MAX)
		n = STATS_MAX;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t e[STATS_ENTRY];
		uint16_t tag;
		uint64_t val;

		if (virtq_chain_read(c, i * STATS_ENTRY, e, sizeof(e)) != sizeof(e))
			break;
		memcpy(&tag, e, sizeof(tag));
		memcpy(&val, e + 2, sizeof(val));
		tag = le16toh(tag);
		if (tag < STATS_TAGS)
			atomic_store(&b->counters[C_STATS + tag], le64toh(val));
	}
	atomic_fetch_add(&b->counters[C_STATS_UPDATES], 1);
}

/* What queue q is for, with the features the driver took. */
static unsigned queue_kind(const struct balloon *b, unsigned q)
{
	if (q == INFLATE_QUEUE || q == DEFLATE_QUEUE)
		return q;
	if (q == 2 && virtio_has(&b->vdev, BALLOON_F_STATS_VQ))
		return STATS_QUEUE;
	return REPORTING_QUEUE;
}

/* The guest's statistics buffer is kept, not used: it goes back when
 * the timer asks for the next numbers.  A second one while one is held
 * gives the first back at once. */
static void hold_stats(struct balloon *b, struct virtq *vq, const struct virtq_chain *c)
{
	if (b->stats_held)
		virtq_push(vq, &b->stats_chain, 0);
	read_stats(b, c);
	b->stats_chain = *c;
	b->stats_held = true;
}

static void balloon_notify(struct virtio_dev *d, unsigned q)
{
	struct balloon *b = d->priv;
	struct virtq *vq = &d->queue[q].vq;
	unsigned kind = queue_kind(b, q);
	struct virtq_chain c;
	int got;

	while ((got = virtq_pop(vq, &c)) > 0) {
		if (kind == STATS_QUEUE) {
			hold_stats(b, vq, &c);
			continue;
		}
		if (kind == INFLATE_QUEUE)
			inflate(b, &c);
		else if (kind == DEFLATE_QUEUE)
			atomic_fetch_add(&b->counters[C_DEFLATED], c.out_len / 4);
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

static void balloon_reset(struct virtio_dev *d)
{
	struct balloon *b = d->priv;

	b->stats_held = false;
}

/* DRIVER_OK: Linux primes the statistics queue with its first buffer
 * and kicks it before it sets DRIVER_OK, and the transport drops kicks
 * until then; without taking that buffer now no statistics would ever
 * come, since the guest sends the next only when it gets this one back. */
static void balloon_activate(struct virtio_dev *d)
{
	if (queue_kind(d->priv, STATS_QUEUE) == STATS_QUEUE && d->queue[STATS_QUEUE].enabled &&
	    pci_bus_master(&d->pci))
		balloon_notify(d, STATS_QUEUE);
}

static const struct virtio_ops balloon_ops = {
	.queue_notify = balloon_notify,
	.activate = balloon_activate,
	.config_write = balloon_config_write,
	.reset = balloon_reset,
};

/* Event loop, every stats_polling_interval_s: the held buffer goes back
 * to the guest, which answers with a new one. */
static void stats_tick(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	struct virtio_dev *d = &b->vdev;
	uint64_t n;

	(void)events;
	if (read(b->stats_timer, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_lock(d);
	if (b->stats_held && (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	    d->queue[STATS_QUEUE].enabled) {
		b->stats_held = false;
		virtq_push(&d->queue[STATS_QUEUE].vq, &b->stats_chain, 0);
		virtio_queue_interrupt(d, STATS_QUEUE);
	}
	virtio_unlock(d);
}

static int stats_timer_start(struct balloon *b, struct vm *vm, uint64_t seconds)
{
	struct itimerspec every = {
		.it_interval.tv_sec = (time_t)seconds,
		.it_value.tv_sec = (time_t)seconds,
	};

	b->stats_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (b->stats_timer < 0 || timerfd_settime(b->stats_timer, 0, &every, NULL) ||
	    event_add(vm->loop, b->stats_timer, EPOLLIN, stats_tick, b)) {
		wisp_err("virtio-balloon: cannot start its statistics timer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------- the VM's reclaim hook */

/* Bytes the guest has given: its own `actual`, at most the RAM. */
static uint64_t balloon_taken(void *opaque)
{
	struct balloon *b = opaque;
	uint64_t actual;

	virtio_lock(&b->vdev);
	actual = (uint64_t)le32toh(b->cfg.actual) << BALLOON_PAGE_SHIFT;
	virtio_unlock(&b->vdev);
	return actual < b->ram_size ? actual : b->ram_size;
}

/* API thread: a new target, and a config change interrupt to say so. */
static int balloon_target(void *opaque, uint64_t bytes)
{
	struct balloon *b = opaque;

	if (bytes > b->ram_size)
		return -1;
	virtio_lock(&b->vdev);
	b->target_pages = (uint32_t)(bytes >> BALLOON_PAGE_SHIFT);
	b->cfg.num_pages = htole32(b->target_pages);
	if (b->vdev.status & VIRTIO_STATUS_DRIVER_OK)
		virtio_config_changed(&b->vdev);
	virtio_unlock(&b->vdev);
	return 0;
}

static const struct vm_reclaim balloon_reclaim = {
	.taken = balloon_taken,
	.target = balloon_target,
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
		.nqueues = 2u + (c->stats_interval != 0) + c->free_page_reporting,
		.queue_size = QUEUE_SIZE,
		.features = (c->deflate_on_oom ? 1ULL << BALLOON_F_DEFLATE_ON_OOM : 0) |
			    (c->stats_interval ? 1ULL << BALLOON_F_STATS_VQ : 0) |
			    (c->free_page_reporting ? 1ULL << BALLOON_F_REPORTING : 0),
		.config = &b->cfg,
		.config_len = sizeof(b->cfg),
		.ops = &balloon_ops,
		.priv = b,
		/* each chain is used within the balloon_notify that popped
		 * it; the statistics chain is held longer, but its buffer is
		 * read at once and only its used entry written later, so no
		 * DMA needs a hold (virtqueue.h) */
		.iommu = c->iommu,
	};

	if (c->size > vm->cfg->memory.size) {
		wisp_err("--balloon: size=%lluM is more than the guest's memory (%lluM)",
			 (unsigned long long)(c->size >> 20),
			 (unsigned long long)(vm->cfg->memory.size >> 20));
		return EXIT_USAGE;
	}
	b->mem = &vm->mem;
	b->ram_size = vm->cfg->memory.size;
	b->stats_timer = -1;
	b->shared = vm->cfg->memory.shared;
	b->hugepages = vm->cfg->memory.hugepages;
	b->target_pages = (uint32_t)(c->size >> BALLOON_PAGE_SHIFT);
	b->cfg.num_pages = htole32(b->target_pages);
	if (b->shared && seccomp_allow(SECCOMP_MAIN, balloon_seccomp, SC_COUNT(balloon_seccomp)))
		return -1;
	if (c->stats_interval && stats_timer_start(b, vm, c->stats_interval))
		return -1;
	counters_register("_balloon", counter_names, b->counters, C_COUNT);
	vm->reclaim = &balloon_reclaim;
	vm->reclaim_opaque = b;
	virtio_pci_place(&info, c->pci_segment, c->pci_slot);
	snapshot_instance(&b->vdev);
	return virtio_pci_create(vm, &b->vdev, &info);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: cloud-hypervisor's "balloon" */
static void balloon_info(const void *config, struct json *j)
{
	const struct balloon_config *c = config;

	json_u64(j, "size", c->size);
	json_bool(j, "deflate_on_oom", c->deflate_on_oom);
	json_bool(j, "free_page_reporting", c->free_page_reporting);
	json_bool(j, "iommu", c->iommu);
}
#endif

#ifdef CONFIG_SNAPSHOT
/* The held statistics buffer is saved as not yet taken (the guest has
 * only that one out): the restored balloon takes it again when DRIVER_OK
 * is put back (balloon_activate), so the statistics go on after a
 * restore instead of waiting forever for a buffer nobody holds. */
static int balloon_snapshot_save(void *instance, struct snap_writer *w)
{
	struct virtio_dev *d = instance;
	struct balloon *b = d->priv;
	struct virtq *vq = &d->queue[STATS_QUEUE].vq;
	int ret;

	if (!b->stats_held)
		return virtio_snapshot_save(instance, w);
	virtq_give_back(vq, &b->stats_chain);
	ret = virtio_snapshot_save(instance, w);
	/* and this VM holds it on: the same chain, taken again */
	if (virtq_pop(vq, &b->stats_chain) != 1)
		b->stats_held = false;
	return ret;
}

static const struct snapshot_ops balloon_snapshot_ops = {
	.save = balloon_snapshot_save,
	.load = virtio_snapshot_load,
};
#endif

DEVICE_REGISTER(virtio_balloon) = {
	.name = "virtio-balloon",
	.summary = "virtio memory balloon: the guest gives memory back",
	.option = "balloon",
	.usage = "size=SIZE[,deflate_on_oom=on][,free_page_reporting=on]"
		 "[,stats_polling_interval_s=N][,iommu=on]",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct balloon_config),
	.parse = balloon_parse,
	.create = balloon_create,
	.snapshot = SNAPSHOT_OPS(&balloon_snapshot_ops),
	DEVICE_INFO("balloon", false, balloon_info)
};
