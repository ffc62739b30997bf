// SPDX-License-Identifier: MIT
/*
 * The x86_64 machine: split irqchip, the memory map (arch_layout.h), and
 * arch_load(), which picks the boot path from the kernel file's format.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/x86.h"
#include "core/arch.h"
#include "core/cli.h"
#include "core/file.h"
#include "core/kconfig.h"
#include "core/seccomp.h"
#include "core/vm.h"

/* Intel VMX needs these three pages somewhere the guest never uses. */
#define X86_TSS_ADDR		0xfffbd000ULL
#define X86_IDENTITY_MAP	0xfffbc000ULL

/* What vCPU threads do here beyond core's needs: dump their registers
 * when the VM fails or is stopped from outside (arch_dump_vcpu). */
static const struct seccomp_rule vcpu_seccomp[] = {
	SC_IOCTL(KVM_GET_REGS),
	SC_IOCTL(KVM_GET_SREGS),
};

int arch_vm_init(struct vm *vm)
{
	struct kvm_enable_cap split = {
		.cap = KVM_CAP_SPLIT_IRQCHIP,
		.args[0] = X86_IOAPIC_PINS,
	};
	uint64_t identity = X86_IDENTITY_MAP;

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		wisp_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	/* Local APICs in KVM, the I/O APIC in wisp (devices/ioapic.c). */
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) < 0) {
		wisp_err("KVM_CAP_SPLIT_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	return seccomp_allow(SECCOMP_VCPU, vcpu_seccomp, SC_COUNT(vcpu_seccomp));
}

size_t arch_memory_layout(uint64_t size, uint64_t (*layout)[2], size_t max)
{
	uint64_t low = size < X86_LOW_RAM_MAX ? size : X86_LOW_RAM_MAX;
	size_t n = 0;

	(void)max;	/* two ranges at most */
	layout[n][0] = 0;
	layout[n++][1] = low;
	if (size > low) {
		layout[n][0] = X86_HIGH_RAM;
		layout[n++][1] = size - low;
	}
	return n;
}

size_t x86_e820_map(const struct vm *vm, struct e820_entry *map)
{
	const struct guest_memory *mem = &vm->mem;
	uint64_t low_end = mem->region[0].size;
	size_t n = 0;

	map[n++] = (struct e820_entry){ 0, X86_LEGACY_HOLE, E820_RAM };
	map[n++] = (struct e820_entry){ X86_LEGACY_HOLE,
					X86_HIGH_MEMORY - X86_LEGACY_HOLE,
					E820_RESERVED };
	if (low_end > X86_HIGH_MEMORY)
		map[n++] = (struct e820_entry){ X86_HIGH_MEMORY,
						low_end - X86_HIGH_MEMORY, E820_RAM };
	if (IS_ENABLED(CONFIG_PCI))
		map[n++] = (struct e820_entry){ X86_PCI_ECAM, X86_PCI_ECAM_SIZE,
						E820_RESERVED };
	if (mem->nram > 1)
		map[n++] = (struct e820_entry){ mem->region[1].gpa,
						mem->region[1].size, E820_RAM };
	return n;
}

uint64_t x86_initrd_addr(const struct vm *vm, size_t size, uint64_t floor,
			 uint64_t limit)
{
	uint64_t top = vm->mem.region[0].size;
	uint64_t addr;

	if (limit && top > limit + 1)
		top = limit + 1;
	if (size > top)
		return 0;
	addr = (top - size) & ~0xfffULL;
	return addr >= floor ? addr : 0;
}

/* 0, or the exit status after reporting the problem. */
static int load_kernel(struct vm *vm, const struct x86_boot_params *bp,
		       struct x86_boot *boot)
{
	const struct vm_config *cfg = vm->cfg;
	const char *option = cfg->kernel ? "kernel" : "firmware";
	struct mapped_file kernel;
	struct x86_image img;
	int ret;

	if (file_map(option, cfg->kernel ? cfg->kernel : cfg->firmware, &kernel))
		return EXIT_USAGE;
	img = (struct x86_image){ option, !cfg->kernel,
				  cfg->kernel ? cfg->kernel : cfg->firmware,
				  kernel.data, kernel.size };
	if (pvh_probe(&img)) {
		ret = pvh_load(vm, &img, bp, boot);
	} else if (img.firmware) {
		/* firmware comes as a PVH ELF (CLOUDHV.fd); a raw flash image
		 * (OVMF.fd) would need a reset vector at 4 GiB wisp lacks */
		wisp_err("--firmware: '%s' is not a PVH ELF (CLOUDHV.fd from OvmfPkg/CloudHv is one)",
			 img.path);
		ret = EXIT_USAGE;
	} else if (IS_ENABLED(CONFIG_BOOT_BZIMAGE) && bzimage_probe(&img)) {
		ret = bzimage_load(vm, &img, bp, boot);
	} else {
		wisp_err("--%s: '%s' is not a PVH ELF%s", option, img.path,
			 IS_ENABLED(CONFIG_BOOT_BZIMAGE) ? " or a bzImage" :
			 " (bzImage support is not built in: CONFIG_BOOT_BZIMAGE is off)");
		ret = EXIT_USAGE;
	}
	file_unmap(&kernel);
	return ret;
}

/*
 * The real-mode reset vector (f000:fff0), which on a PC is firmware: a
 * guest that restarts "through the BIOS" jumps here.  Linux does so
 * when its other ways fail, and on hardware-reduced ACPI without EFI it
 * even starts there (reboot_init() picks BOOT_EFI, whose fallback is
 * BOOT_BIOS).  Empty RAM would leave the vCPU wandering in real mode;
 * this stub asks for the reset through the ACPI reset register and the
 * i8042, as built in, and halts.
 */
static int write_reset_vector(struct vm *vm)
{
	uint8_t stub[16];
	size_t n = 0;

	if (IS_ENABLED(CONFIG_ACPI)) {
		const uint8_t acpi[] = {
			0xba, X86_PORT_ACPI_RESET & 0xff, X86_PORT_ACPI_RESET >> 8,	/* mov dx, port */
			0xb0, X86_ACPI_RESET_VALUE,				/* mov al, value */
			0xee,							/* out dx, al */
		};

		memcpy(stub + n, acpi, sizeof(acpi));
		n += sizeof(acpi);
	}
	if (IS_ENABLED(CONFIG_I8042)) {
		const uint8_t kbd[] = { 0xb0, 0xfe, 0xe6, X86_PORT_I8042_CMD };	/* mov al, 0xfe; out 0x64, al */

		memcpy(stub + n, kbd, sizeof(kbd));
		n += sizeof(kbd);
	}
	stub[n++] = 0xf4;			/* hlt */
	stub[n++] = 0xeb;			/* jmp to the hlt */
	stub[n++] = 0xfd;
	return gpa_write(&vm->mem, X86_RESET_VECTOR, stub, n);
}

int arch_load(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct x86_boot_params bp = { .cmdline = cfg->cmdline ? cfg->cmdline : "" };
	struct mapped_file initrd = { 0 };
	struct x86_boot boot = { 0 };
	int ret;

	if (IS_ENABLED(CONFIG_ACPI) && acpi_build(vm, &bp.rsdp))
		return EXIT_VM_ERROR;
	if (write_reset_vector(vm))
		return EXIT_VM_ERROR;
	if (cfg->initramfs && file_map("initramfs", cfg->initramfs, &initrd))
		return EXIT_USAGE;
	bp.initrd = initrd.data;
	bp.initrd_size = initrd.size;
	ret = load_kernel(vm, &bp, &boot);
	file_unmap(&initrd);
	if (ret)
		return ret;
	return x86_set_boot_regs(vm, &boot) ? EXIT_VM_ERROR : 0;
}

bool arch_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}
