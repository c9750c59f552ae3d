/*
 * ratelimit_int.h - the bounded, sharded table behind rate limits and
 * lockouts: short byte-string keys to fixed-size values, least recently
 * used first out when full.  Not part of the public API.
 *
 * Each of GW_TABLE_SHARDS shards has its own mutex, its own share of the
 * capacity, a chained hash index and an LRU list, all in arrays allocated
 * once at creation: no allocation after that.  The hash is keyed with
 * random bytes drawn at creation, so that the keys a client chooses (its
 * source address) cannot be aimed at one chain.
 */
#ifndef PAL_RATELIMIT_INT_H
#define PAL_RATELIMIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

#define GW_TABLE_SHARDS 64
#define GW_TABLE_KEY_MAX 32

struct gw_table;

/*
 * A table of at most max_entries (rounded up to a multiple of the shard
 * count, at least 4 per shard) values of value_size bytes.  Errors:
 * PAL_ERR_INVALID, PAL_ERR_NOMEM, PAL_ERR_SYSTEM, PAL_ERR_CRYPTO (no
 * random bytes).
 */
int gw_table_new(size_t max_entries, size_t value_size,
		 struct gw_table **out, struct pal_err *err);

/* Frees the table; NULL is a no-op. */
void gw_table_free(struct gw_table *t);

/*
 * Calls fn(value, fresh, arg) with the value of key (1..GW_TABLE_KEY_MAX
 * bytes) under its shard's lock, and makes it the most recently used.
 * When key is absent and create is set, a zeroed value is inserted first
 * (evicting the shard's least recently used entry when the shard is full)
 * and fresh is 1.  Returns 1 when fn was called, 0 when key is absent and
 * create is 0 (or the key's length is out of range).  fn must not call
 * into the table.
 */
int gw_table_with(struct gw_table *t, const void *key, size_t klen,
		  int create, void (*fn)(void *value, int fresh, void *arg),
		  void *arg);

/* Entries held now (takes every shard lock in turn; for tests). */
size_t gw_table_count(struct gw_table *t);

#endif
