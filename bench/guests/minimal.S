/* SPDX-License-Identifier: MIT */
/*
 * The start-up benchmark's guest: the fewest instructions a PVH guest
 * needs to show it ran.  32-bit PVH entry, one byte to COM1, power off.
 *
 * It stops wisp and QEMU alike, each through its own mechanism:
 *   1. a byte to 0xf4, QEMU's isa-debug-exit (-device
 *      isa-debug-exit,iobase=0xf4,iosize=4): QEMU exits at once with
 *      status (value << 1) | 1 = (0x2a << 1) | 1 = 85.  wisp has nothing
 *      at 0xf4 and ignores the write.
 *   2. 0x34 (SLP_TYP 5 | SLP_EN) to 0x600, wisp's ACPI sleep control
 *      register: wisp powers off and exits 0.  Never reached under QEMU.
 * The debug-exit write comes first so that the extra, unclaimed port
 * write costs wisp, not QEMU: the comparison leans against wisp.
 * Should neither stop the VM, the guest halts with interrupts off.
 *
 * With -DSPIN=N the guest counts N down before powering off (the
 * memory benchmark samples the VMM while it runs).  Guest code at CPL0 is
 * emulated on the development machines (about 2 million instructions a
 * second), so SPIN=50000 is roughly 50 ms there; on hardware KVM it is
 * far less.
 */
#define COM1		0x3f8
#define DEBUG_EXIT	0xf4
#define DEBUG_EXIT_VAL	0x2a
#define ACPI_SLEEP_CTL	0x600
#define ACPI_S5		0x34	/* (5 << 2) | (1 << 5) */

	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start32
4:	.balign 4

	.text
	.code32
	.globl pvh_start32
pvh_start32:
	mov $COM1, %dx
	mov $'!', %al
	out %al, %dx
#ifdef SPIN
	mov $SPIN, %ecx
1:	dec %ecx
	jnz 1b
#endif
	mov $DEBUG_EXIT, %dx
	mov $DEBUG_EXIT_VAL, %al
	out %al, %dx
	mov $ACPI_SLEEP_CTL, %dx
	mov $ACPI_S5, %al
	out %al, %dx
2:	cli
	hlt
	jmp 2b
