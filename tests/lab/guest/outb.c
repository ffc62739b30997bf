// SPDX-License-Identifier: MIT
/*
 * outb PORT BYTE: one byte written to an x86 I/O port from the lab's L2
 * guest, whose Debian cloud kernel has no /dev/port (CONFIG_DEVPORT).  The
 * boot-marks case writes cloud-hypervisor's debug-port codes with it.
 * Exit status 2 for bad arguments, 1 when the port cannot be opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

static int parse(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 0);
	return *s && !*end && *out <= max;
}

int main(int argc, char **argv)
{
	unsigned long port, byte;

	if (argc != 3 || !parse(argv[1], 0xffff, &port) || !parse(argv[2], 0xff, &byte)) {
		fputs("usage: outb PORT BYTE (PORT up to 0xffff, BYTE up to 0xff)\n", stderr);
		return 2;
	}
	if (ioperm(port, 1, 1)) {
		perror("outb: ioperm");
		return 1;
	}
	outb((unsigned char)byte, (unsigned short)port);
	return 0;
}
