// SPDX-License-Identifier: MIT
/*
 * Split-virtqueue walking (virtio/virtqueue.c) against a hostile driver:
 * the input chooses the queue size, the negotiated features and where
 * the rings are (in RAM, across its end, in the hole), then fills guest
 * RAM; the device pops, reads and writes every chain and completes it,
 * with the indices moving under it between pops.  ASan catches any
 * access outside guest RAM; the loop bound catches a walk that never
 * ends.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "core/config.h"
#include "core/memory.h"
#include "virtio/virtqueue.h"

#define RAM0 0x10000ull			/* 64 KiB at 0 ... */
#define RAM1_GPA 0x100000ull		/* ... and 64 KiB at 1 MiB */
#define RAM1 0x10000ull

static struct guest_memory mem;
static struct virtq_dma dma;

static void setup_once(void)
{
	static const uint64_t layout[][2] = { { 0, RAM0 }, { RAM1_GPA, RAM1 } };
	struct memory_config cfg = { .size = RAM0 + RAM1 };

	if (memory_init(&mem, &cfg, layout, 2))
		abort();
	virtq_dma_guest(&dma, &mem);
}

/* A ring address: mostly inside RAM, sometimes anywhere at all. */
static uint64_t ring_addr(struct fuzz_in *in)
{
	uint64_t sel = fuzz_take(in, 1);

	if (sel < 200)
		return fuzz_take(in, 2) & ~0xfull;
	if (sel < 240)
		return RAM1_GPA + (fuzz_take(in, 2) & ~0xfull);
	return fuzz_take(in, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_in in = { data, size };
	struct virtq q = { 0 };
	struct virtq_chain *c = malloc(sizeof(*c));
	uint16_t qsize = (uint16_t)(1u << (fuzz_take(&in, 1) % 9));	/* 1..256 */
	uint64_t features = fuzz_take(&in, 1);
	uint64_t desc = ring_addr(&in), avail = ring_addr(&in), used = ring_addr(&in);
	uint8_t scratch[512];
	size_t n;

	if (!ready++)
		setup_once();
	features = ((features & 1) << VIRTQ_FEATURE_INDIRECT_DESC) |
		   ((features & 2) ? 1ull << VIRTQ_FEATURE_EVENT_IDX : 0);
	/* the rest of the input is guest RAM, both regions */
	memset(gpa_ptr(&mem, 0, RAM0), 0, RAM0);
	memset(gpa_ptr(&mem, RAM1_GPA, RAM1), 0, RAM1);
	n = in.left < RAM0 ? in.left : RAM0;
	memcpy(gpa_ptr(&mem, 0, RAM0), in.p, n);
	gpa_write(&mem, RAM1_GPA, in.p, n);

	if (virtq_init(&q, &dma, qsize, desc, avail, used, features) == 0) {
		for (unsigned round = 0; round < 4 * qsize + 8; round++) {
			int got = virtq_pop(&q, c);

			if (got <= 0)
				break;
			/* read what the driver gave, answer in what it left */
			virtq_chain_read(c, 0, scratch, sizeof(scratch));
			virtq_chain_read(c, c->out_len > 16 ? c->out_len - 16 : 0, scratch, 32);
			n = virtq_chain_write(c, 0, scratch, c->in_len < sizeof(scratch) ?
						       (size_t)c->in_len : sizeof(scratch));
			if (round & 1)
				virtq_push(&q, c, (uint32_t)n);
			else {
				virtq_fill(&q, c, (uint32_t)c->in_len);
				virtq_flush(&q);
			}
			virtq_needs_interrupt(&q);
			if (round == 2)
				virtq_notify_enable(&q);
		}
		virtq_reset(&q);
	}
	free(c);
	return 0;
}
