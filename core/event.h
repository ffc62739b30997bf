/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll set served by the main thread.  Device
 * back-ends (stdin for the serial port, files, sockets, timers) register
 * file descriptors here; vCPU threads never block on them.
 */
#ifndef WISP_CORE_EVENT_H
#define WISP_CORE_EVENT_H

#include <stdint.h>

typedef void (*event_fn)(void *opaque, uint32_t events);

struct event_loop;

struct event_loop *event_loop_create(void);
void event_loop_destroy(struct event_loop *loop);

/* events: EPOLLIN/EPOLLOUT...; fn runs on the loop thread. */
int event_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn,
	      void *opaque);
int event_mod(struct event_loop *loop, int fd, uint32_t events);
int event_del(struct event_loop *loop, int fd);

/* Serves what is ready, waiting up to timeout_ms (-1: until something
 * is); returns how many events there were, or -1 on an epoll failure.
 * The fuzzers drive devices with it. */
int event_loop_poll(struct event_loop *loop, int timeout_ms);
/* Runs until event_loop_stop(); returns 0, or -1 on an epoll failure. */
int event_loop_run(struct event_loop *loop);
/* Safe from any thread. */
void event_loop_stop(struct event_loop *loop);

#endif
