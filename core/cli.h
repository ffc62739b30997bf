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

/* Releases what cli_parse allocated in cfg. */
void cli_free(struct vm_config *cfg);

#endif
