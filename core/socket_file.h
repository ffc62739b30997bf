/* SPDX-License-Identifier: MIT */
/*
 * A Unix socket wisp listens on at a path the user named (--vsock's
 * socket=, vhost-user's vhost_mode=server): checked when the option is
 * parsed, bound when the device is made, and its file removed at exit.
 * Exit runs on the main thread under its seccomp filter, which may not
 * unlink paths: the socket's directory is held open and unlinkat() is
 * allowed in it alone.
 */
#ifndef WISP_CORE_SOCKET_FILE_H
#define WISP_CORE_SOCKET_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include "core/kv.h"

struct socket_file {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* its last component */
	int dirfd;		/* its directory, O_PATH; -1 when not open */
	bool bound;		/* path is ours to unlink */
};

/* Parse time: path leaves `spare` bytes of a socket address free (for
 * names made from it), its directory exists, and nothing is there but
 * a stale socket (one no process listens on), which listening replaces.
 * 0, or -1 with err naming the problem ("'socket=PATH': ..."). */
int socket_file_check(const char *path, size_t spare, struct cli_error *err);

/* Create time: a non-blocking socket listening at path, or -1 after
 * "wisp: --<option>: ..." naming what failed. */
int socket_file_listen(struct socket_file *s, const char *option, const char *path, int backlog);

/* Lets the main thread's filter remove the file: 0 or -1. */
int socket_file_allow_removal(const struct socket_file *s);

/* Removes the file if it is ours, and lets the directory go. */
void socket_file_close(struct socket_file *s);

#endif
