// SPDX-License-Identifier: MIT
/*
 * elf-trim IN OUT: copies a stripped static ELF64 executable without its
 * section header table, its section names and anything else past the
 * end of the last loaded segment.  The kernel loads an executable from
 * its program headers only; sections are for linkers and debuggers, and
 * wisp.debug keeps them all.  About 1.2 KiB of the tiny binary.
 *
 * Refuses (exit 1, one line) anything that is not a little-endian ELF64
 * executable whose program headers lie inside the file.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *in, const char *why)
{
	fprintf(stderr, "elf-trim: %s: %s\n", in, why);
	return 1;
}

int main(int argc, char **argv)
{
	static unsigned char buf[16 << 20];
	Elf64_Ehdr eh;
	size_t n, end = 0;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: elf-trim IN OUT\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f)
		return fail(argv[1], "cannot open");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf))
		return fail(argv[1], "too big");
	if (n < sizeof(eh))
		return fail(argv[1], "too short for an ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_EXEC ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > n ||
	    (n - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		return fail(argv[1], "not a little-endian ELF64 executable");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset > n || ph.p_filesz > n - ph.p_offset)
			return fail(argv[1], "a segment lies past the end of the file");
		if (ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	if (end < eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr))
		end = eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shentsize = 0;
	eh.e_shstrndx = SHN_UNDEF;
	memcpy(buf, &eh, sizeof(eh));
	f = fopen(argv[2], "wb");
	if (!f)
		return fail(argv[2], "cannot create");
	/* an executable, whatever the umask made of a new file */
	if (fchmod(fileno(f), 0755)) {
		fclose(f);
		return fail(argv[2], "cannot make executable");
	}
	if (fwrite(buf, 1, end, f) != end || fclose(f))
		return fail(argv[2], "cannot write");
	return 0;
}
