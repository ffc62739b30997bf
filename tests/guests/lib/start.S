/* SPDX-License-Identifier: MIT */
/*
 * PVH entry for wisp's test guests.
 *
 * The VMM enters pvh_start32 (named by the XEN_ELFNOTE_PHYS32_ENTRY note) in
 * flat 32-bit protected mode, paging off, %ebx = physical address of struct
 * hvm_start_info.  We load our own GDT, switch to long mode on prebuilt
 * identity page tables covering 0-4 GiB with 2 MiB pages (the last GiB,
 * where the IOAPIC and LAPIC live, uncached), and call
 * wisp_guest_start(si) in C.  Every instruction here runs in the host's
 * instruction emulator: nothing loops except the short .bss clear.
 *
 * Also here: the 256 interrupt entry stubs (16 bytes apart) with the common
 * register-saving path, and the AP trampoline used by the smp guest.
 */

#define CODE64 0x08
#define DATA 0x10

#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100
#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

/* ------------------------------------------------------------- note */
	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start32
4:	.balign 4

/* ----------------------------------------------------- 32-bit entry */
	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %esi			/* start info, kept for C */
	lgdt gdt_ptr
	mov $CR4_PAE, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $CODE64, $start64

	.code64
start64:
	mov $DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	lea stack_top(%rip), %rsp
	/* .bss is small (the IDT and handler table): clear it in one rep. */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	shr $3, %rcx
	xor %eax, %eax
	rep stosq
	mov %esi, %edi			/* zero-extends */
	call wisp_guest_start
	.globl halt_forever
halt_forever:
	cli
	hlt
	jmp halt_forever

/* ------------------------------------------------ interrupt entries */
	.section .text.isr, "ax"
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	/* Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30. */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	cld
	call isr_dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp			/* vector, error code */
	iretq

/* --------------------------------------------------- AP trampoline */
/*
 * Copied to a free page P below 1 MiB; the BSP sends SIPI vector P >> 12, so
 * the AP starts here in real mode at CS = P >> 4, IP = 0.  Real mode runs
 * in the emulator at its slowest, so go straight to long mode: PAE, the
 * BSP's page tables, EFER.LME, then PE and PG together and a far jump to
 * the 64-bit code segment (an absolute address in the image).
 */
	.section .text.ap, "ax"
	.code16
	.globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl ap_gdt_ptr - ap_trampoline_start
	mov $CR4_PAE, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	xor %edx, %edx
	mov $EFER_LME, %eax
	wrmsr
	mov $(CR0_PG | CR0_PE), %eax
	mov %eax, %cr0
	ljmpl $CODE64, $ap_start64
	.balign 4
ap_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:

	.code64
ap_start64:
	/* the mask bit first: the BSP counts ap_started, then reads ap_mask */
	mov $(0xfee00000 + 0x20), %edx	/* LAPIC ID register */
	mov (%rdx), %eax
	shr $24, %eax
	lock btsl %eax, ap_mask(%rip)
	lock incl ap_started(%rip)
1:	cli
	hlt
	jmp 1b

/* ------------------------------------------------------------- data */
	.section .rodata.gdt, "a"
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08: 64-bit code, accessed */
	.quad 0x00cf93000000ffff	/* 0x10: flat data, accessed */
gdt_end:
	.balign 8
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .data.ap, "aw"
	.balign 8
	.globl ap_started, ap_mask
ap_mask:
	.quad 0, 0, 0, 0		/* 256 bits, one per LAPIC id */
ap_started:
	.long 0

/*
 * Page tables, prebuilt: PML4[0] -> PDPT, PDPT[0..3] -> four page
 * directories of 512 2 MiB pages each = identity map of 0-4 GiB.
 */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + (PTE_P | PTE_RW)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_RW)
	.quad pd + 0x1000 + (PTE_P | PTE_RW)
	.quad pd + 0x2000 + (PTE_P | PTE_RW)
	.quad pd + 0x3000 + (PTE_P | PTE_RW)
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.if i >= 1536
	.quad (i << 21) | (PTE_P | PTE_RW | PTE_PS | PTE_PWT | PTE_PCD)
	.else
	.quad (i << 21) | (PTE_P | PTE_RW | PTE_PS)
	.endif
	.set i, i + 1
	.endr

	.section .stack, "aw", @nobits
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
