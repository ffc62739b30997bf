// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio spec 5.2) backed by a raw image file: the option,
 * the device, and its queues.
 *
 * Requests are taken off the queues on the event loop and handed to a
 * few I/O threads per disk, which run them (request.c) with preadv and
 * pwritev straight into guest memory and complete them; so a slow disk
 * stalls neither a vCPU nor the event loop, and requests run in
 * parallel, rate-limited first where the user asked (virtio/throttle.h).
 */
#include "virtio/blk/blk.h"
#include "core/cli.h"
#include "core/json.h"

/* cloud-hypervisor's names for a disk's counters */
static const char *const blk_counter_names[] = { "read_bytes", "read_ops", "write_bytes", "write_ops" };

static unsigned ndisks;
/* the I/O threads' seccomp filter (core/seccomp.h) */
static unsigned io_thread_kind;

/* The disk's size in bytes; image sizes that are not a multiple of a
 * sector lose the tail, as every VMM does. */
static int disk_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -1 : 0;
	*size = (uint64_t)st.st_size & ~((1ULL << SECTOR_SHIFT) - 1);
	return 0;
}

/* An advisory lock like QEMU's, so two VMs never write one image and a
 * read-only user does not read an image another VM is writing. */
static int lock_image(int fd, bool readonly, off_t len)
{
	struct flock fl = { .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET,
			    .l_len = len };

	return fcntl(fd, F_OFD_SETLK, &fl);
}

/* Whether another process holds a lock that lock_image() would hit. */
static bool lock_conflict(int fd, bool readonly)
{
	struct flock fl = { .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };

	return !fcntl(fd, F_OFD_GETLK, &fl) && fl.l_type != F_UNLCK;
}

/* cloud-hypervisor's keys that choose how the image is handled:
 * image_type (only raw is read here), sparse, lock_granularity,
 * backing_files (a qcow2 matter: off only), and its two switches between
 * I/O back-ends (wisp has one, which uses neither io_uring nor aio). */
static int parse_image_keys(struct kv_list *args, struct blk_config *c, struct cli_error *err)
{
	static const char *const locks[] = { "full", "byte-range" };
	const char *type = NULL, *lock = NULL;
	bool backing = false, unused;

	c->sparse = true;
	if (kv_str(args, "image_type", &type, err) < 0 || kv_bool(args, "sparse", &c->sparse, err) < 0 ||
	    kv_str(args, "lock_granularity", &lock, err) < 0 ||
	    kv_bool(args, "backing_files", &backing, err) < 0 ||
	    kv_bool(args, "_disable_io_uring", &unused, err) < 0 ||
	    kv_bool(args, "_disable_aio", &unused, err) < 0)
		return -1;
	if (type && strcmp(type, "raw")) {
		cli_errorf(err, "'image_type=%s': %s", type,
			   strcmp(type, "qcow2") && strcmp(type, "vhd") && strcmp(type, "vhdx") ?
			   "expected raw, qcow2, vhd or vhdx" :
			   "wisp reads raw images only (qemu-img convert -O raw makes one)");
		return -1;
	}
	if (backing) {
		cli_errorf(err, "'backing_files=on': raw images have no backing files");
		return -1;
	}
	if (lock && strcmp(lock, locks[0]) && strcmp(lock, locks[1])) {
		cli_errorf(err, "'lock_granularity=%s': expected full or byte-range", lock);
		return -1;
	}
	c->lock_byte_range = lock && !strcmp(lock, locks[1]);
	return 0;
}

/* queue_affinity=[QUEUE@[HOST CPUS],...]: the host CPUs of each listed
 * queue's I/O threads, its queues below num_queues (parsed before it).
 * Not built (CONFIG_VIRTIO_BLK_QUEUE_AFFINITY off): refused by name
 * where CONFIG_CLI_UNBUILT_KEYS is, else an unknown key. */
static int parse_queue_affinity(struct kv_list *args, struct blk_config *c, struct cli_error *err)
{
	static const struct affinity_names names = { "queue_affinity", "QUEUE", "queue",
						     "num_queues" };
	const char *affinity = NULL;

	if (!IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) && !IS_ENABLED(CONFIG_CLI_UNBUILT_KEYS))
		return 0;	/* an unknown key, then */
	if (kv_str(args, "queue_affinity", &affinity, err) < 0)
		return -1;
	if (!affinity)
		return 0;
	if (!IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY)) {
		cli_errorf(err, "'queue_affinity=%s': pinning disk queues to host CPUs is not built "
			   "into this binary (CONFIG_VIRTIO_BLK_QUEUE_AFFINITY is off)", affinity);
		return -1;
	}
	return cli_parse_affinity(&names, affinity, (unsigned)c->num_queues, c->queue_affinity,
				  &c->nqueue_affinity, err);
}

static int blk_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct blk_config *c = config;
	struct stat st;
	uint64_t size;
	int fd;

	c->num_queues = 1;
	c->queue_size = DEFAULT_QUEUE_SIZE;
	if (kv_str(args, "path", &c->path, err) < 0 ||
	    kv_bool(args, "readonly", &c->readonly, err) < 0 ||
	    kv_u64(args, "num_queues", 1, MAX_QUEUES, &c->num_queues, err) < 0 ||
	    kv_u64(args, "queue_size", 2, 1024, &c->queue_size, err) < 0 ||
	    kv_str(args, "serial", &c->serial, err) < 0 ||
	    kv_str(args, "id", &c->id, err) < 0 || parse_image_keys(args, c, err) < 0 ||
	    (IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT) && kv_bool(args, "direct", &c->direct, err) < 0) ||
	    parse_queue_affinity(args, c, err) < 0 ||
	    virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0 ||
	    virtio_parse_iommu(args, &c->iommu, err) < 0 ||
	    throttle_parse(args, &c->limits, &c->limited, err) < 0 ||
	    (IS_ENABLED(CONFIG_RATE_LIMITER) &&
	     kv_str(args, "rate_limit_group", &c->rate_limit_group, err) < 0))
		return -1;
	if (IS_ENABLED(CONFIG_RATE_LIMITER) && c->rate_limit_group && c->limited) {
		cli_errorf(err, "give rate_limit_group= or limits of the disk's own (bw_size=, "
			   "ops_size=), not both, in '%s'", args->source);
		return -1;
	}
	if (!c->path) {
		cli_errorf(err, "path=FILE is required in '%s'", args->source);
		return -1;
	}
	if (c->queue_size & (c->queue_size - 1)) {
		cli_errorf(err, "'queue_size=%llu': must be a power of two",
			   (unsigned long long)c->queue_size);
		return -1;
	}
	/* as cloud-hypervisor's validation: a queue per vCPU at most */
	args->needs.key = "num_queues";
	args->needs.value = (unsigned)c->num_queues;
	args->needs.per_vcpu = 1;
	if (c->serial && strlen(c->serial) > VIRTIO_BLK_ID_BYTES) {
		cli_errorf(err, "'serial=%s': at most %d characters", c->serial,
			   VIRTIO_BLK_ID_BYTES);
		return -1;
	}
	/* O_NONBLOCK: a FIFO opened for reading would wait for a writer */
	fd = open(c->path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		cli_errorf(err, "cannot open '%s'%s: %s", c->path,
			   c->readonly ? "" : " for writing", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		cli_errorf(err, "cannot stat '%s': %s", c->path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		cli_errorf(err, "'%s' is %s, not a regular file or block device", c->path,
			   file_kind(st.st_mode));
	} else if (disk_size(fd, &size) || size == 0) {
		cli_errorf(err, "'%s' is empty (smaller than one 512-byte sector)", c->path);
	} else if (lock_conflict(fd, c->readonly)) {
		cli_errorf(err, "'%s' is in use by another process (locked)", c->path);
	} else {
		close(fd);
		return 0;
	}
	close(fd);
	return -1;
}

/* One of the disk's I/O threads, serving one lane: takes the lane's
 * oldest waiting request, runs it without any lock, then completes it
 * under the device lock -- unless the driver reset the device
 * meanwhile.  Requests run in parallel and complete in any order, as
 * virtio allows. */
static void *io_thread(void *opaque)
{
	struct blk_lane *l = opaque;
	struct blk *b = l->b;
	void *bounce;

	pthread_mutex_lock(&b->qlock);
	/* NULL without direct=on */
	bounce = IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT) ? b->bounce[b->bounce_next++ % MAX_IO_THREADS]
						      : NULL;
	for (;;) {
		struct blk_request req;
		uint64_t gen;
		uint32_t written;
		uint8_t status;

		while (!l->count && !b->stopping)
			pthread_cond_wait(&l->qcond, &b->qlock);
		if (b->stopping)
			break;
		req = l->pending[l->head];
		l->head = (l->head + 1) % l->pending_max;
		l->count--;
		b->running++;
		b->unpushed++;
		gen = b->generation;
		pthread_mutex_unlock(&b->qlock);

		status = blk_execute(b, &req.chain, &written, bounce);

		pthread_mutex_lock(&b->qlock);
		if (!--b->running)
			pthread_cond_broadcast(&b->idle);
		pthread_mutex_unlock(&b->qlock);

		virtio_lock(&b->vdev);
		/* the generation only moves under the device lock (reset) */
		if (gen == b->generation) {
			/* the status is the chain's last byte, whatever the
			 * request wrote before it */
			virtq_chain_write(&req.chain, req.chain.in_len - 1, &status, 1);
			virtq_push(&b->vdev.queue[req.queue].vq, &req.chain, written + 1);
			virtio_queue_interrupt(&b->vdev, req.queue);
		}
		virtio_unlock(&b->vdev);
		/* only now may an UNMAP of this request's buffers complete */
		virtq_dma_release(&b->vdev.dma, req.dma_hold);
		pthread_mutex_lock(&b->qlock);
		if (!--b->unpushed)
			pthread_cond_broadcast(&b->idle);
	}
	pthread_mutex_unlock(&b->qlock);
	return NULL;
}

/* A request must have a readable header and a writable status byte. */
static bool well_formed(const struct virtq_chain *c)
{
	return c->out_len >= sizeof(struct blk_outhdr) && c->in_len >= 1 && c->nin;
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct blk *b = d->priv;
	struct virtq *vq = &d->queue[q].vq;
	/* q is one of the device's queues (the transport checked it) */
	struct blk_lane *l = &b->lane[IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) ? b->lane_of[q] : 0];
	int got = 0;

	for (;;) {
		struct blk_request *slot;
		unsigned hold;

		pthread_mutex_lock(&b->qlock);
		if (l->count == l->pending_max) {
			/* cannot happen: a queue holds at most its size */
			pthread_mutex_unlock(&b->qlock);
			break;
		}
		slot = &l->pending[(l->head + l->count) % l->pending_max];
		/* The I/O thread uses the chain after this callback returns:
		 * its translations are held until it is pushed.  The hold is
		 * taken before the pop translates: an UNMAP or IOMMU reset
		 * between the two would otherwise complete without waiting
		 * for this request, which would then do its I/O through
		 * translations the driver has taken back. */
		hold = virtq_dma_hold(&d->dma);
		got = throttle_waiting(&b->throttle) ? 0 : virtq_pop(vq, &slot->chain);
		if (got > 0 && !well_formed(&slot->chain)) {
			pthread_mutex_unlock(&b->qlock);
			virtq_dma_release(&d->dma, hold);
			virtq_mark_broken(vq);
			got = -1;
		} else if (got > 0 && IS_ENABLED(CONFIG_RATE_LIMITER) &&
			   !throttle_admit(&b->throttle, blk_request_bytes(&slot->chain))) {
			/* taken again, first, when the limiter's timer fires */
			virtq_give_back(vq, &slot->chain);
			pthread_mutex_unlock(&b->qlock);
			virtq_dma_release(&d->dma, hold);
			got = 0;
		} else if (got > 0) {
			slot->dma_hold = hold;
			slot->queue = q;
			l->count++;
			pthread_cond_signal(&l->qcond);
			pthread_mutex_unlock(&b->qlock);
			continue;
		} else {
			pthread_mutex_unlock(&b->qlock);
			virtq_dma_release(&d->dma, hold);
		}
		break;
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed request");
}

static void blk_reset(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	/* Waiting requests are dropped; running ones finish their I/O
	 * before the reset is over (so none writes guest memory the driver
	 * has taken back) but are never completed. */
	throttle_reset(&b->throttle);
	pthread_mutex_lock(&b->qlock);
	b->generation++;
	for (unsigned n = 0; n < BLK_LANES; n++) {
		struct blk_lane *l = &b->lane[n];

		for (unsigned i = 0; i < l->count; i++)
			virtq_dma_release(&d->dma, l->pending[(l->head + i) % l->pending_max].dma_hold);
		l->count = 0;
	}
	while (b->running)
		pthread_cond_wait(&b->idle, &b->qlock);
	pthread_mutex_unlock(&b->qlock);
}

#ifdef CONFIG_SNAPSHOT
/* A snapshot of a paused VM: the requests already taken finish and
 * reach the guest's used ring first, so none is lost or done twice. */
static void blk_drain(void *instance)
{
	struct virtio_dev *d = instance;
	struct blk *b = d->priv;

	pthread_mutex_lock(&b->qlock);
	for (unsigned n = 0; n < BLK_LANES; n++)
		while (b->lane[n].count || b->unpushed)
			pthread_cond_wait(&b->idle, &b->qlock);
	pthread_mutex_unlock(&b->qlock);
}

static const struct snapshot_ops blk_snapshot_ops = {
	.drain = blk_drain,
	.save = virtio_snapshot_save,
	.load = virtio_snapshot_load,
};
#endif

static const struct virtio_ops blk_ops = {
	.queue_notify = blk_notify,
	.reset = blk_reset,
};

/* The I/O threads' own filter: file I/O into guest memory, FLUSH,
 * DISCARD/WRITE_ZEROES, and the completion interrupt (an irqfd write). */
static const struct seccomp_rule io_thread_seccomp[] = {
	SC_ALLOW(SYS_preadv),
	SC_ALLOW(SYS_pwritev),
	SC_ALLOW(SYS_fdatasync),
	SC_ALLOW(SYS_fallocate),
};

/* Each lane's ring, as large as the queues it serves together; a queue
 * in queue_affinity= gets a lane of its own, the others share lane 0. */
static int make_lanes(struct blk *b)
{
	const struct blk_config *c = b->conf;
	unsigned shared = (unsigned)c->num_queues;

	for (size_t i = 0; IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) && i < c->nqueue_affinity; i++) {
		b->lane_of[c->queue_affinity[i].index] = (uint8_t)(i + 1);
		shared--;
	}
	for (unsigned n = 0; n < BLK_LANES; n++) {
		struct blk_lane *l = &b->lane[n];

		l->b = b;
		pthread_cond_init(&l->qcond, NULL);
		l->pending_max = (unsigned)c->queue_size * (n ? 1 : shared);
		if (!l->pending_max || (n && n > c->nqueue_affinity))
			continue;	/* no queue of its own */
		l->pending = calloc(l->pending_max, sizeof(*l->pending));
		if (!l->pending)
			return -1;
	}
	return 0;
}

/* queue_affinity=: each listed queue's I/O threads, pinned to its host
 * CPUs before the guest runs and named blkN-qQ (for ps -T, top -H and
 * the lab's check).  These threads run the queue's requests; the pop
 * from the ring happens where the guest's notify is handled, as for
 * every queue. */
static int start_pinned_threads(struct blk *b)
{
	const struct blk_config *c = b->conf;
	unsigned t = IO_THREADS;

	for (size_t i = 0; i < c->nqueue_affinity; i++) {
		const struct cpu_affinity *a = &c->queue_affinity[i];
		char name[16];
		int ret;

		snprintf(name, sizeof(name), "blk%u-q%u", ndisks - 1, a->index);
		for (unsigned k = 0; k < QUEUE_IO_THREADS; k++, t++) {
			if (seccomp_thread_create(&b->thread[t], io_thread_kind, io_thread,
						  &b->lane[i + 1])) {
				wisp_err("--disk: cannot start an I/O thread");
				return -1;
			}
			pthread_setname_np(b->thread[t], name);
			ret = pthread_setaffinity_np(b->thread[t], sizeof(a->host_cpus), &a->host_cpus);
			if (ret) {
				wisp_err("--disk: queue_affinity: queue %u: %s (no host CPU of its list is "
					 "online and allowed to wisp)", a->index, strerror(ret));
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

static int blk_create(struct vm *vm, const void *config)
{
	const struct blk_config *c = config;
	struct blk *b;
	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH);
	char name[32];
	struct virtio_dev_info info = {
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.pci_class = PCI_CLASS_STORAGE_OTHER,
		.ops = &blk_ops,
		.id = c->id,
	};

	/* lives as long as the VM; the CLI bounds how many there are */
	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	ndisks++;
	b->conf = c;
	b->nthreads = IO_THREADS;
	if (IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY))
		b->nthreads += (unsigned)c->nqueue_affinity * QUEUE_IO_THREADS;
	b->fd = open(c->path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
			       (c->direct ? O_DIRECT : 0));
	if (IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT) && b->fd < 0 && c->direct) {
		wisp_err("--disk: direct=on: cannot open '%s' with O_DIRECT: %s%s", c->path,
			 strerror(errno), errno == EINVAL ? " (its file system does not take it)" : "");
		return EXIT_USAGE;
	}
	if (b->fd < 0 || disk_size(b->fd, &b->size)) {
		wisp_err("--disk: cannot open '%s': %s", c->path, strerror(errno));
		return -1;
	}
	if (!b->size) {
		wisp_err("--disk: '%s' is empty (smaller than one 512-byte sector)", c->path);
		return -1;
	}
	if (lock_image(b->fd, c->readonly, c->lock_byte_range ? (off_t)b->size : 0)) {
		wisp_err("--disk: '%s' is in use by another process (%s lock refused)", c->path,
			 c->readonly ? "shared" : "exclusive");
		return -1;
	}
#if IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT)
	if (c->direct) {
		int ret = blk_direct_open(b);

		if (ret)
			return ret;
	}
#endif
	/* exactly 20 bytes, NUL-padded but not NUL-terminated when full */
	if (c->serial)
		memcpy(b->id, c->serial, strlen(c->serial));
	if (make_lanes(b))
		return -1;
	pthread_mutex_init(&b->qlock, NULL);
	pthread_cond_init(&b->idle, NULL);

	b->cfg.capacity = b->size >> SECTOR_SHIFT;
	b->cfg.seg_max = SEG_MAX;
	b->cfg.blk_size = 512;
	b->cfg.num_queues = (uint16_t)c->num_queues;
	if (c->num_queues > 1)
		features |= 1ULL << VIRTIO_BLK_F_MQ;
	if (c->readonly) {
		features |= 1ULL << VIRTIO_BLK_F_RO;
	} else if (c->sparse) {
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
		b->cfg.max_discard_sectors = MAX_DISCARD_SECTORS;
		b->cfg.max_discard_seg = MAX_DISCARD_SEG;
		b->cfg.discard_sector_alignment = 8;
		b->cfg.max_write_zeroes_sectors = MAX_DISCARD_SECTORS;
		b->cfg.max_write_zeroes_seg = MAX_DISCARD_SEG;
		b->cfg.write_zeroes_may_unmap = 1;
	}
	if (c->id)
		snprintf(name, sizeof(name), "%s", c->id);
	else
		snprintf(name, sizeof(name), "virtio-blk%u", ndisks - 1);
	info.nqueues = (unsigned)c->num_queues;
	info.queue_size = (uint16_t)c->queue_size;
	info.features = features;
	info.config = &b->cfg;
	info.config_len = sizeof(b->cfg);
	info.priv = b;
	virtio_pci_place(&info, c->pci_segment, c->pci_slot);
	info.iommu = c->iommu;
	snapshot_instance(&b->vdev);
	if (virtio_pci_create(vm, &b->vdev, &info))
		return -1;
	b->vdev.name = strdup(name);
	counters_register("_disk", blk_counter_names, b->stats, SC_COUNT(blk_counter_names));
	if (c->rate_limit_group) {
		int ret = throttle_init_group(&b->throttle, vm, &b->vdev, c->rate_limit_group);

		if (ret)
			return ret;
	} else if (throttle_init(&b->throttle, vm, &b->vdev, &c->limits, c->limited)) {
		return -1;
	}
	io_thread_kind = seccomp_kind("virtio-blk I/O");
	if (!io_thread_kind ||
	    seccomp_allow(io_thread_kind, io_thread_seccomp, SC_COUNT(io_thread_seccomp)))
		return -1;
	for (unsigned i = 0; i < IO_THREADS; i++) {
		/* under their own filter from their first instruction */
		if (seccomp_thread_create(&b->thread[i], io_thread_kind, io_thread, &b->lane[0])) {
			wisp_err("--disk: cannot start an I/O thread");
			return -1;
		}
	}
	return IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) ? start_pinned_threads(b) : 0;
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "disks" */
static void blk_info(const void *config, struct json *j)
{
	const struct blk_config *c = config;

	json_string(j, "path", c->path);
	json_bool(j, "readonly", c->readonly);
	json_bool(j, "iommu", c->iommu);
	json_u64(j, "num_queues", c->num_queues);
	json_u64(j, "queue_size", c->queue_size);
	json_bool(j, "vhost_user", false);
	json_bool(j, "sparse", c->sparse);
	json_bool(j, "direct", c->direct);
	json_u64(j, "pci_segment", c->pci_segment);
	if (c->serial)
		json_string(j, "serial", c->serial);
	if (c->rate_limit_group)
		json_string(j, "rate_limit_group", c->rate_limit_group);
	if (IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) && c->nqueue_affinity) {
		/* cloud-hypervisor's VirtQueueAffinity list */
		json_array_begin(j, "queue_affinity");
		for (size_t i = 0; i < c->nqueue_affinity; i++) {
			json_object_begin(j, NULL);
			json_u64(j, "queue_index", c->queue_affinity[i].index);
			json_array_begin(j, "host_cpus");
			for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
				if (CPU_ISSET(cpu, &c->queue_affinity[i].host_cpus))
					json_u64(j, NULL, (uint64_t)cpu);
			json_array_end(j);
			json_object_end(j);
		}
		json_array_end(j);
	}
}
#endif

#if IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY)
#define QUEUE_AFFINITY_USAGE "[,queue_affinity=[QUEUE@[CPUS],...]]"
#else
#define QUEUE_AFFINITY_USAGE ""
#endif

DEVICE_REGISTER(virtio_blk) = {
	.name = "virtio-blk",
	.summary = "virtio block device backed by a raw image",
	.option = "disk",
	.usage = "path=FILE[,readonly=on][,direct=on][,num_queues=N][,queue_size=N][,serial=ID][,id=ID][,iommu=on]"
		 QUEUE_AFFINITY_USAGE
		 "[,image_type=raw][,sparse=off][,lock_granularity=full|byte-range]"
		 THROTTLE_USAGE "[,rate_limit_group=ID]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct blk_config),
	.parse = blk_parse,
	.create = blk_create,
	.snapshot = SNAPSHOT_OPS(&blk_snapshot_ops),
	DEVICE_INFO("disks", true, blk_info)
};
