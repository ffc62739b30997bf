// SPDX-License-Identifier: MIT
/*
 * Makes snapshot directories for the direct tests of --restore's
 * refusals (tests/direct/input.sh): a state file in core/snapshot.h's
 * format, well formed or wrong in one way, and a sparse memory file.
 *
 *   snapdir DIR KIND MEMORY_BYTES
 *
 * KIND: good, crc (one body byte flipped), version (format 2), arch
 * (the other arch's ELF machine), truncated (the last byte cut),
 * device (a section for a device no wisp builds), tag (an unknown
 * section tag), nostate (only the memory file), or pcislot (good,
 * with "--rng src=/dev/urandom,pci_device_id=5" in its configuration).
 * MEMORY_BYTES 0: no memory file.  The configuration is otherwise
 * "--kernel /nonexistent --memory size=64M" (a restore reads no kernel).
 *
 * Written on its own (not linked with core/snapshot.c) so that the
 * format it writes is checked against wisp's reader, not assumed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t buf[4096];
static size_t len = 32;		/* the header is filled in last */

static void put(const void *p, size_t n)
{
	if (len + n > sizeof(buf))
		exit(1);
	memcpy(buf + len, p, n);
	len += n;
}

/* u32 tag, u16 name length with its NUL, name, u64 length, payload */
static void section(uint32_t tag, const char *name, const void *payload, uint64_t n)
{
	uint16_t namelen = (uint16_t)(strlen(name) + 1);

	put(&tag, 4);
	put(&namelen, 2);
	put(name, namelen);
	put(&n, 8);
	put(payload, n);
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n,
		       uint64_t size)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) ||
	    (size && ftruncate(fd, (off_t)size)) || close(fd)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const char config[] = "--kernel\0/nonexistent\0--memory\0size=64M";
	static const char rng_config[] = "--kernel\0/nonexistent\0--memory\0size=64M\0"
					 "--rng\0src=/dev/urandom,pci_device_id=5";
	uint64_t layout[] = { 0, 64ull << 20 };	/* one region: gpa, size */
	uint32_t nram = 1, version = 1, arch = 62, crc;
	uint8_t memory[4 + sizeof(layout)];
	uint64_t body;
	const char *kind;

	if (argc != 4) {
		fprintf(stderr, "usage: snapdir DIR KIND MEMORY_BYTES\n");
		return 2;
	}
	kind = argv[2];
	if (mkdir(argv[1], 0700) && access(argv[1], W_OK))
		return 1;
	if (strtoull(argv[3], NULL, 0))
		write_file(argv[1], "memory", NULL, 0, strtoull(argv[3], NULL, 0));
	if (!strcmp(kind, "nostate"))
		return 0;

	if (!strcmp(kind, "pcislot"))
		section(1, "config", rng_config, sizeof(rng_config));
	else
		section(1, "config", config, sizeof(config));
	if (!strcmp(kind, "device"))
		section(4, "virtio-teapot#0", "\0\0\0\0", 4);
	if (!strcmp(kind, "tag"))
		section(99, "future", "", 0);
	memcpy(memory, &nram, 4);
	memcpy(memory + 4, layout, sizeof(layout));
	section(5, "memory", memory, sizeof(memory));

	body = len - 32;
	crc = crc32(buf + 32, body);
	if (!strcmp(kind, "version"))
		version = 2;
	if (!strcmp(kind, "arch"))
		arch = 183;
	memcpy(buf, "WISPSNAP", 8);
	memcpy(buf + 8, &version, 4);
	memcpy(buf + 12, &arch, 4);
	memcpy(buf + 16, &body, 8);
	memcpy(buf + 24, &crc, 4);
	memset(buf + 28, 0, 4);
	if (!strcmp(kind, "crc"))
		buf[40] ^= 0x20;
	write_file(argv[1], "state", buf, len - !strcmp(kind, "truncated"), 0);
	return 0;
}
