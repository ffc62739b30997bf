/* SPDX-License-Identifier: MIT */
/*
 * cloud-hypervisor's HTTP API on a Unix socket (--api-socket), served by
 * a thread of its own (core/api.c, docs/api.md).  Core reaches it only
 * through two hooks it sets in struct vm: vcpu_hold, where each vCPU's
 * loop holds a paused VM's vCPUs, and on_teardown, which stops the
 * thread before the VM goes away.
 */
#ifndef WISP_CORE_API_H
#define WISP_CORE_API_H

struct vcpu;
struct vm;

#ifdef WISP_UNIT_TEST
/* Serves the listening socket listen_fd for vm as the API thread does,
 * for `rounds` rounds of poll() of at most 20 ms each. */
void api_test_serve(struct vm *vm, int listen_fd, unsigned rounds);
/* Runs one request buffer through the parser and the routes as a
 * connection would, for vm; the whole answer (status line, headers,
 * body) goes to out.  Returns its length. */
unsigned long api_test_answer(struct vm *vm, const char *request, unsigned long len,
			      char *out, unsigned long size);
#endif

#endif
