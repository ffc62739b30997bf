/*
 * kvm-probe for AArch64: prove that /dev/kvm runs guest code.
 *
 * Creates a VM with one vCPU (KVM_ARM_PREFERRED_TARGET, PSCI 0.2) and
 * 64 KiB of memory, runs a few instructions at EL1 that store two bytes
 * to an address with no memory behind it and then call PSCI SYSTEM_OFF,
 * and checks the exits: KVM_EXIT_MMIO (write, 1 byte, 0x10000000, 0x3a),
 * again (0x10000001, 0x5a), then KVM_EXIT_SYSTEM_EVENT (shutdown).
 * Prints "kvm-probe: OK" and exits 0 only if all of that happened.
 *
 * Built static with musl for the nested lab (tests/lab/run --arch aarch64).
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

#define MEM_BASE 0x40000000ULL
#define MEM_SIZE 0x10000
#define CODE_AT 0x1000
#define MMIO_AT 0x10000000ULL

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

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

static int run(int vcpu)
{
	int ret;

	do
		ret = ioctl(vcpu, KVM_RUN, 0);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? fail("KVM_RUN") : 0;
}

static int expect_mmio(struct kvm_run *r, uint64_t addr, uint8_t val)
{
	if (r->exit_reason != KVM_EXIT_MMIO) {
		fprintf(stderr, "kvm-probe: FAIL exit %u, want MMIO\n", r->exit_reason);
		return 1;
	}
	printf("kvm-probe: exit MMIO %s len=%u addr=0x%llx value=0x%02x\n",
	       r->mmio.is_write ? "write" : "read", r->mmio.len,
	       (unsigned long long)r->mmio.phys_addr, r->mmio.data[0]);
	if (!r->mmio.is_write || r->mmio.len != 1 || r->mmio.phys_addr != addr ||
	    r->mmio.data[0] != val) {
		fprintf(stderr, "kvm-probe: FAIL want write len=1 addr=0x%llx value=0x%02x\n",
			(unsigned long long)addr, val);
		return 1;
	}
	return 0;
}

#define CORE_REG(name) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			(offsetof(struct kvm_regs, name) / sizeof(uint32_t)))

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_vcpu_init init;
	struct kvm_one_reg reg;
	struct kvm_run *r;
	uint64_t pc = MEM_BASE + CODE_AT;
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
	r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (r == MAP_FAILED)
		return fail("mmap kvm_run");
	memset(&init, 0, sizeof(init));
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return fail("KVM_ARM_PREFERRED_TARGET");
	printf("kvm-probe: target=%u\n", init.target);
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return fail("KVM_ARM_VCPU_INIT");
	reg.id = CORE_REG(regs.pc);
	reg.addr = (uintptr_t)&pc;
	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		return fail("KVM_SET_ONE_REG pc");

	if (run(vcpu) || expect_mmio(r, MMIO_AT, 0x3a))
		return 1;
	if (run(vcpu) || expect_mmio(r, MMIO_AT + 1, 0x5a))
		return 1;
	if (run(vcpu))
		return 1;
	if (r->exit_reason != KVM_EXIT_SYSTEM_EVENT ||
	    r->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN) {
		fprintf(stderr, "kvm-probe: FAIL exit %u, want SYSTEM_EVENT shutdown\n",
			r->exit_reason);
		return 1;
	}
	printf("kvm-probe: exit SYSTEM_EVENT shutdown (PSCI SYSTEM_OFF)\n");
	printf("kvm-probe: OK\n");
	return 0;
}
