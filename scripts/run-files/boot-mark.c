// SPDX-License-Identifier: MIT
/*
 * boot-mark: tell wisp's --timeline that the guest's boot is complete, by
 * writing the byte 0x7b to its boot-mark device (README, Boot timeline):
 * I/O port 0x440 on x86_64, the address 0x09040000 on AArch64.  A shell
 * cannot do it on Debian's cloud kernel, which has no /dev/port.
 * Built static (musl) into the guest initramfs of `make run`.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define BOOT_MARK_BYTE 0x7b

#if defined(__x86_64__)
#include <sys/io.h>

static int write_mark(void)
{
	if (ioperm(0x440, 1, 1)) {
		perror("boot-mark: ioperm 0x440");
		return 1;
	}
	outb(BOOT_MARK_BYTE, 0x440);
	return 0;
}
#elif defined(__aarch64__)
static int write_mark(void)
{
	const off_t addr = 0x09040000;
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	volatile uint8_t *page;

	if (fd < 0) {
		perror("boot-mark: /dev/mem");
		return 1;
	}
	page = mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, addr);
	close(fd);
	if (page == MAP_FAILED) {
		perror("boot-mark: mmap of 0x09040000");
		return 1;
	}
	*page = BOOT_MARK_BYTE;
	return 0;
}
#else
#error "boot-mark: x86_64 or aarch64 only"
#endif

int main(void)
{
	return write_mark();
}
