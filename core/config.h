/* SPDX-License-Identifier: MIT */
/*
 * struct vm_config: everything the command line decided, validated.
 * The CLI fills it in; machine set-up and devices only read it.
 */
#ifndef WISP_CORE_CONFIG_H
#define WISP_CORE_CONFIG_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/kv.h"
#include "core/snapshot.h"

struct device_desc;

#define MAX_DEVICE_INSTANCES 64

struct device_instance {
	const struct device_desc *desc;
	void *config;		/* desc->config_size bytes, parsed */
	char *args;		/* the option text the config's strings point into */
	const char *id;		/* its id=, when it took one; NULL otherwise */
	/* The option's value as given (in argv, or in a snapshot's state
	 * file), kept for a snapshot's configuration; NULL for a default. */
	const char *text;
	bool from_snapshot;	/* a --restore'd instance, not from argv */
	struct kv_needs needs;	/* what its parse() asked of the rest */
};

/* --restore source_url=file:///DIR[,prefault=on][,resume=on] */
struct restore_config {
	const char *dir;	/* NULL: no restore */
	bool prefault;		/* read all of guest memory before resuming */
	bool resume;		/* run at once, without waiting for vm.resume */
	struct snapshot_file state;	/* the state file, read and checked */
	char **argv;		/* the snapshot's command line, into state */
};

/* Core options that make up the VM (--kernel, --memory...), as given:
 * with the devices' texts they are a snapshot's configuration. */
#define CLI_MAX_KEPT 8
struct kept_option {
	const char *name, *value;
};

enum seccomp_mode { SECCOMP_ON, SECCOMP_OFF, SECCOMP_LOG };

struct memory_config {
	uint64_t size;
	bool shared;		/* memfd, mappable by vhost-user back-ends */
	bool hugepages;
	bool thp;		/* madvise(MADV_HUGEPAGE), default on */
	bool mergeable;		/* madvise(MADV_MERGEABLE): KSM */
	bool prefault;		/* MAP_POPULATE */
	bool reserve;		/* without MAP_NORESERVE: swap or huge pages
				 * reserved when RAM is mapped, not at first touch */
	uint64_t hugepage_size;	/* with hugepages: the page size, 0 the default */
};

/* --cpus topology=THREADS:CORES:DIES:PACKAGES (cloud-hypervisor's
 * order).  All 0 when not given: then one package of `cpus` cores of
 * one thread each (cpu_topology_of). */
struct cpu_topology {
	unsigned threads, cores, dies, packages;
};

/* --cpus affinity=[VCPU@[HOST CPUS],...]: the host CPUs one vCPU's
 * thread may run on (CPU_SETSIZE of them at most); --disk
 * queue_affinity= the same for a virtqueue's I/O threads. */
struct cpu_affinity {
	unsigned index;		/* the vCPU, or the virtqueue */
	cpu_set_t host_cpus;
};

/* --cpus core_scheduling: which vCPU threads share a PR_SCHED_CORE
 * cookie (may run on SMT siblings of one core at once); the default is
 * cloud-hypervisor's, one cookie for the VM's vCPUs. */
enum core_scheduling { CORE_SCHED_VM, CORE_SCHED_VCPU, CORE_SCHED_OFF };

struct vm_config {
	const char *kernel;
	const char *initramfs;
	const char *cmdline;
	const char *firmware;
	unsigned cpus;
	/* --platform num_pci_segments (CONFIG_PCI_SEGMENTS): 0 when not
	 * given, which is one segment; pci_segments_of() reads it */
	unsigned pci_segments;
	/* --cpus: nested=off hides the CPU's virtualization extensions from
	 * the guest; max_phys_bits caps the physical address width it sees
	 * (0: the host's) */
	bool cpu_nested;
	bool cpu_nested_given;	/* said on the command line, not defaulted */
	unsigned cpu_max_phys_bits;
	struct cpu_topology cpu_topology;
	struct cpu_affinity *cpu_affinity;	/* malloc'd, cpu_naffinity of them */
	size_t cpu_naffinity;
	enum core_scheduling core_scheduling;
	bool cpu_amx;		/* features=amx: the guest may use AMX tiles */
	bool cpu_hyperv;	/* kvm_hyperv=on: Hyper-V enlightenments (x86_64) */
	struct memory_config memory;
	enum seccomp_mode seccomp;
	bool timeline;
	unsigned verbosity;	/* -v given this many times */
	const char *log_file;	/* --log-file, or NULL: stderr */
	/* --event-monitor path=PATH (event_monitor_path) or fd=N */
	bool event_monitor;
	const char *event_monitor_path;	/* NULL with fd= */
	int event_monitor_fd;
	struct restore_config restore;
	size_t nkept;
	struct kept_option kept[CLI_MAX_KEPT];
	size_t ndevices;
	struct device_instance devices[MAX_DEVICE_INSTANCES];
};

/* The topology the guest sees: the one given, or one package of
 * single-threaded cores. */
static inline struct cpu_topology cpu_topology_of(const struct vm_config *cfg)
{
	if (cfg->cpu_topology.threads)
		return cfg->cpu_topology;
	return (struct cpu_topology){ 1, cfg->cpus, 1, 1 };
}

#endif
