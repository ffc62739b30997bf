// SPDX-License-Identifier: MIT
/*
 * kvm-probe: prove that /dev/kvm runs guest code, on x86_64 or AArch64.
 *
 * Creates a VM with one vCPU and 64 KiB of memory and runs a few guest
 * instructions that compute two bytes, hand them out one at a time and
 * stop; it checks every exit on the way:
 *   x86_64 (real mode): KVM_EXIT_IO out of 1 byte, port 0x1234 = 0x3a,
 *     then port 0x1235 = 0x5a, then KVM_EXIT_HLT just past the hlt;
 *   AArch64 (EL1, KVM_ARM_PREFERRED_TARGET, PSCI 0.2): KVM_EXIT_MMIO
 *     writes of 1 byte, 0x10000000 = 0x3a, then 0x10000001 = 0x5a, then
 *     KVM_EXIT_SYSTEM_EVENT shutdown from PSCI SYSTEM_OFF.
 * Prints "kvm-probe: OK" and exits 0 only if all of that happened.
 *
 * Built static with musl for the nested lab (tests/lab/run), with the
 * lab's cross compiler on AArch64.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE 0x10000
#define CODE_AT 0x1000

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

static int wrong_exit(const struct kvm_run *r, const char *want)
{
	fprintf(stderr, "kvm-probe: FAIL exit %u, want %s\n", r->exit_reason, want);
	return 1;
}

/* Run until the next exit; 0 on a clean exit, 1 on error. */
static int run(int vcpu)
{
	int ret;

	do
		ret = ioctl(vcpu, KVM_RUN, 0);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? fail("KVM_RUN") : 0;
}

#if defined(__x86_64__)

#define MEM_BASE 0x0ULL
#define OUT_AT 0x1234		/* the first port written */

static const uint8_t code[] = {
	0xb0, 0x2a,       /* mov al, 0x2a    */
	0x04, 0x10,       /* add al, 0x10    */
	0xba, 0x34, 0x12, /* mov dx, 0x1234  */
	0xee,             /* out dx, al      */
	0xb0, 0x5a,       /* mov al, 0x5a    */
	0x42,             /* inc dx          */
	0xee,             /* out dx, al      */
	0xf4,             /* hlt             */
};

static int vcpu_setup(int vm, int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	(void)vm;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_AT;
	regs.rflags = 0x2;
	return ioctl(vcpu, KVM_SET_REGS, &regs) < 0 ? fail("KVM_SET_REGS") : 0;
}

/* The guest's n-th byte out: a 1-byte out to port OUT_AT + n. */
static int expect_byte(const struct kvm_run *r, unsigned n, uint8_t val)
{
	uint8_t got;

	if (r->exit_reason != KVM_EXIT_IO)
		return wrong_exit(r, "IO");
	got = *((const uint8_t *)r + r->io.data_offset);
	printf("kvm-probe: exit IO dir=%s size=%u port=0x%x count=%u value=0x%02x\n",
	       r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r->io.size,
	       r->io.port, r->io.count, got);
	if (r->io.direction != KVM_EXIT_IO_OUT || r->io.size != 1 ||
	    r->io.port != OUT_AT + n || r->io.count != 1 || got != val) {
		fprintf(stderr, "kvm-probe: FAIL want out size=1 port=0x%x value=0x%02x\n",
			OUT_AT + n, val);
		return 1;
	}
	return 0;
}

/* The last exit: hlt, with rip just past it. */
static int expect_stop(const struct kvm_run *r, int vcpu)
{
	struct kvm_regs regs;

	if (r->exit_reason != KVM_EXIT_HLT)
		return wrong_exit(r, "HLT");
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		return fail("KVM_GET_REGS");
	printf("kvm-probe: exit HLT rip=0x%llx\n", (unsigned long long)regs.rip);
	if (regs.rip != CODE_AT + sizeof(code)) {
		fprintf(stderr, "kvm-probe: FAIL rip after hlt 0x%llx\n",
			(unsigned long long)regs.rip);
		return 1;
	}
	return 0;
}

#elif defined(__aarch64__)

#define MEM_BASE 0x40000000ULL
#define MMIO_AT 0x10000000ULL	/* the first address written: no memory there */

static const uint32_t code[] = {
	0xd2800740,	/* movz x0, #0x3a */
	0xd2a20001,	/* movz x1, #0x1000, lsl #16: x1 = 0x10000000 */
	0x39000020,	/* strb w0, [x1] */
	0xd2800b40,	/* movz x0, #0x5a */
	0x39000420,	/* strb w0, [x1, #1] */
	0xd2800100,	/* movz x0, #0x0008 */
	0xf2b08000,	/* movk x0, #0x8400, lsl #16: PSCI SYSTEM_OFF */
	0xd4000002,	/* hvc #0 */
	0x14000000,	/* b . */
};

#define CORE_REG(name) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			(offsetof(struct kvm_regs, name) / sizeof(uint32_t)))

static int vcpu_setup(int vm, int vcpu)
{
	struct kvm_vcpu_init init;
	uint64_t pc = MEM_BASE + CODE_AT;
	struct kvm_one_reg reg = { .id = CORE_REG(regs.pc), .addr = (uintptr_t)&pc };

	memset(&init, 0, sizeof(init));
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return fail("KVM_ARM_PREFERRED_TARGET");
	printf("kvm-probe: target=%u\n", init.target);
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return fail("KVM_ARM_VCPU_INIT");
	return ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0 ? fail("KVM_SET_ONE_REG pc") : 0;
}

/* The guest's n-th byte out: a 1-byte store to MMIO_AT + n. */
static int expect_byte(const struct kvm_run *r, unsigned n, uint8_t val)
{
	if (r->exit_reason != KVM_EXIT_MMIO)
		return wrong_exit(r, "MMIO");
	printf("kvm-probe: exit MMIO %s len=%u addr=0x%llx value=0x%02x\n",
	       r->mmio.is_write ? "write" : "read", r->mmio.len,
	       (unsigned long long)r->mmio.phys_addr, r->mmio.data[0]);
	if (!r->mmio.is_write || r->mmio.len != 1 || r->mmio.phys_addr != MMIO_AT + n ||
	    r->mmio.data[0] != val) {
		fprintf(stderr, "kvm-probe: FAIL want write len=1 addr=0x%llx value=0x%02x\n",
			(unsigned long long)(MMIO_AT + n), val);
		return 1;
	}
	return 0;
}

/* The last exit: PSCI SYSTEM_OFF. */
static int expect_stop(const struct kvm_run *r, int vcpu)
{
	(void)vcpu;
	if (r->exit_reason != KVM_EXIT_SYSTEM_EVENT ||
	    r->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN)
		return wrong_exit(r, "SYSTEM_EVENT shutdown");
	printf("kvm-probe: exit SYSTEM_EVENT shutdown (PSCI SYSTEM_OFF)\n");
	return 0;
}

#else
#error "kvm-probe: x86_64 or AArch64 only"
#endif

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_run *r;
	int kvm, vm, vcpu, api, size;
	uint8_t *mem;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("kvm-probe: api=%d\n", api);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-probe: FAIL api version %d\n", api);
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + CODE_AT, code, sizeof(code));
	memset(&region, 0, sizeof(region));
	region.guest_phys_addr = MEM_BASE;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(*r))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	r = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (r == MAP_FAILED)
		return fail("mmap kvm_run");
	if (vcpu_setup(vm, vcpu))
		return 1;

	if (run(vcpu) || expect_byte(r, 0, 0x3a))
		return 1;
	if (run(vcpu) || expect_byte(r, 1, 0x5a))
		return 1;
	if (run(vcpu) || expect_stop(r, vcpu))
		return 1;
	printf("kvm-probe: OK\n");
	return 0;
}
