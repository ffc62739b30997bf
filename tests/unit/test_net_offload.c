// SPDX-License-Identifier: MIT
/*
 * --net's offload keys as cloud-hypervisor has them (offload_csum,
 * offload_tso, offload_ufo; vmm/src/config.rs NetConfig), on a fake VM
 * with three NICs on fake TAPs: what each offers the guest.  By default
 * the checksum and TSO features; offload_tso=off keeps the checksum
 * ones only; offload_csum=off neither (TSO needs the checksum offload).
 * UFO is never offered (TAP has had none since Linux 4.14), whatever
 * offload_ufo says.
 */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "fake_vm.h"
#include "virtio/net_test.h"
#include "virtio/virtio_net.h"

#if IS_ENABLED(CONFIG_VIRTIO_NET)

static struct fake_vm fv;
static char dir[64];

#define CSUM_BITS ((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM))
#define TSO_BITS ((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) | \
		  (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6))
#define UFO_BITS ((1ULL << VIRTIO_NET_F_HOST_UFO) | (1ULL << VIRTIO_NET_F_GUEST_UFO))

static int setup(void **state)
{
	char kernel[96];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M", "--serial", "null",
			       "--net", "tap=", "tap=,offload_tso=off,offload_ufo=on",
			       "tap=,offload_csum=off,offload_ufo=off", NULL };
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wisp-offload-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	net_test_fake_tap = true;
	fake_vm_create(&fv, argv);
	fake_vm_reset(&fv);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* The features the n-th virtio-net function offers (both words). */
static uint64_t offered(unsigned n)
{
	unsigned seen = 0;

	for (unsigned i = 0; i < fv.nslots; i++) {
		unsigned s = fv.slots[i];
		uint64_t bar = FAKE_BAR(s), lo, hi;

		if (fake_cfg_read(&fv, s, 0) >> 16 != 0x1041 || seen++ != n)
			continue;
		fake_cfg_write(&fv, s, 0x04, 0x6, 2);
		fake_mmio(&fv, bar + FAKE_CC_DFSELECT, 0, 4, true);
		lo = fake_mmio_read(&fv, bar + FAKE_CC_DF, 4);
		fake_mmio(&fv, bar + FAKE_CC_DFSELECT, 1, 4, true);
		hi = fake_mmio_read(&fv, bar + FAKE_CC_DF, 4);
		return lo | hi << 32;
	}
	fail_msg("no virtio-net function %u", n);
	return 0;
}

static void test_offloads_offered(void **state)
{
	uint64_t dflt = offered(0), no_tso = offered(1), no_csum = offered(2);

	(void)state;
	assert_true((dflt & (CSUM_BITS | TSO_BITS)) == (CSUM_BITS | TSO_BITS));
	assert_true((no_tso & CSUM_BITS) == CSUM_BITS);
	assert_false(no_tso & TSO_BITS);
	assert_false(no_csum & (CSUM_BITS | TSO_BITS));
	assert_false((dflt | no_tso | no_csum) & UFO_BITS);
	/* the rest is the same for all three */
	assert_true((dflt & ~(CSUM_BITS | TSO_BITS | (1ULL << VIRTIO_NET_F_HOST_ECN) |
			      (1ULL << VIRTIO_NET_F_GUEST_ECN))) ==
		    (no_csum & ~(CSUM_BITS | TSO_BITS)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offloads_offered),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void)
{
	return 0;	/* no virtio-net in this configuration */
}
#endif
