/* SPDX-License-Identifier: MIT */
/* Read-only mappings of the user's input files (kernel, initramfs). */
#ifndef WISP_CORE_FILE_H
#define WISP_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/kv.h"

struct mapped_file {
	const uint8_t *data;
	size_t size;
};

/* Maps a whole non-empty regular file.  A FIFO, a device or a directory
 * is refused without blocking in open() or reading anything.  0, or -1
 * after "wisp: --<option>: ..." naming the file and the problem. */
int file_map(const char *option, const char *path, struct mapped_file *f);
void file_unmap(struct mapped_file *f);

/* "a directory", "a FIFO", "a character device"...: what a file of this
 * mode is, for messages that refuse it. */
const char *file_kind(mode_t mode);

/* The directory part of path ("." for a bare name) into buf. */
void file_dir(const char *path, char *buf, size_t len);

/* A path for a Unix socket wisp is to create (the `key` of an option,
 * for messages): nothing there yet, in a directory that exists and
 * that wisp may create files in, short enough for sun_path.  0, or -1
 * with err saying which. */
int file_check_new_socket(const char *key, const char *path, struct cli_error *err);

#endif
