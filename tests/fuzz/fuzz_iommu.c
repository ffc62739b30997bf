// SPDX-License-Identifier: MIT
/*
 * virtio-iommu (virtio/iommu/) as a hostile guest drives it: a KVM-less
 * VM (tests/unit/fake_vm.h) whose NIC and vsock device sit behind the
 * IOMMU (iommu=on), made by the real device table.  The input is a list
 * of operations:
 *   - a request straight into handle_request() (viommu_test_request):
 *     ATTACH, DETACH, MAP, UNMAP, PROBE or any type, with fields mostly
 *     near what a driver sends (small domains, the endpoints' ids,
 *     page-aligned ranges in RAM) and sometimes anything, cut short or
 *     with a reply buffer of any size;
 *   - a translation by an endpoint (its map(), under a DMA hold), which
 *     must be explained by a MAP the IOMMU accepted: inside that
 *     mapping, with its permission, at the host address of its guest
 *     page, never longer than asked; a refusal becomes a fault event;
 *   - guest RAM contents, queue set-up and notifications of any of the
 *     three devices: requests through the IOMMU's own request queue,
 *     fault events into its event queue, and the NIC's and vsock's rings
 *     through the translation;
 *   - the event loop (fault events posted), a device reset.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "fake_vm.h"
#include "core/iommu.h"
#include "virtio/iommu/iommu_test.h"
#include "virtio/net_test.h"

#define DATA_WINDOW 0x100000ull		/* input bytes land in [0, 1 MiB) */
#define MAX_SEEN 512			/* accepted MAPs remembered per input */
#define PAGE 4096ull

static struct fake_vm fv;
static struct viommu *viommu;
static unsigned nslots;

/* Every MAP the IOMMU accepted during this input, whatever came after:
 * a translation must be explained by one of them. */
static struct seen {
	uint64_t start, end, gpa;
	uint32_t flags;
} seen[MAX_SEEN];
static unsigned nseen;

static void make_vm(void)
{
	char dir[64], kernel[96], vsock_arg[128];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
			       "--serial", "null", "--console", "null",
			       "--net", "tap=fuzz0,iommu=on",
			       "--vsock", vsock_arg, NULL };
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/wisp-fuzz-iommu-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(vsock_arg, sizeof(vsock_arg), "cid=3,socket=%s/v.sock,iommu=on", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || write(fd, "k", 1) != 1 || close(fd))
		abort();
	net_test_fake_tap = true;
	fake_vm_create(&fv, argv);
	nslots = fv.nslots;
	if (!fv.vm.iommu || fv.vm.iommu->nendpoints != 2 || nslots < 3)
		abort();
	viommu = viommu_test_of(fv.vm.iommu);
	fprintf(stderr, "fuzz_iommu: %u virtio functions, %u endpoints\n", nslots,
		fv.vm.iommu->nendpoints);
}

/* An endpoint id: one of the two, or anything. */
static uint32_t take_endpoint(struct fuzz_in *in)
{
	uint8_t sel = (uint8_t)fuzz_take(in, 1);

	if (sel < 250)
		return fv.vm.iommu->endpoint[sel & 1]->bdf;
	return (uint32_t)fuzz_take(in, 4);
}

/* An address: a page in or near RAM, or anything. */
static uint64_t take_page(struct fuzz_in *in)
{
	uint8_t sel = (uint8_t)fuzz_take(in, 1);

	if (sel < 240)
		return fuzz_take(in, 2) * PAGE;
	return fuzz_take(in, 8);
}

/* The range's last byte: a few pages on, or anything. */
static uint64_t take_end(struct fuzz_in *in, uint64_t start)
{
	uint8_t sel = (uint8_t)fuzz_take(in, 1);

	if (sel < 240)
		return start + (sel % 16 + 1) * PAGE - 1;
	return fuzz_take(in, 8);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* One request, body laid out as virtio 1.2 5.13.6 has it. */
static void op_request(struct fuzz_in *in)
{
	static uint8_t resp[1024];
	uint8_t req[96] = { 0 };
	uint8_t type = (uint8_t)fuzz_take(in, 1), shape = (uint8_t)fuzz_take(in, 1);
	size_t len = 4, resp_len;
	uint64_t start, end;

	req[0] = type < 250 ? type % 5 + 1 : type;
	put32(req + 4, (uint32_t)fuzz_take(in, 1) % 4);		/* domain */
	switch (req[0]) {
	case 1: case 2:	/* ATTACH, DETACH: endpoint, flags/reserved */
		put32(req + 8, take_endpoint(in));
		if (shape & 0x80)
			put32(req + 12, (uint32_t)fuzz_take(in, 4));
		len = 20;
		break;
	case 3:	/* MAP: virt_start, virt_end, phys_start, flags */
		start = take_page(in);
		end = take_end(in, start);
		put64(req + 8, start);
		put64(req + 16, end);
		put64(req + 24, take_page(in));
		put32(req + 32, (uint32_t)fuzz_take(in, 1) % 8);
		len = 36;
		break;
	case 4:	/* UNMAP */
		start = take_page(in);
		put64(req + 8, start);
		put64(req + 16, take_end(in, start));
		len = 28;
		break;
	case 5:	/* PROBE: endpoint, reserved */
		memmove(req + 4, req + 8, 4);
		put32(req + 4, take_endpoint(in));
		if (shape & 0x80)
			req[8 + fuzz_take(in, 1) % 64] = 1;
		len = 72;
		break;
	}
	/* cut short now and then; replies of the usual sizes or any */
	if ((shape & 0x60) == 0x60)
		len = fuzz_take(in, 1) % len;
	resp_len = (shape & 0x10) ? fuzz_take(in, 2) % sizeof(resp) : req[0] == 5 ? 516 : 4;
	memset(resp, 0xa5, sizeof(resp));
	if (viommu_test_request(viommu, req, len, resp, resp_len) >= 0 && req[0] == 3 &&
	    len == 36 && resp_len >= 4 && resp[0] == 0 && nseen < MAX_SEEN) {
		memcpy(&seen[nseen].start, req + 8, 8);
		memcpy(&seen[nseen].end, req + 16, 8);
		memcpy(&seen[nseen].gpa, req + 24, 8);
		memcpy(&seen[nseen].flags, req + 32, 4);
		nseen++;
	}
}

/* Whether [p, p + n) at iova is what some accepted MAP gives. */
static bool explained(uint64_t iova, const void *p, uint64_t n, bool write)
{
	for (unsigned i = 0; i < nseen; i++) {
		const struct seen *s = &seen[i];
		uint64_t gpa = s->gpa + (iova - s->start);

		if (iova < s->start || iova > s->end || !(s->flags & (write ? 2u : 1u)))
			continue;
		if (gpa_ptr(&fv.vm.mem, gpa, n) == p)
			return true;
	}
	return false;
}

/* A DMA by an endpoint, as its device makes one. */
static void op_translate(struct fuzz_in *in)
{
	struct iommu_endpoint *ep = fv.vm.iommu->endpoint[fuzz_take(in, 1) & 1];
	uint8_t sel = (uint8_t)fuzz_take(in, 1);
	uint64_t iova, want, n;
	bool write = sel & 1;
	unsigned ticket;
	void *p;

	if (nseen && sel < 200) {
		const struct seen *s = &seen[fuzz_take(in, 1) % nseen];
		uint64_t span = s->end - s->start;

		/* inside it, or just past its end */
		iova = s->start + (span < UINT32_MAX ? fuzz_take(in, 3) % (span + 2)
						      : fuzz_take(in, 8));
	} else {
		iova = fuzz_take(in, 8);
	}
	want = n = fuzz_take(in, 3) + 1;
	ticket = ep->hold(ep);
	p = ep->map(ep, iova, &n, write);
	if (p && (!n || n > want || !explained(iova, p, n, write)))
		abort();
	ep->release(ep, ticket);
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
	viommu_test_reset(viommu);
	event_loop_poll(fv.vm.loop, 0);		/* faults of the last input */
	nseen = 0;
	memset(gpa_ptr(&fv.vm.mem, 0, DATA_WINDOW), 0, DATA_WINDOW);
	for (unsigned ops = 0; in.left && ops < 512; ops++) {
		unsigned s = fv.slots[fuzz_take(&in, 1) % nslots];

		switch (fuzz_take(&in, 1) % 8) {
		case 0: case 1: op_request(&in); break;
		case 2: case 3: op_translate(&in); break;
		case 4: op_ram(&in); break;
		case 5:
			fake_setup_queue(&fv, s, (unsigned)fuzz_take(&in, 1) % 4,
					 1u << (fuzz_take(&in, 1) % 9));
			break;
		case 6:
			fake_mmio(&fv, FAKE_BAR(s) + FAKE_BAR_NOTIFY +
				  (fuzz_take(&in, 1) % 4) * FAKE_NOTIFY_MULTIPLIER, 0, 2, true);
			event_loop_poll(fv.vm.loop, 0);
			break;
		default:
			if (fuzz_take(&in, 1) & 1)
				viommu_test_reset(viommu);
			event_loop_poll(fv.vm.loop, 0);
			break;
		}
	}
	event_loop_poll(fv.vm.loop, 0);
	fake_vm_reset(&fv);
	return 0;
}
