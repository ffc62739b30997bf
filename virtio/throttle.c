// SPDX-License-Identifier: MIT
/* Rate limiting for virtio queues; see virtio/throttle.h. */
#include "virtio/throttle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/device.h"
#include "core/event.h"
#include "core/seccomp.h"
#include "core/vm.h"
#include "virtio/virtio_pci.h"

int throttle_parse(struct kv_list *args, struct rate_limit_config *c, bool *limited,
		   struct cli_error *err)
{
	const struct {
		const char *key;
		uint64_t *out;
		uint64_t max;
	} keys[] = {
		{ "bw_size", &c->bw_size, UINT64_MAX },
		{ "bw_one_time_burst", &c->bw_one_time_burst, UINT64_MAX },
		{ "bw_refill_time", &c->bw_refill_ms, RATE_LIMIT_MAX_REFILL_MS },
		{ "ops_size", &c->ops_size, UINT64_MAX },
		{ "ops_one_time_burst", &c->ops_one_time_burst, UINT64_MAX },
		{ "ops_refill_time", &c->ops_refill_ms, RATE_LIMIT_MAX_REFILL_MS },
	};
	const char *why;
	int given = 0;

	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int r = kv_u64(args, keys[i].key, 0, keys[i].max, keys[i].out, err);

		if (r < 0)
			return -1;
		given |= r;
	}
	why = rate_limit_check(c);
	if (why) {
		cli_errorf(err, "%s in '%s'", why, args->source);
		return -1;
	}
	*limited = given && (c->bw_size || c->ops_size);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Event loop: the wait is over; the queues take their requests again
 * (through their kicks, so the usual checks of the device's state run). */
static void on_timer(void *opaque, uint32_t events)
{
	struct throttle *t = opaque;
	struct virtio_dev *d = t->dev;
	uint64_t n;

	(void)events;
	if (read(t->timer_fd, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_lock(d);
	t->waiting = false;
	for (unsigned q = 0; q < d->nqueues; q++)
		if (d->queue[q].enabled)
			virtio_kick(d, q);
	virtio_unlock(d);
}

static const struct seccomp_rule throttle_seccomp[] = {
	SC_ALLOW(SYS_timerfd_settime),
};

/* The timer and the filter rule, once t has its limiter. */
static int arm(struct throttle *t, struct vm *vm)
{
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->timer_fd < 0 || event_add(vm->loop, t->timer_fd, EPOLLIN, on_timer, t)) {
		wisp_err("%s: cannot set up its rate limiter: %s", t->dev->name, strerror(errno));
		return -1;
	}
	/* admitting runs where the device takes requests: the event loop */
	return seccomp_allow(SECCOMP_MAIN, throttle_seccomp, SC_COUNT(throttle_seccomp));
}

int throttle_init(struct throttle *t, struct vm *vm, struct virtio_dev *d,
		  const struct rate_limit_config *c, bool limited)
{
	memset(t, 0, sizeof(*t));
	t->timer_fd = -1;
	t->dev = d;
	if (!limited)
		return 0;
	t->limiter = calloc(1, sizeof(*t->limiter));
	if (!t->limiter) {
		wisp_err("%s: no memory for its rate limiter", d->name);
		return -1;
	}
	rate_limiter_init(t->limiter, c, now_ns());
	return arm(t, vm);
}

/* ------------------------------------------------- --rate-limit-group */

/* cloud-hypervisor's --rate-limit-group id=ID,bw_size=...: one limiter
 * that every disk naming it with rate_limit_group=ID draws from.  The
 * groups exist before the devices (ORDER_PLATFORM). */
#define MAX_GROUPS 16

struct group_config {
	const char *id;
	struct rate_limit_config limits;
};

static struct {
	const char *id;
	struct rate_limiter limiter;
} groups[MAX_GROUPS];
static unsigned ngroups;

static int group_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct group_config *c = config;
	bool limited;

	if (kv_str(args, "id", &c->id, err) < 0 ||
	    throttle_parse(args, &c->limits, &limited, err) < 0)
		return -1;
	if (!c->id || !*c->id) {
		cli_errorf(err, "id=NAME is required in '%s'", args->source);
		return -1;
	}
	if (!limited) {
		cli_errorf(err, "a group limits nothing without bw_size= or ops_size= in '%s'",
			   args->source);
		return -1;
	}
	return 0;
}

static int group_create(struct vm *vm, const void *config)
{
	const struct group_config *c = config;

	(void)vm;
	for (unsigned i = 0; i < ngroups; i++) {
		if (!strcmp(groups[i].id, c->id)) {
			wisp_err("--rate-limit-group: id=%s is defined twice", c->id);
			return EXIT_USAGE;
		}
	}
	if (ngroups == MAX_GROUPS) {
		wisp_err("--rate-limit-group: at most %d groups", MAX_GROUPS);
		return EXIT_USAGE;
	}
	groups[ngroups].id = c->id;
	rate_limiter_init(&groups[ngroups].limiter, &c->limits, now_ns());
	ngroups++;
	return 0;
}

int throttle_init_group(struct throttle *t, struct vm *vm, struct virtio_dev *d,
			const char *id)
{
	memset(t, 0, sizeof(*t));
	t->timer_fd = -1;
	t->dev = d;
	for (unsigned i = 0; i < ngroups; i++)
		if (!strcmp(groups[i].id, id))
			t->limiter = &groups[i].limiter;
	if (!t->limiter) {
		wisp_err("%s: rate_limit_group=%s: no --rate-limit-group has that id", d->name, id);
		return EXIT_USAGE;
	}
	return arm(t, vm);
}

DEVICE_REGISTER(rate_limit_group) = {
	.name = "rate-limit-group",
	.summary = "a rate limit shared by the disks that name it (rate_limit_group=ID)",
	.option = "rate-limit-group",
	.id_apart = true,
	.usage = "id=ID" THROTTLE_USAGE,
	.repeatable = true,
	.order = ORDER_PLATFORM,
	.config_size = sizeof(struct group_config),
	.parse = group_parse,
	.create = group_create,
	.snapshot = SNAPSHOT_OPS(&snapshot_stateless),
};

bool throttle_admit(struct throttle *t, uint64_t bytes)
{
	struct itimerspec when = { 0 };
	uint64_t wait;

	if (!t->limiter)
		return true;
	if (t->waiting)
		return false;
	if (rate_limiter_consume(t->limiter, bytes, now_ns(), &wait))
		return true;
	t->throttled++;
	t->waiting = true;
	when.it_value.tv_sec = (time_t)(wait / 1000000000ULL);
	when.it_value.tv_nsec = (long)(wait % 1000000000ULL);
	if (timerfd_settime(t->timer_fd, 0, &when, NULL)) {
		/* without its timer the queue would wait for ever: let the
		 * request through rather than stall the guest */
		wisp_err("%s: rate limiter timer: %s; not limiting this request", t->dev->name,
			 strerror(errno));
		t->waiting = false;
		return true;
	}
	return false;
}

void throttle_reset(struct throttle *t)
{
	static const struct itimerspec off;

	if (!t->limiter)
		return;
	t->waiting = false;
	timerfd_settime(t->timer_fd, 0, &off, NULL);
}
