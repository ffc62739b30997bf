/*
 * kvm-probe: prove that /dev/kvm runs guest code.
 *
 * Creates a VM with one vCPU and 64 KiB of memory, runs a few real-mode
 * instructions that compute a value and write it to two I/O ports, and
 * checks the exits: KVM_EXIT_IO (out, 1 byte, port 0x1234, 0x3a), again
 * (port 0x1235, 0x5a), then KVM_EXIT_HLT. Prints "kvm-probe: OK" and exits 0
 * only if all of that happened.
 *
 * Built static with musl for the nested lab (tests/lab/run).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE 0x10000
#define CODE_AT 0x1000

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

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

static const char *exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

/* Run until the next exit; 0 on a clean exit, 1 on error. */
static int run(int vcpu)
{
	int ret;

	do
		ret = ioctl(vcpu, KVM_RUN, 0);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return fail("KVM_RUN");
	return 0;
}

static int expect_out(struct kvm_run *r, uint16_t port, uint8_t val)
{
	uint8_t got;

	if (r->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "kvm-probe: FAIL exit %u (%s), want IO\n",
			r->exit_reason, exit_name(r->exit_reason));
		return 1;
	}
	got = *((uint8_t *)r + r->io.data_offset);
	printf("kvm-probe: exit IO dir=%s size=%u port=0x%x count=%u value=0x%02x\n",
	       r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r->io.size,
	       r->io.port, r->io.count, got);
	if (r->io.direction != KVM_EXIT_IO_OUT || r->io.size != 1 ||
	    r->io.port != port || r->io.count != 1 || got != val) {
		fprintf(stderr, "kvm-probe: FAIL want out size=1 port=0x%x value=0x%02x\n",
			port, val);
		return 1;
	}
	return 0;
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
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
	region.slot = 0;
	region.guest_phys_addr = 0;
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

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_AT;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	if (run(vcpu) || expect_out(r, 0x1234, 0x3a))
		return 1;
	if (run(vcpu) || expect_out(r, 0x1235, 0x5a))
		return 1;
	if (run(vcpu))
		return 1;
	if (r->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvm-probe: FAIL exit %u (%s), want HLT\n",
			r->exit_reason, exit_name(r->exit_reason));
		return 1;
	}
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		return fail("KVM_GET_REGS");
	printf("kvm-probe: exit HLT rip=0x%llx\n", (unsigned long long)regs.rip);
	if (regs.rip != CODE_AT + sizeof(code)) {
		fprintf(stderr, "kvm-probe: FAIL rip after hlt 0x%llx\n",
			(unsigned long long)regs.rip);
		return 1;
	}
	printf("kvm-probe: OK\n");
	return 0;
}
