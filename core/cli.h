/* SPDX-License-Identifier: MIT */
/*
 * The command line, in cloud-hypervisor's syntax.  cli_parse() turns argv
 * into a validated struct vm_config; it never starts anything, so bad
 * input leaves nothing half-done.
 */
#ifndef WISP_CORE_CLI_H
#define WISP_CORE_CLI_H

#include <stdio.h>

#include "core/config.h"
#include "core/kv.h"

/* Documented exit statuses (README.md, "Exit status"). */
enum {
	EXIT_GUEST_OK = 0,	/* guest powered off (or rebooted) */
	EXIT_VM_ERROR = 1,	/* VM failed: KVM error, triple fault, I/O */
	EXIT_USAGE = 2,		/* bad command line or input file */
	EXIT_NO_KVM = 3,	/* /dev/kvm missing or unusable on this host */
};

enum cli_action {
	CLI_RUN,		/* boot a VM with the config */
	CLI_EXIT,		/* --help, --version, --features: done */
	CLI_ERROR,		/* err holds the one-line message */
};

enum cli_action cli_parse(int argc, char *const argv[], struct vm_config *cfg,
			  FILE *out, struct cli_error *err);

/* How an affinity list's messages name its parts: the key, the index's
 * placeholder and name, and the key that bounds it (--cpus: affinity,
 * VCPU, vCPU, boot). */
struct affinity_names {
	const char *key, *token, *item, *count_key;
};

/* cloud-hypervisor's [N@[HOST CPUS],...] (--cpus affinity=, --disk
 * queue_affinity=): each N below count and given once, host CPUs as N or
 * A-B; list has room for count entries, *n says how many were given.
 * 0, or -1 with err set. */
int cli_parse_affinity(const struct affinity_names *names, const char *text, unsigned count,
		       struct cpu_affinity *list, size_t *n, struct cli_error *err);

/* Releases what cli_parse allocated in cfg. */
void cli_free(struct vm_config *cfg);

#endif
