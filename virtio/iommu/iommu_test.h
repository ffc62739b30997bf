/* SPDX-License-Identifier: MIT */
/* Hooks into virtio/iommu/ for tests/unit/test_iommu.c (built only with
 * WISP_UNIT_TEST): requests and translations without a VM, the request
 * chains made of the caller's buffers. */
#ifndef WISP_VIRTIO_IOMMU_TEST_H
#define WISP_VIRTIO_IOMMU_TEST_H

#include <stddef.h>
#include <stdint.h>

struct guest_memory;
struct iommu_endpoint;
struct viommu;

/* An IOMMU over `mem` with endpoints of the given BDFs (segment 0). */
struct viommu *viommu_test_new(const struct guest_memory *mem, const uint16_t *bdf,
			       unsigned n);
void viommu_test_free(struct viommu *v);
/* One request: `req` as the readable part, `resp` (property buffer and
 * tail) as the writable part.  The bytes written, or -1 (no room for
 * the tail: the queue would break). */
int viommu_test_request(struct viommu *v, const void *req, size_t len, void *resp,
			size_t resp_len);
struct iommu_endpoint *viommu_test_endpoint(struct viommu *v, unsigned i);
uint64_t viommu_test_faults(const struct viommu *v);
/* The virtio-iommu behind a VM's struct iommu (a fake_vm's). */
struct iommu;
struct viommu *viommu_test_of(struct iommu *iommu);
/* Fault events: waiting for an event buffer (at most FAULTS_PENDING),
 * written into one, dropped because too many were waiting. */
struct viommu_test_fault_events {
	unsigned pending;
	uint64_t posted, dropped;
};
void viommu_test_fault_events(struct viommu *v, struct viommu_test_fault_events *out);
/* What a device reset does. */
void viommu_test_reset(struct viommu *v);
/* Endpoint i becomes a mirror (struct iommu's mirror()). */
struct iommu_mirror;
int viommu_test_mirror(struct viommu *v, unsigned i, const struct iommu_mirror *m);
/* The config the guest reads, in host order. */
void viommu_test_config(const struct viommu *v, uint64_t *page_size_mask,
			uint64_t *input_start, uint64_t *input_end);

#endif
