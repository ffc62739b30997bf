/* SPDX-License-Identifier: MIT */
/*
 * Where a terminal-like device (the serial port, the virtio console)
 * sends its output and gets its input: "off" (no device at all), "null"
 * (a device whose output goes nowhere), "tty" (standard output, with
 * standard input as the input side, in raw mode if it is a terminal) or
 * "file=PATH" (output to a file, created or truncated); with
 * CONFIG_CHARDEV_PTY, "pty" (a new pseudo-terminal, its name printed);
 * with CONFIG_CHARDEV_SOCKET, "socket=PATH" (a Unix stream socket wisp
 * listens on: the client connected gets the output and sends the input).
 */
#ifndef WISP_CORE_CHARDEV_H
#define WISP_CORE_CHARDEV_H

#include <stdbool.h>

#include "core/kv.h"

enum chardev_mode { CHARDEV_OFF, CHARDEV_NULL, CHARDEV_TTY, CHARDEV_FILE,
		    CHARDEV_PTY,	/* CONFIG_CHARDEV_PTY */
		    CHARDEV_SOCKET };	/* CONFIG_CHARDEV_SOCKET */

struct event_loop;
struct json;
struct chardev_socket;

/* For a device's usage line: the modes this build has. */
#ifdef CONFIG_CHARDEV_PTY
#define CHARDEV_USAGE_PTY "|pty"
#else
#define CHARDEV_USAGE_PTY ""
#endif
#ifdef CONFIG_CHARDEV_SOCKET
#define CHARDEV_USAGE_SOCKET "|socket=PATH"
#else
#define CHARDEV_USAGE_SOCKET ""
#endif

struct chardev_config {
	enum chardev_mode mode;
	const char *path;
};

struct chardev {
	int out_fd;	/* -1: output dropped */
	int in_fd;	/* -1: no input */
#ifdef CONFIG_CHARDEV_SOCKET
	/* socket=PATH: output goes to its client, if any (out_fd is -1);
	 * in_fd is a pipe the socket's client feeds, never at its end */
	struct chardev_socket *sock;
#endif
};

/* vm.info, for a device whose configuration is a chardev_config:
 * cloud-hypervisor's "file" and "mode" (CONFIG_API only). */
void chardev_info(const void *config, struct json *j);
/* The same for a device that can sit behind the IOMMU (virtio-console). */
void chardev_info_iommu(const struct chardev_config *c, bool iommu, struct json *j);

/* For a device's parse(): one of off, null, tty, file=PATH (pty and
 * socket=PATH as built; socket=PATH only where socket_ok: as in
 * cloud-hypervisor, the serial port has it, the virtio console not). */
int chardev_parse(struct kv_list *args, struct chardev_config *c,
		  bool socket_ok, struct cli_error *err);
/* Opens the output (and input), watching what needs it on `loop`; -1
 * after a message naming `option`. */
int chardev_open(const struct chardev_config *c, const char *option,
		 struct event_loop *loop, struct chardev *cd);
/* Removes the output files chardev_open() created: for a VM that never
 * ran, so a failed start leaves nothing behind. */
void chardev_remove_created(void);
#ifdef WISP_UNIT_TEST
/* Closes socket=PATH's socket and removes its file (unit tests). */
void chardev_test_socket_reset(void);
#endif
/* Writes all of buf to the output, if any; false on an output error. */
bool chardev_write(const struct chardev *cd, const void *buf, size_t len);

#endif
