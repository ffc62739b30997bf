// SPDX-License-Identifier: MIT
#include "core/input.h"

#include <string.h>
#include <sys/sysinfo.h>

#include "core/arch.h"
#include "core/cli.h"
#include "core/vm.h"

int check_host_memory(const struct vm_config *cfg)
{
	struct sysinfo si;
	uint64_t host;

	if (sysinfo(&si))
		return 0;	/* unknown: KVM and mmap will tell */
	host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
	if (cfg->memory.size <= host)
		return 0;
	wisp_err("--memory: size=%lluM is more than this host has (%lluM)",
		 (unsigned long long)(cfg->memory.size >> 20), (unsigned long long)(host >> 20));
	return -1;
}

int inputs_load(const struct vm_config *cfg, struct vm_inputs *in)
{
	const char *option = cfg->kernel ? "kernel" : "firmware";

	memset(in, 0, sizeof(*in));
	if (file_map(option, cfg->kernel ? cfg->kernel : cfg->firmware, &in->kernel) ||
	    (cfg->initramfs && file_map("initramfs", cfg->initramfs, &in->initramfs)) ||
	    check_host_memory(cfg) || arch_check_boot(cfg, in)) {
		inputs_free(in);
		return EXIT_USAGE;
	}
	return 0;
}

void inputs_free(struct vm_inputs *in)
{
	file_unmap(&in->kernel);
	file_unmap(&in->initramfs);
}
