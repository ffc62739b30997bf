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
#include "core/input.h"
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
	int max_id = IS_ENABLED(CONFIG_CPU_TOPOLOGY) ?
		     ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID) : 0;

	/* a topology spreads the APIC ids, which are KVM's vCPU ids */
	if (IS_ENABLED(CONFIG_CPU_TOPOLOGY) && max_id > 0 && x86_apic_id(vm->cfg, vm->cfg->cpus - 1) >= (unsigned)max_id) {
		wisp_err("--cpus: topology: APIC id %u is more than KVM takes here (below %d)",
			 x86_apic_id(vm->cfg, vm->cfg->cpus - 1), max_id);
		return EXIT_USAGE;
	}
	if (IS_ENABLED(CONFIG_CPU_AMX) && vm->cfg->cpu_amx && x86_amx_permit())
		return EXIT_USAGE;
	if (IS_ENABLED(CONFIG_CPU_HYPERV) && vm->cfg->cpu_hyperv && x86_hyperv_check(vm))
		return EXIT_USAGE;
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

/* One boot format: its check before the VM exists, its loader after. */
struct x86_loader {
	int (*check)(const struct x86_image *img, const struct x86_ram *ram,
		     const struct x86_boot_params *bp);
	int (*load)(struct vm *vm, const struct x86_image *img,
		    const struct x86_boot_params *bp, struct x86_boot *boot);
};

static const struct x86_loader pvh_loader = { pvh_check, pvh_load };

/* The loader for the image's format, or NULL after saying what the file
 * is not. */
static const struct x86_loader *pick_loader(const struct x86_image *img)
{
	if (pvh_probe(img))
		return &pvh_loader;
	if (img->firmware) {
		/* firmware comes as a PVH ELF (CLOUDHV.fd); a raw flash image
		 * (OVMF.fd) would need a reset vector at 4 GiB wisp lacks */
		wisp_err("--firmware: '%s' is not a PVH ELF (CLOUDHV.fd from OvmfPkg/CloudHv is one)",
			 img->path);
		return NULL;
	}
	if (IS_ENABLED(CONFIG_BOOT_BZIMAGE) && bzimage_probe(img)) {
		static const struct x86_loader bzimage_loader = { bzimage_check, bzimage_load };

		return &bzimage_loader;
	}
	wisp_err("--%s: '%s' is not a PVH ELF%s", img->option, img->path,
		 IS_ENABLED(CONFIG_BOOT_BZIMAGE) ? " or a bzImage" :
		 " (bzImage support is not built in: CONFIG_BOOT_BZIMAGE is off)");
	return NULL;
}

static struct x86_image image_of(const struct vm_config *cfg, const struct vm_inputs *in)
{
	return (struct x86_image){ cfg->kernel ? "kernel" : "firmware", !cfg->kernel,
				   cfg->kernel ? cfg->kernel : cfg->firmware,
				   in->kernel.data, in->kernel.size };
}

static struct x86_boot_params boot_params_of(const struct vm_config *cfg,
					     const struct vm_inputs *in)
{
	return (struct x86_boot_params){ .initrd = in->initramfs.data,
					 .initrd_size = in->initramfs.size,
					 .cmdline = cfg->cmdline ? cfg->cmdline : "" };
}

int arch_check_boot(const struct vm_config *cfg, const struct vm_inputs *in)
{
	struct x86_image img = image_of(cfg, in);
	struct x86_boot_params bp = boot_params_of(cfg, in);
	struct x86_ram ram = x86_ram_of(cfg->memory.size);
	const struct x86_loader *loader = pick_loader(&img);

	return loader ? loader->check(&img, &ram, &bp) : EXIT_USAGE;
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
	struct x86_image img = image_of(vm->cfg, vm->inputs);
	struct x86_boot_params bp = boot_params_of(vm->cfg, vm->inputs);
	const struct x86_loader *loader = pick_loader(&img);
	struct x86_boot boot = { 0 };
	int ret;

	if (!loader)
		return EXIT_USAGE;
	if (IS_ENABLED(CONFIG_ACPI) && acpi_build(vm, &bp.rsdp))
		return EXIT_VM_ERROR;
	if (write_reset_vector(vm))
		return EXIT_VM_ERROR;
	ret = loader->load(vm, &img, &bp, &boot);
	if (ret)
		return ret;
	return x86_set_boot_regs(vm, &boot) ? EXIT_VM_ERROR : 0;
}

bool arch_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}
