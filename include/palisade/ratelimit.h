/*
 * ratelimit.h - per-key request and token budgets: two token buckets per
 * key, refilled continuously, as struct pal_gw_limits (gwpolicy.h) sets
 * them (docs/api-keys.md).
 *
 *   - Requests: refilled at requests_per_minute, holding at most 1 + burst
 *     requests (burst is how many requests may come at once above the
 *     steady rate, as nginx's limit_req burst).  A request takes one.
 *   - Tokens: refilled at tokens_per_minute, holding at most one minute's
 *     worth.  The tokens a request will use are not known when it starts,
 *     so a request is let in while the bucket holds at least one token,
 *     and what the upstream reports in "usage" is charged afterwards
 *     (pal_ratelimit_charge), which may take the bucket below zero: the
 *     key then waits until the debt is paid back.  The debt is bounded at
 *     one minute's worth, so one huge answer cannot lock a key out for
 *     longer than about two minutes.
 *   - A zero rate is no limit.  A refused request takes nothing.
 *   - 429 with Retry-After: the seconds until every bucket that refused
 *     holds what it lacks, rounded up, at least 1.
 *
 * Arithmetic is exact integers: one request or one token is 60000 units
 * and a bucket gains rate units per millisecond, so that no rounding
 * drifts over a long run.  Time is passed in (milliseconds on a monotonic
 * clock); a clock that goes back adds nothing.
 *
 * Memory is bounded: the table holds at most max_keys keys (set it to the
 * number of keys the store holds, or more); beyond that the least
 * recently used key is forgotten, and starts again with full buckets.
 * A key idle for long has full buckets anyway, so forgetting it is free.
 *
 * Thread-safe: the table is split into 64 shards, each with its own
 * mutex, held for a few arithmetic operations.  Requests under a limit of
 * zero (unlimited) take no lock at all.
 */
#ifndef PALISADE_RATELIMIT_H
#define PALISADE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"
#include "palisade/gwpolicy.h"

/* The longest key (bytes): a key id, a certificate's SHA-256. */
#define PAL_RATELIMIT_KEY_MAX 32

struct pal_ratelimit;

/*
 * A table for at most max_keys keys (1..2^28).  Errors: PAL_ERR_INVALID,
 * PAL_ERR_NOMEM, PAL_ERR_SYSTEM, PAL_ERR_CRYPTO.  Caller frees.
 */
int pal_ratelimit_new(size_t max_keys, struct pal_ratelimit **out,
		      struct pal_err *err);

/* Frees the table; NULL is a no-op. */
void pal_ratelimit_free(struct pal_ratelimit *rl);

/* What admission decided. */
struct pal_ratelimit_verdict {
	int allowed;			/* 1: go on; 0: answer 429 */
	uint32_t retry_after;		/* seconds, when refused */
	int64_t requests_left;		/* whole requests in the bucket after
					   this one; -1 when unlimited */
	int64_t tokens_left;		/* whole tokens (may be negative);
					   INT64_MAX when unlimited */
};

/*
 * Decides whether the key (key_len 1..PAL_RATELIMIT_KEY_MAX bytes, e.g.
 * the key id) may make a request at now_ms under lim, and takes one
 * request from its bucket if so.  Returns 0 (the verdict says allowed or
 * not) or PAL_ERR_INVALID for a key of a bad length (v refuses).
 */
int pal_ratelimit_admit(struct pal_ratelimit *rl, const void *key,
			size_t key_len, const struct pal_gw_limits *lim,
			int64_t now_ms, struct pal_ratelimit_verdict *v);

/*
 * Charges tokens (the upstream's usage.total_tokens, streamed or not)
 * to the key's token bucket at now_ms, once per answered request; lim
 * as the request was admitted under.  Nothing when tokens_per_minute is
 * 0.  Returns 0 or PAL_ERR_INVALID for a key of a bad length.
 */
int pal_ratelimit_charge(struct pal_ratelimit *rl, const void *key,
			 size_t key_len, const struct pal_gw_limits *lim,
			 uint64_t tokens, int64_t now_ms);

/* Keys held now (for tests and metrics; takes each shard lock). */
size_t pal_ratelimit_count(struct pal_ratelimit *rl);

#endif
