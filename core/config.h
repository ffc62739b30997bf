/* SPDX-License-Identifier: MIT */
/*
 * struct vm_config: everything the command line decided, validated.
 * The CLI fills it in; machine set-up and devices only read it.
 */
#ifndef WISP_CORE_CONFIG_H
#define WISP_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct device_desc;

#define MAX_DEVICE_INSTANCES 64

struct device_instance {
	const struct device_desc *desc;
	void *config;		/* desc->config_size bytes, parsed */
	char *args;		/* the option text the config's strings point into */
};

enum seccomp_mode { SECCOMP_ON, SECCOMP_OFF, SECCOMP_LOG };

struct memory_config {
	uint64_t size;
	bool shared;		/* memfd, mappable by vhost-user back-ends */
	bool hugepages;
	bool thp;		/* madvise(MADV_HUGEPAGE), default on */
	bool mergeable;		/* madvise(MADV_MERGEABLE): KSM */
	bool prefault;		/* MAP_POPULATE */
	uint64_t hugepage_size;	/* with hugepages: the page size, 0 the default */
};

struct vm_config {
	const char *kernel;
	const char *initramfs;
	const char *cmdline;
	const char *firmware;
	unsigned cpus;
	struct memory_config memory;
	enum seccomp_mode seccomp;
	bool timeline;
	size_t ndevices;
	struct device_instance devices[MAX_DEVICE_INSTANCES];
};

#endif
