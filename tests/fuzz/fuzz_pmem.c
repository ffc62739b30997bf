// SPDX-License-Identifier: MIT
/*
 * virtio-pmem (virtio/pmem.c) as a hostile guest drives it: a KVM-less
 * VM (tests/unit/fake_vm.h) with two pmem devices made by the real
 * device table -- a 2 MiB scratch file mapped shared (FLUSH is an
 * fdatasync) and one with discard_writes=on -- their device memory
 * placed by the real code (KVM's slot stood in for by
 * vm_test_slot_map).  The input is a list of operations: config-space
 * and BAR accesses (the device config: start and size), guest RAM
 * contents, a queue set up at fixed rings, notifications, and a
 * shortcut: "a request of this type, in a readable and a writable
 * descriptor of these lengths", after which the reply must be what
 * virtio 1.2 5.19.6 says (0 for a FLUSH, -1 for anything else) when
 * the queue was set up cleanly.  After each input both devices' memory
 * must still be where their config says, holding the file's bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "fake_vm.h"

#define DATA_WINDOW 0x100000ull		/* input bytes land in [0, 1 MiB) */
#define PMEM_SIZE (2u << 20)
#define REQ_GPA 0x80000ull		/* the shortcut's request, reply at +0x100 */
#define QSIZE 16
#define PATTERN 0x5a

static struct fake_vm fv;
static unsigned slot[2];		/* shared, discard_writes */
static bool clean[2];			/* queue 0 set up by the shortcut, not touched since */
static uint16_t next_avail[2];
static int pmem_fd = -1;
static char dir[64];

/* KVM's memory slot for device memory: nothing to do without KVM. */
static int fake_slot(struct vm *vm, int s, uint64_t gpa, void *host, uint64_t size)
{
	(void)vm; (void)s; (void)gpa; (void)host; (void)size;
	return 0;
}

static void make_file(const char *path, uint8_t fill)
{
	static uint8_t page[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	memset(page, fill, sizeof(page));
	for (unsigned i = 0; fd >= 0 && i < PMEM_SIZE / sizeof(page); i++)
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			abort();
	if (fd < 0 || close(fd))
		abort();
}

/* libFuzzer exits through exit(): the scratch files go too */
static void remove_files(void)
{
	static const char *const names[] = { "kernel", "shared.img", "discard.img" };
	char path[128];

	for (unsigned i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void make_vm(void)
{
	const char *base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	char kernel[96], shared[128], discard[128], f1[96], f2[96];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
			       "--serial", "null", "--console", "null", "--pmem", shared,
			       "--pmem", discard, NULL };

	snprintf(dir, sizeof(dir), "%s/wisp-fuzz-pmem-XXXXXX", base);
	if (!mkdtemp(dir))
		abort();
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(f1, sizeof(f1), "%s/shared.img", dir);
	snprintf(f2, sizeof(f2), "%s/discard.img", dir);
	snprintf(shared, sizeof(shared), "file=%s", f1);
	snprintf(discard, sizeof(discard), "file=%s,discard_writes=on", f2);
	make_file(kernel, 0);
	make_file(f1, PATTERN);
	make_file(f2, PATTERN);
	atexit(remove_files);
	vm_test_slot_map = fake_slot;
	fake_vm_create(&fv, argv);
	/* the two pmem functions, in command-line order (bus order) */
	for (unsigned i = 0, n = 0; i < fv.nslots; i++)
		if (fake_cfg_read(&fv, fv.slots[i], 0) >> 16 == 0x1040 + 27 && n < 2)
			slot[n++] = fv.slots[i];
	if (!slot[0] || !slot[1])
		abort();
	pmem_fd = open(f1, O_RDONLY | O_CLOEXEC);
	if (pmem_fd < 0)
		abort();
}

/* The device config (start, size) through BAR 0. */
static void device_config(unsigned s, uint64_t *start, uint64_t *size)
{
	fake_cfg_write(&fv, s, 0x04, 0x6, 2);
	*start = fake_mmio_read(&fv, FAKE_BAR(s) + 0x2000, 8);
	*size = fake_mmio_read(&fv, FAKE_BAR(s) + 0x2008, 8);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	gpa_write(&fv.vm.mem, FAKE_RING_GPA(0) + 16ull * i, d, 16);
}

/* One request on device d's queue 0 through the fixed rings. */
static void op_request(struct fuzz_in *in)
{
	unsigned d = (unsigned)fuzz_take(in, 1) & 1, s = slot[d];
	uint8_t shape = (uint8_t)fuzz_take(in, 1);
	uint32_t type = (shape & 0xf0) ? 0 : (uint32_t)fuzz_take(in, 4);
	uint32_t in_len = (shape & 1) ? (uint32_t)fuzz_take(in, 1) : 4;
	uint32_t out_len = (shape & 2) ? (uint32_t)fuzz_take(in, 1) : 4;
	uint16_t *avail = gpa_ptr(&fv.vm.mem, FAKE_RING_GPA(0) + 0x1000, 4 + 2 * QSIZE);
	const uint16_t *used = gpa_ptr(&fv.vm.mem, FAKE_RING_GPA(0) + 0x2000, 4);
	uint32_t resp = 0xeeeeeeee;

	if (!clean[d]) {
		/* both devices' queue 0 would share the rings: one at a time */
		memset(gpa_ptr(&fv.vm.mem, FAKE_RING_GPA(0), 0x3000), 0, 0x3000);
		/* BAR 0 back where it belongs (a config write may have moved
		 * it), then a device reset */
		fake_cfg_write(&fv, s, 0x04, 0, 2);
		fake_cfg_write(&fv, s, 0x10, (uint32_t)FAKE_BAR(s), 4);
		fake_cfg_write(&fv, s, 0x14, 0, 4);
		fake_cfg_write(&fv, s, 0x04, 0x6, 2);
		fake_mmio(&fv, FAKE_BAR(s) + FAKE_CC_STATUS, 0, 1, true);
		fake_setup_queue(&fv, s, 0, QSIZE);
		clean[d] = true;
		clean[!d] = false;
		next_avail[d] = 0;
	}
	gpa_write(&fv.vm.mem, REQ_GPA, &type, 4);
	gpa_write(&fv.vm.mem, REQ_GPA + 0x100, &resp, 4);
	put_desc(0, REQ_GPA, in_len, 1, 1);
	put_desc(1, REQ_GPA + 0x100, out_len, 2, 0);
	avail[2 + next_avail[d] % QSIZE] = 0;
	avail[1] = ++next_avail[d];
	fake_notify(&fv, s, 0);
	if (used[1] != next_avail[d])
		abort();
	memcpy(&resp, gpa_ptr(&fv.vm.mem, REQ_GPA + 0x100, 4), 4);
	/* a reply needs 4 writable bytes; a FLUSH needs its 4-byte type */
	if (out_len >= 4 && resp != (in_len >= 4 && type == 0 ? 0 : 0xffffffffu))
		abort();
}

static void op_ram(struct fuzz_in *in)
{
	uint64_t gpa = (fuzz_take(in, 2) << 4) % DATA_WINDOW;
	size_t n = (size_t)fuzz_take(in, 1) * 4;

	if (n > in->left)
		n = in->left;
	if (gpa + n > DATA_WINDOW)
		n = (size_t)(DATA_WINDOW - gpa);
	gpa_write(&fv.vm.mem, gpa, in->p, n);
	in->p += n;
	in->left -= n;
	clean[0] = clean[1] = false;
}

/* Both devices' memory where their config says, 2 MiB, and the shared
 * one's first page the file's. */
static void check_memory(void)
{
	uint8_t a[64], b[64];

	for (unsigned d = 0; d < 2; d++) {
		uint64_t start, size;
		const uint8_t *p;

		device_config(slot[d], &start, &size);
		p = gpa_ptr(&fv.vm.mem, start, size);
		if (size != PMEM_SIZE || !p)
			abort();
		if (d == 0) {
			memcpy(a, p, sizeof(a));
			if (pread(pmem_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) || memcmp(a, b, 64))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_in in = { data, size };

	if (!ready) {
		make_vm();
		ready = true;
	}
	fake_vm_reset(&fv);
	clean[0] = clean[1] = false;
	memset(gpa_ptr(&fv.vm.mem, 0, DATA_WINDOW), 0, DATA_WINDOW);
	for (unsigned ops = 0; in.left && ops < 256; ops++) {
		unsigned op = (unsigned)fuzz_take(&in, 1);
		unsigned s = slot[fuzz_take(&in, 1) & 1];
		unsigned len = 1u << (op >> 6);

		switch (op % 7) {
		case 0:
			fake_cfg_write(&fv, s, (unsigned)fuzz_take(&in, 2) & 0xfff,
				       (uint32_t)fuzz_take(&in, 4), len > 4 ? 4 : len);
			clean[0] = clean[1] = false;
			break;
		case 1:
			fake_cfg_read(&fv, s, (unsigned)fuzz_take(&in, 2) & 0xffc);
			break;
		case 2:
			fake_mmio(&fv, FAKE_BAR(s) + (fuzz_take(&in, 2) & 0x7fff), fuzz_take(&in, 8),
				  len, true);
			clean[0] = clean[1] = false;
			break;
		case 3:
			fake_mmio_read(&fv, FAKE_BAR(s) + (fuzz_take(&in, 2) & 0x7fff), len);
			break;
		case 4: op_ram(&in); break;
		case 5:
			fake_mmio(&fv, FAKE_BAR(s) + FAKE_BAR_NOTIFY, 0, 2, true);
			event_loop_poll(fv.vm.loop, 0);
			clean[0] = clean[1] = false;	/* the rings are shared */
			break;
		default: op_request(&in); break;
		}
	}
	event_loop_poll(fv.vm.loop, 0);
	fake_vm_reset(&fv);
	check_memory();
	return 0;
}
