/*
 * proof.c - Merkle tree roots, inclusion and consistency proofs (RFC 9162
 * sections 2.1.1, 2.1.3.1 and 2.1.4.1) computed from the hashes of full
 * subtrees, which a log keeps in its tiles.
 *
 * The RFC defines the proofs recursively, splitting a range at the largest
 * power of two below its length.  Walking that recursion from the top
 * gives the ranges whose hashes the proof lists; each such range starts on
 * a multiple of that power of two, so it is a run of full subtrees of
 * decreasing height, read from the reader and folded from the right.  A
 * range is only ever split inside the tree, so no subtree the tree does
 * not complete is asked for; readers check that anyway.
 *
 * Proof hashes are public; nothing here is secret.
 */
#include <string.h>

#include "palisade/tile.h"
#include "tile_int.h"

#define HLEN PAL_MERKLE_HASH_LEN

struct prover {
	const struct pal_hash_reader *r;
	struct tile_hasher h;	/* set up on the first node hash */
	struct pal_err *err;
};

/* A range of leaves [start, start + n) whose hash a proof lists. */
struct span {
	uint64_t start, n;
};

/* The largest power of two strictly below n (n >= 2): the RFC's k. */
static uint64_t
split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int
read_subtree(struct prover *p, unsigned height, uint64_t index,
	     uint8_t out[HLEN])
{
	int rc = p->r->read(p->r->ctx, height, index, out, p->err);

	if (rc < 0)
		return pal_err_wrap(p->err, rc, "subtree of height %u at "
				    "index %llu: ", height,
				    (unsigned long long)index);
	return 0;
}

static int
node(struct prover *p, const uint8_t left[HLEN], const uint8_t right[HLEN],
     uint8_t out[HLEN])
{
	int rc;

	if (p->h.ctx == NULL && (rc = tile_hasher_init(&p->h, p->err)) < 0)
		return rc;
	tile_hasher_node(&p->h, left, right, out);
	return 0;
}

/* MTH(D[start:start+n]), n >= 1. */
static int
range_hash(struct prover *p, uint64_t start, uint64_t n, uint8_t out[HLEN])
{
	uint8_t right[HLEN];
	int rc;

	if ((n & (n - 1)) == 0 && (start & (n - 1)) == 0)
		return read_subtree(p, (unsigned)__builtin_ctzll(n),
				    start >> __builtin_ctzll(n), out);
	uint64_t k = split_point(n);
	if ((rc = range_hash(p, start, k, out)) < 0 ||
	    (rc = range_hash(p, start + k, n - k, right)) < 0)
		return rc;
	return node(p, out, right, out);
}

static void
prover_init(struct prover *p, const struct pal_hash_reader *r,
	    struct pal_err *err)
{
	p->r = r;
	p->h.ctx = NULL;
	p->err = err;
}

/* The hashes of spans[m-1] .. spans[0], in that order, into proof. */
static int
hash_spans(struct prover *p, const struct span *spans, size_t m,
	   uint8_t proof[][HLEN])
{
	int rc;

	for (size_t i = 0; i < m; i++) {
		const struct span *s = &spans[m - 1 - i];
		if ((rc = range_hash(p, s->start, s->n, proof[i])) < 0)
			return rc;
	}
	return 0;
}

int
pal_tile_range_hash(const struct pal_hash_reader *r, uint64_t start,
		    uint64_t end, uint8_t out[HLEN], struct pal_err *err)
{
	struct prover p;
	int rc;

	if (start > end)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "range [%llu, %llu) ends before it starts",
				   (unsigned long long)start,
				   (unsigned long long)end);
	if (start == end) {
		pal_merkle_empty_root(out);
		return 0;
	}
	prover_init(&p, r, err);
	rc = range_hash(&p, start, end - start, out);
	tile_hasher_free(&p.h);
	return rc;
}

int
pal_tile_root(const struct pal_hash_reader *r, uint64_t size,
	      uint8_t out[HLEN], struct pal_err *err)
{
	return pal_tile_range_hash(r, 0, size, out, err);
}

int
pal_tile_prove_inclusion(const struct pal_hash_reader *r, uint64_t index,
			 uint64_t size, uint8_t proof[][HLEN], size_t *n,
			 struct pal_err *err)
{
	struct span spans[PAL_MERKLE_MAX_PROOF];
	uint64_t lo = 0, hi = size;
	size_t m = 0;
	struct prover p;

	*n = 0;
	if (index >= size)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "leaf %llu is not in a tree of size %llu",
				   (unsigned long long)index,
				   (unsigned long long)size);
	/*
	 * PATH(m, D[lo:hi]): the sibling of the half holding the leaf, from
	 * the root down.  Each step leaves at most half the range (k < n <=
	 * 2k), so a tree below 2^64 leaves takes at most 64 steps.
	 */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		if (index < lo + k) {
			spans[m++] = (struct span){ lo + k, hi - lo - k };
			hi = lo + k;
		} else {
			spans[m++] = (struct span){ lo, k };
			lo += k;
		}
	}
	prover_init(&p, r, err);
	int rc = hash_spans(&p, spans, m, proof);
	tile_hasher_free(&p.h);
	if (rc == 0)
		*n = m;
	return rc;
}

/*
 * SUBPROOF(size1, D[0:size2], true) as the list of spans to hash, first
 * hash last.  Returns how many, up to PAL_MERKLE_MAX_PROOF + 1.
 */
static size_t
consistency_spans(uint64_t size1, uint64_t size2,
		  struct span spans[PAL_MERKLE_MAX_PROOF + 1])
{
	uint64_t lo = 0, hi = size2;
	size_t m = 0;
	int whole = 1;	/* the RFC's b: the old tree is a left part */

	/* lo < size1 <= hi holds throughout; each step halves hi - lo. */
	while (hi != size1) {
		uint64_t k = split_point(hi - lo);
		if (size1 - lo <= k) {
			spans[m++] = (struct span){ lo + k, hi - lo - k };
			hi = lo + k;
		} else {
			spans[m++] = (struct span){ lo, k };
			lo += k;
			whole = 0;
		}
	}
	/* A subtree ending at size1 that is not the old tree is listed. */
	if (!whole)
		spans[m++] = (struct span){ lo, hi - lo };
	return m;
}

int
pal_tile_prove_consistency(const struct pal_hash_reader *r, uint64_t size1,
			   uint64_t size2, uint8_t proof[][HLEN], size_t *n,
			   struct pal_err *err)
{
	struct span spans[PAL_MERKLE_MAX_PROOF + 1];
	struct prover p;

	*n = 0;
	if (size1 > size2)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "consistency proof from size %llu to the "
				   "smaller size %llu",
				   (unsigned long long)size1,
				   (unsigned long long)size2);
	if (size1 == 0 || size1 == size2)
		return 0;
	size_t m = consistency_spans(size1, size2, spans);
	if (m > PAL_MERKLE_MAX_PROOF)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "consistency proof from size %llu to %llu "
				   "needs %zu hashes, more than %d",
				   (unsigned long long)size1,
				   (unsigned long long)size2, m,
				   PAL_MERKLE_MAX_PROOF);
	prover_init(&p, r, err);
	int rc = hash_spans(&p, spans, m, proof);
	tile_hasher_free(&p.h);
	if (rc == 0)
		*n = m;
	return rc;
}
