/* SPDX-License-Identifier: MIT */
/*
 * The inputs phase, between the command line and the VM: the kernel or
 * firmware and the initramfs are opened, read and checked (format, and
 * that they fit the RAM --memory gives) before /dev/kvm is opened.  So a
 * bad file is reported as a bad file (exit 2) on any host, with KVM or
 * without, and nothing has been created when it is.  The VM then loads
 * what was read here instead of opening the files again.
 */
#ifndef WISP_CORE_INPUT_H
#define WISP_CORE_INPUT_H

#include "core/config.h"
#include "core/file.h"

struct vm_inputs {
	struct mapped_file kernel;	/* --kernel, or --firmware */
	struct mapped_file initramfs;	/* size 0 without --initramfs */
	/* --restore: the snapshot's guest RAM file (-1 without); the
	 * kernel and initramfs are then not read, the snapshot holds them */
	int snapshot_memory;
};

/* 0, or 2 (EXIT_USAGE) after one line naming the option and the file;
 * `in` then holds nothing. */
int inputs_load(const struct vm_config *cfg, struct vm_inputs *in);
void inputs_free(struct vm_inputs *in);

/* Whether --memory asks for more than this host has (RAM and swap):
 * bad input, exit 2, known without KVM. */
int check_host_memory(const struct vm_config *cfg);

#endif
