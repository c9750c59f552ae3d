/*
 * ratelimit.c - two token buckets per key (ratelimit.h), kept in the
 * sharded table of ratelimit_table.c.
 *
 * Levels are in units of 1/60000 of a request or token, so that a bucket
 * refilled at r per minute gains exactly r units per millisecond: integer
 * arithmetic with no remainder to carry.  The largest level, 60000 times
 * a 32-bit rate, fits an int64_t many times over.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/ratelimit.h"
#include "ratelimit_int.h"

#define UNIT 60000LL			/* one request or token */

struct pal_ratelimit {
	struct gw_table *t;
};

struct buckets {
	int64_t last_ms;		/* when the levels were brought up */
	int64_t req;			/* units */
	int64_t tok;			/* units; may be negative */
};

static int64_t
req_cap(const struct pal_gw_limits *lim)
{
	return ((int64_t)lim->burst + 1) * UNIT;
}

static int64_t
tok_cap(const struct pal_gw_limits *lim)
{
	return (int64_t)lim->tokens_per_minute * UNIT;
}

/* Adds rate units per elapsed millisecond to *level, up to cap. */
static void
refill(int64_t *level, int64_t cap, uint32_t rate, int64_t elapsed)
{
	if (*level >= cap) {
		*level = cap;	/* the limit may have been lowered */
		return;
	}
	if (rate == 0 || elapsed <= 0)
		return;
	/* (cap - level) / rate ms fill it; compare before multiplying. */
	if (elapsed >= (cap - *level) / rate + 1)
		*level = cap;
	else
		*level += (int64_t)rate * elapsed;
	if (*level > cap)
		*level = cap;
}

static void
bring_up(struct buckets *b, int fresh, const struct pal_gw_limits *lim,
	 int64_t now)
{
	if (fresh) {
		b->req = req_cap(lim);
		b->tok = tok_cap(lim);
		b->last_ms = now;
		return;
	}
	int64_t elapsed = now > b->last_ms ? now - b->last_ms : 0;
	refill(&b->req, req_cap(lim), lim->requests_per_minute, elapsed);
	refill(&b->tok, tok_cap(lim), lim->tokens_per_minute, elapsed);
	if (now > b->last_ms)
		b->last_ms = now;
}

/* Milliseconds until level reaches need at rate units per ms. */
static int64_t
wait_ms(int64_t level, int64_t need, uint32_t rate)
{
	return (need - level + rate - 1) / rate;
}

static uint32_t
seconds_up(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;

	if (s < 1)
		return 1;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

struct admit_ctx {
	const struct pal_gw_limits *lim;
	int64_t now;
	struct pal_ratelimit_verdict *v;
};

static void
admit_fn(void *value, int fresh, void *arg)
{
	struct admit_ctx *a = arg;
	const struct pal_gw_limits *lim = a->lim;
	struct buckets *b = value;
	int64_t wait = 0;

	bring_up(b, fresh, lim, a->now);
	if (lim->requests_per_minute != 0 && b->req < UNIT)
		wait = wait_ms(b->req, UNIT, lim->requests_per_minute);
	if (lim->tokens_per_minute != 0 && b->tok < UNIT) {
		int64_t w = wait_ms(b->tok, UNIT, lim->tokens_per_minute);

		wait = w > wait ? w : wait;
	}
	a->v->allowed = wait == 0;
	if (wait != 0)
		a->v->retry_after = seconds_up(wait);
	else if (lim->requests_per_minute != 0)
		b->req -= UNIT;
	if (lim->requests_per_minute != 0)
		a->v->requests_left = b->req / UNIT;
	if (lim->tokens_per_minute != 0)
		a->v->tokens_left = b->tok / UNIT;
}

int
pal_ratelimit_admit(struct pal_ratelimit *rl, const void *key,
		    size_t key_len, const struct pal_gw_limits *lim,
		    int64_t now_ms, struct pal_ratelimit_verdict *v)
{
	struct admit_ctx a = { lim, now_ms, v };

	v->allowed = 1;
	v->retry_after = 0;
	v->requests_left = -1;
	v->tokens_left = INT64_MAX;
	if (key_len == 0 || key_len > PAL_RATELIMIT_KEY_MAX) {
		v->allowed = 0;
		v->retry_after = 60;
		return PAL_ERR_INVALID;
	}
	if (lim->requests_per_minute == 0 && lim->tokens_per_minute == 0)
		return 0;
	gw_table_with(rl->t, key, key_len, 1, admit_fn, &a);
	return 0;
}

struct charge_ctx {
	const struct pal_gw_limits *lim;
	int64_t now;
	uint64_t tokens;
};

static void
charge_fn(void *value, int fresh, void *arg)
{
	struct charge_ctx *c = arg;
	struct buckets *b = value;
	int64_t floor = -tok_cap(c->lim);
	uint64_t n = c->tokens > UINT32_MAX ? UINT32_MAX : c->tokens;

	bring_up(b, fresh, c->lim, c->now);
	b->tok -= (int64_t)n * UNIT;
	if (b->tok < floor)
		b->tok = floor;
}

int
pal_ratelimit_charge(struct pal_ratelimit *rl, const void *key,
		     size_t key_len, const struct pal_gw_limits *lim,
		     uint64_t tokens, int64_t now_ms)
{
	struct charge_ctx c = { lim, now_ms, tokens };

	if (key_len == 0 || key_len > PAL_RATELIMIT_KEY_MAX)
		return PAL_ERR_INVALID;
	if (lim->tokens_per_minute == 0 || tokens == 0)
		return 0;
	gw_table_with(rl->t, key, key_len, 1, charge_fn, &c);
	return 0;
}

int
pal_ratelimit_new(size_t max_keys, struct pal_ratelimit **out,
		  struct pal_err *err)
{
	struct pal_ratelimit *rl = calloc(1, sizeof(*rl));
	int rc;

	*out = NULL;
	if (rl == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((rc = gw_table_new(max_keys, sizeof(struct buckets), &rl->t,
			       err)) < 0) {
		free(rl);
		return pal_err_wrap(err, rc, "rate limits: ");
	}
	*out = rl;
	return 0;
}

void
pal_ratelimit_free(struct pal_ratelimit *rl)
{
	if (rl == NULL)
		return;
	gw_table_free(rl->t);
	free(rl);
}

size_t
pal_ratelimit_count(struct pal_ratelimit *rl)
{
	return gw_table_count(rl->t);
}
