/* SPDX-License-Identifier: MIT */
/* The AArch64 machine's guest-physical memory map (planned). */
#ifndef WISP_ARCH_AARCH64_LAYOUT_H
#define WISP_ARCH_AARCH64_LAYOUT_H

#define ARM_RAM_BASE		0x80000000ULL
#define ARCH_TIMELINE_MMIO	0x09000f00ULL	/* boot-complete mark */

#endif
