/* SPDX-License-Identifier: MIT */
/*
 * Rate limiters for device I/O, in cloud-hypervisor's and Firecracker's
 * model (docs/io_throttling.md of cloud-hypervisor): a token bucket for
 * bytes and one for operations.  A bucket holds at most `size` tokens
 * and refills continuously at `size` tokens per `refill_ms`; a
 * one-time burst of extra tokens is spent first and never comes back.
 *
 * Unlike the peers there is no fixed cool-down: a request that does not
 * fit is told exactly how long until it will, and the device arms a
 * timer for that and stops serving the queue meanwhile (nothing is
 * dropped or reordered).  A request bigger than the whole bucket goes
 * through when the bucket is full and leaves it in debt, so a limit
 * smaller than one request slows it down instead of stalling it.
 *
 * Time comes from the caller (CLOCK_MONOTONIC nanoseconds), so the
 * buckets are plain arithmetic and the unit tests control the clock.
 * One limiter may be shared by several devices (a rate-limit group): it
 * carries its own lock.
 */
#ifndef WISP_CORE_RATE_LIMITER_H
#define WISP_CORE_RATE_LIMITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* What the user gave; a size of 0 leaves that bucket unlimited. */
struct rate_limit_config {
	uint64_t bw_size, bw_one_time_burst, bw_refill_ms;
	uint64_t ops_size, ops_one_time_burst, ops_refill_ms;
};

struct token_bucket {
	uint64_t size;		/* capacity in tokens; 0: unlimited */
	uint64_t refill_ns;	/* time to refill `size` tokens */
	uint64_t burst;		/* one-time tokens left */
	/* tokens times refill_ns, so refilling is exact integer
	 * arithmetic; negative while a big request's debt is paid */
	__int128 scaled;
	uint64_t last_ns;	/* when `scaled` was brought up to date */
};

struct rate_limiter {
	pthread_mutex_t lock;
	struct token_bucket bw, ops;
};

/* The longest refill time accepted: about 49 days, far beyond any use,
 * and small enough that no product below can overflow. */
#define RATE_LIMIT_MAX_REFILL_MS (1ULL << 32)

/* NULL when the configuration can be used, else what is wrong with it,
 * naming the key ("bw_refill_time ..."), for a one-line error. */
const char *rate_limit_check(const struct rate_limit_config *c);

/* Both buckets full (plus their bursts) as of now_ns.  The config must
 * have passed rate_limit_check(). */
void rate_limiter_init(struct rate_limiter *rl, const struct rate_limit_config *c,
		       uint64_t now_ns);
void rate_limiter_destroy(struct rate_limiter *rl);

/* One operation of `bytes` bytes: takes its tokens from both buckets
 * and returns true, or takes nothing, returns false and sets *wait_ns to
 * the time until it would fit (at least 1). */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns,
			  uint64_t *wait_ns);

/* True when neither bucket limits anything. */
bool rate_limiter_unlimited(const struct rate_limiter *rl);

#endif
