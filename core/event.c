// SPDX-License-Identifier: MIT
#include "core/event.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_WATCHES 256

struct watch {
	int fd;
	event_fn fn;
	void *opaque;
};

struct event_loop {
	int epfd;
	int wakefd;
	atomic_bool stopping;
	struct watch watches[MAX_WATCHES];
};

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	for (int i = 0; i < MAX_WATCHES; i++)
		loop->watches[i].fd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.ptr = NULL;	/* NULL marks the wake-up fd */
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
	free(loop);
}

static struct watch *find_watch(struct event_loop *loop, int fd)
{
	for (int i = 0; i < MAX_WATCHES; i++)
		if (loop->watches[i].fd == fd)
			return &loop->watches[i];
	return NULL;
}

int event_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn,
	      void *opaque)
{
	struct watch *w = find_watch(loop, -1);
	struct epoll_event ev = { .events = events };

	if (!w) {
		errno = ENOSPC;
		return -1;
	}
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	*w = (struct watch){ fd, fn, opaque };
	return 0;
}

int event_mod(struct event_loop *loop, int fd, uint32_t events)
{
	struct watch *w = find_watch(loop, fd);
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (!w) {
		errno = ENOENT;
		return -1;
	}
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev);
}

int event_del(struct event_loop *loop, int fd)
{
	struct watch *w = find_watch(loop, fd);

	if (!w) {
		errno = ENOENT;
		return -1;
	}
	w->fd = -1;
	return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int event_loop_poll(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n && !loop->stopping; i++) {
		struct watch *w = evs[i].data.ptr;

		if (!w) {
			uint64_t v;

			/* only the wake-up itself matters */
			if (read(loop->wakefd, &v, sizeof(v)) != sizeof(v))
				v = 0;
			continue;
		}
		/* a callback may have removed this watch */
		if (w->fd >= 0)
			w->fn(w->opaque, evs[i].events);
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
