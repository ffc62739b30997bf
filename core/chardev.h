/* SPDX-License-Identifier: MIT */
/*
 * Where a terminal-like device (the serial port, the virtio console)
 * sends its output and gets its input: "off" (no device at all), "null"
 * (a device whose output goes nowhere), "tty" (standard output, with
 * standard input as the input side, in raw mode if it is a terminal) or
 * "file=PATH" (output to a file, created or truncated); with
 * CONFIG_CHARDEV_PTY, "pty" (a new pseudo-terminal, its name printed).
 */
#ifndef WISP_CORE_CHARDEV_H
#define WISP_CORE_CHARDEV_H

#include <stdbool.h>

#include "core/kv.h"

enum chardev_mode { CHARDEV_OFF, CHARDEV_NULL, CHARDEV_TTY, CHARDEV_FILE,
		    CHARDEV_PTY };	/* pty: CONFIG_CHARDEV_PTY */

struct json;

struct chardev_config {
	enum chardev_mode mode;
	const char *path;
};

struct chardev {
	int out_fd;	/* -1: output dropped */
	int in_fd;	/* -1: no input */
};

/* vm.info, for a device whose configuration is a chardev_config:
 * cloud-hypervisor's "file" and "mode" (CONFIG_API only). */
void chardev_info(const void *config, struct json *j);

/* For a device's parse(): one of off, null, tty, file=PATH. */
int chardev_parse(struct kv_list *args, struct chardev_config *c,
		  struct cli_error *err);
/* Opens the output (and input); -1 after a message naming `option`. */
int chardev_open(const struct chardev_config *c, const char *option,
		 struct chardev *cd);
/* Removes the output files chardev_open() created: for a VM that never
 * ran, so a failed start leaves nothing behind. */
void chardev_remove_created(void);
/* Writes all of buf to the output, if any; false on an output error. */
bool chardev_write(const struct chardev *cd, const void *buf, size_t len);

#endif
