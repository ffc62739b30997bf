// SPDX-License-Identifier: MIT
/* virtio-iommu's request queue: attach, detach, map, unmap, probe. */
#include "virtio/iommu/iommu.h"

/* ---------------------------------------------------------- requests */

/* Moves e out of its domain; the domain goes when it was the last.
 * Write lock held.  Whether any translation went away. */
bool detach(struct endpoint *e)
{
	struct domain *d = e->domain;

	if (!d)
		return false;
	/* a mirror holds only this domain's mappings: all of them go */
	if (e->mirrored && d->n)
		mirror_unmap_one(e, d->map[0].start, d->map[d->n - 1].end);
	e->domain = NULL;
	if (!--d->nendpoints)
		domain_destroy(d);
	return true;
}

static uint8_t do_attach(struct viommu *v, const struct req_attach *r, bool *revoked)
{
	uint32_t dom = le32toh(r->domain);
	struct endpoint *e;
	struct domain *d;

	for (size_t i = 0; i < sizeof(r->reserved); i++)
		if (r->reserved[i])
			return S_INVAL;
	/* ATTACH_F_BYPASS needs F_BYPASS_CONFIG, which is not offered */
	if (le32toh(r->flags))
		return S_INVAL;
	if (dom < v->cfg.domain_start || dom > v->cfg.domain_end)
		return S_RANGE;
	e = endpoint_find(v, le32toh(r->endpoint));
	if (!e)
		return S_NOENT;
	if (e->domain && e->domain->id == dom)
		return S_OK;
	*revoked = detach(e);
	d = domain_find(v, dom);
	if (!d) {
		/* a free slot exists: live domains <= endpoints, and e left its own */
		for (unsigned i = 0; i < IOMMU_MAX_ENDPOINTS && !d; i++)
			if (!v->domain[i].live)
				d = &v->domain[i];
		if (!d)
			return S_NOMEM;
		d->live = true;
		d->id = dom;
	}
	d->nendpoints++;
	e->domain = d;
	if (e->mirrored) {
		uint8_t status = mirror_replay(e, d);

		/* what did get mapped goes again; e stays detached */
		if (status != S_OK) {
			*revoked |= detach(e);
			return status;
		}
	}
	return S_OK;
}

static uint8_t do_detach(struct viommu *v, const struct req_detach *r, bool *revoked)
{
	struct endpoint *e;
	struct domain *d;

	for (size_t i = 0; i < sizeof(r->reserved); i++)
		if (r->reserved[i])
			return S_INVAL;
	d = domain_find(v, le32toh(r->domain));
	e = endpoint_find(v, le32toh(r->endpoint));
	if (!d || !e)
		return S_NOENT;
	if (e->domain != d)
		return S_INVAL;
	*revoked = detach(e);
	return S_OK;
}

static uint8_t do_map(struct viommu *v, const struct req_map *r)
{
	struct mapping m = {
		.start = le64toh(r->virt_start),
		.end = le64toh(r->virt_end),
		.gpa = le64toh(r->phys_start),
		.flags = le32toh(r->flags),
	};
	struct domain *d = domain_find(v, le32toh(r->domain));
	uint64_t granule = le64toh(v->cfg.page_size_mask) & -le64toh(v->cfg.page_size_mask);
	uint8_t status;
	bool removed;

	if (!d)
		return S_NOENT;
	/* MMIO mappings need F_MMIO, not offered */
	if (m.flags & ~(uint32_t)(MAP_F_READ | MAP_F_WRITE))
		return S_INVAL;
	if (m.end < m.start || m.gpa + (m.end - m.start) < m.gpa)
		return S_INVAL;
	if (m.start < le64toh(v->cfg.input_start) || m.end > le64toh(v->cfg.input_end))
		return S_RANGE;
	if ((m.start | m.gpa | (m.end + 1)) & (granule - 1))
		return S_RANGE;
	status = domain_map(d, &m);
	if (status == S_OK) {
		status = mirrors_map(v, d, &m);
		if (status != S_OK)
			domain_unmap(d, m.start, m.end, &removed);
	}
	return status;
}

static uint8_t do_unmap(struct viommu *v, const struct req_unmap *r, bool *revoked)
{
	uint64_t start = le64toh(r->virt_start), end = le64toh(r->virt_end);
	struct domain *d = domain_find(v, le32toh(r->domain));
	uint8_t status;

	if (!d)
		return S_NOENT;
	if (end < start)
		return S_INVAL;
	status = domain_unmap(d, start, end, revoked);
	if (status == S_OK && *revoked)
		status = mirrors_unmap(v, d, start, end);
	return status;
}

/* PROBE: the endpoint's properties, into the buffer of `room` bytes the
 * driver gave (at least probe_size), the rest zero. */
static uint8_t do_probe(struct viommu *v, const struct req_probe *r, uint8_t *props,
			size_t room)
{
	struct probe_resv_mem msi = {
		.type = htole16(PROBE_T_RESV_MEM),
		.length = htole16(sizeof(msi) - 4),
		.subtype = RESV_MEM_T_MSI,
		.start = htole64(MSI_START),
		.end = htole64(MSI_END),
	};
	const struct endpoint *e;
	size_t at = sizeof(msi);

	for (size_t i = 0; i < sizeof(r->reserved); i++)
		if (r->reserved[i])
			return S_INVAL;
	e = endpoint_find(v, le32toh(r->endpoint));
	if (!e)
		return S_NOENT;
	if (room < v->cfg.probe_size)
		return S_INVAL;
	memset(props, 0, room);
	memcpy(props, &msi, sizeof(msi));
	/* a mirror's holes (its host IOMMU cannot map there), but for the
	 * MSI window, said already; probe_size has room for them all */
	for (unsigned i = 0; e->mirrored && i < e->mirror.nholes && i < IOMMU_MIRROR_HOLES; i++) {
		struct probe_resv_mem hole = msi;

		if (e->mirror.hole[i].start >= MSI_START && e->mirror.hole[i].last <= MSI_END)
			continue;
		if (at + sizeof(hole) > room)
			break;
		hole.subtype = RESV_MEM_T_RESERVED;
		hole.start = htole64(e->mirror.hole[i].start);
		hole.end = htole64(e->mirror.hole[i].last);
		memcpy(props + at, &hole, sizeof(hole));
		at += sizeof(hole);
	}
	return S_OK;
}

/* Largest request: head + PROBE body. */
#define REQ_MAX (HEAD_SIZE + sizeof(struct req_probe))

/*
 * One request chain: the head and body in its readable part, the tail
 * (and for PROBE the property buffer before it) in its writable part.
 * Returns the bytes written, or -1 when there is no room even for the
 * tail (the queue breaks).  Device lock held.
 */
int handle_request(struct viommu *v, const struct virtq_chain *c)
{
	uint8_t req[REQ_MAX] = { 0 }, tail[TAIL_SIZE] = { 0 };
	uint8_t props[PROBE_SIZE];
	size_t body, need, reply_len;
	size_t got = virtq_chain_read(c, 0, req, sizeof(req));
	size_t room;
	bool revoked = false;
	uint8_t status;

	if (c->in_len < TAIL_SIZE)
		return -1;
	switch (got >= HEAD_SIZE ? req[0] : 0) {
	case T_ATTACH: need = sizeof(struct req_attach); break;
	case T_DETACH: need = sizeof(struct req_detach); break;
	case T_MAP: need = sizeof(struct req_map); break;
	case T_UNMAP: need = sizeof(struct req_unmap); break;
	case T_PROBE: need = sizeof(struct req_probe); break;
	default: need = 0; break;
	}
	/* The reply ends where the request's layout does (the properties
	 * then the tail for PROBE, the tail alone otherwise): in a larger
	 * writable part the rest is left alone, so used.len counts only
	 * bytes written and always fits in an int. */
	reply_len = TAIL_SIZE + (got >= HEAD_SIZE && req[0] == T_PROBE ? sizeof(props) : 0);
	if (reply_len > c->in_len)
		reply_len = c->in_len;
	room = reply_len - TAIL_SIZE;
	body = got >= HEAD_SIZE ? got - HEAD_SIZE : 0;
	if (got < HEAD_SIZE) {
		status = S_INVAL;
	} else if (!need) {
		status = S_UNSUPP;
	} else if (body < need) {
		status = S_INVAL;
	} else if (req[0] == T_PROBE) {
		if (room > sizeof(props))
			room = sizeof(props);
		status = do_probe(v, (const void *)(req + HEAD_SIZE), props, room);
		if (status == S_OK)
			virtq_chain_write(c, 0, props, room);
	} else {
		pthread_rwlock_wrlock(&v->lock);
		switch (req[0]) {
		case T_ATTACH: status = do_attach(v, (const void *)(req + HEAD_SIZE), &revoked); break;
		case T_DETACH: status = do_detach(v, (const void *)(req + HEAD_SIZE), &revoked); break;
		case T_MAP: status = do_map(v, (const void *)(req + HEAD_SIZE)); break;
		default: status = do_unmap(v, (const void *)(req + HEAD_SIZE), &revoked); break;
		}
		if (revoked)
			revoke(v);
		pthread_rwlock_unlock(&v->lock);
		/* the driver may reuse the memory once it sees the reply */
		if (revoked)
			hold_sync(&v->holds);
	}
	tail[0] = status;
	virtq_chain_write(c, reply_len - TAIL_SIZE, tail, TAIL_SIZE);
	return (int)reply_len;
}
