// SPDX-License-Identifier: MIT
/*
 * The snapshot state file's format and the device registry
 * (core/snapshot.h).  Sections are laid out as
 *
 *	u32 tag, u16 name length (with its NUL), name, u64 length, payload
 *
 * all little-endian as the host is: a state file is only ever read by
 * the arch that wrote it (the header says which).
 */
#include "core/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/device.h"
#include "core/log.h"

/* ---------------------------------------------------------- writer */

void snap_put(struct snap_writer *w, const void *p, size_t n)
{
	if (w->failed || !n)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *d;

		while (cap < w->len + n)
			cap *= 2;
		d = realloc(w->data, cap);
		if (!d) {
			w->failed = true;
			return;
		}
		w->data = d;
		w->cap = cap;
	}
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

void snap_u8(struct snap_writer *w, uint8_t v)
{
	snap_put(w, &v, sizeof(v));
}

void snap_u16(struct snap_writer *w, uint16_t v)
{
	snap_put(w, &v, sizeof(v));
}

void snap_u32(struct snap_writer *w, uint32_t v)
{
	snap_put(w, &v, sizeof(v));
}

void snap_u64(struct snap_writer *w, uint64_t v)
{
	snap_put(w, &v, sizeof(v));
}

void snap_blob(struct snap_writer *w, const void *p, uint32_t n)
{
	snap_u32(w, n);
	snap_put(w, p, n);
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->data);
	*w = (struct snap_writer){ 0 };
}

/* ---------------------------------------------------------- reader */

void snap_get(struct snap_reader *r, void *p, size_t n)
{
	/* an empty blob (a device without config space) may have no
	 * buffer: memcpy() and memset() must not see its NULL */
	if (!n)
		return;
	if (r->failed || n > r->len - r->pos) {
		r->failed = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->data + r->pos, n);
	r->pos += n;
}

uint8_t snap_get_u8(struct snap_reader *r)
{
	uint8_t v;

	snap_get(r, &v, sizeof(v));
	return v;
}

uint16_t snap_get_u16(struct snap_reader *r)
{
	uint16_t v;

	snap_get(r, &v, sizeof(v));
	return v;
}

uint32_t snap_get_u32(struct snap_reader *r)
{
	uint32_t v;

	snap_get(r, &v, sizeof(v));
	return v;
}

uint64_t snap_get_u64(struct snap_reader *r)
{
	uint64_t v;

	snap_get(r, &v, sizeof(v));
	return v;
}

void snap_get_blob(struct snap_reader *r, void *p, uint32_t n)
{
	if (snap_get_u32(r) != n)
		r->failed = true;
	snap_get(r, p, n);
}

bool snap_get_bool(struct snap_reader *r)
{
	uint8_t v = snap_get_u8(r);

	if (v > 1)
		r->failed = true;
	return v == 1;
}

int snap_done(const struct snap_reader *r)
{
	return r->failed || r->pos != r->len ? -1 : 0;
}

/* --------------------------------------------------------- registry */

const struct snapshot_ops snapshot_stateless = { 0 };

static struct snapshot_instance instances[SNAPSHOT_MAX_INSTANCES];
static size_t ninstances;
static bool registered;		/* the device being created called in */

void snapshot_device_begin(const struct device_desc *desc)
{
	unsigned index = 0;

	for (size_t i = 0; i < ninstances; i++)
		index += instances[i].desc == desc;
	registered = false;
	if (ninstances == SNAPSHOT_MAX_INSTANCES)
		return;	/* MAX_DEVICE_INSTANCES keeps us below */
	instances[ninstances] = (struct snapshot_instance){ .desc = desc, .index = index };
}

void snapshot_instance(void *instance)
{
	if (ninstances < SNAPSHOT_MAX_INSTANCES && !registered) {
		instances[ninstances].instance = instance;
		registered = true;
	}
}

int snapshot_device_end(void)
{
	const struct device_desc *desc;

	if (ninstances == SNAPSHOT_MAX_INSTANCES)
		return 0;
	desc = instances[ninstances].desc;
	if (desc->snapshot && (desc->snapshot->save || desc->snapshot->load) && !registered) {
		wisp_err("%s: create() did not register its instance for snapshots", desc->name);
		return -1;
	}
	ninstances++;
	return 0;
}

size_t snapshot_instances(const struct snapshot_instance **out)
{
	*out = instances;
	return ninstances;
}

void snapshot_reset(void)
{
	ninstances = 0;
	registered = false;
}

/* -------------------------------------------------------- the file */

size_t snapshot_section_begin(struct snap_writer *w, enum snapshot_tag tag, const char *name)
{
	size_t namelen = strlen(name) + 1;
	size_t at;

	snap_u32(w, tag);
	snap_u16(w, (uint16_t)namelen);
	snap_put(w, name, namelen);
	at = w->len;
	snap_u64(w, 0);	/* the length, filled in at the end */
	return at;
}

void snapshot_section_end(struct snap_writer *w, size_t at)
{
	uint64_t len;

	if (w->failed)
		return;
	len = w->len - at - sizeof(len);
	memcpy(w->data + at, &len, sizeof(len));
}

uint32_t snapshot_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	/* bitwise: the state file is a few hundred KiB at most, and a
	 * table would cost 1 KiB of binary for nothing measurable */
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

void snapshot_seal(struct snap_writer *w)
{
	struct snap_header h = { .version = SNAPSHOT_VERSION, .arch = SNAPSHOT_ARCH };
	size_t body = w->len;

	memcpy(h.magic, SNAPSHOT_MAGIC, sizeof(h.magic));
	snap_put(w, &h, sizeof(h));	/* room at the end, moved to the front */
	if (w->failed)
		return;
	memmove(w->data + sizeof(h), w->data, body);
	h.length = body;
	h.crc = snapshot_crc32(w->data + sizeof(h), body);
	memcpy(w->data, &h, sizeof(h));
}

/* One section's bounds at pos; -1 if it runs past the end. */
static int section_at(const uint8_t *data, size_t len, size_t pos, struct snapshot_section *s,
		      size_t *next)
{
	uint16_t namelen;
	uint64_t plen;

	if (len - pos < sizeof(uint32_t) + sizeof(uint16_t))
		return -1;
	memcpy(&s->tag, data + pos, sizeof(s->tag));
	memcpy(&namelen, data + pos + 4, sizeof(namelen));
	pos += 6;
	if (!namelen || len - pos < namelen || data[pos + namelen - 1] != '\0' ||
	    memchr(data + pos, '\0', namelen) != data + pos + namelen - 1)
		return -1;
	s->name = (const char *)data + pos;
	pos += namelen;
	if (len - pos < sizeof(plen))
		return -1;
	memcpy(&plen, data + pos, sizeof(plen));
	pos += sizeof(plen);
	if (plen > len - pos)
		return -1;
	s->payload = (struct snap_reader){ .data = data + pos, .len = (size_t)plen };
	*next = pos + (size_t)plen;
	return 0;
}

int snapshot_file_check(const uint8_t *data, size_t len, char *why, size_t whysize)
{
	struct snap_header h;
	size_t pos = sizeof(h);

	if (len < sizeof(h) || memcmp(data, SNAPSHOT_MAGIC, 8)) {
		snprintf(why, whysize, "not a wisp snapshot (no %s header)", SNAPSHOT_MAGIC);
		return -1;
	}
	memcpy(&h, data, sizeof(h));
	if (h.version != SNAPSHOT_VERSION) {
		snprintf(why, whysize, "snapshot format version %u, this wisp reads version %u",
			 h.version, SNAPSHOT_VERSION);
		return -1;
	}
	if (h.arch != SNAPSHOT_ARCH) {
		snprintf(why, whysize, "snapshot of another architecture (ELF machine %u)", h.arch);
		return -1;
	}
	if (h.length != len - sizeof(h)) {
		snprintf(why, whysize, "truncated or padded (%llu bytes of state, header says %llu)",
			 (unsigned long long)(len - sizeof(h)), (unsigned long long)h.length);
		return -1;
	}
	if (snapshot_crc32(data + sizeof(h), len - sizeof(h)) != h.crc) {
		snprintf(why, whysize, "checksum mismatch: the state file is corrupt");
		return -1;
	}
	while (pos < len) {
		struct snapshot_section s;

		if (section_at(data, len, pos, &s, &pos)) {
			snprintf(why, whysize, "malformed section at byte %zu", pos);
			return -1;
		}
		/* a tag this wisp does not know would be skipped, and the
		 * state it holds lost: refuse it rather */
		if (s.tag < SNAP_CONFIG || s.tag > SNAP_MEMORY) {
			snprintf(why, whysize, "unknown section %u (\"%s\")", s.tag, s.name);
			return -1;
		}
	}
	return 0;
}

int snapshot_check_devices(const struct snapshot_file *f, char *why, size_t whysize)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table), pos = 0;
	struct snapshot_section s;

	while (snapshot_next(f, &pos, &s)) {
		const char *hash = strchr(s.name, '#');
		size_t len = hash ? (size_t)(hash - s.name) : strlen(s.name);
		size_t i;

		if (s.tag != SNAP_DEVICE)
			continue;
		for (i = 0; i < n; i++)
			if (strlen(table[i]->name) == len && !strncmp(table[i]->name, s.name, len))
				break;
		if (i == n) {
			snprintf(why, whysize, "the snapshot uses device %.*s, which this wisp "
				 "was built without", (int)(len > 64 ? 64 : len), s.name);
			return -1;
		}
	}
	return 0;
}

int snapshot_file_read(const char *dir, struct snapshot_file *f, char *why, size_t whysize)
{
	int dfd, fd;
	struct stat st;
	ssize_t got;

	f->data = NULL;
	f->len = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(why, whysize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	fd = openat(dfd, SNAPSHOT_STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (fd < 0) {
		snprintf(why, whysize, "%s/%s: %s (an incomplete snapshot?)", dir,
			 SNAPSHOT_STATE_FILE, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > SNAPSHOT_MAX_STATE) {
		snprintf(why, whysize, "%s/%s: not a regular file of at most %u MiB", dir,
			 SNAPSHOT_STATE_FILE, SNAPSHOT_MAX_STATE >> 20);
		close(fd);
		return -1;
	}
	f->data = malloc((size_t)st.st_size + 1);
	got = f->data ? read(fd, f->data, (size_t)st.st_size + 1) : -1;
	close(fd);
	if (got != st.st_size) {
		snprintf(why, whysize, "%s/%s: cannot read it whole", dir, SNAPSHOT_STATE_FILE);
		snapshot_file_free(f);
		return -1;
	}
	f->len = (size_t)got;
	if (snapshot_file_check(f->data, f->len, why, whysize)) {
		snapshot_file_free(f);
		return -1;
	}
	return 0;
}

void snapshot_file_free(struct snapshot_file *f)
{
	free(f->data);
	f->data = NULL;
	f->len = 0;
}

int snapshot_next(const struct snapshot_file *f, size_t *pos, struct snapshot_section *s)
{
	if (*pos < sizeof(struct snap_header))
		*pos = sizeof(struct snap_header);
	if (*pos >= f->len)
		return 0;
	return section_at(f->data, f->len, *pos, s, pos) ? 0 : 1;
}

int snapshot_find(const struct snapshot_file *f, enum snapshot_tag tag, const char *name,
		  struct snapshot_section *s)
{
	size_t pos = 0;

	while (snapshot_next(f, &pos, s))
		if (s->tag == tag && (!name || !strcmp(s->name, name)))
			return 0;
	return -1;
}

const char *snapshot_url_path(const char *url)
{
	static const char scheme[] = "file://";

	if (strncmp(url, scheme, sizeof(scheme) - 1) || url[sizeof(scheme) - 1] != '/')
		return NULL;
	return url + sizeof(scheme) - 1;
}
