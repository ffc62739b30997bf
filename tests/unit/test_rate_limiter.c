// SPDX-License-Identifier: MIT
/*
 * core/rate_limiter.c: token buckets driven by a clock the test controls.
 * Each test states what a user of cloud-hypervisor's options would
 * expect: the bucket starts full, refills at size per refill time, the
 * one-time burst is spent once, a request bigger than the bucket goes
 * through a full bucket and leaves a debt, and a refused request takes
 * nothing and is told exactly how long to wait.
 */
#include "unit.h"

#include "core/rate_limiter.h"

#define MS 1000000ULL
#define T0 (5000 * MS)	/* any start: the clock is not at 0 */

static struct rate_limiter rl;

static void limiter(uint64_t bw_size, uint64_t bw_burst, uint64_t bw_ms, uint64_t ops_size,
		    uint64_t ops_burst, uint64_t ops_ms)
{
	struct rate_limit_config c = {
		.bw_size = bw_size, .bw_one_time_burst = bw_burst, .bw_refill_ms = bw_ms,
		.ops_size = ops_size, .ops_one_time_burst = ops_burst, .ops_refill_ms = ops_ms,
	};

	assert_null(rate_limit_check(&c));
	rate_limiter_init(&rl, &c, T0);
}

static uint64_t refused_wait(uint64_t bytes, uint64_t now)
{
	uint64_t wait = 12345;

	assert_false(rate_limiter_consume(&rl, bytes, now, &wait));
	assert_true(wait > 0);
	return wait;
}

static void allowed(uint64_t bytes, uint64_t now)
{
	uint64_t wait = 12345;

	assert_true(rate_limiter_consume(&rl, bytes, now, &wait));
	assert_int_equal(wait, 0);
}

static void test_unlimited(void **state)
{
	limiter(0, 0, 0, 0, 0, 0);
	assert_true(rate_limiter_unlimited(&rl));
	for (int i = 0; i < 1000; i++)
		allowed(1ULL << 40, T0);
	rate_limiter_destroy(&rl);
}

/* 1000 bytes per 100 ms: one byte's worth of time is 100 us */
static void test_bandwidth(void **state)
{
	limiter(1000, 0, 100, 0, 0, 0);
	assert_false(rate_limiter_unlimited(&rl));
	allowed(600, T0);
	allowed(400, T0);
	assert_int_equal(refused_wait(1, T0), 100000);
	assert_int_equal(refused_wait(10, T0), 10 * 100000);
	/* one nanosecond early is still too early */
	assert_int_equal(refused_wait(10, T0 + 10 * 100000 - 1), 1);
	allowed(10, T0 + 10 * 100000);
	/* a long idle time refills no more than the bucket holds */
	allowed(1000, T0 + 3600 * 1000 * MS);
	refused_wait(1, T0 + 3600 * 1000 * MS);
	rate_limiter_destroy(&rl);
}

static void test_operations(void **state)
{
	limiter(0, 0, 0, 10, 0, 1000);
	for (int i = 0; i < 10; i++)
		allowed(1 << 20, T0);
	assert_int_equal(refused_wait(0, T0), 100 * MS);
	assert_int_equal(refused_wait(0, T0 + 50 * MS), 50 * MS);
	allowed(0, T0 + 100 * MS);
	refused_wait(0, T0 + 100 * MS);
	rate_limiter_destroy(&rl);
}

/* the burst is on top of a full bucket, spent first, and never back */
static void test_one_time_burst(void **state)
{
	limiter(100, 1000, 1000, 0, 0, 0);
	allowed(1100, T0);
	refused_wait(1, T0);
	allowed(100, T0 + 10000 * MS);
	assert_int_equal(refused_wait(1, T0 + 10000 * MS), 10 * MS);
	rate_limiter_destroy(&rl);
}

/* more than the bucket holds: through a full bucket, then a debt */
static void test_request_bigger_than_bucket(void **state)
{
	limiter(100, 0, 1000, 0, 0, 0);
	allowed(250, T0);
	/* 150 tokens owed and one more wanted: 151 tokens of 10 ms */
	assert_int_equal(refused_wait(1, T0), 1510 * MS);
	/* a second big one waits for a full bucket, not for all of itself */
	assert_int_equal(refused_wait(400, T0), 2500 * MS);
	allowed(400, T0 + 2500 * MS);
	rate_limiter_destroy(&rl);
}

/* a request refused by one bucket takes nothing from the other */
static void test_refusal_takes_nothing(void **state)
{
	limiter(1000, 0, 1000, 1, 0, 1000);
	allowed(10, T0);
	refused_wait(10, T0);
	/* bandwidth still holds its 990 */
	allowed(990, T0 + 1000 * MS);
	rate_limiter_destroy(&rl);
}

/* Ten simulated seconds of 4 KiB requests against 1 MiB/s: a request
 * retried when told succeeds, and the bytes done are the bucket plus
 * ten seconds of refill, to within one request. */
static void test_sustained_rate(void **state)
{
	const uint64_t mib = 1 << 20, req = 4096;
	uint64_t now = T0, done = 0, wait;

	limiter(mib, 0, 1000, 0, 0, 0);
	while (now < T0 + 10000 * MS) {
		if (rate_limiter_consume(&rl, req, now, &wait)) {
			done += req;
			continue;
		}
		now += wait;
		allowed(req, now);
		done += req;
	}
	assert_true(done >= 11 * mib - req && done <= 11 * mib + req);
	rate_limiter_destroy(&rl);
}

static void test_clock_back_adds_nothing(void **state)
{
	limiter(100, 0, 100, 0, 0, 0);
	allowed(100, T0);
	refused_wait(1, T0 - 50 * MS);
	/* the time measured from the later reading counts only once */
	assert_int_equal(refused_wait(100, T0 - 50 * MS), 100 * MS);
	assert_int_equal(refused_wait(100, T0 + 50 * MS), 50 * MS);
	rate_limiter_destroy(&rl);
}

static void test_extremes_do_not_overflow(void **state)
{
	uint64_t wait;

	limiter(UINT64_MAX, UINT64_MAX, RATE_LIMIT_MAX_REFILL_MS, UINT64_MAX, 0,
		RATE_LIMIT_MAX_REFILL_MS);
	allowed(UINT64_MAX, T0);
	allowed(UINT64_MAX, T0);
	assert_false(rate_limiter_consume(&rl, UINT64_MAX, T0, &wait));
	assert_true(wait > 0 && wait <= INT64_MAX);
	allowed(UINT64_MAX, UINT64_MAX);
	rate_limiter_destroy(&rl);

	/* one byte per 2^32 ms, asked for 2^64 bytes: a huge, capped wait */
	limiter(1, 0, RATE_LIMIT_MAX_REFILL_MS, 0, 0, 0);
	allowed(UINT64_MAX, T0);
	assert_int_equal(refused_wait(1, T0), INT64_MAX);
	rate_limiter_destroy(&rl);
}

static void test_config_errors(void **state)
{
	static const struct {
		struct rate_limit_config c;
		const char *key;
	} bad[] = {
		{ { .bw_size = 1 }, "bw_refill_time" },
		{ { .ops_size = 1 }, "ops_refill_time" },
		{ { .bw_refill_ms = 10 }, "bw_size" },
		{ { .bw_one_time_burst = 10 }, "bw_size" },
		{ { .ops_one_time_burst = 10 }, "ops_size" },
		{ { .bw_size = 1, .bw_refill_ms = RATE_LIMIT_MAX_REFILL_MS + 1 }, "bw_refill_time" },
		{ { .ops_size = 1, .ops_refill_ms = RATE_LIMIT_MAX_REFILL_MS + 1 }, "ops_refill_time" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = rate_limit_check(&bad[i].c);

		assert_non_null(why);
		assert_contains(why, bad[i].key);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_bandwidth),
		cmocka_unit_test(test_operations),
		cmocka_unit_test(test_one_time_burst),
		cmocka_unit_test(test_request_bigger_than_bucket),
		cmocka_unit_test(test_refusal_takes_nothing),
		cmocka_unit_test(test_sustained_rate),
		cmocka_unit_test(test_clock_back_adds_nothing),
		cmocka_unit_test(test_extremes_do_not_overflow),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
