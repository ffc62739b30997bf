/* SPDX-License-Identifier: MIT */
/*
 * wisp-fsd's seccomp filter: after start-up (the shared directory open,
 * the socket listening) it may make only the system calls serving front
 * ends takes.  It builds its own small BPF program: wisp's generator
 * (core/seccomp.c) is tied to wisp's thread kinds and error reporting,
 * and wisp-fsd has one thread and one list.
 *
 * --seccomp true: a call outside the list prints one line naming it and
 * the process dies of SIGSYS.  log: the kernel logs the call and lets it
 * through.  false: no filter.
 */
#ifndef WISP_FSD_SANDBOX_H
#define WISP_FSD_SANDBOX_H

enum fsd_seccomp { FSD_SECCOMP_FALSE, FSD_SECCOMP_TRUE, FSD_SECCOMP_LOG };

/* "true", "false" or "log"; -1 for anything else. */
int fsd_seccomp_parse(const char *s, enum fsd_seccomp *mode);
/* Installs the filter for the calling thread (wisp-fsd has one): 0, or
 * -1 with a message on stderr.  Nothing for FSD_SECCOMP_FALSE. */
int fsd_seccomp_install(enum fsd_seccomp mode);

#endif
