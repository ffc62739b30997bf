// SPDX-License-Identifier: MIT
/*
 * bench/kvm_floor: the least a VMM can do to run the start-up guest, as a
 * yardstick for wisp's start-up (it is not a VMM: no devices, no ACPI, no
 * threads, no checks beyond what it needs).
 *
 *   kvm_floor [--cpuid] [--irqchip] [--exec-only] GUEST.elf SERIAL_FILE
 *
 * One static process: create a VM with GUEST_MIB of anonymous RAM and one
 * vCPU, copy the ELF's PT_LOAD segments to their physical addresses, enter
 * the PVH entry point (the e_entry of the guests in bench/guests) in flat
 * 32-bit protected mode on the main thread, append what the guest writes
 * to COM1 to SERIAL_FILE, and exit 0 when it writes 0x34 to 0x600.
 * --cpuid adds KVM_GET_SUPPORTED_CPUID + KVM_SET_CPUID2 and --irqchip a
 * split irqchip (local APICs in KVM), which a VMM that boots Linux needs
 * both (wisp and QEMU's microvm set both up); --exec-only writes "!" to SERIAL_FILE and
 * exits before touching /dev/kvm, the floor of starting a process at all.
 */
#include <elf.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GUEST_MIB 64
#define MAX_CPUID 256

static int fail(const char *what)
{
	dprintf(2, "kvm_floor: %s failed\n", what);
	return 1;
}

static int load_elf(const char *path, uint8_t *ram, size_t ram_size, uint64_t *entry)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	const uint8_t *f;
	const Elf64_Ehdr *eh;

	if (fd < 0 || fstat(fd, &st))
		return -1;
	f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED || (size_t)st.st_size < sizeof(*eh))
		return -1;
	eh = (const Elf64_Ehdr *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return -1;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_paddr + ph->p_memsz > ram_size || ph->p_offset + ph->p_filesz > (uint64_t)st.st_size)
			return -1;
		memcpy(ram + ph->p_paddr, f + ph->p_offset, ph->p_filesz);
	}
	*entry = eh->e_entry;
	return 0;
}

int main(int argc, char *argv[])
{
	size_t ram_size = (size_t)GUEST_MIB << 20;
	int cpuid = 0, irqchip = 0, exec_only = 0, kvm, vm, vcpu, out;
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_segment seg = { .base = 0, .limit = 0xffffffff, .present = 1,
				   .dpl = 0, .db = 1, .s = 1, .g = 1 };
	struct kvm_run *run;
	uint64_t entry;
	uint8_t *ram;
	long run_size;

	for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
		if (!strcmp(argv[1], "--cpuid"))
			cpuid = 1;
		else if (!strcmp(argv[1], "--irqchip"))
			irqchip = 1;
		else if (!strcmp(argv[1], "--exec-only"))
			exec_only = 1;
		else
			return fail("usage");
	}
	if (argc != 3)
		return fail("usage: kvm_floor [--cpuid] [--irqchip] [--exec-only] GUEST SERIAL");
	out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
	if (out < 0)
		return fail(argv[2]);
	if (exec_only)
		return write(out, "!", 1) == 1 ? 0 : fail("write");

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (irqchip) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 24 };

		if (ioctl(vm, KVM_ENABLE_CAP, &cap))
			return fail("KVM_CAP_SPLIT_IRQCHIP");
	}
	ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap RAM");
	region.memory_size = ram_size;
	region.userspace_addr = (uint64_t)(uintptr_t)ram;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return fail("KVM_SET_USER_MEMORY_REGION");
	if (load_elf(argv[1], ram, ram_size, &entry))
		return fail(argv[1]);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (cpuid) {
		struct {
			struct kvm_cpuid2 h;
			struct kvm_cpuid_entry2 e[MAX_CPUID];
		} c = { .h.nent = MAX_CPUID };

		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) || ioctl(vcpu, KVM_SET_CPUID2, &c))
			return fail("CPUID");
	}
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return fail("KVM_GET_SREGS");
	seg.type = 11;		/* code: execute/read, accessed */
	seg.selector = 0x10;
	sregs.cs = seg;
	seg.type = 3;		/* data: read/write, accessed */
	seg.selector = 0x18;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	sregs.cr0 = 0x11;	/* PE, ET */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return fail("KVM_SET_SREGS");
	regs.rip = entry;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return fail("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0))
			return fail("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO) {
			dprintf(2, "kvm_floor: exit reason %u\n", run->exit_reason);
			return 1;
		}
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1) {
			uint8_t v = *((uint8_t *)run + run->io.data_offset);

			if (run->io.port == 0x3f8 && write(out, &v, 1) != 1)
				return fail("write");
			if (run->io.port == 0x600 && v == 0x34)
				return 0;
		}
	}
}
