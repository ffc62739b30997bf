/* SPDX-License-Identifier: MIT */
/* Read-only mappings of the user's input files (kernel, initramfs). */
#ifndef WISP_CORE_FILE_H
#define WISP_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

struct mapped_file {
	const uint8_t *data;
	size_t size;
};

/* 0, or -1 after "wisp: --<option>: ..." naming the problem. */
int file_map(const char *option, const char *path, struct mapped_file *f);
void file_unmap(struct mapped_file *f);

#endif
