/* SPDX-License-Identifier: MIT */
/*
 * The FUSE file server of wisp-fsd: one host directory, every path
 * component resolved beneath it (openat2 with RESOLVE_BENEATH and no
 * symlinks, names checked to be single components), so a guest reaches
 * nothing outside the directory whatever it sends.
 */
#ifndef WISP_FSD_FUSE_OPS_H
#define WISP_FSD_FUSE_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Largest request and reply wisp-fsd handles (a 128 KiB write or read
 * plus headers, a page of directory entries). */
#define FSD_MAX_WRITE (128 * 1024)
#define FSD_MAX_MSG (FSD_MAX_WRITE + 4096)

/* Opens the shared directory; -1 with a message on stderr. */
int fs_open_root(const char *dir);
/* Forgets every inode and open file but the root (a new driver). */
void fs_reset(void);
/* Handles one request of `len` bytes; the reply goes to `reply`
 * (FSD_MAX_MSG bytes).  Returns the reply's length, 0 when the request
 * takes no reply (FORGET). */
size_t fs_handle(const uint8_t *req, size_t len, uint8_t *reply);

#endif
