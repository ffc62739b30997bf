// SPDX-License-Identifier: MIT
/*
 * bench/limiter: what a rate limiter costs on the data path, per
 * request, in nanoseconds (bench/run puts the figures in
 * docs/performance.md).  virtio/throttle.c admits every request of a
 * throttled queue with throttle_admit(): nothing but a NULL check when
 * the device has no limit, else the CLOCK_MONOTONIC time and
 * rate_limiter_consume() (a lock, two buckets).  Measured here, on this
 * machine's CPU, with core/rate_limiter.c itself:
 *
 *   none        the NULL check of a device without a limit
 *   clock       clock_gettime(CLOCK_MONOTONIC) alone
 *   unlimited   consume on a limiter whose buckets are both 0 (unlimited)
 *   limited     consume on a limiter of 1 TB/s and 1 G ops/s, which never
 *               makes a request wait, so every call takes tokens
 *   limited+clock   the same with the time read each call, as the
 *               data path does
 *
 * Prints "label ns_per_op", the median of 9 rounds of N calls each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/rate_limiter.h"

#define ROUNDS 9

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* what the data path calls; noinline so each call is a real one */
__attribute__((noinline)) static int admit(struct rate_limiter *rl, int kind, uint64_t bytes,
					   uint64_t t)
{
	uint64_t wait;

	if (!rl)
		return 1;
	if (kind == 1)
		return (int)(now() & 1);
	return rate_limiter_consume(rl, bytes, kind == 2 ? now() : t, &wait);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* kind: 0 consume at time t (or the NULL check), 1 the clock, 2 consume
 * reading the clock */
static double measure(struct rate_limiter *rl, int kind, long n)
{
	struct rate_limiter *volatile vrl = rl;
	double ns[ROUNDS];
	volatile int sink = 0;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now();

		for (long i = 0; i < n; i++)
			sink += admit(vrl, kind, 4096, t0 + (uint64_t)i);
		ns[r] = (double)(now() - t0) / (double)n;
	}
	(void)sink;
	qsort(ns, ROUNDS, sizeof(ns[0]), cmp);
	return ns[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	const struct rate_limit_config none = { 0 };
	const struct rate_limit_config big = {
		.bw_size = 1000000000000ULL, .bw_refill_ms = 1000,
		.ops_size = 1000000000ULL, .ops_refill_ms = 1000,
	};
	struct rate_limiter unlimited, limited;

	if (n < 1000) {
		fprintf(stderr, "usage: limiter [CALLS, at least 1000]\n");
		return 2;
	}
	rate_limiter_init(&unlimited, &none, now());
	rate_limiter_init(&limited, &big, now());
	printf("none\t%.2f\n", measure(NULL, 0, n));
	printf("clock\t%.2f\n", measure(&limited, 1, n));
	printf("unlimited\t%.2f\n", measure(&unlimited, 0, n));
	printf("limited\t%.2f\n", measure(&limited, 0, n));
	printf("limited+clock\t%.2f\n", measure(&limited, 2, n));
	rate_limiter_destroy(&unlimited);
	rate_limiter_destroy(&limited);
	return 0;
}
