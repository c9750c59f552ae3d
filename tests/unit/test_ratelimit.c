/*
 * test_ratelimit.c - token buckets (refill, burst, Retry-After, token
 * debt and its floor, a clock that goes back, lowered limits, bounded
 * memory with the busy key kept) and failed-authentication lockout
 * (window, lock and its expiry, IPv6 /64 and NAT64 subjects, key ids,
 * clearing), each with time passed in; and both under threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/lockout.h"
#include "palisade/ratelimit.h"

#define T0 1000000LL

static struct pal_ratelimit *
new_rl(size_t n)
{
	struct pal_ratelimit *rl = NULL;
	struct pal_err err;

	if (pal_ratelimit_new(n, &rl, &err) != 0)
		fail_msg("pal_ratelimit_new: %s", err.msg);
	return rl;
}

/* Admits one request of key k at now; returns the verdict. */
static struct pal_ratelimit_verdict
admit(struct pal_ratelimit *rl, const char *k, const struct pal_gw_limits *l,
      int64_t now)
{
	struct pal_ratelimit_verdict v;

	assert_int_equal(pal_ratelimit_admit(rl, k, strlen(k), l, now, &v),
			 0);
	assert_int_equal(v.allowed, v.retry_after == 0);
	return v;
}

static void
unlimited_takes_nothing(void **state)
{
	struct pal_ratelimit *rl = new_rl(1000);
	struct pal_gw_limits l = { 0, 0, 0 };

	(void)state;
	for (int i = 0; i < 1000; i++) {
		struct pal_ratelimit_verdict v = admit(rl, "k", &l, T0);
		assert_true(v.allowed);
		assert_int_equal(v.requests_left, -1);
		assert_int_equal(v.tokens_left, INT64_MAX);
	}
	assert_int_equal(pal_ratelimit_charge(rl, "k", 1, &l, 1000, T0), 0);
	assert_int_equal(pal_ratelimit_count(rl), 0);
	pal_ratelimit_free(rl);
}

static void
requests_refill_and_burst(void **state)
{
	struct pal_ratelimit *rl = new_rl(1000);
	struct pal_gw_limits steady = { 60, 0, 0 }, bursty = { 6, 0, 2 };
	struct pal_ratelimit_verdict v;

	(void)state;
	/* 60 a minute, no burst: one a second. */
	assert_true(admit(rl, "a", &steady, T0).allowed);
	v = admit(rl, "a", &steady, T0);
	assert_false(v.allowed);
	assert_int_equal(v.retry_after, 1);
	/* Refused requests take nothing: hammering does not push it out. */
	for (int i = 0; i < 100; i++)
		assert_false(admit(rl, "a", &steady, T0 + 10 * i).allowed);
	assert_false(admit(rl, "a", &steady, T0 + 999).allowed);
	assert_true(admit(rl, "a", &steady, T0 + 1000).allowed);
	assert_false(admit(rl, "a", &steady, T0 + 1000).allowed);

	/* 6 a minute, burst 2: three at once, then one per 10 s. */
	for (int i = 0; i < 3; i++) {
		v = admit(rl, "b", &bursty, T0);
		assert_true(v.allowed);
		assert_int_equal(v.requests_left, 2 - i);
	}
	v = admit(rl, "b", &bursty, T0);
	assert_false(v.allowed);
	assert_int_equal(v.retry_after, 10);
	v = admit(rl, "b", &bursty, T0 + 4000);
	assert_int_equal(v.retry_after, 6);
	assert_true(admit(rl, "b", &bursty, T0 + 10000).allowed);
	assert_false(admit(rl, "b", &bursty, T0 + 10000).allowed);
	/* A long idle time fills the bucket, and no more. */
	for (int i = 0; i < 3; i++)
		assert_true(admit(rl, "b", &bursty, T0 + 3600000).allowed);
	assert_false(admit(rl, "b", &bursty, T0 + 3600000).allowed);

	/* 7 a minute: one per 8571.4 ms; Retry-After rounds up. */
	struct pal_gw_limits seven = { 7, 0, 0 };
	assert_true(admit(rl, "c", &seven, T0).allowed);
	assert_int_equal(admit(rl, "c", &seven, T0).retry_after, 9);
	assert_false(admit(rl, "c", &seven, T0 + 8571).allowed);
	assert_true(admit(rl, "c", &seven, T0 + 8572).allowed);
	/* Keys are separate. */
	assert_true(admit(rl, "d", &seven, T0).allowed);
	pal_ratelimit_free(rl);
}

static void
tokens_charged_after(void **state)
{
	struct pal_ratelimit *rl = new_rl(1000);
	struct pal_gw_limits l = { 0, 1000, 0 };
	struct pal_ratelimit_verdict v;

	(void)state;
	v = admit(rl, "k", &l, T0);
	assert_true(v.allowed);
	assert_int_equal(v.tokens_left, 1000);
	/* Admission takes no tokens; the answer's usage does. */
	assert_int_equal(pal_ratelimit_charge(rl, "k", 1, &l, 999, T0), 0);
	v = admit(rl, "k", &l, T0);
	assert_true(v.allowed);
	assert_int_equal(v.tokens_left, 1);
	/* Below zero: 501 tokens short at 1000/min is 30.06 s. */
	assert_int_equal(pal_ratelimit_charge(rl, "k", 1, &l, 501, T0), 0);
	v = admit(rl, "k", &l, T0);
	assert_false(v.allowed);
	assert_int_equal(v.tokens_left, -500);
	assert_int_equal(v.retry_after, 31);
	assert_false(admit(rl, "k", &l, T0 + 30059).allowed);
	assert_true(admit(rl, "k", &l, T0 + 30060).allowed);

	/* The debt stops at one minute's worth. */
	assert_int_equal(pal_ratelimit_charge(rl, "k", 1, &l, UINT64_MAX,
					      T0 + 30060), 0);
	v = admit(rl, "k", &l, T0 + 30060);
	assert_int_equal(v.tokens_left, -1000);
	assert_int_equal(v.retry_after, 61);
	assert_true(admit(rl, "k", &l, T0 + 30060 + 60060).allowed);

	/* Both buckets: the longer wait is the one to report. */
	struct pal_gw_limits both = { 60, 600, 0 };
	assert_true(admit(rl, "m", &both, T0).allowed);
	pal_ratelimit_charge(rl, "m", 1, &both, 1200, T0);
	v = admit(rl, "m", &both, T0 + 1000);
	assert_false(v.allowed);
	/* -600 + 10 refilled: 591 tokens short at 10/s is 59.1 s. */
	assert_int_equal(v.retry_after, 60);
	/* A refused request took no request either. */
	assert_true(admit(rl, "m", &both, T0 + 61100).allowed);
	assert_false(admit(rl, "m", &both, T0 + 61100).allowed);
	pal_ratelimit_free(rl);
}

static void
clock_and_limit_changes(void **state)
{
	struct pal_ratelimit *rl = new_rl(100);
	struct pal_gw_limits l = { 60, 0, 9 }, lower = { 60, 0, 1 };

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_true(admit(rl, "k", &l, T0).allowed);
	/* A clock that goes back adds nothing and breaks nothing. */
	assert_false(admit(rl, "k", &l, T0 - 5000000).allowed);
	assert_false(admit(rl, "k", &l, T0 + 999).allowed);
	assert_true(admit(rl, "k", &l, T0 + 1000).allowed);
	/* A full bucket shrinks to a lowered limit at once. */
	assert_true(admit(rl, "j", &l, T0).allowed);
	struct pal_ratelimit_verdict v = admit(rl, "j", &lower, T0 + 600000);
	assert_true(v.allowed);
	assert_int_equal(v.requests_left, 1);
	/* Bad keys are refused. */
	char big[PAL_RATELIMIT_KEY_MAX + 1];
	memset(big, 'x', sizeof(big));
	assert_int_equal(pal_ratelimit_admit(rl, big, sizeof(big), &l, T0,
					     &v), PAL_ERR_INVALID);
	assert_false(v.allowed);
	assert_int_equal(pal_ratelimit_admit(rl, big, 0, &l, T0, &v),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_ratelimit_charge(rl, big, sizeof(big), &l, 1,
					      T0), PAL_ERR_INVALID);
	assert_true(admit(rl, "a-key-of-exactly-32-bytes-000000", &l,
			  T0).allowed);
	pal_ratelimit_free(rl);
}

static void
memory_is_bounded(void **state)
{
	struct pal_ratelimit *rl = new_rl(256);
	struct pal_gw_limits l = { 60, 0, 0 };
	char k[32];

	(void)state;
	/* The busy key stays while thousands of others pass through. */
	assert_true(admit(rl, "busy", &l, T0).allowed);
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		assert_true(admit(rl, k, &l, T0).allowed);
		assert_false(admit(rl, "busy", &l, T0).allowed);
	}
	assert_true(pal_ratelimit_count(rl) <= 256);
	assert_true(pal_ratelimit_count(rl) >= 200);
	/* A key forgotten comes back with a full bucket. */
	assert_true(admit(rl, "key-0", &l, T0).allowed);
	pal_ratelimit_free(rl);
}

struct rl_worker {
	struct pal_ratelimit *rl;
	atomic_long *allowed;
};

#define RL_ROUNDS 50000
#define RL_BURST 99999

static void *
rl_work(void *arg)
{
	struct rl_worker *w = arg;
	struct pal_gw_limits l = { 60, 100000000, RL_BURST };
	char k[8];

	for (int i = 0; i < RL_ROUNDS; i++) {
		struct pal_ratelimit_verdict v;

		/* Mostly one key, so that the threads meet on its lock. */
		snprintf(k, sizeof(k), "k%d", i % 16 ? 0 : 1 + i / 16 % 7);
		pal_ratelimit_admit(w->rl, k, strlen(k), &l, T0, &v);
		if (v.allowed)
			atomic_fetch_add(&w->allowed[k[1] - '0'], 1);
		pal_ratelimit_charge(w->rl, k, strlen(k), &l, 1, T0);
	}
	return NULL;
}

/*
 * At a fixed time a key lets exactly 1 + burst through, however the
 * threads interleave: a lost update would let more through.
 */
static void
threads_take_exactly_the_bucket(void **state)
{
	struct pal_ratelimit *rl = new_rl(64);
	atomic_long allowed[8];
	struct rl_worker w = { rl, allowed };
	pthread_t th[4];
	long sum = 0;

	(void)state;
	for (int i = 0; i < 8; i++)
		atomic_init(&allowed[i], 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, rl_work, &w), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* Key 0 is asked 4 * RL_ROUNDS * 15/16 times: more than fit. */
	assert_int_equal(atomic_load(&allowed[0]), RL_BURST + 1);
	/* Keys 1..7 are asked 4 * RL_ROUNDS / 16 times: all fit. */
	for (int i = 1; i < 8; i++)
		sum += atomic_load(&allowed[i]);
	assert_int_equal(sum, 4 * RL_ROUNDS / 16);
	pal_ratelimit_free(rl);
}

/* ---- lockout ---- */

static struct pal_lockout *
new_lo(size_t n)
{
	struct pal_lockout *lo = NULL;
	struct pal_err err;

	if (pal_lockout_new(n, &lo, &err) != 0)
		fail_msg("pal_lockout_new: %s", err.msg);
	return lo;
}

static void
addr_of(const char *text, uint8_t out[16])
{
	struct in_addr a4;

	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, &a4) == 1) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

static int
src_locked(struct pal_lockout *lo, const struct pal_gw_lockout *p,
	   const char *text, int64_t now, uint32_t *retry)
{
	uint8_t a[16];

	addr_of(text, a);
	return pal_lockout_source_locked(lo, p, a, now, retry);
}

static unsigned
fail_from(struct pal_lockout *lo, const struct pal_gw_lockout *p,
	  const char *text, const char *key, int64_t now)
{
	uint8_t a[16];

	addr_of(text, a);
	return pal_lockout_failure(lo, p, a, key, now);
}

static void
lock_and_expiry(void **state)
{
	struct pal_lockout *lo = new_lo(1000);
	struct pal_gw_lockout p = { 3, 60, 300 };
	uint32_t retry = 99;

	(void)state;
	assert_int_equal(fail_from(lo, &p, "192.0.2.1", NULL, T0), 0);
	assert_int_equal(fail_from(lo, &p, "192.0.2.1", NULL, T0 + 1000), 0);
	assert_false(src_locked(lo, &p, "192.0.2.1", T0 + 1000, &retry));
	assert_int_equal(retry, 0);
	assert_int_equal(fail_from(lo, &p, "192.0.2.1", NULL, T0 + 2000),
			 PAL_LOCKOUT_SOURCE_LOCKED);
	assert_true(src_locked(lo, &p, "192.0.2.1", T0 + 2000, &retry));
	assert_int_equal(retry, 300);
	assert_true(src_locked(lo, &p, "192.0.2.1", T0 + 301001, &retry));
	assert_int_equal(retry, 1);
	/* Its neighbour is another subject. */
	assert_false(src_locked(lo, &p, "192.0.2.2", T0 + 2000, &retry));
	/* The lock ends on time, and the count starts again. */
	assert_false(src_locked(lo, &p, "192.0.2.1", T0 + 302000, &retry));
	assert_int_equal(fail_from(lo, &p, "192.0.2.1", NULL, T0 + 302000),
			 0);
	assert_false(src_locked(lo, &p, "192.0.2.1", T0 + 302000, &retry));

	/* Failures further apart than the window never add up. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(fail_from(lo, &p, "198.51.100.7", NULL,
					   T0 + i * 30000LL), 0);
	assert_false(src_locked(lo, &p, "198.51.100.7", T0 + 300000, &retry));
	/* Off: failures == 0. */
	struct pal_gw_lockout off = { 0, 60, 300 };
	for (int i = 0; i < 10; i++)
		assert_int_equal(fail_from(lo, &off, "203.0.113.1", NULL, T0),
				 0);
	assert_false(src_locked(lo, &off, "203.0.113.1", T0, &retry));
	pal_lockout_free(lo);
}

static void
subjects(void **state)
{
	struct pal_lockout *lo = new_lo(1000);
	struct pal_gw_lockout p = { 2, 60, 60 };
	uint32_t retry;
	uint8_t a[16], s[16], t[16];

	(void)state;
	/* Two addresses of one /64 are one subject. */
	assert_int_equal(fail_from(lo, &p, "2001:db8::1", NULL, T0), 0);
	assert_int_equal(fail_from(lo, &p, "2001:db8::ffff:2", NULL, T0),
			 PAL_LOCKOUT_SOURCE_LOCKED);
	assert_true(src_locked(lo, &p, "2001:db8::99", T0, &retry));
	assert_false(src_locked(lo, &p, "2001:db8:0:1::1", T0, &retry));
	/* IPv4 by address; the NAT64 form is the same IPv4 client. */
	assert_int_equal(fail_from(lo, &p, "10.0.0.1", NULL, T0), 0);
	assert_int_equal(fail_from(lo, &p, "10.0.0.2", NULL, T0), 0);
	assert_int_equal(fail_from(lo, &p, "64:ff9b::10.0.0.1", NULL, T0),
			 PAL_LOCKOUT_SOURCE_LOCKED);
	assert_true(src_locked(lo, &p, "10.0.0.1", T0, &retry));
	assert_false(src_locked(lo, &p, "10.0.0.2", T0, &retry));
	addr_of("64:ff9b::10.0.0.1", a);
	pal_lockout_source_subject(a, s);
	addr_of("10.0.0.1", t);
	assert_memory_equal(s, t, 16);

	/* Key ids count apart from sources. */
	assert_int_equal(fail_from(lo, &p, "192.0.2.10", "0123456789ab", T0),
			 0);
	assert_int_equal(fail_from(lo, &p, "192.0.2.11", "0123456789ab", T0),
			 PAL_LOCKOUT_KEY_LOCKED);
	assert_true(pal_lockout_key_locked(lo, &p, "0123456789ab", T0,
					   &retry));
	assert_int_equal(retry, 60);
	assert_false(pal_lockout_key_locked(lo, &p, "0123456789ac", T0,
					    &retry));
	assert_false(src_locked(lo, &p, "192.0.2.10", T0, &retry));
	assert_int_equal(fail_from(lo, &p, "192.0.2.10", "fedcba987654", T0),
			 PAL_LOCKOUT_SOURCE_LOCKED);

	/* The admin's unblock. */
	addr_of("192.0.2.10", a);
	pal_lockout_clear(lo, a, "0123456789ab");
	assert_false(src_locked(lo, &p, "192.0.2.10", T0, &retry));
	assert_false(pal_lockout_key_locked(lo, &p, "0123456789ab", T0,
					    &retry));
	pal_lockout_free(lo);
}

static void
lockout_memory_is_bounded(void **state)
{
	struct pal_lockout *lo = new_lo(256);
	struct pal_gw_lockout p = { 3, 60, 60 };
	uint32_t retry;
	char text[64];

	(void)state;
	/* Checks add nothing. */
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "10.1.%d.%d", i / 256, i % 256);
		assert_false(src_locked(lo, &p, text, T0, &retry));
	}
	assert_int_equal(pal_lockout_count(lo), 0);
	/* An attacker rotating addresses keeps being locked while active. */
	for (int i = 0; i < 3; i++)
		fail_from(lo, &p, "192.0.2.66", NULL, T0);
	for (int i = 0; i < 20000; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i >> 16,
			 i & 0xffff);
		fail_from(lo, &p, text, NULL, T0);
		assert_true(src_locked(lo, &p, "192.0.2.66", T0, &retry));
	}
	assert_true(pal_lockout_count(lo) <= 256);
	pal_lockout_free(lo);
}

struct lo_worker {
	struct pal_lockout *lo;
	atomic_uint *locks;
};

static void *
lo_work(void *arg)
{
	struct lo_worker *w = arg;
	struct pal_gw_lockout p = { 1000, 3600, 3600 };
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = 10 };

	for (int i = 0; i < 4000; i++) {
		uint32_t retry;

		a[15] = (uint8_t)(i % 4);
		if (pal_lockout_failure(w->lo, &p, a, NULL, T0) != 0)
			atomic_fetch_add(w->locks, 1);
		(void)pal_lockout_source_locked(w->lo, &p, a, T0, &retry);
	}
	return NULL;
}

/* 4 threads x 4000 failures over 4 sources: each locks once, exactly
 * at its 1000th failure, and the failures after are not counted. */
static void
lockout_threads(void **state)
{
	struct pal_lockout *lo = new_lo(64);
	atomic_uint locks;
	struct lo_worker w = { lo, &locks };
	pthread_t th[4];
	uint32_t retry;
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = 10 };

	(void)state;
	atomic_init(&locks, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lo_work, &w), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(atomic_load(&locks), 4);
	struct pal_gw_lockout p = { 1000, 3600, 3600 };
	for (int i = 0; i < 4; i++) {
		a[15] = (uint8_t)i;
		assert_true(pal_lockout_source_locked(lo, &p, a, T0, &retry));
	}
	pal_lockout_free(lo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unlimited_takes_nothing),
		cmocka_unit_test(requests_refill_and_burst),
		cmocka_unit_test(tokens_charged_after),
		cmocka_unit_test(clock_and_limit_changes),
		cmocka_unit_test(memory_is_bounded),
		cmocka_unit_test(threads_take_exactly_the_bucket),
		cmocka_unit_test(lock_and_expiry),
		cmocka_unit_test(subjects),
		cmocka_unit_test(lockout_memory_is_bounded),
		cmocka_unit_test(lockout_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
