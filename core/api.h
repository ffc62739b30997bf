/* SPDX-License-Identifier: MIT */
/*
 * cloud-hypervisor's HTTP API on a Unix socket (--api-socket), served by
 * a thread of its own (core/api.c, docs/api.md).  Core calls in at two
 * points only: each vCPU's loop, where a paused VM holds its vCPUs, and
 * the end of vm_main(), which stops the thread before the VM goes away.
 */
#ifndef WISP_CORE_API_H
#define WISP_CORE_API_H

struct vcpu;
struct vm;

#ifdef CONFIG_API
/* On a vCPU thread before each KVM_RUN: returns at once unless the VM
 * is being paused, else waits until it is resumed or stopped. */
void api_vcpu_hold(struct vcpu *v);
/* On the main thread once the vCPUs are stopped: ends the API thread
 * (it never touches the VM again) and removes the socket file. */
void api_stop(void);
#else
static inline void api_vcpu_hold(struct vcpu *v) { (void)v; }
static inline void api_stop(void) { }
#endif

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
