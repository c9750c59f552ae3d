/*
 * tile.h - C2SP tlog-tiles: where a tiled log's hashes and entries live,
 * and proofs computed from the hashes a log stores.
 *
 * A tile at level L, index N holds up to 256 consecutive Merkle tree
 * hashes of full subtrees of height 8*L (level 0: leaf hashes).  Paths are
 * "tile/<L>/<N>[.p/<W>]" and entry bundles "tile/entries/<N>[.p/<W>]",
 * N written as zero-padded 3-digit elements, all but the last prefixed
 * with 'x' (1234067 -> "x001/x234/067").  W (1..255) only for partial
 * tiles.  Entry bundles are big-endian uint16 length-prefixed entries.
 */
#ifndef PALISADE_TILE_H
#define PALISADE_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/merkle.h"

#define PAL_TILE_WIDTH 256
#define PAL_TILE_HEIGHT 8
#define PAL_TILE_ENTRIES (-1)		/* the "level" of entry bundles */
#define PAL_TILE_PATH_MAX 96
#define PAL_ENTRY_MAX 65535		/* bytes of one entry */

/*
 * Writes the path of tile (level, n) of width w (1..256; 256 = full) into
 * out.  level is 0..63 or PAL_TILE_ENTRIES.  PAL_ERR_INVALID for a level
 * or width out of range, PAL_ERR_LIMIT when out is too small (a buffer of
 * PAL_TILE_PATH_MAX always fits).
 */
int pal_tile_path(int level, uint64_t n, unsigned w, char *out, size_t len);

/*
 * Parses such a path (strictly: no leading zeros, no stray elements);
 * *w is 256 for a full tile.  The outputs are set only on success.
 */
int pal_tile_path_parse(const char *path, int *level, uint64_t *n,
			unsigned *w, struct pal_err *err);

/*
 * The width of tile (level, n) in a tree of size leaves: 256 when it is
 * full, 1..255 when it is the level's partial tile, 0 when the tree has no
 * such tile.  Entry bundles (PAL_TILE_ENTRIES) are as level 0.
 */
unsigned pal_tile_width(int level, uint64_t n, uint64_t size);

/*
 * Called once per tile by the listings below; a nonzero return stops the
 * listing, which returns it.
 */
typedef int (*pal_tile_fn)(void *ctx, int level, uint64_t n, unsigned w);

/*
 * Lists the Merkle tree tiles of a tree of size leaves, level by level
 * from 0 and in index order within a level, a level's partial tile last.
 * Each level-0 tile has its entry bundle of the same index and width,
 * which is not listed.  A tree of size 70,000 lists 273 full level-0
 * tiles, 273.p/112, 1/0, 1/1.p/17 and 2/0.p/1.
 */
int pal_tile_list(uint64_t size, pal_tile_fn fn, void *ctx);

/*
 * Lists the tiles a tree of size to has and a tree of size from (<= to)
 * has not, in the same order: what a log writes when it grows from one to
 * the other.  PAL_ERR_INVALID when from > to.
 */
int pal_tile_list_new(uint64_t from, uint64_t to, pal_tile_fn fn, void *ctx);

/*
 * The hash of the full subtree of 2^height leaves starting at leaf
 * index << height: MTH(D[index*2^height : (index+1)*2^height]).  A log
 * supplies this from its tiles (or memory); proofs only ever ask for
 * subtrees that lie entirely inside the tree.
 */
struct pal_hash_reader {
	int (*read)(void *ctx, unsigned height, uint64_t index,
		    uint8_t out[PAL_MERKLE_HASH_LEN], struct pal_err *err);
	void *ctx;
};

/*
 * MTH(D[start:end]) for any range inside the tree, from full subtrees (the
 * empty root when start == end; PAL_ERR_INVALID when start > end).  A
 * range that starts on a multiple of the largest power of two not above
 * its length, as every range a proof needs does, costs at most 64 reads;
 * any other range is built from smaller aligned subtrees and may cost up
 * to one read per leaf.
 */
int pal_tile_range_hash(const struct pal_hash_reader *r, uint64_t start,
			uint64_t end, uint8_t out[PAL_MERKLE_HASH_LEN],
			struct pal_err *err);

/* The root of a tree of size leaves (the empty root for 0). */
int pal_tile_root(const struct pal_hash_reader *r, uint64_t size,
		  uint8_t out[PAL_MERKLE_HASH_LEN], struct pal_err *err);

/*
 * RFC 9162 inclusion proof of leaf index in a tree of size leaves;
 * writes *n hashes (at most PAL_MERKLE_MAX_PROOF) into proof, which has
 * room for PAL_MERKLE_MAX_PROOF.  PAL_ERR_INVALID when index >= size.
 * Only subtrees complete in the tree of size leaves are read; a reader's
 * error is returned with the subtree it failed on.  *n is 0 on failure.
 */
int pal_tile_prove_inclusion(const struct pal_hash_reader *r, uint64_t index,
			     uint64_t size,
			     uint8_t proof[][PAL_MERKLE_HASH_LEN], size_t *n,
			     struct pal_err *err);

/*
 * RFC 9162 consistency proof between sizes size1 <= size2, into proof as
 * above.  The proof is empty when size1 == size2 and when size1 == 0 (the
 * empty tree is a prefix of every tree; c2sp.org/tlog-witness sends an
 * empty proof from size 0, which pal_merkle_verify_consistency refuses to
 * check: a caller handles that case itself).  PAL_ERR_INVALID when size1
 * > size2; PAL_ERR_LIMIT when the proof would need 65 hashes, one more
 * than PAL_MERKLE_MAX_PROOF, which happens only for size2 above 2^63.
 */
int pal_tile_prove_consistency(const struct pal_hash_reader *r,
			       uint64_t size1, uint64_t size2,
			       uint8_t proof[][PAL_MERKLE_HASH_LEN],
			       size_t *n, struct pal_err *err);

/*
 * Reads hashes from the tiles of a log directory (DIR/tile/...), for a
 * tree of size leaves (which decides which partial tiles exist), with a
 * small cache of recently used tiles.
 *
 * A subtree of height h at index i is read from the level h/8 tile that
 * holds its 2^(h%8) stored hashes and hashed up inside the tile; interior
 * hashes are kept with the cached tile.  A tile the size calls full is
 * read from tile/L/N; a partial one from tile/L/N.p/W, or, when the log
 * has deleted that (it may once the tile is full), from the first W
 * hashes of tile/L/N.  A tile file must be a regular file of exactly 32
 * bytes per hash.  Asking for a subtree not complete in the tree is
 * PAL_ERR_INVALID; a missing tile PAL_ERR_IO; a tile of the wrong size or
 * kind PAL_ERR_FORMAT.  The hashes are trusted as the log's own: callers
 * that got them from elsewhere verify proofs against a signed root.
 *
 * A pal_tile_dir is not thread-safe (its cache changes on every read).
 * *out is the caller's (pal_tile_dir_close, which takes NULL).
 */
struct pal_tile_dir;
int pal_tile_dir_open(const char *dir, uint64_t size,
		      struct pal_tile_dir **out, struct pal_err *err);
void pal_tile_dir_close(struct pal_tile_dir *d);
struct pal_hash_reader pal_tile_dir_reader(struct pal_tile_dir *d);

#define PAL_TILE_DIR_CACHE 64		/* tiles cached by default */
#define PAL_TILE_DIR_CACHE_MAX 65536

/*
 * Changes the tree size the directory serves (a log that grew); cached
 * tiles stay valid, since a tile's contents depend on its width only.
 */
void pal_tile_dir_set_size(struct pal_tile_dir *d, uint64_t size);

/*
 * Empties the cache and gives it room for n tiles (1 to
 * PAL_TILE_DIR_CACHE_MAX, about 16 KiB each).  A proof touches one tile
 * per level.  Level-0 tiles may fill at most half of a full cache, since
 * each tile above serves 256 times as many leaves; still, proofs for
 * random leaves of a large log miss at level 0 whatever the size, and a
 * miss costs a file read and up to 247 node hashes.
 */
int pal_tile_dir_set_cache(struct pal_tile_dir *d, size_t n,
			   struct pal_err *err);

/*
 * Splits an entry bundle into entries: on success *n entries, each a
 * pointer into data and a length.  At least 1 and at most 256 entries (an
 * empty bundle is never served); a length that runs past the end is
 * PAL_ERR_TRUNCATED, anything else malformed PAL_ERR_FORMAT.  *n is 0 on
 * failure.
 */
int pal_tile_bundle_parse(const uint8_t *data, size_t len,
			  const uint8_t *entries[PAL_TILE_WIDTH],
			  size_t lens[PAL_TILE_WIDTH], size_t *n,
			  struct pal_err *err);

/* Appends one entry (at most PAL_ENTRY_MAX bytes) to a bundle in b. */
int pal_tile_bundle_add(struct pal_buf *b, const uint8_t *entry, size_t len,
			struct pal_err *err);

#endif
