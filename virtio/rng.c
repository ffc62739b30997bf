// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio spec 5.4): one request queue of device-writable
 * buffers, filled from a host entropy source (--rng src=PATH, by default
 * /dev/urandom, which never blocks).  Present whenever it is built in.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/device.h"
#include "core/json.h"
#include "core/file.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

#define RNG_QUEUE_SIZE 256
#define PCI_CLASS_OTHER 0xff0000
/* Entropy handed out per request at most, so one greedy request does
 * not hold the event loop. */
#define RNG_MAX_REQUEST (64 * 1024)

struct rng_config {
	const char *src;
	bool iommu;
	uint64_t pci_segment;
	uint8_t pci_slot;	/* pci_device_id=, 0: any */
};

struct rng {
	struct virtio_dev vdev;
	int fd;
};

static struct rng rng_state;

/* The entropy source, opened without blocking (a FIFO would block a
 * plain open) and of a kind that gives bytes: a character device such
 * as /dev/urandom, or a regular file.  A directory, FIFO, socket or block
 * device is refused: the guest would get empty buffers forever, or wisp
 * would block.  The fd, or -1 with err set. */
static int open_source(const char *src, struct cli_error *err)
{
	struct stat st;
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		cli_errorf(err, "cannot open 'src=%s': %s", src, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !(S_ISCHR(st.st_mode) || S_ISREG(st.st_mode))) {
		cli_errorf(err, "'src=%s' is %s, not a character device or a file", src,
			   file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

/* An entropy source must be readable; checked here so a bad path is
 * reported like any other bad input, before the VM exists. */
static int rng_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct rng_config *c = config;
	int fd;

	/* (without the virtio-iommu, iommu= is an unknown key here; and
	 * pci_segment= without CONFIG_CLI_UNBUILT_KEYS) */
	if (kv_str(args, "src", &c->src, err) < 0 ||
	    (IS_ENABLED(CONFIG_VIRTIO_IOMMU) && virtio_parse_iommu(args, &c->iommu, err) < 0) ||
	    (IS_ENABLED(CONFIG_CLI_UNBUILT_KEYS) && virtio_parse_pci(args, &c->pci_segment, &c->pci_slot, err) < 0))
		return -1;
	if (!c->src)
		c->src = "/dev/urandom";
	fd = open_source(c->src, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct rng *r = d->priv;
	struct virtio_queue *vq = &d->queue[q];
	struct virtq_chain c;
	int got;

	while ((got = virtq_pop(&vq->vq, &c)) > 0) {
		struct iovec iov[VIRTQ_MAX_SEGS];
		size_t left = RNG_MAX_REQUEST;
		unsigned n = 0;
		ssize_t len;

		/* only the device-writable part is for us, capped */
		for (; n < c.nin && left; n++) {
			iov[n] = c.in[n];
			if (iov[n].iov_len > left)
				iov[n].iov_len = left;
			left -= iov[n].iov_len;
		}
		len = n ? readv(r->fd, iov, (int)n) : 0;
		if (len < 0)
			len = 0;	/* an empty answer; the driver asks again */
		virtq_push(&vq->vq, &c, (uint32_t)len);
	}
	if (got < 0)
		virtio_needs_reset(d, "malformed request queue");
	virtio_queue_interrupt(d, q);
}

static const struct virtio_ops rng_ops = {
	.queue_notify = rng_notify,
};

/* the event loop: the entropy source, read straight into the guest's
 * buffers */
static const struct seccomp_rule rng_seccomp[] = {
	SC_ALLOW(SYS_readv),
};

static int rng_create(struct vm *vm, const void *config)
{
	const struct rng_config *c = config;
	struct rng *r = &rng_state;
	struct virtio_dev_info info = {
		.name = "virtio-rng",
		.device_id = VIRTIO_ID_RNG,
		.pci_class = PCI_CLASS_OTHER,
		.nqueues = 1,
		.queue_size = RNG_QUEUE_SIZE,
		.ops = &rng_ops,
		.priv = r,
	};

	struct cli_error err;

	/* again, as it was checked: the path may have changed since */
	r->fd = open_source(c->src, &err);
	if (r->fd < 0) {
		wisp_err("--rng: %s", err.msg);
		return -1;
	}
	if (seccomp_allow(SECCOMP_MAIN, rng_seccomp, SC_COUNT(rng_seccomp)))
		return -1;
	/* each chain is popped, filled and pushed in one call of
	 * rng_notify, so DMA behind the IOMMU needs no hold (virtqueue.h) */
	info.iommu = c->iommu;
	virtio_pci_place(&info, c->pci_segment, c->pci_slot);
	snapshot_instance(&r->vdev);
	return virtio_pci_create(vm, &r->vdev, &info);
}

#if IS_ENABLED(CONFIG_API)
/* vm.info: cloud-hypervisor's "rng" */
static void rng_info(const void *config, struct json *j)
{
	const struct rng_config *c = config;

	json_string(j, "src", c->src);
	json_bool(j, "iommu", c->iommu);
	json_u64(j, "pci_segment", c->pci_segment);
}
#endif

DEVICE_REGISTER(virtio_rng) = {
	.name = "virtio-rng",
	.summary = "virtio entropy device (/dev/hwrng in the guest)",
	.option = "rng",
	.usage = "src=PATH[,iommu=on][,pci_segment=N][,pci_device_id=N]",
	.default_args = "src=/dev/urandom",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct rng_config),
	.parse = rng_parse,
	.create = rng_create,
	.snapshot = SNAPSHOT_OPS(&virtio_snapshot_ops),
	DEVICE_INFO("rng", false, rng_info)
};
