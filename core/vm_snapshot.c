// SPDX-License-Identifier: MIT
/*
 * A whole VM into a snapshot directory and back (core/vm_snapshot.h).
 * The format is core/snapshot.h's; here are the VM's parts in order:
 * its command line, the arch's VM state, every vCPU, every device
 * instance in creation order, and guest RAM.
 *
 * Saving writes "memory" and "state" under temporary names and renames
 * them in that order, so a directory with a state file holds a whole
 * snapshot even when wisp dies half-way.
 */
#include "core/vm_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arch.h"
#include "core/cli.h"
#include "core/device.h"
#include "core/vm.h"

#define PAGE 4096u

/* ------------------------------------------------------------- saving */

static void section_name(char *buf, size_t size, const struct snapshot_instance *in)
{
	snprintf(buf, size, "%s#%u", in->desc->name, in->index);
}

/* Why the VM cannot be saved now, or NULL. */
static const char *blocker(struct vm *vm, char *why, size_t whysize)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in);
	const char *arch = arch_snapshot_blocker(vm);

	if (arch) {
		snprintf(why, whysize, "%s", arch);
		return why;
	}

	for (size_t i = 0; i < n; i++) {
		const struct snapshot_ops *ops = in[i].desc->snapshot;
		const char *reason;

		if (!ops) {
			snprintf(why, whysize, "%s cannot be snapshotted (it has no state saving)",
				 in[i].desc->name);
			return why;
		}
		reason = ops->blocker ? ops->blocker(in[i].instance) : NULL;
		if (reason) {
			snprintf(why, whysize, "%s: %s", in[i].desc->name, reason);
			return why;
		}
	}
	return NULL;
}

/* The command line that makes this VM again: the kept core options and
 * every device option as given, NUL-separated. */
static void save_config(const struct vm_config *cfg, struct snap_writer *w)
{
	char opt[40];

	for (size_t i = 0; i < cfg->nkept; i++) {
		snprintf(opt, sizeof(opt), "--%s", cfg->kept[i].name);
		snap_put(w, opt, strlen(opt) + 1);
		snap_put(w, cfg->kept[i].value, strlen(cfg->kept[i].value) + 1);
	}
	for (size_t i = 0; i < cfg->ndevices; i++) {
		const struct device_instance *inst = &cfg->devices[i];

		if (!inst->text || inst->desc->per_process)
			continue;
		snprintf(opt, sizeof(opt), "--%s", inst->desc->option);
		snap_put(w, opt, strlen(opt) + 1);
		snap_put(w, inst->text, strlen(inst->text) + 1);
	}
}

static int save_sections(struct vm *vm, struct snap_writer *w)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in);
	char name[64];
	size_t at;

	at = snapshot_section_begin(w, SNAP_CONFIG, "config");
	save_config(vm->cfg, w);
	snapshot_section_end(w, at);

	at = snapshot_section_begin(w, SNAP_VM, "vm");
	if (arch_vm_save(vm, w))
		return -1;
	snapshot_section_end(w, at);

	for (unsigned i = 0; i < vm->ncpus; i++) {
		snprintf(name, sizeof(name), "vcpu%u", i);
		at = snapshot_section_begin(w, SNAP_VCPU, name);
		if (arch_vcpu_save(&vm->vcpus[i], w))
			return -1;
		snapshot_section_end(w, at);
	}

	for (size_t i = 0; i < n; i++) {
		const struct snapshot_ops *ops = in[i].desc->snapshot;

		if (!ops->save || !in[i].instance)
			continue;
		section_name(name, sizeof(name), &in[i]);
		at = snapshot_section_begin(w, SNAP_DEVICE, name);
		if (ops->save(in[i].instance, w)) {
			wisp_err("snapshot: %s could not save its state", name);
			return -1;
		}
		snapshot_section_end(w, at);
	}

	at = snapshot_section_begin(w, SNAP_MEMORY, "memory");
	snap_u32(w, (uint32_t)vm->mem.nram);
	for (size_t i = 0; i < vm->mem.nram; i++) {
		snap_u64(w, vm->mem.region[i].gpa);
		snap_u64(w, vm->mem.region[i].size);
	}
	snapshot_section_end(w, at);
	return w->failed ? -1 : 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;

	for (unsigned i = 0; i < PAGE / sizeof(*q); i++)
		if (q[i])
			return false;
	return true;
}

/* Guest RAM as one file, offsets as in the RAM mapping; pages of zeros
 * stay holes, so a small guest's snapshot is the size of what it used. */
static int write_memory(const struct guest_memory *mem, int fd)
{
	const uint8_t *base = mem->base;

	if (ftruncate(fd, (off_t)mem->total))
		return -1;
	for (uint64_t off = 0; off < mem->total;) {
		uint64_t end;

		if (page_is_zero(base + off)) {
			off += PAGE;
			continue;
		}
		for (end = off + PAGE; end < mem->total && end - off < (8u << 20) &&
				       !page_is_zero(base + end); end += PAGE)
			;
		for (uint64_t at = off; at < end;) {
			ssize_t n = pwrite(fd, base + at, (size_t)(end - at), (off_t)at);

			if (n <= 0)
				return -1;
			at += (uint64_t)n;
		}
		off = end;
	}
	return fsync(fd);
}

static int write_file(int dfd, const char *name, const void *data, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	const uint8_t *p = data;
	int ret = -1;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			goto out;
		p += n;
		len -= (size_t)n;
	}
	ret = fsync(fd);
out:
	close(fd);
	return ret;
}

static int open_dir(const char *dir, char *why, size_t whysize)
{
	int dfd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whysize, "%s: cannot create it: %s", dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		snprintf(why, whysize, "%s: %s", dir, strerror(errno));
	return dfd;
}

int vm_snapshot_save(struct vm *vm, const char *dir, char *why, size_t whysize)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in);
	struct snap_writer w = { 0 };
	int dfd, mfd = -1, ret = -1;

	if (blocker(vm, why, whysize))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (in[i].desc->snapshot->drain && in[i].instance)
			in[i].desc->snapshot->drain(in[i].instance);
	dfd = open_dir(dir, why, whysize);
	if (dfd < 0)
		return -1;
	if (save_sections(vm, &w)) {
		snprintf(why, whysize, "saving the VM's state failed (wisp's log says why)");
		goto out;
	}
	snapshot_seal(&w);
	mfd = openat(dfd, SNAPSHOT_MEMORY_FILE ".tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
		     O_NOFOLLOW, 0600);
	if (w.failed || mfd < 0 || write_memory(&vm->mem, mfd) ||
	    renameat(dfd, SNAPSHOT_MEMORY_FILE ".tmp", dfd, SNAPSHOT_MEMORY_FILE) ||
	    write_file(dfd, SNAPSHOT_STATE_FILE ".tmp", w.data, w.len) ||
	    renameat(dfd, SNAPSHOT_STATE_FILE ".tmp", dfd, SNAPSHOT_STATE_FILE) || fsync(dfd)) {
		snprintf(why, whysize, "%s: cannot write the snapshot: %s", dir,
			 w.failed ? "out of memory" : strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (mfd >= 0)
		close(mfd);
	close(dfd);
	snap_writer_free(&w);
	return ret;
}

/* ---------------------------------------------------------- restoring */

int vm_snapshot_check_memory(const struct snapshot_file *f, const struct guest_memory *mem)
{
	struct snapshot_section s;

	if (snapshot_find(f, SNAP_MEMORY, "memory", &s)) {
		wisp_err("--restore: the snapshot holds no memory layout");
		return -1;
	}
	if (snap_get_u32(&s.payload) != mem->nram)
		goto differs;
	for (size_t i = 0; i < mem->nram; i++)
		if (snap_get_u64(&s.payload) != mem->region[i].gpa ||
		    snap_get_u64(&s.payload) != mem->region[i].size)
			goto differs;
	if (!snap_done(&s.payload))
		return 0;
differs:
	wisp_err("--restore: the snapshot's memory layout differs from this wisp's");
	return -1;
}

static int load_devices(const struct snapshot_file *f)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in);
	struct snapshot_section s;
	char name[64];
	size_t pos = 0, expected = 0;

	for (size_t i = 0; i < n; i++) {
		const struct snapshot_ops *ops = in[i].desc->snapshot;

		if (!ops || !ops->load || !in[i].instance)
			continue;
		expected++;
		section_name(name, sizeof(name), &in[i]);
		if (snapshot_find(f, SNAP_DEVICE, name, &s)) {
			wisp_err("--restore: the snapshot has no state for %s", name);
			return -1;
		}
		if (ops->load(in[i].instance, &s.payload)) {
			wisp_err("--restore: the state of %s does not fit this device", name);
			return -1;
		}
	}
	/* and nothing the command line lacks */
	while (snapshot_next(f, &pos, &s))
		expected -= s.tag == SNAP_DEVICE;
	if (expected) {
		wisp_err("--restore: the snapshot's devices differ from this command line's");
		return -1;
	}
	return 0;
}

int vm_snapshot_restore(struct vm *vm, const struct snapshot_file *f)
{
	struct snapshot_section s;
	char name[16];

	if (snapshot_find(f, SNAP_VM, "vm", &s) || arch_vm_load(vm, &s.payload)) {
		wisp_err("--restore: the VM's state cannot be restored");
		return EXIT_USAGE;
	}
	if (load_devices(f))
		return EXIT_USAGE;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		snprintf(name, sizeof(name), "vcpu%u", i);
		if (snapshot_find(f, SNAP_VCPU, name, &s)) {
			wisp_err("--restore: the snapshot has no state for vCPU %u", i);
			return EXIT_USAGE;
		}
		if (arch_vcpu_load(&vm->vcpus[i], &s.payload))
			return EXIT_USAGE;
	}
	return 0;
}
