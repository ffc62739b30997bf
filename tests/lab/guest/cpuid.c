// SPDX-License-Identifier: MIT
/*
 * What the lab's L2 guest sees of its CPU, for cases that check CPUID
 * leaves a Linux kernel does not report (the hypervisor's, 0x40000000
 * and up) and MSRs a VMM enables (Hyper-V's):
 *   cpuid LEAF        "EAX EBX ECX EDX" of CPUID LEAF (subleaf 0), in hex
 *   cpuid vendor LEAF EBX, ECX and EDX of LEAF as 12 characters (a
 *                     vendor signature; unprintable ones as '.')
 *   cpuid msr INDEX   the MSR's value in hex, through /dev/cpu/0/msr (the
 *                     msr module); exit 1 when the CPU refuses it
 *   cpuid wrmsr INDEX VALUE   VALUE written to the MSR (exit 1 if refused)
 * Exit status 2 for bad arguments.  x86_64 only.
 */
#include <cpuid.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *s, unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 0);
	return *s && !*end && *out <= 0xffffffffUL;
}

static void leaf(unsigned l, unsigned r[4])
{
	__cpuid_count(l, 0, r[0], r[1], r[2], r[3]);
}

/* one MSR read (write: false) or written (write: true, *v its value) */
static int msr(unsigned long index, bool write, uint64_t *v)
{
	int fd = open("/dev/cpu/0/msr", write ? O_WRONLY : O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		perror("cpuid: /dev/cpu/0/msr");
		return 1;
	}
	n = write ? pwrite(fd, v, sizeof(*v), (off_t)index) : pread(fd, v, sizeof(*v), (off_t)index);
	close(fd);
	if (n != (ssize_t)sizeof(*v)) {
		fprintf(stderr, "cpuid: MSR %#lx refused\n", index);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long l;
	unsigned r[4];

	if (argc == 2 && parse(argv[1], &l)) {
		leaf((unsigned)l, r);
		printf("%08x %08x %08x %08x\n", r[0], r[1], r[2], r[3]);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "vendor") && parse(argv[2], &l)) {
		char s[13];

		leaf((unsigned)l, r);
		memcpy(s, &r[1], 4);
		memcpy(s + 4, &r[2], 4);
		memcpy(s + 8, &r[3], 4);
		for (int i = 0; i < 12; i++)
			if (s[i] < 0x20 || s[i] > 0x7e)
				s[i] = '.';
		s[12] = '\0';
		printf("%s\n", s);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "msr") && parse(argv[2], &l)) {
		uint64_t v;

		if (msr(l, false, &v))
			return 1;
		printf("%llx\n", (unsigned long long)v);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "wrmsr") && parse(argv[2], &l)) {
		char *end;
		uint64_t v = strtoull(argv[3], &end, 0);

		if (*argv[3] && !*end)
			return msr(l, true, &v);
	}
	fputs("usage: cpuid LEAF | cpuid vendor LEAF | cpuid msr INDEX | cpuid wrmsr INDEX VALUE\n",
	      stderr);
	return 2;
}
