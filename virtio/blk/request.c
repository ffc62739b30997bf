// SPDX-License-Identifier: MIT
/*
 * virtio-blk: one request run against the image, on an I/O thread.
 * Every request is checked against the disk's size before any I/O; a
 * write to a read-only disk fails with IOERR and leaves the file
 * untouched; FLUSH reaches stable storage (fdatasync).
 */
#include "virtio/blk/blk.h"

/* The data part of a request: its device-writable segments without the
 * trailing status byte. */
static unsigned data_iov(const struct virtq_chain *c, struct iovec *iov, uint64_t *len)
{
	unsigned n = c->nin;

	memcpy(iov, c->in, n * sizeof(*iov));
	/* the status byte is the last byte of the last segment */
	iov[n - 1].iov_len--;
	if (!iov[n - 1].iov_len)
		n--;
	*len = c->in_len - 1;
	return n;
}

static bool in_range(const struct blk *b, uint64_t sector, uint64_t len)
{
	uint64_t off;

	if (sector > (UINT64_MAX >> SECTOR_SHIFT))
		return false;
	off = sector << SECTOR_SHIFT;
	return off <= b->size && len <= b->size - off;
}

/* direct=on (direct.c): segments O_DIRECT would refuse go through the
 * I/O thread's aligned buffer; so does a request the kernel refused
 * (EINVAL) although they looked right.  1 when it handled the request,
 * with *status; 0 when the segments can go straight. */
static int rw_bounced(struct blk *b, const struct virtq_chain *c, bool is_read, uint64_t off,
		      uint64_t len, const struct iovec *iov, unsigned n, void *bounce,
		      bool refused, uint8_t *status)
{
#if IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT)
	if (!bounce || (!refused && blk_direct_aligned(b, iov, n)))
		return 0;
	*status = blk_direct_bounced(b, c, is_read, off, len, bounce) ? VIRTIO_BLK_S_IOERR
									 : VIRTIO_BLK_S_OK;
	return 1;
#else
	(void)b, (void)c, (void)is_read, (void)off, (void)len, (void)iov, (void)n;
	(void)bounce, (void)refused, (void)status;
	return 0;
#endif
}

static uint8_t do_rw(struct blk *b, const struct virtq_chain *c,
		     const struct blk_outhdr *h, uint32_t *written, void *bounce)
{
	uint8_t status = VIRTIO_BLK_S_OK;
	struct iovec iov[VIRTQ_MAX_SEGS];
	uint64_t len, off = h->sector << SECTOR_SHIFT, done = 0;
	unsigned n;
	bool is_read = h->type == VIRTIO_BLK_T_IN;

	if (is_read) {
		n = data_iov(c, iov, &len);
	} else {
		if (b->conf->readonly)
			return VIRTIO_BLK_S_IOERR;
		/* the data follows the header in the readable part */
		n = 0;
		len = c->out_len - sizeof(*h);
		for (unsigned i = 0, skip = sizeof(*h); i < c->nout; i++) {
			struct iovec v = c->out[i];

			if (skip >= v.iov_len) {
				skip -= (unsigned)v.iov_len;
				continue;
			}
			v.iov_base = (uint8_t *)v.iov_base + skip;
			v.iov_len -= skip;
			skip = 0;
			iov[n++] = v;
		}
	}
	if (len & ((1u << SECTOR_SHIFT) - 1) || !in_range(b, h->sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (rw_bounced(b, c, is_read, off, len, iov, n, bounce, false, &status))
		goto done;
	while (done < len) {
		ssize_t r = is_read ? preadv(b->fd, iov, (int)n, (off_t)(off + done))
				    : pwritev(b->fd, iov, (int)n, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL && !done &&
		    rw_bounced(b, c, is_read, off, len, iov, n, bounce, true, &status))
			goto done;
		if (r <= 0)
			return VIRTIO_BLK_S_IOERR;
		done += (uint64_t)r;
		/* a short transfer: advance the vector past what was done */
		while (n && (uint64_t)r >= iov[0].iov_len) {
			r -= (ssize_t)iov[0].iov_len;
			memmove(iov, iov + 1, --n * sizeof(*iov));
		}
		if (n && r) {
			iov[0].iov_base = (uint8_t *)iov[0].iov_base + r;
			iov[0].iov_len -= (size_t)r;
		}
	}
done:
	if (status != VIRTIO_BLK_S_OK)
		return status;
	if (is_read)
		*written = (uint32_t)len;
	counter_add(&b->stats[is_read ? 0 : 2], len);
	counter_add(&b->stats[is_read ? 1 : 3], 1);
	return VIRTIO_BLK_S_OK;
}

/*
 * WRITE_ZEROES where the file system cannot zero a range in place (tmpfs
 * has no FALLOC_FL_ZERO_RANGE): plain writes of zeros, 64 KiB at a time.
 * The device offered the request type, so refusing it (UNSUPP) is no
 * answer; a disk image in /tmp is common.
 */
static int write_zeros(int fd, off_t off, off_t len)
{
	/* not const: in .bss it costs the binary nothing, in .rodata 64 KiB;
	 * page-aligned for direct=on's O_DIRECT */
	static char zeros[64 * 1024] __attribute__((aligned(4096)));

	while (len > 0) {
		struct iovec iov = {
			.iov_base = zeros,
			.iov_len = len < (off_t)sizeof(zeros) ? (size_t)len : sizeof(zeros),
		};
		ssize_t n = pwritev(fd, &iov, 1, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

/* DISCARD and WRITE_ZEROES: one range (max_*_seg is 1). */
static uint8_t do_ranges(struct blk *b, const struct virtq_chain *c, uint32_t type)
{
	struct blk_discard r;
	int mode;

	if (b->conf->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (c->out_len != sizeof(struct blk_outhdr) + sizeof(r) ||
	    virtq_chain_read(c, sizeof(struct blk_outhdr), &r, sizeof(r)) != sizeof(r))
		return VIRTIO_BLK_S_UNSUPP;
	/* 5.2.6.2: unmap is for WRITE_ZEROES only; unknown flags are refused */
	if ((r.flags & ~DISCARD_FLAGS_KNOWN) ||
	    (type == VIRTIO_BLK_T_DISCARD && (r.flags & DISCARD_FLAG_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (r.num_sectors > MAX_DISCARD_SECTORS ||
	    !in_range(b, r.sector, (uint64_t)r.num_sectors << SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (type == VIRTIO_BLK_T_DISCARD)
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else if (r.flags & DISCARD_FLAG_UNMAP)
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (!fallocate(b->fd, mode, (off_t)(r.sector << SECTOR_SHIFT),
		       (off_t)r.num_sectors << SECTOR_SHIFT))
		return VIRTIO_BLK_S_OK;
	if (errno == EOPNOTSUPP && (mode & FALLOC_FL_ZERO_RANGE))
		return write_zeros(b->fd, (off_t)(r.sector << SECTOR_SHIFT),
				   (off_t)r.num_sectors << SECTOR_SHIFT) ? VIRTIO_BLK_S_IOERR
									 : VIRTIO_BLK_S_OK;
	return errno == EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/* Runs one request (I/O thread); returns the status, *written the bytes
 * placed in the driver's buffers before the status byte. */
uint8_t blk_execute(struct blk *b, const struct virtq_chain *c, uint32_t *written, void *bounce)
{
	struct blk_outhdr h;

	*written = 0;
	if (virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_BLK_S_UNSUPP;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return do_rw(b, c, &h, written, bounce);
	case VIRTIO_BLK_T_FLUSH:
		if (b->conf->readonly)
			return VIRTIO_BLK_S_OK;
		return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		/* up to 20 bytes, in the writable part before the status */
		size_t room = c->in_len - 1;

		*written = (uint32_t)virtq_chain_write(c, 0, b->id, room < VIRTIO_BLK_ID_BYTES ?
						       room : VIRTIO_BLK_ID_BYTES);
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return do_ranges(b, c, h.type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

uint64_t blk_request_bytes(const struct virtq_chain *c)
{
	struct blk_outhdr h;

	if (virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return 0;
	if (h.type == VIRTIO_BLK_T_IN)
		return c->in_len - 1;
	if (h.type == VIRTIO_BLK_T_OUT)
		return c->out_len - sizeof(h);
	return 0;
}
