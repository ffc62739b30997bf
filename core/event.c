// SPDX-License-Identifier: MIT
#include "core/event.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_WATCHES 256

/*
 * The watch table is changed from any thread (a vCPU thread's register
 * write may start or pause a back-end) while the loop thread dispatches
 * from it, so it is guarded by a lock, and an epoll event names its
 * watch by slot and generation: an event already returned for a watch
 * that was deleted (and whose slot may hold another fd by now) is
 * dropped instead of reaching the new one.  Callbacks run without the
 * lock, so they may add, change and delete watches themselves; a watch
 * deleted on another thread may still see one callback that was
 * already under way.
 */
struct watch {
	int fd;			/* -1: free */
	uint32_t gen;		/* bumped when the slot is freed */
	event_fn fn;
	void *opaque;
};

struct event_loop {
	int epfd;
	int wakefd;
	atomic_bool stopping;
	pthread_mutex_t lock;
	struct watch watches[MAX_WATCHES];
};

/* epoll data: slot + 1 in the low half (0 is the wake-up fd), the
 * slot's generation in the high half */
static uint64_t watch_key(const struct event_loop *loop, const struct watch *w)
{
	return (uint64_t)w->gen << 32 | (uint64_t)(w - loop->watches + 1);
}

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->lock, NULL);
	for (int i = 0; i < MAX_WATCHES; i++)
		loop->watches[i].fd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.u64 = 0;	/* 0 marks the wake-up fd */
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev)) {
		event_loop_destroy(loop);
		return NULL;
	}
	return loop;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

/* Lock held. */
static struct watch *find_watch(struct event_loop *loop, int fd)
{
	for (int i = 0; i < MAX_WATCHES; i++)
		if (loop->watches[i].fd == fd)
			return &loop->watches[i];
	return NULL;
}

/* EPOLL_CTL_ADD with a free slot taking fd, fn and opaque, or
 * EPOLL_CTL_MOD of fd's slot: one body, the tiny binary counts bytes */
static int watch_ctl(struct event_loop *loop, int op, int fd, uint32_t events, event_fn fn,
		     void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct watch *w;
	int ret = -1;

	pthread_mutex_lock(&loop->lock);
	w = find_watch(loop, op == EPOLL_CTL_ADD ? -1 : fd);
	if (!w) {
		errno = op == EPOLL_CTL_ADD ? ENOSPC : ENOENT;
	} else {
		ev.data.u64 = watch_key(loop, w);
		ret = epoll_ctl(loop->epfd, op, fd, &ev);
		if (!ret && op == EPOLL_CTL_ADD)
			*w = (struct watch){ fd, w->gen, fn, opaque };
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int event_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn,
	      void *opaque)
{
	return watch_ctl(loop, EPOLL_CTL_ADD, fd, events, fn, opaque);
}

int event_mod(struct event_loop *loop, int fd, uint32_t events)
{
	return watch_ctl(loop, EPOLL_CTL_MOD, fd, events, NULL, NULL);
}

int event_del(struct event_loop *loop, int fd)
{
	struct watch *w;
	int ret = -1;

	pthread_mutex_lock(&loop->lock);
	w = find_watch(loop, fd);
	if (!w) {
		errno = ENOENT;
	} else {
		w->fd = -1;
		w->gen++;
		ret = epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

/* The callback of the watch an event names, if that watch still
 * exists: false for a stale event */
static bool watch_of(struct event_loop *loop, uint64_t key, event_fn *fn, void **opaque)
{
	uint64_t slot = (key & 0xffffffffu) - 1;
	bool live = false;

	if (slot >= MAX_WATCHES)
		return false;
	pthread_mutex_lock(&loop->lock);
	if (loop->watches[slot].fd >= 0 && loop->watches[slot].gen == (uint32_t)(key >> 32)) {
		*fn = loop->watches[slot].fn;
		*opaque = loop->watches[slot].opaque;
		live = true;
	}
	pthread_mutex_unlock(&loop->lock);
	return live;
}

int event_loop_poll(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n && !loop->stopping; i++) {
		event_fn fn;
		void *opaque;

		if (!evs[i].data.u64) {
			uint64_t v;

			/* only the wake-up itself matters */
			if (read(loop->wakefd, &v, sizeof(v)) != sizeof(v))
				v = 0;
			continue;
		}
		/* a callback (or another thread) may have removed it */
		if (watch_of(loop, evs[i].data.u64, &fn, &opaque))
			fn(opaque, evs[i].events);
	}
	return n;
}

int event_loop_run(struct event_loop *loop)
{
	while (!loop->stopping)
		if (event_loop_poll(loop, -1) < 0)
			return -1;
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	loop->stopping = true;
	if (write(loop->wakefd, &one, sizeof(one)) < 0)
		return;
}
