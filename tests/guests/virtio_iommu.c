// SPDX-License-Identifier: MIT
/*
 * virtio-iommu (virtio 1.2, 5.13) with a virtio-blk disk behind it
 * (--disk ...,iommu=on), against the image of tests/direct/virtio.sh:
 * sector N holds 32 lines "initial NNNNNNN\n".
 *
 *   1. ACPI VIOT: a virtio-iommu PCI node at the IOMMU's BDF and a PCI
 *      range node holding the disk's BDF that points at it;
 *   2. the IOMMU's config (page_size_mask with 4 KiB, probe_size), a
 *      PROBE of the disk's endpoint: the x86 MSI window as a reserved
 *      region; requests that must fail (unknown endpoint, MAP without a
 *      domain, misaligned MAP, unknown type);
 *   3. a driver that declines VIRTIO_F_ACCESS_PLATFORM (as Linux's
 *      virtio_balloon does) gets guest-physical DMA, as under QEMU: a
 *      read of sector 7 into the data page by its own address, before
 *      the disk is attached to any domain;
 *   4. ATTACH the disk to domain 1, MAP the guest image identity
 *      (rings, headers and status bytes live there) and I/O virtual
 *      address DATA_IOVA (1 GiB: not even RAM here) to a data page;
 *   5. a read of sector 7 into DATA_IOVA lands in the data page; a
 *      write of sector 500 from DATA_IOVA, read back through it;
 *   6. UNMAP DATA_IOVA, then a read into it: the disk sets NEEDS_RESET,
 *      completes nothing, and the data page is untouched; the IOMMU
 *      posts exactly one fault event (MAPPING, write, the disk's
 *      endpoint, DATA_IOVA) into the event buffers posted in step 2;
 *   7. after a reset, DATA_IOVA mapped read-only: a read into it (a
 *      device write) is refused the same way, one more fault event;
 *      after another reset, a write of sector 501 from it (a device
 *      read) works, and no event follows.
 * The harness checks that sectors 500 and 501 read "written" in the
 * image and that nothing else changed.
 */
#include "virtio.h"

#define VIRTIO_ID_IOMMU 23
#define VECTOR_BASE 0x50
#define TIMEOUT_MS 2000
#define SECTOR 512
#define DATA_IOVA 0x40000000ul
#define DOMAIN 1

/* virtio-iommu */
#define F_MAP_UNMAP 2
#define F_PROBE 4
#define T_ATTACH 1
#define T_MAP 3
#define T_UNMAP 4
#define T_PROBE 5
#define S_OK 0
#define S_UNSUPP 2
#define S_INVAL 4
#define S_RANGE 5
#define S_NOENT 6
#define MAP_READ 1
#define MAP_WRITE 2
#define CFG_PAGE_SIZE_MASK 0
#define CFG_PROBE_SIZE 32
#define PROBE_MAX 512

/* virtio-blk */
#define BLK_T_IN 0
#define BLK_T_OUT 1

struct __attribute__((packed)) req_attach {
	uint8_t head[4];
	uint32_t domain, endpoint, flags;
	uint8_t reserved[4];
};

struct __attribute__((packed)) req_map {
	uint8_t head[4];
	uint32_t domain;
	uint64_t virt_start, virt_end, phys_start;
	uint32_t flags;
};

struct __attribute__((packed)) req_unmap {
	uint8_t head[4];
	uint32_t domain;
	uint64_t virt_start, virt_end;
	uint8_t reserved[4];
};

struct __attribute__((packed)) req_probe {
	uint8_t head[4];
	uint32_t endpoint;
	uint8_t reserved[64];
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

extern char __bss_end[];

static struct virtio_dev iommu, blk;
static uint8_t iommu_rings[2][VQ_MEM_BYTES] __attribute__((aligned(4096)));
#define NEVENTS 4
/* struct virtio_iommu_fault: the event queue's buffers */
struct fault_event {
	uint8_t reason, reserved[3];
	uint32_t flags, endpoint;
	uint8_t reserved2[4];
	uint64_t address;
} __attribute__((packed));
static struct fault_event events[NEVENTS] __attribute__((aligned(64)));
#define FAULT_R_MAPPING 2
#define FAULT_F_WRITE 2
#define FAULT_F_ADDRESS 0x100
static uint8_t resp[PROBE_MAX + 4] __attribute__((aligned(8)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static struct blk_hdr hdr;
static volatile uint8_t blk_status;
static uint64_t image_end;

/* ------------------------------------------------------------ IOMMU */

/* One request: `len` bytes out, the tail (after `props` bytes of
 * property buffer) in; returns the status. */
static uint8_t iommu_req(void *req, uint32_t len, uint32_t props)
{
	struct vq_buf b[2] = { { req, len }, { resp, props + 4 } };
	uint32_t id, used_len;

	memset(resp, 0xee, sizeof(resp));
	CHECK(vq_add(&iommu.vq[0], b, 1, 1) >= 0, "iommu: no free descriptors");
	vq_kick(&iommu, &iommu.vq[0]);
	CHECK(vq_wait_used(&iommu, &iommu.vq[0], 1, TIMEOUT_MS, false), "iommu: request type %u "
	      "not completed (status 0x%x)", ((uint8_t *)req)[0], virtio_status(&iommu));
	CHECK(vq_get_used(&iommu.vq[0], &id, &used_len), "iommu: no used entry");
	CHECK(used_len == props + 4, "iommu: used length %u, want %u", used_len, props + 4);
	return resp[props];
}

static uint8_t attach(uint32_t domain, uint32_t ep)
{
	struct req_attach r = { { T_ATTACH }, domain, ep, 0, { 0 } };

	return iommu_req(&r, sizeof(r), 0);
}

static uint8_t map(uint64_t iova, uint64_t len, uint64_t gpa, uint32_t flags)
{
	struct req_map r = { { T_MAP }, DOMAIN, iova, iova + len - 1, gpa, flags };

	return iommu_req(&r, sizeof(r), 0);
}

static uint8_t unmap(uint64_t iova, uint64_t len)
{
	struct req_unmap r = { { T_UNMAP }, DOMAIN, iova, iova + len - 1, { 0 } };

	return iommu_req(&r, sizeof(r), 0);
}

/* ------------------------------------------------------------- VIOT */

static void check_viot(void)
{
	const struct acpi_header *t = acpi_find_table("VIOT");
	const uint8_t *p, *end;
	uint16_t nodes, iommu_node = 0, output = 0xffff;
	bool iommu_seen = false, blk_seen = false;

	CHECK(t, "no VIOT table");
	p = (const uint8_t *)t;
	end = p + t->length;
	nodes = (uint16_t)(p[36] | p[37] << 8);
	p += p[38] | p[39] << 8;
	for (unsigned i = 0; i < nodes; i++) {
		uint16_t len = (uint16_t)(p[2] | p[3] << 8);

		CHECK(len >= 4 && p + len <= end, "VIOT node %u: length %u", i, len);
		if (p[0] == 3) {	/* virtio-iommu PCI */
			CHECK((p[6] | p[7] << 8) == iommu.bdf, "VIOT: IOMMU at BDF 0x%x, device at 0x%x",
			      p[6] | p[7] << 8, iommu.bdf);
			iommu_seen = true;
			iommu_node = (uint16_t)(p - (const uint8_t *)t);
		} else if (p[0] == 1) {	/* PCI range */
			uint16_t lo = (uint16_t)(p[12] | p[13] << 8), hi = (uint16_t)(p[14] | p[15] << 8);
			uint32_t ep = (uint32_t)(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24);

			if (blk.bdf >= lo && blk.bdf <= hi) {
				CHECK(ep + (blk.bdf - lo) == blk.bdf, "VIOT: the disk is endpoint 0x%x",
				      ep + (blk.bdf - lo));
				blk_seen = true;
				output = (uint16_t)(p[16] | p[17] << 8);
			}
		}
		p += len;
	}
	CHECK(iommu_seen && blk_seen, "VIOT: IOMMU node %d, disk in a PCI range %d", iommu_seen,
	      blk_seen);
	CHECK(output == iommu_node, "VIOT: the disk's range points at node 0x%x, IOMMU at 0x%x",
	      output, iommu_node);
	printf("virtio_iommu: VIOT: IOMMU %02x:%02x.0, disk %02x:%02x.0 behind it\n",
	       iommu.bdf >> 8, (iommu.bdf >> 3) & 31, blk.bdf >> 8, (blk.bdf >> 3) & 31);
}

/* --------------------------------------------------------- the IOMMU */

static void iommu_setup(void)
{
	struct req_probe probe = { { T_PROBE }, blk.bdf, { 0 } };
	struct req_map bad_map = { { T_MAP }, 77, 0, 0xfff, 0, MAP_READ };
	uint8_t junk[8] = { 0x42 };
	uint64_t mask;
	uint32_t probe_size;

	virtio_init(&iommu, VIRTIO_F(VIRTIO_F_VERSION_1) | VIRTIO_F(F_MAP_UNMAP) | VIRTIO_F(F_PROBE));
	CHECK(iommu.features & VIRTIO_F(F_MAP_UNMAP), "iommu: MAP_UNMAP not offered");
	mask = virtio_cfg64(&iommu, CFG_PAGE_SIZE_MASK);
	probe_size = *(volatile uint32_t *)(iommu.device + CFG_PROBE_SIZE);
	CHECK(mask & 0x1000, "iommu: page_size_mask 0x%lx lacks 4 KiB", mask);
	CHECK(probe_size && probe_size <= PROBE_MAX, "iommu: probe_size %u", probe_size);
	vq_setup_mem(&iommu, 0, 8, VIRTIO_NO_VECTOR, iommu_rings[0]);
	vq_setup_mem(&iommu, 1, 8, VIRTIO_NO_VECTOR, iommu_rings[1]);
	virtio_driver_ok(&iommu);

	/* the disk's properties: the MSI doorbells are reserved */
	CHECK(iommu_req(&probe, sizeof(probe), probe_size) == S_OK, "iommu: PROBE failed");
	CHECK((resp[0] | resp[1] << 8) == 1 && resp[4] == 1 &&
	      *(uint64_t *)(void *)&resp[8] == 0xfee00000ull &&
	      *(uint64_t *)(void *)&resp[16] == 0xfeefffffull,
	      "iommu: PROBE gave type %u subtype %u", resp[0] | resp[1] << 8, resp[4]);
	printf("virtio_iommu: PROBE: MSI window 0xfee00000-0xfeefffff reserved\n");

	/* what must fail */
	probe.endpoint = 0xbeef;
	CHECK(iommu_req(&probe, sizeof(probe), probe_size) == S_NOENT, "iommu: PROBE of no endpoint");
	CHECK(attach(DOMAIN, 0xbeef) == S_NOENT, "iommu: ATTACH of no endpoint");
	CHECK(iommu_req(&bad_map, sizeof(bad_map), 0) == S_NOENT, "iommu: MAP without a domain");
	CHECK(iommu_req(junk, sizeof(junk), 0) == S_UNSUPP, "iommu: unknown request type");
	printf("virtio_iommu: bad requests refused\n");

	/* event buffers for fault reports */
	memset(events, 0xee, sizeof(events));
	for (unsigned i = 0; i < NEVENTS; i++) {
		struct vq_buf b = { &events[i], sizeof(events[i]) };

		CHECK(vq_add(&iommu.vq[1], &b, 0, 1) >= 0, "iommu: no room for event buffers");
	}
	vq_notify(&iommu, &iommu.vq[1]);
}

/* Exactly one fault event has come: a write to DATA_IOVA refused for
 * the disk, the mapping's fault (no more waiting behind it). */
static void expect_fault_event(unsigned n)
{
	uint32_t id, len;
	struct fault_event *e;

	CHECK(vq_wait_used(&iommu, &iommu.vq[1], 1, TIMEOUT_MS, false),
	      "iommu: no fault event for the refused DMA");
	CHECK(vq_get_used(&iommu.vq[1], &id, &len) && id < NEVENTS, "iommu: bad event entry");
	CHECK(len == sizeof(*e), "iommu: fault event of %u bytes", len);
	e = &events[n];
	CHECK(id == n, "iommu: event in buffer %u, want %u", id, n);
	CHECK(e->reason == FAULT_R_MAPPING && !e->reserved[0] && !e->reserved[1] &&
	      !e->reserved[2] && e->flags == (FAULT_F_WRITE | FAULT_F_ADDRESS) &&
	      e->endpoint == blk.bdf && e->address == DATA_IOVA,
	      "iommu: fault event reason %u flags 0x%x endpoint 0x%x address 0x%lx",
	      e->reason, e->flags, e->endpoint, e->address);
	CHECK(!vq_used_pending(&iommu.vq[1]), "iommu: more than one fault event");
}

/* ------------------------------------------------------------- disk */

static void blk_start(void)
{
	virtio_init(&blk, VIRTIO_F(VIRTIO_F_VERSION_1) | VIRTIO_F(VIRTIO_F_ACCESS_PLATFORM));
	CHECK(blk.features & VIRTIO_F(VIRTIO_F_ACCESS_PLATFORM), "blk: ACCESS_PLATFORM not offered");
	vq_setup(&blk, 0, 8, VIRTIO_NO_VECTOR);
	virtio_driver_ok(&blk);
}

/* A request with its data at I/O virtual address iova; true when it
 * completed (*status its status), false when the device gave up on the
 * queue instead (NEEDS_RESET, nothing in the used ring). */
static bool blk_io(uint32_t type, uint64_t sector, uint64_t iova, uint8_t *status)
{
	struct vq_buf b[3] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)(uintptr_t)iova, SECTOR },
		{ (void *)&blk_status, 1 },
	};
	uint32_t id, len;

	hdr = (struct blk_hdr){ .type = type, .sector = sector };
	blk_status = 0xee;
	CHECK(vq_add(&blk.vq[0], b, type == BLK_T_IN ? 1 : 2, type == BLK_T_IN ? 2 : 1) >= 0,
	      "blk: no free descriptors");
	vq_kick(&blk, &blk.vq[0]);
	deadline_start(TIMEOUT_MS);
	while (!vq_used_pending(&blk.vq[0]) && !(virtio_status(&blk) & VIRTIO_STATUS_NEEDS_RESET) &&
	       !deadline_passed())
		pause();
	if (virtio_status(&blk) & VIRTIO_STATUS_NEEDS_RESET) {
		CHECK(!vq_used_pending(&blk.vq[0]), "blk: NEEDS_RESET, yet the request completed");
		return false;
	}
	CHECK(vq_get_used(&blk.vq[0], &id, &len), "blk: request on sector %lu not completed",
	      sector);
	*status = blk_status;
	return true;
}

static void fill(uint8_t *p, const char *tag, uint32_t sector)
{
	for (unsigned l = 0; l < SECTOR / 16; l++, p += 16) {
		uint32_t v = sector;

		memcpy(p, tag, 7);
		p[7] = ' ';
		for (int i = 14; i >= 8; i--, v /= 10)
			p[i] = (uint8_t)('0' + v % 10);
		p[15] = '\n';
	}
}

static bool untouched(void)
{
	for (unsigned i = 0; i < SECTOR; i++)
		if (data[i] != 0x5a)
			return false;
	return true;
}

void guest_main(const struct hvm_start_info *si)
{
	uint8_t want[SECTOR], st;

	(void)si;
	virtio_find(&iommu, VIRTIO_ID_IOMMU, VECTOR_BASE);
	virtio_find(&blk, VIRTIO_ID_BLOCK, VECTOR_BASE);
	check_viot();
	iommu_setup();

	/* 3: ACCESS_PLATFORM declined: guest-physical addresses, no mapping */
	virtio_init(&blk, VIRTIO_F(VIRTIO_F_VERSION_1));
	vq_setup(&blk, 0, 8, VIRTIO_NO_VECTOR);
	virtio_driver_ok(&blk);
	memset(data, 0x5a, sizeof(data));
	CHECK(blk_io(BLK_T_IN, 7, (uintptr_t)data, &st) && st == 0,
	      "blk: read of sector 7 without ACCESS_PLATFORM failed");
	fill(want, "initial", 7);
	CHECK(!memcmp(data, want, SECTOR), "blk: sector 7 by gpa reads '%.15s'", (char *)data);
	printf("virtio_iommu: without ACCESS_PLATFORM the disk takes guest-physical addresses\n");

	/* 4: attach; identity for the image, DATA_IOVA for the data page */
	image_end = ((uint64_t)(uintptr_t)__bss_end + 4095) & ~4095ull;
	CHECK(attach(DOMAIN, blk.bdf) == S_OK, "iommu: ATTACH of the disk failed");
	CHECK(map(0x100000, 0x800, 0x100000, MAP_READ) == S_RANGE, "iommu: misaligned MAP accepted");
	CHECK(map(0x100000, image_end - 0x100000, 0x100000, MAP_READ | MAP_WRITE) == S_OK,
	      "iommu: identity MAP failed");
	CHECK(map(DATA_IOVA, 4096, (uintptr_t)data, MAP_READ | MAP_WRITE) == S_OK,
	      "iommu: MAP of the data page failed");
	blk_start();

	/* 5: reads and writes through the translation */
	memset(data, 0x5a, sizeof(data));
	CHECK(blk_io(BLK_T_IN, 7, DATA_IOVA, &st) && st == 0, "blk: read of sector 7 failed");
	fill(want, "initial", 7);
	CHECK(!memcmp(data, want, SECTOR), "blk: sector 7 via iova reads '%.15s'", (char *)data);
	printf("virtio_iommu: read via iova 0x%lx landed at gpa 0x%lx\n", DATA_IOVA,
	       (uint64_t)(uintptr_t)data);
	fill(data, "written", 500);
	CHECK(blk_io(BLK_T_OUT, 500, DATA_IOVA, &st) && st == 0, "blk: write of sector 500 failed");
	memset(data, 0, SECTOR);
	CHECK(blk_io(BLK_T_IN, 500, DATA_IOVA, &st) && st == 0, "blk: read of sector 500 failed");
	fill(want, "written", 500);
	CHECK(!memcmp(data, want, SECTOR), "blk: sector 500 reads back '%.15s'", (char *)data);
	printf("virtio_iommu: wrote sector 500 via iova, read back\n");

	/* 6: unmapped: refused, nothing written */
	CHECK(unmap(DATA_IOVA, 4096) == S_OK, "iommu: UNMAP failed");
	memset(data, 0x5a, sizeof(data));
	CHECK(!blk_io(BLK_T_IN, 7, DATA_IOVA, &st), "blk: read into an unmapped iova completed "
	      "(status %u)", st);
	CHECK(untouched(), "blk: the unmapped page was written");
	expect_fault_event(0);
	printf("virtio_iommu: unmapped iova: NEEDS_RESET, page untouched\n");
	printf("virtio_iommu: fault event: MAPPING, write, endpoint 0x%x, address 0x%lx\n",
	       events[0].endpoint, events[0].address);

	/* 7: read-only: the device may read it, not write it */
	CHECK(map(DATA_IOVA, 4096, (uintptr_t)data, MAP_READ) == S_OK, "iommu: read-only MAP failed");
	blk_start();
	CHECK(!blk_io(BLK_T_IN, 7, DATA_IOVA, &st), "blk: read into a read-only iova completed");
	CHECK(untouched(), "blk: the read-only page was written");
	expect_fault_event(1);
	blk_start();
	fill(data, "written", 501);
	CHECK(blk_io(BLK_T_OUT, 501, DATA_IOVA, &st) && st == 0, "blk: write from a read-only "
	      "mapping failed");
	CHECK(!vq_used_pending(&iommu.vq[1]), "iommu: a fault event for an allowed access");
	printf("virtio_iommu: read-only iova: device write refused, device read allowed\n");
	pass();
}
