/* SPDX-License-Identifier: MIT */
/*
 * Snapshots: the state file's format, and how devices take part.
 *
 * A snapshot is a directory with two files:
 *   state   a header (magic, format version, arch, length, CRC-32 of
 *           the rest) and then sections, each a tag, a name and a
 *           length-prefixed payload: the command line that made the VM
 *           ("config"), the VM-wide arch state ("vm": the clock; the GIC
 *           on AArch64), each vCPU ("vcpu"), each device ("device"), and
 *           the layout of guest RAM ("memory");
 *   memory  guest RAM, byte for byte, pages of zeros left as holes.
 * core/vm_snapshot.c writes and reads them; this file is the format and
 * the device registry, which need no VM.
 *
 * Devices: a descriptor's `snapshot` ops (core/device.h) say how an
 * instance saves and loads its state; create() hands core the instance
 * with snapshot_instance().  A descriptor without ops makes vm.snapshot
 * fail while an instance exists (the VM keeps running), so a device
 * that was never taught to save its state cannot be lost silently.
 */
#ifndef WISP_CORE_SNAPSHOT_H
#define WISP_CORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct device_desc;

#define SNAPSHOT_MAGIC "WISPSNAP"
#define SNAPSHOT_VERSION 1
#define SNAPSHOT_STATE_FILE "state"
#define SNAPSHOT_MEMORY_FILE "memory"
#define SNAPSHOT_MAX_STATE (64u << 20)	/* a state file larger is refused */

/* ----------------------------------------------------- writer and reader */

/* A growing buffer; an allocation failure sticks in `failed`, so a
 * saver writes everything and the caller checks once. */
struct snap_writer {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

/* Reads a payload; reading past its end sets `failed` and yields zeros,
 * so a loader reads everything and then checks snap_done(). */
struct snap_reader {
	const uint8_t *data;
	size_t len, pos;
	bool failed;
};

void snap_put(struct snap_writer *w, const void *p, size_t n);
void snap_u8(struct snap_writer *w, uint8_t v);
void snap_u16(struct snap_writer *w, uint16_t v);
void snap_u32(struct snap_writer *w, uint32_t v);
void snap_u64(struct snap_writer *w, uint64_t v);
/* A length (u32) and the bytes. */
void snap_blob(struct snap_writer *w, const void *p, uint32_t n);
void snap_writer_free(struct snap_writer *w);

void snap_get(struct snap_reader *r, void *p, size_t n);
uint8_t snap_get_u8(struct snap_reader *r);
uint16_t snap_get_u16(struct snap_reader *r);
uint32_t snap_get_u32(struct snap_reader *r);
uint64_t snap_get_u64(struct snap_reader *r);
/* A blob of exactly n bytes (its stored length must be n). */
void snap_get_blob(struct snap_reader *r, void *p, uint32_t n);
/* A bool stored as a byte: anything but 0 or 1 fails the reader. */
bool snap_get_bool(struct snap_reader *r);
/* 0 when the whole payload was read and nothing failed, else -1. */
int snap_done(const struct snap_reader *r);

/* ------------------------------------------------------------- devices */

struct snapshot_ops {
	/* Why this instance cannot be saved now, or NULL.  Optional; the
	 * instance is NULL for a device that registered none. */
	const char *(*blocker)(void *instance);
	/* The VM is paused: finish every request already taken from the
	 * guest, so that nothing is in flight.  Optional. */
	void (*drain)(void *instance);
	/* Appends the instance's state.  0 or -1. */
	int (*save)(void *instance, struct snap_writer *w);
	/* After create(), before any vCPU runs: puts the state back.  The
	 * payload is whatever save() wrote, from a state file whose CRC
	 * held, yet still checked: -1 (after one line naming what is
	 * wrong) makes the restore fail with exit status 2. */
	int (*load)(void *instance, struct snap_reader *r);
};

/* For devices with nothing to keep (their registers are constants, or
 * they hold no guest-visible state). */
extern const struct snapshot_ops snapshot_stateless;

/* A descriptor's .snapshot: the ops, or NULL where snapshots are not
 * built in (the ops' functions are then not built either). */
#ifdef CONFIG_SNAPSHOT
#define SNAPSHOT_OPS(ops) (ops)
#else
#define SNAPSHOT_OPS(ops) NULL
#endif

#define SNAPSHOT_MAX_INSTANCES 80

struct snapshot_instance {
	const struct device_desc *desc;
	unsigned index;		/* among the instances of its descriptor */
	void *instance;		/* NULL until create() registered it */
};

/*
 * snapshot_device_begin(): core/vm.c, before each create().
 * snapshot_instance(): the instance create() just made, what the
 *   descriptor's ops get; a device whose descriptor has save/load ops
 *   calls it once in create(), with NULL when the option made nothing
 *   (--console off): such an instance has no state in a snapshot.
 * snapshot_device_end(): after create(); -1 (reported) when such a
 *   device did not register its instance.
 * snapshot_instances(): the instances in creation order.
 * snapshot_reset(): forgets them all (unit tests build several VMs).
 */
#ifdef CONFIG_SNAPSHOT
void snapshot_device_begin(const struct device_desc *desc);
void snapshot_instance(void *instance);
int snapshot_device_end(void);
size_t snapshot_instances(const struct snapshot_instance **out);
void snapshot_reset(void);
#else
static inline void snapshot_device_begin(const struct device_desc *desc) { (void)desc; }
static inline void snapshot_instance(void *instance) { (void)instance; }
static inline int snapshot_device_end(void) { return 0; }
static inline void snapshot_reset(void) {}
#endif

/* ---------------------------------------------------------- the file */

enum snapshot_tag {
	SNAP_CONFIG = 1,	/* NUL-separated command-line arguments */
	SNAP_VM = 2,		/* arch_vm_save() */
	SNAP_VCPU = 3,		/* arch_vcpu_save(), one per vCPU in order */
	SNAP_DEVICE = 4,	/* named "<device name>#<index>" */
	SNAP_MEMORY = 5,	/* guest RAM's layout: regions (gpa, size) */
};

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t arch;		/* ELF machine: 62 x86_64, 183 AArch64 */
	uint64_t length;	/* of what follows the header */
	uint32_t crc;		/* CRC-32 (IEEE) of what follows */
	uint32_t reserved;
};

#if defined(__x86_64__)
#define SNAPSHOT_ARCH 62
#elif defined(__aarch64__)
#define SNAPSHOT_ARCH 183
#endif

/* Starts a state file's sections; snapshot_section_end() closes one. */
size_t snapshot_section_begin(struct snap_writer *w, enum snapshot_tag tag,
			      const char *name);
void snapshot_section_end(struct snap_writer *w, size_t at);
/* Puts the header in front of w's sections (w->data then starts with
 * it).  The caller writes w->data, w->len to the file. */
void snapshot_seal(struct snap_writer *w);

/* A state file read whole and checked: header, version, arch, length,
 * CRC and that the sections are well formed.  -1 with a one-line
 * reason in why. */
struct snapshot_file {
	uint8_t *data;
	size_t len;
};
int snapshot_file_read(const char *dir, struct snapshot_file *f, char *why, size_t whysize);
int snapshot_file_check(const uint8_t *data, size_t len, char *why, size_t whysize);
void snapshot_file_free(struct snapshot_file *f);
/* Every device section names a device this binary has: -1 with why
 * naming the first that does not (checked before any memory is mapped,
 * where the section walk of a restore would only see a mismatch). */
int snapshot_check_devices(const struct snapshot_file *f, char *why, size_t whysize);

/* The next section at or after *pos: 1 with tag, name and payload set,
 * 0 at the end.  The file was checked, so sections are well formed. */
struct snapshot_section {
	uint32_t tag;
	const char *name;	/* NUL-terminated inside the file */
	struct snap_reader payload;
};
int snapshot_next(const struct snapshot_file *f, size_t *pos, struct snapshot_section *s);
/* The first section with that tag and name (NULL name: any), or -1. */
int snapshot_find(const struct snapshot_file *f, enum snapshot_tag tag, const char *name,
		  struct snapshot_section *s);

uint32_t snapshot_crc32(const uint8_t *p, size_t n);

/* "file:///dir" (CH's only scheme) to "/dir"; NULL if it is not one. */
const char *snapshot_url_path(const char *url);

#endif
