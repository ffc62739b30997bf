// SPDX-License-Identifier: MIT
#include "core/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

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

#ifdef CONFIG_SNAPSHOT
/* The snapshot's RAM file: there, a regular file, as large as RAM. */
static int open_snapshot_memory(const struct vm_config *cfg, struct vm_inputs *in)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", cfg->restore.dir, SNAPSHOT_MEMORY_FILE);
	in->snapshot_memory = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in->snapshot_memory < 0) {
		wisp_err("--restore: %s: %s (an incomplete snapshot?)", path, strerror(errno));
		return -1;
	}
	if (fstat(in->snapshot_memory, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != cfg->memory.size) {
		wisp_err("--restore: %s: not a regular file of %llu bytes, the snapshot's RAM",
			 path, (unsigned long long)cfg->memory.size);
		return -1;
	}
	return check_host_memory(cfg);
}
#endif

int inputs_load(const struct vm_config *cfg, struct vm_inputs *in)
{
	const char *option = cfg->kernel ? "kernel" : "firmware";

	memset(in, 0, sizeof(*in));
	in->snapshot_memory = -1;
#ifdef CONFIG_SNAPSHOT
	if (cfg->restore.dir) {
		if (!open_snapshot_memory(cfg, in))
			return 0;
		inputs_free(in);
		return EXIT_USAGE;
	}
#endif
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
	if (in->snapshot_memory >= 0)
		close(in->snapshot_memory);
	in->snapshot_memory = -1;
}
