/* SPDX-License-Identifier: MIT */
/*
 * A whole VM into a snapshot directory and back (CONFIG_SNAPSHOT).
 * The format and the device registry are core/snapshot.h's.
 */
#ifndef WISP_CORE_VM_SNAPSHOT_H
#define WISP_CORE_VM_SNAPSHOT_H

#include <stddef.h>

#include "core/snapshot.h"

struct vm;
struct guest_memory;

/* The VM is paused (every vCPU held after completing its last exit,
 * the event loop held): drains the devices and writes the snapshot
 * into dir (created if missing).  0; 1 when a device cannot be saved
 * (why names it; nothing was written); -1 when writing failed (why
 * says so).  The VM is left paused either way. */
int vm_snapshot_save(struct vm *vm, const char *dir, char *why, size_t whysize);

/* Whether the snapshot's guest RAM layout is this VM's.  0 or -1
 * (reported). */
int vm_snapshot_check_memory(const struct snapshot_file *f, const struct guest_memory *mem);

/* After the devices are created (guest RAM already mapped from the
 * snapshot): the arch's VM state, every device's, every vCPU's.  0, or
 * 2 (EXIT_USAGE) after one line saying what does not fit. */
int vm_snapshot_restore(struct vm *vm, const struct snapshot_file *f);

#endif
