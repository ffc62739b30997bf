// SPDX-License-Identifier: MIT
/* Token buckets for device I/O; see core/rate_limiter.h. */
#include "core/rate_limiter.h"

#define NS_PER_MS 1000000ULL

const char *rate_limit_check(const struct rate_limit_config *c)
{
	if (c->bw_size && !c->bw_refill_ms)
		return "bw_size needs a bw_refill_time of 1 ms or more";
	if (c->ops_size && !c->ops_refill_ms)
		return "ops_size needs an ops_refill_time of 1 ms or more";
	if (!c->bw_size && (c->bw_refill_ms || c->bw_one_time_burst))
		return "bw_refill_time and bw_one_time_burst need a bw_size of 1 or more";
	if (!c->ops_size && (c->ops_refill_ms || c->ops_one_time_burst))
		return "ops_refill_time and ops_one_time_burst need an ops_size of 1 or more";
	if (c->bw_refill_ms > RATE_LIMIT_MAX_REFILL_MS)
		return "bw_refill_time is more than 2^32 ms";
	if (c->ops_refill_ms > RATE_LIMIT_MAX_REFILL_MS)
		return "ops_refill_time is more than 2^32 ms";
	return NULL;
}

static void bucket_init(struct token_bucket *b, uint64_t size, uint64_t burst,
			uint64_t refill_ms, uint64_t now_ns)
{
	b->size = size;
	b->refill_ns = refill_ms * NS_PER_MS;
	b->burst = burst;
	b->scaled = (__int128)size * b->refill_ns;
	b->last_ns = now_ns;
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limit_config *c,
		       uint64_t now_ns)
{
	pthread_mutex_init(&rl->lock, NULL);
	bucket_init(&rl->bw, c->bw_size, c->bw_one_time_burst, c->bw_refill_ms, now_ns);
	bucket_init(&rl->ops, c->ops_size, c->ops_one_time_burst, c->ops_refill_ms, now_ns);
}

void rate_limiter_destroy(struct rate_limiter *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

bool rate_limiter_unlimited(const struct rate_limiter *rl)
{
	return !rl->bw.size && !rl->ops.size;
}

/* Every elapsed nanosecond adds `size` to the scaled budget (that is,
 * size tokens per refill_ns), up to the capacity.  The elapsed time is
 * compared with the time to fill up before multiplying, so that the
 * product stays within what the bucket can be short of (a full bucket
 * plus a debt, each at most 2^116) and cannot overflow. */
static void refill(struct token_bucket *b, uint64_t now_ns)
{
	__int128 full = (__int128)b->size * b->refill_ns;

	if (now_ns > b->last_ns && b->scaled < full) {
		__int128 to_full = (full - b->scaled + b->size - 1) / b->size;
		uint64_t elapsed = now_ns - b->last_ns;

		if (elapsed >= to_full)
			b->scaled = full;
		else
			b->scaled += (__int128)elapsed * b->size;
	}
	/* a clock that went back (never CLOCK_MONOTONIC) refills nothing,
	 * and the time since the later reading is not counted twice */
	if (now_ns > b->last_ns)
		b->last_ns = now_ns;
}

/* 0 when n tokens can be taken now, else the nanoseconds until they can.
 * The burst pays first; what it cannot pay needs that many tokens in the
 * bucket, or a full bucket when it is more than the bucket holds. */
static uint64_t bucket_wait(struct token_bucket *b, uint64_t n, uint64_t now_ns)
{
	__int128 need, missing;

	if (!b->size)
		return 0;
	refill(b, now_ns);
	if (n <= b->burst)
		return 0;
	need = (__int128)((n - b->burst) < b->size ? n - b->burst : b->size) * b->refill_ns;
	missing = need - b->scaled;
	if (missing <= 0)
		return 0;
	/* round up: the caller must not wake a nanosecond early; a debt
	 * of centuries is still a number a timer takes */
	missing = (missing + b->size - 1) / b->size;
	return missing > INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)missing;
}

static void bucket_take(struct token_bucket *b, uint64_t n)
{
	uint64_t from_burst = n < b->burst ? n : b->burst;

	if (!b->size)
		return;
	b->burst -= from_burst;
	b->scaled -= (__int128)(n - from_burst) * b->refill_ns;
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns,
			  uint64_t *wait_ns)
{
	uint64_t wait_bw, wait_ops;

	pthread_mutex_lock(&rl->lock);
	wait_bw = bucket_wait(&rl->bw, bytes, now_ns);
	wait_ops = bucket_wait(&rl->ops, 1, now_ns);
	if (!wait_bw && !wait_ops) {
		bucket_take(&rl->bw, bytes);
		bucket_take(&rl->ops, 1);
	}
	pthread_mutex_unlock(&rl->lock);
	*wait_ns = wait_bw > wait_ops ? wait_bw : wait_ops;
	return !*wait_ns;
}
