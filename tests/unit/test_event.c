// SPDX-License-Identifier: MIT
/*
 * The event loop (core/event.c) with watches added and deleted from
 * other threads while the loop thread dispatches, as vCPU threads do:
 * every watch added sees its event (two threads adding at once once
 * took the same slot, and one watch was lost).
 */
#include "unit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/event.h"

#define THREADS 4
#define ROUNDS 2000

struct ctx {
	int fd;
	atomic_int calls;
};

static struct event_loop *loop;
static atomic_bool done;

static void on_event(void *opaque, uint32_t events)
{
	struct ctx *c = opaque;
	uint64_t v;

	(void)events;
	/* level-triggered: read it, or it fires again (a callback under way
	 * as its watch goes may find the fd closed: that is allowed) */
	if (read(c->fd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	atomic_fetch_add(&c->calls, 1);
}

static void *churn(void *arg)
{
	struct ctx c;
	uint64_t one = 1;
	unsigned missed = 0;

	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		c.fd = eventfd(0, EFD_NONBLOCK);
		atomic_init(&c.calls, 0);
		assert_true(c.fd >= 0);
		assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
		assert_int_equal(event_add(loop, c.fd, EPOLLIN, on_event, &c), 0);
		for (int i = 0; i < 2000 && !atomic_load(&c.calls); i++)
			usleep(50);
		if (!atomic_load(&c.calls))
			missed++;
		assert_int_equal(event_del(loop, c.fd), 0);
		close(c.fd);
	}
	return (void *)(uintptr_t)missed;
}

static void *loop_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&done))
		event_loop_poll(loop, 10);
	return NULL;
}

static void test_concurrent_watches(void **state)
{
	pthread_t t[THREADS], lt;
	unsigned missed = 0;

	(void)state;
	loop = event_loop_create();
	assert_non_null(loop);
	assert_int_equal(pthread_create(&lt, NULL, loop_thread, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *m;

		pthread_join(t[i], &m);
		missed += (unsigned)(uintptr_t)m;
	}
	atomic_store(&done, true);
	pthread_join(lt, NULL);
	event_loop_destroy(loop);
	assert_int_equal(missed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_watches),
	};

	return cmocka_run_group_tests_name("event loop", tests, NULL, NULL);
}
