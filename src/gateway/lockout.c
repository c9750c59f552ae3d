/*
 * lockout.c - failed authentication per source network and per key id
 * (lockout.h), in two tables of ratelimit_table.c.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/lockout.h"
#include "ratelimit_int.h"

struct pal_lockout {
	struct gw_table *sources;
	struct gw_table *keys;
};

struct counter {
	int64_t window_start;		/* ms; the first failure counted */
	int64_t locked_until;		/* ms; 0 never */
	uint32_t count;
};

static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

void
pal_lockout_source_subject(const uint8_t addr[16], uint8_t out[16])
{
	memcpy(out, addr, 16);
	if (memcmp(addr, v4_mapped, 12) == 0)
		return;
	if (memcmp(addr, nat64, 12) == 0) {
		memcpy(out, v4_mapped, 12);
		return;
	}
	memset(out + 8, 0, 8);
}

static uint32_t
seconds_up(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;

	return s < 1 ? 1 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

struct check_ctx {
	int64_t now;
	int locked;
	uint32_t retry_after;
};

static void
check_fn(void *value, int fresh, void *arg)
{
	const struct counter *c = value;
	struct check_ctx *k = arg;

	(void)fresh;
	if (c->locked_until > k->now) {
		k->locked = 1;
		k->retry_after = seconds_up(c->locked_until - k->now);
	}
}

static int
locked(struct gw_table *t, const struct pal_gw_lockout *pol,
       const void *key, size_t klen, int64_t now, uint32_t *retry_after)
{
	struct check_ctx k = { now, 0, 0 };

	*retry_after = 0;
	if (pol->failures == 0)
		return 0;
	gw_table_with(t, key, klen, 0, check_fn, &k);
	*retry_after = k.retry_after;
	return k.locked;
}

int
pal_lockout_source_locked(struct pal_lockout *lo,
			  const struct pal_gw_lockout *pol,
			  const uint8_t addr[16], int64_t now_ms,
			  uint32_t *retry_after)
{
	uint8_t subject[16];

	pal_lockout_source_subject(addr, subject);
	return locked(lo->sources, pol, subject, sizeof(subject), now_ms,
		      retry_after);
}

int
pal_lockout_key_locked(struct pal_lockout *lo,
		       const struct pal_gw_lockout *pol, const char *key_id,
		       int64_t now_ms, uint32_t *retry_after)
{
	return locked(lo->keys, pol, key_id, strnlen(key_id,
		      GW_TABLE_KEY_MAX + 1), now_ms, retry_after);
}

struct fail_ctx {
	const struct pal_gw_lockout *pol;
	int64_t now;
	int started;
};

static void
fail_fn(void *value, int fresh, void *arg)
{
	struct counter *c = value;
	struct fail_ctx *f = arg;
	int64_t window = (int64_t)f->pol->window_s * 1000;

	(void)fresh;
	/* Failures while locked (checks skipped) extend nothing. */
	if (c->locked_until > f->now)
		return;
	if (c->count == 0 || f->now - c->window_start >= window ||
	    f->now < c->window_start) {
		c->window_start = f->now;
		c->count = 0;
	}
	if (++c->count >= f->pol->failures) {
		c->locked_until = f->now + (int64_t)f->pol->lock_s * 1000;
		c->count = 0;
		f->started = f->pol->lock_s != 0;
	}
}

static int
fail(struct gw_table *t, const struct pal_gw_lockout *pol, const void *key,
     size_t klen, int64_t now)
{
	struct fail_ctx f = { pol, now, 0 };

	gw_table_with(t, key, klen, 1, fail_fn, &f);
	return f.started;
}

unsigned
pal_lockout_failure(struct pal_lockout *lo, const struct pal_gw_lockout *pol,
		    const uint8_t addr[16], const char *key_id,
		    int64_t now_ms)
{
	uint8_t subject[16];
	unsigned started = 0;

	if (pol->failures == 0)
		return 0;
	pal_lockout_source_subject(addr, subject);
	if (fail(lo->sources, pol, subject, sizeof(subject), now_ms))
		started |= PAL_LOCKOUT_SOURCE_LOCKED;
	if (key_id != NULL &&
	    fail(lo->keys, pol, key_id, strnlen(key_id, GW_TABLE_KEY_MAX + 1),
		 now_ms))
		started |= PAL_LOCKOUT_KEY_LOCKED;
	return started;
}

static void
clear_fn(void *value, int fresh, void *arg)
{
	(void)fresh;
	(void)arg;
	memset(value, 0, sizeof(struct counter));
}

void
pal_lockout_clear(struct pal_lockout *lo, const uint8_t addr[16],
		  const char *key_id)
{
	uint8_t subject[16];

	if (addr != NULL) {
		pal_lockout_source_subject(addr, subject);
		gw_table_with(lo->sources, subject, sizeof(subject), 0,
			      clear_fn, NULL);
	}
	if (key_id != NULL)
		gw_table_with(lo->keys, key_id,
			      strnlen(key_id, GW_TABLE_KEY_MAX + 1), 0,
			      clear_fn, NULL);
}

int
pal_lockout_new(size_t max_entries, struct pal_lockout **out,
		struct pal_err *err)
{
	struct pal_lockout *lo = calloc(1, sizeof(*lo));
	int rc;

	*out = NULL;
	if (lo == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rc = gw_table_new(max_entries, sizeof(struct counter), &lo->sources,
			  err);
	if (rc == 0)
		rc = gw_table_new(max_entries, sizeof(struct counter),
				  &lo->keys, err);
	if (rc < 0) {
		pal_lockout_free(lo);
		return pal_err_wrap(err, rc, "lockout: ");
	}
	*out = lo;
	return 0;
}

void
pal_lockout_free(struct pal_lockout *lo)
{
	if (lo == NULL)
		return;
	gw_table_free(lo->sources);
	gw_table_free(lo->keys);
	free(lo);
}

size_t
pal_lockout_count(struct pal_lockout *lo)
{
	return gw_table_count(lo->sources) + gw_table_count(lo->keys);
}
