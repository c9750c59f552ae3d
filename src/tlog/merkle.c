/*
 * merkle.c - RFC 6962 / RFC 9162 Merkle tree hashes and proof checks.
 *
 * Trusts nothing: indices, sizes and proofs all come from a log or a
 * bundle.  The walks are the RFC 9162 algorithms, written with the two
 * positions fn (the node on the path) and sn (the last node of the tree)
 * moving up one level per proof hash; the proof length is checked against
 * the path before any hash is read, so no input can make the walk read a
 * hash that is not there.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "palisade/merkle.h"

#define HLEN PAL_MERKLE_HASH_LEN

void
pal_merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[HLEN])
{
	static const uint8_t prefix = 0x00;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	/* SHA-256 cannot fail on a live context; a lost context is fatal. */
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, &prefix, 1) != 1 ||
	    (len > 0 && EVP_DigestUpdate(md, data, len) != 1) ||
	    EVP_DigestFinal_ex(md, out, NULL) != 1)
		abort();
	EVP_MD_CTX_free(md);
}

void
pal_merkle_node_hash(const uint8_t left[HLEN], const uint8_t right[HLEN],
		     uint8_t out[HLEN])
{
	uint8_t buf[1 + 2 * HLEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, HLEN);
	memcpy(buf + 1 + HLEN, right, HLEN);
	SHA256(buf, sizeof(buf), out);
}

void
pal_merkle_empty_root(uint8_t out[HLEN])
{
	SHA256((const uint8_t *)"", 0, out);
}

void
pal_merkle_root(const uint8_t (*leaves)[HLEN], uint64_t n, uint8_t out[HLEN])
{
	/* Roots of the perfect subtrees built so far, largest first. */
	uint8_t stack[64][HLEN];
	size_t top = 0;

	if (n == 0) {
		pal_merkle_empty_root(out);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		memcpy(stack[top++], leaves[i], HLEN);
		/* Each trailing zero of i+1 completes one more level. */
		for (uint64_t m = i + 1; (m & 1) == 0; m >>= 1) {
			top--;
			pal_merkle_node_hash(stack[top - 1], stack[top],
					     stack[top - 1]);
		}
	}
	/* The right border: fold the remaining subtrees from the right. */
	memcpy(out, stack[top - 1], HLEN);
	while (--top > 0)
		pal_merkle_node_hash(stack[top - 1], out, out);
}

/*
 * The number of proof hashes on the path from leaf fn of a tree whose last
 * leaf is sn up to the root: one per level, except that where fn is the
 * last node of its level and has no right sibling the level is skipped.
 */
static size_t
path_length(uint64_t fn, uint64_t sn)
{
	size_t n = 0;

	while (sn != 0) {
		if ((fn & 1) || fn != sn)
			n++;
		fn >>= 1;
		sn >>= 1;
	}
	return n;
}

int
pal_merkle_root_from_inclusion(uint64_t index, uint64_t size,
			       const uint8_t leaf[HLEN],
			       const uint8_t (*proof)[HLEN], size_t n_proof,
			       uint8_t out[HLEN], struct pal_err *err)
{
	if (index >= size)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "inclusion proof: leaf index %llu is not "
				   "in a tree of size %llu",
				   (unsigned long long)index,
				   (unsigned long long)size);
	uint64_t fn = index, sn = size - 1;
	size_t want = path_length(fn, sn);
	if (n_proof != want)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "inclusion proof has %zu hashes; leaf %llu "
				   "of a tree of size %llu needs %zu", n_proof,
				   (unsigned long long)index,
				   (unsigned long long)size, want);
	uint8_t r[HLEN];
	memcpy(r, leaf, HLEN);
	for (size_t i = 0; i < n_proof; i++) {
		if ((fn & 1) || fn == sn) {
			pal_merkle_node_hash(proof[i], r, r);
			/* A last node without a sibling climbs for free. */
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			pal_merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(out, r, HLEN);
	return 0;
}

int
pal_merkle_verify_inclusion(uint64_t index, uint64_t size,
			    const uint8_t leaf[HLEN],
			    const uint8_t (*proof)[HLEN], size_t n_proof,
			    const uint8_t root[HLEN], struct pal_err *err)
{
	uint8_t r[HLEN];
	int rc = pal_merkle_root_from_inclusion(index, size, leaf, proof,
						n_proof, r, err);
	if (rc < 0)
		return rc;
	if (memcmp(r, root, HLEN) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "inclusion proof of leaf %llu leads to "
				   "another root than the tree of size %llu "
				   "has", (unsigned long long)index,
				   (unsigned long long)size);
	return 0;
}

/*
 * The number of hashes a consistency proof from size1 to size2 has
 * (0 < size1 < size2): the path of leaf size1-1 in the larger tree above
 * the largest perfect subtree that ends at size1, plus that subtree's own
 * root unless it is the whole first tree.
 */
static size_t
consistency_length(uint64_t size1, uint64_t size2)
{
	uint64_t fn = size1 - 1, sn = size2 - 1;
	size_t n = (size1 & (size1 - 1)) == 0 ? 0 : 1;

	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	return n + path_length(fn, sn);
}

static int
consistency_walk(uint64_t size1, uint64_t size2, const uint8_t root1[HLEN],
		 const uint8_t (*proof)[HLEN], size_t n_proof,
		 uint8_t fr[HLEN], uint8_t sr[HLEN])
{
	uint64_t fn = size1 - 1, sn = size2 - 1;
	size_t i = 0;

	/* A first tree of 2^k leaves is itself the seed subtree. */
	const uint8_t *seed = (size1 & (size1 - 1)) == 0 ? root1 : proof[i++];
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, seed, HLEN);
	memcpy(sr, seed, HLEN);
	for (; i < n_proof; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			pal_merkle_node_hash(proof[i], fr, fr);
			pal_merkle_node_hash(proof[i], sr, sr);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			pal_merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 ? 0 : -1;
}

int
pal_merkle_verify_consistency(uint64_t size1, uint64_t size2,
			      const uint8_t root1[HLEN],
			      const uint8_t root2[HLEN],
			      const uint8_t (*proof)[HLEN], size_t n_proof,
			      struct pal_err *err)
{
	unsigned long long s1 = size1, s2 = size2;

	if (size1 == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "consistency proof from the empty tree "
				   "proves nothing");
	if (size1 > size2)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "consistency proof from size %llu to the "
				   "smaller size %llu", s1, s2);
	if (size1 == size2) {
		if (n_proof != 0)
			return pal_err_set(err, PAL_ERR_VERIFY,
					   "consistency proof between equal "
					   "sizes must be empty, has %zu "
					   "hashes", n_proof);
		if (memcmp(root1, root2, HLEN) != 0)
			return pal_err_set(err, PAL_ERR_VERIFY,
					   "two roots for the tree of size "
					   "%llu", s1);
		return 0;
	}
	size_t want = consistency_length(size1, size2);
	if (n_proof != want)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "consistency proof from size %llu to %llu "
				   "has %zu hashes, needs %zu", s1, s2,
				   n_proof, want);
	uint8_t fr[HLEN], sr[HLEN];
	if (consistency_walk(size1, size2, root1, proof, n_proof, fr,
			     sr) < 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "consistency proof from size %llu to %llu "
				   "does not fit the tree shape", s1, s2);
	if (memcmp(fr, root1, HLEN) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "consistency proof does not lead to the "
				   "root of the tree of size %llu", s1);
	if (memcmp(sr, root2, HLEN) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "consistency proof does not lead to the "
				   "root of the tree of size %llu", s2);
	return 0;
}
