// SPDX-License-Identifier: MIT
/* virtio/iommu/iommu_test.h's hooks: built for the unit tests and
 * fuzzers only (test-y in virtio/Kbuild). */
#include "virtio/iommu/iommu.h"
#include "virtio/iommu/iommu_test.h"

struct viommu *viommu_test_new(const struct guest_memory *mem, const uint16_t *bdf,
			       unsigned n)
{
	struct viommu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	viommu_init(v, mem);
	for (unsigned i = 0; i < n && i < IOMMU_MAX_ENDPOINTS; i++)
		endpoint_new(v, 0, bdf[i]);
	return v;
}

void viommu_test_free(struct viommu *v)
{
	for (unsigned i = 0; i < IOMMU_MAX_ENDPOINTS; i++)
		if (v->domain[i].live)
			domain_destroy(&v->domain[i]);
	free(v);
}

int viommu_test_request(struct viommu *v, const void *req, size_t len, void *resp,
			size_t resp_len)
{
	struct virtq_chain c = { .nout = len ? 1 : 0, .out_len = len,
				 .nin = resp_len ? 1 : 0, .in_len = resp_len };

	c.out[0].iov_base = (void *)req;
	c.out[0].iov_len = len;
	c.in[0].iov_base = resp;
	c.in[0].iov_len = resp_len;
	return handle_request(v, &c);
}

struct iommu_endpoint *viommu_test_endpoint(struct viommu *v, unsigned i)
{
	return i < v->nep ? &v->ep[i].pub : NULL;
}

uint64_t viommu_test_faults(const struct viommu *v)
{
	return v->faults;
}

struct viommu *viommu_test_of(struct iommu *iommu)
{
	return (struct viommu *)((char *)iommu - offsetof(struct viommu, iommu));
}

void viommu_test_fault_events(struct viommu *v, struct viommu_test_fault_events *out)
{
	pthread_mutex_lock(&v->fault_lock);
	out->pending = v->npending;
	out->posted = v->faults_posted;
	out->dropped = v->faults_dropped;
	pthread_mutex_unlock(&v->fault_lock);
}

void viommu_test_reset(struct viommu *v)
{
	struct virtio_dev d = { .priv = v };

	viommu_reset(&d);
}

int viommu_test_mirror(struct viommu *v, unsigned i, const struct iommu_mirror *m)
{
	return viommu_mirror(&v->iommu, viommu_test_endpoint(v, i), m);
}

void viommu_test_config(const struct viommu *v, uint64_t *page_size_mask,
			uint64_t *input_start, uint64_t *input_end)
{
	*page_size_mask = le64toh(v->cfg.page_size_mask);
	*input_start = le64toh(v->cfg.input_start);
	*input_end = le64toh(v->cfg.input_end);
}
