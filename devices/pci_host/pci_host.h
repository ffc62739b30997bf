/* SPDX-License-Identifier: MIT */
/*
 * The seam between the PCI host bridge's common part (pci_host.c: the
 * bridge function and ECAM) and its architecture's part (x86_64.c: the
 * 0xcf8/0xcfc ports and the DSDT's root bridge; aarch64.c: the device
 * tree's host node).  Kbuild builds the part of the target ARCH only,
 * so neither file needs an #ifdef for the other's machine.
 */
#ifndef WISP_DEVICES_PCI_HOST_H
#define WISP_DEVICES_PCI_HOST_H

struct pci_segment;
struct vm;

/* Called once from the bridge's create(), after the segment and the
 * bridge function exist: registers what the architecture adds.  0, or
 * -1 after reporting what failed. */
int pci_host_arch_create(struct vm *vm, struct pci_segment *seg);

#ifdef CONFIG_SNAPSHOT
struct snap_writer;
struct snap_reader;
/* The architecture part's own state in the bridge's snapshot state
 * (core/snapshot.h): load reads what save wrote, and the bridge checks
 * the payload's length after it. */
void pci_host_arch_save(struct snap_writer *w);
void pci_host_arch_load(struct snap_reader *r);
#endif

#endif
