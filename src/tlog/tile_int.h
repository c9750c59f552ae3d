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

#endif
