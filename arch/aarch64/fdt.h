/* SPDX-License-Identifier: MIT */
/*
 * The AArch64 device tree under construction, as handed to describers
 * (the `tables` argument of a describe_fn): devices add their own nodes
 * with these helpers, the way x86_64 devices add AML to the DSDT.  The
 * first libfdt failure is remembered in `err` and makes later calls
 * no-ops, so a describer need not check every step; arch_load() fails
 * the boot if err is set.
 */
#ifndef WISP_ARCH_AARCH64_FDT_H
#define WISP_ARCH_AARCH64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdt_tree {
	void *fdt;
	int err;			/* first libfdt error (negative), or 0 */
	uint32_t next_phandle;
	uint32_t gic_phandle;		/* the interrupt controller */
	/* The MSI controller, 0 if none: the ITS (which tells devices apart
	 * by requester id: PCI says so with msi-map) or a GICv2m frame
	 * (msi-parent). */
	uint32_t msi_phandle;
	bool msi_by_requester_id;
	uint32_t clock_phandle;		/* the fixed APB clock PrimeCells need */
};

/* Interrupt specifier flags (the third cell of a GIC interrupt). */
#define FDT_IRQ_EDGE_RISING	1
#define FDT_IRQ_LEVEL_HIGH	4

/* A child `name@addr` of the root (addr printed in hex), or of `parent`
 * when parent >= 0 and addr is ~0 (then just `name`).  Its offset, or
 * -1. */
int fdt_node(struct fdt_tree *t, int parent, const char *name, uint64_t addr);
/* The offset of an existing node by path ("/chosen"), or -1. */
int fdt_find(struct fdt_tree *t, const char *path);
uint32_t fdt_new_phandle(struct fdt_tree *t, int node);

void fdt_prop(struct fdt_tree *t, int node, const char *name, const void *val, size_t len);
void fdt_prop_empty(struct fdt_tree *t, int node, const char *name);
void fdt_prop_u32(struct fdt_tree *t, int node, const char *name, uint32_t val);
void fdt_prop_u64(struct fdt_tree *t, int node, const char *name, uint64_t val);
void fdt_prop_str(struct fdt_tree *t, int node, const char *name, const char *val);
/* `val` holds several NUL-terminated strings back to back, `len` bytes
 * in all ("a\0b" is sizeof("a\0b")). */
#define fdt_prop_strs(t, node, name, val) fdt_prop(t, node, name, val, sizeof(val))
/* Cells in host order, stored big-endian. */
void fdt_prop_cells(struct fdt_tree *t, int node, const char *name,
		    const uint32_t *cells, size_t n);
/* reg = <addr size> with two cells each (the root's layout). */
void fdt_prop_reg(struct fdt_tree *t, int node, uint64_t addr, uint64_t size);
/* interrupts = <GIC_SPI spi flags> */
void fdt_prop_spi(struct fdt_tree *t, int node, unsigned spi, uint32_t flags);
/* clocks/clock-names for an AMBA PrimeCell: the APB clock, which the
 * amba bus needs before it probes the device. */
void fdt_prop_primecell(struct fdt_tree *t, int node, const char *compatible,
			size_t compatible_len);

#endif
