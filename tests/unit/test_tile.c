/*
 * test_tile.c - C2SP tlog-tiles paths, listings and entry bundles; proofs
 * generated from full subtree hashes, in memory and from a tile directory
 * written here, checked against an independent recursive construction,
 * against the verifiers of merkle.c and against the transparency-dev
 * vectors; the tlog-proof text format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/encoding.h"
#include "palisade/merkle.h"
#include "palisade/note.h"
#include "palisade/tile.h"
#include "palisade/tlog_proof.h"

#include "merkle_ref.h"

#define HLEN PAL_MERKLE_HASH_LEN
#define MAXP PAL_MERKLE_MAX_PROOF
#define CP(x) ((const uint8_t (*)[HLEN])(x))

/* ------------------------------------------------------------------ */
/* Paths */

static void
path_is(int level, uint64_t n, unsigned w, const char *want)
{
	char path[PAL_TILE_PATH_MAX];
	int lv;
	uint64_t pn;
	unsigned pw;
	struct pal_err err;

	assert_int_equal(pal_tile_path(level, n, w, path, sizeof(path)), 0);
	assert_string_equal(path, want);
	if (pal_tile_path_parse(path, &lv, &pn, &pw, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	assert_int_equal(lv, level);
	assert_true(pn == n);
	assert_int_equal(pw, w);
}

static void
paths_encode_as_the_spec_says(void **state)
{
	char path[PAL_TILE_PATH_MAX];

	(void)state;
	path_is(0, 1234067, 256, "tile/0/x001/x234/067");
	path_is(0, 0, 256, "tile/0/000");
	path_is(0, 999, 256, "tile/0/999");
	path_is(0, 1000, 256, "tile/0/x001/000");
	path_is(2, 1000000, 256, "tile/2/x001/x000/000");
	path_is(1, 273, 17, "tile/1/273.p/17");
	path_is(0, 273, 112, "tile/0/273.p/112");
	path_is(63, 5, 1, "tile/63/005.p/1");
	path_is(PAL_TILE_ENTRIES, 1234067, 256, "tile/entries/x001/x234/067");
	path_is(PAL_TILE_ENTRIES, 0, 255, "tile/entries/000.p/255");
	path_is(7, UINT64_MAX, 255,
		"tile/7/x018/x446/x744/x073/x709/x551/615.p/255");
	assert_true(strlen("tile/entries/x018/x446/x744/x073/x709/x551/615"
			   ".p/255") < PAL_TILE_PATH_MAX);
	/* Arguments out of range, and a buffer that is too small. */
	assert_int_equal(pal_tile_path(64, 0, 256, path, sizeof(path)),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_tile_path(-2, 0, 256, path, sizeof(path)),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_tile_path(0, 0, 0, path, sizeof(path)),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_tile_path(0, 0, 257, path, sizeof(path)),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_tile_path(0, 1234067, 256, path, 20),
			 PAL_ERR_LIMIT);
	assert_string_equal(path, "");
	assert_int_equal(pal_tile_path(0, 1234067, 256, path, 21), 0);
	assert_string_equal(path, "tile/0/x001/x234/067");
}

static void
path_parse_rejects_other_spellings(void **state)
{
	static const char *const bad[] = {
		"", "tile", "tile/", "tile/0", "tile/0/", "Tile/0/000",
		"/tile/0/000", "tile//000", "tile/00/000", "tile/01/000",
		"tile/64/000", "tile/100/000", "tile/-1/000", "tile/+1/000",
		"tile/ 1/000", "tile/entry/000", "tile/entriesx/000",
		"tile/entries", "tile/entries/", "tile/0/00", "tile/0/0000",
		"tile/0/1", "tile/0/x000/123", "tile/0/x01/123",
		"tile/0/001/002", "tile/0/x001", "tile/0/x001/",
		"tile/0/X001/000", "tile/0/000/", "tile/0/000.p",
		"tile/0/000.p/", "tile/0/000.p/0",
		"tile/0/000.p/256", "tile/0/000.p/012", "tile/0/000.p/1/",
		"tile/0/000.p/1 ", "tile/0/000.q/1", "tile/0/000p/1",
		"tile/0/000.p//1", "tile/0/000.p/1000", "tile/0/00a",
		"tile/0/x001/x234/067\n",
		/* 2^64 and a number with eight elements. */
		"tile/0/x018/x446/x744/x073/x709/x551/616",
		"tile/0/x001/x018/x446/x744/x073/x709/x551/615",
		"tile/0/x000/x018/x446/x744/x073/x709/x551/615",
	};
	int lv = 9;
	uint64_t n = 9;
	unsigned w = 9;
	struct pal_err err;
	char longp[PAL_TILE_PATH_MAX + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pal_tile_path_parse(bad[i], &lv, &n, &w, &err) == 0)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_int_equal(err.code, PAL_ERR_FORMAT);
		/* Outputs are untouched on failure. */
		assert_int_equal(lv, 9);
	}
	memset(longp, '0', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp, "tile/0/", 7);
	assert_int_equal(pal_tile_path_parse(longp, &lv, &n, &w, &err),
			 PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "longer than"));
	/* The largest index parses. */
	assert_int_equal(pal_tile_path_parse(
		"tile/0/x018/x446/x744/x073/x709/x551/615", &lv, &n, &w,
		&err), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(w, 256);
}

/* ------------------------------------------------------------------ */
/* Listings */

struct listed {
	size_t n;
	int level[4096];
	uint64_t idx[4096];
	unsigned w[4096];
};

static int
collect(void *ctx, int level, uint64_t n, unsigned w)
{
	struct listed *l = ctx;

	assert_true(l->n < 4096);
	l->level[l->n] = level;
	l->idx[l->n] = n;
	l->w[l->n] = w;
	l->n++;
	return 0;
}

static int
stop_at_third(void *ctx, int level, uint64_t n, unsigned w)
{
	int *count = ctx;

	(void)level, (void)n, (void)w;
	return ++*count == 3 ? 42 : 0;
}

static void
tiles_of_the_spec_examples(void **state)
{
	struct listed *l = calloc(1, sizeof(*l));
	int count = 0;

	(void)state;
	assert_non_null(l);
	/*
	 * "a tree of size 70,000 will be represented by 273 full level 0
	 * tiles, one partial level 0 tile of width 112, one full level 1
	 * tile, one partial level 1 tile of width 17, and one partial level
	 * 2 tile of width 1."
	 */
	assert_int_equal(pal_tile_list(70000, collect, l), 0);
	assert_int_equal(l->n, 273 + 1 + 1 + 1 + 1);
	for (size_t i = 0; i < 273; i++) {
		assert_int_equal(l->level[i], 0);
		assert_true(l->idx[i] == i);
		assert_int_equal(l->w[i], 256);
	}
	assert_int_equal(l->level[273], 0);
	assert_true(l->idx[273] == 273);
	assert_int_equal(l->w[273], 112);
	assert_int_equal(l->level[274], 1);
	assert_true(l->idx[274] == 0);
	assert_int_equal(l->w[274], 256);
	assert_int_equal(l->level[275], 1);
	assert_true(l->idx[275] == 1);
	assert_int_equal(l->w[275], 17);
	assert_int_equal(l->level[276], 2);
	assert_true(l->idx[276] == 0);
	assert_int_equal(l->w[276], 1);
	assert_int_equal(pal_tile_width(0, 273, 70000), 112);
	assert_int_equal(pal_tile_width(0, 272, 70000), 256);
	assert_int_equal(pal_tile_width(0, 274, 70000), 0);
	assert_int_equal(pal_tile_width(PAL_TILE_ENTRIES, 273, 70000), 112);
	assert_int_equal(pal_tile_width(1, 1, 70000), 17);
	assert_int_equal(pal_tile_width(2, 0, 70000), 1);
	assert_int_equal(pal_tile_width(3, 0, 70000), 0);
	assert_int_equal(pal_tile_width(64, 0, 70000), 0);

	/* "a tree of size 256 ... a full level 0 tile and a partial level 1
	 * tile of width 1." */
	l->n = 0;
	assert_int_equal(pal_tile_list(256, collect, l), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->level[0], 0);
	assert_int_equal(l->w[0], 256);
	assert_int_equal(l->level[1], 1);
	assert_int_equal(l->w[1], 1);
	l->n = 0;
	assert_int_equal(pal_tile_list(0, collect, l), 0);
	assert_int_equal(l->n, 0);
	/* The largest tree reaches level 7 and no further. */
	l->n = 0;
	assert_int_equal(pal_tile_list_new(UINT64_MAX - 1, UINT64_MAX,
					   collect, l), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->level[0], 0);
	assert_int_equal(l->w[0], 255);
	assert_int_equal(pal_tile_width(7, 0, UINT64_MAX), 255);

	/* Growing 70000 -> 70300: level 0 fills 273 and starts 274.p/156;
	 * level 1 partial grows to 18; level 2 stays 0.p/1 (not listed). */
	l->n = 0;
	assert_int_equal(pal_tile_list_new(70000, 70300, collect, l), 0);
	assert_int_equal(l->n, 3);
	assert_true(l->level[0] == 0 && l->idx[0] == 273 && l->w[0] == 256);
	assert_true(l->level[1] == 0 && l->idx[1] == 274 && l->w[1] == 156);
	assert_true(l->level[2] == 1 && l->idx[2] == 1 && l->w[2] == 18);
	l->n = 0;
	assert_int_equal(pal_tile_list_new(70000, 70000, collect, l), 0);
	assert_int_equal(l->n, 0);
	assert_int_equal(pal_tile_list_new(2, 1, collect, l), PAL_ERR_INVALID);
	/* A callback's nonzero return stops the listing. */
	assert_int_equal(pal_tile_list(70000, stop_at_third, &count), 42);
	assert_int_equal(count, 3);
	free(l);
}

/*
 * Listing every step of a growing log lists each tile of the final tree
 * exactly once among its full tiles and final partials.
 */
static void
growing_lists_add_up(void **state)
{
	struct listed *all = calloc(1, sizeof(*all));
	struct listed *fin = calloc(1, sizeof(*fin));
	uint64_t sizes[] = { 0, 1, 5, 255, 256, 257, 1000, 65535, 65536,
			     65537, 70000 };

	(void)state;
	assert_non_null(all);
	assert_non_null(fin);
	for (size_t i = 1; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(pal_tile_list_new(sizes[i - 1], sizes[i],
						   collect, all), 0);
	assert_int_equal(pal_tile_list(70000, collect, fin), 0);
	for (size_t i = 0; i < fin->n; i++) {
		size_t hits = 0;
		for (size_t j = 0; j < all->n; j++)
			hits += all->level[j] == fin->level[i] &&
				all->idx[j] == fin->idx[i] &&
				all->w[j] == fin->w[i];
		assert_int_equal(hits, 1);
	}
	/* Everything else listed is a partial tile of an earlier size. */
	for (size_t j = 0; j < all->n; j++) {
		if (all->w[j] == 256)
			assert_int_equal(pal_tile_width(all->level[j],
				all->idx[j], 70000), 256);
	}
	free(all);
	free(fin);
}

/* ------------------------------------------------------------------ */
/* Entry bundles */

static void
bundles_split_and_refuse(void **state)
{
	const uint8_t *e[PAL_TILE_WIDTH];
	size_t lens[PAL_TILE_WIDTH], n = 7;
	struct pal_buf b;
	struct pal_err err;
	static const uint8_t two[] = { 0, 3, 'a', 'b', 'c', 0, 0 };
	static const uint8_t trunc[] = { 0, 3, 'a', 'b' };
	static const uint8_t half[] = { 0, 1, 'a', 0 };
	uint8_t big[PAL_ENTRY_MAX + 1];

	(void)state;
	assert_int_equal(pal_tile_bundle_parse(two, sizeof(two), e, lens, &n,
					       &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(lens[0], 3);
	assert_memory_equal(e[0], "abc", 3);
	assert_int_equal(lens[1], 0);
	assert_int_equal(pal_tile_bundle_parse(trunc, sizeof(trunc), e, lens,
					       &n, &err), PAL_ERR_TRUNCATED);
	assert_int_equal(n, 0);
	assert_int_equal(pal_tile_bundle_parse(half, sizeof(half), e, lens,
					       &n, &err), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_tile_bundle_parse(two, 0, e, lens, &n, &err),
			 PAL_ERR_FORMAT);

	/* 256 entries parse, 257 do not; the encoder writes what parses. */
	pal_buf_init(&b, 1 << 20);
	for (int i = 0; i < 257; i++) {
		uint8_t x = (uint8_t)i;
		assert_int_equal(pal_tile_bundle_add(&b, &x, 1, &err), 0);
		assert_int_equal(pal_tile_bundle_parse(b.p, b.len, e, lens,
			&n, &err), i < 256 ? 0 : PAL_ERR_FORMAT);
	}
	assert_int_equal(pal_tile_bundle_parse(b.p, b.len - 3, e, lens, &n,
					       &err), 0);
	assert_int_equal(n, 256);
	assert_int_equal(e[255][0], 255);
	pal_buf_free(&b);

	/* The largest entry fits, one byte more does not. */
	memset(big, 0x5a, sizeof(big));
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_tile_bundle_add(&b, big, PAL_ENTRY_MAX, &err), 0);
	assert_int_equal(pal_tile_bundle_add(&b, big, PAL_ENTRY_MAX + 1,
					     &err), PAL_ERR_LIMIT);
	assert_int_equal(b.len, PAL_ENTRY_MAX + 2);
	assert_int_equal(b.p[0], 0xff);
	assert_int_equal(b.p[1], 0xff);
	pal_buf_free(&b);
	/* A full buffer is refused and left as it was. */
	pal_buf_init(&b, 10);
	assert_int_equal(pal_tile_bundle_add(&b, big, 4, &err), 0);
	assert_int_equal(pal_tile_bundle_add(&b, big, 4, &err), PAL_ERR_LIMIT);
	assert_int_equal(b.len, 6);
	assert_int_equal(pal_tile_bundle_parse(b.p, b.len, e, lens, &n, &err),
			 0);
	assert_int_equal(n, 1);
	pal_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* A tree in memory: every full subtree hash, and a reader over them. */

struct memtree {
	uint64_t n;			/* leaves held */
	uint8_t (*lv[64])[HLEN];	/* lv[h][i]: subtree h at i */
	uint64_t size;			/* the tree the reader serves */
	uint64_t reads, violations;
	int fail_height;		/* a read of it fails, or -1 */
};

static uint8_t (*leaves)[HLEN];
static struct memtree *big;
static char *tmpdir;

static void
memtree_build(struct memtree *t, const uint8_t (*l)[HLEN], uint64_t n)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	t->fail_height = -1;
	for (unsigned h = 0; (n >> h) > 0; h++) {
		t->lv[h] = malloc((n >> h) * HLEN);
		assert_non_null(t->lv[h]);
		for (uint64_t i = 0; i < (n >> h); i++) {
			if (h == 0)
				memcpy(t->lv[0][i], l[i], HLEN);
			else
				pal_merkle_node_hash(t->lv[h - 1][2 * i],
						     t->lv[h - 1][2 * i + 1],
						     t->lv[h][i]);
		}
	}
}

static void
memtree_free(struct memtree *t)
{
	for (unsigned h = 0; h < 64; h++)
		free(t->lv[h]);
}

static int
mem_read(void *ctx, unsigned height, uint64_t index, uint8_t out[HLEN],
	 struct pal_err *err)
{
	struct memtree *t = ctx;

	t->reads++;
	if (height >= 64 || index >= (t->size >> height) ||
	    (t->size >> height) > (t->n >> height)) {
		t->violations++;
		return pal_err_set(err, PAL_ERR_INVALID, "not complete");
	}
	if ((int)height == t->fail_height)
		return pal_err_set(err, PAL_ERR_IO, "disk on fire");
	memcpy(out, t->lv[height][index], HLEN);
	return 0;
}

static struct pal_hash_reader
mem_reader(struct memtree *t, uint64_t size)
{
	t->size = size;
	return (struct pal_hash_reader){ .read = mem_read, .ctx = t };
}

#define NLEAVES 70000
/* Every size up to ROOTS is tested, then the large ones. */
#define ROOTS 1100
/* The root of every prefix of the leaves, 0..NLEAVES. */
static uint8_t (*roots)[HLEN];
static const uint64_t large[] = { 65535, 65536, 65537, 69999, 70000 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(uint64_t below)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % below;
}

/*
 * The roots of every prefix, from a stack of the perfect subtrees built so
 * far (as pal_merkle_root keeps), folded from the right after each leaf:
 * an incremental construction independent of proof.c.
 */
static void
prefix_roots(void)
{
	uint8_t stack[64][HLEN];
	size_t top = 0;

	pal_merkle_empty_root(roots[0]);
	for (uint64_t i = 0; i < NLEAVES; i++) {
		memcpy(stack[top++], leaves[i], HLEN);
		for (uint64_t m = i + 1; (m & 1) == 0; m >>= 1) {
			top--;
			pal_merkle_node_hash(stack[top - 1], stack[top],
					     stack[top - 1]);
		}
		memcpy(roots[i + 1], stack[top - 1], HLEN);
		for (size_t k = top - 1; k > 0; k--)
			pal_merkle_node_hash(stack[k - 1], roots[i + 1],
					     roots[i + 1]);
	}
}

/* ------------------------------------------------------------------ */
/* Proofs from the memory reader */

static void
check_inclusion(const struct pal_hash_reader *r, uint64_t i, uint64_t size,
		const uint8_t root[HLEN], uint8_t (*got)[HLEN], size_t *n)
{
	struct pal_err err;

	if (pal_tile_prove_inclusion(r, i, size, got, n, &err) != 0)
		fail_msg("inclusion %llu in %llu: %s", (unsigned long long)i,
			 (unsigned long long)size, err.msg);
	if (pal_merkle_verify_inclusion(i, size, leaves[i], CP(got), *n,
					root, &err) != 0)
		fail_msg("inclusion %llu in %llu: %s", (unsigned long long)i,
			 (unsigned long long)size, err.msg);
}

static void
check_consistency(const struct pal_hash_reader *r, uint64_t m, uint64_t size,
		  const uint8_t r1[HLEN], const uint8_t r2[HLEN],
		  uint8_t (*got)[HLEN], size_t *n)
{
	struct pal_err err;

	if (pal_tile_prove_consistency(r, m, size, got, n, &err) != 0)
		fail_msg("consistency %llu to %llu: %s", (unsigned long long)m,
			 (unsigned long long)size, err.msg);
	if (pal_merkle_verify_consistency(m, size, r1, r2, CP(got), *n,
					  &err) != 0)
		fail_msg("consistency %llu to %llu: %s", (unsigned long long)m,
			 (unsigned long long)size, err.msg);
}

static void
memory_proofs_match_the_rfc_construction(void **state)
{
	uint8_t got[MAXP][HLEN], want[MAXP + 1][HLEN], root[HLEN];
	size_t n, nw;

	(void)state;
	for (uint64_t size = 1; size <= 80; size++) {
		struct pal_hash_reader r = mem_reader(big, size);
		assert_int_equal(pal_tile_root(&r, size, root, NULL), 0);
		assert_memory_equal(root, roots[size], HLEN);
		for (uint64_t i = 0; i < size; i++) {
			check_inclusion(&r, i, size, roots[size], got, &n);
			nw = build_path(CP(leaves), 0, size, i, want);
			assert_int_equal(n, nw);
			assert_memory_equal(got, want, n * HLEN);
		}
		for (uint64_t m = 1; m <= size; m++) {
			check_consistency(&r, m, size, roots[m], roots[size],
					  got, &n);
			nw = build_subproof(CP(leaves), m, size, 1, want);
			assert_int_equal(n, nw);
			assert_memory_equal(got, want, n * HLEN);
		}
	}
	assert_true(big->violations == 0);
}

static void
memory_proofs_verify_for_every_size(void **state)
{
	uint8_t got[MAXP][HLEN], root[HLEN];
	size_t n;

	(void)state;
	for (uint64_t size = 1; size <= ROOTS + 5; size++) {
		uint64_t s = size <= ROOTS ? size : large[size - ROOTS - 1];
		struct pal_hash_reader r = mem_reader(big, s);
		const uint8_t *rs = roots[s];
		assert_int_equal(pal_tile_root(&r, s, root, NULL), 0);
		assert_memory_equal(root, rs, HLEN);
		/* All leaves of the smaller trees, a sample of the others. */
		int all = s <= 300;
		for (uint64_t k = 0; k < (all ? s : 40); k++) {
			uint64_t i = all ? k : k < 2 ? k * (s - 1) : rnd(s);
			check_inclusion(&r, i, s, rs, got, &n);
		}
		for (uint64_t k = 0; k < (all ? s : 40); k++) {
			uint64_t m = all ? k + 1 : k < 2 ? 1 + k * (s - 1) :
				1 + rnd(s);
			check_consistency(&r, m, s, roots[m], rs, got, &n);
		}
	}
	assert_true(big->violations == 0);
}

static void
proof_arguments_and_reader_errors(void **state)
{
	uint8_t got[MAXP][HLEN], h[HLEN];
	size_t n = 99;
	struct pal_err err;
	struct pal_hash_reader r = mem_reader(big, 100);

	(void)state;
	assert_int_equal(pal_tile_prove_inclusion(&r, 100, 100, got, &n,
						  &err), PAL_ERR_INVALID);
	assert_int_equal(n, 0);
	assert_int_equal(pal_tile_prove_inclusion(&r, 0, 0, got, &n, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_tile_prove_consistency(&r, 101, 100, got, &n,
						    &err), PAL_ERR_INVALID);
	/* From the empty tree, and between equal sizes: empty proofs. */
	n = 99;
	assert_int_equal(pal_tile_prove_consistency(&r, 0, 100, got, &n,
						    &err), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(pal_tile_prove_consistency(&r, 100, 100, got, &n,
						    &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pal_tile_prove_consistency(&r, 0, 0, got, &n, &err),
			 0);
	/* The empty tree's root, and ranges. */
	assert_int_equal(pal_tile_root(&r, 0, h, &err), 0);
	{
		uint8_t e[HLEN];
		pal_merkle_empty_root(e);
		assert_memory_equal(h, e, HLEN);
	}
	assert_int_equal(pal_tile_range_hash(&r, 5, 4, h, &err),
			 PAL_ERR_INVALID);
	/* Unaligned ranges are the MTH of their own leaves. */
	for (uint64_t s = 0; s < 40; s++) {
		for (uint64_t e = s + 1; e <= 60; e++) {
			uint8_t want[HLEN];
			pal_merkle_root(CP(leaves + s), e - s, want);
			assert_int_equal(pal_tile_range_hash(&r, s, e, h,
							     &err), 0);
			assert_memory_equal(h, want, HLEN);
		}
	}
	/* A root past the reader's tree is refused by the reader. */
	assert_int_equal(pal_tile_root(&r, 101, h, &err), PAL_ERR_INVALID);
	big->violations = 0;
	/* A reader's failure comes back with the subtree it was asked. */
	big->fail_height = 2;
	assert_int_equal(pal_tile_prove_inclusion(&r, 0, 100, got, &n, &err),
			 PAL_ERR_IO);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, "subtree of height 2 at index 1: "
			       "disk on fire"));
	big->fail_height = -1;
}

/* A reader of a huge tree whose every complete subtree hashes to zero. */
static int
zero_read(void *ctx, unsigned height, uint64_t index, uint8_t out[HLEN],
	  struct pal_err *err)
{
	const uint64_t *size = ctx;

	if (height >= 64 || index >= (*size >> height))
		return pal_err_set(err, PAL_ERR_INVALID, "not complete");
	memset(out, 0, HLEN);
	return 0;
}

static void
proofs_of_the_largest_trees(void **state)
{
	uint8_t got[MAXP][HLEN], root[HLEN];
	uint64_t size = UINT64_MAX;
	struct pal_hash_reader r = { zero_read, &size };
	uint8_t leaf[HLEN] = { 0 };
	size_t n;

	(void)state;
	assert_int_equal(pal_tile_prove_inclusion(&r, (1ull << 63) - 2,
						  size, got, &n, NULL), 0);
	assert_int_equal(n, 64);
	assert_int_equal(pal_merkle_root_from_inclusion((1ull << 63) - 2,
		size, leaf, CP(got), n, root, NULL), 0);
	/* The last leaf: one full subtree to its left per level but one. */
	assert_int_equal(pal_tile_prove_inclusion(&r, UINT64_MAX - 1, size,
						  got, &n, NULL), 0);
	assert_int_equal(n, 63);
	assert_int_equal(pal_tile_root(&r, size, root, NULL), 0);
	/* 64 splits and the old tree's own subtree: 65 hashes. */
	assert_int_equal(pal_tile_prove_consistency(&r, (1ull << 63) - 1,
						    size, got, &n, NULL),
			 PAL_ERR_LIMIT);
	/* The old tree is the left half: the right half is the proof. */
	assert_int_equal(pal_tile_prove_consistency(&r, 1ull << 63, size, got,
						    &n, NULL), 0);
	assert_int_equal(n, 1);
	/* Most proofs from small trees into one this large need 65 too. */
	assert_int_equal(pal_tile_prove_consistency(&r, 3, size, got, &n,
						    NULL), PAL_ERR_LIMIT);
	/*
	 * Below 2^63 leaves every proof fits; the verifier finds the length
	 * right (only the roots are not those of the proof).
	 */
	struct pal_err err;
	size = (1ull << 63) - 1;
	assert_int_equal(pal_tile_root(&r, size, root, NULL), 0);
	assert_int_equal(pal_tile_prove_consistency(&r, 3, size, got, &n,
						    NULL), 0);
	assert_int_equal(n, 64);
	assert_int_equal(pal_merkle_verify_consistency(3, size, root, root,
		CP(got), n, &err), PAL_ERR_VERIFY);
	assert_null(strstr(err.msg, "needs"));
	assert_int_equal(pal_tile_prove_consistency(&r, size - 1, size, got,
						    &n, NULL), 0);
	assert_int_equal(pal_merkle_verify_consistency(size - 1, size, root,
		root, CP(got), n, &err), PAL_ERR_VERIFY);
	assert_null(strstr(err.msg, "needs"));
}

/* ------------------------------------------------------------------ */
/* The transparency-dev vectors */

static const char *const td_leaf_data[8] = {
	"", "\x00", "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43",
	"\x50\x51\x52\x53\x54\x55\x56\x57",
	"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
static const size_t td_leaf_len[8] = { 0, 1, 1, 2, 2, 4, 8, 16 };

static void
get_hash(json_t *v, uint8_t out[HLEN])
{
	const char *s = json_string_value(v);
	uint8_t *p = NULL;
	size_t n = 0;

	assert_non_null(s);
	assert_int_equal(pal_base64_decode(s, strlen(s), &p, &n, NULL), 0);
	assert_int_equal(n, HLEN);
	memcpy(out, p, HLEN);
	free(p);
}

/* The happy-path vector of dir: its two numbers, hashes and proof. */
static json_t *
load_happy(const char *dir, const char *ka, const char *kb, uint64_t *a,
	   uint64_t *b)
{
	char path[512];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/tlog-merkle/testdata/%s/"
		 "happy-path.json", getenv("PAL_TEST_DATA"), dir);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		fail_msg("%s: %s", path, jerr.text);
	*a = (uint64_t)json_integer_value(json_object_get(j, ka));
	*b = (uint64_t)json_integer_value(json_object_get(j, kb));
	assert_false(json_is_true(json_object_get(j, "wantErr")));
	return j;
}

static size_t
vector_proof(json_t *j, uint8_t (*out)[HLEN])
{
	json_t *h;
	size_t i, n = 0;

	json_array_foreach(json_object_get(j, "proof"), i, h) {
		assert_true(i < MAXP);
		get_hash(h, out[i]);
		n = i + 1;
	}
	return n;
}

static void
transparency_dev_vectors_are_what_we_generate(void **state)
{
	uint8_t l[8][HLEN], want[MAXP][HLEN], got[MAXP][HLEN], h[HLEN];
	struct memtree t;
	size_t nw, n, checked = 0;
	uint64_t a, b;
	char dir[32];

	(void)state;
	for (int i = 0; i < 8; i++)
		pal_merkle_leaf_hash((const uint8_t *)td_leaf_data[i],
				     td_leaf_len[i], l[i]);
	memtree_build(&t, CP(l), 8);
	for (int v = 0; v <= 4; v++) {
		snprintf(dir, sizeof(dir), "inclusion/%d", v);
		json_t *j = load_happy(dir, "leafIdx", "treeSize", &a, &b);
		struct pal_hash_reader r = mem_reader(&t, b);
		get_hash(json_object_get(j, "leafHash"), h);
		assert_memory_equal(h, l[a], HLEN);
		get_hash(json_object_get(j, "root"), h);
		assert_int_equal(pal_tile_root(&r, b, got[0], NULL), 0);
		assert_memory_equal(got[0], h, HLEN);
		nw = vector_proof(j, want);
		assert_int_equal(pal_tile_prove_inclusion(&r, a, b, got, &n,
							  NULL), 0);
		assert_int_equal(n, nw);
		assert_memory_equal(got, want, n * HLEN);
		json_decref(j);
		checked++;
	}
	for (int v = 0; v <= 4; v++) {
		snprintf(dir, sizeof(dir), "consistency/%d", v);
		json_t *j = load_happy(dir, "size1", "size2", &a, &b);
		struct pal_hash_reader r = mem_reader(&t, b);
		get_hash(json_object_get(j, "root1"), h);
		assert_int_equal(pal_tile_root(&r, a, got[0], NULL), 0);
		assert_memory_equal(got[0], h, HLEN);
		get_hash(json_object_get(j, "root2"), h);
		assert_int_equal(pal_tile_root(&r, b, got[0], NULL), 0);
		assert_memory_equal(got[0], h, HLEN);
		nw = vector_proof(j, want);
		assert_int_equal(pal_tile_prove_consistency(&r, a, b, got, &n,
							    NULL), 0);
		assert_int_equal(n, nw);
		assert_memory_equal(got, want, n * HLEN);
		json_decref(j);
		checked++;
	}
	assert_int_equal(checked, 10);
	assert_true(t.violations == 0);
	memtree_free(&t);
}

/* ------------------------------------------------------------------ */
/* A tile directory */

static void
mkdirs_for(const char *path)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f;

	mkdirs_for(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

struct writer {
	const char *dir;
	struct memtree *t;
	size_t files;
};

/* Writes tile (level, n, w) with the tree's hashes of height 8*level. */
static int
write_tile(void *ctx, int level, uint64_t n, unsigned w)
{
	struct writer *wr = ctx;
	char rel[PAL_TILE_PATH_MAX], path[1024];

	assert_int_equal(pal_tile_path(level, n, w, rel, sizeof(rel)), 0);
	snprintf(path, sizeof(path), "%s/%s", wr->dir, rel);
	assert_true((n * 256 + w) <= (wr->t->n >> (8 * level)));
	write_file(path, wr->t->lv[8 * level][n * 256], (size_t)w * HLEN);
	wr->files++;
	return 0;
}

static char logdir[1024];

static void
build_log_dir(void)
{
	struct writer wr = { logdir, big, 0 };
	uint64_t prev = 0;

	snprintf(logdir, sizeof(logdir), "%s/log", tmpdir);
	for (uint64_t s = 1; s <= ROOTS; s++) {
		assert_int_equal(pal_tile_list_new(prev, s, write_tile, &wr),
				 0);
		prev = s;
	}
	for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++) {
		assert_int_equal(pal_tile_list_new(prev, large[i], write_tile,
						   &wr), 0);
		prev = large[i];
	}
	/* Every partial of 1..1100 at levels 0 and 1, the full tiles... */
	assert_true(wr.files > ROOTS);
}

static void
tile_dir_proofs_equal_memory_proofs(void **state)
{
	uint8_t got[MAXP][HLEN], want[MAXP][HLEN], root[HLEN];
	size_t n, nw;
	struct pal_tile_dir *d = NULL;
	struct pal_err err;

	(void)state;
	for (uint64_t size = 1; size <= ROOTS + 5; size++) {
		uint64_t s = size <= ROOTS ? size : large[size - ROOTS - 1];
		const uint8_t *rs = roots[s];
		if (pal_tile_dir_open(logdir, s, &d, &err) != 0)
			fail_msg("%s", err.msg);
		struct pal_hash_reader r = pal_tile_dir_reader(d);
		struct pal_hash_reader mr = mem_reader(big, s);
		if (pal_tile_root(&r, s, root, &err) != 0)
			fail_msg("root of %llu: %s", (unsigned long long)s,
				 err.msg);
		assert_memory_equal(root, rs, HLEN);
		int all = s <= 64;
		for (uint64_t k = 0; k < (all ? s : 12); k++) {
			uint64_t i = all ? k : k < 2 ? k * (s - 1) : rnd(s);
			check_inclusion(&r, i, s, rs, got, &n);
			assert_int_equal(pal_tile_prove_inclusion(&mr, i, s,
				want, &nw, NULL), 0);
			assert_int_equal(n, nw);
			assert_memory_equal(got, want, n * HLEN);
		}
		for (uint64_t k = 0; k < (all ? s : 12); k++) {
			uint64_t m = all ? k + 1 : k < 2 ? 1 + k * (s - 1) :
				1 + rnd(s);
			check_consistency(&r, m, s, roots[m], rs, got, &n);
			assert_int_equal(pal_tile_prove_consistency(&mr, m, s,
				want, &nw, NULL), 0);
			assert_int_equal(n, nw);
			assert_memory_equal(got, want, n * HLEN);
		}
		pal_tile_dir_close(d);
	}
	assert_true(big->violations == 0);
}

/* Every complete subtree of the 70000 tree, read through a small cache. */
static void
tile_dir_reads_every_subtree(void **state)
{
	struct pal_tile_dir *d = NULL;
	struct pal_hash_reader r;
	struct pal_err err;
	uint8_t h[HLEN];
	uint64_t size = 70000;

	(void)state;
	assert_int_equal(pal_tile_dir_open(logdir, size, &d, &err), 0);
	assert_int_equal(pal_tile_dir_set_cache(d, 3, &err), 0);
	r = pal_tile_dir_reader(d);
	for (unsigned height = 0; (size >> height) > 0; height++) {
		for (uint64_t i = 0; i < (size >> height); i++) {
			if (r.read(r.ctx, height, i, h, &err) != 0)
				fail_msg("%u/%llu: %s", height,
					 (unsigned long long)i, err.msg);
			assert_memory_equal(h, big->lv[height][i], HLEN);
		}
		/* The first incomplete one is refused. */
		assert_int_equal(r.read(r.ctx, height, size >> height, h,
					&err), PAL_ERR_INVALID);
		assert_non_null(strstr(err.msg, "not complete"));
	}
	assert_int_equal(r.read(r.ctx, 64, 0, h, &err), PAL_ERR_INVALID);
	assert_int_equal(r.read(r.ctx, 17, 0, h, &err), PAL_ERR_INVALID);
	assert_int_equal(pal_tile_dir_set_cache(d, 0, &err), PAL_ERR_INVALID);
	assert_int_equal(pal_tile_dir_set_cache(d, PAL_TILE_DIR_CACHE_MAX + 1,
						&err), PAL_ERR_INVALID);
	/* The same directory serves a smaller tree after a resize. */
	pal_tile_dir_set_size(d, 1000);
	assert_int_equal(pal_tile_root(&r, 1000, h, &err), 0);
	assert_memory_equal(h, roots[1000], HLEN);
	pal_tile_dir_close(d);
	pal_tile_dir_close(NULL);
}

/* Random reads through caches of a few sizes, checked against memory. */
static void
tile_dir_caches_of_any_size(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 5, 64, 300 };
	struct pal_tile_dir *d = NULL;
	struct pal_err err;
	uint8_t h[HLEN];

	(void)state;
	assert_int_equal(pal_tile_dir_open(logdir, NLEAVES, &d, &err), 0);
	struct pal_hash_reader r = pal_tile_dir_reader(d);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		assert_int_equal(pal_tile_dir_set_cache(d, sizes[k], &err),
				 0);
		for (int i = 0; i < 20000; i++) {
			/* Mostly a few hot tiles, sometimes any. */
			unsigned height = (unsigned)rnd(17);
			uint64_t count = NLEAVES >> height;
			uint64_t idx = rnd(4) ? rnd(count < 900 ? count : 900)
				: rnd(count);
			if (r.read(r.ctx, height, idx, h, &err) != 0)
				fail_msg("%u/%llu: %s", height,
					 (unsigned long long)idx, err.msg);
			assert_memory_equal(h, big->lv[height][idx], HLEN);
		}
	}
	pal_tile_dir_close(d);
}

/* A log of 600 leaves in its own directory, for the damage tests. */
static void
small_log(const char *name, char *dir, size_t len)
{
	struct writer wr = { dir, big, 0 };

	snprintf(dir, len, "%s/%s", tmpdir, name);
	assert_int_equal(pal_tile_list(600, write_tile, &wr), 0);
	/* 0/000, 0/001, 0/002.p/88 and 1/000.p/2. */
	assert_int_equal(wr.files, 4);
}

/*
 * The root of the 600 tree, which reads 1/000.p/2 and 0/002.p/88, and an
 * inclusion proof of leaf 300, which reads all three levels.
 */
static int
check_600(const char *dir, struct pal_err *err)
{
	struct pal_tile_dir *d = NULL;
	uint8_t h[HLEN], proof[MAXP][HLEN];
	size_t n;
	int rc = pal_tile_dir_open(dir, 600, &d, err);

	if (rc == 0) {
		struct pal_hash_reader r = pal_tile_dir_reader(d);
		rc = pal_tile_root(&r, 600, h, err);
		if (rc == 0)
			assert_memory_equal(h, roots[600], HLEN);
		if (rc == 0)
			rc = pal_tile_prove_inclusion(&r, 300, 600, proof, &n,
						      err);
		if (rc == 0)
			rc = pal_merkle_verify_inclusion(300, 600,
				leaves[300], CP(proof), n, roots[600], err);
	}
	pal_tile_dir_close(d);
	return rc;
}

static void
tile_dir_refuses_damaged_tiles(void **state)
{
	char dir[1024], path[1200];
	struct pal_err err;
	uint8_t junk[8193];

	(void)state;
	memset(junk, 0, sizeof(junk));
	small_log("damaged", dir, sizeof(dir));
	assert_int_equal(check_600(dir, &err), 0);

	/* The partial tile deleted: the full one stands in for it. */
	snprintf(path, sizeof(path), "%s/tile/0/002.p/88", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(check_600(dir, &err), PAL_ERR_IO);
	assert_non_null(strstr(err.msg, "tile/0/002"));
	snprintf(path, sizeof(path), "%s/tile/0/002", dir);
	write_file(path, big->lv[0][512], 256 * HLEN);
	assert_int_equal(check_600(dir, &err), 0);
	/* ... but it must be a full tile. */
	write_file(path, big->lv[0][512], 255 * HLEN);
	assert_int_equal(check_600(dir, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "not a regular file of 8192 bytes"));
	write_file(path, big->lv[0][512], 256 * HLEN);

	/* One byte short, one byte long, a directory, a FIFO, a link. */
	snprintf(path, sizeof(path), "%s/tile/0/001", dir);
	write_file(path, junk, 8191);
	assert_int_equal(check_600(dir, &err), PAL_ERR_FORMAT);
	write_file(path, junk, 8193);
	assert_int_equal(check_600(dir, &err), PAL_ERR_FORMAT);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(check_600(dir, &err), PAL_ERR_FORMAT);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(check_600(dir, &err), PAL_ERR_FORMAT);
	assert_int_equal(unlink(path), 0);
	write_file(path, big->lv[0][256], 8192);
	assert_int_equal(check_600(dir, &err), 0);
	/* A tile with other hashes gives a proof that does not verify. */
	write_file(path, junk, 8192);
	assert_int_equal(check_600(dir, &err), PAL_ERR_VERIFY);
	/* No directory at all. */
	struct pal_tile_dir *d = (struct pal_tile_dir *)&err;
	snprintf(path, sizeof(path), "%s/nonexistent", tmpdir);
	assert_int_equal(pal_tile_dir_open(path, 1, &d, &err), PAL_ERR_IO);
	assert_null(d);
}

/* ------------------------------------------------------------------ */
/* tlog-proof text */

/* A checkpoint note for the first size leaves, with a dummy signature. */
static char *
checkpoint_note(uint64_t size)
{
	struct pal_buf b;
	uint8_t sig[4 + 64];

	memset(sig, 0xab, sizeof(sig));
	pal_buf_init(&b, 4096);
	assert_int_equal(pal_buf_printf(&b, "example.com/palisade\n%llu\n",
					(unsigned long long)size), 0);
	assert_int_equal(pal_base64_encode(roots[size], HLEN, &b), 0);
	assert_int_equal(pal_buf_puts(&b, "\n\n\xe2\x80\x94 example.com/"
				      "palisade "), 0);
	assert_int_equal(pal_base64_encode(sig, sizeof(sig), &b), 0);
	assert_int_equal(pal_buf_putc(&b, '\n'), 0);
	return (char *)pal_buf_steal(&b, NULL);
}

static void
tlog_proof_round_trip_and_verify(void **state)
{
	struct pal_tlog_proof p, *q = NULL;
	struct pal_note *note = NULL;
	struct pal_checkpoint *c = NULL;
	struct pal_buf b;
	struct pal_err err;
	char *cp = checkpoint_note(1000);
	struct pal_hash_reader r = mem_reader(big, 1000);
	uint8_t extra[] = "age-v1.2.1-darwin-arm64.tar.gz";

	(void)state;
	memset(&p, 0, sizeof(p));
	p.index = 737;
	p.extra = extra;
	p.extra_len = sizeof(extra) - 1;
	p.checkpoint = (uint8_t *)cp;
	p.checkpoint_len = strlen(cp);
	assert_int_equal(pal_tile_prove_inclusion(&r, 737, 1000, p.hashes,
						  &p.n_hashes, NULL), 0);
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_tlog_proof_format(&p, &b, &err), 0);
	assert_non_null(strstr((char *)b.p, "c2sp.org/tlog-proof@v1\nextra "
			       "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n"
			       "index 737\n"));
	assert_non_null(strstr((char *)b.p, "=\n\nexample.com/palisade\n"
			       "1000\n"));
	if (pal_tlog_proof_parse(b.p, b.len, &q, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(q->index == 737);
	assert_int_equal(q->n_hashes, p.n_hashes);
	assert_memory_equal(q->hashes, p.hashes, p.n_hashes * HLEN);
	assert_int_equal(q->extra_len, p.extra_len);
	assert_memory_equal(q->extra, extra, p.extra_len);
	assert_int_equal(q->checkpoint_len, p.checkpoint_len);
	assert_string_equal((char *)q->checkpoint, cp);

	/* The checkpoint, parsed as a verifier would, proves the leaf. */
	assert_int_equal(pal_note_parse(q->checkpoint, q->checkpoint_len,
					&note, &err), 0);
	assert_int_equal(pal_checkpoint_parse(note->text, note->text_len, &c,
					      &err), 0);
	assert_int_equal(pal_tlog_proof_verify_inclusion(q, c, leaves[737],
							 &err), 0);
	assert_int_equal(pal_tlog_proof_verify_inclusion(q, c, leaves[736],
							 &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "example.com/palisade"));
	q->index = 736;
	assert_int_equal(pal_tlog_proof_verify_inclusion(q, c, leaves[736],
							 &err), PAL_ERR_VERIFY);
	pal_checkpoint_free(c);
	pal_note_free(note);
	pal_tlog_proof_free(q);
	pal_buf_free(&b);

	/* Without extra data and without hashes. */
	p.extra = NULL;
	p.extra_len = 0;
	p.n_hashes = 0;
	p.index = 0;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_tlog_proof_format(&p, &b, &err), 0);
	assert_true(b.len == strlen("c2sp.org/tlog-proof@v1\nindex 0\n\n") +
		    strlen(cp));
	assert_memory_equal(b.p, "c2sp.org/tlog-proof@v1\nindex 0\n\n", 32);
	assert_int_equal(pal_tlog_proof_parse(b.p, b.len, &q, &err), 0);
	assert_null(q->extra);
	assert_int_equal(q->n_hashes, 0);
	pal_tlog_proof_free(q);
	/* The formatter refuses what the parser would. */
	p.checkpoint_len--;
	assert_int_equal(pal_tlog_proof_format(&p, &b, &err), PAL_ERR_INVALID);
	p.checkpoint_len++;
	p.n_hashes = MAXP + 1;
	assert_int_equal(pal_tlog_proof_format(&p, &b, &err), PAL_ERR_INVALID);
	pal_buf_free(&b);
	/* A buffer too small is left as it was. */
	p.n_hashes = 3;
	pal_buf_init(&b, 100);
	assert_int_equal(pal_buf_puts(&b, "kept"), 0);
	assert_int_equal(pal_tlog_proof_format(&p, &b, &err), PAL_ERR_LIMIT);
	assert_int_equal(b.len, 4);
	assert_string_equal((char *)b.p, "kept");
	pal_buf_free(&b);
	free(cp);
}

static void
tlog_proof_spec_example_parses(void **state)
{
	static const char ex[] =
		"c2sp.org/tlog-proof@v1\n"
		"extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
		"index 73894\n"
		"gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
		"B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
		"EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
		"RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
		"AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
		"\n"
		"example.com/fancylog\n"
		"109482\n"
		"sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
		"\n"
		"\xe2\x80\x94 example.com/fancylog hI2DJw[...]1roloI=\n";
	struct pal_tlog_proof *q = NULL;
	struct pal_buf b;
	struct pal_err err;

	(void)state;
	if (pal_tlog_proof_parse((const uint8_t *)ex, strlen(ex), &q,
				 &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(q->index == 73894);
	assert_int_equal(q->n_hashes, 5);
	assert_int_equal(q->extra_len, 39);
	assert_memory_equal(q->extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
	assert_int_equal(q->hashes[4][0], 0x00);
	assert_int_equal(q->hashes[4][1], 0x70);
	assert_non_null(strstr((char *)q->checkpoint, "109482\n"));
	/* It formats back to the same bytes. */
	pal_buf_init(&b, 1 << 16);
	assert_int_equal(pal_tlog_proof_format(q, &b, &err), 0);
	assert_int_equal(b.len, strlen(ex));
	assert_memory_equal(b.p, ex, b.len);
	pal_buf_free(&b);
	pal_tlog_proof_free(q);
}

static void
tlog_proof_parse_rejects(void **state)
{
#define H "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
#define CK "\nlog\n1\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
		{ "", PAL_ERR_TRUNCATED },
		{ "c2sp.org/tlog-proof@v1", PAL_ERR_TRUNCATED },
		{ "c2sp.org/tlog-proof@v2\nindex 1\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\r\nindex 1\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\r\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 01\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex -1\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex +1\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex \n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex  1\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nIndex 1\n" CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nextra \nindex 1\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nextra YQ\nindex 1\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nextra YR==\nindex 1\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nextra YQ==\nextra YQ==\nindex 1\n"
		  CK, PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\nextra YQ==\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nextra YQ==\n", PAL_ERR_TRUNCATED },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n" H, PAL_ERR_TRUNCATED },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n" H "\n",
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n"
		  "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n"
		  "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlR=\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n"
		  "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPl==\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n"
		  "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=AAAA\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n"
		  " gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n" CK,
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n" H CK "x",
		  PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n\n", PAL_ERR_FORMAT },
		{ "c2sp.org/tlog-proof@v1\nindex 1\n", PAL_ERR_TRUNCATED },
		{ "c2sp.org/tlog-proof@v1\n\nindex 1\n" CK, PAL_ERR_FORMAT },
	};
	struct pal_tlog_proof *q = (struct pal_tlog_proof *)&q;
	struct pal_err err;
	struct pal_buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = pal_tlog_proof_parse((const uint8_t *)bad[i].text,
					      strlen(bad[i].text), &q, &err);
		if (rc != bad[i].rc)
			fail_msg("case %zu: %d (%s), want %d", i, rc,
				 rc ? err.msg : "", bad[i].rc);
		assert_null(q);
	}
	/* A NUL in the checkpoint. */
	static const char nul[] = "c2sp.org/tlog-proof@v1\nindex 1\n\nl\0g\n";
	assert_int_equal(pal_tlog_proof_parse((const uint8_t *)nul,
		sizeof(nul) - 1, &q, &err), PAL_ERR_FORMAT);
	/* 64 hashes parse, 65 do not. */
	pal_buf_init(&b, 1 << 16);
	assert_int_equal(pal_buf_puts(&b, "c2sp.org/tlog-proof@v1\nindex 1\n"),
			 0);
	for (int i = 0; i < MAXP; i++)
		assert_int_equal(pal_buf_puts(&b, H), 0);
	size_t at = b.len;
	assert_int_equal(pal_buf_puts(&b, CK), 0);
	assert_int_equal(pal_tlog_proof_parse(b.p, b.len, &q, &err), 0);
	assert_int_equal(q->n_hashes, MAXP);
	pal_tlog_proof_free(q);
	b.len = at;
	assert_int_equal(pal_buf_puts(&b, H CK), 0);
	assert_int_equal(pal_tlog_proof_parse(b.p, b.len, &q, &err),
			 PAL_ERR_LIMIT);
	pal_buf_free(&b);
	assert_int_equal(pal_tlog_proof_parse((const uint8_t *)"",
		PAL_TLOG_PROOF_MAX_LEN + 1, &q, &err), PAL_ERR_LIMIT);
#undef H
#undef CK
}

/* ------------------------------------------------------------------ */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

static int
setup(void **state)
{
	const char *base = getenv("PAL_TEST_TMP");
	char tmpl[1024];

	(void)state;
	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(tmpl, sizeof(tmpl), "%s/test_tile.XXXXXX", base);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	tmpdir = strdup(tmpl);
	leaves = malloc((size_t)NLEAVES * HLEN);
	big = calloc(1, sizeof(*big));
	roots = malloc((NLEAVES + 1) * HLEN);
	if (tmpdir == NULL || leaves == NULL || big == NULL || roots == NULL)
		return -1;
	for (uint32_t i = 0; i < NLEAVES; i++) {
		uint8_t be[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				  (uint8_t)(i >> 8), (uint8_t)i };
		pal_merkle_leaf_hash(be, sizeof(be), leaves[i]);
	}
	memtree_build(big, CP(leaves), NLEAVES);
	prefix_roots();
	/* The incremental roots agree with merkle.c's. */
	for (uint64_t s = 0; s <= NLEAVES; s += s < 1100 ? 1 : 9973) {
		uint8_t r[HLEN];
		pal_merkle_root(CP(leaves), s, r);
		if (memcmp(r, roots[s], HLEN) != 0)
			return -1;
	}
	build_log_dir();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	memtree_free(big);
	free(big);
	free(leaves);
	free(roots);
	free(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paths_encode_as_the_spec_says),
		cmocka_unit_test(path_parse_rejects_other_spellings),
		cmocka_unit_test(tiles_of_the_spec_examples),
		cmocka_unit_test(growing_lists_add_up),
		cmocka_unit_test(bundles_split_and_refuse),
		cmocka_unit_test(memory_proofs_match_the_rfc_construction),
		cmocka_unit_test(memory_proofs_verify_for_every_size),
		cmocka_unit_test(proof_arguments_and_reader_errors),
		cmocka_unit_test(proofs_of_the_largest_trees),
		cmocka_unit_test(transparency_dev_vectors_are_what_we_generate),
		cmocka_unit_test(tile_dir_proofs_equal_memory_proofs),
		cmocka_unit_test(tile_dir_reads_every_subtree),
		cmocka_unit_test(tile_dir_caches_of_any_size),
		cmocka_unit_test(tile_dir_refuses_damaged_tiles),
		cmocka_unit_test(tlog_proof_round_trip_and_verify),
		cmocka_unit_test(tlog_proof_spec_example_parses),
		cmocka_unit_test(tlog_proof_parse_rejects),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
