// SPDX-License-Identifier: MIT
/*
 * The PCI and virtio devices as a hostile guest sees them: a VM without
 * KVM (no vm fd: ioeventfds fail, so a queue notify runs the device at
 * once, as on a vCPU thread) holding the PCI host bridge, virtio-blk on
 * a scratch image, virtio-rng, virtio-console, virtio-vsock and
 * virtio-net (its TAP queues socket pairs: frames come in too), all made
 * by the real device table from a real command line.  The input is a
 * list of operations: config-space reads and writes (ECAM and 0xcf8),
 * BAR reads and writes (virtio registers, MSI-X table and PBA), guest
 * RAM contents, and two shortcuts a random walk would rarely find --
 * "set queue q of device d up at fixed rings" and "notify queue q" --
 * so that blk, rng, console and vsock request parsing is reached.
 * Every input starts from a reset: each function's BAR 0 at a fixed
 * address, the device status written to 0, then command 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "fake_vm.h"
#include "virtio/net_test.h"

#define DATA_WINDOW 0x100000ull		/* input bytes land in [0, 1 MiB) */

static struct fake_vm fv;
static unsigned *slots = fv.slots, nslots;
static char dir[64];

static void make_vm(void)
{
	char kernel[96], disk[96], disk_arg[128], vsock_arg[128];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
			       "--serial", "null", "--console", "null", "--disk", disk_arg,
			       "--rng", "src=/dev/zero", "--vsock", vsock_arg,
			       "--net", "tap=fuzz0,num_queues=4", "--cpus", "boot=2", NULL };
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/wisp-fuzz-dev-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(disk, sizeof(disk), "%s/disk", dir);
	snprintf(disk_arg, sizeof(disk_arg), "path=%s", disk);
	snprintf(vsock_arg, sizeof(vsock_arg), "cid=3,socket=%s/v.sock", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || write(fd, "k", 1) != 1 || close(fd))
		abort();
	fd = open(disk, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) || close(fd))
		abort();
	net_test_fake_tap = true;	/* socket pairs, not TAPs */
	fake_vm_create(&fv, argv);
	nslots = fv.nslots;
	if (!nslots)
		abort();
	for (unsigned i = 0; i < nslots; i++)
		fprintf(stderr, "fuzz_devices: slot %u: device %#x\n", slots[i],
			fake_cfg_read(&fv, slots[i], 0) >> 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_in in = { data, size };

	if (!ready++)
		make_vm();
	fake_vm_reset(&fv);
	memset(gpa_ptr(&fv.vm.mem, 0, DATA_WINDOW), 0, DATA_WINDOW);
	for (unsigned ops = 0; in.left && ops < 512; ops++) {
		unsigned op = (unsigned)fuzz_take(&in, 1);
		unsigned s = slots[fuzz_take(&in, 1) % nslots];
		unsigned len = 1u << (op >> 6);		/* 1, 2, 4, 8 */

		switch (op % 9) {
		case 0:	/* config space write */
			fake_cfg_write(&fv, s, (unsigned)fuzz_take(&in, 2) & 0xfff,
				  (uint32_t)fuzz_take(&in, 4), len > 4 ? 4 : len);
			break;
		case 1:	/* config space read */
			fake_cfg_read(&fv, s, (unsigned)fuzz_take(&in, 2) & 0xffc);
			break;
		case 2:	/* BAR write: common, ISR, device, notify, MSI-X */
			fake_mmio(&fv, FAKE_BAR(s) + (fuzz_take(&in, 2) & 0x7fff), fuzz_take(&in, 8), len, true);
			break;
		case 3: {
			uint64_t v;

			bus_access(&fv.vm.mmio, FAKE_BAR(s) + (fuzz_take(&in, 2) & 0x7fff), &v, len,
				   false);
			break;
		}
		case 4: {	/* guest RAM: rings, descriptors, buffers */
			uint64_t gpa = (fuzz_take(&in, 2) << 4) % DATA_WINDOW;
			size_t n = (size_t)fuzz_take(&in, 1) * 4;

			if (n > in.left)
				n = in.left;
			if (gpa + n > DATA_WINDOW)
				n = (size_t)(DATA_WINDOW - gpa);
			gpa_write(&fv.vm.mem, gpa, in.p, n);
			in.p += n;
			in.left -= n;
			break;
		}
		case 5:
			fake_setup_queue(&fv, s, (unsigned)fuzz_take(&in, 1) % 8,
				    1u << (fuzz_take(&in, 1) % 9));
			break;
		case 6:	/* notify, as the guest's write to the notify area, and
			 * the event loop serving it (and anything else ready) */
			fake_mmio(&fv, FAKE_BAR(s) + FAKE_BAR_NOTIFY + (fuzz_take(&in, 1) % 8) * FAKE_NOTIFY_MULTIPLIER,
			     0, 2, true);
			event_loop_poll(fv.vm.loop, 0);
			break;
		case 8: {	/* a frame from the host side of a TAP queue */
			size_t n = (size_t)fuzz_take(&in, 2) % 2048;
			unsigned peer = (unsigned)fuzz_take(&in, 1);

			if (n > in.left)
				n = in.left;
			if (net_test_npeers &&
			    send(net_test_peer[peer % net_test_npeers], in.p, n, MSG_DONTWAIT) < 0)
				n = 0;
			in.p += n;
			in.left -= n;
			event_loop_poll(fv.vm.loop, 0);
			break;
		}
		case 7: {	/* the legacy config mechanism */
			uint32_t a = 0x80000000u | (uint32_t)fuzz_take(&in, 3);
			uint64_t v = fuzz_take(&in, 4);

			bus_access(&fv.vm.pio, 0xcf8, &a, 4, true);
			bus_access(&fv.vm.pio, 0xcfc + (op >> 6), &v, len > 4 ? 4 : len, op & 0x20);
			break;
		}
		}
	}
	event_loop_poll(fv.vm.loop, 0);
	fake_vm_reset(&fv);
	return 0;
}
