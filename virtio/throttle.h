/* SPDX-License-Identifier: MIT */
/*
 * Rate limiting for a virtio device's queues (core/rate_limiter.h does
 * the arithmetic): cloud-hypervisor's keys on the device's option
 * (bw_size, bw_one_time_burst, bw_refill_time, ops_size,
 * ops_one_time_burst, ops_refill_time), and a timer on the event loop.
 *
 * A device asks throttle_admit() for each request it has just popped.
 * When the request does not fit, the device gives it back to its queue
 * (virtq_give_back) and stops taking requests; the timer fires when it
 * will fit and kicks the device's queues, which take it again, first.
 * Nothing is dropped or reordered, no thread sleeps, nothing is held
 * (no buffer, no IOMMU translation) while a queue waits.
 */
#ifndef WISP_VIRTIO_THROTTLE_H
#define WISP_VIRTIO_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/kconfig.h"
#include "core/kv.h"
#include "core/rate_limiter.h"

struct vm;
struct virtio_dev;

struct throttle {
	struct rate_limiter *limiter;	/* NULL: not limited */
	struct virtio_dev *dev;
	int timer_fd;
	bool waiting;		/* refused: no request is taken until the timer */
	uint64_t throttled;	/* requests refused so far (counters) */
};

#if IS_ENABLED(CONFIG_RATE_LIMITER)
/* for a device's usage line */
#define THROTTLE_USAGE "[,bw_size=BYTES,bw_refill_time=MS[,bw_one_time_burst=BYTES]]" \
	"[,ops_size=N,ops_refill_time=MS[,ops_one_time_burst=N]]"
/* The six keys from a device's option; *limited tells whether any was
 * given.  0, or -1 with err naming the key. */
int throttle_parse(struct kv_list *args, struct rate_limit_config *c, bool *limited,
		   struct cli_error *err);
/* Makes t limit device d by c (a limiter of its own); t stays inert
 * when nothing was limited.  0, or -1 (reported). */
int throttle_init(struct throttle *t, struct vm *vm, struct virtio_dev *d,
		  const struct rate_limit_config *c, bool limited);
/* Makes t limit device d by the --rate-limit-group with that id, shared
 * with the other devices that name it.  0; EXIT_USAGE (2, reported) when
 * no group has that id; -1 (reported) on a host failure. */
int throttle_init_group(struct throttle *t, struct vm *vm, struct virtio_dev *d,
			const char *id);
/* May a request of `bytes` go now?  false: give it back and stop. */
bool throttle_admit(struct throttle *t, uint64_t bytes);
/* Whether the device must not take requests now. */
static inline bool throttle_waiting(const struct throttle *t)
{
	return t->waiting;
}
/* Device reset: the wait is forgotten (the tokens are not). */
void throttle_reset(struct throttle *t);
#else
#define THROTTLE_USAGE ""
/* Any limit needs bw_size or ops_size; the format is one the binary has
 * already (the tiny configurations count their bytes). */
static inline int throttle_parse(struct kv_list *args, struct rate_limit_config *c,
				 bool *limited, struct cli_error *err)
{
	const char *v;

	(void)c;
	*limited = false;
	if (kv_str(args, "bw_size", &v, err) > 0 || kv_str(args, "ops_size", &v, err) > 0 ||
	    kv_str(args, "rate_limit_group", &v, err) > 0) {
		cli_errorf(err, "%s is not built into this binary (CONFIG_%s is off)",
			   "rate limiting (bw_size=, ops_size=, rate_limit_group=)", "RATE_LIMITER");
		return -1;
	}
	return 0;
}
static inline int throttle_init(struct throttle *t, struct vm *vm, struct virtio_dev *d,
				const struct rate_limit_config *c, bool limited)
{
	(void)t; (void)vm; (void)d; (void)c; (void)limited;
	return 0;
}
static inline int throttle_init_group(struct throttle *t, struct vm *vm, struct virtio_dev *d,
				      const char *id)
{
	(void)t; (void)vm; (void)d; (void)id;
	return 0;
}
static inline bool throttle_admit(struct throttle *t, uint64_t bytes)
{
	(void)t; (void)bytes;
	return true;
}
static inline bool throttle_waiting(const struct throttle *t)
{
	(void)t;
	return false;
}
static inline void throttle_reset(struct throttle *t) { (void)t; }
#endif

#endif
