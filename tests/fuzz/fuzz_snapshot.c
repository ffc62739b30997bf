// SPDX-License-Identifier: MIT
/*
 * Fuzzes the snapshot state file as --restore reads it (core/snapshot.c)
 * and every device's load op (through the registry, as
 * core/vm_snapshot.c calls them) on a fake VM with the virtio and
 * platform devices.
 *
 * Input: one byte, then a state file.  Byte bit 0 set: the header's
 * length and CRC are rewritten to fit, so the fuzzer gets past the
 * checksum into the section walk and the devices' loaders; clear: the
 * file is checked as it is (magic, version, arch, length, CRC).
 *
 * Seeds: with WISP_SNAPSHOT_SEEDS=DIR in the environment, the first run
 * writes into DIR a state file made by the fake VM's own devices'
 * save ops (config, every device, memory layout; the vm and vcpu
 * sections need KVM and are left out), sealed and resealable, then
 * exits: tests/fuzz/snapshot_seeds.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "fake_vm.h"
#include "core/snapshot.h"
#include "core/vm_snapshot.h"
#include "virtio/net_test.h"

static struct fake_vm fv;
static char dir[64];

static void make_vm(void)
{
	char kernel[96], disk[96], disk_arg[128], vsock_arg[128];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
			       "--serial", "null", "--console", "null", "--disk", disk_arg,
			       "--rng", "src=/dev/zero", "--vsock", vsock_arg,
			       "--net", "tap=fuzz0,num_queues=4", "--cpus", "boot=2", NULL };
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/wisp-fuzz-snap-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(disk, sizeof(disk), "%s/disk", dir);
	snprintf(disk_arg, sizeof(disk_arg), "path=%s", disk);
	snprintf(vsock_arg, sizeof(vsock_arg), "cid=3,socket=%s/v.sock", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || write(fd, "k", 1) != 1 || close(fd))
		abort();
	fd = open(disk, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) || close(fd))
		abort();
	net_test_fake_tap = true;	/* socket pairs, not TAPs */
	fake_vm_create(&fv, argv);
}

static void section_name(char *buf, size_t size, const struct snapshot_instance *in)
{
	snprintf(buf, size, "%s#%u", in->desc->name, in->index);
}

/* A state file of this fake VM, as vm_snapshot.c lays one out (less
 * the sections that need KVM), written to DIR/seed-*. */
static void write_seeds(const char *out)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in), at;
	struct snap_writer w = { 0 };
	char name[64], path[4096];
	static const char config[] = "--memory\0size=16M\0--rng\0src=/dev/zero";

	at = snapshot_section_begin(&w, SNAP_CONFIG, "config");
	snap_put(&w, config, sizeof(config));
	snapshot_section_end(&w, at);
	for (size_t i = 0; i < n; i++) {
		const struct snapshot_ops *ops = in[i].desc->snapshot;

		if (!ops || !ops->save || !in[i].instance)
			continue;
		section_name(name, sizeof(name), &in[i]);
		at = snapshot_section_begin(&w, SNAP_DEVICE, name);
		if (ops->save(in[i].instance, &w))
			abort();
		snapshot_section_end(&w, at);
	}
	at = snapshot_section_begin(&w, SNAP_MEMORY, "memory");
	snap_u32(&w, (uint32_t)fv.vm.mem.nram);
	for (size_t i = 0; i < fv.vm.mem.nram; i++) {
		snap_u64(&w, fv.vm.mem.region[i].gpa);
		snap_u64(&w, fv.vm.mem.region[i].size);
	}
	snapshot_section_end(&w, at);
	snapshot_seal(&w);
	if (w.failed)
		abort();
	for (uint8_t mode = 0; mode < 2; mode++) {
		int fd;

		snprintf(path, sizeof(path), "%s/seed-state-%s", out, mode ? "resealed" : "raw");
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, &mode, 1) != 1 ||
		    write(fd, w.data, w.len) != (ssize_t)w.len || close(fd))
			abort();
		fprintf(stderr, "fuzz_snapshot: wrote %s (%zu bytes)\n", path, w.len + 1);
	}
	snap_writer_free(&w);
	_exit(0);	/* not exit(): libFuzzer would take it for a crash */
}

/* The instance a device section names, or NULL. */
static const struct snapshot_instance *instance_named(const char *name)
{
	const struct snapshot_instance *in;
	size_t n = snapshot_instances(&in);
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		if (!in[i].desc->snapshot || !in[i].desc->snapshot->load || !in[i].instance)
			continue;
		section_name(buf, sizeof(buf), &in[i]);
		if (!strcmp(buf, name))
			return &in[i];
	}
	return NULL;
}

/* What a restore does with a checked file before any vCPU exists: the
 * devices it names, the memory layout, each device's state. */
static void walk(const struct snapshot_file *f)
{
	struct snapshot_section s;
	char why[200];
	size_t pos = 0;

	(void)snapshot_check_devices(f, why, sizeof(why));
	if (!snapshot_find(f, SNAP_MEMORY, "memory", &s))
		(void)vm_snapshot_check_memory(f, &fv.vm.mem);
	while (snapshot_next(f, &pos, &s)) {
		const struct snapshot_instance *in;

		if (s.tag != SNAP_DEVICE || !(in = instance_named(s.name)))
			continue;
		(void)in->desc->snapshot->load(in->instance, &s.payload);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct snapshot_file f;
	char why[200];
	uint8_t *copy;

	if (!ready++) {
		make_vm();
		if (getenv("WISP_SNAPSHOT_SEEDS"))
			write_seeds(getenv("WISP_SNAPSHOT_SEEDS"));
	}
	if (!size)
		return 0;
	/* a copy of exactly the file's size, so ASan sees any read past it */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	if ((data[0] & 1) && size - 1 >= sizeof(struct snap_header)) {
		struct snap_header h;

		memcpy(&h, copy, sizeof(h));
		h.length = size - 1 - sizeof(h);
		h.crc = snapshot_crc32(copy + sizeof(h), (size_t)h.length);
		memcpy(copy, &h, sizeof(h));
	}
	f = (struct snapshot_file){ .data = copy, .len = size - 1 };
	if (!snapshot_file_check(f.data, f.len, why, sizeof(why))) {
		fake_vm_reset(&fv);
		walk(&f);
	}
	free(copy);
	return 0;
}
