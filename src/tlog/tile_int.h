/*
 * tile_int.h - internals shared by the tile, proof and tile directory code.
 *
 * A proof on a large log hashes a few hundred interior nodes when its tiles
 * are not cached, and every nanosecond per node counts there: OpenSSL 3's
 * one-shot SHA256() looks the digest up in the provider store on each call
 * (about 340 ns a node here), while a context kept between calls and
 * re-initialised in place costs about 130 ns.  This hasher is that context.
 */
#ifndef PAL_TLOG_TILE_INT_H
#define PAL_TLOG_TILE_INT_H

#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/error.h"
#include "palisade/merkle.h"

struct tile_hasher {
	EVP_MD_CTX *ctx;	/* owned; NULL until tile_hasher_init */
};

/* Sets up h (SHA-256 fetched once per process); PAL_ERR_CRYPTO or NOMEM. */
int tile_hasher_init(struct tile_hasher *h, struct pal_err *err);

/* SHA-256(0x01 || left || right) into out, which may alias either input. */
void tile_hasher_node(struct tile_hasher *h,
		      const uint8_t left[PAL_MERKLE_HASH_LEN],
		      const uint8_t right[PAL_MERKLE_HASH_LEN],
		      uint8_t out[PAL_MERKLE_HASH_LEN]);

/* Frees the context; safe on a zeroed or already freed hasher. */
void tile_hasher_free(struct tile_hasher *h);

/*
 * A cache of tiles for tile_dir.c.  A slot holds one tile's stored hashes
 * and, as they are computed, its interior nodes of heights 1..7: node i of
 * height h is h[TILE_SLOT_OFFSET(h) + i], and done has its bit set.
 */
#define TILE_SLOT_NODES (2 * 256 - 2)
#define TILE_SLOT_OFFSET(height) (2 * 256 - (2 * 256 >> (height)))

struct tile_slot {
	int level;		/* the tile it holds; -1 when empty */
	uint64_t n;
	unsigned w;
	uint64_t done[(TILE_SLOT_NODES + 63) / 64];
	uint8_t h[TILE_SLOT_NODES][PAL_MERKLE_HASH_LEN];
	/* The cache's own: last use, and its place in a recency list. */
	uint64_t used;
	uint32_t prev, next;
};

struct tile_lru {
	uint32_t head, tail;	/* most and least recently used */
	size_t count;
};

/*
 * Slots are found through an open-addressed index on (level, n, w) and
 * kept in two recency lists, level-0 tiles and the tiles above: a proof
 * needs one tile per level, and a level-1 tile serves 256 times as many
 * leaves as a level-0 tile, so level-0 tiles may fill at most half of
 * the cache when it is full.  Everything is O(1) but the index's probes.
 */
struct tile_cache {
	struct tile_slot *slots;
	size_t n_slots, n_given;	/* slots, slots handed out so far */
	struct tile_slot *spare;	/* an empty slot given back */
	struct tile_lru lru[2];
	uint32_t *index;		/* slot number + 1, or 0 */
	size_t index_mask;
	uint64_t clock;
};

/* Room for n tiles (n >= 1); the cache starts empty. */
int tile_cache_init(struct tile_cache *c, size_t n, struct pal_err *err);
void tile_cache_free(struct tile_cache *c);

/* The slot holding tile (level, n) of width w, made most recent; or NULL. */
struct tile_slot *tile_cache_get(struct tile_cache *c, int level, uint64_t n,
				 unsigned w);

/*
 * An empty slot for a tile of level, evicting one when the cache is full.
 * The caller fills it and hands it to tile_cache_put, or back to
 * tile_cache_drop when it could not.
 */
struct tile_slot *tile_cache_take(struct tile_cache *c, int level);
void tile_cache_put(struct tile_cache *c, struct tile_slot *s, int level,
		    uint64_t n, unsigned w);
void tile_cache_drop(struct tile_cache *c, struct tile_slot *s);

#endif
