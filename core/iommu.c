// SPDX-License-Identifier: MIT
/* The VM's paravirtual IOMMU, whichever device provides it (iommu.h). */
#include "core/iommu.h"

#include "core/pci.h"
#include "core/vm.h"

int iommu_register(struct vm *vm, struct iommu *iommu)
{
	if (vm->iommu)
		return -1;
	vm->iommu = iommu;
	return 0;
}

struct iommu_endpoint *iommu_add_pci(struct vm *vm, struct pci_function *fn)
{
	struct iommu *iommu = vm->iommu;
	struct iommu_endpoint *ep;

	if (!iommu) {
		wisp_err("%s: iommu=on, but this wisp has no IOMMU built in", fn->name);
		return NULL;
	}
	if (iommu->nendpoints == IOMMU_MAX_ENDPOINTS) {
		wisp_err("%s: iommu=on: at most %d devices behind the IOMMU", fn->name,
			 IOMMU_MAX_ENDPOINTS);
		return NULL;
	}
	ep = iommu->add_pci(iommu, fn);
	if (ep)
		iommu->endpoint[iommu->nendpoints++] = ep;
	return ep;
}

int iommu_mirror(struct vm *vm, struct iommu_endpoint *ep, const struct iommu_mirror *m)
{
	struct iommu *iommu = vm->iommu;

	if (!iommu || !iommu->mirror) {
		wisp_err("iommu=on: this IOMMU cannot drive a device that does its own DMA");
		return -1;
	}
	return iommu->mirror(iommu, ep, m);
}
