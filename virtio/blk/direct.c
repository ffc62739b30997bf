// SPDX-License-Identifier: MIT
/*
 * virtio-blk direct=on: the image is opened with O_DIRECT (device.c),
 * so the guest's I/O bypasses the host's page cache, as under
 * cloud-hypervisor.  O_DIRECT wants the file offset, the length and the
 * memory of each transfer aligned.  Offsets and lengths are whole
 * 512-byte sectors already (request.c refuses others); an image that
 * needs more than 512 is refused at start-up.  Memory is the guest's:
 * Linux's buffers are normally aligned, and a request whose segments
 * are not goes through the I/O thread's own aligned buffer, a piece at
 * a time, instead of failing.
 */
#include "virtio/blk/blk.h"

#include <stdint.h>
#include <sys/syscall.h>

#ifndef STATX_DIOALIGN		/* glibc (the unit tests) has it; musl 1.2.3 not */
#define STATX_DIOALIGN 0x2000u
#endif

/* The kernel's struct statx (linux/stat.h, which cannot be
 * included beside the C library's sys/stat.h), up to the two direct
 * I/O fields of Linux 6.1; the rest is room the kernel may fill. */
struct wisp_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	uint8_t timestamps[4 * 16];
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint32_t dio_mem_align, dio_offset_align;
	uint8_t rest[96];
};

/* What O_DIRECT on fd wants: the block device's logical block size, or
 * what the file system reports (statx, Linux 6.1), else a page for the
 * memory and a sector for the offset, which any file system that takes
 * O_DIRECT accepts. */
static void dio_alignment(int fd, const struct stat *st, size_t *mem, size_t *off)
{
	struct wisp_statx sx = { 0 };
	int lbs;

	*mem = 4096;
	*off = 512;
	if (S_ISBLK(st->st_mode)) {
		if (!ioctl(fd, BLKSSZGET, &lbs) && lbs > 0)
			*mem = *off = (size_t)lbs;
		return;
	}
	if (!syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
	    (sx.mask & STATX_DIOALIGN) && sx.dio_offset_align) {
		*mem = sx.dio_mem_align ? sx.dio_mem_align : 1;
		*off = sx.dio_offset_align;
	}
}

int blk_direct_open(struct blk *b)
{
	const char *path = b->conf->path;
	struct stat st;
	size_t off_align;

	if (fstat(b->fd, &st)) {
		wisp_err("--disk: cannot stat '%s': %s", path, strerror(errno));
		return -1;
	}
	dio_alignment(b->fd, &st, &b->dio_mem_align, &off_align);
	if (off_align > 512 || (b->dio_mem_align & (b->dio_mem_align - 1))) {
		wisp_err("--disk: direct=on: '%s' needs I/O aligned to %zu bytes, more than the "
			 "guest's 512-byte sectors", path, off_align);
		return EXIT_USAGE;
	}
	for (unsigned i = 0; i < b->nthreads; i++) {
		b->bounce[i] = aligned_alloc(4096, BLK_BOUNCE_BYTES);
		if (!b->bounce[i]) {
			wisp_err("--disk: direct=on: out of memory");
			return -1;
		}
	}
	return 0;
}

/* Each segment's memory on the alignment, each length whole sectors (as
 * the kernel checks a direct transfer's segments). */
bool blk_direct_aligned(const struct blk *b, const struct iovec *iov, unsigned n)
{
	uintptr_t addr = 0;
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		addr |= (uintptr_t)iov[i].iov_base;
		len |= iov[i].iov_len;
	}
	return !(addr & (b->dio_mem_align - 1)) && !(len & 511);
}

/* One whole transfer between the bounce buffer and the image. */
static int transfer(int fd, bool is_read, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { buf, len };

	while (v.iov_len) {
		ssize_t r = is_read ? preadv(fd, &v, 1, (off_t)off) : pwritev(fd, &v, 1, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		v.iov_base = (uint8_t *)v.iov_base + r;
		v.iov_len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

#ifdef WISP_UNIT_TEST
unsigned blk_direct_bounces;
#endif

int blk_direct_bounced(struct blk *b, const struct virtq_chain *c, bool is_read,
		       uint64_t off, uint64_t len, void *bounce)
{
	/* a write's data follows the header in the readable part; a
	 * read's goes to the start of the writable part */
	const size_t data = is_read ? 0 : sizeof(struct blk_outhdr);

#ifdef WISP_UNIT_TEST
	__atomic_add_fetch(&blk_direct_bounces, 1, __ATOMIC_RELAXED);
#endif
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < BLK_BOUNCE_BYTES ? (size_t)(len - done) : BLK_BOUNCE_BYTES;

		if (!is_read && virtq_chain_read(c, data + done, bounce, n) != n)
			return -1;
		if (transfer(b->fd, is_read, bounce, n, off + done))
			return -1;
		if (is_read && virtq_chain_write(c, done, bounce, n) != n)
			return -1;
		done += n;
	}
	return 0;
}
