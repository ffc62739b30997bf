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
#include "arch_layout.h"
#include "core/arch.h"
#include "core/cli.h"
#include "core/device.h"
#include "core/event.h"
#include "core/vm.h"
#include "virtio/net_test.h"

#define GUEST_RAM (16ull << 20)
#define MAX_FN 32
#define BAR_BASE(slot) (ARCH_PCI_MMIO32 + (uint64_t)(slot) * 0x10000)
/* wisp's virtio BAR 0 layout (virtio/virtio_pci.c), as the capabilities
 * in config space describe it */
#define CC_DF 0x04
#define CC_GF 0x0c
#define CC_GFSELECT 0x08
#define CC_DFSELECT 0x00
#define CC_STATUS 0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_ENABLE 0x1c
#define CC_Q_DESCLO 0x20
#define CC_Q_AVAILLO 0x28
#define CC_Q_USEDLO 0x30
#define BAR_NOTIFY 0x3000
#define NOTIFY_MULTIPLIER 4
/* the rings the shortcut sets up, per queue, in the first 1 MiB */
#define RING_GPA(q) (0x10000ull + (uint64_t)(q) * 0x4000)
#define DATA_WINDOW 0x100000ull		/* input bytes land in [0, 1 MiB) */

static struct vm vm;
static struct vm_config cfg;
static unsigned slots[MAX_FN], nslots;
static char dir[64];

static void mmio(uint64_t addr, uint64_t val, unsigned len, bool write)
{
	bus_access(&vm.mmio, addr, &val, len, write);
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v, unsigned len)
{
	mmio(ARCH_PCI_ECAM + ((uint64_t)slot << 15) + off, v, len, true);
}

static uint32_t cfg_read(unsigned slot, unsigned off)
{
	uint64_t v = 0;

	bus_access(&vm.mmio, ARCH_PCI_ECAM + ((uint64_t)slot << 15) + off, &v, 4, false);
	return (uint32_t)v;
}

static void make_vm(void)
{
	char kernel[96], disk[96], disk_arg[128], vsock_arg[128];
	const char *argv[] = { "wisp", "--kernel", kernel, "--memory", "size=16M",
			       "--serial", "null", "--console", "null", "--disk", disk_arg,
			       "--rng", "src=/dev/zero", "--vsock", vsock_arg,
			       "--net", "tap=fuzz0,num_queues=4", NULL };
	const struct device_desc *const *table;
	struct cli_error err;
	uint64_t layout[MEM_MAX_REGIONS][2];
	size_t n;
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
	if (cli_parse(sizeof(argv) / sizeof(argv[0]) - 1, (char *const *)argv, &cfg, stdout,
		      &err) != CLI_RUN) {
		fprintf(stderr, "fuzz_devices: %s\n", err.msg);
		abort();
	}
	vm.cfg = &cfg;
	vm.kvm_fd = vm.vm_fd = vm.stop_eventfd = vm.grace_timer = -1;
	bus_init(&vm.pio, "pio");
	bus_init(&vm.mmio, "mmio");
	pthread_mutex_init(&vm.gsi_lock, NULL);
	vm.loop = event_loop_create();
	n = arch_memory_layout(GUEST_RAM, layout, MEM_MAX_REGIONS);
	if (!vm.loop || memory_init(&vm.mem, &cfg.memory, (const uint64_t(*)[2])layout, n))
		abort();
	net_test_fake_tap = true;	/* socket pairs, not TAPs */
	n = device_table(&table);
	for (size_t t = 0; t < n; t++)
		for (size_t i = 0; i < cfg.ndevices; i++)
			if (cfg.devices[i].desc == table[t] && table[t]->create &&
			    table[t]->create(&vm, cfg.devices[i].config))
				abort();
	for (unsigned s = 1; s < MAX_FN; s++)
		if ((cfg_read(s, 0) & 0xffff) == 0x1af4)
			slots[nslots++] = s;
	if (!nslots)
		abort();
	for (unsigned i = 0; i < nslots; i++)
		fprintf(stderr, "fuzz_devices: slot %u: device %#x\n", slots[i],
			cfg_read(slots[i], 0) >> 16);
}

/* Every function back to a known state: BAR 0 where we want it, the
 * virtio device reset (this also waits for blk's running requests),
 * then decoding and bus mastering off. */
static void reset_all(void)
{
	for (unsigned i = 0; i < nslots; i++) {
		unsigned s = slots[i];

		cfg_write(s, 0x04, 0, 2);
		cfg_write(s, 0x10, (uint32_t)BAR_BASE(s), 4);
		cfg_write(s, 0x14, 0, 4);
		cfg_write(s, 0x04, 0x6, 2);
		mmio(BAR_BASE(s) + CC_STATUS, 0, 1, true);
		cfg_write(s, 0x04, 0, 2);
	}
}

static void setup_queue(unsigned s, unsigned q, uint32_t size)
{
	uint64_t bar = BAR_BASE(s);

	cfg_write(s, 0x04, 0x6, 2);
	mmio(bar + CC_STATUS, 0x3, 1, true);			/* ACK | DRIVER */
	for (unsigned sel = 0; sel < 2; sel++) {
		uint64_t f = 0;

		mmio(bar + CC_DFSELECT, sel, 4, true);
		bus_access(&vm.mmio, bar + CC_DF, &f, 4, false);
		mmio(bar + CC_GFSELECT, sel, 4, true);
		mmio(bar + CC_GF, f, 4, true);
	}
	mmio(bar + CC_STATUS, 0xb, 1, true);			/* FEATURES_OK */
	mmio(bar + CC_Q_SELECT, q, 2, true);
	mmio(bar + CC_Q_SIZE, size, 2, true);
	mmio(bar + CC_Q_DESCLO, RING_GPA(q), 4, true);
	mmio(bar + CC_Q_AVAILLO, RING_GPA(q) + 0x1000, 4, true);
	mmio(bar + CC_Q_USEDLO, RING_GPA(q) + 0x2000, 4, true);
	mmio(bar + CC_Q_ENABLE, 1, 2, true);
	mmio(bar + CC_STATUS, 0xf, 1, true);			/* DRIVER_OK */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_in in = { data, size };

	if (!ready++)
		make_vm();
	reset_all();
	memset(gpa_ptr(&vm.mem, 0, DATA_WINDOW), 0, DATA_WINDOW);
	for (unsigned ops = 0; in.left && ops < 512; ops++) {
		unsigned op = (unsigned)fuzz_take(&in, 1);
		unsigned s = slots[fuzz_take(&in, 1) % nslots];
		unsigned len = 1u << (op >> 6);		/* 1, 2, 4, 8 */

		switch (op % 9) {
		case 0:	/* config space write */
			cfg_write(s, (unsigned)fuzz_take(&in, 2) & 0xfff,
				  (uint32_t)fuzz_take(&in, 4), len > 4 ? 4 : len);
			break;
		case 1:	/* config space read */
			cfg_read(s, (unsigned)fuzz_take(&in, 2) & 0xffc);
			break;
		case 2:	/* BAR write: common, ISR, device, notify, MSI-X */
			mmio(BAR_BASE(s) + (fuzz_take(&in, 2) & 0x7fff), fuzz_take(&in, 8), len, true);
			break;
		case 3: {
			uint64_t v;

			bus_access(&vm.mmio, BAR_BASE(s) + (fuzz_take(&in, 2) & 0x7fff), &v, len,
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
			gpa_write(&vm.mem, gpa, in.p, n);
			in.p += n;
			in.left -= n;
			break;
		}
		case 5:
			setup_queue(s, (unsigned)fuzz_take(&in, 1) % 8,
				    1u << (fuzz_take(&in, 1) % 9));
			break;
		case 6:	/* notify, as the guest's write to the notify area, and
			 * the event loop serving it (and anything else ready) */
			mmio(BAR_BASE(s) + BAR_NOTIFY + (fuzz_take(&in, 1) % 8) * NOTIFY_MULTIPLIER,
			     0, 2, true);
			event_loop_poll(vm.loop, 0);
			break;
		case 8: {	/* a frame from the host side of a TAP queue */
			size_t n = (size_t)fuzz_take(&in, 2) % 2048;

			if (n > in.left)
				n = in.left;
			if (net_test_npeers &&
			    send(net_test_peer[fuzz_take(&in, 1) % net_test_npeers], in.p, n,
				 MSG_DONTWAIT) < 0)
				n = 0;
			in.p += n;
			in.left -= n;
			event_loop_poll(vm.loop, 0);
			break;
		}
		case 7: {	/* the legacy config mechanism */
			uint32_t a = 0x80000000u | (uint32_t)fuzz_take(&in, 3);
			uint64_t v = fuzz_take(&in, 4);

			bus_access(&vm.pio, 0xcf8, &a, 4, true);
			bus_access(&vm.pio, 0xcfc + (op >> 6), &v, len > 4 ? 4 : len, op & 0x20);
			break;
		}
		}
	}
	event_loop_poll(vm.loop, 0);
	reset_all();
	return 0;
}
