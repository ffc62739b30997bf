/* SPDX-License-Identifier: MIT */
/*
 * The AArch64 machine's guest-physical memory map (planned; the machine
 * itself is not written yet):
 *
 *   0x0900_0f00  boot-complete mark (boot timeline)
 *   0x1000_0000  PCI 32-bit MMIO window (512 MiB)
 *   0x3000_0000  PCI ECAM (256 MiB)
 *   0x4000_0000  RAM
 *   above RAM    the 64-bit PCI window
 */
#ifndef WISP_ARCH_AARCH64_LAYOUT_H
#define WISP_ARCH_AARCH64_LAYOUT_H

#define ARM_RAM_BASE		0x40000000ULL
#define ARCH_TIMELINE_MMIO	0x09000f00ULL

#define ARCH_PCI_MMIO32		0x10000000ULL
#define ARCH_PCI_MMIO32_SIZE	0x20000000ULL
#define ARCH_PCI_ECAM		0x30000000ULL
#define ARCH_PCI_ECAM_SIZE	0x10000000ULL
#define ARCH_PCI_MMIO64_MIN	0x8000000000ULL

#endif
