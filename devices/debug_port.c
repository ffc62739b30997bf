// SPDX-License-Identifier: MIT
/*
 * cloud-hypervisor's debug port: a guest writes one byte to I/O port 0x80
 * at each step of its boot it wants timed (a kernel patched to write 0x40
 * at its start and 0x41 before init, say).  With --timeline wisp logs
 * every such write on stderr in cloud-hypervisor's words, so the tools
 * that read boot times from cloud-hypervisor's log read wisp's unchanged:
 *
 *   wisp: debug port -- [Debug I/O port: Kernel code 0x40] 0.018741 seconds
 *
 * Those tools keep the text after the one "--" and take its seventh word
 * as the time: seconds since wisp started, the boot timeline's origin.
 * The code's range names the part of the guest that wrote it, as in
 * cloud-hypervisor: firmware, bootloader, kernel, userspace, custom.
 *
 * A guest can write here as often as it likes (Linux without its KVM
 * support uses the port as an I/O delay), so only the first
 * DEBUG_PORT_LINES writes are logged.  Without --timeline the port only
 * takes the writes, as the unassigned port did before.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch_layout.h"
#include "core/device.h"
#include "core/timeline.h"
#include "core/vm.h"

#define DEBUG_PORT_LINES 256

/* one VM per process: the count of lines logged is the process's */
static atomic_uint debug_port_logged;

static const char *debug_port_component(uint8_t code)
{
	static const char *const names[] = {
		"Firmware", "Bootloader", "Kernel", "Userspace",
	};

	/* 32 codes per component, as cloud-hypervisor splits them */
	return code < 0x80 ? names[code >> 5] : "Custom";
}

static void debug_port_write(void *opaque, uint64_t off, const void *data,
			     unsigned len)
{
	const struct vm *vm = opaque;
	uint8_t code = *(const uint8_t *)data;
	uint64_t us;
	unsigned n;

	if (!vm->cfg->timeline || off != 0 || len != 1)
		return;
	us = timeline_now_us();
	n = atomic_fetch_add(&debug_port_logged, 1);
	if (n < DEBUG_PORT_LINES)
		dprintf(STDERR_FILENO,
			"wisp: debug port -- [Debug I/O port: %s code 0x%x] %llu.%06llu seconds\n",
			debug_port_component(code), code,
			(unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
	else if (n == DEBUG_PORT_LINES)
		dprintf(STDERR_FILENO, "wisp: debug port: further writes not logged\n");
}

/* A POST-code port is write-only; reads see a floating bus. */
static void debug_port_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque;
	(void)off;
	memset(data, 0xff, len);
}

static const struct bus_ops debug_port_ops = {
	.read = debug_port_read,
	.write = debug_port_write,
};

static int debug_port_create(struct vm *vm, const void *config)
{
	(void)config;
	atomic_store(&debug_port_logged, 0);
	return bus_register(&vm->pio, X86_PORT_DEBUG, 1, &debug_port_ops, vm, "debug-port");
}

DEVICE_REGISTER(debug_port) = {
	.name = "debug-port",
	.summary = "cloud-hypervisor's debug port 0x80 (logged with --timeline)",
	.order = ORDER_PLATFORM,
	.create = debug_port_create,
#ifdef CONFIG_SNAPSHOT
	/* Nothing to keep: reads are always 0xff, and the count of lines
	 * logged is this wisp process's stderr's, not the guest's. */
	.snapshot = &snapshot_stateless,
#endif
};
