/* SPDX-License-Identifier: MIT */
/*
 * wisp-fsd's side of vhost-user: guest memory as the front end hands it
 * over (SET_MEM_TABLE), and split virtqueues read from it.  Every
 * address and index the guest (or the front end) supplies is checked
 * before use; a broken queue is stopped, never followed.
 */
#ifndef WISP_FSD_VRING_H
#define WISP_FSD_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define FSD_MAX_REGIONS 8
#define FSD_MAX_QUEUES 16
#define FSD_MAX_SEGS 260	/* descriptors per chain we accept */

struct fsd_region {
	uint64_t gpa, size, qva;	/* guest-physical, front-end virtual */
	uint8_t *host;
	size_t map_len;
	uint8_t *map;
};

struct fsd_mem {
	unsigned n;
	struct fsd_region r[FSD_MAX_REGIONS];
};

void *mem_gpa(const struct fsd_mem *m, uint64_t gpa, uint64_t len);
void *mem_qva(const struct fsd_mem *m, uint64_t qva, uint64_t len);
void mem_unmap(struct fsd_mem *m);

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct fsd_vring {
	unsigned num;
	uint64_t desc_qva, avail_qva, used_qva;
	struct vring_desc *desc;
	uint16_t *avail;	/* flags, idx, ring[num] */
	uint8_t *used;		/* flags, idx, {id, len}[num] */
	uint16_t last_avail;
	int kick, call, err;
	bool enabled, started, broken;
};

/* One request: device-readable and device-writable segments. */
struct fsd_chain {
	uint16_t head;
	unsigned nin, nout;	/* readable (to us), writable (from us) */
	struct iovec in[FSD_MAX_SEGS];
	struct iovec out[FSD_MAX_SEGS];
	size_t in_len, out_len;
};

/* Maps the rings (their addresses are front-end virtual); -1 if any
 * part is outside guest memory. */
int vring_map(struct fsd_vring *q, const struct fsd_mem *m);
/* 1 and a chain, 0 when nothing is pending, -1 when the ring is broken. */
int vring_pop(struct fsd_vring *q, const struct fsd_mem *m, struct fsd_chain *c);
void vring_push(struct fsd_vring *q, uint16_t head, uint32_t len);

#endif
